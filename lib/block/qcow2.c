/* qcow2.c - the qcow2 format driver: header and extensions, open and close,
 * image information and the driver table.  See qcow2.h for the file map
 * and the crash-ordering rules. */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "i18n.h"
#include "log.h"
#include "msg.h"
#include "anon.h"
#include "qcow2.h"

static const char *const qcow2_default_feature_names[3][8] = {
    { "dirty bit", "corrupt bit", "external data file", "compression type",
      "extended L2 entries" },
    { "lazy refcounts" },
    { "bitmaps", "raw external data" },
};

static int qcow2_probe(const uint8_t *buf, size_t len, const char *filename)
{
    /* Any version >= 2 is ours, so that an unsupported one is reported as
     * such instead of being treated as raw data. */
    if (len >= 8 && be32_get(buf) == QCOW2_MAGIC && be32_get(buf + 4) >= 2)
        return 100;
    return 0;
}

int qcow2_read_table(struct blk *bs, uint64_t off, uint64_t n, uint64_t *out)
{
    int r = blk_pread(bs->file, off, n * 8, out);
    if (r < 0)
        return r;
    for (uint64_t i = 0; i < n; i++)
        out[i] = be64_get(&out[i]);
    return 0;
}

int qcow2_write_table(struct blk *bs, uint64_t off, uint64_t n, const uint64_t *tbl)
{
    uint64_t *buf = malloc(n ? n * 8 : 1);
    if (!buf)
        return -ENOMEM;
    for (uint64_t i = 0; i < n; i++)
        be64_put(&buf[i], tbl[i]);
    /* a new table, in clusters just allocated for it */
    int r = qcow2_check_overlap(bs, off, n * 8, 0);
    if (r >= 0)
        r = blk_pwrite(bs->file, off, n * 8, buf);
    free(buf);
    return r;
}

int qcow2_write_l1_entry(struct blk *bs, uint32_t idx)
{
    struct qcow2 *s = bs->opaque;
    uint8_t b[8];
    be64_put(b, s->l1[idx]);
    int r = qcow2_check_overlap(bs, s->l1_offset + (uint64_t)idx * 8, 8, QCOW2_OL_L1);
    return r < 0 ? r : blk_pwrite(bs->file, s->l1_offset + (uint64_t)idx * 8, 8, b);
}

static void qcow2_put_ext(uint8_t *buf, size_t *pos, uint32_t type, const void *data,
                          uint32_t len)
{
    be32_put(buf + *pos, type);
    be32_put(buf + *pos + 4, len);
    if (len)
        memcpy(buf + *pos + 8, data, len);
    *pos += 8 + ALIGN_UP((size_t)len, (size_t)8);
}

/* Rewrite cluster 0: header fields, extensions (backing format, feature
 * names, preserved ones), backing file name. */
