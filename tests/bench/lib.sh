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
# the medians and of the best runs (throughput: higher is better).  With
# BENCH_NAME set, also bench_result for each case (target BENCH_TARGET,
# default 1.5).
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
        [ -z "${BENCH_NAME:-}" ] || bench_result "$BENCH_NAME" "$_c" "MB/s, median" \
            "$(awk -v c="$_c" '$1 == c && $2 == "emu" { print $3 }' "$_s" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')" \
            "$(awk -v c="$_c" '$1 == c && $2 == "qemu" { print $3 }' "$_s" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')" \
            "$(paste "$_s.e" "$_s.q" | awk '{ e[NR] = $1; q[NR] = $2 } END { m = int((NR + 1) / 2); printf "%.3f", e[m] / q[m] }')" \
            "${BENCH_TARGET:-1.5}" higher \
            "$(bench_spread rate "$(cat "$_s.e")" "$(cat "$_s.q")")"
    done
}

# bench_result BENCH CASE METRIC EMU PEER RATIO TARGET BETTER SPREAD: when
# BENCH_RESULTS names a file, append one result line to it for
# tests/bench/report (tab-separated, in this order; TARGET "-" when there
# is none, BETTER "lower" or "higher" for the ratio, SPREAD the run-to-run
# spread of the ratio from bench_spread).  Prints nothing: the scripts'
# own output stays as it was.
bench_result() {
    [ -n "${BENCH_RESULTS:-}" ] || return 0
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$BENCH_RESULTS"
}

# bench_spread time|rate "E1 E2..." "P1 P2...": the run-to-run spread of
# the ratio emu/peer from the runs' figures of emu (E) and of the peer (P),
# times (lower is better) or rates (higher is better): how much the ratio
# changes with the statistic taken, the best runs' against the medians':
# |best(E)/best(P) - median(E)/median(P)| / (median(E)/median(P)); 0 for
# one run.  Alike when the runs agree, apart when they scatter.  Not the
# spread of the per-round ratios: this kind of machine has slow moments,
# and one slow run of either program would make that as wide as the
# slowdown it is there to tell from noise.
bench_spread() {
    _k=$1
    printf '%s\n' "$2" | tr ' ' '\n' | grep . | sort -g >"${TMPDIR:-/tmp}/.bench_spread.$$.e"
    printf '%s\n' "$3" | tr ' ' '\n' | grep . | sort -g >"${TMPDIR:-/tmp}/.bench_spread.$$.p"
    awk -v k="$_k" '
        function med(a, n) { return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
        FNR == 1 { f++ }
        f == 1 { e[++ne] = $1 }
        f == 2 { p[++np] = $1 }
        END {
            if (ne < 2 || np < 2) { print 0; exit }
            be = (k == "rate") ? e[ne] : e[1]
            bp = (k == "rate") ? p[np] : p[1]
            me = med(e, ne); mp = med(p, np)
            if (bp <= 0 || mp <= 0 || me <= 0) { print 0; exit }
            rb = be / bp; rm = me / mp
            d = (rb > rm) ? rb - rm : rm - rb
            printf "%.3f\n", d / rm }' "${TMPDIR:-/tmp}/.bench_spread.$$.e" "${TMPDIR:-/tmp}/.bench_spread.$$.p"
    rm -f "${TMPDIR:-/tmp}/.bench_spread.$$.e" "${TMPDIR:-/tmp}/.bench_spread.$$.p"
}
