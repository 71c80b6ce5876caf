#!/bin/sh
# disk.sh - in-guest disk throughput through virtio-blk: emu-system-riscv64
# beside qemu-system-riscv64, same guest (scripts/riscv64-guest), same
# memory, harts and image options (raw file, cache=none), alternating the
# two in each run.  The guest times each step with /proc/uptime:
#   seq-write   dd 1 MiB blocks, O_DIRECT, 128 MiB
#   seq-read    dd 1 MiB blocks, O_DIRECT, 128 MiB
#   read-4k     dd 4 KiB blocks, O_DIRECT, 32 MiB (request rate)
#   write-4k    dd 4 KiB blocks, O_DIRECT, 16 MiB
# and prints MB/s for both and the throughput ratio emu/qemu (higher is
# better; the goal is 1.5), median and best of $RUNS runs (default 3).
# Random 4k I/O with fio needs the Debian image (scripts/debian-image).
#
#   tests/bench/system/disk.sh [EMU_BINARY]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
. "$top/tests/bench/lib.sh"
bench_system disk.sh "${1:-}"
runs=${RUNS:-3}
T=$(mktemp -d "${TMPDIR:-/var/tmp}/emu-bench-disk.XXXXXX")
trap 'rm -rf "$T"' EXIT
guest=${EMU_GUEST_CACHE:-${HOME:-/root}/.cache/emu-guest}
"$top/scripts/riscv64-guest" "$guest" >/dev/null

work='t() { n=$1; mb=$2; shift 2; a=$(cut -d" " -f1 /proc/uptime); "$@" 2>/dev/null; b=$(cut -d" " -f1 /proc/uptime); echo W $n $mb $a $b; }
t seq-write 128 dd if=/dev/zero of=/dev/vda bs=1M count=128 oflag=direct
t seq-read 128 dd if=/dev/vda of=/dev/null bs=1M count=128 iflag=direct
t read-4k 32 dd if=/dev/vda of=/dev/null bs=4k count=8192 iflag=direct
t write-4k 16 dd if=/dev/zero of=/dev/vda bs=4k count=4096 oflag=direct'

one_run() {   # one_run WHO EMULATOR
    rm -f "$T/disk.raw"
    truncate -s 256M "$T/disk.raw"
    timeout 900 "$2" -M virt -m 512M -smp 1 -nographic -bios "$guest/fw_dynamic.bin" \
        -kernel "$guest/Image" -initrd "$guest/initrd.cpio.gz" \
        -drive file="$T/disk.raw",format=raw,if=virtio,cache=none \
        -append "console=ttyS0 quiet -- b64:$(printf '%s' "$work" | base64 -w0)" \
        </dev/null >"$T/out" 2>&1 || { tail "$T/out" >&2; echo "disk.sh: $1 failed" >&2; exit 1; }
    bench_w_samples "$1" <"$T/out" >>"$T/samples"
}

for i in $(seq 1 "$runs"); do
    one_run emu "$emu"
    one_run qemu "$qemu"
done
BENCH_NAME=system-disk bench_mbs_table "$T/samples" seq-write seq-read read-4k write-4k
