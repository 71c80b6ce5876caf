/* qcow2-cluster.c - guest-to-host mapping through L1 and L2 tables, and the
 * data paths built on it: reads, writes (with copy-on-write of partial and
 * shared clusters), zero writes, discard and block status.
 *
 * L2 tables are cached in a direct-mapped cache keyed by their offset and
 * written through.  Crash ordering on allocation: refcounts (alloc) ->
 * data -> L2 entry -> L1 entry; old clusters are freed last. */
#include <config.h>

#include <errno.h>
#include <string.h>
#include "qcow2.h"
#include "trace/block.h"

#define QCOW2_L2_CACHE_BYTES (32u << 20)

int qcow2_l2_cache_init(struct blk *bs)
{
    struct qcow2 *s = bs->opaque;
    uint64_t n = QCOW2_L2_CACHE_BYTES / s->cluster_size;
    s->l2c_slots = (uint32_t)MAX(MIN(n, (uint64_t)4096), (uint64_t)16);
    s->l2c = calloc(s->l2c_slots, sizeof(*s->l2c));
    return s->l2c ? 0 : -ENOMEM;
}

void qcow2_l2_cache_free(struct blk *bs)
{
    struct qcow2 *s = bs->opaque;
    if (!s->l2c)
        return;
    for (uint32_t i = 0; i < s->l2c_slots; i++)
        free(s->l2c[i].data);
    free(s->l2c);
    s->l2c = NULL;
}

static struct qcow2_l2_slot *l2_slot(struct qcow2 *s, uint64_t l2_offset)
{
    return &s->l2c[(l2_offset >> s->cluster_bits) % s->l2c_slots];
}

void qcow2_l2_cache_drop(struct blk *bs, uint64_t l2_offset)
{
    struct qcow2 *s = bs->opaque;
    struct qcow2_l2_slot *sl = l2_slot(s, l2_offset);
    if (sl->offset == l2_offset)
        sl->offset = 0;
}

int qcow2_get_l2(struct blk *bs, uint64_t l2_offset, uint8_t **tbl)
{
    struct qcow2 *s = bs->opaque;
    struct qcow2_l2_slot *sl = l2_slot(s, l2_offset);
    if (sl->offset == l2_offset && sl->data) {
        *tbl = sl->data;
        return 0;
    }
    if (qcow2_offset_into_cluster(s, l2_offset) || l2_offset > bs->file->size ||
        s->cluster_size > bs->file->size - l2_offset)
        return qcow2_mark_corrupt(bs, "L2 table offset 0x%" PRIx64 " is invalid", l2_offset);
    if (!sl->data) {
        sl->data = malloc(s->cluster_size);
        if (!sl->data)
            return -ENOMEM;
    }
    sl->offset = 0;
    trace_qcow2_l2_cache_miss(bs, l2_offset);
    int r = blk_pread(bs->file, l2_offset, s->cluster_size, sl->data);
    if (r < 0)
        return r;
    sl->offset = l2_offset;
    *tbl = sl->data;
    return 0;
}

uint64_t qcow2_l2_get(const struct qcow2 *s, const uint8_t *tbl, uint64_t i)
{
    return be64_get(tbl + i * s->l2_entry_size);
}

uint64_t qcow2_l2_bitmap(const struct qcow2 *s, const uint8_t *tbl, uint64_t i)
{
    return s->ext_l2 ? be64_get(tbl + i * 16 + 8) : 0;
}

void qcow2_l2_set(const struct qcow2 *s, uint8_t *tbl, uint64_t i, uint64_t v, uint64_t bm)
{
    be64_put(tbl + i * s->l2_entry_size, v);
    if (s->ext_l2)
        be64_put(tbl + i * 16 + 8, bm);
}

enum qcow2_ctype qcow2_entry_type(const struct qcow2 *s, uint64_t e)
{
    if (e & QCOW2_OFLAG_COMPRESSED)
        return QCOW2_COMPRESSED;
    if ((e & QCOW2_OFLAG_ZERO) && !s->ext_l2)
        return (e & QCOW2_OFFSET_MASK) ? QCOW2_ZERO_ALLOC : QCOW2_ZERO_PLAIN;
    return (e & QCOW2_OFFSET_MASK) ? QCOW2_NORMAL : QCOW2_UNALLOC;
}

