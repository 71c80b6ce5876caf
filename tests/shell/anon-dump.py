#!/usr/bin/env python3
"""anon-dump.py [--mask-names] FMT FILE - print the metadata structures of an image, read
from the raw file, one line per field or table (tables as SHA-256 of their
bytes), so that two images can be compared structure by structure
(tests/shell/img-anonymize*.sh).  Written independently of emu's walkers:
it follows the format specifications, not lib/block/*-anon.c.

User data that anonymize zeroes inside metadata structures is left out:
in a VHDX log, the leading/trailing bytes of a data descriptor whose
target is not metadata, the payload of its data sector, and the entry
checksum (printed as valid/invalid instead).  --mask-names (qcow2) shows
names only by their length, for comparing against a copy made with
emu-img anonymize --scrub-names."""
import hashlib
import os
import struct
import sys

MiB = 1 << 20
MASK = False


def name(b):
    """A name, or with --mask-names only its length."""
    return '<%d bytes>' % len(b) if MASK else b


def sha(b):
    return hashlib.sha256(b).hexdigest()[:16]


class Img:
    def __init__(self, path):
        self.f = open(path, 'rb')
        self.size = os.path.getsize(path)

    def read(self, off, n):
        b = b''
        if off < self.size and n > 0:
            self.f.seek(off)
            b = self.f.read(n)
        return b + bytes(max(n, 0) - len(b))


def be(fmt, b, off=0):
    return struct.unpack_from('>' + fmt, b, off)


def le(fmt, b, off=0):
    return struct.unpack_from('<' + fmt, b, off)


