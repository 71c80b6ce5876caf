#!/bin/sh
# img-damaged-write.sh - writing into damaged images must not spread the
# damage.  No data write lands on a qcow2 table (the image is marked
# corrupt instead, as qemu does, and `emu-img check -r all` brings it
# back); no new VMDK grain or VHDX block overlaps one that reaches past a
# truncated end; no new VDI block overwrites one that the map uses but the
# header does not count; VMDK, VDI, VHDX and VHD tables that send two
# guest blocks to one place take no writes; no VHD block is placed behind a
# table entry that points past the end.  A refused write fails with a
# message naming the file, and what was there stays.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/shell/nbd-common.sh"
need qemu-img qemu-io python3
set -e
cd "$T"

head -c 1M /dev/urandom > src.raw

# write_past_cut FMT FILE NEXT MSG: through emu-nbd, rewrite 8 KiB of the
# cut block 0 in place, then write at NEXT (a new block, which must be
# refused), then read block 0 back; the server's warning must match MSG.
write_past_cut() {
    "$EMU_NBD" -t -f "$1" -k "$T/cut.sock" "$2" 2> nbd.err &
    nbd_pid=$!
    nbd_wait_socket "$T/cut.sock"
    set +e
    qemu-io -f raw -c "write -P 0x33 0 8k" -c "write -P 0x44 $3 8k" -c "read -P 0x33 0 8k" \
        "nbd+unix:///?socket=$T/cut.sock" > io.txt 2>&1
    set -e
    kill $nbd_pid
    wait $nbd_pid || true
    rm -f "$T/cut.sock"
    grep -q "write failed" io.txt || { cat io.txt; fail "$1: a new block behind a cut one was written"; }
    grep -q "Pattern verification failed" io.txt && { cat io.txt; fail "$1: a new block overwrote block 0"; }
    grep -q "read 8192/8192" io.txt || { cat io.txt; fail "$1: block 0 does not read back"; }
    grep -q "$2'.*$4" nbd.err || { cat nbd.err; fail "$1: no message naming the image"; }
}

# refused FMT FILE MSG: convert -n into FILE fails with a message naming
# it and matching MSG, and leaves FILE as it was.
refused() {
    sum=$(md5sum < "$2")
    set +e
    "$EMU_IMG" convert -n -f raw -O "$1" src.raw "$2" > /dev/null 2> err.txt; rc=$?
    set -e
    [ "$rc" = 1 ] && grep -q "$2'.*$3" err.txt || { cat err.txt; fail "$1 $2: writing exited $rc"; }
    [ "$(md5sum < "$2")" = "$sum" ] || fail "$1 $2: the image changed"
}

# --- qcow2: an L2 entry points at the L2 table itself ----------------------
qemu-img create -q -f qcow2 -o cluster_size=4096 d.qcow2 1M
qemu-io -f qcow2 -c "write -P 0x11 0 4k" d.qcow2 > /dev/null
python3 - <<'PY'
import struct
f = open('d.qcow2', 'r+b')
f.seek(40); l1 = struct.unpack('>Q', f.read(8))[0]
f.seek(l1); l2 = struct.unpack('>Q', f.read(8))[0] & 0x00fffffffffffe00
# guest cluster 1 -> the L2 table's own cluster, "owned" (COPIED)
f.seek(l2 + 8); f.write(struct.pack('>Q', l2 | (1 << 63)))
open('l2.off', 'w').write(str(l2))
PY
l2=$(cat l2.off)
dd if=d.qcow2 bs=4096 skip=$((l2 / 4096)) count=1 status=none > l2.before
set +e
"$EMU_IMG" convert -n -f raw -O qcow2 src.raw d.qcow2 > out.txt 2> err.txt; rc=$?
set -e
[ "$rc" = 1 ] || { cat err.txt; fail "qcow2: a write over the L2 table exited $rc"; }
grep -q "d.qcow2'.*marking the image corrupt.*L2 table" err.txt ||
    { cat err.txt; fail "qcow2: no message naming the image and the table"; }
