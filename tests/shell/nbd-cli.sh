#!/bin/sh
# nbd-cli.sh - emu-nbd's command line: SIGTERM with writes in flight (every
# acknowledged write is in the image, exit 0), exit after the last client
# without -t, --fork and --pid-file, -s (writes to a temporary overlay),
# -o, --discard=unmap, --detect-zeroes=unmap, several exports with their
# own options, -e limits, TCP, -L against qemu-nbd, and start-up errors.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/shell/nbd-common.sh"
need nbdinfo nbdsh qemu-img qemu-io qemu-nbd python3
set -e
cd "$T"
truncate -s 64M w.raw

# SIGTERM while writes are in flight
S=$T/w.sock
nbd_start w -t -k "$S" -f raw w.raw
nbdsh -u "$(uri_unix "$S")" -c "$(cat <<EOF2
import os, signal, time
acked = []
def done(i):
    def cb(err):
        if err.value == 0:
            acked.append(i)
        return 1
    return cb
bufs = [nbd.Buffer.from_bytearray(bytearray([i + 1]) * (1 << 18)) for i in range(128)]
for i in range(128):
    h.aio_pwrite(bufs[i], i << 18, completion=done(i))
while not acked:
    h.poll(-1)
os.kill($w_pid, signal.SIGTERM)
try:
    while h.aio_in_flight() > 0:
        h.poll(-1)
except nbd.Error:
    pass
open("acked", "w").write(" ".join(map(str, acked)))
EOF2
)" 2>/dev/null || true
nbd_wait_exit w
[ -s acked ] || fail "no write was acknowledged"
echo "SIGTERM: $(wc -w < acked) of 128 writes acknowledged"
python3 - <<'PY' || fail "an acknowledged write is missing after SIGTERM"
acked = [int(x) for x in open("acked").read().split()]
data = open("w.raw", "rb").read()
for i in acked:
    assert data[i << 18:(i + 1) << 18] == bytes([i + 1]) * (1 << 18), i
PY
[ ! -e "$S" ] || fail "the socket was left behind"

# without -t: exit once the last client has gone
S=$T/once.sock
"$EMU_NBD" -k "$S" -r -f raw w.raw 2> once.err &
once=$!
cleanup_add "kill $once 2>/dev/null"
i=0; until [ -S "$S" ]; do i=$((i + 1)); [ $i -lt 200 ] || fail "no socket"; sleep 0.05; done
sleep 0.1
nbdinfo --size "$(uri_unix "$S")" > /dev/null || fail "first client refused"
wait $once || fail "emu-nbd without -t exited $? after its client: $(cat once.err)"

# --fork and --pid-file
S=$T/fork.sock
"$EMU_NBD" --fork --pid-file "$T/pid" -t -k "$S" -r -f raw w.raw 2> fork.err ||
    fail "--fork failed: $(cat fork.err)"
[ -S "$S" ] || fail "--fork returned before the server listened"
pid=$(cat "$T/pid")
cleanup_add "kill $pid 2>/dev/null"
nbdinfo --size "$(uri_unix "$S")" | grep -qx 67108864 || fail "forked server does not serve"
kill "$pid"
i=0; while kill -0 "$pid" 2>/dev/null; do i=$((i + 1)); [ $i -lt 200 ] || fail "forked server did not stop"; sleep 0.05; done
[ ! -e "$T/pid" ] || fail "pid file left behind"

# -s, -o, --discard, --detect-zeroes, several exports, options after the only file
python3 -c "
import os
open('s.raw', 'wb').write(b'S' * (4 << 20))
open('o.raw', 'wb').write(b'A' * (1 << 20) + b'B' * (1 << 20))
"
cp s.raw s-orig.raw
qemu-img create -q -f qcow2 z.qcow2 8M
qemu-io -f qcow2 -c 'write -P 0x66 0 4M' z.qcow2 >/dev/null
S=$T/multi.sock
nbd_start multi -t -e 0 -k "$S" -x snap -s -f raw s.raw -x off -o 1M -r -f raw o.raw \
    -x z --discard=unmap --detect-zeroes=unmap -f qcow2 z.qcow2
nbdinfo --size "$(uri_unix "$S" off)" | grep -qx 1048576 || fail "-o: wrong size"
nbdsh -u "$(uri_unix "$S" off)" -c 'assert h.pread(4096, 0) == b"B" * 4096' || fail "-o: wrong data"
qemu-io -f raw -c 'write -P 0x77 0 1M' -c 'read -P 0x77 0 1M' "$(uri_unix "$S" snap)" > snap.out ||
    fail "-s: write failed"
