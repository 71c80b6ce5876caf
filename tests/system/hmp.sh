#!/bin/sh
# hmp.sh - the human monitor (HMP): every command on "-monitor unix:"
# against a machine held by -S (xp checked against the firmware file the
# machine loaded, info blockstats against the guest's reads, the same
# answers through QMP's human-monitor-command), hostile input on "-mon
# mode=readline", Ctrl-A c on the mux'ed console (mon:stdio), and
# "-monitor stdio" driven by a script.
# EMU=qemu-system-riscv64 runs the same against QEMU.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/system/system.sh"
set -e
sys_guest
client=$top_srcdir/tests/system/hmp-client.py
head -c 1M /dev/zero >"$T/disk.img"

# 1. a session
"$EMU" -M virt -m 256M -display none -S -name hmp-test -bios "$GUEST/fw_dynamic.bin" \
    -kernel "$GUEST/Image" -initrd "$GUEST/initrd.cpio.gz" \
    -append "console=ttyS0 quiet -- dd if=/dev/vda of=/dev/null bs=4k count=8; sleep 60" \
    -drive file="$T/disk.img",format=raw,if=virtio -netdev user,id=net0 -device virtio-net-device,netdev=net0 \
    -serial file:"$T/serial1.txt" -monitor unix:"$T/hmp.sock",server=on,wait=off \
    -qmp unix:"$T/qmp.sock",server=on,wait=off </dev/null >"$T/emu1.log" 2>&1 &
pid=$!
python3 "$client" "$T/hmp.sock" session "$GUEST/fw_dynamic.bin" "$T/qmp.sock" "${EMU##*/}" \
    >"$T/session.txt" 2>&1 ||
    { kill -9 $pid; cat "$T/session.txt" "$T/emu1.log" >&2; fail "HMP session"; }
sys_wait_exit $pid 30 || fail "quit: the emulator still runs"
[ "$sys_status" = 0 ] || fail "quit: exit status $sys_status"
echo "session: $(grep -c '^ok' "$T/session.txt") checks, quit exits 0: ok"

# 2. hostile input on -chardev socket + -mon mode=readline
"$EMU" -M virt -m 128M -display none -nodefaults -bios none -S \
    -chardev socket,id=mon0,path="$T/mon.sock",server=on,wait=off -mon chardev=mon0,mode=readline \
    </dev/null >"$T/emu2.log" 2>&1 &
pid=$!
python3 "$client" "$T/mon.sock" hostile >"$T/hostile.txt" 2>&1 ||
    { kill -9 $pid; cat "$T/hostile.txt" "$T/emu2.log" >&2; fail "hostile input"; }
echo "hostile: $(grep -c '^ok' "$T/hostile.txt") checks: ok"
kill -0 $pid 2>/dev/null || { cat "$T/emu2.log" >&2; fail "the emulator ended during the hostile session"; }
kill -TERM $pid
sys_wait_exit $pid 10 || fail "SIGTERM: the emulator still runs"

# 3. Ctrl-A c on the default console (mon:stdio), a guest shell behind it
python3 "$client" - mux -- "$EMU" -M virt -m 256M -nographic -bios "$GUEST/fw_dynamic.bin" \
    -kernel "$GUEST/Image" -initrd "$GUEST/initrd.cpio.gz" -append "console=ttyS0 quiet -- sh" \
    >"$T/mux.txt" 2>&1 || { cat "$T/mux.txt" >&2; fail "Ctrl-A c"; }
echo "mux: $(grep -c '^ok' "$T/mux.txt") checks: ok"

# 4. -monitor stdio from a script: the commands run, quit ends the machine
printf 'info status\nstop\ninfo status\nquit\n' |
    timeout 60 "$EMU" -M virt -m 128M -display none -bios none -S -monitor stdio \
    >"$T/stdio.txt" 2>&1 || { cat "$T/stdio.txt" >&2; fail "-monitor stdio: exit status"; }
grep -q 'VM status: paused (prelaunch)' "$T/stdio.txt" ||
    { cat "$T/stdio.txt" >&2; fail "-monitor stdio: no status"; }
echo "-monitor stdio: ok"

# 5. bad command lines
if "$EMU" -M virt -bios none -mon chardev=x,mode=bogus >"$T/bad.txt" 2>&1; then
    fail "-mon mode=bogus was accepted"
fi
grep -q "mode=bogus" "$T/bad.txt" || { cat "$T/bad.txt" >&2; fail "-mon mode=bogus: no message"; }
echo "bad -mon mode: ok"
