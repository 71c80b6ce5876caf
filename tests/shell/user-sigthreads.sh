#!/bin/sh
# user-sigthreads.sh - threads and signals together (tests/guest/sigthreads.c): a thread storm with futex handshakes and timeouts, a PI mutex, signal ping-pong between threads and between processes, a signal into a tight loop, per-thread masks, sigaltstack, SA_RESETHAND, SA_RESTART vs EINTR, sigtimedwait, death by signal; static and glibc-dynamic builds against qemu-riscv64 and native.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/guest/guest.sh"
set -e
guest_build sigthreads -pthread
native_build sigthreads -pthread
guest_compare sigthreads
guest_compare sigthreads
guest_build_dyn sigthreads -pthread
GUEST_OPTS="-L $GUEST_SYSROOT"
guest_compare sigthreads
exit 0
