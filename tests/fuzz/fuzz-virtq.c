/* fuzz-virtq.c - fuzz target for split virtqueues (hw/virtio/virtqueue.c)
 * and the feature and status handling of hw/virtio/virtio.c.
 *
 * The guest is hostile: whatever the rings hold, virtq_pop must only give
 * buffers inside guest RAM, end, and on a malformed chain set
 * DEVICE_NEEDS_RESET.  The input is a 32-byte header, as a driver would
 * program the transport, then the image of guest RAM (RAM_SIZE bytes at
 * RAM_BASE, the rest zero):
 *
 *   0      bits 0-3: log2 of the queue size; bit 7: take bytes 2-3 instead
 *   1      features: bit 0 INDIRECT_DESC, bit 1 EVENT_IDX, bit 2 leave out
 *          VERSION_1, bit 3 ask for a bit never offered (both are refused)
 *   2-3    raw queue size (LE), with byte 0 bit 7
 *   4-15   descriptor table, available ring and used ring addresses, as
 *          signed 32-bit LE offsets from RAM_BASE
 *   16     notifications: 1 + (value % 4)
 *   17     bit 0: push one byte more than the request offered (clamped);
 *          bit 1: fill the writable buffers (they may overlap the rings);
 *          bit 2: reset after the second notification, set up again, and
 *          push a request from before the reset (dropped);
 *          bit 3: make the queue not ready and ready again in between
 *   18-25  before notification 1, 2, 3: add this (LE16) to the available
 *          index, as the driver adding entries
 *
 * The device model pops everything and pushes it back.  Checked: every
 * popped buffer lies inside RAM and its guest address matches; lengths add
 * up; chains are at most queue size + VIRTQ_MAX_INDIRECT buffers; pop
 * returns 0 only for an empty or dead queue; a dead queue has NEEDS_RESET;
 * work per input is bounded.
 *
 * In `make check` it is linked with fuzz-replay.c (tests/shell/virtq-fuzz.sh,
 * seeds in tests/fuzz/corpus-virtq); tests/fuzz/build-libfuzzer.sh builds it
 * for libFuzzer. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hw/mem.h"
#include "hw/virtio/virtio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_BASE UINT64_C(0x80000000)
#define RAM_SIZE 0x10000
#define QUEUE_MAX 256
#define HDR 32

static struct mem_map mem;
static uint8_t *ram;
static unsigned irqs;
static uint8_t flags17;
static unsigned pops;           /* in this input */

static void die(const char *why)
{
    fprintf(stderr, "fuzz-virtq: %s\n", why);
    abort();
}

