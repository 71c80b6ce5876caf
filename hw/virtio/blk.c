/* blk.c - virtio-blk (virtio 1.2, 5.2) on the block layer.
 *
 * Requests run in the worker pool, several at once: the hart that kicks
 * the queue takes the requests off the ring and hands each to the pool as
 * a block-layer job (the loop thread does, in a bottom half, when there is
 * no pool); the worker, after the I/O, writes the status byte, returns
 * the buffers and interrupts the driver under the device lock; the loop
 * thread frees the request.  No hart and no loop callback ever waits for
 * the disk, and a request costs two thread wake-ups (worker, hart).
 *
 * Guest data moves straight between the image and guest RAM: the
 * request's iovecs point into RAM (checked by the virtqueue code).  Data
 * read into a page that holds translated code drops those translations
 * before the guest hears of the completion (mem_dma_written).
 *
 * Bad requests (a short header, a data length that is not whole sectors,
 * sectors past the end) complete with VIRTIO_BLK_S_IOERR, unknown types
 * with VIRTIO_BLK_S_UNSUPP, as the specification asks; only a request
 * with no room for a status byte breaks the device.
 */
#include <config.h>
#include <errno.h>
#include <string.h>
#include "hw/virtio/virtio.h"
#include "hw/virtio/models.h"
#include "hw/drive.h"
#include "hw/hw.h"
#include "block/block.h"
#include "i18n.h"
#include "keyval.h"
#include "log.h"
#include "loop.h"

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_CONFIG_WCE 11
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Config layout (5.2.4). */
#define CFG_CAPACITY 0
#define CFG_SEG_MAX 12
#define CFG_BLK_SIZE 20
#define CFG_WRITEBACK 32
#define CFG_NUM_QUEUES 34
#define CFG_MAX_DISCARD_SECTORS 36
#define CFG_MAX_DISCARD_SEG 40
#define CFG_DISCARD_ALIGN 44
#define CFG_MAX_WZ_SECTORS 48
#define CFG_MAX_WZ_SEG 52
#define CFG_WZ_MAY_UNMAP 56
#define CFG_LEN 60

/* Request types and status (5.2.6). */
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define T_DISCARD 11
#define T_WRITE_ZEROES 13
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2

#define SECTOR 512
#define QUEUE_SIZE 256
#define ID_BYTES 20
#define MAX_SEGS 1             /* discard/write-zeroes ranges per request */
#define MAX_RANGE_SECTORS (UINT32_MAX / SECTOR)

struct virtio_blk {
    struct virtio_dev vd;
    struct drive *drive;
    struct blk *bs;
    struct loop_bh *bh;
    struct pool *pool;
    uint64_t sectors;
    char serial[ID_BYTES];
    unsigned in_flight;
};

struct blk_req {
    struct virtio_blk *b;
    struct virtq_elem e;
    uint32_t generation;
    uint32_t type;
    uint64_t off, len;          /* bytes */
    struct iovec *data;         /* the data buffers (header and status cut off) */
    int n_data;
    bool unmap;
    bool write_through;
    uint8_t *status;
    uint8_t result;
    uint32_t written;           /* bytes of in-buffers filled (status included) */
};

static void req_free(struct blk_req *r)
{
    virtq_elem_free(&r->e);
    free(r->data);
    free(r);
}

/* Give the request back to the driver (device lock held). */
static void req_give_back(struct blk_req *r)
{
    struct virtio_blk *b = r->b;
    struct virtq *vq = &b->vd.vq[0];
    if (r->generation == b->vd.generation)
        *r->status = r->result;     /* (after a reset the buffer is not ours) */
    virtq_push(vq, &r->e, r->written, r->generation);
    virtq_notify(vq);
}

/* ... and free it: a request that never went to the pool. */
static void req_complete(struct blk_req *r)
{
    req_give_back(r);
    req_free(r);
}

static int req_io(struct blk *bs, struct blk_req *r)
{
    int ret;
    switch (r->type) {
    case T_IN:
        return blk_preadv(bs, r->off, r->len, r->data, r->n_data);
    case T_OUT:
        ret = blk_pwritev(bs, r->off, r->len, r->data, r->n_data);
        if (ret >= 0 && r->write_through)
            ret = blk_flush(bs);
        return ret;
    case T_FLUSH:
        return blk_flush(bs);
    case T_DISCARD:
        return blk_pdiscard(bs, r->off, r->len);
    case T_WRITE_ZEROES:
        ret = blk_pwrite_zeroes(bs, r->off, r->len, r->unmap ? BLK_ZERO_MAY_UNMAP : 0);
        if (ret >= 0 && r->write_through)
            ret = blk_flush(bs);
        return ret;
    }
    return -EINVAL;
}

