/* test-block.c - block layer unit tests: iovec helpers, path handling,
 * refcount entry packing, the core's range checks, asynchronous requests
 * through the pool, and a randomized model test of the qcow2 driver
 * (writes, zero writes, discards, snapshots, against an in-memory copy,
 * with a consistency check after each phase). */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "block/block.h"
#include "block/qcow2.h"
#include "loop.h"
#include "pool.h"
#include "unit.h"

static char dir[] = "/tmp/emu-test-block.XXXXXX";

static void test_iov(void)
{
    char a[5] = "abcde", b[3] = "fgh", out[8];
    struct iovec iov[2] = { { a, 5 }, { b, 3 } };
    CHECK_U64(iov_size(iov, 2), 8);
    CHECK_U64(iov_to_buf(iov, 2, 3, out, 4), 4);
    CHECK(memcmp(out, "defg", 4) == 0);
    CHECK_U64(iov_from_buf(iov, 2, 4, "XYZ", 3), 3);
    CHECK(memcmp(a, "abcdX", 5) == 0 && memcmp(b, "YZh", 3) == 0);
    iov_memset(iov, 2, 1, '-', 6);
    CHECK(memcmp(a, "a----", 5) == 0 && memcmp(b, "--h", 3) == 0);
    struct iovec s[2];
    CHECK(iov_slice(iov, 2, 4, 3, s, 2) == 2);
    CHECK(s[0].iov_len == 1 && s[1].iov_len == 2 && s[1].iov_base == b);
    CHECK(iov_slice(iov, 2, 0, 8, s, 1) == -1);
}

/* buf_is_zero's variants: every alignment (mod 64) and length 0..4096,
 * all zero and with one non-zero byte; the bytes around the range are
 * non-zero, so a read outside it shows.  The non-zero byte goes to every
 * position for lengths up to 256 and the longest 16 lengths, and within
 * 96 bytes of either end for the others (the variants' heads, alignment
 * and overlapping tails; their middle is one loop, covered by the long
 * lengths): every position everywhere took 30 s per variant. */
static void test_zero_variant(const char *name, bool (*fn)(const void *, size_t))
{
    enum { MAXLEN = 4096, ALIGNS = 64, EDGE = 96 };
    static uint8_t raw[MAXLEN + 3 * ALIGNS] __attribute__((aligned(64)));
    long bad = 0;
    memset(raw, 0xa5, sizeof(raw));
    for (int a = 0; a < ALIGNS; a++) {
        uint8_t *p = raw + ALIGNS + a;
        for (size_t len = 0; len <= MAXLEN; len++) {
            memset(p, 0, len);
            if (!fn(p, len) && bad++ < 5)
                fprintf(stderr, "%s: align %d len %zu: zeros not seen\n", name, a, len);
            bool every = len <= 256 || len > MAXLEN - 16;
            for (size_t i = 0; i < len; i++) {
                if (!every && i == EDGE && len - EDGE > i)
                    i = len - EDGE;
                p[i] = (uint8_t)(1 << (i & 7));
                if (fn(p, len) && bad++ < 5)
                    fprintf(stderr, "%s: align %d len %zu: byte %zu missed\n", name, a, len, i);
                p[i] = 0;
            }
            memset(p, 0xa5, len);
        }
    }
    CHECK(bad == 0);
}

static void test_zero(void)
{
    uint8_t z[100] = { 0 };
    CHECK(buf_is_zero(z, sizeof(z)));
    z[99] = 1;
    CHECK(!buf_is_zero(z, sizeof(z)));
    CHECK(buf_is_zero(z + 1, 98));
    test_zero_variant("sse2", buf_is_zero_sse2);
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        test_zero_variant("avx2", buf_is_zero_avx2);
}

static void test_paths(void)
{
    char *p = blk_path_combine("dir/sub/img.qcow2", "base.qcow2");
    CHECK(p && strcmp(p, "dir/sub/base.qcow2") == 0);
    free(p);
    p = blk_path_combine("img.qcow2", "base.qcow2");
    CHECK(p && strcmp(p, "base.qcow2") == 0);
    free(p);
    p = blk_path_combine("dir/img.qcow2", "/abs/base");
    CHECK(p && strcmp(p, "/abs/base") == 0);
    free(p);
}

