/* file.c - the `file` protocol driver: a host file or block device.
 *
 * Sparse-aware: block status from SEEK_DATA/SEEK_HOLE, zero writes by
 * fallocate (punching holes when allowed), preallocation off / metadata /
 * falloc / full.  With BLK_O_DIRECT the file is opened O_DIRECT and
 * unaligned requests go through an aligned bounce buffer.  Reads past the
 * end of the file return zeros; writes past it grow the file. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <pthread.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <time.h>
#include "block.h"
#include "i18n.h"
#include "log.h"

#define FILE_DIRECT_ALIGN 4096

extern const struct block_driver blk_drv_file;

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22   /* Linux 5.14 */
#endif

struct file_state {
    bool direct;
    bool is_blockdev;
    bool no_seek_data;
    /* The last extent SEEK_DATA/SEEK_HOLE found, so that walking a large
     * extent in pieces costs no further system calls.  Writes and zeroing
     * invalidate it. */
    pthread_mutex_t ext_lock;
    uint64_t ext_start, ext_end;
    bool ext_data, ext_valid;
    /* Read-only nodes: the whole file (as large as at the first use)
     * mapped for blk_map_read(), made under ext_lock. */
    uint8_t *map;
    uint64_t map_len;
    bool map_tried, map_off;
    /* Writable nodes: space reserved past the end of file by
     * blk_file_reserve(), given back on close. */
    bool reserved, no_reserve;
    /* Buffered writes to one regular file are serial in the kernel anyway
     * (the inode lock); waiting here sleeps, where waiting there spins
     * and takes the CPU from the writer that holds the lock. */
    pthread_mutex_t write_lock;
    bool serial_writes;
};

static void file_ext_invalidate(struct file_state *s)
{
    pthread_mutex_lock(&s->ext_lock);
    s->ext_valid = false;
    pthread_mutex_unlock(&s->ext_lock);
}

static uint64_t file_cur_size(struct blk *bs)
{
    off_t end = lseek(bs->fd, 0, SEEK_END);
    return end < 0 ? 0 : (uint64_t)end;
}

static void file_note_end(struct blk *bs, uint64_t end)
{
    uint64_t cur = __atomic_load_n(&bs->size, __ATOMIC_RELAXED);
    while (end > cur &&
           !__atomic_compare_exchange_n(&bs->size, &cur, end, false, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED)) {
    }
}

static int file_open(struct blk *bs, int flags, struct error **errp)
{
    struct file_state *s = bs->opaque;
    int oflags = O_CLOEXEC | ((flags & BLK_O_RDWR) ? O_RDWR : O_RDONLY);
    if (flags & BLK_O_DIRECT)
        oflags |= O_DIRECT;
    bs->fd = open(bs->filename, oflags);
    if (bs->fd < 0)
        return err_set_errno(errp, errno, _("cannot open '%s'"), bs->filename);
    struct stat st;
    if (fstat(bs->fd, &st) < 0) {
        int e = errno;
        close(bs->fd);
        bs->fd = -1;
        return err_set_errno(errp, e, _("cannot open '%s'"), bs->filename);
    }
    if (S_ISDIR(st.st_mode)) {
        close(bs->fd);
        bs->fd = -1;
        return err_set(errp, EISDIR, _("'%s' is a directory"), bs->filename);
    }
    s->direct = (flags & BLK_O_DIRECT) != 0;
    pthread_mutex_init(&s->ext_lock, NULL);
    pthread_mutex_init(&s->write_lock, NULL);
    s->is_blockdev = S_ISBLK(st.st_mode);
    s->serial_writes = S_ISREG(st.st_mode) && !s->direct;
    bs->size = s->is_blockdev ? file_cur_size(bs) : (uint64_t)st.st_size;
    return 0;
}