/* Type of subcluster SC of an extended entry. */
static enum qcow2_ctype ext_type(uint64_t e, uint64_t bm, unsigned sc)
{
    if (e & QCOW2_OFLAG_COMPRESSED)
        return QCOW2_COMPRESSED;
    if (bm & (UINT64_C(1) << (32 + sc)))
        return (e & QCOW2_OFFSET_MASK) ? QCOW2_ZERO_ALLOC : QCOW2_ZERO_PLAIN;
    if ((bm & (UINT64_C(1) << sc)) && (e & QCOW2_OFFSET_MASK))
        return QCOW2_NORMAL;
    return QCOW2_UNALLOC;
}

/* A data cluster this image owns outright, writable in place: refcount 1
 * (OFLAG_COPIED) and, with extended L2 entries, every subcluster allocated. */
static bool owned(const struct qcow2 *s, const uint8_t *tbl, uint64_t i)
{
    uint64_t e = qcow2_l2_get(s, tbl, i);
    if (qcow2_entry_type(s, e) != QCOW2_NORMAL || !(e & QCOW2_OFLAG_COPIED))
        return false;
    return !s->ext_l2 || qcow2_l2_bitmap(s, tbl, i) == UINT64_C(0xffffffff);
}

/* Bytes of the snapshot table (as qcow2-snapshot.c writes it). */
static uint64_t snapshot_table_bytes(const struct qcow2 *s)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < s->nb_snapshots; i++)
        n += ALIGN_UP(40 + (uint64_t)s->snaps[i].extra_size + strlen(s->snaps[i].id) +
                          strlen(s->snaps[i].name), (uint64_t)8);
    return n;
}

/* Would a write to host bytes [OFF, OFF+LEN) land on the image's own
 * metadata, other than the kinds in IGNORE (QCOW2_OL_*: the table being
 * written)?  Only a damaged image asks for that (an L2 entry pointing at a
 * table, two tables in one cluster, a table whose refcount says free), and
 * the write would destroy the tables that map the rest of the disk.  The
 * image is marked corrupt instead and the write fails, as qemu does;
 * `emu-img check -r all` repairs it.  Checked from memory: header, L1
 * table, refcount table and blocks, the active L2 tables, the snapshot
 * table and the snapshots' L1 tables; the snapshots' L2 tables are not
 * (they would have to be read).  Repairs are not checked: they rewrite
 * exactly such damage. */
int qcow2_check_overlap(struct blk *bs, uint64_t off, uint64_t len, unsigned ignore)
{
    struct qcow2 *s = bs->opaque;
    if (s->checking)
        return 0;
    if (s->rt_hi_of != s->rt || s->rt_hi_n != s->rt_entries) {
        /* a new refcount table: where do its entries end? (a table is
         * mostly empty: a block covers gigabytes) */
        s->rt_hi = s->rt_entries;
        while (s->rt_hi && !(s->rt[s->rt_hi - 1] & QCOW2_RT_OFFSET_MASK))
            s->rt_hi--;
        s->rt_hi_of = s->rt;
        s->rt_hi_n = s->rt_entries;
    }
    uint64_t cs = s->cluster_size;
    uint64_t lo = ALIGN_DOWN(off, cs), span = ALIGN_UP(off + len, cs) - lo;
    const char *what = NULL;
    uint64_t at = 0;
/* does the area [START, START+N) meet the write's clusters? */
#define OVERLAPS(start, n) ((start) < lo + span && lo < (start) + (n))
    if (OVERLAPS(0, cs))
        what = "the header";
    else if (!(ignore & QCOW2_OL_L1) && OVERLAPS(s->l1_offset, (uint64_t)s->l1_size * 8))
        what = "the L1 table", at = s->l1_offset;
    else if (!(ignore & QCOW2_OL_RT) && OVERLAPS(s->rt_offset, (uint64_t)s->rt_clusters * cs))
        what = "the refcount table", at = s->rt_offset;
    else if (s->nb_snapshots && OVERLAPS(s->snapshots_offset, snapshot_table_bytes(s)))
        what = "the snapshot table", at = s->snapshots_offset;
    /* single clusters: one unsigned comparison each (a cluster-aligned
     * table meets the write iff it starts inside its clusters) */
    for (uint32_t i = 0; !what && !(ignore & QCOW2_OL_L2) && i < s->l1_size; i++) {
        uint64_t t = s->l1[i] & QCOW2_OFFSET_MASK;
        if (t && t - lo < span)
            what = "an L2 table", at = t;
    }
    for (uint64_t i = 0; !what && !(ignore & QCOW2_OL_RB) && i < s->rt_hi; i++) {
        uint64_t t = s->rt[i] & QCOW2_RT_OFFSET_MASK;
        if (t && t - lo < span)
            what = "a refcount block", at = t;
    }
    for (uint32_t i = 0; !what && i < s->nb_snapshots; i++)
        if (OVERLAPS(s->snaps[i].l1_offset, (uint64_t)s->snaps[i].l1_size * 8))
            what = "a snapshot's L1 table", at = s->snaps[i].l1_offset;
#undef OVERLAPS
    if (!what)
        return 0;
    return qcow2_mark_corrupt(bs, "a write at 0x%" PRIx64 " would overwrite %s at 0x%" PRIx64,
                              off, what, at);
}

