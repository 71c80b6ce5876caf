/* block.c - the block layer core: driver table, opening images and their
 * backing chains, probing, and the checked request wrappers (see block.h). */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "block.h"
#include "i18n.h"
#include "log.h"
#include "trace/block.h"

extern const struct block_driver blk_drv_file, blk_drv_raw, blk_drv_qcow2, blk_drv_vdi,
    blk_drv_vpc, blk_drv_vmdk, blk_drv_vhdx;

/* The one table of drivers.  Formats known to qemu-img that emu does not
 * implement yet are listed in blk_planned_formats so that users get a clear
 * "not supported yet" instead of "unknown format". */
const struct block_driver *const blk_drivers[] = {
    &blk_drv_qcow2,
    &blk_drv_vdi,
    &blk_drv_vpc,
    &blk_drv_vmdk,
    &blk_drv_vhdx,
    &blk_drv_raw,
    &blk_drv_file,
    NULL,
};

static const char *const blk_planned_formats[] = {
    "vmdk3", NULL,
};

const struct block_driver *blk_find_driver(const char *name)
{
    for (int i = 0; blk_drivers[i]; i++) {
        if (strcmp(blk_drivers[i]->name, name) == 0)
            return blk_drivers[i];
    }
    return NULL;
}

bool blk_format_known(const char *name)
{
    for (int i = 0; blk_planned_formats[i]; i++) {
        if (strcmp(blk_planned_formats[i], name) == 0)
            return true;
    }
    return blk_find_driver(name) != NULL;
}

static int blk_driver_for(const char *fmt, const struct block_driver **out,
                          struct error **errp)
{
    const struct block_driver *drv = blk_find_driver(fmt);
    if (drv) {
        *out = drv;
        return 0;
    }
    if (blk_format_known(fmt))
        return err_set(errp, ENOTSUP, _("image format '%s' is not supported yet"), fmt);
    return err_set(errp, EINVAL, _("unknown image format '%s'"), fmt);
}

int blk_prealloc_parse(const char *s, enum blk_prealloc *out, struct error **errp)
{
    static const char *const names[] = { "off", "metadata", "falloc", "full" };
    for (unsigned i = 0; i < ARRAY_SIZE(names); i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum blk_prealloc)i;
            return 0;
        }
    }
    return err_set(errp, EINVAL, _("invalid preallocation mode '%s'"), s);
}

const char *blk_prealloc_name(enum blk_prealloc p)
{
    static const char *const names[] = { "off", "metadata", "falloc", "full" };
    return names[p];
}

void blk_info_clear(struct blk_info *info)
{
    for (int i = 0; i < info->nb_bitmaps; i++)
        free(info->bitmaps[i].name);
    free(info->bitmaps);
    info->bitmaps = NULL;
    info->nb_bitmaps = 0;
    free(info->extents);
    info->extents = NULL;
    info->nb_extents = 0;
}

void blk_snapshots_free(struct blk_snapshot *s, int n)
{
    if (!s)
        return;
    for (int i = 0; i < n; i++) {
        free(s[i].id);
        free(s[i].name);
    }
    free(s);
}

char *blk_path_combine(const char *base, const char *rel)
{
    const char *slash = strrchr(base, '/');
    if (rel[0] == '/' || !slash)
        return strdup(rel);
    size_t dlen = (size_t)(slash - base) + 1;
    char *out = malloc(dlen + strlen(rel) + 1);
    if (!out)
        return NULL;
    memcpy(out, base, dlen);
    strcpy(out + dlen, rel);
    return out;
}

static struct blk *blk_new(const struct block_driver *drv, const char *filename, int flags)
{
    struct blk *bs = calloc(1, sizeof(*bs));
    if (!bs)
        return NULL;
    bs->drv = drv;
    bs->flags = flags;
    bs->read_only = !(flags & BLK_O_RDWR);
    bs->fd = -1;
    pthread_mutex_init(&bs->lock, NULL);
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&bs->hook_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    bs->filename = strdup(filename);
    if (drv->state_size)
        bs->opaque = calloc(1, drv->state_size);
    if (!bs->filename || (drv->state_size && !bs->opaque)) {
        pthread_rwlock_destroy(&bs->hook_lock);
        free(bs->filename);
        free(bs->opaque);
        free(bs);
        return NULL;
    }
    return bs;
}

