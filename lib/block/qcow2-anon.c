/* qcow2-anon.c - the qcow2 metadata walker of emu-img anonymize.
 *
 * Kept: the header cluster (header, extensions, feature names, usually
 * the backing file name), the backing file name wherever it points, the
 * active and every snapshot's L1 table and the L2 tables they name, the
 * refcount table and its blocks, the snapshot table, the bitmap directory,
 * bitmap tables and bitmap data clusters, the crypto header.  Everything
 * else - data clusters, snapshots' VM state (mapped like data), leaked
 * clusters - is user data.  Each compressed cluster gets a compressed
 * stream of a zero cluster at its offset, so its L2 descriptor stays valid.
 *
 * The file is read raw: no header flag is trusted or changed, tables past
 * the end of the file read as zeros, each L2 table is walked once however
 * many L1 entries name it, and every size is capped at what qemu accepts. */
#include <config.h>

#include <errno.h>
#include <string.h>
#include <zlib.h>
#ifdef HAVE_ZSTD
#include <zstd.h>
#endif
#include "i18n.h"
#include "anon.h"
#include "qcow2.h"

#define QA_MAX_TABLE (64u << 20)        /* snapshot table, bitmap directory */
#define QA_L1_MASK UINT64_C(0x00fffffffffffe00)

struct qa_comp {
    uint64_t off, end;
};

struct qa {
    struct anon *a;
    uint32_t cluster_bits;
    uint64_t cs;
    uint32_t l2_esize;
    uint32_t csize_shift;
    uint64_t csize_mask, cmask;
    uint32_t ctype;
    uint64_t *l2s;                      /* L2 tables to walk */
    size_t nl2, capl2;
    struct qa_comp *comps;
    size_t ncomp, capcomp;
    /* Bytes of tables left to parse.  Honest tables do not overlap, so
     * they add up to less than the file; a crafted image naming the same
     * bytes as thousands of tables has the rest kept but not parsed. */
    uint64_t budget;
};

static bool qa_spend(struct qa *q, uint64_t bytes)
{
    if (bytes > q->budget)
        return false;
    q->budget -= bytes;
    return true;
}

static void qa_push_l2(struct qa *q, uint64_t off)
{
    if (q->nl2 == q->capl2) {
        size_t cap = q->capl2 ? q->capl2 * 2 : 64;
        uint64_t *n = realloc(q->l2s, cap * sizeof(*n));
        if (!n) {
            q->a->err = -ENOMEM;
            return;
        }
        q->l2s = n;
        q->capl2 = cap;
    }
    q->l2s[q->nl2++] = off;
}

static int qa_cmp_comp(const void *x, const void *y);

/* Sort and drop duplicates (the same compressed cluster named again). */
static void qa_compact_comps(struct qa *q)
{
    if (!q->ncomp)
        return;
    qsort(q->comps, q->ncomp, sizeof(*q->comps), qa_cmp_comp);
    size_t w = 1;
    for (size_t i = 1; i < q->ncomp; i++)
        if (q->comps[i].off != q->comps[w - 1].off)
            q->comps[w++] = q->comps[i];
    q->ncomp = w;
}

static void qa_push_comp(struct qa *q, uint64_t off, uint64_t end)
{
    bool compacted = false;
    if (q->ncomp == q->capcomp && q->ncomp >= (1u << 20)) {
        qa_compact_comps(q);   /* snapshots share clusters: do not grow for them */
        compacted = true;
    }
    if (q->ncomp == q->capcomp || (compacted && q->ncomp > q->capcomp / 2)) {
        size_t cap = q->capcomp ? q->capcomp * 2 : 64;
        struct qa_comp *n = realloc(q->comps, cap * sizeof(*n));
        if (!n) {
            q->a->err = -ENOMEM;
            return;
        }
        q->comps = n;
        q->capcomp = cap;
    }
    q->comps[q->ncomp++] = (struct qa_comp){ off, end };
}

/* Read a table of N big-endian 64-bit entries at OFF (capped at MAXB bytes),
 * keep it, and return it (caller frees) with *n the entries read. */
