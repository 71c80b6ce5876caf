#!/usr/bin/python3
# tests/bench/report.py - the writing half of tests/bench/report (standard
# library only: Debian's python3, no matplotlib; the plots are gnuplot's).
#
#   report.py append HISTORY RESDIR MODE     RESDIR/results.tsv -> HISTORY
#   report.py write HISTORY RESDIR OUT MODE SECONDS [RANGE]
#                                            OUT/report.md, report.html, PNGs
#   report.py check RESDIR                   exit 1 on a miss beyond spread
#
# RESDIR holds one run: results.tsv (tests/bench/lib.sh's bench_result
# lines), runs.tsv (benchmark, status, seconds, note) and commit (hash,
# date, subject).
import html
import os
import re
import subprocess
import sys
import time

FIELDS = ['bench', 'case', 'metric', 'emu', 'peer', 'ratio', 'target', 'better', 'spread']
HIST_FIELDS = ['when', 'commit', 'date', 'subject', 'mode'] + FIELDS
# what each benchmark's profile runs, for the reader (the peer first named)
PEERS = {'img': 'qemu-img', 'nbd': 'qemu-nbd / nbdkit', 'anon': 'qemu-img convert',
         'user': 'qemu-riscv64', 'user-debian': 'qemu-riscv64',
         'system': 'qemu-system-riscv64', 'system-disk': 'qemu-system-riscv64',
         'system-net': 'qemu-system-riscv64', 'x86': 'qemu-system-x86_64 (KVM)',
         'x86-blk': 'qemu-system-x86_64 (KVM)'}
ORDER = ['img', 'nbd', 'anon', 'user', 'user-debian', 'system', 'system-disk',
         'system-net', 'x86', 'x86-blk']


def num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def read_tsv(path, fields):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            line = line.rstrip('\n')
            if not line or line.startswith('#'):
                continue
            parts = line.split('\t')
            if parts[0] == fields[0]:
                continue  # the header
            parts += [''] * (len(fields) - len(parts))
            rows.append(dict(zip(fields, parts)))
    return rows


def results(resdir):
    return read_tsv(os.path.join(resdir, 'results.tsv'), FIELDS)


def runs(resdir):
    return read_tsv(os.path.join(resdir, 'runs.tsv'), ['name', 'status', 'seconds', 'note'])


def commit(resdir):
    try:
        with open(os.path.join(resdir, 'commit'), encoding='utf-8') as f:
            parts = f.read().rstrip('\n').split('\t')
    except OSError:
        parts = []
    parts += ['unknown', '-', '-'][len(parts):]
    return parts[:3]


def judge(r):
    """(verdict, how far the ratio is from its target in %, or None).
    A miss is how much worse than the target the ratio is, relative to the
    target; it counts against --check only beyond the spread."""
    ratio, target, spread = num(r['ratio']), num(r['target']), num(r['spread']) or 0.0
    if ratio is None or target is None or ratio <= 0:
        return '-', None
    if r['better'] == 'higher':
        miss = target / ratio - 1
    else:
        miss = ratio / target - 1
    if miss <= 0:
        return 'pass', miss
    if miss <= spread:
        return 'miss, within spread', miss
    return 'MISS', miss


# ---------------------------------------------------------------- append

def cmd_append(history, resdir, mode):
    h, date, subject = commit(resdir)
    new = not os.path.exists(history) or os.path.getsize(history) == 0
    os.makedirs(os.path.dirname(os.path.abspath(history)), exist_ok=True)
    when = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
    with open(history, 'a', encoding='utf-8') as f:
        if new:
            f.write('\t'.join(HIST_FIELDS) + '\n')
        for r in results(resdir):
            f.write('\t'.join([when, h, date, subject, mode] + [r[k] for k in FIELDS]) + '\n')


# ---------------------------------------------------------------- profiles

LINE = re.compile(r'^\s*([\d.]+)%\s+(.*?)\s+\[(.)\]\s+(.*?)\s*$')
HEX = re.compile(r'^(0x)?[0-9a-f]+$')


SAMPLES = re.compile(r'^# Samples: ([\d.]+[KMG]?)')
IPC = re.compile(r'\s+(-|[\d.]+)\s+(-|\S+)$')  # perf's IPC columns, empty here


