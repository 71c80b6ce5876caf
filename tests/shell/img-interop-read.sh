#!/bin/sh
# img-interop-read.sh - images that qemu-img creates read byte-identically
# in emu-img, and `emu-img info/check/map --output=json` match qemu-img's.
# Covers qcow2 v2 and v3, every cluster size from 512 B to 2 MiB, refcount
# widths 1/16/64, lazy refcounts, extended L2, zlib and zstd compression,
# zero clusters, discards, snapshots and backing chains; VDI and VHD images.
. "$top_srcdir/tests/lib.sh"
need qemu-img qemu-io python3
set -e
cd "$T"

jsoncmp() {  # jsoncmp A B [key-to-drop...]: parsed JSON equality
    python3 - "$@" <<'PY'
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
drop = set(sys.argv[3:])
def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if k not in drop}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x
if strip(a) != strip(b):
    print("JSON differs:\n  emu:  %s\n  qemu: %s" % (json.dumps(strip(a), sort_keys=True),
          json.dumps(strip(b), sort_keys=True)))
    sys.exit(1)
PY
}

fill() {  # a mix of data, zero writes, discards and partial clusters
    qemu-io -f qcow2 \
        -c "write -P 0x11 0 100k" -c "write -P 0x22 1000k 3k" -c "write -z 2M 256k" \
        -c "write -P 0x33 3M 1M" -c "discard 3M 64k" -c "write -P 0x44 7M 4097" \
        -c "write -P 0x55 8388096 512" "$1" >/dev/null
}

compare_all() {  # compare_all IMAGE: content, info, check and map agree
    img=$1
    "$EMU_IMG" convert -O raw "$img" emu.raw || fail "$img: emu-img convert failed"
    qemu-img convert -O raw "$img" qemu.raw
    cmp emu.raw qemu.raw || fail "$img: content differs from qemu-img's"
    "$EMU_IMG" info --output=json "$img" > emu.json || fail "$img: emu-img info failed"
    qemu-img info --output=json "$img" > qemu.json
    jsoncmp emu.json qemu.json || fail "$img: info --output=json differs"
    "$EMU_IMG" info --output=json --backing-chain "$img" > emu.json
    qemu-img info --output=json --backing-chain "$img" > qemu.json
    jsoncmp emu.json qemu.json || fail "$img: info --backing-chain differs"
    "$EMU_IMG" info "$img" > emu.txt
    qemu-img info "$img" > qemu.txt
    diff qemu.txt emu.txt || fail "$img: human info differs"
    set +e
    "$EMU_IMG" check --output=json "$img" > emu.json; erc=$?
    qemu-img check --output=json "$img" > qemu.json; qrc=$?
    set -e
    [ "$erc" = "$qrc" ] || fail "$img: check exit $erc, qemu-img $qrc"
    if [ "$qrc" != 63 ]; then   # 63: the format has no check
        jsoncmp emu.json qemu.json || fail "$img: check --output=json differs"
    fi
    "$EMU_IMG" map --output=json "$img" > emu.json || fail "$img: emu-img map failed"
    qemu-img map --output=json "$img" > qemu.json
    jsoncmp emu.json qemu.json || fail "$img: map --output=json differs"
    "$EMU_IMG" compare "$img" qemu.raw >/dev/null || fail "$img: emu-img compare says different"
}

n=0
for opts in compat=0.10 compat=1.1 \
        cluster_size=512 cluster_size=1k cluster_size=4k cluster_size=16k \
        cluster_size=256k cluster_size=2M \
        refcount_bits=1 refcount_bits=2 refcount_bits=4 refcount_bits=8 \
        refcount_bits=32 refcount_bits=64 cluster_size=512,refcount_bits=1 \
        lazy_refcounts=on extended_l2=on extended_l2=on,cluster_size=16k \
        compression_type=zstd preallocation=metadata; do
    rm -f img.qcow2
    qemu-img create -q -f qcow2 -o "$opts" img.qcow2 8M
    fill img.qcow2
    compare_all img.qcow2
    n=$((n + 1))
done

# Compressed clusters (zlib and zstd), written by qemu-img convert -c.
python3 -c "
import random
r = random.Random(7)
with open('src.raw', 'wb') as f:
    for i in range(96):
        kind = r.randrange(3)
        if kind == 0: f.write(bytes(65536))
        elif kind == 1: f.write((b'emu block %d ' % i) * 5000 + bytes(65536 - 5000 * len(b'emu block %d ' % i)))
        else: f.write(r.randbytes(65536))
