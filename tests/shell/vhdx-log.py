#!/usr/bin/env python3
"""vhdx-log.py - leave a VHDX log for replay tests (VHDX specification 2.3).

  vhdx-log.py leave IMAGE   point the header at the log entries qemu-io left
                            behind and zero the sectors they rewrite
  vhdx-log.py build IMAGE [TEXT]
                            write a log entry by hand: one data sector into
                            payload block 0 (TEXT repeated, if given) and a
                            zeroed range in block 1
"""
import os
import struct
import sys


def crc32c(b):
    crc = 0xffffffff
    for x in b:
        crc = TAB[(crc ^ x) & 0xff] ^ (crc >> 8)
    return crc ^ 0xffffffff


TAB = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ (0x82f63b78 if c & 1 else 0)
    TAB.append(c)


def with_crc(buf, at=4):
    buf = bytearray(buf)
    buf[at:at + 4] = bytes(4)
    buf[at:at + 4] = struct.pack('<I', crc32c(bytes(buf)))
    return bytes(buf)


def current_header(f):
    hs = []
    for off in (65536, 131072):
        f.seek(off)
        hs.append((struct.unpack('<Q', f.read(16)[8:16])[0], off))
    return max(hs)[1]


def set_log_guid(f, guid):
    cur = current_header(f)
    f.seek(cur)
    h = bytearray(f.read(4096))
    h[48:64] = guid
    f.seek(cur)
    f.write(with_crc(h))
    return struct.unpack('<Q', h[72:80])[0]


def bat_entries(f, n):
    f.seek(196608)
    rt = f.read(65536)
    for i in range(struct.unpack('<I', rt[8:12])[0]):
        e = rt[16 + 32 * i:48 + 32 * i]
        if e[:4] == bytes.fromhex('6677c22d'):
            f.seek(struct.unpack('<Q', e[16:24])[0])
            return [struct.unpack('<Q', f.read(8))[0] for _ in range(n)]
    sys.exit('no BAT region')


def leave(f):
    f.seek(1 << 20)
    e = f.read(4096)
    if e[:4] != b'loge':
        sys.exit('qemu-io left no log entry')
    ndesc = struct.unpack('<I', e[24:28])[0]
    set_log_guid(f, e[32:48])
    for i in range(ndesc):
        d = e[64 + 32 * i:96 + 32 * i]
        f.seek(struct.unpack('<Q', d[16:24])[0])
        f.write(bytes(4096))


def build(f):
    guid = os.urandom(16)
    log_off = set_log_guid(f, guid)
    b0, b1 = [(e >> 20) << 20 for e in bat_entries(f, 2)]
    f.seek(0, 2)
    size = f.tell()
    seq = 0x123456789
    target = bytes((i * 7 + 3) & 0xff for i in range(4096))
    if len(sys.argv) > 3:
        text = sys.argv[3].encode()
        target = (text * (4096 // len(text) + 1))[:4096]
    head = struct.pack('<4sIIIQII16sQQ', b'loge', 0, 8192, 0, seq, 2, 0, guid, size, size)
    desc = struct.pack('<4s4s8sQQ', b'desc', target[4092:], target[:8], b0 + 4096, seq)
    zero = struct.pack('<4sIQQQ', b'zero', 0, 8192, b1, seq)
    sec = (head + desc + zero).ljust(4096, b'\0')
    data = struct.pack('<4sI', b'data', seq >> 32) + target[8:4092] + \
        struct.pack('<I', seq & 0xffffffff)
    f.seek(log_off)
    f.write(with_crc(sec + data))


with open(sys.argv[2], 'r+b') as img:
    {'leave': leave, 'build': build}[sys.argv[1]](img)
