#!/bin/sh
# trace.sh - trace events (doc/tracing.md): each compiled-in backend records
# a planted sequence (tests/unit/test-trace.c); the shipped analyses find a
# planted leaked request and a planted overlap and nothing in clean runs
# (planted and real: an emu-img convert, an NBD copy through emu-nbd);
# the dtrace build's probes are in `readelf -n`; simpletrace.py reports
# truncated and garbage files in one line; bad --trace arguments, patterns
# and event files are refused with a message naming them.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/shell/nbd-common.sh"
need python3 readelf nbdcopy
set -e
cd "$T"
TT=$top_builddir/tests/unit/test-trace
ST=$top_srcdir/scripts/simpletrace.py
LEAKS=$top_srcdir/scripts/analyze-leaked-requests.py
OVERLAPS=$top_srcdir/scripts/analyze-overlapping-writes.py
backends=$("$EMU_IMG" --trace help | sed -n '1s/.*backends: \(.*\)):/\1/p')
has() { case ",$backends," in *",$1,"*) return 0;; esac; return 1; }
echo "backends: $backends"

# expect_status CODE OUTFILE CMD...: CMD's stdout and stderr to OUTFILE
expect_status() {
    _want=$1 _out=$2
    shift 2
    set +e
    "$@" > "$_out" 2>&1
    _got=$?
    set -e
    [ "$_got" = "$_want" ] || fail "expected exit $_want, got $_got: $* ($(head -3 "$_out"))"
}

# ---- the log backend: what was enabled, and only that, in the log file
if has log; then
    run_ok "$TT" log log.txt
    sed 's/^\[trace\] [0-9]*@[0-9]*\.[0-9]*:/[trace] T:/' log.txt > log.norm
    cat > log.want <<'EOT'
[trace] T:blk_open bs 0x1000 filename disk.img format raw
[trace] T:blk_request_submit bs 0x1000 op write offset 4096 bytes 512
[trace] T:blk_request_complete bs 0x1000 op write offset 4096 bytes 512 ret 0
[trace] T:blk_request_submit bs 0x1000 op read offset 0 bytes 65536
[trace] T:blk_request_complete bs 0x1000 op read offset 0 bytes 65536 ret -5
[trace] T:nbd_request conn 0x2000 handle 0x7 type 0 (read) offset 1048576 length 4096 flags 0x0
[trace] T:nbd_reply conn 0x2000 handle 0x7 error 0
EOT
    diff -u log.want log.norm || fail "the log backend's output differs"
    # EMU_TRACE, --trace and -T in emu-img go to stderr (the log)
    "$EMU_IMG" create -q -f qcow2 small.qcow2 1M
    EMU_TRACE=blk_open "$EMU_IMG" info small.qcow2 2> env.err > /dev/null
    grep -q ':blk_open bs 0x[0-9a-f]* filename small.qcow2 format qcow2$' env.err ||
        fail "EMU_TRACE=blk_open: no blk_open line ($(cat env.err))"
    "$EMU_IMG" --trace enable=qcow2_l2_cache_miss info small.qcow2 2> opt.err > /dev/null
    ! grep -v ':qcow2_l2_cache_miss ' opt.err | grep -q . || fail "--trace: other lines: $(cat opt.err)"
    printf 'blk_open\n# a comment\n\n-blk_close\n' > events.txt
    "$EMU_IMG" -T events=events.txt info small.qcow2 2> ev.err > /dev/null
    grep -q ':blk_open ' ev.err || fail "-T events=FILE: no blk_open ($(cat ev.err))"
fi

# ---- the simple backend: the same sequence through simpletrace.py
if has simple; then
    run_ok "$TT" simple simple.bin
    python3 "$ST" simple.bin | sed 's/^\([a-z0-9_]*\) [0-9.]* tid=[0-9]* /\1 /' > simple.norm
    cat > simple.want <<'EOT'