"
for ct in zlib zstd; do
    for cs in 512 4k 64k 2M; do
        rm -f c.qcow2
        qemu-img convert -c -f raw -O qcow2 -o "compression_type=$ct,cluster_size=$cs" src.raw c.qcow2
        compare_all c.qcow2
        n=$((n + 1))
    done
done

# Snapshots: the active state and each snapshot read back right.
qemu-img create -q -f qcow2 s.qcow2 4M
qemu-io -c "write -P 1 0 1M" s.qcow2 >/dev/null
qemu-img snapshot -c one s.qcow2
qemu-io -c "write -P 2 512k 1M" s.qcow2 >/dev/null
qemu-img snapshot -c two s.qcow2
qemu-io -c "write -z 0 256k" s.qcow2 >/dev/null
compare_all s.qcow2
"$EMU_IMG" snapshot -l s.qcow2 > emu.txt
qemu-img snapshot -l s.qcow2 > qemu.txt
diff qemu.txt emu.txt || fail "snapshot -l differs"
for l in one two 1 snapshot.name=two snapshot.id=1; do
    "$EMU_IMG" convert -l "$l" -O raw s.qcow2 emu.raw || fail "convert -l $l"
    qemu-img convert -l "$l" -O raw s.qcow2 qemu.raw
    cmp emu.raw qemu.raw || fail "convert -l $l: content differs"
done
n=$((n + 1))

# Backing chains: raw base, qcow2 middle (v2), qcow2 top with a relative
# name in another directory.
mkdir -p sub
qemu-img create -q -f raw sub/base.raw 6M
qemu-io -f raw -c "write -P 7 0 6M" sub/base.raw >/dev/null
qemu-img create -q -f qcow2 -o compat=0.10 -b base.raw -F raw sub/mid.qcow2
qemu-io -c "write -P 8 1M 1M" sub/mid.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b sub/mid.qcow2 -F qcow2 top.qcow2 8M
qemu-io -c "write -P 9 1536k 64k" -c "write -z 4M 64k" top.qcow2 >/dev/null
compare_all top.qcow2
n=$((n + 1))
# VDI, dynamic and static.
for o in static=off static=on; do
    rm -f v.vdi
    qemu-img create -q -f vdi -o "$o" v.vdi 6M
    qemu-io -f vdi -c "write -P 3 100k 5000" -c "write -P 4 3M 1M" v.vdi >/dev/null
    compare_all v.vdi
    n=$((n + 1))
done

# VHD (vpc), dynamic; fixed disks need -f vpc (they probe as raw).
for sz in 6M 100M 1G; do
    rm -f p.vpc
    qemu-img create -q -f vpc p.vpc "$sz"
    qemu-io -f vpc -c "write -P 5 100k 5000" -c "write -P 6 3M 1M" p.vpc >/dev/null
    compare_all p.vpc
    n=$((n + 1))
done
rm -f pf.vpc
qemu-img create -q -f vpc -o subformat=fixed pf.vpc 6M
qemu-io -f vpc -c "write -P 7 1M 64k" pf.vpc >/dev/null
"$EMU_IMG" convert -f vpc -O raw pf.vpc emu.raw
qemu-img convert -f vpc -O raw pf.vpc qemu.raw
cmp emu.raw qemu.raw || fail "fixed vpc: content differs"
"$EMU_IMG" info -f vpc --output=json pf.vpc > emu.json
qemu-img info -f vpc --output=json pf.vpc > qemu.json
jsoncmp emu.json qemu.json || fail "fixed vpc: info differs"
n=$((n + 1))

# VMDK: monolithicSparse, streamOptimized (compressed
# grains, directory at the end), monolithicFlat (descriptor + extent).
rm -f k*.vmdk
qemu-img create -q -f vmdk k1.vmdk 10M
qemu-io -f vmdk -c "write -P 3 100k 70k" -c "write -P 4 5M 64k" -c "write -z 7M 64k" \
    k1.vmdk >/dev/null
