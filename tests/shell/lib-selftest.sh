#!/bin/sh
# lib-selftest.sh - the shell test library itself: skips are 77, failures 1,
# cleanups run on every exit path.
. "$top_srcdir/tests/lib.sh"
set -e

lib="$top_srcdir/tests/lib.sh"
marker="$T/cleaned"

# requires on a tool that cannot exist: the subshell exits 77.
set +e
( . "$lib"; requires emu-no-such-tool-xyz; exit 0 ) 2>"$T/err"
rc=$?
set -e
[ "$rc" = 77 ] || fail "requires of a missing tool exited $rc, not 77"
grep -q "emu-no-such-tool-xyz" "$T/err" || fail "skip message does not name the tool"

# need on a missing tool fails instead.
set +e
( . "$lib"; need emu-no-such-tool-xyz; exit 0 ) 2>/dev/null
rc=$?
set -e
[ "$rc" = 1 ] || fail "need of a missing tool exited $rc, not 1"

# cleanups run on failure, in LIFO order, and the status is kept.
set +e
( . "$lib"; cleanup_add "echo first >> '$marker'"; cleanup_add "echo second >> '$marker'"; exit 3 )
rc=$?
set -e
[ "$rc" = 3 ] || fail "exit status lost by cleanup (got $rc)"
[ "$(cat "$marker")" = "second
first" ] || fail "cleanups did not run in LIFO order: $(cat "$marker")"

# run_fails checks the exit code.
run_fails 2 sh -c 'exit 2'
set +e
( . "$lib"; run_fails 2 sh -c 'exit 0' ) 2>/dev/null
rc=$?
set -e
[ "$rc" = 1 ] || fail "run_fails accepted the wrong exit code"
exit 0
