#!/bin/sh
# debian.sh - a Debian riscv64 system (scripts/debian-image) under
# emu-system-riscv64 and qemu-system-riscv64, same image, devices, memory
# and harts, alternating the two in each run:
#   login      wall time from start to the serial console's "login:"
#              (OpenSBI, Debian's kernel and initrd, systemd, udev,
#              networkd with DHCP on virtio-net, virtio-blk root)
#   dd-write   in the guest: 256 MiB to a second virtio disk, 1 MiB
#   dd-read    blocks, O_DIRECT (MB/s)
#   iperf3     guest to host over user networking (Mbit/s), 5 s
#   fio-randread, fio-randwrite
#              with FIO=yes: fio in the guest, 4 KiB random O_DIRECT
#              reads and writes on the second disk, libaio, 16 in
#              flight, 5 s each (IOPS)
# Ratios: login emu/qemu time (goal <= 0.5), the others emu/qemu
# throughput (goal >= 1.5); median and best of $RUNS (default 3).
#
#   tests/bench/system/debian.sh [EMU_BINARY]
#   FIO=yes tests/bench/system/debian.sh [EMU_BINARY]
#
# The image is built (or reused) in ${EMU_DEBIAN_CACHE:-~/.cache/emu-debian},
# with FIO=yes in ~/.cache/emu-debian-fio (fio brings 72 MB more);
# building it needs root (binfmt_misc) and a few minutes the first time.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
. "$top/tests/bench/lib.sh"
bench_system debian.sh "${1:-}"
command -v iperf3 >/dev/null || { echo "debian.sh: iperf3 missing on the host" >&2; exit 1; }
runs=${RUNS:-3}
fio=${FIO:-no}
if [ "$fio" = yes ]; then
    dir=${EMU_DEBIAN_CACHE:-${HOME:-/root}/.cache/emu-debian-fio}
else
    dir=${EMU_DEBIAN_CACHE:-${HOME:-/root}/.cache/emu-debian}
fi
FIO=$fio "$top/scripts/debian-image" "$dir" >&2
fw=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin
T=$(mktemp -d "${TMPDIR:-/var/tmp}/emu-bench-debian.XXXXXX")
iperf_pid=
trap 'rm -rf "$T"; [ -z "$iperf_pid" ] || kill $iperf_pid 2>/dev/null' EXIT
port=$((20000 + $$ % 20000))
iperf3 -s -p $port >/dev/null 2>&1 &
iperf_pid=$!

cat >"$T/script" <<EOS
expect login: 900
mark login
send root\\n
expect Password: 60
send root\\n
expect root@.*# 120
send a=\$(cut -d' ' -f1 /proc/uptime); dd if=/dev/zero of=/dev/vdb bs=1M count=256 oflag=direct 2>/dev/null; b=\$(cut -d' ' -f1 /proc/uptime); echo W dd-write 256 \$a \$b\\n
expect W dd-write 256 [0-9.]+ [0-9.]+ 600
send a=\$(cut -d' ' -f1 /proc/uptime); dd if=/dev/vdb of=/dev/null bs=1M count=256 iflag=direct 2>/dev/null; b=\$(cut -d' ' -f1 /proc/uptime); echo W dd-read 256 \$a \$b\\n
expect W dd-read 256 [0-9.]+ [0-9.]+ 600
send iperf3 -c 10.0.2.2 -p $port -t 5 -f m | awk '/sender/ { print "I", \$7 }'\\n
expect I [0-9.]+ 120
EOS
if [ "$fio" = yes ]; then
    for rw in randread randwrite; do
        cat >>"$T/script" <<EOS
send fio --name=$rw --filename=/dev/vdb --direct=1 --rw=$rw --bs=4k --ioengine=libaio --iodepth=16 --runtime=5 --time_based --size=256M --minimal | awk -F';' '{ print "F", "fio-$rw", (\$8 > \$49 ? \$8 : \$49) }'\\n
expect F fio-$rw [0-9.]+ 120
EOS
    done
fi
cat >>"$T/script" <<EOS
send poweroff\\n
exit 180
EOS

one_run() {   # one_run WHO EMULATOR
    rm -f "$T/disk.raw"
    truncate -s 512M "$T/disk.raw"
    python3 "$top/tests/system/console.py" "$T/$1.log" "$T/script" -- "$2" -M virt -m 1G -smp 2 \
        -nographic -bios "$fw" -kernel "$dir/vmlinuz" -initrd "$dir/initrd.img" \
        -append "root=/dev/vda1 console=ttyS0" \
        -drive file="$dir/debian-riscv64.qcow2",format=qcow2,if=virtio,snapshot=on \
        -drive file="$T/disk.raw",format=raw,if=virtio,cache=none \
        -netdev user,id=n0 -device virtio-net-device,netdev=n0 >"$T/marks" 2>&1 ||
        { cat "$T/marks" >&2; tr -d '\r' <"$T/$1.log" | tail -20 >&2; echo "debian.sh: $1 failed" >&2; exit 1; }
    awk -v w="$1" '$1 == "mark" && $2 == "login" { print "login", w, $3 }' "$T/marks" >>"$T/samples"
    # (the terminal's escape sequences may start a line: drop them)
    tr -d '\r' <"$T/$1.log" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | awk -v w="$1" '
        $1 == "W" && NF == 5 { d = $5 - $4; if (d < 0.01) d = 0.01; printf "%s %s %.1f\n", $2, w, $3 * 1.048576 / d }
        $1 == "I" && NF == 2 { printf "iperf3 %s %s\n", w, $2 }
        $1 == "F" && NF == 3 { printf "%s %s %s\n", $2, w, $3 }' >>"$T/samples"
}

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "$runs"); do
    one_run emu "$emu"
    one_run qemu "$qemu"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %12s %12s %14s %12s %8s\n' case emu qemu "ratio median" "ratio best" goal
cases="login dd-write dd-read iperf3"
[ "$fio" = no ] || cases="$cases fio-randread fio-randwrite"
for c in $cases; do
    awk -v c="$c" '$1 == c && $2 == "emu" { print $3 }' "$T/samples" | sort -n >"$T/e"
    awk -v c="$c" '$1 == c && $2 == "qemu" { print $3 }' "$T/samples" | sort -n >"$T/q"
    # (each side's own median and best: a run that lost a sample does not
    # shift the other side's)
    awk -v c="$c" 'FILENAME == ARGV[1] { e[++ne] = $1 } FILENAME == ARGV[2] { q[++nq] = $1 } END {
        if (ne == 0 || nq == 0) { printf "%-10s (no samples)\n", c; exit }
        me = e[int((ne + 1) / 2)]; mq = q[int((nq + 1) / 2)]
        if (c == "login") printf "%-10s %11.1fs %11.1fs %14.2f %12.2f %8s\n", c, me, mq, me / mq, e[1] / q[1], "<= 0.5"
        else printf "%-10s %12.1f %12.1f %14.2f %12.2f %8s\n", c, me, mq, me / mq, e[ne] / q[nq], ">= 1.5" }' "$T/e" "$T/q"
done
