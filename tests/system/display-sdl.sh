#!/bin/sh
# display-sdl.sh - -display sdl on an X server of its own (Xvfb, with
# evilwm as window manager), driven by tests/system/sdl-check.py:
# - the window shows what the guest drew: a screenshot equals the QMP
#   screendump where the guest wrote its lines;
# - keys typed into it reach a shell on the guest's VT (virtio-keyboard);
# - the pointer reaches its virtio-tablet at the same guest pixel whether
#   the window is at 1:1 or scaled (Ctrl-Alt-U brings 1:1 back); the
#   pointer looks as the guest's virtio-gpu cursor;
# - Ctrl-Alt-F fills the screen and comes back; Ctrl-Alt-2 shows a second
#   virtio-gpu, Ctrl-Alt-3 the monitor's text console, where typed
#   commands run; the title follows -name and stop/cont;
# - an idle guest costs no present and no upload;
# - closing the window asks for a powerdown (QMP POWERDOWN), a second
#   close quits;
# - a relative mouse (virtio-mouse) is grabbed by a click;
# - without -serial and -monitor both go to text consoles in the window;
# - without an X display the emulator says so and exits 1.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/system/system.sh"
set -e
case $EMU in
*qemu-system*) skip "the checks are of emu's window (its counters, messages, text font)" ;;
esac
grep -q "^#define HAVE_SDL2 1" "$top_builddir/config.h" ||
    skip "this build has no SDL2 (configure found no libsdl2-dev)"
need Xvfb xdotool evilwm
ls /usr/share/consolefonts/*.psf* >/dev/null 2>&1 ||
    fail "no console font in /usr/share/consolefonts, but README's test command installs console-setup-linux"
# SDL's libraries (D-Bus, Mesa's drivers, which are unloaded by then)
# keep memory until exit that LeakSanitizer reports and no suppression
# can name: no leak check in the sanitizer build here.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
export ASAN_OPTIONS
# python3-xlib is Debian's: the python3 in PATH may be another one
PY=
for p in python3 /usr/bin/python3; do
    if "$p" -c "import Xlib" 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || fail "no python3 with Xlib, but README's test command installs python3-xlib"

# No display: one clear line, exit 1.
set +e
env -u DISPLAY -u WAYLAND_DISPLAY -u SDL_VIDEODRIVER "$EMU" -M virt -bios none -S \
    -display sdl </dev/null >"$T/nodisp.log" 2>&1
rc=$?
set -e
[ $rc = 1 ] && grep -q "^.*-display sdl: cannot open a window: .*; is DISPLAY set?$" \
    "$T/nodisp.log" || { cat "$T/nodisp.log" >&2; fail "without DISPLAY: exit $rc"; }
echo "no X display: '$(cat "$T/nodisp.log")', exit 1: ok"

sys_guest

# A guest program that sets a pointer image on the first virtio-gpu.
riscv64-linux-gnu-gcc -static -O2 -o "$T/drm-cursor" "$top_srcdir/tests/system/drm-cursor.c" ||
    fail "cannot build drm-cursor.c"
cursor_size=$(wc -c <"$T/drm-cursor")

# An X server on a free display number (Xvfb picks it and tells us when
# it is ready).
Xvfb -displayfd 3 -screen 0 1600x1200x24 -nolisten tcp 3>"$T/xdisplay" \
    >"$T/xvfb.log" 2>&1 </dev/null &
xpid=$!
cleanup_add "kill $xpid"
i=0
while [ ! -s "$T/xdisplay" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$T/xdisplay" ] || { cat "$T/xvfb.log" >&2; fail "Xvfb did not start"; }
DISPLAY=:$(cat "$T/xdisplay")
export DISPLAY
# A window manager: full screen is a request to it (EWMH), as on any
# desktop.  evilwm's own keys are moved off Ctrl-Alt (ours) onto Super;
# "fixed" is the X server's built-in font.
evilwm --fn fixed --mask1 mod4 >"$T/wm.log" 2>&1 </dev/null &
wmpid=$!
cleanup_add "kill $wmpid"

# The guest: its lines on the frame buffer console (no blinking cursor,
# as in virtio-gpu.sh), a script for the host to type (/tmp/s2: show
# tty2, which fbcon=map:01 puts on the second virtio-gpu, 800x600, and
# write lines there), tests/system/drm-cursor.c (a red pointer image on
# the first virtio-gpu), then a shell reading the VT's keyboard whose
# output goes both to the VT and to the serial port (the host reads the
# answer there), and the tablet's events on the serial port, a line of
# twelve numbers each (od's 16-bit words: time, type, code, value).  It
# waits for the host to close the window.
script='echo 0 >/sys/class/graphics/fbcon/cursor_blink
printf "\033[?25l\033[2J\033[H" >/dev/tty0
i=0; while [ $i -lt 20 ]; do echo "EMU sdl line $i ================" >/dev/tty0; i=$((i+1)); done
cat >/tmp/s2 <<EOF
chvt 2
printf "\\033[?25l" >/dev/tty2
for i in 0 1 2 3 4; do echo "EMU second screen line \$i ======" >/dev/tty2; done
echo SECOND-READY
EOF
(sh </dev/tty1 2>&1 | tee /dev/ttyS0 >/dev/tty1) &
dd if=/dev/vda bs=4096 skip=1 2>/dev/null | head -c '"$cursor_size"' >/tmp/cur
chmod +x /tmp/cur; /tmp/cur >/dev/ttyS0 2>&1 &
for e in /sys/class/input/event*; do
    case $(cat $e/device/name) in *Tablet*) tab=${e##*/} ;; esac
