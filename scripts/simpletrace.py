#!/usr/bin/env python3
"""simpletrace - read the trace files of emu's simple backend.

    simpletrace.py FILE            print every record, one a line

As a module (the format is in doc/tracing.md):

    import simpletrace

    class Count(simpletrace.Analyzer):
        def begin(self):
            self.n = 0
        def blk_request_submit(self, rec, bs, op, offset, nbytes):
            self.n += 1
        def end(self):
            print(self.n)

    simpletrace.process(Count(), "trace.bin")

An Analyzer method named after an event gets the record (rec.name,
rec.tid, rec.ns: nanoseconds, monotonic) and the event's arguments in
the order of its declaration; events without a method go to catchall().
begin() runs before the first record, end() after the last, dropped(n)
where the writer had to drop N records (its ring was full).

The file carries its own event table, so no trace-events file is needed.
A file that is not a trace, or is cut short or damaged, raises TraceError
naming the byte offset and the problem.
"""
import re
import struct
import sys

MAGIC = b'EMUTRACE'
VERSION = 1
REC_EVENT_DEF = 1
REC_EVENT = 2
REC_DROPPED = 3
MAX_RECORD = 1 << 20

__all__ = ['TraceError', 'Event', 'Record', 'Analyzer', 'read_trace', 'process',
           'format_record', 'run']


class TraceError(Exception):
    pass


DECL_RE = re.compile(r'^([a-z_][a-z0-9_]*)\((.*?)\)\s*"(.*)"$', re.S)
SIGNED = {'int', 'long', 'long long', 'short', 'char', 'ssize_t', 'off_t', 'pid_t',
          'intptr_t', 'int8_t', 'int16_t', 'int32_t', 'int64_t'}
CONV_RE = re.compile(r'%([-#0 +]*\d*(?:\.\d+)?)(?:hh|h|ll|l|z|j|t)?([diouxXsp%])')


class Event:
    """One event of the file's table: name, args [(ctype, name, kind)], fmt.
    kind is 's' (string), 'p' (pointer), 'i' (signed) or 'u' (unsigned)."""

    def __init__(self, eid, decl):
        m = DECL_RE.match(decl)
        if not m:
            raise ValueError('bad event declaration %r' % decl)
        self.id = eid
        self.name = m.group(1)
        self.fmt = m.group(3)
        self.args = []
        text = m.group(2).strip()
        if text and text != 'void':
            for a in text.split(','):
                am = re.match(r'^(.*?[\s*])([A-Za-z_]\w*)$', a.strip())
                if not am:
                    raise ValueError('bad argument %r' % a)
                ctype = ' '.join(am.group(1).split())
                if re.fullmatch(r'const char \*', ctype):
                    kind = 's'
                elif '*' in ctype:
                    kind = 'p'
                else:
                    kind = 'i' if ctype in SIGNED else 'u'
                self.args.append((ctype, am.group(2), kind))

    def __repr__(self):
        return 'Event(%d, %s)' % (self.id, self.name)


class Record:
    """One traced event: event, name, tid, ns (monotonic), args (tuple),
    offset (its byte offset in the file)."""
    __slots__ = ('event', 'tid', 'ns', 'args', 'offset')

    def __init__(self, event, tid, ns, args, offset):
        self.event = event
        self.tid = tid
        self.ns = ns
        self.args = args
        self.offset = offset

    @property
    def name(self):
        return self.event.name

    def arg(self, name):
        for (_, n, _), v in zip(self.event.args, self.args):
            if n == name:
                return v
        raise KeyError(name)


class Dropped:
    """The writer dropped COUNT records here (its ring was full)."""

    def __init__(self, count, offset):
        self.count = count
        self.offset = offset


def _read_exact(f, n, path, offset, what):
    b = f.read(n)
    if len(b) != n:
        raise TraceError('%s: truncated at byte %d: %s needs %d bytes, %d there'
                         % (path, offset, what, n, len(b)))
    return b


