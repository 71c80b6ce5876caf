/* qcow2-check.c - consistency check and repair (emu-img check).
 *
 * Refcounts are recomputed from every reference in the image (header, L1
 * and L2 tables of the active state and of each snapshot, snapshot table,
 * refcount table and blocks, persistent bitmaps) and compared with the
 * stored ones, the way qemu-img reports them: "Leaked cluster" when the
 * stored count is too high, "ERROR cluster" when it is too low.  Repair
 * sets stored counts to the computed ones, rebuilds a broken refcount
 * structure, and fixes OFLAG_COPIED flags. */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "qcow2.h"

struct ck {
    uint64_t *ref;
    uint64_t n;
    bool rebuild;
    bool fix_oob;      /* repair L2 entries that point past the end */
    FILE *out;
};

static void ck_print(struct ck *ck, const char *fmt, ...) EMU_PRINTF(2, 3);
static void ck_print(struct ck *ck, const char *fmt, ...)
{
    if (!ck->out)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(ck->out, fmt, ap);
    va_end(ap);
}

static int ck_grow(struct ck *ck, uint64_t n)
{
    if (n <= ck->n)
        return 0;
    uint64_t nn = MAX(n, ck->n * 2);
    uint64_t *p = realloc(ck->ref, nn * 8);
    if (!p)
        return -ENOMEM;
    memset(p + ck->n, 0, (nn - ck->n) * 8);
    ck->ref = p;
    ck->n = nn;
    return 0;
}

/* Count one reference to [off, off+size).  Returns 1 when the region lies
 * past the end of the file (reported as a corruption), 0 otherwise. */
static int inc_ref(struct blk *bs, struct blk_check *res, struct ck *ck, uint64_t off,
                   uint64_t size)
{
    struct qcow2 *s = bs->opaque;
    if (size == 0)
        return 0;
    uint64_t end;
    if (ADD_OVERFLOWS(off, size, &end) ||
        (end > bs->file->size && end - bs->file->size >= s->cluster_size)) {
        ck_print(ck, "ERROR: counting reference for region exceeding the end of the file by "
                 "one cluster or more: offset 0x%" PRIx64 " size 0x%" PRIx64 "\n", off, size);
        res->corruptions++;
        return 1;
    }
    uint64_t first = off >> s->cluster_bits, last = (end - 1) >> s->cluster_bits;
    if (ck_grow(ck, last + 1) < 0)
        return -ENOMEM;
    for (uint64_t c = first; c <= last; c++) {
        if (ck->ref[c] == s->refcount_max) {
            ck_print(ck, "ERROR: overflow cluster offset=0x%" PRIx64 "\n",
                     c << s->cluster_bits);
            res->corruptions++;
            continue;
        }
        ck->ref[c]++;
    }
    return 0;
}

static int read_cluster(struct blk *bs, uint64_t off, uint8_t *buf)
{
    struct qcow2 *s = bs->opaque;
    if (off > bs->file->size || s->cluster_size > bs->file->size - off)
        return -EIO;
    return blk_pread(bs->file, off, s->cluster_size, buf);
}

