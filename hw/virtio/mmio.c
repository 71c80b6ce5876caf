/* mmio.c - the virtio-mmio transport, version 2 ("virtio,mmio"; virtio
 * 1.2 specification, 4.2 "Virtio Over MMIO").
 *
 * A transport is one 0x1000-byte slot with one interrupt line.  It keeps
 * the registers the specification gives the transport (feature and queue
 * selectors) and forwards everything else to the device's shared state
 * (hw/virtio/virtio.h).  A slot with no device behind it reads device id
 * 0, which drivers treat as "nothing here", and ignores writes.  Only the
 * modern interface (version 2) is offered: legacy drivers are not served.
 *
 * The register area takes 32-bit aligned accesses only (4.2.2: "the
 * driver MUST only use 32 bit wide and aligned reads and writes"); the
 * config space from 0x100 takes 1, 2, 4 and 8 byte accesses.
 */
#include <config.h>
#include <errno.h>
#include "hw/devices.h"
#include "hw/dev.h"
#include "hw/virtio/virtio.h"
#include "i18n.h"
#include "log.h"
#include "vmstate.h"

/* Register offsets (4.2.2, table "MMIO Device Register Layout"). */
enum {
    R_MAGIC = 0x000, R_VERSION = 0x004, R_DEVICE_ID = 0x008, R_VENDOR_ID = 0x00c,
    R_DEV_FEATURES = 0x010, R_DEV_FEATURES_SEL = 0x014,
    R_DRV_FEATURES = 0x020, R_DRV_FEATURES_SEL = 0x024,
    R_QUEUE_SEL = 0x030, R_QUEUE_NUM_MAX = 0x034, R_QUEUE_NUM = 0x038,
    R_QUEUE_READY = 0x044, R_QUEUE_NOTIFY = 0x050,
    R_INT_STATUS = 0x060, R_INT_ACK = 0x064, R_STATUS = 0x070,
    R_QUEUE_DESC_LO = 0x080, R_QUEUE_DESC_HI = 0x084,
    R_QUEUE_DRIVER_LO = 0x090, R_QUEUE_DRIVER_HI = 0x094,
    R_QUEUE_DEVICE_LO = 0x0a0, R_QUEUE_DEVICE_HI = 0x0a4,
    R_SHM_SEL = 0x0ac, R_SHM_LEN_LO = 0x0b0, R_SHM_LEN_HI = 0x0b4,
    R_SHM_BASE_LO = 0x0b8, R_SHM_BASE_HI = 0x0bc,
    R_CONFIG_GEN = 0x0fc, R_CONFIG = 0x100,
};

#define VIRTIO_MMIO_MAGIC 0x74726976u       /* "virt", little-endian */
#define VIRTIO_MMIO_VENDOR 0x554d4551u      /* "QEMU": what guests know for virt */

struct virtio_mmio {
    struct irq_line irq;
    struct virtio_dev *vd;      /* NULL: empty slot */
    uint32_t dev_features_sel, drv_features_sel, queue_sel;
};

static void set_hi(uint64_t *v, uint32_t x)
{
    *v = (*v & 0xffffffffu) | (uint64_t)x << 32;
}

static void set_lo(uint64_t *v, uint32_t x)
{
    *v = (*v & ~UINT64_C(0xffffffff)) | x;
}

static struct virtq *sel_queue(struct virtio_mmio *v)
{
    if (v->queue_sel >= (uint32_t)v->vd->n_queues || !v->vd->vq[v->queue_sel].num_max)
        return NULL;
    return &v->vd->vq[v->queue_sel];
}

