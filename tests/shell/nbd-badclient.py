#!/usr/bin/env python3
# nbd-badclient.py SOCKET SERVER_PID - speaks raw NBD to emu-nbd over a
# Unix socket: the paths libnbd never takes (EXPORT_NAME, extended
# headers) and clients that break the protocol or behave badly.  The
# server must answer with the protocol's error or hang up, and keep
# serving everybody else.  Expects the exports "rw" (writable, 16 MiB,
# first MiB = 0x61) and "ro" (read-only) from nbd-badclients.sh.
import os, socket, struct, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nbdwire import *          # noqa: F401,F403 (the wire format)
import nbdwire

SOCK, PID = sys.argv[1], int(sys.argv[2])


def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(SOCK)
    return s


def closed(s):
    """True when the server hangs up (rather than answering)."""
    try:
        while True:
            if not s.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def rss_kb():
    with open('/proc/%d/status' % PID) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])


def nfds():
    return len(os.listdir('/proc/%d/fd' % PID))


def healthy(what):
    """Another client is served normally."""
    s = conn()
    greet(s)
    size, _ = go(s, 'rw')
    request(s, 0, 0, 4096, cookie=77)
    err, cookie, data = simple_reply(s, 4096)
    check(err == 0 and cookie == 77 and data == b'a' * 4096, "served after: " + what)
    request(s, 2, 0, 0)
    s.close()


# ---- handshake ----
s = conn(); greet(s, flags=0xff)
check(closed(s), "unknown client flags: hang up")
healthy("unknown client flags")

s = conn(); greet(s); s.sendall(struct.pack('>QII', 0x1234, 1, 0))
check(closed(s), "bad option magic: hang up")

s = conn(); greet(s)
opt(s, 99, b'junk')
check(reply(s)[1] == ERR(1), "unknown option: ERR_UNSUP")
opt(s, 3, b'x')
check(reply(s)[1] == ERR(3), "LIST with data: ERR_INVALID")
opt(s, 7, struct.pack('>I', 1000) + b'rw')
check(reply(s)[1] == ERR(3), "GO with a short name: ERR_INVALID")
opt(s, 7, struct.pack('>I', 3) + b'xyz' + struct.pack('>H', 0))
check(reply(s)[1] == ERR(6), "GO for an unknown export: ERR_UNKNOWN")
opt(s, 10, struct.pack('>I', 2) + b'rw' + struct.pack('>I', 0))
check(reply(s)[1] == ERR(3), "SET_META_CONTEXT before structured replies: ERR_INVALID")
opt(s, 5)
check(reply(s)[1] == ERR(1), "STARTTLS without TLS configured: ERR_UNSUP")
opt(s, 99, bytes(200000))
check(reply(s)[1] == ERR(9), "oversized option: ERR_TOO_BIG")
opt(s, 9, struct.pack('>I', 2) + b'rw' + struct.pack('>I', 1) + struct.pack('>I', 5) + b'base:')
o, typ, d = reply(s)
check(typ == 4 and d[4:] == b'base:allocation', "LIST_META_CONTEXT base:")
check(reply(s)[1] == 1, "LIST_META_CONTEXT ack")
opt(s, 2)
check(reply(s)[1] == 1, "ABORT acked")
check(closed(s), "ABORT: closed")

s = conn(); greet(s); opt(s, 1, b'nonesuch')
check(closed(s), "EXPORT_NAME for an unknown export: hang up")

# EXPORT_NAME, with and without NO_ZEROES
for flags, extra in ((3, 0), (1, 124)):
    s = conn(); greet(s, flags); opt(s, 1, b'rw')
    size, tflags = struct.unpack('>QH', recvn(s, 10))
    check(size == 16 << 20 and tflags & 1, "EXPORT_NAME size and flags")
    if extra:
        check(recvn(s, extra) == bytes(extra), "124 zero bytes without NO_ZEROES")
    request(s, 0, 0, 512, cookie=9)
    err, cookie, data = simple_reply(s, 512)
    check(err == 0 and cookie == 9 and data == b'a' * 512, "read after EXPORT_NAME")
    s.close()

# ---- transmission ----
s = conn(); greet(s); go(s, 'rw')
request(s, 99, 0, 512, cookie=5)
err, cookie, _ = simple_reply(s)
check(err == EINVAL and cookie == 5, "unknown command: EINVAL")
request(s, 0, 16 << 20, 512, cookie=6)
check(simple_reply(s)[0] == EINVAL, "read past the end: EINVAL")
request(s, 1, (16 << 20) - 256, 512, cookie=7, payload=b'z' * 512)
check(simple_reply(s)[0] == ENOSPC, "write past the end: ENOSPC (payload skipped)")
request(s, 0, 0, 512, cookie=8)
check(simple_reply(s, 512)[2] == b'a' * 512, "stream in step after refused write")
# DISC and a request that must not be answered, in one packet
s.sendall(struct.pack('>IHHQQI', REQ, 0, 2, 0, 0, 0) + struct.pack('>IHHQQI', REQ, 0, 0, 10, 0, 512))
check(closed(s), "after DISC: closed without replies")

