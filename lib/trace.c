/* trace.c - trace events: enabling by pattern, options, the log backend's
 * helpers (see trace.h; the event table is generated into trace/events.c). */
#include <config.h>

#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "trace.h"
#include "i18n.h"

unsigned trace_outputs = TRACE_OUT_LOG;

const char *trace_backends(void)
{
    static const char list[] = ""
#ifdef TRACE_BACKEND_LOG
        ",log"
#endif
#ifdef TRACE_BACKEND_SIMPLE
        ",simple"
#endif
#ifdef TRACE_BACKEND_DTRACE
        ",dtrace"
#endif
        ;
    return list[0] ? list + 1 : "nop";
}

static __thread int tid_cache;

/* A forked child's only thread has the id cached of the thread that
 * forked: forget it. */
static void tid_atfork_child(void)
{
    tid_cache = 0;
}

static void tid_init_once(void)
{
    pthread_atfork(NULL, NULL, tid_atfork_child);
}

int trace_tid(void)
{
    if (unlikely(!tid_cache)) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pthread_once(&once, tid_init_once);
        tid_cache = (int)syscall(SYS_gettid);
    }
    return tid_cache;
}

void trace_log_stamp(struct trace_log_stamp *t)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    t->tid = trace_tid();
    t->sec = (long long)ts.tv_sec;
    t->usec = ts.tv_nsec / 1000;
}

const struct trace_event *trace_event_find(const char *name)
{
    for (size_t i = 0; i < trace_event_count; i++)
        if (strcmp(trace_events[i].name, name) == 0)
            return &trace_events[i];
    return NULL;
}

bool trace_event_get_state(const struct trace_event *ev)
{
    return __atomic_load_n(ev->state, __ATOMIC_RELAXED) != 0;
}

void trace_event_set_state(const struct trace_event *ev, bool on)
{
    /* Only builds with the log or simple backend look at the flag; a
     * dtrace-only build reports every event as disabled. */
    __atomic_store_n(ev->state, (uint8_t)(on && TRACE_HAS_STATE), __ATOMIC_RELAXED);
}

int trace_enable_pattern(const char *pattern, struct error **errp)
{
    bool on = true;
    if (*pattern == '-') {
        on = false;
        pattern++;
    }
    if (!*pattern)
        return err_set(errp, EINVAL, _("empty trace event pattern"));
    int n = 0;
    for (size_t i = 0; i < trace_event_count; i++)
        if (fnmatch(pattern, trace_events[i].name, 0) == 0) {
            trace_event_set_state(&trace_events[i], on);
            n++;
        }
    if (n == 0)
        return err_set(errp, EINVAL,
                       _("trace event pattern '%s' matches no event (use -trace help for the list)"),
                       pattern);
    return n;
}

int trace_enable_events_file(const char *path, struct error **errp)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return err_set_errno(errp, errno, _("cannot open trace events file '%s'"), path);
    char line[512];
    int lineno = 0, r = 0;
    while (fgets(line, sizeof line, fp)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            r = err_set(errp, EINVAL, _("trace events file '%s', line %d: line too long"),
                        path, lineno);
            break;
        }
        char *p = line + strspn(line, " \t");
        p[strcspn(p, "\r\n")] = '\0';
        for (char *e = p + strlen(p); e > p && (e[-1] == ' ' || e[-1] == '\t');)
            *--e = '\0';
        if (!*p || *p == '#')
            continue;
        if (trace_enable_pattern(p, NULL) < 0) {
            r = err_set(errp, EINVAL,
                        _("trace events file '%s', line %d: pattern '%s' matches no event"),
                        path, lineno, p);
            break;
        }
    }
    if (r == 0 && ferror(fp))
        r = err_set_errno(errp, EIO, _("cannot read trace events file '%s'"), path);
    fclose(fp);
    return r;
}

void trace_print_events(FILE *fp)
{
    fprintf(fp, _("Trace events (backends: %s):\n"), trace_backends());
    for (size_t i = 0; i < trace_event_count; i++)
        fprintf(fp, "  %-34s %s\n", trace_events[i].name, trace_events[i].group);
}

int trace_opt_parse(const char *arg, struct error **errp)
{
    char *copy = strdup(arg);
    if (!copy)
        return err_set(errp, ENOMEM, _("out of memory"));
    int r = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && r >= 0;
         tok = strtok_r(NULL, ",", &save)) {
        if (strncmp(tok, "enable=", 7) == 0)
            tok += 7;
        if (strcmp(tok, "help") == 0) {
            trace_print_events(stdout);
            r = 1;
            break;
        }
        if (strncmp(tok, "events=", 7) == 0) {
            r = trace_enable_events_file(tok + 7, errp);
        } else if (strncmp(tok, "file=", 5) == 0) {
            r = trace_simple_open(tok + 5, errp);
        } else if (strchr(tok, '=')) {
            r = err_set(errp, EINVAL,
                        _("trace option '%s': unknown key (enable=, events= or file=)"), tok);
        } else {
            r = trace_enable_pattern(tok, errp);
            if (r > 0)
                r = 0;
        }
    }
    free(copy);
    return r;
}

int trace_init_from_env(struct error **errp)
{
    const char *spec = getenv("EMU_TRACE");
    if (!spec || !*spec)
        return 0;
    int r = trace_opt_parse(spec, errp);
    if (r < 0)
        err_prefix(errp, "EMU_TRACE");
    return r < 0 ? r : 0;
}
