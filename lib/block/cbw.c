/* cbw.c - point-in-time views by copy-before-write (see cbw.h for the
 * design and its lock). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "block.h"
#include "cbw.h"
#include "i18n.h"
#include "msg.h"

/* Bytes per bitmap bit: small enough that a guest's 4 KiB write copies
 * little, large enough that copies are few.  Huge disks get larger
 * clusters so that the bitmap stays under 16 MiB. */
#define CBW_CLUSTER (64 * 1024)
#define CBW_MAX_BITS (1ull << 27)
/* One copy reads at most this much (a run of unpreserved clusters). */
#define CBW_COPY_MAX (1024 * 1024)

struct cbw {
    struct blk *src;            /* the node being written (not ours) */
    struct blk_write_hook hook;
    pthread_mutex_t lock;       /* everything below; see cbw.h */
    int store;                  /* unlinked sparse file, offsets = SRC's */
    uint64_t size;              /* SRC's size at the moment */
    uint64_t cluster;           /* a power of two */
    uint64_t nclusters;
    uint64_t *bitmap;           /* 1: preserved (store holds it) */
    uint64_t preserved;
    void *buf;                  /* copy buffer, copy_max bytes */
    size_t copy_max;
    int err;                    /* 0, or what broke the view */
    char *name;
};

static bool bit_get(const struct cbw *v, uint64_t c)
{
    return v->bitmap[c / 64] >> (c % 64) & 1;
}

static void bit_set(struct cbw *v, uint64_t c)
{
    v->bitmap[c / 64] |= 1ull << (c % 64);
}

/* First cluster from C (< END) whose bit differs from C's, or END. */
static uint64_t run_end(const struct cbw *v, uint64_t c, uint64_t end)
{
    bool b = bit_get(v, c);
    for (c++; c < end; c++) {
        uint64_t w = v->bitmap[c / 64];
        /* whole words alike at once */
        if (c % 64 == 0 && w == (b ? ~0ull : 0) && c + 64 <= end) {
            c += 63;
            continue;
        }
        if ((bool)(w >> (c % 64) & 1) != b)
            return c;
    }
    return end;
}

