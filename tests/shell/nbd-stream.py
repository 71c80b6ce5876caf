#!/usr/bin/env python3
# nbd-stream.py ADDR FILE [ext] - a connection whose writes one worker
# serves by reading the socket itself (nbd/stream.c), and every way the
# stream hands the connection back to the loop.  ADDR is a Unix socket
# path or HOST:PORT; "ext" negotiates extended headers.  Checked against
# a model of the raw image FILE, byte for byte (the caller cmp's
# FILE.model after the server is done), and by reading back through the
# server:
#   - writes, zero writes, trims, flushes and FUA writes back to back,
#     with reads in between (each read goes back to the loop, the next
#     write starts a stream again);
#   - a payload that stalls half way for longer than the stream waits (the
#     loop takes the request over with what came so far), and a header
#     that stalls;
#   - an idle pause (the stream ends), then writes again;
#   - a write past the end (refused by the loop with ENOSPC, the
#     connection goes on), and a bad magic (the connection is closed; the
#     server goes on serving others);
#   - a client that hangs up in a payload (not acknowledged).
import os, random, struct, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nbdwire import dial, ENOSPC, check, ext_chunks, go, greet, simple_reply  # noqa: E402
import nbdwire  # noqa: E402

ADDR, FILE = sys.argv[1], sys.argv[2]
EXT = len(sys.argv) > 3 and sys.argv[3] == 'ext'
model = bytearray(open(FILE, 'rb').read())
size = len(model)
rnd = random.Random(11)
READ, WRITE, DISC, FLUSH, TRIM, WZ = 0, 1, 2, 3, 4, 6
FUA = 1
STALL = 0.5     # longer than NBD_STREAM_STALL_MS and NBD_STREAM_LINGER_MS


def conn():
    s = dial(ADDR)
    greet(s)
    go(s, '', extended=EXT)
    return s


def hdr(typ, off, n, flags=0, cookie=1):
    if EXT:
        return struct.pack('>IHHQQQ', nbdwire.EXTREQ, flags, typ, cookie, off, n)
    return struct.pack('>IHHQQI', nbdwire.REQ, flags, typ, cookie, off, n)


def answer(s, datalen=0, base=0):
    """(error, cookie, data) of the next reply; a read's data is put
    together from its chunks (holes stay zero)."""
    if not EXT:
        return simple_reply(s, datalen)
    data, err, ck = bytearray(datalen), 0, None
    for fl, typ, ck, pl in ext_chunks(s):
        if typ == 1:            # OFFSET_DATA
            at = struct.unpack('>Q', pl[:8])[0] - base
            data[at:at + len(pl) - 8] = pl[8:]
        elif typ & 0x8000:      # an error chunk
            err = struct.unpack('>I', pl[:4])[0]
    return err, ck, bytes(data)


def payload(n):
    return rnd.randbytes(n)


def write(s, off, data, flags=0, cookie=1):
    s.sendall(hdr(WRITE, off, len(data), flags, cookie) + data)


def read_check(s, off, n, what):
    s.sendall(hdr(READ, off, n, 0, 500))
    err, ck, data = answer(s, n, off)
    check(err == 0 and ck == 500, "%s: read error %d" % (what, err))
    check(data == bytes(model[off:off + n]), "%s: read back differs" % what)


s = conn()
cookie = 1

