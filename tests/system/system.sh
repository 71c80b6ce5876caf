# tests/system/system.sh - sourced by tests/system/*.sh after tests/lib.sh.
#
#   $EMU                     the emulator under test: $top_builddir/
#                            emu-system-riscv64 unless EMU= names another
#                            (EMU=qemu-system-riscv64 checks the tests
#                            themselves against the reference)
#   $SYS_TIMEOUT             seconds one run may take (default 300)
#   sys_guest                make (or reuse) the Linux guest of
#                            scripts/riscv64-guest in $EMU_GUEST_CACHE
#                            (default ~/.cache/emu-guest) and set $GUEST to
#                            it; skip when Debian's mirror is unreachable
#   sys_linux SMP ARGS       exec the emulator on the guest with SMP harts
#                            and kernel arguments ARGS (commands for /init
#                            after " -- "); run it as ( sys_linux ... ) or
#                            sys_linux ... & (then $! is the emulator);
#                            $SYS_ARGS adds options (-drive ...), split on
#                            blanks
#   sys_b64 SCRIPT           the guest commands SCRIPT as one word for
#                            sys_linux ("b64:..."), past the kernel's limit
#                            of 32 words for init
#   sys_wait_for FILE RE S   wait up to S seconds until FILE has a line
#                            matching the extended regex RE; false if not
#   sys_wait_exit PID S      wait up to S seconds for PID (a child) to end;
#                            its status in $sys_status ("" if still running,
#                            then it is killed)
#   sys_cpu_ticks PID        utime+stime of PID in clock ticks
#   sys_check_run LABEL      after sys_wait_exit: $T/LABEL.log becomes
#                            $T/LABEL.txt (no CRs); fail unless the guest
#                            finished its commands and the emulator exited 0
#   sys_val LABEL KEY        the value of the guest's "KEY=value" line
#   sys_bare_cc OUT NAME [FLAGS...]
#                            build tests/system/bare/NAME.c with the bare-
#                            metal runtime into OUT (an ELF for -bios none);
#                            FLAGS come last (-O1 -g overrides -O2)

need qemu-system-riscv64 riscv64-linux-gnu-gcc python3
: "${EMU:=$top_builddir/emu-system-riscv64}"
case $EMU in
*/*) [ -x "$EMU" ] || fail "$EMU was not built" ;;
*) EMU=$(command -v "$EMU") || fail "no emulator '$EMU' in PATH" ;;
esac
: "${SYS_TIMEOUT:=300}"

# Machines register in the runtime directory (src/system/registry.h):
# each test has its own, so that tests never meet each other's machines
# or the user's, and one -name in two tests running at once is no clash.
XDG_RUNTIME_DIR=$T/xdg
mkdir -p -m 700 "$XDG_RUNTIME_DIR"
export XDG_RUNTIME_DIR

sys_guest() {
    GUEST=${EMU_GUEST_CACHE:-${HOME:-/root}/.cache/emu-guest}
    set +e
    "$top_srcdir/scripts/riscv64-guest" "$GUEST" >"$T/guest.log" 2>&1
    _rc=$?
    set -e
    case $_rc in
    0) ;;
    3) cat "$T/guest.log" >&2; skip "Debian's riscv64 packages cannot be downloaded on this machine" ;;
    *) cat "$T/guest.log" >&2; fail "scripts/riscv64-guest failed" ;;
    esac
}

sys_linux() {
    exec "$EMU" -M virt -m 256M -smp "$1" -nographic \
        -bios "$GUEST/fw_dynamic.bin" -kernel "$GUEST/Image" \
        -initrd "$GUEST/initrd.cpio.gz" ${SYS_ARGS:-} -append "console=ttyS0 $2"
}

sys_b64() {
    printf 'b64:%s' "$(printf '%s' "$1" | base64 -w0)"
}

sys_wait_for() {
    _i=0
    while [ $_i -lt $(($3 * 10)) ]; do
        grep -Eq "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
        _i=$((_i + 1))
    done
    return 1
}

sys_wait_exit() {
    _i=0
    sys_status=""
    while [ $_i -lt $(($2 * 10)) ]; do
        if ! kill -0 "$1" 2>/dev/null; then
            set +e
            wait "$1"
            sys_status=$?
            set -e
            return 0
        fi
        sleep 0.1
        _i=$((_i + 1))
    done
    kill -9 "$1" 2>/dev/null || true
    return 1
}

sys_cpu_ticks() {
    sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

sys_bare_cc() {
    _out=$1 _name=$2
    shift 2
    _src=$top_srcdir/tests/system/bare
    riscv64-linux-gnu-gcc -nostdlib -nostartfiles -static -march=rv64gc -mabi=lp64d \
        -mcmodel=medany -ffreestanding -fno-builtin -fno-stack-protector -fno-pie -no-pie \
        -O2 -Wall -Wl,--no-warn-rwx-segments,--build-id=none -T "$_src/link.ld" -I "$_src" \
        "$@" -o "$_out" "$_src/crt.S" "$_src/lib.c" "$_src/$_name.c" ||
        fail "cannot build $_name.c"
}

sys_check_run() {
    tr -d '\r' <"$T/$1.log" >"$T/$1.txt"
    [ -n "$sys_status" ] || { tail -20 "$T/$1.txt" >&2; fail "$1: no poweroff in $SYS_TIMEOUT s"; }
    [ "$sys_status" = 0 ] || { tail -20 "$T/$1.txt" >&2; fail "$1: exit status $sys_status"; }
    grep -q "^EMU-GUEST: done" "$T/$1.txt" || { tail -20 "$T/$1.txt" >&2; fail "$1: the guest did not finish"; }
}

sys_val() {
    sed -n "s/^$2=//p" "$T/$1.txt" | head -n 1
}