static uint8_t *qa_table(struct qa *q, uint64_t off, uint64_t n, uint64_t maxb, uint64_t *nout)
{
    *nout = 0;
    if (off == 0 || off >= q->a->size || n == 0)
        return NULL;
    uint64_t bytes = MIN(n, maxb / 8) * 8;
    anon_keep(q->a, off, bytes);
    bytes = MIN(bytes, ALIGN_UP(q->a->size - off, (uint64_t)8));
    if (!qa_spend(q, bytes))
        return NULL;
    uint8_t *t = malloc(bytes);
    if (!t) {
        q->a->err = -ENOMEM;
        return NULL;
    }
    if (anon_read(q->a, off, bytes, t) < 0) {
        free(t);
        return NULL;
    }
    *nout = bytes / 8;
    return t;
}

/* An L1 table: keep it and queue its L2 tables. */
static void qa_l1(struct qa *q, uint64_t off, uint64_t n)
{
    uint64_t cnt;
    uint8_t *t = qa_table(q, off, n, QCOW2_MAX_L1_BYTES, &cnt);
    for (uint64_t i = 0; i < cnt; i++) {
        uint64_t l2 = be64_get(t + 8 * i) & QA_L1_MASK;
        if (l2 && l2 < q->a->size)
            qa_push_l2(q, l2);
    }
    free(t);
}

static int qa_cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static int qa_cmp_comp(const void *x, const void *y)
{
    /* by offset; the smaller footprint first, it bounds the stream */
    const struct qa_comp *a = x, *b = y;
    if (a->off != b->off)
        return a->off < b->off ? -1 : 1;
    return a->end < b->end ? -1 : a->end > b->end;
}

/* Every distinct L2 table once: keep it, note its compressed clusters. */
static void qa_walk_l2(struct qa *q)
{
    if (!q->nl2 || anon_failed(q->a))
        return;
    qsort(q->l2s, q->nl2, sizeof(*q->l2s), qa_cmp_u64);
    uint8_t *t = malloc(q->cs);
    if (!t) {
        q->a->err = -ENOMEM;
        return;
    }
    uint64_t n = q->cs / q->l2_esize;
    for (size_t i = 0; i < q->nl2 && !anon_failed(q->a); i++) {
        if (i && q->l2s[i] == q->l2s[i - 1])
            continue;
        uint64_t off = q->l2s[i];
        anon_keep(q->a, off, q->cs);
        /* entries past the end of the file read as zeros: not parsed */
        uint64_t in_file = MIN(n, DIV_ROUND_UP(q->a->size - off, (uint64_t)q->l2_esize));
        if (!qa_spend(q, in_file * q->l2_esize) ||
            anon_read(q->a, off, in_file * q->l2_esize, t) < 0)
            continue;
        for (uint64_t k = 0; k < in_file; k++) {
            uint64_t e = be64_get(t + k * q->l2_esize);
            if (!(e & QCOW2_OFLAG_COMPRESSED))
                continue;
            uint64_t coff = e & q->cmask;
            uint64_t nsec = ((e >> q->csize_shift) & q->csize_mask) + 1;
            if (coff && coff < q->a->size)
                qa_push_comp(q, coff, ALIGN_DOWN(coff, (uint64_t)512) + nsec * 512);
        }
    }
    free(t);
}

/* A compressed stream that inflates to one zero cluster, or NULL. */
static uint8_t *qa_zero_stream(struct qa *q, size_t *len)
{
    uint8_t *zero = calloc(1, q->cs);
    size_t cap = 4096 + q->cs / 64;
    uint8_t *out = anon_alloc(q->a, cap);
    uint8_t *ret = NULL;
    if (!zero || !out)
        goto done;
    if (q->ctype == 0) {
        z_stream z;
        memset(&z, 0, sizeof(z));
        /* raw deflate with the 4 KiB window qcow2 readers inflate with */
        if (deflateInit2(&z, 9, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY) != Z_OK)
            goto done;
        z.next_in = zero;
        z.avail_in = (uInt)q->cs;
        z.next_out = out;
        z.avail_out = (uInt)cap;
        int zr = deflate(&z, Z_FINISH);
        *len = cap - z.avail_out;
        deflateEnd(&z);
        if (zr == Z_STREAM_END)
            ret = out;
    }
#ifdef HAVE_ZSTD
    else if (q->ctype == 1) {
        size_t n = ZSTD_compress(out, cap, zero, q->cs, 19);
        if (!ZSTD_isError(n)) {
            *len = n;
            ret = out;
        }
    }
#endif
done:
    free(zero);
    return ret;
}

