/* qcow2-refcount.c - refcount blocks, cluster allocation and freeing.
 *
 * Refcount blocks are cached in memory once read (indexed like the refcount
 * table) and written through: each update writes the changed sectors of the
 * block before the caller writes the mapping that uses the clusters. */
#include <config.h>

#include <errno.h>
#include <string.h>
#include "log.h"
#include "qcow2.h"
#include "trace/block.h"

uint64_t qcow2_refcount_get_entry(const struct qcow2 *s, const uint8_t *b, uint64_t i)
{
    switch (s->refcount_order) {
    case 0: return (b[i / 8] >> (i % 8)) & 1;
    case 1: return (b[i / 4] >> (2 * (i % 4))) & 3;
    case 2: return (b[i / 2] >> (4 * (i % 2))) & 15;
    case 3: return b[i];
    case 4: return be16_get(b + 2 * i);
    case 5: return be32_get(b + 4 * i);
    default: return be64_get(b + 8 * i);
    }
}

void qcow2_refcount_set_entry(const struct qcow2 *s, uint8_t *b, uint64_t i, uint64_t v)
{
    switch (s->refcount_order) {
    case 0:
        b[i / 8] = (uint8_t)((b[i / 8] & ~(1u << (i % 8))) | ((v & 1) << (i % 8)));
        break;
    case 1:
        b[i / 4] = (uint8_t)((b[i / 4] & ~(3u << (2 * (i % 4)))) | ((v & 3) << (2 * (i % 4))));
        break;
    case 2:
        b[i / 2] = (uint8_t)((b[i / 2] & ~(15u << (4 * (i % 2)))) | ((v & 15) << (4 * (i % 2))));
        break;
    case 3: b[i] = (uint8_t)v; break;
    case 4: be16_put(b + 2 * i, (uint16_t)v); break;
    case 5: be32_put(b + 4 * i, (uint32_t)v); break;
    default: be64_put(b + 8 * i, v); break;
    }
}

/* Byte offset within a refcount block of entry I (for partial writes). */
static uint64_t rb_byte(const struct qcow2 *s, uint64_t i)
{
    return i * s->refcount_bits / 8;
}

int qcow2_refcount_init(struct blk *bs)
{
    struct qcow2 *s = bs->opaque;
    s->rt_entries = (uint64_t)s->rt_clusters * s->cluster_size / 8;
    s->rt = calloc(s->rt_entries, 8);
    s->rb_cache = calloc(s->rt_entries, sizeof(*s->rb_cache));
    if (!s->rt || !s->rb_cache)
        return -ENOMEM;
    uint64_t fsize = bs->file->size;
    uint64_t n = s->rt_entries;
    if (s->rt_offset + n * 8 > fsize)
        n = (fsize - s->rt_offset) / 8;
    int r = qcow2_read_table(bs, s->rt_offset, n, s->rt);
    s->free_hint = 0;
    return r;
}

void qcow2_refcount_close(struct blk *bs)
{
    struct qcow2 *s = bs->opaque;
    if (s->rb_cache) {
        for (uint64_t i = 0; i < s->rt_entries; i++)
            free(s->rb_cache[i]);
    }
    free(s->rb_cache);
    s->rb_cache = NULL;
}

/* The refcount block of table index TI, or NULL when there is none. */
int qcow2_load_rb(struct blk *bs, uint64_t ti, uint8_t **out)
{
    struct qcow2 *s = bs->opaque;
    *out = NULL;
    if (ti >= s->rt_entries)
        return 0;
    if (s->rb_cache[ti]) {
        *out = s->rb_cache[ti];
        return 0;
    }
    uint64_t off = s->rt[ti] & QCOW2_RT_OFFSET_MASK;
    if (!off)
        return 0;
    if (qcow2_offset_into_cluster(s, off) || off > bs->file->size ||
        s->cluster_size > bs->file->size - off) {
        if (s->checking)
            return 0;   /* reported by the check itself; reads as zeros */
        return qcow2_mark_corrupt(bs, "refcount block %" PRIu64 " at 0x%" PRIx64
                                  " is invalid", ti, off);
    }
    uint8_t *b = malloc(s->cluster_size);
    if (!b)
        return -ENOMEM;
    int r = blk_pread(bs->file, off, s->cluster_size, b);
    if (r < 0) {
        free(b);
        return r;
    }
    s->rb_cache[ti] = b;
    *out = b;
    return 0;
}