static void test_refcount_entries(void)
{
    for (unsigned order = 0; order <= 6; order++) {
        struct qcow2 s;
        memset(&s, 0, sizeof(s));
        s.refcount_order = order;
        s.refcount_bits = 1u << order;
        uint8_t blk[512];
        memset(blk, 0, sizeof(blk));
        uint64_t max = order == 6 ? UINT64_MAX : (UINT64_C(1) << (1u << order)) - 1;
        uint64_t n = 512 * 8 / s.refcount_bits;
        for (uint64_t i = 0; i < n; i++)
            qcow2_refcount_set_entry(&s, blk, i, (i * 7 + 3) & max);
        int bad = 0;
        for (uint64_t i = 0; i < n; i++)
            bad += qcow2_refcount_get_entry(&s, blk, i) != ((i * 7 + 3) & max);
        CHECK(bad == 0);
        qcow2_refcount_set_entry(&s, blk, 1, max);
        CHECK_U64(qcow2_refcount_get_entry(&s, blk, 1), max);
        CHECK_U64(qcow2_refcount_get_entry(&s, blk, 0), 3 & max);
    }
}

/* blk_map_pays: the policy hook answers without measuring, AUTO measures
 * once and keeps its answer; a mapped read and a read agree byte for
 * byte; nodes blk_map_read() does not serve never pay. */
static void test_map_pays(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/map.img", dir);
    size_t len = 3 << 20;
    uint8_t *data = malloc(len), *buf = malloc(len);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)(i * 7 + (i >> 12));
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(data, 1, len, f) == len);
    if (f)
        fclose(f);
    struct blk *bs = NULL, *fmt = NULL;
    CHECK(blk_open_file(&bs, path, 0, NULL) == 0);
    CHECK(blk_open(&fmt, path, "raw", 0, NULL) == 0);
    if (bs && fmt) {
        blk_map_set_policy(BLK_MAP_NEVER);
        CHECK(!blk_map_pays(bs, 0, len, 2));
        blk_map_set_policy(BLK_MAP_ALWAYS);
        CHECK(blk_map_pays(bs, 4096, 65536, 1));
        CHECK(!blk_map_pays(fmt, 0, len, 1));
        blk_map_set_policy(BLK_MAP_AUTO);
        bool a = blk_map_pays(bs, len - 4096, 4096, 1);   /* measures */
        CHECK(blk_map_pays(bs, 0, len, 1) == a);
        CHECK(!blk_map_pays(fmt, 0, len, 1));
        const uint8_t *m = blk_map_read(bs, 12345, len - 12345);
        CHECK(m && memcmp(m, data + 12345, len - 12345) == 0);
        if (m)
            blk_map_release(bs, m, len - 12345);
        CHECK(blk_pread(bs, 12345, len - 12345, buf) == 0);
        CHECK(memcmp(buf, data + 12345, len - 12345) == 0);
    }
    blk_close(fmt);
    blk_close(bs);
    free(data);
    free(buf);
}

static void test_core_checks(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/raw.img", dir);
    struct blk_create_opts o = { .size = 1 << 20 };
    CHECK(blk_create("raw", path, &o, NULL) == 0);
    struct blk *bs;
    CHECK(blk_open(&bs, path, NULL, 0, NULL) == 0);
    CHECK(strcmp(bs->drv->name, "raw") == 0);
    uint8_t buf[4096];
    CHECK(blk_pread(bs, (1 << 20) - 10, 20, buf) == -EIO);
    CHECK(blk_pread(bs, UINT64_MAX - 5, 10, buf) == -EIO);
    CHECK(blk_pwrite(bs, 0, 10, buf) == -EROFS);
    uint64_t pnum, map;
    int st = blk_block_status(bs, 0, 1 << 20, &pnum, &map, NULL);
    CHECK(st >= 0 && (st & BLK_STATUS_ZERO) && pnum == 1 << 20);
    blk_close(bs);
    struct error *err = NULL;
    CHECK(blk_open(&bs, path, "vmdk3", 0, &err) == -ENOTSUP);
    CHECK_CONTAINS(err_msg(err), "not supported yet");
    err_free(err);
    err = NULL;
    CHECK(blk_open(&bs, path, "nosuch", 0, &err) == -EINVAL);
    err_free(err);
}