static int check_l2(struct blk *bs, struct blk_check *res, struct ck *ck, uint64_t l2off,
                    uint8_t *tbl, bool active, int fix)
{
    uint64_t contig = 0, *next_contig = &contig;  /* per table, as qemu-img counts */
    struct qcow2 *s = bs->opaque;
    uint64_t cs = s->cluster_size;
    bool dirty = false;
    for (uint64_t i = 0; i < s->l2_entries; i++) {
        uint64_t e = qcow2_l2_get(s, tbl, i);
        if (!(e & QCOW2_OFLAG_COMPRESSED) && (e & UINT64_C(0x3f000000000001fe))) {
            ck_print(ck, "ERROR found l2 entry with reserved bits set: %" PRIx64 "\n", e);
            res->corruptions++;
        }
        switch (qcow2_entry_type(s, e)) {
        case QCOW2_COMPRESSED: {
            if (e & QCOW2_OFLAG_COPIED) {
                ck_print(ck, "ERROR: coffset=0x%" PRIx64 ": copied flag must never be set "
                         "for compressed clusters\n", e & s->cmask);
                if (fix & BLK_FIX_ERRORS) {
                    e &= ~QCOW2_OFLAG_COPIED;
                    qcow2_l2_set(s, tbl, i, e, qcow2_l2_bitmap(s, tbl, i));
                    dirty = true;
                    res->corruptions_fixed++;
                } else {
                    res->corruptions++;
                }
            }
            if (active) {
                res->allocated_clusters++;
                res->compressed_clusters++;
                res->fragmented_clusters++;
            }
            uint64_t off, len;
            qcow2_compressed_range(s, e, &off, &len);
            int r = inc_ref(bs, res, ck, off, len);
            if (r < 0)
                return r;
            break;
        }
        case QCOW2_ZERO_ALLOC:
        case QCOW2_NORMAL: {
            uint64_t off = e & QCOW2_OFFSET_MASK;
            if (qcow2_offset_into_cluster(s, off)) {
                ck_print(ck, "ERROR offset=%" PRIx64 ": Cluster is not properly aligned; "
                         "L2 entry corrupted.\n", off);
                res->corruptions++;
                break;
            }
            if (active) {
                res->allocated_clusters++;
                if (*next_contig && off != *next_contig)
                    res->fragmented_clusters++;
                *next_contig = off + cs;
            }
            int r = inc_ref(bs, res, ck, off, cs);
            if (r < 0)
                return r;
            if (r > 0 && ck->fix_oob) {
                /* The data is gone: make the cluster read as zeros (or the
                 * backing file) so that the image is consistent again. */
                uint64_t ne = s->version >= 3 ? QCOW2_OFLAG_ZERO : 0;
                qcow2_l2_set(s, tbl, i, ne, 0);
                dirty = true;
                res->corruptions--;
                res->corruptions_fixed++;
            }
            break;
        }
        default:
            break;
        }
    }
    if (dirty) {
        qcow2_l2_cache_drop(bs, l2off);
        int r = blk_pwrite(bs->file, l2off, cs, tbl);
        if (r < 0)
            return r;
    }
    return 0;
}

static int check_l1(struct blk *bs, struct blk_check *res, struct ck *ck, uint64_t l1off,
                    uint32_t l1_size, bool active, int fix)
{
    struct qcow2 *s = bs->opaque;
    int r = inc_ref(bs, res, ck, l1off, (uint64_t)l1_size * 8);
    if (r < 0)
        return r;
    if (r > 0)
        return 0;
    uint64_t *l1 = calloc(l1_size ? l1_size : 1, 8);
    uint8_t *tbl = malloc(s->cluster_size);
    if (!l1 || !tbl) {
        free(l1);
        free(tbl);
        return -ENOMEM;
    }
    if (active)
        memcpy(l1, s->l1, (size_t)l1_size * 8);
    else if (qcow2_read_table(bs, l1off, l1_size, l1) < 0) {
        ck_print(ck, "ERROR: I/O error in check_refcounts_l1\n");
        res->check_errors++;
        goto out;
    }
    for (uint32_t i = 0; i < l1_size; i++) {
        uint64_t l2off = l1[i] & QCOW2_OFFSET_MASK;
        if (l1[i] & UINT64_C(0x7f000000000001ff)) {
            ck_print(ck, "ERROR found L1 entry with reserved bits set: %" PRIx64 "\n", l1[i]);
            res->corruptions++;
        }
        if (!l2off)
            continue;
        r = inc_ref(bs, res, ck, l2off, s->cluster_size);
        if (r < 0)
            goto out;
        if (qcow2_offset_into_cluster(s, l2off)) {
            ck_print(ck, "ERROR l2_offset=%" PRIx64 ": Table is not cluster aligned; L1 entry "
                     "corrupted\n", l2off);
            if ((fix & BLK_FIX_ERRORS) && active && !bs->read_only) {
                /* The table cannot be trusted: drop it (reads as zeros). */
                s->l1[i] = 0;
                if (qcow2_write_l1_entry(bs, i) >= 0) {
                    /* undo the reference counted above */
                    uint64_t c0 = l2off >> s->cluster_bits;
                    uint64_t c1 = (l2off + s->cluster_size - 1) >> s->cluster_bits;
                    for (uint64_t cc = c0; r == 0 && cc <= c1 && cc < ck->n; cc++)
                        ck->ref[cc]--;
                    res->corruptions_fixed++;
                    continue;
                }
            }
            res->corruptions++;
            /* qemu-img goes on and checks the table where it points */
        }
        if (r > 0)
            continue;
        if (read_cluster(bs, l2off, tbl) < 0) {
            ck_print(ck, "ERROR: I/O error in check_refcounts_l2\n");
            res->check_errors++;
            continue;
        }
        r = check_l2(bs, res, ck, l2off, tbl, active, fix);
        if (r < 0)
            goto out;
    }
    r = 0;
out:
    free(l1);
    free(tbl);
    return r < 0 ? r : 0;
}