int qcow2_get_refcount(struct blk *bs, uint64_t cluster, uint64_t *rc)
{
    struct qcow2 *s = bs->opaque;
    uint8_t *b;
    int r = qcow2_load_rb(bs, cluster / s->rb_entries, &b);
    if (r < 0)
        return r;
    *rc = b ? qcow2_refcount_get_entry(s, b, cluster % s->rb_entries) : 0;
    return 0;
}

/* First run of N free clusters at or after the hint. */
static int find_free(struct blk *bs, uint64_t n, uint64_t from, uint64_t *out)
{
    uint64_t run = 0, start = from;
    for (uint64_t c = from;; c++) {
        uint64_t rc;
        int r = qcow2_get_refcount(bs, c, &rc);
        if (r < 0)
            return r;
        if (c == 0)
            rc = 1;  /* the header is never free */
        if (rc == 0) {
            if (run == 0)
                start = c;
            if (++run == n) {
                *out = start;
                return 0;
            }
        } else {
            run = 0;
        }
    }
}

static int write_rt_entry(struct blk *bs, uint64_t ti)
{
    struct qcow2 *s = bs->opaque;
    uint8_t b[8];
    be64_put(b, s->rt[ti]);
    int r = qcow2_check_overlap(bs, s->rt_offset + ti * 8, 8, QCOW2_OL_RT);
    return r < 0 ? r : blk_pwrite(bs->file, s->rt_offset + ti * 8, 8, b);
}

static int write_rb_range(struct blk *bs, uint64_t ti, uint64_t first, uint64_t last)
{
    struct qcow2 *s = bs->opaque;
    uint64_t lo = ALIGN_DOWN(rb_byte(s, first), (uint64_t)512);
    uint64_t hi = ALIGN_UP(rb_byte(s, last) + MAX(s->refcount_bits / 8, 1u), (uint64_t)512);
    hi = MIN(hi, s->cluster_size);
    uint64_t at = (s->rt[ti] & QCOW2_RT_OFFSET_MASK) + lo;
    int r = qcow2_check_overlap(bs, at, hi - lo, QCOW2_OL_RB);
    return r < 0 ? r : blk_pwrite(bs->file, at, hi - lo, s->rb_cache[ti] + lo);
}

static int grow_rt(struct blk *bs, uint64_t need_ti);

/* Make sure cluster C has a refcount block.  Returns 1 when something was
 * allocated (callers that picked free clusters must search again). */
static int ensure_rb(struct blk *bs, uint64_t c)
{
    struct qcow2 *s = bs->opaque;
    uint64_t cs = s->cluster_size;
    for (;;) {
        uint64_t ti = c / s->rb_entries;
        if (ti >= s->rt_entries) {
            int r = grow_rt(bs, ti);
            if (r < 0)
                return r;
            continue;
        }
        if (s->rt[ti] & QCOW2_RT_OFFSET_MASK)
            return 0;
        uint64_t b;
        int r = find_free(bs, 1, s->free_hint, &b);
        if (r < 0)
            return r;
        uint8_t *blk = calloc(1, cs);
        if (!blk)
            return -ENOMEM;
        if (b / s->rb_entries == ti) {
            qcow2_refcount_set_entry(s, blk, b % s->rb_entries, 1);
        } else {
            r = ensure_rb(bs, b);
            if (r != 0) {
                free(blk);
                if (r < 0)
                    return r;
                continue;
            }
            r = qcow2_update_refcount(bs, b * cs, cs, 1);
            if (r < 0) {
                free(blk);
                return r;
            }
        }
        r = qcow2_check_overlap(bs, b * cs, cs, 0);
        if (r >= 0)
            r = blk_pwrite(bs->file, b * cs, cs, blk);
        if (r >= 0) {
            s->rt[ti] = b * cs;
            s->rt_hi = MAX(s->rt_hi, ti + 1);   /* see qcow2_check_overlap */
            r = write_rt_entry(bs, ti);
        }
        if (r < 0) {
            s->rt[ti] = 0;
            free(blk);
            return r;
        }
        free(s->rb_cache[ti]);
        s->rb_cache[ti] = blk;
        if (log_on(LOG_FORMAT))
            log_msg(LOG_FORMAT, "%s: new refcount block %" PRIu64 " at cluster %" PRIu64,
                    bs->filename, ti, b);
        return 1;
    }
}

/* Replace the refcount table by a larger one at the end of the image,
 * together with the refcount blocks its own clusters need. */
