/* virtqueue.c - split virtqueues (virtio 1.2, 2.7), with indirect
 * descriptors and event indexes.
 *
 * The rings live in guest RAM and the guest may change them at any time,
 * also while we read them: every field is read once into a local and
 * checked there, never read twice.  What the guest controls and what we
 * check:
 *   - ring addresses: inside RAM and aligned, when the queue is made ready;
 *   - the available index: at most `num` entries ahead of what we took;
 *   - descriptor indexes: below the table's size;
 *   - chains: at most as long as their table (a longer one loops);
 *   - buffers: inside one RAM region, address + length not overflowing;
 *   - readable buffers all before writable ones (2.7.4.2);
 *   - indirect tables: a whole number of descriptors, at most
 *     VIRTQ_MAX_INDIRECT, not nested, not combined with NEXT.
 * A breach is virtio_error(): NEEDS_RESET, and the queue is left alone.
 * The used ring is only written, and its index is our own copy, so a
 * guest that scribbles on it changes nothing we rely on.
 *
 * Memory ordering: the guest is another CPU.  The available index is
 * loaded with acquire (entries after it), the used index stored with
 * release (entries before it), and a full fence separates our used-index
 * store from reading the guest's event index or flags (a store-load
 * pair: x86 reorders those).  The same holds the other way: our
 * avail_event store (virtq_pop) and the next load of the available
 * index are fenced too, or the guest can read the old avail_event and
 * skip its kick while we read the old index and stop, each waiting for
 * the other.
 */
#include <config.h>
#include <errno.h>
#include <string.h>
#include "hw/virtio/virtio.h"
#include "log.h"
#include "trace/hw.h"

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct virtq_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[];            /* num entries, then used_event */
};

struct virtq_used_elem {
    uint32_t id;
    uint32_t len;
};

struct virtq_used {
    uint16_t flags;
    uint16_t idx;
    struct virtq_used_elem ring[];  /* num entries, then avail_event */
};

#define LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

void virtq_set_ready(struct virtio_dev *vd, int q, bool ready)
{
    struct virtq *vq = &vd->vq[q];
    if (!ready) {
        vq->ready = false;
        return;
    }
    uint64_t n = vq->num;
    if (!IS_POW2(vq->num) || vq->num > vq->num_max) {
        virtio_error(vd, "queue %d: size %u is not a power of 2 up to %u", q, vq->num,
                     vq->num_max);
        return;
    }
    if (!IS_ALIGNED(vq->desc_pa, 16) || !IS_ALIGNED(vq->avail_pa, 2) ||
        !IS_ALIGNED(vq->used_pa, 4)) {
        virtio_error(vd, "queue %d: misaligned rings (0x%" PRIx64 ", 0x%" PRIx64
                     ", 0x%" PRIx64 ")", q, vq->desc_pa, vq->avail_pa, vq->used_pa);
        return;
    }
    vq->desc = mem_ram_ptr(vd->mem, vq->desc_pa, 16 * n, false);
    vq->avail = mem_ram_ptr(vd->mem, vq->avail_pa, 6 + 2 * n, false);
    vq->used = mem_ram_ptr(vd->mem, vq->used_pa, 6 + 8 * n, false);
    if (!vq->desc || !vq->avail || !vq->used) {
        virtio_error(vd, "queue %d: rings outside RAM (0x%" PRIx64 ", 0x%" PRIx64
                     ", 0x%" PRIx64 ")", q, vq->desc_pa, vq->avail_pa, vq->used_pa);
        vq->desc = NULL;
        vq->avail = NULL;
        vq->used = NULL;
        return;
    }
    vq->ready = true;
}

void virtq_elem_free(struct virtq_elem *e)
{
    free(e->iov);
    free(e->pa);
    e->iov = NULL;
    e->pa = NULL;
    e->cap = 0;
    e->n_in = e->n_out = 0;
}

/* Append one buffer to E; false (with the device broken) when it is not
 * guest RAM or breaks the out-before-in order. */
static bool elem_add(struct virtq *vq, struct virtq_elem *e, const struct virtq_desc *d)
{
    struct virtio_dev *vd = vq->vd;
    bool in = d->flags & VIRTQ_DESC_F_WRITE;
    if (!in && e->n_in) {
        virtio_error(vd, "queue %d: readable buffer after a writable one", vq->index);
        return false;
    }
    if (d->len == 0)
        return true;            /* nothing to transfer; allowed */
    void *p = mem_ram_ptr(vd->mem, d->addr, d->len, false);
    if (!p) {
        virtio_error(vd, "queue %d: buffer 0x%" PRIx64 "+0x%" PRIx32 " is not in RAM",
                     vq->index, d->addr, d->len);
        return false;
    }
    unsigned n = e->n_in + e->n_out;
    if (n == e->cap) {
        unsigned cap = e->cap ? 2 * e->cap : 16;
        struct iovec *iov = realloc(e->iov, cap * sizeof(*iov));
        if (iov)
            e->iov = iov;
        uint64_t *pa = iov ? realloc(e->pa, cap * sizeof(*pa)) : NULL;
        if (!pa) {
            virtio_error(vd, "queue %d: out of memory for a request", vq->index);
            return false;
        }
        e->pa = pa;
        e->cap = cap;
    }
    e->iov[n] = (struct iovec){ p, d->len };
    e->pa[n] = d->addr;
    if (in) {
        e->n_in++;
        e->in_len += d->len;
    } else {
        e->n_out++;
        e->out_len += d->len;
    }
    return true;
}

