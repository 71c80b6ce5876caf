#!/bin/sh
# tests/bench/img/run.sh - emu-img vs qemu-img, side by side, in one run
# (not part of `make check`).
#
#   tests/bench/img/run.sh [WORKDIR]
#
# Builds an optimized emu-img (no sanitizers) in build/bench-O2/ unless
# EMU_IMG names one, makes a 2 GiB raw image with a realistic mix of data
# (random and compressible), written zeros and holes, and times:
#   convert raw -> qcow2, qcow2 -> raw, qcow2 -> qcow2 compressed,
#   bench read and bench write (4 KiB requests, depth 64)
# for both tools (best of RUNS runs each, interleaved, the order alternating,
# the source read into the page cache before every run), printing the ratio
# emu-img time / qemu-img time.  Targets: <= 0.8 uncompressed, <= 0.5
# compressed.
#
# METHOD=b measures the other way issue 16 asks for: no reading into the
# page cache and no sync before a run, and the median of the RUNS runs
# (RUNS >= 5) instead of the best.
#
# SIZE_MB (default 2048) sets the image's size (tests/bench/report --quick
# uses a smaller one); BENCH_RESULTS=FILE appends the ratios to FILE for
# tests/bench/report (tests/bench/lib.sh: bench_result).
set -eu
top=$(cd "$(dirname "$0")/../../.." && pwd)
work=${1:-${TMPDIR:-/tmp}/emu-img-bench}
runs=${RUNS:-3}
method=${METHOD:-a}
size_mb=${SIZE_MB:-2048}
mkdir -p "$work"
. "$(dirname "$0")/../lib.sh"
[ -n "${EMU_IMG:-}" ] || EMU_IMG=$(bench_program emu-img)
QEMU_IMG=${QEMU_IMG:-qemu-img}
cd "$work"

if [ ! -f src.raw ] || [ "$(stat -c %s src.raw)" != $((size_mb << 20)) ]; then
    echo "making a $size_mb MiB test image in $work ..."
    rm -f src.raw
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
        if k < 0.35:
            f.seek(i * chunk); f.write(os.urandom(chunk))       # incompressible data
        elif k < 0.60:
            f.seek(i * chunk); f.write(text)                    # compressible data
        elif k < 0.75:
            f.seek(i * chunk); f.write(bytes(chunk))            # written zeros
        # else: a hole
PY
fi
sync

once() {  # once SRC CMD...: wall time of one run in seconds (target removed after)
    src=$1
    shift
    # The source is read into the page cache first, for both tools alike:
    # a machine that reclaims idle page cache (DAMON, memory ballooning)
    # would otherwise make whichever run comes first read from the disk.
    if [ "$method" = a ]; then
        cat "$src" > /dev/null
        sync    # earlier runs' dirty pages must not be written back during this one
    fi
    s=$(date +%s.%N)
    "$@" > /dev/null
    e=$(date +%s.%N)
    rm -f t.img
    echo "$e - $s" | bc
}

min() { if [ -z "$1" ] || [ "$(echo "$2 < $1" | bc)" = 1 ]; then echo "$2"; else echo "$1"; fi; }
# pick LIST NEW: method a keeps the best, method b every time (the median is
# taken at the end)
pick() { if [ "$method" = a ]; then min "$1" "$2"; else echo "$1 $2"; fi; }
median() { echo "$@" | tr ' ' '\n' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

row() {  # row NAME SRC EMU-CMD QEMU-CMD TARGET: best of RUNS each, the two
         # tools interleaved so that both see the same machine load, and
         # which one goes first alternating from run to run
    name=$1
    te=""
    tq=""
    es="" qs=""
    i=0
    while [ $i -lt "$runs" ]; do
        if [ $((i % 2)) -eq 0 ]; then
            a=$(once "$2" sh -c "$3")
            b=$(once "$2" sh -c "$4")
        else
            b=$(once "$2" sh -c "$4")
            a=$(once "$2" sh -c "$3")
        fi
        te=$(pick "$te" "$a")
        tq=$(pick "$tq" "$b")
        es="$es $a" qs="$qs $b"
        i=$((i + 1))
    done
    if [ "$method" = b ]; then
        te=$(median $te)
        tq=$(median $tq)
    fi
    r=$(echo "$te / $tq" | bc -l)
    printf '%-28s %9.3f %9.3f %7.2f\n' "$name" "$te" "$tq" "$r"
    bench_result img "$name" "time, method $method" "$(printf %.3f "$te")" "$(printf %.3f "$tq")" "$(printf %.3f "$r")" "$5" lower \
        "$(bench_spread time "$es" "$qs")"
}

"$QEMU_IMG" convert -O qcow2 src.raw src.qcow2
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), runs: $runs, method $method" \
    "($( [ "$method" = a ] && echo "best, warm cache" || echo "median, no warming"))"
printf '%-28s %9s %9s %7s\n' "case" "emu-img" "qemu-img" "ratio"
row "convert raw->qcow2" src.raw "$EMU_IMG convert -O qcow2 src.raw t.img" \
    "$QEMU_IMG convert -O qcow2 src.raw t.img" 0.8
row "convert qcow2->raw" src.qcow2 "$EMU_IMG convert -O raw src.qcow2 t.img" \
    "$QEMU_IMG convert -O raw src.qcow2 t.img" 0.8
row "convert qcow2->qcow2 -c" src.qcow2 "$EMU_IMG convert -c -O qcow2 src.qcow2 t.img" \
    "$QEMU_IMG convert -c -O qcow2 src.qcow2 t.img" 0.5
"$QEMU_IMG" create -q -f qcow2 w.qcow2 "${size_mb}M"
row "bench read 4k d64" src.qcow2 "$EMU_IMG bench -c 400000 -d 64 src.qcow2" \
    "$QEMU_IMG bench -c 400000 -d 64 src.qcow2" 1.0
row "bench write 4k d64" w.qcow2 "cp w.qcow2 t.img && $EMU_IMG bench -w -c 200000 -d 64 t.img" \
    "cp w.qcow2 t.img && $QEMU_IMG bench -w -c 200000 -d 64 t.img" 1.0
rm -f t.img
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
