#!/bin/sh
# user-fprmm.sh - the RMM rounding mode (ties to max magnitude), static and dynamic, for every rounding FP instruction (tests/guest/fprmm.c); against qemu-riscv64.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/guest/guest.sh"
set -e
guest_build fprmm
guest_compare fprmm
exit 0
