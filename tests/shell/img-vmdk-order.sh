#!/bin/sh
# img-vmdk-order.sh - write ordering of VMDK sparse extents for power
# loss: a grain table entry may reach the file only after the grain it
# points to has been flushed (fdatasync), so that a crash leaves at most
# unreferenced grains.  Checked on the system calls of a writeback-cache
# convert (strace) that allocates more grains than are kept waiting at once,
# and for reads of grains whose entries are still waiting (through emu-nbd,
# before any flush).
. "$top_srcdir/tests/lib.sh"
need strace qemu-img qemu-io python3
set -e
cd "$T"

# 320 MiB, one byte of data in every 64 KiB grain: 5120 new grains.
python3 -c "
with open('src.raw', 'wb') as f:
    f.truncate(320 << 20)
    for i in range(5120):
        f.seek(i * 65536 + (i * 7919) % 65536)
        f.write(bytes([1 + i % 255]))
"
"$EMU_IMG" create -q -f vmdk dst.vmdk 320M
# (LeakSanitizer cannot run under ptrace: leaks are checked by the other tests)
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    strace -f -qq -xx -s 8 -P dst.vmdk -e trace=pwrite64,pwritev,fdatasync,fsync -o trace.txt \
    "$EMU_IMG" convert -n -t writeback -O vmdk src.raw dst.vmdk 2> strace.err ||
    { cat strace.err; fail "convert under strace failed"; }
qemu-img check dst.vmdk > check.out 2>&1 || { cat check.out; fail "qemu-img check failed"; }
qemu-img compare -q src.raw dst.vmdk || fail "convert -t writeback: data differs"

python3 - <<'PY' || fail "a grain table entry was written before its grain was flushed"
import re, sys
# With threads, strace splits calls: "<unfinished ...>" then "<... resumed>".
# A call is joined up again; a write counts from its start, a flush and a
# grain write from their end (the strict reading).
calls, started = [], {}
for n, line in enumerate(open('trace.txt')):
    pid, rest = line.split(None, 1) if line[:1].isdigit() else ('0', line)
    rest = rest.rstrip('\n')
    if rest.endswith('<unfinished ...>'):
        started[pid] = (n, rest[:-len('<unfinished ...>')].rstrip())
        continue
    m = re.match(r'<\.\.\. \w+ resumed>(.*)', rest)
    if m and pid in started:
        n0, head = started.pop(pid)
        calls.append((n0, n, head + m.group(1)))
    else:
        calls.append((n, n, rest))
calls.sort()
written = {}        # grain sector -> when its write ended
events = []
for start, end, text in calls:
    m = re.match(r'(fdatasync|fsync)\((\d+)\)\s+= 0', text)
    if m:
        events.append((end, 'flush', 0, 0))
        continue
    m = re.match(r'pwritev\((\d+), \[\{iov_base="((?:\\x[0-9a-f]{2})*)"\.*, '
                 r'iov_len=(\d+)\}\], 1, (\d+)\)\s+= \d+', text)
    if not m:
        m = re.match(r'pwrite64\((\d+), "((?:\\x[0-9a-f]{2})*)"\.*, (\d+), (\d+)\)\s+= \d+', text)
    if not m:
        continue
    data = bytes.fromhex(m.group(2).replace('\\x', ''))
    size, off = int(m.group(3)), int(m.group(4))
    if size == 65536:
        events.append((end, 'grain', off // 512, 0))
    elif size == 4:
        events.append((start, 'entry', int.from_bytes(data, 'little'), 0))
events.sort()
last_flush = -1
entries = bad = 0
for t, kind, g, _ in events:
    if kind == 'flush':
        last_flush = t
    elif kind == 'grain':
        written[g] = t
    elif g >= 2:
        entries += 1
        if g not in written or written[g] > last_flush:
            bad += 1
            if bad < 5:
                print('entry -> sector %d at line %d: grain written at %s, last flush at %d'
                      % (g, t, written.get(g), last_flush))
print('%d grains, %d table entries, %d out of order' % (len(written), entries, bad))
sys.exit(1 if bad or entries < 2 * 5120 or len(written) < 5120 else 0)
PY

# Grains whose entries wait in memory read back at once, through the
# same server, before the client flushes; the server's exit writes them.
"$EMU_IMG" create -q -f vmdk nbd.vmdk 64M
. "$top_srcdir/tests/shell/nbd-common.sh"
sock=$T/nbd.sock
nbd_start srv -t -f vmdk -k "$sock" nbd.vmdk
qemu-io -f raw -c "write -P 0x5a 1M 3M" -c "read -P 0x5a 1M 3M" -c "read -P 0 0 1M" \
    -c "write -P 0x33 40M 64k" -c "read -P 0x33 40M 64k" "$(uri_unix "$sock")" \
    > io.out 2>&1 || { cat io.out; fail "reading waiting grains back failed"; }
grep -q 'Pattern verification failed' io.out && { cat io.out; fail "waiting grains read wrong"; }
nbd_stop srv
qemu-img check nbd.vmdk > check.out 2>&1 || { cat check.out; fail "qemu-img check failed (nbd)"; }
qemu-io -f vmdk -r -c "read -P 0x5a 1M 3M" -c "read -P 0x33 40M 64k" -c "read -P 0 4M 36M" \
    nbd.vmdk > io.out 2>&1 || { cat io.out; fail "written grains lost at exit"; }
grep -q 'Pattern verification failed' io.out && { cat io.out; fail "written grains wrong after exit"; }
exit 0