int qcow2_write_header(struct blk *bs)
{
    struct qcow2 *s = bs->opaque;
    size_t cs = (size_t)s->cluster_size;
    uint8_t *buf = calloc(1, cs);
    if (!buf)
        return -ENOMEM;
    uint32_t hlen = s->version >= 3 ? MAX(s->header_length, 104u) : 72;
    if (s->version >= 3 && s->compression_type && hlen < 112)
        hlen = 112;
    be32_put(buf, QCOW2_MAGIC);
    be32_put(buf + 4, s->version);
    be32_put(buf + 20, s->cluster_bits);
    be64_put(buf + 24, bs->size);
    be32_put(buf + 36, s->l1_size);
    be64_put(buf + 40, s->l1_offset);
    be64_put(buf + 48, s->rt_offset);
    be32_put(buf + 56, s->rt_clusters);
    be32_put(buf + 60, s->nb_snapshots);
    be64_put(buf + 64, s->snapshots_offset);
    if (s->version >= 3) {
        be64_put(buf + 72, s->incompat);
        be64_put(buf + 80, s->compat);
        be64_put(buf + 88, s->autoclear);
        be32_put(buf + 96, s->refcount_order);
        be32_put(buf + 100, hlen);
        if (hlen > 104)
            buf[104] = (uint8_t)s->compression_type;
    }
    size_t pos = hlen;
    size_t bflen = bs->backing_file ? strlen(bs->backing_file) : 0;
    size_t need = pos + 8 + bflen;
    if (bs->backing_fmt)
        need += 8 + ALIGN_UP(strlen(bs->backing_fmt), (size_t)8);
    for (int i = 0; i < s->nexts; i++)
        need += 8 + ALIGN_UP((size_t)s->exts[i].len, (size_t)8);
    if (need > cs) {
        free(buf);
        return -ENOSPC;
    }
    if (bs->backing_fmt)
        qcow2_put_ext(buf, &pos, QCOW2_EXT_BACKING_FMT, bs->backing_fmt,
                      (uint32_t)strlen(bs->backing_fmt));
    /* Feature-name table: written when it fits. */
    size_t ftlen = 0;
    for (int t = 0; t < 3; t++)
        for (int b = 0; b < 8; b++)
            if (qcow2_default_feature_names[t][b])
                ftlen += 48;
    if (need + 8 + ftlen <= cs) {
        uint8_t *ft = buf + pos + 8;
        size_t k = 0;
        for (int t = 0; t < 3; t++) {
            for (int b = 0; b < 8; b++) {
                const char *n = qcow2_default_feature_names[t][b];
                if (!n)
                    continue;
                ft[k * 48] = (uint8_t)t;
                ft[k * 48 + 1] = (uint8_t)b;
                strncpy((char *)ft + k * 48 + 2, n, 46);
                k++;
            }
        }
        be32_put(buf + pos, QCOW2_EXT_FEATURES);
        be32_put(buf + pos + 4, (uint32_t)ftlen);
        pos += 8 + ftlen;
    }
    for (int i = 0; i < s->nexts; i++)
        qcow2_put_ext(buf, &pos, s->exts[i].type, s->exts[i].data, s->exts[i].len);
    pos += 8; /* end marker (zeros) */
    if (bflen) {
        memcpy(buf + pos, bs->backing_file, bflen);
        be64_put(buf + 8, pos);
        be32_put(buf + 16, (uint32_t)bflen);
        pos += bflen;
    }
    /* Never write past the original header cluster contents we own. */
    int r = blk_pwrite(bs->file, 0, cs, buf);
    free(buf);
    s->header_dirty = false;
    return r;
}

/* Set the in-use flag of every persistent bitmap (directory rewritten in
 * place; it is owned by this image). */
static int qcow2_bitmaps_mark_in_use(struct blk *bs)
{
    struct qcow2 *s = bs->opaque;
    for (int i = 0; i < s->nexts; i++) {
        if (s->exts[i].type != QCOW2_EXT_BITMAPS || s->exts[i].len < 24)
            continue;
        const uint8_t *ext = s->exts[i].data;
        uint32_t nb = be32_get(ext);
        uint64_t dsize = be64_get(ext + 8), doff = be64_get(ext + 16);
        /* the directory is rewritten in place: it must be where the
         * specification puts it (a cluster of its own, in the file) and
         * must not cover other metadata */
        if (dsize > (64u << 20) || doff > bs->file->size || dsize > bs->file->size - doff)
            return qcow2_mark_corrupt(bs, "bitmap directory lies outside the file");
        if (!doff || qcow2_offset_into_cluster(s, doff))
            return qcow2_mark_corrupt(bs, "bitmap directory offset 0x%" PRIx64 " is invalid",
                                      doff);
        int r = qcow2_check_overlap(bs, doff, dsize, 0);
        if (r < 0)
            return r;
        uint8_t *dir = malloc(dsize ? dsize : 1);
        if (!dir)
            return -ENOMEM;
        r = blk_pread(bs->file, doff, dsize, dir);
        uint64_t pos = 0;
        for (uint32_t k = 0; r >= 0 && k < nb && pos + 24 <= dsize; k++) {
            be32_put(dir + pos + 12, be32_get(dir + pos + 12) | 1);
            pos = ALIGN_UP(pos + 24 + (uint64_t)be32_get(dir + pos + 20) +
                           be16_get(dir + pos + 18), (uint64_t)8);
        }
        if (r >= 0)
            r = blk_pwrite(bs->file, doff, dsize, dir);
        free(dir);
        if (r < 0)
            return r;
    }
    return blk_flush(bs->file);
}

