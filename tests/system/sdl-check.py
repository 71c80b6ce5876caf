#!/usr/bin/env python3
"""sdl-check.py - the host side of tests/system/display-sdl.sh.

    sdl-check.py QMPSOCK LOG DIR NAME
    sdl-check.py QMPSOCK LOG NAME --mouse
    sdl-check.py NAME --vc

Drives emu-system-riscv64 -name NAME -display sdl on the X server of
$DISPLAY (Xvfb) while the guest of display-sdl.sh runs (its serial output
in LOG): it finds the window by its title, compares a screenshot of it
with a QMP screendump, checks the title against stop/cont, types a shell
command into the window (xdotool) and waits for the guest's answer on
the serial port, moves the pointer and clicks at 1:1 and scaled, sees
the guest's pointer image (tests/system/drm-cursor.c) as the window's
(the guest's tablet events come on the serial port too, od's
words), toggles full
screen with Ctrl-Alt-F, shows the second virtio-gpu with Ctrl-Alt-2,
types 'stop' and 'cont' on the monitor's text console (Ctrl-Alt-3),
watches the
back end's counters stay still while the guest is idle, and closes the
window: the first close must bring QMP's POWERDOWN event, the second
must end the emulator.  --mouse: with a relative mouse only, a click
grabs, motion arrives relative, Ctrl-Alt-G lets go.  --vc: the default
serial port and monitor on text consoles; 'quit' typed on the monitor.  Needs python3-xlib; screendumps are PPM.
Prints one line per check; exits 1 at the first failure."""

import json
import os
import socket
import subprocess
import sys
import time

import Xlib.error
from Xlib import X, display as xdisplay, protocol


def fail(msg):
    print("FAIL: " + msg)
    sys.stdout.flush()
    sys.exit(1)


