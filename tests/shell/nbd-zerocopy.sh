#!/bin/sh
# nbd-zerocopy.sh - reads of a read-only export go into the socket by page
# reference (nbd/zerocopy.c).  Over a Unix socket and over TCP, bursts of
# large reads taken slowly by the client (so that the socket fills in the
# middle of spliced data) must return exactly the file's bytes, and -v
# must show that the bytes really went by reference.  nbdcopy and
# qemu-img compare check the same export with real clients.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/shell/nbd-common.sh"
need python3 nbdcopy qemu-img
set -e
cd "$T"
python3 -c "
import os, random
r = random.Random(3)
with open('img.raw', 'wb') as f:
    for i in range(48):
        k = i % 4
        if k == 0: f.write(os.urandom(1 << 20))
        elif k == 1: f.write(bytes(1 << 20))                  # written zeros
        elif k == 2: f.seek(1 << 20, 1)                       # a hole
        else: f.write(bytes(r.randrange(256) for _ in range(4096)) * 256)
    f.truncate(48 << 20)
"
S=$T/sock
nbd_start srv -v -t -e 0 -r -f raw -k "$S" img.raw
python3 "$top_srcdir/tests/shell/nbd-zerocopy.py" "$S" img.raw ||
    fail "zero-copy reads over a Unix socket differ: $(tail -5 srv.err)"
nbdcopy --connections=4 "$(uri_unix "$S")" copy.raw
cmp img.raw copy.raw || fail "nbdcopy of the export differs from the image"
qemu-img compare -f raw img.raw "$(uri_unix "$S")" > /dev/null ||
    fail "qemu-img compare: the export differs from the image"
nbd_stop srv
grep -q "bytes sent by reference" srv.err ||
    fail "no read went by reference over the Unix socket: $(grep -i 'reference\|zero-copy' srv.err | head -3)"

port=$(nbd_free_port)
nbd_start tcp -v -t -e 0 -r -f raw -b 127.0.0.1 -p "$port" img.raw
nbd_wait_tcp tcp "$port"
python3 "$top_srcdir/tests/shell/nbd-zerocopy.py" "127.0.0.1:$port" img.raw ||
    fail "zero-copy reads over TCP differ: $(tail -5 tcp.err)"
nbd_stop tcp
grep -q "bytes sent by reference" tcp.err ||
    fail "no read went by reference over TCP: $(grep -i 'reference\|zero-copy' tcp.err | head -3)"
exit 0
