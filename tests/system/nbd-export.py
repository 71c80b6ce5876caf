#!/usr/bin/env python3
"""nbd-export.py - the checks of tests/system/nbd-export.sh, as a QMP client.

    nbd-export.py QMP_SOCKET DIR

The emulator runs a guest that overwrites both its disks without pause:
disk0 (raw, DIR/raw.img) and disk1 (qcow2 DIR/over.qcow2 over the raw
DIR/base.img).  Through QMP this script stops the guest, takes reference
copies of the disks, exports them (and disk1's backing image) over NBD
on DIR/nbd.sock, lets the guest go on, and reads the exports with
nbdcopy, qemu-img and nbdinfo while the guest writes: every copy must
equal its reference.  Then a second export after more writes, the old
one still right; removal (safe refused while a client is connected,
hard cuts it, BLOCK_EXPORT_DELETED arrives), block-export-add/-del,
hostile arguments, the HMP commands, nbd-server-stop and a restart.
Prints one line per check; exits 1 at the first failure."""

import hashlib
import importlib.util
import os
import shutil
import socket
import struct
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("qmp_client", os.path.join(here, "qmp-client.py"))
qc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(qc)
fail, check = qc.fail, qc.check

D = sys.argv[2]
SOCK = os.path.join(D, "nbd.sock")


def uri(name):
    return "nbd+unix:///%s?socket=%s" % (name, SOCK)


