#!/usr/bin/env python3
"""gpu-check.py - the host side of tests/system/virtio-gpu.sh.

    gpu-check.py QMPSOCK LOG DIR WIDTH HEIGHT [--no-stats]
    gpu-check.py QMPSOCK --no-display DIR
    gpu-check.py QMPSOCK --savevm LOG DIR

Talks QMP on QMPSOCK while the guest of virtio-gpu.sh runs (its serial
output in LOG): when the guest has printed its lines on the frame buffer
console (GPU-READY), a PNG screendump must decode (zlib only, no PIL),
have the guest's mode size and show text where the guest wrote it; the
display statistics must not move while the guest is idle; after the
guest cleared its screen (GPU-CLEARED), a second dump must differ and be
black.  Then the error paths: an unknown format, an unknown device, PPM.
--no-stats: skip the statistics (qemu-system-riscv64 has none).
--no-display: a machine without a display answers screendump with
qemu's error; then quits it.
--savevm: savevm while the guest's lines are on the screen, loadvm after
the guest cleared it: the lines are back.
Prints one line per check; exits 1 at the first failure."""

import json
import os
import socket
import struct
import sys
import time
import zlib


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


class Monitor:
    def __init__(self, path):
        deadline = time.time() + 60
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                if time.time() > deadline:
                    fail("no monitor on " + path)
                time.sleep(0.2)
        self.f = self.s.makefile("rwb")
        self.read()                       # greeting
        self.cmd("qmp_capabilities")

    def read(self):
        while True:
            line = self.f.readline()
            if not line:
                fail("the monitor closed the connection")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.f.write(json.dumps(msg).encode() + b"\n")
        self.f.flush()
        return self.read()

    def ok(self, name, **args):
        r = self.cmd(name, **args)
        if "return" not in r:
            fail("%s %s: %s" % (name, args, r))
        return r["return"]


