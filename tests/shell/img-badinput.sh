#!/bin/sh
# img-badinput.sh - hostile images: truncated or absurd headers, tables
# past the end of the file, integer overflow in on-disk fields, backing
# chains that loop.  emu-img must fail with one line naming the file and
# the problem, exit non-zero, not crash (sanitizers), and never write to an
# image it opened read-only.
. "$top_srcdir/tests/lib.sh"
need qemu-img python3
set -e
cd "$T"

poke() {  # poke FILE OFFSET WIDTH VALUE: big-endian field write
    python3 - "$@" <<'PY'
import sys
path, off, width, val = sys.argv[1], int(sys.argv[2], 0), int(sys.argv[3]), int(sys.argv[4], 0)
with open(path, 'r+b') as f:
    f.seek(off)
    f.write(val.to_bytes(width, 'big'))
PY
}

expect_error() {  # expect_error NAME FILE [emu-img args...]: one-line error
    name=$1; file=$2; shift 2
    sum=$(md5sum < "$file")
    set +e
    "$EMU_IMG" info "$@" "$file" > out.txt 2> err.txt; rc=$?
    set -e
    [ "$rc" = 1 ] || { cat out.txt err.txt; fail "$name: info exit $rc, expected 1"; }
    [ "$(wc -l < err.txt)" = 1 ] || { cat err.txt; fail "$name: not a one-line error"; }
    grep -q "$file" err.txt || { cat err.txt; fail "$name: the error does not name the file"; }
    for cmd in "check" "map" "convert -O raw" "compare"; do
        set +e
        case $cmd in
            convert*) "$EMU_IMG" $cmd "$@" "$file" out.raw > /dev/null 2> err2.txt ;;
            compare) "$EMU_IMG" compare "$@" "$file" "$file" > /dev/null 2> err2.txt ;;
            *) "$EMU_IMG" $cmd "$@" "$file" > /dev/null 2> err2.txt ;;
        esac
        rc=$?
        set -e
        [ "$rc" != 0 ] || fail "$name: $cmd succeeded on a hostile image"
        ! grep -q -i "sanitizer\|runtime error" err2.txt || { cat err2.txt; fail "$name: $cmd crashed"; }
    done
    [ "$(md5sum < "$file")" = "$sum" ] || fail "$name: a read-only command wrote the image"
    n=$((n + 1))
}

fresh() {
    rm -f "$1"
    qemu-img create -q -f qcow2 -o "${2:-cluster_size=65536}" "$1" 1M
}
n=0

printf 'QFI\373\0\0\0\3' > trunc.qcow2
expect_error "truncated header" trunc.qcow2
fresh v.qcow2; poke v.qcow2 4 4 4;                expect_error "version 4" v.qcow2
fresh cb.qcow2; poke cb.qcow2 20 4 31;            expect_error "cluster bits 31" cb.qcow2
fresh cb8.qcow2; poke cb8.qcow2 20 4 8;           expect_error "cluster bits 8" cb8.qcow2
fresh sz.qcow2; poke sz.qcow2 24 8 0xffffffffffffffff; expect_error "absurd size" sz.qcow2
fresh l1.qcow2; poke l1.qcow2 36 4 0xffffffff;    expect_error "huge L1 size" l1.qcow2
fresh l1o.qcow2; poke l1o.qcow2 40 8 0x7ffffffffff00000; expect_error "L1 past EOF" l1o.qcow2
fresh l1w.qcow2; poke l1w.qcow2 40 8 0xfffffffffff00000; expect_error "L1 offset wraps" l1w.qcow2
fresh rt.qcow2; poke rt.qcow2 48 8 0x100000000;   expect_error "refcount table past EOF" rt.qcow2
fresh rtc.qcow2; poke rtc.qcow2 56 4 0xffffffff;  expect_error "huge refcount table" rtc.qcow2
fresh ro.qcow2; poke ro.qcow2 96 4 7;             expect_error "refcount order 7" ro.qcow2
fresh hl.qcow2; poke hl.qcow2 100 4 0xfffffff8;   expect_error "header length" hl.qcow2
fresh ns.qcow2; poke ns.qcow2 60 4 0xffffffff;    expect_error "snapshot count" ns.qcow2
fresh so.qcow2; poke so.qcow2 60 4 1; poke so.qcow2 64 8 0x10000000; expect_error "snapshot table past EOF" so.qcow2
fresh bf.qcow2; poke bf.qcow2 8 8 0x70; poke bf.qcow2 16 4 0xffffffff; expect_error "backing name length" bf.qcow2
fresh ext.qcow2; poke ext.qcow2 116 4 0x7fffffff;  expect_error "extension length" ext.qcow2
fresh inc.qcow2; poke inc.qcow2 72 8 0x8000;      expect_error "unknown incompatible feature" inc.qcow2
grep -q -i "feature" err.txt || fail "unknown feature: message does not say which"
fresh enc.qcow2; poke enc.qcow2 32 4 1;           expect_error "encryption" enc.qcow2

