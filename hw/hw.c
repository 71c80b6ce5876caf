/* placeholder: being written */
typedef int emu_placeholder_hw_hw_c;
