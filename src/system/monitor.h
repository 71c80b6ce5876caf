/* monitor.h - the QMP commands of emu-system-* (lib/qmp.h serves them).
 *
 * The commands act on the machine through struct monitor_host, which the
 * program's main fills: run control lives there (-S, gdb, -no-shutdown
 * all decide what "running" means), the rest is read from the machine. */
#ifndef EMU_SYSTEM_MONITOR_H
#define EMU_SYSTEM_MONITOR_H

#include "common.h"
#include "error.h"
#include "qmp.h"

struct machine;
struct drive_set;

struct monitor_host {
    struct machine *m;
    struct drive_set *drives;
    const char *target;             /* "riscv64" */
    void *opaque;
    /* QEMU's run state: "prelaunch", "running", "paused", "shutdown", "debug" */
    const char *(*status)(void *opaque);
    int (*stop)(void *opaque, struct error **errp);
    int (*cont)(void *opaque, struct error **errp);
};

int monitor_new(struct qmp **out, struct loop *loop, struct monitor_host *h,
                struct error **errp);

#endif