int qcow2_write_l2_entries(struct blk *bs, uint64_t l2_offset, uint8_t *tbl, uint64_t first,
                           uint64_t n)
{
    struct qcow2 *s = bs->opaque;
    uint64_t lo = ALIGN_DOWN(first * s->l2_entry_size, (uint64_t)512);
    uint64_t hi = MIN(ALIGN_UP((first + n) * s->l2_entry_size, (uint64_t)512), s->cluster_size);
    int r = qcow2_check_overlap(bs, l2_offset + lo, hi - lo, QCOW2_OL_L2);
    return r < 0 ? r : blk_pwrite(bs->file, l2_offset + lo, hi - lo, tbl + lo);
}

struct qcow2_map {
    enum qcow2_ctype type;
    uint64_t host;     /* NORMAL / ZERO_ALLOC: host offset of the first byte */
    uint64_t entry;    /* COMPRESSED: the L2 entry */
    uint64_t bytes;    /* length of the run */
};

/* Map guest OFF (up to MAXLEN bytes) to a run of one type.  Lock held. */
static int get_mapping(struct blk *bs, uint64_t off, uint64_t maxlen, struct qcow2_map *m)
{
    struct qcow2 *s = bs->opaque;
    uint64_t cs = s->cluster_size;
    uint64_t span_bits = s->cluster_bits + s->l2_bits;
    uint64_t l1i = off >> span_bits;
    uint64_t span_end = (l1i + 1) << span_bits;
    uint64_t limit = MIN(maxlen, span_end - off);
    memset(m, 0, sizeof(*m));
    m->type = QCOW2_UNALLOC;
    if (l1i >= s->l1_size || !(s->l1[l1i] & QCOW2_OFFSET_MASK)) {
        m->bytes = limit;
        return 0;
    }
    uint64_t l2off = s->l1[l1i] & QCOW2_OFFSET_MASK;
    uint8_t *tbl;
    int r = qcow2_get_l2(bs, l2off, &tbl);
    if (r < 0)
        return r;
    uint64_t l2i = (off >> s->cluster_bits) & (s->l2_entries - 1);
    uint64_t e = qcow2_l2_get(s, tbl, l2i);
    uint64_t in = qcow2_offset_into_cluster(s, off);

    if (s->ext_l2) {
        uint64_t bm = qcow2_l2_bitmap(s, tbl, l2i);
        unsigned sc = (unsigned)(in / s->subcluster_size);
        enum qcow2_ctype t = ext_type(e, bm, sc);
        uint64_t n = (s->subcluster_size - in % s->subcluster_size);
        while (n < limit && sc + 1 < 32 && ext_type(e, bm, sc + 1) == t &&
               t != QCOW2_COMPRESSED) {
            sc++;
            n += s->subcluster_size;
        }
        if (t == QCOW2_COMPRESSED)
            n = cs - in;
        m->type = t;
        m->bytes = MIN(n, limit);
        m->entry = e;
        if (t != QCOW2_COMPRESSED && (e & QCOW2_OFFSET_MASK)) {
            /* unallocated and zero subclusters keep their host offset */
            if (qcow2_offset_into_cluster(s, e & QCOW2_OFFSET_MASK))
                return qcow2_mark_corrupt(bs, "cluster offset 0x%" PRIx64 " is unaligned",
                                          e & QCOW2_OFFSET_MASK);
            m->host = (e & QCOW2_OFFSET_MASK) + in;
        }
        return 0;
    }

    enum qcow2_ctype t = qcow2_entry_type(s, e);
    m->type = t;
    m->entry = e;
    uint64_t n = cs - in;
    if (t == QCOW2_NORMAL || t == QCOW2_ZERO_ALLOC) {
        uint64_t host = e & QCOW2_OFFSET_MASK;
        if (qcow2_offset_into_cluster(s, host))
            return qcow2_mark_corrupt(bs, "cluster offset 0x%" PRIx64 " is unaligned", host);
        m->host = host + in;
        uint64_t next = host + cs;
        for (uint64_t i = l2i + 1; i < s->l2_entries && n < limit; i++) {
            uint64_t e2 = qcow2_l2_get(s, tbl, i);
            if (qcow2_entry_type(s, e2) != t || (e2 & QCOW2_OFFSET_MASK) != next)
                break;
            n += cs;
            next += cs;
        }
    } else if (t != QCOW2_COMPRESSED) {
        for (uint64_t i = l2i + 1; i < s->l2_entries && n < limit; i++) {
            if (qcow2_entry_type(s, qcow2_l2_get(s, tbl, i)) != t)
                break;
            n += cs;
        }
    }
    m->bytes = MIN(n, limit);
    return 0;
}

