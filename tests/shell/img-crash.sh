#!/bin/sh
# img-crash.sh - crash safety: emu-img is killed with SIGKILL at random
# points while converting into qcow2 or vmdk and while creating snapshots; after
# every kill `qemu-img check` may report leaked clusters, never corruption
# (exit 0 or 3, not 2).
. "$top_srcdir/tests/lib.sh"
need qemu-img python3
set -e
cd "$T"

python3 -c "
import random
r = random.Random(11)
with open('src.raw', 'wb') as f:
    for i in range(768):
        k = r.randrange(3)
        if k == 0: f.write(bytes(65536))
        elif k == 1: f.write(r.randbytes(65536))
        else: f.write((b'%08d' % i) * 8192)
"
delays="0.005 0.01 0.02 0.05 0.1 0.15 0.2 0.3 0.4 0.6 0.8 1.0"
killed=0
runs=0

checked() {  # checked IMAGE WHAT: qemu-img check shows no corruption
    set +e
    qemu-img check "$1" > check.out 2>&1
    rc=$?
    set -e
    case $rc in
        0|3) ;;
        *) cat check.out; fail "$2: qemu-img check exit $rc after SIGKILL" ;;
    esac
    runs=$((runs + 1))
}

kill_after() {  # kill_after DELAY CMD...: run CMD, SIGKILL it after DELAY
    d=$1
    shift
    "$@" > /dev/null 2>&1 &
    pid=$!
    sleep "$d"
    if kill -9 "$pid" 2>/dev/null; then
        killed=$((killed + 1))
    fi
    wait "$pid" 2>/dev/null || true
}

for cs in 512 4k 64k; do
    for d in $delays; do
        rm -f dst.qcow2
        "$EMU_IMG" create -q -f qcow2 -o cluster_size=$cs dst.qcow2 48M
        kill_after "$d" "$EMU_IMG" convert -n -O qcow2 src.raw dst.qcow2
        checked dst.qcow2 "convert (cluster $cs, kill after ${d}s)"
    done
done
for d in $delays; do
    rm -f dst.qcow2
    "$EMU_IMG" create -q -f qcow2 -o cluster_size=4k dst.qcow2 48M
    kill_after "$d" "$EMU_IMG" convert -c -n -O qcow2 src.raw dst.qcow2
    checked dst.qcow2 "convert -c (kill after ${d}s)"
done

# VMDK (monolithicSparse): grains are appended, and the grain table
# entries that point to them are written later, after a flush (at the end,
# or every 4096 grains), so a killed convert leaves every grain either as
# in the source or unallocated (zeros), and nothing that qemu-img check
# objects to.  (img-vmdk-order.sh checks the order of the writes.)
for d in $delays; do
    rm -f dst.vmdk
    "$EMU_IMG" create -q -f vmdk dst.vmdk 48M
    kill_after "$d" "$EMU_IMG" convert -n -O vmdk src.raw dst.vmdk
    checked dst.vmdk "convert to vmdk (kill after ${d}s)"
    qemu-img convert -f vmdk -O raw dst.vmdk got.raw
    python3 -c "
import sys
a = open('src.raw', 'rb').read(); b = open('got.raw', 'rb').read()
g = 65536
bad = [i for i in range(0, len(a), g) if b[i:i + g] not in (a[i:i + g], bytes(g))]
sys.exit(1 if bad or len(a) != len(b) else 0)
" || fail "convert to vmdk (kill after ${d}s): a grain is neither the source's nor zero"
done

# Lazy refcounts: a killed writer leaves the dirty bit; the next
# read-write open repairs the image and clears it.
for d in 0.1 0.3 0.6; do
    rm -f lz.qcow2
    "$EMU_IMG" create -q -f qcow2 -o lazy_refcounts=on,cluster_size=4k lz.qcow2 48M
    kill_after "$d" "$EMU_IMG" convert -n -O qcow2 src.raw lz.qcow2
    checked lz.qcow2 "lazy refcounts (kill after ${d}s)"
    "$EMU_IMG" resize lz.qcow2 +1M > /dev/null || fail "reopening a dirty image failed"
    qemu-img check lz.qcow2 > check.out 2>&1 || { cat check.out; fail "dirty image not repaired"; }
    qemu-img info --output=json lz.qcow2 | grep -q '"dirty-flag": false' ||
        fail "dirty bit not cleared"
done

# Snapshots of a well-filled image with small clusters (many L2 tables).
"$EMU_IMG" convert -O qcow2 -o cluster_size=512 src.raw snapbase.qcow2
for d in $delays; do
    cp snapbase.qcow2 s.qcow2
    "$EMU_IMG" snapshot -c first s.qcow2
    kill_after "$d" "$EMU_IMG" snapshot -c second s.qcow2
    checked s.qcow2 "snapshot -c (kill after ${d}s)"
    qemu-img compare -q src.raw s.qcow2 || fail "snapshot -c (kill after ${d}s): data changed"
done
# Snapshot deletion (also switched in with one header write).
for d in $delays; do
    cp snapbase.qcow2 s.qcow2
    "$EMU_IMG" snapshot -c first s.qcow2
    "$EMU_IMG" convert -n -O qcow2 -f raw src.raw s.qcow2
    "$EMU_IMG" snapshot -c second s.qcow2
    kill_after "$d" "$EMU_IMG" snapshot -d first s.qcow2
    checked s.qcow2 "snapshot -d (kill after ${d}s)"
    qemu-img compare -q src.raw s.qcow2 || fail "snapshot -d (kill after ${d}s): data changed"
done
# Applying a snapshot: afterwards (or after a crash, before) the image
# holds either the state at "first" or the current one.
cp snapbase.qcow2 g.qcow2
"$EMU_IMG" snapshot -c first g.qcow2
qemu-io -c "write -P 0x77 0 8M" -c "write -z 16M 4M" g.qcow2 >/dev/null
qemu-img convert -O raw g.qcow2 now.raw
cmp -s now.raw src.raw && fail "the snapshot test needs two different states"
for d in $delays; do
    cp g.qcow2 a.qcow2
    kill_after "$d" "$EMU_IMG" snapshot -a first a.qcow2
    checked a.qcow2 "snapshot -a (kill after ${d}s)"
    qemu-img compare -q src.raw a.qcow2 >/dev/null || qemu-img compare -q now.raw a.qcow2 ||
        fail "snapshot -a (kill after ${d}s): neither the old nor the new state"
done
echo "$runs crash runs, $killed killed mid-operation"
[ "$killed" -ge 5 ] || fail "only $killed runs were interrupted: the test proves nothing"
