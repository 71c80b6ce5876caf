#!/bin/sh
# virtio-blk.sh - disks through virtio-blk, with Debian's kernel and the
# busybox guest (scripts/riscv64-guest):
#   1. raw: what the guest writes is on the host file byte for byte, and
#      what the host wrote the guest reads;
#   2. qcow2 over a raw backing file: the base stays untouched, the
#      overlay holds the guest's data (emu-img and qemu-img compare agree,
#      qemu-img check is clean);
#   3. -snapshot: the guest reads back its writes, the image stays as it was;
#   4. readonly=on: the disk is read-only in the guest, writes fail;
#   5. discard=unmap: blkdiscard frees the qcow2 clusters;
#   6. SIGKILL of the emulator in the middle of guest writes to a qcow2
#      image: qemu-img check finds at most leaked clusters;
#   7. virtio-rng: /dev/hwrng gives bytes;
#   8. image locks as qemu's: while one emulator writes an image, a second
#      one (emu or qemu) and qemu-img refuse to open it.
#
# EMU=qemu-system-riscv64 checks the test itself against the reference.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/system/system.sh"
need qemu-img
set -e
sys_guest
[ -x "$EMU_IMG" ] || fail "$EMU_IMG was not built"

# boot LABEL SCRIPT: run the guest with $SYS_ARGS, SCRIPT as its commands;
# the log without carriage returns in $T/LABEL.txt
boot() {
    set +e
    (sys_linux 1 "quiet -- $(sys_b64 "$2")") >"$T/$1.log" 2>&1 </dev/null &
    _pid=$!
    sys_wait_exit $_pid "$SYS_TIMEOUT"
    set -e
    sys_check_run "$1"
}
md5() {   # md5 FILE OFFSET LENGTH (bytes, multiples of 4096)
    dd if="$1" bs=4096 skip=$(($2 / 4096)) count=$(($3 / 4096)) 2>/dev/null | md5sum | cut -d' ' -f1
}

# The guest's data: 1 MiB of text, the same on both sides.
seq 1 200000 | head -c 1048576 >"$T/pattern"
pmd5=$(md5sum <"$T/pattern" | cut -d' ' -f1)
gen='seq 1 200000 | head -c 1048576 >/tmp/p'

# 1. raw: the guest writes at 1 MiB, reads what the host put at 8 MiB
head -c 16M /dev/urandom >"$T/raw.img"
hmd5=$(md5 "$T/raw.img" 8388608 1048576)
SYS_ARGS="-drive file=$T/raw.img,format=raw,if=virtio"
boot raw "$gen; echo SIZE=\$(cat /sys/block/vda/size)
dd if=/tmp/p of=/dev/vda bs=4096 seek=256 conv=fsync 2>/dev/null; echo WRITE=\$?
echo HOST=\$(dd if=/dev/vda bs=4096 skip=2048 count=256 2>/dev/null | md5sum)"
[ "$(sys_val raw SIZE)" = 32768 ] || fail "raw: the guest sees $(sys_val raw SIZE) sectors, want 32768"
[ "$(sys_val raw WRITE)" = 0 ] || fail "raw: the guest's write failed"
[ "$(sys_val raw HOST)" = "$hmd5 -" ] || fail "raw: the guest read $(sys_val raw HOST), the host wrote $hmd5"
[ "$(md5 "$T/raw.img" 1048576 1048576)" = "$pmd5" ] || fail "raw: the host file does not hold the guest's data"
echo "raw: guest writes reach the file, host data reaches the guest: ok"

