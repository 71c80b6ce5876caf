#!/bin/sh
# nbd-export.sh - a running machine's disks over NBD (nbd-server-start,
# nbd-server-add, block-export-add/-del, the HMP commands): the guest
# overwrites its disks (raw; qcow2 over a raw backing file) without pause
# while nbdcopy, qemu-img and nbdinfo read point-in-time exports of them,
# and every copy equals the disk at the moment of its export; see
# nbd-export.py for the checks.
#
# qemu's nbd-server-add exports the live disk, not a moment: this test is
# for emu only (EMU=qemu-system-riscv64 skips it).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/system/system.sh"
need qemu-img nbdcopy nbdinfo
set -e
case $EMU in
*qemu-system*) skip "qemu exports live disks, not point-in-time views" ;;
esac
sys_guest

# Sizes not a multiple of the 64 KiB copy-before-write cluster: the last
# partial cluster is written and exported too.
size=$((32 * 1024 * 1024 + 12 * 1024))
head -c $size /dev/urandom >"$T/raw.img"
head -c $size /dev/urandom >"$T/base.img"
qemu-img create -q -f qcow2 -b "$T/base.img" -F raw "$T/over.qcow2"
bmd5=$(md5sum <"$T/base.img")

# The guest: random data at spread offsets of both disks, whole and
# partial clusters, the last sectors too, forever (the test quits it).
last=$((size / 4096 - 1))
script="echo WRITING; i=0
while :; do
  for d in /dev/vda /dev/vdb; do
    dd if=/dev/urandom of=\$d bs=4096 seek=\$(( (i * 389) % $last )) count=\$(( i % 17 + 1 )) conv=fsync 2>/dev/null
  done
  dd if=/dev/urandom of=/dev/vda bs=4096 seek=$last count=1 conv=fsync 2>/dev/null
  i=\$((i + 1))
done"

SYS_ARGS="-drive file=$T/raw.img,format=raw,if=virtio,id=disk0
 -drive file=$T/over.qcow2,format=qcow2,if=virtio,id=disk1 -qmp unix:$T/qmp.sock,server=on,wait=off"
(sys_linux 1 "quiet -- $(sys_b64 "$script")") >"$T/guest.log" 2>&1 </dev/null &
pid=$!
cleanup_add "kill -9 $pid"
sys_wait_for "$T/guest.log" '^WRITING' 120 || { tail -20 "$T/guest.log" >&2; fail "the guest did not start writing"; }

python3 "$top_srcdir/tests/system/nbd-export.py" "$T/qmp.sock" "$T" || {
    tail -20 "$T/guest.log" >&2
    fail "nbd-export.py failed"
}
sys_wait_exit $pid 60 || fail "the emulator did not quit"
[ "$sys_status" = 0 ] || { tail -20 "$T/guest.log" >&2; fail "the emulator exited with $sys_status"; }
! grep -qi 'sanitizer\|assert' "$T/guest.log" || fail "the emulator complained at exit"
[ "$(md5sum <"$T/base.img")" = "$bmd5" ] || fail "the backing file changed"
qemu-img check -q "$T/over.qcow2" || fail "qemu-img check finds errors in the overlay"
echo "the backing file is untouched and the overlay is clean: ok"