static int grow_rt(struct blk *bs, uint64_t need_ti)
{
    struct qcow2 *s = bs->opaque;
    uint64_t cs = s->cluster_size, epc = cs / 8;
    uint64_t new_entries = ALIGN_UP(MAX(need_ti + 1, s->rt_entries * 2), epc);
    uint64_t t = MAX(qcow2_size_to_clusters(s, bs->file->size), s->free_hint);
    uint64_t new_clusters, nb;
    for (;;) {
        new_clusters = new_entries / epc;
        if (new_clusters * cs > QCOW2_MAX_RT_BYTES)
            return -EFBIG;
        nb = 0;
        for (;;) {
            uint64_t end = t + new_clusters + nb, cnt = 0;
            for (uint64_t ti = t / s->rb_entries; ti <= (end - 1) / s->rb_entries; ti++)
                if (ti >= s->rt_entries || !(s->rt[ti] & QCOW2_RT_OFFSET_MASK))
                    cnt++;
            if (cnt == nb)
                break;
            nb = cnt;
        }
        uint64_t end = t + new_clusters + nb;
        if ((end - 1) / s->rb_entries >= new_entries) {
            new_entries = ALIGN_UP((end - 1) / s->rb_entries + 1, epc);
            continue;
        }
        /* The whole area must be free. */
        uint64_t busy = 0;
        for (uint64_t c = t; c < end; c++) {
            uint64_t rc;
            int r = qcow2_get_refcount(bs, c, &rc);
            if (r < 0)
                return r;
            if (rc)
                busy = c + 1;
        }
        if (!busy)
            break;
        t = busy;
    }
    uint64_t end = t + new_clusters + nb;
    uint64_t *nrt = calloc(new_entries, 8);
    uint8_t **ncache = calloc(new_entries, sizeof(*ncache));
    if (!nrt || !ncache) {
        free(nrt);
        free(ncache);
        return -ENOMEM;
    }
    memcpy(nrt, s->rt, s->rt_entries * 8);
    memcpy(ncache, s->rb_cache, s->rt_entries * sizeof(*ncache));
    uint64_t k = 0;
    int r = 0;
    for (uint64_t ti = t / s->rb_entries; ti <= (end - 1) / s->rb_entries; ti++) {
        if (ti < s->rt_entries && (s->rt[ti] & QCOW2_RT_OFFSET_MASK))
            continue;
        nrt[ti] = (t + new_clusters + k) * cs;
        ncache[ti] = calloc(1, cs);
        if (!ncache[ti])
            r = -ENOMEM;
        k++;
    }
    /* Refcounts of the new area: existing blocks are updated (and written)
     * first, new blocks are built in memory. */
    for (uint64_t c = t; c < end && r >= 0; c++) {
        uint64_t ti = c / s->rb_entries;
        if (ti < s->rt_entries && (s->rt[ti] & QCOW2_RT_OFFSET_MASK))
            r = qcow2_update_refcount(bs, c * cs, cs, 1);
        else
            qcow2_refcount_set_entry(s, ncache[ti], c % s->rb_entries, 1);
    }
    for (uint64_t ti = t / s->rb_entries; ti <= (end - 1) / s->rb_entries && r >= 0; ti++) {
        if (ti < s->rt_entries && (s->rt[ti] & QCOW2_RT_OFFSET_MASK))
            continue;
        r = blk_pwrite(bs->file, nrt[ti], cs, ncache[ti]);
    }
    if (r >= 0)
        r = qcow2_write_table(bs, t * cs, new_entries, nrt);
    if (r >= 0)
        r = blk_flush(bs->file);
    if (r < 0) {
        for (uint64_t ti = s->rt_entries; ti < new_entries; ti++)
            free(ncache[ti]);
        free(nrt);
        free(ncache);
        return r;
    }
    uint64_t old_off = s->rt_offset, old_clusters = s->rt_clusters;
    free(s->rt);
    free(s->rb_cache);
    s->rt = nrt;
    s->rb_cache = ncache;
    s->rt_entries = new_entries;
    s->rt_offset = t * cs;
    s->rt_clusters = (uint32_t)new_clusters;
    r = qcow2_write_header(bs);
    if (r >= 0)
        r = blk_flush(bs->file);
    if (r < 0)
        return r;
    if (log_on(LOG_FORMAT))
        log_msg(LOG_FORMAT, "%s: refcount table grown to %" PRIu64 " entries at cluster %"
                PRIu64, bs->filename, new_entries, t);
    return qcow2_update_refcount(bs, old_off, old_clusters * cs, -1);
}

