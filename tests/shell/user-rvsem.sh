#!/bin/sh
# user-rvsem.sh - RISC-V semantics that are easy to get wrong (tests/guest/rvsem.c): division by zero, sign extension, fcvt saturation, NaN-boxing, fflags, rounding modes, AMOs, Zb*; against qemu-riscv64.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/guest/guest.sh"
set -e
guest_build rvsem -march=rv64gc_zba_zbb_zbs
guest_compare rvsem
exit 0