# 2. qcow2 over a raw base
cp "$T/raw.img" "$T/base.img"
bmd5=$(md5sum <"$T/base.img")
qemu-img create -q -f qcow2 -b "$T/base.img" -F raw "$T/over.qcow2"
SYS_ARGS="-drive file=$T/over.qcow2,format=qcow2,if=virtio,cache=none"
boot qcow2 "$gen; dd if=/tmp/p of=/dev/vda bs=4096 seek=256 conv=fsync 2>/dev/null; echo WRITE=\$?
echo HOST=\$(dd if=/dev/vda bs=4096 skip=2048 count=256 2>/dev/null | md5sum)"
[ "$(sys_val qcow2 WRITE)" = 0 ] || fail "qcow2: the guest's write failed"
[ "$(sys_val qcow2 HOST)" = "$hmd5 -" ] || fail "qcow2: the guest does not read the backing file's data"
[ "$(md5sum <"$T/base.img")" = "$bmd5" ] || fail "qcow2: the backing file changed"
# what the disk must now hold: the base with the pattern at 1 MiB
cp "$T/base.img" "$T/want.img"
dd if="$T/pattern" of="$T/want.img" bs=4096 seek=256 conv=notrunc 2>/dev/null
"$EMU_IMG" compare -q "$T/over.qcow2" "$T/want.img" || fail "qcow2: emu-img compare: the disk is not what the guest wrote"
qemu-img compare -q "$T/over.qcow2" "$T/want.img" || fail "qcow2: qemu-img compare: the disk is not what the guest wrote"
qemu-img check -q "$T/over.qcow2" || fail "qcow2: qemu-img check finds errors"
echo "qcow2 with a backing file: data in the overlay, base untouched, both compares agree: ok"

# 3. -snapshot
omd5=$(md5sum <"$T/over.qcow2")
SYS_ARGS="-drive file=$T/over.qcow2,format=qcow2,if=virtio -snapshot"
boot snap "dd if=/dev/zero of=/dev/vda bs=4096 seek=256 count=256 conv=fsync 2>/dev/null
echo BACK=\$(dd if=/dev/vda bs=4096 skip=256 count=256 2>/dev/null | md5sum)"
zmd5="$(head -c 1048576 /dev/zero | md5sum | cut -d' ' -f1) -"
[ "$(sys_val snap BACK)" = "$zmd5" ] || fail "-snapshot: the guest does not read back its write"
[ "$(md5sum <"$T/over.qcow2")" = "$omd5" ] || fail "-snapshot: the image changed"
echo "-snapshot: the guest sees its writes, the image is untouched: ok"

# 4. readonly=on
SYS_ARGS="-drive file=$T/raw.img,format=raw,if=virtio,readonly=on"
rmd5=$(md5sum <"$T/raw.img")
boot ro "echo RO=\$(cat /sys/block/vda/ro)
dd if=/dev/zero of=/dev/vda bs=4096 count=1 conv=fsync 2>/dev/null; echo WRITE=\$?"
[ "$(sys_val ro RO)" = 1 ] || fail "readonly=on: the guest's disk is not read-only"
[ "$(sys_val ro WRITE)" != 0 ] || fail "readonly=on: a guest write succeeded"
[ "$(md5sum <"$T/raw.img")" = "$rmd5" ] || fail "readonly=on: the image changed"
echo "readonly=on: read-only in the guest, image untouched: ok"

# 5. discard: 4 MiB written, then discarded
qemu-img create -q -f qcow2 "$T/disc.qcow2" 16M
SYS_ARGS="-drive file=$T/disc.qcow2,format=qcow2,if=virtio,discard=unmap"
boot disc "dd if=/dev/urandom of=/dev/vda bs=1M count=4 conv=fsync 2>/dev/null
echo BEFORE=\$(dd if=/dev/vda bs=1M count=4 2>/dev/null | md5sum)
blkdiscard -o 0 -l 2097152 /dev/vda; echo DISCARD=\$?; sync
echo AFTER=\$(dd if=/dev/vda bs=1M skip=2 count=2 2>/dev/null | md5sum)"
[ "$(sys_val disc DISCARD)" = 0 ] || fail "discard: blkdiscard failed in the guest"
[ "$(sys_val disc AFTER)" != "$zmd5" ] || fail "discard: the guest lost the data it did not discard"
data=$(qemu-img map --output=json "$T/disc.qcow2" |
    awk -F'[,:]' '/"zero": false, "data": true/ { for (i = 1; i < NF; i++) if ($i ~ /"length"/) s += $(i + 1) } END { print s + 0 }')
