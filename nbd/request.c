/* request.c - the transmission phase: parse and check requests in the loop
 * thread, run them in the worker pool (several per connection at once),
 * and queue their replies.
 *
 * Reads ask the block layer for the status of the range first: holes go
 * out as OFFSET_HOLE chunks without being read, and on read-only exports
 * data the page cache already holds is sent straight from a mapping of
 * the image file (blk_map_read): the socket takes references to those
 * pages (zerocopy.c), so the server copies none of it. */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/block.h"
#include "internal.h"
#include "log.h"
#include "trace/nbd.h"

/* SEG_MAPPED: data in a mapping of a read-only image file (stable pages) */
enum { SEG_DATA, SEG_HOLE, SEG_MAPPED };

struct nbd_seg {
    uint64_t off;               /* in the request */
    uint64_t len;
    const void *ptr;            /* DATA: the bytes */
    int kind;
};

struct nbd_extent {
    uint64_t len;
    uint32_t flags;
};

static struct nbd_out *build_reply(struct nbd_req *r, int ret);
static void reply_status(struct nbd_req *r, int err);

/* Zeros for simple replies and DF reads over holes. */
static const uint8_t zero_page[1 << 20];

static int nbd_errno(int r)
{
    switch (-r) {
    case 0: return 0;
    case EROFS: case EPERM: case EACCES: return NBD_EPERM;
    case ENOSPC: case EDQUOT: case EFBIG: return NBD_ENOSPC;
    case EINVAL: return NBD_EINVAL;
    case EOVERFLOW: return NBD_EOVERFLOW;
    case ENOTSUP: return NBD_ENOTSUP;
    case ENOMEM: return NBD_ENOMEM;
    case ESHUTDOWN: case ECANCELED: return NBD_ESHUTDOWN;
    default: return NBD_EIO;
    }
}

static void req_free(struct nbd_req *r)
{
    struct nbd_server *srv = r->c->srv;
    nbd_wpipe_put(srv, r->pipe, false);     /* a payload that never ran */
    nbd_buf_put(srv, r->buf, r->buf_len);
    free(r->segs);
    free(r->ext[0]);
    free(r->ext[1]);
    free(r->hdrs);
    free(r);
}

/* Drop one reference (loop thread).  A request is referenced by its pool
 * job, or by the reply queue once its reply is queued; when the last one
 * goes, the reply is out (or dropped) and the request no longer counts. */
static void req_unref(void *opaque)
{
    struct nbd_req *r = opaque;
    if (--r->refs > 0)
        return;
    struct nbd_conn *c = r->c;
    c->in_flight--;
    c->in_flight_bytes -= r->charge;
    req_free(r);
}

static bool req_buf_alloc(struct nbd_req *r, size_t len)
{
    r->buf = nbd_buf_get(r->c->srv, len);
    r->buf_len = len;
    return r->buf != NULL;
}

/* ---- work in the pool ---- */

static int seg_add(struct nbd_req *r, int kind, uint64_t off, uint64_t len, const void *ptr)
{
    if (r->nsegs > 0) {
        struct nbd_seg *p = &r->segs[r->nsegs - 1];
        if (p->kind == kind && p->off + p->len == off &&
            (kind == SEG_HOLE || (const uint8_t *)p->ptr + p->len == ptr)) {
            p->len += len;
            return 0;
        }
    }
    if (r->nsegs == r->segcap) {
        int cap = r->segcap ? r->segcap * 2 : 8;
        struct nbd_seg *n = realloc(r->segs, sizeof(*n) * (size_t)cap);
        if (!n)
            return -ENOMEM;
        r->segs = n;
        r->segcap = cap;
    }
    r->segs[r->nsegs++] = (struct nbd_seg){ off, len, ptr, kind };
    return 0;
}

/* Data that reads as zeros (written zeros the image stores as data) goes
 * out as holes too: the scan stops at the first non-zero word, so it is
 * cheap on real data, and it saves the client receiving the zeros. */
#define NBD_ZERO_SCAN 65536

static int sparsify(struct nbd_req *r)
{
    bool any = false;
    for (int i = 0; i < r->nsegs && !any; i++) {
        struct nbd_seg *sg = &r->segs[i];
        if (sg->kind == SEG_HOLE || sg->len < NBD_ZERO_SCAN)
            continue;
        uint64_t first = ALIGN_UP(r->off + sg->off, NBD_ZERO_SCAN) - (r->off + sg->off);
        for (uint64_t k = first; k + NBD_ZERO_SCAN <= sg->len && !any; k += NBD_ZERO_SCAN)
            any = buf_is_zero((const uint8_t *)sg->ptr + k, NBD_ZERO_SCAN);
    }
    if (!any)
        return 0;
    struct nbd_seg *old = r->segs;
    int n = r->nsegs;
    r->segs = NULL;
    r->nsegs = r->segcap = 0;
    int ret = 0;
    for (int i = 0; i < n && ret == 0; i++) {
        struct nbd_seg *sg = &old[i];
        if (sg->kind == SEG_HOLE) {
            ret = seg_add(r, sg->kind, sg->off, sg->len, sg->ptr);
            continue;
        }
        for (uint64_t k = 0; k < sg->len && ret == 0;) {
            /* blocks aligned to the export, so holes line up with clusters */
            uint64_t end = MIN(ALIGN_DOWN(r->off + sg->off + k, NBD_ZERO_SCAN) + NBD_ZERO_SCAN -
                               (r->off + sg->off), sg->len);
            const uint8_t *p = (const uint8_t *)sg->ptr + k;
            bool zero = end - k == NBD_ZERO_SCAN && buf_is_zero(p, NBD_ZERO_SCAN);
            ret = seg_add(r, zero ? SEG_HOLE : sg->kind, sg->off + k, end - k, zero ? NULL : p);
            k = end;
        }
    }
    free(old);
    return ret;
}

