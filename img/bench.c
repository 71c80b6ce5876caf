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
#include <pthread.h>

/* Requests are spread over worker threads, each running its share
 * synchronously: DEPTH requests are in flight at once without a hand-off
 * to an event loop per request. */
struct bench {
    struct blk *bs;
    bool write;
    uint64_t count, start, step, bufsize, span;
    uint64_t next;           /* next request number (atomic) */
    int error;
    unsigned pattern;
};

static void *bench_thread(void *op)
{
    struct bench *b = op;
    void *buf = NULL;
    if (posix_memalign(&buf, 4096, b->bufsize) != 0) {
        __atomic_store_n(&b->error, ENOMEM, __ATOMIC_RELAXED);
        return NULL;
    }
    memset(buf, (int)b->pattern, b->bufsize);
    for (;;) {
        uint64_t i = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED);
        if (i >= b->count || __atomic_load_n(&b->error, __ATOMIC_RELAXED))
            break;
        uint64_t off = b->start + (i * b->step) % b->span;
        int r = b->write ? blk_pwrite(b->bs, off, b->bufsize, buf)
                         : blk_pread(b->bs, off, b->bufsize, buf);
        if (r < 0) {
            __atomic_store_n(&b->error, -r, __ATOMIC_RELAXED);
            break;
        }
    }
    free(buf);
    return NULL;
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
    struct bench b = { .bs = bs, .write = write, .count = count, .start = offset,
                       .step = step, .bufsize = bufsize, .pattern = (unsigned)pattern };
    unsigned nthreads = (unsigned)MIN(depth, (uint64_t)16);
    pthread_t *th = calloc(nthreads, sizeof(*th));
    if (!th)
        goto out;
    if (offset + bufsize > bs->size) {
        msg_error(_("The request lies past the end of the image"));
        goto out;
    }
    /* Requests wrap around within the image. */
    b.span = ALIGN_DOWN(bs->size - offset - bufsize, step) + step;
    if (!quiet)
        printf("Sending %" PRIu64 " %s requests, %" PRIu64 " bytes each, %" PRIu64 " in parallel "
               "(starting at offset %" PRIu64 ", step size %" PRIu64 ")\n", count,
               write ? "write" : "read", bufsize, depth, offset, step);
    uint64_t t0 = loop_now_ns();
    unsigned started = 0;
    for (; started < nthreads; started++)
        if (pthread_create(&th[started], NULL, bench_thread, &b) != 0)
            break;
    for (unsigned i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (!started)
        b.error = EAGAIN;
    if (write && !b.error && blk_flush(bs) < 0)
        b.error = EIO;
    double secs = (double)(loop_now_ns() - t0) / 1e9;
    if (b.error) {
        msg_error(_("Failed request: %s"), strerror(b.error));
        goto out;
    }
    if (!quiet)
        printf("Run completed in %3.3f seconds.\n", secs);
    ret = 0;
out:
    free(th);
    blk_close(bs);
    return ret;
}
