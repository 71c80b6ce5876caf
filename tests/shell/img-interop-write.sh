#!/bin/sh
# img-interop-write.sh - every image emu-img creates, converts or changes
# passes `qemu-img check` with no errors and `qemu-img compare` equals its
# source; emu-img's fresh images match qemu-img's in info/check output.
. "$top_srcdir/tests/lib.sh"
need qemu-img qemu-io python3
set -e
cd "$T"

jsoncmp() {  # jsoncmp A B [key-to-drop...]
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

qcheck() {  # qemu-img check must be clean (exit 0, no leaks)
    qemu-img check "$1" > qcheck.out 2>&1 || { cat qcheck.out; fail "$2: qemu-img check failed"; }
}

# A source with data, zeros, holes and a compressible part.
python3 -c "
import random
r = random.Random(3)
with open('src.raw', 'wb') as f:
    for i in range(160):
        k = r.randrange(4)
        if k == 0: f.write(bytes(32768))
        elif k == 1: f.write(r.randbytes(32768))
        elif k == 2: f.write((b'block %05d ' % i) * 2730 + bytes(32768 - 2730 * 12))
        else: f.write(bytes(16384) + r.randbytes(16384))
"
truncate -s 8M src.raw
n=0
for opts in compat=0.10 compat=1.1 cluster_size=512 cluster_size=2k cluster_size=8k \
        cluster_size=32k cluster_size=128k cluster_size=1M cluster_size=2M \
        refcount_bits=1 refcount_bits=2 refcount_bits=4 refcount_bits=8 refcount_bits=32 \
        refcount_bits=64 cluster_size=512,refcount_bits=1 cluster_size=512,refcount_bits=64 \
        lazy_refcounts=on compression_type=zstd preallocation=metadata preallocation=falloc \
        preallocation=full extended_l2=on extended_l2=on,cluster_size=16k \
        extended_l2=on,cluster_size=2M extended_l2=on,preallocation=metadata; do
    rm -f e.qcow2 q.qcow2
    # an empty image: same metadata layout and info as qemu-img's
    "$EMU_IMG" create -q -f qcow2 -o "$opts" e.qcow2 8M || fail "create -o $opts failed"
    qemu-img create -q -f qcow2 -o "$opts" q.qcow2 8M
    qcheck e.qcow2 "create -o $opts"
    "$EMU_IMG" info --output=json e.qcow2 > emu.json
    qemu-img info --output=json q.qcow2 > qemu.json
    jsoncmp emu.json qemu.json filename actual-size || fail "create -o $opts: info differs"
    qemu-img check --output=json e.qcow2 > emu.json
    qemu-img check --output=json q.qcow2 > qemu.json
    case $opts in
        preallocation=*) jsoncmp emu.json qemu.json filename image-end-offset \
            fragmented-clusters || fail "create -o $opts: check differs" ;;
        *) jsoncmp emu.json qemu.json filename || fail "create -o $opts: check differs" ;;
    esac
    # converted data
    rm -f e.qcow2
    "$EMU_IMG" convert -f raw -O qcow2 -o "$opts" src.raw e.qcow2 || fail "convert -o $opts"
    qcheck e.qcow2 "convert -o $opts"
    qemu-img compare -q src.raw e.qcow2 || fail "convert -o $opts: content differs"
    n=$((n + 1))
done

# Compressed output, zlib and zstd, several cluster sizes, several jobs.
for ct in zlib zstd; do
    for cs in 512 4k 64k 2M; do
        rm -f c.qcow2
        "$EMU_IMG" convert -c -m 4 -O qcow2 -o "compression_type=$ct,cluster_size=$cs" \
            src.raw c.qcow2 || fail "convert -c $ct $cs"
        qcheck c.qcow2 "convert -c $ct $cs"
        qemu-img compare -q src.raw c.qcow2 || fail "convert -c $ct $cs: content differs"
        qemu-img check --output=json c.qcow2 | grep -q compressed-clusters ||
            fail "convert -c $ct $cs: nothing was compressed"
        n=$((n + 1))
    done
done

