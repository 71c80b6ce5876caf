/* qcow2-snapshot.c - internal snapshots: the snapshot table, create,
 * apply (goto), delete and list.
 *
 * Create, delete and apply never change live metadata in place: they
 * write new tables and a new refcount structure past the end of the image
 * and switch to them with one header write, so a crash leaves either the
 * old or the new image, both consistent. */
#include <config.h>

#include <errno.h>
#include <string.h>
#include <sys/time.h>
#include "i18n.h"
#include "qcow2.h"

#define QCOW2_MAX_SNAP_EXTRA 1024
#define QCOW2_MAX_SNAP_TABLE (64u << 20)

void qcow2_free_snapshots(struct qcow2 *s)
{
    for (uint32_t i = 0; s->snaps && i < s->nb_snapshots; i++) {
        free(s->snaps[i].id);
        free(s->snaps[i].name);
        free(s->snaps[i].extra);
    }
    free(s->snaps);
    s->snaps = NULL;
}

int qcow2_read_snapshots(struct blk *bs, struct error **errp)
{
    struct qcow2 *s = bs->opaque;
    const char *fn = bs->filename;
    uint32_t n = s->nb_snapshots;
    s->nb_snapshots = 0;
    if (n == 0)
        return 0;
    if (n > QCOW2_MAX_SNAPSHOTS)
        return err_set(errp, EINVAL, _("'%s': too many snapshots (%u)"), fn, n);
    if (qcow2_offset_into_cluster(s, s->snapshots_offset) ||
        s->snapshots_offset >= bs->file->size)
        return err_set(errp, EINVAL, _("'%s': snapshot table lies outside the file"), fn);
    s->snaps = calloc(n, sizeof(*s->snaps));
    if (!s->snaps)
        return err_set(errp, ENOMEM, _("out of memory"));
    uint64_t pos = s->snapshots_offset;
    uint64_t end = bs->file->size;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t h[40];
        if (pos + 40 > end || blk_pread(bs->file, pos, 40, h) < 0)
            goto trunc;
        struct qcow2_snap *sn = &s->snaps[i];
        s->nb_snapshots = i + 1;
        sn->l1_offset = be64_get(h);
        sn->l1_size = be32_get(h + 8);
        uint16_t id_len = be16_get(h + 12), name_len = be16_get(h + 14);
        sn->date_sec = be32_get(h + 16);
        sn->date_nsec = be32_get(h + 20);
        sn->vm_clock_nsec = be64_get(h + 24);
        sn->vm_state_size = be32_get(h + 32);
        sn->extra_size = be32_get(h + 36);
        if (sn->extra_size > QCOW2_MAX_SNAP_EXTRA)
            return err_set(errp, EINVAL, _("'%s': snapshot %u: extra data too large"), fn, i);
        uint64_t elen = 40 + (uint64_t)sn->extra_size + id_len + name_len;
        if (pos + elen > end)
            goto trunc;
        uint8_t *e = malloc(elen);
        if (!e)
            return err_set(errp, ENOMEM, _("out of memory"));
        if (blk_pread(bs->file, pos, elen, e) < 0) {
            free(e);
            goto trunc;
        }
        sn->extra = malloc(sn->extra_size ? sn->extra_size : 1);
        sn->id = strndup((char *)e + 40 + sn->extra_size, id_len);
        sn->name = strndup((char *)e + 40 + sn->extra_size + id_len, name_len);
        if (!sn->extra || !sn->id || !sn->name) {
            free(e);
            return err_set(errp, ENOMEM, _("out of memory"));
        }
        memcpy(sn->extra, e + 40, sn->extra_size);
        sn->vm_state_size_large = sn->vm_state_size;
        sn->disk_size = bs->size;
        sn->icount = UINT64_MAX;
        if (sn->extra_size >= 8)
            sn->vm_state_size_large = be64_get(e + 40);
        if (sn->extra_size >= 16)
            sn->disk_size = be64_get(e + 48);
        if (sn->extra_size >= 24)
            sn->icount = be64_get(e + 56);
        free(e);
        if ((uint64_t)sn->l1_size * 8 > QCOW2_MAX_L1_BYTES ||
            qcow2_offset_into_cluster(s, sn->l1_offset) ||
            (sn->l1_size && (sn->l1_offset > end || (uint64_t)sn->l1_size * 8 >
                             end - sn->l1_offset)))
            return err_set(errp, EINVAL, _("'%s': snapshot %u: invalid L1 table"), fn, i);
        pos += ALIGN_UP(elen, (uint64_t)8);
        if (pos - s->snapshots_offset > QCOW2_MAX_SNAP_TABLE)
            return err_set(errp, EINVAL, _("'%s': snapshot table is too large"), fn);
    }
    return 0;
trunc:
    return err_set(errp, EINVAL, _("'%s': snapshot table is truncated"), fn);
}

int qcow2_snapshot_list(struct blk *bs, struct blk_snapshot **out)
{
    struct qcow2 *s = bs->opaque;
    *out = NULL;
    if (!s->nb_snapshots)
        return 0;
    struct blk_snapshot *l = calloc(s->nb_snapshots, sizeof(*l));
    if (!l)
        return -ENOMEM;
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        struct qcow2_snap *sn = &s->snaps[i];
        l[i].id = strdup(sn->id);
        l[i].name = strdup(sn->name);
        l[i].vm_state_size = sn->vm_state_size_large;
        l[i].date_sec = sn->date_sec;
        l[i].date_nsec = sn->date_nsec;
        l[i].vm_clock_nsec = sn->vm_clock_nsec;
        l[i].icount = sn->icount;
        l[i].disk_size = sn->disk_size;
    }
    *out = l;
    return (int)s->nb_snapshots;
}


