/* test-anon.c - unit tests of emu-img anonymize's core: range resolution
 * (priorities, overlaps, duplicates, clipping), name scrubbing, and the
 * refusal of extent names that leave the image's folder. */
#include <config.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "block/anon.h"
#include "unit.h"

static void test_resolve(void)
{
    struct anon a = { .filename = "t", .fd = -1, .size = 1000 };
    static const uint8_t z[4] = "ZZZZ", n[4] = "NNNN";
    anon_keep(&a, 100, 100);                                /* [100,200) */
    anon_keep(&a, 150, 100);                                /* overlaps: [100,250) */
    anon_keep(&a, 100, 100);                                /* duplicate */
    anon_replace_ref(&a, 180, 4, z, ANON_PRIO_DATA);        /* under a keep: loses */
    anon_replace_ref(&a, 300, 4, z, ANON_PRIO_DATA);        /* alone: wins */
    anon_replace(&a, 240, 4, n, ANON_PRIO_META);            /* inside a keep: wins */
    anon_keep(&a, 990, 100);                                /* clipped to the file */
    anon_keep(&a, 2000, 10);                                /* past the end: dropped */
    anon_keep(&a, 500, 0);                                  /* empty: dropped */
    struct anon_seg *seg;
    size_t ns;
    CHECK(anon_resolve(&a, &seg, &ns) == 0);
    CHECK_U64(ns, 5);
    if (ns == 5) {
        CHECK(seg[0].off == 100 && seg[0].len == 140 && !seg[0].data);
        CHECK(seg[1].off == 240 && seg[1].len == 4 && memcmp(seg[1].data, "NNNN", 4) == 0);
        CHECK(seg[2].off == 244 && seg[2].len == 6 && !seg[2].data);
        CHECK(seg[3].off == 300 && seg[3].len == 4 && seg[3].data == z);
        CHECK(seg[4].off == 990 && seg[4].len == 10 && !seg[4].data);
    }
    free(seg);
    anon_free(&a);

    /* many identical ranges (a crafted table naming one cluster often) */
    struct anon b = { .filename = "t", .fd = -1, .size = 1 << 20 };
    for (int i = 0; i < 100000; i++)
        anon_replace_ref(&b, 4096, 4, z, ANON_PRIO_DATA);
    CHECK(anon_resolve(&b, &seg, &ns) == 0);
    CHECK(ns == 1 && seg[0].off == 4096 && seg[0].len == 4);
    free(seg);
    anon_free(&b);
}

static void test_scrub(void)
{
    uint8_t a[] = "/home/ann/customer-db.qcow2";
    anon_scrub(a, strlen((char *)a));
    CHECK(strcmp((char *)a, "/xxxx/xxx/xxxxxxxx-xx.qcow2") == 0);
    uint8_t b[] = "snapshot 2024";
    anon_scrub(b, strlen((char *)b));
    CHECK(strcmp((char *)b, "xxxxxxxx xxxx") == 0);
    uint8_t c[] = "a.verylongextension";
    anon_scrub(c, strlen((char *)c));
    CHECK(strcmp((char *)c, "x.xxxxxxxxxxxxxxxxx") == 0);
    /* UTF-16LE: the zero bytes stay, the length too */
    uint8_t d[] = { 'C', 0, ':', 0, '\\', 0, 'b', 0, 0xe4, 0, 0, 0 };
    anon_scrub(d, sizeof(d));
    CHECK(d[0] == 'x' && d[1] == 0 && d[2] == ':' && d[4] == '\\' && d[6] == 'x' &&
          d[8] == 'x' && d[9] == 0);
    uint8_t e[] = "";
    anon_scrub(e, 0);
    CHECK(e[0] == 0);
}

/* A descriptor naming an extent outside its folder is refused before
 * anything is written. */
static void test_extent_names(void)
{
    char dir[] = "/tmp/emu-test-anon.XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    char src[128], dst[128];
    snprintf(src, sizeof(src), "%s/d.vmdk", dir);
    snprintf(dst, sizeof(dst), "%s/out.vmdk", dir);
    static const char *const bad[] = { "/etc/passwd", "../x-flat.vmdk", "a/../../b" };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        FILE *fp = fopen(src, "w");
        if (!fp)
            break;
        fprintf(fp, "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\n"
                    "RW 2048 FLAT \"%s\" 0\n", bad[i]);
        fclose(fp);
        struct anon_opts o = { .fmt = "vmdk" };
        struct anon_stats st;
        struct error *err = NULL;
        CHECK(blk_anonymize(src, dst, &o, &st, &err) < 0);
        CHECK(err && strstr(err_msg(err), "not relative"));
        err_free(err);
        CHECK(access(dst, F_OK) != 0);
        o.in_place = true;
        err = NULL;
        CHECK(blk_anonymize(src, NULL, &o, &st, &err) < 0);
        err_free(err);
    }
    unlink(src);
    rmdir(dir);
}

int main(void)
{
    test_resolve();
    test_scrub();
    test_extent_names();
    return unit_result();
}