static void file_close(struct blk *bs)
{
    struct file_state *s = bs->opaque;
    pthread_mutex_destroy(&s->ext_lock);
    pthread_mutex_destroy(&s->write_lock);
    if (s->map)
        munmap(s->map, (size_t)s->map_len);
    s->map = NULL;
    /* Truncating to the current size frees the blocks reserved past the
     * end of file that the image did not grow into. */
    struct stat st;
    if (s->reserved && bs->fd >= 0 && fstat(bs->fd, &st) == 0)
        (void)!ftruncate(bs->fd, st.st_size);
    if (bs->fd >= 0)
        close(bs->fd);
    bs->fd = -1;
}

/* Plain positional I/O on an iovec; short reads at EOF are zero-filled. */
static int file_rw_plain(struct blk *bs, bool write, uint64_t off, uint64_t len,
                         const struct iovec *iov, int iovcnt)
{
    struct iovec local[64];
    uint64_t done = 0;
    while (done < len) {
        int n = iov_slice(iov, iovcnt, done, len - done, local, (int)ARRAY_SIZE(local));
        if (n < 0)
            n = (int)ARRAY_SIZE(local);
        ssize_t r = write ? pwritev(bs->fd, local, n, (off_t)(off + done))
                          : preadv(bs->fd, local, n, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0) {
            if (write)
                return -EIO;
            iov_memset(iov, iovcnt, done, 0, len - done);
            break;
        }
        done += (uint64_t)r;
    }
    return 0;
}

/* O_DIRECT: go through an aligned bounce buffer covering the request. */
static int file_rw_direct(struct blk *bs, bool write, uint64_t off, uint64_t len,
                          const struct iovec *iov, int iovcnt)
{
    uint64_t a_off = ALIGN_DOWN(off, (uint64_t)FILE_DIRECT_ALIGN);
    uint64_t a_end = ALIGN_UP(off + len, (uint64_t)FILE_DIRECT_ALIGN);
    void *buf;
    if (posix_memalign(&buf, FILE_DIRECT_ALIGN, (size_t)(a_end - a_off)) != 0)
        return -ENOMEM;
    struct iovec biov = { .iov_base = buf, .iov_len = (size_t)(a_end - a_off) };
    int r = 0;
    if (!write || a_off != off || a_end != off + len)
        r = file_rw_plain(bs, false, a_off, a_end - a_off, &biov, 1);
    if (r >= 0 && !write)
        iov_from_buf(iov, iovcnt, 0, (char *)buf + (off - a_off), (size_t)len);
    if (r >= 0 && write) {
        iov_to_buf(iov, iovcnt, 0, (char *)buf + (off - a_off), (size_t)len);
        r = file_rw_plain(bs, true, a_off, a_end - a_off, &biov, 1);
        if (r >= 0 && off + len < a_end && a_end > bs->size) {
            if (ftruncate(bs->fd, (off_t)(off + len)) < 0)
                r = -errno;
        }
    }
    free(buf);
    return r;
}

static int file_preadv(struct blk *bs, uint64_t off, uint64_t len, const struct iovec *iov,
                       int iovcnt)
{
    struct file_state *s = bs->opaque;
    if (s->direct)
        return file_rw_direct(bs, false, off, len, iov, iovcnt);
    return file_rw_plain(bs, false, off, len, iov, iovcnt);
}

static int file_pwritev(struct blk *bs, uint64_t off, uint64_t len, const struct iovec *iov,
                        int iovcnt)
{
    struct file_state *s = bs->opaque;
    if (s->ext_valid && !bs->read_only)
        file_ext_invalidate(s);
    int r;
    if (s->direct) {
        r = file_rw_direct(bs, true, off, len, iov, iovcnt);
    } else {
        if (s->serial_writes)
            pthread_mutex_lock(&s->write_lock);
        r = file_rw_plain(bs, true, off, len, iov, iovcnt);
        if (s->serial_writes)
            pthread_mutex_unlock(&s->write_lock);
    }
    if (r >= 0)
        file_note_end(bs, off + len);
    return r;
}

