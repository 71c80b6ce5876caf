#!/bin/sh
# run-in-testbed.sh - run lib/kvm's probe (tests/kvm/test-kvm) on a machine
# with a real /dev/kvm: ../shared/tools/kvm-testbed's guest (KVM on an
# emulated AMD SVM CPU), when this machine has none of its own.
#
#   top_builddir=BUILD sh tests/kvm/run-in-testbed.sh [boot]
#
# With "boot" it also boots Debian's amd64 bzImage (the testbed's own, from
# its cache) with hw/x86's loader, hw/uart16550.c on port 0x3f8 and a
# busybox initramfs whose /init prints a line and resets the machine
# (reboot=t: a triple fault, which ends the run).  Everything runs many
# times slower there: allow a minute or two.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

probe="$top_builddir/tests/kvm/test-kvm"
[ -x "$probe" ] || fail "build tests/kvm/test-kvm first (make tests/kvm/test-kvm)"
probe=$(cd "$(dirname "$probe")" && pwd)/test-kvm
testbed=${KVM_TESTBED:-$(cd "$top_srcdir/.." && pwd)/shared/tools/kvm-testbed}
[ -x "$testbed" ] || skip "no kvm-testbed at $testbed"
command -v qemu-system-x86_64 >/dev/null ||
    skip "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"

cd "$T" || fail "cannot enter $T"
cache=${KVM_TESTBED_CACHE:-$HOME/.cache/kvm-testbed}
if [ "${1:-}" = boot ]; then
    # The testbed fills its cache on first use; make sure it has.
    [ -f "$cache/ready" ] || "$testbed" -t 120 true >/dev/null 2>&1 || true
    [ -x "$cache/root/bin/busybox" ] || skip "no busybox in $cache (kvm-testbed failed?)"
    need cpio gzip
    mkdir -p ird/bin ird/proc ird/dev
    cp "$cache/root/bin/busybox" ird/bin/busybox
    mknod ird/dev/console c 5 1 2>/dev/null || true     # (as root: init's stdio at once)
    cat > ird/init <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev && exec >/dev/console 2>&1
echo "EMU-INIT: $(uname -sr) up $(cut -d' ' -f1 /proc/uptime) s, $(grep -c ^processor /proc/cpuinfo) CPU"
reboot -f
INIT
    chmod +x ird/init
    (cd ird && find . | cpio -o -H newc 2>/dev/null | gzip -1) > initrd.gz ||
        fail "cannot build the initramfs"
    # The ELF vmlinux inside the bzImage (setup header: payload_offset and
    # payload_length from the protected-mode kernel's start; xz in Debian's),
    # for the PVH entry.
    need xz od
    k=$(ls "$cache"/root/boot/vmlinuz-* | head -n 1)
    sects=$(od -An -tu1 -j $((0x1f1)) -N1 "$k" | tr -d ' ')
    [ "$sects" != 0 ] || sects=4
    set -- boot $(od -An -tu4 -j $((0x248)) -N8 "$k")
    # (xz complains after writing every byte: the payload ends with the
    # 4-byte decompressed size after the xz stream, which xz reads as the
    # start of a second stream; the ELF is whole)
    tail -c +$(( (sects + 1) * 512 + $2 + 1 )) "$k" | head -c "$3" | xz -dc > vmlinux 2>/dev/null
    [ "$(head -c 4 vmlinux | od -An -c | tr -d ' ')" = '177ELF' ] ||
        fail "cannot extract vmlinux from $k"
    set -- boot
fi
# The probe and the bzImage boot in one testbed, the PVH boot in a fresh
# one: with both boots in one testbed its own kernel once locked up (soft
# lockups on both of its CPUs as the PVH guest started; cause not found,
# the PVH boot alone passed every time).  Each testbed runs one script,
# whose status comes back.
cat > run.sh <<SCRIPT
set -e
echo "== the probe, on \$(uname -r) with \$(ls -l /dev/kvm)"
"$probe"
if [ "${1:-}" = boot ]; then
    k=\$(ls $cache/root/boot/vmlinuz-* | head -n 1)
    echo "== boot \$k with a busybox initramfs"
    EMU_KVM_SERIAL=file:$T/boot.out "$probe" boot "\$k" "$T/initrd.gz" \\
        ${EMU_KVM_BOOT_SECONDS:-90} </dev/null || true
    head -n 8 boot.out
    echo "== ... its last lines:"
    tail -n 8 boot.out
    echo
    grep -q "Linux version" boot.out
    grep -q "^EMU-INIT: Linux" boot.out
fi
SCRIPT
cat > pvh.sh <<SCRIPT
echo "== boot the ELF vmlinux inside it through the PVH entry"
EMU_KVM_SERIAL=file:$T/pvh.out "$probe" boot "$T/vmlinux" "$T/initrd.gz" \\
    ${EMU_KVM_BOOT_SECONDS:-90} </dev/null || true
grep "^EMU-INIT: Linux" pvh.out
SCRIPT
"$testbed" -t 240 sh "$T/run.sh"
status=$?
if [ $status -eq 0 ] && [ "${1:-}" = boot ]; then
    "$testbed" -t 180 sh "$T/pvh.sh"
    status=$?
fi
case $status in
    0) echo "PASS: the probe${1:+ and the boots} passed in the kvm-testbed" ;;
    77) fail "the probe skipped inside the testbed: no /dev/kvm there either" ;;
    124) fail "the testbed timed out" ;;
    125) skip "the kvm-testbed itself failed (see above)" ;;
    *) fail "the probe failed in the kvm-testbed (status $status)" ;;
esac