dd if=d.qcow2 bs=4096 skip=$((l2 / 4096)) count=1 status=none > l2.after
cmp -s l2.before l2.after || fail "qcow2: the L2 table was overwritten"
qemu-img info --output=json d.qcow2 | grep -q '"corrupt": true' ||
    fail "qcow2: the corrupt bit is not set (qemu-img info)"
# a corrupt image opens read-only only, until it is repaired
set +e
"$EMU_IMG" resize d.qcow2 2M > /dev/null 2> err.txt; rc=$?
set -e
[ "$rc" = 1 ] && grep -q corrupt err.txt || { cat err.txt; fail "qcow2: corrupt image opened read/write"; }
"$EMU_IMG" check -r all d.qcow2 > /dev/null || true
qemu-img info --output=json d.qcow2 | grep -q '"corrupt": false' ||
    fail "qcow2: check -r all left the corrupt bit set"
qemu-img check d.qcow2 > /dev/null || fail "qcow2: qemu-img check fails after emu-img check -r all"
# repaired: the shared cluster is copied on write now, the table stays
"$EMU_IMG" convert -n -f raw -O qcow2 src.raw d.qcow2
qemu-img compare -f raw -F qcow2 src.raw d.qcow2 > /dev/null || fail "qcow2: data after repair"
qemu-img check d.qcow2 > /dev/null || fail "qcow2: qemu-img check after the rewrite"

# --- VMDK: a grain reaches past the truncated end of the file --------------
"$EMU_IMG" create -q -f vmdk t.vmdk 1M
qemu-io -f vmdk -c "write -P 0x22 0 64k" t.vmdk > /dev/null
size=$(stat -c %s t.vmdk)
"$EMU_IMG" check t.vmdk > /dev/null || fail "vmdk: check fails on a sound image"
truncate -s $((size - 40000)) t.vmdk         # grain 0 is cut short
set +e
"$EMU_IMG" check t.vmdk > out.txt 2> err.txt; rc=$?
set -e
[ "$rc" = 2 ] && grep -q "ERROR: extent 0: grain for sector 0 .* past the end" err.txt ||
    { cat out.txt err.txt; fail "vmdk: check exit $rc on a cut grain, expected 2"; }
write_past_cut vmdk t.vmdk 64k "grain at byte.*reaches past the end of the file"
# rewriting the cut grain whole heals the image: then new grains go behind it
"$EMU_IMG" convert -n -f raw -O vmdk src.raw t.vmdk
qemu-img compare -f raw -F vmdk src.raw t.vmdk > /dev/null || fail "vmdk: data after a full rewrite"
qemu-img check t.vmdk > /dev/null || fail "vmdk: qemu-img check after a full rewrite"

# two table entries for one grain: no writes at all
"$EMU_IMG" create -q -f vmdk a.vmdk 1M
qemu-io -f vmdk -c "write -P 0x22 0 64k" -c "write -P 0x23 64k 64k" a.vmdk > /dev/null
python3 - <<'PY'
import struct
f = open('a.vmdk', 'r+b')
for field in (48, 56):                   # redundant and main directory
    f.seek(field); gd = struct.unpack('<Q', f.read(8))[0]
    f.seek(gd * 512); gt = struct.unpack('<I', f.read(4))[0]
    f.seek(gt * 512); e0 = f.read(4); f.write(e0)   # entry 1 = entry 0
PY
refused vmdk a.vmdk "two grain table entries point into the grain"

# --- VHDX: the same, with a payload block cut short --------------------------
qemu-img create -q -f vhdx -o block_size=1M h.vhdx 8M
qemu-io -f vhdx -c "write -P 0x44 0 1M" h.vhdx > /dev/null
truncate -s $(($(stat -c %s h.vhdx) - 524288)) h.vhdx
write_past_cut vhdx h.vhdx 1M "block 0 reaches past the end of the file"

