#!/bin/sh
# display-curses.sh - -display curses in a terminal: emu-system-riscv64
# runs in a detached tmux session of fixed size (on a tmux socket of our
# own, never the user's), and `tmux capture-pane` reads what it shows.
#
#   - the serial port is the first console: the guest's marker, UTF-8
#     intact, and a shell on ttyS0 that runs what is typed (UTF-8 typed
#     reaches the guest as UTF-8);
#   - Alt-2 is the monitor: "info status"; Alt-1 the serial port again;
#     Alt-9 (no such console) changes nothing;
#   - a smaller terminal still shows the cursor's line, a larger one the
#     whole console in its middle;
#   - "quit" in the monitor ends the program with status 0 and the pane
#     gets its terminal back (nothing of curses' screen left);
#   - with a virtio-gpu, its console comes first (as in qemu) and shows as
#     one line; the monitor is then Alt-3;
#   - SIGTERM ends it too, the terminal given back, and the message the
#     emulator wrote to the terminal's stderr meanwhile shows after that;
#   - a fatal signal (SIGQUIT) gives the terminal back too.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/system/system.sh"
set -e
case $EMU in
*qemu-system*)
    skip "qemu 7.2's curses puts the monitor first and shows UTF-8 as CP437: not a reference here" ;;
esac
grep -q "^#define HAVE_NCURSES 1" "$top_builddir/config.h" ||
    skip "this build has no curses display (configure found no libncurses-dev)"
