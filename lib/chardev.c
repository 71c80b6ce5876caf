/* placeholder: being written */
typedef int emu_placeholder_lib_chardev_c;