static int file_splice_write(struct blk *bs, uint64_t off, uint64_t len, int pipe_fd)
{
    struct file_state *s = bs->opaque;
    if (s->direct)
        return -ENOTSUP;        /* O_DIRECT wants aligned user memory */
    if (len == 0)
        return 0;
    if (s->ext_valid)
        file_ext_invalidate(s);
    int r = 0;
    if (s->serial_writes)
        pthread_mutex_lock(&s->write_lock);
    for (uint64_t done = 0; done < len;) {
        loff_t o = (loff_t)(off + done);
        /* NONBLOCK: a pipe that holds less than promised must not hang us */
        ssize_t n = splice(pipe_fd, NULL, bs->fd, &o, (size_t)MIN(len - done, (uint64_t)1 << 30),
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = n < 0 && errno != EAGAIN ? -errno : -EIO;
            break;
        }
        done += (uint64_t)n;
    }
    if (s->serial_writes)
        pthread_mutex_unlock(&s->write_lock);
    if (r >= 0)
        file_note_end(bs, off + len);
    return r;
}

static int file_pwrite_zeroes(struct blk *bs, uint64_t off, uint64_t len, int flags)
{
    struct file_state *s = bs->opaque;
    if (s->is_blockdev)
        return -ENOTSUP;
    file_ext_invalidate(s);
    uint64_t size = __atomic_load_n(&bs->size, __ATOMIC_RELAXED);
    if (off >= size) {
        /* Past the end: growing the file gives zeros. */
        if (ftruncate(bs->fd, (off_t)(off + len)) < 0)
            return -errno;
        file_note_end(bs, off + len);
        return 0;
    }
    int mode = (flags & BLK_ZERO_MAY_UNMAP) ? (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)
                                            : FALLOC_FL_ZERO_RANGE;
    if (s->serial_writes)
        pthread_mutex_lock(&s->write_lock);
    int r = fallocate(bs->fd, mode, (off_t)off, (off_t)len);
    int e = errno;
    if (s->serial_writes)
        pthread_mutex_unlock(&s->write_lock);
    errno = e;
    if (r == 0) {
        if (off + len > size && (mode & FALLOC_FL_KEEP_SIZE)) {
            if (ftruncate(bs->fd, (off_t)(off + len)) < 0)
                return -errno;
        }
        file_note_end(bs, off + len);
        return 0;
    }
    if (errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL)
        return -ENOTSUP;
    return -errno;
}

static int file_pdiscard(struct blk *bs, uint64_t off, uint64_t len)
{
    file_ext_invalidate(bs->opaque);
    if (fallocate(bs->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
                  (off_t)len) == 0)
        return 0;
    return 0; /* discard is advisory */
}

static int file_flush(struct blk *bs)
{
    if (bs->flags & BLK_O_NO_FLUSH)
        return 0;
    return fdatasync(bs->fd) < 0 ? -errno : 0;
}

