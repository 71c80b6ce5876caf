#!/usr/bin/env python3
# nbd-zerocopy.py ADDR FILE - reads of a read-only export that emu-nbd
# sends by page reference (vmsplice/splice), checked byte for byte against
# FILE.  ADDR is a Unix socket path or HOST:PORT.  Many large reads are
# sent at once and the replies are taken slowly at first, so the socket
# fills up in the middle of spliced data and the rest must follow later in
# order; unaligned offsets and lengths, requests larger than the server's
# pipe, simple and structured replies, and DF.
import os, random, socket, struct, sys, time

ADDR, FILE = sys.argv[1], sys.argv[2]
NBDMAGIC, IHAVEOPT, REPMAGIC = 0x4e42444d41474943, 0x49484156454f5054, 0x3e889045565a9
REQ, SIMPLE, STRUCT = 0x25609513, 0x67446698, 0x668e33ef
DATA = open(FILE, 'rb').read()
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def conn():
    if ':' in ADDR:
        host, port = ADDR.rsplit(':', 1)
        s = socket.create_connection((host, int(port)), timeout=60)
    else:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(60)
        s.connect(ADDR)
    # a small receive buffer, so that the server's side fills up
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    return s


def recvn(s, n, slow=False):
    b = bytearray()
    while len(b) < n:
        d = s.recv(min(n - len(b), 4096 if slow else 1 << 20))
        if not d:
            raise EOFError("closed after %d of %d bytes" % (len(b), n))
        b += d
        if slow:
            time.sleep(0.0005)
    return bytes(b)


def opt(s, o, data=b''):
    s.sendall(struct.pack('>QII', IHAVEOPT, o, len(data)) + data)


def reply(s):
    magic, o, typ, n = struct.unpack('>QIII', recvn(s, 20))
    assert magic == REPMAGIC, hex(magic)
    return o, typ, recvn(s, n)


def handshake(structured):
    s = conn()
    magic, o, flags = struct.unpack('>QQH', recvn(s, 18))
    assert magic == NBDMAGIC and o == IHAVEOPT
    s.sendall(struct.pack('>I', 3))
    if structured:
        opt(s, 8)
        check(reply(s)[1] == 1, "STRUCTURED_REPLY acked")
    opt(s, 7, struct.pack('>I', 0) + struct.pack('>H', 0))
    while True:
        _, typ, d = reply(s)
        if typ != 3:
            check(typ == 1, "GO acked")
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
if failures:
    sys.exit(1)
print("zero-copy reads: every reply equal to the file")
