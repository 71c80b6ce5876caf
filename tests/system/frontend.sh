#!/bin/sh
# frontend.sh - the `emu` front end against running machines: start (a
# busybox Linux guest and a bare machine with a disk), list (human and
# JSON), status, pause/resume, reset, monitor (a command and a prompt on
# stdin), qmp (a command, a whole message, errors with their class),
# console (a shell command through `emu console` on a terminal, Ctrl-]
# detaches), stop and kill; duplicate names refused, stale entries of
# killed machines and of fake descriptors cleaned, SIGTERM unregisters,
# EMU_REGISTRY=off, usage errors (exit 2) and unknown names (exit 1), and
# machines that answer with broken QMP (tests/system/frontend-peer.py).
# Runs with its own XDG_RUNTIME_DIR: never sees the user's machines.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/system/system.sh"
set -e
case $EMU in
*/emu-system-*) ;;
*) skip "the front end runs emu-system-*, not $EMU" ;;
esac
FE=$top_builddir/emu
[ -x "$FE" ] || fail "$FE was not built"
sys_guest
export XDG_RUNTIME_DIR="$T/xdg"
mkdir -p -m 700 "$XDG_RUNTIME_DIR"
RUN=$XDG_RUNTIME_DIR/emu
# whatever this test started dies with it
cleanup_add 'for f in "$RUN"/*.json; do kill -9 $(sed -n "s/.*\"pid\": *\([0-9]*\).*/\1/p" "$f"); done'
LINUX="-M virt -m 256M -bios $GUEST/fw_dynamic.bin -kernel $GUEST/Image -initrd $GUEST/initrd.cpio.gz"

# expect CODE OUTFILE CMD...: run CMD, its stdout+stderr to OUTFILE; fail
# unless it exits with CODE
expect() {
    _want=$1 _out=$2
    shift 2
    set +e
    "$@" >"$_out" 2>&1
    _got=$?
    set -e
    [ "$_got" = "$_want" ] || { cat "$_out" >&2; fail "$*: exit $_got, want $_want"; }
}
# json_check FILE PYTHON-EXPR: the expression on the parsed file (as j) holds
json_check() {
    python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" || { cat "$1" >&2; fail "JSON check $2"; }
}
pid_of() {
    sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$RUN/$1.json"
}

# 1. the command line, and nothing running yet
expect 2 "$T/out" "$FE"
expect 2 "$T/out" "$FE" frobnicate
grep -q "unknown command 'frobnicate'" "$T/out" || fail "unknown command: $(cat "$T/out")"
expect 0 "$T/out" "$FE" --version
expect 0 "$T/out" "$FE" stop --help
grep -q -- "--timeout" "$T/out" || fail "stop --help says nothing of --timeout"
expect 2 "$T/out" "$FE" list --output=yaml
expect 2 "$T/out" "$FE" status
expect 2 "$T/out" "$FE" pause a b
expect 2 "$T/out" "$FE" list --bogus
expect 0 "$T/out" "$FE" list -o json
json_check "$T/out" 'j == []'
expect 1 "$T/out" "$FE" status nosuch
[ "$(cat "$T/out")" = "emu: no machine named 'nosuch' is running" ] ||
    fail "unknown name: '$(cat "$T/out")'"
for c in pause resume reset stop kill console monitor; do
    expect 1 "$T/out" "$FE" $c nosuch
    grep -q "no machine named 'nosuch'" "$T/out" || fail "$c nosuch: $(cat "$T/out")"
done
expect 1 "$T/out" "$FE" qmp nosuch query-status
echo "command line and unknown names: ok"

# 2. two machines: Linux with a shell on its console, and a bare one held
# by -S with a disk
head -c 1M /dev/zero >"$T/disk.img"
expect 0 "$T/start1" "$FE" start vm1 -- $LINUX -append "console=ttyS0 quiet -- sh"
expect 0 "$T/start2" "$FE" start vm2 -- -M virt -m 64M -bios none -S \
    -drive file="$T/disk.img",format=raw,if=virtio,id=disk0
for f in vm1.json vm1.qmp vm1.console vm2.json vm2.qmp; do
    [ -e "$RUN/$f" ] || fail "no $f in the runtime directory"
done
[ "$(stat -c %a "$RUN")" = 700 ] || fail "the runtime directory is $(stat -c %a "$RUN")"
expect 1 "$T/out" "$FE" start vm1 -- -bios none
grep -q "already running" "$T/out" || fail "emu start of a live name: $(cat "$T/out")"
expect 1 "$T/out" "$EMU" -name vm1 -M virt -bios none -display none -nodefaults
grep -q "already running" "$T/out" || fail "emu-system -name of a live name: $(cat "$T/out")"
expect 2 "$T/out" "$FE" start vm3 -- -name other
expect 2 "$T/out" "$FE" start 'bad/name'
echo "start, duplicate names refused: ok"

