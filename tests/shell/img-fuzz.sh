#!/bin/sh
# img-fuzz.sh - replay the fuzz targets of the image formats over their
# seed corpus plus deterministic mutations, under the sanitizers.
. "$top_srcdir/tests/lib.sh"
set -e
for fmt in qcow2 raw vdi vpc vmdk vhdx; do
    prog="$top_builddir/tests/fuzz/fuzz-$fmt"
    [ -x "$prog" ] || fail "$prog is not built"
    "$prog" -n 300 "$top_srcdir"/tests/fuzz/corpus-"$fmt"/* > "$T/out" 2> "$T/err" ||
        { tail -40 "$T/err"; fail "fuzz-$fmt failed"; }
    cat "$T/out"
done
