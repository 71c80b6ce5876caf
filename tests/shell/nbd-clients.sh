#!/bin/sh
# nbd-clients.sh - emu-nbd against the real NBD clients: nbdinfo (--list,
# --map, --map=qemu:allocation-depth, --can), nbdcopy in both directions
# with 4 connections, qemu-img convert/compare/map over nbd://, qemu-io
# with FUA, zero and discard; a qcow2 chain and a raw export served by one
# process; what qemu-nbd reports for the same images is the reference.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/shell/nbd-common.sh"
need nbdinfo nbdcopy qemu-img qemu-io qemu-nbd python3
set -e
cd "$T"

# a qcow2 chain: data in the base, data and zeros on top, holes elsewhere
qemu-img create -q -f qcow2 base.qcow2 64M
qemu-io -f qcow2 -c 'write -P 0x11 0 1M' -c 'write -P 0x12 6M 2M' base.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
qemu-io -f qcow2 -c 'write -P 0x22 4M 1M' -c 'write -z 8M 64k' -c 'write -P 0x23 7M 4k' \
    top.qcow2 >/dev/null
# a sparse raw file
python3 -c "
import os
with open('r.raw', 'wb') as f:
    f.truncate(32 << 20)
    f.seek(1 << 20); f.write(os.urandom(2 << 20))
    f.seek(20 << 20); f.write(b'tail' * 1024)
"
cp top.qcow2 top-ref.qcow2
cp r.raw r-ref.raw

S=$T/sock
nbd_start srv -t -e 0 -k "$S" -x top -D "a qcow2 chain" -f qcow2 top.qcow2 \
    -x raw -r -f raw r.raw
TOP=$(uri_unix "$S" top)
RAW=$(uri_unix "$S" raw)

# --list: both exports, with their descriptions
nbdinfo --list "$(uri_unix "$S")" > list.out
grep -q 'export="top"' list.out || fail "top not listed: $(cat list.out)"
grep -q 'export="raw"' list.out || fail "raw not listed"
grep -q 'description: a qcow2 chain' list.out || fail "description missing: $(cat list.out)"
# emu-nbd -L, as a client
"$EMU_NBD" -L -k "$S" > L.out || fail "emu-nbd -L failed"
grep -q "exports available: 2" L.out || fail "emu-nbd -L: $(cat L.out)"
grep -q "base:allocation" L.out || fail "emu-nbd -L shows no meta contexts"

# --map and --map=qemu:allocation-depth match qemu-nbd's for the same image
qemu-nbd -A -t -r -k "$T/q.sock" -f qcow2 top-ref.qcow2 2> q.err &
qpid=$!
cleanup_add "kill $qpid 2>/dev/null"
qemu-nbd -A -t -r -k "$T/qr.sock" -f raw r-ref.raw 2> qr.err &
qrpid=$!
cleanup_add "kill $qrpid 2>/dev/null"
nbd_wait_socket "$T/q.sock"
nbd_wait_socket "$T/qr.sock"
for ctx in base:allocation qemu:allocation-depth; do
    nbdinfo --map="$ctx" "$TOP" > emu.map
    nbdinfo --map="$ctx" "$(uri_unix "$T/q.sock")" > qemu.map
    cmp -s emu.map qemu.map || fail "--map=$ctx differs from qemu-nbd:
emu:
$(cat emu.map)
qemu:
$(cat qemu.map)"
done
nbdinfo --map "$RAW" > emu.map
nbdinfo --map "$(uri_unix "$T/qr.sock")" > qemu.map
cmp -s emu.map qemu.map || fail "raw --map differs: $(cat emu.map) vs $(cat qemu.map)"
# qemu-img map over NBD sees what qemu-img map of the file says
qemu-img map --output=json "$TOP" > emu.json
qemu-img map --output=json "$(uri_unix "$T/q.sock")" > qemu.json
cmp -s emu.json qemu.json || fail "qemu-img map over nbd differs: $(cat emu.json) vs $(cat qemu.json)"

