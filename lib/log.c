/* log.c - debug logging by named category (see log.h). */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <pthread.h>

#include "log.h"
#include "i18n.h"
#include "trace.h"

const struct log_category_info log_categories[LOG_CATEGORY_COUNT] = {
    [LOG_LOOP] = { "loop", N_("event loop dispatch") },
    [LOG_POOL] = { "pool", N_("worker-thread pool jobs") },
    [LOG_BLOCK] = { "block", N_("block layer requests") },
    [LOG_FORMAT] = { "format", N_("image format drivers") },
    [LOG_NBD] = { "nbd", N_("NBD protocol traffic") },
    [LOG_IN_ASM] = { "in_asm", N_("guest instructions of each translated block") },
    [LOG_OP] = { "op", N_("intermediate code of each translated block") },
    [LOG_OUT_ASM] = { "out_asm", N_("host code of each translated block") },
    [LOG_EXEC] = { "exec", N_("every translated block as it runs") },
    [LOG_STRACE] = { "strace", N_("guest system calls") },
    [LOG_UNIMP] = { "unimp", N_("unimplemented features a guest used") },
    [LOG_GUEST_ERROR] = { "guest_errors", N_("invalid guest operations") },
    [LOG_INT] = { "int", N_("interrupts and exceptions a hart takes") },
    [LOG_MMU] = { "mmu", N_("page walks and their faults") },
    [LOG_TRACE] = { "trace", N_("trace events (trace:PATTERN enables the events matching PATTERN)") },
};

uint64_t log_mask;
static FILE *log_fp;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

FILE *log_stream(void)
{
    return log_fp ? log_fp : stderr;
}

void log_print_help(FILE *fp)
{
    fprintf(fp, "%s\n", _("Log categories (-d CAT[,CAT...] or EMU_LOG=CAT[,CAT...]):"));
    for (size_t i = 0; i < LOG_CATEGORY_COUNT; i++)
        fprintf(fp, "  %-14s %s\n", log_categories[i].name, _(log_categories[i].help));
    fprintf(fp, "  %-14s %s\n", "all", _("every category above"));
}

int log_enable(const char *spec, struct error **errp)
{
    uint64_t mask = 0;
    const char *p = spec;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == 0) {
            p++;
            continue;
        }
        if (n == 4 && strncmp(p, "help", 4) == 0) {
            log_print_help(stdout);
            return 1;
        }
        if (n > 6 && strncmp(p, "trace:", 6) == 0) {
            char pat[256];
            if (n - 6 >= sizeof pat)
                return err_set(errp, EINVAL, _("trace event pattern '%.*s' is too long"),
                               (int)(n - 6), p + 6);
            memcpy(pat, p + 6, n - 6);
            pat[n - 6] = '\0';
            int r = trace_enable_pattern(pat, errp);
            if (r < 0)
                return r;
        } else if (n == 3 && strncmp(p, "all", 3) == 0) {
            mask = (UINT64_C(1) << LOG_CATEGORY_COUNT) - 1;
        } else {
            size_t i;
            for (i = 0; i < LOG_CATEGORY_COUNT; i++)
                if (strlen(log_categories[i].name) == n &&
                    strncmp(log_categories[i].name, p, n) == 0)
                    break;
            if (i == LOG_CATEGORY_COUNT)
                return err_set(errp, EINVAL,
                               _("unknown log category '%.*s' (use -d help for the list)"),
                               (int)n, p);
            mask |= UINT64_C(1) << i;
        }
        p += n;
    }
    log_mask |= mask;
    return 0;
}

int log_set_file(const char *path, struct error **errp)
{
    FILE *fp = NULL;
    if (path) {
        fp = fopen(path, "a");
        if (!fp)
            return err_set_errno(errp, errno, _("cannot open log file '%s'"), path);
        setvbuf(fp, NULL, _IOLBF, 0);
    }
    pthread_mutex_lock(&log_lock);
    if (log_fp)
        fclose(log_fp);
    log_fp = fp;
    pthread_mutex_unlock(&log_lock);
    return 0;
}

int log_init_from_env(struct error **errp)
{
    const char *file = getenv("EMU_LOG_FILE");
    const char *spec = getenv("EMU_LOG");
    int r;
    if (file && *file && (r = log_set_file(file, errp)) < 0)
        return r;
    if (spec && *spec) {
        r = log_enable(spec, errp);
        if (r < 0)
            err_prefix(errp, "EMU_LOG");
        return r;
    }
    return 0;
}

void log_close(void)
{
    log_set_file(NULL, NULL);
}

void log_msg(enum log_category cat, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&log_lock);
    FILE *fp = log_stream();
    fprintf(fp, "[%s] ", log_categories[cat].name);
    vfprintf(fp, fmt, ap);
    fputc('\n', fp);
    pthread_mutex_unlock(&log_lock);
    va_end(ap);
}
