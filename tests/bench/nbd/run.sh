#!/bin/sh
# tests/bench/nbd/run.sh - emu-nbd vs qemu-nbd vs nbdkit (file plugin),
# side by side in one run (not part of `make check`).
#
#   tests/bench/nbd/run.sh [WORKDIR]
#
# Serves the same 2 GiB image (SIZE_MB to change) as raw and as qcow2 over
# a Unix socket and over TCP on loopback, and times nbdcopy reading it
# (to null:, and with DIRS=readfile to a file) and writing it (into a fresh
# image of the same format), with 1 and 4 connections.  Every server gets the same settings: read-only
# for reads, as many clients as nbdcopy opens (-e 0), writeback cache.
# nbdkit's file plugin has no qcow2 reader, so it runs on raw only.
# Prints MB/s per server and the ratios emu/qemu and emu/nbdkit (higher
# is better for emu).  Targets: >= 1.5 against qemu-nbd, >= 1.1 against
# nbdkit.  RUNS (default 3) runs of each case, the servers taking turns
# (the first server changes every round); the best one counts.  Write runs
# are followed by a sync outside the timing, so that no run pays for the
# previous one's writeback.  The server's CPU seconds are printed too: on a
# busy machine they say more than the wall-clock throughput.
#
# FORMATS, NETS, DIRS and CONNS (space-separated lists; defaults "raw
# qcow2", "unix tcp", "read write", "1 4"; DIRS may name readfile) pick a
# subset of the cases.
#
# METHOD=b measures the other way issue 16 asks for: no reading into the
# page cache and no sync around a run, the median of RUNS runs (RUNS >= 5)
# instead of the best.
#
# BENCH_RESULTS=FILE appends the ratios to FILE for tests/bench/report
# (tests/bench/lib.sh: bench_result).
#
# Builds an optimized emu-nbd (no sanitizers) in build/bench-O2/ unless
# EMU_NBD names one.
set -eu
top=$(cd "$(dirname "$0")/../../.." && pwd)
work=${1:-${TMPDIR:-/tmp}/emu-nbd-bench}
runs=${RUNS:-3}
method=${METHOD:-a}
size_mb=${SIZE_MB:-2048}
port=${PORT:-10911}
mkdir -p "$work"
. "$(dirname "$0")/../lib.sh"
[ -n "${EMU_NBD:-}" ] || EMU_NBD=$(bench_program emu-nbd)
for t in qemu-nbd nbdkit nbdcopy qemu-img python3; do
    command -v $t >/dev/null || { echo "$t is not installed" >&2; exit 1; }
done
cd "$work"

if [ ! -f src.raw ] || [ "$(stat -c %s src.raw)" != $((size_mb << 20)) ]; then
    echo "making a $size_mb MiB test image in $work ..."
    SIZE_MB=$size_mb python3 - <<'PY'
import os, random
r = random.Random(1)
chunk = 1 << 20
n = int(os.environ['SIZE_MB'])
text = b''.join(b'line %07d: the quick brown fox jumps over the lazy dog\n' % i
                for i in range(20000))[:chunk]
with open('src.raw', 'wb') as f:
    f.truncate(n * chunk)
    for i in range(n):
        k = r.random()
        if k < 0.45:
            f.seek(i * chunk); f.write(os.urandom(chunk))
        elif k < 0.75:
            f.seek(i * chunk); f.write(text)
        elif k < 0.85:
            f.seek(i * chunk); f.write(bytes(chunk))
        # else: a hole
PY
    qemu-img convert -f raw -O qcow2 src.raw src.qcow2
fi

pid=
stop_server() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        pid=
    fi
    rm -f "$work/sock"
}
pid=
trap 'stop_server' EXIT INT TERM

# start SERVER FMT FILE TRANSPORT RO
start_server() {
    srv=$1 fmt=$2 file=$3 tr=$4 ro=$5
    if [ "$tr" = unix ]; then
        where="-k $work/sock"; uri="nbd+unix:///?socket=$work/sock"
        kwhere="-U $work/sock"
    else
        where="-b 127.0.0.1 -p $port"; uri="nbd://127.0.0.1:$port/"
        kwhere="-i 127.0.0.1 -p $port"
    fi
    r=; [ "$ro" = ro ] && r=-r
    case $srv in
    emu) "$EMU_NBD" -t -e 0 $r -f "$fmt" $where "$file" & pid=$! ;;
    qemu) qemu-nbd -t -e 0 $r -f "$fmt" $where "$file" & pid=$! ;;
    nbdkit) nbdkit -f $r $kwhere file "$file" & pid=$! ;;
    esac
    i=0
    until nbdinfo --size "$uri" >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt 100 ] || { echo "$srv did not start" >&2; exit 1; }
        sleep 0.05
    done
}

now() { date +%s.%N; }

