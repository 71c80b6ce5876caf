/* hw.h - what every device model and board shares: the device lock,
 * interrupt lines, timers on the machine clock, and the guest-physical
 * address space.
 *
 * Threads (see doc/design.md, "System emulation"):
 *   - the main thread runs libcore's select() loop: character-device
 *     input, timers, device back ends;
 *   - each hart (vCPU) runs in a thread of its own, in translated code.
 * ONE lock guards all device state: hw_lock().  A hart takes it for the
 * duration of one MMIO access; the loop takes it around every device
 * callback (fd input, timer).  Nobody sleeps or does blocking I/O while
 * holding it (a chardev write of a few bytes to a terminal or file is the
 * one accepted exception), so a hart never blocks the loop for long and
 * the loop never waits for a hart: harts are told things by setting bits
 * and kicking them (rv_hart_set_mip), never by waiting for an answer.
 *
 * Devices know nothing of the accelerator: they see MMIO callbacks, raise
 * interrupt lines (struct irq_line) and arm timers (struct hw_timer).
 */
#ifndef EMU_HW_H
#define EMU_HW_H

#include <pthread.h>
#include "common.h"
#include "error.h"
#include "loop.h"

/* ---- the device lock ---- */
void hw_lock(void);
void hw_unlock(void);
bool hw_lock_held(void);        /* by this thread (for assertions) */

/* ---- interrupt lines ----
 * A line is a callback and a number: the PLIC's inputs, a hart's MEIP,
 * ...  set() may be called from any thread with the device lock held; it
 * must not block. */
typedef void irq_set_fn(void *opaque, int n, int level);
struct irq_line {
    irq_set_fn *set;
    void *opaque;
    int n;
};
static inline void irq_set(const struct irq_line *l, int level)
{
    if (l->set)
        l->set(l->opaque, l->n, level);
}

/* ---- the machine clock ----
 * Nanoseconds on CLOCK_MONOTONIC since the machine was created (the
 * guest's mtime is hw_clock_ns() / 100 at 10 MHz). */
void hw_clock_init(void);
uint64_t hw_clock_ns(void);
/* loadvm: the clock reads NS now and runs on from there (CPUs stopped;
 * the devices re-arm their timers afterwards). */
void hw_clock_set(uint64_t ns);
/* How many times hw_clock_set ran (a stopped machine's owner learns
 * whether someone, loadvm, set the clock meanwhile). */
uint64_t hw_clock_set_count(void);

/* ---- timers ----
 * A one-shot timer on the machine clock.  hw_timer_arm/cancel may be
 * called from any thread (a hart's MMIO write arms the CLINT's timer);
 * the callback runs in the loop thread with the device lock held.  A
 * deadline in the past fires at once.  Re-arming replaces the deadline. */
struct hw_timer;
typedef void hw_timer_fn(void *opaque);
struct hw_timer *hw_timer_new(struct loop *loop, hw_timer_fn *cb, void *opaque, struct error **errp);
void hw_timer_arm(struct hw_timer *t, uint64_t deadline_clock_ns);
void hw_timer_cancel(struct hw_timer *t);
void hw_timer_free(struct hw_timer *t);

#endif
