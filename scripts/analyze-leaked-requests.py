#!/usr/bin/env python3
"""analyze-leaked-requests - requests that were submitted and never completed.

    analyze-leaked-requests.py TRACE-FILE

Pairs, in a simple trace (doc/tracing.md):
  block layer   blk_request_submit / blk_request_complete  (node, op, offset, bytes)
  NBD server    nbd_request / nbd_reply                    (connection, handle)
  virtqueues    virtqueue_pop / virtqueue_push             (device, queue, head)
and lists each request left without its completion when the trace ends
(or, for NBD, when its connection closed).  Exit status: 0 nothing leaked,
1 leaks listed, 2 the trace could not be read.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simpletrace  # noqa: E402


class LeakedRequests(simpletrace.Analyzer):
    def begin(self):
        self.pending = {}       # key -> (description, record) in submission order
        self.leaks = []

    def _start(self, key, rec, what):
        # the same key twice in flight (two identical requests at once) is
        # counted: each completion takes one
        self.pending.setdefault(key, []).append((what, rec))

    def _finish(self, key):
        lst = self.pending.get(key)
        if lst:
            lst.pop(0)
            if not lst:
                del self.pending[key]

    def blk_request_submit(self, rec, bs, op, offset, nbytes):
        self._start(('blk', bs, op, offset, nbytes), rec,
                    'block %s node 0x%x offset %d bytes %d' % (op, bs, offset, nbytes))

    def blk_request_complete(self, rec, bs, op, offset, nbytes, ret):
        self._finish(('blk', bs, op, offset, nbytes))

    def nbd_request(self, rec, conn, handle, typ, command, offset, length, flags):
        if command == 'disc':       # a disconnect has no reply
            return
        self._start(('nbd', conn, handle), rec,
                    'NBD %s conn 0x%x handle 0x%x offset %d length %d'
                    % (command, conn, handle, offset, length))

    def nbd_reply(self, rec, conn, handle, error):
        self._finish(('nbd', conn, handle))

    def nbd_conn_close(self, rec, conn):
        for key in [k for k in self.pending if k[0] == 'nbd' and k[1] == conn]:
            for what, r in self.pending.pop(key):
                self.leaks.append((r, what + ' (connection closed)'))

    def virtqueue_pop(self, rec, dev, queue, head, in_bytes, out_bytes):
        self._start(('vq', dev, queue, head), rec,
                    'virtqueue %s queue %d head %d in %d out %d'
                    % (dev, queue, head, in_bytes, out_bytes))

    def virtqueue_push(self, rec, dev, queue, head, length):
        self._finish(('vq', dev, queue, head))

    def end(self):
        for lst in self.pending.values():
            for what, r in lst:
                self.leaks.append((r, what))
        self.leaks.sort(key=lambda x: x[0].offset)
        for r, what in self.leaks:
            print('leaked: %s (tid %d, record at byte %d)' % (what, r.tid, r.offset))
        if not self.leaks:
            print('no leaked requests')


def main(argv):
    if len(argv) != 1:
        sys.stderr.write(__doc__.split('\n\n')[1] + '\n')
        return 2
    a = LeakedRequests()
    simpletrace.run(a, argv[0])
    return 1 if a.leaks else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
