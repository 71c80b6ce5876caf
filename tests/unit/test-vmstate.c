/* test-vmstate.c - lib/vmstate.c: the savevm state stream.  Round trips
 * of every field type (with a blob large enough to bypass the buffers,
 * so a section's length is written back behind the buffer); an old
 * section version loading into newer code, a newer one refused; and the
 * reader on hostile input: every truncation of a stream, thousands of
 * random byte changes, and the framing lies one by one.  Every failure
 * must be one line naming the problem, and nothing may read outside the
 * stream (the source callback checks every read). */
#include <config.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "vmstate.h"
#include "unit.h"

/* ---- a stream in memory ---- */

struct mem {
    uint8_t *buf;
    size_t len, cap;
    int reads_outside;
};

static int mem_write(void *opaque, uint64_t pos, const void *buf, size_t len)
{
    struct mem *m = opaque;
    if (pos + len > m->cap) {
        size_t cap = (size_t)(pos + len) * 2;
        uint8_t *n = realloc(m->buf, cap);
        if (!n)
            return -ENOMEM;
        memset(n + m->cap, 0, cap - m->cap);
        m->buf = n;
        m->cap = cap;
    }
    memcpy(m->buf + pos, buf, len);
    if (pos + len > m->len)
        m->len = (size_t)(pos + len);
    return 0;
}

static int mem_read(void *opaque, uint64_t pos, void *buf, size_t len)
{
    struct mem *m = opaque;
    if (pos > m->len || len > m->len - pos) {
        m->reads_outside++;
        return -EIO;
    }
    memcpy(buf, m->buf + pos, len);
    return 0;
}

/* ---- a device with two versions of its state ---- */

#define BIG (300u << 10)

struct dev {
    uint8_t a;
    uint16_t b;
    uint32_t c;
    uint64_t d;
    bool e;
    uint8_t small[5];
    uint8_t *big;
    uint32_t added;             /* since version 2 */
    uint32_t index;             /* must be < 16 */
};

static void dev_save(const struct dev *v, struct vms_out *f, uint32_t version)
{
    vms_put_u8(f, v->a);
    vms_put_u16(f, v->b);
    vms_put_u32(f, v->c);
    vms_put_u64(f, v->d);
    vms_put_bool(f, v->e);
    vms_put_bytes(f, v->small, sizeof(v->small));
    vms_put_bytes(f, v->big, v->big ? BIG : 0);
    vms_put_u32(f, v->index);
    if (version >= 2)
        vms_put_u32(f, v->added);
}

static void dev_load(struct dev *v, struct vms_in *f, uint32_t version)
{
    v->a = vms_get_u8(f);
    v->b = vms_get_u16(f);
    v->c = vms_get_u32(f);
    v->d = vms_get_u64(f);
    v->e = vms_get_bool(f);
    vms_get_bytes(f, v->small, sizeof(v->small));
    size_t n = vms_get_blob(f, v->big, v->big ? BIG : 0);
    if (!vms_failed(f) && v->big)
        vms_check(f, n == BIG, "big blob");
    v->index = vms_get_u32(f);
    vms_check(f, v->index < 16, "index");
    v->added = version >= 2 ? vms_get_u32(f) : 7;   /* the default of old states */
}

static void make_stream(struct mem *m, uint32_t version, bool big)
{
    struct vms_out *f;
    struct error *err = NULL;
    memset(m, 0, sizeof(*m));
    CHECK(vms_out_new(&f, mem_write, m, &err) == 0);
    struct dev v = { 0x12, 0x3456, 0x789abcde, UINT64_C(0x0123456789abcdef), true,
                     { 1, 2, 3, 4, 5 }, NULL, 99, 3 };
    if (big) {
        v.big = malloc(BIG);
        for (size_t i = 0; i < BIG; i++)
            v.big[i] = (uint8_t)(i * 7);
    }
    vms_section_begin(f, "dev", 0, version);
    dev_save(&v, f, version);
    vms_section_end(f);
    vms_section_begin(f, "dev", 1, version);
    v.a = 0x34;
    dev_save(&v, f, version);
    vms_section_end(f);
    uint64_t size = 0;
    CHECK(vms_out_finish(f, &size, &err) == 0);
    CHECK_U64(size, m->len);
    vms_out_free(f);
    free(v.big);
    err_free(err);
}

/* Load every section with code of version MAXV; 0 or -errno with the
 * message in *msg. */