def ppm_decode(path):
    """(width, height, rows of RGB bytes) of a binary PPM screendump."""
    data = open(path, "rb").read()
    parts = data.split(b"\n", 3)
    if len(parts) != 4 or parts[0] != b"P6" or parts[2] != b"255":
        fail(path + ": not a PPM screendump")
    w, h = map(int, parts[1].split())
    px = parts[3]
    if len(px) != 3 * w * h:
        fail("%s: %d bytes of pixels for %dx%d" % (path, len(px), w, h))
    return w, h, [px[3 * w * y:3 * w * (y + 1)] for y in range(h)]


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
        self.events = []
        self.read()                       # greeting
        self.ok("qmp_capabilities")

    def read(self):
        while True:
            line = self.f.readline()
            if not line:
                fail("the monitor closed the connection")
            msg = json.loads(line)
            if "event" in msg:
                self.events.append(msg["event"])
                continue
            return msg

    def ok(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.f.write(json.dumps(msg).encode() + b"\n")
        self.f.flush()
        r = self.read()
        if "return" not in r:
            fail("%s %s: %s" % (name, args, r))
        return r["return"]

    def wait_event(self, name, secs):
        """Whether event NAME came (or comes within SECS seconds)."""
        self.s.settimeout(0.2)
        deadline = time.time() + secs
        try:
            while name not in self.events and time.time() < deadline:
                try:
                    line = self.f.readline()
                except (socket.timeout, OSError):
                    continue
                if not line:
                    break
                msg = json.loads(line)
                if "event" in msg:
                    self.events.append(msg["event"])
        finally:
            self.s.settimeout(None)
        return name in self.events


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


class Screen:
    def __init__(self, name):
        self.d = xdisplay.Display()
        self.root = self.d.screen().root
        self.utf8 = self.d.intern_atom("UTF8_STRING")
        self.net_name = self.d.intern_atom("_NET_WM_NAME")
        self.win = None
        deadline = time.time() + 30
        while not self.win:
            self.win = self.find(self.root, name, 3)
            if not self.win:
                if time.time() > deadline:
                    fail("no window with '%s' in its title" % name)
                time.sleep(0.2)

    def find(self, w, name, depth):
        """The window below W titled NAME (a window manager puts it in
        a frame of its own)."""
        # Windows come and go while we walk them (the previous machine's
        # window, the window manager's frames): one that went is no match.
        try:
            children = w.query_tree().children
        except Xlib.error.XError:
            return None
        for c in children:
            try:
                if name in self.title(c):
                    return c
            except Xlib.error.XError:
                continue
            if depth > 1:
                f = self.find(c, name, depth - 1)
                if f:
                    return f
        return None

    def title(self, w=None):
        w = w or self.win
        p = w.get_full_property(self.net_name, self.utf8)
        if p:
            return p.value.decode("utf-8", "replace")
        n = w.get_wm_name()
        return n if isinstance(n, str) else ""

    def size(self):
        g = self.win.get_geometry()
        return g.width, g.height

    def shot(self):
        """(w, h, rows of RGB bytes) of the window's contents."""
        w, h = self.size()
        img = self.win.get_image(0, 0, w, h, X.ZPixmap, 0xffffffff)
        data, rows = img.data, []
        if isinstance(data, str):
            data = data.encode("latin-1")
        stride = len(data) // h
        for y in range(h):
            line = data[y * stride:y * stride + 4 * w]
            rgb = bytearray(3 * w)
            rgb[0::3] = line[2::4]
            rgb[1::3] = line[1::4]
            rgb[2::3] = line[0::4]
            rows.append(bytes(rgb))
        return w, h, rows

    def cursor(self):
        """(width, height, hot x, hot y, middle pixel) of the pointer."""
        if not getattr(self, "xfixes", False):
            self.d.xfixes_query_version()
            self.xfixes = True
        r = self.d.xfixes_get_cursor_image(self.root)
        return (r.width, r.height, r.xhot, r.yhot,
                r.cursor_image[len(r.cursor_image) // 2] & 0xffffffff)

    def close(self):
        """What a window manager sends when the user closes the window."""
        proto = self.d.intern_atom("WM_PROTOCOLS")
        delete = self.d.intern_atom("WM_DELETE_WINDOW")
        ev = protocol.event.ClientMessage(window=self.win, client_type=proto,
                                          data=(32, [delete, X.CurrentTime, 0, 0, 0]))
        self.win.send_event(ev, event_mask=0)
        self.d.flush()

    def focus(self):
        self.win.set_input_focus(X.RevertToParent, X.CurrentTime)
        self.d.sync()


def xdotool(*args):
    subprocess.run(["xdotool"] + list(args), check=True)


def log_size(log):
    return os.path.getsize(log)


def tev(log, pos):
    """The (type, code, value) of the guest's pointer events after
    offset POS of LOG (od's lines of twelve 16-bit words)."""
    with open(log, "rb") as f:
        f.seek(pos)
        text = f.read().decode("latin-1")
    evs = []
    for line in text.replace("\r", "").split("\n"):
        w = line.split()
        if len(w) == 12 and all(x.lstrip("-").isdigit() for x in w):
            v = [int(x) & 0xffff for x in w]
            evs.append((v[8], v[9], v[10] | (v[11] << 16)))
    return evs


def wait_tev(log, pos, want, what):
    """Wait until the guest's pointer events after offset POS of LOG hold
    the (type, code, value) of WANT, in that order."""
    deadline = time.time() + 10
    while True:
        evs = tev(log, pos)
        i = 0
        for e in evs:
            if i < len(want) and e == want[i]:
                i += 1
        if i == len(want):
            return
        if time.time() > deadline:
            fail("%s: the guest's tablet got %s, not %s" % (what, evs, want))
        time.sleep(0.2)


def wait_until(what, cond, secs):
    deadline = time.time() + secs
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.1)
    fail(what)


def lit_rows(rows, y0, y1):
    return sum(1 for y in range(y0, y1) if rows[y].strip(b"\0"))


def ui_stats(m):
    st = m.ok("query-display-stats")
    if not st or "ui" not in st[0]:
        fail("query-display-stats has no counters of the sdl back end: %s" % st)
    ui = st[0]["ui"]
    if ui.get("backend") != "sdl":
        fail("query-display-stats: the back end is %s" % ui)
    return ui["presents"], ui["uploads"], ui["pixels"]


def mouse(sock, log, name):
    """A relative mouse only: a click grabs, motion goes as relative
    steps, Ctrl-Alt-G lets go."""
    m = Monitor(sock)
    wait_log(log, "SDL-READY", 240)
    s = Screen(name)
    s.focus()
    xdotool("mousemove", "--window", str(s.win.id), "200", "200")
    if "Ctrl-Alt-G" in s.title():
        fail("grabbed before any click: %r" % s.title())
    pos = log_size(log)
    xdotool("click", "1")
    wait_until("a click into the window did not grab: %r" % s.title(),
               lambda: "Ctrl-Alt-G" in s.title(), 5)
    print("a relative mouse: a click grabs, the title says how to let go: ok")
    time.sleep(0.5)
    xdotool("mousemove_relative", "--", "30", "20")
    deadline = time.time() + 10
    while True:
        evs = tev(log, pos)
        if any(e[0] == 1 for e in evs):
            fail("the click that grabbed reached the guest: %s" % evs)
        dx = sum(e[2] - (1 << 32 if e[2] >= 1 << 31 else 0) for e in evs if e[:2] == (2, 0))
        dy = sum(e[2] - (1 << 32 if e[2] >= 1 << 31 else 0) for e in evs if e[:2] == (2, 1))
        if dx > 0 and dy > 0:
            break
        if time.time() > deadline:
            fail("relative motion (+30, +20) while grabbed: the guest's mouse got %s" % evs)
        time.sleep(0.2)
    print("grabbed: motion reaches the guest's mouse as relative steps (%+d, %+d): ok"
          % (dx, dy))
    pos = log_size(log)
    xdotool("click", "3")
    wait_tev(log, pos, [(1, 0x111, 1), (1, 0x111, 0)], "a right click while grabbed")
    xdotool("key", "ctrl+alt+g")
    wait_until("Ctrl-Alt-G did not let go: %r" % s.title(),
               lambda: "Ctrl-Alt-G" not in s.title(), 5)
    print("grabbed: a right click reaches the guest; Ctrl-Alt-G lets go: ok")
    m.ok("quit")


def vc(name):
    """No -serial, no -monitor, no virtio-gpu: the serial port is
    console 1, a text console, and shows the firmware's banner; the
    monitor is console 2, where 'quit' typed ends the emulator."""
    s = Screen(name)
    deadline = time.time() + 30
    while True:
        w, h, shot = s.shot()
        if w % 80 == 0 and h % 24 == 0 and lit_rows(shot, 0, h) > 5 * 8:
            break
        if time.time() > deadline:
            fail("the serial port's console: %dx%d, %d lit rows" % (w, h, lit_rows(shot, 0, h)))
        time.sleep(0.3)
    print("without -serial: the serial port on a text console in the window (%dx%d), "
          "the firmware's banner on it: ok" % (w, h))
    s.focus()
    xdotool("mousemove", "--window", str(s.win.id), "10", "10")
    xdotool("key", "ctrl+alt+2")
    time.sleep(0.5)
    xdotool("type", "--delay", "40", "quit")
    xdotool("key", "Return")


def main():
    if "--vc" in sys.argv:
        return vc(sys.argv[1])
    if "--mouse" in sys.argv:
        return mouse(sys.argv[1], sys.argv[2], sys.argv[3])
    sock, log, d, name = sys.argv[1:5]
    m = Monitor(sock)
    wait_log(log, "SDL-READY", 240)
    time.sleep(1)
    s = Screen(name)
    t = s.title()
    if "Paused" in t:
        fail("a running guest's title says it is paused: %r" % t)
    print("window found by its title %r: ok" % t)

    # the window has the guest's mode: a screenshot is the screendump
    wait_until("the window is %dx%d, not the guest's 1280x800" % s.size(),
               lambda: s.size() == (1280, 800), 10)
    for attempt in range(10):
        p = os.path.join(d, "dump%d.ppm" % attempt)
        m.ok("screendump", filename=p, format="ppm")
        w, h, dump = ppm_decode(p)
        _, _, shot = s.shot()
        if dump[:320] == shot[:320]:
            break
        time.sleep(0.5)
    else:
        bad = [y for y in range(320) if dump[y] != shot[y]]
        fail("the window differs from the screendump in %d of the text's 320 rows (first %d)"
             % (len(bad), bad[0]))
    if lit_rows(shot, 0, 320) < 20 * 4:
        fail("the window shows no text where the guest wrote it (%d lit rows)"
             % lit_rows(shot, 0, 320))
    print("screenshot of the window = QMP screendump where the guest wrote (1280x800): ok")

    # an idle guest costs the window nothing
    a = ui_stats(m)
    if a[0] == 0 or a[1] == 0:
        fail("nothing was presented or uploaded: %s" % (a,))
    time.sleep(3)
    b = ui_stats(m)
    if a != b:
        fail("an idle guest cost the window work: presents/uploads/pixels %s, 3 s later %s"
             % (a, b))
    out = m.ok("human-monitor-command", **{"command-line": "info display"})
    if "sdl: presents %d" % a[0] not in out:
        fail("info display: %r" % out)
    print("idle guest for 3 s: no present, no upload (%d presents, %d uploads): ok" % a[:2])

    # the title follows the run state
    m.ok("stop")
    wait_until("after stop the title does not say Paused: %r" % s.title(),
               lambda: "Paused" in s.title() and name in s.title(), 5)
    m.ok("cont")
    wait_until("after cont the title still says Paused: %r" % s.title(),
               lambda: "Paused" not in s.title(), 5)
    print("title: '%s' after stop, none after cont: ok" % "Paused")

    # keys typed into the window reach the shell on the guest's VT
    s.focus()
    xdotool("mousemove", "--window", str(s.win.id), "100", "700")
    _, _, before = s.shot()
    xdotool("type", "--delay", "40", "echo TYPED-$((6*7))")
    xdotool("key", "--delay", "40", "Return")
    wait_log(log, "TYPED-42", 30)
    time.sleep(1)
    _, _, after = s.shot()
    if after == before:
        fail("the window did not change after the guest's shell answered")
    print("keys typed into the window reach the guest's shell; its answer shows: ok")

    # the tablet: window pixel (x, y) is guest pixel (x, y) at 1:1, and
    # the same guest pixel when the window is scaled to half its size
    want_x, want_y = 640 * 32767 // 1279, 400 * 32767 // 799
    pos = log_size(log)
    xdotool("mousemove", "--window", str(s.win.id), "640", "400")
    wait_tev(log, pos, [(3, 0, want_x), (3, 1, want_y)], "the pointer at (640, 400)")
    pos = log_size(log)
    xdotool("click", "1")
    wait_tev(log, pos, [(1, 0x110, 1), (1, 0x110, 0)], "a click")
    print("the pointer reaches the guest's tablet 1:1 (%d, %d), and a click: ok"
          % (want_x, want_y))
    # the guest's pointer image (drm-cursor.c: 32x32 red, hot spot 3,5)
    # is the window's
    wait_log(log, "CURSOR-SET", 10)
    wait_until("the pointer does not look as the guest's: %s" % (s.cursor(),),
               lambda: s.cursor() == (32, 32, 3, 5, 0xffff0000), 5)
    print("the pointer takes the guest's image (32x32, hot spot 3,5): ok")
    xdotool("windowsize", str(s.win.id), "640", "400")
    wait_until("the window is %dx%d, not 640x400" % s.size(), lambda: s.size() == (640, 400), 5)
    xdotool("mousemove", "--window", str(s.win.id), "100", "100")
    time.sleep(0.3)
    pos = log_size(log)
    xdotool("mousemove", "--window", str(s.win.id), "320", "200")
    wait_tev(log, pos, [(3, 0, want_x), (3, 1, want_y)], "the pointer at (320, 200) of 640x400")
    xdotool("key", "ctrl+alt+u")
    wait_until("Ctrl-Alt-U: the window is %dx%d, not 1280x800" % s.size(),
               lambda: s.size() == (1280, 800), 5)
    print("window scaled to 640x400: the pointer maps onto the same guest pixel;"
          " Ctrl-Alt-U: 1280x800 again: ok")

    # Ctrl-Alt-F: the screen's size, and back
    sw, sh = s.root.get_geometry().width, s.root.get_geometry().height
    xdotool("key", "ctrl+alt+f")
    wait_until("Ctrl-Alt-F: the window is %dx%d, not the screen's %dx%d"
               % (s.size() + (sw, sh)), lambda: s.size() == (sw, sh), 5)
    xdotool("key", "ctrl+alt+f")
    wait_until("Ctrl-Alt-F again: the window is %dx%d, not 1280x800" % s.size(),
               lambda: s.size() == (1280, 800), 5)
    print("Ctrl-Alt-F: full screen (%dx%d) and back (1280x800): ok" % (sw, sh))

    # Ctrl-Alt-2: the second virtio-gpu (800x600), once the guest wrote
    # lines there (its tty2); Ctrl-Alt-1: the first again
    xdotool("type", "--delay", "40", "sh /tmp/s2")
    xdotool("key", "--delay", "40", "Return")
    wait_log(log, "SECOND-READY", 30)
    time.sleep(1)
    xdotool("key", "ctrl+alt+2")
    wait_until("Ctrl-Alt-2: the window is %dx%d, not the second screen's 800x600" % s.size(),
               lambda: s.size() == (800, 600), 5)
    for attempt in range(10):
        p = os.path.join(d, "g2-%d.ppm" % attempt)
        m.ok("screendump", filename=p, format="ppm", device="g2")
        _, _, dump = ppm_decode(p)
        _, _, shot = s.shot()
        if dump == shot:
            break
        time.sleep(0.3)
    else:
        fail("Ctrl-Alt-2: the window is not the second screen's screendump")
    if lit_rows(shot, 0, 80) < 5 * 4:
        fail("Ctrl-Alt-2: the guest's lines are not in the window")
    xdotool("key", "ctrl+alt+1")
    wait_until("Ctrl-Alt-1: the window is %dx%d, not 1280x800" % s.size(),
               lambda: s.size() == (1280, 800), 5)
    _, _, shot = s.shot()
    if lit_rows(shot, 0, 320) < 20 * 4:
        fail("Ctrl-Alt-1: the first screen's text is not back")
    print("Ctrl-Alt-2: the second virtio-gpu (800x600, = its screendump, the guest's lines);"
          " Ctrl-Alt-1: back: ok")

    # Ctrl-Alt-3: the human monitor on a text console (vc) after the two
    # graphical ones, as in qemu; what is typed there runs
    xdotool("key", "ctrl+alt+3")
    wait_until("Ctrl-Alt-3: the window is %dx%d, not 80x24 cells" % s.size(),
               lambda: s.size()[0] % 80 == 0 and s.size()[1] % 24 == 0 and
               s.size()[0] < 1280, 5)
    if s.cursor() == (32, 32, 3, 5, 0xffff0000):
        fail("the monitor's console has the first screen's pointer image")
    _, _, before = s.shot()
    xdotool("type", "--delay", "40", "stop")
    xdotool("key", "Return")
    if not m.wait_event("STOP", 10):
        fail("'stop' typed on the monitor's console: no STOP event (%s)" % m.events)
    xdotool("type", "--delay", "40", "cont")
    xdotool("key", "Return")
    if not m.wait_event("RESUME", 10):
        fail("'cont' typed on the monitor's console: no RESUME event (%s)" % m.events)
    time.sleep(0.5)
    cw, ch, after = s.shot()
    if after == before or lit_rows(after, 0, ch) < 3 * 8:
        fail("the monitor's console does not show what was typed")
    xdotool("key", "ctrl+alt+1")
    wait_until("Ctrl-Alt-1: the window is %dx%d, not 1280x800" % s.size(),
               lambda: s.size() == (1280, 800), 5)
    wait_until("back on the first screen, the pointer is not the guest's: %s" % (s.cursor(),),
               lambda: s.cursor() == (32, 32, 3, 5, 0xffff0000), 5)
    print("Ctrl-Alt-3: the monitor's text console (%dx%d, SDL's pointer); 'stop' and 'cont'"
          " typed there run: ok" % (cw, ch))

    # closing the window asks for a powerdown; the second close quits
    s.close()
    if not m.wait_event("POWERDOWN", 10):
        fail("closing the window brought no POWERDOWN event (events: %s)" % m.events)
    print("closing the window: QMP POWERDOWN: ok")
    s.close()
    if not m.wait_event("SHUTDOWN", 10):
        fail("closing the window again did not quit (events: %s)" % m.events)
    print("closing it again: the emulator quits: ok")


main()
