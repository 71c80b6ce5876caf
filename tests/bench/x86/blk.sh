#!/bin/sh
# tests/bench/x86/blk.sh - virtio-blk request round trips on the x86
# microVM: emu-system-x86_64 -M microvm beside qemu-system-x86_64 -accel
# kvm -M microvm, same kernel and initramfs (scripts/x86_64-guest), same
# disk options (raw file, virtio-blk-device), alternating, RUNS runs
# (default 3).  The disk is in the testbed's own file system, not on the
# 9p share of the working directory, whose every read would dominate.
# In the guest, dd moves one 4 KiB block per request with O_DIRECT
# (busybox's dd falls back to the page cache for 512-byte blocks, its
# buffer not being aligned for them), so each request is one kick (a write to QueueNotify that
# KVM turns into an ioeventfd), one completion and one interrupt (an
# irqfd) before the next: requests per second is the round-trip rate.
# Timed in the guest with /proc/uptime.  Medians and the ratio emu/qemu
# (higher is better; the goal: at least qemu's).  Not part of make check.
#
#   top_builddir=BUILD sh tests/bench/x86/blk.sh [RUNS]
#
# Runs in ../shared/tools/kvm-testbed unless EMU_KVM=direct, as boot.sh.
# BENCH_RESULTS=FILE appends the ratios for tests/bench/report.
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
runs=${1:-${RUNS:-3}}
emu=$(cd "$top_builddir" && pwd)/emu-system-x86_64
[ -x "$emu" ] || { echo "blk.sh: build emu-system-x86_64 first" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null || { echo "blk.sh: needs qemu-system-x86_64" >&2; exit 1; }
guest=${EMU_X86_GUEST_CACHE:-${HOME:-/root}/.cache/emu-guest-x86_64}
"$top_srcdir/scripts/x86_64-guest" "$guest" >/dev/null
testbed=${KVM_TESTBED:-$(cd "$top_srcdir/.." && pwd)/shared/tools/kvm-testbed}
. "$top_srcdir/tests/bench/lib.sh"
T=$(mktemp -d /tmp/emu-bench-x86blk.XXXXXX)
trap 'rm -rf "$T"' EXIT

# "R CASE REQUESTS START END" per step
work='t() { n=$1; c=$2; shift 2; a=$(cut -d" " -f1 /proc/uptime); "$@" 2>/dev/null; b=$(cut -d" " -f1 /proc/uptime); echo R $n $c $a $b; }
t read-4k 3000 dd if=/dev/vda of=/dev/null bs=4k count=3000 iflag=direct
t write-4k 1500 dd if=/dev/zero of=/dev/vda bs=4k count=1500 oflag=direct'
cat >"$T/run.sh" <<EOF
T='$T' G='$guest' EMU='$emu'
D=\$(mktemp -d /var/tmp/emu-blk.XXXXXX)
common="-M microvm -m 256M -smp 1 -nographic -no-reboot -kernel \$G/bzImage -initrd \$G/initrd.cpio.gz -drive file=\$D/disk.raw,format=raw,if=none,id=d0 -device virtio-blk-device,drive=d0"
append="console=ttyS0 quiet -- b64:$(printf '%s' "$work" | base64 -w0)"
for i in \$(seq 1 $runs); do
    for who in emu qemu; do
        rm -f \$D/disk.raw
        truncate -s 64M \$D/disk.raw
        if [ \$who = emu ]; then
            timeout -k 5 200 \$EMU \$common -append "\$append" </dev/null >\$T/out 2>&1
        else
            timeout -k 5 200 qemu-system-x86_64 -accel kvm -cpu host \$common -append "\$append" </dev/null >\$T/out 2>&1
        fi
        echo "\$who run \$i status \$?"
        tr -d '\r' <\$T/out | awk -v w=\$who '\$1 == "R" { d = \$5 - \$4; if (d < 0.01) d = 0.01; printf "%s %s %.0f\n", \$2, w, \$3 / d }' >>\$T/samples
    done
done
EOF
cd "$T"
if [ "${EMU_KVM:-}" = direct ]; then
    sh "$T/run.sh"
else
    "$testbed" -t $((runs * 240 + 60)) sh "$T/run.sh"
fi | grep -v '^\[' || true
[ -s "$T/samples" ] || { echo "blk.sh: no samples (the guests printed no results)" >&2; exit 1; }
printf '%-10s %14s %14s %14s %12s\n' case "emu req/s" "qemu req/s" "ratio median" "ratio best"
for c in read-4k write-4k; do
    awk -v c=$c '$1 == c && $2 == "emu" { print $3 }' "$T/samples" | sort -n >"$T/e"
    awk -v c=$c '$1 == c && $2 == "qemu" { print $3 }' "$T/samples" | sort -n >"$T/q"
    [ -s "$T/e" ] && [ -s "$T/q" ] || { echo "blk.sh: $c: no samples" >&2; continue; }
    paste "$T/e" "$T/q" | awk -v c=$c '{ e[NR] = $1; q[NR] = $2 } END {
        m = int((NR + 1) / 2)
        printf "%-10s %14.0f %14.0f %14.2f %12.2f\n", c, e[m], q[m], e[m] / q[m], e[NR] / q[NR] }' |
        tee "$T/line"
    read -r _ e q r _ <"$T/line"
    bench_result x86-blk "virtio-blk round trips, $c" "requests/s, median" "$e" "$q" "$r" 1.0 \
        higher "$(bench_spread rate "$(cat "$T/e")" "$(cat "$T/q")")"
done