# qcow2 -> qcow2, raw -> raw, qcow2 -> raw, with -W and -m 1, -S 0.
"$EMU_IMG" convert -O qcow2 -W -m 16 src.raw a.qcow2
"$EMU_IMG" convert -O qcow2 -o cluster_size=4k a.qcow2 b.qcow2
"$EMU_IMG" convert -O raw -m 1 -S 0 b.qcow2 b.raw
cmp src.raw b.raw || fail "qcow2 -> qcow2 -> raw changed the data"
qcheck b.qcow2 "qcow2 -> qcow2"
[ "$(stat -c %b b.raw)" -gt 0 ] || fail "-S 0 output is empty"
"$EMU_IMG" convert -O raw a.qcow2 c.raw
[ "$(stat -c %b c.raw)" -lt "$(stat -c %b b.raw)" ] || fail "sparse output is not sparse"
n=$((n + 1))

# Backing files: create -b -F, convert -n into an overlay (copy-on-write of
# partial clusters from the backing file), convert -B.
qemu-img create -q -f qcow2 base.qcow2 8M
qemu-io -c "write -P 0x5a 0 8M" base.qcow2 >/dev/null
"$EMU_IMG" create -q -f qcow2 -b base.qcow2 -F qcow2 ov.qcow2 || fail "create -b failed"
"$EMU_IMG" info --output=json ov.qcow2 > emu.json
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 qov.qcow2
qemu-img info --output=json qov.qcow2 > qemu.json
jsoncmp emu.json qemu.json filename actual-size || fail "create -b: info differs"
qemu-io -f raw -c "write -P 0x77 4097 10000" -c "write -P 0x78 5000000 70000" src.raw >/dev/null
# only a few partial ranges: write them with dd through raw -> qcow2 -n
"$EMU_IMG" convert -n -f raw -O qcow2 src.raw ov.qcow2 || fail "convert -n into overlay"
qcheck ov.qcow2 "convert -n overlay"
qemu-img compare -q src.raw ov.qcow2 || fail "overlay content differs"
"$EMU_IMG" convert -O qcow2 -B base.qcow2 -F qcow2 src.raw bb.qcow2 || fail "convert -B"
qcheck bb.qcow2 "convert -B"
qemu-img compare -q src.raw bb.qcow2 || fail "convert -B content differs"
n=$((n + 1))

# Internal snapshots made by emu-img: qemu-img sees and applies them.
"$EMU_IMG" convert -O qcow2 src.raw s.qcow2
"$EMU_IMG" snapshot -c first s.qcow2 || fail "snapshot -c"
qcheck s.qcow2 "snapshot -c"
qemu-io -c "write -P 0x99 64k 1M" s.qcow2 >/dev/null
"$EMU_IMG" snapshot -c second s.qcow2
qcheck s.qcow2 "second snapshot"
"$EMU_IMG" snapshot -l s.qcow2 > emu.txt
qemu-img snapshot -l s.qcow2 > qemu.txt
diff qemu.txt emu.txt || fail "snapshot -l differs"
# emu-img writes over snapshotted clusters (copy-on-write of shared clusters)
"$EMU_IMG" convert -n -O qcow2 src.raw s.qcow2
qcheck s.qcow2 "write after snapshot"
qemu-img compare -q src.raw s.qcow2 || fail "write after snapshot: content"
cp s.qcow2 s2.qcow2
qemu-img snapshot -a first s2.qcow2
qemu-img compare -q src.raw s2.qcow2 || fail "qemu-img snapshot -a of emu's snapshot"
"$EMU_IMG" snapshot -a second s.qcow2 || fail "snapshot -a"
qcheck s.qcow2 "snapshot -a"
qemu-img convert -O raw s.qcow2 s.raw
qemu-io -f raw -c "write -P 0x99 64k 1M" src.raw >/dev/null 2>&1 || true
"$EMU_IMG" snapshot -d first s.qcow2 || fail "snapshot -d"
qcheck s.qcow2 "snapshot -d"
"$EMU_IMG" snapshot -d second s.qcow2
qcheck s.qcow2 "snapshot -d second"
qemu-img compare -q s.raw s.qcow2 || fail "content after deleting snapshots"
[ -z "$(qemu-img snapshot -l s.qcow2)" ] || fail "snapshots left over"
n=$((n + 1))

