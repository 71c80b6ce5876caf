/* vpc.c - the Virtual PC / VHD format: dynamic and fixed disks.
 *
 * A fixed disk is raw data followed by a 512-byte footer.  A dynamic disk
 * has a copy of the footer at offset 0, a dynamic header ("cxsparse"),
 * a block allocation table of 32-bit sector numbers (0xffffffff:
 * unallocated, reads as zeros), and blocks, each a sector bitmap followed
 * by block_size bytes of data; the footer is also the last 512 bytes.
 * All fields are big-endian.  The virtual size follows qemu's rules: the
 * CHS geometry for images made by Virtual PC or qemu, the footer's
 * current size otherwise.  New blocks are written (with the footer moved
 * behind them) before the table entry that points to them. */
#include <config.h>

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include "i18n.h"
#include "block.h"
#include "anon.h"
#include "vpc.h"

#define VPC_FIXED 2
#define VPC_DYNAMIC 3
#define VPC_UNALLOCATED 0xffffffffu
#define VPC_MAX_GEOMETRY (65535ull * 16 * 255)
#define VPC_BLOCK_SIZE (2u << 20)

struct vpc {
    uint8_t footer[512];
    uint32_t type;
    uint64_t bat_offset;
    uint32_t bat_entries, block_size, bitmap_size;
    uint32_t *bat;
    uint64_t free_offset;    /* where the footer (and the next block) goes */
};

uint32_t vpc_checksum(const uint8_t *buf, size_t len, size_t csum_off)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < len; i++)
        if (i < csum_off || i >= csum_off + 4)
            sum += buf[i];
    return ~sum;
}

static int vpc_probe(const uint8_t *buf, size_t len, const char *filename)
{
    return len >= 8 && memcmp(buf, "conectix", 8) == 0 ? 100 : 0;
}

/* The size qemu derives from a footer. */
static uint64_t vpc_size(const uint8_t *f)
{
    uint64_t chs = (uint64_t)be16_get(f + 56) * f[58] * f[59];
    bool use_chs = memcmp(f + 28, "vpc ", 4) == 0 || memcmp(f + 28, "qemu", 4) == 0;
    if (!use_chs || chs == VPC_MAX_GEOMETRY)
        return be64_get(f + 48);
    return chs * 512;
}

