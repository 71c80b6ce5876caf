/* vdi.c - the VirtualBox VDI format (version 1.1, dynamic and static).
 *
 * Layout: a 512-byte little-endian header, a block map of 32-bit entries
 * (one per 1 MiB block: the index of the block in the data area, or
 * 0xffffffff unallocated / 0xfffffffe discarded, both reading as zeros),
 * then the data blocks.  New blocks are appended: the data is written
 * before the map entry that points to it, so a crash leaves at most an
 * unreferenced block.  The core serialises requests (not thread-safe). */
#include <config.h>

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include "i18n.h"
#include "msg.h"
#include "block.h"
#include "anon.h"

#define VDI_SIGNATURE 0xbeda107fu
#define VDI_VERSION 0x00010001u
#define VDI_BLOCK_SIZE (1u << 20)
#define VDI_UNALLOCATED 0xffffffffu
#define VDI_DISCARDED 0xfffffffeu
#define VDI_MAX_BLOCKS (0x3fffffffu / 4)
#define VDI_TEXT "<<< QEMU VM Virtual Disk Image >>>\n"

struct vdi {
    uint32_t image_type;
    uint32_t offset_bmap, offset_data;
    uint32_t blocks, allocated;
    int map_checked;         /* 0 not yet, 1 sound (vdi_check_map), -1 not */
    uint32_t *bmap;          /* host-endian */
    uint8_t header[512];
};

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static void put_le64(uint8_t *p, uint64_t v)
{
    put_le32(p, (uint32_t)v);
    put_le32(p + 4, (uint32_t)(v >> 32));
}

static int vdi_probe(const uint8_t *buf, size_t len, const char *filename)
{
    return len >= 0x48 && le32(buf + 0x40) == VDI_SIGNATURE ? 100 : 0;
}

static int vdi_open(struct blk *bs, int flags, struct error **errp)
{
    struct vdi *s = bs->opaque;
    const char *fn = bs->filename;
    if (bs->file->size < 512)
        return err_set(errp, EINVAL, _("'%s': VDI header is truncated"), fn);
    int r = blk_pread(bs->file, 0, 512, s->header);
    if (r < 0)
        return err_set_errno(errp, -r, _("cannot read '%s'"), fn);
    const uint8_t *h = s->header;
    if (le32(h + 0x40) != VDI_SIGNATURE)
        return err_set(errp, EINVAL, _("'%s': not a VDI image"), fn);
    if (le32(h + 0x44) != VDI_VERSION)
        return err_set(errp, ENOTSUP, _("'%s': unsupported VDI version 0x%08x"), fn,
                       le32(h + 0x44));
    s->image_type = le32(h + 0x4c);
    s->offset_bmap = le32(h + 0x154);
    s->offset_data = le32(h + 0x158);
    uint32_t sector = le32(h + 0x168);
    uint64_t size = le64(h + 0x170);
    uint32_t bsize = le32(h + 0x178), extra = le32(h + 0x17c);
    s->blocks = le32(h + 0x180);
    s->allocated = le32(h + 0x184);
    if (s->image_type != 1 && s->image_type != 2)
        return err_set(errp, ENOTSUP, _("'%s': unsupported VDI image type %u"), fn,
                       s->image_type);
    if (sector != 512 || bsize != VDI_BLOCK_SIZE || extra != 0)
        return err_set(errp, ENOTSUP, _("'%s': unsupported VDI block layout"), fn);
    if (s->blocks > VDI_MAX_BLOCKS || size > (uint64_t)s->blocks * VDI_BLOCK_SIZE ||
        s->allocated > s->blocks)
        return err_set(errp, EINVAL, _("'%s': invalid VDI disk size or block count"), fn);
    uint64_t bmap_bytes = (uint64_t)s->blocks * 4;
    if (s->offset_bmap % 512 || s->offset_data % 512 || s->offset_bmap < 512 ||
        s->offset_bmap + bmap_bytes > s->offset_data ||
        s->offset_bmap + bmap_bytes > bs->file->size)
        return err_set(errp, EINVAL, _("'%s': VDI block map lies outside the file"), fn);
    s->bmap = malloc(bmap_bytes ? bmap_bytes : 4);
    if (!s->bmap)
        return err_set(errp, ENOMEM, _("out of memory"));
    r = blk_pread(bs->file, s->offset_bmap, bmap_bytes, s->bmap);
    if (r < 0) {
        free(s->bmap);
        s->bmap = NULL;
        return err_set_errno(errp, -r, _("cannot read '%s'"), fn);
    }
    for (uint32_t i = 0; i < s->blocks; i++)
        s->bmap[i] = le32((uint8_t *)&s->bmap[i]);
    bs->size = size;
    return 0;
}

