#!/bin/sh
# user-libc.sh - libc services over system calls: directories, stat, time zones, uname, sysconf, chdir, pipes, dup, getrandom, number formatting (tests/guest/libc.c); against qemu-riscv64 and native.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/guest/guest.sh"
set -e
guest_build libc
native_build libc
guest_compare libc "$T"
exit 0