/* References held by persistent dirty bitmaps (kept verbatim by emu). */
static int check_bitmaps(struct blk *bs, struct blk_check *res, struct ck *ck)
{
    struct qcow2 *s = bs->opaque;
    for (int i = 0; i < s->nexts; i++) {
        if (s->exts[i].type != QCOW2_EXT_BITMAPS || s->exts[i].len < 24)
            continue;
        if (!(s->autoclear & QCOW2_AUTOCLEAR_BITMAPS))
            continue;  /* the bitmaps are invalid and ignored */
        const uint8_t *d = s->exts[i].data;
        uint32_t nb = be32_get(d);
        uint64_t dsize = be64_get(d + 8), doff = be64_get(d + 16);
        if (dsize > (64u << 20))
            return 0;
        int r = inc_ref(bs, res, ck, doff, dsize);
        if (r != 0)
            return r < 0 ? r : 0;
        uint8_t *dir = malloc(dsize ? dsize : 1);
        if (!dir)
            return -ENOMEM;
        if (blk_pread(bs->file, doff, dsize, dir) < 0) {
            free(dir);
            res->check_errors++;
            return 0;
        }
        uint64_t pos = 0;
        for (uint32_t k = 0; k < nb && pos + 24 <= dsize; k++) {
            uint64_t toff = be64_get(dir + pos);
            uint32_t tsize = be32_get(dir + pos + 8);
            uint16_t nsize = be16_get(dir + pos + 18);
            uint32_t esize = be32_get(dir + pos + 20);
            if (tsize <= (1u << 24) && inc_ref(bs, res, ck, toff, (uint64_t)tsize * 8) == 0) {
                uint64_t *t = calloc(tsize ? tsize : 1, 8);
                if (t && qcow2_read_table(bs, toff, tsize, t) == 0) {
                    for (uint32_t j = 0; j < tsize; j++) {
                        uint64_t o = t[j] & QCOW2_OFFSET_MASK;
                        if (o)
                            inc_ref(bs, res, ck, o, s->cluster_size);
                    }
                }
                free(t);
            }
            pos += ALIGN_UP(24 + (uint64_t)esize + nsize, (uint64_t)8);
        }
        free(dir);
    }
    return 0;
}

static uint64_t snapshot_table_size(struct qcow2 *s)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < s->nb_snapshots; i++)
        n += ALIGN_UP(40 + (uint64_t)s->snaps[i].extra_size + strlen(s->snaps[i].id) +
                      strlen(s->snaps[i].name), (uint64_t)8);
    return n;
}

static int calculate(struct blk *bs, struct blk_check *res, struct ck *ck, int fix)
{
    struct qcow2 *s = bs->opaque;
    uint64_t cs = s->cluster_size;
    ck->n = 0;
    free(ck->ref);
    ck->ref = NULL;
    ck->rebuild = false;
    int r = ck_grow(ck, qcow2_size_to_clusters(s, bs->file->size) + 1);
    if (r >= 0)
        r = inc_ref(bs, res, ck, 0, cs);
    if (r >= 0)
        r = check_l1(bs, res, ck, s->l1_offset, s->l1_size, true, fix);
    for (uint32_t i = 0; r >= 0 && i < s->nb_snapshots; i++)
        r = check_l1(bs, res, ck, s->snaps[i].l1_offset, s->snaps[i].l1_size, false, fix);
    if (r >= 0)
        r = inc_ref(bs, res, ck, s->snapshots_offset, snapshot_table_size(s));
    if (r >= 0)
        r = inc_ref(bs, res, ck, s->rt_offset, (uint64_t)s->rt_clusters * cs);
    if (r >= 0)
        r = check_bitmaps(bs, res, ck);
    if (r < 0)
        return r;
    /* Refcount blocks, last. */
    uint64_t fclusters = qcow2_size_to_clusters(s, bs->file->size);
    for (uint64_t i = 0; i < s->rt_entries; i++) {
        uint64_t off = s->rt[i] & QCOW2_RT_OFFSET_MASK;
        if (!off)
            continue;
        if (qcow2_offset_into_cluster(s, off)) {
            ck_print(ck, "ERROR refcount block %" PRIu64 " is not cluster aligned; refcount "
                     "table entry corrupted\n", i);
            res->corruptions++;
            ck->rebuild = true;
            continue;
        }
        if ((off >> s->cluster_bits) >= fclusters) {
            ck_print(ck, "ERROR refcount block %" PRIu64 " is outside image\n", i);
            res->corruptions++;
            ck->rebuild = true;
            continue;
        }
        r = inc_ref(bs, res, ck, off, cs);
        if (r < 0)
            return r;
        if (ck->ref[off >> s->cluster_bits] != 1) {
            ck_print(ck, "ERROR refcount block %" PRIu64 " refcount=%" PRIu64 "\n", i,
                     ck->ref[off >> s->cluster_bits]);
            res->corruptions++;
            ck->rebuild = true;
        }
    }
    return 0;
}