static int work_read(struct nbd_req *r)
{
    struct nbd_export *e = r->e;
    struct blk *bs = e->blk;
    uint64_t base = e->offset + r->off;
    /* Holes may go out as holes only in a fragmented structured reply. */
    bool holes = r->c->structured && !(r->flags & NBD_CMD_FLAG_DF);
    uint64_t pos = 0, rd_start = 0, rd_len = 0;
    while (pos < r->len) {
        uint64_t pnum = 0, map = 0;
        struct blk *file = NULL;
        int depth = 0;
        int st = blk_block_status_above(bs, base + pos, r->len - pos, &pnum, &map, &file,
                                        &depth);
        if (st < 0 || pnum == 0) {
            st = BLK_STATUS_DATA;
            pnum = r->len - pos;
        }
        const void *mapped = NULL;
        bool zero = (st & BLK_STATUS_ZERO) != 0;
        /* mapped (and sent by page reference) where that costs less than
         * the two copies it saves on this machine: blk_map_pays */
        if (!zero && e->read_only && (st & BLK_STATUS_OFFSET) && file &&
            !(st & BLK_STATUS_COMPRESSED) && blk_map_pays(file, map, pnum, 2))
            mapped = blk_map_read(file, map, pnum);
        if (!zero && !mapped) {
            /* read it: batch neighbouring ranges into one call */
            if (rd_len && rd_start + rd_len != pos) {
                int ret = blk_pread(bs, base + rd_start, rd_len, r->buf + rd_start);
                if (ret < 0)
                    return ret;
                rd_len = 0;
            }
            if (!rd_len)
                rd_start = pos;
            rd_len += pnum;
            if (seg_add(r, SEG_DATA, pos, pnum, r->buf + pos) < 0)
                return -ENOMEM;
        } else if (zero && holes) {
            if (seg_add(r, SEG_HOLE, pos, pnum, NULL) < 0)
                return -ENOMEM;
        } else if (zero) {
            for (uint64_t k = 0; k < pnum; k += sizeof(zero_page)) {
                uint64_t n = MIN(pnum - k, (uint64_t)sizeof(zero_page));
                if (seg_add(r, SEG_DATA, pos + k, n, zero_page) < 0)
                    return -ENOMEM;
            }
        } else {
            if (seg_add(r, SEG_MAPPED, pos, pnum, mapped) < 0)
                return -ENOMEM;
        }
        pos += pnum;
    }
    if (rd_len) {
        int ret = blk_pread(bs, base + rd_start, rd_len, r->buf + rd_start);
        if (ret < 0)
            return ret;
    }
    return holes ? sparsify(r) : 0;
}

static int flush_if(struct nbd_req *r, int ret)
{
    if (ret >= 0 && ((r->flags & NBD_CMD_FLAG_FUA) || r->e->writethrough))
        ret = blk_flush(r->e->blk);
    return ret;
}

static int work_write(struct nbd_req *r)
{
    struct nbd_export *e = r->e;
    uint64_t base = e->offset + r->off;
    int ret;
    if (r->pipe) {
        ret = blk_splice_write(e->blk, base, r->len, r->pipe->rd);
        nbd_wpipe_put(e->srv, r->pipe, ret >= 0);
        r->pipe = NULL;
    } else if (e->detect_zeroes != NBD_DETECT_ZEROES_OFF && buf_is_zero(r->buf, r->len)) {
        int zf = e->detect_zeroes == NBD_DETECT_ZEROES_UNMAP && e->discard ?
                 BLK_ZERO_MAY_UNMAP : 0;
        ret = blk_pwrite_zeroes(e->blk, base, r->len, zf);
    } else {
        ret = blk_pwrite(e->blk, base, r->len, r->buf);
    }
    return flush_if(r, ret);
}

/* Does [off, off+len) of the export read as zeros already?  A hole of a
 * sparse destination, typically: a copy tool zeroes it before writing. */
