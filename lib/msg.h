/* msg.h - the message channel: where programs print errors and warnings.
 *
 * Every line is "PROGNAME: text".  The sink defaults to stderr; tests and
 * programs with their own log can redirect it.  Only programs (and err_report)
 * print; library code returns struct error instead.
 */
#ifndef EMU_MSG_H
#define EMU_MSG_H

#include <stdio.h>
#include "common.h"

void msg_set_progname(const char *argv0);
const char *msg_progname(void);

/* Redirect messages; NULL restores stderr. */
void msg_set_stream(FILE *fp);

void msg_error(const char *fmt, ...) EMU_PRINTF(1, 2);
void msg_warn(const char *fmt, ...) EMU_PRINTF(1, 2);
/* Informational output that -q silences. */
void msg_set_quiet(bool quiet);
void msg_info(const char *fmt, ...) EMU_PRINTF(1, 2);

#endif
