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
python3 -c "
import os
with open('src.raw', 'wb') as f:
    for i in range(40):
        f.write(os.urandom(1 << 20) if i % 3 else bytes(1 << 20))
"
truncate -s 40M dst.raw
nbd_start cp -v -t -e 0 -f raw -k "$S" dst.raw
nbdcopy --connections=4 src.raw "$(uri_unix "$S")" ||
    fail "nbdcopy into a streaming export failed: $(tail -5 cp.err)"
qemu-img compare -f raw src.raw "$(uri_unix "$S")" > /dev/null ||
    fail "qemu-img compare: the export differs from what nbdcopy wrote"
nbd_stop cp
cmp src.raw dst.raw || fail "nbdcopy into the export: the image differs from the source"
grep -q "[1-9][0-9]* requests served by a stream" cp.err || fail "nbdcopy's writes were not streamed"

# EMU_NBD_NOSTREAM: the loop reads every request
rm -f dst.raw; truncate -s 40M dst.raw
export EMU_NBD_NOSTREAM=1
nbd_start ns -v -t -e 0 -f raw -k "$S" dst.raw
nbdcopy --connections=2 src.raw "$(uri_unix "$S")" ||
    fail "nbdcopy without streams failed: $(tail -5 ns.err)"
nbd_stop ns
unset EMU_NBD_NOSTREAM
cmp src.raw dst.raw || fail "nbdcopy without streams: the image differs from the source"
if grep -q "served by a stream" ns.err; then fail "EMU_NBD_NOSTREAM: a stream ran"; fi
exit 0
