/* virtio-state.c - a virtio device's state for savevm/loadvm: the
 * core's (features, status, interrupt status, config space), each split
 * virtqueue's (size, ring addresses, our indexes) and the model's.
 *
 * Requests are not saved: savevm drains the worker pool first, so every
 * chain a model handed out has been used.  What a model still holds
 * unused (virtio-net's receive buffers waiting for a frame, a frame the
 * back end refused for now) are the last chains it popped, so the saved
 * last_avail index steps back over them and the loaded device pops them
 * again.  The generation moves on at load, which makes the model forget
 * such chains and drops completions of anything older.
 *
 * The ring addresses are checked at load as when the driver makes a
 * queue ready; a stream that names memory outside RAM fails the load.
 */
#include <config.h>

#include <string.h>

#include "hw/virtio/virtio.h"
#include "vmstate.h"

void virtio_dev_save(struct virtio_dev *vd, struct vms_out *f)
{
    const char *name = vd->ops->name;
    vms_put_bytes(f, name, strlen(name));
    vms_put_u64(f, vd->host_features);
    vms_put_u64(f, vd->guest_features);
    vms_put_u64(f, vd->driver_features);
    vms_put_u8(f, vd->status);
    vms_put_u8(f, vd->isr);
    vms_put_u32(f, vd->config_generation);
    vms_put_bool(f, vd->broken);
    vms_put_bytes(f, vd->config, vd->config_len);
    vms_put_u32(f, (uint32_t)vd->n_queues);
    for (int q = 0; q < vd->n_queues; q++) {
        const struct virtq *vq = &vd->vq[q];
        unsigned held = vd->ops->held ? vd->ops->held(vd, q) : 0;
        vms_put_u16(f, vq->num_max);
        vms_put_u16(f, vq->num);
        vms_put_bool(f, vq->ready);
        vms_put_u64(f, vq->desc_pa);
        vms_put_u64(f, vq->avail_pa);
        vms_put_u64(f, vq->used_pa);
        vms_put_u16(f, (uint16_t)(vq->last_avail - held));
        vms_put_u16(f, vq->used_idx);
        vms_put_u16(f, vq->signalled_used);
        vms_put_bool(f, vq->signalled_valid);
    }
    vms_put_u32(f, vd->ops->save ? vd->ops->vmstate_version : 0);
    if (vd->ops->save)
        vd->ops->save(vd, f);
}

struct vq_saved {
    uint16_t num_max, num, last_avail, used_idx, signalled_used;
    bool ready, signalled_valid;
    uint64_t desc_pa, avail_pa, used_pa;
};

