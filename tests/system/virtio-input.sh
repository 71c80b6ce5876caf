#!/bin/sh
# virtio-input.sh - Debian's kernel drives -device virtio-keyboard-device
# and -device virtio-tablet-device: its virtio_input and evdev modules
# (loaded by the initrd of scripts/riscv64-guest) give /dev/input/event*,
# and the VT's keyboard handler types into tty1.  The guest records what
# its two event devices deliver and runs a shell on tty1 whose output
# goes to the serial console; the host (tests/system/input-check.py)
# sends keys and tablet events through QMP input-send-event and HMP
# sendkey, hostile arguments (qemu's errors, nothing sent), toggles caps
# lock (the guest's VT sets the LED: the status queue brings it back,
# seen through the virtio_input_leds trace event), types a command and
# "exit", and then checks the guest's events: codes, values, the EV_SYN
# after each group, KEY_POWER from system_powerdown.
#
# EMU=qemu-system-riscv64 checks the test itself against the reference
# (without the power button and the range checks, which are ours).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/system/system.sh"
set -e
sys_guest

# qemu's virtio-mmio is legacy by default, and Linux drives virtio-input
# only as a modern device
# qemu has no trace event for the LEDs: the caps lock check is ours
legacy= qemu= leds="-trace virtio_input_leds"
case $EMU in
*qemu-system*) legacy="-global virtio-mmio.force-legacy=false" qemu=--qemu leds= ;;
esac

# The guest: find the keyboard's and the tablet's event devices by name,
# record both, read commands from tty1 until "exit" (at most 90 s), then
# print the records as "KEV|TEV type code value" (struct input_event on
# a 64-bit kernel: 16 bytes of time, u16 type, u16 code, s32 value).
script='for e in /sys/class/input/event*; do
    case $(cat $e/device/name) in
    *Keyboard*) kbd=${e##*/} ;;
    *Tablet*) tab=${e##*/} ;;
    esac
done
echo INPUT-KBD=$kbd
echo INPUT-TAB=$tab
cat /dev/input/$kbd >/tmp/k.bin & kc=$!
cat /dev/input/$tab >/tmp/t.bin & tc=$!
sh -c '"'"'while read -r l; do eval "$l"; done'"'"' </dev/tty1 >/dev/ttyS0 2>&1 & sh=$!
sleep 1
echo INPUT-READY
i=0; while kill -0 $sh 2>/dev/null && [ $i -lt 90 ]; do sleep 1; i=$((i+1)); done
kill $kc $tc
dump() { od -An -v -td2 -w24 "$2" | awk -v t=$1 "{ lo = \$11; if (lo < 0) lo += 65536; print t, \$9, \$10, lo + \$12 * 65536 }"; }
dump KEV /tmp/k.bin
dump TEV /tmp/t.bin'
set +e
SYS_ARGS="$legacy $leds -device virtio-keyboard-device -device virtio-tablet-device
    -qmp unix:$T/qmp.sock,server=on,wait=off"
(SYS_ARGS=$SYS_ARGS sys_linux 1 "quiet -- $(sys_b64 "$script")") >"$T/input.log" 2>&1 </dev/null &
pid=$!
python3 "$top_srcdir/tests/system/input-check.py" "$T/qmp.sock" "$T/input.log" $qemu
rc=$?
sys_wait_exit $pid 60
set -e
[ $rc = 0 ] || { tail -30 "$T/input.log" >&2; fail "the input checks failed"; }
sys_check_run input
[ -n "$(sys_val input INPUT-KBD)" ] || fail "the guest has no keyboard event device"
echo "Linux's virtio_input on a virtio keyboard and tablet: ok"
