/* placeholder: being written */
typedef int emu_placeholder_hw_aclint_c;
