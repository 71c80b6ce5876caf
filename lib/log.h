/* log.h - debug logging by named category.
 *
 * Categories are switched on with a comma-separated list, from a program's
 * `-d cat1,cat2` option (log_enable) or the EMU_LOG environment variable
 * (log_init_from_env); "all" enables every category, "help" lists them.
 * Output goes to stderr or to the file given by -D / EMU_LOG_FILE.
 *
 * The test is one load and a mask, so log_on() may sit on warm paths:
 *
 *     if (log_on(LOG_LOOP))
 *         log_msg(LOG_LOOP, "fd %d readable", fd);
 *
 * To add a category: add it to enum log_category and to log_categories[]
 * in log.c (one line each).
 */
#ifndef EMU_LOG_H
#define EMU_LOG_H

#include <stdio.h>
#include "common.h"
#include "error.h"

enum log_category {
    LOG_LOOP,      /* event loop dispatch */
    LOG_POOL,      /* worker-thread pool */
    LOG_BLOCK,     /* block layer requests */
    LOG_FORMAT,    /* image format drivers */
    LOG_NBD,       /* NBD protocol */
    LOG_IN_ASM,    /* translator: guest instructions of each block */
    LOG_OP,        /* translator: IR of each block */
    LOG_OUT_ASM,   /* translator: host code of each block */
    LOG_EXEC,      /* translator: each block executed */
    LOG_STRACE,    /* user mode: system calls */
    LOG_UNIMP,     /* unimplemented features a guest used */
    LOG_GUEST_ERROR, /* guest did something invalid */
    LOG_INT,       /* system mode: interrupts and exceptions taken */
    LOG_MMU,       /* system mode: page walks and their faults */
    LOG_TRACE,     /* trace events (trace.h); "trace:PATTERN" enables events */
    LOG_CATEGORY_COUNT
};

struct log_category_info {
    const char *name;
    const char *help;
};
extern const struct log_category_info log_categories[LOG_CATEGORY_COUNT];

extern uint64_t log_mask;

static inline bool log_on(enum log_category cat)
{
    return unlikely(log_mask & (UINT64_C(1) << cat));
}

/* Enable the categories in SPEC ("a,b,c", "all"); "trace:PATTERN" enables
 * the trace events matching PATTERN (trace.h).  Returns 0, or -EINVAL
 * naming the unknown category.  "help" prints the list to stdout and
 * returns 1 so that the program can exit successfully. */
int log_enable(const char *spec, struct error **errp);
/* Apply EMU_LOG and EMU_LOG_FILE if set. */
int log_init_from_env(struct error **errp);
/* Send log output to PATH (NULL: stderr). */
int log_set_file(const char *path, struct error **errp);
void log_print_help(FILE *fp);
void log_close(void);

void log_msg(enum log_category cat, const char *fmt, ...) EMU_PRINTF(2, 3);
FILE *log_stream(void);

#endif