need tmux
sys_guest
# the panes run elsewhere (run2.sh in $T)
case $EMU in /*) ;; *) EMU=$(pwd)/$EMU ;; esac

export LANG=C.UTF-8
unset LC_ALL LC_CTYPE TMUX
TM="tmux -u -S $T/tmux.sock -f /dev/null"
cleanup_add "$TM kill-server"

pane() {
    $TM capture-pane -p -t emu >"$T/pane.txt" 2>/dev/null || : >"$T/pane.txt"
}

# wait_pane ERE SECONDS: until the pane shows a line matching ERE
wait_pane() {
    _i=0
    while [ $_i -lt $(($2 * 5)) ]; do
        pane
        grep -Eq -- "$1" "$T/pane.txt" && return 0
        sleep 0.2
        _i=$((_i + 1))
    done
    return 1
}

# expect ERE SECONDS WHAT: fail with the pane's contents unless it shows ERE
expect() {
    wait_pane "$1" "$2" || {
        cat "$T/pane.txt" >&2
        cat "$T/stderr" >&2 2>/dev/null || :
        fail "$3"
    }
}

# start NAME SCRIPT-FILE: a detached session of 100 x 30 running it
start() {
    $TM new-session -d -x 100 -y 30 -s "$1" "sh $2"
}

utf8=$(printf 'gr\303\274\303\237e \342\202\254 \342\234\223')
script='echo CURSES-MARK
printf "gr\303\274\303\237e \342\202\254 \342\234\223\n"
printf "\033[1;31mRED\033[0m plain\n"
sh'
cat >"$T/run.sh" <<EOF
"$EMU" -M virt -m 256M -smp 1 -display curses -bios "$GUEST/fw_dynamic.bin" \
    -kernel "$GUEST/Image" -initrd "$GUEST/initrd.cpio.gz" \
    -append "console=ttyS0 quiet -- $(sys_b64 "$script")" 2>"$T/stderr"
echo "EMU-EXITED rc=\$?"
sleep 600
EOF
start emu "$T/run.sh"

# The serial port: the marker and the UTF-8 line, then the shell's prompt
expect "CURSES-MARK" 180 "no guest output on the first console"
expect "$utf8" 10 "the UTF-8 line is not shown intact"
expect "RED plain" 10 "SGR colours showed as text"
expect "^ *~ # *$" 60 "no shell prompt on ttyS0"
echo "serial port on console 1, UTF-8 intact: ok"
$TM send-keys -t emu 'echo sum=$((6*7))' Enter
expect "^ *sum=42" 20 "the guest's shell did not run what was typed"
$TM send-keys -t emu "printf %s '$(printf '\303\274')' | od -An -tx1" Enter
expect "^ *c3 bc *$" 20 "UTF-8 typed did not reach the guest as UTF-8"
echo "keys to the guest's shell, UTF-8 typed: ok"

# The monitor on console 2, and back
$TM send-keys -t emu M-2
expect "\(qemu\)" 20 "Alt-2 shows no monitor"
$TM send-keys -t emu 'info status' Enter
expect "VM status: running" 20 "info status in the monitor"
$TM send-keys -t emu M-9
sleep 1
expect "VM status: running" 2 "Alt-9 (no such console) changed the screen"
$TM send-keys -t emu M-1
expect "CURSES-MARK" 20 "Alt-1 does not bring the serial console back"
! grep -q "VM status" "$T/pane.txt" || fail "the monitor's text stayed on the serial console"
grep -q "$utf8" "$T/pane.txt" || fail "the UTF-8 line is gone after switching back"
echo "Alt-2 monitor, Alt-1 serial again: ok"

# Terminal resizes: the vc keeps 80x24; a small terminal shows the
# cursor's line, a large one the whole console, centred
$TM resize-window -t emu -x 50 -y 10
sleep 1
$TM send-keys -t emu 'echo small=$((2*3))' Enter
expect "^ *small=6" 20 "a small terminal does not show the cursor's line"
$TM resize-window -t emu -x 120 -y 40
expect "^ {20}CURSES-MARK" 20 "a large terminal does not show the whole console in its middle"
grep -q "^ \{20\}$utf8" "$T/pane.txt" || fail "the UTF-8 line after the resize"
echo "terminal resizes: ok"

# quit in the monitor: status 0, the terminal given back
$TM send-keys -t emu M-2
expect "\(qemu\)" 20 "Alt-2 after the resize"
$TM send-keys -t emu 'quit' Enter
expect "EMU-EXITED rc=0" 30 "quit in the monitor did not end the program with status 0"
if grep -Eq "qemu|CURSES-MARK|~ #" "$T/pane.txt"; then
    cat "$T/pane.txt" >&2
    fail "curses' screen stayed in the terminal after quit"
fi
[ ! -s "$T/stderr" ] || { cat "$T/stderr" >&2; fail "messages on stderr"; }
echo "quit in the monitor, terminal restored: ok"
$TM kill-session -t emu

# A virtio-gpu's console first, then SIGTERM, with the machine held (-S):
# nothing to boot
cat >"$T/run2.sh" <<EOF
ulimit -c 0
cd "$T"
"$EMU" -M virt -m 64M -display curses -S -bios none -device virtio-gpu-device \
    -pidfile "$T/emu.pid"
echo "EMU-EXITED rc=\$?"
sleep 600
EOF
start emu "$T/run2.sh"
expect "^\[graphic console" 20 "the virtio-gpu's console is not the first"
$TM send-keys -t emu M-3
expect "\(qemu\)" 20 "-S: no monitor on console 3"
$TM send-keys -t emu 'info status' Enter
expect "VM status: paused \(prelaunch\)" 20 "-S: info status"
[ -s "$T/emu.pid" ] || fail "no pid file"
kill -TERM "$(cat "$T/emu.pid")"
expect "EMU-EXITED rc=0" 20 "SIGTERM did not end the program"
if grep -Eq "qemu|VM status" "$T/pane.txt"; then
    cat "$T/pane.txt" >&2
    fail "curses' screen stayed after SIGTERM"
fi
# (A sanitizer build writes its stderr straight through, so that a report
# cannot be lost with the process: the message then goes to curses' screen
# and leaves with it.  Only the build users get holds it back.)
if grep -q "^SANITIZER_FLAGS = -fsanitize" "$top_builddir/Makefile"; then
    echo "sanitizer build: stderr is not held back; the message is not checked"
else
    grep -q "^[^ ]*emu-system-riscv64: terminating on signal 15" "$T/pane.txt" ||
        { cat "$T/pane.txt" >&2; fail "the message for SIGTERM is not on the terminal"; }
fi
echo "a graphical console first; SIGTERM: terminal restored: ok"
$TM kill-session -t emu

# A fatal signal: the terminal back all the same
rm -f "$T/emu.pid"
start emu "$T/run2.sh"
expect "^\[graphic console" 20 "the second run did not start"
[ -s "$T/emu.pid" ] || fail "no pid file"
kill -QUIT "$(cat "$T/emu.pid")"
expect "EMU-EXITED rc=131" 20 "SIGQUIT did not end the program"
if grep -Eq "graphic console" "$T/pane.txt"; then
    cat "$T/pane.txt" >&2
    fail "curses' screen stayed after SIGQUIT"
fi
echo "SIGQUIT: terminal restored: ok"
