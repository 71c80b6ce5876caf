#!/bin/sh
# trace.sh - trace events in emu-system-riscv64 (doc/tracing.md): the
# monitors' runtime control (QMP trace-event-get-state/-set-state with
# QEMU's replies, HMP trace-event and info trace-events, bad names), -d
# trace:PATTERN, and a Linux guest's disk I/O recorded by the simple
# backend: virtqueue and block requests all complete, and the analysis
# finds the guest's planted overwrite and nothing where it wrote once.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/system/system.sh"
set -e
case $EMU in */emu-system-riscv64) ;; *) skip "trace events are emu's own (EMU=$EMU)" ;; esac
"$top_builddir/emu-img" --trace help | head -1 | grep -q 'simple' ||
    skip "this build has no simple trace backend"
ST=$top_srcdir/scripts/simpletrace.py

# 1. the monitors
"$EMU" -M virt -m 128M -nographic -bios none -S -trace enable=qmp_command \
    -qmp unix:"$T/qmp.sock",server=on,wait=off </dev/null >"$T/emu1.log" 2>&1 &
pid=$!
python3 - "$T/qmp.sock" >"$T/qmp.txt" 2>&1 <<'PYEOF' || { kill -9 $pid; cat "$T/qmp.txt" "$T/emu1.log" >&2; fail "QMP trace commands"; }
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX)
for i in range(600):
    try:
        s.connect(sys.argv[1]); break
    except OSError:
        time.sleep(0.1)
f = s.makefile('rw')
def cmd(cmd_name, **args):
    f.write(json.dumps({"execute": cmd_name, "arguments": args} if args else {"execute": cmd_name}) + "\n")
    f.flush()
    while True:
        m = json.loads(f.readline())
        if 'event' not in m:
            return m
def want(a, b, what):
    if a != b:
        print('FAIL %s: got %r, want %r' % (what, a, b)); sys.exit(1)
    print('ok', what)
json.loads(f.readline())
cmd('qmp_capabilities')
want(cmd('trace-event-get-state', name='qmp_command'),
     {'return': [{'name': 'qmp_command', 'state': 'enabled', 'vcpu': False}]}, 'get-state of an enabled event')
r = cmd('trace-event-get-state', name='virtqueue_*')
want(sorted((e['name'], e['state']) for e in r['return']),
     [('virtqueue_pop', 'disabled'), ('virtqueue_push', 'disabled')], 'get-state of a pattern')
want(cmd('trace-event-set-state', name='virtqueue_*', enable=True), {'return': {}}, 'set-state')
r = cmd('trace-event-get-state', name='virtqueue_p*')
want({e['state'] for e in r['return']}, {'enabled'}, 'set-state took effect')
r = cmd('trace-event-get-state', name='no_such_event')
want((r['error']['class'], r['error']['desc']), ('GenericError', "No such event 'no_such_event'"), 'get-state of an unknown event')
r = cmd('trace-event-set-state', name='no_such_event', enable=True)
want(r['error']['desc'], "No such event 'no_such_event'", 'set-state of an unknown event')
r = cmd('trace-event-set-state', name='qmp_command')
want(r['error']['class'], 'GenericError', 'set-state without enable')
want(cmd('trace-event-get-state', name='zzz*'), {'return': []}, 'a pattern matching nothing')
hmp = lambda line: cmd('human-monitor-command', **{'command-line': line})['return']
want(hmp('info trace-events virtqueue_p*'), 'virtqueue_pop : state 1\r\nvirtqueue_push : state 1\r\n', 'info trace-events')
want(hmp('trace-event virtqueue_pop off'), '', 'trace-event off')
want(hmp('info trace-events virtqueue_pop'), 'virtqueue_pop : state 0\r\n', 'trace-event off took effect')
want(hmp('trace-event nothing_here on'), "Error: No such event 'nothing_here'\r\n", 'trace-event on an unknown event')
want(hmp('trace-event virtqueue_pop maybe'), 'Error: trace-event virtqueue_pop: the state must be on or off\r\n', 'trace-event with a bad state')
want(len(hmp('info trace-events').splitlines()) > 20, True, 'info trace-events lists every event')
cmd('quit')
PYEOF
sys_wait_exit $pid 30 || fail "quit: the emulator still runs"
grep -q '^\[trace\] [0-9]*@[0-9.]*:qmp_command command trace-event-get-state ret 0$' "$T/emu1.log" ||
    fail "-trace enable=qmp_command: no log line ($(head -5 "$T/emu1.log"))"
