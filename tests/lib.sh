# tests/lib.sh - sourced by every shell test:  . "$top_srcdir/tests/lib.sh"
#
#   requires TOOL...      skip (exit 77) when TOOL is not installed.  Use it
#                         only for things that may truly be absent on a
#                         machine; anything README's test command installs is
#                         not optional and should be checked with `need`.
#   need TOOL...          fail (exit 1) when TOOL is missing: the test
#                         command was supposed to install it.
#   skip "why"            exit 77 with a reason.
#   fail "why"            print and exit 1.
#   cleanup_add 'CMD'     run CMD on exit (LIFO), whatever the outcome.
#   tmpdir                a per-test scratch directory, removed on exit ($T).
#   run_ok CMD...         run and fail the test if CMD fails.
#   run_fails CODE CMD... run and fail the test unless CMD exits with CODE.
#
# Programs are found in $top_builddir; $EMU_IMG etc. name them.

set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir
EMU_IMG="$top_builddir/emu-img"
EMU_NBD="$top_builddir/emu-nbd"
EMU_USER_RISCV64="$top_builddir/emu-user-riscv64"
test_name=$(basename "$0" .sh)

_cleanups=""
cleanup_add() {
    _cleanups="$1
$_cleanups"
}
_run_cleanups() {
    _status=$?
    trap - EXIT INT TERM
    set +e
    printf '%s\n' "$_cleanups" | while IFS= read -r _c; do
        if [ -n "$_c" ]; then eval "$_c" >/dev/null 2>&1; fi
    done
    exit $_status
}
trap _run_cleanups EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

skip() {
    echo "SKIP $test_name: $*" >&2
    exit 77
}

fail() {
    echo "FAIL $test_name: $*" >&2
    exit 1
}

requires() {
    for _t in "$@"; do
        command -v "$_t" >/dev/null 2>&1 || skip "'$_t' is not installed on this machine"
    done
}

need() {
    for _t in "$@"; do
        command -v "$_t" >/dev/null 2>&1 ||
            fail "'$_t' is missing, but README's test command installs it"
    done
}

T=$(mktemp -d "${TMPDIR:-/tmp}/emu-$test_name.XXXXXX") || fail "cannot create a scratch directory"
cleanup_add "rm -rf '$T'"

run_ok() {
    "$@" || fail "command failed (exit $?): $*"
}

run_fails() {
    _want=$1
    shift
    set +e
    "$@"
    _got=$?
    set -e
    [ "$_got" = "$_want" ] || fail "expected exit $_want, got $_got: $*"
}
