#!/bin/sh
# trace-perf.sh - the dtrace backend's USDT probes from perf: `perf probe`
# on a running emu-nbd's sdt_emu:blk_request_submit, `perf record` while a
# client writes, and the writes' offsets and lengths in `perf script`; then
# the planted sequence of tests/unit/test-trace.c, recorded by perf.
# Skipped (77) only where it cannot work: no dtrace backend in this build,
# no perf, no uprobes in the kernel, no permission to use them.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/shell/nbd-common.sh"
need nbdcopy
set -e
cd "$T"
"$EMU_IMG" --trace help | head -1 | grep -q dtrace ||
    skip "this build has no dtrace trace backend (configure --enable-trace-backends=...,dtrace)"
requires perf
[ -e /sys/bus/event_source/devices/uprobe ] || skip "the kernel has no uprobes"
if [ ! -e /sys/kernel/tracing/uprobe_events ] && [ ! -e /sys/kernel/debug/tracing/uprobe_events ]; then
    # perf probe writes uprobe_events in tracefs; mount it where we may
    mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null ||
        skip "tracefs is not mounted and cannot be (not root?): perf probe cannot work"
fi
[ -w /sys/kernel/tracing/uprobe_events ] || [ -w /sys/kernel/debug/tracing/uprobe_events ] ||
    skip "no permission to add uprobes (perf probe needs root or tracefs access)"

# perf names SDT events sdt_PROVIDER:NAME; -f gives this run a name of
# its own (NAME_1, ...) when another run's probe exists
perf probe -f -x "$EMU_NBD" -a sdt_emu:blk_request_submit > probe.out 2>&1 ||
    fail "perf probe -x $EMU_NBD -a sdt_emu:blk_request_submit: $(cat probe.out)"
ev=$(sed -n 's/^ *\(sdt_emu:blk_request_submit[_0-9]*\) .*/\1/p' probe.out | head -1)
[ -n "$ev" ] || fail "perf probe did not say which event it added: $(cat probe.out)"
cleanup_add "perf probe -q -d '$ev'"

head -c 4M /dev/urandom > data.raw
"$EMU_IMG" create -q -f raw disk.raw 4M
S=$T/nbd.sock
nbd_start srv -t -k "$S" -f raw disk.raw
perf record -q -e "$ev" -p "$srv_pid" -o perf.data 2> record.err &
rec=$!
cleanup_add "kill $rec"
# perf attaches asynchronously: wait until it has the process
i=0
until [ -s perf.data ] || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
sleep 0.5
nbdcopy data.raw "$(uri_unix "$S")"
sleep 0.3
kill -INT $rec
wait $rec || true
nbd_stop srv
cmp data.raw disk.raw || fail "the copy differs"
perf script -i perf.data > script.txt 2> script.err || fail "perf script: $(cat script.err)"
# arg3 is the offset, arg4 the length (lib/block/trace-events)
grep -q "$ev: .* arg3=0 arg4=[1-9]" script.txt ||
    fail "perf caught no blk_request_submit at offset 0: $(head -5 script.txt; cat record.err)"
n=$(grep -c "$ev:" script.txt)
echo "perf caught $n blk_request_submit events"

# the planted sequence of tests/unit/test-trace.c, through the probes of a
# process perf starts: two submits, (0x1000, write, 4096, 512) and
# (0x1000, read, 0, 65536), in that order
TT=$top_builddir/tests/unit/test-trace
perf probe -f -x "$TT" -a sdt_emu:blk_request_submit > probe2.out 2>&1 ||
    fail "perf probe -x $TT: $(cat probe2.out)"
ev2=$(sed -n 's/^ *\(sdt_emu:blk_request_submit[_0-9]*\) .*/\1/p' probe2.out | head -1)
[ -n "$ev2" ] || fail "perf probe did not say which event it added: $(cat probe2.out)"
cleanup_add "perf probe -q -d '$ev2'"
perf record -q -e "$ev2" -o planted.data -- "$TT" log planted.log 2> record2.err ||
    fail "perf record of test-trace: $(cat record2.err)"
perf script -i planted.data 2>/dev/null | sed -n 's/.*: (\([0-9a-f]*\)) //p' > planted.txt
printf '%s\n' 'arg1=4096 arg2=[0-9]* arg3=4096 arg4=512' 'arg1=4096 arg2=[0-9]* arg3=0 arg4=65536' > planted.want
[ "$(wc -l < planted.txt)" = 2 ] || fail "perf recorded $(wc -l < planted.txt) planted events: $(cat planted.txt)"
paste planted.want planted.txt | while IFS="$(printf '\t')" read -r want got; do
    echo "$got" | grep -Eq "^$want\$" || fail "planted event: got '$got', want '$want'"
done
echo "perf recorded the planted sequence"