def dump_qcow2(im, out):
    h = im.read(0, 112)
    (magic, ver, boff, bsize, cbits, size, crypt, l1n, l1off, rtoff, rtcl, nsnap,
     snapoff) = be('IIQIIQIIQQIIQ', h)
    cs = 1 << cbits
    out('header magic=%x version=%d backing=%d/%d cluster_bits=%d size=%d crypt=%d' %
        (magic, ver, boff, bsize, cbits, size, crypt))
    out('l1 size=%d offset=%d refcount table=%d clusters=%d snapshots=%d at %d' %
        (l1n, l1off, rtoff, rtcl, nsnap, snapoff))
    hlen = 72
    esize = 8
    if ver >= 3:
        inc, comp, auto, rord, hlen = be('QQQII', h, 72)
        out('features incompat=%x compat=%x autoclear=%x refcount_order=%d header_length=%d' %
            (inc, comp, auto, rord, hlen))
        if inc & 16:
            esize = 16
    hc = bytearray(im.read(0, cs))
    if MASK and boff and boff < cs:
        hc[boff:boff + bsize] = bytes(len(hc[boff:boff + bsize]))
    if boff:
        out('backing file %r' % name(im.read(boff, min(bsize, 65536))))
    # extensions
    p = hlen
    while MASK and p + 8 <= cs:
        t, n = be('II', hc, p)
        if t == 0 or n > cs - p - 8:
            break
        if t == 0x44415441:
            hc[p + 8:p + 8 + n] = bytes(n)
        p += 8 + ((n + 7) & ~7)
    out('header cluster %s' % sha(hc))
    p = hlen
    bitmaps = None
    while p + 8 <= cs:
        t, n = be('II', hc, p)
        if t == 0 or n > cs - p - 8:
            break
        d = hc[p + 8:p + 8 + n]
        out('extension %08x len=%d %s' % (t, n, sha(d)))
        if t == 0x23852875 and n >= 24:
            bitmaps = be('IIQQ', d)
        p += 8 + ((n + 7) & ~7)
    l2s = set()
    comp = 0

    def l1(off, n, what):
        n = min(n, (32 << 20) // 8)
        t = im.read(off, n * 8)
        out('%s L1 at %d entries=%d %s' % (what, off, n, sha(t)))
        for i in range(n):
            e = be('Q', t, 8 * i)[0] & 0x00fffffffffffe00
            if e:
                l2s.add(e)
    l1(l1off, l1n, 'active')
    rt = im.read(rtoff, min(rtcl * cs, 8 << 20))
    out('refcount table %s' % sha(rt))
    for i in range(len(rt) // 8):
        e = be('Q', rt, 8 * i)[0] & 0xfffffffffffffe00
        if e:
            out('refcount block %d at %d %s' % (i, e, sha(im.read(e, cs))))
    p = snapoff
    for i in range(min(nsnap, 65536)):
        e = im.read(p, 40)
        sl1, sl1n, idl, nl, ds, dn, clk, vms, extra = be('QIHHIIQII', e)
        ex = im.read(p + 40, extra)
        sid = im.read(p + 40 + extra, idl)
        nm = im.read(p + 40 + extra + idl, nl)
        out('snapshot %d id=%r name=%r date=%d.%d clock=%d vm_state=%d extra=%s' %
            (i, sid, name(nm), ds, dn, clk, vms, ex.hex()))
        l1(sl1, sl1n, 'snapshot %d' % i)
        p = (p + 40 + extra + idl + nl + 7) & ~7
    for e in sorted(l2s):
        t = im.read(e, cs)
        nc = 0
        for k in range(cs // esize):
            if be('Q', t, k * esize)[0] & (1 << 62):
                nc += 1
        comp += nc
        out('L2 at %d compressed=%d %s' % (e, nc, sha(t)))
    out('compressed entries %d' % comp)
    if bitmaps:
        nb, _, dsize, doff = bitmaps
        d = im.read(doff, min(dsize, 64 << 20))
        dm = bytearray(d)
        q = 0
        for i in range(nb):
            if not MASK or q + 24 > len(d):
                break
            nlen, extra = be('HI', d, q + 18)
            dm[q + 24 + extra:q + 24 + extra + nlen] = bytes(len(dm[q + 24 + extra:q + 24 + extra + nlen]))
            q = (q + 24 + extra + nlen + 7) & ~7
        out('bitmap directory %s' % sha(dm))
        q = 0
        for i in range(nb):
            if q + 24 > len(d):
                break
            toff, tsize, fl, typ, gran, nlen, extra = be('QIIBBHI', d, q)
            nm = d[q + 24 + extra:q + 24 + extra + nlen]
            t = im.read(toff, tsize * 8)
            out('bitmap %r flags=%x granularity=%d table %s' % (name(nm), fl, gran, sha(t)))
            for k in range(tsize):
                c = be('Q', t, 8 * k)[0] & 0x00fffffffffffe00
                if c:
                    out('bitmap data %d %s' % (k, sha(im.read(c, cs))))
            q = (q + 24 + extra + nlen + 7) & ~7


def vmdk_sparse(im, out):
    h = im.read(0, 512)
    hp = h
    if le('Q', h, 56)[0] == 0xffffffffffffffff and im.size >= 1536:
        f = im.read(im.size - 1024, 512)
        out('footer marker %s footer %s eos %s' % (
            sha(im.read(im.size - 1536, 512)), sha(f), sha(im.read(im.size - 512, 512))))
        hp = f
    out('header %s' % sha(h))
    (magic, ver, flags, cap, grain, doff, dsize, gtes, rgd, gd, over) = le('IIIQQQQIQQQ', hp)
    out('magic=%x version=%d flags=%x capacity=%d grain=%d desc=%d/%d gtes=%d rgd=%d gd=%d '
        'overhead=%d' % (magic, ver, flags, cap, grain, doff, dsize, gtes, rgd, gd, over))
    d0, d1 = le('QQ', h, 28)
    if d0 and d1:
        out('descriptor %r' % im.read(d0 * 512, d1 * 512).rstrip(b'\0'))
    n = -(-cap // (grain * gtes))
    gts = set()
    for name, off in (('gd', gd), ('rgd', rgd if flags & 2 else 0)):
        if not off or off == 0xffffffffffffffff:
            continue
        t = im.read(off * 512, n * 4)
        out('%s %s' % (name, sha(t)))
        for i in range(n):
            e = le('I', t, 4 * i)[0]
            if e:
                gts.add(e)
    for g in sorted(gts):
        t = im.read(g * 512, gtes * 4)
        out('gt %d %s' % (g, sha(t)))
        if flags & 0x30000 == 0x30000:
            for k in range(gtes):
                s = le('I', t, 4 * k)[0]
                if s > 1:
                    lba, sz = le('QI', im.read(s * 512, 12))
                    out('grain %d marker lba=%d size=%d' % (s, lba, sz))


def dump_vmdk(im, out):
    if im.read(0, 4) == b'KDMV':
        vmdk_sparse(im, out)
    else:
        out('descriptor %r' % im.read(0, min(im.size, 1 << 20)).rstrip(b'\0'))


def dump_vdi(im, out):
    h = im.read(0, 512)
    out('header %s' % sha(h))
    bmap, dat = le('II', h, 0x154)
    blocks, alloc = le('II', h, 0x180)
    out('bmap=%d data=%d blocks=%d allocated=%d' % (bmap, dat, blocks, alloc))
    out('block map %s' % sha(im.read(bmap, blocks * 4)))


def dump_vpc(im, out):
    f0, f1 = im.read(0, 512), im.read(im.size - 512, 512)
    out('footer copy %s footer %s' % (sha(f0), sha(f1)))
    f = f0 if f0[:8] == b'conectix' else f1
    typ = be('I', f, 60)[0]
    out('type %d' % typ)
    if typ not in (3, 4):
        return
    dyn = be('Q', f, 16)[0]
    d = im.read(dyn, 1024)
    out('dynamic header %s' % sha(d))
    bat, n, bs = be('QII', d, 16)[0], be('I', d, 28)[0], be('I', d, 32)[0]
    t = im.read(bat, n * 4)
    out('bat %s' % sha(t))
    bm = ((bs // 512 // 8) + 511) & ~511
    for i in range(n):
        e = be('I', t, 4 * i)[0]
        if e != 0xffffffff:
            out('block %d bitmap %s' % (i, sha(im.read(e * 512, bm))))


TAB = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ (0x82f63b78 if _c & 1 else 0)
    TAB.append(_c)


def crc32c(b):
    crc = 0xffffffff
    for x in b:
        crc = TAB[(crc ^ x) & 0xff] ^ (crc >> 8)
    return crc ^ 0xffffffff


def dump_vhdx(im, out):
    out('identifier %s' % sha(im.read(0, 65536)))
    regions = []
    for i, at in enumerate((65536, 131072)):
        out('header %d %s' % (i, sha(im.read(at, 4096))))
    for at in (196608, 262144):
        rt = im.read(at, 65536)
        out('region table %s' % sha(rt))
        for i in range(min(le('I', rt, 8)[0], 2047)):
            e = rt[16 + 32 * i:48 + 32 * i]
            off, ln = le('QI', e, 16)
            out('region %s at %d len %d %s' % (e[:16].hex(), off, ln, sha(im.read(off, ln))))
            regions.append((off, ln))

    def meta(o):
        return o < MiB or any(a <= o < a + n for a, n in regions)
    seen = set()
    for at in (65536, 131072):
        h = im.read(at, 80)
        llen, loff = le('I', h, 68)[0], le('Q', h, 72)[0]
        if (loff, llen) in seen or not loff or not llen:
            continue
        seen.add((loff, llen))
        for pos in range(0, llen, 4096):
            e = im.read(loff + pos, 64)
            if e[:4] != b'loge':
                continue
            ln, tail, seq, nd = le('IIQI', e, 8)
            if ln == 0 or ln % 4096 or ln > llen or nd > ln // 32:
                continue
            ent = b''.join(im.read(loff + (pos + k) % llen, 4096) for k in range(0, ln, 4096))
            c = ent[:4] + bytes(4) + ent[8:]
            valid = le('I', ent, 4)[0] == crc32c(c)
            out('log entry at %d len=%d tail=%d seq=%d desc=%d crc %s rest %s' %
                (pos, ln, tail, seq, nd, 'valid' if valid else 'invalid', ent[32:64].hex()))
            dbytes = (64 + 32 * nd + 4095) & ~4095
            k = 0
            for i in range(nd):
                d = ent[64 + 32 * i:96 + 32 * i]
                tgt = le('Q', d, 16)[0]
                if d[:4] == b'desc':
                    s = ent[dbytes + 4096 * k:dbytes + 4096 * (k + 1)]
                    k += 1
                    if meta(tgt):
                        out(' desc %s sector %s' % (d.hex(), sha(s)))
                    else:
                        out(' desc target %d seq %d sector head %s tail %s' %
                            (tgt, le('Q', d, 24)[0], s[:8].hex(), s[-4:].hex()))
                else:
                    out(' %s' % d.hex())


def main():
    global MASK
    args = sys.argv[1:]
    if args[0] == '--mask-names':
        MASK = True
        args = args[1:]
    fmt, path = args
    im = Img(path)
    w = sys.stdout.write
    out = lambda s: w(s + '\n')
    out('file size %d' % im.size)
    {'qcow2': dump_qcow2, 'vmdk': dump_vmdk, 'vdi': dump_vdi, 'vpc': dump_vpc,
     'vhdx': dump_vhdx, 'raw': lambda im, out: None}[fmt](im, out)


main()
