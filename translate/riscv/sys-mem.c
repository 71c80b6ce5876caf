/* placeholder: being written */
typedef int emu_placeholder_translate_riscv_sys_mem_c;
