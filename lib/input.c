/* input.c - the input core: handlers by kind of event, the active one per
 * kind, and the guest's keyboard LEDs (input.h).
 *
 * A machine has a handful of handlers, so a list walked per event is
 * enough.  "Active" is kept as a stamp per handler: each registration or
 * activation takes the next stamp, and a kind goes to the handler with the
 * highest stamp among those that take it.  That gives qemu's rule (the
 * newest wins, activating an older one brings it back) without keeping an
 * order per kind.
 */
#include <config.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "i18n.h"
#include "input.h"

#define INPUT_KINDS 4

struct input_handler {
    const struct input_handler_ops *ops;
    void *opaque;
    int index;
    uint64_t stamp;
    bool pending;               /* got events since the last sync */
    struct input_handler *next;
};

/* Guards the list and every handler's fields; held while a handler's
 * callbacks run, so an unregister never races a delivery. */
static pthread_mutex_t input_lock = PTHREAD_MUTEX_INITIALIZER;
static struct input_handler *handlers; /* oldest first */
static int next_index;
static uint64_t next_stamp;
static uint64_t dropped;
/* Written by device models from their own threads with their device lock
 * held; an atomic, not input_lock, so that no lock order arises against
 * the handler callbacks (which take the device lock under input_lock). */
static _Atomic unsigned leds;

int input_handler_register(struct input_handler **out, const struct input_handler_ops *ops,
                           void *opaque, struct error **errp)
{
    struct input_handler *h = calloc(1, sizeof(*h));
    if (!h)
        return err_set(errp, ENOMEM, _("out of memory"));
    h->ops = ops;
    h->opaque = opaque;
    pthread_mutex_lock(&input_lock);
    h->index = next_index++;
    h->stamp = ++next_stamp;
    struct input_handler **pp = &handlers;
    while (*pp)
        pp = &(*pp)->next;
    *pp = h;
    pthread_mutex_unlock(&input_lock);
    *out = h;
    return 0;
}

void input_handler_unregister(struct input_handler *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&input_lock);
    for (struct input_handler **pp = &handlers; *pp; pp = &(*pp)->next)
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    pthread_mutex_unlock(&input_lock);
    free(h);
}

void input_handler_activate(struct input_handler *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&input_lock);
    h->stamp = ++next_stamp;
    pthread_mutex_unlock(&input_lock);
}

/* The handler that gets KIND; input_lock held. */
static struct input_handler *active_locked(enum input_kind kind)
{
    struct input_handler *best = NULL;
    for (struct input_handler *h = handlers; h; h = h->next)
        if ((h->ops->mask & INPUT_MASK(kind)) && (!best || h->stamp > best->stamp))
            best = h;
    return best;
}

/* Whether EV is one the core passes on; clamps an absolute position. */
static bool event_ok(struct input_event *ev)
{
    switch (ev->kind) {
    case INPUT_KEY:
        return ev->code > 0 && ev->code <= INPUT_KEY_MAX;
    case INPUT_BTN:
        return ev->code < INPUT_BTN__MAX;
    case INPUT_ABS:
        if (ev->code >= INPUT_AXIS__MAX)
            return false;
        ev->value = MAX(0, MIN(ev->value, INPUT_ABS_MAX));
        return true;
    case INPUT_REL:
        return ev->code < INPUT_AXIS__MAX;
    }
    return false;
}

void input_send(const struct input_event *ev)
{
    struct input_event e = *ev;
    pthread_mutex_lock(&input_lock);
    struct input_handler *h = event_ok(&e) ? active_locked(e.kind) : NULL;
    if (h) {
        h->ops->event(h->opaque, &e);
        h->pending = true;
    } else {
        dropped++;
    }
    pthread_mutex_unlock(&input_lock);
}

