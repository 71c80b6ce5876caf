/* test-keyval.c - lib/keyval.c: "key=value,..." option strings as qemu
 * takes them (implied first key, ",," escapes, last value wins), the typed
 * getters and their messages, and JSON objects flattened to dotted keys. */
#include <config.h>
#include <errno.h>
#include "keyval.h"
#include "unit.h"

static struct kv *parse(const char *s, const char *implied)
{
    struct kv *kv = NULL;
    struct error *err = NULL;
    int r = kv_parse(&kv, s, implied, &err);
    if (r != 0)
        fprintf(stderr, "kv_parse('%s') failed: %s\n", s, err ? err_msg(err) : "?");
    CHECK(r == 0);
    CHECK(err == NULL);
    err_free(err);
    return r == 0 ? kv : NULL;
}

static void parse_bad(const char *s, const char *implied, const char *part)
{
    struct kv *kv = (struct kv *)1;
    struct error *err = NULL;
    int r = kv_parse(&kv, s, implied, &err);
    if (r != -EINVAL)
        fprintf(stderr, "kv_parse('%s') = %d, expected -EINVAL\n", s, r);
    CHECK(r == -EINVAL);
    CHECK(kv == (struct kv *)1);
    CHECK_CONTAINS(err ? err_msg(err) : NULL, part);
    CHECK(!err || strchr(err_msg(err), '\n') == NULL);
    err_free(err);
}

/* KEY is VAL (NULL: absent). */
static void has(struct kv *kv, const char *key, const char *val)
{
    const char *v = kv ? kv_get(kv, key) : NULL;
    if (val && (!v || strcmp(v, val) != 0))
        fprintf(stderr, "'%s' is '%s', expected '%s'\n", key, v ? v : "(absent)", val);
    CHECK(val ? v && strcmp(v, val) == 0 : v == NULL);
}

static void test_parse(void)
{
    struct kv *kv = parse("virtio-blk-device,drive=d0,serial=abc", "driver");
    CHECK(kv && kv->n == 3);
    has(kv, "driver", "virtio-blk-device");
    has(kv, "drive", "d0");
    has(kv, "serial", "abc");
    has(kv, "bus", NULL);
    CHECK(kv_check_used(kv, NULL) == 0);
    kv_free(kv);

    /* the first item with '=' is an ordinary pair: no implied key */
    kv = parse("file=x.img,format=raw", "driver");
    CHECK(kv && kv->n == 2);
    has(kv, "driver", NULL);
    has(kv, "file", "x.img");
    kv_free(kv);

    /* ",," is a literal comma, in values and in the implied value */
    kv = parse("file=a,,b.img,format=raw", NULL);
    has(kv, "file", "a,b.img");
    has(kv, "format", "raw");
    kv_free(kv);
    kv = parse("a,,b,x=1", "path");
    has(kv, "path", "a,b");
    has(kv, "x", "1");
    kv_free(kv);
    kv = parse("a=1,,,b=2", NULL);
    CHECK(kv && kv->n == 2);
    has(kv, "a", "1,");
    has(kv, "b", "2");
    kv_free(kv);
    kv = parse("a=1,,b=2", NULL);
    CHECK(kv && kv->n == 1);
    has(kv, "a", "1,b=2");
    kv_free(kv);
    kv = parse("a=,,,,", NULL);
    has(kv, "a", ",,");
    kv_free(kv);

    /* a key given twice keeps its last value, and is one pair */
    kv = parse("a=1,b=2,a=3", NULL);
    CHECK(kv && kv->n == 2);
    has(kv, "a", "3");
    has(kv, "b", "2");
    CHECK(kv_check_used(kv, NULL) == 0);
    kv_free(kv);
    /* the implied key given again by name */
    kv = parse("virtio-rng-device,driver=virtio-blk-device", "driver");
    has(kv, "driver", "virtio-blk-device");
    kv_free(kv);

    /* empty values, '=' in values, a trailing comma, the empty string */
    kv = parse("a=,b=c=d,", NULL);
    CHECK(kv && kv->n == 2);
    has(kv, "a", "");
    has(kv, "b", "c=d");
    kv_free(kv);
    kv = parse("", "driver");
    CHECK(kv && kv->n == 0);
    kv_free(kv);
    kv = parse("", NULL);
    CHECK(kv && kv->n == 0);
    kv_free(kv);

    /* refused */
    parse_bad("foo", NULL, "Invalid parameter 'foo'");
    parse_bad("a=1,foo", NULL, "Invalid parameter 'foo'");
    parse_bad("drv,foo", "driver", "Invalid parameter 'foo'");
    parse_bad("a=1,,b,c", NULL, "Invalid parameter 'c'");
    parse_bad(",a=1", "driver", "empty parameter in ',a=1'");
    parse_bad(",", NULL, "empty parameter");
    parse_bad("=1", NULL, "a parameter without a name in '=1'");
    parse_bad("a=1,=2", NULL, "a parameter without a name");
    parse_bad("a=1, ", NULL, "Invalid parameter ' '");
}

