/* hw.c - the device lock, the machine clock and timers on it.
 *
 * hw_timer exists because the loop's timers belong to the loop thread,
 * while a hart arms the CLINT's deadline from its own thread in the middle
 * of an MMIO write.  So arming only records the deadline (under a small
 * mutex of the timer's own, never the device lock, so a hart holding the
 * device lock can arm) and schedules a bottom half; the bottom half, in
 * the loop thread, moves the deadline onto a loop timer.  When the loop
 * timer fires, the recorded state is checked again under the device lock:
 * a cancel or a later re-arm that raced with the bottom half wins.
 */
#include <config.h>
#include <errno.h>
#include <pthread.h>
#include "hw/hw.h"
#include "i18n.h"

/* ---- the device lock ---- */

static pthread_mutex_t hw_mutex = PTHREAD_MUTEX_INITIALIZER;
/* Per thread, so that hw_lock_held() answers for the caller only. */
static __thread bool hw_lock_mine;

void hw_lock(void)
{
    pthread_mutex_lock(&hw_mutex);
    hw_lock_mine = true;
}

void hw_unlock(void)
{
    hw_lock_mine = false;
    pthread_mutex_unlock(&hw_mutex);
}

bool hw_lock_held(void)
{
    return hw_lock_mine;
}

/* ---- the machine clock ---- */

/* loop_now_ns() at hw_clock_init(); written once before any hart runs. */
static uint64_t hw_clock_base;

void hw_clock_init(void)
{
    __atomic_store_n(&hw_clock_base, loop_now_ns(), __ATOMIC_RELEASE);
}

static uint64_t hw_clock_sets;

void hw_clock_set(uint64_t ns)
{
    __atomic_store_n(&hw_clock_base, loop_now_ns() - ns, __ATOMIC_RELEASE);
    __atomic_add_fetch(&hw_clock_sets, 1, __ATOMIC_RELEASE);
}

uint64_t hw_clock_set_count(void)
{
    return __atomic_load_n(&hw_clock_sets, __ATOMIC_ACQUIRE);
}

uint64_t hw_clock_ns(void)
{
    return loop_now_ns() - __atomic_load_n(&hw_clock_base, __ATOMIC_ACQUIRE);
}

/* ---- timers ---- */

struct hw_timer {
    struct loop_timer *lt;
    struct loop_bh *bh;
    hw_timer_fn *cb;
    void *opaque;
    pthread_mutex_t mu;         /* guards armed and deadline */
    bool armed;
    uint64_t deadline;          /* machine clock ns */
};

/* Loop thread: make the loop timer match the recorded state. */
static void hw_timer_sync(void *opaque)
{
    struct hw_timer *t = opaque;
    bool armed;
    uint64_t deadline;

    pthread_mutex_lock(&t->mu);
    armed = t->armed;
    deadline = t->deadline;
    pthread_mutex_unlock(&t->mu);

    if (!armed) {
        loop_timer_cancel(t->lt);
        return;
    }
    uint64_t base = __atomic_load_n(&hw_clock_base, __ATOMIC_ACQUIRE);
    uint64_t when;
    if (ADD_OVERFLOWS(deadline, base, &when))
        when = UINT64_MAX;      /* centuries away: never in practice */
    loop_timer_arm(t->lt, when);
}

/* Loop thread: the loop timer expired. */
static void hw_timer_expired(void *opaque)
{
    struct hw_timer *t = opaque;

    hw_lock();
    pthread_mutex_lock(&t->mu);
    bool due = t->armed && t->deadline <= hw_clock_ns();
    bool later = t->armed && !due;
    if (due)
        t->armed = false;
    pthread_mutex_unlock(&t->mu);
    if (due)
        t->cb(t->opaque);
    else if (later)
        hw_timer_sync(t);       /* re-armed after the bottom half ran */
    hw_unlock();
}

struct hw_timer *hw_timer_new(struct loop *loop, hw_timer_fn *cb, void *opaque, struct error **errp)
{
    struct hw_timer *t = calloc(1, sizeof(*t));
    if (!t) {
        err_set(errp, ENOMEM, _("out of memory creating a device timer"));
        return NULL;
    }
    t->cb = cb;
    t->opaque = opaque;
    pthread_mutex_init(&t->mu, NULL);
    t->lt = loop_timer_new(loop, hw_timer_expired, t, errp);
    if (!t->lt)
        goto fail;
    t->bh = loop_bh_new(loop, hw_timer_sync, t, errp);
    if (!t->bh)
        goto fail;
    return t;
fail:
    hw_timer_free(t);
    return NULL;
}

void hw_timer_arm(struct hw_timer *t, uint64_t deadline_clock_ns)
{
    pthread_mutex_lock(&t->mu);
    t->armed = true;
    t->deadline = deadline_clock_ns;
    pthread_mutex_unlock(&t->mu);
    loop_bh_schedule(t->bh);
}

void hw_timer_cancel(struct hw_timer *t)
{
    pthread_mutex_lock(&t->mu);
    bool was = t->armed;
    t->armed = false;
    pthread_mutex_unlock(&t->mu);
    /* The expiry check sees armed == false anyway; the bottom half only
     * saves the loop a useless wake-up. */
    if (was)
        loop_bh_schedule(t->bh);
}

void hw_timer_free(struct hw_timer *t)
{
    if (!t)
        return;
    if (t->bh)
        loop_bh_free(t->bh);
    if (t->lt)
        loop_timer_free(t->lt);
    pthread_mutex_destroy(&t->mu);
    free(t);
}
