#!/bin/sh
# nbd-fuzz.sh - replay the NBD server's fuzz target (handshake, options,
# requests) over its seed corpus plus deterministic mutations, under the
# sanitizers.
. "$top_srcdir/tests/lib.sh"
set -e
prog="$top_builddir/tests/fuzz/fuzz-nbd"
[ -x "$prog" ] || fail "$prog is not built"
"$prog" -n 200 "$top_srcdir"/tests/fuzz/corpus-nbd/* > "$T/out" 2> "$T/err" ||
    { tail -40 "$T/err"; fail "fuzz-nbd failed"; }
cat "$T/out"