qemu-img convert -O vmdk -o subformat=streamOptimized k1.vmdk k2.vmdk
qemu-img create -q -f vmdk -o subformat=monolithicFlat k3.vmdk 3M
qemu-io -f vmdk -c "write -P 5 1M 4k" k3.vmdk >/dev/null
for k in k1.vmdk k2.vmdk k3.vmdk; do
    "$EMU_IMG" convert -O raw "$k" emu.raw || fail "$k: emu-img convert failed"
    qemu-img convert -O raw "$k" qemu.raw
    cmp emu.raw qemu.raw || fail "$k: content differs from qemu-img's"
    "$EMU_IMG" map --output=json "$k" > emu.json
    qemu-img map --output=json "$k" > qemu.json
    jsoncmp emu.json qemu.json || fail "$k: map differs"
    "$EMU_IMG" info --output=json "$k" > emu.json
    qemu-img info --output=json "$k" > qemu.json
    jsoncmp emu.json qemu.json || fail "$k: info differs"
    "$EMU_IMG" info "$k" > emu.txt
    qemu-img info "$k" > qemu.txt
    diff qemu.txt emu.txt || fail "$k: human info differs"
    n=$((n + 1))
done

# VHDX: dynamic and fixed, block sizes 1M..32M, ZERO and NOT_PRESENT block
# states, a larger log.
rm -f x*.vhdx
i=0
for o in "" subformat=fixed block_size=1M block_size=32M,block_state_zero=off \
        subformat=fixed,block_size=2M log_size=4M; do
    i=$((i + 1))
    qemu-img create -q -f vhdx ${o:+-o "$o"} x$i.vhdx 40M
    qemu-io -f vhdx -c "write -P 0x11 0 100k" -c "write -P 0x22 1000k 3k" \
        -c "write -P 0x33 9M 2M" -c "write -z 20M 1M" -c "write -P 0x44 40959k 1k" \
        x$i.vhdx > /dev/null
    compare_all x$i.vhdx
    n=$((n + 1))
done

# A VHDX log left behind, replayed by emu-img and by qemu-img the same way.
# qemu-io writes BAT updates through the log and is killed; the header is
# then pointed at the log and the BAT sector it rewrites is zeroed, so only
# a replay restores the data.
rm -f l*.vhdx
qemu-img create -q -f vhdx l.vhdx 64M
(qemu-io -f vhdx -c "write -P 0x11 0 1M" -c "write -P 0x22 20M 3M" -c "sigraise 9" \
    l.vhdx > /dev/null 2>&1) 2> /dev/null || true
python3 "$top_srcdir/tests/shell/vhdx-log.py" leave l.vhdx
cp l.vhdx l1.vhdx; cp l.vhdx l2.vhdx
sum=$(md5sum < l.vhdx)
run_fails 1 "$EMU_IMG" info l.vhdx
[ "$(md5sum < l.vhdx)" = "$sum" ] || fail "vhdx: a read-only open wrote the log"
qemu-img check -q -r all l1.vhdx > /dev/null 2>&1 || true
"$EMU_IMG" check -q -r all l2.vhdx || fail "vhdx: emu-img did not replay the log"
qemu-img check -q l2.vhdx || fail "vhdx: replayed image fails qemu-img check"
qemu-img compare -q l1.vhdx l2.vhdx || fail "vhdx: replay differs from qemu-img's"
qemu-img compare -q -f vhdx -F raw l1.vhdx /dev/zero 2> /dev/null &&
    fail "vhdx: the replay test replayed nothing"
# a hand-built log entry: one data sector and one zeroed range
rm -f m*.vhdx
qemu-img create -q -f vhdx -o subformat=fixed,block_size=1M m.vhdx 8M
qemu-io -f vhdx -c "write -P 0x55 0 8M" m.vhdx > /dev/null
python3 "$top_srcdir/tests/shell/vhdx-log.py" build m.vhdx
cp m.vhdx m1.vhdx; cp m.vhdx m2.vhdx
qemu-img check -q -r all m1.vhdx > /dev/null 2>&1 || true
"$EMU_IMG" check -q -r all m2.vhdx || fail "vhdx: emu-img did not replay the built log"
qemu-img compare -q m1.vhdx m2.vhdx || fail "vhdx: built log replay differs from qemu-img's"
n=$((n + 2))

# Persistent bitmaps (listed by info, counted by check).
qemu-img create -q -f qcow2 bm.qcow2 8M
fill bm.qcow2
qemu-img bitmap --add bm.qcow2 b0
qemu-img bitmap --add -g 128k bm.qcow2 b1
qemu-img bitmap --disable bm.qcow2 b1
compare_all bm.qcow2
n=$((n + 1))
echo "$n images compared with qemu-img"