s = conn(); greet(s); go(s, 'ro')
request(s, 1, 0, 4096, cookie=11, payload=b'w' * 4096)
check(simple_reply(s)[0] == EPERM, "write on read-only: EPERM")
request(s, 6, 0, 4096, cookie=12)
check(simple_reply(s)[0] == EPERM, "write zeroes on read-only: EPERM")
s.close()

s = conn(); greet(s); go(s, 'rw')
s.sendall(struct.pack('>IHHQQI', 0xdeadbeef, 0, 0, 1, 0, 512))
check(closed(s), "bad request magic: hang up")

s = conn(); greet(s); go(s, 'rw')
request(s, 1, 0, 64 << 20, cookie=13)
check(closed(s), "write over the maximum block size: hang up")
healthy("oversized write")

# a burst of small requests in one packet: more than the server handles
# per wake-up, with no further bytes to wake it again
s = conn(); greet(s); go(s, 'rw')
s.sendall(b''.join(struct.pack('>IHHQQI', REQ, 0, 0, 1000 + i, i * 512, 512) for i in range(700)))
got = set()
for i in range(700):
    err, cookie, data = simple_reply(s, 512)
    check(err == 0 and data == b'a' * 512, "burst reply %d" % i)
    got.add(cookie)
check(got == set(range(1000, 1700)), "every request of a burst answered")
s.close()

# ---- extended headers ----
s = conn(); greet(s)
size, tflags = go(s, 'rw', extended=True)
check(size == 16 << 20, "extended: size")
request(s, 1, 8 << 20, 8192, cookie=20, payload=b'E' * 8192, ext=True)
ch = ext_chunks(s)
check(len(ch) == 1 and ch[0][1] == 0 and ch[0][2] == 20, "extended: write acked with NONE")
request(s, 0, (8 << 20) - 4096, 12288, cookie=21, ext=True)
data = bytearray(12288)
for fl, typ, cookie, p in ext_chunks(s):
    off = struct.unpack('>Q', p[:8])[0] - ((8 << 20) - 4096)
    if typ == 1:
        data[off:off + len(p) - 8] = p[8:]
    elif typ == 2:
        n = struct.unpack('>I', p[8:12])[0]
        data[off:off + n] = bytes(n)
check(bytes(data) == bytes(4096) + b'E' * 8192, "extended: read back")
request(s, 0, 1 << 40, 512, cookie=22, ext=True)
ch = ext_chunks(s)
check(ch[-1][1] == 0x8001 and struct.unpack('>I', ch[-1][3][:4])[0] == EINVAL,
      "extended: error chunk")
request(s, 4, 0, 1 << 33, cookie=23, ext=True)
ch = ext_chunks(s)
check(ch[-1][1] == 0x8001 and struct.unpack('>I', ch[-1][3][:4])[0] == ENOSPC,
      "extended: 64-bit trim past the end: ENOSPC")
s.close()

# ---- clients that vanish or stall ----
s = conn(); greet(s); go(s, 'rw')
request(s, 1, 0, 1 << 20, cookie=30, payload=b'h' * 4000)   # half a write
s.close()
s = conn(); greet(s); go(s, 'rw')
for i in range(32):
    request(s, 0, i << 16, 1 << 20, cookie=40 + i)   # reads, then gone
s.close()
stall = conn(); greet(stall); go(stall, 'rw')
stall.sendall(struct.pack('>IHHQ', REQ, 0, 0, 50))   # half a header, then silence
healthy("a stalled client")
stall2 = conn(); greet(stall2)
stall2.sendall(struct.pack('>QI', IHAVEOPT, 7))       # half an option
healthy("a client stalled in the handshake")
# nothing written by the vanished half write
healthy("vanished clients")

# ---- bounded memory: many reads, replies never read ----
rss0 = rss_kb()
flood = conn(); greet(flood); go(flood, 'rw')
flood.settimeout(0.5)
sent = 0
try:
    for i in range(4000):
        request(flood, 0, 0, 1 << 20, cookie=i)
        sent += 1
except socket.timeout:
    pass
time.sleep(1)
rss1 = rss_kb()
healthy("a client that does not read its replies")
check(rss1 - rss0 < 400 * 1024, "memory bounded under a reply flood: %d KiB -> %d KiB" % (rss0, rss1))
rss_flood0, rss_flood1 = rss0, rss1
flood.close()
stall.close()
stall2.close()

# ---- 1000 connections: no fd or memory leak ----
def one_round(n):
    for i in range(n):
        s = conn()
        if i % 2:
            greet(s); go(s, 'ro')
            request(s, 0, 0, 4096)
            simple_reply(s, 4096)
            request(s, 2, 0, 0)
        s.close()

one_round(100)
time.sleep(0.5)
fd0, rss0 = nfds(), rss_kb()
one_round(1000)
time.sleep(0.5)
fd1, rss1 = nfds(), rss_kb()
check(fd1 == fd0, "fds after 1000 connections: %d -> %d" % (fd0, fd1))
check(rss1 - rss0 < 24 * 1024, "RSS after 1000 connections: %d KiB -> %d KiB" % (rss0, rss1))
healthy("1000 connections")
print("reply flood: RSS %d -> %d KiB; 1000 connections: fds %d -> %d, RSS %d -> %d KiB"
      % (rss_flood0, rss_flood1, fd0, fd1, rss0, rss1))

if nbdwire.failures:
    sys.exit(1)
print("all bad-client checks passed")
