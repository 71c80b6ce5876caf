/* qcow2-create.c - creating qcow2 images, measure, resize, changing the
 * backing file, emptying (commit) and amend. */
#include <config.h>

#include <errno.h>
#include <string.h>
#include "i18n.h"
#include "qcow2.h"

const struct blk_opt_desc qcow2_create_opts[] = {
    { "backing_file", "str", N_("File name of a base image") },
    { "backing_fmt", "str", N_("Image format of the base image") },
    { "cluster_size", "size", N_("qcow2 cluster size") },
    { "compat", "str", N_("Compatibility level (v2 [0.10] or v3 [1.1])") },
    { "compression_type", "str", N_("Compression method used for image cluster compression") },
    { "extended_l2", "bool", N_("Extended L2 tables") },
    { "lazy_refcounts", "bool", N_("Postpone refcount updates") },
    { "preallocation", "str", N_("Preallocation mode (allowed values: off, metadata, falloc, full)") },
    { "refcount_bits", "num", N_("Width of a reference count entry in bits") },
    { "size", "size", N_("Virtual disk size") },
    { NULL, NULL, NULL },
};

/* Refcount metadata (table + blocks) for CLUSTERS clusters, in bytes. */
static uint64_t refcount_meta(uint64_t clusters, uint64_t cs, unsigned order)
{
    uint64_t per_table = cs / 8, per_block = cs * 8 / (1u << order);
    uint64_t table = 0, blocks = 0, n = 0, last;
    do {
        last = n;
        blocks = DIV_ROUND_UP(clusters + table + blocks, per_block);
        table = DIV_ROUND_UP(blocks, per_table);
        n = clusters + blocks + table;
    } while (n != last);
    return (blocks + table) * cs;
}

/* Size of a fully allocated image (qemu's formula, so that measure agrees). */
static uint64_t prealloc_size(uint64_t size, uint64_t cs, unsigned order, bool ext)
{
    uint64_t esz = ext ? 16 : 8;
    uint64_t total = ALIGN_UP(size, cs);
    uint64_t meta = cs;
    uint64_t nl2e = ALIGN_UP(total / cs, cs / esz);
    meta += nl2e * esz;
    uint64_t nl1e = ALIGN_UP(nl2e * esz / cs, cs / 8);
    meta += nl1e * 8;
    meta += refcount_meta((meta + total) / cs, cs, order);
    return meta + total;
}

static int check_opts(const struct blk_create_opts *o, uint64_t *cs, unsigned *order,
                      int *version, struct error **errp)
{
    *cs = o->cluster_size ? o->cluster_size : 65536;
    if (!IS_POW2(*cs) || *cs < 512 || *cs > (2u << 20))
        return err_set(errp, EINVAL, _("cluster size must be a power of two between 512 and "
                                       "2048k"));
    *version = o->compat ? o->compat : 3;
    int bits = o->refcount_bits ? o->refcount_bits : 16;
    if (!IS_POW2(bits) || bits > 64)
        return err_set(errp, EINVAL, _("refcount width must be a power of two and may not "
                                       "exceed 64 bits"));
    *order = (unsigned)__builtin_ctz((unsigned)bits);
    if (*version < 3) {
        if (bits != 16)
            return err_set(errp, EINVAL, _("different refcount widths than 16 bits require "
                                           "compatibility level 1.1 or above (use compat=1.1 "
                                           "or greater)"));
        if (o->lazy_refcounts)
            return err_set(errp, EINVAL, _("lazy refcounts only supported with compatibility "
                                           "level 1.1 and above (use compat=1.1 or greater)"));
        if (o->extended_l2)
            return err_set(errp, EINVAL, _("extended L2 entries are only supported with "
                                           "compatibility level 1.1 and above (use compat=1.1 "
                                           "or greater)"));
        if (o->compression_type)
            return err_set(errp, EINVAL, _("%s requires compatibility level 1.1 or above"),
                           "compression_type");
    }
    if (o->extended_l2 && *cs < 16384)
        return err_set(errp, EINVAL, _("extended L2 entries are only supported with cluster "
                                       "sizes of at least 16384 bytes"));
#ifndef HAVE_ZSTD
    if (o->compression_type == 1)
        return err_set(errp, ENOTSUP, _("zstd compression is not available in this build"));
#endif
    return 0;
}

