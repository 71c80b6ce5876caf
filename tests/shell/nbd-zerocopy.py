#!/usr/bin/env python3
# nbd-zerocopy.py ADDR FILE - reads of a read-only export that emu-nbd
# sends by page reference (vmsplice/splice), checked byte for byte against
# FILE.  ADDR is a Unix socket path or HOST:PORT.  Many large reads are
# sent at once and the replies are taken slowly at first, so the socket
# fills up in the middle of spliced data and the rest must follow later in
# order; unaligned offsets and lengths, requests larger than the server's
# pipe, simple and structured replies, and DF.
import os, random, socket, struct, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nbdwire import dial, REQ, SIMPLE, STRUCT, check, go, greet, recvn  # noqa: E402
import nbdwire  # noqa: E402

ADDR, FILE = sys.argv[1], sys.argv[2]
DATA = open(FILE, 'rb').read()


def conn():
    s = dial(ADDR)
    # a small receive buffer, so that the server's side fills up
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    return s


def handshake(structured):
    s = conn()
    greet(s)
    go(s, '', structured=structured)
    return s


def read_reply(s, structured, want, slow):
    """(cookie, bytes) of one reply; holes are filled with zeros."""
    if not structured:
        magic, err, cookie = struct.unpack('>IIQ', recvn(s, 16, slow))
        check(magic == SIMPLE and err == 0, "simple reply: magic %x error %d" % (magic, err))
        return cookie, recvn(s, want[cookie][1], slow)
    buf = None
    while True:
        magic, fl, typ, cookie, n = struct.unpack('>IHHQI', recvn(s, 20, slow))
        check(magic == STRUCT, "structured magic %x" % magic)
        off0, ln = want[cookie]
        if buf is None:
            buf = bytearray(ln)
        payload = recvn(s, n, slow)
        if typ == 1:            # OFFSET_DATA
            off = struct.unpack('>Q', payload[:8])[0] - off0
            check(0 <= off and off + n - 8 <= ln, "data chunk inside the request")
            buf[off:off + n - 8] = payload[8:]
        elif typ == 2:          # OFFSET_HOLE
            off, hl = struct.unpack('>QI', payload)
            off -= off0
            check(0 <= off and off + hl <= ln, "hole chunk inside the request")
            buf[off:off + hl] = bytes(hl)
        elif typ != 0:
            check(False, "chunk type %d" % typ)
        if fl & 1:
            return cookie, bytes(buf)


def burst(structured, flags, rng):
    s = handshake(structured)
    size = len(DATA)
    want = {}
    reqs = []
    for i in range(24):
        ln = rng.choice([65536, 300000, 1 << 20, 3 << 20, (4 << 20) - 513])
        off = rng.randrange(0, size - ln)
        if i % 3 == 0:
            off &= ~4095
        want[100 + i] = (off, ln)
        reqs.append(struct.pack('>IHHQQI', REQ, flags, 0, 100 + i, off, ln))
    s.sendall(b''.join(reqs))
    time.sleep(0.3)             # the server fills the socket meanwhile
    got = 0
    while want:
        cookie, b = read_reply(s, structured, want, slow=got < 3)
        off, ln = want.pop(cookie)
        check(b == DATA[off:off + ln], "read %d+%d (%s%s) differs" %
              (off, ln, "structured" if structured else "simple", " DF" if flags else ""))
        got += 1
    s.sendall(struct.pack('>IHHQQI', REQ, 0, 2, 0, 0, 0))
    s.close()


def vanish():
    """Large reads, then gone without taking the replies: the server
    drops what it holds for this client and goes on serving the others."""
    s = handshake(True)
    s.sendall(b''.join(struct.pack('>IHHQQI', REQ, 0, 0, i, i << 20, 4 << 20)
                       for i in range(16)))
    time.sleep(0.2)
    s.close()


rng = random.Random(5)
vanish()
burst(False, 0, rng)
burst(True, 0, rng)
burst(True, 4, rng)             # DF: one data chunk
if nbdwire.failures:
    sys.exit(1)
print("zero-copy reads: every reply equal to the file")
