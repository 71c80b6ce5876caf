/* placeholder: being written */
typedef int emu_placeholder_hw_machine_c;