static bool reads_zero(struct nbd_export *e, uint64_t off, uint64_t len)
{
    for (uint64_t pos = 0; pos < len;) {
        uint64_t pnum = 0, map = 0;
        int depth = 0;
        int st = blk_block_status_above(e->blk, off + pos, len - pos, &pnum, &map, NULL, &depth);
        if (st < 0 || pnum == 0 || !(st & BLK_STATUS_ZERO))
            return false;
        pos += pnum;
    }
    return true;
}

static int work_zeroes(struct nbd_req *r)
{
    struct nbd_export *e = r->e;
    /* Without NO_HOLE the area may stay (or become) a hole: where it reads
     * as zeros already there is nothing to do, and zeroing it would
     * allocate blocks for nothing (fallocate ZERO_RANGE does). */
    if (!(r->flags & NBD_CMD_FLAG_NO_HOLE) && reads_zero(e, e->offset + r->off, r->len))
        return flush_if(r, 0);
    int zf = 0;
    if (!(r->flags & NBD_CMD_FLAG_NO_HOLE) && e->discard)
        zf |= BLK_ZERO_MAY_UNMAP;
    if (r->flags & NBD_CMD_FLAG_FAST_ZERO)
        zf |= BLK_ZERO_NO_FALLBACK;
    return flush_if(r, blk_pwrite_zeroes(e->blk, e->offset + r->off, r->len, zf));
}

static int work_trim(struct nbd_req *r)
{
    if (!r->e->discard)
        return 0;       /* TRIM is advice; --discard=ignore */
    int ret = blk_pdiscard(r->e->blk, r->e->offset + r->off, r->len);
    if (ret == -ENOTSUP)
        ret = 0;
    return flush_if(r, ret);
}

/* Prefetch: pull the range into the page cache or the format's caches. */
static int work_cache(struct nbd_req *r)
{
    struct nbd_export *e = r->e;
    uint64_t base = e->offset + r->off;
    for (uint64_t pos = 0; pos < r->len;) {
        uint64_t pnum = 0, map = 0;
        struct blk *file = NULL;
        int depth = 0;
        int st = blk_block_status_above(e->blk, base + pos, r->len - pos, &pnum, &map, &file,
                                        &depth);
        if (st < 0)
            return st;
        if (!(st & BLK_STATUS_ZERO)) {
            uint64_t n = MIN(pnum, (uint64_t)r->buf_len);
            if (!(e->read_only && (st & BLK_STATUS_OFFSET) && file &&
                  blk_map_read(file, map, n))) {
                int ret = blk_pread(e->blk, base + pos, n, r->buf);
                if (ret < 0)
                    return ret;
            }
            pnum = n;
        }
        pos += pnum;
    }
    return 0;
}

static int ext_add(struct nbd_req *r, int k, uint64_t len, uint32_t flags, int *cap)
{
    if (r->next[k] > 0 && r->ext[k][r->next[k] - 1].flags == flags) {
        r->ext[k][r->next[k] - 1].len += len;
        return 0;
    }
    if (r->next[k] == *cap) {
        int ncap = *cap ? *cap * 2 : 16;
        struct nbd_extent *n = realloc(r->ext[k], sizeof(*n) * (size_t)ncap);
        if (!n)
            return -ENOMEM;
        r->ext[k] = n;
        *cap = ncap;
    }
    r->ext[k][r->next[k]++] = (struct nbd_extent){ len, flags };
    return 0;
}

/* Extents of one context; at most this many per reply. */
#define NBD_MAX_EXTENTS 65536

static int work_block_status(struct nbd_req *r)
{
    struct nbd_export *e = r->e;
    uint64_t base = e->offset + r->off;
    /* 32-bit descriptors cannot describe more than this at once */
    uint64_t limit = r->c->extended ? r->len : MIN(r->len, (uint64_t)UINT32_MAX & ~4095ull);
    bool one = r->flags & NBD_CMD_FLAG_REQ_ONE;
    for (int k = 0; k < 2; k++) {
        if (!(k == 0 ? r->c->meta_base : r->c->meta_depth))
            continue;
        int cap = 0;
        for (uint64_t pos = 0; pos < limit;) {
            uint64_t pnum = 0, map = 0;
            int depth = 0;
            int st = blk_block_status_above(e->blk, base + pos, limit - pos, &pnum, &map, NULL,
                                            &depth);
            if (st < 0)
                return st;
            uint32_t f;
            if (k == 0)
                f = (st & BLK_STATUS_DATA ? 0 : NBD_STATE_HOLE) |
                    (st & BLK_STATUS_ZERO ? NBD_STATE_ZERO : 0);
            else
                f = st & BLK_STATUS_ALLOCATED ? (uint32_t)depth + 1 : 0;
            bool merged = r->next[k] > 0 && r->ext[k][r->next[k] - 1].flags == f;
            if (one && r->next[k] > 0 && !merged)
                break;
            if (!merged && r->next[k] >= NBD_MAX_EXTENTS)
                break;
            if (ext_add(r, k, pnum, f, &cap) < 0)
                return -ENOMEM;
            pos += pnum;
        }
    }
    return 0;
}

