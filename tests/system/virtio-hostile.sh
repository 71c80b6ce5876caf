#!/bin/sh
# virtio-hostile.sh - a bare-metal driver (tests/system/bare/virtio.c)
# drives virtio-blk well, then lies to it: looping chains, buffers outside
# RAM or wrapping around, indexes out of range, bad indirect tables, an
# available index far ahead, rings outside RAM, a scribbled used index.
# Every lie must end in DEVICE_NEEDS_RESET with nothing completed, the
# device must work again after a reset, the emulator must run on to the
# program's end (under ASan/UBSan in CI), and the disk must hold exactly
# what the good requests wrote.  The well-behaved part's output must match
# qemu-system-riscv64's.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/system/system.sh"
set -e
sys_bare_cc "$T/virtio.elf" virtio
mkdisk() {
    { printf 'EMU-DISK'; head -c 32760 /dev/zero; } >"$1"
}
run() {   # run EMULATOR LABEL [OPTIONS]
    mkdisk "$T/$2.img"
    _e=$1 _l=$2
    shift 2
    set +e
    timeout 120 "$_e" "$@" -M virt -bios none -nographic -m 128M -kernel "$T/virtio.elf" \
        -drive file="$T/$_l.img",format=raw,if=none,id=d0 \
        -device virtio-blk-device,drive=d0,serial=EMU-SERIAL-0123 \
        >"$T/$_l.out" 2>"$T/$_l.err" </dev/null
    echo $? >"$T/$_l.rc"
    set -e
    tr -d '\r' <"$T/$_l.out" >"$T/$_l.txt"
}
# qemu 7.2's virtio-mmio is legacy (version 1) unless told otherwise
run qemu-system-riscv64 qemu -global virtio-mmio.force-legacy=false
run "$EMU" emu
cat "$T/emu.txt"
rc=$(cat "$T/emu.rc")
[ "$rc" = 0 ] || { cat "$T/emu.err" >&2; fail "the program exits $rc under the emulator (0: every check passed)"; }
grep -q "^done: 0 check" "$T/emu.txt" || fail "the program did not finish"
# the good part, up to the first lie, is what qemu does
sed '/^chain that loops/,$d' "$T/qemu.txt" >"$T/qemu.good"
sed '/^chain that loops/,$d' "$T/emu.txt" >"$T/emu.good"
cmp -s "$T/qemu.good" "$T/emu.good" ||
    { diff -a "$T/qemu.good" "$T/emu.good" >&2; fail "well-formed requests: output differs from qemu (< qemu, > emu)"; }
# one warning per lie, naming the device
n=$(grep -c "virtio-blk-device: guest error" "$T/emu.err" || true)
[ "$n" -ge 8 ] || { cat "$T/emu.err" >&2; fail "only $n device errors reported for the lies"; }
cmp -s "$T/qemu.img" "$T/emu.img" || fail "the disk differs from qemu's after the same requests"
echo "hostile driver: $n lies refused with NEEDS_RESET, the device recovered each time, good requests as qemu: ok"
exit 0
