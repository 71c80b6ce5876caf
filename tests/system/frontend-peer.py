#!/usr/bin/env python3
"""frontend-peer.py - a machine that lies: registers NAME in the runtime
directory DIR as emu-system-* does (a descriptor it keeps locked, a QMP
socket) and answers every client with broken QMP, for tests of `emu`.

    frontend-peer.py DIR NAME MODE

MODE: garbage (no JSON at all), nogreeting (JSON, but no greeting),
badjson (a greeting, then invalid JSON), deep (a reply nested 100,000
deep), huge (a reply that never ends), close (hangs up at once),
wrongtype (a greeting, then an array).  Prints "ready" once it listens;
runs until killed."""

import fcntl
import json
import os
import socket
import sys
import time

GREETING = b'{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": []}}\r\n'


def serve(conn, mode):
    if mode == "garbage":
        conn.sendall(b"this is not QMP at all\r\n")
        time.sleep(1)
        return
    if mode == "close":
        return
    if mode == "nogreeting":
        conn.sendall(b'{"hello": "world"}\r\n')
        time.sleep(1)
        return
    conn.sendall(GREETING)
    conn.recv(65536)
    if mode == "badjson":
        conn.sendall(b'{"return": tru}\r\n')
    elif mode == "wrongtype":
        conn.sendall(b'["return", {}]\r\n')
    elif mode == "deep":
        conn.sendall(b'{"return": ' + b"[" * 100000)
    elif mode == "huge":
        chunk = b"a" * 65536
        conn.sendall(b'{"return": "')
        for _ in range(400):        # 25 MiB, past the client's bound
            conn.sendall(chunk)
    time.sleep(1)


def main():
    d, name, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    qmp = os.path.join(d, name + ".qmp")
    desc = {"name": name, "pid": os.getpid(), "target": "riscv64", "machine": "virt",
            "start-time": int(time.time()), "qmp": qmp, "console": None, "argv": sys.argv}
    tmp = os.path.join(d, ".%s.%d.tmp" % (name, os.getpid()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, json.dumps(desc).encode())
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.link(tmp, os.path.join(d, name + ".json"))
    os.unlink(tmp)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(qmp):
        os.unlink(qmp)
    s.bind(qmp)
    s.listen(4)
    print("ready", flush=True)
    while True:
        conn, _ = s.accept()
        try:
            serve(conn, mode)
        except OSError:
            pass
        conn.close()


if __name__ == "__main__":
    main()
