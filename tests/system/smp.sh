#!/bin/sh
# smp.sh - two harts (-smp 2, bare metal) loop over amoadd.w/d, an LR/SC
# increment and an amoswap spinlock around a plain increment; hart 0
# checks the exact totals (tests/system/bare/smp.c).  Under the emulator
# under test and under qemu-system-riscv64, which must agree.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/system/system.sh"
set -e
src=$top_srcdir/tests/system/bare
riscv64-linux-gnu-gcc -nostdlib -nostartfiles -static -march=rv64gc -mabi=lp64d \
    -mcmodel=medany -ffreestanding -fno-builtin -fno-stack-protector -O2 -Wall \
    -Wl,--no-warn-rwx-segments,--build-id=none -T "$src/link.ld" -I "$src" \
    -o "$T/smp.elf" "$src/crt.S" "$src/lib.c" "$src/smp.c" || fail "cannot build smp.elf"
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
