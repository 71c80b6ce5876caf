/* machine-state.h - a whole machine's state as a stream of sections
 * (lib/vmstate.h), for the boards' save_state/load_state ops.
 *
 * The stream holds, in this order: "machine" (the machine clock), one
 * "ram" section per RAM/ROM region of the memory map, one "cpu" section
 * per CPU (the board's accelerator saves them), and one section per
 * device of the board's dev_list that has state, named by its dev_ops
 * and numbered among devices of that name.  Loading finds each section's
 * owner by name and instance, refuses sections that are newer than the
 * code or that no part of this machine owns, and in the end insists that
 * every part got its section: a snapshot of another machine
 * configuration fails with a message, never half-loads silently.
 *
 * Called in the loop thread with the CPUs stopped and device requests
 * drained; takes the device lock around each device.
 */
#ifndef EMU_HW_MACHINE_STATE_H
#define EMU_HW_MACHINE_STATE_H

#include "common.h"
#include "error.h"
#include "hw/machine.h"
#include "hw/dev.h"

struct vms_out;
struct vms_in;

/* The board's CPUs as the stream sees them. */
struct machine_state_cpus {
    int n;
    void *(*cpu)(void *opaque, int i);
    uint32_t version;
    void (*save)(void *cpu, struct vms_out *f);
    void (*load)(void *cpu, struct vms_in *f, uint32_t version);
    void *opaque;
};

int machine_state_save(struct machine *m, struct dev_list *devs,
                       const struct machine_state_cpus *cpus, struct vms_out *f,
                       struct error **errp);
int machine_state_load(struct machine *m, struct dev_list *devs,
                       const struct machine_state_cpus *cpus, struct vms_in *f,
                       struct error **errp);

#endif
