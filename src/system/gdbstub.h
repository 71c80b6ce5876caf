/* gdbstub.h - emu-system-riscv64's gdb stub (-s, -gdb tcp:[HOST]:PORT).
 *
 * The gdb remote serial protocol on the loop thread, over the machine's
 * struct machine_debug_ops: every CPU is a thread; memory goes through
 * the selected CPU's translation.  One gdb at a time; when it connects
 * the CPUs stop, when it detaches or goes they run again. */
#ifndef EMU_SYSTEM_GDBSTUB_H
#define EMU_SYSTEM_GDBSTUB_H

#include "common.h"
#include "error.h"
#include "loop.h"
#include "hw/machine.h"

struct gdbstub;

/* Listen on dev ("tcp:[HOST]:PORT", HOST empty: every address).
 * on_resume(opaque) runs (loop thread) whenever the stub lets the CPUs
 * run: with -S, the first "continue" or "step" starts them. */
int gdbstub_new(struct gdbstub **out, struct loop *loop, struct machine *m, const char *dev,
                void (*on_resume)(void *opaque), void *opaque, struct error **errp);
void gdbstub_free(struct gdbstub *g);
/* The machine ends with code: tell gdb (W packet). */
void gdbstub_exited(struct gdbstub *g, int code);
/* gdb holds the CPUs stopped (a reset must not start them). */
bool gdbstub_holds_cpus(const struct gdbstub *g);

#endif