static int file_block_status(struct blk *bs, uint64_t off, uint64_t len, uint64_t *pnum,
                             uint64_t *map, struct blk **file)
{
    struct file_state *s = bs->opaque;
    *map = off;
    *file = bs;
    int st = BLK_STATUS_OFFSET | BLK_STATUS_ALLOCATED;
    if (s->no_seek_data || s->is_blockdev) {
        *pnum = len;
        return st | BLK_STATUS_DATA;
    }
    pthread_mutex_lock(&s->ext_lock);
    if (s->ext_valid && off >= s->ext_start && off < s->ext_end) {
        *pnum = MIN(len, s->ext_end - off);
        bool data = s->ext_data;
        pthread_mutex_unlock(&s->ext_lock);
        return st | (data ? BLK_STATUS_DATA : BLK_STATUS_ZERO);
    }
    pthread_mutex_unlock(&s->ext_lock);
    off_t data = lseek(bs->fd, (off_t)off, SEEK_DATA);
    uint64_t end;
    bool is_data;
    if (data < 0) {
        if (errno != ENXIO) {
            s->no_seek_data = true;
            *pnum = len;
            return st | BLK_STATUS_DATA;
        }
        /* trailing hole (or past EOF) */
        *pnum = len;
        return st | BLK_STATUS_ZERO;
    }
    if ((uint64_t)data > off) {
        end = (uint64_t)data;
        is_data = false;
    } else {
        off_t hole = lseek(bs->fd, (off_t)off, SEEK_HOLE);
        if (hole < 0 || (uint64_t)hole <= off) {
            *pnum = len;
            return st | BLK_STATUS_DATA;
        }
        end = (uint64_t)hole;
        is_data = true;
    }
    if (bs->read_only) {
        pthread_mutex_lock(&s->ext_lock);
        s->ext_start = off;
        s->ext_end = end;
        s->ext_data = is_data;
        s->ext_valid = true;
        pthread_mutex_unlock(&s->ext_lock);
    }
    *pnum = MIN(len, end - off);
    return st | (is_data ? BLK_STATUS_DATA : BLK_STATUS_ZERO);
}

/* Zero-copy reads for read-only regular files (blk_map_read). */
static const void *file_map_read(struct blk *bs, uint64_t off, uint64_t len)
{
    struct file_state *s = bs->opaque;
    if (s->direct || s->is_blockdev || !bs->read_only)
        return NULL;
    pthread_mutex_lock(&s->ext_lock);
    if (!s->map_tried) {
        s->map_tried = true;
        struct stat st;
        if (fstat(bs->fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
            (uint64_t)st.st_size <= SIZE_MAX) {
            void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, bs->fd, 0);
            if (p != MAP_FAILED) {
                s->map = p;
                s->map_len = (uint64_t)st.st_size;
            }
        }
    }
    uint8_t *map = s->map_off ? NULL : s->map;
    uint64_t map_len = s->map_len;
    pthread_mutex_unlock(&s->ext_lock);
    if (!map || off >= map_len || len > map_len - off)
        return NULL;
    long pg = sysconf(_SC_PAGESIZE);
    uint64_t psz = pg > 0 ? (uint64_t)pg : 4096;
    uint64_t a = ALIGN_DOWN(off, psz);
    uint64_t e = MIN(ALIGN_UP(off + len, psz), ALIGN_UP(map_len, psz));
    /* Fault the pages in now: one call instead of a fault per few pages,
     * and a range the file no longer covers fails here (EFAULT) instead
     * of raising SIGBUS later. */
    if (madvise(map + a, (size_t)(e - a), MADV_POPULATE_READ) < 0) {
        if (errno == EINVAL) {
            /* the kernel cannot populate: do not map at all */
            pthread_mutex_lock(&s->ext_lock);
            s->map_off = true;
            pthread_mutex_unlock(&s->ext_lock);
        }
        return NULL;
    }
    return map + off;
}

/* Mapping against copying.  A mapped read costs page-table work: the
 * pages are populated into our tables and, in convert, zapped again after
 * use, which on a machine with more than one CPU in use may take TLB
 * shootdowns; a copy costs memory bandwidth.  Which is cheaper depends on
 * the machine: on KVM with nested paging mapping 1 MiB took 25-45 us and
 * copying it 60-100 us; under a hypervisor that shadows page tables (the
 * issue 16 machine: pvm_flush_tlb_multi) every table change traps and
 * mapping lost.  So the first caller with a large enough range measures
 * both on its own data, once per process: MAP_CAL_ROUNDS alternating
 * rounds, the fastest of each (a busy machine only slows rounds down). */
#define MAP_CAL_LEN (1u << 20)
#define MAP_CAL_ROUNDS 5

static pthread_mutex_t map_cal_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t map_cal_map_ns, map_cal_copy_ns;   /* 0: not measured */
static int map_policy = BLK_MAP_AUTO;