# Backing chains that loop: self, and a -> b -> a.
qemu-img create -q -f qcow2 loop-a.qcow2 1M
qemu-img create -q -f qcow2 -u -b loop-b.qcow2 -F qcow2 loop-a.qcow2 1M
qemu-img create -q -f qcow2 -u -b loop-a.qcow2 -F qcow2 loop-b.qcow2 1M
set +e
"$EMU_IMG" info --backing-chain loop-a.qcow2 > /dev/null 2> err.txt; rc=$?
set -e
[ "$rc" = 1 ] || fail "backing loop: exit $rc"
grep -q "loop" err.txt || { cat err.txt; fail "backing loop: message does not say so"; }
qemu-img create -q -f qcow2 -u -b self.qcow2 -F qcow2 other.qcow2 1M
mv other.qcow2 self.qcow2
set +e
"$EMU_IMG" convert -O raw self.qcow2 out.raw 2> err.txt; rc=$?
set -e
[ "$rc" = 1 ] && grep -q "loop" err.txt || { cat err.txt; fail "self loop: exit $rc"; }
n=$((n + 2))

# A corrupt-marked image opens read-only but not for writing.
fresh c.qcow2; poke c.qcow2 72 8 2
"$EMU_IMG" info c.qcow2 > /dev/null || fail "corrupt image: read-only info failed"
set +e
"$EMU_IMG" resize c.qcow2 2M > /dev/null 2> err.txt; rc=$?
set -e
[ "$rc" = 1 ] && grep -q corrupt err.txt || { cat err.txt; fail "corrupt bit not honoured"; }
n=$((n + 1))

# VMDK writes through hostile grain directories: exit 1, no crash.
for case in "56 0x7fffffff" "48 0x7fffffff"; do
    set -- $case
    rm -f w.vmdk
    "$EMU_IMG" create -q -f vmdk w.vmdk 1M
    python3 -c "
import struct, sys
f = open('w.vmdk', 'r+b')
f.seek(int(sys.argv[1])); gd = struct.unpack('<Q', f.read(8))[0]
f.seek(gd * 512); f.write(struct.pack('<I', int(sys.argv[2], 0)))
" "$1" "$2"
    head -c 1M /dev/urandom > w.raw
    set +e
    "$EMU_IMG" convert -n -f raw -O vmdk w.raw w.vmdk > /dev/null 2> err.txt; rc=$?
    set -e
    [ "$rc" = 1 ] || { cat err.txt; fail "vmdk table at offset $1: convert -n exit $rc"; }
    ! grep -q -i "sanitizer\|runtime error" err.txt || { cat err.txt; fail "vmdk: crashed"; }
    n=$((n + 1))
done
run_fails 1 "$EMU_IMG" create -f vmdk -o subformat=bogus x.vmdk 1M
run_fails 1 "$EMU_IMG" create -f vmdk -o adapter_type=scsi x.vmdk 1M
run_fails 1 "$EMU_IMG" create -f vmdk -o compat6=on,hwversion=7 x.vmdk 1M

