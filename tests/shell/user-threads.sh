#!/bin/sh
# user-threads.sh - guest threads (clone): pthreads, AMOs and LR/SC from several threads on shared counters, mutex, condition variable, TLS (tests/guest/threads.c); against qemu-riscv64 and native, several runs.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/guest/guest.sh"
set -e
guest_build threads -pthread
native_build threads -pthread
for run in 1 2 3; do
    guest_compare threads
done
exit 0
