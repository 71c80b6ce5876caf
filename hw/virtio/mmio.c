/* mmio.c - the virtio-mmio transport, version 2 ("virtio,mmio"; virtio
 * 1.x specification, section 4.2 "Virtio Over MMIO").
 *
 * A transport is one 0x1000-byte slot with one interrupt line.  The
 * device behind it will be a struct virtio_dev_ops (device id, features,
 * config space, queue notifications); the transport keeps the registers
 * the specification gives it (status, feature and queue selectors,
 * interrupt status) and forwards the rest.  Today no device model exists,
 * so every slot is empty: it reads device id 0, which drivers treat as
 * "nothing here", and ignores writes.
 *
 * The register area takes 32-bit aligned accesses only (4.2.2: "the
 * driver MUST only use 32 bit wide and aligned reads and writes").
 */
#include <config.h>
#include <errno.h>
#include "hw/devices.h"
#include "hw/dev.h"
#include "i18n.h"
#include "log.h"

#define VIRTIO_MMIO_MAGIC_VALUE 0x000
#define VIRTIO_MMIO_VERSION 0x004
#define VIRTIO_MMIO_DEVICE_ID 0x008
#define VIRTIO_MMIO_VENDOR_ID 0x00c
#define VIRTIO_MMIO_CONFIG 0x100

#define VIRTIO_MMIO_MAGIC 0x74726976u       /* "virt", little-endian */
#define VIRTIO_MMIO_VENDOR 0x554d4551u      /* "QEMU": what guests know for virt */

struct virtio_mmio {
    struct irq_line irq;
    const struct virtio_dev_ops *dev;       /* NULL: empty slot */
    void *dev_opaque;
};

static bool virtio_mmio_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
    struct virtio_mmio *v = opaque;
    (void)v;
    *val = 0;
    if (off < VIRTIO_MMIO_CONFIG && (size != 4 || !IS_ALIGNED(off, 4)))
        return false;
    switch (off) {
    case VIRTIO_MMIO_MAGIC_VALUE:
        *val = VIRTIO_MMIO_MAGIC;
        break;
    case VIRTIO_MMIO_VERSION:
        *val = 2;
        break;
    case VIRTIO_MMIO_DEVICE_ID:
        *val = 0;       /* empty slot */
        break;
    case VIRTIO_MMIO_VENDOR_ID:
        *val = VIRTIO_MMIO_VENDOR;
        break;
    default:
        break;
    }
    return true;
}

static bool virtio_mmio_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    (void)opaque, (void)val;
    if (off < VIRTIO_MMIO_CONFIG && (size != 4 || !IS_ALIGNED(off, 4)))
        return false;
    if (log_on(LOG_GUEST_ERROR))
        log_msg(LOG_GUEST_ERROR, "virtio-mmio: write to an empty slot at offset 0x%" PRIx64,
                off);
    return true;
}

static const struct mmio_ops virtio_mmio_regs = {
    .read = virtio_mmio_read,
    .write = virtio_mmio_write,
};

void virtio_mmio_reset(struct virtio_mmio *v)
{
    irq_set(&v->irq, 0);
}

int virtio_mmio_new(struct virtio_mmio **out, struct mem_map *m, uint64_t base,
                    struct irq_line irq, const struct virtio_dev_ops *dev, void *dev_opaque,
                    struct error **errp)
{
    if (dev)
        return err_set(errp, ENOTSUP, _("virtio-mmio: no device models yet"));
    struct virtio_mmio *v = calloc(1, sizeof(*v));
    if (!v)
        return err_set(errp, ENOMEM, _("out of memory creating a virtio-mmio slot"));
    v->irq = irq;
    v->dev = dev;
    v->dev_opaque = dev_opaque;
    int ret = mem_add_mmio(m, "virtio-mmio", base, VIRTIO_MMIO_SIZE, &virtio_mmio_regs, v, errp);
    if (ret < 0) {
        free(v);
        return ret;
    }
    *out = v;
    return 0;
}

void virtio_mmio_free(struct virtio_mmio *v)
{
    free(v);
}

/* The model's entry in dev_types[] (hw/dev.h). */
static void virtio_mmio_reset_op(void *dev)
{
    virtio_mmio_reset(dev);
}

static void virtio_mmio_free_op(void *dev)
{
    virtio_mmio_free(dev);
}

const struct dev_ops virtio_mmio_ops = {
    .name = "virtio-mmio",
    .desc = "virtio-mmio transport",
    .reset = virtio_mmio_reset_op,
    .free = virtio_mmio_free_op,
};
