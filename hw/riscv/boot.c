/* placeholder: being written */
typedef int emu_placeholder_hw_riscv_boot_c;
