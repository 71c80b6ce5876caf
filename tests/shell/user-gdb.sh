#!/bin/sh
# user-gdb.sh - -g PORT: gdb-multiarch attaches to emu-user-riscv64, stops at a breakpoint in main, reads arguments, registers and memory, single-steps, writes a register, continues to the exit status.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/guest/guest.sh"
set -e
requires gdb-multiarch
guest_build hello -O0 -g
port=$((20000 + $$ % 30000))
"$EMU_USER_RISCV64" -g $port "$T/hello.rv" a b >"$T/out" 2>"$T/err" &
emu=$!
cleanup_add "kill $emu 2>/dev/null"
# wait until it listens
for i in 1 2 3 4 5 6 7 8 9 10; do
    grep -q "waiting for gdb" "$T/err" && break
    sleep 0.3
done
timeout 60 gdb-multiarch -batch -nx -ex "set architecture riscv:rv64" -ex "file $T/hello.rv" \
    -ex "target remote 127.0.0.1:$port" -ex "break main" -ex "continue" -ex "p argc" \
    -ex "info registers pc" -ex "stepi" -ex "stepi" -ex 'p $pc - main' -ex 'x/s argv[1]' \
    -ex 'set var $t0 = 0x1234' -ex 'p/x $t0' -ex 'p $fcsr' -ex "continue" >"$T/gdb" 2>&1 ||
    { cat "$T/gdb" "$T/err" >&2; fail "gdb-multiarch failed"; }
wait $emu || true
cat "$T/gdb"
grep -q "Breakpoint 1, main (argc=3" "$T/gdb" || fail "no stop at the breakpoint in main"
grep -q '^\$1 = 3$' "$T/gdb" || fail "argc not read"
grep -q '"a"' "$T/gdb" || fail "memory (argv[1]) not read"
grep -q '^\$3 = 0x1234$' "$T/gdb" || fail "register write not seen"
grep -Eq '^\$2 = [0-9]+$' "$T/gdb" || fail "single-step did not move pc"
grep -q "exited with code 053" "$T/gdb" || fail "exit status not reported"
grep -q "argv\[1\] = a" "$T/out" || fail "the program did not run to the end"
exit 0