/* Write a fresh refcount table and blocks after everything in use, from
 * the computed counts. */
static int rebuild(struct blk *bs, struct ck *ck)
{
    struct qcow2 *s = bs->opaque;
    uint64_t cs = s->cluster_size, epc = cs / 8;
    uint64_t used = 0;
    for (uint64_t c = 0; c < ck->n; c++)
        if (ck->ref[c])
            used = c + 1;
    uint64_t t = MAX(used, qcow2_size_to_clusters(s, bs->file->size));
    uint64_t nb = 0, tcl = 1;
    for (;;) {
        uint64_t total = t + nb + tcl;
        uint64_t nb2 = DIV_ROUND_UP(total, s->rb_entries);
        uint64_t tcl2 = DIV_ROUND_UP(nb2, epc);
        if (nb2 == nb && tcl2 == tcl)
            break;
        nb = nb2;
        tcl = tcl2;
    }
    if (tcl * cs > QCOW2_MAX_RT_BYTES)
        return -EFBIG;
    uint64_t total = t + nb + tcl;
    if (ck_grow(ck, total) < 0)
        return -ENOMEM;
    for (uint64_t c = t; c < total; c++)
        ck->ref[c] = 1;
    uint64_t entries = tcl * epc;
    uint64_t *rt = calloc(entries, 8);
    uint8_t *blk = malloc(cs);
    if (!rt || !blk) {
        free(rt);
        free(blk);
        return -ENOMEM;
    }
    int r = 0;
    for (uint64_t b = 0; b < nb && r >= 0; b++) {
        memset(blk, 0, cs);
        for (uint64_t i = 0; i < s->rb_entries; i++) {
            uint64_t c = b * s->rb_entries + i;
            if (c < ck->n && ck->ref[c])
                qcow2_refcount_set_entry(s, blk, i, MIN(ck->ref[c], s->refcount_max));
        }
        rt[b] = (t + b) * cs;
        r = blk_pwrite(bs->file, rt[b], cs, blk);
    }
    free(blk);
    if (r >= 0)
        r = qcow2_write_table(bs, (t + nb) * cs, entries, rt);
    if (r >= 0)
        r = blk_flush(bs->file);
    if (r < 0) {
        free(rt);
        return r;
    }
    qcow2_refcount_close(bs);
    free(s->rt);
    s->rt = rt;
    s->rt_entries = entries;
    s->rt_offset = (t + nb) * cs;
    s->rt_clusters = (uint32_t)tcl;
    s->rb_cache = calloc(entries, sizeof(*s->rb_cache));
    if (!s->rb_cache)
        return -ENOMEM;
    s->free_hint = 0;
    r = qcow2_write_header(bs);
    if (r >= 0)
        r = blk_flush(bs->file);
    return r;
}