int qcow2_measure(const struct blk_create_opts *o, uint64_t allocated, uint64_t *required,
                  uint64_t *fully, struct error **errp)
{
    uint64_t cs;
    unsigned order;
    int version;
    int r = check_opts(o, &cs, &order, &version, errp);
    if (r < 0)
        return r;
    uint64_t vsize = ALIGN_UP(o->size, (uint64_t)512);
    *fully = prealloc_size(vsize, cs, order, o->extended_l2);
    *required = *fully - ALIGN_UP(vsize, cs) + allocated;
    return 0;
}

/* Map every cluster of [from, to) to newly allocated host clusters. */
static int preallocate(struct blk *bs, uint64_t from, uint64_t to, enum blk_prealloc mode,
                       struct error **errp)
{
    struct qcow2 *s = bs->opaque;
    uint64_t cs = s->cluster_size;
    int r = 0;
    uint64_t off = ALIGN_UP(from, cs);
    while (r >= 0 && off < to) {
        uint64_t l1i = off >> (s->cluster_bits + s->l2_bits);
        uint64_t l2i = (off >> s->cluster_bits) & (s->l2_entries - 1);
        uint64_t n = MIN(DIV_ROUND_UP(to - off, cs), s->l2_entries - l2i);
        uint64_t l2off;
        uint8_t *tbl;
        r = qcow2_l2_writable(bs, l1i, &l2off, &tbl);
        if (r < 0)
            break;
        int64_t host = qcow2_alloc_clusters(bs, n);
        if (host < 0) {
            r = (int)host;
            break;
        }
        r = qcow2_get_l2(bs, l2off, &tbl);
        if (r < 0)
            break;
        uint64_t end = (uint64_t)host + n * cs;
        if (mode == BLK_PREALLOC_METADATA) {
            if (end > bs->file->size)
                r = blk_truncate(bs->file, end, false, BLK_PREALLOC_OFF, errp);
        } else {
            r = blk_truncate(bs->file, MAX(end, bs->file->size), false, BLK_PREALLOC_OFF, errp);
            if (r >= 0) {
                /* fill the data area the requested way */
                uint64_t have = bs->file->size;
                (void)have;
                if (mode == BLK_PREALLOC_FULL)
                    r = blk_pwrite_zeroes(bs->file, (uint64_t)host, n * cs, 0);
                else
                    r = blk_pwrite_zeroes(bs->file, (uint64_t)host, n * cs, 0);
            }
        }
        if (r < 0)
            break;
        for (uint64_t i = 0; i < n; i++)
            qcow2_l2_set(s, tbl, l2i + i, ((uint64_t)host + i * cs) | QCOW2_OFLAG_COPIED,
                         s->ext_l2 ? UINT64_C(0xffffffff) : 0);
        r = qcow2_write_l2_entries(bs, l2off, tbl, l2i, n);
        off += n * cs;
    }
    if (r < 0 && errp && !*errp)
        err_set_errno(errp, -r, _("cannot preallocate '%s'"), bs->filename);
    return r;
}

