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
    /* Hold the CPUs still for a moment (a monitor reads their registers
     * or memory) without a STOP event: true if they were running and
     * release() must start them again. */
    bool (*hold)(void *opaque);
    void (*release)(void *opaque);
};

int monitor_new(struct qmp **out, struct loop *loop, struct monitor_host *h,
                struct error **errp);

/* For commands elsewhere (hmp*.c, savevm, export): the machine's host
 * side and the QMP server (for events). */
struct monitor_host *monitor_host(void);
struct qmp *monitor_qmp(void);
/* The machine's CPUs, through its debug ops (NULL: none), and the host
 * thread of CPU I (the main thread's until the CPU runs). */
struct machine_debug_ops;
const struct machine_debug_ops *monitor_cpu_ops(void **opaque);
int monitor_cpu_tid(const struct machine_debug_ops *d, void *opaque, int i);
/* system_powerdown: the POWERDOWN event (the board has no button). */
void monitor_powerdown(void);

#endif