# resize: grow (with preallocation) and shrink.
"$EMU_IMG" convert -O qcow2 src.raw r.qcow2
"$EMU_IMG" resize r.qcow2 +1G >/dev/null || fail "resize +1G"
qcheck r.qcow2 "resize grow"
[ "$(qemu-img info --output=json r.qcow2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')" = 1082130432 ] ||
    fail "resize grow: wrong size"
"$EMU_IMG" resize --preallocation=metadata r.qcow2 1100M >/dev/null || fail "resize prealloc"
qcheck r.qcow2 "resize prealloc"
"$EMU_IMG" resize --shrink r.qcow2 4M >/dev/null || fail "resize shrink"
qcheck r.qcow2 "resize shrink"
head -c 4M src.raw > src4.raw
qemu-img compare -q src4.raw r.qcow2 || fail "resize shrink: content"
set +e
"$EMU_IMG" resize r.qcow2 2M 2>/dev/null
rc=$?
set -e
[ "$rc" = 1 ] || fail "shrink without --shrink must fail"
n=$((n + 1))
# VDI: emu-img's images are qemu-img's (header fields, check, content).
for o in static=off static=on; do
    rm -f e.vdi q.vdi
    "$EMU_IMG" create -q -f vdi -o "$o" e.vdi 8M || fail "create vdi $o"
    qemu-img create -q -f vdi -o "$o" q.vdi 8M
    "$EMU_IMG" info --output=json e.vdi > emu.json
    qemu-img info --output=json q.vdi > qemu.json
    jsoncmp emu.json qemu.json filename actual-size || fail "vdi $o: info differs"
    "$EMU_IMG" convert -n -f raw -O vdi src.raw e.vdi || fail "convert into vdi $o"
    qcheck e.vdi "vdi $o"
    qemu-img compare -q src.raw e.vdi || fail "vdi $o: content differs"
    n=$((n + 1))
done
rm -f e.vdi
"$EMU_IMG" convert -O vdi src.raw e.vdi && qcheck e.vdi "convert -O vdi"
qemu-img compare -q src.raw e.vdi || fail "convert -O vdi: content differs"

# VHD (vpc): same geometry and size as qemu-img; content and info agree.
for sz in 8M 1G 12345; do
    rm -f e.vpc q.vpc
    "$EMU_IMG" create -q -f vpc e.vpc "$sz" || fail "create vpc $sz"
    qemu-img create -q -f vpc q.vpc "$sz"
    "$EMU_IMG" info --output=json e.vpc > emu.json
    qemu-img info --output=json q.vpc > qemu.json
    jsoncmp emu.json qemu.json filename actual-size || fail "vpc $sz: info differs"
done
rm -f e.vpc ef.vpc
"$EMU_IMG" convert -f raw -O vpc src.raw e.vpc || fail "convert -O vpc"
qemu-img compare -q src.raw e.vpc || fail "convert -O vpc: content differs"
"$EMU_IMG" convert -f raw -O vpc -o subformat=fixed src.raw ef.vpc || fail "convert fixed vpc"
qemu-img compare -q -f raw -F vpc src.raw ef.vpc || fail "fixed vpc: content differs"
n=$((n + 1))

# Extended L2: emu-img writes over subclusters that qemu-io left partly
# allocated, partly zero (copy-on-write of the whole cluster).
for cs in 16k 64k; do
    rm -f x2.qcow2
    qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=$cs x2.qcow2 8M
    qemu-io -c "write -P 0x31 2k 3k" -c "write -z 40k 8k" -c "write -P 0x32 1M 100k" \
        x2.qcow2 >/dev/null
    qemu-img convert -O raw x2.qcow2 want.raw
    qemu-io -f raw -c "write -P 0x41 4096 2048" -c "write -P 0x42 1050000 9000" \
        -c "write -z 1030000 3000" want.raw >/dev/null
    "$EMU_IMG" convert -n -f raw -O qcow2 want.raw x2.qcow2 || fail "write ext-L2 $cs"
    qcheck x2.qcow2 "write ext-L2 $cs"
    qemu-img compare -q want.raw x2.qcow2 || fail "write ext-L2 $cs: content differs"
    n=$((n + 1))
done