static int store_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
    while (len) {
        ssize_t n = pwrite(fd, buf, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        buf = (const char *)buf + n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

/* Copy clusters [c, c + n) of SRC into the store (lock held). */
static int copy_run(struct cbw *v, uint64_t c, uint64_t n)
{
    uint64_t off = c * v->cluster;
    uint64_t len = MIN(n * v->cluster, v->size - off);
    uint64_t pnum = 0, map = 0;
    int depth = 0;
    /* Never-written areas need no copy: the store's hole reads as zeros. */
    int st = blk_block_status_above(v->src, off, len, &pnum, &map, NULL, &depth);
    if (st >= 0 && (st & BLK_STATUS_ZERO) && pnum == len)
        return 0;
    int r = blk_pread(v->src, off, len, v->buf);
    if (r < 0)
        return r;
    if (buf_is_zero(v->buf, (size_t)len))
        return 0;
    return store_pwrite(v->store, v->buf, (size_t)len, off);
}

static int cbw_before_write(struct blk_write_hook *h, uint64_t off, uint64_t len)
{
    struct cbw *v = container_of(h, struct cbw, hook);
    if (off >= v->size)
        return 0;
    uint64_t end = MIN(off + len, v->size);
    uint64_t c = off / v->cluster, last = DIV_ROUND_UP(end, v->cluster);
    uint64_t per_copy = v->copy_max / v->cluster;
    pthread_mutex_lock(&v->lock);
    while (c < last && !v->err) {
        if (bit_get(v, c)) {
            c = run_end(v, c, last);
            continue;
        }
        uint64_t n = MIN(run_end(v, c, last) - c, per_copy);
        int r = copy_run(v, c, n);
        if (r < 0) {
            /* the guest's write goes on; the view is what breaks */
            v->err = r;
            msg_warn(_("point-in-time view of '%s' is broken: cannot preserve its old "
                       "data: %s"), v->name, strerror(-r));
            break;
        }
        for (uint64_t k = 0; k < n; k++)
            bit_set(v, c + k);
        v->preserved += n;
        c += n;
    }
    pthread_mutex_unlock(&v->lock);
    return 0;
}

static int store_preadv(struct cbw *v, uint64_t off, const struct iovec *iov, int iovcnt)
{
    struct iovec cur[64];
    if (iovcnt > 64)
        return -EINVAL;
    memcpy(cur, iov, sizeof(*iov) * (size_t)iovcnt);
    struct iovec *p = cur;
    while (iovcnt > 0) {
        ssize_t n = preadv(v->store, p, iovcnt, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;    /* the store is as long as the disk: cannot happen */
        off += (uint64_t)n;
        while (iovcnt > 0 && (size_t)n >= p->iov_len) {
            n -= (ssize_t)p->iov_len;
            p++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            p->iov_base = (char *)p->iov_base + n;
            p->iov_len -= (size_t)n;
        }
    }
    return 0;
}

/* Read [pos, pos+n) of the view from the store or SRC into bytes
 * [ioff, ioff+n) of IOV (lock held). */
static int read_part(struct cbw *v, bool preserved, uint64_t pos, uint64_t n,
                     const struct iovec *iov, int iovcnt, size_t ioff)
{
    struct iovec part[64];
    int cnt = iov_slice(iov, iovcnt, ioff, (size_t)n, part, 64);
    if (cnt >= 0)
        return preserved ? store_preadv(v, pos, part, cnt) : blk_preadv(v->src, pos, n, part, cnt);
    /* a very fragmented iovec: through a buffer */
    void *b = malloc((size_t)n);
    if (!b)
        return -ENOMEM;
    struct iovec one = { b, (size_t)n };
    int r = preserved ? store_preadv(v, pos, &one, 1) : blk_preadv(v->src, pos, n, &one, 1);
    if (r >= 0)
        iov_from_buf(iov, iovcnt, ioff, b, (size_t)n);
    free(b);
    return r;
}

static int cbw_preadv(struct blk *bs, uint64_t off, uint64_t len, const struct iovec *iov,
                      int iovcnt)
{
    struct cbw *v = bs->opaque;
    /* Preserved runs never change again: they are read from the store
     * after the lock is let go, so that writers wait less. */
    struct { uint64_t pos, n; } later[8];
    int nlater = 0, r = 0;
    pthread_mutex_lock(&v->lock);
    if (v->err)
        r = v->err;
    uint64_t pos = off, end = off + len;
    while (r >= 0 && pos < end) {
        uint64_t c = pos / v->cluster;
        bool preserved = bit_get(v, c);
        uint64_t rend = run_end(v, c, DIV_ROUND_UP(end, v->cluster)) * v->cluster;
        uint64_t n = MIN(rend, end) - pos;
        if (preserved && nlater < (int)ARRAY_SIZE(later)) {
            later[nlater].pos = pos;
            later[nlater++].n = n;
        } else {
            r = read_part(v, preserved, pos, n, iov, iovcnt, (size_t)(pos - off));
        }
        pos += n;
    }
    pthread_mutex_unlock(&v->lock);
    for (int i = 0; i < nlater && r >= 0; i++)
        r = read_part(v, true, later[i].pos, later[i].n, iov, iovcnt,
                      (size_t)(later[i].pos - off));
    return r < 0 ? r : 0;
}

static int cbw_block_status(struct blk *bs, uint64_t off, uint64_t len, uint64_t *pnum,
                            uint64_t *map, struct blk **file)
{
    struct cbw *v = bs->opaque;
    *map = 0;
    *file = NULL;
    pthread_mutex_lock(&v->lock);
    uint64_t c = off / v->cluster;
    uint64_t rend = run_end(v, c, DIV_ROUND_UP(off + len, v->cluster)) * v->cluster;
    uint64_t n = MIN(rend, off + len) - off;
    int st = BLK_STATUS_DATA;
    if (!bit_get(v, c)) {
        /* what SRC says now is what it said at the moment: nothing wrote
         * there since, and nothing can while we hold the lock */
        uint64_t p = 0, m = 0;
        int depth = 0;
        int s = blk_block_status_above(v->src, off, n, &p, &m, NULL, &depth);
        if (s >= 0 && p > 0) {
            st = s & (BLK_STATUS_DATA | BLK_STATUS_ZERO);
            n = p;
        }
    }
    pthread_mutex_unlock(&v->lock);
    /* never OFFSET: a reader must not reach SRC's file behind our back */
    *pnum = n;
    return st | BLK_STATUS_ALLOCATED;
}

static void cbw_close(struct blk *bs)
{
    struct cbw *v = bs->opaque;
    if (!v->src)
        return;
    blk_remove_write_hook(v->src, &v->hook);
    pthread_mutex_destroy(&v->lock);
    close(v->store);
    free(v->bitmap);
    free(v->buf);
    free(v->name);
}

static const struct block_driver blk_drv_cbw = {
    .name = "cbw",
    .state_size = sizeof(struct cbw),
    .thread_safe = true,        /* v->lock */
    .preadv = cbw_preadv,
    .block_status = cbw_block_status,
    .close = cbw_close,
};

/* An unlinked file in $TMPDIR (or /var/tmp, where big files belong),
 * as long as the disk and all hole. */
static int store_open(uint64_t size, struct error **errp)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/var/tmp";
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/emu-cbw-XXXXXX", dir) >= sizeof(path))
        return err_set(errp, ENAMETOOLONG, _("TMPDIR '%.64s...' is too long"), dir);
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return err_set(errp, errno, _("cannot create a temporary file in '%s': %s"), dir,
                       strerror(errno));
    unlink(path);
    if (ftruncate(fd, (off_t)size) < 0) {
        int e = errno;
        close(fd);
        return err_set(errp, e, _("cannot size a temporary file in '%s': %s"), dir,
                       strerror(e));
    }
    return fd;
}

int cbw_open(struct blk **out, struct blk *src, const char *name, struct error **errp)
{
    *out = NULL;
    if (src->size > (uint64_t)INT64_MAX)
        return err_set(errp, EFBIG, _("'%s' is too large for a point-in-time view"), name);
    struct blk *bs = blk_node_new(&blk_drv_cbw, src->filename, 0);
    if (!bs)
        return err_set(errp, ENOMEM, _("out of memory"));
    struct cbw *v = bs->opaque;
    bs->size = src->size;
    v->size = src->size;
    v->cluster = CBW_CLUSTER;
    while (DIV_ROUND_UP(v->size, v->cluster) > CBW_MAX_BITS)
        v->cluster *= 2;
    v->nclusters = DIV_ROUND_UP(v->size, v->cluster);
    v->copy_max = (size_t)MAX(v->cluster, (uint64_t)CBW_COPY_MAX);
    v->bitmap = calloc(DIV_ROUND_UP(v->nclusters, 64) + 1, sizeof(uint64_t));
    v->buf = malloc(v->copy_max);
    v->name = strdup(name);
    if (!v->bitmap || !v->buf || !v->name) {
        free(v->bitmap);
        free(v->buf);
        free(v->name);
        blk_close(bs);
        return err_set(errp, ENOMEM, _("out of memory for a view of '%s'"), name);
    }
    v->store = store_open(v->size, errp);
    if (v->store < 0) {
        int r = v->store;
        free(v->bitmap);
        free(v->buf);
        free(v->name);
        blk_close(bs);
        return r;
    }
    pthread_mutex_init(&v->lock, NULL);
    v->hook.before_write = cbw_before_write;
    v->src = src;
    blk_add_write_hook(src, &v->hook);    /* the moment */
    *out = bs;
    return 0;
}

void cbw_get_stats(struct blk *view, struct cbw_stats *st)
{
    struct cbw *v = view->opaque;
    pthread_mutex_lock(&v->lock);
    st->cluster_size = v->cluster;
    st->preserved = v->preserved;
    st->err = v->err;
    pthread_mutex_unlock(&v->lock);
}
