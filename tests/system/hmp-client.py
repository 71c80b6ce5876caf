#!/usr/bin/env python3
"""hmp-client.py - the human-monitor checks of tests/system/hmp.sh.

    hmp-client.py SOCKET SCENARIO [ARGS...]

Connects to a human monitor on the Unix socket SOCKET (retrying for a
while) and runs SCENARIO:
  session FIRMWARE QMPSOCK  every command, on a machine started with -S
                            (FIRMWARE: the OpenSBI file loaded at
                            0x80000000, the oracle for xp; QMPSOCK: a QMP
                            monitor of the same machine, whose
                            human-monitor-command must answer the same)
  hostile                   overlong lines, control bytes, escape
                            sequences; the monitor must still answer
  mux -- EMULATOR ARGS...   (SOCKET unused) runs the emulator with its
                            console on a pipe (mon:stdio): Ctrl-A c
                            switches between a guest shell and the
                            monitor, both ways
Prints one line per check; exits 1 at the first failure."""

import json
import re
import socket
import struct
import sys
import time

PROMPT = b"(qemu) "


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def ok(msg):
    print("ok " + msg)


def connect(path):
    deadline = time.time() + 60
    while True:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            s.settimeout(60)
            return s
        except OSError:
            if time.time() > deadline:
                fail("no monitor on " + path)
            time.sleep(0.1)


class Hmp:
    def __init__(self, path):
        self.s = connect(path)
        self.buf = b""
        self.banner = self.until_prompt()

    def until_prompt(self):
        while not self.buf.endswith(PROMPT):
            data = self.s.recv(65536)
            if not data:
                fail("the monitor closed the connection; got %r" % self.buf[-200:])
            self.buf += data
        out, self.buf = self.buf[:-len(PROMPT)], b""
        return out.decode(errors="replace")

    def cmd(self, line):
        # Enter sends CR, as a terminal does (qemu takes a CR LF as two)
        self.s.sendall(line.encode() + b"\r")
        out = self.until_prompt()
        # the monitor echoes what was typed, then a new line
        # (qemu redraws the line with escape sequences as it is typed)
        first, _, rest = out.partition("\r\n")
        if not re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", first).endswith(line):
            fail("echo of %r: got %r" % (line, first))
        return rest


class Qmp:
    def __init__(self, path):
        self.s = connect(path)
        self.f = self.s.makefile("rb")
        json.loads(self.f.readline())
        self.call("qmp_capabilities")

    def call(self, name, args=None):
        msg = {"execute": name}
        if args is not None:
            msg["arguments"] = args
        self.s.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = json.loads(self.f.readline())
            if "event" not in r:
                return r


def expect(out, pattern, what):
    if not re.search(pattern, out, re.M):
        fail("%s: expected /%s/ in:\n%s" % (what, pattern, out[-2000:]))
    ok(what)