/* Count the request in the drive's statistics (any thread). */
static void account(struct virtio_blk *b, const struct blk_req *r, uint64_t ns, int ret)
{
    enum drive_acct kind;
    switch (r->type) {
    case T_IN: kind = DRIVE_RD; break;
    case T_OUT: case T_WRITE_ZEROES: kind = DRIVE_WR; break;
    case T_FLUSH: kind = DRIVE_FLUSH; break;
    case T_DISCARD: kind = DRIVE_UNMAP; break;
    default: return;
    }
    drive_account(b->drive, kind, r->off, r->type == T_FLUSH ? 0 : r->len, ns, ret);
}

/* Worker thread: the block-layer call for one request, then the request
 * goes back to the driver right here, under the device lock: through the
 * loop thread it would wait for one more thread wake-up (tens of
 * microseconds in a VM, a fifth of a 1 MiB read's time).  req_done, in
 * the loop thread, only frees it. */
static int req_work(struct blk *bs, void *arg)
{
    struct blk_req *r = arg;
    struct virtio_blk *b = r->b;
    uint64_t t0 = loop_now_ns();
    int ret = req_io(bs, r);
    account(b, r, loop_now_ns() - t0, ret);
    if (ret < 0) {
        if (log_on(LOG_GUEST_ERROR))
            log_msg(LOG_GUEST_ERROR, "%s: request type %u at %" PRIu64 "+%" PRIu64 ": %s",
                    b->vd.ops->name, r->type, r->off, r->len, strerror(-ret));
        r->result = S_IOERR;
    } else if (r->type == T_IN) {
        /* the image's bytes are in guest RAM now: code there is stale */
        unsigned k = r->e.n_out;
        for (unsigned i = 0; i < r->e.n_in; i++)
            mem_dma_written(b->vd.mem, r->e.pa[k + i], r->e.iov[k + i].iov_len);
        r->written = (uint32_t)r->len;
    }
    r->written++;               /* the status byte */
    bool mine = hw_lock_held();     /* (a block layer without a pool runs us in place) */
    if (!mine)
        hw_lock();
    req_give_back(r);
    if (!mine)
        hw_unlock();
    return ret;
}

/* Loop thread: the worker finished (and gave the request back). */
static void req_done(void *opaque, int ret)
{
    struct blk_req *r = opaque;
    struct virtio_blk *b = r->b;
    (void)ret;
    bool mine = hw_lock_held();
    if (!mine)
        hw_lock();
    b->in_flight--;
    if (!mine)
        hw_unlock();
    req_free(r);
}

/* Check [sector, + len) against the disk; false: IOERR. */
static bool in_range(struct virtio_blk *b, uint64_t sector, uint64_t len)
{
    return sector <= b->sectors && len / SECTOR <= b->sectors - sector && len % SECTOR == 0;
}

/* The data buffers of E from byte SKIP of its out (or in) side, LEN bytes. */
static bool slice(struct blk_req *r, bool in, uint64_t skip, uint64_t len)
{
    struct virtq_elem *e = &r->e;
    const struct iovec *iov = in ? e->iov + e->n_out : e->iov;
    int n = (int)(in ? e->n_in : e->n_out);
    r->data = calloc((size_t)n + 1, sizeof(*r->data));
    if (!r->data)
        return false;
    r->n_data = len ? iov_slice(iov, n, skip, len, r->data, n + 1) : 0;
    return r->n_data >= 0;
}

/* Discard and write-zeroes: one range (MAX_SEGS), from the out data. */
static uint8_t parse_range(struct virtio_blk *b, struct blk_req *r)
{
    uint8_t seg[16];
    if (r->e.out_len - 16 != sizeof(seg) * MAX_SEGS ||
        iov_to_buf(r->e.iov, (int)r->e.n_out, 16, seg, sizeof(seg)) != sizeof(seg))
        return S_UNSUPP;
    uint64_t sector = 0;
    uint32_t n = 0, flags = 0;
    for (int i = 7; i >= 0; i--)
        sector = sector << 8 | seg[i];
    for (int i = 3; i >= 0; i--) {
        n = n << 8 | seg[8 + i];
        flags = flags << 8 | seg[12 + i];
    }
    if (flags & ~1u || (r->type == T_DISCARD && flags))
        return S_UNSUPP;
    if (n > MAX_RANGE_SECTORS || !in_range(b, sector, (uint64_t)n * SECTOR))
        return S_IOERR;
    r->off = sector * SECTOR;
    r->len = (uint64_t)n * SECTOR;
    r->unmap = flags & 1;
    return S_OK;
}

