#!/bin/sh
# user-jmp.sh - setjmp/longjmp (tests/guest/jmp.c); against qemu-riscv64 and native.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/guest/guest.sh"
set -e
guest_build jmp
native_build jmp
guest_compare jmp
exit 0
