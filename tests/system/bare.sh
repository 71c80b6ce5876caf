#!/bin/sh
# bare.sh - bare-metal privileged-architecture programs (tests/system/bare)
# built with the riscv64 cross compiler and run with -bios none under
# qemu-system-riscv64 (the reference) and under the emulator under test:
# the serial output and the exit status must be the same, and qemu's run
# must pass the programs' own checks (exit 0).  Each program prints what
# it observed (causes, tvals, PTE bits, ...), so a difference is a diff.
#
#   EMU=...            the emulator under test (see system.sh)
#   BARE="traps irq"   run only these programs
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/system/system.sh"
set -e

# name: source and flags
programs=${BARE:-traps irq vm-sv39 vm-sv48 pmp misalign counters loops smc}
build() {
    case $1 in
    vm-sv39) set -- vm "$1" -DSV=39 ;;
    vm-sv48) set -- vm "$1" -DSV=48 ;;
    *) set -- "$1" "$1" ;;
    esac
    _s=$1 _o=$2
    shift 2
    sys_bare_cc "$T/$_o.elf" "$_s" "$@"
}

sys_bare() {   # sys_bare EMULATOR ELF LABEL -> $T/LABEL.out, $T/LABEL.rc
    set +e
    timeout 60 "$1" -M virt -bios none -nographic -kernel "$2" -m 128M \
        >"$T/$3.out" 2>"$T/$3.err" </dev/null
    echo $? >"$T/$3.rc"
    set -e
}

bad=""
for p in $programs; do
    build "$p"
    sys_bare qemu-system-riscv64 "$T/$p.elf" "$p.qemu"
    sys_bare "$EMU" "$T/$p.elf" "$p.emu"
    rq=$(cat "$T/$p.qemu.rc") re=$(cat "$T/$p.emu.rc")
    if [ "$rq" != 0 ]; then
        tail -n 20 "$T/$p.qemu.out" "$T/$p.qemu.err" >&2
        echo "$p: the reference qemu-system-riscv64 exits $rq: the test program is wrong" >&2
        bad="$bad $p"
    elif ! cmp -s "$T/$p.qemu.out" "$T/$p.emu.out"; then
        diff "$T/$p.qemu.out" "$T/$p.emu.out" | head -n 40 >&2
        head -n 5 "$T/$p.emu.err" >&2
        echo "$p: output differs from qemu-system-riscv64 (< qemu, > emu)" >&2
        bad="$bad $p"
    elif [ "$re" != "$rq" ]; then
        echo "$p: exit status $re, qemu-system-riscv64 $rq" >&2
        bad="$bad $p"
    elif ! grep -q "^done: 0 check" "$T/$p.qemu.out"; then
        echo "$p: the program did not finish" >&2
        bad="$bad $p"
    else
        echo "$p: $(wc -l <"$T/$p.qemu.out") lines, identical to qemu-system-riscv64"
    fi
done
[ -z "$bad" ] || fail "differs:$bad"
exit 0