/* Called before the first write of a session: sets the dirty bit for lazy
 * refcounts and clears autoclear bits we do not maintain (the bitmaps
 * extension data itself is kept byte for byte). */
int qcow2_mark_dirty(struct blk *bs)
{
    struct qcow2 *s = bs->opaque;
    if (s->broken)
        return -EIO;
    if (s->dirty_marked)
        return 0;
    bool change = false;
    if (s->version >= 3 && (s->compat & QCOW2_COMPAT_LAZY) &&
        !(s->incompat & QCOW2_INCOMPAT_DIRTY)) {
        s->incompat |= QCOW2_INCOMPAT_DIRTY;
        change = true;
    }
    if (s->autoclear & QCOW2_AUTOCLEAR_BITMAPS) {
        /* emu does not update persistent bitmaps: mark them in use, i.e.
         * inconsistent, as qemu does after a crash.  They stay valid
         * metadata that qemu-img check accounts for. */
        int r = qcow2_bitmaps_mark_in_use(bs);
        if (r < 0)
            return r;
    }
    if (s->autoclear & ~QCOW2_AUTOCLEAR_BITMAPS) {
        s->autoclear &= QCOW2_AUTOCLEAR_BITMAPS;
        change = true;
    }
    int r = change ? qcow2_write_header(bs) : 0;
    if (r >= 0 && change)
        r = blk_flush(bs->file);
    /* only once it is all on disk: a failure is tried again next write */
    if (r >= 0)
        s->dirty_marked = true;
    return r;
}

int qcow2_mark_corrupt(struct blk *bs, const char *fmt, ...)
{
    struct qcow2 *s = bs->opaque;
    va_list ap;
    char msg[256];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (log_on(LOG_FORMAT))
        log_msg(LOG_FORMAT, "%s: marking image corrupt: %s", bs->filename, msg);
    /* as in qemu, the rest of the session writes nothing more: another
     * write could spread the damage (see qcow2_mark_dirty) */
    s->broken = true;
    if (!bs->read_only && s->version >= 3 && !(s->incompat & QCOW2_INCOMPAT_CORRUPT)) {
        /* once per image, like qemu: the user must learn why writes now
         * fail and that the image needs `check -r` */
        msg_warn(_("'%s': marking the image corrupt: %s"), bs->filename, msg);
        s->incompat |= QCOW2_INCOMPAT_CORRUPT;
        qcow2_write_header(bs);
        blk_flush(bs->file);
    }
    return -EIO;
}

static void qcow2_free_state(struct qcow2 *s)
{
    free(s->l1);
    s->l1 = NULL;
    free(s->rt);
    s->rt = NULL;
    for (int i = 0; i < s->nexts; i++)
        free(s->exts[i].data);
    free(s->exts);
    s->exts = NULL;
    s->nexts = 0;
    for (int t = 0; t < 3; t++)
        for (int b = 0; b < 64; b++) {
            free(s->feature_names[t][b]);
            s->feature_names[t][b] = NULL;
        }
    qcow2_free_snapshots(s);
}

static int qcow2_add_ext(struct qcow2 *s, uint32_t type, const uint8_t *data, uint32_t len)
{
    struct qcow2_ext *n = realloc(s->exts, sizeof(*n) * (size_t)(s->nexts + 1));
    if (!n)
        return -ENOMEM;
    s->exts = n;
    n[s->nexts].type = type;
    n[s->nexts].len = len;
    n[s->nexts].data = malloc(len ? len : 1);
    if (!n[s->nexts].data)
        return -ENOMEM;
    memcpy(n[s->nexts].data, data, len);
    s->nexts++;
    return 0;
}

