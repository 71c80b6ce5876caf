#!/bin/sh
# user-asig.sh - asynchronous signals reach guest handlers: a timer signal interrupting busy and compute loops in translated code, a signal from another process, pause() interrupted, an ignored SIGPIPE (tests/guest/asig.c); against qemu-riscv64 and native.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/guest/guest.sh"
set -e
guest_build asig
native_build asig
guest_compare asig
exit 0
