#!/bin/sh
# virtq-fuzz.sh - replay the virtqueue fuzz target over its seed corpus
# (well-formed and malformed ring layouts) plus deterministic mutations,
# under the sanitizers.
. "$top_srcdir/tests/lib.sh"
set -e
prog="$top_builddir/tests/fuzz/fuzz-virtq"
[ -x "$prog" ] || fail "$prog is not built"
"$prog" -n 2000 "$top_srcdir"/tests/fuzz/corpus-virtq/* > "$T/out" 2> "$T/err" ||
    { tail -40 "$T/err"; fail "fuzz-virtq failed"; }
cat "$T/out"