static int read_backing(struct blk *bs, uint64_t off, uint64_t n, const struct iovec *iov,
                        int iovcnt, uint64_t ioff)
{
    struct blk *b = bs->backing;
    uint64_t have = 0;
    /* past the virtual size (the VM state area) nothing shows through */
    if (b && off < b->size && off < bs->size)
        have = MIN(n, b->size - off);
    if (have) {
        struct iovec *sub = malloc(sizeof(*sub) * (size_t)iovcnt);
        if (!sub)
            return -ENOMEM;
        int k = iov_slice(iov, iovcnt, ioff, have, sub, iovcnt);
        int r = blk_preadv(b, off, have, sub, k);
        free(sub);
        if (r < 0)
            return r;
    }
    if (have < n)
        iov_memset(iov, iovcnt, ioff + have, 0, n - have);
    return 0;
}

/* Read guest bytes.  LOCKED: the caller holds s->lock (copy-on-write). */
static int qcow2_read(struct blk *bs, uint64_t off, uint64_t len, const struct iovec *iov,
                      int iovcnt, bool locked)
{
    struct qcow2 *s = bs->opaque;
    uint64_t done = 0;
    int r = 0;
    struct iovec *sub = malloc(sizeof(*sub) * (size_t)iovcnt);
    uint8_t *cbuf = NULL;
    if (!sub)
        return -ENOMEM;
    while (done < len && r >= 0) {
        struct qcow2_map m;
        if (!locked)
            pthread_mutex_lock(&s->lock);
        r = get_mapping(bs, off + done, len - done, &m);
        if (!locked)
            pthread_mutex_unlock(&s->lock);
        if (r < 0)
            break;
        uint64_t n = m.bytes;
        switch (m.type) {
        case QCOW2_UNALLOC:
            r = read_backing(bs, off + done, n, iov, iovcnt, done);
            break;
        case QCOW2_ZERO_PLAIN:
        case QCOW2_ZERO_ALLOC:
            iov_memset(iov, iovcnt, done, 0, n);
            break;
        case QCOW2_NORMAL: {
            int k = iov_slice(iov, iovcnt, done, n, sub, iovcnt);
            r = blk_preadv(bs->file, m.host, n, sub, k);
            break;
        }
        case QCOW2_COMPRESSED:
            if (!cbuf)
                cbuf = malloc(s->cluster_size);
            if (!cbuf) {
                r = -ENOMEM;
                break;
            }
            r = qcow2_read_compressed(bs, m.entry, cbuf);
            if (r >= 0)
                iov_from_buf(iov, iovcnt, done,
                             cbuf + qcow2_offset_into_cluster(s, off + done), n);
            break;
        }
        done += n;
    }
    free(cbuf);
    free(sub);
    return r < 0 ? r : 0;
}

