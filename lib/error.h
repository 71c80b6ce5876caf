/* error.h - the one error convention of libcore.
 *
 * A function that can fail returns -errno (or NULL, or false) AND, when the
 * caller passed a non-NULL `struct error **errp`, stores one human-readable
 * message that names the object (file, peer, option) and the problem:
 *
 *     int fd = open(path, O_RDONLY);
 *     if (fd < 0)
 *         return err_set_errno(errp, errno, _("cannot open '%s'"), path);
 *
 * err_set*() return -code so that the line above both reports and returns.
 * The caller either handles the error and err_free()s it, adds context with
 * err_prefix() and passes it up, or (in a program's main) prints it with
 * err_report().  The library never prints on its own and never calls exit().
 *
 * errp may be NULL when the caller does not want the message.  If *errp is
 * already set, the first message is kept (it is usually the precise one) and
 * the new one dropped.  An error may be created in one thread and consumed
 * in another.
 */
#ifndef EMU_ERROR_H
#define EMU_ERROR_H

#include <stdarg.h>
#include "common.h"

struct error {
    int code;   /* positive errno value describing the class of failure */
    char *msg;  /* full message, without trailing newline or program name */
};

/* Set *errp to a new error; returns -code (code is a positive errno). */
int err_set(struct error **errp, int code, const char *fmt, ...) EMU_PRINTF(3, 4);
/* As err_set, with ": strerror(code)" appended. */
int err_set_errno(struct error **errp, int code, const char *fmt, ...) EMU_PRINTF(3, 4);
int err_setv(struct error **errp, int code, const char *fmt, va_list ap) EMU_PRINTF(3, 0);

/* Prepend "context: " to an error already set (no-op if errp or *errp NULL). */
void err_prefix(struct error **errp, const char *fmt, ...) EMU_PRINTF(2, 3);
/* Move src into *dst (dst may be NULL: src is freed). */
void err_propagate(struct error **dst, struct error *src);
void err_free(struct error *err);
/* Print "PROGNAME: message" through the message channel and free err. */
void err_report(struct error *err);

static inline const char *err_msg(const struct error *err)
{
    return err ? err->msg : "";
}
static inline int err_code(const struct error *err)
{
    return err ? err->code : 0;
}

#endif