tck=$(getconf CLK_TCK)
# once SERVER FMT TRANSPORT DIR CONNS -> "MB/s cpu-seconds" of one run
once() {
    srv=$1 fmt=$2 tr=$3 dir=$4 conns=$5
    # This machine's kernel reclaims page cache that was idle for a few
    # seconds (DAMON): without this a run would partly time the disk,
    # and whichever server ran after a pause would lose.
    if [ "$method" = a ]; then
        if [ "$dir" != write ]; then cat "src.$fmt" >/dev/null; else cat src.raw >/dev/null; fi
    fi
    if [ "$dir" != write ]; then
        start_server "$srv" "$fmt" "src.$fmt" "$tr" ro
        dst=null:
        [ "$dir" = readfile ] && dst=dst.out
        t0=$(now)
        nbdcopy --connections="$conns" "$uri" "$dst"
        t1=$(now)
        rm -f dst.out
    else
        rm -f dst.$fmt
        if [ "$fmt" = raw ]; then truncate -s $((size_mb << 20)) dst.raw
        else qemu-img create -q -f qcow2 dst.qcow2 $((size_mb << 20)); fi
        start_server "$srv" "$fmt" "dst.$fmt" "$tr" rw
        t0=$(now)
        nbdcopy --connections="$conns" src.raw "$uri"
        t1=$(now)
    fi
    cpu=$(awk -v t="$tck" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$pid/stat")
    stop_server
    # emu-nbd flushes the image when it stops, the others leave up to
    # 2 GiB dirty: written back during the next run, it would slow that
    # run down (by 3x and more here) whichever server it is.
    [ "$dir" = read ] || [ "$method" = b ] || sync
    echo "$t0 $t1" | awk -v s="$size_mb" -v c="$cpu" '{ printf "%.0f %s\n", s * 1.048576 / ($2 - $1), c }'
}

# case FMT TRANSPORT DIR CONNS: the servers take turns, run after run, so
# that a busy moment of the machine does not hit one server only; the
# best run of each counts.
case_run() {
    fmt=$1 tr=$2 dir=$3 conns=$4
    servers="emu qemu"
    [ "$fmt" = raw ] && servers="emu qemu nbdkit"
    for s in emu qemu nbdkit; do eval "best_$s=0 cpu_$s=- all_$s="; done
    for _ in $(seq "$runs"); do
        # who goes first changes every round: the first run of a case
        # finds memory the machine has had time to reclaim
        servers="${servers#* } ${servers%% *}"
        for s in $servers; do
            set -- $(once "$s" "$fmt" "$tr" "$dir" "$conns")
            eval "b=\$best_$s"
            if [ "$1" -gt "$b" ]; then eval "best_$s=$1 cpu_$s=$2"; fi
            eval "all_$s=\"\$all_$s $1\""
        done
    done
    if [ "$method" = b ]; then
        # the median instead, and the CPU seconds of the best run
        for s in emu qemu nbdkit; do
            eval "v=\$all_$s"
            [ -z "$v" ] || eval "best_$s=$(echo $v | tr ' ' '\n' | sort -n |
                awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')"
        done
    fi
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), runs: $runs, method $method"
printf '%-6s %-5s %-5s %-5s %9s %9s %9s %9s %9s   %s\n' fmt net dir conns emu qemu nbdkit \
    emu/qemu emu/nbdkit "server CPU s: emu qemu nbdkit"
for fmt in ${FORMATS:-raw qcow2}; do
    for tr in ${NETS:-unix tcp}; do
        for dir in ${DIRS:-read write}; do
            for conns in ${CONNS:-1 4}; do
                case_run "$fmt" "$tr" "$dir" "$conns"
                e=$best_emu ec=$cpu_emu q=$best_qemu qc=$cpu_qemu k=$best_nbdkit kc=$cpu_nbdkit
                [ "$fmt" = raw ] || k=-
                rq=$(awk -v a="$e" -v b="$q" 'BEGIN { printf "%.2f", a / b }')
                if [ "$k" = - ]; then rk=-; else rk=$(awk -v a="$e" -v b="$k" 'BEGIN { printf "%.2f", a / b }'); fi
                printf '%-6s %-5s %-5s %-5s %9s %9s %9s %9s %9s   %s %s %s\n' "$fmt" "$tr" "$dir" \
                    "$conns" "$e" "$q" "$k" "$rq" "$rk" "$ec" "$qc" "$kc"
                # targets: reads 1.5x qemu-nbd and 1.1x nbdkit (issue 16),
                # writes keep winning
                tq=1.5 tk=1.1
                [ "$dir" != write ] || tq=1.0 tk=1.0
                bench_result nbd "$fmt $tr $dir $conns conn" "MB/s vs qemu-nbd, method $method" \
                    "$e" "$q" "$rq" $tq higher "$(bench_spread rate "$all_emu" "$all_qemu")"
                [ "$k" = - ] || bench_result nbd "$fmt $tr $dir $conns conn" \
                    "MB/s vs nbdkit, method $method" "$e" "$k" "$rk" $tk higher "$(bench_spread rate "$all_emu" "$all_nbdkit")"
            done
        done
    done
done
rm -f dst.raw dst.qcow2
if [ "$method" = a ]; then
    echo "(MB/s of the best of $runs runs, warm cache, and the server's CPU seconds in that run;"
else
    echo "(MB/s: median of $runs runs, no warming; the server's CPU seconds of the best run;"
fi
echo " image: $size_mb MiB, 45% random, 30% text, 10% written zeros, 15% holes;"
echo " load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