static int qcow2_parse_exts(struct blk *bs, const uint8_t *hdr, size_t hlen, size_t end,
                            struct error **errp)
{
    struct qcow2 *s = bs->opaque;
    size_t pos = hlen;
    while (pos + 8 <= end) {
        uint32_t type = be32_get(hdr + pos);
        uint32_t len = be32_get(hdr + pos + 4);
        pos += 8;
        if (type == QCOW2_EXT_END)
            return 0;
        if (len > end - pos)
            return err_set(errp, EINVAL, _("'%s': header extension 0x%x is too large"),
                           bs->filename, type);
        const uint8_t *d = hdr + pos;
        switch (type) {
        case QCOW2_EXT_BACKING_FMT:
            if (len > 1023)
                return err_set(errp, EINVAL, _("'%s': backing format name is too long"),
                               bs->filename);
            free(bs->backing_fmt);
            bs->backing_fmt = strndup((const char *)d, len);
            if (!bs->backing_fmt)
                return -ENOMEM;
            break;
        case QCOW2_EXT_FEATURES:
            for (uint32_t k = 0; k + 48 <= len; k += 48) {
                unsigned t = d[k], b = d[k + 1];
                if (t < 3 && b < 64 && !s->feature_names[t][b])
                    s->feature_names[t][b] = strndup((const char *)d + k + 2, 46);
            }
            break;
        case QCOW2_EXT_CRYPTO:
            return err_set(errp, ENOTSUP, _("'%s': encrypted images are not supported yet"),
                           bs->filename);
        case QCOW2_EXT_DATA_FILE:
            return err_set(errp, ENOTSUP,
                           _("'%s': external data files are not supported yet"),
                           bs->filename);
        default:
            /* Bitmaps and unknown extensions are kept verbatim. */
            if (qcow2_add_ext(s, type, d, len) < 0)
                return err_set(errp, ENOMEM, _("out of memory"));
            break;
        }
        pos += ALIGN_UP((size_t)len, (size_t)8);
    }
    return 0;
}