echo "monitors: $(grep -c '^ok' "$T/qmp.txt") checks: ok"

# -d trace:PATTERN, and bad patterns
"$EMU" -M virt -m 128M -nographic -bios none -d trace:nope_nothing </dev/null >"$T/d.log" 2>&1 &&
    fail "-d trace:nope_nothing was accepted"
grep -q "trace event pattern 'nope_nothing' matches no event" "$T/d.log" || fail "-d trace: $(cat "$T/d.log")"
"$EMU" -trace help >"$T/help.txt"
grep -q '^  virtqueue_pop ' "$T/help.txt" || fail "-trace help: $(head -3 "$T/help.txt")"

# 2. a guest's disk I/O: it writes 64 KiB at 1 MiB, then 16 KiB at 1 MiB
# + 16 KiB over it, and 64 KiB at 4 MiB once
sys_guest
"$top_builddir/emu-img" create -q -f qcow2 "$T/g.qcow2" 16M
SYS_ARGS="-drive file=$T/g.qcow2,format=qcow2,if=virtio -trace blk_*,virtqueue_*,qcow2_*,irq_raise,file=$T/guest.bin"
set +e
(sys_linux 1 "quiet -- $(sys_b64 'head -c 65536 /dev/urandom > /tmp/a
dd if=/tmp/a of=/dev/vda bs=4096 seek=256 count=16 conv=fsync 2>/dev/null; echo W1=$?
dd if=/tmp/a of=/dev/vda bs=4096 seek=260 count=4 conv=fsync 2>/dev/null; echo W2=$?
dd if=/tmp/a of=/dev/vda bs=4096 seek=1024 count=16 conv=fsync 2>/dev/null; echo W3=$?')") >"$T/guest.log" 2>&1 </dev/null &
gpid=$!
sys_wait_exit $gpid "$SYS_TIMEOUT"
set -e
sys_check_run guest
[ "$(sys_val guest W2)" = 0 ] || fail "the guest's writes failed"
python3 "$ST" "$T/guest.bin" >"$T/guest.txt"
grep -q '^virtqueue_pop .*dev virtio-blk-device' "$T/guest.txt" || fail "no virtqueue_pop of virtio-blk"
grep -q '^virtqueue_push .*dev virtio-blk-device' "$T/guest.txt" || fail "no virtqueue_push of virtio-blk"
grep -q '^irq_raise .*plic irq [0-9]* level 1' "$T/guest.txt" || fail "no irq_raise"
grep -q '^qcow2_alloc_clusters ' "$T/guest.txt" || fail "no qcow2_alloc_clusters"
python3 "$top_srcdir/scripts/analyze-leaked-requests.py" "$T/guest.bin" >"$T/leaks.txt" ||
    fail "leaked requests in a clean guest run: $(head -5 "$T/leaks.txt")"
set +e
python3 "$top_srcdir/scripts/analyze-overlapping-writes.py" "$T/guest.bin" 1M 64K >"$T/ov.txt"
st=$?
set -e
[ $st = 1 ] || fail "the guest's overwrite in [1M, 1M+64K) was not found (exit $st): $(cat "$T/ov.txt")"
grep -q 'overwrites the write .* bytes \[1064960, 1081344)' "$T/ov.txt" || fail "overwrite: $(cat "$T/ov.txt")"
python3 "$top_srcdir/scripts/analyze-overlapping-writes.py" "$T/guest.bin" 4M 64K >"$T/ov2.txt" ||
    fail "overlaps where the guest wrote once: $(cat "$T/ov2.txt")"
echo "guest: $(grep -c '^virtqueue_pop' "$T/guest.txt") virtqueue requests, all completed; the overwrite found: ok"
