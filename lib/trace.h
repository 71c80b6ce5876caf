/* trace.h - trace events: control and the backends' entry points.
 *
 * Each subsystem declares its events in a trace-events file (for example
 * lib/block/trace-events); scripts/tracetool turns them into trace/GROUP.h
 * in the build directory, with one inline function per event:
 *
 *     #include "trace/block.h"
 *     trace_blk_request_submit(bs, "read", off, len);
 *
 * A disabled event costs one predictable branch on its own flag
 * (trace_event_NAME_state, or'ed in a dtrace build with the USDT probe's
 * semaphore, which perf, bpftrace and SystemTap raise while attached).
 * When enabled, the event goes to the log (log.h, category "trace") or,
 * once a trace file is open (-trace file=FILE), to the simple backend's
 * binary file (doc/tracing.md describes its format).
 *
 * Enabling is by glob patterns over event names: `-trace enable=blk_*`,
 * `-trace events=FILE`, `-d trace:PATTERN`, `--trace` in emu-img/emu-nbd,
 * EMU_TRACE in every program, and at run time through the monitors.
 */
#ifndef EMU_TRACE_H
#define EMU_TRACE_H

#include <stdio.h>
#include "common.h"
#include "error.h"

#ifdef TRACE_BACKEND_DTRACE
/* Each probe has a semaphore that tracers raise while attached: the
 * generated trace_NAME() tests it, so an unattached probe costs nothing.
 * The probe itself sits in the out-of-line _trace_NAME() (trace/events.c):
 * one site per event, its arguments where the calling convention puts
 * them, which perf probe needs. */
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#endif

#if defined(TRACE_BACKEND_LOG) || defined(TRACE_BACKEND_SIMPLE)
#define TRACE_HAS_STATE 1
#else
#define TRACE_HAS_STATE 0
#endif

/* One event of the generated table (trace/events.c). */
struct trace_event {
    uint16_t id;
    const char *name;
    const char *group;          /* the subsystem: block, nbd, translate, ... */
    const char *decl;           /* name(type arg, ...) "format", as declared */
    uint8_t *state;             /* nonzero: enabled */
};

extern const struct trace_event trace_events[];
extern const size_t trace_event_count;

/* Where enabled events go (bits of trace_outputs). */
enum {
    TRACE_OUT_LOG = 1,
    TRACE_OUT_SIMPLE = 2,
};
extern unsigned trace_outputs;

/* Which backends this build has, as a string ("log,simple,dtrace"). */
const char *trace_backends(void);

const struct trace_event *trace_event_find(const char *name);
bool trace_event_get_state(const struct trace_event *ev);
void trace_event_set_state(const struct trace_event *ev, bool on);

/* Enable (or, with a leading '-', disable) every event whose name matches
 * the glob PATTERN.  Returns the number of events matched, or -EINVAL when
 * none does, naming the pattern. */
int trace_enable_pattern(const char *pattern, struct error **errp);
/* Apply every pattern in FILE (one a line, '#' comments). */
int trace_enable_events_file(const char *path, struct error **errp);

/* Parse a -trace / --trace argument:
 *     [enable=]PATTERN | events=FILE | file=FILE   (comma-separated)
 * "help" (or enable=help) lists the events on stdout and returns 1. */
int trace_opt_parse(const char *arg, struct error **errp);
/* Apply EMU_TRACE (the same syntax as --trace) if set. */
int trace_init_from_env(struct error **errp);
void trace_print_events(FILE *fp);

/* The simple backend: open FILE and start the writer thread (events then go
 * to the file instead of the log); close flushes and stops it, and events
 * after it go nowhere.  Close runs at exit too. */
int trace_simple_open(const char *path, struct error **errp);
void trace_simple_close(void);
/* Record one event: N arguments, bit i of STRMASK set when A[i] is a
 * `const char *` (stored as its text). */
void trace_simple_record(unsigned id, const uint64_t *a, unsigned n, unsigned strmask);

/* The log backend's line prefix: thread id and time. */
struct trace_log_stamp {
    int tid;
    long long sec;
    long usec;
};
void trace_log_stamp(struct trace_log_stamp *t);

/* The calling thread's id, cached. */
int trace_tid(void);

#endif
