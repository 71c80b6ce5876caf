#!/usr/bin/env python3
"""qmp-client.py - the QMP checks of tests/system/qmp.sh, as a client.

    qmp-client.py SOCKET SCENARIO

Connects to the monitor on the Unix socket SOCKET (retrying for a while)
and runs SCENARIO: 'session' (negotiation, queries, stop/cont, reset,
events in order, quit), 'hostile' (10,000 malformed or hostile
messages, then the monitor must still answer) or 'poweroff' (waits for
the guest's SHUTDOWN event).  Prints one line per check; exits 1 at the
first failure with a line saying what was expected."""

import json
import random
import socket
import sys
import time


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
        self.events = []

    def send_raw(self, data):
        self.s.sendall(data)

    def read_msg(self):
        while b"\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                fail("the monitor closed the connection")
            self.buf += d
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line)

    def reply(self):
        """The next reply; events met on the way are kept."""
        while True:
            m = self.read_msg()
            if "event" in m:
                self.events.append(m)
                continue
            return m

    def cmd(self, name, args=None, id=None):
        c = {"execute": name}
        if args is not None:
            c["arguments"] = args
        if id is not None:
            c["id"] = id
        self.send_raw(json.dumps(c).encode() + b"\n")
        return self.reply()

    def event(self, name, timeout=60):
        deadline = time.time() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e["event"] == name:
                    del self.events[: i + 1]
                    return e
            if time.time() > deadline:
                fail("no %s event" % name)
            self.events.append(self.read_msg())


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def check(cond, what):
    if not cond:
        fail(what)
    print("ok: " + what)


def session(m):
    g = m.read_msg()
    check("QMP" in g and "major" in g["QMP"]["version"]["qemu"] and
          isinstance(g["QMP"]["capabilities"], list), "greeting")
    r = m.cmd("query-status")
    check(r.get("error", {}).get("class") == "CommandNotFound", "commands refused before negotiation")
    check(m.cmd("qmp_capabilities") == {"return": {}}, "qmp_capabilities")
    r = m.cmd("qmp_capabilities")
    check(r.get("error", {}).get("class") == "CommandNotFound", "negotiation only once")
    r = m.cmd("query-status", id={"x": [1, "two"]})
    check(r.get("id") == {"x": [1, "two"]}, "id echoed as given")
    check(r["return"]["status"] == "prelaunch" and r["return"]["running"] is False,
          "-S: prelaunch")
    check(m.cmd("query-name")["return"] == {"name": "qmp-test"}, "query-name")
    check(m.cmd("query-target")["return"]["arch"] == "riscv64", "query-target")
    check(m.cmd("query-version")["return"]["qemu"]["major"] >= 7, "query-version")
    check(m.cmd("query-kvm")["return"] == {"enabled": False, "present": False}, "query-kvm")
    names = [c["name"] for c in m.cmd("query-commands")["return"]]
    check(all(n in names for n in ("query-status", "stop", "cont", "quit", "qmp_capabilities")),
          "query-commands")
    schema = m.cmd("query-qmp-schema")["return"]
    cmds = {e["name"] for e in schema if e["meta-type"] == "command"}
    check(cmds == set(names), "query-qmp-schema lists the commands")
    check(any(e["name"] == "virt" for e in m.cmd("query-machines")["return"]), "query-machines")
    blk = [b for b in m.cmd("query-block")["return"] if "inserted" in b]
    check(len(blk) == 1 and blk[0]["inserted"]["drv"] == "raw" and
          blk[0]["inserted"]["image"]["virtual-size"] == 1048576, "query-block")
    check(any(c["label"] == "serial0" for c in m.cmd("query-chardev")["return"]), "query-chardev")
    cpus = m.cmd("query-cpus-fast")["return"]
    check(len(cpus) == 1 and cpus[0]["cpu-index"] == 0 and cpus[0]["target"] == "riscv64" and
          cpus[0]["qom-path"] == "/machine/soc0/harts[0]" and cpus[0]["props"] == {"core-id": 0} and
          isinstance(cpus[0]["thread-id"], int), "query-cpus-fast")
    r = m.cmd("human-monitor-command", {"command-line": "info cpus"})
    check(r["return"] == "* CPU #0: thread_id=%d\r\n" % cpus[0]["thread-id"], "HMP info cpus")
    r = m.cmd("no-such-command")
    check(r["error"]["class"] == "CommandNotFound", "unknown command")
    r = m.cmd("query-status", {"bogus": 1})
    check(r["error"]["class"] == "GenericError", "unexpected argument")
    r = m.cmd("human-monitor-command", {"command-line": 5})
    check(r["error"]["class"] == "GenericError", "argument of the wrong type")
    r = m.cmd("human-monitor-command", {})
    check("missing" in r["error"]["desc"], "missing argument")
    check(m.cmd("cont") == {"return": {}}, "cont")
    m.event("RESUME")
    check(m.cmd("query-status")["return"]["status"] == "running", "running after cont")
    time.sleep(1)
    check(m.cmd("stop") == {"return": {}}, "stop")
    m.event("STOP")
    check(m.cmd("query-status")["return"]["status"] == "paused", "paused after stop")
    r = m.cmd("human-monitor-command", {"command-line": "info status"})
    check(r["return"] == "VM status: paused\r\n", "HMP through QMP")
    check(m.cmd("cont") == {"return": {}}, "cont again")
    m.event("RESUME")
    check(m.cmd("system_reset") == {"return": {}}, "system_reset")
    e = m.event("RESET")
    check(e["data"] == {"guest": False, "reason": "host-qmp-system-reset"}, "RESET event")
    check(m.cmd("quit") == {"return": {}}, "quit")
    e = m.event("SHUTDOWN")
    check(e["data"] == {"guest": False, "reason": "host-qmp-quit"} and
          "seconds" in e["timestamp"], "SHUTDOWN event")