# (qemu keeps the clusters as preallocated zero clusters, we free them)
[ "$data" -le 2097152 ] || fail "discard: $data bytes of data left after discarding 2 of 4 MiB"
qemu-img check -q "$T/disc.qcow2" || fail "discard: qemu-img check finds errors"
echo "discard=unmap: clusters freed ($data bytes of data left): ok"

# 6. SIGKILL during guest writes
qemu-img create -q -f qcow2 "$T/kill.qcow2" 64M
SYS_ARGS="-drive file=$T/kill.qcow2,format=qcow2,if=virtio"
set +e
(sys_linux 1 "quiet -- $(sys_b64 'echo WRITING; i=0; while :; do dd if=/dev/urandom of=/dev/vda bs=64k seek=$(( (i * 37) % 1000 )) count=4 conv=fsync 2>/dev/null; i=$((i + 1)); done')") \
    >"$T/kill.log" 2>&1 </dev/null &
pid=$!
set -e
sys_wait_for "$T/kill.log" "^WRITING" "$SYS_TIMEOUT" || { kill -9 $pid; fail "kill: the guest never started writing"; }
sleep 2
kill -9 $pid
wait $pid 2>/dev/null || true
set +e
qemu-img check "$T/kill.qcow2" >"$T/check.txt" 2>&1
rc=$?
set -e
case $rc in
0|3) ;;
*) cat "$T/check.txt" >&2; fail "SIGKILL during writes: qemu-img check exits $rc (corruption)" ;;
esac
echo "SIGKILL during guest writes: qemu-img check exits $rc (0 clean, 3 leaks only): ok"

# 7. virtio-rng
SYS_ARGS="-device virtio-rng-device"
boot rng 'echo RNG=$(cat /sys/class/misc/hw_random/rng_current); echo BYTES=$(head -c 4096 /dev/hwrng | wc -c)'
case $(sys_val rng RNG) in virtio_rng*) ;; *) fail "virtio-rng: the guest's hwrng is '$(sys_val rng RNG)'" ;; esac
[ "$(sys_val rng BYTES)" = 4096 ] || fail "virtio-rng: /dev/hwrng gave $(sys_val rng BYTES) bytes of 4096"
echo "virtio-rng: /dev/hwrng gives bytes: ok"

# 8. locks: the first emulator holds the image (-S: no CPU runs)
qemu-img create -q -f qcow2 "$T/lock.qcow2" 16M
"$EMU" -M virt -bios none -nographic -S -drive file="$T/lock.qcow2",format=qcow2,if=virtio \
    </dev/null >"$T/lock1.log" 2>&1 &
pid=$!
for i in $(seq 1 50); do
    qemu-img info "$T/lock.qcow2" >/dev/null 2>&1 || break
    sleep 0.1
done
for second in "$EMU" qemu-system-riscv64; do
    set +e
    "$second" -M virt -bios none -nographic -S -drive file="$T/lock.qcow2",format=qcow2,if=virtio \
        </dev/null >"$T/lock2.log" 2>&1
    rc=$?
    set -e
    [ "$rc" != 0 ] && grep -qi "lock" "$T/lock2.log" ||
        { kill -9 $pid; cat "$T/lock2.log" >&2; fail "lock: $second opened an image another emulator writes"; }
done
qemu-img info "$T/lock.qcow2" >"$T/info.log" 2>&1 &&
    { kill -9 $pid; fail "lock: qemu-img info opened an image being written"; }
kill -TERM $pid
wait $pid || true
qemu-img info "$T/lock.qcow2" >/dev/null || fail "lock: the lock stays after the emulator ended"
echo "image locks: a second emulator (emu, qemu) and qemu-img are refused while one writes: ok"
exit 0
