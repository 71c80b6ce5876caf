/* test-cbw.c - point-in-time views (lib/block/cbw.c) under concurrent
 * writers and readers.
 *
 * A raw image whose size ends in a partial cluster is written by several
 * threads at once (writes, write-zeroes, discards over random ranges that
 * straddle clusters and reach the end) while other threads read two views
 * of it and compare every byte with the image as it was at each view's
 * moment.  The second view is taken while the writers pause, the first is
 * closed while they run; a qcow2 image over a backing file gets the same,
 * shorter. */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "block/block.h"
#include "block/cbw.h"
#include "unit.h"

#define SIZE (1024 * 1024 + 12 * 1024)
#define WRITERS 4
#define READERS 3

static struct blk *disk;
static struct blk *views[2];
static uint8_t *refs[2];
static pthread_rwlock_t pause_lock = PTHREAD_RWLOCK_INITIALIZER;  /* writers read-lock */
static pthread_mutex_t view_lock = PTHREAD_MUTEX_INITIALIZER;      /* views[] */
static int stop_writers, stop_readers;
static int bad_reads, bad_writes, reads_done, writes_done;

static uint64_t rnd(unsigned *seed, uint64_t n)
{
    uint64_t r = (uint64_t)rand_r(seed) << 31 | (uint64_t)rand_r(seed);
    return r % n;
}

static void *writer(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    uint8_t *buf = malloc(200 * 1024);
    while (!__atomic_load_n(&stop_writers, __ATOMIC_ACQUIRE)) {
        uint64_t off = rnd(&seed, SIZE), len = 1 + rnd(&seed, 200 * 1024);
        if (rnd(&seed, 8) == 0)
            off = SIZE - 1 - rnd(&seed, 4096);  /* the partial last cluster */
        if (off + len > SIZE)
            len = SIZE - off;
        for (uint64_t i = 0; i < len; i++)
            buf[i] = (uint8_t)rand_r(&seed);
        pthread_rwlock_rdlock(&pause_lock);
        int kind = (int)rnd(&seed, 10), r;
        if (kind == 0)
            r = blk_pwrite_zeroes(disk, off, len, 0);
        else if (kind == 1)
            r = blk_pdiscard(disk, off, len);
        else
            r = blk_pwrite(disk, off, len, buf);
        pthread_rwlock_unlock(&pause_lock);
        if (r < 0)
            __atomic_fetch_add(&bad_writes, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&writes_done, 1, __ATOMIC_RELAXED);
    }
    free(buf);
    return NULL;
}

static void *reader(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    uint8_t *buf = malloc(300 * 1024);
    while (!__atomic_load_n(&stop_readers, __ATOMIC_ACQUIRE)) {
        int k = (int)rnd(&seed, 2);
        uint64_t off = rnd(&seed, SIZE), len = 1 + rnd(&seed, 300 * 1024);
        if (off + len > SIZE)
            len = SIZE - off;
        /* views[k] stays open while we hold view_lock for reading it */
        pthread_mutex_lock(&view_lock);
        struct blk *v = views[k];
        int r = v ? blk_pread(v, off, len, buf) : 0;
        bool bad = v && (r < 0 || memcmp(buf, refs[k] + off, len) != 0);
        pthread_mutex_unlock(&view_lock);
        if (bad)
            __atomic_fetch_add(&bad_reads, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&reads_done, 1, __ATOMIC_RELAXED);
    }
    free(buf);
    return NULL;
}

static uint8_t *snapshot(struct blk *bs)
{
    uint8_t *b = malloc(SIZE);
    CHECK(b && blk_pread(bs, 0, SIZE, b) >= 0);
    return b;
}

/* The whole view equals REF, also through block status (holes read as
 * zeros only where REF has zeros). */
static void check_view(struct blk *v, const uint8_t *ref)
{
    uint8_t *b = snapshot(v);
    CHECK(memcmp(b, ref, SIZE) == 0);
    free(b);
    for (uint64_t off = 0; off < SIZE;) {
        uint64_t pnum = 0, map = 0;
        struct blk *file = NULL;
        int depth;
        int st = blk_block_status_above(v, off, SIZE - off, &pnum, &map, &file, &depth);
        CHECK(st >= 0 && pnum > 0 && !(st & BLK_STATUS_OFFSET) && !file);
        if (st < 0 || pnum == 0)
            break;
        if (st & BLK_STATUS_ZERO) {
            uint8_t z = 0;
            for (uint64_t i = 0; i < pnum; i++)
                z |= ref[off + i];
            CHECK(z == 0);
        }
        off += pnum;
    }
}

