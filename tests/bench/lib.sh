# tests/bench/lib.sh - shared by the benchmark scripts (sourced, not run).
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
