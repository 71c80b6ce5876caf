/* placeholder: being written */
typedef int emu_placeholder_hw_sifive_test_c;
