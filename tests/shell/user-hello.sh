#!/bin/sh
# user-hello.sh - a static riscv64 hello world runs under emu-user-riscv64
# exactly as under qemu-riscv64 and natively; also static-PIE, -E/-U, -0,
# the reference interpreter and the lock-step compare mode.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/guest/guest.sh"
set -e

guest_build hello
native_build hello
guest_compare hello one two "three four"

# static-PIE (freestanding: Debian's cross toolchain has no rcrt1.o)
riscv64-linux-gnu-gcc -static-pie -fPIE -nostdlib -ffreestanding -fno-stack-protector \
    -Wl,--no-dynamic-linker -O2 -o "$T/pie.rv" "$top_srcdir/tests/guest/pie.c" ||
    fail "cannot build the static-PIE test"
riscv64-linux-gnu-readelf -h "$T/pie.rv" | grep -q "DYN" || fail "pie.rv is not ET_DYN"
guest_compare pie x
grep -q "pie: argc=2" "$T/out.emu" || fail "static-PIE did not run"

# environment and argv0 options against qemu-riscv64's
EMU_TEST_VAR=outer "$EMU_USER_RISCV64" -U EMU_TEST_VAR "$T/hello.rv" >"$T/u.emu" || true
EMU_TEST_VAR=outer qemu-riscv64 -U EMU_TEST_VAR "$T/hello.rv" >"$T/u.qemu" || true
cmp -s "$T/u.emu" "$T/u.qemu" || fail "-U differs from qemu-riscv64"
"$EMU_USER_RISCV64" -E EMU_TEST_VAR=inner "$T/hello.rv" >"$T/e.emu" || true
qemu-riscv64 -E EMU_TEST_VAR=inner "$T/hello.rv" >"$T/e.qemu" || true
cmp -s "$T/e.emu" "$T/e.qemu" || fail "-E differs from qemu-riscv64"
grep -q "inner" "$T/e.emu" || fail "-E did not reach the program"

# -0 sets argv[0] as qemu-riscv64's -0 does
"$EMU_USER_RISCV64" -0 myname "$T/pie.rv" >"$T/a0.emu" || true
qemu-riscv64 -0 myname "$T/pie.rv" >"$T/a0.qemu" || true
cmp -s "$T/a0.emu" "$T/a0.qemu" || fail "-0 differs from qemu-riscv64"

# -strace logs the calls with their results
"$EMU_USER_RISCV64" -strace "$T/hello.rv" >/dev/null 2>"$T/strace" || true
grep -q 'write(1, "' "$T/strace" || fail "-strace shows no decoded write"
grep -q "exit_group(41) = ?" "$T/strace" || fail "-strace shows no exit_group"

# -d in_asm,op,out_asm,exec log something for each category
"$EMU_USER_RISCV64" -d in_asm,op,out_asm,exec -D "$T/log" "$T/hello.rv" >/dev/null || true
for w in "IN: 0x" "IR block" "OUT: 0x" "exec 0x"; do
    grep -q "$w" "$T/log" || fail "-d log lacks '$w'"
done
# in_asm disassembles with operands (the entry point sets up gp and sp)
grep -Eq "^  0x[0-9a-f]+:  [0-9a-f]+ +(auipc|add|mv|ld|li|jal)[[:space:]]+[a-z0-9]" "$T/log" ||
    fail "-d in_asm shows no operands"

# -cpu: without Zbb, a program built for Zbb dies of SIGILL (as on hardware)
guest_build int -march=rv64gc_zba_zbb_zbs
mv "$T/int.rv" "$T/intzb.rv"
set +e
"$EMU_USER_RISCV64" -cpu rv64gc "$T/intzb.rv" >/dev/null 2>&1
rc=$?
"$EMU_USER_RISCV64" -cpu rv64gc_zba_zbb_zbs "$T/intzb.rv" >/dev/null 2>&1
rc2=$?
set -e
[ $rc = 132 ] || fail "-cpu rv64gc: expected death by SIGILL (132), got $rc"
[ $rc2 = 0 ] || fail "-cpu rv64gc_zba_zbb_zbs: exit $rc2"
run_fails 1 "$EMU_USER_RISCV64" -cpu rv32gc "$T/hello.rv"

# the reference interpreter and the compare mode give the same result
for mode in -interp -compare; do
    set +e
    "$EMU_USER_RISCV64" $mode "$T/hello.rv" a >"$T/m.out" 2>"$T/m.err"
    rc=$?
    set -e
    [ $rc = 42 ] || { cat "$T/m.err" >&2; fail "$mode: exit status $rc"; }
    qemu-riscv64 "$T/hello.rv" a >"$T/m.qemu" || true
    cmp -s "$T/m.out" "$T/m.qemu" || fail "$mode: output differs"
done

# bad input fails loudly
echo "not an elf" >"$T/bad"
run_fails 1 "$EMU_USER_RISCV64" "$T/bad"
gcc -static -o "$T/x86" "$top_srcdir/tests/guest/hello.c" 2>/dev/null &&
    run_fails 1 "$EMU_USER_RISCV64" "$T/x86"
"$EMU_USER_RISCV64" --help | grep -q -- "-strace" || fail "--help"
"$EMU_USER_RISCV64" --version | grep -q emu || fail "--version"
exit 0