void input_sync(void)
{
    pthread_mutex_lock(&input_lock);
    for (struct input_handler *h = handlers; h; h = h->next)
        if (h->pending) {
            h->pending = false;
            if (h->ops->sync)
                h->ops->sync(h->opaque);
        }
    pthread_mutex_unlock(&input_lock);
}

void input_key(unsigned linux_code, bool down)
{
    input_send(&(struct input_event){ .kind = INPUT_KEY, .code = linux_code, .down = down });
}

void input_button(enum input_button b, bool down)
{
    input_send(&(struct input_event){ .kind = INPUT_BTN, .code = b, .down = down });
}

void input_abs(enum input_axis axis, int64_t pos, int64_t size)
{
    int64_t v = 0;
    if (size > 1) {
        pos = MAX(0, MIN(pos, size - 1));
        /* Both ends map onto both ends: pixel size-1 is INPUT_ABS_MAX.
         * pos < 2^63 / 2^15 for any real window, but keep it exact. */
        v = (int64_t)((__int128)pos * INPUT_ABS_MAX / (size - 1));
    }
    input_send(&(struct input_event){ .kind = INPUT_ABS, .code = axis, .value = (int32_t)v });
}

void input_rel(enum input_axis axis, int32_t delta)
{
    input_send(&(struct input_event){ .kind = INPUT_REL, .code = axis, .value = delta });
}

bool input_has_handler(enum input_kind kind)
{
    pthread_mutex_lock(&input_lock);
    bool has = active_locked(kind) != NULL;
    pthread_mutex_unlock(&input_lock);
    return has;
}

void input_set_leds(unsigned l)
{
    atomic_store(&leds, l & (INPUT_LED_NUM | INPUT_LED_CAPS | INPUT_LED_SCROLL));
}

unsigned input_get_leds(void)
{
    return atomic_load(&leds);
}

/* The kinds in MASK, as words. */
static void kinds_str(char *buf, size_t size, unsigned mask)
{
    static const char *const names[INPUT_KINDS] = { "key", "btn", "abs", "rel" };
    size_t n = 0;
    buf[0] = 0;
    for (int k = 0; k < INPUT_KINDS; k++)
        if (mask & INPUT_MASK(k) && n < size)
            n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? "," : "", names[k]);
}

int input_handlers(struct input_handler_info *out, int max)
{
    int n = 0;
    pthread_mutex_lock(&input_lock);
    for (struct input_handler *h = handlers; h; h = h->next, n++) {
        if (n >= max)
            continue;
        struct input_handler_info *i = &out[n];
        i->index = h->index;
        snprintf(i->name, sizeof(i->name), "%s", h->ops->name ? h->ops->name : "?");
        i->mask = h->ops->mask;
        i->active_mask = 0;
        for (int k = 0; k < INPUT_KINDS; k++)
            if (active_locked((enum input_kind)k) == h)
                i->active_mask |= INPUT_MASK(k);
    }
    pthread_mutex_unlock(&input_lock);
    return n;
}

int input_current_pointer(void)
{
    pthread_mutex_lock(&input_lock);
    struct input_handler *h = active_locked(INPUT_BTN);
    int index = h ? h->index : -1;
    pthread_mutex_unlock(&input_lock);
    return index;
}

uint64_t input_dropped(void)
{
    pthread_mutex_lock(&input_lock);
    uint64_t d = dropped;
    pthread_mutex_unlock(&input_lock);
    return d;
}

void input_list(FILE *fp)
{
    struct input_handler_info info[32];
    int n = input_handlers(info, (int)ARRAY_SIZE(info));
    for (int i = 0; i < MIN(n, (int)ARRAY_SIZE(info)); i++) {
        char kinds[32], active[32];
        kinds_str(kinds, sizeof(kinds), info[i].mask);
        kinds_str(active, sizeof(active), info[i].active_mask);
        fprintf(fp, "#%d %s %s%s%s\n", info[i].index, info[i].name, kinds,
                info[i].active_mask ? " active:" : "", active);
    }
}
