#!/bin/sh
# programs.sh - users' conventions for every installed program: --help and
# --version succeed and say what they should, an unknown option fails with
# one message naming the program, and a man page exists whose NAME section
# names the program.
. "$top_srcdir/tests/lib.sh"
[ -n "${EMU_PROGRAMS:-}" ] || fail "EMU_PROGRAMS is not set by the harness"
for p in $EMU_PROGRAMS; do
    bin="$top_builddir/$p"
    [ -x "$bin" ] || fail "$p was not built"
    "$bin" --help > "$T/help" 2>&1 || fail "$p --help exited $?"
    grep -qi "usage" "$T/help" || fail "$p --help shows no usage line"
    "$bin" --version > "$T/version" 2>&1 || fail "$p --version exited $?"
    grep -q "$p" "$T/version" || fail "$p --version does not name the program"
    grep -q "[0-9]\.[0-9]" "$T/version" || fail "$p --version shows no version number"
    set +e
    "$bin" --no-such-option-xyz > "$T/out" 2> "$T/err"
    rc=$?
    set -e
    [ "$rc" != 0 ] || fail "$p accepted an unknown option"
    grep -q "^$p: " "$T/err" || fail "$p: unknown-option message does not start with '$p: ': $(head -n 2 "$T/err")"
    man="$top_srcdir/man/$p.1"
    [ -f "$man" ] || fail "no man page man/$p.1"
    grep -q '^\.TH ' "$man" || fail "man/$p.1 has no .TH header"
    grep -q "^$p \\\\- \|^\\\\fB$p\\\\fR \\\\-\|^$p \\\\-" "$man" || fail "man/$p.1 NAME section does not name $p"
done
exit 0
