/* convert.c - emu-img convert: copy one or more images into a new one.
 *
 *   convert [-c] [-p] [-q] [-n] [-f fmt] [-t cache] [-T src_cache]
 *           [-O output_fmt] [-B backing_file [-F backing_fmt]] [-o options]
 *           [-S sparse_size] [-m num] [-W] [--target-is-zero]
 *           filename [filename2 [...]] output_filename
 *
 * The source is walked by block status: holes and zeros are never read,
 * and are skipped entirely when the target starts out zeroed.  Data is
 * copied in chunks of up to 2 MiB (one cluster when compressing) by up to
 * -m jobs in the worker pool at once: reads and zero detection run in
 * parallel (compression too with -W); writes are issued in order unless -W, one
 * at a time (buffered writes to one file serialise on the inode lock in
 * the kernel anyway; concurrent ones only spin on it, measured slower), by
 * whichever thread holds the next chunk, which goes on with the chunks
 * prepared meanwhile.
 * Data stored flat in a plain source file is read into reused, page-aligned
 * buffers, or scanned and written straight from a read-only mapping where
 * mapping costs less than the copy on this machine (blk_map_pays). */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>
#include "i18n.h"
#include "img.h"
#include "loop.h"
#include "msg.h"
#include "parse.h"
#include "pool.h"

#define CONVERT_CHUNK (2u << 20)
#define CONVERT_MAX_SPARSE (16u << 20)   /* largest -S, as qemu-img */
#define CONVERT_RING 32    /* > the most jobs in flight (-m 16) */

/* The cache modes -t and -T accept. */
static bool convert_cache_valid(const char *mode)
{
    static const char *const modes[] = { "none", "writeback", "unsafe", "directsync",
                                         "writethrough" };
    for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
        if (strcmp(mode, modes[i]) == 0)
            return true;
    return false;
}

enum item_kind { ITEM_DATA, ITEM_ZERO, ITEM_BACKING };

struct convert {
    struct blk **src;
    int nsrc;
    uint64_t *src_start;      /* target offset where each source begins */
    struct blk *dst;
    uint64_t total;
    bool compress, zero_init, ordered, progress, target_backing;
    bool copy_range;          /* flat data goes file to file: blk_copy_range */
    uint64_t min_sparse;
    uint64_t chunk;
    unsigned max_jobs, running;
    uint64_t next_off;        /* next target offset to schedule */
    int cur_src;
    uint64_t seq_next, seq_write;
    struct job *ready[CONVERT_RING]; /* prepared jobs by seq, waiting for the writer */
    bool writing;             /* a thread is writing prepared jobs in order */
    struct job *finished;     /* written after their work returned: for the loop */
    struct loop_bh *finish_bh;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int error;
    uint64_t error_off;
    bool error_write;
    uint64_t done_bytes;
    struct loop *loop;
    struct pool *pool;
    /* Chunk buffers kept for reuse: new memory costs a page fault per
     * page (in a VM, a fault in the host too).  Under lock: workers take
     * them for data a mapping did not give. */
    uint8_t *free_bufs[CONVERT_RING + 1];
    int nfree;
};

struct job {
    struct convert *cv;
    enum item_kind kind;
    struct blk *src;
    uint64_t src_off, dst_off, len;
    uint64_t seq;
    uint8_t *buf;
    struct blk *mfile;     /* data mapped from this file at moff, if it can be */
    uint64_t moff;
    bool copy;             /* copied from mfile at moff by blk_copy_range */
    const uint8_t *data;   /* the bytes to write: buf or the mapping */
    bool write_failed;     /* the error came from the target */
    int prep_ret;          /* result of reading the data */
    int write_ret;         /* result of writing it */
    bool written;          /* the writer is done with this job */
    bool returned;         /* its work function has returned */
    struct job *next;      /* in cv->finished */
    /* Data split into alternating data and zero runs (-S), found while
     * preparing so that the writer only writes. */
    uint32_t *runs;        /* run lengths */
    int nruns;
    bool zero_first;       /* the first run is zeros */
};

/* A chunk buffer, reused if one is free: page-aligned, so that the
 * kernel's copies into and out of it run on whole pages. */