int qcow2_preadv(struct blk *bs, uint64_t off, uint64_t len, const struct iovec *iov,
                 int iovcnt)
{
    return qcow2_read(bs, off, len, iov, iovcnt, false);
}

int qcow2_grow_l1(struct blk *bs, uint64_t min_size)
{
    struct qcow2 *s = bs->opaque;
    if (min_size <= s->l1_size)
        return 0;
    if (min_size * 8 > QCOW2_MAX_L1_BYTES)
        return -EFBIG;
    uint64_t nsize = min_size;
    uint64_t bytes = ALIGN_UP(nsize * 8, s->cluster_size);
    uint64_t *nl1 = calloc(bytes / 8, 8);
    if (!nl1)
        return -ENOMEM;
    memcpy(nl1, s->l1, (size_t)s->l1_size * 8);
    int64_t noff = qcow2_alloc_clusters(bs, bytes >> s->cluster_bits);
    int r = noff < 0 ? (int)noff : qcow2_write_table(bs, (uint64_t)noff, bytes / 8, nl1);
    if (r >= 0)
        r = blk_flush(bs->file);
    if (r < 0) {
        free(nl1);
        return r;
    }
    uint64_t old_off = s->l1_offset, old_bytes = ALIGN_UP((uint64_t)s->l1_size * 8,
                                                          s->cluster_size);
    free(s->l1);
    s->l1 = nl1;
    s->l1_offset = (uint64_t)noff;
    s->l1_size = (uint32_t)nsize;
    r = qcow2_write_header(bs);
    if (r >= 0)
        r = blk_flush(bs->file);
    if (r >= 0 && old_bytes && old_off)
        r = qcow2_free_clusters(bs, old_off, old_bytes);
    return r;
}

/* The L2 table for L1 index L1I, allocated or copied so that it can be
 * written (refcount 1).  Lock held. */
int qcow2_l2_writable(struct blk *bs, uint64_t l1i, uint64_t *l2off, uint8_t **tbl)
{
    struct qcow2 *s = bs->opaque;
    uint64_t cs = s->cluster_size;
    if (l1i >= s->l1_size)
        return -EIO;
    uint64_t e = s->l1[l1i];
    uint64_t old = e & QCOW2_OFFSET_MASK;
    if (old && (e & QCOW2_OFLAG_COPIED)) {
        *l2off = old;
        return qcow2_get_l2(bs, old, tbl);
    }
    if (old) {
        uint64_t rc;
        int r = qcow2_get_refcount(bs, old >> s->cluster_bits, &rc);
        if (r < 0)
            return r;
        if (rc == 1) {
            s->l1[l1i] = old | QCOW2_OFLAG_COPIED;
            r = qcow2_write_l1_entry(bs, (uint32_t)l1i);
            *l2off = old;
            return r < 0 ? r : qcow2_get_l2(bs, old, tbl);
        }
    }
    int64_t n = qcow2_alloc_clusters(bs, 1);
    if (n < 0)
        return (int)n;
    uint8_t *buf = calloc(1, cs);
    if (!buf)
        return -ENOMEM;
    int r = 0;
    if (old) {
        uint8_t *otbl;
        r = qcow2_get_l2(bs, old, &otbl);
        if (r >= 0)
            memcpy(buf, otbl, cs);
    }
    if (r >= 0)
        r = qcow2_check_overlap(bs, (uint64_t)n, cs, 0);
    if (r >= 0)
        r = blk_pwrite(bs->file, (uint64_t)n, cs, buf);
    free(buf);
    if (r < 0)
        return r;
    s->l1[l1i] = (uint64_t)n | QCOW2_OFLAG_COPIED;
    r = qcow2_write_l1_entry(bs, (uint32_t)l1i);
    if (r < 0)
        return r;
    if (old) {
        qcow2_l2_cache_drop(bs, old);
        r = qcow2_free_clusters(bs, old, cs);
        if (r < 0)
            return r;
    }
    *l2off = (uint64_t)n;
    return qcow2_get_l2(bs, (uint64_t)n, tbl);
}

