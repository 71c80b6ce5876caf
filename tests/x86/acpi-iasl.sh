#!/bin/sh
# acpi-iasl.sh - ACPICA, the reference implementation Linux's ACPI code
# comes from, reads back the microVM's ACPI tables (hw/x86/acpi.c):
#   1. iasl -d disassembles XSDT, FACP, APIC and DSDT without an error or
#      a warning (a bad checksum, length or AML structure is a warning);
#   2. the disassembly says what the machine means: hardware-reduced,
#      the sleep and reset registers, 4 LAPICs, the PIT override, COM1,
#      eight LNRO0005 devices with their memory and interrupts, \_S5;
#   3. iasl compiles the disassembly again without a warning, to the same
#      bytes (iasl writes 0, "no checksum", in a resource template's end
#      tag where we write the real checksum: the one difference allowed).
# The tables are those of `test-acpi --dump`: 4 CPUs, COM1 at 0x3f8 on
# IRQ 4, virtio-mmio slot i at 0xfeb00000 + i * 0x200 on GSI 16 + i.
. "$top_srcdir/tests/lib.sh"
need iasl

run_ok "$top_builddir/tests/unit/test-acpi" --dump "$T"
cd "$T" || fail "cannot enter $T"

for t in XSDT FACP APIC DSDT; do
    iasl -d "$t.dat" >"$t.dis.log" 2>&1 || fail "iasl -d $t.dat failed: $(cat "$t.dis.log")"
    if grep -Ei 'warning|error' "$t.dis.log"; then
        fail "iasl -d $t.dat complained (above)"
    fi
    [ -s "$t.dsl" ] || fail "iasl -d wrote no $t.dsl"
done

has() {     # has FILE COUNT EXTENDED-REGEX
    _n=$(grep -cE "$3" "$1")
    [ "$_n" = "$2" ] || fail "$1: $_n lines match '$3', expected $2"
}
has FACP.dsl 1 'Hardware Reduced \(V5\) : 1'
has FACP.dsl 1 'Reset Register Supported \(V2\) : 1'
has FACP.dsl 1 'FADT Minor Revision : 03'
has FACP.dsl 3 'Space ID : 01 \[SystemIO\]'
has FACP.dsl 1 'Address : 0000000000000CF9'
has FACP.dsl 1 'Value to cause reset : 06'
has FACP.dsl 1 'Address : 0000000000000600'
has FACP.dsl 1 'Address : 0000000000000601'
has FACP.dsl 1 'SCI Interrupt : 0000'
has APIC.dsl 4 'Subtable Type : 00 \[Processor Local APIC\]'
has APIC.dsl 1 'Subtable Type : 01 \[I/O APIC\]'
has APIC.dsl 1 'Subtable Type : 02 \[Interrupt Source Override\]'
has APIC.dsl 1 'Subtable Type : 04 \[Local APIC NMI\]'
has APIC.dsl 1 'Interrupt : 00000002'
has APIC.dsl 1 'PC-AT Compatibility : 1'
has DSDT.dsl 1 'Scope \(\\_SB\)'
has DSDT.dsl 4 'Name \(_HID, "ACPI0007"'
has DSDT.dsl 8 'Name \(_HID, "LNRO0005"\)'
has DSDT.dsl 8 'Interrupt \(ResourceConsumer, Level, ActiveHigh, Exclusive'
has DSDT.dsl 1 'Name \(_HID, EisaId \("PNP0501"\)'
has DSDT.dsl 2 '0x03F8,'
has DSDT.dsl 1 'Name \(\\_S5, Package \(0x04\)'
# each slot's memory range and interrupt, in order
i=0
awk '/Memory32Fixed/ { getline; b = $1 } /Interrupt \(ResourceConsumer/ { getline; getline; print b, $1 }' \
    DSDT.dsl >slots
while [ $i -lt 8 ]; do
    want=$(printf '0x%08X, 0x%08X,' $((0xfeb00000 + i * 0x200)) $((16 + i)))
    got=$(sed -n "$((i + 1))p" slots)
    [ "$got" = "$want" ] || fail "virtio slot $i: '$got', expected '$want'"
    i=$((i + 1))
done
[ "$(wc -l <slots)" -eq 8 ] || fail "$(wc -l <slots) memory/interrupt pairs in DSDT.dsl"
# \_S5's first element is SLP_TYP 5
sed -n '/Name (\\_S5/,/})/p' DSDT.dsl | sed -n 3p | grep -q '0x05' ||
    fail "\\_S5 does not start with 5: $(sed -n '/Name (\\_S5/,/})/p' DSDT.dsl)"

mkdir re
for t in XSDT FACP APIC DSDT; do
    # -oa: no namepath optimisation, so iasl emits what we emitted
    iasl -oa -p "re/$t" "$t.dsl" >"re/$t.log" 2>&1 || fail "iasl $t.dsl failed: $(cat "re/$t.log")"
    grep -q '0 Errors, 0 Warnings, 0 Remarks' "re/$t.log" ||
        fail "iasl $t.dsl: $(grep -E 'Errors|Warning|Error' "re/$t.log")"
    # the table bodies, past the 36-byte header (iasl names itself as creator)
    tail -c +37 "$t.dat" >ours
    tail -c +37 "re/$t.aml" >theirs
    [ "$(wc -c <ours)" -eq "$(wc -c <theirs)" ] ||
        fail "$t: $(wc -c <ours) bytes of body, iasl compiles $(wc -c <theirs)"
    od -An -v -tu1 ours | tr -s ' ' '\n' | grep . >ours.b
    cmp -l ours theirs >diffs || true
    # allowed: iasl's 0 for an end tag's checksum (the byte after 0x79)
    while read -r off a b; do
        prev=$(sed -n "$((off - 1))p" ours.b)
        [ "$b" = 0 ] && [ "$prev" = 121 ] ||
            fail "$t: byte $off of the body is $a (octal), iasl compiles $b"
    done <diffs
done
exit 0