static void qa_compressed(struct qa *q)
{
    if (!q->ncomp || anon_failed(q->a))
        return;
    qa_compact_comps(q);
    size_t zlen = 0;
    uint8_t *zs = qa_zero_stream(q, &zlen);
    for (size_t i = 0; i < q->ncomp; i++) {
        const struct qa_comp *c = &q->comps[i];
        if (i && c->off == q->comps[i - 1].off)
            continue;
        /* the stream may not reach into the next compressed cluster,
         * which can start inside this one's last sector */
        uint64_t end = c->end;
        for (size_t k = i + 1; k < q->ncomp; k++)
            if (q->comps[k].off > c->off) {
                end = MIN(end, q->comps[k].off);
                break;
            }
        if (zs && zlen <= end - c->off)
            anon_replace_ref(q->a, c->off, zlen, zs, ANON_PRIO_DATA);
        else
            q->a->warn_unfit++;
    }
}

/* Header extensions (in the kept header cluster): find the structures they
 * point to and scrub the names they hold. */
static void qa_extensions(struct qa *q, const uint8_t *h, uint64_t hlen, uint64_t start)
{
    uint64_t p = start;
    while (p + 8 <= hlen && !anon_failed(q->a)) {
        uint32_t type = be32_get(h + p), len = be32_get(h + p + 4);
        if (type == QCOW2_EXT_END || len > hlen - p - 8)
            break;
        const uint8_t *d = h + p + 8;
        if (type == QCOW2_EXT_BITMAPS && len >= 24) {
            uint32_t nb = be32_get(d);
            uint64_t dsize = be64_get(d + 8), doff = be64_get(d + 16);
            dsize = MIN(dsize, (uint64_t)QA_MAX_TABLE);
            anon_keep(q->a, doff, dsize);
            uint8_t *dir = doff && doff < q->a->size ? malloc(dsize + 1) : NULL;
            if (dir && anon_read(q->a, doff, dsize, dir) >= 0) {
                uint64_t e = 0;
                for (uint32_t i = 0; i < nb && e + 24 <= dsize; i++) {
                    uint64_t toff = be64_get(dir + e);
                    uint32_t tsize = be32_get(dir + e + 8);
                    uint16_t nlen = be16_get(dir + e + 18);
                    uint32_t extra = be32_get(dir + e + 20);
                    uint64_t tn;
                    uint8_t *t = qa_table(q, toff, tsize, QCOW2_MAX_L1_BYTES, &tn);
                    for (uint64_t k = 0; k < tn; k++) {
                        uint64_t c = be64_get(t + 8 * k) & QA_L1_MASK;
                        if (c)
                            anon_keep(q->a, c, q->cs);
                    }
                    free(t);
                    uint64_t name = e + 24 + (uint64_t)extra;
                    if (q->a->scrub_names && name + nlen <= dsize)
                        anon_scrub_range(q->a, doff + name, nlen);
                    e = ALIGN_UP(name + nlen, (uint64_t)8);
                }
            }
            free(dir);
        } else if (type == QCOW2_EXT_CRYPTO && len >= 16) {
            anon_keep(q->a, be64_get(d), MIN(be64_get(d + 8), (uint64_t)QA_MAX_TABLE));
        } else if (type == QCOW2_EXT_DATA_FILE && q->a->scrub_names) {
            anon_scrub_range(q->a, p + 8, len);
        }
        p += 8 + ALIGN_UP((uint64_t)len, (uint64_t)8);
    }
}