static int load_all(struct mem *m, uint32_t maxv, bool big, struct dev out[2], char **msg)
{
    struct vms_in *f = NULL;
    struct error *err = NULL;
    *msg = NULL;
    int r = vms_in_new(&f, mem_read, m, m->len, &err);
    while (r == 0) {
        char name[VMS_NAME_MAX + 1];
        uint32_t inst, ver;
        r = vms_in_section(f, name, &inst, &ver, &err);
        if (r <= 0)
            break;
        if (strcmp(name, "dev") != 0 || inst > 1) {
            r = err_set(&err, EINVAL, "unknown section '%s' %u", name, inst);
            break;
        }
        if (ver == 0 || ver > maxv) {
            r = err_set(&err, ENOTSUP, "section '%s' version %u is newer than %u", name, ver,
                        maxv);
            break;
        }
        struct dev *v = &out[inst];
        v->big = big ? malloc(BIG) : NULL;
        dev_load(v, f, ver);
        free(v->big);
        v->big = NULL;
        r = vms_section_finish(f, &err);
    }
    if (r < 0)
        *msg = strdup(err ? err_msg(err) : "no error message");
    err_free(err);
    vms_in_free(f);
    return r;
}

static void test_round_trip(void)
{
    for (int big = 0; big < 2; big++) {
        struct mem m;
        make_stream(&m, 2, big);
        struct dev d[2];
        memset(d, 0, sizeof(d));
        char *msg;
        int r = load_all(&m, 2, big, d, &msg);
        if (r)
            fprintf(stderr, "round trip: %s\n", msg);
        CHECK(r == 0);
        CHECK(d[0].a == 0x12 && d[1].a == 0x34);
        CHECK(d[0].b == 0x3456 && d[0].c == 0x789abcde);
        CHECK_U64(d[0].d, UINT64_C(0x0123456789abcdef));
        CHECK(d[0].e && d[0].small[4] == 5 && d[0].added == 99 && d[0].index == 3);
        CHECK(m.reads_outside == 0);
        free(msg);
        free(m.buf);
    }
}

/* A version 1 stream loads into version 2 code; a version 2 stream is
 * refused by version 1 code. */
static void test_versions(void)
{
    struct mem m;
    struct dev d[2];
    char *msg;
    make_stream(&m, 1, false);
    memset(d, 0, sizeof(d));
    CHECK(load_all(&m, 2, false, d, &msg) == 0);
    CHECK(d[0].added == 7 && d[1].a == 0x34);
    free(msg);
    free(m.buf);

    make_stream(&m, 2, false);
    CHECK(load_all(&m, 1, false, d, &msg) == -ENOTSUP);
    CHECK_CONTAINS(msg, "newer");
    free(msg);
    free(m.buf);
}

static void check_one_line(const char *msg)
{
    CHECK(msg != NULL);
    CHECK(msg && strchr(msg, '\n') == NULL);
    CHECK(msg && strlen(msg) > 10);
}

/* Every prefix of a stream fails cleanly. */
static void test_truncated(void)
{
    struct mem m;
    make_stream(&m, 2, false);
    size_t full = m.len;
    for (size_t len = 0; len < full; len++) {
        m.len = len;
        struct dev d[2];
        char *msg;
        int r = load_all(&m, 2, false, d, &msg);
        CHECK(r < 0);
        check_one_line(msg);
        free(msg);
    }
    CHECK(m.reads_outside == 0);
    free(m.buf);
}

/* Random changes: success or a clean failure, never a read outside. */
static void test_garbage(void)
{
    struct mem m;
    make_stream(&m, 2, false);
    uint8_t *orig = malloc(m.len);
    memcpy(orig, m.buf, m.len);
    srand(1234);
    int failed = 0;
    for (int round = 0; round < 5000; round++) {
        memcpy(m.buf, orig, m.len);
        int flips = 1 + rand() % 4;
        for (int k = 0; k < flips; k++)
            m.buf[(size_t)rand() % m.len] = (uint8_t)rand();
        struct dev d[2];
        char *msg;
        int r = load_all(&m, 2, false, d, &msg);
        if (r < 0) {
            failed++;
            check_one_line(msg);
        } else {
            CHECK(d[0].index < 16 && d[1].index < 16);     /* the range check held */
        }
        free(msg);
    }
    CHECK(failed > 1000);
    CHECK(m.reads_outside == 0);
    free(orig);
    free(m.buf);
}