/* Take one request apart; S_OK: it goes to the pool. */
static uint8_t req_parse(struct virtio_blk *b, struct blk_req *r)
{
    struct virtq_elem *e = &r->e;
    uint8_t hdr[16];
    if (iov_to_buf(e->iov, (int)e->n_out, 0, hdr, sizeof(hdr)) != sizeof(hdr))
        return S_IOERR;
    r->type = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
              (uint32_t)hdr[3] << 24;
    uint64_t sector = 0;
    for (int i = 15; i >= 8; i--)
        sector = sector << 8 | hdr[i];
    uint64_t in_data = e->in_len - 1, out_data = e->out_len - 16;
    switch (r->type) {
    case T_IN:
        if (!in_range(b, sector, in_data))
            return S_IOERR;
        r->off = sector * SECTOR;
        r->len = in_data;
        return slice(r, true, 0, in_data) ? S_OK : S_IOERR;
    case T_OUT:
        if (b->drive->readonly || !in_range(b, sector, out_data))
            return S_IOERR;
        r->off = sector * SECTOR;
        r->len = out_data;
        r->write_through = !b->vd.config[CFG_WRITEBACK];
        return slice(r, false, 16, out_data) ? S_OK : S_IOERR;
    case T_FLUSH:
    case T_GET_ID:
        return S_OK;
    case T_DISCARD:
    case T_WRITE_ZEROES:
        if (b->drive->readonly)
            return S_IOERR;
        uint8_t s = parse_range(b, r);
        if (s == S_OK && r->type == T_DISCARD && !b->drive->discard)
            r->len = 0;         /* discard=ignore: done, nothing dropped */
        r->unmap = r->unmap && b->drive->discard;
        r->write_through = !b->vd.config[CFG_WRITEBACK];
        return s;
    default:
        return S_UNSUPP;
    }
}

/* Take every available request (device lock held). */
static void blk_take(struct virtio_blk *b)
{
    struct virtq *vq = &b->vd.vq[0];
    for (;;) {
        struct blk_req *r = calloc(1, sizeof(*r));
        if (!r)
            break;              /* retried at the next notification */
        if (virtq_pop(vq, &r->e) != 1) {
            virtq_elem_free(&r->e);     /* a refused chain may have left arrays */
            free(r);
            break;
        }
        r->b = b;
        r->generation = b->vd.generation;
        /* The status byte is the last byte the driver lets us write. */
        if (r->e.in_len < 1 || r->e.n_in == 0) {
            virtio_error(&b->vd, "request without room for a status byte");
            req_free(r);
            break;
        }
        struct iovec *last = &r->e.iov[r->e.n_out + r->e.n_in - 1];
        r->status = (uint8_t *)last->iov_base + last->iov_len - 1;
        r->result = r->e.out_len < 16 ? S_IOERR : req_parse(b, r);
        if (r->result == S_OK && r->type == T_GET_ID) {
            size_t n = MIN(r->e.in_len - 1, (uint64_t)ID_BYTES);
            iov_from_buf(r->e.iov + r->e.n_out, (int)r->e.n_in, 0, b->serial, n);
            r->written = (uint32_t)n + 1;
            req_complete(r);
            continue;
        }
        if (r->result != S_OK || (r->len == 0 && r->type != T_FLUSH)) {
            if (r->result != S_OK)
                account(b, r, 0, DRIVE_INVALID);
            r->written = 1;
            req_complete(r);
            continue;
        }
        struct error *err = NULL;
        if (blk_aio_job(b->bs, req_work, r, req_done, r, &err) < 0) {
            err_free(err);
            r->result = S_IOERR;
            r->written = 1;
            req_complete(r);
            continue;
        }
        b->in_flight++;
    }
}

/* Loop thread (bottom half). */
static void blk_process(void *opaque)
{
    hw_lock();
    blk_take(opaque);
    hw_unlock();
}

/* The driver kicked the queue.  With a worker pool the requests are taken
 * right away by the notifying hart: that only parses descriptors and
 * queues jobs (it never waits for I/O), and going through the loop thread
 * would add a thread wake-up to every request.  Without one the block
 * layer would do the I/O in place: the loop's bottom half then. */
static void blk_queue_notify(struct virtio_dev *vd, int q)
{
    struct virtio_blk *b = vd->opaque;
    (void)q;
    if (b->pool && hw_lock_held())
        blk_take(b);
    else
        loop_bh_schedule(b->bh);
}

static bool blk_config_write(struct virtio_dev *vd, uint32_t off, unsigned size, uint64_t val)
{
    /* only the write-cache byte is writable, and only when negotiated */
    if (!virtio_has_feature(vd, VIRTIO_BLK_F_CONFIG_WCE) || off != CFG_WRITEBACK || size != 1)
        return false;
    vd->config[CFG_WRITEBACK] = (val & 0xff) != 0;
    return true;
}

static void blk_reset(struct virtio_dev *vd)
{
    struct virtio_blk *b = vd->opaque;
    vd->config[CFG_WRITEBACK] = b->drive->writeback;
}