static void vdi_close(struct blk *bs)
{
    struct vdi *s = bs->opaque;
    free(s->bmap);
}

static bool vdi_allocated(uint32_t e)
{
    return e != VDI_UNALLOCATED && e != VDI_DISCARDED;
}

/* Host offset of guest OFF, or 0 when the block reads as zeros. */
static int vdi_map(struct blk *bs, uint64_t off, uint64_t *host)
{
    struct vdi *s = bs->opaque;
    uint32_t e = s->bmap[off / VDI_BLOCK_SIZE];
    *host = 0;
    if (!vdi_allocated(e))
        return 0;
    if (e >= s->blocks)
        return -EIO;  /* a hostile map entry */
    *host = s->offset_data + (uint64_t)e * VDI_BLOCK_SIZE + off % VDI_BLOCK_SIZE;
    return 0;
}

static int vdi_preadv(struct blk *bs, uint64_t off, uint64_t len, const struct iovec *iov,
                      int iovcnt)
{
    struct iovec *sub = malloc(sizeof(*sub) * (size_t)iovcnt);
    if (!sub)
        return -ENOMEM;
    int r = 0;
    for (uint64_t done = 0; done < len && r >= 0;) {
        uint64_t pos = off + done;
        uint64_t n = MIN(len - done, VDI_BLOCK_SIZE - pos % VDI_BLOCK_SIZE);
        uint64_t host;
        r = vdi_map(bs, pos, &host);
        if (r >= 0 && !host) {
            iov_memset(iov, iovcnt, done, 0, n);
        } else if (r >= 0) {
            int k = iov_slice(iov, iovcnt, done, n, sub, iovcnt);
            r = blk_preadv(bs->file, host, n, sub, k);
        }
        done += n;
    }
    free(sub);
    return r;
}

static int vdi_write_header(struct blk *bs)
{
    struct vdi *s = bs->opaque;
    put_le32(s->header + 0x184, s->allocated);
    return blk_pwrite(bs->file, 0, 512, s->header);
}

static int vdi_write_bmap_entry(struct blk *bs, uint32_t i)
{
    struct vdi *s = bs->opaque;
    uint8_t sec[512];
    uint32_t first = i / 128 * 128;
    for (uint32_t k = 0; k < 128; k++)
        put_le32(sec + 4 * k, first + k < s->blocks ? s->bmap[first + k] : 0);
    uint64_t len = MIN((uint64_t)512, ((uint64_t)s->blocks - first) * 4);
    return blk_pwrite(bs->file, s->offset_bmap + (uint64_t)first * 4, len, sec);
}

/* Before the first write of a session: may the map be written through?
 * A damaged map can send two guest blocks to one data block (a write to
 * one would change the other), and a damaged header can count fewer data
 * blocks than the map uses (a new block would overwrite one in use).
 * The first refuses every write, once with a warning; the second only
 * moves new blocks behind every block in use. */
static int vdi_check_map(struct blk *bs)
{
    struct vdi *s = bs->opaque;
    if (s->map_checked)
        return s->map_checked > 0 ? 0 : -EIO;
    uint8_t *seen = calloc(1, s->blocks / 8 + 1);
    if (!seen)
        return -ENOMEM;
    s->map_checked = 1;
    for (uint32_t i = 0; i < s->blocks && s->map_checked > 0; i++) {
        uint32_t e = s->bmap[i];
        if (!vdi_allocated(e) || e >= s->blocks)
            continue;           /* past the end: vdi_map fails those */
        if (seen[e / 8] & (1u << (e % 8))) {
            msg_warn(_("'%s': data block %u is used by more than one guest block; "
                       "the image can only be read (emu-img check lists them)"),
                     bs->filename, e);
            s->map_checked = -1;
        }
        seen[e / 8] |= (uint8_t)(1u << (e % 8));
        if (e >= s->allocated)
            s->allocated = e + 1;
    }
    free(seen);
    return s->map_checked > 0 ? 0 : -EIO;
}

