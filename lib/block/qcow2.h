/* qcow2.h - internals of the qcow2 format driver, shared by its files:
 *   qcow2.c           header, extensions, open/close, info, driver table
 *   qcow2-refcount.c  refcounts and cluster allocation
 *   qcow2-cluster.c   L1/L2 mapping, reads, writes, zeroes, block status
 *   qcow2-compress.c  compressed clusters (zlib deflate, zstd)
 *   qcow2-check.c     consistency check and repair
 *   qcow2-snapshot.c  internal snapshots
 *   qcow2-vmstate.c   the VM state of snapshots (savevm)
 *   qcow2-create.c    create, measure, resize, amend, rebase helpers
 *
 * Locking: every entry point takes s->lock; the lock is held for all
 * metadata access.  Metadata writes go straight to the file (write-through
 * caches) in an order that leaves at most leaked clusters after a crash:
 * refcount increments are written before the L2/L1 entries that use the
 * clusters, and refcount decrements after the entries stop using them.
 */
#ifndef EMU_QCOW2_H
#define EMU_QCOW2_H

#include "block.h"

#define QCOW2_MAGIC 0x514649fbu
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_L1_BYTES (32u << 20)
#define QCOW2_MAX_RT_BYTES (8u << 20)
#define QCOW2_MAX_SNAPSHOTS 65536

#define QCOW2_INCOMPAT_DIRTY      (UINT64_C(1) << 0)
#define QCOW2_INCOMPAT_CORRUPT    (UINT64_C(1) << 1)
#define QCOW2_INCOMPAT_DATA_FILE  (UINT64_C(1) << 2)
#define QCOW2_INCOMPAT_COMPRESSION (UINT64_C(1) << 3)
#define QCOW2_INCOMPAT_EXTL2      (UINT64_C(1) << 4)
#define QCOW2_INCOMPAT_KNOWN      UINT64_C(0x1f)
#define QCOW2_COMPAT_LAZY         (UINT64_C(1) << 0)
#define QCOW2_AUTOCLEAR_BITMAPS   (UINT64_C(1) << 0)
#define QCOW2_AUTOCLEAR_DATA_RAW  (UINT64_C(1) << 1)

#define QCOW2_EXT_END          0x00000000u
#define QCOW2_EXT_BACKING_FMT  0xe2792acau
#define QCOW2_EXT_FEATURES     0x6803f857u
#define QCOW2_EXT_BITMAPS      0x23852875u
#define QCOW2_EXT_CRYPTO       0x0537be77u
#define QCOW2_EXT_DATA_FILE    0x44415441u

#define QCOW2_OFLAG_COPIED     (UINT64_C(1) << 63)
#define QCOW2_OFLAG_COMPRESSED (UINT64_C(1) << 62)
#define QCOW2_OFLAG_ZERO       (UINT64_C(1) << 0)
#define QCOW2_OFFSET_MASK      UINT64_C(0x00fffffffffffe00)
#define QCOW2_RT_OFFSET_MASK   UINT64_C(0xfffffffffffffe00)

enum qcow2_ctype {
    QCOW2_UNALLOC,
    QCOW2_ZERO_PLAIN,
    QCOW2_ZERO_ALLOC,
    QCOW2_NORMAL,
    QCOW2_COMPRESSED,
};

/* A header extension kept verbatim (unknown types, bitmaps). */
struct qcow2_ext {
    uint32_t type;
    uint32_t len;
    uint8_t *data;
};

struct qcow2_snap {
    uint64_t l1_offset;
    uint32_t l1_size;
    char *id, *name;
    uint32_t date_sec, date_nsec;
    uint64_t vm_clock_nsec;
    uint32_t vm_state_size;
    uint64_t vm_state_size_large, disk_size, icount;
    uint32_t extra_size;
    uint8_t *extra;          /* extra data kept verbatim */
};

struct qcow2_l2_slot {
    uint64_t offset;         /* 0: empty */
    uint8_t *data;           /* on-disk (big-endian) table */
};

struct qcow2 {
    pthread_mutex_t lock;
    uint32_t version;
    uint32_t cluster_bits;
    uint64_t cluster_size;
    uint32_t l2_bits;        /* log2 of entries per L2 table */
    uint64_t l2_entries;
    uint32_t l2_entry_size;  /* 8, or 16 with extended L2 */
    uint64_t subcluster_size;
    bool ext_l2;
    uint32_t csize_shift;    /* compressed descriptor layout */
    uint64_t csize_mask, cmask;