static uint64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Measure on [off, off+MAP_CAL_LEN) of BS's mapping (under map_cal_lock). */
static void map_calibrate(struct blk *bs, uint8_t *map, uint64_t off)
{
    uint8_t *buf;
    if (posix_memalign((void **)&buf, 4096, MAP_CAL_LEN) != 0)
        return;
    uint64_t best_map = UINT64_MAX, best_copy = UINT64_MAX;
    /* the first read brings the range into the page cache and the buffer
     * into ours: both ways then start from the same place */
    bool ok = pread(bs->fd, buf, MAP_CAL_LEN, (off_t)off) == (ssize_t)MAP_CAL_LEN;
    for (int i = 0; ok && i < MAP_CAL_ROUNDS; i++) {
        uint64_t t0 = mono_ns();
        ok = pread(bs->fd, buf, MAP_CAL_LEN, (off_t)off) == (ssize_t)MAP_CAL_LEN;
        uint64_t t1 = mono_ns();
        volatile uint8_t sink = 0;
        ok = ok && madvise(map + off, MAP_CAL_LEN, MADV_POPULATE_READ) == 0;
        for (uint64_t k = 0; ok && k < MAP_CAL_LEN; k += 4096)
            sink ^= map[off + k];    /* what a zero scan touches at least */
        (void)sink;
        madvise(map + off, MAP_CAL_LEN, MADV_DONTNEED);
        uint64_t t2 = mono_ns();
        best_copy = MIN(best_copy, t1 - t0);
        best_map = MIN(best_map, t2 - t1);
    }
    free(buf);
    if (ok) {
        /* the copy's time first: a reader seeing map_cal_map_ns sees it */
        __atomic_store_n(&map_cal_copy_ns, MAX(best_copy, (uint64_t)1), __ATOMIC_RELAXED);
        __atomic_store_n(&map_cal_map_ns, MAX(best_map, (uint64_t)1), __ATOMIC_RELEASE);
        if (log_on(LOG_BLOCK))
            log_msg(LOG_BLOCK, "mapping 1 MiB: %" PRIu64 " ns, copying it: %" PRIu64 " ns",
                    best_map, best_copy);
    } else {
        /* could not measure: map, as before there was a choice */
        __atomic_store_n(&map_cal_copy_ns, UINT64_MAX / 4, __ATOMIC_RELAXED);
        __atomic_store_n(&map_cal_map_ns, (uint64_t)1, __ATOMIC_RELEASE);
    }
}

void blk_map_set_policy(int policy)
{
    __atomic_store_n(&map_policy, policy, __ATOMIC_RELEASE);
}

bool blk_map_pays(struct blk *bs, uint64_t off, uint64_t len, unsigned copies)
{
    if (!bs || bs->drv != &blk_drv_file || !bs->read_only)
        return false;
    struct file_state *s = bs->opaque;
    /* no lock once measured: every read asks */
    int policy = __atomic_load_n(&map_policy, __ATOMIC_ACQUIRE);
    uint64_t m = __atomic_load_n(&map_cal_map_ns, __ATOMIC_ACQUIRE);
    uint64_t c = __atomic_load_n(&map_cal_copy_ns, __ATOMIC_RELAXED);
    if (policy != BLK_MAP_AUTO)
        return policy == BLK_MAP_ALWAYS;
    if (!m) {
        /* the mapping is made on first use: make it now if need be */
        if (!file_map_read(bs, off, MIN(len, (uint64_t)4096)))
            return false;
        pthread_mutex_lock(&s->ext_lock);
        uint8_t *map = s->map;
        uint64_t map_len = s->map_len;
        pthread_mutex_unlock(&s->ext_lock);
        uint64_t a = ALIGN_DOWN(off, (uint64_t)4096);
        if (!map || map_len < MAP_CAL_LEN)
            return true;        /* too small to matter: as before */
        a = MIN(a, ALIGN_DOWN(map_len - MAP_CAL_LEN, (uint64_t)4096));
        pthread_mutex_lock(&map_cal_lock);
        if (!__atomic_load_n(&map_cal_map_ns, __ATOMIC_RELAXED))
            map_calibrate(bs, map, a);
        m = __atomic_load_n(&map_cal_map_ns, __ATOMIC_RELAXED);
        c = __atomic_load_n(&map_cal_copy_ns, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&map_cal_lock);
    }
    return m < c * copies;
}