/* Data clusters are allocated at the end of the image one write at a
 * time; reserving the host file's space ahead in long runs lets the
 * file system allocate it as a few long extents at once instead of block
 * by block in every write (the space not grown into is freed on close). */
#define QCOW2_RESERVE_STEP (64u << 20)

static void reserve_ahead(struct blk *bs, uint64_t start, uint64_t end)
{
    struct qcow2 *s = bs->opaque;
    if (end <= s->reserved_end)
        return;
    uint64_t from = MAX(s->reserved_end, start);
    uint64_t to = ALIGN_UP(end, (uint64_t)QCOW2_RESERVE_STEP) + QCOW2_RESERVE_STEP;
    blk_file_reserve(bs->file, from, to - from);
    s->reserved_end = to;
}

/* Write guest bytes; lock held.  Partial clusters that need a new host
 * cluster are completed from the old content (copy-on-write). */
static int qcow2_write_locked(struct blk *bs, uint64_t off, uint64_t len,
                              const struct iovec *iov, int iovcnt)
{
    struct qcow2 *s = bs->opaque;
    uint64_t cs = s->cluster_size;
    uint64_t done = 0;
    int r = qcow2_mark_dirty(bs);
    struct iovec *sub = malloc(sizeof(*sub) * (size_t)(iovcnt + 2));
    if (!sub)
        return -ENOMEM;
    while (r >= 0 && done < len) {
        uint64_t pos = off + done;
        uint64_t l1i = pos >> (s->cluster_bits + s->l2_bits);
        uint64_t l2off;
        uint8_t *tbl;
        r = qcow2_l2_writable(bs, l1i, &l2off, &tbl);
        if (r < 0)
            break;
        uint64_t l2i = (pos >> s->cluster_bits) & (s->l2_entries - 1);
        uint64_t in = qcow2_offset_into_cluster(s, pos);
        uint64_t e = qcow2_l2_get(s, tbl, l2i);
        uint64_t left = len - done;

        if (owned(s, tbl, l2i)) {
            /* In place, over a contiguous run of owned clusters. */
            uint64_t host = e & QCOW2_OFFSET_MASK;
            uint64_t n = cs - in;
            for (uint64_t i = l2i + 1; i < s->l2_entries && n < left; i++) {
                uint64_t e2 = qcow2_l2_get(s, tbl, i);
                if (!owned(s, tbl, i) || (e2 & QCOW2_OFFSET_MASK) != host + (i - l2i) * cs)
                    break;
                n += cs;
            }
            n = MIN(n, left);
            r = qcow2_check_overlap(bs, host + in, n, 0);
            if (r < 0)
                break;
            int k = iov_slice(iov, iovcnt, done, n, sub, iovcnt);
            r = blk_pwritev(bs->file, host + in, n, sub, k);
            done += n;
            continue;
        }

        /* Allocating run: clusters that are not owned data clusters. */
        uint64_t k = 1;
        while (l2i + k < s->l2_entries && (k * cs - in) < left) {
            if (owned(s, tbl, l2i + k))
                break;
            k++;
        }
        uint64_t n = MIN(k * cs - in, left);
        int64_t host = qcow2_alloc_clusters(bs, k);
        if (host < 0) {
            r = (int)host;
            break;
        }
        r = qcow2_check_overlap(bs, (uint64_t)host, k * cs, 0);
        if (r < 0)
            break;
        reserve_ahead(bs, (uint64_t)host, (uint64_t)host + k * cs);
        uint64_t cstart = pos - in;
        uint64_t tail = k * cs - in - n;
        if (in || tail) {
            uint8_t *buf = malloc(k * cs);
            if (!buf) {
                r = -ENOMEM;
                break;
            }
            struct iovec biov = { .iov_base = buf, .iov_len = k * cs };
            if (in)
                r = qcow2_read(bs, cstart, in, &biov, 1, true);
            if (r >= 0 && tail) {
                uint64_t t0 = pos + n;
                uint64_t have = t0 < bs->size ? MIN(tail, bs->size - t0) : 0;
                memset(buf + in + n, 0, tail);
                if (have) {
                    struct iovec tiov = { .iov_base = buf + in + n, .iov_len = have };
                    r = qcow2_read(bs, t0, have, &tiov, 1, true);
                }
            }
            /* the COW read may have evicted our L2 table from the cache */
            if (r >= 0)
                r = qcow2_get_l2(bs, l2off, &tbl);
            if (r >= 0) {
                iov_to_buf(iov, iovcnt, done, buf + in, n);
                r = blk_pwrite(bs->file, (uint64_t)host, k * cs, buf);
            }
            free(buf);
        } else {
            int cnt = iov_slice(iov, iovcnt, done, n, sub, iovcnt);
            r = blk_pwritev(bs->file, (uint64_t)host, n, sub, cnt);
        }
        if (r < 0)
            break;
        uint64_t *olds = malloc(k * 8);
        if (!olds) {
            r = -ENOMEM;
            break;
        }
        for (uint64_t i = 0; i < k; i++) {
            olds[i] = qcow2_l2_get(s, tbl, l2i + i);
            qcow2_l2_set(s, tbl, l2i + i, ((uint64_t)host + i * cs) | QCOW2_OFLAG_COPIED,
                         s->ext_l2 ? 0xffffffffu : 0);
        }
        r = qcow2_write_l2_entries(bs, l2off, tbl, l2i, k);
        for (uint64_t i = 0; i < k && r >= 0; i++)
            qcow2_free_any(bs, olds[i]);
        free(olds);
        done += n;
    }
    free(sub);
    return r < 0 ? r : 0;
}

