#!/bin/sh
# user-compare.sh - the lock-step compare mode (translator vs reference interpreter, block by block) finds no difference on the integer, FP and semantics tests.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/guest/guest.sh"
set -e
guest_build int -march=rv64gc_zba_zbb_zbs
guest_build rvsem -march=rv64gc_zba_zbb_zbs
guest_build fp
for p in int rvsem fp; do
    set +e
    "$EMU_USER_RISCV64" -compare "$T/$p.rv" >"$T/c.out" 2>"$T/c.err"
    rc=$?
    set -e
    [ $rc = 0 ] || { cat "$T/c.err" >&2; fail "$p: compare mode stopped (exit $rc)"; }
    qemu-riscv64 "$T/$p.rv" >"$T/q.out"
    cmp -s "$T/c.out" "$T/q.out" || fail "$p: compare-mode output differs from qemu-riscv64"
    echo "$p: translator and interpreter agree on every block"
done
exit 0
