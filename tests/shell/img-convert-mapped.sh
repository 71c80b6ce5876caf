#!/bin/sh
# img-convert-mapped.sh - convert reads data stored flat in a plain source
# file through a read-only mapping (blk_map_read) instead of a buffer.  The
# result must be the same as qemu-img's conversion and as the buffered path
# (-T none: O_DIRECT source, no mapping; compressed source clusters: no flat
# offset), in content and in what is allocated: raw and qcow2 sources,
# backing chains, a size that ends inside a page, written zeros, holes,
# one job or many, in or out of order.
. "$top_srcdir/tests/lib.sh"
need qemu-img qemu-io python3
set -e
cd "$T"

# Data, written zeros, holes, text; ends 1536 bytes into a page.
python3 -c "
import random
r = random.Random(7)
with open('src.raw', 'wb') as f:
    for i in range(96):
        k = r.randrange(4)
        if k == 0: f.write(bytes(65536))
        elif k == 1: f.write(r.randbytes(65536))
        elif k == 2: f.write((b'row %05d ' % i) * 6553 + bytes(6))
        else: f.seek(65536, 1)
    f.write(r.randbytes(1536))
"
size=$(stat -c %s src.raw)

same_map() {  # same_map A B WHAT: equal allocation maps (qemu-img map)
    qemu-img map --output=json "$1" > a.map
    qemu-img map --output=json "$2" > b.map
    cmp -s a.map b.map || { diff a.map b.map | head; fail "$3: allocation differs"; }
}

# raw -> qcow2: same content, same layout as qemu-img's own conversion.
qemu-img convert -O qcow2 src.raw q.qcow2
for args in "" "-m 1" "-m 16" "-W" "-T none"; do
    rm -f e.qcow2
    # shellcheck disable=SC2086
    "$EMU_IMG" convert $args -O qcow2 src.raw e.qcow2 || fail "raw -> qcow2 $args"
    qemu-img check e.qcow2 > /dev/null || fail "raw -> qcow2 $args: check failed"
    qemu-img compare -q src.raw e.qcow2 || fail "raw -> qcow2 $args: content differs"
    case $args in
        -W) ;;   # out of order: allocation order may differ
        *) same_map e.qcow2 q.qcow2 "raw -> qcow2 $args" ;;
    esac
done

# qcow2 -> raw (data mapped from the qcow2 file at the clusters' offsets).
qemu-img convert -O raw q.qcow2 q.raw
for args in "" "-m 1" "-m 16" "-W" "-T none" "-S 0"; do
    rm -f e.raw
    # shellcheck disable=SC2086
    "$EMU_IMG" convert $args -O raw q.qcow2 e.raw || fail "qcow2 -> raw $args"
    cmp e.raw src.raw || fail "qcow2 -> raw $args: content differs"
    [ "$(stat -c %s e.raw)" = "$size" ] || fail "qcow2 -> raw $args: size differs"
    [ "$args" = "-S 0" ] || same_map e.raw q.raw "qcow2 -> raw $args"
done

# raw -> raw.
"$EMU_IMG" convert -O raw src.raw e.raw
qemu-img convert -O raw src.raw q.raw
cmp e.raw src.raw || fail "raw -> raw: content differs"
same_map e.raw q.raw "raw -> raw"

# In-kernel copies (copy_file_range) where no zeros are looked for in the
# data: -C, -S 0, a preallocated raw target; raw and qcow2 sources, a
# chain (its base's data copied from the base file).  -T none copies
# through a buffer instead.  Zeros and holes of the source stay zeros.
for s in src.raw q.qcow2 ov.qcow2; do
    [ -f "$s" ] || qemu-img convert -O qcow2 src.raw base.qcow2
    [ -f "$s" ] || { qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 ov.qcow2 &&
        qemu-io -c "write -P 9 131072 65536" ov.qcow2 > /dev/null; }
    for args in "-C" "-S 0" "-o preallocation=falloc" "-o preallocation=full" "-C -T none" \
                "-C -m 1" "-C -W"; do
        rm -f e.raw
        # shellcheck disable=SC2086
        "$EMU_IMG" convert $args -O raw "$s" e.raw || fail "$s -> raw $args"
        qemu-img compare -q "$s" e.raw || fail "$s -> raw $args: content differs"
        [ "$(stat -c %s e.raw)" = "$size" ] || fail "$s -> raw $args: size differs"
    done
done
# -n into an existing raw target holding other data, with -C.
rm -f e.raw
python3 -c "open('e.raw', 'wb').write(b'\xee' * $size)"
"$EMU_IMG" convert -n -C -O raw q.qcow2 e.raw || fail "-n -C"
qemu-img compare -q q.qcow2 e.raw || fail "-n -C: content differs"
rm -f base.qcow2 ov.qcow2

# A backing chain: data from both files, overlay clusters over base ones.
qemu-img convert -O qcow2 src.raw base.qcow2
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 ov.qcow2
for i in $(seq 0 4 92); do
    qemu-io -c "write -P $((i + 1)) $((i * 65536 + 4096)) 65536" ov.qcow2 > /dev/null
done
qemu-img convert -O raw ov.qcow2 chain.raw
rm -f e.raw
"$EMU_IMG" convert -O raw ov.qcow2 e.raw || fail "chain -> raw"
cmp e.raw chain.raw || fail "chain -> raw: content differs"
rm -f e.qcow2
"$EMU_IMG" convert -O qcow2 ov.qcow2 e.qcow2 || fail "chain -> qcow2"
qemu-img compare -q chain.raw e.qcow2 || fail "chain -> qcow2: content differs"
# -B: only the overlay's own clusters are copied
rm -f e.qcow2
"$EMU_IMG" convert -O qcow2 -B base.qcow2 -F qcow2 ov.qcow2 e.qcow2 || fail "convert -B"
qemu-img compare -q chain.raw e.qcow2 || fail "convert -B: content differs"

# Compressed source clusters have no flat offset: read through the driver.
qemu-img convert -c -O qcow2 src.raw c.qcow2
rm -f e.raw
"$EMU_IMG" convert -O raw c.qcow2 e.raw || fail "compressed -> raw"
cmp e.raw src.raw || fail "compressed -> raw: content differs"
rm -f e.qcow2
"$EMU_IMG" convert -c -O qcow2 q.qcow2 e.qcow2 || fail "qcow2 -> compressed"
qemu-img compare -q src.raw e.qcow2 || fail "qcow2 -> compressed: content differs"
exit 0