int virtq_pop(struct virtq *vq, struct virtq_elem *e)
{
    struct virtio_dev *vd = vq->vd;
    if (!vq->ready || !virtio_running(vd))
        return 0;
    /* after the avail_event store of the previous pop (see the top) */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint16_t avail_idx = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
    uint16_t pending = (uint16_t)(avail_idx - vq->last_avail);
    if (pending == 0)
        return 0;
    if (pending > vq->num) {
        virtio_error(vd, "queue %d: available index %u is %u entries ahead (size %u)",
                     vq->index, avail_idx, pending, vq->num);
        return 0;
    }
    uint16_t head = LOAD(&vq->avail->ring[vq->last_avail & (vq->num - 1)]);
    if (head >= vq->num) {
        virtio_error(vd, "queue %d: head descriptor %u out of range", vq->index, head);
        return 0;
    }
    e->head = head;
    e->n_in = e->n_out = 0;
    e->in_len = e->out_len = 0;

    const struct virtq_desc *table = vq->desc;
    unsigned table_n = vq->num, i = head, count = 0;
    bool indirect = false;
    for (;;) {
        struct virtq_desc d = {
            .addr = LOAD(&table[i].addr),
            .len = LOAD(&table[i].len),
            .flags = LOAD(&table[i].flags),
            .next = LOAD(&table[i].next),
        };
        if (++count > table_n) {
            virtio_error(vd, "queue %d: descriptor chain from %u loops", vq->index, head);
            return 0;
        }
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            if (indirect || !virtio_has_feature(vd, VIRTIO_F_INDIRECT_DESC) ||
                (d.flags & VIRTQ_DESC_F_NEXT)) {
                virtio_error(vd, "queue %d: indirect descriptor %u not allowed here",
                             vq->index, i);
                return 0;
            }
            if (d.len == 0 || d.len % sizeof(struct virtq_desc) ||
                d.len / sizeof(struct virtq_desc) > VIRTQ_MAX_INDIRECT) {
                virtio_error(vd, "queue %d: indirect table of %" PRIu32 " bytes", vq->index,
                             d.len);
                return 0;
            }
            table = mem_ram_ptr(vd->mem, d.addr, d.len, false);
            if (!table || !IS_ALIGNED((uintptr_t)table, 8)) {
                virtio_error(vd, "queue %d: indirect table at 0x%" PRIx64 " is not in RAM",
                             vq->index, d.addr);
                return 0;
            }
            table_n = d.len / sizeof(struct virtq_desc);
            indirect = true;
            i = 0;
            count = 0;
            continue;
        }
        if (!elem_add(vq, e, &d))
            return 0;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            break;
        i = d.next;
        if (i >= table_n) {
            virtio_error(vd, "queue %d: next descriptor %u out of range", vq->index, i);
            return 0;
        }
    }
    vq->last_avail++;
    trace_virtqueue_pop(vd->ops->name, vq->index, head, (uint32_t)e->in_len, (uint32_t)e->out_len);
    /* Event index: ask to be notified again only after this entry. */
    if (virtio_has_feature(vd, VIRTIO_F_EVENT_IDX))
        STORE((uint16_t *)&vq->used->ring[vq->num], vq->last_avail);
    return 1;
}

void virtq_push(struct virtq *vq, const struct virtq_elem *e, uint32_t len, uint32_t generation)
{
    struct virtio_dev *vd = vq->vd;
    if (generation != vd->generation || !vq->ready || vd->broken)
        return;                 /* the driver reset the device meanwhile */
    /* The driver learns how much we wrote; never more than it offered. */
    if (len > e->in_len)
        len = (uint32_t)e->in_len;
    struct virtq_used_elem *u = &vq->used->ring[vq->used_idx & (vq->num - 1)];
    STORE(&u->id, e->head);
    STORE(&u->len, len);
    vq->used_idx++;
    __atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
    trace_virtqueue_push(vd->ops->name, vq->index, e->head, len);
}

void virtq_notify(struct virtq *vq)
{
    struct virtio_dev *vd = vq->vd;
    if (!vq->ready || vd->broken)
        return;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    bool raise;
    if (virtio_has_feature(vd, VIRTIO_F_EVENT_IDX)) {
        /* 2.7.10: interrupt when used_idx passed the driver's used_event
         * since the last interrupt */
        uint16_t event = LOAD(&vq->avail->ring[vq->num]);
        uint16_t old = vq->signalled_used, new = vq->used_idx;
        raise = !vq->signalled_valid || (uint16_t)(new - event - 1) < (uint16_t)(new - old);
        vq->signalled_used = new;
        vq->signalled_valid = true;
    } else {
        raise = !(LOAD(&vq->avail->flags) & VIRTQ_AVAIL_F_NO_INTERRUPT);
    }
    if (raise)
        virtio_raise_queue_irq(vd);
}
