#!/bin/sh
# gdb.sh - the gdb stub of system mode: a bare-metal program
# (tests/system/bare/gdb.c) under -bios none -smp 2 -S -gdb tcp::PORT;
# gdb-multiarch attaches, lists the two harts as threads, breaks in
# target(), reads the pc, a0 and a variable, single-steps, interrupts
# the running machine with ^C, and continues to the end: the program's
# exit reaches gdb and the emulator exits 0.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/system/system.sh"
set -e
requires gdb-multiarch
sys_bare_cc "$T/gdb.elf" gdb -O1 -g

# whether something listens on TCP port $1 (/proc/net/tcp: state 0A)
listening() {
    _hex=$(printf '%04X' "$1")
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p=":$_hex" \
        '$2 ~ p"$" && $4 == "0A" { f = 1 } END { exit !f }'
}
port=""
for p in $((20000 + $$ % 20000)) $((21000 + $$ % 20000)) $((22000 + $$ % 20000)); do
    if ! listening $p; then
        port=$p
        break
    fi
done
[ -n "$port" ] || skip "no free TCP port"

"$EMU" -M virt -bios none -nographic -smp 2 -m 128M -kernel "$T/gdb.elf" \
    -S -gdb "tcp:127.0.0.1:$port" >"$T/out" 2>"$T/err" </dev/null &
emu=$!
cleanup_add "kill $emu 2>/dev/null"
ok=""
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    listening $port && { ok=1; break; }
    sleep 0.2
done
[ -n "$ok" ] || { cat "$T/err" >&2; fail "the emulator does not listen on port $port"; }

# ^C: once gdb is in the last continues (the program spins), a SIGINT
# makes it send ^C to the stub, as at a terminal
gdb-multiarch -batch -nx -ex "set pagination off" -ex "file $T/gdb.elf" \
    -ex "target remote 127.0.0.1:$port" \
    -ex 'echo @start-pc\n' -ex 'p/x $pc' \
    -ex "info threads" \
    -ex "break target" -ex "continue" \
    -ex 'echo @a0\n' -ex 'p $a0' \
    -ex 'echo @at-target\n' -ex 'p $pc == target' \
    -ex 'echo @magic\n' -ex 'p/x magic' \
    -ex 'set var $t1 = 0x4242' -ex 'echo @t1\n' -ex 'p/x $t1' \
    -ex 'set var counter = 100' \
    -ex "stepi" -ex 'echo @step\n' -ex 'p $pc - target' \
    -ex "continue" -ex 'echo @a0-second\n' -ex 'p $a0' \
    -ex "delete" -ex 'echo @spinning\n' \
    -ex "continue" \
    -ex 'echo @spins\n' -ex 'p spins > 0' \
    -ex 'set var spin = 0' \
    -ex "continue" >"$T/gdb" 2>&1 </dev/null &
gdb=$!
cleanup_add "kill -9 $gdb 2>/dev/null"
sys_wait_for "$T/gdb" '^@spinning' 60 || { cat "$T/gdb" "$T/err" >&2; fail "gdb did not get to the spin"; }
sleep 1
kill -INT $gdb
sys_wait_exit $gdb 60 || { cat "$T/gdb" "$T/err" >&2; fail "gdb did not finish"; }
gdb_status=$sys_status
sys_wait_exit $emu 30 || { cat "$T/gdb" >&2; fail "the emulator did not exit"; }
cat "$T/gdb"

# the value printed after an @MARK line
val() {
    sed -n "/^@$1\$/{n;s/^\\\$[0-9]* = //p;q}" "$T/gdb"
}
[ "$sys_status" = 0 ] || fail "the emulator exits $sys_status"
[ "$(val start-pc)" = 0x1000 ] || fail "the harts did not wait at the reset vector (-S)"
grep -Eq '^\* 1 +Thread (1\.)?1 ' "$T/gdb" || fail "no thread 1"
grep -Eq '^  2 +Thread (1\.)?2 ' "$T/gdb" || fail "no thread 2 (-smp 2)"
grep -Eq '^  3 +Thread' "$T/gdb" && fail "more threads than harts"
grep -q "hit Breakpoint 1, target (a=a@entry=1)" "$T/gdb" || fail "no stop at the breakpoint"
[ "$(val a0)" = 1 ] || fail "a0 is not 1 at the first call"
[ "$(val at-target)" = 1 ] || fail "the pc is not at target"
[ "$(val magic)" = 0x1234abcd5678 ] || fail "memory (magic) not read"
[ "$(val t1)" = 0x4242 ] || fail "register write not seen"
case $(val step) in
2 | 4) ;;
*) fail "stepi did not advance the pc by one instruction" ;;
esac
[ "$(val a0-second)" = 2 ] || fail "the second stop is not the second call"
[ "$(val spins)" = 1 ] || fail "no stop in the spin loop after ^C"
grep -q "received signal SIGINT" "$T/gdb" || fail "^C did not stop the machine"
# (qemu-system-riscv64, checking this test, just closes the connection)
case $EMU in
*qemu*) the_end='exited normally|Remote connection closed' ;;
*) the_end='exited normally'; [ "$gdb_status" = 0 ] || fail "gdb-multiarch exits $gdb_status" ;;
esac
grep -Eq "$the_end" "$T/gdb" || fail "the end of the program did not reach gdb"
# counter was set to 100 by gdb: 3 * (101 + 103 + 106 + 110 + 115) = 1605
grep -q "gdb: sum 1605 magic 1234abcd5678" "$T/out" || { cat "$T/out" >&2; fail "the program's result is wrong (memory write lost?)"; }

# kill: gdb ends the emulator (status 0) before it ran anything
case $EMU in
*qemu*) exit 0 ;;
esac
"$EMU" -M virt -bios none -nographic -kernel "$T/gdb.elf" -S -gdb "tcp:127.0.0.1:$port" \
    >"$T/out2" 2>"$T/err2" </dev/null &
emu=$!
cleanup_add "kill $emu 2>/dev/null"
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    listening $port && break
    sleep 0.2
done
timeout 60 gdb-multiarch -batch -nx -ex "file $T/gdb.elf" -ex "target remote 127.0.0.1:$port" \
    -ex kill >"$T/gdb2" 2>&1 </dev/null || { cat "$T/gdb2" >&2; fail "gdb-multiarch failed (kill)"; }
sys_wait_exit $emu 30 || fail "kill did not end the emulator"
[ "$sys_status" = 0 ] || fail "the emulator exits $sys_status after kill"
[ ! -s "$T/out2" ] || fail "the program ran before gdb let it"
exit 0
