#!/bin/sh
# user-faultregs.sh - registers are exact at a fault inside translated code (integer and FP, including values the translator still held in host registers), and a handler that edits the pc returns through rt_sigreturn (tests/guest/faultregs.c); against qemu-riscv64.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/guest/guest.sh"
set -e
guest_build faultregs
guest_compare faultregs
exit 0