# Bitmaps and unknown header extensions survive emu-img writes: bitmaps are
# kept and marked in-use (emu does not track them), unknown extensions are
# kept byte for byte.
qemu-img create -q -f qcow2 x.qcow2 8M
qemu-img bitmap --add x.qcow2 keep
python3 - <<'PY'
import struct
f = open('x.qcow2', 'r+b')
h = f.read(112)
hl = struct.unpack('>I', h[100:104])[0]
pos = hl
f.seek(pos)
while True:
    t, l = struct.unpack('>II', f.read(8))
    if t == 0:
        break
    pos += 8 + ((l + 7) & ~7)
    f.seek(pos)
# insert an unknown extension before the end marker
f.seek(pos)
f.write(struct.pack('>II', 0x12345678, 5) + b'hello\0\0\0' + bytes(8))
PY
ext_before=$(python3 -c "print(open('x.qcow2','rb').read(4096).find(b'hello'))")
"$EMU_IMG" convert -n -f raw -O qcow2 src.raw x.qcow2 || fail "write to an image with bitmaps"
qcheck x.qcow2 "bitmaps kept"
qemu-img compare -q src.raw x.qcow2 || fail "bitmaps image content"
qemu-img info x.qcow2 | grep -q "in-use" || fail "bitmap not marked in-use"
qemu-img info x.qcow2 | grep -q "name: keep" || fail "bitmap lost"
[ "$(python3 -c "print(open('x.qcow2','rb').read(4096).find(b'hello'))")" = "$ext_before" ] ||
    fail "unknown header extension not preserved"
"$EMU_IMG" snapshot -c s x.qcow2
qcheck x.qcow2 "snapshot with bitmaps"
n=$((n + 1))
# VMDK: fresh images, converted images and writes into qemu-img's images,
# for each subformat emu-img creates.
for sub in monolithicSparse streamOptimized monolithicFlat; do
    rm -f e.vmdk e-flat.vmdk q.vmdk q-flat.vmdk
    "$EMU_IMG" create -q -f vmdk -o "subformat=$sub" e.vmdk 8M || fail "vmdk $sub: create"
    qemu-img create -q -f vmdk -o "subformat=$sub" q.vmdk 8M
    qcheck e.vmdk "vmdk $sub create"
    "$EMU_IMG" info --output=json e.vmdk > emu.json
    qemu-img info --output=json q.vmdk > qemu.json
    jsoncmp emu.json qemu.json filename actual-size cid || fail "vmdk $sub: info differs"
    # emu-img converts; qemu-img checks, compares and reports the same info
    rm -f e.vmdk e-flat.vmdk q.vmdk q-flat.vmdk
    "$EMU_IMG" convert -f raw -O vmdk -o "subformat=$sub" src.raw e.vmdk ||
        fail "vmdk $sub: convert"
    qemu-img convert -f raw -O vmdk -o "subformat=$sub" src.raw q.vmdk
    qcheck e.vmdk "vmdk $sub convert"
    qemu-img compare -q src.raw e.vmdk || fail "vmdk $sub: converted content differs"
    "$EMU_IMG" info --output=json e.vmdk > emu.json
    qemu-img info --output=json q.vmdk > qemu.json
    jsoncmp emu.json qemu.json filename actual-size cid || fail "vmdk $sub: info differs"
    qemu-img map --output=json e.vmdk > emu.json
    qemu-img map --output=json q.vmdk > qemu.json
    [ $sub = monolithicFlat ] || jsoncmp emu.json qemu.json offset ||
        fail "vmdk $sub: allocation differs"
    # qemu-io writes into emu-img's image; emu-img writes into qemu-img's
    rm -f e.vmdk e-flat.vmdk
    "$EMU_IMG" create -q -f vmdk -o "subformat=$sub" e.vmdk 8M
    qemu-io -f vmdk -c "write -P 7 128k 192k" -c "write -P 8 5M 64k" e.vmdk > /dev/null
    "$EMU_IMG" convert -O raw e.vmdk emu.raw
    qemu-img convert -O raw e.vmdk qemu.raw
    cmp emu.raw qemu.raw || fail "vmdk $sub: qemu-io's writes read back differently"
    rm -f q.vmdk q-flat.vmdk
    qemu-img create -q -f vmdk -o "subformat=$sub" q.vmdk 8M
    "$EMU_IMG" convert -n -f raw -O vmdk src.raw q.vmdk || fail "vmdk $sub: convert -n"
    qcheck q.vmdk "vmdk $sub convert -n"
    qemu-img compare -q src.raw q.vmdk || fail "vmdk $sub: convert -n content differs"
    n=$((n + 1))
