# tests/bench/lib.sh - shared by the benchmark scripts (sourced, not run).
#
# bench_system NAME [EMU_BINARY]: set $emu (EMU_BINARY, or the optimized
# build of emu-system-riscv64) and $qemu (qemu-system-riscv64 from PATH)
# for the system benchmarks, or exit 1 with a message starting "NAME:".
#
# bench_w_samples WHO: read a guest's serial log on stdin, print a sample
# "CASE WHO MB/s" for each line "W CASE MIB START END" (guest /proc/uptime
# seconds around the transfer of MIB MiB).
#
# bench_mbs_table SAMPLES CASE...: the table of emu and qemu MB/s per case
# from SAMPLES ("CASE WHO MB/s" lines): medians, and the ratio emu/qemu of
# the medians and of the best runs (throughput: higher is better).
#
# bench_program NAME: print the path of an optimized build of program NAME
# (-O2 -g, no sanitizers: sanitizer builds are not for timing), built in
# build/bench-O2/ of the source tree, configuring it the first time.
bench_program() {
    _top=$(cd "$(dirname "$0")/../../.." && pwd)
    mkdir -p "$_top/build/bench-O2"
    (cd "$_top/build/bench-O2" &&
        { [ -f Makefile ] || "$_top/configure" -q CFLAGS="-O2 -g" >/dev/null; } &&
        make -j2 "$1" >/dev/null) || return 1
    echo "$_top/build/bench-O2/$1"
}

bench_system() {
    emu=${2:-}
    [ -n "$emu" ] || emu=$(bench_program emu-system-riscv64) ||
        { echo "$1: cannot build emu-system-riscv64" >&2; exit 1; }
    case $emu in */*) ;; *) emu=$(command -v "$emu") || true ;; esac
    [ -x "$emu" ] || { echo "$1: $emu not found (build it first)" >&2; exit 1; }
    qemu=$(command -v qemu-system-riscv64) || { echo "$1: qemu-system-riscv64 missing" >&2; exit 1; }
}

bench_w_samples() {
    tr -d '\r' | awk -v who="$1" '$1 == "W" { d = $5 - $4; if (d < 0.01) d = 0.01;
        printf "%s %s %.1f\n", $2, who, $3 * 1.048576 / d }'
}

bench_mbs_table() {
    _s=$1
    shift
    printf '%-10s %12s %12s %14s %12s\n' case "emu MB/s" "qemu MB/s" "ratio median" "ratio best"
    for _c in "$@"; do
        awk -v c="$_c" '$1 == c && $2 == "emu" { print $3 }' "$_s" | sort -n >"$_s.e"
        awk -v c="$_c" '$1 == c && $2 == "qemu" { print $3 }' "$_s" | sort -n >"$_s.q"
        paste "$_s.e" "$_s.q" | awk -v c="$_c" '{ e[NR] = $1; q[NR] = $2 } END {
            m = int((NR + 1) / 2)
            printf "%-10s %12.1f %12.1f %14.2f %12.2f\n", c, e[m], q[m], e[m] / q[m], e[NR] / q[NR] }'
    done
}
