#!/bin/sh
# user-forkcode.sh - fork() gives the child its own translated code: parent and child each translate new code after the fork, in a fixed order, and the parent must still run its own (tests/guest/forkcode.c); against qemu-riscv64 and native.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/guest/guest.sh"
set -e
guest_build forkcode
native_build forkcode
guest_compare forkcode
exit 0