int qcow2_create(const char *filename, const struct blk_create_opts *o, struct error **errp)
{
    uint64_t cs;
    unsigned order;
    int version;
    int r = check_opts(o, &cs, &order, &version, errp);
    if (r < 0)
        return r;
    if (o->size > (UINT64_C(1) << 55))
        return err_set(errp, EINVAL, _("image size is too large"));
    uint64_t esz = o->extended_l2 ? 16 : 8;
    uint64_t span = cs * (cs / esz);
    uint64_t l1_size = DIV_ROUND_UP(o->size, span);
    if (l1_size * 8 > QCOW2_MAX_L1_BYTES)
        return err_set(errp, EFBIG, _("image size is too large for this cluster size"));
    uint64_t l1_clusters = DIV_ROUND_UP(l1_size * 8, cs);
    uint64_t rbe = cs * 8 / (1u << order);
    uint64_t tcl = 1, nb = 1;
    for (;;) {
        uint64_t total = 1 + tcl + nb + l1_clusters;
        uint64_t nb2 = DIV_ROUND_UP(total, rbe);
        uint64_t tcl2 = DIV_ROUND_UP(nb2, cs / 8);
        if (nb2 == nb && tcl2 == tcl)
            break;
        nb = nb2;
        tcl = tcl2;
    }

    struct blk_create_opts fo = { .size = 0 };
    const struct block_driver *file = blk_find_driver("file");
    r = file->create(filename, &fo, errp);
    if (r < 0)
        return r;
    struct blk *f;
    r = blk_open_file(&f, filename, BLK_O_RDWR, errp);
    if (r < 0)
        return r;

    /* A temporary node to reuse the header writer. */
    struct qcow2 st;
    memset(&st, 0, sizeof(st));
    struct blk tmp;
    memset(&tmp, 0, sizeof(tmp));
    tmp.opaque = &st;
    tmp.file = f;
    tmp.filename = (char *)filename;
    tmp.size = o->size;
    tmp.backing_file = (char *)o->backing_file;
    tmp.backing_fmt = o->backing_file ? (char *)o->backing_fmt : NULL;
    st.version = (uint32_t)version;
    st.cluster_bits = (uint32_t)__builtin_ctzll(cs);
    st.cluster_size = cs;
    st.l1_size = (uint32_t)l1_size;
    st.rt_offset = cs;
    st.rt_clusters = (uint32_t)tcl;
    st.l1_offset = (1 + tcl + nb) * cs;
    st.refcount_order = order;
    st.header_length = 112;
    st.compression_type = o->compression_type;
    if (o->compression_type)
        st.incompat |= QCOW2_INCOMPAT_COMPRESSION;
    if (o->extended_l2)
        st.incompat |= QCOW2_INCOMPAT_EXTL2;
    if (o->lazy_refcounts)
        st.compat |= QCOW2_COMPAT_LAZY;

    r = qcow2_write_header(&tmp);
    if (r == -ENOSPC) {
        err_set(errp, EINVAL, _("'%s': backing file name is too long for the header"), filename);
        goto out;
    }
    /* Refcount table, blocks, L1 table. */
    uint8_t *buf = calloc(1, (size_t)((tcl + nb) * cs));
    if (!buf) {
        r = err_set(errp, ENOMEM, _("out of memory"));
        goto out;
    }
    for (uint64_t b = 0; b < nb; b++)
        be64_put(buf + b * 8, (1 + tcl + b) * cs);
    uint64_t used = 1 + tcl + nb + l1_clusters;
    for (uint64_t c = 0; c < used; c++)
        qcow2_refcount_set_entry(&st, buf + tcl * cs + (c / rbe) * cs, c % rbe, 1);
    if (r >= 0)
        r = blk_pwrite(f, cs, (tcl + nb) * cs, buf);
    free(buf);
    if (r >= 0 && l1_size) {
        void *z = calloc(1, l1_size * 8);
        r = z ? blk_pwrite(f, st.l1_offset, l1_size * 8, z) : -ENOMEM;
        free(z);
    } else if (r >= 0) {
        r = blk_truncate(f, st.l1_offset, false, BLK_PREALLOC_OFF, NULL);
    }
    if (r >= 0)
        r = blk_flush(f);
    if (r < 0)
        err_set_errno(errp, -r, _("cannot write '%s'"), filename);
out:
    blk_close(f);
    if (r < 0 || o->prealloc == BLK_PREALLOC_OFF)
        return r;

    struct blk *bs;
    r = blk_open(&bs, filename, "qcow2", BLK_O_RDWR | BLK_O_NO_BACKING, errp);
    if (r < 0)
        return r;
    struct qcow2 *s = bs->opaque;
    pthread_mutex_lock(&s->lock);
    r = preallocate(bs, 0, bs->size, o->prealloc, errp);
    pthread_mutex_unlock(&s->lock);
    if (r >= 0)
        r = blk_flush(bs);
    blk_close(bs);
    return r;
}

