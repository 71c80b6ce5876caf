#!/bin/sh
# img-anonymize-fuzz.sh - emu-img anonymize never crashes: every format's
# walker runs on the fuzz seed corpora of all formats and on deterministic
# mutations of them (truncations, flipped bytes, extreme table entries),
# into a copy and in place, under the sanitizers; and the command line on
# images cut short at many lengths.
. "$top_srcdir/tests/lib.sh"
need qemu-img
set -e
prog="$top_builddir/tests/fuzz/fuzz-anon"
[ -x "$prog" ] || fail "$prog is not built"
"$prog" -n 15 "$top_srcdir"/tests/fuzz/corpus-*/* > "$T/out" 2> "$T/err" ||
    { tail -40 "$T/err"; fail "fuzz-anon failed"; }
grep -q -E 'AddressSanitizer|runtime error' "$T/err" && { tail -40 "$T/err"; fail "sanitizer"; }
cat "$T/out"

# truncated images through the command line: exit 0 or 1, never a crash
cd "$T"
qemu-img create -q -f qcow2 t.qcow2 64M
qemu-io -c 'write -q -P 0x61 0 256k' -c 'write -q -c -P 0x62 1M 64k' t.qcow2 2>/dev/null ||
    qemu-io -c 'write -q -P 0x61 0 256k' t.qcow2
qemu-img create -q -f vmdk -o subformat=streamOptimized t.vmdk 64M
qemu-img create -q -f vhdx t.vhdx 64M
qemu-img create -q -f vdi t.vdi 64M
qemu-img create -q -f vpc t.vpc 64M
for f in qcow2 vmdk vhdx vdi vpc; do
    size=$(stat -c %s t.$f)
    for cut in 0 100 512 4096 70000 196608 $((size / 2)) $((size - 1)); do
        [ "$cut" -le "$size" ] || continue
        head -c "$cut" t.$f > cut.$f
        set +e
        "$EMU_IMG" anonymize -f $f cut.$f out.$f > out 2>&1
        r=$?
        set -e
        [ $r -le 1 ] || { cat out; fail "$f cut at $cut: exit $r"; }
        grep -q -E 'AddressSanitizer|runtime error' out && { cat out; fail "$f cut at $cut"; }
        if [ $r = 0 ]; then
            [ "$(stat -c %s out.$f)" = "$cut" ] || fail "$f cut at $cut: wrong length"
        fi
    done
done
exit 0