int qcow2_pwritev(struct blk *bs, uint64_t off, uint64_t len, const struct iovec *iov,
                  int iovcnt)
{
    struct qcow2 *s = bs->opaque;
    pthread_mutex_lock(&s->lock);
    int r = qcow2_write_locked(bs, off, len, iov, iovcnt);
    pthread_mutex_unlock(&s->lock);
    return r;
}

static int write_zero_bytes(struct blk *bs, uint64_t off, uint64_t len)
{
    void *z = calloc(1, (size_t)len);
    if (!z)
        return -ENOMEM;
    struct iovec iov = { .iov_base = z, .iov_len = len };
    int r = qcow2_write_locked(bs, off, len, &iov, 1);
    free(z);
    return r;
}

/* Deallocate or zero whole clusters [off, off+len).  ZERO: reads must
 * return zeros afterwards.  Lock held. */
static int zero_clusters(struct blk *bs, uint64_t off, uint64_t len, bool zero)
{
    struct qcow2 *s = bs->opaque;
    uint64_t cs = s->cluster_size;
    bool use_flag = s->version >= 3 && bs->backing;
    if (zero && s->version < 3 && bs->backing)
        return write_zero_bytes(bs, off, len);
    int r = qcow2_mark_dirty(bs);
    while (r >= 0 && len) {
        uint64_t l1i = off >> (s->cluster_bits + s->l2_bits);
        uint64_t l2i = (off >> s->cluster_bits) & (s->l2_entries - 1);
        uint64_t n = MIN(len >> s->cluster_bits, s->l2_entries - l2i);
        if (l1i >= s->l1_size)
            break;
        if (!(s->l1[l1i] & QCOW2_OFFSET_MASK) && !use_flag) {
            off += n * cs;
            len -= n * cs;
            continue;
        }
        uint64_t l2off;
        uint8_t *tbl;
        r = qcow2_l2_writable(bs, l1i, &l2off, &tbl);
        if (r < 0)
            break;
        uint64_t *olds = malloc(n * 8);
        if (!olds)
            return -ENOMEM;
        /* With extended L2 entries "zero" is the subclusters' zero bits. */
        uint64_t want = use_flag && !s->ext_l2 ? QCOW2_OFLAG_ZERO : 0;
        uint64_t wbm = use_flag && s->ext_l2 ? UINT64_C(0xffffffff00000000) : 0;
        bool changed = false;
        for (uint64_t i = 0; i < n; i++) {
            olds[i] = qcow2_l2_get(s, tbl, l2i + i);
            if (olds[i] != want || qcow2_l2_bitmap(s, tbl, l2i + i) != wbm) {
                qcow2_l2_set(s, tbl, l2i + i, want, wbm);
                changed = true;
            }
        }
        if (changed)
            r = qcow2_write_l2_entries(bs, l2off, tbl, l2i, n);
        for (uint64_t i = 0; i < n && r >= 0; i++)
            if ((olds[i] & ~QCOW2_OFLAG_ZERO) != 0)
                qcow2_free_any(bs, olds[i]);
        free(olds);
        off += n * cs;
        len -= n * cs;
    }
    return r;
}