    uint64_t l1_offset;
    uint32_t l1_size;
    uint64_t *l1;            /* host-endian copy */

    uint64_t rt_offset;
    uint32_t rt_clusters;
    uint64_t rt_entries;
    uint64_t *rt;            /* host-endian copy */
    /* entries below rt_hi may be in use (the overlap check reads only
     * those); valid while rt and rt_entries are rt_hi_of and rt_hi_n (a
     * new table is always allocated before the old one is freed) */
    uint64_t rt_hi, rt_hi_n;
    const uint64_t *rt_hi_of;
    uint32_t refcount_order, refcount_bits;
    uint64_t refcount_max;
    uint64_t rb_entries;     /* refcounts per block */
    uint8_t **rb_cache;      /* indexed like rt; NULL = not loaded */

    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    struct qcow2_snap *snaps;

    uint64_t incompat, compat, autoclear;
    uint32_t header_length;
    int compression_type;    /* 0 zlib, 1 zstd */
    struct qcow2_ext *exts;  /* preserved extensions, in file order */
    int nexts;
    char *feature_names[3][64]; /* from the feature-name table */

    uint64_t free_hint;      /* cluster index to start free searches */
    uint64_t free_byte_offset; /* compressed-data tail, 0 = none */
    uint64_t reserved_end;   /* host file space reserved up to here */

    struct qcow2_l2_slot *l2c;
    uint32_t l2c_slots;

    bool dirty_marked;       /* we set the dirty bit in this session */
    bool broken;             /* corruption found this session: no more writes */
    bool checking;           /* check: unreadable refcount blocks count as zeros */
    bool header_dirty;
};

/* qcow2.c */
int qcow2_write_header(struct blk *bs);
int qcow2_mark_dirty(struct blk *bs);
int qcow2_mark_corrupt(struct blk *bs, const char *fmt, ...) EMU_PRINTF(2, 3);
int qcow2_read_table(struct blk *bs, uint64_t off, uint64_t n, uint64_t *out);
int qcow2_write_table(struct blk *bs, uint64_t off, uint64_t n, const uint64_t *tbl);
int qcow2_write_l1_entry(struct blk *bs, uint32_t idx);
void qcow2_read_bitmap_list(struct blk *bs, const uint8_t *ext, struct blk_info *info);

/* qcow2-refcount.c */
int qcow2_refcount_init(struct blk *bs);
void qcow2_refcount_close(struct blk *bs);
int qcow2_get_refcount(struct blk *bs, uint64_t cluster, uint64_t *rc);
int qcow2_load_rb(struct blk *bs, uint64_t ti, uint8_t **out);
int qcow2_update_refcount(struct blk *bs, uint64_t offset, uint64_t length,
                          int64_t addend);
int64_t qcow2_alloc_clusters(struct blk *bs, uint64_t n);
int64_t qcow2_alloc_bytes(struct blk *bs, uint64_t n);
int qcow2_free_clusters(struct blk *bs, uint64_t offset, uint64_t length);
void qcow2_free_any(struct blk *bs, uint64_t entry);
uint64_t qcow2_refcount_get_entry(const struct qcow2 *s, const uint8_t *blk, uint64_t i);
void qcow2_refcount_set_entry(const struct qcow2 *s, uint8_t *blk, uint64_t i, uint64_t v);

/* qcow2-cluster.c */
int qcow2_l2_cache_init(struct blk *bs);
void qcow2_l2_cache_free(struct blk *bs);
void qcow2_l2_cache_drop(struct blk *bs, uint64_t l2_offset);
int qcow2_get_l2(struct blk *bs, uint64_t l2_offset, uint8_t **tbl);
uint64_t qcow2_l2_get(const struct qcow2 *s, const uint8_t *tbl, uint64_t i);
uint64_t qcow2_l2_bitmap(const struct qcow2 *s, const uint8_t *tbl, uint64_t i);
void qcow2_l2_set(const struct qcow2 *s, uint8_t *tbl, uint64_t i, uint64_t v, uint64_t bm);
enum qcow2_ctype qcow2_entry_type(const struct qcow2 *s, uint64_t entry);
int qcow2_l2_writable(struct blk *bs, uint64_t l1i, uint64_t *l2off, uint8_t **tbl);
int qcow2_grow_l1(struct blk *bs, uint64_t min_size);
int qcow2_preadv(struct blk *bs, uint64_t off, uint64_t len, const struct iovec *iov,
                 int iovcnt);