expect 0 "$T/list" "$FE" list
grep -q "^vm1 .* riscv64 .* running " "$T/list" || { cat "$T/list" >&2; fail "list: vm1 not running"; }
grep -q "^vm2 .* prelaunch .* disk0" "$T/list" || { cat "$T/list" >&2; fail "list: vm2"; }
expect 0 "$T/list.json" "$FE" list --output=json
json_check "$T/list.json" '[m["name"] for m in j] == ["vm1", "vm2"]'
json_check "$T/list.json" 'j[0]["status"] == "running" and j[1]["status"] == "prelaunch"'
json_check "$T/list.json" 'j[1]["disks"][0]["device"] == "disk0" and j[1]["disks"][0]["file"].endswith("disk.img")'
json_check "$T/list.json" 'j[0]["pid"] > 0 and j[0]["target"] == "riscv64" and j[0]["console"].endswith("vm1.console")'
expect 0 "$T/out" "$FE" list -q
[ "$(cat "$T/out")" = "vm1
vm2" ] || fail "list -q: $(cat "$T/out")"
echo "list, human and JSON: ok"

# 3. the console: wait for the shell (the console drops output nobody
# reads), then type into it on a terminal and detach with Ctrl-]
i=0
while :; do
    printf 'echo READY-$((40+2))\n' | "$FE" console vm1 >"$T/ready" 2>&1 || true
    grep -q "^READY-42" "$T/ready" && break
    i=$((i + 1))
    [ $i -lt 120 ] || { cat "$T/ready" "$RUN/vm1.log" >&2; fail "console: the guest shell never answered"; }
done
printf '%s\n' 'expect Connected to vm1 10' 'send echo MARK-$((6*7))\n' 'expect MARK-42 10' \
    'send \x1d' 'exit 10' >"$T/console.script"
r=$(python3 "$top_srcdir/tests/system/console.py" "$T/console.log" "$T/console.script" -- \
    "$FE" console vm1) || { cat -A "$T/console.log" >&2; fail "console: $r"; }
[ "$r" = "exit 0" ] || fail "console: $r"
expect 0 "$T/st.json" "$FE" status vm1 -o json
json_check "$T/st.json" 'j["status"] == "running"'
echo "console: a shell command answered, Ctrl-] detached: ok"

# 4. run control; the shell still answers afterwards
expect 0 "$T/out" "$FE" status vm1
grep -q "^status: *running" "$T/out" || fail "status: $(cat "$T/out")"
expect 0 "$T/out" "$FE" pause vm1
expect 0 "$T/st.json" "$FE" status vm1 --output=json
json_check "$T/st.json" 'j["status"] == "paused"'
expect 0 "$T/out" "$FE" monitor vm1 info status
grep -q "VM status: paused" "$T/out" || fail "monitor info status: $(cat "$T/out")"
expect 0 "$T/out" "$FE" resume vm1
expect 0 "$T/st.json" "$FE" qmp vm1 query-status
json_check "$T/st.json" 'j["status"] == "running" and j["running"] is True'
expect 0 "$T/out" "$FE" reset vm2
expect 0 "$T/st.json" "$FE" qmp vm2 '{"execute": "query-name"}'
json_check "$T/st.json" 'j == {"name": "vm2"}'
expect 1 "$T/out" "$FE" qmp vm2 query-nothing
grep -q "^emu: vm2: CommandNotFound: " "$T/out" || fail "qmp error: $(cat "$T/out")"
expect 2 "$T/out" "$FE" qmp vm2 query-status '{"broken'
expect 2 "$T/out" "$FE" qmp vm2 query-status '[1]'
printf 'info status\n\ninfo name\n' >"$T/hmp.in"
expect 0 "$T/out" sh -c '"$0" monitor vm1 <"$1"' "$FE" "$T/hmp.in"
grep -q "VM status: running" "$T/out" && grep -q "^vm1$" "$T/out" ||
    fail "monitor prompt on stdin: $(cat "$T/out")"
printf 'echo AFTER-$((1+1))\n' | "$FE" console vm1 >"$T/after" 2>&1 || true
grep -q "^AFTER-2" "$T/after" || { cat -A "$T/after" >&2; fail "console after pause/resume: no answer"; }
echo "status, pause/resume, reset, monitor, qmp: ok"

# 5. stale entries: a machine killed with SIGKILL, a descriptor nobody
# holds (with its socket); the next list or registration removes them
expect 0 "$T/out" "$FE" start vm3 -- -M virt -bios none -S
kill -9 "$(pid_of vm3)"
python3 -c 'import json, os, socket, sys
d = sys.argv[1]
for n in sys.argv[2:]:
    json.dump({"name": n, "pid": 1, "target": "riscv64"}, open(os.path.join(d, n + ".json"), "w"))
    s = socket.socket(socket.AF_UNIX); s.bind(os.path.join(d, n + ".qmp")); s.close()' "$RUN" ghost
sleep 0.2
[ -e "$RUN/vm3.json" ] && [ -e "$RUN/ghost.qmp" ] || fail "stale files missing before the clean-up"
expect 0 "$T/list.json" "$FE" list -o json
json_check "$T/list.json" '[m["name"] for m in j] == ["vm1", "vm2"]'
for f in vm3.json vm3.qmp vm3.console ghost.json ghost.qmp; do
    [ ! -e "$RUN/$f" ] || fail "list left the stale $f"
done
[ -e "$RUN/vm3.log" ] || fail "the stale machine's log was removed"
expect 1 "$T/out" "$FE" status vm3
python3 -c 'import json, os, socket, sys
d = sys.argv[1]
for n in sys.argv[2:]:
    json.dump({"name": n, "pid": 1, "target": "riscv64"}, open(os.path.join(d, n + ".json"), "w"))
    s = socket.socket(socket.AF_UNIX); s.bind(os.path.join(d, n + ".qmp")); s.close()' "$RUN" vm4
"$EMU" -name vm4 -M virt -bios none -S -display none -nodefaults </dev/null >"$T/vm4.log" 2>&1 &
vm4=$!
i=0
until grep -q "\"pid\": $vm4" "$RUN/vm4.json" 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 100 ] || { cat "$T/vm4.log" >&2; fail "a stale descriptor kept its name from a new machine"; }
    sleep 0.1