/* The snapshot table: keep it, queue each snapshot's L1, scrub names. */
static void qa_snapshots(struct qa *q, uint64_t off, uint32_t nb)
{
    if (!off || off >= q->a->size || !nb)
        return;
    uint64_t pos = off, limit = MIN(q->a->size, off + QA_MAX_TABLE);
    for (uint32_t i = 0; i < MIN(nb, (uint32_t)QCOW2_MAX_SNAPSHOTS) && pos + 40 <= limit; i++) {
        uint8_t e[40];
        if (anon_read(q->a, pos, 40, e) < 0)
            break;
        uint16_t id_len = be16_get(e + 12), name_len = be16_get(e + 14);
        uint32_t extra = be32_get(e + 36);
        if (extra > QA_MAX_TABLE)
            break;
        uint64_t name_at = pos + 40 + extra + id_len;
        uint64_t next = ALIGN_UP(name_at + name_len, (uint64_t)8);
        anon_keep(q->a, pos, next - pos);
        if (q->a->scrub_names)
            anon_scrub_range(q->a, name_at, name_len);
        qa_l1(q, be64_get(e), be32_get(e + 8));
        pos = next;
    }
}

int qcow2_anonymize(struct anon *a, struct error **errp)
{
    uint8_t h[104];
    int r = anon_read(a, 0, sizeof(h), h);
    if (r < 0)
        return err_set_errno(errp, -r, _("cannot read '%s'"), a->filename);
    if (be32_get(h) != QCOW2_MAGIC)
        return err_set(errp, EINVAL, _("'%s': not a qcow2 image"), a->filename);
    struct qa q = { .a = a, .budget = 4 * a->size + (UINT64_C(64) << 20) };
    uint32_t version = be32_get(h + 4);
    q.cluster_bits = be32_get(h + 20);
    bool tables = true;
    if (q.cluster_bits < QCOW2_MIN_CLUSTER_BITS || q.cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
        /* no cluster size: only the header can be found */
        q.cluster_bits = 16;
        tables = false;
    }
    q.cs = UINT64_C(1) << q.cluster_bits;
    uint64_t incompat = version >= 3 ? be64_get(h + 72) : 0;
    uint64_t hlen = version >= 3 ? be32_get(h + 100) : 72;
    hlen = MAX(hlen, (uint64_t)72);
    q.ctype = version >= 3 && hlen > 104 && (incompat & QCOW2_INCOMPAT_COMPRESSION) ? 1 : 0;
    q.l2_esize = version >= 3 && (incompat & QCOW2_INCOMPAT_EXTL2) ? 16 : 8;
    q.csize_shift = 62 - (q.cluster_bits - 8);
    q.csize_mask = (UINT64_C(1) << (q.cluster_bits - 8)) - 1;
    q.cmask = (UINT64_C(1) << q.csize_shift) - 1;

    /* the header cluster holds header, extensions and (usually) names */
    uint8_t *hc = malloc(q.cs);
    if (!hc)
        return err_set(errp, ENOMEM, _("out of memory"));
    anon_keep(a, 0, q.cs);
    if (anon_read(a, 0, q.cs, hc) < 0) {
        free(hc);
        return err_set(errp, EIO, _("cannot read '%s'"), a->filename);
    }
    if (q.ctype == 1)
        q.ctype = hc[104];
    uint64_t boff = be64_get(h + 8);
    uint32_t blen = MIN(be32_get(h + 16), 65536u);
    if (boff && blen) {
        anon_keep(a, boff, blen);
        if (a->scrub_names)
            anon_scrub_range(a, boff, blen);
    }
    qa_extensions(&q, hc, q.cs, MIN(hlen, q.cs));
    free(hc);
    if (tables) {
        qa_l1(&q, be64_get(h + 40), be32_get(h + 36));
        /* refcount table and blocks */
        uint64_t rt_n;
        uint64_t rt_bytes = MIN((uint64_t)be32_get(h + 56) * q.cs, (uint64_t)QCOW2_MAX_RT_BYTES);
        uint8_t *rt = qa_table(&q, be64_get(h + 48), rt_bytes / 8, QCOW2_MAX_RT_BYTES, &rt_n);
        for (uint64_t i = 0; i < rt_n; i++) {
            uint64_t b = be64_get(rt + 8 * i) & QCOW2_RT_OFFSET_MASK;
            if (b)
                anon_keep(a, b, q.cs);
        }
        free(rt);
        qa_snapshots(&q, be64_get(h + 64), be32_get(h + 60));
        qa_walk_l2(&q);
        qa_compressed(&q);
    }
    free(q.l2s);
    free(q.comps);
    return 0;
}