struct blk *blk_node_new(const struct block_driver *drv, const char *name, int flags)
{
    return blk_new(drv, name, flags);
}

static void blk_free_node(struct blk *bs)
{
    pthread_mutex_destroy(&bs->lock);
    pthread_rwlock_destroy(&bs->hook_lock);
    free(bs->opaque);
    free(bs->filename);
    free(bs->backing_file);
    free(bs->backing_fmt);
    free(bs->backing_path);
    free(bs);
}

int blk_open_file(struct blk **out, const char *filename, int flags, struct error **errp)
{
    struct blk *bs = blk_new(&blk_drv_file, filename, flags);
    if (!bs)
        return err_set(errp, ENOMEM, _("out of memory"));
    int r = blk_drv_file.open(bs, flags, errp);
    if (r < 0) {
        blk_free_node(bs);
        return r;
    }
    *out = bs;
    return 0;
}

/* Pick the driver with the best probe score for the first bytes. */
static const struct block_driver *blk_probe_buf(const uint8_t *buf, size_t len,
                                                const char *filename)
{
    const struct block_driver *best = &blk_drv_raw;
    int best_score = 0;
    for (int i = 0; blk_drivers[i]; i++) {
        const struct block_driver *d = blk_drivers[i];
        if (!d->probe || d->protocol)
            continue;
        int s = d->probe(buf, len, filename);
        if (s > best_score) {
            best_score = s;
            best = d;
        }
    }
    return best;
}

/* Magic numbers of formats not implemented yet, so that probing does not
 * silently call them raw (and a write does not destroy them). */
static const char *blk_probe_planned(const uint8_t *buf, size_t len)
{
    if (len >= 4 && memcmp(buf, "COWD", 4) == 0)
        return "vmdk3";   /* VMware 3 (COWD) sparse: not supported */
    return NULL;
}

static int blk_probe_node(struct blk *file, const char **fmt, struct error **errp)
{
    uint8_t buf[2048];
    size_t len = (size_t)MIN(file->size, sizeof(buf));
    memset(buf, 0, sizeof(buf));
    if (len) {
        int r = blk_pread(file, 0, len, buf);
        if (r < 0)
            return err_set_errno(errp, -r, _("cannot read '%s'"), file->filename);
    }
    const char *planned = blk_probe_planned(buf, len);
    if (planned) {
        *fmt = planned;
        return 0;
    }
    *fmt = blk_probe_buf(buf, len, file->filename)->name;
    return 0;
}

int blk_probe(const char *filename, const char **fmt, struct error **errp)
{
    struct blk *file;
    int r = blk_open_file(&file, filename, 0, errp);
    if (r < 0)
        return r;
    r = blk_probe_node(file, fmt, errp);
    blk_close(file);
    return r;
}

struct chain_seen {
    dev_t dev[BLK_MAX_CHAIN + 1];
    ino_t ino[BLK_MAX_CHAIN + 1];
    int n;
};

