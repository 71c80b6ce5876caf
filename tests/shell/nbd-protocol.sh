#!/bin/sh
# nbd-protocol.sh - protocol corners through libnbd (nbdsh): structured
# reads with holes, DF, block status with REQ_ONE, zero writes with
# FAST_ZERO and NO_HOLE, the server's error codes for requests a strict
# client would never send (past the end, too long, unknown flags, writes
# on a read-only export), simple replies, option mode (LIST, INFO, meta
# contexts, ABORT) and many requests in flight at once.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/shell/nbd-common.sh"
need nbdsh qemu-img qemu-io python3
set -e
cd "$T"
qemu-img create -q -f qcow2 d.qcow2 16M
qemu-io -f qcow2 -c 'write -P 0x41 1M 1M' -c 'write -P 0x42 4M 64k' d.qcow2 >/dev/null
python3 -c "
with open('r.raw', 'wb') as f:
    f.truncate(8 << 20); f.seek(2 << 20); f.write(b'\x07' * (1 << 20))
"
S=$T/sock
nbd_start srv -t -e 0 -k "$S" -x rw -f qcow2 d.qcow2 -x ro -r -f raw r.raw

nbdsh --base-allocation -u "$(uri_unix "$S" rw)" -c "$(cat <<'PY'
import nbd
def expect_err(what, fn, *names):
    try:
        fn()
    except nbd.Error as e:
        if e.errno not in names:
            raise Exception("%s: got %s (%s), expected %s" % (what, e.errno, e.string, names))
        return
    raise Exception("%s: no error" % what)

assert h.get_structured_replies_negotiated()
assert h.get_size() == 16 << 20
assert h.can_meta_context("base:allocation")

# structured read over data and a hole: a DATA chunk and a HOLE chunk
chunks = []
def cb(buf, off, status, err):
    chunks.append((off, len(buf), status, buf == b'\x41' * len(buf) or buf == bytes(len(buf))))
    return 0
buf = h.pread_structured(3 << 20, 0, cb)
assert buf[:1 << 20] == bytes(1 << 20) and buf[1 << 20:2 << 20] == b'\x41' * (1 << 20), "content"
kinds = sorted((o, n, s) for o, n, s, ok in chunks)
assert (0, 1 << 20, nbd.READ_HOLE) in kinds, kinds
assert (1 << 20, 1 << 20, nbd.READ_DATA) in kinds, kinds
assert all(ok for *_, ok in chunks)
# DF: one content chunk for the whole range
chunks.clear()
h.pread_structured(3 << 20, 0, cb, nbd.CMD_FLAG_DF)
assert len(chunks) == 1 and chunks[0][2] == nbd.READ_DATA and chunks[0][1] == 3 << 20, chunks

# block status: full and REQ_ONE
ext = []
def bs(meta, off, entries, err):
    ext.append((meta, list(entries)))
    return 0
h.block_status(16 << 20, 0, bs)
assert ext[0][0] == "base:allocation"
e = ext[0][1]
assert sum(e[0::2]) == 16 << 20, e
assert e[0:2] == [1 << 20, 3] and e[2:4] == [1 << 20, 0], e
ext.clear()
h.block_status(16 << 20, 0, bs, nbd.CMD_FLAG_REQ_ONE)
assert len(ext[0][1]) == 2, ext

# writes: FUA, zeroes with NO_HOLE and FAST_ZERO, trim, cache, flush
h.pwrite(b'\x55' * 4096, 8 << 20, nbd.CMD_FLAG_FUA)
assert h.pread(4096, 8 << 20) == b'\x55' * 4096
h.zero(65536, 1 << 20, nbd.CMD_FLAG_NO_HOLE)
assert h.pread(65536, 1 << 20) == bytes(65536)
try:
    h.zero(65536, 2 << 20, nbd.CMD_FLAG_FAST_ZERO)
except nbd.Error as e:
    assert e.errno == "ENOTSUP", e.errno
h.trim(65536, 4 << 20)
h.cache(1 << 20, 0)
h.flush()

# what a strict client never sends
h.set_strict_mode(0)
expect_err("read past the end", lambda: h.pread(4096, (16 << 20) - 512), "EINVAL")
expect_err("write past the end", lambda: h.pwrite(b'x' * 4096, (16 << 20) - 512), "ENOSPC")
expect_err("offset past the end", lambda: h.pread(1, 1 << 40), "EINVAL")
expect_err("read over the maximum", lambda: h.pread((32 << 20) + 1, 0), "EINVAL", "EOVERFLOW")
expect_err("unknown flag", lambda: h.pread(512, 0, 1 << 9), "EINVAL")
expect_err("NO_HOLE on a read", lambda: h.pread(512, 0, nbd.CMD_FLAG_NO_HOLE), "EINVAL")
expect_err("zero-length read", lambda: h.pread(0, 0), "EINVAL")
# the connection is still fine
assert h.pread(4096, 8 << 20) == b'\x55' * 4096

