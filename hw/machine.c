/* machine.c - the table of boards and the request channel from devices
 * (and signals) to the main loop. */
#include <config.h>
#include <string.h>
#include "hw/machine.h"

extern const struct machine_ops virt_machine;

/* Explicit table: a static archive keeps only what is referenced. */
const struct machine_ops *const machine_types[] = {
    &virt_machine,
    NULL,
};

const struct machine_ops *machine_find(const char *name)
{
    for (int i = 0; machine_types[i]; i++)
        if (strcmp(machine_types[i]->name, name) == 0)
            return machine_types[i];
    return NULL;
}

static void request(struct machine *m, enum machine_event ev, int exit_code,
                    enum machine_cause cause)
{
    /* The exit code first: the loop reads the event, then the code. */
    __atomic_store_n(&m->exit_code, exit_code, __ATOMIC_RELAXED);
    __atomic_store_n(&m->cause, (int)cause, __ATOMIC_RELAXED);
    __atomic_store_n(&m->event, (int)ev, __ATOMIC_RELEASE);
    if (m->event_bh)
        loop_bh_schedule(m->event_bh);
}

void machine_request(struct machine *m, enum machine_event ev, int exit_code)
{
    request(m, ev, exit_code, MACHINE_CAUSE_GUEST);
}

void machine_request_host(struct machine *m, enum machine_event ev, enum machine_cause cause)
{
    request(m, ev, 0, cause);
}

struct chardev *machine_find_chardev(void *opaque, const char *id)
{
    struct machine *m = opaque;
    for (int i = 0; i < m->n_chardevs; i++) {
        struct machine_chardev *c = &m->chardevs[i];
        if (strcmp(c->id, id) == 0 && !c->taken && c->chr) {
            c->taken = true;
            return c->chr;
        }
    }
    return NULL;
}
