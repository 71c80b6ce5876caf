/* dev.h - what every device model offers a machine, as an ops struct:
 * its name and what it is, reset and free.  Boards keep the devices they
 * created in a struct dev_list and reset or free them all alike; the
 * monitor will list them from it ("info qtree").  Building a device is its
 * own *_new() in hw/devices.h, because what it is wired to (MMIO base,
 * interrupt lines, chardev, clock) differs from one model to the next.
 *
 * dev_types[] names every model, for `-device help` and the monitor. */
#ifndef EMU_HW_DEV_H
#define EMU_HW_DEV_H

#include "common.h"
#include "error.h"

struct vms_out;
struct vms_in;

struct dev_ops {
    const char *name;           /* as qemu names the model ("ns16550a") */
    const char *desc;
    /* Power-on state (device lock held); NULL: nothing to reset. */
    void (*reset)(void *dev);
    /* Free the device (nothing dispatches to it any more). */
    void (*free)(void *dev);
    /* Optional: the model of this instance when NAME stands for several
     * (the virtio devices' one entry); NULL: NAME. */
    const char *(*model)(void *dev);
    /* savevm/loadvm (lib/vmstate.h), harts stopped, device lock held.
     * vmstate_version: what save writes (0: nothing to save).  load reads
     * what version VERSION (1..vmstate_version) of save wrote, checks
     * every value before it uses it (the stream is untrusted: vms_check)
     * and changes nothing once the stream failed; then it drives its
     * interrupt lines and re-arms its timers from the loaded state. */
    uint32_t vmstate_version;
    void (*save)(void *dev, struct vms_out *f);
    void (*load)(void *dev, struct vms_in *f, uint32_t version);
};

extern const struct dev_ops uart16550_ops, aclint_ops, plic_ops, goldfish_rtc_ops,
    sifive_test_ops, virtio_mmio_ops;
extern const struct dev_ops *const dev_types[];     /* NULL-terminated */

#define DEV_LIST_MAX 64

struct dev_list {
    struct dev_entry {
        const struct dev_ops *ops;
        void *dev;
        uint64_t base;          /* where its registers are (for listings) */
    } d[DEV_LIST_MAX];
    int n;
};

int dev_list_add(struct dev_list *l, const struct dev_ops *ops, void *dev, uint64_t base,
                 struct error **errp);
/* Reset every device, in the order they were added (device lock held). */
void dev_list_reset(struct dev_list *l);
/* Free every device, newest first. */
void dev_list_free(struct dev_list *l);

#endif