static uint8_t *convert_buf_get(struct convert *cv)
{
    void *p = NULL;
    pthread_mutex_lock(&cv->lock);
    if (cv->nfree)
        p = cv->free_bufs[--cv->nfree];
    pthread_mutex_unlock(&cv->lock);
    if (!p && posix_memalign(&p, 4096, (size_t)cv->chunk) != 0)
        return NULL;
    return p;
}

static void convert_buf_put(struct convert *cv, uint8_t *buf)
{
    if (!buf)
        return;
    pthread_mutex_lock(&cv->lock);
    if (cv->nfree < (int)ARRAY_SIZE(cv->free_bufs)) {
        cv->free_bufs[cv->nfree++] = buf;
        buf = NULL;
    }
    pthread_mutex_unlock(&cv->lock);
    free(buf);
}

/* Length of the run at BUF that is all zero (ZERO true) or not. */
static uint64_t run_len(const uint8_t *buf, uint64_t len, uint64_t gran, bool *zero)
{
    uint64_t n = MIN(gran, len);
    *zero = buf_is_zero(buf, n);
    while (n < len) {
        uint64_t k = MIN(gran, len - n);
        /* Data granules are told apart by their first bytes: fetch a few
         * granules ahead so that those cache misses overlap. */
        if (n + 16 * gran < len)
            __builtin_prefetch(buf + n + 16 * gran);
        if (buf_is_zero(buf + n, k) != *zero)
            break;
        n += k;
    }
    return n;
}

/* Split the data of J into runs of zeros and data (granule -S). */
static int job_scan(struct job *j)
{
    struct convert *cv = j->cv;
    if (cv->compress || !cv->min_sparse)
        return 0;
    uint64_t max = j->len / cv->min_sparse + 2;
    j->runs = malloc(sizeof(*j->runs) * (size_t)MIN(max, (uint64_t)64));
    if (!j->runs)
        return -ENOMEM;
    uint64_t cap = MIN(max, (uint64_t)64);
    for (uint64_t o = 0; o < j->len;) {
        bool zero;
        uint64_t n = run_len(j->data + o, j->len - o, cv->min_sparse, &zero);
        if (j->nruns == 0)
            j->zero_first = zero;
        if ((uint64_t)j->nruns == cap) {
            cap = MIN(cap * 4, max);
            uint32_t *nr = realloc(j->runs, sizeof(*nr) * (size_t)cap);
            if (!nr)
                return -ENOMEM;
            j->runs = nr;
        }
        j->runs[j->nruns++] = (uint32_t)n;
        o += n;
    }
    return 0;
}

static int job_write_data(struct job *j, int *is_write)
{
    struct convert *cv = j->cv;
    int r = 0;
    *is_write = 1;
    if (j->copy) {
        r = blk_copy_range(j->mfile, j->moff, cv->dst, j->dst_off, j->len);
        if (r != -ENOTSUP)
            return r;
        /* not here: read and write it */
        if (!j->buf && !(j->buf = convert_buf_get(cv)))
            return -ENOMEM;
        *is_write = 0;
        r = blk_pread(j->src, j->src_off, j->len, j->buf);
        if (r < 0)
            return r;
        *is_write = 1;
        j->data = j->buf;
        return blk_pwrite(cv->dst, j->dst_off, j->len, j->data);
    }
    if (cv->compress) {
        if (cv->zero_init && buf_is_zero(j->data, j->len))
            return 0;
        return blk_pwrite_compressed(cv->dst, j->dst_off, j->len, j->data);
    }
    if (!cv->min_sparse)
        return blk_pwrite(cv->dst, j->dst_off, j->len, j->data);
    bool zero = j->zero_first;
    uint64_t o = 0;
    for (int i = 0; i < j->nruns && r >= 0; i++, zero = !zero) {
        uint64_t n = j->runs[i];
        if (!zero)
            r = blk_pwrite(cv->dst, j->dst_off + o, n, j->data + o);
        else if (!cv->zero_init)
            r = blk_pwrite_zeroes(cv->dst, j->dst_off + o, n, BLK_ZERO_MAY_UNMAP);
        o += n;
    }
    return r;
}