def top_functions(path, n=25):
    """(number of samples, [(percent, object, symbol)] the n first)"""
    out = []
    acc = {}
    samples = '?'
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            for line in f:
                m = SAMPLES.match(line)
                if m:
                    samples = m.group(1)  # as perf says it: 512, 3K
                m = LINE.match(line)
                if m:
                    dso, sym = m.group(2), IPC.sub('', m.group(4))
                    dso = re.sub(r'^\[JIT\] tid \d+$', '[JIT]', dso)  # qemu's perf map
                    if HEX.match(sym):
                        # no symbol: translated code (emu's code cache, the
                        # peer's), a stripped binary; one entry per object
                        sym = '(addresses without a symbol, together)'
                    elif m.group(3) == 'k':
                        sym += ' [kernel]'
                    key = (dso, sym)
                    if key in acc:
                        acc[key][0] += float(m.group(1))
                    else:
                        acc[key] = [float(m.group(1)), dso, sym]
                        out.append(acc[key])
    except OSError:
        return None
    out.sort(key=lambda t: -t[0])
    return samples, [tuple(t) for t in out[:n]]


def profile_of(out, bench):
    d = os.path.join(out, 'profiles')
    res = {}
    for who in ('emu', 'peer'):
        txt = os.path.join(d, '%s.%s.txt' % (bench, who))
        cmd = os.path.join(d, '%s.%s.cmd' % (bench, who))
        if os.path.exists(txt):
            with open(cmd, encoding='utf-8', errors='replace') as f:
                res[who] = (f.read().strip().replace('\n', '\\n'), top_functions(txt))
    return res


# ---------------------------------------------------------------- plots

def series_key(r):
    return (r['case'], r['metric'])


def plots(history, out):
    """One PNG per benchmark and metric: each case's ratio across commits
    (oldest first, by commit date), the targets as dashed lines.  Returns
    {bench: [(metric, file name)]}."""
    rows = read_tsv(history, HIST_FIELDS)
    if not rows:
        return {}
    # commits in order: by commit date, a tree with changes (hash+) after
    # its commit, then by when it was measured
    first = {}
    for i, r in enumerate(rows):
        first.setdefault(r['commit'], (r['date'], r['commit'].endswith('+'), i))
    commits = sorted(first, key=lambda c: first[c])
    idx = {c: i for i, c in enumerate(commits)}
    gnuplot = subprocess.run(['sh', '-c', 'command -v gnuplot'], capture_output=True, text=True).stdout.strip()
    if not gnuplot:
        sys.stderr.write('report: no gnuplot (apt-get install gnuplot-nox): no plots\n')
    made = {}
    groups = {}
    for r in rows:  # the latest measurement of a commit counts
        groups.setdefault((r['bench'], r['metric']), {})[(r['case'], r['commit'])] = r
    for (bench, metric), vals in sorted(groups.items(), key=lambda kv: (ORDER.index(kv[0][0]) if kv[0][0] in ORDER else 99, kv[0][1])):
        cases = []
        for (case, _c) in vals:
            if case not in cases:
                cases.append(case)
        better = next(iter(vals.values()))['better']
        targets = sorted({num(r['target']) for r in vals.values() if num(r['target']) is not None})
        slug = re.sub(r'[^a-z0-9]+', '-', ('%s-%s' % (bench, metric)).lower()).strip('-')
        dat = os.path.join(out, 'plot-%s.dat' % slug)
        png = 'plot-%s.png' % slug
        ys = []
        with open(dat, 'w', encoding='utf-8') as f:
            f.write('# x commit ' + ' '.join('"%s"' % c for c in cases) + '\n')
            for c in commits:
                line = [str(idx[c]), c]
                for case in cases:
                    r = vals.get((case, c))
                    v = num(r['ratio']) if r else None
                    if v is not None and v > 0:
                        ys.append(v)
                    line.append('%g' % v if v is not None and v > 0 else 'NaN')
                if any(x != 'NaN' for x in line[2:]):
                    f.write(' '.join(line) + '\n')
        if not ys or not gnuplot:
            os.unlink(dat)
            continue
        lo, hi = min(ys + targets), max(ys + targets)
        logy = hi / lo > 8
        plot = []
        for i, case in enumerate(cases):
            plot.append("'%s' using 1:%d:xtic(2) with linespoints lw 2 pt 7 ps 0.8 title '%s'"
                        % (dat.replace("'", "''"), i + 3, case.replace("'", "''")))
        for j, t in enumerate(targets):
            plot.append("%g with lines dt %d lw 2 lc rgb '#c00000' title 'target %g'" % (t, j + 2, t))
        script = '\n'.join([
            "set terminal pngcairo size 960,520 font ',9'",
            "set output '%s'" % os.path.join(out, png).replace("'", "''"),
            "set title '%s: %s, ratio across commits (%s is better)' noenhanced"
            % (bench, metric.replace("'", "''"), better),
            "set key outside right top noenhanced",
            "set xtics rotate by 45 right noenhanced",
            "set grid ytics",
            "set ylabel 'ratio'",
            "set xrange [-0.5:%g]" % (len(commits) - 0.5),
            "set yrange [%g:%g]" % ((lo / 1.3, hi * 1.3) if logy else (0, hi * 1.15)),
            "set logscale y" if logy else "unset logscale y",
            "set datafile missing 'NaN'",
            "plot " + ', \\\n     '.join(plot),
        ]) + '\n'
        p = subprocess.run([gnuplot], input=script, capture_output=True, text=True)
        os.unlink(dat)  # history.tsv has it all
        if p.returncode == 0 and os.path.exists(os.path.join(out, png)):
            made.setdefault(bench, []).append((metric, png))
        else:
            sys.stderr.write('report: gnuplot failed for %s: %s\n' % (png, p.stderr.strip()[-300:]))
    return made