/* Free a refcount structure built for a copy-on-write metadata switch
 * (blocks, then the table) when it was not installed (NULLs are fine). */
static void staged_refcounts_free(uint8_t **blocks, uint64_t *table, uint64_t nentries)
{
    if (blocks)
        for (uint64_t b = 0; b < nentries; b++)
            free(blocks[b]);
    free(blocks);
    free(table);
}

static int find_snapshot(struct qcow2 *s, const char *name)
{
    for (uint32_t i = 0; i < s->nb_snapshots; i++)
        if (strcmp(s->snaps[i].id, name) == 0)
            return (int)i;
    for (uint32_t i = 0; i < s->nb_snapshots; i++)
        if (strcmp(s->snaps[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* Serialize the snapshot table into BUF (NULL: just measure). */
static uint64_t build_table(struct qcow2 *s, uint8_t *buf)
{
    uint64_t pos = 0;
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        struct qcow2_snap *sn = &s->snaps[i];
        uint16_t il = (uint16_t)strlen(sn->id), nl = (uint16_t)strlen(sn->name);
        if (buf) {
            uint8_t *e = buf + pos;
            be64_put(e, sn->l1_offset);
            be32_put(e + 8, sn->l1_size);
            be16_put(e + 12, il);
            be16_put(e + 14, nl);
            be32_put(e + 16, sn->date_sec);
            be32_put(e + 20, sn->date_nsec);
            be64_put(e + 24, sn->vm_clock_nsec);
            be32_put(e + 32, sn->vm_state_size);
            be32_put(e + 36, sn->extra_size);
            memcpy(e + 40, sn->extra, sn->extra_size);
            memcpy(e + 40 + sn->extra_size, sn->id, il);
            memcpy(e + 40 + sn->extra_size + il, sn->name, nl);
        }
        pos += ALIGN_UP(40 + (uint64_t)sn->extra_size + il + nl, (uint64_t)8);
    }
    return pos;
}

/* Creating a snapshot never modifies live metadata in place.  The old
 * active L1 table (and its L2 tables) becomes the snapshot's; a copy of
 * every L2 table without OFLAG_COPIED, a new active L1 table, a new
 * snapshot table and a complete new refcount structure are written past
 * the end of the image, and one header write switches to all of them at
 * once.  A crash before that write leaves the old image untouched (the new
 * clusters are unreferenced and counted free); after it, the new one is
 * complete. */
static int snapshot_create_cow(struct blk *bs, struct qcow2_snap *sn)
{
    struct qcow2 *s = bs->opaque;
    uint64_t cs = s->cluster_size, rbe = s->rb_entries, epc = cs / 8;
    int r = 0;
    uint64_t fcl = qcow2_size_to_clusters(s, bs->file->size);
    uint64_t end = fcl;
    /* Highest cluster in use according to the refcounts. */
    for (uint64_t ti = 0; ti < s->rt_entries; ti++) {
        if (!(s->rt[ti] & QCOW2_RT_OFFSET_MASK))
            continue;
        uint8_t *b;
        r = qcow2_load_rb(bs, ti, &b);
        if (r < 0)
            return r;
        for (uint64_t i = 0; b && i < rbe; i++)
            if (qcow2_refcount_get_entry(s, b, i))
                end = MAX(end, ti * rbe + i + 1);
    }
    uint32_t nl2 = 0;
    for (uint32_t i = 0; i < s->l1_size; i++)
        if (s->l1[i] & QCOW2_OFFSET_MASK)
            nl2++;
    uint64_t st_bytes = build_table(s, NULL);
    uint64_t stc = qcow2_size_to_clusters(s, st_bytes);
    uint64_t l1c = qcow2_size_to_clusters(s, (uint64_t)s->l1_size * 8);
    uint64_t st_at = end, l1_at = st_at + stc, l2_at = l1_at + l1c, rb_at = l2_at + nl2;
    uint64_t K = 0, tc = 0;
    for (;;) {
        uint64_t total = rb_at + K + tc;
        uint64_t k2 = DIV_ROUND_UP(total, rbe), t2 = DIV_ROUND_UP(k2, epc);
        if (k2 == K && t2 == tc)
            break;
        K = k2;
        tc = t2;
    }
    uint64_t rt_at = rb_at + K, total = rt_at + tc;
    if (tc * cs > QCOW2_MAX_RT_BYTES)
        return -EFBIG;

    uint64_t *rc = calloc(total, 8);
    uint64_t *nl1 = calloc(s->l1_size ? s->l1_size : 1, 8);
    uint8_t *tbl = malloc(cs);
    uint8_t *st = calloc(1, stc ? stc * cs : 1);
    if (!rc || !nl1 || !tbl || !st) {
        r = -ENOMEM;
        goto out;
    }
    for (uint64_t c = 0; c < end && r >= 0; c++)
        r = qcow2_get_refcount(bs, c, &rc[c]);
    /* Old refcount structure and old snapshot table are not used any more. */
    for (uint64_t ti = 0; ti < s->rt_entries; ti++) {
        uint64_t o = s->rt[ti] & QCOW2_RT_OFFSET_MASK;
        if (o && (o >> s->cluster_bits) < end)
            rc[o >> s->cluster_bits] = 0;
    }
    for (uint64_t c = 0; c < s->rt_clusters; c++)
        if ((s->rt_offset >> s->cluster_bits) + c < end)
            rc[(s->rt_offset >> s->cluster_bits) + c] = 0;
    uint64_t old_st_bytes = 0;
    for (uint32_t i = 0; i + 1 < s->nb_snapshots; i++)
        old_st_bytes += ALIGN_UP(40 + (uint64_t)s->snaps[i].extra_size +
                                 strlen(s->snaps[i].id) + strlen(s->snaps[i].name),
                                 (uint64_t)8);
    for (uint64_t c = 0; old_st_bytes && c < qcow2_size_to_clusters(s, old_st_bytes); c++)
        if ((s->snapshots_offset >> s->cluster_bits) + c < end)
            rc[(s->snapshots_offset >> s->cluster_bits) + c] = 0;
    for (uint64_t c = end; c < total; c++)
        rc[c] = 1;

    /* Copies of the L2 tables, without OFLAG_COPIED; data gains a reference. */
    uint32_t k = 0;
    for (uint32_t i = 0; r >= 0 && i < s->l1_size; i++) {
        uint64_t l2off = s->l1[i] & QCOW2_OFFSET_MASK;
        if (!l2off)
            continue;
        if (qcow2_offset_into_cluster(s, l2off) || l2off > bs->file->size ||
            cs > bs->file->size - l2off) {
            r = qcow2_mark_corrupt(bs, "L2 table offset 0x%" PRIx64 " is invalid", l2off);
            break;
        }
        r = blk_pread(bs->file, l2off, cs, tbl);
        for (uint64_t j = 0; r >= 0 && j < s->l2_entries; j++) {
            uint64_t e = qcow2_l2_get(s, tbl, j);
            enum qcow2_ctype t = qcow2_entry_type(s, e);
            uint64_t o = 0, l = 0;
            if (t == QCOW2_COMPRESSED) {
                qcow2_compressed_range(s, e, &o, &l);
            } else if (t == QCOW2_NORMAL || t == QCOW2_ZERO_ALLOC) {
                o = e & QCOW2_OFFSET_MASK;
                l = cs;
                qcow2_l2_set(s, tbl, j, e & ~QCOW2_OFLAG_COPIED, qcow2_l2_bitmap(s, tbl, j));
            }
            for (uint64_t c = o >> s->cluster_bits; l && c <= (o + l - 1) >> s->cluster_bits;
                 c++) {
                if (c >= end || rc[c] >= s->refcount_max) {
                    r = c >= end ? qcow2_mark_corrupt(bs, "cluster %" PRIu64 " is referenced "
                                                      "but not allocated", c) : -ERANGE;
                    break;
                }
                rc[c]++;
            }
        }
        if (r >= 0)
            r = blk_pwrite(bs->file, (l2_at + k) * cs, cs, tbl);
        nl1[i] = ((l2_at + k) * cs) | QCOW2_OFLAG_COPIED;
        k++;
    }
    sn->l1_offset = s->l1_offset;
    sn->l1_size = s->l1_size;
    build_table(s, st);
    if (r >= 0 && st_bytes)
        r = blk_pwrite(bs->file, st_at * cs, st_bytes, st);
    if (r >= 0 && s->l1_size)
        r = qcow2_write_table(bs, l1_at * cs, s->l1_size, nl1);
    /* The new refcount structure. */
    uint64_t *nrt = NULL;
    uint8_t **ncache = NULL;
    uint64_t nentries = tc * epc;
    if (r >= 0) {
        nrt = calloc(nentries, 8);
        ncache = calloc(nentries, sizeof(*ncache));
        if (!nrt || !ncache)
            r = -ENOMEM;
    }
    for (uint64_t b = 0; r >= 0 && b < K; b++) {
        ncache[b] = calloc(1, cs);
        if (!ncache[b]) {
            r = -ENOMEM;
            break;
        }
        for (uint64_t i = 0; i < rbe && b * rbe + i < total; i++)
            if (rc[b * rbe + i])
                qcow2_refcount_set_entry(s, ncache[b], i, rc[b * rbe + i]);
        nrt[b] = (rb_at + b) * cs;
        r = blk_pwrite(bs->file, nrt[b], cs, ncache[b]);
    }
    if (r >= 0)
        r = qcow2_write_table(bs, rt_at * cs, nentries, nrt);
    if (r >= 0)
        r = blk_flush(bs->file);
    if (r >= 0) {
        /* The switch. */
        uint64_t save[5] = { s->l1_offset, s->rt_offset, s->rt_clusters,
                             s->snapshots_offset, 0 };
        s->l1_offset = l1_at * cs;
        s->rt_offset = rt_at * cs;
        s->rt_clusters = (uint32_t)tc;
        s->snapshots_offset = st_bytes ? st_at * cs : 0;
        r = qcow2_write_header(bs);
        if (r >= 0)
            r = blk_flush(bs->file);
        if (r < 0) {
            s->l1_offset = save[0];
            s->rt_offset = save[1];
            s->rt_clusters = (uint32_t)save[2];
            s->snapshots_offset = save[3];
        }
    }
    if (r >= 0) {
        memcpy(s->l1, nl1, (size_t)s->l1_size * 8);
        for (uint32_t i = 0; i < s->l2c_slots; i++)
            s->l2c[i].offset = 0;
        qcow2_refcount_close(bs);
        free(s->rt);
        s->rt = nrt;
        s->rb_cache = ncache;
        s->rt_entries = nentries;
        s->free_hint = 0;
        s->free_byte_offset = 0;
        nrt = NULL;
        ncache = NULL;
    }
    staged_refcounts_free(ncache, nrt, nentries);
out:
    free(rc);
    free(nl1);
    free(tbl);
    free(st);
    return r;
}

int qcow2_snapshot_create(struct blk *bs, const char *name, struct error **errp)
{
    return qcow2_snapshot_create_full(bs, name, 0, 0, 0, errp);
}

/* A snapshot whose VM state (qcow2-vmstate.c) is VM_STATE_SIZE bytes,
 * taken at guest clock VM_CLOCK_NS; ICOUNT UINT64_MAX: none counted. */
int qcow2_snapshot_create_full(struct blk *bs, const char *name, uint64_t vm_state_size,
                               uint64_t vm_clock_ns, uint64_t icount, struct error **errp)
{
    struct qcow2 *s = bs->opaque;
    if (s->nb_snapshots >= QCOW2_MAX_SNAPSHOTS)
        return err_set(errp, EFBIG, _("'%s': too many snapshots"), bs->filename);
    int r = qcow2_mark_dirty(bs);
    if (r < 0)
        goto fail;
    unsigned long maxid = 0;
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        unsigned long v = strtoul(s->snaps[i].id, NULL, 10);
        maxid = MAX(maxid, v);
    }
    char id[32];
    snprintf(id, sizeof(id), "%lu", maxid + 1);
    struct qcow2_snap *n = realloc(s->snaps, sizeof(*n) * (s->nb_snapshots + 1));
    if (!n) {
        r = -ENOMEM;
        goto fail;
    }
    s->snaps = n;
    struct qcow2_snap *sn = &n[s->nb_snapshots];
    memset(sn, 0, sizeof(*sn));
    struct timeval tv;
    gettimeofday(&tv, NULL);
    sn->id = strdup(id);
    sn->name = strdup(name);
    sn->date_sec = (uint32_t)tv.tv_sec;
    sn->date_nsec = (uint32_t)tv.tv_usec * 1000;
    sn->extra_size = 24;
    sn->extra = calloc(1, 24);
    sn->disk_size = bs->size;
    sn->icount = icount;
    sn->vm_clock_nsec = vm_clock_ns;
    /* the 32-bit field saturates; readers take the 64-bit one of the
     * extra data */
    sn->vm_state_size = (uint32_t)MIN(vm_state_size, (uint64_t)UINT32_MAX);
    sn->vm_state_size_large = vm_state_size;
    if (!sn->id || !sn->name || !sn->extra) {
        free(sn->id);
        free(sn->name);
        free(sn->extra);
        r = -ENOMEM;
        goto fail;
    }
    be64_put(sn->extra, vm_state_size);
    be64_put(sn->extra + 8, bs->size);
    be64_put(sn->extra + 16, icount);
    s->nb_snapshots++;
    r = snapshot_create_cow(bs, sn);
    if (r >= 0)
        return 0;
    s->nb_snapshots--;
    free(sn->id);
    free(sn->name);
    free(sn->extra);
fail:
    return err_set_errno(errp, -r, _("could not create snapshot '%s' in '%s'"), name,
                         bs->filename);
}

/* Deleting a snapshot the same crash-safe way as creating one: the new
 * snapshot table, copies of the active L2 tables with OFLAG_COPIED set
 * from the new counts, a new active L1 table and a complete new refcount
 * structure are written past the end of the image and switched to with
 * one header write.  The snapshot's own tables and the clusters only it
 * used are simply not counted in the new refcounts. */
static int snapshot_delete_cow(struct blk *bs, uint32_t idx)
{
    struct qcow2 *s = bs->opaque;
    uint64_t cs = s->cluster_size, rbe = s->rb_entries, epc = cs / 8;
    struct qcow2_snap sn = s->snaps[idx];
    int r = 0;
    uint64_t end = qcow2_size_to_clusters(s, bs->file->size);
    for (uint64_t ti = 0; ti < s->rt_entries; ti++) {
        if (!(s->rt[ti] & QCOW2_RT_OFFSET_MASK))
            continue;
        uint8_t *b;
        r = qcow2_load_rb(bs, ti, &b);
        if (r < 0)
            return r;
        for (uint64_t i = 0; b && i < rbe; i++)
            if (qcow2_refcount_get_entry(s, b, i))
                end = MAX(end, ti * rbe + i + 1);
    }
    uint64_t old_st_bytes = build_table(s, NULL);
    /* the table without the snapshot */
    struct qcow2_snap *all = s->snaps;
    uint32_t all_n = s->nb_snapshots;
    struct qcow2_snap *rest = calloc(all_n ? all_n : 1, sizeof(*rest));
    if (!rest)
        return -ENOMEM;
    for (uint32_t i = 0, k = 0; i < all_n; i++)
        if (i != idx)
            rest[k++] = all[i];
    s->snaps = rest;
    s->nb_snapshots = all_n - 1;
    uint64_t st_bytes = build_table(s, NULL);
    s->snaps = all;
    s->nb_snapshots = all_n;

    uint32_t nl2 = 0;
    for (uint32_t i = 0; i < s->l1_size; i++)
        if (s->l1[i] & QCOW2_OFFSET_MASK)
            nl2++;
    uint64_t stc = qcow2_size_to_clusters(s, st_bytes);
    uint64_t l1c = qcow2_size_to_clusters(s, (uint64_t)s->l1_size * 8);
    uint64_t st_at = end, l1_at = st_at + stc, l2_at = l1_at + l1c, rb_at = l2_at + nl2;
    uint64_t K = 0, tc = 0;
    for (;;) {
        uint64_t total = rb_at + K + tc;
        uint64_t k2 = DIV_ROUND_UP(total, rbe), t2 = DIV_ROUND_UP(k2, epc);
        if (k2 == K && t2 == tc)
            break;
        K = k2;
        tc = t2;
    }
    uint64_t rt_at = rb_at + K, total = rt_at + tc;
    uint64_t nentries = tc * epc;
    if (tc * cs > QCOW2_MAX_RT_BYTES) {
        free(rest);
        return -EFBIG;
    }
    uint64_t *rc = calloc(total, 8);
    uint64_t *nl1 = calloc(s->l1_size ? s->l1_size : 1, 8);
    uint64_t *sl1 = calloc(sn.l1_size ? sn.l1_size : 1, 8);
    uint8_t *tbl = malloc(cs);
    uint8_t *st = calloc(1, stc ? stc * cs : 1);
    uint64_t *nrt = calloc(nentries, 8);
    uint8_t **ncache = calloc(nentries, sizeof(*ncache));
    if (!rc || !nl1 || !sl1 || !tbl || !st || !nrt || !ncache) {
        r = -ENOMEM;
        goto out;
    }
    for (uint64_t c = 0; c < end && r >= 0; c++)
        r = qcow2_get_refcount(bs, c, &rc[c]);
#define DEC(c_)                                                                 \
    do {                                                                        \
        uint64_t c__ = (c_);                                                    \
        if (c__ >= end || rc[c__] == 0)                                         \
            r = qcow2_mark_corrupt(bs, "refcount of cluster %" PRIu64           \
                                   " would drop below zero", c__);              \
        else                                                                    \
            rc[c__]--;                                                          \
    } while (0)
    /* Old metadata that the switch replaces. */
    for (uint64_t ti = 0; ti < s->rt_entries; ti++) {
        uint64_t o = s->rt[ti] & QCOW2_RT_OFFSET_MASK;
        if (o && (o >> s->cluster_bits) < end)
            rc[o >> s->cluster_bits] = 0;
    }
    for (uint64_t c = 0; c < s->rt_clusters; c++)
        if ((s->rt_offset >> s->cluster_bits) + c < end)
            rc[(s->rt_offset >> s->cluster_bits) + c] = 0;
    for (uint64_t c = 0; old_st_bytes && c < qcow2_size_to_clusters(s, old_st_bytes); c++)
        if ((s->snapshots_offset >> s->cluster_bits) + c < end)
            rc[(s->snapshots_offset >> s->cluster_bits) + c] = 0;
    for (uint64_t c = 0; r >= 0 && c < l1c; c++)
        DEC((s->l1_offset >> s->cluster_bits) + c);
    /* The snapshot's references. */
    if (r >= 0 && sn.l1_size)
        r = qcow2_read_table(bs, sn.l1_offset, sn.l1_size, sl1);
    for (uint64_t c = 0; r >= 0 && sn.l1_size &&
         c < qcow2_size_to_clusters(s, (uint64_t)sn.l1_size * 8); c++)
        DEC((sn.l1_offset >> s->cluster_bits) + c);
    for (uint32_t i = 0; r >= 0 && i < sn.l1_size; i++) {
        uint64_t l2off = sl1[i] & QCOW2_OFFSET_MASK;
        if (!l2off)
            continue;
        if (qcow2_offset_into_cluster(s, l2off) || l2off > bs->file->size ||
            cs > bs->file->size - l2off) {
            r = qcow2_mark_corrupt(bs, "L2 table offset 0x%" PRIx64 " is invalid", l2off);
            break;
        }
        DEC(l2off >> s->cluster_bits);
        r = r < 0 ? r : blk_pread(bs->file, l2off, cs, tbl);
        for (uint64_t j = 0; r >= 0 && j < s->l2_entries; j++) {
            uint64_t e = qcow2_l2_get(s, tbl, j), o = 0, l = 0;
            enum qcow2_ctype t = qcow2_entry_type(s, e);
            if (t == QCOW2_COMPRESSED) {
                qcow2_compressed_range(s, e, &o, &l);
            } else if (t == QCOW2_NORMAL || t == QCOW2_ZERO_ALLOC) {
                o = e & QCOW2_OFFSET_MASK;
                l = cs;
            }
            for (uint64_t c = o >> s->cluster_bits;
                 r >= 0 && l && c <= (o + l - 1) >> s->cluster_bits; c++)
                DEC(c);
        }
    }
    /* The active reference to each L2 table moves to its copy. */
    for (uint32_t i = 0; r >= 0 && i < s->l1_size; i++) {
        uint64_t l2off = s->l1[i] & QCOW2_OFFSET_MASK;
        if (l2off)
            DEC(l2off >> s->cluster_bits);
    }
#undef DEC
    for (uint64_t c = end; c < total; c++)
        rc[c] = 1;
    /* Copies of the active L2 tables with flags from the new counts. */
    uint32_t k = 0;
    for (uint32_t i = 0; r >= 0 && i < s->l1_size; i++) {
        uint64_t l2off = s->l1[i] & QCOW2_OFFSET_MASK;
        if (!l2off)
            continue;
        r = blk_pread(bs->file, l2off, cs, tbl);
        for (uint64_t j = 0; r >= 0 && j < s->l2_entries; j++) {
            uint64_t e = qcow2_l2_get(s, tbl, j);
            enum qcow2_ctype t = qcow2_entry_type(s, e);
            if (t != QCOW2_NORMAL && t != QCOW2_ZERO_ALLOC)
                continue;
            uint64_t c = (e & QCOW2_OFFSET_MASK) >> s->cluster_bits;
            bool one = c < total && rc[c] == 1;
            uint64_t ne = one ? (e | QCOW2_OFLAG_COPIED) : (e & ~QCOW2_OFLAG_COPIED);
            qcow2_l2_set(s, tbl, j, ne, qcow2_l2_bitmap(s, tbl, j));
        }
        if (r >= 0)
            r = blk_pwrite(bs->file, (l2_at + k) * cs, cs, tbl);
        nl1[i] = ((l2_at + k) * cs) | QCOW2_OFLAG_COPIED;
        k++;
    }
    s->snaps = rest;
    s->nb_snapshots = all_n - 1;
    build_table(s, st);
    s->snaps = all;
    s->nb_snapshots = all_n;
    if (r >= 0 && st_bytes)
        r = blk_pwrite(bs->file, st_at * cs, st_bytes, st);
    if (r >= 0 && s->l1_size)
        r = qcow2_write_table(bs, l1_at * cs, s->l1_size, nl1);
    for (uint64_t b = 0; r >= 0 && b < K; b++) {
        ncache[b] = calloc(1, cs);
        if (!ncache[b]) {
            r = -ENOMEM;
            break;
        }
        for (uint64_t i = 0; i < rbe && b * rbe + i < total; i++) {
            uint64_t v = rc[b * rbe + i];
            if (v > s->refcount_max) {
                r = -ERANGE;
                break;
            }
            if (v)
                qcow2_refcount_set_entry(s, ncache[b], i, v);
        }
        nrt[b] = (rb_at + b) * cs;
        if (r >= 0)
            r = blk_pwrite(bs->file, nrt[b], cs, ncache[b]);
    }
    if (r >= 0)
        r = qcow2_write_table(bs, rt_at * cs, nentries, nrt);
    if (r >= 0)
        r = blk_flush(bs->file);
    if (r >= 0) {
        uint64_t save[4] = { s->l1_offset, s->rt_offset, s->rt_clusters, s->snapshots_offset };
        s->l1_offset = l1_at * cs;
        s->rt_offset = rt_at * cs;
        s->rt_clusters = (uint32_t)tc;
        s->snapshots_offset = st_bytes ? st_at * cs : 0;
        s->snaps = rest;
        s->nb_snapshots = all_n - 1;
        r = qcow2_write_header(bs);
        if (r >= 0)
            r = blk_flush(bs->file);
        if (r < 0) {
            s->l1_offset = save[0];
            s->rt_offset = save[1];
            s->rt_clusters = (uint32_t)save[2];
            s->snapshots_offset = save[3];
            s->snaps = all;
            s->nb_snapshots = all_n;
        }
    }
    if (r >= 0) {
        memcpy(s->l1, nl1, (size_t)s->l1_size * 8);
        for (uint32_t i = 0; i < s->l2c_slots; i++)
            s->l2c[i].offset = 0;
        qcow2_refcount_close(bs);
        free(s->rt);
        s->rt = nrt;
        s->rb_cache = ncache;
        s->rt_entries = nentries;
        s->free_hint = 0;
        s->free_byte_offset = 0;
        nrt = NULL;
        ncache = NULL;
        free(sn.id);
        free(sn.name);
        free(sn.extra);
        free(all);
        rest = NULL;
    }
out:
    staged_refcounts_free(ncache, nrt, nentries);
    free(rest);
    free(rc);
    free(nl1);
    free(sl1);
    free(tbl);
    free(st);
    return r;
}

int qcow2_snapshot_delete(struct blk *bs, const char *name, struct error **errp)
{
    struct qcow2 *s = bs->opaque;
    int idx = find_snapshot(s, name);
    if (idx < 0)
        return err_set(errp, ENOENT, _("'%s': snapshot '%s' not found"), bs->filename, name);
    int r = qcow2_mark_dirty(bs);
    if (r >= 0)
        r = snapshot_delete_cow(bs, (uint32_t)idx);
    if (r < 0)
        return err_set_errno(errp, -r, _("could not delete snapshot '%s' in '%s'"), name,
                             bs->filename);
    return 0;
}

/* Applying a snapshot, crash-safe like create and delete: copies of the
 * snapshot's L2 tables (flags from the new counts) under a new active L1
 * table, and a new refcount structure without the old active state's
 * references, switched to with one header write. */
static int snapshot_goto_cow(struct blk *bs, uint32_t idx)
{
    struct qcow2 *s = bs->opaque;
    uint64_t cs = s->cluster_size, rbe = s->rb_entries, epc = cs / 8;
    struct qcow2_snap *sn = &s->snaps[idx];
    int r = 0;
    uint32_t new_l1_size = MAX(s->l1_size, sn->l1_size);
    if (DIV_ROUND_UP(sn->disk_size, cs * s->l2_entries) > new_l1_size)
        return qcow2_mark_corrupt(bs, "snapshot %s has an invalid size", sn->id);
    uint64_t end = qcow2_size_to_clusters(s, bs->file->size);
    for (uint64_t ti = 0; ti < s->rt_entries; ti++) {
        if (!(s->rt[ti] & QCOW2_RT_OFFSET_MASK))
            continue;
        uint8_t *b;
        r = qcow2_load_rb(bs, ti, &b);
        if (r < 0)
            return r;
        for (uint64_t i = 0; b && i < rbe; i++)
            if (qcow2_refcount_get_entry(s, b, i))
                end = MAX(end, ti * rbe + i + 1);
    }
    uint64_t *sl1 = calloc(new_l1_size ? new_l1_size : 1, 8);
    if (!sl1)
        return -ENOMEM;
    if (sn->l1_size && (r = qcow2_read_table(bs, sn->l1_offset, sn->l1_size, sl1)) < 0) {
        free(sl1);
        return r;
    }
    uint32_t nl2 = 0;
    for (uint32_t i = 0; i < sn->l1_size; i++)
        if (sl1[i] & QCOW2_OFFSET_MASK)
            nl2++;
    uint64_t l1c = qcow2_size_to_clusters(s, (uint64_t)new_l1_size * 8);
    uint64_t old_l1c = qcow2_size_to_clusters(s, (uint64_t)s->l1_size * 8);
    uint64_t l1_at = end, l2_at = l1_at + l1c, rb_at = l2_at + nl2;
    uint64_t K = 0, tc = 0;
    for (;;) {
        uint64_t total = rb_at + K + tc;
        uint64_t k2 = DIV_ROUND_UP(total, rbe), t2 = DIV_ROUND_UP(k2, epc);
        if (k2 == K && t2 == tc)
            break;
        K = k2;
        tc = t2;
    }
    uint64_t rt_at = rb_at + K, total = rt_at + tc, nentries = tc * epc;
    uint64_t *rc = calloc(total, 8);
    uint64_t *nl1 = calloc(new_l1_size ? new_l1_size : 1, 8);
    uint8_t *tbl = malloc(cs);
    uint64_t *nrt = calloc(nentries, 8);
    uint8_t **ncache = calloc(nentries, sizeof(*ncache));
    if (tc * cs > QCOW2_MAX_RT_BYTES)
        r = -EFBIG;
    if (!rc || !nl1 || !tbl || !nrt || !ncache)
        r = -ENOMEM;
    for (uint64_t c = 0; r >= 0 && c < end; c++)
        r = qcow2_get_refcount(bs, c, &rc[c]);
#define ADJ(c_, d_)                                                             \
    do {                                                                        \
        uint64_t c__ = (c_);                                                    \
        if (c__ >= end || ((d_) < 0 && rc[c__] == 0) ||                         \
            ((d_) > 0 && rc[c__] >= s->refcount_max))                           \
            r = (d_) > 0 && c__ < end ? -ERANGE :                               \
                qcow2_mark_corrupt(bs, "bad refcount for cluster %" PRIu64, c__); \
        else                                                                    \
            rc[c__] += (uint64_t)(int64_t)(d_);                                 \
    } while (0)
    for (uint64_t ti = 0; r >= 0 && ti < s->rt_entries; ti++) {
        uint64_t o = s->rt[ti] & QCOW2_RT_OFFSET_MASK;
        if (o && (o >> s->cluster_bits) < end)
            rc[o >> s->cluster_bits] = 0;
    }
    for (uint64_t c = 0; r >= 0 && c < s->rt_clusters; c++)
        if ((s->rt_offset >> s->cluster_bits) + c < end)
            rc[(s->rt_offset >> s->cluster_bits) + c] = 0;
    for (uint64_t c = 0; r >= 0 && c < old_l1c; c++)
        ADJ((s->l1_offset >> s->cluster_bits) + c, -1);
    /* Walk the old active state (-1) and the snapshot (+1). */
    for (int pass = 0; pass < 2 && r >= 0; pass++) {
        const uint64_t *l1 = pass == 0 ? s->l1 : sl1;
        uint32_t n = pass == 0 ? s->l1_size : sn->l1_size;
        int d = pass == 0 ? -1 : 1;
        for (uint32_t i = 0; r >= 0 && i < n; i++) {
            uint64_t l2off = l1[i] & QCOW2_OFFSET_MASK;
            if (!l2off)
                continue;
            if (qcow2_offset_into_cluster(s, l2off) || l2off > bs->file->size ||
                cs > bs->file->size - l2off) {
                r = qcow2_mark_corrupt(bs, "L2 table offset 0x%" PRIx64 " is invalid", l2off);
                break;
            }
            if (pass == 0)
                ADJ(l2off >> s->cluster_bits, -1);
            r = r < 0 ? r : blk_pread(bs->file, l2off, cs, tbl);
            for (uint64_t j = 0; r >= 0 && j < s->l2_entries; j++) {
                uint64_t e = qcow2_l2_get(s, tbl, j), o = 0, l = 0;
                enum qcow2_ctype t = qcow2_entry_type(s, e);
                if (t == QCOW2_COMPRESSED) {
                    qcow2_compressed_range(s, e, &o, &l);
                } else if (t == QCOW2_NORMAL || t == QCOW2_ZERO_ALLOC) {
                    o = e & QCOW2_OFFSET_MASK;
                    l = cs;
                }
                for (uint64_t c = o >> s->cluster_bits;
                     r >= 0 && l && c <= (o + l - 1) >> s->cluster_bits; c++)
                    ADJ(c, d);
            }
        }
    }
#undef ADJ
    for (uint64_t c = end; c < total; c++)
        rc[c] = 1;
    uint32_t k = 0;
    for (uint32_t i = 0; r >= 0 && i < sn->l1_size; i++) {
        uint64_t l2off = sl1[i] & QCOW2_OFFSET_MASK;
        if (!l2off)
            continue;
        r = blk_pread(bs->file, l2off, cs, tbl);
        for (uint64_t j = 0; r >= 0 && j < s->l2_entries; j++) {
            uint64_t e = qcow2_l2_get(s, tbl, j);
            enum qcow2_ctype t = qcow2_entry_type(s, e);
            if (t != QCOW2_NORMAL && t != QCOW2_ZERO_ALLOC) {
                if (t == QCOW2_COMPRESSED && (e & QCOW2_OFLAG_COPIED))
                    qcow2_l2_set(s, tbl, j, e & ~QCOW2_OFLAG_COPIED, qcow2_l2_bitmap(s, tbl, j));
                continue;
            }
            uint64_t c = (e & QCOW2_OFFSET_MASK) >> s->cluster_bits;
            bool one = c < total && rc[c] == 1;
            uint64_t ne = one ? (e | QCOW2_OFLAG_COPIED) : (e & ~QCOW2_OFLAG_COPIED);
            qcow2_l2_set(s, tbl, j, ne, qcow2_l2_bitmap(s, tbl, j));
        }
        if (r >= 0)
            r = blk_pwrite(bs->file, (l2_at + k) * cs, cs, tbl);
        nl1[i] = ((l2_at + k) * cs) | QCOW2_OFLAG_COPIED;
        k++;
    }
    if (r >= 0 && new_l1_size)
        r = qcow2_write_table(bs, l1_at * cs, new_l1_size, nl1);
    for (uint64_t b = 0; r >= 0 && b < K; b++) {
        ncache[b] = calloc(1, cs);
        if (!ncache[b]) {
            r = -ENOMEM;
            break;
        }
        for (uint64_t i = 0; i < rbe && b * rbe + i < total; i++)
            if (rc[b * rbe + i])
                qcow2_refcount_set_entry(s, ncache[b], i, rc[b * rbe + i]);
        nrt[b] = (rb_at + b) * cs;
        r = blk_pwrite(bs->file, nrt[b], cs, ncache[b]);
    }
    if (r >= 0)
        r = qcow2_write_table(bs, rt_at * cs, nentries, nrt);
    if (r >= 0)
        r = blk_flush(bs->file);
    uint64_t *grown = NULL;
    if (r >= 0 && new_l1_size > s->l1_size) {
        grown = realloc(s->l1, (size_t)new_l1_size * 8);
        if (!grown)
            r = -ENOMEM;
        else
            s->l1 = grown;
    }
    if (r >= 0) {
        uint64_t save[5] = { s->l1_offset, s->rt_offset, s->rt_clusters, s->l1_size, bs->size };
        s->l1_offset = l1_at * cs;
        s->l1_size = new_l1_size;
        s->rt_offset = rt_at * cs;
        s->rt_clusters = (uint32_t)tc;
        bs->size = sn->disk_size;
        r = qcow2_write_header(bs);
        if (r >= 0)
            r = blk_flush(bs->file);
        if (r < 0) {
            s->l1_offset = save[0];
            s->rt_offset = save[1];
            s->rt_clusters = (uint32_t)save[2];
            s->l1_size = (uint32_t)save[3];
            bs->size = save[4];
        }
    }
    if (r >= 0) {
        memcpy(s->l1, nl1, (size_t)new_l1_size * 8);
        for (uint32_t i = 0; i < s->l2c_slots; i++)
            s->l2c[i].offset = 0;
        qcow2_refcount_close(bs);
        free(s->rt);
        s->rt = nrt;
        s->rb_cache = ncache;
        s->rt_entries = nentries;
        s->free_hint = 0;
        s->free_byte_offset = 0;
        nrt = NULL;
        ncache = NULL;
    }
    staged_refcounts_free(ncache, nrt, nentries);
    free(rc);
    free(nl1);
    free(sl1);
    free(tbl);
    return r;
}

int qcow2_snapshot_goto(struct blk *bs, const char *name, struct error **errp)
{
    struct qcow2 *s = bs->opaque;
    int idx = find_snapshot(s, name);
    if (idx < 0)
        return err_set(errp, ENOENT, _("'%s': snapshot '%s' not found"), bs->filename, name);
    int r = qcow2_mark_dirty(bs);
    if (r >= 0)
        r = snapshot_goto_cow(bs, (uint32_t)idx);
    if (r < 0)
        return err_set_errno(errp, -r, _("could not apply snapshot '%s' in '%s'"), name,
                             bs->filename);
    return 0;
}

int qcow2_snapshot_load(struct blk *bs, const char *id, const char *name, struct error **errp)
{
    struct qcow2 *s = bs->opaque;
    int idx = -1;
    for (uint32_t i = 0; i < s->nb_snapshots && idx < 0; i++) {
        if ((!id || strcmp(s->snaps[i].id, id) == 0) &&
            (!name || strcmp(s->snaps[i].name, name) == 0))
            idx = (int)i;
    }
    if (idx < 0)
        return err_set(errp, ENOENT, _("'%s': snapshot '%s' not found"), bs->filename,
                       name ? name : id);
    if (!bs->read_only)
        return err_set(errp, EINVAL, _("'%s' is opened read-only"), bs->filename);
    struct qcow2_snap *sn = &s->snaps[idx];
    uint64_t *l1 = calloc(sn->l1_size ? sn->l1_size : 1, 8);
    if (!l1)
        return err_set(errp, ENOMEM, _("out of memory"));
    int r = qcow2_read_table(bs, sn->l1_offset, sn->l1_size, l1);
    uint64_t need = DIV_ROUND_UP(sn->disk_size, s->cluster_size * s->l2_entries);
    if (r >= 0 && need > sn->l1_size)
        r = -EINVAL;
    if (r < 0) {
        free(l1);
        return err_set_errno(errp, -r, _("cannot read '%s'"), bs->filename);
    }
    free(s->l1);
    s->l1 = l1;
    s->l1_size = sn->l1_size;
    s->l1_offset = sn->l1_offset;
    bs->size = sn->disk_size;
    for (uint32_t i = 0; i < s->l2c_slots; i++)
        s->l2c[i].offset = 0;
    return 0;
}
