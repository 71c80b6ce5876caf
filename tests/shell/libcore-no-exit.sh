#!/bin/sh
# libcore-no-exit.sh - the library never ends the process on its own: no
# object in libcore.a calls exit(), _exit() or error()/err() family helpers.
. "$top_srcdir/tests/lib.sh"
need nm
lib="$top_builddir/libcore.a"
[ -f "$lib" ] || fail "$lib not built"
nm -A "$lib" > "$T/syms" 2>/dev/null || fail "nm cannot read $lib"
grep -q ' T ' "$T/syms" || fail "nm shows no symbols in $lib"
bad=$(grep -E ' U (exit|_exit|_Exit|quick_exit|error|err|errx|verr|verrx)$' "$T/syms" || true)
[ -z "$bad" ] || fail "library objects that can end the process:
$bad"
exit 0