def md5(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def run(*cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    if r.returncode != 0:
        fail("%s: exit %d: %s" % (" ".join(cmd), r.returncode, r.stdout.decode(errors="replace")))
    return r.stdout.decode()


def ok(r, what):
    if "return" not in r:
        fail("%s: %s" % (what, r))
    return r["return"]


def err(r, desc, what, cls="GenericError"):
    e = r.get("error")
    if not e or e["class"] != cls or (desc is not None and e["desc"] != desc):
        fail("%s: want error %s %r, got %s" % (what, cls, desc, r))


def reference(label):
    """The disks as they are now (the guest stopped): raw copies."""
    shutil.copyfile(os.path.join(D, "raw.img"), os.path.join(D, "ref-raw-" + label))
    run("qemu-img", "convert", "-U", "-f", "qcow2", "-O", "raw",
        os.path.join(D, "over.qcow2"), os.path.join(D, "ref-q-" + label))


def moment(m, label, names):
    """Stop the guest, let its requests in flight end, take references and
    export NAMES (device, export name) at that moment, resume."""
    ok(m.cmd("stop"), "stop")
    time.sleep(1)
    reference(label)
    for dev, name in names:
        ok(m.cmd("nbd-server-add", {"device": dev, "name": name}), "nbd-server-add " + name)
    ok(m.cmd("cont"), "cont")


def same(out, ref, what):
    if md5(out) != md5(ref):
        fail("%s: the copy differs from the disk at export time" % what)
    check(True, what)


def hold(name):
    """A client connected to export NAME (fixed newstyle, NBD_OPT_GO)."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(SOCK)
    s.settimeout(30)
    def recv(n):
        b = b""
        while len(b) < n:
            d = s.recv(n - len(b))
            if not d:
                fail("the server closed the connection in the handshake")
            b += d
        return b
    hdr = recv(18)
    if hdr[:16] != b"NBDMAGICIHAVEOPT":
        fail("no newstyle greeting")
    s.sendall(struct.pack(">I", 3))                 # FIXED_NEWSTYLE | NO_ZEROES
    nm = name.encode()
    s.sendall(struct.pack(">QII", 0x49484156454F5054, 1, len(nm)) + nm)   # EXPORT_NAME
    recv(10)                                        # size, flags
    return s


def closed(s):
    s.settimeout(10)
    try:
        return s.recv(1) == b""
    except OSError:
        return True


def main():
    m = qc.Monitor(sys.argv[1])
    m.read_msg()
    ok(m.cmd("qmp_capabilities"), "qmp_capabilities")

    err(m.cmd("nbd-server-add", {"device": "disk0"}), "NBD server not running",
        "nbd-server-add without a server")
    ok(m.cmd("nbd-server-start", {"addr": {"type": "unix", "data": {"path": SOCK}}}),
       "nbd-server-start")
    err(m.cmd("nbd-server-start", {"addr": {"type": "unix", "data": {"path": SOCK + "2"}}}),
        "NBD server already running", "a second nbd-server-start")

    # 1. the moment, read while the guest writes
    moment(m, "1", [("disk0", "raw1"), ("disk1", "q1"), ("disk1-backing1", "base")])
    time.sleep(2)
    run("nbdcopy", uri("raw1"), os.path.join(D, "out-raw1"))
    same(os.path.join(D, "out-raw1"), os.path.join(D, "ref-raw-1"),
         "raw disk: nbdcopy of the export while the guest writes = the disk at export time")
    run("qemu-img", "convert", "-f", "raw", "-O", "raw", uri("q1"), os.path.join(D, "out-q1"))
    same(os.path.join(D, "out-q1"), os.path.join(D, "ref-q-1"),
         "qcow2 disk: qemu-img convert of the export = the disk at export time")
    run("nbdcopy", uri("base"), os.path.join(D, "out-base"))
    same(os.path.join(D, "out-base"), os.path.join(D, "base.img"),
         "qcow2 disk's backing image (disk1-backing1) exported as it is")
    size = int(run("nbdinfo", "--size", uri("raw1")).strip())
    check(size == os.path.getsize(os.path.join(D, "raw.img")),
          "nbdinfo --size: %d, the disk's size (not a multiple of the cluster)" % size)
    info = run("nbdinfo", uri("q1"))
    check("is_read_only: true" in info, "nbdinfo: the export is read-only")
    run("nbdinfo", "--map", uri("q1"))
    check(True, "nbdinfo --map reads the export's block status")
    run("nbdcopy", uri("q1"), os.path.join(D, "out-q1b"))
    same(os.path.join(D, "out-q1b"), os.path.join(D, "ref-q-1"),
         "qcow2 disk: nbdcopy of the export, later, still the disk at export time")
    if md5(os.path.join(D, "raw.img")) == md5(os.path.join(D, "ref-raw-1")):
        fail("the guest did not write while the export was read")
    check(True, "the guest wrote meanwhile (the disk differs from the export now)")

    # 2. a second export after more writes shows the newer state
    moment(m, "2", [("disk0", "raw2")])
    time.sleep(2)
    run("nbdcopy", uri("raw2"), os.path.join(D, "out-raw2"))
    same(os.path.join(D, "out-raw2"), os.path.join(D, "ref-raw-2"),
         "a second export after more writes = the disk at its moment")
    check(md5(os.path.join(D, "ref-raw-2")) != md5(os.path.join(D, "ref-raw-1")),
          "the two moments differ")
    run("nbdcopy", uri("raw1"), os.path.join(D, "out-raw1b"))
    same(os.path.join(D, "out-raw1b"), os.path.join(D, "ref-raw-1"),
         "the first export still shows its own moment")

    # 3. removal
    exp = ok(m.cmd("query-block-exports"), "query-block-exports")
    ids = sorted(e["id"] for e in exp)
    check(ids == ["base", "q1", "raw1", "raw2"] and
          all(e["type"] == "nbd" and e["shutting-down"] is False for e in exp),
          "query-block-exports: %s" % ids)
    c = hold("raw1")
    err(m.cmd("nbd-server-remove", {"name": "raw1"}), "export 'raw1' still in use",
        "safe removal with a client connected")
    ok(m.cmd("nbd-server-remove", {"name": "raw1", "mode": "hard"}), "hard removal")
    e = m.event("BLOCK_EXPORT_DELETED", timeout=30)
    check(e["data"] == {"id": "raw1"}, "BLOCK_EXPORT_DELETED for raw1")
    check(closed(c), "hard removal cut the client")
    err(m.cmd("nbd-server-remove", {"name": "raw1"}), "Export 'raw1' is not found",
        "removing it again")
    # hard removal while clients read as fast as they can
    ok(m.cmd("nbd-server-add", {"device": "disk0", "name": "busy"}), "nbd-server-add busy")
    readers = [subprocess.Popen(["sh", "-c", "while nbdcopy --requests=32 '%s' null:; do :; done"
                                 % uri("busy")], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) for _ in range(2)]
    time.sleep(1.5)
    check(all(p.poll() is None for p in readers), "two clients read the export without pause")
    ok(m.cmd("block-export-del", {"id": "busy", "mode": "hard"}), "hard removal of a busy export")
    check(m.event("BLOCK_EXPORT_DELETED", timeout=30)["data"] == {"id": "busy"},
          "BLOCK_EXPORT_DELETED for the busy export once its requests ended")
    for p in readers:
        p.wait(timeout=30)
    check(True, "its clients were cut")
    ok(m.cmd("block-export-add", {"type": "nbd", "id": "e5", "node-name": "disk1",
                                  "name": "blk", "description": "disk1 now"}),
       "block-export-add")
    run("nbdinfo", "--size", uri("blk"))
    err(m.cmd("block-export-add", {"type": "nbd", "id": "e5", "node-name": "disk1"}),
        "Block export id 'e5' is already in use", "block-export-add with an id in use")
    err(m.cmd("block-export-add", {"type": "nbd", "id": "e6", "node-name": "disk1",
                                   "name": "blk"}),
        "NBD server already has export named 'blk'", "block-export-add with a name in use")
    ok(m.cmd("block-export-del", {"id": "e5"}), "block-export-del")
    check(m.event("BLOCK_EXPORT_DELETED", timeout=30)["data"] == {"id": "e5"},
          "BLOCK_EXPORT_DELETED for e5")

    # 4. hostile arguments: errors, and the monitor goes on
    bad = [
        ("nbd-server-add", {"device": "nosuch"},
         "Cannot find device='nosuch' nor node-name='nosuch'"),
        ("nbd-server-add", {"device": "disk0-backing1"},
         "Cannot find device='disk0-backing1' nor node-name='disk0-backing1'"),
        ("nbd-server-add", {"device": "disk1-backing0"}, None),
        ("nbd-server-add", {"device": "disk1-backing99999999999999999999"}, None),
        ("nbd-server-add", {"device": "disk0", "name": "a b"}, "Invalid block export id"),
        ("nbd-server-add", {"device": "disk0", "name": "x" * 5000}, None),
        ("nbd-server-add", {"device": "disk0", "name": "w", "writable": True}, None),
        ("nbd-server-add", {"device": 7}, "Invalid parameter type for 'device', expected: string"),
        ("nbd-server-add", {}, "Parameter 'device' is missing"),
        ("nbd-server-add", {"device": "disk0", "extra": 1}, "Parameter 'extra' is unexpected"),
        ("nbd-server-remove", {"name": "raw2", "mode": "bad"},
         "Parameter 'mode' does not accept value 'bad'"),
        ("block-export-add", {"type": "nbd", "id": "", "node-name": "disk0"},
         "Invalid block export id"),
        ("block-export-add", {"type": "nbd", "id": "9x", "node-name": "disk0"},
         "Invalid block export id"),
        ("block-export-add", {"type": "nbd", "id": "e7", "node-name": "disk0",
                              "bitmaps": ["b0"]}, "Bitmap 'b0' is not found"),
        ("block-export-add", {"type": "bogus", "id": "e7", "node-name": "disk0"}, None),
        ("block-export-add", {"type": "nbd", "id": "e7", "node-name": "disk0",
                              "description": "d" * 5000}, None),
        ("block-export-del", {"id": "nosuch"}, "Export 'nosuch' is not found"),
        ("block-export-del", {"id": "x" * 100000}, None),
        ("nbd-server-start", {"addr": {"type": "unix"}}, None),
        ("nbd-server-start", {"addr": "unix:/x"}, None),
        ("nbd-server-start", {"addr": {"type": "inet", "data": {"host": "127.0.0.1",
                                                                 "port": 10809}}},
         "Invalid parameter type for 'addr.data.port', expected: string"),
        ("nbd-server-start", {"addr": {"type": "nosuch", "data": {}}}, None),
        ("nbd-server-start", {"addr": {"type": "inet", "data": {"host": "127.0.0.1",
                                                                 "port": "99999"}}}, None),
        ("nbd-server-start", {"addr": {"type": "unix", "data": []}}, None),
        ("nbd-server-start", {"addr": {"type": "unix", "data": {"path": SOCK}},
                              "max-connections": -1}, None),
    ]
    for name, args, desc in bad:
        err(m.cmd(name, args), desc, "%s %.80s" % (name, args))
    check(True, "%d hostile commands refused with errors" % len(bad))

    # 5. HMP
    def hmp(line):
        return ok(m.cmd("human-monitor-command", {"command-line": line}), line)
    check(hmp("nbd_server_start unix:" + SOCK) == "Error: NBD server already running\r\n",
          "HMP nbd_server_start while running")
    check(hmp("nbd_server_add disk0 h1") == "", "HMP nbd_server_add disk0 h1")
    check(hmp("nbd_server_add -w disk0 h2").startswith("Error: "),
          "HMP nbd_server_add -w: refused")
    check(hmp("nbd_server_add nosuch").startswith("Error: Cannot find device"),
          "HMP nbd_server_add of no such device")
    check(hmp("nbd_server_add") == "nbd_server_add: block device name expected\r\n"
          "Try \"help nbd_server_add\" for more information\r\n", "HMP nbd_server_add alone")
    run("nbdinfo", "--size", uri("h1"))
    check(hmp("nbd_server_remove -f h1") == "", "HMP nbd_server_remove -f h1")
    check(m.event("BLOCK_EXPORT_DELETED", timeout=30)["data"] == {"id": "h1"},
          "BLOCK_EXPORT_DELETED for h1")

    # 6. stop: every export goes, each with its event; a restart works
    ok(m.cmd("nbd-server-stop"), "nbd-server-stop")
    gone = set()
    for _ in range(3):
        gone.add(m.event("BLOCK_EXPORT_DELETED", timeout=30)["data"]["id"])
    check(gone == {"raw2", "q1", "base"}, "nbd-server-stop: BLOCK_EXPORT_DELETED for each")
    check(ok(m.cmd("query-block-exports"), "query-block-exports") == [], "no exports left")
    err(m.cmd("nbd-server-stop"), "NBD server not running", "nbd-server-stop again")
    for addr in ({"type": "inet", "data": {"host": "no.such.invalid", "port": "10809"}},
                 {"type": "unix", "data": {"path": "/" + "x" * 200}},
                 {"type": "unix", "data": {"path": "/nonexistent-dir/nbd.sock"}}):
        err(m.cmd("nbd-server-start", {"addr": addr}), None, "nbd-server-start on %.60s" % addr)
    check(True, "addresses the server cannot listen on: errors")
    check(hmp("nbd_server_start -a unix:" + SOCK) == "", "HMP nbd_server_start -a")
    moment_ids = sorted(e["id"] for e in ok(m.cmd("query-block-exports"), "query"))
    check(moment_ids == ["disk0", "disk1"], "-a exported every disk: %s" % moment_ids)
    run("nbdcopy", uri("disk1"), os.path.join(D, "out-a"))
    check(hmp("nbd_server_stop") == "", "HMP nbd_server_stop")
    # quitting with exports and a client connected ends cleanly
    check(hmp("nbd_server_start unix:" + SOCK) == "", "HMP nbd_server_start unix:PATH")
    check(hmp("nbd_server_add disk1") == "", "HMP nbd_server_add disk1")
    c = hold("disk1")
    ok(m.cmd("quit"), "quit with an export and its client")
    check(closed(c), "the client was cut at quit")


if __name__ == "__main__":
    main()