/* Write J's data (or zeros) to the target. */
static int job_write(struct job *j)
{
    struct convert *cv = j->cv;
    int r = 0, is_write = 0;
    if (j->kind == ITEM_DATA)
        r = job_write_data(j, &is_write);
    else if (j->kind == ITEM_ZERO && !cv->zero_init) {
        is_write = 1;
        r = blk_pwrite_zeroes(cv->dst, j->dst_off, j->len, cv->min_sparse ? BLK_ZERO_MAY_UNMAP : 0);
    }
    j->write_failed = r < 0 && is_write;
    return r;
}

/* Writes in order: the thread whose job is next writes it and then every
 * following job that is already prepared, so that the target sees one
 * writer going on without a hand-over (a wake-up of another thread) per
 * chunk.  The other threads do not wait for their job to be written: they
 * go on preparing the next ones; a job is finished (job_done) once it is
 * both written and returned from the pool. */
static void job_write_ordered(struct job *j)
{
    struct convert *cv = j->cv;
    pthread_mutex_lock(&cv->lock);
    cv->ready[j->seq % CONVERT_RING] = j;
    if (cv->writing || cv->seq_write != j->seq) {
        pthread_mutex_unlock(&cv->lock);
        return;
    }
    cv->writing = true;
    bool wake = false;
    struct job *w;
    while ((w = cv->ready[cv->seq_write % CONVERT_RING]) && w->seq == cv->seq_write) {
        cv->ready[cv->seq_write % CONVERT_RING] = NULL;
        pthread_mutex_unlock(&cv->lock);
        w->write_ret = w->prep_ret < 0 ? w->prep_ret : job_write(w);
        pthread_mutex_lock(&cv->lock);
        w->written = true;
        cv->seq_write++;
        if (w->returned) {
            /* its pool completion has run already: the loop finishes it */
            w->next = cv->finished;
            cv->finished = w;
            wake = true;
        }
    }
    cv->writing = false;
    pthread_mutex_unlock(&cv->lock);
    if (wake)
        loop_bh_schedule(cv->finish_bh);
}

static int job_work(void *op)
{
    struct job *j = op;
    struct convert *cv = j->cv;
    int r = 0;
    if (j->kind == ITEM_DATA && !j->copy) {
        /* Data stored flat in a plain file is used where the page cache
         * holds it: no copy into a buffer of ours. */
        j->data = j->mfile ? blk_map_read(j->mfile, j->moff, j->len) : NULL;
        if (!j->data) {
            if (!j->buf)
                j->buf = convert_buf_get(cv);
            /* flat data: one read of the file, not one per cluster */
            r = !j->buf ? -ENOMEM
                : j->mfile ? blk_pread(j->mfile, j->moff, j->len, j->buf)
                : blk_pread(j->src, j->src_off, j->len, j->buf);
            j->data = j->buf;
        }
        if (r >= 0)
            r = job_scan(j);
    }
    j->prep_ret = r;
    if (cv->ordered) {
        job_write_ordered(j);
    } else {
        j->write_ret = r < 0 ? r : job_write(j);
        j->written = true;
    }
    return 0;
}

static void schedule(struct convert *cv);


/* Worker threads: enough to overlap reads, compression and writes on
 * every CPU, but no more than the requests in flight.  More threads than
 * CPUs only add scheduling (page-cache copies are CPU-bound). */
static unsigned convert_threads(unsigned jobs)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = cpus > 0 ? (unsigned)cpus + 1 : 4;
    return MIN(jobs, n);
}

/* A job is written and out of the pool: account for it, schedule more. */
static void job_finish(struct job *j)
{
    struct convert *cv = j->cv;
    int ret = j->write_ret;
    cv->running--;
    if (ret < 0 && !cv->error) {
        cv->error_write = j->write_failed;
        cv->error = -ret;
        cv->error_off = j->dst_off;
    }
    cv->done_bytes += j->len;
    /* here, not in the writer: the next write need not wait for it */
    if (j->kind == ITEM_DATA && j->data && j->data != j->buf)
        blk_map_release(j->mfile, j->data, j->len);
    convert_buf_put(cv, j->buf);
    free(j->runs);
    free(j);
    if (cv->total)
        img_progress(cv->progress, (double)cv->done_bytes * 100.0 / (double)cv->total);
    schedule(cv);
    if (!cv->running)
        loop_quit(cv->loop);
}

