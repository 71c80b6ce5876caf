#!/bin/sh
# user-smc.sh - self-modifying code with fence.i, mprotect and remapping (tests/guest/smc.c); against qemu-riscv64.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/guest/guest.sh"
set -e
guest_build smc
guest_compare smc
exit 0