static int blk_open_chain(struct blk **out, const char *filename, const char *fmt,
                          int flags, struct chain_seen *seen, struct error **errp)
{
    struct blk *file = NULL;
    int r = blk_open_file(&file, filename, flags, errp);
    if (r < 0)
        return r;

    struct stat st;
    if (fstat(file->fd, &st) == 0) {
        for (int i = 0; i < seen->n; i++) {
            if (seen->dev[i] == st.st_dev && seen->ino[i] == st.st_ino) {
                blk_close(file);
                return err_set(errp, ELOOP, _("'%s': backing chain contains a loop"),
                               filename);
            }
        }
        if (seen->n > BLK_MAX_CHAIN) {
            blk_close(file);
            return err_set(errp, ELOOP, _("'%s': backing chain is longer than %d images"),
                           filename, BLK_MAX_CHAIN);
        }
        seen->dev[seen->n] = st.st_dev;
        seen->ino[seen->n] = st.st_ino;
        seen->n++;
    }

    bool probed = false;
    if (!fmt) {
        r = blk_probe_node(file, &fmt, errp);
        if (r < 0) {
            blk_close(file);
            return r;
        }
        probed = true;
    }
    const struct block_driver *drv = NULL;
    r = blk_driver_for(fmt, &drv, errp);
    if (r < 0) {
        blk_close(file);
        return r;
    }
    if (drv->protocol) {
        /* "-f file": the protocol node is the image. */
        *out = file;
        return 0;
    }
    struct blk *bs = blk_new(drv, filename, flags);
    if (!bs) {
        blk_close(file);
        return err_set(errp, ENOMEM, _("out of memory"));
    }
    bs->file = file;
    bs->probed = probed;
    r = drv->open(bs, flags, errp);
    if (r < 0) {
        blk_close(file);
        blk_free_node(bs);
        return r;
    }
    if (log_on(LOG_BLOCK))
        log_msg(LOG_BLOCK, "opened %s as %s, size %" PRIu64, filename, drv->name, bs->size);

    if (bs->backing_file && bs->backing_file[0]) {
        bs->backing_path = blk_path_combine(filename, bs->backing_file);
        if (!bs->backing_path) {
            blk_close(bs);
            return err_set(errp, ENOMEM, _("out of memory"));
        }
        if (!(flags & BLK_O_NO_BACKING)) {
            struct error *err = NULL;
            int bflags = flags & ~(BLK_O_RDWR | BLK_O_NO_REPAIR);
            r = blk_open_chain(&bs->backing, bs->backing_path, bs->backing_fmt, bflags,
                               seen, &err);
            if (r < 0) {
                if (r == -ELOOP) {
                    err_propagate(errp, err);
                } else {
                    err_set(errp, -r, _("could not open backing file of '%s': %s"),
                            filename, err_msg(err));
                    err_free(err);
                }
                blk_close(bs);
                return r;
            }
        }
    }
    *out = bs;
    return 0;
}

int blk_open(struct blk **out, const char *filename, const char *fmt, int flags,
             struct error **errp)
{
    struct chain_seen seen = { .n = 0 };
    *out = NULL;
    int r = blk_open_chain(out, filename, fmt, flags, &seen, errp);
    if (r >= 0)
        trace_blk_open(*out, filename, (*out)->drv->name);
    return r;
}

void blk_close(struct blk *bs)
{
    if (!bs)
        return;
    trace_blk_close(bs);
    if (bs->drv->close)
        bs->drv->close(bs);
    blk_close(bs->backing);
    blk_close(bs->file);
    blk_free_node(bs);
}

int blk_create(const char *fmt, const char *filename, const struct blk_create_opts *o,
               struct error **errp)
{
    const struct block_driver *drv = NULL;
    int r = blk_driver_for(fmt, &drv, errp);
    if (r < 0)
        return r;
    if (!drv->create)
        return err_set(errp, ENOTSUP, _("format '%s' does not support image creation"), fmt);
    return drv->create(filename, o, errp);
}

/* ---- checked wrappers ---- */

/* Protocol nodes may be read past their end (zeros) and grow on write;
 * format nodes are bounded by their virtual size. */
static int blk_check_range(struct blk *bs, uint64_t off, uint64_t len)
{
    uint64_t end;
    if (ADD_OVERFLOWS(off, len, &end) || end > (uint64_t)INT64_MAX)
        return -EIO;
    if (!bs->drv->protocol && end > bs->size)
        return -EIO;
    return 0;
}

static void blk_lock(struct blk *bs)
{
    if (!bs->drv->thread_safe)
        pthread_mutex_lock(&bs->lock);
}

static void blk_unlock(struct blk *bs)
{
    if (!bs->drv->thread_safe)
        pthread_mutex_unlock(&bs->lock);
}

int blk_preadv(struct blk *bs, uint64_t off, uint64_t len, const struct iovec *iov,
               int iovcnt)
{
    if (len == 0)
        return 0;
    if (blk_check_range(bs, off, len) < 0 || iov_size(iov, iovcnt) < len)
        return -EIO;
    if (!bs->drv->preadv)
        return -ENOTSUP;
    trace_blk_request_submit(bs, "read", off, len);
    blk_lock(bs);
    int r = bs->drv->preadv(bs, off, len, iov, iovcnt);
    blk_unlock(bs);
    trace_blk_request_complete(bs, "read", off, len, r);
    return r;
}

