#!/usr/bin/env python3
# nbd-splicein.py ADDR FILE - writes whose payloads emu-nbd splices from
# the socket into a pipe and from the pipe into the raw image FILE
# (nbd/splicein.c).  ADDR is a Unix socket path or HOST:PORT.  Checked
# against a model of the image, byte for byte, after the server is done:
#   - payloads from 64 KiB to the 32 MiB maximum at unaligned offsets,
#     many sent before the first reply is read, with and without FUA;
#   - a payload sent in hundreds of tiny pieces, so the pipe runs out of
#     slots before the payload is in and the server must finish it in a
#     buffer;
#   - a client that hangs up in the middle of a payload (nothing of that
#     write may be acknowledged; the server must go on serving).
# Prints the model to FILE.model for the caller's cmp.
import os, random, struct, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nbdwire import dial, REQ, check, go, greet, simple_reply  # noqa: E402
import nbdwire  # noqa: E402

ADDR, FILE = sys.argv[1], sys.argv[2]
model = bytearray(open(FILE, 'rb').read())
size = len(model)
rnd = random.Random(7)
WRITE, FUA = 1, 1


def conn():
    s = dial(ADDR)
    greet(s)
    go(s, '')
    return s


def payload(n):
    # random bytes, not zeros, so that a lost or misplaced piece shows
    return rnd.randbytes(n) if hasattr(rnd, 'randbytes') else os.urandom(n)


# 1. A burst of writes of many sizes, replies read after all are sent.
s = conn()
sizes = [65536, 65537, 100000, 262144, 262144 + 511, 500000, 800000, 1 << 20, (1 << 20) + 3,
         4 << 20, 12345678, 32 << 20]
sent = {}
cookie = 1
for n in sizes:
    off = rnd.randrange(0, size - n)
    data = payload(n)
    flags = FUA if cookie % 3 == 0 else 0
    s.sendall(struct.pack('>IHHQQI', REQ, flags, WRITE, cookie, off, n) + data)
    sent[cookie] = (off, data)
    cookie += 1
for _ in sizes:
    err, ck, _d = simple_reply(s)
    check(err == 0, "write %d: error %d" % (ck, err))
    if ck in sent:
        off, data = sent.pop(ck)
        model[off:off + len(data)] = data
check(not sent, "replies missing for %s" % sorted(sent))

# 2. One payload in tiny pieces: more pieces than the pipe has slots.
n = 300000
off = rnd.randrange(0, size - n)
data = payload(n)
s.sendall(struct.pack('>IHHQQI', REQ, 0, WRITE, 99, off, n))
for i in range(0, n, 257):
    s.send(data[i:i + 257])
    if i % (257 * 16) == 0:
        time.sleep(0.0005)      # let the server splice what came so far
err, ck, _d = simple_reply(s)
check(err == 0 and ck == 99, "fragmented write: error %d cookie %d" % (err, ck))
model[off:off + n] = data

# 3. A client that hangs up half way through a payload: not acknowledged,
# so not in the model; a later write over the same place sets it.
v = conn()
n = 2 << 20
off2 = rnd.randrange(0, size - n)
v.sendall(struct.pack('>IHHQQI', REQ, 0, WRITE, 7, off2, n) + payload(n // 2))
time.sleep(0.2)
v.close()
time.sleep(0.2)
data = payload(n)
s.sendall(struct.pack('>IHHQQI', REQ, 0, WRITE, 100, off2, n) + data)
err, ck, _d = simple_reply(s)
check(err == 0 and ck == 100, "write after the vanished client: error %d" % err)
model[off2:off2 + n] = data

# 4. Small writes still work beside the spliced ones.
for k in range(20):
    n = rnd.randrange(1, 65536)
    off = rnd.randrange(0, size - n)
    data = payload(n)
    s.sendall(struct.pack('>IHHQQI', REQ, 0, WRITE, 200 + k, off, n) + data)
    err, ck, _d = simple_reply(s)
    check(err == 0, "small write %d: error %d" % (n, err))
    model[off:off + n] = data

s.sendall(struct.pack('>IHHQQI', REQ, 0, 3, 300, 0, 0))        # FLUSH
err, ck, _d = simple_reply(s)
check(err == 0, "flush: error %d" % err)
s.sendall(struct.pack('>IHHQQI', REQ, 0, 2, 301, 0, 0))        # DISC
s.close()
open(FILE + '.model', 'wb').write(model)
sys.exit(1 if nbdwire.failures else 0)