void virtio_dev_load(struct virtio_dev *vd, struct vms_in *f, uint32_t version)
{
    (void)version;
    char name[64];
    vms_get_str(f, name, sizeof(name));
    if (!vms_failed(f) && strcmp(name, vd->ops->name) != 0)
        vms_fail(f, "a %s where the machine has a %s", name, vd->ops->name);
    uint64_t host = vms_get_u64(f), guest = vms_get_u64(f), driver = vms_get_u64(f);
    uint8_t status = vms_get_u8(f), isr = vms_get_u8(f);
    uint32_t cgen = vms_get_u32(f);
    bool broken = vms_get_bool(f);
    vms_check(f, host == vd->host_features, "offered features (another device configuration)");
    vms_check(f, (guest & ~host) == 0, "accepted features");
    vms_check(f, (isr & ~(VIRTIO_ISR_QUEUE | VIRTIO_ISR_CONFIG)) == 0, "interrupt status");
    uint8_t *config = vd->config_len ? malloc(vd->config_len) : NULL;
    if (vd->config_len && !config)
        vms_fail(f, "out of memory");
    vms_get_bytes(f, config, vd->config_len);
    uint32_t nq = vms_get_u32(f);
    vms_check(f, nq == (uint32_t)vd->n_queues, "number of queues");
    struct vq_saved sq[VIRTIO_MAX_QUEUES];
    for (int q = 0; q < vd->n_queues && !vms_failed(f); q++) {
        struct vq_saved *s = &sq[q];
        s->num_max = vms_get_u16(f);
        s->num = vms_get_u16(f);
        s->ready = vms_get_bool(f);
        s->desc_pa = vms_get_u64(f);
        s->avail_pa = vms_get_u64(f);
        s->used_pa = vms_get_u64(f);
        s->last_avail = vms_get_u16(f);
        s->used_idx = vms_get_u16(f);
        s->signalled_used = vms_get_u16(f);
        s->signalled_valid = vms_get_bool(f);
        vms_check(f, s->num_max == vd->vq[q].num_max, "queue size limit");
        vms_check(f, s->num <= s->num_max && (!s->ready || IS_POW2(s->num)), "queue size");
        /* what virtq_set_ready checks, here, so that a bad stream is the
         * load's error and not the guest's */
        uint64_t n = s->num;
        if (s->ready && !vms_failed(f) &&
            (!IS_ALIGNED(s->desc_pa, 16) || !IS_ALIGNED(s->avail_pa, 2) ||
             !IS_ALIGNED(s->used_pa, 4) || !mem_ram_ptr(vd->mem, s->desc_pa, 16 * n, false) ||
             !mem_ram_ptr(vd->mem, s->avail_pa, 6 + 2 * n, false) ||
             !mem_ram_ptr(vd->mem, s->used_pa, 6 + 8 * n, false)))
            vms_fail(f, "queue %d: rings outside RAM or misaligned", q);
    }
    uint32_t mver = vms_get_u32(f);
    uint32_t mmax = vd->ops->save ? vd->ops->vmstate_version : 0;
    if (!vms_failed(f) && mver > mmax)
        vms_fail(f, "%s state of version %u is newer than this emu's (%u)", vd->ops->name,
                 mver, mmax);
    if (!vms_failed(f) && (mver == 0) != (mmax == 0))
        vms_fail(f, "%s state of version %u where this emu has %u", vd->ops->name, mver, mmax);
    if (vms_failed(f)) {
        free(config);
        return;
    }

    vd->guest_features = guest;
    vd->driver_features = driver;
    vd->status = status;
    vd->isr = isr;
    vd->config_generation = cgen;
    vd->broken = broken;
    if (vd->config_len)
        memcpy(vd->config, config, vd->config_len);
    free(config);
    /* whatever the model holds from before is not of this state */
    vd->generation++;
    for (int q = 0; q < vd->n_queues; q++) {
        struct virtq *vq = &vd->vq[q];
        const struct vq_saved *s = &sq[q];
        vq->ready = false;
        vq->desc = NULL;
        vq->avail = NULL;
        vq->used = NULL;
        vq->num = s->num;
        vq->desc_pa = s->desc_pa;
        vq->avail_pa = s->avail_pa;
        vq->used_pa = s->used_pa;
        vq->last_avail = s->last_avail;
        vq->used_idx = s->used_idx;
        vq->signalled_used = s->signalled_used;
        vq->signalled_valid = s->signalled_valid;
        if (s->ready && !broken) {
            virtq_set_ready(vd, q, true);
            if (!vq->ready) {
                vms_fail(f, "queue %d: rings outside RAM or misaligned", q);
                return;
            }
        }
    }
    if (mver)
        vd->ops->load(vd, f, mver);
    if (vms_failed(f))
        return;
    if (vd->tr)
        vd->tr->update_irq(vd->tr_opaque, vd);
    /* Work the saved driver left for a bottom half that never ran in
     * this process: look at every queue once. */
    for (int q = 0; q < vd->n_queues; q++)
        if (vd->vq[q].ready && virtio_running(vd) && vd->ops->queue_notify)
            vd->ops->queue_notify(vd, q);
}