static uint32_t le(const uint8_t *p, int n)
{
    uint32_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint16_t avail_idx(const struct virtq *vq)
{
    uint8_t b[2];
    if (mem_read(&mem, vq->avail_pa + 2, b, 2) < 0)
        die("available ring of a ready queue not in RAM");
    return (uint16_t)le(b, 2);
}

/* A buffer of a request: inside RAM, at the address the descriptor gave. */
static void check_elem(const struct virtq *vq, const struct virtq_elem *e)
{
    uint64_t out = 0, in = 0;
    if (e->n_out + e->n_in > (unsigned)vq->num + VIRTQ_MAX_INDIRECT)
        die("chain longer than the queue and an indirect table");
    if (e->head >= vq->num)
        die("head out of range");
    for (unsigned i = 0; i < e->n_out + e->n_in; i++) {
        const uint8_t *b = e->iov[i].iov_base;
        size_t len = e->iov[i].iov_len;
        if (b < ram || b > ram + RAM_SIZE || len > (size_t)(ram + RAM_SIZE - b) || len == 0)
            die("buffer outside RAM");
        if (e->pa[i] - RAM_BASE != (uint64_t)(b - ram))
            die("buffer's host address does not match its guest address");
        if (i < e->n_out)
            out += len;
        else
            in += len;
    }
    if (out != e->out_len || in != e->in_len)
        die("lengths do not add up");
}

static void model_notify(struct virtio_dev *vd, int q)
{
    struct virtq *vq = &vd->vq[q];
    struct virtq_elem e = { 0 };
    unsigned n = 0;
    int r;
    while ((r = virtq_pop(vq, &e)) == 1) {
        check_elem(vq, &e);
        /* The guest may lay the used ring or our writes over the
         * available index and so feed us more, but the values we write
         * repeat, so the index runs out within one lap of 2^16. */
        if (++n > 65536 + QUEUE_MAX)
            die("a notification that never ends");
        if (flags17 & 2)
            for (unsigned i = e.n_out; i < e.n_out + e.n_in; i++)
                memset(e.iov[i].iov_base, 0x5a, e.iov[i].iov_len);
        uint16_t before = vq->used_idx;
        virtq_push(vq, &e, (uint32_t)e.in_len + (flags17 & 1), vd->generation);
        if (vq->used_idx != (uint16_t)(before + 1))
            die("a request was not pushed");
        virtq_notify(vq);
    }
    if (r != 0)
        die("virtq_pop returned neither 0 nor 1");
    pops += n;
    /* 0: the queue is empty, or the device is dead */
    if (!vd->broken && virtio_running(vd) && vq->ready && avail_idx(vq) != vq->last_avail)
        die("pop gave up on a live queue with entries");
    if (vd->broken && !(vd->status & VIRTIO_STATUS_NEEDS_RESET))
        die("broken without NEEDS_RESET");
    virtq_elem_free(&e);
}

static void update_irq(void *opaque, struct virtio_dev *vd)
{
    (void)opaque;
    (void)vd;
    irqs++;
}

static const struct virtio_dev_ops model_ops = {
    .name = "fuzz-virtq",
    .device_id = VIRTIO_ID_RNG,
    .queue_notify = model_notify,
};

static const struct virtio_transport transport = { .update_irq = update_irq };

/* What a driver does through the transport: status, features, queue. */
static void driver_setup(struct virtio_dev *vd, const uint8_t *h)
{
    virtio_set_status(vd, 0);
    virtio_set_status(vd, VIRTIO_STATUS_ACKNOWLEDGE);
    virtio_set_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    uint64_t f = 0;
    if (h[1] & 1)
        f |= UINT64_C(1) << VIRTIO_F_INDIRECT_DESC;
    if (h[1] & 2)
        f |= UINT64_C(1) << VIRTIO_F_EVENT_IDX;
    if (!(h[1] & 4))
        f |= UINT64_C(1) << VIRTIO_F_VERSION_1;
    if (h[1] & 8)
        f |= UINT64_C(1) << 40;
    vd->driver_features = f;
    uint8_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
    virtio_set_status(vd, st);
    bool ok = !(h[1] & 12);
    if (!!(vd->status & VIRTIO_STATUS_FEATURES_OK) != ok)
        die("FEATURES_OK does not match the features asked for");
    if (ok && vd->guest_features != f)
        die("guest features");

    struct virtq *vq = &vd->vq[0];
    vq->num = h[0] & 0x80 ? (uint16_t)le(h + 2, 2) : (uint16_t)(1u << (h[0] & 15));
    vq->desc_pa = RAM_BASE + (uint64_t)(int64_t)(int32_t)le(h + 4, 4);
    vq->avail_pa = RAM_BASE + (uint64_t)(int64_t)(int32_t)le(h + 8, 4);
    vq->used_pa = RAM_BASE + (uint64_t)(int64_t)(int32_t)le(h + 12, 4);
    virtq_set_ready(vd, 0, true);
    if (vq->ready && (!IS_POW2(vq->num) || vq->num > vq->num_max ||
                      !mem_ram_ptr(&mem, vq->desc_pa, 16u * vq->num, false)))
        die("a bad queue was made ready");
    if (!vq->ready && !vd->broken)
        die("a queue refused without NEEDS_RESET");
    virtio_set_status(vd, st | VIRTIO_STATUS_DRIVER_OK);
    if (!!(vd->status & VIRTIO_STATUS_DRIVER_OK) != ok)
        die("DRIVER_OK without FEATURES_OK");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ram) {
        if (mem_add_ram(&mem, "ram", RAM_BASE, RAM_SIZE, false, NULL) < 0)
            abort();
        ram = mem_ram_ptr(&mem, RAM_BASE, RAM_SIZE, false);
    }
    uint8_t h[HDR] = { 0 };
    memcpy(h, data, MIN(size, (size_t)HDR));
    memset(ram, 0, RAM_SIZE);
    if (size > HDR)
        memcpy(ram, data + HDR, MIN(size - HDR, (size_t)RAM_SIZE));
    flags17 = h[17];
    pops = 0;
    irqs = 0;

    struct virtio_dev vd;
    if (virtio_dev_init(&vd, &model_ops, NULL, &mem, 0, 8, 1, QUEUE_MAX, NULL) < 0)
        abort();
    virtio_dev_set_transport(&vd, &transport, NULL);
    driver_setup(&vd, h);

    struct virtq *vq = &vd.vq[0];
    int notifies = 1 + h[16] % 4;
    for (int i = 0; i < notifies; i++) {
        if (i > 0 && vq->ready) {
            /* the driver adds entries (the index may lie) */
            uint16_t idx = (uint16_t)(avail_idx(vq) + le(h + 18 + 2 * (i - 1), 2));
            uint8_t b[2] = { (uint8_t)idx, (uint8_t)(idx >> 8) };
            mem_write(&mem, vq->avail_pa + 2, b, 2);
        }
        if (i == 1 && (flags17 & 8) && vq->ready) {
            virtq_set_ready(&vd, 0, false);
            virtq_set_ready(&vd, 0, true);
        }
        if (i == 2 && (flags17 & 4)) {
            /* a request popped before a reset completes after it */
            struct virtq_elem e = { 0 };
            uint32_t gen = vd.generation;
            int got = virtq_pop(vq, &e);
            if (got)
                check_elem(vq, &e);
            driver_setup(&vd, h);
            if (got) {
                uint16_t before = vq->used_idx;
                virtq_push(vq, &e, 0, gen);
                if (vq->used_idx != before)
                    die("a request from before the reset was pushed");
            }
            virtq_elem_free(&e);
        }
        virtio_queue_notify(&vd, 0);
        virtio_queue_notify(&vd, 1);    /* no such queue: ignored */
    }
    if (getenv("FUZZ_VIRTQ_TRACE"))
        fprintf(stderr, "fuzz-virtq: %u requests, %u interrupt updates, status 0x%x\n", pops,
                irqs, vd.status);
    virtio_dev_cleanup(&vd);
    return 0;
}