# 1. Bursts: writes, zero writes, trims, flushes, FUA writes, replies read
# after all are sent (each in its own 4 MiB slot, as the order of
# overlapping requests in flight is the server's choice); then reads (back
# to the loop) and the next burst.
SLOT = 4 << 20
for rnd_no in range(4):
    pending = {}
    slots = rnd.sample(range(size // SLOT), 40)
    for k, slot in enumerate(slots):
        kind = 0 if k == 0 else rnd.random()    # a write first: a stream starts
        n = rnd.choice([4096, 65536, 65537, 262144, 1 << 20, 3 << 20, 100])
        off = slot * SLOT + rnd.randrange(0, SLOT - n)
        if kind < 0.6:
            data = payload(n)
            write(s, off, data, FUA if k % 5 == 0 else 0, cookie)
            pending[cookie] = (off, data)
        elif kind < 0.75:
            s.sendall(hdr(WZ, off, n, 0, cookie))
            pending[cookie] = (off, bytes(n))
        elif kind < 0.85:
            s.sendall(hdr(TRIM, off, n, 0, cookie))   # --discard=ignore: contents stay
            pending[cookie] = (off, None)
        else:
            s.sendall(hdr(FLUSH, 0, 0, 0, cookie))
            pending[cookie] = (0, None)
        cookie += 1
    acked = set()
    for _ in range(len(pending)):
        err, ck, _d = answer(s)
        check(err == 0, "burst %d request %s: error %d" % (rnd_no, ck, err))
        acked.add(ck)
    check(acked == set(pending), "burst %d: replies for %s" % (rnd_no, sorted(acked ^ set(pending))))
    for off, data in pending.values():
        if data is not None:
            model[off:off + len(data)] = data
    for _ in range(3):
        n = rnd.randrange(1, 2 << 20)
        off = rnd.randrange(0, size - n)
        read_check(s, off, n, "burst %d" % rnd_no)

# 2. A payload that stalls half way, and a header that stalls, each right
# behind a write that starts a stream.
n = 1 << 20
off = rnd.randrange(0, size - n)
data = payload(n)
first = payload(4096)
s.sendall(hdr(WRITE, size - 4096, 4096, 0, 600) + first + hdr(WRITE, off, n, 0, 601) +
          data[:n // 2])
time.sleep(STALL)
s.sendall(data[n // 2:])
for ck in (600, 601):
    err, got = answer(s)[:2]
    check(err == 0 and got == ck, "stalled payload: error %d cookie %s" % (err, got))
model[size - 4096:] = first
model[off:off + n] = data
h = hdr(WRITE, off, 4096, 0, 603)
data = payload(4096)
s.sendall(hdr(WRITE, 0, 4096, 0, 602) + first + h[:10])
time.sleep(STALL)
s.sendall(h[10:] + data)
for ck in (602, 603):
    err, got = answer(s)[:2]
    check(err == 0 and got == ck, "stalled header: error %d cookie %s" % (err, got))
model[0:4096] = first
model[off:off + 4096] = data
read_check(s, off, n, "after the stalls")
read_check(s, 0, 4096, "after the stalls")

# 3. Idle longer than the stream waits, then writes again.
time.sleep(STALL)
for k in range(5):
    data = payload(300000)
    off = rnd.randrange(0, size - len(data))
    write(s, off, data, 0, 700 + k)
    err, ck, _d = answer(s)
    check(err == 0, "write after idle: error %d" % err)
    model[off:off + len(data)] = data

# 4. A write past the end in a stream: ENOSPC, and the connection goes on.
data = payload(65536)
write(s, 0, data, 0, 800)
err, ck, _d = answer(s)
check(err == 0, "write: error %d" % err)
model[0:65536] = data
s.sendall(hdr(WRITE, size - 4096, 65536, 0, 801) + payload(65536))
err, ck, _d = answer(s)
check(err == ENOSPC and ck == 801, "write past the end: error %d, want ENOSPC" % err)
read_check(s, 0, 1 << 20, "after ENOSPC")

# 5. A client that hangs up in a payload while in a stream (that write is
# not acknowledged, so nothing of it may land); one that sends a bad magic
# in a stream (closed).  The first connection goes on.
v = conn()
data = payload(4096)
write(v, 0, data, 0, 1)
check(answer(v)[0] == 0, "vanishing client's first write")
model[0:4096] = data
n = 2 << 20
v.sendall(hdr(WRITE, 4096, n, 0, 2) + payload(n // 2))
time.sleep(0.05)
v.close()
b = conn()
data = payload(4096)
write(b, 8192, data, 0, 1)
check(answer(b)[0] == 0, "bad-magic client's first write")
model[8192:8192 + 4096] = data
b.sendall(b'\xde\xad\xbe\xef' + bytes(24))
try:
    got = b.recv(16)
    check(got == b'', "bad magic in a stream: the server answered %r" % got[:16])
except OSError:
    pass
b.close()
time.sleep(0.3)
read_check(s, 0, 8 << 20, "after the others left")

s.sendall(hdr(FLUSH, 0, 0, 0, 1000))
check(answer(s)[0] == 0, "final flush")
s.sendall(hdr(DISC, 0, 0, 0, 1001))
s.close()
open(FILE + '.model', 'wb').write(model)
sys.exit(1 if nbdwire.failures else 0)