static int vpc_open(struct blk *bs, int flags, struct error **errp)
{
    struct vpc *s = bs->opaque;
    const char *fn = bs->filename;
    uint64_t fsize = bs->file->size;
    if (fsize < 512)
        return err_set(errp, EINVAL, _("'%s': VHD footer is missing"), fn);
    int r = blk_pread(bs->file, 0, 512, s->footer);
    if (r >= 0 && memcmp(s->footer, "conectix", 8) != 0)
        r = blk_pread(bs->file, fsize - 512, 512, s->footer);
    if (r < 0)
        return err_set_errno(errp, -r, _("cannot read '%s'"), fn);
    if (memcmp(s->footer, "conectix", 8) != 0)
        return err_set(errp, EINVAL, _("'%s': not a VHD image"), fn);
    s->type = be32_get(s->footer + 60);
    bs->size = vpc_size(s->footer);
    if (bs->size > (UINT64_C(1) << 41) * 2)
        return err_set(errp, EINVAL, _("'%s': VHD disk size is too large"), fn);
    if (s->type == VPC_FIXED) {
        if (bs->size > fsize - 512)
            return err_set(errp, EINVAL, _("'%s': VHD disk is larger than the file"), fn);
        s->free_offset = fsize - 512;
        return 0;
    }
    if (s->type != VPC_DYNAMIC)
        return err_set(errp, ENOTSUP, _("'%s': VHD disk type %u is not supported yet"), fn,
                       s->type);
    uint64_t dyn = be64_get(s->footer + 16);
    uint8_t d[1024];
    if (dyn > fsize || 1024 > fsize - dyn)
        return err_set(errp, EINVAL, _("'%s': VHD dynamic header lies outside the file"), fn);
    r = blk_pread(bs->file, dyn, 1024, d);
    if (r < 0)
        return err_set_errno(errp, -r, _("cannot read '%s'"), fn);
    if (memcmp(d, "cxsparse", 8) != 0)
        return err_set(errp, EINVAL, _("'%s': invalid VHD dynamic header"), fn);
    s->bat_offset = be64_get(d + 16);
    s->bat_entries = be32_get(d + 28);
    s->block_size = be32_get(d + 32);
    if (s->block_size < 512 || !IS_POW2(s->block_size) || s->block_size > (256u << 20))
        return err_set(errp, EINVAL, _("'%s': invalid VHD block size %u"), fn, s->block_size);
    s->bitmap_size = ALIGN_UP(s->block_size / 512 / 8, 512u);
    if ((uint64_t)s->bat_entries * s->block_size < bs->size || s->bat_entries > (1u << 24) ||
        s->bat_offset > fsize || (uint64_t)s->bat_entries * 4 > fsize - s->bat_offset)
        return err_set(errp, EINVAL, _("'%s': VHD block table is invalid or outside the file"),
                       fn);
    s->bat = malloc((size_t)s->bat_entries * 4 + 4);
    if (!s->bat)
        return err_set(errp, ENOMEM, _("out of memory"));
    r = blk_pread(bs->file, s->bat_offset, (uint64_t)s->bat_entries * 4, s->bat);
    if (r < 0) {
        free(s->bat);
        s->bat = NULL;
        return err_set_errno(errp, -r, _("cannot read '%s'"), fn);
    }
    uint64_t end = ALIGN_UP(s->bat_offset + (uint64_t)s->bat_entries * 4, (uint64_t)512);
    for (uint32_t i = 0; i < s->bat_entries; i++) {
        s->bat[i] = be32_get(&s->bat[i]);
        if (s->bat[i] != VPC_UNALLOCATED)
            end = MAX(end, (uint64_t)s->bat[i] * 512 + s->bitmap_size + s->block_size);
    }
    /* A block past the end of the file: the image was truncated or its
     * table is damaged.  Reading gives what is there; writing would place
     * new blocks behind that one, far away or over it, so it is refused
     * (as qemu does). */
    if ((flags & BLK_O_RDWR) && end > fsize) {
        free(s->bat);
        s->bat = NULL;
        return err_set(errp, EINVAL,
                       _("'%s': VHD block table points past the end of the file "
                         "(truncated image?); it can only be opened read-only"), fn);
    }
    /* Two entries sending guest blocks to overlapping places: a write
     * through one would change the other.  Read-only too. */
    if (flags & BLK_O_RDWR) {
        size_t n = 0, used = 0;
        for (uint32_t i = 0; i < s->bat_entries; i++)
            used += s->bat[i] != VPC_UNALLOCATED;
        uint64_t *at = malloc(used * 8 + 8), hit;     /* the file holds them all */
        if (!at) {
            free(s->bat);
            s->bat = NULL;
            return err_set(errp, ENOMEM, _("out of memory"));
        }
        for (uint32_t i = 0; i < s->bat_entries; i++)
            if (s->bat[i] != VPC_UNALLOCATED)
                at[n++] = (uint64_t)s->bat[i] * 512;
        hit = blk_find_overlap(at, n, (uint64_t)s->bitmap_size + s->block_size);
        free(at);
        if (hit != UINT64_MAX) {
            free(s->bat);
            s->bat = NULL;
            return err_set(errp, EINVAL,
                           _("'%s': two VHD blocks overlap at byte %" PRIu64
                             "; it can only be opened read-only"), fn, hit);
        }
    }
    s->free_offset = MAX(end, fsize >= 512 ? fsize - 512 : 0);
    return 0;
}

static void vpc_close(struct blk *bs)
{
    struct vpc *s = bs->opaque;
    free(s->bat);
}

/* Host offset of OFF (0: reads as zeros); *n is how far that holds. */
static int vpc_map(struct blk *bs, uint64_t off, uint64_t len, uint64_t *host, uint64_t *n)
{
    struct vpc *s = bs->opaque;
    if (s->type == VPC_FIXED) {
        *host = off;
        *n = len;
        return 1;
    }
    uint32_t bi = (uint32_t)(off / s->block_size);
    *n = MIN(len, s->block_size - off % s->block_size);
    uint32_t e = bi < s->bat_entries ? s->bat[bi] : VPC_UNALLOCATED;
    if (e == VPC_UNALLOCATED) {
        *host = 0;
        return 0;
    }
    uint64_t h = (uint64_t)e * 512 + s->bitmap_size + off % s->block_size;
    if (h + *n > (UINT64_C(1) << 62))
        return -EIO;
    *host = h;
    return 1;
}

static int vpc_preadv(struct blk *bs, uint64_t off, uint64_t len, const struct iovec *iov,
                      int iovcnt)
{
    struct iovec *sub = malloc(sizeof(*sub) * (size_t)iovcnt);
    if (!sub)
        return -ENOMEM;
    int r = 0;
    for (uint64_t done = 0; done < len && r >= 0;) {
        uint64_t host, n;
        r = vpc_map(bs, off + done, len - done, &host, &n);
        if (r == 0) {
            iov_memset(iov, iovcnt, done, 0, n);
        } else if (r > 0) {
            int k = iov_slice(iov, iovcnt, done, n, sub, iovcnt);
            r = blk_preadv(bs->file, host, n, sub, k);
        }
        done += n;
    }
    free(sub);
    return r < 0 ? r : 0;
}

