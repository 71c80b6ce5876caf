#!/usr/bin/env python3
"""pty-run.py - run a program on a pseudo-terminal, as a user at a console.

    pty-run.py LOG PATTERN KEYS WAIT -- PROGRAM ARGS...

Copies what PROGRAM prints to LOG; once a line matching the regular
expression PATTERN has appeared, types KEYS (Python escapes: '\\x01x' is
Ctrl-A x) and waits up to WAIT seconds for PROGRAM to end.  Prints
"exit STATUS" (or "signal N") and the seconds it took after the keys, and
exits 0; exits 1 if PATTERN never appeared (within 300 s) or PROGRAM
did not end in time (it is then killed)."""

import os
import pty
import re
import select
import signal
import sys
import time


def main():
    log, pattern, keys, wait = sys.argv[1:5]
    if sys.argv[5] != "--":
        sys.exit("usage: pty-run.py LOG PATTERN KEYS WAIT -- PROGRAM ARGS...")
    argv = sys.argv[6:]
    keys = keys.encode().decode("unicode_escape").encode("latin-1")
    rx = re.compile(pattern.encode())
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    out = open(log, "wb")
    seen = b""
    sent_at = None
    deadline = time.monotonic() + 300
    status = None
    while True:
        now = time.monotonic()
        if now > deadline:
            break
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if data:
                out.write(data)
                out.flush()
                seen = (seen + data)[-65536:]
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            break
        if sent_at is None and rx.search(seen):
            os.write(fd, keys)
            sent_at = time.monotonic()
            deadline = sent_at + float(wait)
    if status is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        print("no exit" if sent_at else "pattern never seen")
        return 1
    if sent_at is None:
        print("ended before the pattern appeared")
        return 1
    took = time.monotonic() - sent_at
    if os.WIFEXITED(status):
        print("exit %d %.1f" % (os.WEXITSTATUS(status), took))
    else:
        print("signal %d %.1f" % (os.WTERMSIG(status), took))
    return 0


if __name__ == "__main__":
    sys.exit(main())