int qcow2_pwrite_zeroes(struct blk *bs, uint64_t off, uint64_t len, int flags)
{
    struct qcow2 *s = bs->opaque;
    uint64_t cs = s->cluster_size;
    pthread_mutex_lock(&s->lock);
    int r = 0;
    uint64_t end = off + len;
    uint64_t a = ALIGN_UP(off, cs);
    uint64_t b = ALIGN_DOWN(end, cs);
    if (end == bs->size)
        b = ALIGN_UP(end, cs);  /* the last partial cluster is whole */
    if (a >= b) {
        r = write_zero_bytes(bs, off, len);
    } else {
        if (off < a)
            r = write_zero_bytes(bs, off, a - off);
        if (r >= 0)
            r = zero_clusters(bs, a, b - a, true);
        if (r >= 0 && b < end)
            r = write_zero_bytes(bs, b, end - b);
    }
    pthread_mutex_unlock(&s->lock);
    return r;
}

int qcow2_pdiscard(struct blk *bs, uint64_t off, uint64_t len)
{
    struct qcow2 *s = bs->opaque;
    uint64_t cs = s->cluster_size;
    uint64_t end = off + len;
    uint64_t a = ALIGN_UP(off, cs);
    uint64_t b = end == bs->size ? ALIGN_UP(end, cs) : ALIGN_DOWN(end, cs);
    if (a >= b)
        return 0;
    pthread_mutex_lock(&s->lock);
    int r = 0;
    if (s->version >= 3 || !bs->backing)
        r = zero_clusters(bs, a, b - a, false);
    pthread_mutex_unlock(&s->lock);
    return r;
}

int qcow2_block_status(struct blk *bs, uint64_t off, uint64_t len, uint64_t *pnum,
                       uint64_t *map, struct blk **file)
{
    struct qcow2 *s = bs->opaque;
    struct qcow2_map m;
    pthread_mutex_lock(&s->lock);
    int r = get_mapping(bs, off, len, &m);
    pthread_mutex_unlock(&s->lock);
    if (r < 0)
        return r;
    *pnum = m.bytes;
    switch (m.type) {
    case QCOW2_UNALLOC:
        if (m.host) {
            /* an unallocated subcluster of an allocated cluster */
            *map = m.host;
            *file = bs->file;
            return BLK_STATUS_OFFSET;
        }
        return 0;
    case QCOW2_ZERO_PLAIN:
        return BLK_STATUS_ZERO | BLK_STATUS_ALLOCATED;
    case QCOW2_ZERO_ALLOC:
        *map = m.host;
        *file = bs->file;
        return BLK_STATUS_ZERO | BLK_STATUS_ALLOCATED | BLK_STATUS_OFFSET;
    case QCOW2_NORMAL:
        *map = m.host;
        *file = bs->file;
        return BLK_STATUS_DATA | BLK_STATUS_ALLOCATED | BLK_STATUS_OFFSET | BLK_STATUS_RECURSE;
    case QCOW2_COMPRESSED:
        return BLK_STATUS_DATA | BLK_STATUS_ALLOCATED | BLK_STATUS_COMPRESSED;
    }
    return 0;
}