def png_decode(path):
    """(width, height, rows of RGB bytes) of an 8-bit RGB or RGBA PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(path + ": not a PNG")
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        crc = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0]
        if zlib.crc32(kind + body) != crc:
            fail("%s: bad CRC in chunk %s" % (path, kind))
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype = ihdr[0], ihdr[1], ihdr[2], ihdr[3]
    if depth != 8 or ctype not in (2, 6) or ihdr[6] != 0:
        fail("%s: depth %d colour type %d interlace %d" % (path, depth, ctype, ihdr[6]))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    if len(raw) != h * (stride + 1):
        fail("%s: %d bytes of image data for %dx%d" % (path, len(raw), w, h))
    rows, prev = [], bytearray(stride)
    for y in range(h):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ft == 1:
                line[i] = (line[i] + a) & 255
            elif ft == 2:
                line[i] = (line[i] + b) & 255
            elif ft == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
            elif ft != 0:
                fail("%s: filter type %d" % (path, ft))
        prev = line
        if bpp == 4:
            line = bytearray(b for i, b in enumerate(line) if i % 4 != 3)
        rows.append(bytes(line))
    return w, h, rows


def lit_rows(rows, y0, y1):
    """How many pixel rows in [y0, y1) have any non-black pixel."""
    return sum(1 for y in range(y0, y1) if rows[y].strip(b"\0"))


def wait_log(log, text, secs):
    deadline = time.time() + secs
    while time.time() < deadline:
        try:
            if text in open(log, "rb").read().decode("latin-1"):
                return
        except OSError:
            pass
        time.sleep(0.2)
    fail("the guest never printed " + text)


def stats(m):
    return [(c["frames"], c["regions"]) for c in m.ok("query-display-stats")]


def no_display(sock, d):
    m = Monitor(sock)
    r = m.cmd("screendump", filename=os.path.join(d, "none.png"))
    want = "There is no console to take a screendump from"
    if r.get("error", {}).get("desc") != want:
        fail("screendump without a display: %s" % r)
    if os.path.exists(os.path.join(d, "none.png")):
        fail("screendump without a display left a file")
    m.cmd("quit")
    print("screendump without a display: qemu's error: ok")


def text_shown(rows):
    return all(lit_rows(rows, 16 * i, 16 * i + 16) >= 4 for i in range(20))


def savevm(sock, log, d):
    m = Monitor(sock)
    wait_log(log, "GPU-READY", 240)
    time.sleep(1)
    hmp = lambda line: m.ok("human-monitor-command", **{"command-line": line})
    out = hmp("savevm s1")
    if out.strip():
        fail("savevm: %r" % out)
    m.ok("screendump", filename=os.path.join(d, "s1.png"))
    _, _, a = png_decode(os.path.join(d, "s1.png"))
    if not text_shown(a):
        fail("the screen at savevm does not show the guest's lines")
    wait_log(log, "GPU-CLEARED", 60)
    time.sleep(1)
    m.ok("screendump", filename=os.path.join(d, "s2.png"))
    _, _, b = png_decode(os.path.join(d, "s2.png"))
    if lit_rows(b, 0, len(b)):
        fail("the guest did not clear its screen")
    out = hmp("loadvm s1")
    if out.strip():
        fail("loadvm: %r" % out)
    m.ok("screendump", filename=os.path.join(d, "s3.png"))
    _, _, c = png_decode(os.path.join(d, "s3.png"))
    if c != a:
        fail("after loadvm the screen is not the one saved")
    m.cmd("quit")
    print("savevm with the guest's lines on screen, clear, loadvm: the lines are back: ok")


def main():
    if sys.argv[2] == "--savevm":
        return savevm(sys.argv[1], sys.argv[3], sys.argv[4])
    if sys.argv[2] == "--no-display":
        return no_display(sys.argv[1], sys.argv[3])
    sock, log, d, want_w, want_h = sys.argv[1:6]
    want_w, want_h = int(want_w), int(want_h)
    no_stats = "--no-stats" in sys.argv
    m = Monitor(sock)
    wait_log(log, "GPU-READY", 240)
    time.sleep(1)
    a = os.path.join(d, "a.png")
    m.ok("screendump", filename=a, format="png")
    w, h, rows = png_decode(a)
    if (w, h) != (want_w, want_h):
        fail("the dump is %dx%d, the guest's mode %dx%d" % (w, h, want_w, want_h))
    print("PNG screendump decodes, %dx%d as the guest's mode: ok" % (w, h))
    # the guest wrote 20 lines of text from the top (8x16 font): each text
    # row has lit pixels, the bottom of the screen has none
    for i in range(20):
        if lit_rows(rows, 16 * i, 16 * i + 16) < 4:
            fail("text line %d (pixel rows %d-%d) is blank in the dump" % (i, 16 * i, 16 * i + 15))
    if lit_rows(rows, 16 * 30, h):
        fail("the screen below the guest's text is not blank")
    print("the dump shows the guest's 20 lines of text and nothing below: ok")
    if not no_stats:
        s1 = stats(m)
        if not s1 or s1[0][0] == 0:
            fail("no frames counted for the guest's drawing: %s" % s1)
        time.sleep(3)
        s2 = stats(m)
        if s1 != s2:
            fail("an idle guest cost display work: %s, 3 s later %s" % (s1, s2))
        print("idle guest for 3 s: no frames sent (%d frames, %d regions before): ok"
              % s1[0])
    wait_log(log, "GPU-CLEARED", 60)
    time.sleep(1)
    b = os.path.join(d, "b.png")
    if no_stats:                            # qemu: PPM by default
        m.ok("screendump", filename=b, format="png")
    else:                                   # ours: PNG by default
        m.ok("screendump", filename=b)
    w2, h2, rows2 = png_decode(b)
    if (w2, h2) != (w, h) or rows2 == rows:
        fail("the dump after the guest cleared its screen is the same")
    if lit_rows(rows2, 0, h2):
        fail("the cleared screen is not black: %d lit rows" % lit_rows(rows2, 0, h2))
    print("second dump after the guest cleared its screen: differs, black: ok")
    if not no_stats:
        s3 = stats(m)
        if s3[0][0] <= s2[0][0]:
            fail("clearing the screen counted no frames")
    p = os.path.join(d, "c.ppm")
    m.ok("screendump", filename=p, format="ppm")
    data = open(p, "rb").read()
    hdr = b"P6\n%d %d\n255\n" % (w, h)
    if not data.startswith(hdr) or len(data) != len(hdr) + 3 * w * h:
        fail("PPM dump: header %r, %d bytes" % (data[:20], len(data)))
    print("PPM screendump: ok")
    r = m.cmd("screendump", filename=os.path.join(d, "x.png"), device="nosuchdev")
    if "error" not in r or "nosuchdev" not in r["error"]["desc"]:
        fail("screendump of an unknown device: %s" % r)
    r = m.cmd("screendump", filename=os.path.join(d, "x.png"), format="gif")
    if "error" not in r:
        fail("screendump format gif: %s" % r)
    r = m.cmd("screendump", filename="/nonexistent/dir/x.png")
    if "error" not in r:
        fail("screendump into a missing directory: %s" % r)
    print("screendump errors (device, format, file): ok")
    if not no_stats:
        out = m.ok("human-monitor-command", **{"command-line": "screendump -f ppm %s" % p})
        if out.strip() or not os.path.getsize(p):
            fail("HMP screendump: %r" % out)
        out = m.ok("human-monitor-command", **{"command-line": "info display"})
        if "%dx%d" % (w, h) not in out or "frames" not in out:
            fail("info display: %r" % out)
        print("HMP screendump and info display: ok")


main()
