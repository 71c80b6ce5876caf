#!/bin/sh
# smp.sh - two harts (-smp 2, bare metal) loop over amoadd.w/d, an LR/SC
# increment and an amoswap spinlock around a plain increment; hart 0
# checks the exact totals (tests/system/bare/smp.c).  Under the emulator
# under test and under qemu-system-riscv64, which must agree.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/system/system.sh"
set -e
sys_bare_cc "$T/smp.elf" smp
for e in qemu-system-riscv64 "$EMU"; do
    set +e
    timeout "$SYS_TIMEOUT" "$e" -M virt -bios none -nographic -smp 2 -m 128M \
        -kernel "$T/smp.elf" >"$T/out" 2>"$T/err" </dev/null
    rc=$?
    set -e
    [ $rc = 0 ] || { cat "$T/out" "$T/err" >&2; fail "$e: exit status $rc"; }
    grep -q "^done: 0 check" "$T/out" || { cat "$T/out" >&2; fail "$e: no result"; }
    echo "$e: $(tr -d '\r' <"$T/out" | grep total | tr '\n' ' ')"
done
exit 0