static void expect_fail(struct mem *m, const char *sub)
{
    struct dev d[2];
    char *msg;
    int r = load_all(m, 2, false, d, &msg);
    CHECK(r < 0);
    CHECK_CONTAINS(msg, sub);
    check_one_line(msg);
    free(msg);
}

/* The framing's lies, one by one (offsets from the layout in vmstate.c:
 * 12 bytes of header, then 'S', name length, "dev", instance, version,
 * body length, body). */
static void test_lies(void)
{
    struct mem m;
    make_stream(&m, 2, false);
    uint8_t *orig = malloc(m.len);
    memcpy(orig, m.buf, m.len);
    size_t body = 12 + 2 + 3 + 4 + 4 + 8;

    m.buf[0] = 'X';
    expect_fail(&m, "not emu's");
    memcpy(m.buf, orig, m.len);
    m.buf[8] = 9;                                   /* framing version */
    expect_fail(&m, "framing version");
    memcpy(m.buf, orig, m.len);
    m.buf[12] = 'Q';                                /* no section tag */
    expect_fail(&m, "no section starts here");
    memcpy(m.buf, orig, m.len);
    m.buf[13] = 0;                                  /* empty name */
    expect_fail(&m, "section name");
    memcpy(m.buf, orig, m.len);
    m.buf[14] = 'D';                                /* not a name */
    expect_fail(&m, "not a name");
    memcpy(m.buf, orig, m.len);
    m.buf[body - 1] = 0x7f;                         /* body longer than the stream */
    expect_fail(&m, "longer");
    memcpy(m.buf, orig, m.len);
    m.buf[body - 8] -= 1;                           /* body one byte short */
    expect_fail(&m, "section ends inside a field");
    memcpy(m.buf, orig, m.len);
    m.buf[body] = 3;                                /* a u32 where a u8 belongs */
    expect_fail(&m, "where a u8 belongs");
    memcpy(m.buf, orig, m.len);
    m.buf[body] = 0xee;                             /* no type at all */
    expect_fail(&m, "garbage byte");
    memcpy(m.buf, orig, m.len);
    m.buf[body + 2 + 3 + 5 + 9 + 1] = 2;            /* bool 2 */
    expect_fail(&m, "bool");
    memcpy(m.buf, orig, m.len);
    m.buf[body + 2 + 3 + 5 + 9 + 2 + 1] = 9;        /* 9 bytes where 5 belong */
    expect_fail(&m, "where 5 belong");
    memcpy(m.buf, orig, m.len);
    size_t idx = body + 2 + 3 + 5 + 9 + 2 + 10 + 5 + 1;
    m.buf[idx] = 200;                               /* the device's range check */
    expect_fail(&m, "index out of range");
    memcpy(m.buf, orig, m.len);
    m.buf[m.len - 1] = 'S';                         /* no end */
    expect_fail(&m, "ends early");
    CHECK(m.reads_outside == 0);
    free(orig);
    free(m.buf);
}

/* Unread bytes at the end of a section: a device of another version. */
static void test_unread(void)
{
    struct mem m = { 0 };
    struct vms_out *f;
    CHECK(vms_out_new(&f, mem_write, &m, NULL) == 0);
    vms_section_begin(f, "x", 0, 1);
    vms_put_u32(f, 1);
    vms_put_u32(f, 2);
    vms_section_end(f);
    uint64_t size;
    CHECK(vms_out_finish(f, &size, NULL) == 0);
    vms_out_free(f);
    struct vms_in *in;
    struct error *err = NULL;
    CHECK(vms_in_new(&in, mem_read, &m, m.len, &err) == 0);
    char name[VMS_NAME_MAX + 1];
    uint32_t inst, ver;
    CHECK(vms_in_section(in, name, &inst, &ver, &err) == 1);
    CHECK(strcmp(name, "x") == 0 && ver == 1);
    CHECK(vms_get_u32(in) == 1);
    CHECK(vms_section_finish(in, &err) < 0);
    CHECK_CONTAINS(err_msg(err), "left unread");
    CHECK_CONTAINS(err_msg(err), "section 'x' instance 0");
    err_free(err);
    vms_in_free(in);
    free(m.buf);
}

int main(void)
{
    test_round_trip();
    test_versions();
    test_truncated();
    test_garbage();
    test_lies();
    test_unread();
    return unit_result();
}
