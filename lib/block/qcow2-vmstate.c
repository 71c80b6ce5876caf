/* qcow2-vmstate.c - the VM state of internal snapshots (savevm/loadvm).
 *
 * The qcow2 specification keeps a snapshot's VM state in the image's
 * guest address space past the virtual disk: from the first L1 entry the
 * disk does not need (l1_vm_state_index = the L1 entries the virtual
 * size takes), stored like disk data.  So the VM state is written into
 * the active layer there (the L1 table grows to cover it), the snapshot
 * then takes the active L1 table as usual and records vm_state_size, and
 * the area is dropped from the active layer again, so that it costs no
 * copy-on-write later: the snapshot keeps the only reference.  Loading
 * goes the same way back: apply the snapshot, which brings its VM state
 * into the active layer, read it from there, and drop it again (else a
 * later resize would show it to the guest, and the next snapshot would
 * copy its tables).
 *
 * Crash safety: writing the area is ordinary allocation (refcounts
 * before mappings); the snapshot is the usual one header switch; the drop
 * clears L1 entries before it lowers refcounts.  A crash at any point
 * leaves at worst leaked clusters.
 */
#include <config.h>

#include <errno.h>
#include <string.h>
#include "i18n.h"
#include "qcow2.h"

/* Guest offset of the VM state area of the active layer. */
static uint64_t vm_state_offset(struct blk *bs)
{
    struct qcow2 *s = bs->opaque;
    uint32_t shift = s->cluster_bits + s->l2_bits;
    return DIV_ROUND_UP(bs->size, UINT64_C(1) << shift) << shift;
}

/* [pos, pos + len) of the area as guest offsets, and the L1 entries that
 * cover them; -EFBIG past what an L1 table can address. */
static int area(struct blk *bs, uint64_t pos, uint64_t len, uint64_t *off, uint64_t *l1_need)
{
    struct qcow2 *s = bs->opaque;
    uint32_t shift = s->cluster_bits + s->l2_bits;
    uint64_t start = vm_state_offset(bs), end;
    if (ADD_OVERFLOWS(start, pos, off) || ADD_OVERFLOWS(*off, len, &end))
        return -EFBIG;
    uint64_t need = DIV_ROUND_UP(end, UINT64_C(1) << shift);
    if (need > QCOW2_MAX_L1_BYTES / 8)
        return -EFBIG;
    *l1_need = need;
    return 0;
}

int qcow2_vmstate_write(struct blk *bs, uint64_t pos, uint64_t len, const void *buf)
{
    struct qcow2 *s = bs->opaque;
    uint64_t off, need;
    int r = area(bs, pos, len, &off, &need);
    if (r < 0)
        return r;
    pthread_mutex_lock(&s->lock);
    r = s->broken ? -EIO : qcow2_grow_l1(bs, need);
    pthread_mutex_unlock(&s->lock);
    if (r < 0)
        return r;
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    return qcow2_pwritev(bs, off, len, &iov, 1);
}

int qcow2_vmstate_read(struct blk *bs, uint64_t pos, uint64_t len, void *buf)
{
    uint64_t off, need;
    int r = area(bs, pos, len, &off, &need);
    if (r < 0)
        return r;
    /* unallocated parts read as zeros (never the backing file's data:
     * read_backing stops at the virtual size) */
    struct iovec iov = { .iov_base = buf, .iov_len = len };
    return qcow2_preadv(bs, off, len, &iov, 1);
}

/* Take the VM state area out of the active L1 table.  Lock held. */
static int drop_vmstate_locked(struct blk *bs)
{
    struct qcow2 *s = bs->opaque;
    uint64_t cs = s->cluster_size;
    uint64_t first = vm_state_offset(bs) >> (s->cluster_bits + s->l2_bits);
    uint8_t *copy = malloc(cs);
    if (!copy)
        return -ENOMEM;
    int r = 0;
    for (uint64_t i = first; r >= 0 && i < s->l1_size; i++) {
        uint64_t l2off = s->l1[i] & QCOW2_OFFSET_MASK;
        if (!l2off)
            continue;
        uint64_t rc = 0;
        uint8_t *tbl;
        r = qcow2_get_refcount(bs, l2off >> s->cluster_bits, &rc);
        if (r >= 0 && rc == 1) {
            r = qcow2_get_l2(bs, l2off, &tbl);
            if (r >= 0)
                memcpy(copy, tbl, cs);
        }
        if (r < 0)
            break;
        /* the mapping goes first: a crash after it leaks, never dangles */
        s->l1[i] = 0;
        r = qcow2_write_l1_entry(bs, (uint32_t)i);
        if (r < 0)
            break;
        qcow2_l2_cache_drop(bs, l2off);
        if (rc == 1)
            for (uint64_t j = 0; j < s->l2_entries; j++)
                qcow2_free_any(bs, qcow2_l2_get(s, copy, j));
        r = qcow2_free_clusters(bs, l2off, cs);
    }
    free(copy);
    return r;
}

int qcow2_vmstate_drop(struct blk *bs)
{
    struct qcow2 *s = bs->opaque;
    pthread_mutex_lock(&s->lock);
    int r = s->broken ? -EIO : qcow2_mark_dirty(bs);
    if (r >= 0)
        r = drop_vmstate_locked(bs);
    pthread_mutex_unlock(&s->lock);
    return r;
}

int qcow2_snapshot_create_vm(struct blk *bs, const char *name, uint64_t vm_state_size,
                             uint64_t vm_clock_ns, struct error **errp)
{
    struct qcow2 *s = bs->opaque;
    pthread_mutex_lock(&s->lock);
    /* no instruction count, as QEMU records it outside record/replay */
    int r = qcow2_snapshot_create_full(bs, name, vm_state_size, vm_clock_ns, UINT64_MAX,
                                       errp);
    if (r >= 0 && vm_state_size) {
        r = drop_vmstate_locked(bs);
        if (r < 0)
            err_set_errno(errp, -r, _("'%s': snapshot '%s' is made, but its VM state could "
                                      "not be dropped from the active layer"),
                          bs->filename, name);
    }
    pthread_mutex_unlock(&s->lock);
    return r;
}