struct aio_count {
    int done, failed;
};

static void aio_cb(void *opaque, int ret)
{
    struct aio_count *c = opaque;
    c->done++;
    if (ret < 0)
        c->failed++;
}

static void test_aio(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/aio.qcow2", dir);
    struct blk_create_opts o = { .size = 8 << 20, .cluster_size = 4096 };
    CHECK(blk_create("qcow2", path, &o, NULL) == 0);
    struct blk *bs;
    CHECK(blk_open(&bs, path, "qcow2", BLK_O_RDWR, NULL) == 0);
    struct loop *loop = loop_new(NULL);
    struct pool *pool = pool_new(loop, 8, NULL);
    blk_set_pool(bs, pool);
    static uint8_t bufs[32][8192];
    struct iovec iov[32];
    struct aio_count c = { 0, 0 };
    for (int i = 0; i < 32; i++) {
        memset(bufs[i], i + 1, sizeof(bufs[i]));
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = sizeof(bufs[i]);
        CHECK(blk_aio_pwritev(bs, (uint64_t)i * 65536 + 1000, sizeof(bufs[i]), &iov[i], 1,
                              aio_cb, &c, NULL) == 0);
    }
    pool_drain(pool, NULL);
    CHECK(c.done == 32 && c.failed == 0);
    memset(bufs, 0, sizeof(bufs));
    for (int i = 0; i < 32; i++)
        CHECK(blk_aio_preadv(bs, (uint64_t)i * 65536 + 1000, sizeof(bufs[i]), &iov[i], 1,
                             aio_cb, &c, NULL) == 0);
    pool_drain(pool, NULL);
    CHECK(c.done == 64 && c.failed == 0);
    int bad = 0;
    for (int i = 0; i < 32; i++)
        for (size_t k = 0; k < sizeof(bufs[i]); k++)
            bad += bufs[i][k] != i + 1;
    CHECK(bad == 0);
    blk_set_pool(bs, NULL);
    pool_free(pool);
    loop_free(loop);
    blk_close(bs);
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(uint64_t n);

/* The incompressibility shortcut: random data skips deflate, text and
 * repeated random blocks (which deflate shrinks) do not. */
static void test_incompressible(void)
{
    static uint8_t buf[65536];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)rnd(256);
    CHECK(qcow2_incompressible(buf, sizeof(buf)));
    for (size_t i = 1024; i < sizeof(buf); i++)
        buf[i] = buf[i % 1024];
    CHECK(!qcow2_incompressible(buf, sizeof(buf)));
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)("the quick brown fox "[i % 20] + i / 4096);
    CHECK(!qcow2_incompressible(buf, sizeof(buf)));
    memset(buf, 0, sizeof(buf));
    CHECK(!qcow2_incompressible(buf, sizeof(buf)));
}
static uint64_t rnd(uint64_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state % n;
}

static int check_clean(struct blk *bs)
{
    struct blk_check res;
    memset(&res, 0, sizeof(res));
    int r = bs->drv->check(bs, &res, 0, NULL);
    if (r < 0 || res.corruptions || res.leaks || res.check_errors) {
        fprintf(stderr, "check: r=%d corruptions=%d leaks=%d errors=%d\n", r, res.corruptions,
                res.leaks, res.check_errors);
        return 0;
    }
    return 1;
}

/* Random writes, zero writes and discards against a model, for several
 * cluster sizes, refcount widths and versions; snapshots in between. */
