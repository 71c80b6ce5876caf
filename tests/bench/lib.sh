# tests/bench/lib.sh - shared by the benchmark scripts (sourced, not run).
#
# bench_system NAME [EMU_BINARY]: set $emu (EMU_BINARY, or the optimized
# build of emu-system-riscv64) and $qemu (qemu-system-riscv64 from PATH)
# for the system benchmarks, or exit 1 with a message starting "NAME:".
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
