# nbd-common.sh - sourced by the nbd-*.sh tests after tests/lib.sh.
#
#   nbd_start NAME ARGS...   run "$EMU_NBD ARGS..." in the background (its
#                            stderr in $T/NAME.err), wait until it serves,
#                            set NAME_pid; killed on exit.
#   nbd_stop NAME            SIGTERM it and wait; fails on a non-zero exit
#                            (sanitizer reports included).
#   nbd_wait_exit NAME       the same without sending the signal.
#   nbd_wait_socket PATH     until PATH accepts NBD clients (this connects:
#                            only for servers started with -t).
#   uri_unix PATH [EXPORT]   nbd+unix URI for a socket.
#   nbd_free_port            print a TCP port free on 127.0.0.1.
#   nbd_wait_tcp NAME PORT [EXPORT]
#                            until nbdinfo reaches nbd://127.0.0.1:PORT/EXPORT
#                            (server NAME's stderr in the failure message).

uri_unix() {
    printf 'nbd+unix:///%s?socket=%s' "${2:-}" "$1"
}

nbd_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

nbd_wait_tcp() {
    _i=0
    until nbdinfo --size "nbd://127.0.0.1:$2/${3:-}" > /dev/null 2>&1; do
        _i=$((_i + 1))
        [ $_i -lt 200 ] || fail "TCP server $1 did not come up: $(tail -5 "$T/$1.err")"
        sleep 0.05
    done
}

nbd_wait_socket() {
    _i=0
    until [ -S "$1" ] && python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
assert s.recv(8) == b"NBDMAGIC"' "$1" 2>/dev/null; do
        _i=$((_i + 1))
        [ $_i -lt 300 ] || fail "server on $1 did not come up: $(cat "$T"/*.err 2>/dev/null | tail -5)"
        sleep 0.05
    done
}

nbd_start() {
    _name=$1
    shift
    "$EMU_NBD" "$@" 2> "$T/$_name.err" &
    eval "${_name}_pid=$!"
    cleanup_add "kill $! 2>/dev/null"
    _sock=
    _prev=
    for _a in "$@"; do
        [ "$_prev" = -k ] && _sock=$_a
        _prev=$_a
    done
    [ -n "$_sock" ] && nbd_wait_socket "$_sock"
    return 0
}

# nbd_copy_check NAME SOCKET [OPTION...]: a real client's writes, as a
# copy tool makes them.  Serves a fresh sparse 40 MiB dst.raw as server
# NAME (-v, with OPTIONs) on SOCKET, has nbdcopy with 4 connections copy
# src.raw (random data and zeros, made once) into it, compares it with
# qemu-img through the server and with cmp after the server is gone.
# NAME.err stays for the caller's checks of -v.
nbd_copy_check() {
    _cc_name=$1 _cc_sock=$2
    shift 2
    [ -f src.raw ] || python3 -c "
import os
with open('src.raw', 'wb') as f:
    for i in range(40):
        f.write(os.urandom(1 << 20) if i % 3 else bytes(1 << 20))
"
    rm -f dst.raw
    truncate -s 40M dst.raw
    nbd_start "$_cc_name" -v -t -e 0 -f raw -k "$_cc_sock" "$@" dst.raw
    nbdcopy --connections=4 src.raw "$(uri_unix "$_cc_sock")" ||
        fail "nbdcopy into the export ($_cc_name) failed: $(tail -5 "$T/$_cc_name.err")"
    qemu-img compare -f raw src.raw "$(uri_unix "$_cc_sock")" > /dev/null ||
        fail "qemu-img compare: the export differs from what nbdcopy wrote ($_cc_name)"
    nbd_stop "$_cc_name"
    cmp src.raw dst.raw || fail "nbdcopy into the export ($_cc_name): the image differs from the source"
}

nbd_stop() {
    eval "_pid=\$${1}_pid"
    kill -TERM "$_pid" 2>/dev/null || true
    nbd_wait_exit "$1"
}

nbd_wait_exit() {
    eval "_pid=\$${1}_pid"
    set +e
    wait "$_pid"
    _rc=$?
    set -e
    [ "$_rc" = 0 ] || fail "emu-nbd ($1) exited $_rc: $(tail -20 "$T/$1.err")"
    if grep -q "ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer" "$T/$1.err"; then
        fail "sanitizer report from emu-nbd ($1): $(head -30 "$T/$1.err")"
    fi
}

# nbdsh is "python3 -m nbd": use the system python that has the module
# even when another python3 comes first in PATH.  A server that stops
# answering fails the test instead of hanging it.
nbdsh() {
    if /usr/bin/python3 -c 'import nbd' 2>/dev/null; then
        timeout 300 /usr/bin/python3 -m nbd "$@"
    else
        timeout 300 nbdsh "$@"
    fi
}
