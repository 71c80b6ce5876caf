#!/bin/sh
# img-check.sh - emu-img check finds the same leaks and corruptions as
# qemu-img check on images damaged on purpose, with the same exit codes
# and JSON; `emu-img check -r all` repairs them so that qemu-img check is
# clean; -r leaks fixes only leaks.
. "$top_srcdir/tests/lib.sh"
need qemu-img qemu-io python3
set -e
cd "$T"

# damage IMAGE KIND: edit qcow2 metadata in place (16-bit refcounts).
damage() {
    python3 - "$@" <<'PY'
import struct, sys, os
path, kind = sys.argv[1], sys.argv[2]
f = open(path, 'r+b')
h = f.read(104)
cb = struct.unpack('>I', h[20:24])[0]; cs = 1 << cb
l1_off = struct.unpack('>Q', h[40:48])[0]
rt_off = struct.unpack('>Q', h[48:56])[0]
def rd(off, n): f.seek(off); return f.read(n)
def wr(off, b): f.seek(off); f.write(b)
def q(off): return struct.unpack('>Q', rd(off, 8))[0]
rb0 = q(rt_off) & ~511
l2 = q(l1_off) & 0x00fffffffffffe00
e0 = q(l2); data0 = e0 & 0x00fffffffffffe00
size = os.path.getsize(path)
def setref(cluster, v): wr(rb0 + 2 * cluster, struct.pack('>H', v))
if kind == 'leak':
    c = (size + cs - 1) // cs
    f.truncate((c + 1) * cs); setref(c, 1)
elif kind == 'leak-data':
    setref(data0 // cs, 2)
elif kind == 'refcount-zero':
    setref(data0 // cs, 0)
elif kind == 'l2-past-eof':
    wr(l2 + 8, struct.pack('>Q', (1 << 63) | ((size // cs + 16) * cs)))
elif kind == 'overlap':
    wr(l2 + 8, struct.pack('>Q', (1 << 63) | l1_off))
elif kind == 'refblock-past-eof':
    wr(rt_off, struct.pack('>Q', (size // cs + 100) * cs))
elif kind == 'copied-flag':
    wr(l2, struct.pack('>Q', e0 & ~(1 << 63)))
elif kind == 'l2-unaligned':
    wr(l1_off, struct.pack('>Q', (1 << 63) | (l2 + 512)))
PY
}

fields() {  # the fields both tools must agree on
    python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
print(d.get('corruptions', 0), d.get('leaks', 0), d.get('check-errors', 0),
      d.get('corruptions-fixed', 0), d.get('leaks-fixed', 0))" "$1"
}

mkimg() {
    rm -f "$1"
    qemu-img create -q -f qcow2 "$1" 4M
    qemu-io -c "write -P 1 0 256k" -c "write -P 2 1M 64k" "$1" >/dev/null
}

n=0
for kind in leak leak-data refcount-zero l2-past-eof overlap refblock-past-eof copied-flag \
        l2-unaligned; do
    mkimg d.qcow2
    damage d.qcow2 "$kind"
    set +e
    "$EMU_IMG" check --output=json d.qcow2 > emu.json 2>emu.err; erc=$?
    qemu-img check --output=json d.qcow2 > qemu.json 2>qemu.err; qrc=$?
    set -e
    [ "$erc" = "$qrc" ] || fail "$kind: emu-img check exit $erc, qemu-img $qrc"
    [ "$erc" != 0 ] || fail "$kind: damage not found"
    [ "$(fields emu.json)" = "$(fields qemu.json)" ] ||
        fail "$kind: emu-img finds '$(fields emu.json)', qemu-img '$(fields qemu.json)'"
    # read-only check never writes
    sum=$(md5sum < d.qcow2)
    "$EMU_IMG" check d.qcow2 >/dev/null 2>&1 || true
    [ "$(md5sum < d.qcow2)" = "$sum" ] || fail "$kind: check without -r changed the image"
    # -r all repairs
    cp d.qcow2 r.qcow2
    set +e
    "$EMU_IMG" check -r all r.qcow2 > emu.txt 2>&1; rc=$?
    set -e
    [ "$rc" = 0 ] || { cat emu.txt; fail "$kind: check -r all exit $rc"; }
    qemu-img check r.qcow2 > qemu.txt 2>&1 || { cat qemu.txt; fail "$kind: not repaired"; }
    n=$((n + 1))
done

# -r leaks repairs leaks only; exit codes 3 then 0; JSON reports the fix.
mkimg l.qcow2
damage l.qcow2 leak
set +e
"$EMU_IMG" check --output=json -r leaks l.qcow2 > emu.json 2>/dev/null; rc=$?
set -e
[ "$rc" = 0 ] || fail "-r leaks: exit $rc"
[ "$(fields emu.json)" = "0 0 0 0 1" ] || fail "-r leaks: reported $(fields emu.json)"
qemu-img check l.qcow2 >/dev/null || fail "-r leaks left the image unclean"
mkimg z.qcow2
damage z.qcow2 refcount-zero
set +e
"$EMU_IMG" check -r leaks z.qcow2 >/dev/null 2>&1; rc=$?
set -e
[ "$rc" = 2 ] || fail "-r leaks on a corruption: exit $rc, expected 2"

# Formats without checks: exit 63.  Missing file: exit 1.
qemu-img create -q -f raw x.raw 1M
run_fails 63 "$EMU_IMG" check -f raw x.raw
run_fails 1 "$EMU_IMG" check no-such-file.qcow2
n=$((n + 2))
echo "$n damage cases agree with qemu-img"
