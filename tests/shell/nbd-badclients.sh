#!/bin/sh
# nbd-badclients.sh - malformed handshakes, unknown options and commands,
# lengths past the export or over the maximum block size, writes on a
# read-only export, requests after DISC, clients that vanish mid-request
# or stall half-way, a client that never reads its replies, and 1,000
# connections opened and closed (no fd or memory leak); EXPORT_NAME and
# extended headers, which libnbd 1.14 cannot drive.  The server must keep
# serving every other client.  Driven by nbd-badclient.py over raw sockets.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/shell/nbd-common.sh"
need python3 nbdinfo
set -e
cd "$T"
python3 -c "
with open('rw.raw', 'wb') as f:
    f.write(b'a' * (1 << 20)); f.truncate(16 << 20)
"
cp rw.raw ro.raw
S=$T/sock
# ASan's quarantine would hide frees from RSS: keep it small here
ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=4:malloc_context_size=5"
export ASAN_OPTIONS
nbd_start srv -t -e 0 -k "$S" -x rw -f raw rw.raw -x ro -r -f raw ro.raw
python3 "$top_srcdir/tests/shell/nbd-badclient.py" "$S" "$srv_pid" ||
    fail "bad-client checks failed: $(tail -5 "$T/srv.err")"
nbd_stop srv
# the half write of a vanished client never reached the image
cmp -n 1048576 rw.raw ro.raw || fail "a write without its full payload was applied"
exit 0