int nbd_req_run(struct nbd_req *r)
{
    switch (r->type) {
    case NBD_CMD_READ:
        return work_read(r);
    case NBD_CMD_WRITE:
        return work_write(r);
    case NBD_CMD_FLUSH:
        return r->e->no_flush ? 0 : blk_flush(r->e->blk);
    case NBD_CMD_TRIM:
        return work_trim(r);
    case NBD_CMD_CACHE:
        return work_cache(r);
    case NBD_CMD_WRITE_ZEROES:
        return work_zeroes(r);
    case NBD_CMD_BLOCK_STATUS:
        return work_block_status(r);
    default:
        return -EINVAL;
    }
}

/* In the worker: do the work, build the reply and, when nothing is
 * queued before it, send it right here (the copy into the socket then
 * runs in parallel with other connections' and with the loop). */
static int req_work(void *opaque)
{
    struct nbd_req *r = opaque;
    r->ret = nbd_req_run(r);
    r->out = build_reply(r, r->ret);
    r->sent = 0;
    if (r->out) {
        r->refs++;          /* for the queue, should the send be partial */
        r->sent = nbd_conn_send_direct(r->c, r->out);
        if (r->sent != 2)
            r->refs--;
    }
    return r->ret;
}

static void req_done(void *opaque, int ret)
{
    struct nbd_req *r = opaque;
    struct nbd_conn *c = r->c;
    struct nbd_out *o = r->out;
    c->jobs--;
    if (ret < 0)
        nbd_log("client %d: command %u at %llu+%llu failed: %s", c->fd, r->type,
                (unsigned long long)r->off, (unsigned long long)r->len, strerror(-ret));
    if (!o) {
        req_unref(r);
        nbd_conn_fail(c);
        return;
    }
    switch (r->sent) {
    case 1:             /* sent whole by the worker */
        free(o);
        req_unref(r);
        break;
    case 2:             /* the rest is queued and holds its own reference */
        req_unref(r);
        break;
    case 0:             /* the queue takes the job's reference */
        nbd_conn_queue(c, o);
        break;
    default:            /* the socket failed */
        free(o);
        req_unref(r);
        nbd_conn_fail(c);
        return;
    }
    if (c->dead)
        nbd_conn_maybe_free(c);
    else
        nbd_conn_update(c);
}

/* ---- serial writes: one drain job per export ---- */

/* In the worker: hand finished R to the loop.  The loop is woken only
 * when it must act: a reply it has to send, or a connection it is not
 * reading (paused for requests in flight, closing, dead).  Otherwise the
 * completion waits for the connection's next input (conn_on_read), which
 * comes soon from a busy client.  A wake-up per write, only to count the
 * write done, took a CPU from the client on small machines (waking an
 * idle CPU is an expensive interrupt in a VM); the in-flight limits still
 * bound what waits. */
static void done_post(struct nbd_server *srv, struct nbd_req *r)
{
    r->qnext = NULL;
    pthread_mutex_lock(&srv->done_lock);
    if (srv->done_tail)
        srv->done_tail->qnext = r;
    else
        __atomic_store_n(&srv->done_head, r, __ATOMIC_RELAXED);  /* conn_on_read peeks */
    srv->done_tail = r;
    bool wake = !srv->done_scheduled &&
                (r->sent != 1 || __atomic_load_n(&r->c->paused, __ATOMIC_RELAXED));
    if (wake)
        srv->done_scheduled = true;
    pthread_mutex_unlock(&srv->done_lock);
    if (wake)
        loop_bh_schedule(srv->done_bh);
}

/* Loop thread, after pausing a connection: completions posted while it
 * was still read wait for input that may not come, so run them soon. */
void nbd_req_done_wake(struct nbd_server *srv)
{
    pthread_mutex_lock(&srv->done_lock);
    bool wake = srv->done_head && !srv->done_scheduled;
    if (wake)
        srv->done_scheduled = true;
    pthread_mutex_unlock(&srv->done_lock);
    if (wake)
        loop_bh_schedule(srv->done_bh);
}

void nbd_req_run_done(void *opaque)
{
    struct nbd_server *srv = opaque;
    pthread_mutex_lock(&srv->done_lock);
    struct nbd_req *list = srv->done_head;
    __atomic_store_n(&srv->done_head, NULL, __ATOMIC_RELAXED);
    srv->done_tail = NULL;
    srv->done_scheduled = false;
    pthread_mutex_unlock(&srv->done_lock);
    while (list) {
        struct nbd_req *r = list;
        list = r->qnext;
        req_done(r, r->ret);
    }
}

/* Writes one drain job runs before it makes way: with more busy exports
 * than workers, jobs that never ended would starve everything else. */
#define NBD_WQ_BATCH 64

/* The drain job: run the export's queued writes one after another, each
 * completing on its own (a batch must not hold back the replies, nor the
 * loop's count of requests in flight).  Returns 1 when it stopped with
 * writes still queued, for wq_ended to queue it again. */
