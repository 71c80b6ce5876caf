/* accel.h - an accelerator: what runs a machine's vCPUs.
 *
 * A board creates its memory map (hw/mem.h) and devices, then asks an
 * accelerator for CPUs.  Today there are two: the translator's riscv
 * harts (translate/riscv/sys.h, called directly by hw/riscv/virt.c) and
 * KVM for x86 (lib/kvm/).  Both deliver what they cannot run themselves
 * to the same places: guest accesses that miss RAM to the memory map's
 * MMIO dispatch (mem_mmio_read/write, device lock taken there), x86 port
 * I/O to a second map of the 64 KiB port space built the same way, and
 * guest requests (poweroff, reset, a fatal CPU error) to the machine
 * through machine_request().
 *
 * The ops are the few things a board does with its CPUs, all from the
 * loop thread; what is particular to one accelerator (KVM's irqchip,
 * x86 register state) stays in its own header.
 */
#ifndef EMU_ACCEL_H
#define EMU_ACCEL_H

#include "common.h"
#include "error.h"
#include "loop.h"
#include "hw/machine.h"

struct mem_map;

struct accel_config {
    int n_cpus;
    struct mem_map *mem;        /* guest-physical space: RAM slots, MMIO */
    struct mem_map *pio;        /* x86 port space (0..0xffff), or NULL */
    struct loop *loop;
    struct machine *machine;
    /* How a CPU asks the machine to stop or reset (machine_request; a
     * pointer, as in rv_sys_config, so libcore's lower layers do not
     * pull in the boards). */
    void (*request)(struct machine *m, enum machine_event ev, int exit_code);
};

struct accel_ops {
    const char *name;           /* as -accel names it: "kvm", "tcg" */
    /* Create the CPUs (not running) over cfg's memory; *out: the
     * accelerator's state, the opaque of the other ops. */
    int (*create)(void **out, const struct accel_config *cfg, struct error **errp);
    /* Run every CPU from its current state (threads started). */
    int (*start)(void *accel, struct error **errp);
    /* Stop every CPU and wait until none runs guest code. */
    void (*stop)(void *accel);
    /* Power-on state of every CPU (stopped); the board then loads its
     * boot images and sets the entry state. */
    int (*reset)(void *accel, struct error **errp);
    void (*destroy)(void *accel);
};

#endif
