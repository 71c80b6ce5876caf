#!/usr/bin/env python3
# gen-virtq-corpus.py - writes tests/fuzz/corpus-virtq: well-formed and
# malformed split-queue layouts in fuzz-virtq.c's input format (a 32-byte
# header, then guest RAM from 0x80000000).  Run from tests/fuzz.
import struct

BASE = 0x80000000
NEXT, WRITE, INDIRECT = 1, 2, 4


def seed(name, descs, heads, log2n=3, feat=3, desc=0, avail=0x1000, used=0x2000,
         notifies=1, flags=0, deltas=(0, 0, 0), idx=None, extra=(), raw_num=0):
    """descs: {index: (offset, len, flags, next)} in the main table;
    extra: (ram_offset, bytes) written last (indirect tables, buffers)."""
    ram = bytearray(0x3000)
    for i, (off, ln, fl, nx) in descs.items():
        struct.pack_into('<QIHH', ram, desc + 16 * i, BASE + off, ln, fl, nx)
    struct.pack_into('<HH', ram, avail, 0, len(heads) if idx is None else idx)
    for k, h in enumerate(heads):
        struct.pack_into('<H', ram, avail + 4 + 2 * k, h)
    for off, b in extra:
        ram[off:off + len(b)] = b
    hdr = struct.pack('<BBHiiiBB3H8x', log2n | (0x80 if raw_num else 0), feat, raw_num,
                      desc, avail, used, notifies - 1, flags, *deltas)
    assert len(hdr) == 32
    with open('corpus-virtq/' + name, 'wb') as f:
        f.write(hdr + bytes(ram).rstrip(b'\0'))


def table(*descs):
    return b''.join(struct.pack('<QIHH', BASE + o, ln, fl, nx) for o, ln, fl, nx in descs)


# well-formed: a blk-like request (header, data, status), a lone writable
# buffer, an indirect request; then the driver re-offers the same heads
ok = {0: (0x2800, 16, NEXT, 1), 1: (0x2900, 512, NEXT | WRITE, 2),
      2: (0x2b00, 1, WRITE, 0), 3: (0x2c00, 64, WRITE, 0),
      4: (0x2d00, 48, INDIRECT, 0)}
ind = (0x2d00, table((0x2e00, 16, NEXT, 1), (0x2e10, 100, NEXT | WRITE, 2),
                     (0x2f00, 1, WRITE, 0)))
seed('ok-blk', ok, [0, 3, 4, 0, 3, 4, 0, 3], notifies=3, deltas=(2, 3, 0), idx=3,
     extra=[ind])
seed('ok-plain', {0: (0x2800, 16, NEXT, 1), 1: (0x2900, 512, WRITE, 0)}, [0, 0, 0, 0],
     log2n=2, feat=0, notifies=4, deltas=(1, 1, 1), idx=1)
seed('ok-reset', ok, [0, 3, 4, 0, 3, 4, 0, 3], notifies=4, flags=4 | 8 | 2 | 1,
     deltas=(1, 1, 1), idx=2, extra=[ind])
# zero-length buffers in a chain, a chain using the whole table
seed('ok-zero-len', {0: (0x2800, 0, NEXT, 1), 1: (0x2900, 0, WRITE | NEXT, 2),
                     2: (0x2a00, 8, WRITE, 0)}, [0], extra=[ind])
seed('ok-full-chain', {i: (0x2800 + 16 * i, 16, NEXT | (WRITE if i > 3 else 0), i + 1)
                       for i in range(7)} | {7: (0x2900, 4, WRITE, 0)}, [0])

# malformed chains: each must end in NEEDS_RESET
seed('bad-loop', {0: (0x2800, 16, NEXT, 1), 1: (0x2900, 16, NEXT, 0)}, [0])
seed('bad-next-range', {0: (0x2800, 16, NEXT, 200)}, [0])
seed('bad-head-range', {0: (0x2800, 16, 0, 0)}, [9])
seed('bad-avail-ahead', {0: (0x2800, 16, 0, 0)}, [0], idx=100)
seed('bad-outside-ram', {0: (0xfff0, 32, 0, 0)}, [0])
seed('bad-below-ram', {0: (-0x10, 16, 0, 0)}, [0])
seed('bad-read-after-write', {0: (0x2800, 16, WRITE | NEXT, 1), 1: (0x2900, 16, 0, 0)}, [0])
seed('bad-indirect-nested', {0: (0x2d00, 32, INDIRECT, 0)}, [0],
     extra=[(0x2d00, table((0x2e00, 16, NEXT, 1), (0x2d00, 32, INDIRECT, 0)))])
seed('bad-indirect-next', {0: (0x2d00, 16, INDIRECT | NEXT, 1), 1: (0x2800, 4, 0, 0)}, [0],
     extra=[(0x2d00, table((0x2e00, 16, 0, 0)))])
seed('bad-indirect-size', {0: (0x2d00, 24, INDIRECT, 0)}, [0])
seed('bad-indirect-huge', {0: (0x2000, 1025 * 16, INDIRECT, 0)}, [0])
seed('bad-indirect-unaligned', {0: (0x2d04, 16, INDIRECT, 0)}, [0])
seed('bad-indirect-loop', {0: (0x2d00, 32, INDIRECT, 0)}, [0],
     extra=[(0x2d00, table((0x2e00, 16, NEXT, 1), (0x2e00, 16, NEXT, 0)))])
seed('bad-indirect-unnegotiated', {0: (0x2d00, 16, INDIRECT, 0)}, [0], feat=0,
     extra=[(0x2d00, table((0x2e00, 16, 0, 0)))])
# bad queue set-up
seed('bad-rings-outside', ok, [0], used=0xfff8)
seed('bad-rings-misaligned', ok, [0], desc=8)
seed('bad-size-not-pow2', ok, [0], raw_num=6)
seed('bad-size-too-big', ok, [0], raw_num=512)
seed('bad-features', ok, [0], feat=4)
# hostile overlap: the used ring lies over the available ring's index, so
# our pushes rewrite it
seed('hostile-overlap', ok, [0, 3, 0, 3, 0, 3, 0, 3], used=0x1000 - 4, idx=8, notifies=2,
     deltas=(8, 0, 0), flags=2)