/* What every write entry point checks first: 1 go on, 0 nothing to do
 * (LEN 0), or -errno. */
static int write_check(struct blk *bs, uint64_t off, uint64_t len, bool has_op)
{
    if (len == 0)
        return 0;
    if (bs->read_only)
        return -EROFS;
    if (blk_check_range(bs, off, len) < 0)
        return -EIO;
    return has_op ? 1 : -ENOTSUP;
}

/* Before-write hooks: run BS's hooks for [off, off+len) and hold
 * hook_lock until write_end(), so that no hook is attached between a
 * hook's copy and the write it precedes (see blk_add_write_hook). */
static int write_begin(struct blk *bs, uint64_t off, uint64_t len)
{
    pthread_rwlock_rdlock(&bs->hook_lock);
    for (struct blk_write_hook *h = bs->write_hooks; h; h = h->next) {
        int r = h->before_write(h, off, len);
        if (r < 0)
            return r;
    }
    return 0;
}

static void write_end(struct blk *bs)
{
    pthread_rwlock_unlock(&bs->hook_lock);
}

void blk_add_write_hook(struct blk *bs, struct blk_write_hook *h)
{
    pthread_rwlock_wrlock(&bs->hook_lock);
    h->next = bs->write_hooks;
    bs->write_hooks = h;
    pthread_rwlock_unlock(&bs->hook_lock);
}

void blk_remove_write_hook(struct blk *bs, struct blk_write_hook *h)
{
    pthread_rwlock_wrlock(&bs->hook_lock);
    for (struct blk_write_hook **pp = &bs->write_hooks; *pp; pp = &(*pp)->next)
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    pthread_rwlock_unlock(&bs->hook_lock);
}

int blk_pwritev(struct blk *bs, uint64_t off, uint64_t len, const struct iovec *iov,
                int iovcnt)
{
    int c = write_check(bs, off, len, bs->drv->pwritev != NULL);
    if (c <= 0)
        return c;
    if (iov_size(iov, iovcnt) < len)
        return -EIO;
    trace_blk_request_submit(bs, "write", off, len);
    int r = write_begin(bs, off, len);
    if (r >= 0) {
        blk_lock(bs);
        r = bs->drv->pwritev(bs, off, len, iov, iovcnt);
        blk_unlock(bs);
    }
    write_end(bs);
    trace_blk_request_complete(bs, "write", off, len, r);
    return r;
}

int blk_pread(struct blk *bs, uint64_t off, uint64_t len, void *buf)
{
    struct iovec iov = { .iov_base = buf, .iov_len = len };
    return blk_preadv(bs, off, len, &iov, 1);
}

int blk_pwrite(struct blk *bs, uint64_t off, uint64_t len, const void *buf)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    return blk_pwritev(bs, off, len, &iov, 1);
}

int blk_pwrite_compressed(struct blk *bs, uint64_t off, uint64_t len, const void *buf)
{
    int c = write_check(bs, off, len, bs->drv->pwrite_compressed != NULL);
    if (c <= 0)
        return c;
    trace_blk_request_submit(bs, "compressed", off, len);
    int r = write_begin(bs, off, len);
    if (r >= 0) {
        blk_lock(bs);
        r = bs->drv->pwrite_compressed(bs, off, len, buf);
        blk_unlock(bs);
    }
    write_end(bs);
    trace_blk_request_complete(bs, "compressed", off, len, r);
    return r;
}

int blk_pwrite_zeroes(struct blk *bs, uint64_t off, uint64_t len, int flags)
{
    if (len == 0)
        return 0;
    if (bs->read_only)
        return -EROFS;
    if (blk_check_range(bs, off, len) < 0)
        return -EIO;
    /* the fallback below goes through blk_pwrite and its own hooks (and
     * its own trace events, inside this request's) */
    trace_blk_request_submit(bs, "zeroes", off, len);
    int r = write_begin(bs, off, len);
    if (r >= 0) {
        blk_lock(bs);
        if (bs->drv->pwrite_zeroes) {
            r = bs->drv->pwrite_zeroes(bs, off, len, flags);
        } else {
            r = -ENOTSUP;
        }
        blk_unlock(bs);
    }
    write_end(bs);
    if (r != -ENOTSUP || (flags & BLK_ZERO_NO_FALLBACK)) {
        trace_blk_request_complete(bs, "zeroes", off, len, r);
        return r;
    }
    /* Fallback: write a zeroed buffer. */
    const uint64_t off0 = off, len0 = len;
    size_t chunk = (size_t)MIN(len, (uint64_t)1 << 20);
    void *z = calloc(1, chunk);
    if (!z) {
        trace_blk_request_complete(bs, "zeroes", off0, len0, -ENOMEM);
        return -ENOMEM;
    }
    r = 0;
    while (len && r >= 0) {
        size_t n = (size_t)MIN(len, chunk);
        r = blk_pwrite(bs, off, n, z);
        off += n;
        len -= n;
    }
    free(z);
    trace_blk_request_complete(bs, "zeroes", off0, len0, r < 0 ? r : 0);
    return r < 0 ? r : 0;
}

