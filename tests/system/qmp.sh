#!/bin/sh
# qmp.sh - the QMP monitor (-qmp, -chardev + -mon mode=control): a whole
# session through every command there is, with events in order
# (tests/system/qmp-client.py); 10,000 hostile messages after which the
# monitor still answers and the emulator's memory stays bounded; socat as
# a plain client; a listening socket passed down by descriptor (libvirt's
# -chardev socket,fd=N); the guest's own poweroff as a SHUTDOWN event.
# EMU=qemu-system-riscv64 runs the same against QEMU.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/system/system.sh"
need socat
set -e
sys_guest
client=$top_srcdir/tests/system/qmp-client.py
head -c 1M /dev/zero >"$T/disk.img"

# 1. a session, with -S and a disk
"$EMU" -M virt -m 256M -nographic -S -name qmp-test -bios "$GUEST/fw_dynamic.bin" \
    -kernel "$GUEST/Image" -initrd "$GUEST/initrd.cpio.gz" -append "console=ttyS0 quiet -- sleep 60" \
    -drive file="$T/disk.img",format=raw,if=virtio \
    -qmp unix:"$T/qmp.sock",server=on,wait=off </dev/null >"$T/emu1.log" 2>&1 &
pid=$!
python3 "$client" "$T/qmp.sock" session >"$T/session.txt" 2>&1 ||
    { kill -9 $pid; cat "$T/session.txt" "$T/emu1.log" >&2; fail "QMP session"; }
sys_wait_exit $pid 30 || fail "quit: the emulator still runs"
[ "$sys_status" = 0 ] || fail "quit: exit status $sys_status"
echo "session: $(grep -c '^ok' "$T/session.txt") checks, quit exits 0: ok"

# 2. hostile input on -chardev + -mon, then socat as a client
"$EMU" -M virt -m 128M -nographic -bios none -S \
    -chardev socket,id=mon0,path="$T/mon.sock",server=on,wait=off -mon chardev=mon0,mode=control \
    </dev/null >"$T/emu2.log" 2>&1 &
pid=$!
python3 "$client" "$T/mon.sock" hostile >"$T/hostile.txt" 2>&1 ||
    { kill -9 $pid; cat "$T/hostile.txt" "$T/emu2.log" >&2; fail "hostile messages"; }
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
echo "hostile: $(cat "$T/hostile.txt"); resident memory $rss KiB"
[ "$rss" -lt 400000 ] || { kill -9 $pid; fail "hostile: resident memory $rss KiB"; }
out=$(printf '%s\n' '{"execute": "qmp_capabilities"}' '{"execute": "query-status"}' |
    timeout 10 socat -t 2 - UNIX-CONNECT:"$T/mon.sock") || true
case $out in
*'"status": "prelaunch"'*) echo "socat: query-status: ok" ;;
*) kill -9 $pid; echo "$out" >&2; fail "socat: no query-status reply" ;;
esac
kill -0 $pid 2>/dev/null || { cat "$T/emu2.log" >&2; fail "the emulator ended during the hostile session"; }
kill -TERM $pid
sys_wait_exit $pid 10 || fail "SIGTERM: the emulator still runs"

# 4. a listening socket passed down as a descriptor, as libvirt does
python3 - "$EMU" "$T/passed.sock" >"$T/passed.txt" 2>&1 <<'PYEOF' ||
import json, socket, subprocess, sys
emu, path = sys.argv[1], sys.argv[2]
l = socket.socket(socket.AF_UNIX)
l.bind(path)
l.listen(1)
fd = l.fileno()
p = subprocess.Popen([emu, "-M", "virt", "-m", "128M", "-display", "none", "-nodefaults",
                      "-bios", "none", "-S", "-chardev",
                      "socket,id=charmonitor,fd=%d,server=on,wait=off" % fd,
                      "-mon", "chardev=charmonitor,id=monitor,mode=control"],
                     pass_fds=[fd], stdin=subprocess.DEVNULL)
