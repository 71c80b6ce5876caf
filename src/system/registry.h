/* registry.h - an emu-system-* process registers itself in the runtime
 * directory (lib/rundir.h), so that `emu list` finds it and `emu NAME ...`
 * reaches it: a QMP socket NAME.qmp, always on, and the descriptor
 * NAME.json.  NAME is -name's value, else "vm-PID".
 *
 * EMU_REGISTRY=off in the environment turns it off (a machine that
 * nobody should find, or a directory that cannot be written). */
#ifndef EMU_SYSTEM_REGISTRY_H
#define EMU_SYSTEM_REGISTRY_H

#include "common.h"
#include "error.h"

struct loop;
struct qmp;
struct machine;

/* Whether this process registers (the QMP monitor must exist then). */
bool registry_enabled(void);

/* Register M, served by QMP on LOOP.  SERIAL0 is the first -serial spec
 * (its socket, if any, is the console `emu console` attaches to).
 * Fails only when a live machine has the name; other problems (an
 * unusable directory) are warned about and the machine runs
 * unregistered. */
int registry_start(struct loop *loop, struct qmp *qmp, const struct machine *m,
                   const char *target, const char *serial0, struct error **errp);
/* Unregister (the sockets, then the descriptor).  Before the loop is
 * freed; nothing to do when not registered. */
void registry_stop(void);

#endif