static void job_done(void *op, int ret)
{
    struct job *j = op;
    struct convert *cv = j->cv;
    pthread_mutex_lock(&cv->lock);
    j->returned = true;
    bool written = j->written;
    pthread_mutex_unlock(&cv->lock);
    if (written)
        job_finish(j);
}

/* Jobs the writer wrote after they had returned from the pool. */
static void finish_written(void *opaque)
{
    struct convert *cv = opaque;
    for (;;) {
        pthread_mutex_lock(&cv->lock);
        struct job *j = cv->finished;
        if (j)
            cv->finished = j->next;
        pthread_mutex_unlock(&cv->lock);
        if (!j)
            break;
        job_finish(j);
    }
}

/* Classify the next stretch at cv->next_off and make a job of it. */
static int next_item(struct convert *cv, struct job **out)
{
    *out = NULL;
    while (cv->cur_src < cv->nsrc &&
           cv->next_off >= cv->src_start[cv->cur_src] + cv->src[cv->cur_src]->size)
        cv->cur_src++;
    if (cv->cur_src >= cv->nsrc)
        return 0;
    struct blk *src = cv->src[cv->cur_src];
    uint64_t soff = cv->next_off - cv->src_start[cv->cur_src];
    uint64_t left = src->size - soff;
    uint64_t pnum, map;
    struct blk *file = NULL;
    int depth;
    int st;
    if (cv->target_backing) {
        /* Only what the top image itself holds; the rest comes from the
         * target's backing file. */
        st = blk_block_status(src, soff, left, &pnum, &map, &file);
        if (st >= 0 && !(st & BLK_STATUS_ALLOCATED))
            st = -1000;
    } else {
        st = blk_block_status_above(src, soff, left, &pnum, &map, &file, &depth);
    }
    if (st < 0 && st != -1000)
        return st;
    struct job *j = calloc(1, sizeof(*j));
    if (!j)
        return -ENOMEM;
    j->cv = cv;
    j->src = src;
    j->src_off = soff;
    j->dst_off = cv->next_off;
    if (st == -1000) {
        j->kind = ITEM_BACKING;
        j->len = pnum;
    } else if (st & BLK_STATUS_ZERO) {
        j->kind = ITEM_ZERO;
        j->len = pnum;
    } else {
        j->kind = ITEM_DATA;
        /* Keep chunks aligned to the chunk size (cluster-aligned). */
        uint64_t lim = cv->chunk - (j->dst_off % cv->chunk);
        j->len = MIN(pnum, lim);
        /* Flat data: copied file to file where the target wants no zero
         * detection; else mapped where that costs less than a read into
         * a buffer on this machine (measured once: blk_map_pays). */
        if ((st & BLK_STATUS_OFFSET) && !(st & BLK_STATUS_COMPRESSED) && file &&
            !cv->compress) {
            j->copy = cv->copy_range;
            if (j->copy || blk_map_pays(file, map, j->len, 1)) {
                j->mfile = file;
                j->moff = map;
            }
        }
    }
    if (cv->compress && j->kind != ITEM_BACKING) {
        /* Compressed clusters are written whole: next_off stays aligned. */
        uint64_t lim = cv->chunk - (j->dst_off % cv->chunk);
        uint64_t whole = ALIGN_DOWN(j->len, cv->chunk);
        if (j->kind == ITEM_ZERO && cv->zero_init && j->len >= lim) {
            j->len = lim + ALIGN_DOWN(j->len - lim, cv->chunk);
            if (j->dst_off + j->len > cv->total || whole == 0)
                j->len = MIN(j->len, left);
        } else {
            j->kind = ITEM_DATA;
            j->len = MIN(lim, left);
        }
    }
    if (j->kind == ITEM_DATA && !j->mfile) {
        j->buf = convert_buf_get(cv);
        if (!j->buf) {
            free(j);
            return -ENOMEM;
        }
    }
    cv->next_off += j->len;
    *out = j;
    return 1;
}