done
echo "stale entries cleaned by list and by registration: ok"

# 6. SIGTERM unregisters; EMU_REGISTRY=off does not register
expect 0 "$T/out" "$FE" qmp vm4 query-status
kill -TERM $vm4
sys_wait_exit $vm4 10 || fail "SIGTERM: vm4 still runs"
for f in vm4.json vm4.qmp; do
    [ ! -e "$RUN/$f" ] || fail "SIGTERM left $f"
done
EMU_REGISTRY=off "$EMU" -name hidden -M virt -bios none -S -display none -nodefaults \
    </dev/null >"$T/hidden.log" 2>&1 &
hidden=$!
sleep 1
kill -0 $hidden || { cat "$T/hidden.log" >&2; fail "EMU_REGISTRY=off: the machine did not run"; }
[ ! -e "$RUN/hidden.json" ] || fail "EMU_REGISTRY=off registered the machine"
kill -TERM $hidden
sys_wait_exit $hidden 10 || true
echo "SIGTERM unregisters, EMU_REGISTRY=off: ok"

# 7. machines that speak broken QMP: a clear error naming them, exit 1,
# in a few seconds; list goes on and shows them unreachable
for mode in garbage nogreeting badjson wrongtype deep huge close; do
    python3 "$top_srcdir/tests/system/frontend-peer.py" "$RUN" evil $mode >"$T/peer-$mode.out" 2>&1 &
    peer=$!
    i=0
    until grep -q ready "$T/peer-$mode.out"; do
        i=$((i + 1))
        [ $i -lt 50 ] || { cat "$T/peer-$mode.out" >&2; fail "peer $mode did not start"; }
        sleep 0.1
    done
    s=$(date +%s)
    expect 1 "$T/out" timeout 30 "$FE" status evil
    [ $(($(date +%s) - s)) -le 12 ] || fail "$mode: emu took $(($(date +%s) - s)) s"
    grep -q "^emu: evil: " "$T/out" || fail "$mode: the error does not name the machine: $(cat "$T/out")"
    [ "$(wc -l <"$T/out")" -le 2 ] || { cat "$T/out" >&2; fail "$mode: more than a line or two"; }
    expect 1 "$T/out2" timeout 30 "$FE" qmp evil query-status
    expect 0 "$T/list.json" timeout 30 "$FE" list -o json
    json_check "$T/list.json" '[m["status"] for m in j if m["name"] == "evil"] == ["unreachable"]'
    echo "broken peer '$mode': $(head -n 1 "$T/out")"
    kill $peer
    wait $peer 2>/dev/null || true
    rm -f "$RUN/evil.json" "$RUN/evil.qmp"
done

# 8. snapshots and an NBD export of a running machine (the monitor's
# savevm/loadvm/delvm and the QMP NBD server do the work; here, the
# front end's part)
"$top_builddir/emu-img" create -f qcow2 "$T/snap.qcow2" 16M >/dev/null
expect 0 "$T/out" "$FE" start vm5 -- -M virt -m 64M -bios none -S \
    -drive file="$T/snap.qcow2",format=qcow2,if=virtio,id=disk0
