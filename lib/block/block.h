/* block.h - the block layer: image nodes, drivers, requests.
 *
 * A node (struct blk) is one open driver instance: a format driver (raw,
 * qcow2) sitting on a protocol node (`file`) through bs->file, with an
 * optional backing node (bs->backing) that is itself a format node.  Images
 * are opened with blk_open(), which probes the format when none is given
 * and opens the whole backing chain (loops and over-deep chains refused).
 *
 * Requests are byte-granular: (offset, length, iovec).  The core wrappers
 * blk_preadv()/blk_pwritev()/... give drivers these guarantees before any
 * driver callback runs:
 *   - offset + length does not overflow and lies inside the node's size
 *     (reads and writes past the end are refused with -EIO by the core);
 *   - the iovec covers exactly `length` bytes;
 *   - writes never reach a node opened read-only (-EROFS from the core);
 *   - length is never 0;
 *   - callbacks may run in several worker threads at once: a driver either
 *     sets .thread_safe (it locks on its own) or the core serialises every
 *     data callback of that node with a per-node mutex.
 * Drivers see no alignment requirement: the `file` driver bounces through
 * an aligned buffer when it uses O_DIRECT.
 *
 * Asynchronous use: blk_aio_preadv()/blk_aio_pwritev() run a request in the
 * worker pool of blk_set_pool() and complete in the loop thread, so several
 * requests can be in flight at once (emu-img convert -m N).
 *
 * Every number a driver reads from an image is untrusted: drivers check
 * bounds and overflow before use and fail with -EINVAL naming the file.
 */
#ifndef EMU_BLOCK_H
#define EMU_BLOCK_H

#include <pthread.h>
#include <stdio.h>
#include <sys/uio.h>
#include "common.h"
#include "error.h"
#include "pool.h"

struct blk;
struct blk_info;
struct anon;

/* Open flags. */
#define BLK_O_RDWR       0x1   /* open for writing */
#define BLK_O_NO_BACKING 0x2   /* do not open the backing chain */
#define BLK_O_DIRECT     0x4   /* file: bypass the page cache (O_DIRECT) */
#define BLK_O_NO_REPAIR  0x8   /* do not repair a dirty image on open (check) */
#define BLK_O_UNSAFE     0x10  /* metadata-only open, e.g. create -u */
#define BLK_O_NO_FLUSH   0x20  /* cache=unsafe: blk_flush() writes out the formats'
                                  metadata but syncs no file */

/* Maximum backing chain depth. */
#define BLK_MAX_CHAIN 64

/* Block status bits (blk_block_status). */
#define BLK_STATUS_DATA      0x1  /* reads return data stored here */
#define BLK_STATUS_ZERO      0x2  /* reads return zeros */
#define BLK_STATUS_OFFSET    0x4  /* *map is a valid offset in *file */
#define BLK_STATUS_ALLOCATED 0x8  /* this node decides the content (not backing) */
#define BLK_STATUS_COMPRESSED 0x10 /* compressed cluster (no flat offset) */
#define BLK_STATUS_RECURSE   0x20 /* driver asks the core to look at *file for
                                     holes under DATA (never returned by the core) */

