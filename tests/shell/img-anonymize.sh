#!/bin/sh
# img-anonymize.sh - emu-img anonymize on qcow2 images made by qemu-img and
# by emu-img, healthy and damaged: secrets planted in guest data, in a
# compressed cluster, in a snapshot's VM state and in a leaked cluster are
# gone, every metadata structure is byte-identical, qemu-img info, check
# and map agree, guest reads are zeros.  Also --scrub-names, --in-place,
# zstd, extended L2, small clusters and a truncated image.
. "$top_srcdir/tests/lib.sh"
need qemu-img qemu-io python3
. "$top_srcdir/tests/shell/anon-lib.sh"
set -e
cd "$T"

# put_secret FILE SECRET: a 64 KiB buffer: the secret, then zeros.
put_secret() {
    python3 -c 'import sys; s=sys.argv[2].encode(); open(sys.argv[1],"wb").write(s*4+bytes(65536-4*len(s)))' "$1" "$2"
}

# qcow2_patch IMAGE KIND: damage or complete an image by editing its bytes.
qcow2_patch() {
    python3 - "$@" <<'PY'
import os, struct, sys
path, kind = sys.argv[1], sys.argv[2]
f = open(path, 'r+b')
h = f.read(104)
cs = 1 << struct.unpack('>I', h[20:24])[0]
l1 = struct.unpack('>Q', h[40:48])[0]
rt = struct.unpack('>Q', h[48:56])[0]
def rd(o, n): f.seek(o); return f.read(n)
def wr(o, b): f.seek(o); f.write(b)
def q(o): return struct.unpack('>Q', rd(o, 8))[0]
l2 = q(l1) & 0x00fffffffffffe00
rb0 = q(rt) & ~511
size = os.path.getsize(path)
if kind == 'vmstate':
    # the last snapshot records the VM state qemu-io -b wrote (qemu-img
    # cannot save one): vm_state_size, and the 64-bit one in extra data
    nsnap, soff = struct.unpack('>IQ', h[60:72])
    p = soff
    for i in range(nsnap):
        e = rd(p, 40)
        idl, nl = struct.unpack('>HH', e[12:16]); extra = struct.unpack('>I', e[36:40])[0]
        last, p = p, (p + 40 + extra + idl + nl + 7) & ~7
    wr(last + 32, struct.pack('>I', 65536))
    wr(last + 40, struct.pack('>Q', 65536))
elif kind == 'leak':
    # unhook guest cluster 5 (offset 320 KiB): its data stays, counted, unused
    wr(l2 + 8 * 5, bytes(8))
elif kind == 'damage':
    e1 = q(l2 + 8)
    wr(rb0 + 2 * ((e1 & 0x00fffffffffffe00) // cs), struct.pack('>H', 0))
    wr(l2 + 8 * 7, struct.pack('>Q', (1 << 63) | ((size // cs + 16) * cs)))
    inc = struct.unpack('>Q', h[72:80])[0]
    wr(72, struct.pack('>Q', inc | 3))    # dirty and corrupt
PY
}

# make_image TOOL NAME [create options]: data, compressed data, a snapshot
# with VM state, a leaked cluster; prints the secrets planted.
make_image() {
    _tool=$1 _img=src/$2
    shift 2
    s1=$(secret) s2=$(secret) s3=$(secret) s4=$(secret) s5=$(secret) sn=$(secret)
    put_secret d1 "$s1"; put_secret d2 "$s2"; put_secret d3 "$s3"; put_secret d4 "$s4"
    put_secret d5 "$s5"
    if [ "$_tool" = qemu ]; then
        qemu-img create -q -f qcow2 "$@" "$_img" 64M
    else
        "$EMU_IMG" create -q -f qcow2 "$@" "$_img" 64M
    fi
    qemu-io -f qcow2 -c "write -q -s d1 0 64k" -c "write -q -s d4 320k 64k" \
        -c "write -q -c -s d2 1M 64k" -c "write -q -c -s d2 1088k 64k" \
        -c "write -q -b -s d3 0 64k" "$_img"
    if [ "$_tool" = qemu ]; then
        qemu-img snapshot -c "snap-$sn" "$_img"
    else
        "$EMU_IMG" snapshot -c "snap-$sn" "$_img"
    fi
    qcow2_patch "$_img" vmstate
    qemu-io -f qcow2 -c "write -q -s d5 2M 64k" "$_img"
    qcow2_patch "$_img" leak
    secrets="$s1 hidden:$s2 $s3 $s4 $s5"
}

# qemu-img 7.2 and emu-img images, healthy
make_image qemu q.qcow2
anon_check qcow2 q.qcow2 $secrets
grep -q 'leaked' check.src || fail "q.qcow2: the leak was not planted"
grep -q 'VM SIZE' info.src && grep -q '64 KiB' info.src || fail "q.qcow2: no VM state"
# --keep-allocation: zeros where SRC has data blocks, qemu-img map exactly equal
ANON_OPTS=--keep-allocation anon_check qcow2 q.qcow2 $secrets
make_image emu e.qcow2
anon_check qcow2 e.qcow2 $secrets

# a persistent dirty bitmap: directory, table and bitmap clusters are kept
qemu-img create -q -f qcow2 src/bm.qcow2 64M
qemu-img bitmap --add src/bm.qcow2 dirty0
qemu-io -f qcow2 -c "write -q -s d1 0 64k" -c "write -q -s d4 32M 64k" src/bm.qcow2
anon_check qcow2 bm.qcow2 "$s1" "$s4"
grep -q 'bitmap data' dump.src || fail "bm.qcow2: no bitmap clusters"

# damaged: refcount of a data cluster 0, an L2 entry past EOF, dirty and
# corrupt bits, plus the leak
make_image qemu bad.qcow2
qcow2_patch src/bad.qcow2 damage
anon_check qcow2 bad.qcow2 $secrets
grep -q 'ERROR' check.src || fail "bad.qcow2: the damage was not planted"
cmp -s -n 80 src/bad.qcow2 dst/bad.qcow2 || fail "bad.qcow2: header flags changed"

# more layouts: extended L2, 512-byte clusters, zstd, v2, a backing file
make_image qemu x.qcow2 -o extended_l2=on
anon_check qcow2 x.qcow2 $secrets
make_image qemu small.qcow2 -o cluster_size=4k
anon_check qcow2 small.qcow2 $secrets
make_image qemu v2.qcow2 -o compat=0.10
anon_check qcow2 v2.qcow2 $secrets
if grep -q '^#define HAVE_ZSTD 1' "$top_builddir/config.h"; then
    make_image qemu z.qcow2 -o compression_type=zstd
    anon_check qcow2 z.qcow2 $secrets
fi
qemu-img create -q -f qcow2 src/base-customer.qcow2 64M
qemu-img create -q -f qcow2 -b base-customer.qcow2 -F qcow2 src/over.qcow2
qemu-io -f qcow2 -c "write -q -s d1 0 64k" src/over.qcow2
anon_check qcow2 base-customer.qcow2
anon_check qcow2 over.qcow2 "$s1"

# --scrub-names: same lengths, same check result, no names left
qemu-img bitmap --add src/q.qcow2 "bitmap-$s4" 2>/dev/null || true
cp dst/base-customer.qcow2 dst/xxxx-xxxxxxxx.qcow2
ANON_OPTS=--scrub-names anon_check qcow2 over.qcow2 "$s1" base-customer
qemu-img info dst/over.qcow2 2>&1 | grep -q 'backing file: xxxx-xxxxxxxx.qcow2' ||
    fail "backing file name not scrubbed"
cp src/q.qcow2 src/names.qcow2
"$EMU_IMG" anonymize --scrub-names src/names.qcow2 dst/names.qcow2
qemu-img snapshot -l dst/names.qcow2 > snaps
grep -q 'snap-' snaps && fail "snapshot name not scrubbed"
grep -q 'xxxx-xxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx' snaps || fail "snapshot name lost its shape"
grep -a -q -F "$sn" dst/names.qcow2 && fail "snapshot name left in DST"
grep -a -q -F 'bitmap-' dst/names.qcow2 && fail "bitmap name left in DST"
qemu-img check dst/names.qcow2 > /dev/null 2>&1 || [ $? = 3 ] || fail "names.qcow2 check"

# --in-place: the same result in the source file
make_image qemu inplace.qcow2
python3 "$DUMP" qcow2 src/inplace.qcow2 > dump.before
run_ok "$EMU_IMG" anonymize --in-place src/inplace.qcow2
python3 "$DUMP" qcow2 src/inplace.qcow2 > dump.after
diff dump.before dump.after || fail "--in-place changed metadata"
for s in $secrets; do
    grep -a -q -F "${s#hidden:}" src/inplace.qcow2 && fail "--in-place left $s"
done
truncate -s 64M zero.raw
qemu-img compare -q -F raw src/inplace.qcow2 zero.raw || fail "--in-place: not zeros"

# arguments
run_fails 1 "$EMU_IMG" anonymize src/q.qcow2
run_fails 1 "$EMU_IMG" anonymize --in-place src/q.qcow2 dst/x
run_fails 1 "$EMU_IMG" anonymize src/q.qcow2 src/q.qcow2
run_fails 1 "$EMU_IMG" anonymize -f qcow2 d1 dst/d1
"$EMU_IMG" anonymize --help | grep -q scrub-names || fail "--help"
"$EMU_IMG" anonymize d1 dst/d1 2>&1 | grep -q 'probed as raw' || fail "no warning for raw"
[ "$(du -k dst/d1 | cut -f1)" = 0 ] || fail "raw copy not a hole"

# a truncated image: no crash, no data
head -c 400000 src/q.qcow2 > src/cut.qcow2
run_ok "$EMU_IMG" anonymize src/cut.qcow2 dst/cut.qcow2
grep -a -q -F "$s1" dst/cut.qcow2 && fail "truncated: data left"
exit 0