done
for o in adapter_type=lsilogic compat6=on adapter_type=buslogic,hwversion=7 \
        toolsversion=12,adapter_type=legacyESX zeroed_grain=on; do
    rm -f e.vmdk q.vmdk
    "$EMU_IMG" create -f vmdk -o "$o" e.vmdk 100M > emu.txt || fail "vmdk -o $o: create"
    qemu-img create -f vmdk -o "$o" q.vmdk 100M > qemu.txt
    sed -i 's/e\.vmdk/q.vmdk/' emu.txt
    diff qemu.txt emu.txt || fail "vmdk -o $o: create output differs"
    qcheck e.vmdk "vmdk -o $o"
    python3 - <<'PY' || fail "vmdk -o $o: header or descriptor differs"
import sys
e, q = open('e.vmdk', 'rb').read(), open('q.vmdk', 'rb').read()
cut = lambda d: [l for l in d[512:512 * 21].split(b'\0')[0].replace(b'"e.vmdk"', b'"q.vmdk"').split(b'\n') if not l.startswith(b'CID=')]
if e[:512] != q[:512] or cut(e) != cut(q) or e[512 * 21:] != q[512 * 21:]:
    print('header', e[:512] == q[:512], 'tables', e[512 * 21:] == q[512 * 21:], cut(e), cut(q))
    sys.exit(1)
PY
    n=$((n + 1))
done
# VHDX: fresh and converted images pass qemu-img check and compare, info
# matches qemu-img's; qemu-io writes into emu-img's images and emu-img into
# qemu-img's.
for o in "" subformat=fixed block_size=1M block_size=32M,block_state_zero=off log_size=2M \
        subformat=fixed,block_size=4M; do
    rm -f e.vhdx q.vhdx
    "$EMU_IMG" create -q -f vhdx ${o:+-o "$o"} e.vhdx 8M || fail "vhdx -o $o: create"
    qemu-img create -q -f vhdx ${o:+-o "$o"} q.vhdx 8M
    qcheck e.vhdx "vhdx -o $o create"
    "$EMU_IMG" info --output=json e.vhdx > emu.json
    qemu-img info --output=json q.vhdx > qemu.json
    jsoncmp emu.json qemu.json filename actual-size || fail "vhdx -o $o: info differs"
    qemu-io -f vhdx -c "write -P 7 100k 200k" -c "write -P 8 5M 64k" e.vhdx > /dev/null
    "$EMU_IMG" convert -O raw e.vhdx emu.raw
    qemu-img convert -O raw e.vhdx qemu.raw
    cmp emu.raw qemu.raw || fail "vhdx -o $o: qemu-io's writes read back differently"
    rm -f e.vhdx
    "$EMU_IMG" convert -f raw -O vhdx ${o:+-o "$o"} src.raw e.vhdx || fail "vhdx -o $o: convert"
    qcheck e.vhdx "vhdx -o $o convert"
    qemu-img compare -q src.raw e.vhdx || fail "vhdx -o $o: converted content differs"
    "$EMU_IMG" convert -n -f raw -O vhdx src.raw q.vhdx || fail "vhdx -o $o: convert -n"
    qcheck q.vhdx "vhdx -o $o convert -n"
    qemu-img compare -q src.raw q.vhdx || fail "vhdx -o $o: convert -n content differs"
    n=$((n + 1))
done
rm -f e.vhdx q.vhdx
"$EMU_IMG" create -f vhdx -o subformat=fixed,block_size=1M,log_size=2M,block_state_zero=off \
    e.vhdx 10M > emu.txt
qemu-img create -f vhdx -o subformat=fixed,block_size=1M,log_size=2M,block_state_zero=off \
    q.vhdx 10M > qemu.txt
sed -i 's/e\.vhdx/q.vhdx/' emu.txt
diff qemu.txt emu.txt || fail "vhdx: create output differs"
echo "$n cases checked with qemu-img"
