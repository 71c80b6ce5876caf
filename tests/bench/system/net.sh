#!/bin/sh
# net.sh - in-guest network throughput through virtio-net over user
# networking (libslirp in both): emu-system-riscv64 beside
# qemu-system-riscv64, same guest (scripts/riscv64-guest), memory, harts
# and network options, alternating the two in each run.
#
# The busybox guest has no iperf3, so the guest moves $MB MiB (default 64)
# over one TCP connection with busybox nc, to and from a host program on
# 127.0.0.1 (reached as 10.0.2.2), and times it with /proc/uptime:
#   tx   guest -> host: dd from /dev/zero piped into nc; the host reads
#        and discards, and closes after the last byte
#   rx   host -> guest: the host sends and closes; nc into /dev/null
# It prints MB/s for both and the throughput ratio emu/qemu (higher is
# better; the goal is 1.5), median and best of $RUNS runs (default 3).
# iperf3 from Debian needs the Debian image (scripts/debian-image).
#
#   tests/bench/system/net.sh [EMU_BINARY]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
. "$top/tests/bench/lib.sh"
bench_system net.sh "${1:-}"
runs=${RUNS:-3}
mb=${MB:-64}
T=$(mktemp -d "${TMPDIR:-/var/tmp}/emu-bench-net.XXXXXX")
guest=${EMU_GUEST_CACHE:-${HOME:-/root}/.cache/emu-guest}
"$top/scripts/riscv64-guest" "$guest" >/dev/null

# The host side: a sink on one port, a source on another, one connection
# at a time, forever (killed at the end).
python3 - "$mb" >"$T/ports" <<'EOF' &
import socket, sys, threading
n = int(sys.argv[1]) << 20
def serve(sock, fn):
    while True:
        c, _ = sock.accept()
        try:
            fn(c)
        finally:
            c.close()
def sink(c):
    left = n
    while left > 0:
        b = c.recv(min(left, 1 << 20))
        if not b:
            break
        left -= len(b)
def source(c):
    buf = b"\0" * (1 << 20)
    left = n
    while left > 0:
        left -= c.send(buf[:min(left, len(buf))])
socks = []
for fn in (sink, source):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    socks.append(s)
    threading.Thread(target=serve, args=(s, fn), daemon=True).start()
print(socks[0].getsockname()[1], socks[1].getsockname()[1], flush=True)
threading.Event().wait()
EOF
host_pid=$!
trap 'kill $host_pid 2>/dev/null; rm -rf "$T"' EXIT
i=0
until [ -s "$T/ports" ]; do
    i=$((i + 1))
    [ $i -lt 100 ] || { echo "net.sh: the host side did not start" >&2; exit 1; }
    sleep 0.1
done
read -r sink_port source_port <"$T/ports"

work="ip link set eth0 up; ifconfig eth0 10.0.2.15 netmask 255.255.255.0; route add default gw 10.0.2.2
t() { n=\$1; shift; a=\$(cut -d' ' -f1 /proc/uptime); \"\$@\" 2>/dev/null; b=\$(cut -d' ' -f1 /proc/uptime); echo W \$n $mb \$a \$b; }
t tx sh -c 'dd if=/dev/zero bs=64k count=$((mb * 16)) 2>/dev/null | nc 10.0.2.2 $sink_port'
t rx sh -c 'nc 10.0.2.2 $source_port >/dev/null'"

one_run() {   # one_run WHO EMULATOR
    timeout 900 "$2" -M virt -m 512M -smp 1 -nographic -bios "$guest/fw_dynamic.bin" \
        -kernel "$guest/Image" -initrd "$guest/initrd.cpio.gz" \
        -netdev user,id=n0 -device virtio-net-device,netdev=n0 \
        -append "console=ttyS0 quiet -- b64:$(printf '%s' "$work" | base64 -w0)" \
        </dev/null >"$T/out" 2>&1 || { tail "$T/out" >&2; echo "net.sh: $1 failed" >&2; exit 1; }
    bench_w_samples "$1" <"$T/out" >>"$T/samples"
}

for i in $(seq 1 "$runs"); do
    one_run emu "$emu"
    one_run qemu "$qemu"
done
BENCH_NAME=system-net bench_mbs_table "$T/samples" tx rx
