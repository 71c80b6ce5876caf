#!/usr/bin/env python3
"""savevm.py - the checks of tests/system/savevm.sh that need a program.

    savevm.py run SOCKET LOG TAG       savevm TAG while the guest counts, then
                                       loadvm TAG: prints N (the last count
                                       before the save) and checks that the
                                       count goes on at N+1 after both
    savevm.py qmp SOCKET               the QMP snapshot commands' shapes and
                                       errors, the HMP errors
    savevm.py hmp SOCKET LINE          one HMP command, its text on stdout
    savevm.py quit SOCKET
    savevm.py vm IMAGE TAG ACTION...   read or damage the VM state of
                                       snapshot TAG in the qcow2 IMAGE:
                                       magic | version SECTION V | uart-head V
                                       | badmagic | truncate | garbage SEED
                                       | fields SEED (random values of the
                                       right types)
                                       | active-clean (no VM state left in
                                       the active layer; TAG unused)

The guest prints "C=<n> T=<uptime>" lines, one per step.  The point where the save
happened is read from the log when the STOP event arrives: the CPUs are
stopped then and the serial port writes at once, so the log ends with the
last step before the save.  Exits 1 at the first failed check."""

import json
import random
import re
import socket
import struct
import sys
import time


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
                time.sleep(0.1)
        self.s.settimeout(120)
        self.buf = b""
        self.on_event = None
        self.read_msg()                 # greeting
        self.cmd("qmp_capabilities")

    def read_msg(self):
        while b"\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                fail("the monitor closed the connection")
            self.buf += d
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line)

    def cmd(self, name, args=None):
        c = {"execute": name}
        if args is not None:
            c["arguments"] = args
        self.s.sendall(json.dumps(c).encode() + b"\n")
        while True:
            m = self.read_msg()
            if "event" in m:
                if self.on_event:
                    self.on_event(m["event"])
                continue
            return m

    def hmp(self, line):
        r = self.cmd("human-monitor-command", {"command-line": line})
        if "return" not in r:
            fail("%s: %s" % (line, r))
        return r["return"]


def counts(log):
    with open(log, "rb") as f:
        text = f.read().decode("latin-1")
    return [int(x) for x in re.findall(r"^C=(\d+)(?: T=\d+)?\r?$", text, re.M)]


def wait_count(log, n, what):
    deadline = time.time() + 240
    while time.time() < deadline:
        c = counts(log)
        if c and c[-1] >= n:
            return c
        time.sleep(0.2)
    fail("%s: the guest's count never reached %d (at %s)" % (what, n, c[-1:] if c else "none"))


def paused_cmd(m, log, line):
    """Run HMP LINE; the number of counts logged when STOP came."""
    seen = {}

    def ev(name):
        if name == "STOP" and "stop" not in seen:
            seen["stop"] = len(counts(log))
        if name == "RESUME":
            seen["resume"] = True
    m.on_event = ev
    out = m.hmp(line)
    m.on_event = None
    if out.strip():
        fail("%s: %s" % (line, out.strip()))
    if "stop" not in seen:
        fail("%s: no STOP event while the machine ran" % line)
    return seen["stop"]


def check_goes_on(log, start, want, what):
    """The counts logged after index START begin with WANT, WANT+1, ..."""
    c = wait_count(log, 0, what)
    deadline = time.time() + 60
    while len(c) < start + 5 and time.time() < deadline:
        time.sleep(0.2)
        c = counts(log)
    after = c[start:start + 5]
    if after[:1] != [want] or after != list(range(want, want + len(after))):
        fail("%s: the count went on with %s, want %d, %d, ..." % (what, after, want, want + 1))


def run(sock, log, tag):
    m = Monitor(sock)
    wait_count(log, 15, "boot")
    k = paused_cmd(m, log, "savevm " + tag)
    c = counts(log)
    n = c[k - 1]
    print("savevm %s while running: the last count before it was %d" % (tag, n))
    check_goes_on(log, k, n + 1, "after savevm")
    wait_count(log, n + 15, "after savevm")
    info = m.hmp("info snapshots")
    line = [x for x in info.splitlines() if (" %s " % tag) in x]
    if not line or " 0 B " in line[0]:
        fail("info snapshots: no VM state for %s:\n%s" % (tag, info))
    print("info snapshots: " + line[0].strip())
    k = paused_cmd(m, log, "loadvm " + tag)
    check_goes_on(log, k, n + 1, "after loadvm")
    print("loadvm %s: the count goes on at %d: ok" % (tag, n + 1))
    print("N=%d" % n)


