/* placeholder: being written */
typedef int emu_placeholder_hw_uart16550_c;
