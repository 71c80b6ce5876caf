#!/bin/sh
# img-commands.sh - measure, rebase, commit, amend, dd, bench and the
# command-line conventions (--help, --version, exit codes, -q), each
# checked against qemu-img on the same images.
. "$top_srcdir/tests/lib.sh"
need qemu-img qemu-io python3
set -e
cd "$T"

jsoncmp() {
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
qcheck() {
    qemu-img check "$1" > qcheck.out 2>&1 || { cat qcheck.out; fail "$2: qemu-img check"; }
}
n=0

# --- CLI conventions
"$EMU_IMG" --help | grep -q "convert" || fail "--help does not list commands"
"$EMU_IMG" --version | grep -q "emu-img" || fail "--version"
run_fails 1 "$EMU_IMG"
run_fails 1 "$EMU_IMG" info
n=$((n + 1))

# --- measure
qemu-img create -q -f raw m.raw 64M
qemu-io -f raw -c "write -P 1 0 5M" -c "write -P 2 20M 1M" m.raw >/dev/null
qemu-img convert -O qcow2 m.raw m.qcow2
for args in "-O qcow2 m.raw" "-O qcow2 m.qcow2" "-O raw m.qcow2" "-O qcow2 --size 1G" \
        "-O qcow2 -o cluster_size=512 --size 100M" "-O qcow2 -o refcount_bits=1 --size 3G" \
        "-O qcow2 -o cluster_size=2M,refcount_bits=64 m.raw" "-O raw --size 12345"; do
    "$EMU_IMG" measure --output=json $args > emu.json || fail "measure $args"
    qemu-img measure --output=json $args > qemu.json
    jsoncmp emu.json qemu.json || fail "measure $args differs"
    "$EMU_IMG" measure $args > emu.txt
    qemu-img measure $args > qemu.txt
    diff qemu.txt emu.txt || fail "measure $args: human output differs"
    n=$((n + 1))
done

# --- rebase (safe and unsafe) keeps what the guest sees
qemu-img create -q -f qcow2 b1.qcow2 8M
qemu-io -c "write -P 0x11 0 8M" b1.qcow2 >/dev/null
qemu-img create -q -f qcow2 b2.qcow2 8M
qemu-io -c "write -P 0x11 0 4M" -c "write -P 0x22 4M 2M" b2.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b b1.qcow2 -F qcow2 top.qcow2
qemu-io -c "write -P 0x33 3M 2M" top.qcow2 >/dev/null
qemu-img convert -O raw top.qcow2 before.raw
"$EMU_IMG" rebase -b b2.qcow2 -F qcow2 top.qcow2 || fail "rebase"
qcheck top.qcow2 rebase
qemu-img info --output=json top.qcow2 | grep -q '"backing-filename": "b2.qcow2"' ||
    fail "rebase: backing file not changed"
qemu-img compare -q before.raw top.qcow2 || fail "rebase changed the guest data"
"$EMU_IMG" rebase -b "" top.qcow2 || fail "rebase -b ''"
qcheck top.qcow2 "rebase -b ''"
qemu-img compare -q before.raw top.qcow2 || fail "rebase -b '' changed the guest data"
qemu-img create -q -f qcow2 -b b1.qcow2 -F qcow2 u.qcow2
"$EMU_IMG" rebase -u -b b2.qcow2 -F qcow2 u.qcow2
qemu-img info u.qcow2 | grep -q "backing file: b2.qcow2" || fail "rebase -u"
run_fails 1 "$EMU_IMG" rebase -b b2.qcow2 u.qcow2
n=$((n + 3))

# --- commit
qemu-img create -q -f qcow2 cb.qcow2 8M
qemu-io -c "write -P 0x44 0 8M" cb.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b cb.qcow2 -F qcow2 ct.qcow2
qemu-io -c "write -P 0x55 1M 1M" -c "write -z 6M 64k" ct.qcow2 >/dev/null
qemu-img convert -O raw ct.qcow2 want.raw
"$EMU_IMG" commit -q ct.qcow2 || fail "commit"
qcheck cb.qcow2 "commit base"
qcheck ct.qcow2 "commit top"
qemu-img compare -q want.raw cb.qcow2 || fail "commit: base content"
qemu-img compare -q want.raw ct.qcow2 || fail "commit: top content"
[ "$(qemu-img map --output=json ct.qcow2 | grep -c '"depth": 0')" = 0 ] ||
    fail "commit: top image not emptied"
n=$((n + 1))

# --- amend: emu-img's result equals qemu-img's amend of the same image
for o in compat=0.10 lazy_refcounts=on refcount_bits=64 refcount_bits=1 refcount_bits=8; do
    qemu-img create -q -f qcow2 am.qcow2 8M
    qemu-io -c "write -P 0x66 0 3M" am.qcow2 >/dev/null
    cp am.qcow2 amq.qcow2
    "$EMU_IMG" amend -o "$o" am.qcow2 || fail "amend -o $o"
    qemu-img amend -o "$o" amq.qcow2
    qcheck am.qcow2 "amend -o $o"
    qemu-img compare -q am.qcow2 amq.qcow2 || fail "amend -o $o: content"
    "$EMU_IMG" info --output=json am.qcow2 > emu.json
    qemu-img info --output=json amq.qcow2 > qemu.json
    jsoncmp emu.json qemu.json filename actual-size || fail "amend -o $o: info differs"
    n=$((n + 1))
done
qemu-img create -q -f qcow2 -o compat=0.10 up.qcow2 8M
"$EMU_IMG" amend -o compat=1.1 up.qcow2
qemu-img info up.qcow2 | grep -q "compat: 1.1" || fail "amend compat=1.1"
qcheck up.qcow2 "amend compat=1.1"

# --- dd
for args in "bs=1M count=3 skip=1" "bs=512 skip=3" "bs=64k count=100"; do
    rm -f d1.raw d2.raw
    "$EMU_IMG" dd -O raw $args if=m.qcow2 of=d1.raw || fail "dd $args"
    qemu-img dd -O raw $args if=m.qcow2 of=d2.raw
    cmp d1.raw d2.raw || fail "dd $args: output differs from qemu-img dd"
    n=$((n + 1))
done
rm -f d1.qcow2
"$EMU_IMG" dd -O qcow2 bs=1M if=m.raw of=d1.qcow2
qcheck d1.qcow2 "dd -O qcow2"
qemu-img compare -q m.raw d1.qcow2 || fail "dd -O qcow2: content"

# --- bench writes the pattern it is asked for
qemu-img create -q -f qcow2 bw.qcow2 16M
"$EMU_IMG" bench -q -w -c 64 -d 8 -s 64k --pattern=165 bw.qcow2 || fail "bench -w"
qcheck bw.qcow2 "bench -w"
qemu-io -c "read -P 165 0 4M" bw.qcow2 | grep -q "read 4194304" || fail "bench pattern"
"$EMU_IMG" bench -c 500 -d 4 bw.qcow2 | grep -q "Run completed" || fail "bench read"
n=$((n + 2))

# --- compare exit codes and messages match qemu-img
qemu-img create -q -f qcow2 c1.qcow2 4M
qemu-img create -q -f qcow2 c2.qcow2 4M
qemu-io -c "write -P 1 1000 10" c2.qcow2 >/dev/null
for pair in "c1.qcow2 c1.qcow2" "c1.qcow2 c2.qcow2" "c1.qcow2 m.raw" "-s c1.qcow2 m.qcow2" \
        "c1.qcow2 missing.qcow2"; do
    set +e
    "$EMU_IMG" compare $pair > emu.txt 2>/dev/null; erc=$?
    qemu-img compare $pair > qemu.txt 2>/dev/null; qrc=$?
    set -e
    [ "$erc" = "$qrc" ] || fail "compare $pair: exit $erc, qemu-img $qrc"
    diff qemu.txt emu.txt || fail "compare $pair: output differs"
    n=$((n + 1))
done
echo "$n command cases agree with qemu-img"
