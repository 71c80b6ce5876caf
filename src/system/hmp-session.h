/* hmp-session.h - the human monitor on character devices. */
#ifndef EMU_SYSTEM_HMP_SESSION_H
#define EMU_SYSTEM_HMP_SESSION_H

#include "common.h"
#include "error.h"
#include "loop.h"

struct chardev;

/* Serve the human monitor on CHR (which stays the caller's).  A mux'ed
 * chardev (mon:stdio) gets it behind Ctrl-A c; any other gets it alone. */
int hmp_session_attach(struct chardev *chr, struct loop *loop, struct error **errp);
/* Detach and free every session (before the chardevs go). */
void hmp_sessions_free(void);

#endif