static void test_getters(void)
{
    struct error *err = NULL;
    struct kv *kv = parse("virtio-blk-device,drive=d0,cahce=none,readonly=on,discard=off,"
                          "size=64k,big=1.5G,flag=maybe,sz=12q,cache=writeback,aio=fast",
                          "driver");
    if (!kv)
        return;
    CHECK(kv_check_used(kv, NULL) == -EINVAL);
    has(kv, "driver", "virtio-blk-device");
    has(kv, "drive", "d0");

    bool b = false;
    CHECK(kv_get_bool(kv, "readonly", false, &b, NULL) == 0 && b);
    CHECK(kv_get_bool(kv, "discard", true, &b, NULL) == 0 && !b);
    CHECK(kv_get_bool(kv, "absent", true, &b, NULL) == 0 && b);
    CHECK(kv_get_bool(kv, "absent", false, &b, NULL) == 0 && !b);
    CHECK(kv_get_bool(kv, "flag", false, &b, &err) == -EINVAL);
    CHECK_CONTAINS(err ? err_msg(err) : NULL, "flag: 'maybe' is not on/off");
    err_free(err);
    err = NULL;

    uint64_t sz = 0;
    CHECK(kv_get_size(kv, "size", 0, &sz, NULL) == 0);
    CHECK_U64(sz, 65536);
    CHECK(kv_get_size(kv, "big", 0, &sz, NULL) == 0);
    CHECK_U64(sz, UINT64_C(1610612736));
    CHECK(kv_get_size(kv, "absent", 777, &sz, NULL) == 0);
    CHECK_U64(sz, 777);
    CHECK(kv_get_size(kv, "sz", 0, &sz, &err) == -EINVAL);
    CHECK_CONTAINS(err ? err_msg(err) : NULL, "sz: ");
    CHECK_CONTAINS(err ? err_msg(err) : NULL, "unknown suffix 'q'");
    err_free(err);
    err = NULL;

    static const char *const caches[] = { "none", "writeback", "writethrough", NULL };
    CHECK(kv_get_choice(kv, "cache", caches, 0, NULL) == 1);
    CHECK(kv_get_choice(kv, "absent", caches, 2, NULL) == 2);
    static const char *const aios[] = { "threads", "native", NULL };
    CHECK(kv_get_choice(kv, "aio", aios, 0, &err) == -EINVAL);
    CHECK_CONTAINS(err ? err_msg(err) : NULL,
                   "parameter 'aio': 'fast' is not one of threads, native");
    err_free(err);
    err = NULL;

    /* a typo nobody took is named */
    CHECK(kv_check_used(kv, &err) == -EINVAL);
    CHECK_CONTAINS(err ? err_msg(err) : NULL, "Invalid parameter 'cahce'");
    CHECK(!err || strchr(err_msg(err), '\n') == NULL);
    err_free(err);
    err = NULL;
    CHECK(kv_get(kv, "cahce") != NULL);
    CHECK(kv_check_used(kv, NULL) == 0);
    kv_free(kv);

    /* kv_new and kv_set */
    kv = kv_new();
    CHECK(kv != NULL);
    if (!kv)
        return;
    CHECK(kv_set(kv, "a", "1") == 0);
    CHECK(kv_set(kv, "a", "2") == 0);
    CHECK(kv->n == 1);
    has(kv, "a", "2");
    kv_free(kv);
    kv_free(NULL);
}