/* Release the mapping of [off, off+len) that blk_map_read() gave; the
 * memory stays valid (it faults the pages in again if used).  Done by the
 * thread that used the data, so that unmapping the whole file at close
 * does not cost one long serial step at the end. */
void blk_map_release(struct blk *bs, const void *p, uint64_t len)
{
    if (!bs || bs->drv != &blk_drv_file || !p || !len)
        return;
    long pg = sysconf(_SC_PAGESIZE);
    uintptr_t psz = pg > 0 ? (uintptr_t)pg : 4096;
    /* whole pages inside the range only: neighbours may still be in use */
    uintptr_t a = ALIGN_UP((uintptr_t)p, psz);
    uintptr_t e = ALIGN_DOWN((uintptr_t)p + (uintptr_t)len, psz);
    if (e > a)
        madvise((void *)a, e - a, MADV_DONTNEED);
}

/* copy_file_range() works on this kernel between our files (cleared at
 * the first EXDEV, EINVAL, ENOSYS or EOPNOTSUPP: other file systems, old
 * kernels). */
static bool copy_range_off;

int blk_copy_range(struct blk *src, uint64_t soff, struct blk *dst, uint64_t doff,
                   uint64_t len)
{
    /* a raw node is its file, byte for byte */
    if (dst && dst->drv && strcmp(dst->drv->name, "raw") == 0 && dst->file &&
        dst->size == dst->file->size)
        dst = dst->file;
    if (!src || !dst || src->drv != &blk_drv_file || dst->drv != &blk_drv_file ||
        __atomic_load_n(&copy_range_off, __ATOMIC_RELAXED))
        return -ENOTSUP;
    struct file_state *ss = src->opaque, *ds = dst->opaque;
    if (ss->direct || ds->direct || dst->read_only)
        return -ENOTSUP;
    if (len == 0)
        return 0;
    if (soff + len < soff || doff + len < doff || soff + len > (uint64_t)INT64_MAX ||
        doff + len > (uint64_t)INT64_MAX)
        return -EIO;
    if (ds->ext_valid)
        file_ext_invalidate(ds);
    int r = 0;
    if (ds->serial_writes)
        pthread_mutex_lock(&ds->write_lock);
    for (uint64_t done = 0; done < len;) {
        loff_t si = (loff_t)(soff + done), di = (loff_t)(doff + done);
        ssize_t n = copy_file_range(src->fd, &si, dst->fd, &di, (size_t)(len - done), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && done == 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                                   errno == EOPNOTSUPP)) {
            __atomic_store_n(&copy_range_off, true, __ATOMIC_RELAXED);
            r = -ENOTSUP;
            break;
        }
        if (n <= 0) {
            /* 0: the source ends early; a read gives zeros there */
            r = n < 0 ? -errno : -ENOTSUP;
            break;
        }
        done += (uint64_t)n;
    }
    if (ds->serial_writes)
        pthread_mutex_unlock(&ds->write_lock);
    if (r >= 0)
        file_note_end(dst, doff + len);
    return r;
}

/* Reserve disk space for [off, off+len) of a writable regular file without
 * changing its size or content: writes that land there later find their
 * blocks allocated (in long extents) instead of reserving them one block
 * at a time.  Advisory: failures are ignored.  Space past the end of file
 * that no write used is freed on close. */
