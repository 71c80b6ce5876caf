# nbdwire.py - the NBD wire format for the tests that speak raw NBD to
# emu-nbd (nbd-badclient.py, nbd-zerocopy.py, nbd-splicein.py,
# nbd-stream.py): connecting, constants, reading exact byte counts, the
# handshake, requests and replies.  check() records a
# failed expectation in `failures` and goes on.
import socket, struct, sys, time

NBDMAGIC, IHAVEOPT, REPMAGIC = 0x4e42444d41474943, 0x49484156454f5054, 0x3e889045565a9
REQ, EXTREQ = 0x25609513, 0x21e41c71
SIMPLE, STRUCT, EXTREP = 0x67446698, 0x668e33ef, 0x6e8a278c
ERR = lambda n: 0x80000000 | n
EPERM, EINVAL, ENOSPC = 1, 22, 28
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def recvn(s, n, slow=False):
    """Exactly N bytes; SLOW takes them 4 KiB at a time, with pauses."""
    b = bytearray()
    while len(b) < n:
        d = s.recv(min(n - len(b), 4096 if slow else 1 << 20))
        if not d:
            raise EOFError("closed after %d of %d bytes" % (len(b), n))
        b += d
        if slow:
            time.sleep(0.0005)
    return bytes(b)


def dial(addr):
    """A socket connected to ADDR: a Unix socket path, or HOST:PORT (then
    with TCP_NODELAY, as NBD clients set it)."""
    if ':' in addr:
        host, port = addr.rsplit(':', 1)
        s = socket.create_connection((host, int(port)), timeout=60)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    else:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(60)
        s.connect(addr)
    return s


def greet(s, flags=3):
    g = recvn(s, 18)
    magic, opt, hflags = struct.unpack('>QQH', g)
    assert magic == NBDMAGIC and opt == IHAVEOPT, g
    s.sendall(struct.pack('>I', flags))
    return hflags


def opt(s, o, data=b''):
    s.sendall(struct.pack('>QII', IHAVEOPT, o, len(data)) + data)


def reply(s):
    magic, o, typ, n = struct.unpack('>QIII', recvn(s, 20))
    assert magic == REPMAGIC, hex(magic)
    return o, typ, recvn(s, n)


def go(s, name, *, structured=False, extended=False):
    if extended:
        opt(s, 11)
        check(reply(s)[1] == 1, "EXTENDED_HEADERS acked")
    elif structured:
        opt(s, 8)
        check(reply(s)[1] == 1, "STRUCTURED_REPLY acked")
    n = name.encode()
    opt(s, 7, struct.pack('>I', len(n)) + n + struct.pack('>H', 0))
    size = flags = None
    while True:
        o, typ, d = reply(s)
        if typ == 3 and struct.unpack('>H', d[:2])[0] == 0:
            size, flags = struct.unpack('>QH', d[2:])
        if typ != 3:
            check(typ == 1, "GO %s: reply %x" % (name, typ))
            return size, flags


def request(s, typ, off, length, flags=0, cookie=1, payload=b'', ext=False):
    if ext:
        s.sendall(struct.pack('>IHHQQQ', EXTREQ, flags, typ, cookie, off, length) + payload)
    else:
        s.sendall(struct.pack('>IHHQQI', REQ, flags, typ, cookie, off, length) + payload)


def simple_reply(s, datalen=0):
    magic, err, cookie = struct.unpack('>IIQ', recvn(s, 16))
    assert magic == SIMPLE, hex(magic)
    return err, cookie, (recvn(s, datalen) if err == 0 and datalen else b'')


def ext_chunks(s):
    """All chunks of one extended reply: [(flags, type, cookie, payload)]."""
    out = []
    while True:
        magic, fl, typ, cookie, off, n = struct.unpack('>IHHQQQ', recvn(s, 32))
        assert magic == EXTREP, hex(magic)
        out.append((fl, typ, cookie, recvn(s, n)))
        if fl & 1:
            return out