static void schedule(struct convert *cv)
{
    while (!cv->error && cv->running < cv->max_jobs) {
        struct job *j;
        int r = next_item(cv, &j);
        if (r < 0) {
            cv->error = -r;
            cv->error_off = cv->next_off;
            break;
        }
        if (r == 0)
            break;
        if (j->kind == ITEM_BACKING || (j->kind == ITEM_ZERO && cv->zero_init)) {
            cv->done_bytes += j->len;
            free(j);
            continue;
        }
        j->seq = cv->seq_next++;
        cv->running++;
        struct error *err = NULL;
        if (pool_submit(cv->pool, job_work, job_done, j, &err) < 0) {
            cv->running--;
            cv->seq_next--;   /* nobody else took a later one: the loop schedules */
            cv->error = err_code(err) ? err_code(err) : ENOMEM;
            err_free(err);
            free(j->buf);
            free(j);
            break;
        }
    }
}

int img_convert(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "target-is-zero", no_argument, NULL, 'Z' },
        { "object", required_argument, NULL, 'J' },
        { "image-opts", no_argument, NULL, 'I' },
        { "target-image-opts", no_argument, NULL, 'K' },
        { "salvage", no_argument, NULL, 'X' },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *out_fmt = "raw", *backing = NULL, *backing_fmt = NULL;
    const char *cache = "unsafe", *src_cache = "writeback", *snapshot = NULL;
    char *opts = NULL;
    bool compress = false, progress = false, quiet = false, skip_create = false;
    bool ooo = false, target_is_zero = false, copy_offload = false, explicit_sparse = false;
    uint64_t min_sparse = 4096;
    unsigned jobs = 8;
    int c, ret = IMG_FAIL;
    struct convert cv;
    memset(&cv, 0, sizeof(cv));
    char **strings = NULL, **set = NULL;
    struct error *err = NULL;

    optind = 1;
    while ((c = getopt_long(argc, argv, ":hf:O:B:F:Cco:l:S:pt:T:qnm:WUr:", longopts,
                            NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'O': out_fmt = optarg; break;
        case 'B': backing = optarg; break;
        case 'F': backing_fmt = optarg; break;
        case 'C': copy_offload = true; break;
        case 'c': compress = true; break;
        case 'o': opts = img_opts_append(opts, optarg); break;
        case 'l': snapshot = optarg; break;
        case 'S': {
            uint64_t v;
            if (parse_size(optarg, &v, NULL) < 0) {
                msg_error(_("Invalid buffer size for sparse output specified. You may use "
                            "k, M, G, T, P or E suffixes for kilobytes, megabytes, "
                            "gigabytes, terabytes, petabytes and exabytes."));
                goto out;
            }
            if (v % 512 || v > CONVERT_MAX_SPARSE) {
                msg_error(_("Invalid buffer size for sparse output specified. Valid sizes "
                            "are multiples of %u up to %u. Select 0 to disable sparse "
                            "detection (fully allocates output)."), 512u, CONVERT_MAX_SPARSE);
                goto out;
            }
            min_sparse = v;
            explicit_sparse = true;
            break;
        }
        case 'p': progress = true; break;
        case 't': cache = optarg; break;
        case 'T': src_cache = optarg; break;
        case 'q': quiet = true; break;
        case 'n': skip_create = true; break;
        case 'm': {
            uint64_t v;
            if (parse_u64("-m", optarg, 1, 16, &v, NULL) < 0) {
                msg_error(_("Invalid number of coroutines. Allowed number of coroutines is "
                            "between 1 and %d"), 16);
                goto out;
            }
            jobs = (unsigned)v;
            break;
        }
        case 'W': ooo = true; break;
        case 'U': case 'r': break;
        case 'Z': target_is_zero = true; break;
        case 'h':
            printf("convert [-c] [-p] [-q] [-n] [-f fmt] [-t cache] [-T src_cache] "
                   "[-O output_fmt] [-B backing_file [-F backing_fmt]] [-o options] "
                   "[-S sparse_size] [-m num_coroutines] [-W] [--target-is-zero] "
                   "filename [filename2 [...]] output_filename\n");
            free(opts);
            return 0;
        case 'X': case 'I': case 'J': case 'K':
            msg_error(_("option '%s' is not supported yet"), argv[optind - 1]);
            goto out;
        case ':':
            msg_error(_("option '%s' needs an argument"), argv[optind - 1]);
            goto out;
        default:
            msg_error(_("unrecognized option '%s'"), argv[optind - 1]);
            goto out;
        }
    }
    if (quiet)
        progress = false;
    if (!convert_cache_valid(cache)) {
        msg_error(_("Invalid cache option: %s"), cache);
        goto out;
    }
    if (!convert_cache_valid(src_cache)) {
        msg_error(_("Invalid source cache option: %s"), src_cache);
        goto out;
    }
    const struct block_driver *odrv = img_format_driver(out_fmt);
    if (!odrv)
        goto out;
    struct blk_create_opts o;
    memset(&o, 0, sizeof(o));
    if (skip_create && opts) {
        msg_error(_("-o has no effect when skipping image creation"));
        goto out;
    }
    /* -o help works without file names */
    int r = img_opts_parse(odrv, opts, &o, &set, &strings, &err);
    if (r < 0) {
        img_report(err);
        goto out;
    }
    if (r == 1) {
        ret = 0;
        goto out;
    }
    if (argc - optind < 2) {
        msg_error(_("Must specify image file name"));
        goto out;
    }
    if (copy_offload && compress) {
        msg_error(_("Cannot enable copy offloading when -c is used"));
        goto out;
    }
    if (copy_offload && explicit_sparse) {
        msg_error(_("Cannot enable copy offloading when -S is used"));
        goto out;
    }
    if (target_is_zero && !skip_create) {
        msg_error(_("--target-is-zero requires use of -n flag"));
        goto out;
    }
    if (target_is_zero && backing) {
        msg_error(_("Cannot use --target-is-zero when the destination image has a backing "
                    "file"));
        goto out;
    }
    if (compress && !odrv->pwrite_compressed) {
        msg_error(_("Compression not supported for this file format"));
        goto out;
    }
    if (backing)
        o.backing_file = backing;
    if (backing_fmt)
        o.backing_fmt = backing_fmt;

    int sflags = strcmp(src_cache, "none") == 0 || strcmp(src_cache, "directsync") == 0
                 ? BLK_O_DIRECT : 0;
    cv.nsrc = argc - optind - 1;
    cv.src = calloc((size_t)cv.nsrc, sizeof(*cv.src));
    cv.src_start = calloc((size_t)cv.nsrc, sizeof(*cv.src_start));
    if (!cv.src || !cv.src_start)
        goto out;
    for (int i = 0; i < cv.nsrc; i++) {
        cv.src[i] = img_open(argv[optind + i], fmt, sflags);
        if (!cv.src[i])
            goto out;
        if (snapshot) {
            /* "snapshot.id=X,snapshot.name=Y", or a bare name/id */
            char *id = NULL, *name = NULL, *copy = strdup(snapshot);
            for (char *tok = copy ? strtok(copy, ",") : NULL; tok; tok = strtok(NULL, ",")) {
                if (strncmp(tok, "snapshot.id=", 12) == 0)
                    id = tok + 12;
                else if (strncmp(tok, "snapshot.name=", 14) == 0)
                    name = tok + 14;
                else
                    name = tok;
            }
            struct error *e = NULL;
            int lr = cv.src[i]->drv->snapshot_load
                     ? cv.src[i]->drv->snapshot_load(cv.src[i], id, name, &e) : -ENOTSUP;
            if (lr == -ENOENT && name && !id && cv.src[i]->drv->snapshot_load) {
                /* a bare word may be an ID too */
                err_free(e);
                e = NULL;
                lr = cv.src[i]->drv->snapshot_load(cv.src[i], name, NULL, &e);
            }
            free(copy);
            if (lr < 0) {
                msg_error(_("Failed to load snapshot: %s"),
                          e ? err_msg(e) : _("the format has no snapshots"));
                err_free(e);
                goto out;
            }
        }
        cv.src_start[i] = cv.total;
        cv.total += cv.src[i]->size;
    }
    const char *target = argv[argc - 1];
    if (!skip_create) {
        if (o.backing_file && !o.backing_fmt) {
            msg_error(_("Use of backing file requires explicit backing format"));
            goto out;
        }
        if (!o.has_size)
            o.size = cv.total;
        if (blk_create(out_fmt, target, &o, &err) < 0) {
            msg_error(_("%s: error while converting %s: %s"), target, out_fmt, err_msg(err));
            err_free(err);
            goto out;
        }
    }
    int dflags = BLK_O_RDWR;  /* with backing: partial writes copy from it */
    if (strcmp(cache, "none") == 0 || strcmp(cache, "directsync") == 0)
        dflags |= BLK_O_DIRECT;
    if (strcmp(cache, "unsafe") == 0)
        dflags |= BLK_O_NO_FLUSH;   /* the formats' own flushes too (vmdk's table batches) */
    cv.dst = img_open(target, out_fmt, dflags);
    if (!cv.dst)
        goto out;
    if (cv.dst->size < cv.total) {
        msg_error(_("Target image size is smaller than the source (%" PRIu64 " < %" PRIu64 ")"),
                  cv.dst->size, cv.total);
        goto out;
    }
    /* With -n, -B says that the existing target has a backing file that
     * already holds what the source's backing chain holds. */
    cv.target_backing = o.backing_file != NULL;
    /* -S 0 asks for a fully allocated target: zeros are written too. */
    cv.zero_init = min_sparse && (skip_create ? target_is_zero : !cv.target_backing);
    cv.compress = compress;
    cv.ordered = !ooo;
    cv.progress = progress;
    cv.min_sparse = min_sparse;
    /* In-kernel copies where zeros in data need not be found: -C asks for
     * them (as qemu-img's), -S 0 and a preallocated target allocate
     * everything anyway.  blk_copy_range says where it cannot. */
    cv.copy_range = !compress && strcmp(cv.dst->drv->name, "raw") == 0 &&
                    (copy_offload || !min_sparse ||
                     (!skip_create && (o.prealloc == BLK_PREALLOC_FALLOC ||
                                       o.prealloc == BLK_PREALLOC_FULL)));
    cv.max_jobs = jobs;
    cv.chunk = CONVERT_CHUNK;
    if (compress) {
        uint64_t cs = blk_cluster_size(cv.dst);
        cv.chunk = cs ? cs : 65536;
        cv.min_sparse = 0;
    }
    pthread_mutex_init(&cv.lock, NULL);
    pthread_cond_init(&cv.cond, NULL);
    cv.loop = loop_new(&err);
    if (cv.loop)
        cv.finish_bh = loop_bh_new(cv.loop, finish_written, &cv, &err);
    if (cv.finish_bh)
        cv.pool = pool_new(cv.loop, convert_threads(jobs), &err);
    if (!cv.pool) {
        img_report(err);
        goto out_sync;
    }
    img_progress(progress, 0.0);
    schedule(&cv);
    if (cv.running)
        loop_run(cv.loop, NULL);
    pool_drain(cv.pool, NULL);
    if (!cv.error) {
        /* with cache=unsafe this only writes out what formats keep in
         * memory (and reports its errors): no file is synced */
        int fr = blk_flush(cv.dst);
        if (fr < 0) {
            cv.error = -fr;
            cv.error_write = true;
        }
    }
    if (cv.error) {
        msg_error(_("error while %s at byte %" PRIu64 ": %s"),
                  cv.error_write ? _("writing") : _("reading"), cv.error_off,
                  strerror(cv.error));
        goto out_sync;
    }
    img_progress_end(progress);
    ret = 0;
out_sync:
    if (cv.pool)
        pool_free(cv.pool);
    if (cv.finish_bh)
        loop_bh_free(cv.finish_bh);
    if (cv.loop)
        loop_free(cv.loop);
    pthread_mutex_destroy(&cv.lock);
    pthread_cond_destroy(&cv.cond);
out:
    while (cv.nfree)
        free(cv.free_bufs[--cv.nfree]);
    if (cv.dst)
        blk_close(cv.dst);
    for (int i = 0; cv.src && i < cv.nsrc; i++)
        blk_close(cv.src[i]);
    free(cv.src);
    free(cv.src_start);
    img_opts_free(strings);
    img_opts_free(set);
    free(opts);
    return ret;
}