done
# one open of the event device for all reads: each open has its own queue
(exec 3</dev/input/$tab
 while :; do dd bs=24 count=1 <&3 2>/dev/null | od -An -v -td2 -w24; done >/dev/ttyS0) &
echo SDL-READY
sleep 600'
# Too long for the kernel's command line: the script goes on a disk, in
# its first 4 KiB, drm-cursor after it.
printf '%s\n' "$script" >"$T/script.sh"
[ "$(wc -c <"$T/script.sh")" -lt 4096 ] || fail "the guest script is longer than 4 KiB"
dd if="$T/script.sh" of="$T/guest.img" bs=4096 count=1 conv=sync 2>/dev/null
dd if="$T/drm-cursor" of="$T/guest.img" bs=4096 seek=1 2>/dev/null
truncate -s 1M "$T/guest.img"
boot='dd if=/dev/vda bs=4096 count=1 2>/dev/null | tr -d "\000" >/tmp/s.sh; . /tmp/s.sh'
mkdir -p "$T/dumps"
set +e
"$EMU" -M virt -m 256M -smp 1 -bios "$GUEST/fw_dynamic.bin" -kernel "$GUEST/Image" \
    -initrd "$GUEST/initrd.cpio.gz" -name sdltest -display sdl -serial stdio \
    -device virtio-gpu-device -device virtio-gpu-device,id=g2,xres=800,yres=600 \
    -device virtio-keyboard-device -device virtio-tablet-device \
    -drive "file=$T/guest.img,format=raw,if=none,id=d1" -device virtio-blk-device,drive=d1 \
    -qmp "unix:$T/qmp.sock,server=on,wait=off" \
    -append "console=ttyS0 fbcon=map:01 -- $(sys_b64 "$boot")" </dev/null >"$T/sdl.log" 2>&1 &
pid=$!
"$PY" "$top_srcdir/tests/system/sdl-check.py" "$T/qmp.sock" "$T/sdl.log" "$T/dumps" sdltest
rc=$?
sys_wait_exit $pid 30
set -e
[ $rc = 0 ] || { tail -20 "$T/sdl.log" >&2; fail "the window checks failed"; }
[ "$sys_status" = 0 ] || { tail -20 "$T/sdl.log" >&2; fail "exit status '$sys_status' after the second close"; }
echo "the emulator exited 0 after the second close: ok"

# A relative mouse only (no tablet): grabs.
script='for e in /sys/class/input/event*; do
    case $(cat $e/device/name) in *Mouse*) ms=${e##*/} ;; esac
done
(exec 3</dev/input/$ms
 while :; do dd bs=24 count=1 <&3 2>/dev/null | od -An -v -td2 -w24; done >/dev/ttyS0) &
echo SDL-READY
sleep 600'
set +e
"$EMU" -M virt -m 256M -smp 1 -bios "$GUEST/fw_dynamic.bin" -kernel "$GUEST/Image" \
    -initrd "$GUEST/initrd.cpio.gz" -name sdlmouse -display sdl -serial stdio \
    -device virtio-gpu-device -device virtio-keyboard-device -device virtio-mouse-device \
    -qmp "unix:$T/qmp2.sock,server=on,wait=off" \
    -append "console=ttyS0 -- $(sys_b64 "$script")" </dev/null >"$T/mouse.log" 2>&1 &
pid=$!
"$PY" "$top_srcdir/tests/system/sdl-check.py" "$T/qmp2.sock" "$T/mouse.log" sdlmouse --mouse
rc=$?
sys_wait_exit $pid 30
set -e
[ $rc = 0 ] || { tail -20 "$T/mouse.log" >&2; fail "the relative mouse checks failed"; }
echo "the relative mouse run: ok"

# The serial port and the monitor on text consoles by default (as qemu).
set +e
"$EMU" -M virt -m 64M -bios "$GUEST/fw_dynamic.bin" -name sdlvc -display sdl \
    </dev/null >"$T/vc.log" 2>&1 &
pid=$!
"$PY" "$top_srcdir/tests/system/sdl-check.py" sdlvc --vc
rc=$?
sys_wait_exit $pid 20
set -e
[ $rc = 0 ] || { cat "$T/vc.log" >&2; fail "the text console checks failed"; }
[ "$sys_status" = 0 ] || { cat "$T/vc.log" >&2; fail "'quit' typed on the monitor's console: exit status '$sys_status'"; }
echo "'quit' typed on the monitor's text console: the emulator exits 0: ok"