static int vpc_write_footer(struct blk *bs, uint64_t at)
{
    struct vpc *s = bs->opaque;
    be32_put(s->footer + 64, 0);
    be32_put(s->footer + 64, vpc_checksum(s->footer, 512, 64));
    return blk_pwrite(bs->file, at, 512, s->footer);
}

static int vpc_pwritev(struct blk *bs, uint64_t off, uint64_t len, const struct iovec *iov,
                       int iovcnt)
{
    struct vpc *s = bs->opaque;
    struct iovec *sub = malloc(sizeof(*sub) * (size_t)iovcnt);
    if (!sub)
        return -ENOMEM;
    int r = 0;
    for (uint64_t done = 0; done < len && r >= 0;) {
        uint64_t pos = off + done, host, n;
        r = vpc_map(bs, pos, len - done, &host, &n);
        if (r > 0) {
            int k = iov_slice(iov, iovcnt, done, n, sub, iovcnt);
            r = blk_pwritev(bs->file, host, n, sub, k);
        } else if (r == 0) {
            /* New block where the footer is: bitmap (all set), data, then
             * the footer behind it, then the table entry. */
            uint32_t bi = (uint32_t)(pos / s->block_size);
            uint64_t at = ALIGN_UP(s->free_offset, (uint64_t)512);
            uint64_t total = (uint64_t)s->bitmap_size + s->block_size;
            /* the table holds 32-bit sector numbers, all ones meaning
             * "no block" */
            if (at / 512 >= VPC_UNALLOCATED) {
                r = -EFBIG;
                break;
            }
            uint8_t *blk = calloc(1, total);
            if (!blk) {
                r = -ENOMEM;
                break;
            }
            memset(blk, 0xff, s->bitmap_size);
            iov_to_buf(iov, iovcnt, done, blk + s->bitmap_size + pos % s->block_size, n);
            r = blk_pwrite(bs->file, at, total, blk);
            free(blk);
            if (r >= 0)
                r = vpc_write_footer(bs, at + total);
            if (r >= 0) {
                uint8_t e[4];
                be32_put(e, (uint32_t)(at / 512));
                r = blk_pwrite(bs->file, s->bat_offset + (uint64_t)bi * 4, 4, e);
            }
            if (r >= 0) {
                s->bat[bi] = (uint32_t)(at / 512);
                s->free_offset = at + total;
            }
        }
        done += n;
    }
    free(sub);
    return r < 0 ? r : 0;
}

static int vpc_block_status(struct blk *bs, uint64_t off, uint64_t len, uint64_t *pnum,
                            uint64_t *map, struct blk **file)
{
    struct vpc *s = bs->opaque;
    if (s->type == VPC_FIXED)   /* the file's own status, like raw */
        return blk_block_status(bs->file, off, len, pnum, map, file);
    uint64_t host, n;
    int r = vpc_map(bs, off, len, &host, &n);
    if (r < 0)
        return r;
    /* merge following blocks of the same kind */
    while (n < len) {
        uint64_t h2, n2;
        int r2 = vpc_map(bs, off + n, len - n, &h2, &n2);
        if (r2 != r || (r > 0 && h2 != host + n))
            break;
        n += n2;
    }
    *pnum = n;
    if (r == 0)
        return BLK_STATUS_ZERO | BLK_STATUS_ALLOCATED;
    *map = host;
    *file = bs->file;
    return BLK_STATUS_DATA | BLK_STATUS_ALLOCATED | BLK_STATUS_OFFSET;
}

static int vpc_get_info(struct blk *bs, struct blk_info *info)
{
    struct vpc *s = bs->opaque;
    info->cluster_size = s->type == VPC_DYNAMIC ? s->block_size : 0;
    return 0;
}

/* CHS geometry as the VHD specification computes it. */
static void vpc_geometry(uint64_t total, uint16_t *cyls, uint8_t *heads, uint8_t *secs)
{
    uint64_t cth;
    if (total > VPC_MAX_GEOMETRY)
        total = VPC_MAX_GEOMETRY;
    if (total >= 65535ull * 16 * 63) {
        *secs = 255;
        *heads = 16;
        cth = total / 255;
    } else {
        *secs = 17;
        cth = total / 17;
        uint64_t h = (cth + 1023) / 1024;
        if (h < 4)
            h = 4;
        if (cth >= h * 1024 || h > 16) {
            *secs = 31;
            h = 16;
            cth = total / 31;
        }
        if (cth >= h * 1024) {
            *secs = 63;
            h = 16;
            cth = total / 63;
        }
        *heads = (uint8_t)h;
    }
    *cyls = (uint16_t)(cth / *heads);
}