static int wq_work(void *opaque)
{
    struct nbd_export *e = opaque;
    for (unsigned n = 0;; n++) {
        pthread_mutex_lock(&e->wq_lock);
        struct nbd_req *r = e->wq_head;
        if (!r || n == NBD_WQ_BATCH) {
            if (!r)
                e->wq_running = false;
            pthread_mutex_unlock(&e->wq_lock);
            return r ? 1 : 0;
        }
        e->wq_head = r->qnext;
        if (!e->wq_head)
            e->wq_tail = NULL;
        pthread_mutex_unlock(&e->wq_lock);
        req_work(r);
        done_post(e->srv, r);
    }
}

static void wq_ended(void *opaque, int ret);

static void wq_start(struct nbd_export *e)
{
    struct error *err = NULL;
    /* counted until wq_ended: the job touches E until it has returned,
     * after the last completion it posted, so nbd_server_free waits */
    e->srv->wq_jobs++;
    if (pool_submit(e->srv->pool, wq_work, wq_ended, e, &err) < 0) {
        nbd_log("%s", err_msg(err));
        err_free(err);
        wq_ended(e, -EIO);
    }
}

/* After a drain job: queue it again if it made way (RET 1); take the
 * queue back from a job that will not run (RET < 0) and fail what it
 * held. */
static void wq_ended(void *opaque, int ret)
{
    struct nbd_export *e = opaque;
    e->srv->wq_jobs--;
    if (ret == 1) {
        wq_start(e);            /* wq_running stayed set */
        return;
    }
    if (ret >= 0)
        return;
    pthread_mutex_lock(&e->wq_lock);
    struct nbd_req *list = e->wq_head;
    e->wq_head = e->wq_tail = NULL;
    e->wq_running = false;
    pthread_mutex_unlock(&e->wq_lock);
    while (list) {
        struct nbd_req *r = list;
        list = r->qnext;
        r->ret = ret;
        r->out = build_reply(r, ret);
        r->sent = 0;
        req_done(r, ret);
    }
}

static void wq_submit(struct nbd_req *r)
{
    struct nbd_export *e = r->e;
    r->c->jobs++;
    r->qnext = NULL;
    pthread_mutex_lock(&e->wq_lock);
    if (e->wq_tail)
        e->wq_tail->qnext = r;
    else
        e->wq_head = r;
    e->wq_tail = r;
    bool start = !e->wq_running;
    e->wq_running = true;
    pthread_mutex_unlock(&e->wq_lock);
    if (start)
        wq_start(e);
}

static void req_submit(struct nbd_req *r)
{
    struct nbd_conn *c = r->c;
    struct error *err = NULL;
    if (r->type == NBD_CMD_WRITE && r->e->serial_writes) {
        wq_submit(r);
        return;
    }
    c->jobs++;
    if (pool_submit(c->srv->pool, req_work, req_done, r, &err) < 0) {
        c->jobs--;
        nbd_log("%s", err_msg(err));
        err_free(err);
        reply_status(r, NBD_EIO);
    }
}

/* ---- replies ---- */

/* A structured (or extended) chunk header into P; returns its size. */
static size_t chunk_hdr(const struct nbd_req *r, uint8_t *p, uint16_t flags, uint16_t type,
                        uint64_t len)
{
    if (r->c->extended) {
        be32_put(p, NBD_EXT_REPLY_MAGIC);
        be16_put(p + 4, flags);
        be16_put(p + 6, type);
        be64_put(p + 8, r->cookie);
        be64_put(p + 16, r->off);
        be64_put(p + 24, len);
        return 32;
    }
    be32_put(p, NBD_STRUCTURED_REPLY_MAGIC);
    be16_put(p + 4, flags);
    be16_put(p + 6, type);
    be64_put(p + 8, r->cookie);
    be32_put(p + 16, (uint32_t)len);
    return 20;
}

/* The replies are built in the worker (or, for refusals, in the loop);
 * a reply's release drops the request's reference. */

/* An error, or success without data. */
static struct nbd_out *build_status(struct nbd_req *r, int err)
{
    trace_nbd_reply(r->c, r->cookie, (uint32_t)err);
    struct nbd_out *o = nbd_out_new(1);
    if (!o)
        return NULL;
    size_t n;
    if (r->c->extended || (r->c->structured && err &&
                           (r->type == NBD_CMD_READ || r->type == NBD_CMD_BLOCK_STATUS))) {
        if (err) {
            n = chunk_hdr(r, o->hdr, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR, 6);
            be32_put(o->hdr + n, (uint32_t)err);
            be16_put(o->hdr + n + 4, 0);
            n += 6;
        } else {
            n = chunk_hdr(r, o->hdr, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE, 0);
        }
    } else {
        be32_put(o->hdr, NBD_SIMPLE_REPLY_MAGIC);
        be32_put(o->hdr + 4, (uint32_t)err);
        be64_put(o->hdr + 8, r->cookie);
        n = 16;
    }
    o->iov[0] = (struct iovec){ o->hdr, n };
    o->niov = 1;
    return o;
}

