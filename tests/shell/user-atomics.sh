#!/bin/sh
# user-atomics.sh - atomic operations of every width (tests/guest/atomics.c); against qemu-riscv64 and native.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/guest/guest.sh"
set -e
guest_build atomics -latomic
native_build atomics -latomic
guest_compare atomics
exit 0
