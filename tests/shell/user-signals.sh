#!/bin/sh
# user-signals.sh - faults turned into guest signals at the right pc, SIGILL, signals to oneself, and the exit status of an unhandled fault (tests/guest/signals.c); against qemu-riscv64.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/guest/guest.sh"
set -e
guest_build signals
guest_compare signals
guest_compare signals crash
[ "$(cat "$T/rc.emu")" -ge 128 ] || fail "an unhandled SIGSEGV must kill the process"
exit 0