# ---------------------------------------------------------------- write

def machine():
    cpu = '?'
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load = open('/proc/loadavg').read().split()[:3]
    except OSError:
        load = ['?']
    return '%d CPUs (%s), Linux %s, load average at the end %s' % (
        os.cpu_count() or 0, cpu, os.uname().release, ' '.join(load))


HOWTO = ("Ratios are emu / peer: a time ratio below 1 (`better` lower) or a "
         "throughput ratio above 1 (`better` higher) means emu wins.  `spread` "
         "is the run-to-run spread of the ratio in this run (the ratio of the "
         "best runs against the ratio of the medians, relative): a miss within "
         "it is noise as far as this run can tell, a MISS beyond it fails "
         "`--check`.  Top-25 lists: perf samples (cpu-clock, 999 Hz) of one "
         "representative command per benchmark, by shared object and symbol, "
         "emu beside its peer.  Plots: each ratio at each measured commit "
         "(oldest left), the target dashed.  tests/bench/README.md says more.")


def fmt_ratio(r):
    v = num(r['ratio'])
    return '%.3g' % v if v is not None else r['ratio']


def cmd_write(history, resdir, out, mode, seconds, rng=None):
    res = results(resdir)
    rn = runs(resdir)
    h, date, subject = commit(resdir)
    made = plots(history, out)
    benches = []
    for b in ORDER + sorted({r['bench'] for r in res} - set(ORDER)):
        if any(r['bench'] == b for r in res) or b in made or any(x['name'].split(' ')[0] == b for x in rn):
            benches.append(b)
    verdicts = [judge(r)[0] for r in res]
    counts = {v: verdicts.count(v) for v in ('pass', 'miss, within spread', 'MISS', '-')}
    when = time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())
    title = 'emu benchmark report'
    head = [
        ('commit', '%s (%s) %s' % (h, date, subject)),
        ('run', '%s, %s, %d min %d s%s' % (mode, when, int(seconds) // 60, int(seconds) % 60,
                                            (', commits %s' % rng) if rng else '')),
        ('machine', machine()),
        ('plots', '%d' % sum(len(v) for v in made.values()) if made else 'none (no gnuplot, or no history)'),
        ('result', '%d pass, %d miss within spread, %d MISS, %d without target'
         % (counts['pass'], counts['miss, within spread'], counts['MISS'], counts['-'])),
    ]

    md = ['# %s' % title, '']
    for k, v in head:
        md.append('- **%s**: %s' % (k, v))
    # --commits: what each commit of the range gave (the tables below are
    # the last one's)
    per_commit = []
    if rng:
        for d in sorted(os.listdir(os.path.join(out, 'commits')) if os.path.isdir(os.path.join(out, 'commits')) else []):
            rd = os.path.join(out, 'commits', d)
            vs = [judge(r)[0] for r in results(rd)]
            st = ', '.join('%s %s' % (x['name'], x['status']) for x in runs(rd))
            c = commit(rd)
            per_commit.append((c[1], c[0], c[2], '%d pass, %d miss within spread, %d MISS'
                               % (vs.count('pass'), vs.count('miss, within spread'), vs.count('MISS')), st))
        per_commit.sort()
    md += ['', HOWTO, '']
    if per_commit:
        md += ['## Commits measured (the tables below are the last one\'s)', '',
               '| commit | date | subject | ratios | benchmarks |', '| --- | --- | --- | --- | --- |']
        for date_, h_, subj, vs, st in per_commit:
            md.append('| %s | %s | %s | %s | %s |' % (h_, date_, subj.replace('|', '\\|'), vs, st))
        md.append('')
    md += ['## Benchmarks run', '', '| benchmark | status | seconds | note |',
           '| --- | --- | --- | --- |']
    for x in rn:
        md.append('| %s | %s | %s | %s |' % (x['name'], x['status'], x['seconds'], x['note'] or ''))
    md += ['', '## Ratios', '',
           '| bench | case | metric | emu | peer | ratio | target | better | result | miss | spread |',
           '| --- | --- | --- | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: |']
    for r in res:
        v, miss = judge(r)
        md.append('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
            r['bench'], r['case'], r['metric'], r['emu'], r['peer'], fmt_ratio(r), r['target'],
            r['better'], '**MISS**' if v == 'MISS' else v,
            '%+.0f%%' % (100 * miss) if miss is not None and miss > 0 else '',
            '%.0f%%' % (100 * (num(r['spread']) or 0))))
    for b in benches:
        md += ['', '## %s (peer: %s)' % (b, PEERS.get(b, '?')), '']
        for metric, png in made.get(b, []):
            md += ['![%s: %s](%s)' % (b, metric, png), '']
        prof = profile_of(out, b)
        if not prof:
            md += ['(no profile for this benchmark in this run)', '']
            continue
        for who in ('emu', 'peer'):
            if who not in prof:
                continue
            cmd, (samples, top) = prof[who]
            md += ['Top 25 host functions, %s (%s samples): `%s`' % (who, samples, cmd), '']
            if not top:
                md += ['(perf recorded nothing)', '']
                continue
            md += ['| % | object | symbol |', '| ---: | --- | --- |']
            for pct, dso, sym in top:
                md.append('| %.2f | %s | %s |' % (pct, dso, sym.replace('|', '\\|')))
            md.append('')
    with open(os.path.join(out, 'report.md'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(md) + '\n')

    e = html.escape
    hp = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
          '<title>%s</title>' % e(title),
          '<style>body{font-family:sans-serif;margin:1.5em;max-width:1200px}'
          'table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;padding:2px 6px;font-size:90%}'
          'td.n{text-align:right}tr.MISS{background:#fbb}tr.miss{background:#ffe9b0}tr.pass{background:#e4f6e4}'
          '.side{display:flex;gap:1.5em;flex-wrap:wrap}code{font-size:85%}img{max-width:100%}</style>',
          '</head><body>', '<h1>%s</h1>' % e(title), '<ul>']
    for k, v in head:
        hp.append('<li><b>%s</b>: %s</li>' % (e(k), e(v)))
    hp += ['</ul>', '<p>%s</p>' % e(HOWTO).replace('`', '')]
    if per_commit:
        hp += ['<h2>Commits measured <small>(the tables below are the last one\'s)</small></h2>',
               '<table><tr><th>commit</th><th>date</th><th>subject</th><th>ratios</th><th>benchmarks</th></tr>']
        for row in per_commit:
            hp.append('<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>'
                      % (e(row[1]), e(row[0]), e(row[2]), e(row[3]), e(row[4])))
        hp.append('</table>')
    hp += ['<h2>Benchmarks run</h2>',
           '<table><tr><th>benchmark</th><th>status</th><th>seconds</th><th>note</th></tr>']
    for x in rn:
        hp.append('<tr><td>%s</td><td>%s</td><td class="n">%s</td><td>%s</td></tr>'
                  % (e(x['name']), e(x['status']), e(x['seconds']), e(x['note'] or '')))
    hp += ['</table>', '<h2>Ratios</h2>', '<table><tr>' + ''.join(
        '<th>%s</th>' % c for c in ('bench', 'case', 'metric', 'emu', 'peer', 'ratio', 'target',
                                    'better', 'result', 'miss', 'spread')) + '</tr>']
    for r in res:
        v, miss = judge(r)
        cls = {'pass': 'pass', 'MISS': 'MISS', 'miss, within spread': 'miss'}.get(v, '')
        hp.append('<tr class="%s"><td>%s</td><td>%s</td><td>%s</td><td class="n">%s</td>'
                  '<td class="n">%s</td><td class="n"><b>%s</b></td><td class="n">%s</td><td>%s</td>'
                  '<td>%s</td><td class="n">%s</td><td class="n">%s</td></tr>' % (
                      cls, e(r['bench']), e(r['case']), e(r['metric']), e(r['emu']), e(r['peer']),
                      e(fmt_ratio(r)), e(r['target']), e(r['better']), e(v),
                      '%+.0f%%' % (100 * miss) if miss is not None and miss > 0 else '',
                      '%.0f%%' % (100 * (num(r['spread']) or 0))))
    hp.append('</table>')
    for b in benches:
        hp.append('<h2>%s <small>(peer: %s)</small></h2>' % (e(b), e(PEERS.get(b, '?'))))
        for metric, png in made.get(b, []):
            hp.append('<p><img src="%s" alt="%s"></p>' % (e(png), e('%s: %s' % (b, metric))))
        prof = profile_of(out, b)
        if not prof:
            hp.append('<p>(no profile for this benchmark in this run)</p>')
            continue
        hp.append('<div class="side">')
        for who in ('emu', 'peer'):
            if who not in prof:
                continue
            cmd, (samples, top) = prof[who]
            hp.append('<div><p>Top 25 host functions, <b>%s</b> (%s samples):<br><code>%s</code></p>'
                      % (e(who), samples, e(cmd)))
            if top:
                hp.append('<table><tr><th>%</th><th>object</th><th>symbol</th></tr>')
                for pct, dso, sym in top:
                    hp.append('<tr><td class="n">%.2f</td><td>%s</td><td>%s</td></tr>' % (pct, e(dso), e(sym)))
                hp.append('</table>')
            else:
                hp.append('<p>(perf recorded nothing)</p>')
            hp.append('</div>')
        hp.append('</div>')
    hp.append('</body></html>')
    with open(os.path.join(out, 'report.html'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(hp) + '\n')


# ---------------------------------------------------------------- check

def cmd_check(resdir):
    bad = 0
    res = results(resdir)
    for r in res:
        v, miss = judge(r)
        if v == 'MISS':
            bad += 1
            print('MISS: %s %s (%s): ratio %s, target %s (%s is better), %+.0f%% beyond the '
                  'target, spread %.0f%%' % (r['bench'], r['case'], r['metric'], fmt_ratio(r),
                                             r['target'], r['better'], 100 * miss,
                                             100 * (num(r['spread']) or 0)))
    failed = [x for x in runs(resdir) if x['status'] == 'failed']
    for x in failed:
        print('FAILED: %s (%s)' % (x['name'], x['note']))
    n = sum(1 for r in res if judge(r)[0] != '-')
    print('check: %d of %d ratios with a target miss it beyond the spread, %d benchmark(s) failed'
          % (bad, n, len(failed)))
    return 1 if bad or failed or not res else 0


def main(argv):
    if len(argv) >= 4 and argv[0] == 'append':
        cmd_append(argv[1], argv[2], argv[3])
        return 0
    if len(argv) >= 6 and argv[0] == 'write':
        cmd_write(argv[1], argv[2], argv[3], argv[4], float(argv[5]), argv[6] if len(argv) > 6 else None)
        return 0
    if len(argv) == 2 and argv[0] == 'check':
        return cmd_check(argv[1])
    sys.stderr.write(__doc__ if __doc__ else 'usage: see tests/bench/report.py\n')
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
