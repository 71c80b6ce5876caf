/* virtio.h - virtio devices (virtio 1.2, modern interface only), apart
 * from their transports.
 *
 * A device model (virtio-blk, virtio-rng, ...) is a struct virtio_dev_ops
 * and a struct virtio_dev it embeds or points to: feature bits, config
 * space, queues.  A transport (virtio-mmio now, virtio-pci later) owns
 * the registers through which the driver reaches that state and forwards
 * to the functions below; it learns about interrupts through struct
 * virtio_transport.  Neither knows the other's code: this is what lets
 * the same virtio-blk sit behind mmio on riscv and pci on x86.
 *
 * Threads: all of it runs with the device lock held (hw_lock(), hw/hw.h),
 * either in a hart thread (register accesses) or in the loop thread
 * (completions).  Queue notifications arrive in a hart thread and must
 * not block: models hand the work to the loop (a bottom half) or to the
 * worker pool.
 *
 * Untrusted input: the driver is the guest.  Ring addresses, descriptor
 * addresses and lengths, indexes and chain shapes are all checked; a
 * driver that breaks the rules puts the device into DEVICE_NEEDS_RESET
 * (virtio_error) and the device stops using its queues until the driver
 * resets it.  Host memory outside guest RAM is never touched.
 */
#ifndef EMU_HW_VIRTIO_H
#define EMU_HW_VIRTIO_H

#include <sys/uio.h>
#include "common.h"
#include "error.h"
#include "hw/mem.h"

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

/* Reserved feature bits (6) the core implements. */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

/* Interrupt status bits (the ISR of 4.1.4.5 and 4.2.2's InterruptStatus). */
#define VIRTIO_ISR_QUEUE 1
#define VIRTIO_ISR_CONFIG 2

/* Device ids (5). */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG 4

#define VIRTIO_MAX_QUEUES 8
#define VIRTQ_MAX_SIZE 32768    /* 2.7: a split queue has at most 2^15 entries */
/* An indirect table holds at most this many descriptors; Linux uses at
 * most one per page of a request plus the header and status. */
#define VIRTQ_MAX_INDIRECT 1024

struct virtio_dev;
struct vms_out;
struct vms_in;

/* What a model does; called with the device lock held. */
struct virtio_dev_ops {
    const char *name;           /* qemu's -device name: "virtio-blk-device" */
    uint32_t device_id;
    /* The driver wrote QueueNotify for queue q (a hart thread: must not
     * block). */
    void (*queue_notify)(struct virtio_dev *vd, int q);
    /* A write of SIZE bytes to the config space at OFF (inside it): the
     * model stores what it accepts; false: ignored.  NULL: read-only. */
    bool (*config_write)(struct virtio_dev *vd, uint32_t off, unsigned size, uint64_t val);
    /* The driver set DRIVER_OK (the device may now use its queues). */
    void (*driver_ok)(struct virtio_dev *vd);
    /* Back to the power-on state: the core has cleared the status, the
     * features and the queues; requests still in flight must complete
     * without touching the queues (see virtio_dev.generation). */
    void (*reset)(struct virtio_dev *vd);
    /* Free the model (the machine is stopped; nothing dispatches to it). */
    void (*free)(struct virtio_dev *vd);
    /* savevm (virtio-state.c): how many chains of queue Q the model
     * popped and still holds unused, the last ones popped (they go back
     * into the driver's ring in the saved state); NULL: none. */
    unsigned (*held)(struct virtio_dev *vd, int q);
    /* The model's own state, after the core's (dev.h's rules); NULL:
     * none.  load runs after the core's state (queues, features) is in. */
    uint32_t vmstate_version;
    void (*save)(struct virtio_dev *vd, struct vms_out *f);
    void (*load)(struct virtio_dev *vd, struct vms_in *f, uint32_t version);
};

/* What a transport offers the device: its interrupt. */
struct virtio_transport {
    /* The interrupt status changed (bits VIRTIO_ISR_*): raise or lower
     * the line to match vd->isr. */
    void (*update_irq)(void *opaque, struct virtio_dev *vd);
};

/* One split virtqueue (2.7). */
struct virtq {
    uint16_t num;               /* size the driver chose (power of 2, <= num_max) */
    uint16_t num_max;           /* what the model offers; 0: no such queue */
    bool ready;
    uint64_t desc_pa, avail_pa, used_pa;    /* guest-physical, as the driver wrote them */
    /* Host views of the three areas, checked when the queue became ready. */
    struct virtq_desc *desc;
    struct virtq_avail *avail;
    struct virtq_used *used;
    uint16_t last_avail;        /* next available entry to take */
    uint16_t used_idx;          /* our copy of used->idx: never read back from the guest */
    uint16_t signalled_used;    /* used_idx at the last interrupt (event index) */
    bool signalled_valid;
    int index;
    struct virtio_dev *vd;
};

/* A request taken from a queue: the chain's buffers as host iovecs into
 * guest RAM, the driver-readable ones (out) first, then the writable (in). */
struct virtq_elem {
    uint16_t head;              /* descriptor index to return in the used ring */
    unsigned n_out, n_in;
    uint64_t out_len, in_len;   /* bytes */
    struct iovec *iov;          /* n_out + n_in entries */
    uint64_t *pa;               /* guest-physical address of each iov */
    unsigned cap;
};

