#!/bin/sh
# user-int.sh - integer arithmetic (tests/guest/int.c), plain RV64GC and with Zba/Zbb/Zbs, against qemu-riscv64 and native.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/guest/guest.sh"
set -e
guest_build int
native_build int
guest_compare int
guest_build int -march=rv64gc_zba_zbb_zbs
guest_compare int
exit 0
