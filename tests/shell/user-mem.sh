#!/bin/sh
# user-mem.sh - memory and files (tests/guest/mem.c): malloc, brk, mmap/munmap/mprotect, memcpy, file I/O with stat; against qemu-riscv64 and native.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/guest/guest.sh"
set -e
guest_build mem
native_build mem
guest_compare mem "$T"
exit 0
