#!/bin/sh
# debian.sh - real dynamic Debian programs: python3 (a pure-Python loop),
# perl and a bash loop from a riscv64 Debian root (debian-root), under
# emu-user-riscv64 -L ROOT and qemu-riscv64 -L ROOT, next to the same
# Debian versions for amd64 run natively (chroot into an amd64 root; needs
# root, else that column is left out).  CPU seconds (user+sys, best of
# $RUNS) and peak RSS; ratios emu/qemu.
#
#   tests/bench/user/debian.sh [EMU_BINARY] [SCALE]
#
# The roots are cached in ${EMU_TEST_CACHE:-~/.cache/emu}, shared with
# tests/shell/user-chroot.sh.  BENCH_RESULTS=FILE appends the ratios
# emu/qemu to FILE for tests/bench/report (tests/bench/lib.sh).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
. "$here/../lib.sh"
emu=${1:-$top/build-bench/emu-user-riscv64}
scale=${2:-1}
[ -x "$emu" ] || { echo "debian.sh: $emu not found (build it first)" >&2; exit 1; }
tool=
for t in "${EMU_DEBIAN_ROOT:-}" "$top/../shared/tools/debian-root" /work/shared/tools/debian-root; do
    [ -n "$t" ] && [ -x "$t" ] && { tool=$t; break; }
done
[ -n "$tool" ] || { echo "debian.sh: no debian-root tool" >&2; exit 1; }
cache=${EMU_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/emu}
rv=$cache/riscv64-root-1
amd=$cache/amd64-root-1
pkgs="bash coreutils findutils grep sed python3 perl-base dpkg"
for r in "$rv:riscv64" "$amd:amd64"; do
    d=${r%:*} a=${r#*:}
    if [ ! -f "$d/.complete" ]; then
        rm -rf "$d.tmp"
        "$tool" -a "$a" "$d.tmp" $pkgs >/dev/null
        touch "$d.tmp/.complete"
        rm -rf "$d"
        mv "$d.tmp" "$d"
    fi
done
T=$(mktemp -d "${TMPDIR:-/tmp}/emu-debbench.XXXXXX")
trap 'rm -rf "$T"' EXIT
runs=${RUNS:-3}
native=no
[ "$(id -u)" = 0 ] && command -v chroot >/dev/null && native=yes
if [ $native = yes ] && [ ! -e "$amd/dev/null" ]; then
    mkdir -p "$amd/dev"
    mknod -m 666 "$amd/dev/null" c 1 3 || native=no     # perl -e opens it
fi

n_py=$(awk -v s="$scale" 'BEGIN { printf "%d", 1500000 * s }')
n_pl=$(awk -v s="$scale" 'BEGIN { printf "%d", 1500000 * s }')
n_sh=$(awk -v s="$scale" 'BEGIN { printf "%d", 100000 * s }')
py="d = {}
t = 0
for i in range($n_py):
    t += i * i % 7
    d[i % 1000] = t
print(t, len(d))"
pl="my (\$t, %d) = (0); for my \$i (0..$n_pl - 1) { \$t += \$i * \$i % 7; \$d{\$i % 1000} = \$t } print \"\$t \", scalar(keys %d), \"\\n\""
sh="i=0; t=0; while [ \$i -lt $n_sh ]; do t=\$(( (t + i * i) % 1000003 )); i=\$((i + 1)); done; echo \$t"

measure() {   # measure OUT CMD... -> "cpu_seconds peak_kib" (best cpu of $runs)
    _o=$1
    shift
    : >"$_o.t"
    _best= _rss=
    for _r in $(seq "$runs"); do
        /usr/bin/time -f "%U %S %M" -o "$T/time" "$@" >"$_o" 2>"$T/err" || {
            echo "debian.sh: '$*' failed:" >&2; cat "$T/err" >&2; exit 1; }
        set -- "$@"
        _t=$(awk '{ printf "%.3f", $1 + $2 }' "$T/time")
        _m=$(awk '{ print $3 }' "$T/time")
        echo "$_t" >>"$_o.t"
        if [ -z "$_best" ] || awk -v a="$_t" -v b="$_best" 'BEGIN { exit !(a < b) }'; then
            _best=$_t
        fi
        if [ -z "$_rss" ] || [ "$_m" -gt "$_rss" ]; then _rss=$_m; fi
    done
    echo "$_best $_rss"
}

printf '%-8s %9s %9s %9s %9s %11s %11s %9s\n' prog native qemu emu emu/qemu "qemu RSS" "emu RSS" rss-ratio
for prog in python3 perl bash; do
    case $prog in
    python3) set -- /usr/bin/python3 -c "$py" ;;
    perl) set -- /usr/bin/perl -e "$pl" ;;
    bash) set -- /usr/bin/bash -c "$sh" ;;
    esac
    q=$(measure "$T/q.out" qemu-riscv64 -L "$rv" "$rv$1" "$2" "$3")
    e=$(measure "$T/e.out" "$emu" -L "$rv" "$rv$1" "$2" "$3")
    cmp -s "$T/q.out" "$T/e.out" || { echo "debian.sh: $prog: emu output differs from qemu" >&2; exit 1; }
    nt=-
    if [ $native = yes ]; then
        nt=$(measure "$T/n.out" chroot "$amd" "$@" | cut -d' ' -f1)
        cmp -s "$T/n.out" "$T/e.out" || echo "  ($prog: amd64 output differs)"
    fi
    set -- $q $e
    printf '%-8s %9s %9s %9s %9.3f %11s %11s %9.3f\n' "$prog" "$nt" "$1" "$3" \
        "$(awk -v e="$3" -v q="$1" 'BEGIN { print e / q }')" "$2" "$4" \
        "$(awk -v e="$4" -v q="$2" 'BEGIN { print e / q }')"
    bench_result user-debian "$prog" "CPU time vs qemu-riscv64" "$3" "$1" \
        "$(awk -v e="$3" -v q="$1" 'BEGIN { printf "%.3f", e / q }')" 1.0 lower \
        "$(bench_spread time "$(cat "$T/e.out.t")" "$(cat "$T/q.out.t")")"
    bench_result user-debian "$prog" "peak RSS vs qemu-riscv64" "$4" "$2" \
        "$(awk -v e="$4" -v q="$2" 'BEGIN { printf "%.3f", e / q }')" - lower 0
done