/* The bytes of segment SG as the next iovec of O. */
static void add_data(struct nbd_out *o, const struct nbd_seg *sg)
{
    if (sg->kind == SEG_MAPPED) {
        o->zc[o->niov] = 1;
        o->has_zc = true;
    }
    o->iov[o->niov++] = (struct iovec){ (void *)sg->ptr, sg->len };
}

static struct nbd_out *build_read(struct nbd_req *r)
{
    struct nbd_conn *c = r->c;
    trace_nbd_reply(c, r->cookie, 0);
    struct nbd_out *o;
    if (!c->structured) {
        o = nbd_out_new(1 + r->nsegs);
        if (!o)
            return NULL;
        be32_put(o->hdr, NBD_SIMPLE_REPLY_MAGIC);
        be32_put(o->hdr + 4, 0);
        be64_put(o->hdr + 8, r->cookie);
        o->iov[0] = (struct iovec){ o->hdr, 16 };
        o->niov = 1;
        for (int i = 0; i < r->nsegs; i++)
            add_data(o, &r->segs[i]);
        return o;
    }
    /* DF: one content chunk; its pieces are iovecs of one chunk */
    bool df = (r->flags & NBD_CMD_FLAG_DF) != 0;
    int nchunks = df ? 1 : r->nsegs;
    r->hdrs = malloc((size_t)nchunks * 48);
    o = nbd_out_new(2 * r->nsegs + 1);
    if (!r->hdrs || !o) {
        free(o);
        return NULL;
    }
    o->niov = 0;
    if (df) {
        uint8_t *h = r->hdrs;
        size_t n = chunk_hdr(r, h, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_OFFSET_DATA, 8 + r->len);
        be64_put(h + n, r->off);
        o->iov[o->niov++] = (struct iovec){ h, n + 8 };
        for (int i = 0; i < r->nsegs; i++)
            add_data(o, &r->segs[i]);
        return o;
    }
    for (int i = 0; i < r->nsegs; i++) {
        struct nbd_seg *sg = &r->segs[i];
        uint8_t *h = r->hdrs + 48 * i;
        uint16_t fl = i == r->nsegs - 1 ? NBD_REPLY_FLAG_DONE : 0;
        size_t n;
        if (sg->kind == SEG_HOLE) {
            n = chunk_hdr(r, h, fl, NBD_REPLY_TYPE_OFFSET_HOLE, 12);
            be64_put(h + n, r->off + sg->off);
            be32_put(h + n + 8, (uint32_t)sg->len);
            o->iov[o->niov++] = (struct iovec){ h, n + 12 };
        } else {
            n = chunk_hdr(r, h, fl, NBD_REPLY_TYPE_OFFSET_DATA, 8 + sg->len);
            be64_put(h + n, r->off + sg->off);
            o->iov[o->niov++] = (struct iovec){ h, n + 8 };
            add_data(o, sg);
        }
    }
    return o;
}

static struct nbd_out *build_block_status(struct nbd_req *r)
{
    trace_nbd_reply(r->c, r->cookie, 0);
    struct nbd_conn *c = r->c;
    static const uint32_t ids[2] = { NBD_META_ID_BASE_ALLOCATION,
                                     NBD_META_ID_ALLOCATION_DEPTH };
    int last = r->next[1] ? 1 : 0;
    size_t total = 0;
    for (int k = 0; k < 2; k++)
        total += 48 + (size_t)r->next[k] * 16;
    r->hdrs = malloc(total);
    struct nbd_out *o = nbd_out_new(1);
    if (!r->hdrs || !o) {
        free(o);
        return NULL;
    }
    uint8_t *p = r->hdrs;
    for (int k = 0; k < 2; k++) {
        if (!r->next[k])
            continue;
        uint16_t fl = k == last ? NBD_REPLY_FLAG_DONE : 0;
        size_t n;
        if (c->extended) {
            n = chunk_hdr(r, p, fl, NBD_REPLY_TYPE_BLOCK_STATUS_EXT, 8 + 16 * (uint64_t)r->next[k]);
            be32_put(p + n, ids[k]);
            be32_put(p + n + 4, (uint32_t)r->next[k]);
            n += 8;
            for (int i = 0; i < r->next[k]; i++, n += 16) {
                be64_put(p + n, r->ext[k][i].len);
                be64_put(p + n + 8, r->ext[k][i].flags);
            }
        } else {
            n = chunk_hdr(r, p, fl, NBD_REPLY_TYPE_BLOCK_STATUS, 4 + 8 * (uint64_t)r->next[k]);
            be32_put(p + n, ids[k]);
            n += 4;
            for (int i = 0; i < r->next[k]; i++, n += 8) {
                be32_put(p + n, (uint32_t)r->ext[k][i].len);
                be32_put(p + n + 4, r->ext[k][i].flags);
            }
        }
        p += n;
    }
    o->iov[0] = (struct iovec){ r->hdrs, (size_t)(p - r->hdrs) };
    o->niov = 1;
    return o;
}