int qcow2_pwritev(struct blk *bs, uint64_t off, uint64_t len, const struct iovec *iov,
                  int iovcnt);
int qcow2_pwrite_zeroes(struct blk *bs, uint64_t off, uint64_t len, int flags);
int qcow2_pdiscard(struct blk *bs, uint64_t off, uint64_t len);
int qcow2_block_status(struct blk *bs, uint64_t off, uint64_t len, uint64_t *pnum,
                       uint64_t *map, struct blk **file);
/* kinds of metadata a write may cover (the table being written) */
#define QCOW2_OL_L1 0x1u
#define QCOW2_OL_RT 0x2u
#define QCOW2_OL_L2 0x4u
#define QCOW2_OL_RB 0x8u
int qcow2_check_overlap(struct blk *bs, uint64_t off, uint64_t len, unsigned ignore);
int qcow2_write_l2_entries(struct blk *bs, uint64_t l2_offset, uint8_t *tbl,
                           uint64_t first, uint64_t n);

/* qcow2-compress.c */
int qcow2_decompress(struct qcow2 *s, const uint8_t *src, size_t slen, uint8_t *dst,
                     size_t dlen);
bool qcow2_incompressible(const uint8_t *buf, size_t len);
/* Returns compressed length, or 0 when the data does not compress. */
size_t qcow2_compress(struct qcow2 *s, const uint8_t *src, size_t slen, uint8_t *dst,
                      size_t dlen);
int qcow2_read_compressed(struct blk *bs, uint64_t entry, uint8_t *cluster);
int qcow2_pwrite_compressed(struct blk *bs, uint64_t off, uint64_t len, const void *buf);
void qcow2_compressed_range(const struct qcow2 *s, uint64_t entry, uint64_t *off,
                            uint64_t *len);

/* qcow2-check.c */
int qcow2_check(struct blk *bs, struct blk_check *res, int fix, struct error **errp);
int qcow2_change_refcount_order(struct blk *bs, unsigned order);

/* qcow2-snapshot.c */
int qcow2_read_snapshots(struct blk *bs, struct error **errp);
void qcow2_free_snapshots(struct qcow2 *s);
int qcow2_snapshot_list(struct blk *bs, struct blk_snapshot **out);
int qcow2_snapshot_create(struct blk *bs, const char *name, struct error **errp);
int qcow2_snapshot_create_full(struct blk *bs, const char *name, uint64_t vm_state_size,
                               uint64_t vm_clock_ns, uint64_t icount, struct error **errp);
int qcow2_snapshot_goto(struct blk *bs, const char *name, struct error **errp);
int qcow2_snapshot_delete(struct blk *bs, const char *name, struct error **errp);
int qcow2_snapshot_load(struct blk *bs, const char *id, const char *name,
                        struct error **errp);
/* qcow2-vmstate.c: savevm's VM state area (lock not held) */
int qcow2_vmstate_write(struct blk *bs, uint64_t pos, uint64_t len, const void *buf);
int qcow2_vmstate_read(struct blk *bs, uint64_t pos, uint64_t len, void *buf);
int qcow2_vmstate_drop(struct blk *bs);
int qcow2_snapshot_create_vm(struct blk *bs, const char *name, uint64_t vm_state_size,
                             uint64_t vm_clock_ns, struct error **errp);
/* qcow2-create.c */
extern const struct blk_opt_desc qcow2_create_opts[];
int qcow2_create(const char *filename, const struct blk_create_opts *o, struct error **errp);
int qcow2_measure(const struct blk_create_opts *o, uint64_t allocated, uint64_t *required,
                  uint64_t *fully, struct error **errp);
int qcow2_truncate(struct blk *bs, uint64_t size, bool shrink, enum blk_prealloc prealloc,
                   struct error **errp);
int qcow2_change_backing(struct blk *bs, const char *file, const char *fmt,
                         struct error **errp);
int qcow2_make_empty(struct blk *bs, struct error **errp);
int qcow2_amend(struct blk *bs, const struct blk_create_opts *o, const char *const *set,
                struct error **errp);

static inline uint64_t qcow2_offset_into_cluster(const struct qcow2 *s, uint64_t off)
{
    return off & (s->cluster_size - 1);
}

static inline uint64_t qcow2_size_to_clusters(const struct qcow2 *s, uint64_t size)
{
    return (size + s->cluster_size - 1) >> s->cluster_bits;
}

#endif
