#!/bin/sh
# user-cxx.sh - C++ exceptions, containers and virtual calls with static libstdc++ (tests/guest/cxx.cc); against qemu-riscv64 and native.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/guest/guest.sh"
set -e
guest_build cxx
native_build cxx
guest_compare cxx
exit 0
