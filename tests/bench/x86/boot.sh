#!/bin/sh
# tests/bench/x86/boot.sh - boot time of emu-system-x86_64 -M microvm
# beside qemu-system-x86_64 -accel kvm -M microvm, same kernel (Debian's
# amd64, scripts/x86_64-guest) and initramfs, same command line: the time
# from the start of the process to the guest's first shell line ("EMU-GUEST:
# init", printed by /init once the virtio modules are in) and to the
# process's exit after the guest powered off.  RUNS runs of each,
# alternating, medians and the ratio emu/qemu.  Not part of make check.
#
# emu decompresses a bzImage on the host once per kernel and keeps the
# result in its cache (hw/x86/unpack.c, kernel-cache.c).  The runs use a
# cache of their own that starts empty, so emu's first run is a first
# boot (decompressing); its time is printed on its own as well.  With
# BOTH=1 a third program runs alongside: emu with -M
# microvm,kernel-cache=off, the bzImage decompressing itself as under
# qemu.
#
#   top_builddir=BUILD sh tests/bench/x86/boot.sh [RUNS]     (default 5)
#
# Runs in ../shared/tools/kvm-testbed (a TCG guest with a real /dev/kvm)
# unless EMU_KVM=direct: this project's machines have only a nested KVM on
# which Linux takes minutes to boot.  In the testbed everything is many
# times slower than on hardware; the ratio is the figure to keep.
# BENCH_RESULTS=FILE appends the ratios to FILE for tests/bench/report
# (tests/bench/lib.sh: bench_result; target 0.7).
set -eu
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
runs=${1:-5}
emu=$(cd "$top_builddir" && pwd)/emu-system-x86_64
[ -x "$emu" ] || { echo "boot.sh: build emu-system-x86_64 first" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null || { echo "boot.sh: needs qemu-system-x86_64" >&2; exit 1; }
guest=${EMU_X86_GUEST_CACHE:-${HOME:-/root}/.cache/emu-guest-x86_64}
"$top_srcdir/scripts/x86_64-guest" "$guest" >/dev/null
testbed=${KVM_TESTBED:-$(cd "$top_srcdir/.." && pwd)/shared/tools/kvm-testbed}
T=$(mktemp -d /tmp/emu-bench-x86.XXXXXX)
trap 'rm -rf "$T"' EXIT
cat >"$T/bench.py" <<'PY'
import os, statistics, subprocess, sys, time
emu, guest, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
# a cache of its own, on a local file system (in the testbed the working
# directory is a 9p share, slow to map)
import tempfile
os.environ['XDG_CACHE_HOME'] = tempfile.mkdtemp(prefix='emu-bench-cache.', dir='/var/tmp')
common = ['-M', 'microvm', '-m', '256M', '-smp', '1', '-nographic', '-no-reboot',
          '-kernel', guest + '/bzImage', '-initrd', guest + '/initrd.cpio.gz',
          '-append', 'console=ttyS0 quiet -- true']
progs = {'emu': [emu] + common,
         'qemu': ['qemu-system-x86_64', '-accel', 'kvm', '-cpu', 'host'] + common}
if len(sys.argv) > 4 and sys.argv[4] == '1':
    progs['emu-nocache'] = [emu] + common + ['-M', 'microvm,kernel-cache=off']
res = {k: ([], []) for k in progs}
first = None
for i in range(runs):
    for name, argv in progs.items():
        t0 = time.monotonic()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        shell = None
        for line in p.stdout:
            if shell is None and b'EMU-GUEST: init' in line:
                shell = time.monotonic() - t0
        p.wait()
        total = time.monotonic() - t0
        ok = shell is not None and p.returncode == 0
        print('%-4s run %d: shell %.2f s, poweroff %.2f s%s' %
              (name, i + 1, shell or -1, total, '' if ok else ' (FAILED, status %d)' % p.returncode),
              flush=True)
        if ok:
            res[name][0].append(shell)
            res[name][1].append(total)
            if name == 'emu' and i == 0:
                first = (shell, total)
med = {k: (statistics.median(v[0]) if v[0] else float('nan'),
           statistics.median(v[1]) if v[1] else float('nan')) for k, v in res.items()}
for k in progs:
    print('median %-4s: first shell line %.2f s, poweroff %.2f s (%d good runs)' %
          (k, med[k][0], med[k][1], len(res[k][0])))
for k in progs:
    if k != 'qemu':
        print('ratio %s/qemu: first shell line %.2f, poweroff %.2f' %
              (k, med[k][0] / med['qemu'][0], med[k][1] / med['qemu'][1]))
if first:
    print('emu first boot (the kernel decompressed, then cached): shell %.2f s, poweroff '
          '%.2f s, ratio to qemu\'s medians %.2f, %.2f' %
          (first[0], first[1], first[0] / med['qemu'][0], first[1] / med['qemu'][1]))
PY
. "$top_srcdir/tests/bench/lib.sh"
cd "$T"
echo 0 >"$T/rc"
{
    if [ "${EMU_KVM:-}" = direct ]; then
        python3 "$T/bench.py" "$emu" "$guest" "$runs" "${BOTH:-0}" || echo $? >"$T/rc"
    else
        "$testbed" -t $((runs * 120 + 60)) python3 "$T/bench.py" "$emu" "$guest" "$runs" "${BOTH:-0}" ||
            echo $? >"$T/rc"
    fi
} | tee "$T/out"
[ "$(cat "$T/rc")" = 0 ] || exit "$(cat "$T/rc")"
for m in shell poweroff; do
    # "emu  run N: shell S s, poweroff P s" lines, good runs only
    awk -v m=$m '$2 == "run" && !/FAILED/ { v = (m == "shell") ? $5 : $8
        print $1, $3 + 0, v }' "$T/out" >"$T/$m"
    med() { awk -v w="$1" '$1 == w { print $3 }' "$T/$m" | sort -g |
        awk '{ a[NR] = $1 } END { if (NR) print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
    e=$(med emu) q=$(med qemu)
    [ -n "$e" ] && [ -n "$q" ] || continue
    what="first shell line"
    [ $m = shell ] || what="poweroff"
    bench_result x86 "microvm boot to $what" "time, median" "$e" "$q" \
        "$(awk -v e="$e" -v q="$q" 'BEGIN { printf "%.3f", e / q }')" 0.7 lower \
        "$(bench_spread time "$(awk '$1 == "emu" { print $3 }' "$T/$m")" "$(awk '$1 == "qemu" { print $3 }' "$T/$m")")"
done
