#!/bin/sh
# user-ifconv.sh - conditional branches over one instruction, which the translator turns into selects (tests/guest/ifconv.c): every branch kind, taken and not, over each form of instruction; against qemu-riscv64.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/guest/guest.sh"
set -e
guest_build ifconv
guest_compare ifconv
exit 0