static struct kv *json(const char *s)
{
    struct kv *kv = NULL;
    struct error *err = NULL;
    int r = kv_parse_json(&kv, s, &err);
    if (r != 0)
        fprintf(stderr, "kv_parse_json('%s') failed: %s\n", s, err ? err_msg(err) : "?");
    CHECK(r == 0);
    err_free(err);
    return r == 0 ? kv : NULL;
}

static void json_bad(const char *s, const char *part)
{
    struct kv *kv = (struct kv *)1;
    struct error *err = NULL;
    CHECK(kv_parse_json(&kv, s, &err) == -EINVAL);
    CHECK(kv == (struct kv *)1);
    CHECK_CONTAINS(err ? err_msg(err) : NULL, part);
    err_free(err);
}

static void test_json(void)
{
    struct kv *kv = json("{\"driver\": \"qcow2\", \"node-name\": \"d0\", \"file\": "
                         "{\"driver\": \"file\", \"filename\": \"/tmp/a,b.img\", "
                         "\"aio\": {\"x\": \"y\"}}, \"read-only\": true, \"discard\": false, "
                         "\"cache\": {\"direct\": true}, \"n\": 42, \"neg\": -7, "
                         "\"big\": 9223372036854775807, \"d\": 1.5, \"e\": 1e300, \"f\": 0.1, "
                         "\"z\": null, \"arr\": [1, \"x\", {\"y\": [true]}, []], \"o\": {}}");
    CHECK(kv != NULL);
    has(kv, "driver", "qcow2");
    has(kv, "node-name", "d0");
    has(kv, "file.driver", "file");
    has(kv, "file.filename", "/tmp/a,b.img");
    has(kv, "file.aio.x", "y");
    has(kv, "read-only", "on");
    has(kv, "discard", "off");
    has(kv, "cache.direct", "on");
    has(kv, "n", "42");
    has(kv, "neg", "-7");
    has(kv, "big", "9223372036854775807");
    has(kv, "d", "1.5");
    has(kv, "e", "1e+300");
    has(kv, "f", "0.1");
    has(kv, "z", "null");
    has(kv, "arr.0", "1");
    has(kv, "arr.1", "x");
    has(kv, "arr.2.y.0", "on");
    has(kv, "arr.3", NULL);     /* empty containers give nothing */
    has(kv, "o", NULL);
    has(kv, "file", NULL);
    CHECK(kv_check_used(kv, NULL) == 0);
    if (kv)
        CHECK(kv->n == 18);
    bool b = false;
    CHECK(kv && kv_get_bool(kv, "read-only", false, &b, NULL) == 0 && b);
    kv_free(kv);

    /* a repeated member, and a dotted name meeting a nested one: last wins */
    kv = json("{\"a\": 1, \"a\": 2, \"b\": {\"c\": 3}, \"b.c\": 4}");
    CHECK(kv && kv->n == 2);
    has(kv, "a", "2");
    has(kv, "b.c", "4");
    kv_free(kv);
    kv = json("{}");
    CHECK(kv && kv->n == 0);
    kv_free(kv);

    json_bad("[1, 2]", "a JSON object is expected");
    json_bad("\"driver\"", "a JSON object is expected");
    json_bad("{\"driver\": \"qcow2\",}", "JSON parse error at byte 19");
    json_bad("{\"driver\": \"qcow2\"} x", "trailing characters");
    json_bad("", "unexpected end of input");
}

int main(void)
{
    test_parse();
    test_getters();
    test_json();
    return unit_result();
}
