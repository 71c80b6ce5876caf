/* machine.c - the request channel from devices (and signals) to the
 * main loop.  The tables of boards are the programs' own
 * (src/system/target-*.c): a static archive keeps only what is
 * referenced, so emu-system-x86_64 carries no riscv translator. */
#include <config.h>
#include <string.h>
#include "hw/machine.h"

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