static int vdi_pwritev(struct blk *bs, uint64_t off, uint64_t len, const struct iovec *iov,
                       int iovcnt)
{
    struct vdi *s = bs->opaque;
    int r = vdi_check_map(bs);
    if (r < 0)
        return r;
    struct iovec *sub = malloc(sizeof(*sub) * (size_t)iovcnt);
    if (!sub)
        return -ENOMEM;
    for (uint64_t done = 0; done < len && r >= 0;) {
        uint64_t pos = off + done;
        uint32_t bi = (uint32_t)(pos / VDI_BLOCK_SIZE);
        uint64_t n = MIN(len - done, VDI_BLOCK_SIZE - pos % VDI_BLOCK_SIZE);
        uint64_t host;
        r = vdi_map(bs, pos, &host);
        if (r < 0)
            break;
        if (host) {
            int k = iov_slice(iov, iovcnt, done, n, sub, iovcnt);
            r = blk_pwritev(bs->file, host, n, sub, k);
        } else {
            /* A new block at the end: data first, then the map entry. */
            uint8_t *blk = calloc(1, VDI_BLOCK_SIZE);
            if (!blk) {
                r = -ENOMEM;
                break;
            }
            iov_to_buf(iov, iovcnt, done, blk + pos % VDI_BLOCK_SIZE, n);
            uint32_t idx = s->allocated;
            if (idx >= s->blocks) {
                free(blk);
                r = -EIO;       /* only a damaged map uses every block */
                break;
            }
            r = blk_pwrite(bs->file, s->offset_data + (uint64_t)idx * VDI_BLOCK_SIZE,
                           VDI_BLOCK_SIZE, blk);
            free(blk);
            if (r >= 0) {
                s->bmap[bi] = idx;
                s->allocated++;
                r = vdi_write_bmap_entry(bs, bi);
            }
            if (r >= 0)
                r = vdi_write_header(bs);
        }
        done += n;
    }
    free(sub);
    return r;
}

static int vdi_block_status(struct blk *bs, uint64_t off, uint64_t len, uint64_t *pnum,
                            uint64_t *map, struct blk **file)
{
    struct vdi *s = bs->opaque;
    uint64_t host;
    int r = vdi_map(bs, off, &host);
    if (r < 0)
        return r;
    uint64_t n = MIN(len, VDI_BLOCK_SIZE - off % VDI_BLOCK_SIZE);
    /* extend over following blocks of the same kind */
    for (uint64_t p = off + n; p < off + len; p += VDI_BLOCK_SIZE) {
        uint64_t h2;
        if (vdi_map(bs, p, &h2) < 0 || (host ? h2 != host + (p - off) : h2 != 0))
            break;
        n = MIN(len, p + VDI_BLOCK_SIZE - off);
    }
    *pnum = n;
    if (!host)
        return BLK_STATUS_ZERO | BLK_STATUS_ALLOCATED;
    *map = host;
    *file = bs->file;
    /* static images are preallocated: holes in the file read as zeros */
    return BLK_STATUS_DATA | BLK_STATUS_ALLOCATED | BLK_STATUS_OFFSET |
           (s->image_type == 2 ? BLK_STATUS_RECURSE : 0);
}

static int vdi_check(struct blk *bs, struct blk_check *res, int fix, struct error **errp)
{
    struct vdi *s = bs->opaque;
    uint32_t *owner = malloc((size_t)(s->blocks ? s->blocks : 1) * 4);
    if (!owner)
        return err_set(errp, ENOMEM, _("out of memory"));
    memset(owner, 0xff, (size_t)(s->blocks ? s->blocks : 1) * 4);
    uint32_t used = 0;
    for (uint32_t i = 0; i < s->blocks; i++) {
        uint32_t e = s->bmap[i];
        if (!vdi_allocated(e))
            continue;
        used++;
        if (e >= s->blocks) {
            if (res->report)
                fprintf(res->report, "ERROR: block index %u too large, is %u\n", i, e);
            res->corruptions++;
        } else if (owner[e] != VDI_UNALLOCATED) {
            if (res->report)
                fprintf(res->report, "ERROR: block index %u also used by %u\n", owner[e], i);
            res->corruptions++;
        } else {
            owner[e] = i;
        }
    }
    free(owner);
    if (used != s->allocated) {
        if (res->report)
            fprintf(res->report, "ERROR: allocated blocks mismatch, is %u, should be %u\n",
                    used, s->allocated);
        res->corruptions++;
    }
    return 0;
}

