#!/bin/sh
# virtio-console.sh - the guest's hvc0 on a chardev (-device
# virtio-serial-device -device virtconsole,chardev=c0 -chardev socket,...):
# the guest writes to /dev/hvc0 until the host answers over the Unix
# socket, reads the host's line and replies; both directions must arrive.
# Also checks -chardev's errors.  EMU=qemu-system-riscv64 checks the test.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/system/system.sh"
set -e
sys_guest

script='stty -F /dev/hvc0 raw -echo
(while :; do echo READY >/dev/hvc0; sleep 0.5; done) & p=$!
read line </dev/hvc0; kill $p; echo GOT=$line; echo "REPLY-$line" >/dev/hvc0; sleep 1'
SYS_ARGS="-chardev socket,id=c0,path=$T/hvc.sock,server=on,wait=off -device virtio-serial-device -device virtconsole,chardev=c0"
set +e
(sys_linux 1 "quiet -- $(sys_b64 "$script")") >"$T/boot.log" 2>&1 </dev/null &
pid=$!
set -e
python3 - "$T/hvc.sock" >"$T/host.txt" 2>&1 <<'PY' || true
import socket, sys, time
path = sys.argv[1]
deadline = time.time() + 300
s = None
while time.time() < deadline:
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        break
    except OSError:
        s = None
        time.sleep(0.2)
if s is None:
    print("no socket"); sys.exit(1)
s.settimeout(max(1, deadline - time.time()))
buf = b""
while b"READY" not in buf:
    d = s.recv(4096)
    if not d:
        print("closed before READY"); sys.exit(1)
    buf += d
s.sendall(b"hello-guest\n")
buf = b""
while b"REPLY-hello-guest" not in buf:
    d = s.recv(4096)
    if not d:
        print("closed before the reply"); sys.exit(1)
    buf += d
print("host got the reply")
PY
sys_wait_exit $pid "$SYS_TIMEOUT"
tr -d '\r' <"$T/boot.log" >"$T/boot.txt"
[ "$sys_status" = 0 ] || { tail "$T/boot.txt" >&2; fail "exit status '$sys_status'"; }
grep -q "^GOT=hello-guest" "$T/boot.txt" || { tail "$T/boot.txt" >&2; cat "$T/host.txt" >&2; fail "host to guest: the guest did not read the host's line"; }
grep -q "^host got the reply" "$T/host.txt" || { cat "$T/host.txt" >&2; fail "guest to host: no reply on the socket"; }
echo "virtconsole: both directions over a Unix socket: ok"

# bad input: one message naming the object, exit 1
for bad in "socket,id=x" "tcp,id=x" "stdio" "file,id=y,path=/nonexistent/dir/f"; do
    set +e
    "$EMU" -M virt -bios none -nographic -chardev "$bad" -device virtio-serial-device \
        >"$T/bad.out" 2>&1 </dev/null
    rc=$?
    set -e
    [ "$rc" = 1 ] || fail "-chardev $bad: exit status $rc, want 1"
    [ "$(wc -l <"$T/bad.out")" = 1 ] || { cat "$T/bad.out" >&2; fail "-chardev $bad: not a one-line message"; }
done
set +e
"$EMU" -M virt -bios none -nographic -device virtconsole,chardev=nope >"$T/bad.out" 2>&1 </dev/null
rc=$?
set -e
[ "$rc" = 1 ] || fail "virtconsole without a bus: exit status $rc, want 1"
echo "-chardev and virtconsole errors: one line each, exit 1: ok"
exit 0
