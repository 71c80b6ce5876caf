/* virtio.c - the state every virtio device shares: status, feature
 * negotiation, config space, queue set-up and interrupts (virtio 1.2,
 * chapters 2 and 3).  Transports call in here; models read the result.
 * Everything runs with the device lock held.
 */
#include <config.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "hw/virtio/virtio.h"
#include "hw/hw.h"
#include "i18n.h"
#include "log.h"
#include "msg.h"

#define CORE_FEATURES ((UINT64_C(1) << VIRTIO_F_VERSION_1) | \
                       (UINT64_C(1) << VIRTIO_F_INDIRECT_DESC) | \
                       (UINT64_C(1) << VIRTIO_F_EVENT_IDX))

/* A guest that breaks its devices over and over must not flood the
 * terminal: this many messages in all, then only -d guest_errors. */
#define VIRTIO_ERROR_REPORTS 8

int virtio_dev_init(struct virtio_dev *vd, const struct virtio_dev_ops *ops, void *opaque,
                    struct mem_map *mem, uint64_t features, uint32_t config_len, int n_queues,
                    uint16_t queue_max, struct error **errp)
{
    memset(vd, 0, sizeof(*vd));
    if (n_queues < 1 || n_queues > VIRTIO_MAX_QUEUES || !IS_POW2(queue_max) ||
        queue_max > VIRTQ_MAX_SIZE)
        return err_set(errp, EINVAL, _("%s: bad queue layout"), ops->name);
    vd->ops = ops;
    vd->opaque = opaque;
    vd->mem = mem;
    vd->host_features = features | CORE_FEATURES;
    vd->config_len = config_len;
    if (config_len && !(vd->config = calloc(1, config_len)))
        return err_set(errp, ENOMEM, _("%s: out of memory"), ops->name);
    vd->n_queues = n_queues;
    for (int i = 0; i < n_queues; i++) {
        vd->vq[i].num_max = queue_max;
        vd->vq[i].num = queue_max;
        vd->vq[i].index = i;
        vd->vq[i].vd = vd;
    }
    return 0;
}

void virtio_dev_cleanup(struct virtio_dev *vd)
{
    free(vd->config);
    vd->config = NULL;
}

void virtio_dev_set_transport(struct virtio_dev *vd, const struct virtio_transport *tr,
                              void *opaque)
{
    vd->tr = tr;
    vd->tr_opaque = opaque;
}

bool virtio_has_feature(const struct virtio_dev *vd, int bit)
{
    return (vd->guest_features >> bit) & 1;
}

bool virtio_running(const struct virtio_dev *vd)
{
    return (vd->status & VIRTIO_STATUS_DRIVER_OK) && !vd->broken;
}

static void update_irq(struct virtio_dev *vd)
{
    if (vd->tr)
        vd->tr->update_irq(vd->tr_opaque, vd);
}

void virtio_reset(struct virtio_dev *vd)
{
    vd->status = 0;
    vd->guest_features = vd->driver_features = 0;
    vd->isr = 0;
    vd->broken = false;
    vd->generation++;
    for (int i = 0; i < vd->n_queues; i++) {
        struct virtq *vq = &vd->vq[i];
        vq->num = vq->num_max;
        vq->ready = false;
        vq->desc_pa = vq->avail_pa = vq->used_pa = 0;
        vq->desc = NULL;
        vq->avail = NULL;
        vq->used = NULL;
        vq->last_avail = vq->used_idx = vq->signalled_used = 0;
        vq->signalled_valid = false;
    }
    if (vd->ops->reset)
        vd->ops->reset(vd);
    update_irq(vd);
}

