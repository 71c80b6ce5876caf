#!/usr/bin/env python3
"""jitprof.py - which translated blocks a perf profile of emu-user-riscv64 hit.

perf shows the code cache (a memfd mapping) as one DSO, so samples in
translated code need the emulator's own map.  Usage:

    EMU_PERF_MAP=1 perf record -o p.data emu-user-riscv64 [-d in_asm,out_asm -D p.log] prog
    tests/bench/user/jitprof.py p.data [p.log] [N]

Prints the share of samples outside translated code by DSO, then the N
(default 5) hottest blocks; with the -d in_asm,out_asm log, each with its
guest instructions and its host code (objdump) annotated with samples.
"""
import bisect
import collections
import re
import subprocess
import sys


def perf_samples(data):
    out = subprocess.run(['perf', 'script', '-i', data, '-F', 'pid,ip,dso'],
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        f = line.split(None, 2)
        if len(f) >= 2:
            yield int(f[0]), int(f[1], 16), f[2] if len(f) > 2 else '?'


def read_map(pid):
    blocks = []
    try:
        with open('/tmp/perf-%d.map' % pid) as fp:
            for line in fp:
                a, n, name = line.split(None, 2)
                blocks.append((int(a, 16), int(n, 16), name.strip()))
    except OSError:
        pass
    return sorted(blocks)


def read_log(path):
    """guest pc -> (guest listing, host address, host bytes) from -d in_asm,out_asm."""
    text = open(path).read()
    res = {}
    for part in re.split(r'\n(?=IN: )', text):
        m = re.search(r'OUT: 0x([0-9a-f]+) -> 0x([0-9a-f]+) \((\d+) bytes\)\n((?:  .*\n?)*)', part)
        if m:
            code = bytes(int(x, 16) for x in m.group(4).split())
            res[int(m.group(2), 16)] = (part.split('OUT:')[0], code)
    return res


def main():
    data = sys.argv[1]
    log = sys.argv[2] if len(sys.argv) > 2 and not sys.argv[2].isdigit() else None
    top = int(sys.argv[-1]) if sys.argv[-1].isdigit() else 5
    samples = list(perf_samples(data))
    maps = {}
    hits, per_ip, other = collections.Counter(), collections.Counter(), collections.Counter()
    for pid, ip, dso in samples:
        if pid not in maps:
            maps[pid] = read_map(pid)
        blocks = maps[pid]
        i = bisect.bisect_right(blocks, (ip, 1 << 62, '')) - 1
        if i >= 0 and ip < blocks[i][0] + blocks[i][1]:
            hits[blocks[i]] += 1
            per_ip[ip] += 1
        else:
            other[dso] += 1
    total = len(samples) or 1
    print('samples %d, in translated code %.1f%%' % (len(samples), 100.0 * sum(hits.values()) / total))
    for dso, n in other.most_common(5):
        print('  %5.1f%%  %s' % (100.0 * n / total, dso))
    code = read_log(log) if log else {}
    for (addr, size, name), n in hits.most_common(top):
        print('=== %s: %.1f%% (%d bytes at %#x)' % (name, 100.0 * n / total, size, addr))
        if addr not in code:
            continue
        listing, raw = code[addr]
        print(listing)
        with open('/tmp/jitprof.bin', 'wb') as fp:
            fp.write(raw)
        dis = subprocess.run(['objdump', '-D', '-b', 'binary', '-mi386:x86-64',
                              '--adjust-vma=%#x' % addr, '/tmp/jitprof.bin'],
                             capture_output=True, text=True).stdout
        for line in dis.splitlines()[7:]:
            m = re.match(r'\s*([0-9a-f]+):', line)
            print('%6d %s' % (per_ip.get(int(m.group(1), 16), 0) if m else 0, line))


if __name__ == '__main__':
    main()