def qmp_checks(sock):
    m = Monitor(sock)

    def ok(name, args, want=None):
        r = m.cmd(name, args)
        if "return" not in r:
            fail("%s %s: %s" % (name, args, r))
        if want is not None and r["return"] != want:
            fail("%s %s returned %s, want %s" % (name, args, r["return"], want))
        print("ok %s %s" % (name, json.dumps(args)))
        return r["return"]

    def err(name, args, desc):
        r = m.cmd(name, args)
        e = r.get("error")
        if not e or e.get("class") != "GenericError" or e.get("desc") != desc:
            fail("%s %s: %s, want GenericError '%s'" % (name, args, r, desc))
        print("ok %s %s: %s" % (name, json.dumps(args), desc))

    ok("blockdev-snapshot-internal-sync", {"device": "virtio0", "name": "q1"}, {})
    err("blockdev-snapshot-internal-sync", {"device": "virtio0", "name": "q1"},
        "Snapshot with name 'q1' already exists on device 'virtio0'")
    err("blockdev-snapshot-internal-sync", {"device": "virtio0", "name": ""}, "Name is empty")
    err("blockdev-snapshot-internal-sync", {"device": "nope", "name": "x"},
        "Cannot find device='nope' nor node-name='nope'")
    err("blockdev-snapshot-internal-sync", {"device": "virtio1", "name": "x"},
        "Block format 'raw' used by device 'virtio1' does not support internal snapshots")
    r = m.cmd("blockdev-snapshot-internal-sync", {"device": "virtio0"})
    if r.get("error", {}).get("class") != "GenericError":
        fail("a missing name: %s" % r)
    info = ok("blockdev-snapshot-delete-internal-sync", {"device": "virtio0", "name": "q1"})
    keys = sorted(info.keys())
    want = sorted(["id", "name", "vm-state-size", "date-sec", "date-nsec", "vm-clock-sec",
                   "vm-clock-nsec"])
    if keys != want or info["name"] != "q1" or info["id"] != "1" or info["vm-state-size"] != 0:
        fail("SnapshotInfo %s" % info)
    err("blockdev-snapshot-delete-internal-sync", {"device": "virtio0", "name": "q1"},
        "Snapshot with id 'null' and name 'q1' does not exist on device 'virtio0'")
    err("blockdev-snapshot-delete-internal-sync", {"device": "virtio0"},
        "Name or id must be provided")
    # ids count on from the highest left (none now): q2 gets 1 again
    ok("blockdev-snapshot-internal-sync", {"device": "virtio0", "name": "q2"}, {})
    info = ok("blockdev-snapshot-delete-internal-sync", {"device": "virtio0", "id": "1"})
    if info["name"] != "q2":
        fail("delete by id: %s" % info)
    # savevm refuses a writable disk that keeps no snapshots, naming it
    out = m.hmp("savevm s9")
    if "Device 'virtio1' is writable but does not support snapshots" not in out:
        fail("savevm with a writable raw disk: %r" % out)
    print("ok savevm with a writable raw disk: " + out.strip())
    out = m.hmp("loadvm")
    if not out.strip():
        fail("loadvm without a tag said nothing")
    m.cmd("quit")


# ---- the VM state inside a qcow2 image ----

class Image:
    def __init__(self, path, tag):
        self.f = open(path, "r+b")
        h = self.read(0, 72)
        (_, _, _, _, cb, size, _, _, _, _, _, nsn, snoff) = struct.unpack(">IIQIIQIIQQIIQ", h)
        self.cb = cb
        self.cs = 1 << cb
        self.l2e = self.cs // 8
        pos = snoff
        self.sn = None
        for _ in range(nsn):
            e = self.read(pos, 40)
            l1o, l1s, idl, nml, _, _, _, vss, exs = struct.unpack(">QIHHIIQII", e)
            extra = self.read(pos + 40, exs)
            name = self.read(pos + 40 + exs + idl, nml).decode()
            if name == tag:
                big = struct.unpack(">Q", extra[:8])[0] if exs >= 8 else vss
                dsize = struct.unpack(">Q", extra[8:16])[0] if exs >= 16 else size
                self.sn = dict(entry=pos, l1o=l1o, l1s=l1s, size=big, exs=exs, dsize=dsize)
            pos += (40 + exs + idl + nml + 7) & ~7
        if not self.sn:
            fail("no snapshot %s" % tag)
        span = self.cs * self.l2e
        self.vm_off = (self.sn["dsize"] + span - 1) // span * span

    def read(self, off, n):
        self.f.seek(off)
        return self.f.read(n)

    def host(self, goff):
        l1i = goff // (self.cs * self.l2e)
        if l1i >= self.sn["l1s"]:
            return None
        l2 = struct.unpack(">Q", self.read(self.sn["l1o"] + 8 * l1i, 8))[0] & 0x00fffffffffffe00
        if not l2:
            return None
        e = struct.unpack(">Q", self.read(l2 + 8 * ((goff >> self.cb) % self.l2e), 8))[0]
        data = e & 0x00fffffffffffe00
        if not data or e & (1 << 62):
            return None
        return data + goff % self.cs

    def vm(self, pos, n=None, data=None):
        """Read N bytes of the VM state at POS, or write DATA there."""
        out = b""
        todo = n if data is None else len(data)
        while todo:
            g = self.vm_off + pos
            k = min(todo, self.cs - g % self.cs)
            h = self.host(g)
            if data is None:
                out += self.read(h, k) if h is not None else b"\0" * k
            else:
                if h is None:
                    fail("VM state byte %d is not allocated" % pos)
                self.f.seek(h)
                self.f.write(data[:k])
                data = data[k:]
            pos += k
            todo -= k
        return out

    def sections(self):
        """(name, instance, offset of the version, offset of the body, length)."""
        s = []
        pos = 12
        while True:
            tag = self.vm(pos, 1)
            if tag == b"E":
                return s
            if tag != b"S":
                fail("no section at %d" % pos)
            nl = self.vm(pos + 1, 1)[0]
            name = self.vm(pos + 2, nl).decode()
            inst, ver, body = struct.unpack("<IIQ", self.vm(pos + 2 + nl, 16))
            s.append((name, inst, pos + 6 + nl, pos + 18 + nl, body))
            pos += 18 + nl + body