# VHDX: damaged headers, region table, metadata and BAT.
vpoke() {  # vpoke FILE OFFSET WIDTH VALUE [CRC-START CRC-LEN]: little-endian
    python3 - "$@" <<'PY'
import struct, sys, zlib
path, off, width, val = sys.argv[1], int(sys.argv[2], 0), int(sys.argv[3]), int(sys.argv[4], 0)
def crc32c(b):
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (0x82f63b78 if c & 1 else 0)
        t.append(c)
    crc = 0xffffffff
    for x in b:
        crc = t[(crc ^ x) & 0xff] ^ (crc >> 8)
    return crc ^ 0xffffffff
with open(path, 'r+b') as f:
    f.seek(off)
    f.write(val.to_bytes(width, 'little'))
    if len(sys.argv) > 5:
        start, length = int(sys.argv[5], 0), int(sys.argv[6], 0)
        f.seek(start)
        b = bytearray(f.read(length))
        b[4:8] = bytes(4)
        f.seek(start + 4)
        f.write(struct.pack('<I', crc32c(bytes(b))))
PY
}
vfresh() {
    rm -f "$1"
    qemu-img create -q -f vhdx ${2:+-o "$2"} "$1" 8M
}
vfresh h.vhdx; vpoke h.vhdx 0x10064 4 1; vpoke h.vhdx 0x20064 4 1
expect_error "vhdx headers" h.vhdx
vfresh lo.vhdx; for h in 0x10000 0x20000; do vpoke lo.vhdx $((h + 72)) 8 0x7ff0000000000 $h 4096; done
expect_error "vhdx log offset" lo.vhdx
vfresh rt.vhdx; for t in 0x30000 0x40000; do vpoke rt.vhdx $((t + 32)) 8 0x7ff0000000000 $t 65536; done
expect_error "vhdx region past EOF" rt.vhdx
vfresh rn.vhdx; for t in 0x30000 0x40000; do vpoke rn.vhdx $((t + 8)) 4 0xffffffff $t 65536; done
expect_error "vhdx region count" rn.vhdx
vfresh bs.vhdx; vpoke bs.vhdx 0x310000 4 0x300000;     expect_error "vhdx block size" bs.vhdx
vfresh ds.vhdx; vpoke ds.vhdx 0x310008 8 0x7fffffffffffffff; expect_error "vhdx disk size" ds.vhdx
vfresh mo.vhdx; vpoke mo.vhdx 0x300030 4 0xfffffff0;   expect_error "vhdx metadata item" mo.vhdx
vfresh mc.vhdx; vpoke mc.vhdx 0x30000a 2 0xffff;       expect_error "vhdx metadata count" mc.vhdx
vfresh tr.vhdx; truncate -s 1M tr.vhdx;                expect_error "vhdx truncated" tr.vhdx
# a BAT entry far past the end and one with a differencing-only state:
# reads fail cleanly (exit 1), nothing crashes
for e in 0x7ff0000000006 7; do
    vfresh b.vhdx
    vpoke b.vhdx 0x200000 8 $e
    set +e
    "$EMU_IMG" convert -O raw b.vhdx out.raw > /dev/null 2> err.txt; rc=$?
    set -e
    [ "$rc" = 1 ] || { cat err.txt; fail "vhdx BAT entry $e: convert exit $rc"; }
    ! grep -q -i "sanitizer\|runtime error" err.txt || { cat err.txt; fail "vhdx: crashed"; }
    n=$((n + 1))
done
# hostile logs: a damaged entry, absurd entry length, huge descriptor count
for at in 0x100c00 0x100008 0x100018; do
    vfresh lg.vhdx subformat=fixed,block_size=1M
    python3 "$top_srcdir/tests/shell/vhdx-log.py" build lg.vhdx
    vpoke lg.vhdx $at 4 0xfffff000
    set +e
    "$EMU_IMG" check -r all lg.vhdx > /dev/null 2> err.txt
    set -e
    ! grep -q -i "sanitizer\|runtime error" err.txt || { cat err.txt; fail "vhdx log $at: crashed"; }
    n=$((n + 1))
done
run_fails 1 "$EMU_IMG" create -f vhdx -o block_size=3M x.vhdx 1M
run_fails 1 "$EMU_IMG" create -f vhdx -o log_size=1000k x.vhdx 1M
run_fails 1 "$EMU_IMG" create -f vhdx -o subformat=sparse x.vhdx 1M
run_fails 1 "$EMU_IMG" create -f vhdx x.vhdx 65T

# Bad command lines: exit 1, no crash.
run_fails 1 "$EMU_IMG" create -f qcow2 x.qcow2 1Q
run_fails 1 "$EMU_IMG" create -f qcow2 -o cluster_size=3k x.qcow2 1M
run_fails 1 "$EMU_IMG" create -f qcow2 -o refcount_bits=3 x.qcow2 1M
run_fails 1 "$EMU_IMG" create -f qcow2 -o bogus=1 x.qcow2 1M
run_fails 1 "$EMU_IMG" create -f nosuchfmt x.img 1M
run_fails 1 "$EMU_IMG" nosuchcommand
echo "$n hostile inputs refused cleanly"