blk_open bs 0x1000 filename disk.img format raw
blk_request_submit bs 0x1000 op write offset 4096 bytes 512
blk_request_complete bs 0x1000 op write offset 4096 bytes 512 ret 0
blk_request_submit bs 0x1000 op read offset 0 bytes 65536
blk_request_complete bs 0x1000 op read offset 0 bytes 65536 ret -5
nbd_request conn 0x2000 handle 0x7 type 0 (read) offset 1048576 length 4096 flags 0x0
nbd_reply conn 0x2000 handle 0x7 error 0
qcow2_refcount_update bs 0x1000 offset 0x30000 length 65536 addend -1
EOT
    diff -u simple.want simple.norm || fail "the simple backend's records differ"

    # the shipped analyses: planted leak and overlap found, clean runs clean
    run_ok "$TT" leak leak.bin
    expect_status 1 leak.out python3 "$LEAKS" leak.bin
    grep -q '^leaked: block write node 0x1000 offset 8192 bytes 4096' leak.out || fail "block leak not found: $(cat leak.out)"
    grep -q '^leaked: NBD read conn 0x2000 handle 0x2 .*connection closed' leak.out || fail "NBD leak not found: $(cat leak.out)"
    grep -q '^leaked: virtqueue virtio-blk-device queue 0 head 4 ' leak.out || fail "virtqueue leak not found: $(cat leak.out)"
    [ "$(wc -l < leak.out)" = 3 ] || fail "more than the 3 planted leaks: $(cat leak.out)"
    run_ok "$TT" overlap overlap.bin
    expect_status 1 ov.out python3 "$OVERLAPS" overlap.bin 4096 4096
    grep -q '^overlap: disk.img zeroes offset 5120 bytes 2048 .* overwrites the write .* bytes \[5120, 6144)' ov.out ||
        fail "planted overlap not found: $(cat ov.out)"
    [ "$(wc -l < ov.out)" = 1 ] || fail "more than the planted overlap: $(cat ov.out)"
    expect_status 0 ov0.out python3 "$OVERLAPS" overlap.bin 0 4K
    expect_status 0 ov1.out python3 "$OVERLAPS" overlap.bin 7K 64K
    run_ok "$TT" clean clean.bin
    expect_status 0 cl.out python3 "$LEAKS" clean.bin
    grep -q '^no leaked requests$' cl.out || fail "clean run: $(cat cl.out)"
    expect_status 0 cl2.out python3 "$OVERLAPS" clean.bin 0 1G

    # four threads at once: every record there or counted as dropped
    run_ok "$TT" threads threads.bin
    python3 - threads.bin <<'EOP' || fail "threaded trace incomplete"
import sys
sys.path.insert(0, sys.argv[0] and __import__('os').environ['top_srcdir'] + '/scripts')
import simpletrace
n = dropped = 0
seen = {}
for r in simpletrace.read_trace(sys.argv[1]):
    if isinstance(r, simpletrace.Dropped):
        dropped += r.count
    else:
        n += 1
        bs, op, off, nb = r.args
        # each thread's records in its order (a drop is reported after
        # the records drained with it, so gaps are checked by the total)
        assert off > seen.get(bs, -1), (bs, off, seen.get(bs))
        seen[bs] = off
print('records', n, 'dropped', dropped)
assert n + dropped == 200000, n + dropped
EOP

    # damaged files: one clear line, exit 2
    head -c 5 simple.bin > t1.bin
    expect_status 2 t1.out python3 "$ST" t1.bin
    grep -q 'simpletrace.py: t1.bin: truncated at byte 5' t1.out || fail "$(cat t1.out)"
    size=$(wc -c < simple.bin)
    head -c $((size - 3)) simple.bin > t2.bin
    expect_status 2 t2.out python3 "$ST" t2.bin
    grep -q '^simpletrace.py: t2.bin: truncated at byte [0-9]*: the record needs' t2.out || fail "$(cat t2.out)"
    [ "$(wc -l < t2.out)" -ge 1 ]
    head -c 4000 /dev/urandom > g.bin
    expect_status 2 g.out python3 "$ST" g.bin
    grep -q 'not an emu simple trace file' g.out || fail "$(cat g.out)"
    { head -c 16 simple.bin; head -c 4000 /dev/urandom; } > g2.bin
    expect_status 2 g2.out python3 "$ST" g2.bin
    grep -q 'g2.bin: \(damaged\|truncated\)' g2.out || fail "$(cat g2.out)"
    expect_status 2 g3.out python3 "$LEAKS" t2.bin
    grep -q 'truncated' g3.out || fail "analysis on a truncated file: $(cat g3.out)"

    # real workloads: a convert ...
    python3 -c "
import os
with open('src.raw', 'wb') as f:
    f.truncate(32 << 20)
    for i in range(0, 32, 3):
        f.seek(i << 20); f.write(os.urandom(1 << 20))