def session(path, firmware, qmp_path, qemu):
    h = Hmp(path)
    expect(h.banner, r"monitor - type 'help'|monitor \(.*\) - type 'help'", "banner")
    expect(h.cmd("info status"), r"^VM status: paused \(prelaunch\)", "info status -S")
    expect(h.cmd("info version"), r"^\d+\.\d+\.\d+", "info version")
    expect(h.cmd("info name"), r"^hmp-test\r?$", "info name")
    expect(h.cmd("info cpus"), r"^\* CPU #0: thread_id=\d+", "info cpus")
    regs = h.cmd("info registers")
    expect(regs, r"^ pc\s+0000000000001000", "info registers: pc at the reset vector")
    expect(regs, r"x2/sp\s+[0-9a-f]{16}", "info registers: sp")
    # xp against the firmware file the machine loaded at 0x80000000
    with open(firmware, "rb") as f:
        words = struct.unpack("<8I", f.read(32))
    out = h.cmd("xp /8xw 0x80000000")
    want = "0000000080000000: " + " ".join("0x%08x" % w for w in words[:4])
    if want not in out:
        fail("xp /8xw: expected %r in %r" % (want, out))
    want2 = "0000000080000010: " + " ".join("0x%08x" % w for w in words[4:])
    if want2 not in out:
        fail("xp /8xw second line: expected %r in %r" % (want2, out))
    ok("xp /8xw 0x80000000 equals the firmware's first 32 bytes")
    out = h.cmd("xp /2xg 0x80000000")
    want = "0x%016x 0x%016x" % (words[0] | words[1] << 32, words[2] | words[3] << 32)
    if want not in out:
        fail("xp /2xg: expected %r in %r" % (want, out))
    ok("xp /2xg")
    out = h.cmd("xp /4c 0x80000000")
    expect(out, r"^0000000080000000: '.*' '.*' '.*' '.*'", "xp /4c")
    out = h.cmd("x /3i 0x1000")
    lines = [l for l in out.split("\r\n") if l]
    if len(lines) != 3 or "1000:" not in lines[0] or "unknown" in out or "auipc" not in out:
        fail("x /3i 0x1000: got %r" % out)
    ok("x /3i 0x1000 disassembles the reset vector")
    if not qemu:
        # (qemu 7.2's riscv monitor knows no register names)
        expect(h.cmd("x /2xw $pc"), r"^0000000000001000: 0x[0-9a-f]{8} 0x[0-9a-f]{8}",
               "x /2xw $pc")
    expect(h.cmd("gva2gpa 0x80000000"), r"^gpa: 0x80000000", "gva2gpa with no paging")
    expect(h.cmd("xp /1xw 0xffffffff00000000"), r"Cannot access memory", "xp past RAM")
    expect(h.cmd("x /1xw"), r"Error: .*address|unexpected end of expression", "x without an address")
    expect(h.cmd("x /1zw 0x1000"), r"invalid char in format", "x with a bad format")
    expect(h.cmd("info block"), r"^virtio0( \(.*\))?: .*disk\.img \(raw\)", "info block")
    expect(h.cmd("info blockstats"), r"^virtio0: rd_bytes=\d+ wr_bytes=\d+ rd_operations=",
           "info blockstats")
    expect(h.cmd("info mtree"), r"-000000008fffffff \(prio 0, ram\)", "info mtree: 256 MiB of RAM")
    expect(h.cmd("info qtree"), r"dev: virtio-blk-device", "info qtree: the disk")
    expect(h.cmd("info chardev"), r"^serial0: filename=", "info chardev")
    expect(h.cmd("info network"), r"net0: index=0,type=user", "info network")
    expect(h.cmd("help"), r"^xp /fmt addr -- ", "help")
    expect(h.cmd("help info"), r"^info registers", "help info")
    expect(h.cmd("info nosuch"), r"unknown command: 'info nosuch'", "info with an unknown subcommand")
    expect(h.cmd("nosuchcommand 1 2"), r"unknown command: 'nosuchcommand'", "unknown command")
    if not qemu:
        expect(h.cmd("log"), r"^in_asm ", "log lists the items")
    expect(h.cmd("log nosuch"), r"(?i)nosuch|invalid", "log with an unknown item")
    h.cmd("log in_asm")
    h.cmd("log none")
    ok("log none")
    # run, then the guest reads its disk: the statistics move
    h.cmd("cont")
    expect(h.cmd("info status"), r"^VM status: running", "cont")
    deadline = time.time() + 60
    while True:
        st = h.cmd("info blockstats")
        m = re.search(r"rd_operations=(\d+)", st)
        if m and int(m.group(1)) > 0:
            break
        if time.time() > deadline:
            fail("the guest never read its disk: %r" % st)
        time.sleep(0.5)
    ok("info blockstats counts the guest's reads")
    regs = h.cmd("info registers")
    expect(regs, r"^ pc\s+[0-9a-f]{16}", "info registers while running")
    h.cmd("stop")
    expect(h.cmd("info status"), r"^VM status: paused", "stop")
    # the same line through QMP's human-monitor-command
    q = Qmp(qmp_path)
    r = q.call("human-monitor-command", {"command-line": "info status"})
    if r.get("return", "").strip() != "VM status: paused":
        fail("human-monitor-command: %r" % r)
    ok("human-monitor-command info status")
    r = q.call("human-monitor-command", {"command-line": "xp /8xw 0x80000000"})
    if want2 not in r.get("return", ""):
        fail("human-monitor-command xp: %r" % r)
    ok("human-monitor-command xp")
    q.call("cont")
    expect(h.cmd("info status"), r"^VM status: running", "QMP cont seen by HMP")
    h.s.sendall(b"quit\r")
    # the monitor goes with the machine
    try:
        while h.s.recv(4096):
            pass
    except OSError:
        pass
    ok("quit closes the monitor")


