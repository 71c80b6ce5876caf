#!/bin/sh
# run.sh - the user-mode benchmark: each program of tests/bench/user built
# -O2 for riscv64 (static) and x86-64, run natively, under qemu-riscv64 and
# under emu-user-riscv64, side by side.  Outputs must agree; the table
# gives CPU seconds (user+sys) and the ratios, with geometric means.
#
#   tests/bench/user/run.sh [EMU_BINARY] [SCALE] [BENCH...]
#
# EMU_BINARY defaults to build-bench/emu-user-riscv64 (configure a plain
# -O2 build there: sanitizer builds are not for timing).  SCALE multiplies
# the work (1, the default, = 2-4 seconds natively per program; 0.3 for a
# quick run).  Each time is the
# best of $RUNS runs (default 3): the machine may be shared.
# BENCH_RESULTS=FILE appends the ratios emu/qemu to FILE for
# tests/bench/report (tests/bench/lib.sh: bench_result).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
. "$here/../lib.sh"
emu=${1:-$top/build-bench/emu-user-riscv64}
scale=${2:-1}
[ $# -gt 2 ] && shift 2 || set --
benches=${*:-lz hash sort interp graph nbody matmul fft mandel spmv stream chase}
[ -x "$emu" ] || { echo "run.sh: $emu not found (build it first)" >&2; exit 1; }
command -v qemu-riscv64 >/dev/null || { echo "run.sh: qemu-riscv64 missing" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/emu-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT

runs=${RUNS:-3}
cputime() {   # cputime OUTFILE CMD... -> best seconds of user+sys on stdout
                # (each run's in OUTFILE.t)
    _o=$1
    shift
    : >"$_o.t"
    _best=
    for _r in $(seq "$runs"); do
        /usr/bin/time -f "%U %S" -o "$T/time" "$@" >"$_o" 2>"$T/stderr" || {
            echo "run.sh: '$*' failed:" >&2; cat "$T/stderr" >&2; exit 1; }
        _t=$(awk '{ printf "%.3f", $1 + $2 }' "$T/time")
        echo "$_t" >>"$_o.t"
        _best=$(awk -v a="$_t" -v b="${_best:-999999}" 'BEGIN { print (a < b) ? a : b }')
    done
    echo "$_best"
}

printf '%-8s %9s %9s %9s %9s %9s\n' bench native qemu emu emu/qemu emu/nat
lq=0; ln=0; n=0; worst=""
for b in $benches; do
    riscv64-linux-gnu-gcc -O2 -static -o "$T/$b.rv" "$here/$b.c" -lm
    gcc -O2 -o "$T/$b.x86" "$here/$b.c" -lm
    tn=$(cputime "$T/$b.out.n" "$T/$b.x86" "$scale")
    tq=$(cputime "$T/$b.out.q" qemu-riscv64 "$T/$b.rv" "$scale")
    te=$(cputime "$T/$b.out.e" "$emu" "$T/$b.rv" "$scale")
    cmp -s "$T/$b.out.e" "$T/$b.out.q" || { echo "run.sh: $b: emu output differs from qemu" >&2; exit 1; }
    cmp -s "$T/$b.out.e" "$T/$b.out.n" || echo "  ($b: native output differs: $(cat "$T/$b.out.n"))"
    rq=$(awk -v e="$te" -v q="$tq" 'BEGIN { printf "%.3f", e / q }')
    rn=$(awk -v e="$te" -v q="$tn" 'BEGIN { printf "%.3f", e / (q > 0.001 ? q : 0.001) }')
    printf '%-8s %9s %9s %9s %9s %9s\n' "$b" "$tn" "$tq" "$te" "$rq" "$rn"
    bench_result user "$b" "CPU time vs qemu-riscv64" "$te" "$tq" "$rq" 1.0 lower \
        "$(bench_spread time "$(cat "$T/$b.out.e.t")" "$(cat "$T/$b.out.q.t")")"
    lq=$(awk -v a="$lq" -v r="$rq" 'BEGIN { print a + log(r) }')
    ln=$(awk -v a="$ln" -v r="$rn" 'BEGIN { print a + log(r) }')
    n=$((n + 1))
done
awk -v a="$lq" -v b="$ln" -v n="$n" 'BEGIN { printf "%-8s %9s %9s %9s %9.3f %9.3f\n", "geomean", "", "", "", exp(a / n), exp(b / n) }'
bench_result user geomean "CPU time vs qemu-riscv64" - - \
    "$(awk -v a="$lq" -v n="$n" 'BEGIN { printf "%.3f", exp(a / n) }')" 1.0 lower 0

# start-up: a static hello world, wall time per run (best of 20)
printf '#include <stdio.h>\nint main(void){puts("hello");return 0;}\n' >"$T/hello.c"
riscv64-linux-gnu-gcc -O2 -static -o "$T/hello.rv" "$T/hello.c"
best() {
    _b=999999
    for _i in $(seq 20); do
        _s=$(date +%s%N); "$@" >/dev/null; _e=$(date +%s%N)
        _t=$(( (_e - _s) / 1000 ))
        [ $_t -lt $_b ] && _b=$_t
    done
    awk -v t="$_b" 'BEGIN { printf "%.2f ms", t / 1000 }'
}
echo "hello world: emu $(best "$emu" "$T/hello.rv"), qemu $(best qemu-riscv64 "$T/hello.rv")"