# --can / --is
for cap in flush fua trim zero fast-zero multi-conn cache df; do
    nbdinfo --can "$cap" "$TOP" || fail "top export cannot $cap"
done
nbdinfo --is read-only "$RAW" || fail "raw export is not read-only"
set +e
nbdinfo --can write "$RAW"; rc=$?
set -e
[ "$rc" = 2 ] || fail "nbdinfo --can write on the read-only export: exit $rc"

# reads: qemu-img convert and compare, nbdcopy with 4 connections
qemu-img convert -f raw -O qcow2 "$TOP" conv.qcow2
qemu-img compare -f qcow2 -F qcow2 top-ref.qcow2 conv.qcow2 >/dev/null ||
    fail "qemu-img convert from nbd differs"
qemu-img compare -f qcow2 top-ref.qcow2 "$TOP" >/dev/null || fail "qemu-img compare over nbd differs"
nbdcopy --connections 4 "$RAW" copy.raw
cmp copy.raw r-ref.raw || fail "nbdcopy read of the raw export differs"
nbdcopy --connections 4 "$TOP" copy2.raw
qemu-img compare -f qcow2 -F raw top-ref.qcow2 copy2.raw >/dev/null || fail "nbdcopy read of qcow2 differs"

# writes: nbdcopy with 4 connections into the qcow2 export
python3 -c "
import os, random
r = random.Random(5)
with open('new.raw', 'wb') as f:
    f.truncate(64 << 20)
    for i in range(64):
        k = r.random()
        f.seek(i << 20)
        if k < 0.5: f.write(os.urandom(1 << 20))
        elif k < 0.7: f.write(bytes(1 << 20))
"
nbdcopy --connections 4 new.raw "$TOP"
nbdcopy "$TOP" back.raw
cmp new.raw back.raw || fail "nbdcopy write to the qcow2 export did not read back"

# qemu-io: FUA writes, zero writes (with and without unmap), discard
qemu-io -f raw -c 'write -f -P 0x5a 0 64k' -c 'write -z 64k 64k' -c 'write -z -u 128k 64k' \
    -c 'discard 192k 64k' -c 'aio_write -P 0x33 1M 64k' -c 'aio_write -P 0x34 2M 64k' \
    -c 'aio_flush' -c 'flush' \
    -c 'read -P 0x5a 0 64k' -c 'read -P 0 64k 128k' -c 'read -P 0x33 1M 64k' \
    -c 'read -P 0x34 2M 64k' "$TOP" > io.out 2>&1 || fail "qemu-io: $(cat io.out)"
if grep -qi "fail\|error" io.out; then fail "qemu-io: $(cat io.out)"; fi

# read-only export: every write refused, reads fine
for cmd in 'write 0 4k' 'write -z 0 4k' 'discard 0 4k'; do
    if qemu-io -f raw -c "$cmd" "$RAW" > ro.out 2>&1 && ! grep -qi "not permitted\|read-only\|denied" ro.out; then
        fail "'$cmd' on the read-only export: $(cat ro.out)"
    fi
done
qemu-io -f raw -r -c 'read 1M 2M' "$RAW" >/dev/null || fail "read of the read-only export failed"

nbd_stop srv
# everything written went to the image file
qemu-img compare -f raw -F qcow2 back.raw top.qcow2 >/dev/null 2>&1 ||
    qemu-io -f qcow2 -c 'read -P 0x5a 0 64k' top.qcow2 | grep -q "read 65536" ||
    fail "writes did not reach top.qcow2"
qemu-io -f qcow2 -c 'read -P 0x5a 0 64k' -c 'read -P 0x34 2M 64k' top.qcow2 > chk.out
grep -qi "fail" chk.out && fail "top.qcow2 after shutdown: $(cat chk.out)"
qemu-img check -q top.qcow2 || fail "qemu-img check top.qcow2 after serving"
exit 0