static struct nbd_out *build_reply(struct nbd_req *r, int ret)
{
    struct nbd_out *o;
    if (ret < 0)
        o = build_status(r, nbd_errno(ret));
    else if (r->type == NBD_CMD_READ)
        o = build_read(r);
    else if (r->type == NBD_CMD_BLOCK_STATUS)
        o = build_block_status(r);
    else
        o = build_status(r, 0);
    if (o) {
        o->release = req_unref;
        o->opaque = r;
    }
    return o;
}

/* A reply from the loop thread (refusals): the queue takes the reference. */
static void reply_status(struct nbd_req *r, int err)
{
    struct nbd_out *o = build_status(r, err);
    if (!o) {
        struct nbd_conn *c = r->c;
        req_unref(r);
        nbd_conn_fail(c);
        return;
    }
    o->release = req_unref;
    o->opaque = r;
    nbd_conn_queue(r->c, o);
}

/* ---- parsing ---- */

/* The command's name in trace events. */
static const char *nbd_cmd_name(uint16_t type)
{
    static const char *const names[] = {
        [NBD_CMD_READ] = "read", [NBD_CMD_WRITE] = "write", [NBD_CMD_DISC] = "disc",
        [NBD_CMD_FLUSH] = "flush", [NBD_CMD_TRIM] = "trim", [NBD_CMD_CACHE] = "cache",
        [NBD_CMD_WRITE_ZEROES] = "write_zeroes", [NBD_CMD_BLOCK_STATUS] = "block_status",
    };
    return type < ARRAY_SIZE(names) && names[type] ? names[type] : "unknown";
}

static void want_header(struct nbd_conn *c)
{
    c->st = NBD_ST_REQ_HDR;
    c->want_buf = c->hdr;
    c->want = c->extended ? 32 : 28;
    c->have = 0;
}

void nbd_req_start(struct nbd_conn *c)
{
    pthread_mutex_lock(&c->send_lock);
    c->direct_ok = !c->tls_active;
    pthread_mutex_unlock(&c->send_lock);
    want_header(c);
}

void nbd_req_free_conn(struct nbd_conn *c)
{
    c->in_pipe = NULL;
    if (c->cur) {
        req_unref(c->cur);
        c->cur = NULL;
    }
}

void nbd_req_want_header(struct nbd_conn *c, const uint8_t *hdr, size_t have)
{
    want_header(c);
    memcpy(c->hdr, hdr, have);
    c->have = have;
    c->exact_hdr = false;
}

int nbd_req_adopt(struct nbd_conn *c, struct nbd_req *r, const uint8_t *part, size_t have)
{
    r->refs = 1;
    c->in_flight++;
    if (!req_buf_alloc(r, r->len)) {
        req_unref(r);
        return -1;
    }
    if (have)
        memcpy(r->buf, part, have);
    r->charge = r->len;
    c->in_flight_bytes += r->charge;
    c->cur = r;
    c->st = NBD_ST_REQ_PAYLOAD;
    c->in_pipe = NULL;
    c->exact_hdr = false;
    c->want_buf = r->buf;
    c->want = r->len;
    c->have = have;
    return 0;
}

struct nbd_out *nbd_req_status_reply(struct nbd_req *r, int ret)
{
    return build_status(r, nbd_errno(ret));
}

int nbd_req_unsplice(struct nbd_conn *c)
{
    struct nbd_req *r = c->cur;
    c->in_pipe = NULL;
    c->unspliced++;
    if (!req_buf_alloc(r, r->len))
        return -1;
    if (nbd_pipe_drain(r->pipe, r->buf, c->have) < 0)
        return -1;
    nbd_wpipe_put(c->srv, r->pipe, true);
    r->pipe = NULL;
    c->want_buf = r->buf;
    return 0;
}

/* The protocol's answer to a request that cannot be run, or 0. */
int nbd_req_check(struct nbd_conn *c, struct nbd_req *r)
{
    struct nbd_export *e = c->exp;
    uint16_t ok = NBD_CMD_FLAG_FUA;
    switch (r->type) {
    case NBD_CMD_READ:
        if (c->structured)
            ok |= NBD_CMD_FLAG_DF;
        break;
    case NBD_CMD_WRITE_ZEROES:
        ok |= NBD_CMD_FLAG_NO_HOLE | NBD_CMD_FLAG_FAST_ZERO;
        break;
    case NBD_CMD_BLOCK_STATUS:
        ok |= NBD_CMD_FLAG_REQ_ONE;
        break;
    case NBD_CMD_WRITE:
    case NBD_CMD_FLUSH:
    case NBD_CMD_TRIM:
    case NBD_CMD_CACHE:
        break;
    default:
        return NBD_EINVAL;
    }
    if (r->flags & ~ok)
        return NBD_EINVAL;
    bool writes = r->type == NBD_CMD_WRITE || r->type == NBD_CMD_TRIM ||
                  r->type == NBD_CMD_WRITE_ZEROES;
    if (r->type == NBD_CMD_FLUSH)
        return 0;
    if (r->len == 0)
        return NBD_EINVAL;
    if (writes && e->read_only)
        return NBD_EPERM;
    if ((r->type == NBD_CMD_READ || r->type == NBD_CMD_WRITE) && r->len > NBD_MAX_BLOCK_SIZE)
        return r->type == NBD_CMD_READ && (r->flags & NBD_CMD_FLAG_DF) ? NBD_EOVERFLOW : NBD_EINVAL;
    if (r->off > e->size || r->len > e->size - r->off)
        return writes ? NBD_ENOSPC : NBD_EINVAL;
    if (r->type == NBD_CMD_BLOCK_STATUS && !c->meta_base && !c->meta_depth)
        return NBD_EINVAL;
    return 0;
}