# many requests in flight at once, completed out of order
h.set_strict_mode(nbd.STRICT_COMMANDS | nbd.STRICT_FLAGS | nbd.STRICT_BOUNDS)
bufs = []
for i in range(64):
    b = nbd.Buffer.from_bytearray(bytearray([i]) * 65536)
    h.aio_pwrite(b, (8 << 20) + i * 65536)
while h.aio_in_flight() > 0:
    h.poll(-1)
rd = [nbd.Buffer(65536) for i in range(64)]
for i in range(64):
    h.aio_pread(rd[i], (8 << 20) + i * 65536)
while h.aio_in_flight() > 0:
    h.poll(-1)
for i in range(64):
    assert rd[i].to_bytearray() == bytearray([i]) * 65536, i
h.shutdown()
PY
)" || fail "protocol checks on the writable export failed"

# zero writes on a sparse raw file: over a hole without NO_HOLE nothing is
# allocated (the hole already reads as zeros); over data, or with NO_HOLE,
# the area is zeroed for real
truncate -s 16M z.raw
nbd_start zsrv -t -k "$T/zsock" -f raw z.raw
Z=$T/z.raw nbdsh -u "$(uri_unix "$T/zsock")" -c "$(cat <<'PY'
import nbd, os
blocks = lambda: os.stat(os.environ['Z']).st_blocks
h.zero(4 << 20, 0)
h.flush()
assert blocks() == 0, "zeroing a hole allocated %d blocks" % blocks()
h.pwrite(b'\x33' * (1 << 20), 8 << 20)
h.zero(3 << 20, 7 << 20)
assert h.pread(3 << 20, 7 << 20) == bytes(3 << 20), "zero over data"
h.zero(1 << 20, 12 << 20, nbd.CMD_FLAG_NO_HOLE)
assert h.pread(1 << 20, 12 << 20) == bytes(1 << 20)
h.flush()
assert blocks() >= 2048, "NO_HOLE left the area unallocated: %d blocks" % blocks()
h.shutdown()
PY
)" || fail "zero writes on a sparse raw export"
nbd_stop zsrv

# read-only export: the server itself refuses writes (client checks off)
nbdsh -u "$(uri_unix "$S" ro)" -c "$(cat <<'PY'
import nbd
assert h.is_read_only()
h.set_strict_mode(0)
for what, fn in (("write", lambda: h.pwrite(b'x' * 512, 0)),
                 ("zero", lambda: h.zero(512, 0)),
                 ("trim", lambda: h.trim(512, 0))):
    try:
        fn()
        raise Exception(what + " on a read-only export succeeded")
    except nbd.Error as e:
        assert e.errno == "EPERM", (what, e.errno)
assert h.pread(4096, 2 << 20) == b'\x07' * 4096
PY
)" || fail "read-only refusals"

# simple replies (no structured replies): reads still work
nbdsh -c "$(cat <<EOF2
h.set_request_structured_replies(False)
h.connect_uri("$(uri_unix "$S" ro)")
assert not h.get_structured_replies_negotiated()
assert h.pread(1 << 20, 2 << 20) == b'\x07' * (1 << 20)
assert h.pread(4096, 0) == bytes(4096)
EOF2
)" || fail "simple replies"

# option mode: LIST, INFO, meta contexts, unknown export, ABORT
nbdsh -c "$(cat <<EOF2
import nbd
h.set_opt_mode(True)
h.connect_uri("$(uri_unix "$S")")
names = []
h.opt_list(lambda name, desc: names.append(name) or 0)
assert names == ["rw", "ro"], names
h.set_export_name("ro")
h.opt_info()
assert h.get_size() == 8 << 20 and h.is_read_only()
ctx = []
h.opt_list_meta_context(lambda name: ctx.append(name) or 0)
assert sorted(ctx) == ["base:allocation", "qemu:allocation-depth"], ctx
h.set_export_name("nonesuch")
try:
    h.opt_info()
    raise Exception("INFO for an unknown export succeeded")
except nbd.Error:
    pass
h.opt_abort()
EOF2
)" || fail "option mode"
nbd_stop srv
exit 0