/* Zero-write flags. */
#define BLK_ZERO_MAY_UNMAP 0x1    /* the area may be deallocated */
#define BLK_ZERO_NO_FALLBACK 0x2  /* -ENOTSUP rather than writing zeroed buffers
                                     (NBD's FAST_ZERO) */

enum blk_prealloc {
    BLK_PREALLOC_OFF,
    BLK_PREALLOC_METADATA,
    BLK_PREALLOC_FALLOC,
    BLK_PREALLOC_FULL,
};
int blk_prealloc_parse(const char *s, enum blk_prealloc *out, struct error **errp);
const char *blk_prealloc_name(enum blk_prealloc p);

/* Options for creating an image (emu-img create -o ...). */
struct blk_create_opts {
    uint64_t size;
    bool has_size;
    const char *backing_file;
    const char *backing_fmt;
    uint64_t cluster_size;      /* 0: driver default */
    int compat;                 /* 0 default, 2 = v2 (0.10), 3 = v3 (1.1) */
    bool lazy_refcounts;
    int refcount_bits;          /* 0: default 16 */
    int compression_type;       /* 0 zlib, 1 zstd */
    bool extended_l2;
    enum blk_prealloc prealloc;
    bool unsafe_backing;        /* -u: do not open the backing file */
    bool fixed;                 /* vdi static=on: all blocks allocated */
    /* vmdk */
    const char *subformat;      /* as given, NULL: default */
    const char *adapter_type;   /* NULL: ide */
    const char *hwversion;      /* NULL: undefined */
    const char *toolsversion;   /* NULL: 2147483647 */
    bool compat6;
    bool zeroed_grain;
    /* vhdx */
    uint64_t block_size;        /* 0: by image size */
    uint64_t log_size;          /* 0: 1 MiB */
    bool block_state_zero_off;  /* block_state_zero=off */
    bool has_block_size, has_block_state_zero;
};

/* One option a driver accepts in -o. */
struct blk_opt_desc {
    const char *name;
    const char *type;   /* "bool", "size", "str", "num" */
    const char *help;
};

/* Internal snapshots. */
struct blk_snapshot {
    char *id;
    char *name;
    uint64_t vm_state_size;
    uint32_t date_sec, date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t icount;          /* UINT64_MAX: not recorded */
    uint64_t disk_size;
};
void blk_snapshots_free(struct blk_snapshot *s, int n);

/* Result of a consistency check (emu-img check). */
struct blk_check {
    int corruptions, leaks, check_errors;
    int corruptions_fixed, leaks_fixed;
    uint64_t image_end_offset;
    uint64_t total_clusters, allocated_clusters;
    uint64_t fragmented_clusters, compressed_clusters;
    FILE *report;             /* per-problem lines go here (stderr/stdout) */
};
#define BLK_FIX_LEAKS  0x1
#define BLK_FIX_ERRORS 0x2

/* A persistent dirty bitmap, as info lists it. */
struct blk_bitmap_info {
    char *name;
    uint32_t flags;            /* bit 0 in-use, bit 1 auto */
    uint64_t granularity;
};

/* One extent of a VMDK image, as info lists it. */
struct blk_extent_info {
    const char *filename;      /* owned by the node */
    const char *format;        /* "", "FLAT", "SPARSE" */
    uint64_t virtual_size, cluster_size;
    bool compressed;
};

/* Format-specific information for info; blk_info_clear() frees it. */
struct blk_info {
    uint64_t cluster_size;        /* 0: none */
    const char *compat;           /* qcow2 "0.10" / "1.1" */
    const char *compression_type; /* "zlib" / "zstd" */
    bool lazy_refcounts, corrupt, extended_l2, has_v3_fields;
    int refcount_bits;
    bool dirty;
    bool has_bitmaps_ext;
    struct blk_bitmap_info *bitmaps;   /* valid when has_bitmaps_ext */
    int nb_bitmaps;
    /* vmdk */
    bool is_vmdk;
    uint32_t cid, parent_cid;
    const char *create_type;
    struct blk_extent_info *extents;
    int nb_extents;
};
void blk_info_clear(struct blk_info *info);

/* A driver.  Fill with designated initializers; NULL ops are unsupported
 * (the core returns -ENOTSUP with a message). */
struct block_driver {
    const char *name;
    size_t state_size;             /* bytes of bs->opaque, zeroed on open */
    bool protocol;                 /* opens a filename itself (file) */
    bool thread_safe;              /* data callbacks may run concurrently */
    const struct blk_opt_desc *create_opts; /* NULL-name terminated */

    /* Score 0..100 for the first bytes of a file (buf_len <= 2048). */
    int (*probe)(const uint8_t *buf, size_t buf_len, const char *filename);
    /* Format drivers: bs->file is open; protocol: open bs->filename. */
    int (*open)(struct blk *bs, int flags, struct error **errp);
    void (*close)(struct blk *bs);
    int (*create)(const char *filename, const struct blk_create_opts *o,
                  struct error **errp);

    int (*preadv)(struct blk *bs, uint64_t off, uint64_t len,
                  const struct iovec *iov, int iovcnt);
    int (*pwritev)(struct blk *bs, uint64_t off, uint64_t len,
                   const struct iovec *iov, int iovcnt);
    int (*pwrite_compressed)(struct blk *bs, uint64_t off, uint64_t len,
                             const void *buf);
    int (*pwrite_zeroes)(struct blk *bs, uint64_t off, uint64_t len, int flags);
    int (*pdiscard)(struct blk *bs, uint64_t off, uint64_t len);
    int (*flush)(struct blk *bs);
    /* Status of [off, off+len): returns BLK_STATUS_* and the length *pnum
     * (> 0, <= len) over which it holds; *map / *file when OFFSET. */
    int (*block_status)(struct blk *bs, uint64_t off, uint64_t len,
                        uint64_t *pnum, uint64_t *map, struct blk **file);
    int (*truncate)(struct blk *bs, uint64_t size, bool shrink,
                    enum blk_prealloc prealloc, struct error **errp);
    int64_t (*allocated_size)(struct blk *bs);
    int (*get_info)(struct blk *bs, struct blk_info *info);
    int (*check)(struct blk *bs, struct blk_check *res, int fix,
                 struct error **errp);
    int (*snapshot_list)(struct blk *bs, struct blk_snapshot **out);
    int (*snapshot_create)(struct blk *bs, const char *name, struct error **errp);
    int (*snapshot_goto)(struct blk *bs, const char *name, struct error **errp);
    int (*snapshot_delete)(struct blk *bs, const char *name, struct error **errp);
    /* Read-only nodes: show the snapshot's content instead of the active
     * state (convert -l).  ID or NAME may be NULL. */
    int (*snapshot_load)(struct blk *bs, const char *id, const char *name,
                         struct error **errp);
    /* savevm: bytes [pos, pos + len) of the active layer's VM state area
     * (what the next snapshot_create_vm records; after snapshot_goto, the
     * snapshot's).  The core checks for overflow, len > 0 and, for
     * writes, a writable node. */
    int (*vmstate_write)(struct blk *bs, uint64_t pos, uint64_t len, const void *buf);
    int (*vmstate_read)(struct blk *bs, uint64_t pos, uint64_t len, void *buf);
    /* The area leaves the active layer (after loadvm read it). */
    int (*vmstate_drop)(struct blk *bs);
    /* snapshot_create recording VM_STATE_SIZE bytes of VM state (already
     * written with vmstate_write) and the guest clock; the area then
     * leaves the active layer. */
    int (*snapshot_create_vm)(struct blk *bs, const char *name, uint64_t vm_state_size,
                              uint64_t vm_clock_ns, struct error **errp);
    int (*change_backing)(struct blk *bs, const char *file, const char *fmt,
                          struct error **errp);
    int (*make_empty)(struct blk *bs, struct error **errp);
    int (*amend)(struct blk *bs, const struct blk_create_opts *o,
                 const char *const *set, struct error **errp);
    /* Bytes needed for an image of SIZE whose source has ALLOCATED bytes
     * of data (measure). */
    int (*measure)(const struct blk_create_opts *o, uint64_t allocated,
                   uint64_t *required, uint64_t *fully, struct error **errp);
    /* Protocol nodes: see blk_map_read(). */
    const void *(*map_read)(struct blk *bs, uint64_t off, uint64_t len);
    /* See blk_splice_write().  LEN 0 only asks: 0 if the node would take
     * a pipe's bytes for a write, -ENOTSUP if not. */
    int (*splice_write)(struct blk *bs, uint64_t off, uint64_t len, int pipe_fd);
    /* emu-img anonymize: find the metadata of the raw file in A without
     * opening the image (see anon.h); NULL: not supported. */
    int (*anonymize)(struct anon *a, struct error **errp);
};

/* A before-write hook (copy-before-write views, lib/block/cbw.h): called
 * in the writer's thread before a write, write-zeroes, discard or
 * compressed write changes [off, off+len) of the node it is attached to.
 * A negative return fails that write with it.  Hooks run with the node's
 * hook_lock held for reading, across the write itself. */
struct blk_write_hook {
    int (*before_write)(struct blk_write_hook *h, uint64_t off, uint64_t len);
    struct blk_write_hook *next;
};

struct blk {
    const struct block_driver *drv;
    void *opaque;
    char *filename;
    char *backing_file;        /* as recorded in the image, or NULL */
    char *backing_fmt;         /* recorded backing format, or NULL */
    char *backing_path;        /* backing_file resolved against filename */
    struct blk *file;          /* protocol child (format nodes) */
    struct blk *backing;       /* backing node, or NULL */
    uint64_t size;             /* virtual size in bytes */
    int flags;
    bool read_only;
    bool probed;               /* the format was guessed, not given */
    pthread_mutex_t lock;      /* serialises non-thread-safe drivers */
    struct pool *pool;         /* for blk_aio_* */
    int fd;                    /* protocol nodes: the descriptor */
    /* Writers hold it for reading from their hooks to the end of the
     * write; attaching or detaching a hook takes it for writing, which
     * waits for the writes in flight (writer-preferring, so a stream of
     * writes cannot starve it). */
    pthread_rwlock_t hook_lock;
    struct blk_write_hook *write_hooks;
};

/* Attach H to BS (its top node, where the writes arrive): every write
 * that starts after this returns runs H first; waits for the writes in
 * flight to end, so none of them is half seen.  Detach waits likewise,
 * so H is called no more once it returns.  Not from a writer's thread. */
void blk_add_write_hook(struct blk *bs, struct blk_write_hook *h);
void blk_remove_write_hook(struct blk *bs, struct blk_write_hook *h);
/* A node of DRV that no driver's open made (filters such as cbw.c's
 * views): zeroed state of DRV->state_size, FLAGS as blk_open's; the
 * caller sets size; blk_close() frees it.  NULL without memory. */
struct blk *blk_node_new(const struct block_driver *drv, const char *name, int flags);

/* The driver table and lookup. */
extern const struct block_driver *const blk_drivers[];
const struct block_driver *blk_find_driver(const char *name);
bool blk_format_known(const char *name); /* known, even if not implemented */

int blk_open(struct blk **out, const char *filename, const char *fmt,
             int flags, struct error **errp);
/* Open only the protocol node of a file. */
int blk_open_file(struct blk **out, const char *filename, int flags,
                  struct error **errp);
void blk_close(struct blk *bs);
int blk_create(const char *fmt, const char *filename,
               const struct blk_create_opts *o, struct error **errp);
/* Probe the format of FILENAME (never raw-fails: raw is the fallback). */
int blk_probe(const char *filename, const char **fmt, struct error **errp);

int blk_preadv(struct blk *bs, uint64_t off, uint64_t len,
               const struct iovec *iov, int iovcnt);
int blk_pwritev(struct blk *bs, uint64_t off, uint64_t len,
                const struct iovec *iov, int iovcnt);
int blk_pread(struct blk *bs, uint64_t off, uint64_t len, void *buf);
int blk_pwrite(struct blk *bs, uint64_t off, uint64_t len, const void *buf);
int blk_pwrite_compressed(struct blk *bs, uint64_t off, uint64_t len,
                          const void *buf);
int blk_pwrite_zeroes(struct blk *bs, uint64_t off, uint64_t len, int flags);
int blk_pdiscard(struct blk *bs, uint64_t off, uint64_t len);
int blk_flush(struct blk *bs);
int blk_block_status(struct blk *bs, uint64_t off, uint64_t len,
                     uint64_t *pnum, uint64_t *map, struct blk **file);
/* Status through the chain: *depth is the node that decided (0 = bs);
 * unallocated everywhere gives depth = chain length and ZERO. */
int blk_block_status_above(struct blk *bs, uint64_t off, uint64_t len,
                           uint64_t *pnum, uint64_t *map, struct blk **file,
                           int *depth);
int blk_truncate(struct blk *bs, uint64_t size, bool shrink,
                 enum blk_prealloc prealloc, struct error **errp);
/* Zero-copy reads: the bytes [off, off+len) of a read-only protocol node
 * (a regular file opened without O_DIRECT) as read-only memory mapped from
 * the page cache, with the pages already faulted in; NULL when that is not
 * available (any other node, a range past the size at open, mapping
 * failed) and the caller reads with blk_preadv() instead.  The memory
 * stays valid until blk_close(); it shows later changes of the file, and
 * like any mapping it faults (SIGBUS) if another process shrinks the file
 * below a range while it is being used. */
const void *blk_map_read(struct blk *bs, uint64_t off, uint64_t len);
/* Zero-copy writes: write the next LEN bytes of the pipe PIPE_FD (which
 * must hold that many) to [off, off+len) by splice(), so the data goes
 * from the pipe's pages into the page cache without passing through the
 * caller's memory.  Raw images on regular files or block devices opened
 * without O_DIRECT do it; other nodes return -ENOTSUP and leave the pipe
 * alone.  After any other error the pipe's content is undefined. */
int blk_splice_write(struct blk *bs, uint64_t off, uint64_t len, int pipe_fd);
bool blk_can_splice_write(struct blk *bs);
/* Does a mapped read (blk_map_read) of [off, off+len) of the file node BS
 * cost less than reading it, when the mapping saves COPIES copies of the
 * data (convert 1: the read into a buffer; NBD 2: that and the copy into
 * the socket)?  Measured on this machine at the first call (see file.c),
 * cached for the process.  False for nodes blk_map_read() does not serve. */
bool blk_map_pays(struct blk *bs, uint64_t off, uint64_t len, unsigned copies);
/* For tests: BLK_MAP_AUTO measures, ALWAYS and NEVER answer blk_map_pays
 * without measuring. */
enum { BLK_MAP_AUTO, BLK_MAP_ALWAYS, BLK_MAP_NEVER };
void blk_map_set_policy(int policy);
/* Copy [soff, soff+len) of the file node SRC to [doff, doff+len) of DST
 * (a file node, or a raw node over one) inside the kernel
 * (copy_file_range: one copy between page caches, or none where the file
 * system shares extents).  -ENOTSUP where the nodes or the kernel cannot,
 * or the source ends inside the range: the caller then reads and writes
 * the range instead (what was copied is written again). */
int blk_copy_range(struct blk *src, uint64_t soff, struct blk *dst, uint64_t doff,
                   uint64_t len);
/* Drop the mapping of a range blk_map_read() returned once it is used. */
void blk_map_release(struct blk *bs, const void *p, uint64_t len);
/* Advisory: reserve space for [off, off+len) of a writable file node
 * without changing its size or content (fallocate KEEP_SIZE); no-op for
 * other nodes.  Reserved space past the end of file is freed on close. */
void blk_file_reserve(struct blk *bs, uint64_t off, uint64_t len);
int64_t blk_allocated_size(struct blk *bs);
uint64_t blk_cluster_size(struct blk *bs);
/* Whether the node has a cluster granularity that compressed writes need. */
int blk_chain_length(struct blk *bs);
/* Formats' table checks: do two of the N areas [start, start + LEN) of a
 * file overlap (two table entries sending guest data to one place, in a
 * damaged image)?  Sorts STARTS; returns the start of the later area of
 * the first such pair, or UINT64_MAX. */
uint64_t blk_find_overlap(uint64_t *starts, size_t n, uint64_t len);

/* Internal snapshots with VM state (savevm/loadvm).  blk_can_vmstate:
 * the node's format keeps VM state (qcow2).  The others return -ENOTSUP
 * (with a message for the snapshot) where it does not, -EROFS for
 * writes to a read-only node. */
bool blk_can_vmstate(struct blk *bs);
int blk_vmstate_write(struct blk *bs, uint64_t pos, uint64_t len, const void *buf);
int blk_vmstate_read(struct blk *bs, uint64_t pos, uint64_t len, void *buf);
int blk_vmstate_drop(struct blk *bs);
int blk_snapshot_create_vm(struct blk *bs, const char *name, uint64_t vm_state_size,
                           uint64_t vm_clock_ns, struct error **errp);

/* Asynchronous requests through the node's pool; CB runs in the loop. */
typedef void blk_aio_cb(void *opaque, int ret);
void blk_set_pool(struct blk *bs, struct pool *pool);
int blk_aio_preadv(struct blk *bs, uint64_t off, uint64_t len,
                   const struct iovec *iov, int iovcnt,
                   blk_aio_cb *cb, void *opaque, struct error **errp);
int blk_aio_pwritev(struct blk *bs, uint64_t off, uint64_t len,
                    const struct iovec *iov, int iovcnt,
                    blk_aio_cb *cb, void *opaque, struct error **errp);
/* Run FN(bs, arg) in the pool: generic job (compressed writes, zeroes). */
typedef int blk_job_fn(struct blk *bs, void *arg);
int blk_aio_job(struct blk *bs, blk_job_fn *fn, void *arg,
                blk_aio_cb *cb, void *opaque, struct error **errp);

/* iovec helpers. */
size_t iov_size(const struct iovec *iov, int iovcnt);
/* Copy between an iovec (starting OFFSET bytes in) and a flat buffer. */
size_t iov_to_buf(const struct iovec *iov, int iovcnt, size_t offset,
                  void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, int iovcnt, size_t offset,
                    const void *buf, size_t len);
size_t iov_memset(const struct iovec *iov, int iovcnt, size_t offset,
                  int c, size_t len);
/* Describe bytes [offset, offset+len) of IOV in OUT (max MAXOUT entries);
 * returns the number of entries or -1 if MAXOUT is too small. */
int iov_slice(const struct iovec *iov, int iovcnt, size_t offset, size_t len,
              struct iovec *out, int maxout);
/* Are LEN bytes at BUF all zero?  Returns at the first non-zero 64 bytes. */
bool buf_is_zero(const void *buf, size_t len);
/* The variants buf_is_zero() chooses from (for tests and measurements);
 * buf_is_zero_avx2 only on CPUs with AVX2. */
bool buf_is_zero_sse2(const void *buf, size_t len);
bool buf_is_zero_avx2(const void *buf, size_t len);

/* Path helpers: resolve a backing file name relative to the image. */
char *blk_path_combine(const char *base, const char *rel);

/* Big-endian accessors used by every format driver. */
static inline uint16_t be16_get(const void *p)
{
    const uint8_t *b = p;
    return (uint16_t)(b[0] << 8 | b[1]);
}
static inline uint32_t be32_get(const void *p)
{
    const uint8_t *b = p;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}
static inline uint64_t be64_get(const void *p)
{
    return (uint64_t)be32_get(p) << 32 | be32_get((const uint8_t *)p + 4);
}
static inline void be16_put(void *p, uint16_t v)
{
    uint8_t *b = p;
    b[0] = v >> 8; b[1] = (uint8_t)v;
}
static inline void be32_put(void *p, uint32_t v)
{
    uint8_t *b = p;
    b[0] = v >> 24; b[1] = v >> 16; b[2] = v >> 8; b[3] = (uint8_t)v;
}
static inline void be64_put(void *p, uint64_t v)
{
    be32_put(p, (uint32_t)(v >> 32));
    be32_put((uint8_t *)p + 4, (uint32_t)v);
}

#endif
