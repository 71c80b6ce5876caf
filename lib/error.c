/* error.c - struct error: one message per failure, owned by the caller.
 * See error.h for the convention. */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "msg.h"

/* When memory runs out while reporting an error we still have to hand the
 * caller something: this static error is never freed. */
static char oom_msg[] = "out of memory while reporting an error";
static struct error oom_error = { ENOMEM, oom_msg };

void cleanup_free(void *ptr)
{
    free(*(void **)ptr);
}

void cleanup_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}

int err_setv(struct error **errp, int code, const char *fmt, va_list ap)
{
    if (code <= 0)
        code = EIO; /* a failure must carry a class; default to I/O error */
    if (!errp)
        return -code;
    if (*errp) {
        /* Overwriting would leak the first (usually more precise) message:
         * keep the first one, which is what the caller will see. */
        return -code;
    }
    struct error *e = malloc(sizeof(*e));
    char *m = NULL;
    if (!e || vasprintf(&m, fmt, ap) < 0) {
        free(e);
        *errp = &oom_error;
        return -code;
    }
    e->code = code;
    e->msg = m;
    *errp = e;
    return -code;
}

int err_set(struct error **errp, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = err_setv(errp, code, fmt, ap);
    va_end(ap);
    return r;
}

int err_set_errno(struct error **errp, int code, const char *fmt, ...)
{
    if (!errp || *errp)
        return -(code > 0 ? code : EIO);
    va_list ap;
    va_start(ap, fmt);
    int r = err_setv(errp, code, fmt, ap);
    va_end(ap);
    if (*errp && *errp != &oom_error) {
        char *m = NULL;
        if (asprintf(&m, "%s: %s", (*errp)->msg, strerror(-r)) >= 0) {
            free((*errp)->msg);
            (*errp)->msg = m;
        }
    }
    return r;
}

void err_prefix(struct error **errp, const char *fmt, ...)
{
    if (!errp || !*errp || *errp == &oom_error)
        return;
    char *pre = NULL, *m = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&pre, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (asprintf(&m, "%s: %s", pre, (*errp)->msg) >= 0) {
        free((*errp)->msg);
        (*errp)->msg = m;
    }
    free(pre);
}

void err_propagate(struct error **dst, struct error *src)
{
    if (!src)
        return;
    if (dst && !*dst)
        *dst = src;
    else
        err_free(src);
}

void err_free(struct error *err)
{
    if (!err || err == &oom_error)
        return;
    free(err->msg);
    free(err);
}

void err_report(struct error *err)
{
    if (!err)
        return;
    msg_error("%s", err->msg);
    err_free(err);
}
