/* raw.c - the `raw` format: the guest disk is the file, byte for byte. */
#include <config.h>

#include <errno.h>
#include "block.h"
#include "i18n.h"

static int raw_probe(const uint8_t *buf, size_t len, const char *filename)
{
    return 1; /* the fallback */
}

static int raw_open(struct blk *bs, int flags, struct error **errp)
{
    bs->size = bs->file->size;
    return 0;
}

static int raw_preadv(struct blk *bs, uint64_t off, uint64_t len, const struct iovec *iov,
                      int iovcnt)
{
    return blk_preadv(bs->file, off, len, iov, iovcnt);
}

/* Large writes (a convert's data) reserve their blocks first: one
 * allocation of a long extent instead of one reservation per block in the
 * file system's write path. */
#define RAW_RESERVE_MIN (1u << 20)

static int raw_pwritev(struct blk *bs, uint64_t off, uint64_t len, const struct iovec *iov,
                       int iovcnt)
{
    if (len >= RAW_RESERVE_MIN)
        blk_file_reserve(bs->file, off, len);
    return blk_pwritev(bs->file, off, len, iov, iovcnt);
}

static int raw_splice_write(struct blk *bs, uint64_t off, uint64_t len, int pipe_fd)
{
    if (len == 0)
        return blk_can_splice_write(bs->file) ? 0 : -ENOTSUP;
    if (len >= RAW_RESERVE_MIN)
        blk_file_reserve(bs->file, off, len);
    return blk_splice_write(bs->file, off, len, pipe_fd);
}

static int raw_pwrite_zeroes(struct blk *bs, uint64_t off, uint64_t len, int flags)
{
    return blk_pwrite_zeroes(bs->file, off, len, flags);
}

static int raw_pdiscard(struct blk *bs, uint64_t off, uint64_t len)
{
    return blk_pdiscard(bs->file, off, len);
}

static int raw_block_status(struct blk *bs, uint64_t off, uint64_t len, uint64_t *pnum,
                            uint64_t *map, struct blk **file)
{
    return blk_block_status(bs->file, off, len, pnum, map, file);
}

static int raw_truncate(struct blk *bs, uint64_t size, bool shrink, enum blk_prealloc prealloc,
                        struct error **errp)
{
    int r = blk_truncate(bs->file, size, shrink, prealloc, errp);
    if (r >= 0)
        bs->size = size;
    return r;
}

static int raw_create(const char *filename, const struct blk_create_opts *o,
                      struct error **errp)
{
    if (o->backing_file)
        return err_set(errp, EINVAL, _("format 'raw' does not support backing files"));
    if (o->prealloc == BLK_PREALLOC_METADATA)
        return err_set(errp, EINVAL, _("invalid preallocation mode '%s'"), "metadata");
    const struct block_driver *file = blk_find_driver("file");
    return file->create(filename, o, errp);
}

/* anonymize: a raw image is all user data, nothing is metadata. */
static int raw_anonymize(struct anon *a, struct error **errp)
{
    (void)a;
    (void)errp;
    return 0;
}

static const struct blk_opt_desc raw_create_opts[] = {
    { "size", "size", N_("Virtual disk size") },
    { "preallocation", "str", N_("Preallocation mode (allowed values: off, falloc, full)") },
    { NULL, NULL, NULL },
};

const struct block_driver blk_drv_raw = {
    .name = "raw",
    .thread_safe = true,
    .create_opts = raw_create_opts,
    .probe = raw_probe,
    .open = raw_open,
    .create = raw_create,
    .preadv = raw_preadv,
    .pwritev = raw_pwritev,
    .splice_write = raw_splice_write,
    .pwrite_zeroes = raw_pwrite_zeroes,
    .pdiscard = raw_pdiscard,
    .block_status = raw_block_status,
    .truncate = raw_truncate,
    .anonymize = raw_anonymize,
};
