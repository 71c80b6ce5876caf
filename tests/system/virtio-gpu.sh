#!/bin/sh
# virtio-gpu.sh - Debian's kernel drives -device virtio-gpu-device: its
# virtio_gpu module (loaded by the initrd of scripts/riscv64-guest) brings
# up a frame buffer and fbcon shows the console on it.  The guest writes
# 20 lines on /dev/tty0; QMP screendumps (tests/system/gpu-check.py) must
# decode as PNG, have the guest's mode size and show the lines; an idle
# guest must cost no display frames; after the guest clears its screen a
# second dump differs.  savevm and loadvm keep the screen.  A machine
# without a display answers screendump with qemu's error.
#
# EMU=qemu-system-riscv64 checks the test itself against the reference
# (without the statistics, which are ours).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/system/system.sh"
set -e
case $EMU in
*qemu-system*) ;;
*) grep -q "^#define HAVE_LIBPNG 1" "$top_builddir/config.h" ||
    skip "this build has no libpng (configure found no libpng-dev): no PNG screendumps" ;;
esac
sys_guest

# qemu's virtio-mmio is legacy by default, and Linux drives virtio-gpu
# only as a modern device
stats= legacy= name="-name gpu1"
case $EMU in
*qemu-system*) stats=--no-stats legacy="-global virtio-mmio.force-legacy=false" name= ;;
esac

# The guest: hide the VT cursor and stop its blinking (else fbcon redraws
# it five times a second), clear, write the lines, wait for the host's
# dumps, clear again.
script='echo 0 >/sys/class/graphics/fbcon/cursor_blink
printf "\033[?25l\033[2J\033[H" >/dev/tty0
i=0; while [ $i -lt 20 ]; do echo "EMU virtio-gpu line $i ================" >/dev/tty0; i=$((i+1)); done
echo GPU-MODE=$(cat /sys/class/graphics/fb0/virtual_size)
echo GPU-READY
sleep 12
printf "\033[2J" >/dev/tty0
echo GPU-CLEARED
sleep 15'
mkdir -p "$T/dumps"
set +e
SYS_ARGS="$legacy $name -device virtio-gpu-device -qmp unix:$T/qmp.sock,server=on,wait=off"
(SYS_ARGS=$SYS_ARGS sys_linux 1 "-- $(sys_b64 "$script")") >"$T/gpu.log" 2>&1 </dev/null &
pid=$!
python3 "$top_srcdir/tests/system/gpu-check.py" "$T/qmp.sock" "$T/gpu.log" "$T/dumps" \
    1280 800 $stats
rc=$?
if [ $rc = 0 ] && [ -n "$name" ]; then
    # the front end, while the guest still sleeps: a relative FILE is the
    # user's, not the machine's working directory
    (cd "$T" && "$top_builddir/emu" screendump gpu1 front.png &&
        "$top_builddir/emu" screendump gpu1 front.ppm --format=ppm) ||
        { rc=1; echo "emu screendump failed"; }
    head -c 8 "$T/front.png" | od -An -tx1 | grep -q "89 50 4e 47 0d 0a 1a 0a" ||
        { rc=1; echo "emu screendump: front.png is no PNG"; }
    [ "$(head -c 2 "$T/front.ppm")" = P6 ] || { rc=1; echo "emu screendump: front.ppm is no PPM"; }
    set +e
    "$top_builddir/emu" screendump gpu1 x.png --format=gif 2>"$T/gif.err"
    [ $? = 2 ] && grep -q "gif" "$T/gif.err" || { rc=1; echo "emu screendump --format=gif"; }
    set -e
    [ $rc = 0 ] && echo "emu screendump NAME FILE (png, ppm, a bad format): ok"
fi
sys_wait_exit $pid "$SYS_TIMEOUT"
set -e
[ $rc = 0 ] || { tail -20 "$T/gpu.log" >&2; fail "the screendump checks failed"; }
sys_check_run gpu
[ "$(sys_val gpu GPU-MODE)" = "1280,800" ] ||
    fail "the guest's frame buffer is $(sys_val gpu GPU-MODE), want 1280,800"
grep -q "virtio_gpudrmfb frame buffer device" "$T/gpu.txt" || fail "no virtio-gpu frame buffer"
echo "Linux's virtio_gpu and fbcon on -device virtio-gpu-device: ok"

# savevm keeps the screen: loadvm after the guest cleared it brings the
# lines back (not against qemu 7.2, whose riscv guest stands still after
# loadvm)
if [ -z "$stats" ]; then
    "$EMU_IMG" create -q -f qcow2 "$T/disk.qcow2" 16M
    script2='echo 0 >/sys/class/graphics/fbcon/cursor_blink
printf "\033[?25l\033[2J\033[H" >/dev/tty0
i=0; while [ $i -lt 20 ]; do echo "EMU virtio-gpu line $i ================" >/dev/tty0; i=$((i+1)); done
echo GPU-READY
sleep 8
printf "\033[2J" >/dev/tty0
echo GPU-CLEARED
sleep 30'
    set +e
    SYS_ARGS="-device virtio-gpu-device -drive file=$T/disk.qcow2,if=none,id=d0
        -device virtio-blk-device,drive=d0 -qmp unix:$T/q3.sock,server=on,wait=off"
    (SYS_ARGS=$SYS_ARGS sys_linux 1 "-- $(sys_b64 "$script2")") >"$T/svm.log" 2>&1 \
        </dev/null &
    pid=$!
    python3 "$top_srcdir/tests/system/gpu-check.py" "$T/q3.sock" --savevm "$T/svm.log" "$T/dumps"
    rc=$?
    sys_wait_exit $pid 30
    set -e
    [ $rc = 0 ] || { tail -20 "$T/svm.log" >&2; fail "savevm/loadvm with virtio-gpu"; }
fi

# No display: qemu's message.
set +e
"$EMU" -M virt -nographic -bios none -S -qmp "unix:$T/q2.sock,server=on,wait=off" \
    >"$T/nodisp.log" 2>&1 </dev/null &
pid=$!
set -e
python3 "$top_srcdir/tests/system/gpu-check.py" "$T/q2.sock" --no-display "$T/dumps" \
    >"$T/nodisp.out" 2>&1 ||
    { cat "$T/nodisp.out" "$T/nodisp.log" >&2; kill -9 $pid 2>/dev/null;
      fail "no display: the QMP session failed"; }
sys_wait_exit $pid 30 || fail "no display: the emulator did not quit"
cat "$T/nodisp.out"