static void blk_free(struct virtio_dev *vd)
{
    struct virtio_blk *b = vd->opaque;
    /* requests in flight point at b: let them finish first */
    if (b->in_flight)
        pool_drain(b->pool, NULL);
    loop_bh_free(b->bh);
    virtio_dev_cleanup(&b->vd);
    free(b);
}

static const struct virtio_dev_ops blk_ops = {
    .name = "virtio-blk-device",
    .device_id = VIRTIO_ID_BLOCK,
    .queue_notify = blk_queue_notify,
    .config_write = blk_config_write,
    .reset = blk_reset,
    .free = blk_free,
};

static int vblk_create(struct virtio_dev **out, struct kv *props, const struct vdev_env *env,
                      struct error **errp)
{
    const char *id = kv_get(props, "drive");
    const char *serial = kv_get(props, "serial");
    bool ro = false;
    int r = kv_get_bool(props, "read-only", false, &ro, errp);
    if (r < 0)
        return r;
    /* qemu's tuning knobs: accepted, the defaults are what we do */
    (void)kv_get(props, "num-queues");
    (void)kv_get(props, "queue-size");
    (void)kv_get(props, "iothread");
    (void)kv_get(props, "bootindex");
    (void)kv_get(props, "id");
    if ((r = kv_check_used(props, errp)) < 0)
        return r;
    if (!id)
        return err_set(errp, EINVAL, _("drive property not set"));
    struct drive *d = drive_find(env->drives, id);
    if (!d || d->is_protocol)
        return err_set(errp, ENOENT, _("Property 'virtio-blk-device.drive' can't find value '%s'"),
                       id);
    if (d->taken)
        return err_set(errp, EBUSY, _("drive '%s' is already in use by another device"), id);
    struct virtio_blk *b = calloc(1, sizeof(*b));
    if (!b)
        return err_set(errp, ENOMEM, _("out of memory"));
    d->readonly = d->readonly || ro;
    uint64_t f = UINT64_C(1) << VIRTIO_BLK_F_SEG_MAX | UINT64_C(1) << VIRTIO_BLK_F_BLK_SIZE |
                 UINT64_C(1) << VIRTIO_BLK_F_FLUSH | UINT64_C(1) << VIRTIO_BLK_F_CONFIG_WCE |
                 UINT64_C(1) << VIRTIO_BLK_F_DISCARD | UINT64_C(1) << VIRTIO_BLK_F_WRITE_ZEROES;
    if (d->readonly)
        f |= UINT64_C(1) << VIRTIO_BLK_F_RO;
    r = virtio_dev_init(&b->vd, &blk_ops, b, env->mem, f, CFG_LEN, 1, QUEUE_SIZE, errp);
    if (r < 0 || !(b->bh = loop_bh_new(env->loop, blk_process, b, errp))) {
        virtio_dev_cleanup(&b->vd);
        free(b);
        return r < 0 ? r : -ENOMEM;
    }
    b->drive = d;
    b->bs = d->bs;
    b->pool = env->pool;
    blk_set_pool(b->bs, env->pool);
    b->sectors = b->bs->size / SECTOR;
    const char *s = serial ? serial : d->serial;
    if (s)      /* 5.2.6: NUL-padded, not NUL-terminated when 20 bytes long */
        memcpy(b->serial, s, strnlen(s, ID_BYTES));
    virtio_cfg_put64(&b->vd, CFG_CAPACITY, b->sectors);
    virtio_cfg_put32(&b->vd, CFG_SEG_MAX, QUEUE_SIZE - 2);
    virtio_cfg_put32(&b->vd, CFG_BLK_SIZE, SECTOR);
    b->vd.config[CFG_WRITEBACK] = d->writeback;
    virtio_cfg_put16(&b->vd, CFG_NUM_QUEUES, 1);
    virtio_cfg_put32(&b->vd, CFG_MAX_DISCARD_SECTORS, MAX_RANGE_SECTORS);
    virtio_cfg_put32(&b->vd, CFG_MAX_DISCARD_SEG, MAX_SEGS);
    virtio_cfg_put32(&b->vd, CFG_DISCARD_ALIGN, 1);
    virtio_cfg_put32(&b->vd, CFG_MAX_WZ_SECTORS, MAX_RANGE_SECTORS);
    virtio_cfg_put32(&b->vd, CFG_MAX_WZ_SEG, MAX_SEGS);
    b->vd.config[CFG_WZ_MAY_UNMAP] = 1;
    d->taken = true;
    *out = &b->vd;
    return 0;
}

const struct vdev_model virtio_blk_model = {
    .name = "virtio-blk-device",
    .desc = "virtio block device",
    .create = vblk_create,
};
