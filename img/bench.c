/* bench.c - emu-img bench [-c count] [-d depth] [-f fmt] [-n] [-o offset]
 *           [--pattern=p] [-q] [-s buffer_size] [-S step_size] [-t cache]
 *           [-w] [-U] filename
 * Runs COUNT requests of BUFFER_SIZE bytes, DEPTH of them in flight at
 * once through the worker pool, and prints the time taken. */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include "i18n.h"
#include "img.h"
#include "loop.h"
#include "msg.h"
#include "parse.h"
#include "pool.h"

struct bench;

struct bench_slot {
    struct bench *b;
    struct iovec iov;
};

struct bench {
    struct blk *bs;
    bool write;
    uint64_t count, issued, done, offset, start, step, bufsize;
    int error;
    struct loop *loop;
};

static void bench_issue(struct bench_slot *sl);

static void bench_done(void *opaque, int ret)
{
    struct bench_slot *sl = opaque;
    struct bench *b = sl->b;
    if (ret < 0 && !b->error)
        b->error = -ret;
    b->done++;
    if (b->issued < b->count && !b->error)
        bench_issue(sl);
    if (b->done == b->issued)
        loop_quit(b->loop);
}

static void bench_issue(struct bench_slot *sl)
{
    struct bench *b = sl->b;
    uint64_t off = b->offset;
    b->offset += b->step;
    if (b->offset + b->bufsize > b->bs->size)
        b->offset = b->start;
    b->issued++;
    struct error *err = NULL;
    int r = b->write ? blk_aio_pwritev(b->bs, off, b->bufsize, &sl->iov, 1, bench_done, sl, &err)
                     : blk_aio_preadv(b->bs, off, b->bufsize, &sl->iov, 1, bench_done, sl, &err);
    if (r < 0) {
        err_free(err);
        b->issued--;
        if (!b->error)
            b->error = -r;
    }
}

int img_bench(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "flush-interval", required_argument, NULL, 'F' },
        { "no-drain", no_argument, NULL, 'N' },
        { "pattern", required_argument, NULL, 'P' },
        { "force-share", no_argument, NULL, 'U' },
        { "object", required_argument, NULL, 'J' },
        { "image-opts", no_argument, NULL, 'I' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *cache = "writeback";
    uint64_t count = 75000, depth = 64, bufsize = 4096, step = 0, offset = 0, pattern = 0;
    bool write = false, quiet = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":hc:d:f:ni:o:qs:S:t:wU", longopts, NULL)) != -1) {
        int r = 0;
        switch (c) {
        case 'c': r = parse_u64("count", optarg, 1, INT32_MAX, &count, NULL); break;
        case 'd': r = parse_u64("depth", optarg, 1, 4096, &depth, NULL); break;
        case 'f': fmt = optarg; break;
        case 'n': case 'i': case 'U': case 'N': case 'F': break;
        case 'o': r = parse_size(optarg, &offset, NULL); break;
        case 'q': quiet = true; break;
        case 's': r = parse_size(optarg, &bufsize, NULL); break;
        case 'S': r = parse_size(optarg, &step, NULL); break;
        case 't': cache = optarg; break;
        case 'w': write = true; break;
        case 'P': r = parse_u64("pattern", optarg, 0, 255, &pattern, NULL); break;
        case 'h':
            printf("bench [-c count] [-d depth] [-f fmt] [-n] [-o offset] [--pattern=pattern] "
                   "[-q] [-s buffer_size] [-S step_size] [-t cache] [-w] [-U] filename\n");
            return 0;
        case 'I': case 'J':
            msg_error(_("option '%s' is not supported yet"), argv[optind - 1]);
            return IMG_FAIL;
        default:
            msg_error(_("unrecognized option '%s'"), argv[optind - 1]);
            return IMG_FAIL;
        }
        if (r < 0 || bufsize == 0 || bufsize > INT32_MAX) {
            msg_error(_("Invalid value for option '%c': %s"), c, optarg);
            return IMG_FAIL;
        }
    }
    if (optind != argc - 1) {
        msg_error(_("Expecting one image file name"));
        return IMG_FAIL;
    }
    if (!step)
        step = bufsize;
    int flags = (write ? BLK_O_RDWR : 0) |
                (strcmp(cache, "none") == 0 || strcmp(cache, "directsync") == 0 ? BLK_O_DIRECT
                                                                                : 0);
    struct blk *bs = img_open(argv[optind], fmt, flags);
    if (!bs)
        return IMG_FAIL;
    int ret = IMG_FAIL;
    struct bench b = { .bs = bs, .write = write, .count = count, .offset = offset,
                       .start = offset, .step = step, .bufsize = bufsize };
    struct bench_slot *slots = calloc(depth, sizeof(*slots));
    struct error *err = NULL;
    struct pool *pool = NULL;
    if (offset + bufsize > bs->size) {
        msg_error(_("The request lies past the end of the image"));
        goto out;
    }
    b.loop = loop_new(&err);
    if (b.loop)
        pool = pool_new(b.loop, (unsigned)MIN(depth, (uint64_t)64), &err);
    if (!slots || !pool) {
        img_report(err);
        goto out;
    }
    blk_set_pool(bs, pool);
    if (!quiet)
        printf("Sending %" PRIu64 " %s requests, %" PRIu64 " bytes each, %" PRIu64 " in parallel "
               "(starting at offset %" PRIu64 ", step size %" PRIu64 ")\n", count,
               write ? "write" : "read", bufsize, depth, offset, step);
    for (uint64_t i = 0; i < depth; i++) {
        slots[i].b = &b;
        slots[i].iov.iov_len = bufsize;
        slots[i].iov.iov_base = malloc(bufsize);
        if (!slots[i].iov.iov_base)
            goto out_free;
        memset(slots[i].iov.iov_base, (int)pattern, bufsize);
    }
    uint64_t t0 = loop_now_ns();
    for (uint64_t i = 0; i < depth && b.issued < count; i++)
        bench_issue(&slots[i]);
    if (b.issued > b.done)
        loop_run(b.loop, NULL);
    pool_drain(pool, NULL);
    if (write && !b.error && blk_flush(bs) < 0)
        b.error = EIO;
    double secs = (double)(loop_now_ns() - t0) / 1e9;
    if (b.error) {
        msg_error(_("Failed request: %s"), strerror(b.error));
        goto out_free;
    }
    if (!quiet)
        printf("Run completed in %3.3f seconds.\n", secs);
    ret = 0;
out_free:
    for (uint64_t i = 0; i < depth; i++)
        free(slots[i].iov.iov_base);
out:
    if (pool)
        pool_free(pool);
    if (b.loop)
        loop_free(b.loop);
    free(slots);
    blk_close(bs);
    return ret;
}
