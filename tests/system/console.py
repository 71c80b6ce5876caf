#!/usr/bin/env python3
"""console.py - drive a program's console as a user would: wait for
text, type, time the steps (log in to a guest, run a command, power off).

    console.py LOG SCRIPT -- PROGRAM ARGS...

PROGRAM runs on a pseudo-terminal; everything it prints goes to LOG.
SCRIPT is a file of steps, one per line ('#' starts a comment):

    expect REGEX [SECONDS]   wait (default 300 s) until the output since
                             the last match matches REGEX (Python re)
    send TEXT                type TEXT (Python escapes: \\n, \\x01)
    mark NAME                print "mark NAME SECONDS" (since the start)
    exit [SECONDS]           wait (default 60 s) for PROGRAM to end

Prints the marks and "exit STATUS" and exits 0 when every step was met;
otherwise says which step timed out, kills PROGRAM and exits 1."""

import os
import pty
import re
import select
import signal
import sys
import time


def main():
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        sys.exit("usage: console.py LOG SCRIPT -- PROGRAM ARGS...")
    log_path, script_path, argv = sys.argv[1], sys.argv[2], sys.argv[4:]
    steps = []
    with open(script_path) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            word, _, rest = line.strip().partition(" ")
            if word not in ("expect", "send", "mark", "exit"):
                sys.exit("%s:%d: unknown step '%s'" % (script_path, n, word))
            steps.append((n, word, rest))
    start = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    log = open(log_path, "wb")
    buf = b""
    status = None

    def read_some(timeout):
        nonlocal buf
        r, _, _ = select.select([fd], [], [], timeout)
        if not r:
            return True
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if not data:
            return False
        log.write(data)
        log.flush()
        buf += data
        return True

    def give_up(n, what):
        print("step at line %d (%s) not met; see %s" % (n, what, log_path))
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        sys.exit(1)

    for n, word, rest in steps:
        if word == "expect":
            parts = rest.rsplit(" ", 1)
            limit = 300.0
            if len(parts) == 2 and re.fullmatch(r"[0-9.]+", parts[1]):
                rest, limit = parts[0], float(parts[1])
            rx = re.compile(rest.encode())
            deadline = time.monotonic() + limit
            while True:
                m = rx.search(buf)
                if m:
                    buf = buf[m.end():]
                    break
                left = deadline - time.monotonic()
                if left <= 0 or not read_some(min(left, 1.0)):
                    give_up(n, "expect " + rest)
        elif word == "send":
            os.write(fd, rest.encode().decode("unicode_escape").encode("latin-1"))
        elif word == "mark":
            print("mark %s %.3f" % (rest, time.monotonic() - start))
            sys.stdout.flush()
        elif word == "exit":
            deadline = time.monotonic() + (float(rest) if rest else 60.0)
            while status is None:
                p, st = os.waitpid(pid, os.WNOHANG)
                if p:
                    status = st
                    break
                if time.monotonic() > deadline:
                    give_up(n, "exit")
                read_some(0.1)
    if status is None:
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    while read_some(0):
        pass
    if os.WIFEXITED(status):
        print("exit %d" % os.WEXITSTATUS(status))
    else:
        print("signal %d" % os.WTERMSIG(status))
    return 0


if __name__ == "__main__":
    sys.exit(main())
