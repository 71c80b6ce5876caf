#!/bin/sh
# nbd-stream.sh - writes served by a worker that reads the connection
# itself (nbd/stream.c), over a Unix socket, over TCP and with extended
# headers: nbd-stream.py checks every hand-back to the loop against a
# model of the image, -v must show the streams and the hand-backs of a
# stalled header and payload; nbdcopy with 4 connections and qemu-img
# compare check the result with real clients, and with EMU_NBD_NOSTREAM
# set no request is served by a stream.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/shell/nbd-common.sh"
need python3 nbdcopy qemu-img
set -e
cd "$T"
python3 -c "
import os
with open('img.raw', 'wb') as f:
    f.write(os.urandom(8 << 20))
    f.truncate(192 << 20)
"
# stream_check NAME ADDR [ext]
stream_check() {
    python3 "$top_srcdir/tests/shell/nbd-stream.py" "$2" img.raw ${3:-} ||
        fail "stream ($1) failed: $(tail -5 "$1.err")"
    nbd_stop "$1"
    cmp img.raw img.raw.model || fail "the image differs from what was written ($1)"
    grep -q "[1-9][0-9]* requests served by a stream" "$1.err" ||
        fail "no request was served by a stream ($1): $(grep -i stream "$1.err" | head -3)"
    grep -q "stopped in a request's payload" "$1.err" ||
        fail "the stalled payload was not handed back ($1): $(grep -i stream "$1.err" | head -3)"
    grep -q "stopped in a request's header" "$1.err" ||
        fail "the stalled header was not handed back ($1): $(grep -i stream "$1.err" | head -3)"
}
S=$T/sock
nbd_start unix -v -t -e 0 -f raw -k "$S" img.raw
stream_check unix "$S"
nbd_start ext -v -t -e 0 -f raw -k "$S" img.raw
stream_check ext "$S" ext
port=$(nbd_free_port)
nbd_start tcp -v -t -e 0 -f raw -b 127.0.0.1 -p "$port" img.raw
nbd_wait_tcp tcp "$port"
stream_check tcp "127.0.0.1:$port"

# real clients: nbdcopy with 4 connections into a sparse image, compared
nbd_copy_check cp "$S"
grep -q "[1-9][0-9]* requests served by a stream" cp.err || fail "nbdcopy's writes were not streamed"

# EMU_NBD_NOSTREAM: the loop reads every request
export EMU_NBD_NOSTREAM=1
nbd_copy_check ns "$S"
unset EMU_NBD_NOSTREAM
if grep -q "served by a stream" ns.err; then fail "EMU_NBD_NOSTREAM: a stream ran"; fi
exit 0