int qcow2_update_refcount(struct blk *bs, uint64_t offset, uint64_t length, int64_t addend)
{
    struct qcow2 *s = bs->opaque;
    if (length == 0)
        return 0;
    trace_qcow2_refcount_update(bs, offset, length, addend);
    uint64_t first = offset >> s->cluster_bits;
    uint64_t last = (offset + length - 1) >> s->cluster_bits;
    if (addend > 0) {
        for (uint64_t c = first; c <= last;) {
            int r = ensure_rb(bs, c);
            if (r < 0)
                return r;
            c = (c / s->rb_entries + 1) * s->rb_entries;
        }
    }
    for (uint64_t c = first; c <= last;) {
        uint64_t ti = c / s->rb_entries;
        uint8_t *b;
        int r = qcow2_load_rb(bs, ti, &b);
        if (r < 0)
            return r;
        uint64_t blk_last = MIN(last, (ti + 1) * s->rb_entries - 1);
        if (!b) {
            if (addend == 0) {
                c = blk_last + 1;
                continue;
            }
            return qcow2_mark_corrupt(bs, "cluster %" PRIu64 " has no refcount block", c);
        }
        for (uint64_t i = c; i <= blk_last; i++) {
            uint64_t v = qcow2_refcount_get_entry(s, b, i % s->rb_entries);
            if (addend > 0 && v > s->refcount_max - (uint64_t)addend)
                return -ERANGE;
            if (addend < 0 && v < (uint64_t)-addend)
                return qcow2_mark_corrupt(bs, "refcount of cluster %" PRIu64
                                          " would drop below zero", i);
            v += (uint64_t)addend;
            qcow2_refcount_set_entry(s, b, i % s->rb_entries, v);
            if (v == 0 && i < s->free_hint)
                s->free_hint = i;
        }
        r = write_rb_range(bs, ti, c % s->rb_entries, blk_last % s->rb_entries);
        if (r < 0)
            return r;
        c = blk_last + 1;
    }
    return 0;
}

int64_t qcow2_alloc_clusters(struct blk *bs, uint64_t n)
{
    struct qcow2 *s = bs->opaque;
    uint64_t start;
    for (;;) {
        int r = find_free(bs, n, s->free_hint, &start);
        if (r < 0)
            return r;
        bool again = false;
        for (uint64_t c = start; c < start + n;) {
            r = ensure_rb(bs, c);
            if (r < 0)
                return r;
            if (r > 0)
                again = true;
            c = (c / s->rb_entries + 1) * s->rb_entries;
        }
        if (!again)
            break;
    }
    int r = qcow2_update_refcount(bs, start << s->cluster_bits, n << s->cluster_bits, 1);
    if (r < 0)
        return r;
    s->free_hint = start + n;
    trace_qcow2_alloc_clusters(bs, start << s->cluster_bits, n);
    return (int64_t)(start << s->cluster_bits);
}

int64_t qcow2_alloc_bytes(struct blk *bs, uint64_t n)
{
    struct qcow2 *s = bs->opaque;
    uint64_t off = s->free_byte_offset;
    if (off && (off & (s->cluster_size - 1)) + n <= s->cluster_size &&
        (off & (s->cluster_size - 1)) != 0) {
        int r = qcow2_update_refcount(bs, off, 1, 1);
        if (r < 0)
            return r;
    } else {
        int64_t c = qcow2_alloc_clusters(bs, 1);
        if (c < 0)
            return c;
        off = (uint64_t)c;
    }
    s->free_byte_offset = off + n;
    if ((s->free_byte_offset & (s->cluster_size - 1)) == 0)
        s->free_byte_offset = 0;
    return (int64_t)off;
}

int qcow2_free_clusters(struct blk *bs, uint64_t offset, uint64_t length)
{
    return qcow2_update_refcount(bs, offset, length, -1);
}

void qcow2_free_any(struct blk *bs, uint64_t entry)
{
    struct qcow2 *s = bs->opaque;
    switch (qcow2_entry_type(s, entry)) {
    case QCOW2_NORMAL:
    case QCOW2_ZERO_ALLOC:
        qcow2_free_clusters(bs, entry & QCOW2_OFFSET_MASK, s->cluster_size);
        break;
    case QCOW2_COMPRESSED: {
        uint64_t off, len;
        qcow2_compressed_range(s, entry, &off, &len);
        qcow2_free_clusters(bs, off, len);
        break;
    }
    default:
        break;
    }
}