static int compare(struct blk *bs, struct blk_check *res, struct ck *ck, int fix,
                   uint64_t *highest)
{
    struct qcow2 *s = bs->opaque;
    uint64_t n = MAX(ck->n, qcow2_size_to_clusters(s, bs->file->size));
    if (ck_grow(ck, n) < 0)
        return -ENOMEM;
    *highest = 0;
    bool any = false;
    /* Raise too-low counts first: raising never allocates when the block
     * exists, so no new metadata can land on a cluster in use. */
    for (int pass = 0; pass < 2; pass++) {
        for (uint64_t i = 0; i < n; i++) {
            uint64_t rc1;
            int r = qcow2_get_refcount(bs, i, &rc1);
            if (r < 0) {
                if (pass == 0) {
                    ck_print(ck, "Can't get refcount for cluster %" PRIu64 ": %s\n", i,
                             strerror(-r));
                    res->check_errors++;
                }
                continue;
            }
            uint64_t rc2 = ck->ref[i];
            if (pass == 1 && (rc1 || rc2)) {
                *highest = i;
                any = true;
            }
            if (rc1 == rc2)
                continue;
            bool low = rc1 < rc2;
            if (low != (pass == 0))
                continue;
            bool fixit = low ? (fix & BLK_FIX_ERRORS) : (fix & BLK_FIX_LEAKS);
            if (fixit && !bs->read_only) {
                ck_print(ck, "Repairing cluster %" PRIu64 " refcount=%" PRIu64 " reference=%"
                         PRIu64 "\n", i, rc1, rc2);
                r = qcow2_update_refcount(bs, i << s->cluster_bits, 1,
                                          (int64_t)(rc2 - rc1));
                if (r >= 0) {
                    if (low)
                        res->corruptions_fixed++;
                    else
                        res->leaks_fixed++;
                    if (pass == 1 && rc2)
                        *highest = i;
                    continue;
                }
                res->check_errors++;
            }
            ck_print(ck, "%s cluster %" PRIu64 " refcount=%" PRIu64 " reference=%" PRIu64 "\n",
                     low ? "ERROR" : "Leaked", i, rc1, rc2);
            if (low)
                res->corruptions++;
            else
                res->leaks++;
        }
    }
    if (!any)
        *highest = 0;
    return any ? 1 : 0;
}

static int check_copied(struct blk *bs, struct blk_check *res, struct ck *ck, int fix)
{
    struct qcow2 *s = bs->opaque;
    uint8_t *tbl = malloc(s->cluster_size);
    if (!tbl)
        return -ENOMEM;
    bool fixit = (fix & BLK_FIX_ERRORS) && !bs->read_only;
    for (uint32_t i = 0; i < s->l1_size; i++) {
        uint64_t e = s->l1[i], l2off = e & QCOW2_OFFSET_MASK;
        if (!l2off || qcow2_offset_into_cluster(s, l2off))
            continue;
        uint64_t rc;
        if (qcow2_get_refcount(bs, l2off >> s->cluster_bits, &rc) < 0)
            continue;
        if ((rc == 1) != ((e & QCOW2_OFLAG_COPIED) != 0)) {
            ck_print(ck, "%s OFLAG_COPIED L2 cluster: l1_index=%u l1_entry=%" PRIx64
                     " refcount=%" PRIu64 "\n", fixit ? "Repairing" : "ERROR", i, e, rc);
            if (fixit) {
                s->l1[i] = rc == 1 ? (e | QCOW2_OFLAG_COPIED) : (e & ~QCOW2_OFLAG_COPIED);
                if (qcow2_write_l1_entry(bs, i) >= 0) {
                    res->corruptions_fixed++;
                } else {
                    res->check_errors++;
                }
            } else {
                res->corruptions++;
            }
        }
        if (read_cluster(bs, l2off, tbl) < 0)
            continue;
        bool dirty = false;
        for (uint64_t j = 0; j < s->l2_entries; j++) {
            uint64_t le = qcow2_l2_get(s, tbl, j);
            enum qcow2_ctype t = qcow2_entry_type(s, le);
            if (t != QCOW2_NORMAL && t != QCOW2_ZERO_ALLOC)
                continue;
            uint64_t off = le & QCOW2_OFFSET_MASK;
            if (qcow2_offset_into_cluster(s, off))
                continue;
            if (qcow2_get_refcount(bs, off >> s->cluster_bits, &rc) < 0)
                continue;
            if ((rc == 1) != ((le & QCOW2_OFLAG_COPIED) != 0)) {
                ck_print(ck, "%s OFLAG_COPIED data cluster: l2_entry=%" PRIx64 " refcount=%"
                         PRIu64 "\n", fixit ? "Repairing" : "ERROR", le, rc);
                if (fixit) {
                    le = rc == 1 ? (le | QCOW2_OFLAG_COPIED) : (le & ~QCOW2_OFLAG_COPIED);
                    qcow2_l2_set(s, tbl, j, le, qcow2_l2_bitmap(s, tbl, j));
                    dirty = true;
                    res->corruptions_fixed++;
                } else {
                    res->corruptions++;
                }
            }
        }
        if (dirty) {
            qcow2_l2_cache_drop(bs, l2off);
            if (blk_pwrite(bs->file, l2off, s->cluster_size, tbl) < 0)
                res->check_errors++;
        }
    }
    free(tbl);
    return 0;
}

