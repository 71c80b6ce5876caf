# tests/guest/guest.sh - sourced by tests/shell/user-*.sh after tests/lib.sh.
#
#   guest_build NAME [CFLAGS...]   cross-compile tests/guest/NAME.c (or .cc)
#                                  statically for riscv64 into $T/NAME.rv
#   native_build NAME [CFLAGS...]  the same source for the host, $T/NAME.x86
#   guest_compare NAME [ARGS...]   run $T/NAME.rv under emu-user-riscv64 and
#                                  qemu-riscv64 (and $T/NAME.x86 if built);
#                                  stdout and exit status must be identical
#
#   guest_build_dyn NAME [CFLAGS...]  the same, linked dynamically against
#                                  Debian's riscv64 glibc; run it with
#                                  GUEST_OPTS="-L $GUEST_SYSROOT"
#   GUEST_OPTS                     options given to both emu-user-riscv64 and
#                                  qemu-riscv64 (e.g. -L PREFIX)
#
# Nothing is hard-coded: the peers decide what the right output is.

need riscv64-linux-gnu-gcc qemu-riscv64
[ -x "$EMU_USER_RISCV64" ] || fail "$EMU_USER_RISCV64 was not built"

_guest_src() {
    if [ -f "$top_srcdir/tests/guest/$1.c" ]; then
        echo "$top_srcdir/tests/guest/$1.c"
    else
        echo "$top_srcdir/tests/guest/$1.cc"
    fi
}

guest_build() {
    _n=$1
    shift
    _s=$(_guest_src "$_n")
    case $_s in
    *.cc) _cc=riscv64-linux-gnu-g++ ;;
    *) _cc=riscv64-linux-gnu-gcc ;;
    esac
    need "$_cc"
    "$_cc" -static -O2 -Wall -o "$T/$_n.rv" "$_s" "$@" -lm ||
        fail "cannot cross-compile $_s"
}

GUEST_SYSROOT=/usr/riscv64-linux-gnu
GUEST_OPTS=${GUEST_OPTS-}

guest_build_dyn() {
    _n=$1
    shift
    _s=$(_guest_src "$_n")
    case $_s in
    *.cc) _cc=riscv64-linux-gnu-g++ ;;
    *) _cc=riscv64-linux-gnu-gcc ;;
    esac
    need "$_cc"
    [ -e "$GUEST_SYSROOT/lib/ld-linux-riscv64-lp64d.so.1" ] ||
        skip "no riscv64 glibc in $GUEST_SYSROOT (libc6-dev-riscv64-cross)"
    "$_cc" -O2 -Wall -o "$T/$_n.rv" "$_s" "$@" -lm ||
        fail "cannot cross-compile $_s"
}

native_build() {
    _n=$1
    shift
    _s=$(_guest_src "$_n")
    case $_s in
    *.cc) _cc=g++ ;;
    *) _cc=gcc ;;
    esac
    "$_cc" -O2 -Wall -o "$T/$_n.x86" "$_s" "$@" -lm || fail "cannot compile $_s natively"
}

_run() {
    # $1 = label, rest = command; stdout to $T/out.$1, status to $T/rc.$1
    _l=$1
    shift
    set +e
    "$@" >"$T/out.$_l" 2>"$T/err.$_l"
    echo $? >"$T/rc.$_l"
    set -e
}

guest_compare() {
    _n=$1
    shift
    _run emu "$EMU_USER_RISCV64" $GUEST_OPTS "$T/$_n.rv" "$@"
    _run qemu qemu-riscv64 $GUEST_OPTS "$T/$_n.rv" "$@"
    if ! cmp -s "$T/out.emu" "$T/out.qemu"; then
        diff "$T/out.qemu" "$T/out.emu" | head -20 >&2
        cat "$T/err.emu" | head -20 >&2
        fail "$_n: output differs from qemu-riscv64"
    fi
    [ "$(cat "$T/rc.emu")" = "$(cat "$T/rc.qemu")" ] ||
        { head -20 "$T/err.emu" >&2; fail "$_n: exit status $(cat "$T/rc.emu"), qemu-riscv64 $(cat "$T/rc.qemu")"; }
    [ -s "$T/out.qemu" ] || fail "$_n: no output at all (a test must print its results)"
    if [ -x "$T/$_n.x86" ]; then
        _run native "$T/$_n.x86" "$@"
        if ! cmp -s "$T/out.emu" "$T/out.native"; then
            diff "$T/out.native" "$T/out.emu" | head -20 >&2
            fail "$_n: output differs from the native build"
        fi
        [ "$(cat "$T/rc.emu")" = "$(cat "$T/rc.native")" ] ||
            fail "$_n: exit status differs from the native build"
    fi
    echo "$_n: identical to qemu-riscv64$( [ -x "$T/$_n.x86" ] && echo ' and native')"
}
