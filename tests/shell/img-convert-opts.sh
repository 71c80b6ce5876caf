#!/bin/sh
# img-convert-opts.sh - emu-img convert takes the options qemu-img convert
# takes (-f -O -o -c -p -S -n -m -W -l -B -F -t -T -C --target-is-zero) and
# refuses the same combinations with the same message and exit code.
. "$top_srcdir/tests/lib.sh"
need qemu-img qemu-io
set -e
cd "$T"

qemu-img create -q -f qcow2 a.qcow2 4M
qemu-io -c 'write -P 5 64k 1M' a.qcow2 > /dev/null
qemu-img create -q -f raw b.raw 4M
qemu-img create -q -f qcow2 base.qcow2 4M

# same ARGS...: both tools give the same exit code and message.
same() {
    rm -f o.img
    set +e
    qemu-img "$@" > q.out 2>&1
    qrc=$?
    rm -f o.img
    "$EMU_IMG" "$@" > e.out 2>&1
    erc=$?
    set -e
    sed 's/^qemu-img: //' q.out | head -1 > q.msg
    sed 's/^emu-img: //' e.out | head -1 > e.msg
    [ "$qrc" = "$erc" ] || fail "convert $*: exit $erc, qemu-img $qrc ($(cat e.out))"
    cmp -s q.msg e.msg || fail "convert $*: '$(cat e.msg)', qemu-img '$(cat q.msg)'"
}

same convert -S 1000 a.qcow2 o.img
same convert -S 17M a.qcow2 o.img
same convert -S 16M a.qcow2 o.img
same convert -S 0 a.qcow2 o.img
same convert -t bogus a.qcow2 o.img
same convert -T bogus a.qcow2 o.img
for c in none writeback unsafe directsync writethrough; do
    same convert -t $c -T $c a.qcow2 o.img
done
same convert -m 0 a.qcow2 o.img
same convert -m 17 a.qcow2 o.img
same convert -W -m 4 a.qcow2 o.img
same convert -c a.qcow2 o.img
same convert -c -O qcow2 a.qcow2 o.img
same convert -C a.qcow2 o.img
same convert -C -c -O qcow2 a.qcow2 o.img
same convert -C -S 4k a.qcow2 o.img
same convert -O qcow2 -B base.qcow2 a.qcow2 o.img
same convert -O qcow2 -B base.qcow2 -F qcow2 a.qcow2 o.img
same convert -O qcow2 -o backing_file=base.qcow2 a.qcow2 o.img
same convert --target-is-zero a.qcow2 o.img
same convert -n --target-is-zero a.qcow2 b.raw
same convert -n -o cluster_size=4k a.qcow2 b.raw
same convert -n -o help a.qcow2 b.raw
same convert -O qcow2 -o help
same convert -O bogus a.qcow2 o.img
same convert a.qcow2
same convert -p -q a.qcow2 o.img

# -n -B: the existing target's backing file holds the source's backing
# chain; only what the top image holds is copied.
qemu-img create -q -f raw r.raw 4M
qemu-io -f raw -c 'write -P 7 0 4M' r.raw > /dev/null
qemu-img convert -O qcow2 r.raw b2.qcow2
qemu-img create -q -f qcow2 -b b2.qcow2 -F qcow2 s.qcow2
qemu-io -c 'write -P 9 1M 64k' s.qcow2 > /dev/null
qemu-img create -q -f qcow2 -b b2.qcow2 -F qcow2 q.qcow2
qemu-img convert -n -O qcow2 -B b2.qcow2 s.qcow2 q.qcow2
qemu-img create -q -f qcow2 -b b2.qcow2 -F qcow2 e.qcow2
"$EMU_IMG" convert -n -O qcow2 -B b2.qcow2 s.qcow2 e.qcow2 || fail "convert -n -B"
qemu-img compare -q s.qcow2 e.qcow2 || fail "convert -n -B: content differs"
qemu-img map --output=json q.qcow2 > q.map
qemu-img map --output=json e.qcow2 > e.map
cmp -s q.map e.map || fail "convert -n -B: allocation differs from qemu-img's"
exit 0