expect 0 "$T/out" "$FE" snapshot vm5 save snap1
expect 0 "$T/out" "$FE" snapshot vm5 list
grep -q " snap1 " "$T/out" || fail "snapshot list: $(cat "$T/out")"
expect 0 "$T/out" "$FE" snapshot vm5 load snap1
expect 1 "$T/out" "$FE" snapshot vm5 load nosuch
grep -q "^emu: vm5: .*nosuch" "$T/out" || fail "snapshot load of a missing tag: $(cat "$T/out")"
expect 2 "$T/out" "$FE" snapshot vm5 load
expect 2 "$T/out" "$FE" snapshot vm5 rename a
expect 0 "$T/out" "$FE" snapshot vm5 delete snap1
expect 0 "$T/out" "$FE" snapshot vm5 list
grep -q " snap1 " "$T/out" && fail "snapshot delete: $(cat "$T/out")"
expect 0 "$T/uri" "$FE" export vm5 disk0
[ "$(cat "$T/uri")" = "nbd+unix:///disk0?socket=$RUN/vm5.nbd" ] || fail "export: $(cat "$T/uri")"
expect 0 "$T/exp.json" "$FE" export vm5 disk0 --name second -o json
json_check "$T/exp.json" 'j["export"] == "second" and j["uri"].startswith("nbd+unix:///second?")'
expect 1 "$T/out" "$FE" export vm5 nodisk
grep -q "^emu: vm5: " "$T/out" || fail "export of a missing drive: $(cat "$T/out")"
if command -v nbdinfo >/dev/null; then
    nbdinfo "$(cat "$T/uri")" >"$T/nbdinfo" 2>&1 || { cat "$T/nbdinfo" >&2; fail "nbdinfo on the export"; }
    grep -q "export-size: 16777216" "$T/nbdinfo" || fail "nbdinfo: $(cat "$T/nbdinfo")"
fi
expect 0 "$T/out" "$FE" kill vm5
echo "snapshot save/list/load/delete, export (nbd URI$(command -v nbdinfo >/dev/null && echo ', nbdinfo reads it')): ok"

# 9. stop (the virt board has no power button: the guest stays, and is
# told to quit after the timeout) and kill; nothing is left
expect 0 "$T/out" "$FE" stop vm2 --timeout 1
expect 0 "$T/out" "$FE" kill vm1
expect 0 "$T/list.json" "$FE" list -o json
json_check "$T/list.json" 'j == []'
left=$(cd "$RUN" && ls | grep -v '\.log$' || true)
[ -z "$left" ] || fail "files left in the runtime directory: $left"
expect 1 "$T/out" "$FE" kill vm1
echo "stop, kill, list empty afterwards: ok"

# 10. machines come and go (started by hand, by emu start, ended by
# SIGKILL, SIGTERM, emu kill): after each change the list is exactly
# the machines that run
alive=""
check_list() {
    expect 0 "$T/list.json" "$FE" list -o json
    json_check "$T/list.json" "sorted(m['name'] for m in j) == sorted('$alive'.split())"
}
bare() {    # bare NAME: a machine started by hand, registered when it returns
    # (in a subshell: not our child, so no job messages when it is killed)
    ("$EMU" -name "$1" -M virt -m 32M -bios none -S -display none -nodefaults \
        </dev/null >>"$T/bare.log" 2>&1 &)
    _i=0
    until [ -e "$RUN/$1.json" ] && "$FE" qmp "$1" query-status >/dev/null 2>&1; do
        _i=$((_i + 1))
        [ $_i -lt 100 ] || { cat "$T/bare.log" >&2; fail "$1 did not register"; }
        sleep 0.1
    done
}
for n in m1 m2 m3; do
    bare $n
    alive="$alive $n"
    check_list
done
expect 1 "$T/out" "$FE" console m1
grep -q "^emu: m1: the machine has no console socket" "$T/out" || fail "console without a socket: $(cat "$T/out")"
kill -9 "$(pid_of m2)"
alive=" m1 m3"
sleep 0.3
check_list
expect 0 "$T/out" "$FE" start m4 -- -M virt -m 32M -bios none -S
alive="$alive m4"
check_list
kill -TERM "$(pid_of m1)"
alive=" m3 m4"
i=0
while [ -e "$RUN/m1.json" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
check_list
bare m2
alive="$alive m2"
check_list
for n in m2 m3 m4; do
    expect 0 "$T/out" "$FE" kill $n
done
alive=""
check_list
echo "list while machines come and go: ok"
exit 0
