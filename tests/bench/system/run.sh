#!/bin/sh
# run.sh - the system-mode benchmark: emu-system-riscv64 beside
# qemu-system-riscv64 on the same guest (scripts/riscv64-guest: Debian's
# OpenSBI, kernel and a busybox initrd), same memory and harts, in the same
# run, alternating the two.  Reports emu/qemu ratios of
#   boot-smp1, boot-smp2   wall time from start to poweroff (guest runs `true`)
#   gzip, md5sum, sort, awk  guest CPU work on a few MiB (guest /proc/uptime
#                          around each; geomean of the four ratios)
#   idle                   host CPU (% of a core) while the guest sleeps 5 s
# as the median and the best of $RUNS runs (default 3).
#
#   tests/bench/system/run.sh [EMU_BINARY]
#
# EMU_BINARY defaults to an -O2 build in build/bench-O2 (tests/bench/lib.sh).
# The guest is cached in $EMU_GUEST_CACHE (default ~/.cache/emu-guest).
# BENCH_RESULTS=FILE appends the median ratios to FILE for
# tests/bench/report (tests/bench/lib.sh: bench_result).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
. "$top/tests/bench/lib.sh"
bench_system run.sh "${1:-}"
runs=${RUNS:-3}
T=$(mktemp -d "${TMPDIR:-/tmp}/emu-bench-system.XXXXXX")
trap 'rm -rf "$T"' EXIT
guest=${EMU_GUEST_CACHE:-${HOME:-/root}/.cache/emu-guest}
"$top/scripts/riscv64-guest" "$guest" >/dev/null

boot() {   # boot EMULATOR SMP CMDS -> serial output on stdout
    timeout 600 "$1" -M virt -m 256M -smp "$2" -nographic \
        -bios "$guest/fw_dynamic.bin" -kernel "$guest/Image" \
        -initrd "$guest/initrd.cpio.gz" -append "console=ttyS0 quiet -- $3" </dev/null
}

# guest work: each step timed with /proc/uptime, printed as "W NAME SECONDS"
work='t() { n=$1; shift; a=$(cut -d" " -f1 /proc/uptime); "$@" >/dev/null; b=$(cut -d" " -f1 /proc/uptime); echo W $n $a $b; }; seq 1 500000 >/tmp/d; t gzip gzip -c /tmp/d; t md5sum md5sum /tmp/d /tmp/d /tmp/d /tmp/d /tmp/d /tmp/d /tmp/d /tmp/d; t sort sort -r /tmp/d; t awk awk "BEGIN{for(i=0;i<400000;i++)s+=i%7; print s}"'

sample() {   # sample NAME WHO VALUE
    echo "$3" >>"$T/$1.$2"
}

one_run() {   # one_run WHO EMULATOR
    for smp in 1 2; do
        s=$(date +%s%N)
        boot "$2" $smp true >"$T/out" 2>&1 || { tail "$T/out" >&2; echo "run.sh: $1 boot failed" >&2; exit 1; }
        e=$(date +%s%N)
        grep -q "EMU-GUEST: done" "$T/out" || { tail "$T/out" >&2; echo "run.sh: $1 did not run /init" >&2; exit 1; }
        sample boot-smp$smp "$1" "$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", (e - s) / 1e9 }')"
    done
    boot "$2" 1 "b64:$(printf '%s' "$work" | base64 -w0)" >"$T/out" 2>&1 || { tail "$T/out" >&2; echo "run.sh: $1 work boot failed" >&2; exit 1; }
    tr -d '\r' <"$T/out" | awk '$1 == "W" { printf "%s %.2f\n", $2, $4 - $3 }' >"$T/w"
    [ "$(wc -l <"$T/w")" = 4 ] || { tail "$T/out" >&2; echo "run.sh: $1: guest work incomplete" >&2; exit 1; }
    while read -r n v; do sample "$n" "$1" "$v"; done <"$T/w"
    # idle: host CPU of the emulator over 4 s of a 5 s guest sleep
    "$2" -M virt -m 256M -smp 1 -nographic -bios "$guest/fw_dynamic.bin" \
        -kernel "$guest/Image" -initrd "$guest/initrd.cpio.gz" \
        -append "console=ttyS0 quiet -- echo SLEEP-START; sleep 5" </dev/null >"$T/idle" 2>&1 &
    pid=$!
    i=0
    until grep -q "^SLEEP-START" "$T/idle"; do
        sleep 0.1
        i=$((i + 1))
        [ $i -lt 3000 ] || { kill $pid; echo "run.sh: $1: idle guest never slept" >&2; exit 1; }
    done
    sleep 0.5
    c0=$(sed 's/^.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')
    w0=$(date +%s%N)
    sleep 4
    c1=$(sed 's/^.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')
    w1=$(date +%s%N)
    wait $pid || true
    sample idle "$1" "$(awk -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v w="$((w1 - w0))" \
        'BEGIN { printf "%.2f", 100 * c / hz / (w / 1e9) }')"
}

for r in $(seq "$runs"); do
    if [ $((r % 2)) = 1 ]; then
        one_run qemu "$qemu"; one_run emu "$emu"
    else
        one_run emu "$emu"; one_run qemu "$qemu"
    fi
done

median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
best() { sort -n "$1" | head -n 1; }
ratio() { awk -v e="$1" -v q="$2" 'BEGIN { printf "%.3f", e / (q > 0.01 ? q : 0.01) }'; }

echo "emu: $emu"
echo "qemu: $qemu; guest: $(cat "$guest/stamp"); $runs run(s), median / best"
printf '%-10s %15s %15s %9s %9s\n' metric qemu emu "emu/qemu" "(best)"
lg=0; ng=0
for m in boot-smp1 boot-smp2 gzip md5sum sort awk idle; do
    qm=$(median "$T/$m.qemu") qb=$(best "$T/$m.qemu")
    em=$(median "$T/$m.emu") eb=$(best "$T/$m.emu")
    rm_=$(ratio "$em" "$qm") rb=$(ratio "$eb" "$qb")
    unit=s
    [ $m = idle ] && unit=%
    printf '%-10s %15s %15s %9s %9s\n' "$m" "$qm/$qb$unit" "$em/$eb$unit" "$rm_" "$rb"
    # no target was set for these: emu keeps winning
    what="time, median"
    [ $m = idle ] && what="host CPU %, median"
    tg=1.0
    [ $m = idle ] && tg=-     # a few clock ticks: no figure to hold it to
    bench_result system "$m" "$what" "$em" "$qm" "$rm_" $tg lower \
        "$(bench_spread time "$(cat "$T/$m.emu")" "$(cat "$T/$m.qemu")")"
    case $m in gzip|md5sum|sort|awk)
        lg=$(awk -v a="$lg" -v r="$rm_" 'BEGIN { print a + log(r) }'); ng=$((ng + 1)) ;;
    esac
done
awk -v a="$lg" -v n="$ng" 'BEGIN { printf "%-10s %15s %15s %9.3f\n", "cpu-geo", "", "", exp(a / n) }'
bench_result system cpu-geo "guest time, geomean" - - \
    "$(awk -v a="$lg" -v n="$ng" 'BEGIN { printf "%.3f", exp(a / n) }')" 1.0 lower 0
