#!/bin/sh
# machine.sh - the virt board's command line, beside qemu-system-riscv64:
# the device tree it dumps (-M virt,dumpdtb=) describes the same machine
# (nodes, compatibles, registers; the ISA strings are what each emulator
# implements), and bad input is refused with one message naming it.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/system/system.sh"
need dtc
set -e

for n in 1 4; do
    "$EMU" -M virt,dumpdtb="$T/emu$n.dtb" -smp $n -m 256M -nographic >"$T/out" 2>&1 ||
        fail "dumpdtb with -smp $n: $(cat "$T/out")"
    qemu-system-riscv64 -M virt,dumpdtb="$T/qemu$n.dtb" -smp $n -m 256M -nographic >/dev/null 2>&1 ||
        fail "qemu-system-riscv64 cannot dump its tree"
    dtc -I dtb -O dts "$T/emu$n.dtb" >"$T/emu$n.dts" 2>/dev/null || fail "dtc cannot read emu's DTB"
    dtc -I dtb -O dts "$T/qemu$n.dtb" >"$T/qemu$n.dts" 2>/dev/null || fail "dtc cannot read qemu's DTB"
    # what must agree: the nodes and their compatible and reg properties of
    # the devices both have (qemu has more: fw-cfg, flash, pci, pmu, ...)
    for node in "memory@80000000" "serial@10000000" "plic@c000000" "clint@2000000" "rtc@101000" \
                "test@100000" "virtio_mmio@10001000" "virtio_mmio@10008000" "cpu@0"; do
        for f in emu qemu; do
            awk -v n="$node" '$1 == n { on = 1; depth = 0 }
                on { print; if ($0 ~ /{/) depth++; if ($0 ~ /};/ && --depth == 0) exit }' \
                "$T/$f$n.dts" | grep -E "^\s*(compatible|reg|interrupts|device_type|riscv,ndev) " \
                >"$T/$f.node" || true
        done
        [ -s "$T/emu.node" ] || fail "-smp $n: no $node in emu's tree"
        cmp -s "$T/emu.node" "$T/qemu.node" || {
            diff "$T/qemu.node" "$T/emu.node" >&2
            fail "-smp $n: $node differs from qemu's (< qemu, > emu)"
        }
    done
    cpus=$(grep -c 'device_type = "cpu"' "$T/emu$n.dts")
    [ "$cpus" = "$n" ] || fail "-smp $n: $cpus cpu nodes"
    grep -q 'riscv,isa = "rv64imafdc_zicsr_zifencei_zihintpause_zba_zbb_zbs_sstc"' "$T/emu$n.dts" ||
        fail "riscv,isa does not list exactly what emu implements"
done
echo "device tree: the devices match qemu's with 1 and 4 harts"

# bad input: one message, naming the object, and a failure status
bad() {   # bad "what the message must contain" ARGS...
    _want=$1
    shift
    set +e
    timeout 20 "$EMU" "$@" -nographic </dev/null >"$T/out" 2>"$T/err"
    _rc=$?
    set -e
    [ "$_rc" != 0 ] || fail "accepted: $*"
    grep -q "^emu-system-riscv64: .*$_want" "$T/err" ||
        fail "$*: message does not say '$_want': $(head -n 2 "$T/err")"
}
bad "unknown property 'foo'" -M virt,foo=bar
bad "nonexistent.bin" -M virt -bios "$T/nonexistent.bin"
bad "nonexistent.elf" -M virt -bios none -kernel "$T/nonexistent.elf"
bad "-smp" -M virt -smp 99
printf 'ELF header cut short' | dd of="$T/cut.elf" bs=1 count=20 2>/dev/null
printf '\177ELF\002\001\001' | dd of="$T/cut.elf" conv=notrunc 2>/dev/null
bad "cut.elf" -M virt -bios none -kernel "$T/cut.elf"
echo "bad input: refused with a message naming it"