static int vpc_create(const char *filename, const struct blk_create_opts *o,
                      struct error **errp)
{
    if (o->backing_file)
        return err_set(errp, EINVAL, _("format '%s' does not support backing files"), "vpc");
    bool fixed = o->fixed;
    uint64_t want = DIV_ROUND_UP(o->size, (uint64_t)512);
    uint16_t cyls = 0;
    uint8_t heads = 0, secs = 0;
    /* The smallest geometry that covers the requested size (qemu's way). */
    for (uint64_t i = 0; i < 1u << 20; i++) {
        vpc_geometry(want + i, &cyls, &heads, &secs);
        if ((uint64_t)cyls * heads * secs >= want || want + i >= VPC_MAX_GEOMETRY)
            break;
    }
    uint64_t total = (uint64_t)cyls * heads * secs;
    uint64_t size = total == VPC_MAX_GEOMETRY ? want * 512 : total * 512;
    if (size > (UINT64_C(2040) << 30))
        return err_set(errp, EFBIG, _("image size is too large"));
    uint8_t f[512];
    memset(f, 0, sizeof(f));
    memcpy(f, "conectix", 8);
    be32_put(f + 8, 2);
    be32_put(f + 12, 0x00010000);
    be64_put(f + 16, fixed ? UINT64_MAX : 512);
    be32_put(f + 24, (uint32_t)(time(NULL) - 946684800));
    memcpy(f + 28, "qemu", 4);
    be32_put(f + 32, 0x00050003);
    memcpy(f + 36, "Wi2k", 4);
    be64_put(f + 40, size);
    be64_put(f + 48, size);
    be16_put(f + 56, cyls);
    f[58] = heads;
    f[59] = secs;
    be32_put(f + 60, fixed ? VPC_FIXED : VPC_DYNAMIC);
    if (getrandom(f + 68, 16, 0) != 16)
        memset(f + 68, 0x5a, 16);
    be32_put(f + 64, vpc_checksum(f, 512, 64));

    struct blk_create_opts fo = { .size = 0 };
    int r = blk_find_driver("file")->create(filename, &fo, errp);
    struct blk *file = NULL;
    if (r >= 0)
        r = blk_open_file(&file, filename, BLK_O_RDWR, errp);
    if (r < 0)
        return r;
    if (fixed) {
        r = blk_truncate(file, size, false, o->prealloc, errp);
        if (r >= 0)
            r = blk_pwrite(file, size, 512, f);
    } else {
        uint32_t entries = (uint32_t)DIV_ROUND_UP(size, (uint64_t)VPC_BLOCK_SIZE);
        uint64_t bat_bytes = ALIGN_UP((uint64_t)entries * 4, (uint64_t)512);
        uint8_t *buf = malloc(1536 + bat_bytes + 512);
        if (!buf) {
            blk_close(file);
            return err_set(errp, ENOMEM, _("out of memory"));
        }
        memset(buf, 0, 1536 + bat_bytes + 512);
        memcpy(buf, f, 512);
        uint8_t *d = buf + 512;
        memcpy(d, "cxsparse", 8);
        be64_put(d + 8, UINT64_MAX);
        be64_put(d + 16, 1536);
        be32_put(d + 24, 0x00010000);
        be32_put(d + 28, entries);
        be32_put(d + 32, VPC_BLOCK_SIZE);
        be32_put(d + 36, vpc_checksum(d, 1024, 36));
        memset(buf + 1536, 0xff, bat_bytes);
        memcpy(buf + 1536 + bat_bytes, f, 512);
        r = blk_pwrite(file, 0, 1536 + bat_bytes + 512, buf);
        free(buf);
    }
    if (r >= 0)
        r = blk_flush(file);
    if (r < 0 && errp && !*errp)
        err_set_errno(errp, -r, _("cannot write '%s'"), filename);
    blk_close(file);
    return r;
}

static const struct blk_opt_desc vpc_create_opts[] = {
    { "preallocation", "str", N_("Preallocation mode (allowed values: off, falloc, full)") },
    { "size", "size", N_("Virtual disk size") },
    { "subformat", "str", N_("Type of virtual hard disk format. Supported formats are "
                             "{dynamic (default) | fixed}") },
    { NULL, NULL, NULL },
};

const struct block_driver blk_drv_vpc = {
    .name = "vpc",
    .state_size = sizeof(struct vpc),
    .create_opts = vpc_create_opts,
    .probe = vpc_probe,
    .open = vpc_open,
    .close = vpc_close,
    .create = vpc_create,
    .preadv = vpc_preadv,
    .pwritev = vpc_pwritev,
    .block_status = vpc_block_status,
    .get_info = vpc_get_info,
    .anonymize = vpc_anonymize,
};
