#!/usr/bin/env python3
"""input-check.py - the host side of tests/system/virtio-input.sh.

    input-check.py QMPSOCK LOG [--qemu]

Talks QMP on QMPSOCK while the guest of virtio-input.sh runs (its serial
output in LOG).  When the guest is ready (INPUT-READY) it sends keys and
tablet events with input-send-event and HMP sendkey, checks the
monitors' answers to hostile arguments, types a command into the shell
the guest reads from tty1 (its output must show on the serial log),
toggles caps lock (whose LED must come back, as a trace event in LOG),
presses the power button (system_powerdown) and types "exit".  When the
guest is done, the events it read from /dev/input/event* (its KEV and
TEV lines: type code value) must be the ones sent, each group ended by
EV_SYN.
--qemu: against qemu-system-riscv64, whose system_powerdown presses no
key, which takes out-of-range values without an error and has no trace
event for the LEDs.
Prints one line per check; exits 1 at the first failure."""

import json
import socket
import sys
import time

EV_SYN, EV_KEY, EV_REL, EV_ABS = 0, 1, 2, 3
KEY_A, KEY_Z, KEY_X, KEY_LEFTSHIFT, KEY_POWER, KEY_ENTER = 30, 44, 45, 42, 116, 28
BTN_LEFT, REL_WHEEL = 0x110, 8


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

    def error(self, name, want, **args):
        r = self.cmd(name, **args)
        got = r.get("error", {}).get("desc")
        if got != want:
            fail("%s %s: want the error %r, got %s" % (name, args, want, r))

    def hmp(self, line):
        return self.ok("human-monitor-command", **{"command-line": line})


def log_text(log):
    try:
        with open(log, "rb") as f:
            return f.read().decode("utf-8", "replace").replace("\r", "")
    except OSError:
        return ""


def wait_log(log, text, secs):
    deadline = time.time() + secs
    while time.time() < deadline:
        if text in log_text(log):
            return True
        time.sleep(0.2)
    return False


def key(code, down, kind="qcode"):
    return {"type": "key", "data": {"down": down, "key": {"type": kind, "data": code}}}


def move(kind, axis, value):
    return {"type": kind, "data": {"axis": axis, "value": value}}


def btn(name, down):
    return {"type": "btn", "data": {"button": name, "down": down}}


def type_keys(m, keys):
    """Type KEYS (sendkey names) one command each, as a user would."""
    for k in keys:
        out = m.hmp("sendkey %s 20" % k)
        if out:
            fail("sendkey %s: %r" % (k, out))
        time.sleep(0.1)


def events(log, tag):
    """The guest's TAG lines as (type, code, value)."""
    evs = []
    for line in log_text(log).split("\n"):
        w = line.split()
        if len(w) == 4 and w[0] == tag:
            evs.append(tuple(int(x) for x in w[1:]))
    return evs


def groups(evs, types):
    """EVS split at EV_SYN into groups of the events of TYPES; false when
    an event of TYPES is not followed by a sync."""
    out, cur = [], []
    for t, c, v in evs:
        if t == EV_SYN and c == 0:
            if cur:
                out.append(cur)
            cur = []
        elif t in types:
            cur.append((t, c, v))
    if cur:
        fail("events without EV_SYN at the end: %s" % cur)
    return out


