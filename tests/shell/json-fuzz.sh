#!/bin/sh
# json-fuzz.sh - replay the JSON and key=value fuzz target over its seed
# corpus plus deterministic mutations, under the sanitizers.
. "$top_srcdir/tests/lib.sh"
set -e
prog="$top_builddir/tests/fuzz/fuzz-json"
[ -x "$prog" ] || fail "$prog is not built"
"$prog" -n 2000 "$top_srcdir"/tests/fuzz/corpus-json/* > "$T/out" 2> "$T/err" ||
    { tail -40 "$T/err"; fail "fuzz-json failed"; }
cat "$T/out"