static bool virtio_mmio_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
    struct virtio_mmio *v = opaque;
    struct virtio_dev *vd = v->vd;
    *val = 0;
    if (off >= R_CONFIG)
        return vd ? virtio_config_read(vd, off - R_CONFIG, size, val) : true;
    if (size != 4 || !IS_ALIGNED(off, 4))
        return false;
    switch (off) {
    case R_MAGIC:
        *val = VIRTIO_MMIO_MAGIC;
        return true;
    case R_VERSION:
        *val = 2;
        return true;
    case R_VENDOR_ID:
        *val = VIRTIO_MMIO_VENDOR;
        return true;
    }
    if (!vd)
        return true;            /* empty slot: device id 0 and zeros */
    struct virtq *vq = sel_queue(v);
    switch (off) {
    case R_DEVICE_ID:
        *val = vd->ops->device_id;
        break;
    case R_DEV_FEATURES:
        *val = v->dev_features_sel > 1 ? 0 : (uint32_t)(vd->host_features >> (32 * v->dev_features_sel));
        break;
    case R_QUEUE_NUM_MAX:
        *val = vq ? vq->num_max : 0;
        break;
    case R_QUEUE_READY:
        *val = vq ? vq->ready : 0;
        break;
    case R_INT_STATUS:
        *val = vd->isr;
        break;
    case R_STATUS:
        *val = vd->status;
        break;
    case R_QUEUE_DESC_LO: *val = vq ? (uint32_t)vq->desc_pa : 0; break;
    case R_QUEUE_DESC_HI: *val = vq ? vq->desc_pa >> 32 : 0; break;
    case R_QUEUE_DRIVER_LO: *val = vq ? (uint32_t)vq->avail_pa : 0; break;
    case R_QUEUE_DRIVER_HI: *val = vq ? vq->avail_pa >> 32 : 0; break;
    case R_QUEUE_DEVICE_LO: *val = vq ? (uint32_t)vq->used_pa : 0; break;
    case R_QUEUE_DEVICE_HI: *val = vq ? vq->used_pa >> 32 : 0; break;
    case R_SHM_LEN_LO:
    case R_SHM_LEN_HI:
        *val = 0xffffffffu;     /* 4.2.2: no shared memory region selected */
        break;
    case R_CONFIG_GEN:
        *val = vd->config_generation;
        break;
    default:
        if (log_on(LOG_GUEST_ERROR))
            log_msg(LOG_GUEST_ERROR, "virtio-mmio: read of register 0x%" PRIx64, off);
        break;
    }
    return true;
}

/* Queue registers may only change while the queue is not ready (4.2.3.2). */
static bool queue_writable(struct virtio_mmio *v, struct virtq *vq, uint64_t off)
{
    if (vq && !vq->ready)
        return true;
    if (log_on(LOG_GUEST_ERROR))
        log_msg(LOG_GUEST_ERROR, "%s: write to register 0x%" PRIx64 " of queue %u %s",
                v->vd->ops->name, off, v->queue_sel, vq ? "while ready" : "(no such queue)");
    return false;
}

static bool virtio_mmio_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct virtio_mmio *v = opaque;
    struct virtio_dev *vd = v->vd;
    if (off >= R_CONFIG) {
        if (!vd)
            return true;
        if (!virtio_config_write(vd, off - R_CONFIG, size, val) && log_on(LOG_GUEST_ERROR))
            log_msg(LOG_GUEST_ERROR, "%s: write to config space at 0x%" PRIx64 " ignored",
                    vd->ops->name, off - R_CONFIG);
        return true;
    }
    if (size != 4 || !IS_ALIGNED(off, 4))
        return false;
    if (!vd) {
        if (log_on(LOG_GUEST_ERROR))
            log_msg(LOG_GUEST_ERROR, "virtio-mmio: write to an empty slot at offset 0x%" PRIx64,
                    off);
        return true;
    }
    uint32_t x = (uint32_t)val;
    struct virtq *vq = sel_queue(v);
    switch (off) {
    case R_DEV_FEATURES_SEL:
        v->dev_features_sel = x;
        break;
    case R_DRV_FEATURES:
        if (vd->status & VIRTIO_STATUS_FEATURES_OK)
            break;              /* 2.2.2: no changes after FEATURES_OK */
        if (v->drv_features_sel == 0)
            set_lo(&vd->driver_features, x);
        else if (v->drv_features_sel == 1)
            set_hi(&vd->driver_features, x);
        break;
    case R_DRV_FEATURES_SEL:
        v->drv_features_sel = x;
        break;
    case R_QUEUE_SEL:
        v->queue_sel = x;
        break;
    case R_QUEUE_NUM:
        if (queue_writable(v, vq, off))
            vq->num = (uint16_t)MIN(x, 0xffffu);
        break;
    case R_QUEUE_READY:
        if (vq)
            virtq_set_ready(vd, (int)v->queue_sel, x & 1);
        break;
    case R_QUEUE_NOTIFY:
        /* without VIRTIO_F_NOTIFICATION_DATA the value is the queue index */
        virtio_queue_notify(vd, (int)(x & 0xffff));
        break;
    case R_INT_ACK:
        virtio_isr_ack(vd, (uint8_t)x);
        break;
    case R_STATUS:
        virtio_set_status(vd, (uint8_t)x);
        break;
    case R_QUEUE_DESC_LO: if (queue_writable(v, vq, off)) set_lo(&vq->desc_pa, x); break;
    case R_QUEUE_DESC_HI: if (queue_writable(v, vq, off)) set_hi(&vq->desc_pa, x); break;
    case R_QUEUE_DRIVER_LO: if (queue_writable(v, vq, off)) set_lo(&vq->avail_pa, x); break;
    case R_QUEUE_DRIVER_HI: if (queue_writable(v, vq, off)) set_hi(&vq->avail_pa, x); break;
    case R_QUEUE_DEVICE_LO: if (queue_writable(v, vq, off)) set_lo(&vq->used_pa, x); break;
    case R_QUEUE_DEVICE_HI: if (queue_writable(v, vq, off)) set_hi(&vq->used_pa, x); break;
    case R_SHM_SEL:
        break;
    default:
        if (log_on(LOG_GUEST_ERROR))
            log_msg(LOG_GUEST_ERROR, "%s: write of 0x%" PRIx32 " to register 0x%" PRIx64,
                    vd->ops->name, x, off);
        break;
    }
    return true;
}

