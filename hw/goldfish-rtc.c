/* placeholder: being written */
typedef int emu_placeholder_hw_goldfish_rtc_c;