"
    "$EMU_IMG" --trace 'blk_*,qcow2_*,file=convert.bin' convert -O qcow2 src.raw dst.qcow2
    "$EMU_IMG" compare src.raw dst.qcow2 > /dev/null
    python3 "$ST" convert.bin > convert.txt
    grep -q '^qcow2_alloc_clusters ' convert.txt || fail "convert: no qcow2_alloc_clusters"
    grep -q '^blk_request_submit .* op write ' convert.txt || fail "convert: no writes"
    expect_status 0 c1.out python3 "$LEAKS" convert.bin
    expect_status 0 c2.out python3 "$OVERLAPS" convert.bin 0 32M

    # ... and an NBD copy, out of and into emu-nbd
    S=$T/nbd.sock
    nbd_start srv -t -k "$S" -f qcow2 -T "blk_*,nbd_*,file=$T/nbd.bin" dst.qcow2
    nbdcopy "$(uri_unix "$S")" copy.raw
    nbdcopy src.raw "$(uri_unix "$S")"
    nbd_stop srv
    cmp src.raw copy.raw || fail "NBD copy differs"
    python3 "$ST" nbd.bin > nbd.txt
    grep -q '^nbd_conn_open ' nbd.txt || fail "NBD: no connection"
    grep -q '^nbd_request .*(write)' nbd.txt || fail "NBD: no write request"
    grep -q '^nbd_option .*(go)' nbd.txt || fail "NBD: no NBD_OPT_GO"
    expect_status 0 n1.out python3 "$LEAKS" nbd.bin
    expect_status 0 n2.out python3 "$OVERLAPS" nbd.bin 0 32M
fi

# ---- dtrace: the probes are ELF notes of provider emu
if has dtrace; then
    readelf -n "$EMU_IMG" > notes.txt
    grep -q 'stapsdt' notes.txt || fail "no stapsdt notes in emu-img"
    grep -A3 'stapsdt' notes.txt | grep -q 'Provider: emu' || fail "no provider emu"
    for p in blk_request_submit blk_request_complete qcow2_alloc_clusters; do
        grep -q "Name: $p\$" notes.txt || fail "emu-img has no probe $p"
    done
    readelf -n "$EMU_NBD" | grep -q 'Name: nbd_request$' || fail "emu-nbd has no probe nbd_request"
fi

# ---- bad input: one line naming the thing and the problem
expect_status 1 b1.out "$EMU_IMG" --trace nosuch_event info x
grep -q "trace event pattern 'nosuch_event' matches no event" b1.out || fail "$(cat b1.out)"
expect_status 1 b2.out "$EMU_IMG" -T events=missing.txt info x
grep -q "cannot open trace events file 'missing.txt'" b2.out || fail "$(cat b2.out)"
printf 'blk_open\nnot_an_event\n' > bad-events.txt
expect_status 1 b3.out "$EMU_IMG" -T events=bad-events.txt info x
grep -q "trace events file 'bad-events.txt', line 2: pattern 'not_an_event' matches no event" b3.out || fail "$(cat b3.out)"
expect_status 1 b4.out "$EMU_IMG" --trace color=red info x
grep -q "trace option 'color=red': unknown key" b4.out || fail "$(cat b4.out)"
expect_status 1 b5.out env EMU_TRACE=zz_nothing "$EMU_IMG" info x
grep -q "EMU_TRACE: trace event pattern 'zz_nothing'" b5.out || fail "$(cat b5.out)"
expect_status 1 b6.out "$EMU_NBD" -T bogus_event -k "$T/x.sock" x
grep -q "trace event pattern 'bogus_event'" b6.out || fail "$(cat b6.out)"
if has simple; then
    expect_status 1 b7.out "$EMU_IMG" --trace file=/nonexistent/dir/t.bin info x
    grep -q "cannot open trace file '/nonexistent/dir/t.bin'" b7.out || fail "$(cat b7.out)"
fi
if [ -x "$EMU_USER_RISCV64" ]; then
    expect_status 1 b8.out "$EMU_USER_RISCV64" -d trace:nope_x /bin/true
    grep -q "trace event pattern 'nope_x'" b8.out || fail "$(cat b8.out)"
    expect_status 0 h.out "$EMU_USER_RISCV64" -trace help
    grep -q '^  user_syscall ' h.out || fail "emu-user -trace help: $(head -3 h.out)"
fi
[ "$(wc -l < b1.out)" = 1 ] || fail "more than one line: $(cat b1.out)"
echo "trace.sh: all checks passed"