static void parse_header(struct nbd_conn *c)
{
    const uint8_t *h = c->hdr;
    uint32_t magic = be32_get(h);
    if (magic != (c->extended ? NBD_EXT_REQUEST_MAGIC : NBD_REQUEST_MAGIC)) {
        nbd_log("client %d: bad request magic 0x%08x", c->fd, magic);
        nbd_conn_fail(c);
        return;
    }
    c->exact_hdr = false;
    struct nbd_req *r = calloc(1, sizeof(*r));
    if (!r) {
        nbd_conn_fail(c);
        return;
    }
    r->refs = 1;
    r->c = c;
    r->e = c->exp;
    r->flags = be16_get(h + 4);
    r->type = be16_get(h + 6);
    r->cookie = be64_get(h + 8);
    r->off = be64_get(h + 16);
    r->len = c->extended ? be64_get(h + 24) : be32_get(h + 24);
    trace_nbd_request(c, r->cookie, r->type, nbd_cmd_name(r->type), r->off, r->len, r->flags);
    c->in_flight++;
    if (r->type == NBD_CMD_DISC) {
        nbd_log("client %d: NBD_CMD_DISC", c->fd);
        req_unref(r);
        c->st = NBD_ST_CLOSING;
        return;
    }
    r->err = nbd_req_check(c, r);
    if (r->err)
        nbd_log("client %d: command %u at %llu+%llu refused: error %d", c->fd,
                r->type, (unsigned long long)r->off, (unsigned long long)r->len, r->err);
    if (r->type == NBD_CMD_WRITE && !r->err && c->exp->serial_writes) {
        /* uncounted while a stream has it; counted again if not */
        c->in_flight--;
        if (nbd_stream_start(c, r))
            return;
        c->in_flight++;
    }
    if (r->type == NBD_CMD_WRITE) {
        if (r->len > NBD_MAX_BLOCK_SIZE) {
            /* its payload cannot be held, and skipping it would let a
             * client keep the server busy: hang up */
            req_unref(r);
            nbd_conn_fail(c);
            return;
        }
        c->cur = r;
        if (r->err) {
            c->st = NBD_ST_REQ_SKIP;
            c->skip = r->len;
            return;
        }
        if (r->len >= NBD_SPLICE_MIN && c->exp->splice_in && !c->tls_active) {
            r->pipe = nbd_wpipe_get(c->srv, r->len);
            c->no_pipe += !r->pipe;
        }
        if (!r->pipe && !req_buf_alloc(r, r->len)) {
            c->cur = NULL;
            req_unref(r);
            nbd_conn_fail(c);
            return;
        }
        r->charge = r->len;
        c->in_flight_bytes += r->charge;
        c->st = NBD_ST_REQ_PAYLOAD;
        c->in_pipe = r->pipe;
        c->exact_hdr = r->pipe != NULL;
        c->want_buf = r->buf;
        c->want = r->len;
        c->have = 0;
        return;
    }
    want_header(c);
    if (r->err) {
        reply_status(r, r->err);
        return;
    }
    if (r->type == NBD_CMD_READ || r->type == NBD_CMD_CACHE) {
        size_t n = r->type == NBD_CMD_READ ? r->len : (size_t)MIN(r->len, (uint64_t)1 << 20);
        if (!req_buf_alloc(r, n)) {
            reply_status(r, NBD_ENOMEM);
            return;
        }
        if (r->type == NBD_CMD_READ) {
            r->charge = r->len;
            c->in_flight_bytes += r->charge;
        }
    }
    req_submit(r);
}

void nbd_req_input(struct nbd_conn *c)
{
    switch (c->st) {
    case NBD_ST_REQ_HDR:
        parse_header(c);
        return;
    case NBD_ST_REQ_PAYLOAD: {
        struct nbd_req *r = c->cur;
        c->cur = NULL;
        c->in_pipe = NULL;
        want_header(c);
        req_submit(r);
        return;
    }
    case NBD_ST_REQ_SKIP: {
        struct nbd_req *r = c->cur;
        c->cur = NULL;
        want_header(c);
        reply_status(r, r->err);
        return;
    }
    default:
        return;
    }
}