int blk_pdiscard(struct blk *bs, uint64_t off, uint64_t len)
{
    if (len == 0)
        return 0;
    if (bs->read_only)
        return -EROFS;
    if (blk_check_range(bs, off, len) < 0)
        return -EIO;
    if (!bs->drv->pdiscard)
        return 0;
    trace_blk_request_submit(bs, "discard", off, len);
    int r = write_begin(bs, off, len);
    if (r >= 0) {
        blk_lock(bs);
        r = bs->drv->pdiscard(bs, off, len);
        blk_unlock(bs);
    }
    write_end(bs);
    trace_blk_request_complete(bs, "discard", off, len, r);
    return r;
}

int blk_flush(struct blk *bs)
{
    int r = 0;
    if (bs->drv->flush && !bs->read_only) {
        trace_blk_request_submit(bs, "flush", 0, 0);
        blk_lock(bs);
        r = bs->drv->flush(bs);
        blk_unlock(bs);
        trace_blk_request_complete(bs, "flush", 0, 0, r);
    }
    if (r >= 0 && bs->file)
        r = blk_flush(bs->file);
    return r;
}

const void *blk_map_read(struct blk *bs, uint64_t off, uint64_t len)
{
    if (len == 0 || !bs->read_only || !bs->drv->map_read ||
        blk_check_range(bs, off, len) < 0)
        return NULL;
    return bs->drv->map_read(bs, off, len);
}

int blk_splice_write(struct blk *bs, uint64_t off, uint64_t len, int pipe_fd)
{
    int c = write_check(bs, off, len, bs->drv->splice_write != NULL);
    if (c <= 0)
        return c;
    trace_blk_request_submit(bs, "splice", off, len);
    int r = write_begin(bs, off, len);
    if (r >= 0) {
        blk_lock(bs);
        r = bs->drv->splice_write(bs, off, len, pipe_fd);
        blk_unlock(bs);
    }
    write_end(bs);
    trace_blk_request_complete(bs, "splice", off, len, r);
    return r;
}

bool blk_can_splice_write(struct blk *bs)
{
    return !bs->read_only && bs->drv->splice_write &&
           bs->drv->splice_write(bs, 0, 0, -1) == 0;
}

int blk_block_status(struct blk *bs, uint64_t off, uint64_t len, uint64_t *pnum,
                     uint64_t *map, struct blk **file)
{
    *pnum = 0;
    *map = 0;
    if (file)
        *file = NULL;
    if (len == 0)
        return 0;
    if (blk_check_range(bs, off, len) < 0)
        return -EIO;
    if (!bs->drv->block_status) {
        *pnum = len;
        return BLK_STATUS_DATA | BLK_STATUS_ALLOCATED;
    }
    struct blk *f = NULL;
    blk_lock(bs);
    int r = bs->drv->block_status(bs, off, len, pnum, map, &f);
    blk_unlock(bs);
    if (r >= 0 && (*pnum == 0 || *pnum > len))
        return -EIO;
    if (r >= 0 && (r & BLK_STATUS_RECURSE) && (r & BLK_STATUS_DATA) &&
        (r & BLK_STATUS_OFFSET) && f && f != bs) {
        /* Look through to the file: a hole under allocated data reads as
         * zeros (preallocated or sparse clusters). */
        uint64_t fp, fm;
        int r2 = blk_block_status(f, *map, *pnum, &fp, &fm, NULL);
        if (r2 >= 0) {
            *pnum = MIN(*pnum, fp);
            r |= r2 & BLK_STATUS_ZERO;
        }
    }
    if (r > 0)
        r &= ~BLK_STATUS_RECURSE;
    if (file)
        *file = f;
    return r;
}

