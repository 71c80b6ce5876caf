#!/bin/sh
# user-smcthreads.sh - code rewritten with fence.i by one thread while three others run through a jump table (tests/guest/smcthreads.c): lookups that race with the translator's flushes; against qemu-riscv64, several runs.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/guest/guest.sh"
set -e
guest_build smcthreads -pthread
for run in 1 2 3 4 5; do
    guest_compare smcthreads
done
exit 0