static void run_on(struct blk *bs)
{
    struct error *err = NULL;
    disk = bs;
    stop_writers = stop_readers = 0;
    refs[0] = snapshot(bs);
    CHECK(cbw_open(&views[0], bs, "view1", &err) == 0);
    views[1] = NULL;
    pthread_t w[WRITERS], r[READERS];
    for (int i = 0; i < WRITERS; i++)
        pthread_create(&w[i], NULL, writer, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < READERS; i++)
        pthread_create(&r[i], NULL, reader, (void *)(uintptr_t)(i + 100));
    usleep(300 * 1000);
    /* the second moment, with the writers held */
    pthread_rwlock_wrlock(&pause_lock);
    uint8_t *ref1 = snapshot(bs);
    struct blk *v1 = NULL;
    CHECK(cbw_open(&v1, bs, "view2", &err) == 0);
    pthread_mutex_lock(&view_lock);
    refs[1] = ref1;
    views[1] = v1;
    pthread_mutex_unlock(&view_lock);
    pthread_rwlock_unlock(&pause_lock);
    usleep(300 * 1000);
    /* the first view goes while the writers run */
    pthread_mutex_lock(&view_lock);
    check_view(views[0], refs[0]);
    struct cbw_stats st;
    cbw_get_stats(views[0], &st);
    CHECK(st.err == 0 && st.preserved > 0);
    blk_close(views[0]);
    views[0] = NULL;
    pthread_mutex_unlock(&view_lock);
    usleep(200 * 1000);
    __atomic_store_n(&stop_writers, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(w[i], NULL);
    __atomic_store_n(&stop_readers, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < READERS; i++)
        pthread_join(r[i], NULL);
    check_view(views[1], refs[1]);
    uint8_t *now = snapshot(bs);
    CHECK(memcmp(now, refs[1], SIZE) != 0);     /* the writers did write */
    free(now);
    blk_close(views[1]);
    views[1] = NULL;
    free(refs[0]);
    free(refs[1]);
    CHECK(bad_reads == 0);
    CHECK(bad_writes == 0);
    CHECK(reads_done > 100 && writes_done > 100);
    fprintf(stderr, "%s: %d reads, %d writes, %d bad reads\n", bs->drv->name, reads_done,
            writes_done, bad_reads);
    bad_reads = bad_writes = reads_done = writes_done = 0;
}

static void fill(struct blk *bs, unsigned seed)
{
    uint8_t *b = malloc(SIZE);
    for (size_t i = 0; i < SIZE; i++)
        b[i] = (uint8_t)rand_r(&seed);
    memset(b + 65536, 0, 3 * 65536);    /* zeros the views may report as such */
    CHECK(blk_pwrite(bs, 0, SIZE, b) >= 0);
    free(b);
}

int main(void)
{
    char dir[] = "/tmp/test-cbw-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    setenv("TMPDIR", dir, 1);   /* the views' stores go here too */
    char raw[64], base[64], top[64];
    snprintf(raw, sizeof(raw), "%s/raw.img", dir);
    snprintf(base, sizeof(base), "%s/base.img", dir);
    snprintf(top, sizeof(top), "%s/top.qcow2", dir);
    struct error *err = NULL;
    struct blk_create_opts o = { .size = SIZE, .has_size = true };
    struct blk *bs = NULL;

    CHECK(blk_create("raw", raw, &o, &err) == 0);
    CHECK(blk_open(&bs, raw, "raw", BLK_O_RDWR, &err) == 0);
    if (bs) {
        fill(bs, 7);
        run_on(bs);
        blk_close(bs);
    }

    CHECK(blk_create("raw", base, &o, &err) == 0);
    CHECK(blk_open(&bs, base, "raw", BLK_O_RDWR, &err) == 0);
    if (bs) {
        fill(bs, 9);
        blk_close(bs);
    }
    struct blk_create_opts q = { .size = SIZE, .has_size = true, .backing_file = base,
                                 .backing_fmt = "raw" };
    CHECK(blk_create("qcow2", top, &q, &err) == 0);
    CHECK(blk_open(&bs, top, "qcow2", BLK_O_RDWR, &err) == 0);
    if (bs) {
        run_on(bs);
        blk_close(bs);
    }
    /* a view is a read-only node */
    CHECK(blk_open(&bs, raw, "raw", BLK_O_RDWR, &err) == 0);
    if (bs) {
        struct blk *v = NULL;
        CHECK(cbw_open(&v, bs, "ro", &err) == 0);
        uint8_t x = 1;
        CHECK(v && blk_pwrite(v, 0, 1, &x) == -EROFS);
        CHECK(v && blk_pread(v, SIZE - 1, 2, &x) == -EIO);
        blk_close(v);
        blk_close(bs);
    }
    if (err)
        fprintf(stderr, "%s\n", err_msg(err));
    unlink(raw);
    unlink(base);
    unlink(top);
    CHECK(rmdir(dir) == 0);     /* the stores were unlinked at once */
    return unit_result();
}