l.close()
c = socket.socket(socket.AF_UNIX)
c.connect(path)
c.settimeout(30)
f = c.makefile("rb")
assert "QMP" in json.loads(f.readline())
for cmd in ("qmp_capabilities", "query-status", "quit"):
    c.sendall(json.dumps({"execute": cmd}).encode() + b"\n")
    r = json.loads(f.readline())
    if cmd == "query-status":
        assert r["return"]["status"] == "prelaunch", r
sys.exit(p.wait(30))
PYEOF
    { cat "$T/passed.txt" >&2; fail "QMP on a socket passed as fd="; }
echo "QMP on a passed descriptor: ok"

# 5. snapshot jobs: snapshot-save/-delete, their JOB_STATUS_CHANGE events,
# query-jobs, job-dismiss; the snapshot as qemu-img lists it
qemu-img create -f qcow2 "$T/jobs.qcow2" 64M >/dev/null
"$EMU" -M virt -m 128M -display none -serial null -bios "$GUEST/fw_dynamic.bin" \
    -kernel "$GUEST/Image" -initrd "$GUEST/initrd.cpio.gz" -append "console=ttyS0 quiet -- sleep 60" \
    -blockdev driver=qcow2,node-name=disk0,file.driver=file,file.filename="$T/jobs.qcow2" \
    -device virtio-blk-device,drive=disk0 -qmp unix:"$T/jobs.sock",server=on,wait=off </dev/null >"$T/emu5.log" 2>&1 &
pid=$!
python3 - "$T/jobs.sock" >"$T/jobs.txt" 2>&1 <<'PYEOF' ||
import json, socket, sys, time
deadline = time.time() + 60
while True:
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(sys.argv[1])
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("no monitor")
        time.sleep(0.1)
s.settimeout(120)
f = s.makefile("rb")
json.loads(f.readline())
events = []
def call(cmd, args=None):
    m = {"execute": cmd}
    if args is not None:
        m["arguments"] = args
    s.sendall(json.dumps(m).encode() + b"\n")
    while True:
        r = json.loads(f.readline())
        if "event" in r:
            events.append(r)
        else:
            return r
def wait_status(job, status):
    while not any(e["event"] == "JOB_STATUS_CHANGE" and e["data"] == {"id": job, "status": status}
                  for e in events):
        events.append(json.loads(f.readline()))
def statuses(job):
    return [e["data"]["status"] for e in events
            if e["event"] == "JOB_STATUS_CHANGE" and e["data"]["id"] == job]
call("qmp_capabilities")
r = call("snapshot-save", {"job-id": "save0", "tag": "snap0", "vmstate": "disk0",
                           "devices": ["disk0"]})
assert r == {"return": {}}, r
wait_status("save0", "concluded")
assert statuses("save0") == ["created", "running", "waiting", "pending", "concluded"], events
print("ok snapshot-save events", statuses("save0"))
r = call("query-jobs")["return"]
assert r == [{"id": "save0", "type": "snapshot-save", "status": "concluded",
              "current-progress": 1, "total-progress": 1}], r
print("ok query-jobs")
r = call("snapshot-save", {"job-id": "save0", "tag": "x", "vmstate": "disk0", "devices": ["disk0"]})
assert "error" in r, r
print("ok a job id in use:", r["error"]["desc"])
r = call("job-dismiss", {"id": "save0"})
assert r == {"return": {}}, r
wait_status("save0", "null")
assert call("query-jobs") == {"return": []}
print("ok job-dismiss")
r = call("human-monitor-command", {"command-line": "info snapshots"})["return"]
assert "snap0" in r, r
print("ok info snapshots lists it")
r = call("snapshot-delete", {"job-id": "del0", "tag": "snap0", "devices": ["disk0"]})
assert r == {"return": {}}, r
wait_status("del0", "concluded")
assert "error" not in call("query-jobs")["return"][0]
call("job-dismiss", {"id": "del0"})
r = call("snapshot-load", {"job-id": "load0", "tag": "snap0", "vmstate": "disk0",
                           "devices": ["disk0"]})