def hostile(m):
    m.read_msg()
    m.cmd("qmp_capabilities")
    rnd = random.Random(7)
    junk = [
        b"{", b"}", b"]", b"[[[[", b"{\"execute\"", b"\"unterminated",
        b"{\"execute\": 5}", b"{\"execute\": \"stop\", \"arguments\": []}",
        b"{\"arguments\": {}}", b"[1, 2, 3]", b"nonsense", b"{\"execute\": \"x\", \"y\": 1}",
        b"{\"execute\": \"query-status\", \"id\": " + b"[" * 100 + b"]" * 100 + b"}",
        b"{\"execute\": \"" + b"A" * 100000 + b"\"}",
        b"\xff\xfe\x00", b"{\"execute\": \"\\ud800\"}", b"{\"a\":1e999999}",
        b"{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"" +
        b"x" * 5000 + b"\"}}",
    ]
    sent = 0
    for i in range(10000):
        msg = rnd.choice(junk)
        if rnd.random() < 0.2:
            msg = msg[: rnd.randrange(len(msg) + 1)]        # a half frame
        m.send_raw(msg + (b"\n" if rnd.random() < 0.5 else b" "))
        sent += 1
        if i % 500 == 0:
            # drain what came back so far, without blocking
            m.s.setblocking(False)
            try:
                while True:
                    d = m.s.recv(1 << 20)
                    if not d:
                        fail("the monitor closed the connection")
            except BlockingIOError:
                pass
            m.s.setblocking(True)
            m.s.settimeout(120)
            m.buf = b""
    # close any open structure: a run of closing brackets and quotes
    m.send_raw(b"\"" + b"]}" * 80 + b"\n")
    # resynchronise: ask with a unique id until it comes back
    deadline = time.time() + 60
    while time.time() < deadline:
        m.send_raw(b'\n{"execute": "query-status", "id": "alive"}\n')
        t_end = time.time() + 2
        while time.time() < t_end:
            m.s.settimeout(max(0.1, t_end - time.time()))
            try:
                d = m.s.recv(1 << 20)
            except socket.timeout:
                break
            if not d:
                fail("the monitor closed the connection")
            if b'"id": "alive"' in d and b'"return"' in d:
                check(True, "the monitor answers after %d hostile messages" % sent)
                return
    fail("no answer after the hostile messages")


def poweroff(m):
    m.read_msg()
    m.cmd("qmp_capabilities")
    e = m.event("SHUTDOWN", timeout=300)
    check(e["data"] == {"guest": True, "reason": "guest-shutdown"}, "guest poweroff: SHUTDOWN event")


def main():
    m = Monitor(sys.argv[1])
    {"session": session, "hostile": hostile, "poweroff": poweroff}[sys.argv[2]](m)


if __name__ == "__main__":
    main()
