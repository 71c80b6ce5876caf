#!/usr/bin/env python3
"""analyze-overlapping-writes - writes that overlap inside a byte range.

    analyze-overlapping-writes.py [--all-nodes] TRACE-FILE START LENGTH

Looks at the writes (write, zeroes, discard, compressed, splice) of a
simple trace (doc/tracing.md) that touch [START, START+LENGTH) and reports
every write whose bytes in that range overlap an earlier write's to the
same node, saying whether the two were in flight at the same time (a race)
or one after the other (an overwrite).  By default only the nodes the
program opened (blk_open: images, not their metadata's protocol nodes,
whose tables are rewritten in place by design) count; --all-nodes looks at
every node.  START and LENGTH take a K, M or G suffix.  Exit status: 0 no
overlap, 1 overlaps listed, 2 the trace could not be read.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simpletrace  # noqa: E402

WRITES = {'write', 'zeroes', 'discard', 'compressed', 'splice'}


def parse_size(s):
    mult = {'k': 1 << 10, 'm': 1 << 20, 'g': 1 << 30, 't': 1 << 40}
    s = s.strip()
    f = mult.get(s[-1:].lower(), 1)
    try:
        v = int(s[:-1] if f != 1 else s, 0) * f
    except ValueError:
        raise SystemExit('analyze-overlapping-writes.py: bad size "%s"' % s)
    if v < 0:
        raise SystemExit('analyze-overlapping-writes.py: bad size "%s"' % s)
    return v


class OverlappingWrites(simpletrace.Analyzer):
    def __init__(self, start, length, all_nodes=False):
        self.start = start
        self.stop = start + length
        self.all_nodes = all_nodes

    def begin(self):
        self.opened = {}        # node -> filename
        self.done = {}          # node -> [(lo, hi, op, record)] completed
        self.inflight = {}      # node -> [(lo, hi, op, record)]
        self.overlaps = []

    def blk_open(self, rec, bs, filename, fmt):
        self.opened[bs] = filename

    def _clip(self, offset, nbytes):
        lo, hi = max(offset, self.start), min(offset + nbytes, self.stop)
        return (lo, hi) if lo < hi else None

    def blk_request_submit(self, rec, bs, op, offset, nbytes):
        if op not in WRITES or not (self.all_nodes or bs in self.opened):
            return
        c = self._clip(offset, nbytes)
        if not c:
            return
        lo, hi = c
        for kind, lst in (('in flight at the same time as', self.inflight.get(bs, [])),
                          ('overwrites', self.done.get(bs, []))):
            for plo, phi, pop, prec in lst:
                if plo < hi and lo < phi:
                    self.overlaps.append((rec, bs, op, offset, nbytes, kind, pop, prec,
                                          max(lo, plo), min(hi, phi)))
        self.inflight.setdefault(bs, []).append((lo, hi, op, rec))

    def blk_request_complete(self, rec, bs, op, offset, nbytes, ret):
        lst = self.inflight.get(bs)
        if not lst:
            return
        c = self._clip(offset, nbytes)
        for i, (lo, hi, pop, prec) in enumerate(lst):
            if c and (lo, hi) == c and pop == op:
                self.done.setdefault(bs, []).append(lst.pop(i))
                return

    def end(self):
        for (rec, bs, op, offset, nbytes, kind, pop, prec, lo, hi) in self.overlaps:
            name = self.opened.get(bs, 'node 0x%x' % bs)
            print('overlap: %s %s offset %d bytes %d (byte %d) %s the %s at byte %d of the '
                  'trace, bytes [%d, %d)' % (name, op, offset, nbytes, rec.offset, kind, pop,
                                            prec.offset, lo, hi))
        if not self.overlaps:
            print('no overlapping writes in [%d, %d)' % (self.start, self.stop))


def main(argv):
    all_nodes = '--all-nodes' in argv
    argv = [a for a in argv if a != '--all-nodes']
    if len(argv) != 3:
        sys.stderr.write(__doc__.split('\n\n')[1] + '\n')
        return 2
    a = OverlappingWrites(parse_size(argv[1]), parse_size(argv[2]), all_nodes)
    simpletrace.run(a, argv[0])
    return 1 if a.overlaps else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