def hostile(path):
    h = Hmp(path)
    h.s.sendall(b"x" * 100000 + b"\r")
    out = h.until_prompt()
    # (qemu cuts the line and runs what it kept)
    expect(out, r"line too long|unknown command", "a 100 KB line")
    junk = bytes(range(0, 32)) + b"\x1b[A\x1b[B\x1b[1;5C\x1bOA\x7f\x7f\x15"
    for _ in range(200):
        h.s.sendall(junk)
    h.s.sendall(b"\x15info status\r")
    out = h.until_prompt()
    while "VM status" not in out:
        out = h.until_prompt()
    ok("control bytes and escape sequences")
    # history: up arrow recalls the last line
    h.s.sendall(b"\x1b[A\r")
    out = h.until_prompt()
    expect(out, r"VM status", "history recall")
    # the peer goes away mid-line; a new one gets a new banner
    h.s.sendall(b"info sta")
    h.s.close()
    h2 = Hmp(path)
    expect(h2.cmd("info status"), r"^VM status", "a new client after a hang-up")


def mux(argv):
    import subprocess
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    buf = b""

    def wait_for(pattern, what, timeout=120):
        nonlocal buf
        import select
        deadline = time.time() + timeout
        while not re.search(pattern, buf):
            left = deadline - time.time()
            if left <= 0 or not select.select([p.stdout], [], [], left)[0]:
                p.kill()
                fail("%s: no %r in %r" % (what, pattern, buf[-400:]))
            data = p.stdout.read1(65536)
            if not data:
                fail("%s: the emulator ended; output %r" % (what, buf[-400:]))
            buf += data
        m = re.search(pattern, buf)
        buf = buf[m.end():]
        ok(what)

    def send(data):
        p.stdin.write(data)
        p.stdin.flush()

    wait_for(rb"EMU-GUEST: init", "the guest runs")
    send(b"echo sh-$((6*7))\n")
    wait_for(rb"sh-42", "the guest shell answers on the console")
    send(b"\x01c")
    wait_for(rb"monitor.*type 'help'.*\r\n\(qemu\) ", "C-a c shows the monitor")
    send(b"info status\r")
    wait_for(rb"VM status: running\r\n\(qemu\) ", "a monitor command on the mux")
    send(b"\x01c")
    send(b"echo back-$((6*8))\n")
    wait_for(rb"back-48", "C-a c gives the keyboard back to the guest")
    send(b"\x01c")
    wait_for(rb"\(qemu\) ", "C-a c again: the prompt")
    send(b"quit\r")
    try:
        rc = p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()
        fail("quit on the mux: the emulator still runs")
    if rc != 0:
        fail("quit on the mux: exit status %d" % rc)
    ok("quit on the mux")


def main():
    if len(sys.argv) < 3:
        fail("usage: hmp-client.py SOCKET session|hostile [ARGS]")
    path, scenario = sys.argv[1], sys.argv[2]
    if scenario == "session":
        session(path, sys.argv[3], sys.argv[4], any("qemu" in a for a in sys.argv[5:]))
    elif scenario == "mux":
        mux(sys.argv[4:])
    elif scenario == "hostile":
        hostile(path)
    else:
        fail("unknown scenario " + scenario)


main()