int blk_block_status_above(struct blk *bs, uint64_t off, uint64_t len, uint64_t *pnum,
                           uint64_t *map, struct blk **file, int *depth)
{
    int d = 0;
    uint64_t n = len;
    for (struct blk *b = bs; b; b = b->backing, d++) {
        int r = blk_block_status(b, off, n, pnum, map, file);
        if (r < 0)
            return r;
        *depth = d;
        if ((r & BLK_STATUS_ALLOCATED) || !b->backing) {
            if (!(r & BLK_STATUS_ALLOCATED))
                r = (r | BLK_STATUS_ZERO) & ~BLK_STATUS_DATA;
            return r;
        }
        n = *pnum;  /* the next node may answer only for this much */
        if (off >= b->backing->size) {
            /* Past the end of a shorter backing file: reads as zeros. */
            *map = 0;
            if (file)
                *file = NULL;
            return BLK_STATUS_ZERO;
        }
        n = MIN(n, b->backing->size - off);
    }
    *pnum = n;
    return BLK_STATUS_ZERO;
}

int blk_truncate(struct blk *bs, uint64_t size, bool shrink, enum blk_prealloc prealloc,
                 struct error **errp)
{
    if (bs->read_only)
        return err_set(errp, EROFS, _("'%s' is opened read-only"), bs->filename);
    if (!bs->drv->truncate)
        return err_set(errp, ENOTSUP, _("format '%s' does not support resizing"),
                       bs->drv->name);
    if (size < bs->size && !shrink)
        return err_set(errp, EINVAL, _("use the --shrink option to shrink '%s'"),
                       bs->filename);
    blk_lock(bs);
    int r = bs->drv->truncate(bs, size, shrink, prealloc, errp);
    blk_unlock(bs);
    return r;
}

int64_t blk_allocated_size(struct blk *bs)
{
    if (bs->drv->allocated_size)
        return bs->drv->allocated_size(bs);
    if (bs->file)
        return blk_allocated_size(bs->file);
    return -ENOTSUP;
}

uint64_t blk_cluster_size(struct blk *bs)
{
    struct blk_info info;
    memset(&info, 0, sizeof(info));
    uint64_t cs = 0;
    if (bs->drv->get_info && bs->drv->get_info(bs, &info) == 0)
        cs = info.cluster_size;
    blk_info_clear(&info);
    return cs;
}

int blk_chain_length(struct blk *bs)
{
    int n = 0;
    for (; bs; bs = bs->backing)
        n++;
    return n;
}

/* ---- asynchronous requests ---- */

struct blk_aio {
    struct blk *bs;
    int kind;                 /* 0 read, 1 write, 2 job */
    uint64_t off, len;
    const struct iovec *iov;
    int iovcnt;
    blk_job_fn *fn;
    void *arg;
    blk_aio_cb *cb;
    void *opaque;
};

void blk_set_pool(struct blk *bs, struct pool *pool)
{
    bs->pool = pool;
}

static int blk_aio_work(void *op)
{
    struct blk_aio *a = op;
    switch (a->kind) {
    case 0:
        return blk_preadv(a->bs, a->off, a->len, a->iov, a->iovcnt);
    case 1:
        return blk_pwritev(a->bs, a->off, a->len, a->iov, a->iovcnt);
    default:
        return a->fn(a->bs, a->arg);
    }
}

static void blk_aio_done(void *op, int ret)
{
    struct blk_aio *a = op;
    blk_aio_cb *cb = a->cb;
    void *opaque = a->opaque;
    free(a);
    cb(opaque, ret);
}

static int blk_aio_submit(struct blk_aio *a, struct error **errp)
{
    if (!a->bs->pool) {
        /* No pool: run synchronously. */
        int r = blk_aio_work(a);
        blk_aio_done(a, r);
        return 0;
    }
    int r = pool_submit(a->bs->pool, blk_aio_work, blk_aio_done, a, errp);
    if (r < 0)
        free(a);
    return r;
}

