/* placeholder: being written */
typedef int emu_placeholder_hw_riscv_virt_c;