int qcow2_truncate(struct blk *bs, uint64_t size, bool shrink, enum blk_prealloc prealloc,
                   struct error **errp)
{
    struct qcow2 *s = bs->opaque;
    uint64_t span = s->cluster_size * s->l2_entries;
    int r = qcow2_mark_dirty(bs);
    if (r < 0)
        return err_set_errno(errp, -r, _("cannot write '%s'"), bs->filename);
    if (size < bs->size) {
        if (s->nb_snapshots)
            return err_set(errp, ENOTSUP, _("'%s': cannot shrink an image with snapshots"),
                           bs->filename);
        /* Drop every cluster past the new end. */
        uint64_t from = ALIGN_UP(size, s->cluster_size);
        uint64_t end = ALIGN_UP(bs->size, s->cluster_size);
        pthread_mutex_unlock(&s->lock);
        if (from < end) {
            uint64_t old = bs->size;
            bs->size = end;
            r = blk_pdiscard(bs, from, end - from);
            bs->size = old;
        }
        pthread_mutex_lock(&s->lock);
        if (r < 0)
            return err_set_errno(errp, -r, _("cannot resize '%s'"), bs->filename);
    } else {
        if (s->version < 3 && s->nb_snapshots)
            return err_set(errp, ENOTSUP, _("'%s': cannot resize a v2 image with snapshots"),
                           bs->filename);
        r = qcow2_grow_l1(bs, DIV_ROUND_UP(size, span));
        if (r < 0)
            return err_set_errno(errp, -r, _("cannot resize '%s'"), bs->filename);
    }
    uint64_t old = bs->size;
    bs->size = size;
    r = qcow2_write_header(bs);
    if (r >= 0)
        r = blk_flush(bs->file);
    if (r < 0) {
        bs->size = old;
        return err_set_errno(errp, -r, _("cannot resize '%s'"), bs->filename);
    }
    if (size > old && prealloc != BLK_PREALLOC_OFF) {
        if (qcow2_offset_into_cluster(s, old)) {
            /* the partial last cluster stays as it is */
            old = ALIGN_UP(old, s->cluster_size);
        }
        r = preallocate(bs, old, size, prealloc, errp);
    }
    return r;
}

int qcow2_change_backing(struct blk *bs, const char *file, const char *fmt, struct error **errp)
{
    char *nf = file && *file ? strdup(file) : NULL;
    char *nfmt = fmt && file && *file ? strdup(fmt) : NULL;
    if ((file && *file && !nf) || (fmt && file && *file && !nfmt)) {
        free(nf);
        free(nfmt);
        return err_set(errp, ENOMEM, _("out of memory"));
    }
    char *of = bs->backing_file, *ofmt = bs->backing_fmt;
    bs->backing_file = nf;
    bs->backing_fmt = nfmt;
    int r = qcow2_write_header(bs);
    if (r >= 0)
        r = blk_flush(bs->file);
    if (r < 0) {
        bs->backing_file = of;
        bs->backing_fmt = ofmt;
        free(nf);
        free(nfmt);
        if (r == -ENOSPC)
            return err_set(errp, EINVAL, _("'%s': backing file name is too long for the header"),
                           bs->filename);
        return err_set_errno(errp, -r, _("cannot write '%s'"), bs->filename);
    }
    free(of);
    free(ofmt);
    return 0;
}

int qcow2_make_empty(struct blk *bs, struct error **errp)
{
    struct qcow2 *s = bs->opaque;
    int r = qcow2_mark_dirty(bs);
    uint64_t cs = s->cluster_size;
    for (uint32_t i = 0; r >= 0 && i < s->l1_size; i++) {
        uint64_t e = s->l1[i];
        if (!(e & QCOW2_OFFSET_MASK))
            continue;
        uint64_t l2off;
        uint8_t *tbl;
        r = qcow2_l2_writable(bs, i, &l2off, &tbl);
        if (r < 0)
            break;
        uint64_t *olds = malloc(s->l2_entries * 8);
        if (!olds) {
            r = -ENOMEM;
            break;
        }
        for (uint64_t j = 0; j < s->l2_entries; j++) {
            olds[j] = qcow2_l2_get(s, tbl, j);
            qcow2_l2_set(s, tbl, j, 0, 0);
        }
        r = blk_pwrite(bs->file, l2off, cs, tbl);
        for (uint64_t j = 0; r >= 0 && j < s->l2_entries; j++)
            qcow2_free_any(bs, olds[j]);
        free(olds);
    }
    if (r >= 0)
        r = blk_flush(bs->file);
    if (r < 0)
        return err_set_errno(errp, -r, _("cannot empty '%s'"), bs->filename);
    return 0;
}