static int qcow2_open(struct blk *bs, int flags, struct error **errp)
{
    struct qcow2 *s = bs->opaque;
    const char *fn = bs->filename;
    uint8_t h[112];
    memset(h, 0, sizeof(h));
    pthread_mutex_init(&s->lock, NULL);

    if (bs->file->size < 72)
        return err_set(errp, EINVAL, _("'%s': qcow2 header is truncated"), fn);
    int r = blk_pread(bs->file, 0, MIN(sizeof(h), bs->file->size), h);
    if (r < 0)
        return err_set_errno(errp, -r, _("cannot read '%s'"), fn);
    if (be32_get(h) != QCOW2_MAGIC)
        return err_set(errp, EINVAL, _("'%s': not a qcow2 image"), fn);
    s->version = be32_get(h + 4);
    if (s->version < 2 || s->version > 3)
        return err_set(errp, ENOTSUP, _("'%s': unsupported qcow2 version %u"), fn,
                       s->version);
    s->cluster_bits = be32_get(h + 20);
    if (s->cluster_bits < QCOW2_MIN_CLUSTER_BITS || s->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
        return err_set(errp, EINVAL, _("'%s': invalid cluster size (2^%u)"), fn,
                       s->cluster_bits);
    s->cluster_size = UINT64_C(1) << s->cluster_bits;
    bs->size = be64_get(h + 24);
    if (be32_get(h + 32) != 0)
        return err_set(errp, ENOTSUP, _("'%s': encrypted images are not supported yet"), fn);
    s->l1_size = be32_get(h + 36);
    s->l1_offset = be64_get(h + 40);
    s->rt_offset = be64_get(h + 48);
    s->rt_clusters = be32_get(h + 56);
    s->nb_snapshots = be32_get(h + 60);
    s->snapshots_offset = be64_get(h + 64);
    if (s->version >= 3) {
        if (bs->file->size < 104)
            return err_set(errp, EINVAL, _("'%s': qcow2 header is truncated"), fn);
        s->incompat = be64_get(h + 72);
        s->compat = be64_get(h + 80);
        s->autoclear = be64_get(h + 88);
        s->refcount_order = be32_get(h + 96);
        s->header_length = be32_get(h + 100);
        if (s->header_length < 104 || s->header_length % 8 ||
            s->header_length > s->cluster_size)
            return err_set(errp, EINVAL, _("'%s': invalid qcow2 header length %u"), fn,
                           s->header_length);
    } else {
        s->refcount_order = 4;
        s->header_length = 72;
    }
    if (s->refcount_order > 6)
        return err_set(errp, EINVAL, _("'%s': invalid refcount width (2^%u bits)"), fn,
                       s->refcount_order);
    s->refcount_bits = 1u << s->refcount_order;
    s->refcount_max = s->refcount_bits == 64 ? UINT64_MAX
                                             : (UINT64_C(1) << s->refcount_bits) - 1;
    s->rb_entries = s->cluster_size * 8 / s->refcount_bits;

    /* Header extensions and the feature table live in cluster 0. */
    size_t end = (size_t)MIN(s->cluster_size, bs->file->size);
    uint8_t *hdr = calloc(1, end);
    if (!hdr)
        return err_set(errp, ENOMEM, _("out of memory"));
    r = blk_pread(bs->file, 0, end, hdr);
    if (r >= 0)
        r = qcow2_parse_exts(bs, hdr, s->header_length, end, errp);
    else
        err_set_errno(errp, -r, _("cannot read '%s'"), fn);
    if (r >= 0 && s->header_length > 104 && end > 104)
        s->compression_type = hdr[104];
    free(hdr);
    if (r < 0)
        goto fail;

    if (s->incompat & ~QCOW2_INCOMPAT_KNOWN) {
        char names[512] = "";
        for (int b = 0; b < 64; b++) {
            if (!(s->incompat & ~QCOW2_INCOMPAT_KNOWN & (UINT64_C(1) << b)))
                continue;
            size_t l = strlen(names);
            if (s->feature_names[0][b])
                snprintf(names + l, sizeof(names) - l, "%s%s", l ? ", " : "",
                         s->feature_names[0][b]);
            else
                snprintf(names + l, sizeof(names) - l, "%sUnknown incompatible feature: %llx",
                         l ? ", " : "", 1ull << b);
        }
        r = err_set(errp, ENOTSUP, _("'%s': unsupported qcow2 feature(s): %s"), fn, names);
        goto fail;
    }
    if (s->incompat & QCOW2_INCOMPAT_DATA_FILE) {
        r = err_set(errp, ENOTSUP, _("'%s': external data files are not supported yet"), fn);
        goto fail;
    }
    if (s->incompat & QCOW2_INCOMPAT_COMPRESSION) {
        if (s->compression_type > 1) {
            r = err_set(errp, ENOTSUP, _("'%s': unknown compression type %d"), fn,
                        s->compression_type);
            goto fail;
        }
    } else if (s->compression_type != 0) {
        r = err_set(errp, EINVAL, _("'%s': compression type set without its feature bit"), fn);
        goto fail;
    }
    s->ext_l2 = (s->incompat & QCOW2_INCOMPAT_EXTL2) != 0;
    if (s->ext_l2 && s->cluster_bits < 14) {
        r = err_set(errp, EINVAL, _("'%s': extended L2 entries need clusters of 16 KiB or more"),
                    fn);
        goto fail;
    }
    if ((s->incompat & QCOW2_INCOMPAT_CORRUPT) && (flags & BLK_O_RDWR) &&
        !(flags & BLK_O_NO_REPAIR)) {
        r = err_set(errp, EIO, _("'%s': qcow2 image is corrupt; cannot be opened read/write"),
                    fn);
        goto fail;
    }
    s->l2_entry_size = s->ext_l2 ? 16 : 8;
    s->l2_entries = s->cluster_size / s->l2_entry_size;
    s->l2_bits = s->cluster_bits - (s->ext_l2 ? 4 : 3);
    s->subcluster_size = s->ext_l2 ? s->cluster_size / 32 : s->cluster_size;
    s->csize_shift = 62 - (s->cluster_bits - 8);
    s->csize_mask = (UINT64_C(1) << (s->cluster_bits - 8)) - 1;
    s->cmask = (UINT64_C(1) << s->csize_shift) - 1;

    /* Sizes and tables: every number is checked against the file. */
    uint64_t fsize = bs->file->size;
    if (bs->size > (UINT64_C(1) << 55)) {
        r = err_set(errp, EINVAL, _("'%s': image size %" PRIu64 " is too large"), fn, bs->size);
        goto fail;
    }
    uint64_t l2_span = s->cluster_size * s->l2_entries;
    uint64_t need_l1 = DIV_ROUND_UP(bs->size, l2_span);
    if ((uint64_t)s->l1_size * 8 > QCOW2_MAX_L1_BYTES || s->l1_size < need_l1) {
        r = err_set(errp, EINVAL, _("'%s': invalid L1 table size %u"), fn, s->l1_size);
        goto fail;
    }
    if (s->l1_size && (qcow2_offset_into_cluster(s, s->l1_offset) ||
                       s->l1_offset > fsize || (uint64_t)s->l1_size * 8 > fsize - s->l1_offset)) {
        r = err_set(errp, EINVAL, _("'%s': L1 table lies outside the file"), fn);
        goto fail;
    }
    if (s->rt_clusters == 0 || (uint64_t)s->rt_clusters * s->cluster_size > QCOW2_MAX_RT_BYTES ||
        qcow2_offset_into_cluster(s, s->rt_offset) || s->rt_offset > fsize ||
        (uint64_t)s->rt_clusters * s->cluster_size > fsize - s->rt_offset + s->cluster_size) {
        r = err_set(errp, EINVAL, _("'%s': refcount table is invalid or outside the file"), fn);
        goto fail;
    }
    s->l1 = calloc(s->l1_size ? s->l1_size : 1, 8);
    if (!s->l1) {
        r = err_set(errp, ENOMEM, _("out of memory"));
        goto fail;
    }
    if (s->l1_size) {
        r = qcow2_read_table(bs, s->l1_offset, s->l1_size, s->l1);
        if (r < 0) {
            err_set_errno(errp, -r, _("cannot read '%s'"), fn);
            goto fail;
        }
    }
    r = qcow2_refcount_init(bs);
    if (r < 0) {
        err_set_errno(errp, -r, _("cannot read '%s'"), fn);
        goto fail;
    }
    r = qcow2_l2_cache_init(bs);
    if (r < 0) {
        err_set(errp, ENOMEM, _("out of memory"));
        goto fail;
    }
    r = qcow2_read_snapshots(bs, errp);
    if (r < 0)
        goto fail;

    /* Backing file name. */
    uint64_t bf_off = be64_get(h + 8);
    uint32_t bf_len = be32_get(h + 16);
    if (bf_off) {
        if (bf_len > 1023 || bf_off > fsize || bf_len > fsize - bf_off) {
            r = err_set(errp, EINVAL, _("'%s': invalid backing file name"), fn);
            goto fail;
        }
        bs->backing_file = calloc(1, bf_len + 1);
        if (!bs->backing_file) {
            r = err_set(errp, ENOMEM, _("out of memory"));
            goto fail;
        }
        r = blk_pread(bs->file, bf_off, bf_len, bs->backing_file);
        if (r < 0) {
            err_set_errno(errp, -r, _("cannot read '%s'"), fn);
            goto fail;
        }
    }

    /* A dirty image (lazy refcounts, unclean shutdown) is repaired before
     * the first write; read-only opens leave it alone. */
    if ((s->incompat & QCOW2_INCOMPAT_DIRTY) && (flags & BLK_O_RDWR) &&
        !(flags & BLK_O_NO_REPAIR)) {
        struct blk_check res;
        memset(&res, 0, sizeof(res));
        bs->read_only = false;
        r = qcow2_check(bs, &res, BLK_FIX_LEAKS | BLK_FIX_ERRORS, errp);
        if (r < 0)
            goto fail;
        s->incompat &= ~QCOW2_INCOMPAT_DIRTY;
        r = qcow2_write_header(bs);
        if (r >= 0)
            r = blk_flush(bs->file);
        if (r < 0) {
            err_set_errno(errp, -r, _("cannot write '%s'"), fn);
            goto fail;
        }
    }
    return 0;

fail:
    qcow2_l2_cache_free(bs);
    qcow2_refcount_close(bs);
    qcow2_free_state(s);
    pthread_mutex_destroy(&s->lock);
    return r < 0 ? r : -EINVAL;
}

static int qcow2_flush(struct blk *bs)
{
    return 0; /* metadata is written through; the core flushes the file */
}

static void qcow2_close(struct blk *bs)
{
    struct qcow2 *s = bs->opaque;
    if (!bs->read_only && s->dirty_marked && (s->incompat & QCOW2_INCOMPAT_DIRTY)) {
        if (blk_flush(bs->file) >= 0) {
            s->incompat &= ~QCOW2_INCOMPAT_DIRTY;
            qcow2_write_header(bs);
            blk_flush(bs->file);
        }
    }
    qcow2_l2_cache_free(bs);
    qcow2_refcount_close(bs);
    qcow2_free_state(s);
    pthread_mutex_destroy(&s->lock);
}

static int qcow2_get_info(struct blk *bs, struct blk_info *info)
{
    struct qcow2 *s = bs->opaque;
    info->cluster_size = s->cluster_size;
    info->compat = s->version >= 3 ? "1.1" : "0.10";
    info->has_v3_fields = s->version >= 3;
    info->compression_type = s->compression_type ? "zstd" : "zlib";
    info->lazy_refcounts = (s->compat & QCOW2_COMPAT_LAZY) != 0;
    info->corrupt = (s->incompat & QCOW2_INCOMPAT_CORRUPT) != 0;
    info->extended_l2 = s->ext_l2;
    info->refcount_bits = (int)s->refcount_bits;
    info->dirty = (s->incompat & QCOW2_INCOMPAT_DIRTY) != 0;
    for (int i = 0; i < s->nexts; i++) {
        if (s->exts[i].type != QCOW2_EXT_BITMAPS || s->exts[i].len < 24 ||
            !(s->autoclear & QCOW2_AUTOCLEAR_BITMAPS))
            continue;
        info->has_bitmaps_ext = true;
        pthread_mutex_lock(&s->lock);
        qcow2_read_bitmap_list(bs, s->exts[i].data, info);
        pthread_mutex_unlock(&s->lock);
    }
    return 0;
}

/* The bitmap directory, for info (names, flags, granularity).  Entries
 * that do not fit the directory are ignored. */
void qcow2_read_bitmap_list(struct blk *bs, const uint8_t *ext, struct blk_info *info)
{
    uint32_t nb = be32_get(ext);
    uint64_t dsize = be64_get(ext + 8), doff = be64_get(ext + 16);
    if (info->bitmaps || dsize > (64u << 20) || nb > 65535 || doff > bs->file->size ||
        dsize > bs->file->size - doff)
        return;
    uint8_t *dir = malloc(dsize ? dsize : 1);
    info->bitmaps = calloc(nb ? nb : 1, sizeof(*info->bitmaps));
    if (!dir || !info->bitmaps || blk_pread(bs->file, doff, dsize, dir) < 0) {
        free(dir);
        return;
    }
    uint64_t pos = 0;
    for (uint32_t k = 0; k < nb && pos + 24 <= dsize; k++) {
        uint32_t flags = be32_get(dir + pos + 12);
        uint8_t gbits = dir[pos + 17];
        uint16_t nsize = be16_get(dir + pos + 18);
        uint32_t esize = be32_get(dir + pos + 20);
        uint64_t end = pos + 24 + (uint64_t)esize + nsize;
        if (end > dsize || gbits > 63)
            break;
        struct blk_bitmap_info *b = &info->bitmaps[info->nb_bitmaps];
        b->name = strndup((const char *)dir + pos + 24 + esize, nsize);
        if (!b->name)
            break;
        b->flags = flags;
        b->granularity = UINT64_C(1) << gbits;
        info->nb_bitmaps++;
        pos = ALIGN_UP(end, (uint64_t)8);
    }
    free(dir);
}

static int64_t qcow2_allocated_size(struct blk *bs)
{
    return blk_allocated_size(bs->file);
}

/* Thread-safe wrappers: every entry point holds the qcow2 lock. */
#define QCOW2_LOCKED(call)                      \
    do {                                        \
        struct qcow2 *s_ = bs->opaque;          \
        pthread_mutex_lock(&s_->lock);          \
        int r_ = (call);                        \
        pthread_mutex_unlock(&s_->lock);        \
        return r_;                              \
    } while (0)

static int qcow2_check_locked(struct blk *bs, struct blk_check *res, int fix,
                              struct error **errp)
{
    QCOW2_LOCKED(qcow2_check(bs, res, fix, errp));
}

static int qcow2_snapshot_create_locked(struct blk *bs, const char *name, struct error **errp)
{
    QCOW2_LOCKED(qcow2_snapshot_create(bs, name, errp));
}

static int qcow2_snapshot_goto_locked(struct blk *bs, const char *name, struct error **errp)
{
    QCOW2_LOCKED(qcow2_snapshot_goto(bs, name, errp));
}

static int qcow2_snapshot_delete_locked(struct blk *bs, const char *name, struct error **errp)
{
    QCOW2_LOCKED(qcow2_snapshot_delete(bs, name, errp));
}

static int qcow2_snapshot_list_locked(struct blk *bs, struct blk_snapshot **out)
{
    QCOW2_LOCKED(qcow2_snapshot_list(bs, out));
}

static int qcow2_truncate_locked(struct blk *bs, uint64_t size, bool shrink,
                                 enum blk_prealloc prealloc, struct error **errp)
{
    QCOW2_LOCKED(qcow2_truncate(bs, size, shrink, prealloc, errp));
}

static int qcow2_change_backing_locked(struct blk *bs, const char *file, const char *fmt,
                                       struct error **errp)
{
    QCOW2_LOCKED(qcow2_change_backing(bs, file, fmt, errp));
}

static int qcow2_make_empty_locked(struct blk *bs, struct error **errp)
{
    QCOW2_LOCKED(qcow2_make_empty(bs, errp));
}

static int qcow2_amend_locked(struct blk *bs, const struct blk_create_opts *o,
                              const char *const *set, struct error **errp)
{
    QCOW2_LOCKED(qcow2_amend(bs, o, set, errp));
}

const struct block_driver blk_drv_qcow2 = {
    .name = "qcow2",
    .state_size = sizeof(struct qcow2),
    .thread_safe = true,
    .create_opts = qcow2_create_opts,
    .probe = qcow2_probe,
    .open = qcow2_open,
    .close = qcow2_close,
    .create = qcow2_create,
    .preadv = qcow2_preadv,
    .pwritev = qcow2_pwritev,
    .pwrite_compressed = qcow2_pwrite_compressed,
    .pwrite_zeroes = qcow2_pwrite_zeroes,
    .pdiscard = qcow2_pdiscard,
    .flush = qcow2_flush,
    .block_status = qcow2_block_status,
    .truncate = qcow2_truncate_locked,
    .allocated_size = qcow2_allocated_size,
    .get_info = qcow2_get_info,
    .check = qcow2_check_locked,
    .anonymize = qcow2_anonymize,
    .snapshot_list = qcow2_snapshot_list_locked,
    .snapshot_create = qcow2_snapshot_create_locked,
    .snapshot_goto = qcow2_snapshot_goto_locked,
    .snapshot_delete = qcow2_snapshot_delete_locked,
    .snapshot_load = qcow2_snapshot_load,
    .snapshot_create_vm = qcow2_snapshot_create_vm,
    .vmstate_write = qcow2_vmstate_write,
    .vmstate_read = qcow2_vmstate_read,
    .vmstate_drop = qcow2_vmstate_drop,
    .change_backing = qcow2_change_backing_locked,
    .make_empty = qcow2_make_empty_locked,
    .amend = qcow2_amend_locked,
    .measure = qcow2_measure,
};