# --- VHDX: two table entries send guest blocks to one payload block --------
qemu-img create -q -f vhdx -o block_size=1M hv.vhdx 8M
qemu-io -f vhdx -c "write -P 0x44 0 1M" -c "write -P 0x45 1M 1M" hv.vhdx > /dev/null
python3 - <<'PY'
import struct
f = open('hv.vhdx', 'r+b')
f.seek(192 * 1024); rt = f.read(64 * 1024)
for i in range(struct.unpack('<I', rt[8:12])[0]):
    guid, off = rt[16 + 32 * i:32 + 32 * i], struct.unpack('<Q', rt[32 + 32 * i:40 + 32 * i])[0]
    if guid[:4] == bytes.fromhex('6677c22d'):          # the BAT region
        f.seek(off); e0 = f.read(8); f.seek(off + 8); f.write(e0)
PY
refused vhdx hv.vhdx "two payload blocks overlap"

# --- VDI: the header counts fewer blocks than the map uses -----------------
qemu-img create -q -f vdi b.vdi 4M
qemu-io -f vdi -c "write -P 0x11 0 64k" -c "write -P 0x22 1M 64k" b.vdi > /dev/null
python3 -c "
f = open('b.vdi', 'r+b'); f.seek(0x184); f.write((1).to_bytes(4, 'little'))"
"$EMU_NBD" -t -f vdi -k "$T/b.sock" b.vdi 2> nbd.err &
nbd_pid=$!
nbd_wait_socket "$T/b.sock"
qemu-io -f raw -c "write -P 0x33 2M 64k" "nbd+unix:///?socket=$T/b.sock" > /dev/null
kill $nbd_pid
wait $nbd_pid || true
set +e
qemu-io -f vdi -r -c "read -P 0x11 0 64k" -c "read -P 0x22 1M 64k" -c "read -P 0x33 2M 64k" \
    b.vdi > io.txt 2>&1
set -e
grep -q "Pattern verification failed" io.txt && { cat io.txt; fail "vdi: a new block overwrote one in use"; }
[ "$(grep -c "read 65536/65536" io.txt)" = 3 ] || { cat io.txt; fail "vdi: reads failed"; }

# --- VDI: two guest blocks share a data block: no writes at all ------------
qemu-img create -q -f vdi s.vdi 4M
qemu-io -f vdi -c "write -P 0x11 0 64k" -c "write -P 0x22 1M 64k" s.vdi > /dev/null
python3 -c "
import struct
f = open('s.vdi', 'r+b'); f.seek(0x154); bmap = struct.unpack('<I', f.read(4))[0]
f.seek(bmap); e0 = f.read(4); f.seek(bmap + 4); f.write(e0)"
refused vdi s.vdi "used by more than one guest block"

# --- VHD: a block table entry points past the end --------------------------
qemu-img create -q -f vpc p.vhd 8M
qemu-io -f vpc -c "write -P 0x55 0 4k" p.vhd > /dev/null
python3 - <<'PY'
import struct
f = open('p.vhd', 'r+b')
f.seek(0); foot = f.read(512)
dyn = struct.unpack('>Q', foot[16:24])[0]
f.seek(dyn + 16); bat = struct.unpack('>Q', f.read(8))[0]
f.seek(bat + 4); f.write(struct.pack('>I', 0x7fff0000))   # block 1: far away
PY
refused vpc p.vhd "past the end of the file"
# two entries for one block: read-only as well
qemu-img create -q -f vpc pv.vhd 8M
qemu-io -f vpc -c "write -P 0x55 0 4k" -c "write -P 0x56 2M 4k" pv.vhd > /dev/null
python3 - <<'PY'
import struct
f = open('pv.vhd', 'r+b')
f.seek(0); foot = f.read(512)
dyn = struct.unpack('>Q', foot[16:24])[0]
f.seek(dyn + 16); bat = struct.unpack('>Q', f.read(8))[0]
f.seek(bat); e0 = f.read(4); f.seek(bat + 4); f.write(e0)
PY
refused vpc pv.vhd "two VHD blocks overlap"
# still readable, as far as it goes
"$EMU_IMG" convert -f vpc -O raw p.vhd p.raw
qemu-io -f raw -r -c "read -P 0x55 0 4k" p.raw > /dev/null || fail "vpc: block 0 reads wrong"
echo "qcow2, vmdk, vhdx, vdi and vpc: damaged images kept their data and metadata"
