#!/bin/sh
# tests/bench/anon/run.sh - emu-img anonymize next to qemu-img convert of
# the same image, in one run (not part of `make check`).
#
#   [SIZE=8G] [RUNS=3] tests/bench/anon/run.sh [WORKDIR]
#
# Builds an optimized emu-img (no sanitizers) in build/bench-O2/ unless
# EMU_IMG names one, then makes two qcow2 images of 64 GiB virtual size:
#   data.qcow2  SIZE of data (default 8 GiB) in 256 MiB runs spread over the
#               disk, written by qemu-io;
#   snap.qcow2  SIZE/4 of compressed clusters, two internal snapshots with
#               data written between them, and SIZE/4 of plain data.
# For each it times `emu-img anonymize` and `qemu-img convert -O qcow2`
# (best of RUNS, interleaved) and prints the time ratio convert/anonymize
# (target >= 20) and the copy's allocated size (du --block-size=1) divided
# by the metadata size anonymize kept (target <= 1.01).  Use SIZE=1G for a
# quick run; the images stay in WORKDIR for the next run.  BENCH_RESULTS=FILE
# appends the ratios to FILE for tests/bench/report (tests/bench/lib.sh).
set -eu
top=$(cd "$(dirname "$0")/../../.." && pwd)
work=${1:-${TMPDIR:-/tmp}/emu-anon-bench}
runs=${RUNS:-3}
size=${SIZE:-8G}
mkdir -p "$work"
. "$(dirname "$0")/../lib.sh"
[ -n "${EMU_IMG:-}" ] || EMU_IMG=$(bench_program emu-img)
QEMU_IMG=${QEMU_IMG:-qemu-img}
cd "$work"
bytes=$(numfmt --from=iec "$size")
chunk=$((256 << 20))
[ "$bytes" -ge $((4 * chunk)) ] || { echo "SIZE must be at least 1G" >&2; exit 1; }

# writes N CHUNK-sized runs spread over the first 64 GiB, from FIRST, with
# pattern PAT (compressed with -c)
spread() {  # spread IMAGE N PAT [-c]
    _n=$2 _cmds=
    [ "$_n" -ge 1 ] || _n=1
    _stride=$(( (64 << 30) / _n / chunk * chunk ))
    i=0
    while [ $i -lt "$_n" ]; do
        _cmds="$_cmds -c 'write -q ${4:-} -P $3 $((i * _stride)) $chunk'"
        i=$((i + 1))
    done
    eval qemu-io -f qcow2 "$_cmds" "$1"
}

if [ ! -f "data-$size.qcow2" ]; then
    echo "making data-$size.qcow2 (64 GiB, $size of data) ..."
    "$QEMU_IMG" create -q -f qcow2 tmp.qcow2 64G
    spread tmp.qcow2 $((bytes / chunk)) 0x5a
    mv tmp.qcow2 "data-$size.qcow2"
fi
if [ ! -f "snap-$size.qcow2" ]; then
    echo "making snap-$size.qcow2 (compressed clusters, 2 snapshots) ..."
    "$QEMU_IMG" create -q -f qcow2 tmp.qcow2 64G
    spread tmp.qcow2 $((bytes / chunk / 4)) 0x33 -c
    "$QEMU_IMG" snapshot -c one tmp.qcow2
    spread tmp.qcow2 $((bytes / chunk / 8)) 0x44
    "$QEMU_IMG" snapshot -c two tmp.qcow2
    spread tmp.qcow2 $((bytes / chunk / 8)) 0x55
    mv tmp.qcow2 "snap-$size.qcow2"
fi
sync

once() {  # once CMD...: wall time of one run in seconds
    sync
    s=$(date +%s.%N)
    "$@" > /dev/null
    e=$(date +%s.%N)
    echo "$e - $s" | bc
}

best() {  # best A B: the smaller
    echo "if ($1 < $2) $1 else $2" | bc
}

printf '%-18s %10s %10s %8s %14s %14s %8s\n' image anon_s convert_s ratio dst_alloc metadata alloc/meta
for img in "data-$size.qcow2" "snap-$size.qcow2"; do
    ta=999999 tc=999999 as= cs=
    r=0
    while [ $r -lt "$runs" ]; do
        rm -f anon.qcow2 conv.qcow2
        a=$(once "$EMU_IMG" anonymize "$img" anon.qcow2)
        c=$(once "$QEMU_IMG" convert -O qcow2 "$img" conv.qcow2)
        ta=$(best "$ta" "$a")
        tc=$(best "$tc" "$c")
        as="$as $a" cs="$cs $c"
        r=$((r + 1))
    done
    rm -f conv.qcow2
    kept=$("$EMU_IMG" anonymize -p "$img" anon.qcow2 | sed -n 's/.*kept \([0-9]*\) of.*/\1/p')
    alloc=$(du --block-size=1 anon.qcow2 | cut -f1)
    "$QEMU_IMG" check anon.qcow2 > /dev/null || { echo "$img: check of the copy failed" >&2; exit 1; }
    printf '%-18s %10.3f %10.3f %8.1f %14s %14s %8.3f\n' "$img" "$ta" "$tc" \
        "$(echo "$tc / $ta" | bc -l)" "$alloc" "$kept" "$(echo "$alloc / $kept" | bc -l)"
    # the ratio here is peer/emu (how many times faster), the target >= 20
    bench_result anon "${img%-*}" "time, convert/anonymize" "$(printf %.3f "$ta")" \
        "$(printf %.3f "$tc")" "$(printf %.1f "$(echo "$tc / $ta" | bc -l)")" 20 higher "$(bench_spread time "$cs" "$as")"
    bench_result anon "${img%-*}" "allocated/metadata kept" "$alloc" "$kept" \
        "$(printf %.3f "$(echo "$alloc / $kept" | bc -l)")" 1.01 lower 0
    rm -f anon.qcow2
done