static void test_qcow2_model(unsigned cs, int bits, int compat, bool backing, bool ext)
{
    const uint64_t size = (3 << 20) + 1234;
    char path[128], bpath[128];
    snprintf(path, sizeof(path), "%s/m.qcow2", dir);
    snprintf(bpath, sizeof(bpath), "%s/b.raw", dir);
    uint8_t *model = calloc(1, size), *snapm = NULL, *buf = malloc(256 << 10);
    struct blk_create_opts o = { .size = size, .cluster_size = cs, .refcount_bits = bits,
                                 .compat = compat, .extended_l2 = ext };
    if (backing) {
        struct blk_create_opts bo = { .size = size - 100000 };
        CHECK(blk_create("raw", bpath, &bo, NULL) == 0);
        struct blk *b;
        CHECK(blk_open(&b, bpath, "raw", BLK_O_RDWR, NULL) == 0);
        for (uint64_t i = 0; i < bo.size; i++)
            model[i] = (uint8_t)(i * 31 + 7);
        CHECK(blk_pwrite(b, 0, bo.size, model) == 0);
        blk_close(b);
        o.backing_file = "b.raw";
        o.backing_fmt = "raw";
    }
    CHECK(blk_create("qcow2", path, &o, NULL) == 0);
    struct blk *bs;
    CHECK(blk_open(&bs, path, NULL, BLK_O_RDWR, NULL) == 0);
    for (int op = 0; op < 300; op++) {
        uint64_t len = 1 + rnd(op % 10 == 0 ? (256 << 10) : 20000);
        uint64_t off = rnd(size - len);
        int kind = (int)rnd(10);
        if (kind < 6) {
            for (uint64_t i = 0; i < len; i++)
                buf[i] = (uint8_t)rnd(256);
            CHECK(blk_pwrite(bs, off, len, buf) == 0);
            memcpy(model + off, buf, len);
        } else if (kind < 8) {
            CHECK(blk_pwrite_zeroes(bs, off, len, BLK_ZERO_MAY_UNMAP) == 0);
            memset(model + off, 0, len);
        } else if (kind == 8 && !backing) {
            /* discard: the content is unspecified, only read it back */
            CHECK(blk_pdiscard(bs, off, len) == 0);
            CHECK(blk_pread(bs, off, len, model + off) == 0);
        } else if (op % 100 == 50 && !snapm && bits == 1) {
            /* 1-bit refcounts cannot share clusters: refused, nothing changed */
            CHECK(bs->drv->snapshot_create(bs, "s", NULL) == -ERANGE);
            CHECK(check_clean(bs));
        } else if (op % 100 == 50 && !snapm) {
            struct error *e = NULL;
            int sr = bs->drv->snapshot_create(bs, "s", &e);
            if (sr < 0)
                fprintf(stderr, "snapshot_create (cs %u bits %d): %s\n", cs, bits, err_msg(e));
            err_free(e);
            CHECK(sr == 0);
            snapm = malloc(size);
            memcpy(snapm, model, size);
        }
    }
    int bad = 0;
    for (uint64_t off = 0; off < size; off += 256 << 10) {
        uint64_t n = MIN(size - off, (uint64_t)256 << 10);
        CHECK(blk_pread(bs, off, n, buf) == 0);
        bad += memcmp(buf, model + off, n) != 0;
    }
    CHECK(bad == 0);
    CHECK(check_clean(bs));
    if (snapm) {
        CHECK(bs->drv->snapshot_goto(bs, "s", NULL) == 0);
        bad = 0;
        for (uint64_t off = 0; off < size; off += 256 << 10) {
            uint64_t n = MIN(size - off, (uint64_t)256 << 10);
            CHECK(blk_pread(bs, off, n, buf) == 0);
            bad += memcmp(buf, snapm + off, n) != 0;
        }
        CHECK(bad == 0);
        CHECK(bs->drv->snapshot_delete(bs, "s", NULL) == 0);
        CHECK(check_clean(bs));
    }
    blk_close(bs);
    unlink(path);
    unlink(bpath);
    free(model);
    free(snapm);
    free(buf);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 99;
    }
    test_iov();
    test_zero();
    test_map_pays();
    test_paths();
    test_refcount_entries();
    test_core_checks();
    test_aio();
    test_incompressible();
    test_qcow2_model(512, 16, 3, false, false);
    test_qcow2_model(512, 1, 3, false, false);
    test_qcow2_model(4096, 64, 3, true, false);
    test_qcow2_model(65536, 16, 2, false, false);
    test_qcow2_model(65536, 16, 2, true, false);
    test_qcow2_model(2 << 20, 8, 3, false, false);
    test_qcow2_model(16384, 16, 3, false, true);
    test_qcow2_model(65536, 16, 3, true, true);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return unit_result();
}
