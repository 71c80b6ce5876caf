#!/bin/sh
# tests/bench/nbd/run.sh - emu-nbd vs qemu-nbd vs nbdkit (file plugin),
# side by side in one run (not part of `make check`).
#
#   tests/bench/nbd/run.sh [WORKDIR]
#
# Serves the same 2 GiB image (SIZE_MB to change) as raw and as qcow2 over
# a Unix socket and over TCP on loopback, and times nbdcopy reading it
# (to null:) and writing it (into a fresh image of the same format), with
# 1 and 4 connections.  Every server gets the same settings: read-only
# for reads, as many clients as nbdcopy opens (-e 0), writeback cache.
# nbdkit's file plugin has no qcow2 reader, so it runs on raw only.
# Prints MB/s per server and the ratios emu/qemu and emu/nbdkit (higher
# is better for emu).  Targets: >= 1.5 against qemu-nbd, >= 1.0 against
# nbdkit.  RUNS (default 2) runs of each case, the best one counts.
#
# Builds an optimized emu-nbd (no sanitizers) in build/bench-O2/ unless
# EMU_NBD names one.
set -eu
top=$(cd "$(dirname "$0")/../../.." && pwd)
work=${1:-${TMPDIR:-/tmp}/emu-nbd-bench}
runs=${RUNS:-2}
size_mb=${SIZE_MB:-2048}
port=${PORT:-10911}
mkdir -p "$work"
if [ -z "${EMU_NBD:-}" ]; then
    mkdir -p "$top/build/bench-O2"
    (cd "$top/build/bench-O2" &&
        { [ -f Makefile ] || "$top/configure" -q CFLAGS="-O2 -g" >/dev/null; } &&
        make -j2 emu-nbd >/dev/null)
    EMU_NBD=$top/build/bench-O2/emu-nbd
fi
for t in qemu-nbd nbdkit nbdcopy qemu-img python3; do
    command -v $t >/dev/null || { echo "$t is not installed" >&2; exit 1; }
done
cd "$work"

if [ ! -f src.raw ] || [ "$(stat -c %s src.raw)" != $((size_mb << 20)) ]; then
    echo "making a $size_mb MiB test image in $work ..."
    SIZE_MB=$size_mb python3 - <<'PY'
import os, random
r = random.Random(1)
chunk = 1 << 20
n = int(os.environ['SIZE_MB'])
text = b''.join(b'line %07d: the quick brown fox jumps over the lazy dog\n' % i
                for i in range(20000))[:chunk]
with open('src.raw', 'wb') as f:
    f.truncate(n * chunk)
    for i in range(n):
        k = r.random()
        if k < 0.45:
            f.seek(i * chunk); f.write(os.urandom(chunk))
        elif k < 0.75:
            f.seek(i * chunk); f.write(text)
        elif k < 0.85:
            f.seek(i * chunk); f.write(bytes(chunk))
        # else: a hole
PY
    qemu-img convert -f raw -O qcow2 src.raw src.qcow2
fi

pid=
stop_server() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        pid=
    fi
    rm -f "$work/sock"
}
trap 'stop_server' EXIT INT TERM

# start SERVER FMT FILE TRANSPORT RO
start_server() {
    srv=$1 fmt=$2 file=$3 tr=$4 ro=$5
    if [ "$tr" = unix ]; then
        where="-k $work/sock"; uri="nbd+unix:///?socket=$work/sock"
        kwhere="-U $work/sock"
    else
        where="-b 127.0.0.1 -p $port"; uri="nbd://127.0.0.1:$port/"
        kwhere="-i 127.0.0.1 -p $port"
    fi
    r=; [ "$ro" = ro ] && r=-r
    case $srv in
    emu) "$EMU_NBD" -t -e 0 $r -f "$fmt" $where "$file" & pid=$! ;;
    qemu) qemu-nbd -t -e 0 $r -f "$fmt" $where "$file" & pid=$! ;;
    nbdkit) nbdkit -f $r $kwhere file "$file" & pid=$! ;;
    esac
    i=0
    until nbdinfo --size "$uri" >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt 100 ] || { echo "$srv did not start" >&2; exit 1; }
        sleep 0.05
    done
}

now() { date +%s.%N; }

# measure SERVER FMT TRANSPORT DIR CONNS -> MB/s (best of $runs)
measure() {
    srv=$1 fmt=$2 tr=$3 dir=$4 conns=$5 best=0
    for _ in $(seq "$runs"); do
        if [ "$dir" = read ]; then
            start_server "$srv" "$fmt" "src.$fmt" "$tr" ro
            t0=$(now)
            nbdcopy --connections="$conns" "$uri" null:
            t1=$(now)
        else
            rm -f dst.$fmt
            if [ "$fmt" = raw ]; then truncate -s $((size_mb << 20)) dst.raw
            else qemu-img create -q -f qcow2 dst.qcow2 $((size_mb << 20)); fi
            start_server "$srv" "$fmt" "dst.$fmt" "$tr" rw
            t0=$(now)
            nbdcopy --connections="$conns" src.raw "$uri"
            t1=$(now)
        fi
        stop_server
        mbs=$(echo "$t0 $t1" | awk -v s="$size_mb" '{ printf "%.0f", s * 1.048576 / ($2 - $1) }')
        [ "$mbs" -gt "$best" ] && best=$mbs
    done
    echo "$best"
}

cat /dev/null > src.raw.cached; cat src.raw src.qcow2 > /dev/null   # warm the page cache
printf '%-6s %-5s %-5s %-5s %9s %9s %9s %9s %9s\n' fmt net dir conns emu qemu nbdkit emu/qemu emu/nbdkit
for fmt in raw qcow2; do
    for tr in unix tcp; do
        for dir in read write; do
            for conns in 1 4; do
                e=$(measure emu "$fmt" "$tr" "$dir" "$conns")
                q=$(measure qemu "$fmt" "$tr" "$dir" "$conns")
                if [ "$fmt" = raw ]; then k=$(measure nbdkit "$fmt" "$tr" "$dir" "$conns"); else k=-; fi
                rq=$(awk -v a="$e" -v b="$q" 'BEGIN { printf "%.2f", a / b }')
                if [ "$k" = - ]; then rk=-; else rk=$(awk -v a="$e" -v b="$k" 'BEGIN { printf "%.2f", a / b }'); fi
                printf '%-6s %-5s %-5s %-5s %9s %9s %9s %9s %9s\n' "$fmt" "$tr" "$dir" "$conns" "$e" "$q" "$k" "$rq" "$rk"
            done
        done
    done
done
rm -f dst.raw dst.qcow2 src.raw.cached
echo "(MB/s, best of $runs; image: $size_mb MiB of random, text, zeros and holes)"