static int vdi_get_info(struct blk *bs, struct blk_info *info)
{
    info->cluster_size = VDI_BLOCK_SIZE;
    return 0;
}

static int vdi_create(const char *filename, const struct blk_create_opts *o,
                      struct error **errp)
{
    if (o->backing_file)
        return err_set(errp, EINVAL, _("format '%s' does not support backing files"), "vdi");
    uint64_t size = ALIGN_UP(o->size, (uint64_t)512);
    uint64_t blocks = DIV_ROUND_UP(size, VDI_BLOCK_SIZE);
    if (blocks > VDI_MAX_BLOCKS)
        return err_set(errp, EFBIG, _("image size is too large"));
    bool fixed = o->fixed;
    uint64_t bmap_bytes = ALIGN_UP(blocks * 4, (uint64_t)512);
    uint64_t data = 512 + bmap_bytes;
    uint8_t *buf = calloc(1, data);
    if (!buf)
        return err_set(errp, ENOMEM, _("out of memory"));
    memcpy(buf, VDI_TEXT, strlen(VDI_TEXT));
    put_le32(buf + 0x40, VDI_SIGNATURE);
    put_le32(buf + 0x44, VDI_VERSION);
    put_le32(buf + 0x48, 0x180);
    put_le32(buf + 0x4c, fixed ? 2 : 1);
    put_le32(buf + 0x154, 512);
    put_le32(buf + 0x158, (uint32_t)data);
    put_le32(buf + 0x168, 512);
    put_le64(buf + 0x170, size);
    put_le32(buf + 0x178, VDI_BLOCK_SIZE);
    put_le32(buf + 0x180, (uint32_t)blocks);
    put_le32(buf + 0x184, fixed ? (uint32_t)blocks : 0);
    if (getrandom(buf + 0x188, 32, 0) != 32)
        memset(buf + 0x188, 0x5a, 32);
    buf[0x188 + 6] = (uint8_t)((buf[0x188 + 6] & 0x0f) | 0x40);  /* UUID v4 */
    buf[0x198 + 6] = (uint8_t)((buf[0x198 + 6] & 0x0f) | 0x40);
    for (uint64_t i = 0; i < blocks; i++)
        put_le32(buf + 512 + 4 * i, fixed ? (uint32_t)i : VDI_UNALLOCATED);
    struct blk_create_opts fo = { .size = 0 };
    int r = blk_find_driver("file")->create(filename, &fo, errp);
    struct blk *f = NULL;
    if (r >= 0)
        r = blk_open_file(&f, filename, BLK_O_RDWR, errp);
    if (r >= 0) {
        r = blk_pwrite(f, 0, data, buf);
        if (r >= 0 && fixed)
            r = blk_truncate(f, data + blocks * VDI_BLOCK_SIZE, false, BLK_PREALLOC_OFF, errp);
        if (r >= 0)
            r = blk_flush(f);
        if (r < 0 && errp && !*errp)
            err_set_errno(errp, -r, _("cannot write '%s'"), filename);
        blk_close(f);
    }
    free(buf);
    return r;
}

static const struct blk_opt_desc vdi_create_opts[] = {
    { "preallocation", "str", N_("Preallocation mode (allowed values: off, falloc, full)") },
    { "size", "size", N_("Virtual disk size") },
    { "static", "bool", N_("VDI static (pre-allocated) image") },
    { NULL, NULL, NULL },
};

const struct block_driver blk_drv_vdi = {
    .name = "vdi",
    .state_size = sizeof(struct vdi),
    .create_opts = vdi_create_opts,
    .probe = vdi_probe,
    .open = vdi_open,
    .close = vdi_close,
    .create = vdi_create,
    .preadv = vdi_preadv,
    .pwritev = vdi_pwritev,
    .block_status = vdi_block_status,
    .get_info = vdi_get_info,
    .check = vdi_check,
    .anonymize = vdi_anonymize,
};
