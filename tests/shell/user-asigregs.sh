#!/bin/sh
# user-asigregs.sh - a storm of timer signals while register-resident loops (few values, more than stay resident, floating point) run: results must equal those computed without signals (tests/guest/asigregs.c); against qemu-riscv64 and native.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/guest/guest.sh"
set -e
guest_build asigregs
native_build asigregs
guest_compare asigregs
exit 0