static const struct mmio_ops virtio_mmio_regs = {
    .read = virtio_mmio_read,
    .write = virtio_mmio_write,
};

static void mmio_update_irq(void *opaque, struct virtio_dev *vd)
{
    struct virtio_mmio *v = opaque;
    irq_set(&v->irq, vd->isr != 0);
}

static const struct virtio_transport mmio_transport = {
    .update_irq = mmio_update_irq,
};

void virtio_mmio_reset(struct virtio_mmio *v)
{
    v->dev_features_sel = v->drv_features_sel = v->queue_sel = 0;
    if (v->vd)
        virtio_reset(v->vd);
    irq_set(&v->irq, 0);
}

int virtio_mmio_new(struct virtio_mmio **out, struct mem_map *m, uint64_t base,
                    struct irq_line irq, struct error **errp)
{
    struct virtio_mmio *v = calloc(1, sizeof(*v));
    if (!v)
        return err_set(errp, ENOMEM, _("out of memory creating a virtio-mmio slot"));
    v->irq = irq;
    int ret = mem_add_mmio(m, "virtio-mmio", base, VIRTIO_MMIO_SIZE, &virtio_mmio_regs, v, errp);
    if (ret < 0) {
        free(v);
        return ret;
    }
    *out = v;
    return 0;
}

bool virtio_mmio_plug(struct virtio_mmio *v, struct virtio_dev *vd)
{
    if (v->vd)
        return false;
    v->vd = vd;
    virtio_dev_set_transport(vd, &mmio_transport, v);
    return true;
}

bool virtio_mmio_empty(const struct virtio_mmio *v)
{
    return !v->vd;
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

/* savevm: the transport's own registers (the selectors); the device
 * behind it saves itself, and drives the line when it loads. */
static void virtio_mmio_save_op(void *dev, struct vms_out *f)
{
    struct virtio_mmio *v = dev;
    vms_put_bool(f, v->vd != NULL);
    vms_put_u32(f, v->dev_features_sel);
    vms_put_u32(f, v->drv_features_sel);
    vms_put_u32(f, v->queue_sel);
}

static void virtio_mmio_load_op(void *dev, struct vms_in *f, uint32_t version)
{
    struct virtio_mmio *v = dev;
    (void)version;
    bool has = vms_get_bool(f);
    uint32_t dsel = vms_get_u32(f), drsel = vms_get_u32(f), qsel = vms_get_u32(f);
    if (!vms_failed(f) && has != (v->vd != NULL))
        vms_fail(f, "a slot %s where the machine's is %s (another -device set?)",
                 has ? "in use" : "empty", v->vd ? "in use" : "empty");
    if (vms_failed(f))
        return;
    v->dev_features_sel = dsel;
    v->drv_features_sel = drsel;
    v->queue_sel = qsel;        /* any value: sel_queue() checks it at use */
    irq_set(&v->irq, v->vd && v->vd->isr);
}

const struct dev_ops virtio_mmio_ops = {
    .name = "virtio-mmio",
    .desc = "virtio-mmio transport",
    .reset = virtio_mmio_reset_op,
    .free = virtio_mmio_free_op,
    .vmstate_version = 1,
    .save = virtio_mmio_save_op,
    .load = virtio_mmio_load_op,
};