grep -qi fail snap.out && fail "-s: $(cat snap.out)"
qemu-io -f raw -c 'discard 0 1M' -c 'write -P 0 1M 1M' "$(uri_unix "$S" z)" >/dev/null
nbdinfo --map "$(uri_unix "$S" z)" > z.map
head -1 z.map | grep -q "2097152 *3 *hole,zero" || fail "discard/detect-zeroes did not unmap: $(cat z.map)"
nbd_stop multi
cmp s.raw s-orig.raw || fail "-s wrote to the image itself"
qemu-img check -q z.qcow2 || fail "z.qcow2 damaged"

# -e 1: a second client waits until the first has gone
S=$T/e.sock
nbd_start e -t -e 1 -k "$S" -r -f raw w.raw
python3 - "$S" <<'PY' || fail "-e 1 let a second client in"
import socket, sys, time
a = socket.socket(socket.AF_UNIX); a.connect(sys.argv[1]); a.recv(18)
time.sleep(0.2)
b = socket.socket(socket.AF_UNIX); b.connect(sys.argv[1]); b.settimeout(0.5)
try:
    b.recv(18)
    sys.exit(1)          # greeted while the first client is still there
except socket.timeout:
    pass
a.close()
b.settimeout(10)
assert b.recv(8) == b"NBDMAGIC"
PY
# ... so -e 1 must not advertise multi-conn: a client trusting it would
# wait forever for its second connection (nbdcopy --connections 4 did)
rc=0; nbdinfo --can multi-conn "$(uri_unix "$S")" || rc=$?
[ $rc -eq 2 ] || fail "-e 1 advertises multi-conn (nbdinfo --can exit $rc)"
timeout 60 nbdcopy --connections 4 "$(uri_unix "$S")" null: ||
    fail "nbdcopy --connections 4 against -e 1 failed or hung"
nbd_stop e
S=$T/e4.sock
nbd_start e4 -t -e 4 -k "$S" -r -f raw w.raw
nbdinfo --can multi-conn "$(uri_unix "$S")" || fail "-e 4 does not advertise multi-conn"
nbd_stop e4

# TCP on loopback (-b, -p), listed with -L over TCP
port=$(nbd_free_port)
"$EMU_NBD" -t -b 127.0.0.1 -p "$port" -x tcp -r -f raw w.raw 2> tcp.err &
tcp=$!
cleanup_add "kill $tcp 2>/dev/null"
nbd_wait_tcp tcp "$port" tcp
nbdinfo --size "nbd://127.0.0.1:$port/tcp" > tcp.size
grep -qx 67108864 tcp.size || fail "TCP export size: $(cat tcp.size)"
"$EMU_NBD" -L -b 127.0.0.1 -p "$port" | grep -q "export: 'tcp'" || fail "-L over TCP"
kill $tcp
wait $tcp || fail "TCP server exited $?: $(cat tcp.err)"

# emu-nbd -L against qemu-nbd
S=$T/q.sock
qemu-nbd -t -x qexp -D "from qemu" -k "$S" -f raw -r w.raw &
qpid=$!
cleanup_add "kill $qpid 2>/dev/null"
nbd_wait_socket "$S"
"$EMU_NBD" -L -k "$S" > L.out || fail "emu-nbd -L against qemu-nbd failed"
grep -q "export: 'qexp'" L.out || fail "-L: $(cat L.out)"
grep -q "description: from qemu" L.out || fail "-L description: $(cat L.out)"
grep -q "size:  67108864" L.out || fail "-L size: $(cat L.out)"

# start-up errors name the problem
run_fails 1 "$EMU_NBD" -k "$T/x.sock" nonexistent.raw 2> err.out
grep -q "^emu-nbd: .*nonexistent.raw" err.out || fail "missing file message: $(cat err.out)"
run_fails 1 "$EMU_NBD" -k "$T/x.sock" --cache=bogus w.raw 2> err.out
grep -q "^emu-nbd: " err.out || fail "bad cache mode message"
run_fails 1 "$EMU_NBD" -k "$T/x.sock" w.raw s.raw 2> err.out
grep -q "two exports named" err.out || fail "duplicate export names: $(cat err.out)"
run_fails 1 "$EMU_NBD" -k "$T/x.sock" -x a w.raw -x b s.raw -r 2> err.out
grep -q "apply to no export" err.out || fail "trailing export options: $(cat err.out)"
run_fails 1 "$EMU_NBD" 2> err.out
grep -q "^emu-nbd: " err.out || fail "no file: $(cat err.out)"
exit 0