def read_trace(path):
    """Yield the records of the trace file PATH in order (Record or
    Dropped).  Raises TraceError on a file that is not a complete trace."""
    try:
        f = open(path, 'rb')
    except OSError as e:
        raise TraceError('%s: cannot open: %s' % (path, e.strerror))
    with f:
        head = f.read(16)
        if len(head) < 16 or head[:8] != MAGIC:
            if len(head) < 16 and MAGIC.startswith(head[:8]) and head:
                raise TraceError('%s: truncated at byte %d: the file header needs 16 bytes'
                                 % (path, len(head)))
            raise TraceError('%s: not an emu simple trace file (no EMUTRACE header)' % path)
        version, = struct.unpack_from('<I', head, 8)
        if version != VERSION:
            raise TraceError('%s: trace format version %d, this reader knows %d'
                             % (path, version, VERSION))
        events = {}
        offset = 16
        while True:
            hdr = f.read(8)
            if not hdr:
                return
            if len(hdr) < 8:
                raise TraceError('%s: truncated at byte %d: a record header needs 8 bytes, '
                                 '%d there' % (path, offset, len(hdr)))
            kind, size = struct.unpack('<II', hdr)
            if size < 16 or size % 8 or size > MAX_RECORD or kind not in (
                    REC_EVENT_DEF, REC_EVENT, REC_DROPPED):
                raise TraceError('%s: damaged record at byte %d (kind %d, size %d)'
                                 % (path, offset, kind, size))
            body = _read_exact(f, size - 8, path, offset, 'the record')
            if kind == REC_EVENT_DEF:
                eid, tlen = struct.unpack_from('<II', body)
                if 8 + tlen > len(body):
                    raise TraceError('%s: damaged event table entry at byte %d' % (path, offset))
                try:
                    events[eid] = Event(eid, body[8:8 + tlen].decode('utf-8'))
                except (ValueError, UnicodeDecodeError) as e:
                    raise TraceError('%s: damaged event table entry at byte %d: %s'
                                     % (path, offset, e))
            elif kind == REC_DROPPED:
                yield Dropped(struct.unpack_from('<Q', body)[0], offset)
            else:
                eid, tid, ns = struct.unpack_from('<IIQ', body)
                ev = events.get(eid)
                if ev is None:
                    raise TraceError('%s: record at byte %d has event id %d, which the file '
                                     'does not declare' % (path, offset, eid))
                pos = 16
                args = []
                try:
                    for _, _, k in ev.args:
                        if k == 's':
                            n, = struct.unpack_from('<I', body, pos)
                            if pos + 4 + n > len(body):
                                raise struct.error('string past the record')
                            args.append(body[pos + 4:pos + 4 + n].decode('utf-8', 'replace'))
                            pos += (4 + n + 7) // 8 * 8
                        else:
                            v, = struct.unpack_from('<Q', body, pos)
                            if k == 'i' and v >= 1 << 63:
                                v -= 1 << 64
                            args.append(v)
                            pos += 8
                except struct.error:
                    raise TraceError('%s: damaged %s record at byte %d (its arguments do not '
                                     'fit its %d bytes)' % (path, ev.name, offset, size))
                yield Record(ev, tid, ns, tuple(args), offset)
            offset += size


def format_record(rec):
    """The record's arguments through its event's format, as the log
    backend prints them."""
    vals = iter(zip(rec.event.args, rec.args))

    def conv(m):
        if m.group(2) == '%':
            return '%'
        try:
            (_, _, kind), v = next(vals)
        except StopIteration:
            return m.group(0)
        c = m.group(2)
        if c == 'p':
            return '0x%x' % v if v else '(nil)'
        if c == 's':
            return ('%' + m.group(1) + 's') % v
        if c in 'xXo' and isinstance(v, int) and v < 0:
            v &= (1 << 64) - 1
        if c == 'u':
            c = 'd'
        return ('%' + m.group(1) + c) % v
    return CONV_RE.sub(conv, rec.event.fmt)


class Analyzer:
    """Base class of an analysis: see the module's documentation."""

    def begin(self):
        pass

    def catchall(self, rec):
        pass

    def dropped(self, count):
        sys.stderr.write('warning: the trace lost %d records (writer ring full)\n' % count)

    def end(self):
        pass


def process(analyzer, path):
    """Feed every record of PATH to ANALYZER: begin(), the records, end()."""
    analyzer.begin()
    for rec in read_trace(path):
        if isinstance(rec, Dropped):
            analyzer.dropped(rec.count)
            continue
        fn = getattr(analyzer, rec.name, None)
        if fn is None:
            analyzer.catchall(rec)
        else:
            fn(rec, *rec.args)
    analyzer.end()


def run(analyzer, path):
    """process(), with a TraceError reported as one line and exit status 2
    (for scripts)."""
    try:
        process(analyzer, path)
    except TraceError as e:
        sys.stderr.write('%s: %s\n' % (sys.argv[0].rsplit('/', 1)[-1], e))
        sys.exit(2)
    except BrokenPipeError:
        sys.exit(0)


class Printer(Analyzer):
    """The pretty-printer: name, time since the previous record, thread,
    and the arguments through the event's format."""

    def begin(self):
        self.last = None

    def catchall(self, rec):
        delta = 0 if self.last is None else rec.ns - self.last
        self.last = rec.ns
        print('%s %d.%03d tid=%d %s' % (rec.name, delta // 1000, delta % 1000, rec.tid,
                                        format_record(rec)))

    def dropped(self, count):
        print('dropped %d records' % count)


def main(argv):
    if len(argv) != 1 or argv[0] in ('-h', '--help'):
        sys.stderr.write('usage: simpletrace.py TRACE-FILE\n'
                         'Print the records of an emu simple trace file '
                         '(emu-img --trace file=TRACE-FILE ...).\n')
        return 2 if len(argv) != 1 else 0
    run(Printer(), argv[0])
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
