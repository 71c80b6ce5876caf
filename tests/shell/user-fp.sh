#!/bin/sh
# user-fp.sh - floating point corners through libc (tests/guest/fp.c) against qemu-riscv64 and native.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/guest/guest.sh"
set -e
guest_build fp
native_build fp
guest_compare fp
exit 0