struct virtio_dev {
    const struct virtio_dev_ops *ops;
    void *opaque;               /* the model */
    struct mem_map *mem;
    const struct virtio_transport *tr;
    void *tr_opaque;
    uint64_t host_features;     /* offered: the model's bits and the core's */
    uint64_t guest_features;    /* accepted by the driver (valid after FEATURES_OK) */
    uint64_t driver_features;   /* as the driver is writing them */
    uint8_t status;
    uint8_t isr;                /* VIRTIO_ISR_* */
    uint32_t config_generation;
    uint8_t *config;            /* the config space; the model fills it */
    uint32_t config_len;
    int n_queues;
    struct virtq vq[VIRTIO_MAX_QUEUES];
    /* Bumped at every reset, so a completion of a request made before it
     * knows its queue is gone (virtq_push refuses it). */
    uint32_t generation;
    bool broken;                /* virtio_error: queues stay untouched until reset */
};

/* Set up VD for a model with N_QUEUES queues of at most QUEUE_MAX entries
 * each and CONFIG_LEN bytes of config space (zeroed; the model fills it).
 * FEATURES are the model's own bits; the core adds VERSION_1,
 * INDIRECT_DESC and EVENT_IDX. */
int virtio_dev_init(struct virtio_dev *vd, const struct virtio_dev_ops *ops, void *opaque,
                    struct mem_map *mem, uint64_t features, uint32_t config_len, int n_queues,
                    uint16_t queue_max, struct error **errp);
void virtio_dev_cleanup(struct virtio_dev *vd);
/* Called by the transport when it plugs the device in. */
void virtio_dev_set_transport(struct virtio_dev *vd, const struct virtio_transport *tr,
                              void *opaque);

/* ---- savevm/loadvm (virtio-state.c): the core's state, the queues'
 * and the model's, as one section (dev.h's rules); requests must have
 * completed (the worker pool drained) before saving. ---- */
#define VIRTIO_VMSTATE_VERSION 1
void virtio_dev_save(struct virtio_dev *vd, struct vms_out *f);
void virtio_dev_load(struct virtio_dev *vd, struct vms_in *f, uint32_t version);

/* ---- for transports ---- */
/* Status register write: 0 resets; FEATURES_OK is refused (stays clear)
 * when the driver took features not offered or not VERSION_1. */
void virtio_set_status(struct virtio_dev *vd, uint8_t status);
void virtio_reset(struct virtio_dev *vd);
/* Config space access of SIZE (1, 2, 4 or 8) bytes; false when outside. */
bool virtio_config_read(struct virtio_dev *vd, uint64_t off, unsigned size, uint64_t *val);
bool virtio_config_write(struct virtio_dev *vd, uint64_t off, unsigned size, uint64_t val);
/* The driver made queue Q ready: check and map its areas.  On a bad
 * address the device goes to NEEDS_RESET and the queue stays not ready. */
void virtq_set_ready(struct virtio_dev *vd, int q, bool ready);
void virtio_queue_notify(struct virtio_dev *vd, int q);
/* The driver acknowledged interrupt bits. */
void virtio_isr_ack(struct virtio_dev *vd, uint8_t bits);
/* Set the queue interrupt bit (virtqueue.c decides when one is due). */
void virtio_raise_queue_irq(struct virtio_dev *vd);

/* ---- for models ---- */
/* Take the next request from VQ.  1: *e holds it; 0: the queue is empty
 * (or not usable); the chain is malformed: NEEDS_RESET, returns 0.
 * virtq_elem_free() releases e's arrays (e may be reused meanwhile). */
int virtq_pop(struct virtq *vq, struct virtq_elem *e);
void virtq_elem_free(struct virtq_elem *e);
/* Give back request E with LEN bytes written into its in-buffers, made
 * under GENERATION (the vd->generation when it was popped): a request
 * from before a reset is dropped. */
void virtq_push(struct virtq *vq, const struct virtq_elem *e, uint32_t len, uint32_t generation);
/* Interrupt the driver for VQ's used buffers unless it asked not to be
 * (flags or event index).  Call after one or more virtq_push. */
void virtq_notify(struct virtq *vq);
/* The config space changed (the model changed vd->config). */
void virtio_config_changed(struct virtio_dev *vd);
/* The driver broke a rule: a message naming the device, then
 * DEVICE_NEEDS_RESET and a config interrupt; the queues stay idle. */
void virtio_error(struct virtio_dev *vd, const char *fmt, ...) EMU_PRINTF(2, 3);
bool virtio_has_feature(const struct virtio_dev *vd, int bit);
/* Whether the device may process its queues now. */
bool virtio_running(const struct virtio_dev *vd);

/* Little-endian config fields (virtio 1.x is little-endian). */
static inline void virtio_cfg_put16(struct virtio_dev *vd, uint32_t off, uint16_t v)
{
    vd->config[off] = (uint8_t)v;
    vd->config[off + 1] = (uint8_t)(v >> 8);
}
static inline void virtio_cfg_put32(struct virtio_dev *vd, uint32_t off, uint32_t v)
{
    virtio_cfg_put16(vd, off, (uint16_t)v);
    virtio_cfg_put16(vd, off + 2, (uint16_t)(v >> 16));
}
static inline void virtio_cfg_put64(struct virtio_dev *vd, uint32_t off, uint64_t v)
{
    virtio_cfg_put32(vd, off, (uint32_t)v);
    virtio_cfg_put32(vd, off + 4, (uint32_t)(v >> 32));
}

#endif
