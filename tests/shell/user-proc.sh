#!/bin/sh
# user-proc.sh - processes and descriptors (tests/guest/proc.c): a fork tree, wait4, pipes, dup3, poll/pselect/epoll, eventfd, timerfd, socketpair, a TCP echo over loopback, getdents64, statx and the *at calls, prlimit64, prctl, ioctls; static and glibc-dynamic builds against qemu-riscv64.  Then what qemu-riscv64 cannot do without binfmt_misc: execve of /proc/self/exe and of a "#!" script whose interpreter is a riscv64 program.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/guest/guest.sh"
set -e
mkdir "$T/scratch"
guest_build proc
guest_compare proc "$T/scratch"
guest_build_dyn proc
GUEST_OPTS="-L $GUEST_SYSROOT"
guest_compare proc "$T/scratch"

"$EMU_USER_RISCV64" $GUEST_OPTS "$T/proc.rv" "$T/scratch" exec >"$T/exec.out" 2>&1 ||
    { cat "$T/exec.out" >&2; fail "exec part failed"; }
for want in "exec child: argc 3, from exec" "fork+exec: exit 23" \
    "script: argc 4, arg interp, last last-arg" "script exec: exit 24"; do
    grep -qx "$want" "$T/exec.out" || { cat "$T/exec.out" >&2; fail "missing: $want"; }
done
echo "execve of riscv64 programs and scripts: ok"
exit 0