void blk_file_reserve(struct blk *bs, uint64_t off, uint64_t len)
{
    if (!bs || bs->drv != &blk_drv_file || bs->read_only || !len)
        return;
    struct file_state *s = bs->opaque;
    if (s->is_blockdev || s->no_reserve)
        return;
    if (fallocate(bs->fd, FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0) {
        if (errno == EOPNOTSUPP || errno == ENOSYS)
            s->no_reserve = true;
        return;
    }
    s->reserved = true;
}

/* Make [from, to) of the file real according to PREALLOC. */
static int file_preallocate(int fd, uint64_t from, uint64_t to, enum blk_prealloc prealloc,
                            const char *filename, struct error **errp)
{
    if (to <= from)
        return 0;
    if (prealloc == BLK_PREALLOC_FALLOC) {
        int r = posix_fallocate(fd, (off_t)from, (off_t)(to - from));
        if (r != 0)
            return err_set_errno(errp, r, _("cannot preallocate '%s'"), filename);
    } else if (prealloc == BLK_PREALLOC_FULL) {
        size_t chunk = 1 << 20;
        char *z = calloc(1, chunk);
        if (!z)
            return err_set(errp, ENOMEM, _("out of memory"));
        for (uint64_t o = from; o < to;) {
            size_t n = (size_t)MIN(chunk, to - o);
            ssize_t w = pwrite(fd, z, n, (off_t)o);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                int e = w < 0 ? errno : EIO;
                free(z);
                return err_set_errno(errp, e, _("cannot preallocate '%s'"), filename);
            }
            o += (uint64_t)w;
        }
        free(z);
    }
    return 0;
}

static int file_truncate(struct blk *bs, uint64_t size, bool shrink, enum blk_prealloc prealloc,
                         struct error **errp)
{
    struct file_state *s = bs->opaque;
    uint64_t old = file_cur_size(bs);
    file_ext_invalidate(s);
    if (s->is_blockdev) {
        if (size > old)
            return err_set(errp, EINVAL, _("cannot grow block device '%s'"), bs->filename);
        bs->size = size;
        return 0;
    }
    if (ftruncate(bs->fd, (off_t)size) < 0)
        return err_set_errno(errp, errno, _("cannot resize '%s'"), bs->filename);
    bs->size = size;
    return file_preallocate(bs->fd, old, size, prealloc, bs->filename, errp);
}

static int64_t file_allocated_size(struct blk *bs)
{
    struct stat st;
    if (fstat(bs->fd, &st) < 0)
        return -errno;
    return (int64_t)st.st_blocks * 512;
}

static int file_create(const char *filename, const struct blk_create_opts *o,
                       struct error **errp)
{
    int fd = open(filename, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_set_errno(errp, errno, _("cannot create '%s'"), filename);
    int r = 0;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        if (ftruncate(fd, (off_t)o->size) < 0)
            r = err_set_errno(errp, errno, _("cannot resize '%s'"), filename);
        else
            r = file_preallocate(fd, 0, o->size, o->prealloc, filename, errp);
    }
    if (close(fd) < 0 && r == 0)
        r = err_set_errno(errp, errno, _("cannot write '%s'"), filename);
    return r;
}

static const struct blk_opt_desc file_create_opts[] = {
    { "size", "size", N_("Virtual disk size") },
    { "preallocation", "str", N_("Preallocation mode (allowed values: off, falloc, full)") },
    { NULL, NULL, NULL },
};

const struct block_driver blk_drv_file = {
    .name = "file",
    .state_size = sizeof(struct file_state),
    .protocol = true,
    .thread_safe = true,
    .create_opts = file_create_opts,
    .open = file_open,
    .close = file_close,
    .create = file_create,
    .preadv = file_preadv,
    .pwritev = file_pwritev,
    .pwrite_zeroes = file_pwrite_zeroes,
    .pdiscard = file_pdiscard,
    .flush = file_flush,
    .block_status = file_block_status,
    .truncate = file_truncate,
    .allocated_size = file_allocated_size,
    .map_read = file_map_read,
    .splice_write = file_splice_write,
};