int qcow2_check(struct blk *bs, struct blk_check *res, int fix, struct error **errp)
{
    struct qcow2 *s = bs->opaque;
    struct ck ck = { .out = res->report };
    if (bs->read_only)
        fix = 0;
    ck.fix_oob = (fix & BLK_FIX_ERRORS) != 0;
    s->checking = true;
    res->total_clusters = qcow2_size_to_clusters(s, bs->size);
    int r = calculate(bs, res, &ck, fix);
    if (r >= 0 && ck.rebuild && (fix & BLK_FIX_ERRORS)) {
        ck_print(&ck, "Rebuilding refcount structure\n");
        r = rebuild(bs, &ck);
        if (r >= 0) {
            /* Everything found so far is repaired by the new structure. */
            struct blk_check again = { .report = NULL };
            res->corruptions_fixed += res->corruptions;
            res->corruptions = 0;
            res->allocated_clusters = res->fragmented_clusters = res->compressed_clusters = 0;
            ck.out = NULL;
            r = calculate(bs, &again, &ck, fix);
            ck.out = res->report;
            res->allocated_clusters = again.allocated_clusters;
            res->fragmented_clusters = again.fragmented_clusters;
            res->compressed_clusters = again.compressed_clusters;
            res->corruptions += again.corruptions;
        }
    }
    uint64_t highest = 0;
    if (r >= 0) {
        int any = compare(bs, res, &ck, fix, &highest);
        if (any < 0)
            r = any;
        else
            res->image_end_offset = any ? (highest + 1) << s->cluster_bits : 0;
    }
    if (r >= 0)
        r = check_copied(bs, res, &ck, fix);
    /* Repaired (or found sound): the corrupt bit goes, as with qemu-img
     * check -r, and writes are allowed again.  Only once the repairs are
     * on disk. */
    if (r >= 0 && fix && !bs->read_only)
        r = blk_flush(bs->file);
    if (r >= 0 && fix && !bs->read_only && !res->corruptions && !res->check_errors &&
        (s->incompat & QCOW2_INCOMPAT_CORRUPT)) {
        s->incompat &= ~QCOW2_INCOMPAT_CORRUPT;
        r = qcow2_write_header(bs);
        if (r >= 0)
            r = blk_flush(bs->file);
        if (r >= 0)
            s->broken = false;
    }
    free(ck.ref);
    s->checking = false;
    if (r < 0)
        return err_set_errno(errp, -r, "%s", bs->filename);
    return 0;
}

/* Rewrite the refcount structure with entries of 2^ORDER bits (amend
 * refcount_bits=...).  The old structure becomes leaked and is freed. */
int qcow2_change_refcount_order(struct blk *bs, unsigned order)
{
    struct qcow2 *s = bs->opaque;
    struct blk_check res;
    memset(&res, 0, sizeof(res));
    struct ck ck = { .out = NULL };
    int r = calculate(bs, &res, &ck, 0);
    if (r >= 0 && (res.corruptions || res.check_errors))
        r = -EIO;
    unsigned old_order = s->refcount_order;
    uint64_t newmax = order == 6 ? UINT64_MAX : (UINT64_C(1) << (1u << order)) - 1;
    for (uint64_t c = 0; r >= 0 && c < ck.n; c++)
        if (ck.ref[c] > newmax)
            r = -ERANGE;
    if (r >= 0) {
        s->refcount_order = order;
        s->refcount_bits = 1u << order;
        s->refcount_max = newmax;
        s->rb_entries = s->cluster_size * 8 / s->refcount_bits;
        r = rebuild(bs, &ck);
        if (r < 0) {
            s->refcount_order = old_order;
            s->refcount_bits = 1u << old_order;
            s->refcount_max = old_order == 6 ? UINT64_MAX
                                             : (UINT64_C(1) << (1u << old_order)) - 1;
            s->rb_entries = s->cluster_size * 8 / s->refcount_bits;
        }
    }
    free(ck.ref);
    if (r >= 0) {
        memset(&res, 0, sizeof(res));
        r = qcow2_check(bs, &res, BLK_FIX_LEAKS, NULL);
    }
    return r;
}