int blk_aio_preadv(struct blk *bs, uint64_t off, uint64_t len, const struct iovec *iov,
                   int iovcnt, blk_aio_cb *cb, void *opaque, struct error **errp)
{
    struct blk_aio *a = calloc(1, sizeof(*a));
    if (!a)
        return err_set(errp, ENOMEM, _("out of memory"));
    *a = (struct blk_aio){ .bs = bs, .kind = 0, .off = off, .len = len, .iov = iov,
                           .iovcnt = iovcnt, .cb = cb, .opaque = opaque };
    return blk_aio_submit(a, errp);
}

int blk_aio_pwritev(struct blk *bs, uint64_t off, uint64_t len, const struct iovec *iov,
                    int iovcnt, blk_aio_cb *cb, void *opaque, struct error **errp)
{
    struct blk_aio *a = calloc(1, sizeof(*a));
    if (!a)
        return err_set(errp, ENOMEM, _("out of memory"));
    *a = (struct blk_aio){ .bs = bs, .kind = 1, .off = off, .len = len, .iov = iov,
                           .iovcnt = iovcnt, .cb = cb, .opaque = opaque };
    return blk_aio_submit(a, errp);
}

int blk_aio_job(struct blk *bs, blk_job_fn *fn, void *arg, blk_aio_cb *cb, void *opaque,
                struct error **errp)
{
    struct blk_aio *a = calloc(1, sizeof(*a));
    if (!a)
        return err_set(errp, ENOMEM, _("out of memory"));
    *a = (struct blk_aio){ .bs = bs, .kind = 2, .fn = fn, .arg = arg, .cb = cb,
                           .opaque = opaque };
    return blk_aio_submit(a, errp);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t blk_find_overlap(uint64_t *starts, size_t n, uint64_t len)
{
    if (n < 2)
        return UINT64_MAX;      /* (and qsort must not see a NULL array) */
    qsort(starts, n, sizeof(*starts), cmp_u64);
    for (size_t i = 1; i < n; i++)
        if (starts[i] - starts[i - 1] < len)
            return starts[i];
    return UINT64_MAX;
}

/* ---- savevm's VM state (block.h) ---- */

bool blk_can_vmstate(struct blk *bs)
{
    return bs->drv->vmstate_write && bs->drv->vmstate_read && bs->drv->snapshot_create_vm;
}

int blk_vmstate_write(struct blk *bs, uint64_t pos, uint64_t len, const void *buf)
{
    uint64_t end;
    if (len == 0)
        return 0;
    if (!bs->drv->vmstate_write)
        return -ENOTSUP;
    if (bs->read_only)
        return -EROFS;
    if (ADD_OVERFLOWS(pos, len, &end))
        return -EFBIG;
    blk_lock(bs);
    int r = bs->drv->vmstate_write(bs, pos, len, buf);
    blk_unlock(bs);
    return r;
}

int blk_vmstate_read(struct blk *bs, uint64_t pos, uint64_t len, void *buf)
{
    uint64_t end;
    if (len == 0)
        return 0;
    if (!bs->drv->vmstate_read)
        return -ENOTSUP;
    if (ADD_OVERFLOWS(pos, len, &end))
        return -EFBIG;
    blk_lock(bs);
    int r = bs->drv->vmstate_read(bs, pos, len, buf);
    blk_unlock(bs);
    return r;
}

int blk_vmstate_drop(struct blk *bs)
{
    if (!bs->drv->vmstate_drop)
        return -ENOTSUP;
    if (bs->read_only)
        return -EROFS;
    blk_lock(bs);
    int r = bs->drv->vmstate_drop(bs);
    blk_unlock(bs);
    return r;
}

int blk_snapshot_create_vm(struct blk *bs, const char *name, uint64_t vm_state_size,
                           uint64_t vm_clock_ns, struct error **errp)
{
    if (!bs->drv->snapshot_create_vm)
        return err_set(errp, ENOTSUP, _("'%s': format %s keeps no VM state"), bs->filename,
                       bs->drv->name);
    if (bs->read_only)
        return err_set(errp, EROFS, _("'%s' is read-only"), bs->filename);
    return bs->drv->snapshot_create_vm(bs, name, vm_state_size, vm_clock_ns, errp);
}