def main():
    sock, log = sys.argv[1], sys.argv[2]
    qemu = "--qemu" in sys.argv[3:]
    m = Monitor(sock)
    if not wait_log(log, "INPUT-READY", 120):
        fail("the guest never got ready:\n" + log_text(log)[-1500:])

    mice = m.ok("query-mice")
    if len(mice) != 1 or mice[0]["name"] != "QEMU Virtio Tablet" or \
            not mice[0]["absolute"] or not mice[0]["current"]:
        fail("query-mice: %s" % mice)
    info = m.hmp("info mice")
    if "* Mouse #%d: QEMU Virtio Tablet (absolute)" % mice[0]["index"] not in info:
        fail("info mice: %r" % info)
    print("query-mice, info mice: ok")

    # keys: a qcode pressed and released in two commands, a scancode
    # number pressed and released in one, shift-x through sendkey
    m.ok("input-send-event", events=[key("a", True)])
    m.ok("input-send-event", events=[key("a", False)])
    m.ok("input-send-event", events=[key(0x2c, True, "number"), key(0x2c, False, "number")])
    if m.hmp("sendkey shift-x 50"):
        fail("sendkey shift-x")
    time.sleep(0.3)
    # the tablet: a position, a click, the wheel
    m.ok("input-send-event", events=[move("abs", "x", 100), move("abs", "y", 32767)])
    m.ok("input-send-event", events=[btn("left", True)])
    m.ok("input-send-event", events=[btn("left", False)])
    m.ok("input-send-event", events=[btn("wheel-up", True), btn("wheel-up", False)])

    # hostile arguments: qemu's messages, and no event sent
    E = "input-send-event"
    m.error(E, "Parameter 'data' does not accept value 'nokey'", events=[key("nokey", True)])
    m.error(E, "Parameter 'type' does not accept value 'mtt'", events=[{"type": "mtt", "data": {}}])
    m.error(E, "Parameter 'events[0].data.down' is missing",
            events=[{"type": "key", "data": {"key": {"type": "qcode", "data": "a"}}}])
    m.error(E, "Invalid parameter type for 'events[1].data.down', expected: boolean",
            events=[key("a", True), {"type": "key", "data": {
                "down": 1, "key": {"type": "qcode", "data": "a"}}}])
    m.error(E, "Parameter 'events[0].data.bogus' is unexpected",
            events=[{"type": "btn", "data": {"button": "left", "down": True, "bogus": 1}}])
    m.error(E, "Parameter 'axis' does not accept value 'z'", events=[move("abs", "z", 1)])
    m.error(E, "Parameter 'button' does not accept value 'thumb'", events=[btn("thumb", True)])
    m.error(E, "Invalid parameter type for 'events[0].data.value', expected: integer",
            events=[move("abs", "x", 1.5)])
    m.error(E, "Input handler not found for event type rel", events=[move("rel", "x", 5)])
    m.error(E, "Invalid parameter type for 'events', expected: array", events="a")
    m.error(E, "Device 'nodev' not found", device="nodev", events=[key("a", True)])
    if not qemu:
        # ours: out of range is an error, not a value the guest never expects
        m.error(E, "Parameter 'events[0].data.value' expects a value from 0 to 32767",
                events=[move("abs", "x", 40000)])
        m.error(E, "Parameter 'events[0].data.value' expects a value from 0 to 32767",
                events=[move("abs", "y", -1)])
    for line, want in (("sendkey nokey", "invalid parameter: nokey\r\n"),
                       ("sendkey ctrl-alt-nokey", "invalid parameter: nokey\r\n"),
                       ("sendkey 0xzz", "invalid parameter: 0xzz\r\n")):
        out = m.hmp(line)
        if out != want:
            fail("%s: %r, want %r" % (line, out, want))
    print("hostile input-send-event and sendkey arguments: qemu's errors")

    # typing: the shell on tty1 runs what it reads; its output goes to the
    # serial log.  A return first ends what the keys above typed.
    type_keys(m, ["ret"])
    if not qemu:
        # caps lock: the guest's VT lights the LED through the status queue
        for leds in (2, 0):
            n = log_text(log).count("virtio_input_leds dev virtio-keyboard-device leds %d" % leds)
            type_keys(m, ["caps_lock"])
            deadline = time.time() + 20
            while log_text(log).count("virtio_input_leds dev virtio-keyboard-device leds %d"
                                      % leds) == n:
                if time.time() > deadline:
                    fail("caps lock: the guest did not set the LEDs to %d" % leds)
                time.sleep(0.2)
        print("caps lock: the guest's LED comes back through the status queue: ok")
    type_keys(m, ["e", "c", "h", "o", "spc", "shift-t", "y", "p", "e", "d", "minus", "o",
                  "k", "ret"])
    if not wait_log(log, "\nTyped-ok\n", 30):
        fail("the typed command's output is not on the serial log")
    print("keys typed with sendkey reach a shell on the VT: ok")

    if not qemu:
        m.ok("system_powerdown")
        time.sleep(0.3)
    type_keys(m, ["e", "x", "i", "t", "ret"])
    if not wait_log(log, "EMU-GUEST: done", 60):
        fail("the guest did not finish:\n" + log_text(log)[-1500:])

    kev = events(log, "KEV")
    tev = events(log, "TEV")
    kg = groups(kev, (EV_KEY,))
    # z pressed and released in one command: one group here, two in qemu
    if kg[2:4] == [[(EV_KEY, KEY_Z, 1)], [(EV_KEY, KEY_Z, 0)]]:
        kg[2:4] = [kg[2] + kg[3]]
    want = [[(EV_KEY, KEY_A, 1)], [(EV_KEY, KEY_A, 0)],
            [(EV_KEY, KEY_Z, 1), (EV_KEY, KEY_Z, 0)],
            [(EV_KEY, KEY_LEFTSHIFT, 1)], [(EV_KEY, KEY_X, 1)],
            [(EV_KEY, KEY_X, 0)], [(EV_KEY, KEY_LEFTSHIFT, 0)]]
    # then the return typed after the refused commands: they sent nothing
    want.append([(EV_KEY, KEY_ENTER, 1)])
    if kg[:len(want)] != want:
        fail("the keyboard's first events: %s, want %s" % (kg[:len(want)], want))
    if any(v == 2 for g in kg for (t, c, v) in g):
        print("note: the guest repeated a key (a slow host)")
    if not qemu and [(EV_KEY, KEY_POWER, 1)] not in kg:
        fail("system_powerdown pressed no KEY_POWER: %s" % kg[-12:])
    print("the guest's keyboard events: ok (%d groups)" % len(kg))
    tg = groups(tev, (EV_KEY, EV_REL, EV_ABS))
    want = [[(EV_ABS, 0, 100), (EV_ABS, 1, 32767)], [(EV_KEY, BTN_LEFT, 1)],
            [(EV_KEY, BTN_LEFT, 0)], [(EV_REL, REL_WHEEL, 1)]]
    if tg != want:
        fail("the tablet's events: %s, want %s" % (tg, want))
    print("the guest's tablet events: ok")


main()