static bool opt_set(const char *const *set, const char *name)
{
    for (; set && *set; set++)
        if (strcmp(*set, name) == 0)
            return true;
    return false;
}

int qcow2_amend(struct blk *bs, const struct blk_create_opts *o, const char *const *set,
                struct error **errp)
{
    struct qcow2 *s = bs->opaque;
    for (const char *const *p = set; p && *p; p++) {
        if (strcmp(*p, "compat") && strcmp(*p, "lazy_refcounts") &&
            strcmp(*p, "backing_file") && strcmp(*p, "backing_fmt") && strcmp(*p, "size") &&
            strcmp(*p, "refcount_bits"))
            return err_set(errp, ENOTSUP, _("changing option '%s' is not supported"), *p);
    }
    int version = opt_set(set, "compat") ? o->compat : (int)s->version;
    bool lazy = opt_set(set, "lazy_refcounts") ? o->lazy_refcounts
                                               : (s->compat & QCOW2_COMPAT_LAZY) != 0;
    unsigned bits = opt_set(set, "refcount_bits") ? (unsigned)o->refcount_bits : s->refcount_bits;
    if (!IS_POW2(bits) || bits > 64)
        return err_set(errp, EINVAL, _("refcount width must be a power of two and may not "
                                       "exceed 64 bits"));
    if (version < 3 && (lazy || bits != 16))
        return err_set(errp, EINVAL, _("%s requires compatibility level 1.1 or above"),
                       lazy ? "lazy_refcounts" : "refcount_bits");
    if (version < 3 && s->version >= 3) {
        if (s->incompat & ~QCOW2_INCOMPAT_DIRTY)
            return err_set(errp, ENOTSUP, _("'%s': cannot downgrade an image with incompatible "
                                            "features"), bs->filename);
        /* Zero clusters cannot be expressed in v2. */
        for (uint32_t i = 0; i < s->l1_size; i++) {
            uint64_t l2off = s->l1[i] & QCOW2_OFFSET_MASK;
            uint8_t *tbl;
            if (!l2off)
                continue;
            int r = qcow2_get_l2(bs, l2off, &tbl);
            if (r < 0)
                return err_set_errno(errp, -r, _("cannot read '%s'"), bs->filename);
            for (uint64_t j = 0; j < s->l2_entries; j++)
                if (qcow2_l2_get(s, tbl, j) & QCOW2_OFLAG_ZERO)
                    return err_set(errp, ENOTSUP, _("'%s': downgrading images with zero "
                                                    "clusters is not supported yet"),
                                   bs->filename);
        }
        if (s->nb_snapshots)
            return err_set(errp, ENOTSUP, _("'%s': downgrading images with snapshots is not "
                                            "supported yet"), bs->filename);
    }
    int r = qcow2_mark_dirty(bs);
    if (r >= 0 && bits != s->refcount_bits) {
        r = qcow2_change_refcount_order(bs, (unsigned)__builtin_ctz(bits));
    }
    if (r < 0)
        return err_set_errno(errp, -r, _("cannot write '%s'"), bs->filename);
    s->version = (uint32_t)version;
    if (version >= 3) {
        s->header_length = MAX(s->header_length, 104u);
        s->compat = lazy ? (s->compat | QCOW2_COMPAT_LAZY) : (s->compat & ~QCOW2_COMPAT_LAZY);
        if (!lazy)
            s->incompat &= ~QCOW2_INCOMPAT_DIRTY;
    } else {
        s->compat = s->incompat = s->autoclear = 0;
        s->header_length = 72;
    }
    if (opt_set(set, "backing_file"))
        r = qcow2_change_backing(bs, o->backing_file, o->backing_fmt, errp);
    if (r < 0)
        return r;
    r = qcow2_write_header(bs);
    if (r >= 0)
        r = blk_flush(bs->file);
    if (r < 0)
        return err_set_errno(errp, -r, _("cannot write '%s'"), bs->filename);
    return 0;
}
