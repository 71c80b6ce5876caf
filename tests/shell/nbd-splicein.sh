#!/bin/sh
# nbd-splicein.sh - write payloads for a raw image go from the socket into
# the page cache through a pipe (nbd/splicein.c), over a Unix socket and
# over TCP: the image must end up exactly as the client's model of it,
# -v must show that payloads were spliced and that a payload in tiny
# pieces was finished in a buffer; with --detect-zeroes (which must see
# the data) nothing is spliced.  nbdcopy and qemu-img compare check the
# result with real clients.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/shell/nbd-common.sh"
need python3 nbdcopy qemu-img
set -e
cd "$T"
# writes on a plain connection are served by a stream (nbd-stream.sh),
# which reads the socket itself: the loop's splicing is what this tests
export EMU_NBD_NOSTREAM=1
python3 -c "
import os
with open('img.raw', 'wb') as f:
    f.write(os.urandom(8 << 20))
    f.truncate(96 << 20)
"
# splice_check NAME ADDR: nbd-splicein.py against server NAME at ADDR (a
# socket path or 127.0.0.1:PORT); the image must match the client's model
# and -v must show spliced payloads.
splice_check() {
    python3 "$top_srcdir/tests/shell/nbd-splicein.py" "$2" img.raw ||
        fail "spliced writes ($1) failed: $(tail -5 "$1.err")"
    nbd_stop "$1"
    cmp img.raw img.raw.model || fail "the image differs from what was written ($1)"
    grep -q "write bytes spliced" "$1.err" ||
        fail "no write payload was spliced ($1): $(grep -i splice "$1.err" | head -3)"
}
S=$T/sock
nbd_start unix -v -t -e 0 -f raw -k "$S" img.raw
splice_check unix "$S"
grep -q "[1-9][0-9]* payloads finished in a buffer" unix.err ||
    fail "the payload in tiny pieces did not make the server fall back to a buffer: $(grep -i splice unix.err | head -3)"

port=$(nbd_free_port)
nbd_start tcp -v -t -e 0 -f raw -b 127.0.0.1 -p "$port" img.raw
nbd_wait_tcp tcp "$port"
splice_check tcp "127.0.0.1:$port"

# real clients: nbdcopy with 4 connections into a sparse image, compared
nbd_copy_check cp "$S"
grep -q "write bytes spliced" cp.err || fail "nbdcopy's writes were not spliced"

# --detect-zeroes must see the data: no splicing, and zeros become holes
truncate -s 40M dz.raw
nbd_start dz -v -t -e 0 -f raw --detect-zeroes=unmap --discard=unmap -k "$S" dz.raw
nbdcopy src.raw "$(uri_unix "$S")"
nbd_stop dz
cmp src.raw dz.raw || fail "detect-zeroes export: the image differs from the source"
if grep -q "write bytes spliced" dz.err; then
    fail "writes were spliced although --detect-zeroes must see them"
fi
exit 0
