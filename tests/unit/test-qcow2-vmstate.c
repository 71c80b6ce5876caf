/* test-qcow2-vmstate.c - lib/block/qcow2-vmstate.c: the VM state area of
 * internal snapshots.  For several cluster sizes and both versions, with
 * and without a backing file larger than the image: two snapshots with
 * VM states of different sizes; each records its size (the 64-bit one
 * past 4 GiB of the 32-bit field is not tried: too big for a test), the
 * guest clock and no icount; the active layer keeps no VM state after a
 * snapshot, reads of the area are zeros (never the backing file's
 * data); applying a snapshot brings its state back and dropping it
 * leaves the snapshot's intact; the image checks clean (no leak, no
 * corruption) after every step; the disk's own data is untouched. */
#include <config.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "block/block.h"
#include "unit.h"

static char dir[64];

static int check_clean(struct blk *bs)
{
    struct blk_check res;
    memset(&res, 0, sizeof(res));
    int r = bs->drv->check(bs, &res, 0, NULL);
    if (r < 0 || res.corruptions || res.leaks || res.check_errors)
        fprintf(stderr, "check: r=%d corruptions=%d leaks=%d errors=%d\n", r, res.corruptions,
                res.leaks, res.check_errors);
    return r >= 0 && !res.corruptions && !res.leaks && !res.check_errors;
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 31 + seed + (i >> 12));
}

static bool area_is(struct blk *bs, size_t n, unsigned seed)
{
    uint8_t *got = malloc(n), *want = malloc(n);
    CHECK(blk_vmstate_read(bs, 0, n, got) == 0);
    if (seed)
        fill(want, n, seed);
    else
        memset(want, 0, n);
    bool same = memcmp(got, want, n) == 0;
    free(got);
    free(want);
    return same;
}

static int find(struct blk *bs, const char *name, struct blk_snapshot *out)
{
    struct blk_snapshot *l;
    int n = bs->drv->snapshot_list(bs, &l);
    int k = -1;
    for (int i = 0; i < n; i++)
        if (strcmp(l[i].name, name) == 0)
            k = i;
    if (k >= 0) {
        *out = l[k];
        out->id = out->name = NULL;
    }
    blk_snapshots_free(l, n);
    return k;
}

static void test_one(unsigned cs, int compat, bool backing)
{
    const uint64_t size = (5 << 20) + 4096;
    const size_t na = (3 << 20) + 123, nb = 700000;
    char path[128], bpath[128];
    snprintf(path, sizeof(path), "%s/v.qcow2", dir);
    snprintf(bpath, sizeof(bpath), "%s/b.raw", dir);
    struct blk_create_opts o = { .size = size, .cluster_size = cs, .compat = compat };
    if (backing) {
        /* a backing file reaching past the image: its bytes there must
         * never show through the VM state area */
        struct blk_create_opts bo = { .size = size + (64 << 20) };
        CHECK(blk_create("raw", bpath, &bo, NULL) == 0);
        struct blk *b;
        CHECK(blk_open(&b, bpath, "raw", BLK_O_RDWR, NULL) == 0);
        uint8_t *ones = malloc(1 << 20);
        memset(ones, 0xa5, 1 << 20);
        for (uint64_t off = 0; off < b->size; off += 1 << 20)
            CHECK(blk_pwrite(b, off, MIN((uint64_t)1 << 20, b->size - off), ones) == 0);
        free(ones);
        blk_close(b);
        o.backing_file = "b.raw";
        o.backing_fmt = "raw";
    }
    CHECK(blk_create("qcow2", path, &o, NULL) == 0);
    struct blk *bs;
    CHECK(blk_open(&bs, path, NULL, BLK_O_RDWR, NULL) == 0);
    CHECK(blk_can_vmstate(bs));
    uint8_t *disk = malloc(size), *st = malloc(na);
    fill(disk, size, 7);
    CHECK(blk_pwrite(bs, 0, size, disk) == 0);

    CHECK(area_is(bs, na, 0));
    fill(st, na, 1);
    CHECK(blk_vmstate_write(bs, 0, na, st) == 0);
    CHECK(area_is(bs, na, 1));
    CHECK(blk_snapshot_create_vm(bs, "a", na, 1234567890123ull, NULL) == 0);
    CHECK(check_clean(bs));
    CHECK(area_is(bs, na, 0));          /* the area left the active layer */

    fill(st, nb, 2);
    CHECK(blk_vmstate_write(bs, 0, nb, st) == 0);
    CHECK(blk_snapshot_create_vm(bs, "b", nb, 5, NULL) == 0);
    CHECK(check_clean(bs));

    struct blk_snapshot sn;
    CHECK(find(bs, "a", &sn) >= 0);
    CHECK_U64(sn.vm_state_size, na);
    CHECK_U64(sn.vm_clock_nsec, 1234567890123ull);
    CHECK_U64(sn.icount, UINT64_MAX);
    CHECK(find(bs, "b", &sn) >= 0);
    CHECK_U64(sn.vm_state_size, nb);

    CHECK(bs->drv->snapshot_goto(bs, "a", NULL) == 0);
    CHECK(area_is(bs, na, 1));
    CHECK(blk_vmstate_drop(bs) == 0);
    CHECK(area_is(bs, na, 0));
    CHECK(check_clean(bs));
    CHECK(bs->drv->snapshot_goto(bs, "b", NULL) == 0);
    CHECK(area_is(bs, nb, 2));
    CHECK(blk_vmstate_drop(bs) == 0);
    CHECK(bs->drv->snapshot_goto(bs, "a", NULL) == 0);
    CHECK(area_is(bs, na, 1));          /* dropping b's copy left a's alone */
    CHECK(blk_vmstate_drop(bs) == 0);

    uint8_t *got = malloc(size);
    CHECK(blk_pread(bs, 0, size, got) == 0);
    CHECK(memcmp(got, disk, size) == 0);
    CHECK(bs->drv->snapshot_delete(bs, "a", NULL) == 0);
    CHECK(bs->drv->snapshot_delete(bs, "b", NULL) == 0);
    CHECK(check_clean(bs));
    /* overflowing and unaddressable positions are refused */
    CHECK(blk_vmstate_write(bs, UINT64_MAX - 10, 100, st) < 0);
    CHECK(blk_vmstate_read(bs, UINT64_C(1) << 62, 100, got) < 0);
    blk_close(bs);

    CHECK(blk_open(&bs, path, NULL, 0, NULL) == 0);
    CHECK(blk_vmstate_write(bs, 0, 10, st) == -EROFS);
    blk_close(bs);
    free(disk);
    free(st);
    free(got);
    unlink(path);
    unlink(bpath);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/test-qcow2-vmstate.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    static const unsigned sizes[] = { 512, 4096, 65536, 2 << 20 };
    for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
        for (int compat = 2; compat <= 3; compat++)
            for (int backing = 0; backing < 2; backing++)
                test_one(sizes[i], compat, backing);
    rmdir(dir);
    return unit_result();
}