wait_status("load0", "concluded")
j = call("query-jobs")["return"][0]
assert j["status"] == "concluded" and "error" in j, j
print("ok snapshot-load of a deleted snapshot concludes with an error:", j["error"])
call("quit")
PYEOF
    { kill -9 $pid; cat "$T/jobs.txt" "$T/emu5.log" >&2; fail "snapshot jobs"; }
cat "$T/jobs.txt"
sys_wait_exit $pid 30 || fail "jobs: the emulator still runs"
qemu-img check "$T/jobs.qcow2" >"$T/jobs-check.txt" 2>&1 ||
    { cat "$T/jobs-check.txt" >&2; fail "jobs: qemu-img check"; }
echo "snapshot jobs: qemu-img check: ok"

# 6. stop/cont: the guest's clock stands still while the machine is
# stopped, as with qemu's virtual clock (the guest prints /proc/uptime)
# (a loaded host may starve the guest for seconds; a clock that ran on
# across the stop would show the whole 10 s)
"$EMU" -M virt -m 128M -display none -bios "$GUEST/fw_dynamic.bin" -kernel "$GUEST/Image" \
    -initrd "$GUEST/initrd.cpio.gz" -serial file:"$T/uptime.txt" \
    -append "console=ttyS0 quiet -- while true; do cat /proc/uptime; sleep 0.2; done" \
    -qmp unix:"$T/clock.sock",server=on,wait=off </dev/null >"$T/emu6.log" 2>&1 &
pid=$!
sys_wait_for "$T/uptime.txt" '^[0-9]+\.[0-9]+ ' 60 || { kill -9 $pid; fail "clock: no uptime"; }
python3 - "$T/clock.sock" <<'PYEOF' || { kill -9 $pid; fail "clock: stop/cont"; }
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rb")
f.readline()
def call(c):
    s.sendall(json.dumps({"execute": c}).encode() + b"\n")
    while "event" in (r := json.loads(f.readline())):
        pass
    return r
call("qmp_capabilities")
time.sleep(1)
call("stop")
time.sleep(10)
call("cont")
time.sleep(2)
call("quit")
PYEOF
sys_wait_exit $pid 30 || fail "clock: the emulator still runs"
gap=$(awk '{ if (NR > 1 && $1 - p > g) g = $1 - p; p = $1 } END { printf "%.2f", g }' "$T/uptime.txt")
echo "stop 10 s, cont: the guest's largest uptime step is $gap s"
awk -v g="$gap" 'BEGIN { exit !(g < 8) }' || fail "clock: the guest's time jumped $gap s over a stop"

# 3. the guest powers off: SHUTDOWN with guest: true (qemu 7.2's
# sifive_test calls exit() at once, without the event: not checked there)
case $EMU in
*qemu-system*) echo "guest poweroff event: not checked against qemu 7.2"; exit 0 ;;
esac
"$EMU" -M virt -m 256M -nographic -bios "$GUEST/fw_dynamic.bin" -kernel "$GUEST/Image" \
    -initrd "$GUEST/initrd.cpio.gz" -append "console=ttyS0 quiet -- true" \
    -qmp unix:"$T/qmp3.sock",server=on,wait=on </dev/null >"$T/emu3.log" 2>&1 &
pid=$!
python3 "$client" "$T/qmp3.sock" poweroff >"$T/poweroff.txt" 2>&1 ||
    { kill -9 $pid; cat "$T/poweroff.txt" "$T/emu3.log" >&2; fail "guest poweroff event"; }
sys_wait_exit $pid 30 || fail "poweroff: the emulator still runs"
[ "$sys_status" = 0 ] || fail "poweroff: exit status $sys_status"
cat "$T/poweroff.txt"
exit 0