void virtio_set_status(struct virtio_dev *vd, uint8_t status)
{
    if (status == 0) {
        virtio_reset(vd);
        return;
    }
    /* 2.2.2: the device refuses a feature set it did not offer, and we
     * only speak the modern interface (VERSION_1 is mandatory). */
    if ((status & VIRTIO_STATUS_FEATURES_OK) && !(vd->status & VIRTIO_STATUS_FEATURES_OK)) {
        uint64_t f = vd->driver_features;
        if ((f & ~vd->host_features) || !((f >> VIRTIO_F_VERSION_1) & 1)) {
            if (log_on(LOG_GUEST_ERROR))
                log_msg(LOG_GUEST_ERROR,
                        "%s: driver features 0x%" PRIx64 " refused (offered 0x%" PRIx64 ")",
                        vd->ops->name, f, vd->host_features);
            status &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
        } else {
            vd->guest_features = f;
        }
    }
    /* DRIVER_OK without FEATURES_OK is a driver bug: the device stays
     * unusable rather than guessing the features */
    if ((status & VIRTIO_STATUS_DRIVER_OK) && !(status & VIRTIO_STATUS_FEATURES_OK))
        status &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
    /* NEEDS_RESET is the device's bit: the driver cannot clear it */
    status = (uint8_t)((status & ~VIRTIO_STATUS_NEEDS_RESET) |
                       (vd->status & VIRTIO_STATUS_NEEDS_RESET));
    bool was_ok = vd->status & VIRTIO_STATUS_DRIVER_OK;
    vd->status = status;
    if (!was_ok && (status & VIRTIO_STATUS_DRIVER_OK) && vd->ops->driver_ok)
        vd->ops->driver_ok(vd);
}

bool virtio_config_read(struct virtio_dev *vd, uint64_t off, unsigned size, uint64_t *val)
{
    *val = 0;
    if (off > vd->config_len || size > vd->config_len - off)
        return false;
    for (unsigned i = 0; i < size; i++)
        *val |= (uint64_t)vd->config[off + i] << (8 * i);
    return true;
}

bool virtio_config_write(struct virtio_dev *vd, uint64_t off, unsigned size, uint64_t val)
{
    if (off > vd->config_len || size > vd->config_len - off || !vd->ops->config_write)
        return false;
    return vd->ops->config_write(vd, (uint32_t)off, size, val);
}

void virtio_config_changed(struct virtio_dev *vd)
{
    vd->config_generation++;
    if (!(vd->status & VIRTIO_STATUS_DRIVER_OK))
        return;
    vd->isr |= VIRTIO_ISR_CONFIG;
    update_irq(vd);
}

void virtio_isr_ack(struct virtio_dev *vd, uint8_t bits)
{
    vd->isr &= (uint8_t)~bits;
    update_irq(vd);
}

void virtio_error(struct virtio_dev *vd, const char *fmt, ...)
{
    static unsigned reported;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (__atomic_fetch_add(&reported, 1, __ATOMIC_RELAXED) < VIRTIO_ERROR_REPORTS)
        msg_warn(_("%s: guest error: %s; the device needs a reset"), vd->ops->name, buf);
    else if (log_on(LOG_GUEST_ERROR))
        log_msg(LOG_GUEST_ERROR, "%s: %s", vd->ops->name, buf);
    vd->broken = true;
    vd->status |= VIRTIO_STATUS_NEEDS_RESET;
    /* 2.1.2: with DRIVER_OK set, tell the driver through a config interrupt */
    if (vd->status & VIRTIO_STATUS_DRIVER_OK) {
        vd->isr |= VIRTIO_ISR_CONFIG;
        update_irq(vd);
    }
}

void virtio_queue_notify(struct virtio_dev *vd, int q)
{
    if (q < 0 || q >= vd->n_queues || !vd->vq[q].num_max) {
        if (log_on(LOG_GUEST_ERROR))
            log_msg(LOG_GUEST_ERROR, "%s: notify of queue %d, which does not exist",
                    vd->ops->name, q);
        return;
    }
    if (!virtio_running(vd) || !vd->vq[q].ready)
        return;
    vd->ops->queue_notify(vd, q);
}

void virtio_raise_queue_irq(struct virtio_dev *vd)
{
    vd->isr |= VIRTIO_ISR_QUEUE;
    update_irq(vd);
}