def active_clean(path):
    """The active L1 table maps nothing past the virtual disk."""
    with open(path, "rb") as f:
        h = f.read(72)
        (_, _, _, _, cb, size, _, l1s, l1o) = struct.unpack(">IIQIIQIIQ", h[:48])
        span = (1 << cb) * ((1 << cb) // 8)
        first = (size + span - 1) // span
        f.seek(l1o + 8 * first)
        left = f.read(8 * max(0, l1s - first))
    used = [i for i in range(0, len(left), 8) if left[i:i + 8] != b"\0" * 8]
    print("clean" if not used else "%d L1 entries past the disk" % len(used))


def vm_action(path, tag, args):
    if args[0] == "active-clean":
        active_clean(path)
        return
    img = Image(path, tag)
    a = args[0]
    if a == "magic":
        print("yes" if img.vm(0, 8) == b"EMU-VMS\n" else "no")
    elif a == "badmagic":
        img.vm(0, data=b"X")
    elif a == "version":
        for name, inst, vpos, _, _ in img.sections():
            if name == args[1] and inst == 0:
                img.vm(vpos, data=struct.pack("<I", int(args[2])))
                return
        fail("no section " + args[1])
    elif a == "uart-head":
        for name, _, _, body, _ in img.sections():
            if name == "ns16550a":
                # bytes field (tag, u32 length, 16 bytes), then u32 head (tag, value)
                img.vm(body + 21 + 1, data=struct.pack("<I", int(args[1])))
                return
        fail("no uart section")
    elif a == "truncate":
        new = img.sn["size"] - 100
        img.f.seek(img.sn["entry"] + 32)
        img.f.write(struct.pack(">I", new))
        if img.sn["exs"] >= 8:
            img.f.seek(img.sn["entry"] + 40)
            img.f.write(struct.pack(">Q", new))
    elif a == "fields":
        # values that pass every type check: what the devices' own range
        # checks are for
        rnd = random.Random(int(args[1]))
        secs = [x for x in img.sections() if x[0] != "ram"]
        if rnd.randrange(2):
            # half of the time the virtio devices, whose loader does most
            secs = [x for x in secs if x[0] == "virtio-device"]
        name, inst, _, body, length = rnd.choice(secs)
        fields = []
        pos = body
        while pos < body + length:
            t = img.vm(pos, 1)[0]
            n = {1: 1, 2: 2, 3: 4, 4: 8, 5: 1}.get(t)
            if t == 6:
                blen = struct.unpack("<I", img.vm(pos + 1, 4))[0]
                fields.append((pos + 5, blen, t))
                pos += 5 + blen
            elif n:
                fields.append((pos + 1, n, t))
                pos += 1 + n
            else:
                fail("no field type at %d" % pos)
        changed = []
        for _ in range(rnd.randrange(1, 4)):
            k = rnd.randrange(len(fields))
            at, n, t = fields[k]
            if t == 5:
                val = bytes([rnd.randrange(2)])
            else:
                choice = rnd.randrange(4)
                if choice == 0:
                    val = b"\xff" * n
                elif choice == 1:
                    val = b"\0" * n
                else:
                    val = bytes(rnd.randrange(256) for _ in range(n))
            img.vm(at, data=val)
            changed.append(k)
        print("%s %d fields %s" % (name, inst, changed))
    elif a == "garbage":
        rnd = random.Random(int(args[1]))
        secs = [s for s in img.sections() if s[0] not in ("ram",)]
        name, _, _, body, length = rnd.choice(secs)
        start = body + rnd.randrange(max(1, length))
        img.vm(start, data=bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 64))))
        print("garbage in section %s" % name)
    else:
        fail("unknown action " + a)


def main():
    if len(sys.argv) < 3:
        fail(__doc__)
    what = sys.argv[1]
    if what == "run":
        run(sys.argv[2], sys.argv[3], sys.argv[4])
    elif what == "qmp":
        qmp_checks(sys.argv[2])
    elif what == "hmp":
        print(Monitor(sys.argv[2]).hmp(sys.argv[3]), end="")
    elif what == "quit":
        Monitor(sys.argv[2]).cmd("quit")
    elif what == "vm":
        vm_action(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        fail("unknown scenario " + what)


if __name__ == "__main__":
    main()
