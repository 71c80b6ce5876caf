#!/bin/sh
# img-anonymize-formats.sh - emu-img anonymize on vmdk (monolithicSparse,
# streamOptimized, monolithicFlat), vhdx (with log entries), vdi, vpc and
# raw images made by qemu-img 7.2 and by emu-img, healthy and damaged
# (leaked blocks and grains holding data, table entries past the end of
# the file): no secret left, metadata identical, qemu-img info, check and
# map agree, guest reads are zeros.
. "$top_srcdir/tests/lib.sh"
need qemu-img qemu-io python3
. "$top_srcdir/tests/shell/anon-lib.sh"
set -e
cd "$T"

# A 16 MiB raw image with secrets at 0, 3 MiB + 4 KiB and 9 MiB.
s1=$(secret) s2=$(secret) s3=$(secret)
python3 - "$s1" "$s2" "$s3" <<'PY'
import sys
with open('data.raw', 'wb') as f:
    f.truncate(16 << 20)
    for s, off in zip(sys.argv[1:], (0, (3 << 20) + 4096, 9 << 20)):
        f.seek(off)
        f.write(s.encode() * 100)
PY

# patch FMT IMAGE KIND: damage an image by editing its table bytes.
patch() {
    python3 - "$@" <<'PY'
import os, struct, sys
fmt, path, kind = sys.argv[1:4]
f = open(path, 'r+b')
size = os.path.getsize(path)
def rd(o, n): f.seek(o); return f.read(n)
def wr(o, b): f.seek(o); f.write(b)
def first_used(off, n, fmt_, unused):
    for i in range(n):
        v = struct.unpack(fmt_, rd(off + 4 * i, 4))[0]
        if v not in unused:
            return off + 4 * i, v
    sys.exit('no used entry')
if fmt == 'vmdk':
    h = rd(0, 512)
    gtes, rgd, gd = struct.unpack('<IQQ', h[44:64])
    tables = [gd] + ([rgd] if struct.unpack('<I', h[8:12])[0] & 2 else [])
    for d in tables:
        gt = struct.unpack('<I', rd(d * 512, 4))[0] * 512
        at, v = first_used(gt, gtes, '<I', (0, 1))
        # leak: the first grain unhooked; past-eof: it points behind the end
        wr(at, struct.pack('<I', 0 if kind == 'leak' else size // 512 + 1000))
elif fmt == 'vdi':
    bmap = struct.unpack('<I', rd(0x154, 4))[0]
    at, v = first_used(bmap, 16, '<I', (0xffffffff, 0xfffffffe))
    wr(at, struct.pack('<I', 0xffffffff if kind == 'leak' else 100000))
elif fmt == 'vpc':
    dyn = struct.unpack('>Q', rd(16, 8))[0]
    bat = struct.unpack('>Q', rd(dyn + 16, 8))[0]
    at, v = first_used(bat, 8, '>I', (0xffffffff,))
    wr(at, struct.pack('>I', 0xffffffff if kind == 'leak' else size // 512 + 100000))
elif fmt == 'vhdx':
    rt = rd(196608, 65536)
    for i in range(struct.unpack('<I', rt[8:12])[0]):
        e = rt[16 + 32 * i:48 + 32 * i]
        if e[:4] == bytes.fromhex('6677c22d'):
            bat = struct.unpack('<Q', e[16:24])[0]
    e0 = struct.unpack('<Q', rd(bat, 8))[0]
    wr(bat, struct.pack('<Q', 0 if kind == 'leak' else ((size >> 20) + 64) << 20 | 6))
PY
}

conv() {  # conv TOOL FMT NAME [options]
    _t=$1 _f=$2 _n=$3
    shift 3
    if [ "$_t" = qemu ]; then
        qemu-img convert -f raw -O "$_f" "$@" data.raw "src/$_n"
    else
        "$EMU_IMG" convert -f raw -O "$_f" "$@" data.raw "src/$_n"
    fi
}

all="$s1 $s2 $s3"
for tool in qemu emu; do
    # vmdk
    conv $tool vmdk $tool-sparse.vmdk
    anon_check vmdk $tool-sparse.vmdk $all
    conv $tool vmdk $tool-stream.vmdk -o subformat=streamOptimized
    anon_check vmdk $tool-stream.vmdk "hidden:$s1" "hidden:$s2" "hidden:$s3"
    grep -q 'grain .* marker' dump.src || fail "$tool-stream.vmdk: no compressed grains"
    qemu-img compare -q -F raw "src/$tool-stream.vmdk" zero.raw &&
        fail "$tool-stream.vmdk: the source had no data"
    # vdi, vpc, vhdx
    conv $tool vdi $tool.vdi
    anon_check vdi $tool.vdi $all
    conv $tool vpc $tool.vpc
    anon_check vpc $tool.vpc $all
    conv $tool vhdx $tool.vhdx
    anon_check vhdx $tool.vhdx $all
done

# monolithicFlat: the flat extent is copied as a hole next to DST
qemu-img convert -f raw -O vmdk -o subformat=monolithicFlat data.raw src/flat.vmdk
anon_check vmdk flat.vmdk
[ -f dst/flat-flat.vmdk ] || fail "flat extent not written"
[ "$(stat -c %s dst/flat-flat.vmdk)" = "$(stat -c %s src/flat-flat.vmdk)" ] ||
    fail "flat extent size"
[ "$(du -k dst/flat-flat.vmdk | cut -f1)" = 0 ] || fail "flat extent not a hole"
for s in $all; do grep -a -q -F "$s" dst/flat-flat.vmdk && fail "flat extent kept $s"; done
"$EMU_IMG" anonymize --scrub-names src/flat.vmdk dst/scrub.vmdk
grep -q '"xxxx-xxxx.vmdk"' dst/scrub.vmdk || fail "extent name not scrubbed"
[ -f dst/xxxx-xxxx.vmdk ] || fail "scrubbed extent file not written"
qemu-img compare -q -F raw dst/scrub.vmdk zero.raw || fail "scrubbed flat image not zeros"
run_fails 1 "$EMU_IMG" anonymize src/flat.vmdk src/flat2.vmdk
[ -f src/flat2.vmdk ] && fail "DST written though its extent would overwrite SRC's"

# a sparse extent's embedded descriptor: parentFileNameHint is scrubbed
qemu-img create -q -f vmdk src/base-customer.vmdk 16M
qemu-img create -q -f vmdk -b base-customer.vmdk -F vmdk src/child.vmdk
cp src/base-customer.vmdk dst/xxxx-xxxxxxxx.vmdk
ANON_OPTS=--scrub-names anon_check vmdk child.vmdk
grep -a -q 'parentFileNameHint="xxxx-xxxxxxxx.vmdk"' dst/child.vmdk || fail "hint not scrubbed"
grep -a -q 'customer' dst/child.vmdk && fail "parent name left"

# twoGbMaxExtentSparse: a descriptor naming sparse extent files, each
# walked like a monolithicSparse image
qemu-img convert -f raw -O vmdk -o subformat=twoGbMaxExtentSparse data.raw src/split.vmdk
anon_check vmdk split.vmdk
for s in $all; do grep -a -q -F "$s" dst/split-s001.vmdk && fail "split extent kept $s"; done
python3 "$DUMP" vmdk src/split-s001.vmdk > dump.src
python3 "$DUMP" vmdk dst/split-s001.vmdk > dump.dst
diff dump.src dump.dst || fail "split extent metadata differs"

# damaged: leaked blocks holding data, entries past the end of the file
for f in vmdk vdi vpc vhdx; do
    conv qemu $f leak.$f
    patch $f src/leak.$f leak
    anon_check $f leak.$f $all
    conv qemu $f eof.$f
    patch $f src/eof.$f past-eof
    nc=
    case $f in vpc|vhdx) nc=1 ;; esac   # qemu-img refuses to open these at all
    ANON_NO_COMPARE=$nc anon_check $f eof.$f $all
done

# VHDX log: an entry with a secret in its data sector (a guest write),
# replayed as zeros from DST; entries qemu left for the BAT are metadata
conv qemu vhdx log.vhdx
s4=$(secret)
python3 "$top_srcdir/tests/shell/vhdx-log.py" build src/log.vhdx "$s4"
ANON_NO_COMPARE=1 anon_check vhdx log.vhdx $all "$s4"
grep -q 'log entry .* crc valid' dump.dst || fail "log entry checksum not valid in DST"
cp dst/log.vhdx replay.vhdx
qemu-io -c 'read -q -P 0 0 16M' replay.vhdx > replay.out 2>&1 ||
    { cat replay.out; fail "DST's log did not replay to zeros"; }
cp src/log.vhdx replay-src.vhdx
qemu-io -c 'read -q -P 0 0 16M' replay-src.vhdx > /dev/null 2>&1 &&
    fail "the source log replayed no data"
qemu-img create -q -f vhdx left.vhdx 16M
qemu-io -c 'write -q -P 0x5a 0 1M' left.vhdx
python3 "$top_srcdir/tests/shell/vhdx-log.py" leave left.vhdx
mv left.vhdx src/left.vhdx
ANON_NO_COMPARE=1 anon_check vhdx left.vhdx
grep -q ' desc .* sector ' dump.src || fail "left.vhdx: no BAT log entry"
# replaying the log (check -r all) does the same to both
cp src/left.vhdx left-src.vhdx
cp dst/left.vhdx left-dst.vhdx
qemu-img check -r all left-src.vhdx > rep.src 2>&1 || true
qemu-img check -r all left-dst.vhdx > rep.dst 2>&1 || true
diff rep.src rep.dst || fail "left.vhdx: log replay differs"
qemu-img map --output=json left-src.vhdx | map_norm vhdx > rmap.src
qemu-img map --output=json left-dst.vhdx | map_norm vhdx > rmap.dst
diff rmap.src rmap.dst || fail "left.vhdx: map after replay differs"
rm -f zero.raw && truncate -s 16M zero.raw
qemu-img compare -q -F raw left-dst.vhdx zero.raw || fail "left.vhdx: replayed DST not zeros"

# raw: all data
cp data.raw src/data.raw
anon_check raw data.raw $all
[ "$(du -k dst/data.raw | cut -f1)" = 0 ] || fail "raw: DST not a hole"
ANON_OPTS=--keep-allocation anon_check raw data.raw $all
[ "$(du -k dst/data.raw | cut -f1)" = "$(du -k src/data.raw | cut -f1)" ] ||
    fail "raw: --keep-allocation did not keep the allocation"
exit 0
