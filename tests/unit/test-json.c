/* test-json.c - lib/json.c on valid and invalid documents: every type,
 * nesting, escapes, number limits, and for each refusal a one-line
 * message naming the byte offset. */
#include <config.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include "json.h"
#include "unit.h"

/* Parse the LEN bytes at S (strlen when LEN is -1); NULL (reported) when
 * it fails. */
static struct json_value *parse_n(const char *s, long len)
{
    struct json_value *v = NULL;
    struct error *err = NULL;
    size_t n = len < 0 ? strlen(s) : (size_t)len;
    int r = json_parse(&v, s, n, NULL, &err);
    if (r != 0)
        fprintf(stderr, "json_parse('%s') failed: %s\n", s, err ? err_msg(err) : "?");
    CHECK(r == 0);
    CHECK(err == NULL);
    err_free(err);
    return r == 0 ? v : NULL;
}

static struct json_value *parse(const char *s)
{
    return parse_n(s, -1);
}

/* S must be refused at byte OFFSET with a message containing PART. */
static void bad_n(const char *s, size_t len, size_t offset, const char *part)
{
    struct json_value *v = (struct json_value *)1;
    struct error *err = NULL;
    int r = json_parse(&v, s, len, NULL, &err);
    if (r != -EINVAL)
        fprintf(stderr, "json_parse('%s') = %d, expected -EINVAL\n", s, r);
    CHECK(r == -EINVAL);
    CHECK(v == (struct json_value *)1); /* *out untouched on failure */
    CHECK(err != NULL);
    char want[64];
    snprintf(want, sizeof(want), "at byte %zu:", offset);
    CHECK_CONTAINS(err ? err_msg(err) : NULL, want);
    CHECK_CONTAINS(err ? err_msg(err) : NULL, part);
    CHECK(!err || strchr(err_msg(err), '\n') == NULL);
    err_free(err);
}

static void bad(const char *s, size_t offset, const char *part)
{
    bad_n(s, strlen(s), offset, part);
}

static void int_ok(const char *s, int64_t want)
{
    struct json_value *v = parse(s);
    CHECK(v && v->type == JSON_INT);
    if (v && v->type == JSON_INT)
        CHECK_U64((uint64_t)v->u.i, (uint64_t)want);
    json_free(v);
}

static void double_ok(const char *s, double want)
{
    struct json_value *v = parse(s);
    CHECK(v && v->type == JSON_DOUBLE);
    if (v && v->type == JSON_DOUBLE && v->u.d != want) {
        fprintf(stderr, "'%s' gave %.17g, expected %.17g\n", s, v->u.d, want);
        CHECK(v->u.d == want);
    }
    json_free(v);
}

/* S is a JSON string whose value is the LEN bytes WANT. */
static void string_ok(const char *s, const char *want)
{
    struct json_value *v = parse(s);
    CHECK(v && v->type == JSON_STRING);
    if (v && v->type == JSON_STRING && strcmp(v->u.s, want) != 0) {
        fprintf(stderr, "'%s' gave '%s', expected '%s'\n", s, v->u.s, want);
        CHECK(strcmp(v->u.s, want) == 0);
    }
    json_free(v);
}

static void test_scalars(void)
{
    struct json_value *v = parse("null");
    CHECK(v && v->type == JSON_NULL);
    json_free(v);
    v = parse(" \t\r\ntrue\n");
    CHECK(v && v->type == JSON_BOOL && v->u.b);
    json_free(v);
    v = parse("false");
    CHECK(v && v->type == JSON_BOOL && !v->u.b);
    json_free(v);

    int_ok("0", 0);
    int_ok("-0", 0);
    int_ok("42", 42);
    int_ok("-17", -17);
    int_ok("9223372036854775807", INT64_MAX);
    int_ok("-9223372036854775808", INT64_MIN);

    double_ok("0.5", 0.5);
    double_ok("-0.25", -0.25);
    double_ok("1e3", 1000.0);
    double_ok("1E+3", 1000.0);
    double_ok("25e-2", 0.25);
    double_ok("1.5e2", 150.0);
    double_ok("0.0", 0.0);
    double_ok("1.7976931348623157e308", 1.7976931348623157e308);

    string_ok("\"\"", "");
    string_ok("\"plain\"", "plain");
    string_ok("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", "\" \\ / \b \f \n \r \t");
    string_ok("\"\\u0041\\u00e9\\u20AC\"", "A\xc3\xa9\xe2\x82\xac");
    string_ok("\"\\u0001\\u007f\\u0080\\u07ff\\u0800\\uffff\"",
              "\x01\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf");
    /* surrogate pairs: U+1F600 and the last code point U+10FFFF */
    string_ok("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80");
    string_ok("\"\\uDBFF\\uDFFF\"", "\xf4\x8f\xbf\xbf");
    /* raw UTF-8 passes through: 2, 3 and 4 bytes, the largest of each */
    string_ok("\"\xc3\xa9 \xef\xbf\xbf \xf4\x8f\xbf\xbf\"", "\xc3\xa9 \xef\xbf\xbf \xf4\x8f\xbf\xbf");
    /* a string of only escapes: the output buffer is sized from the input */
    string_ok("\"\\n\\n\\n\\n\"", "\n\n\n\n");
}

static void test_containers(void)
{
    struct json_value *v = parse("[]");
    CHECK(v && v->type == JSON_ARRAY && v->u.a.n == 0);
    json_free(v);
    v = parse("{ }");
    CHECK(v && v->type == JSON_OBJECT && v->u.a.n == 0);
    CHECK(json_get(v, "x") == NULL);
    json_free(v);

    v = parse("[1, 2.5, \"s\", true, null, [], {}, [[3]]]");
    CHECK(v && v->type == JSON_ARRAY && v->u.a.n == 8);
    if (v && v->u.a.n == 8) {
        CHECK(v->u.a.v[0]->type == JSON_INT && v->u.a.v[0]->u.i == 1);
        CHECK(v->u.a.v[1]->type == JSON_DOUBLE && v->u.a.v[1]->u.d == 2.5);
        CHECK(v->u.a.v[2]->type == JSON_STRING && strcmp(v->u.a.v[2]->u.s, "s") == 0);
        CHECK(v->u.a.v[3]->type == JSON_BOOL && v->u.a.v[3]->u.b);
        CHECK(v->u.a.v[4]->type == JSON_NULL);
        CHECK(v->u.a.v[5]->type == JSON_ARRAY && v->u.a.v[5]->u.a.n == 0);
        CHECK(v->u.a.v[6]->type == JSON_OBJECT && v->u.a.v[6]->u.a.n == 0);
        const struct json_value *in = v->u.a.v[7];
        CHECK(in->type == JSON_ARRAY && in->u.a.n == 1 && in->u.a.v[0]->type == JSON_ARRAY &&
              in->u.a.v[0]->u.a.v[0]->u.i == 3);
    }
    /* json_get on anything but an object is NULL */
    CHECK(json_get(v, "0") == NULL);
    CHECK(json_get(NULL, "x") == NULL);
    json_free(v);

    v = parse("{\"execute\": \"blockdev-add\", \"arguments\": {\"driver\": \"qcow2\","
              " \"node-name\": \"d0\", \"file\": {\"driver\": \"file\", \"filename\": "
              "\"/tmp/a.img\"}}, \"id\": 7}");
    CHECK(v && v->type == JSON_OBJECT && v->u.a.n == 3);
    const struct json_value *args = json_get(v, "arguments");
    CHECK(args && args->type == JSON_OBJECT);
    const struct json_value *file = json_get(args, "file");
    const struct json_value *fn = json_get(file, "filename");
    CHECK(fn && fn->type == JSON_STRING && strcmp(fn->u.s, "/tmp/a.img") == 0);
    CHECK(json_get(v, "id") && json_get(v, "id")->u.i == 7);
    CHECK(json_get(v, "missing") == NULL);
    CHECK(json_get(v, "Execute") == NULL);    /* names are case-sensitive */
    CHECK(json_get(args, "filename") == NULL); /* not searched recursively */
    /* member names keep their input order */
    if (v && v->u.a.n == 3)
        CHECK(strcmp(v->u.a.keys[0], "execute") == 0 && strcmp(v->u.a.keys[2], "id") == 0);
    json_free(v);

    /* a repeated name: json_get gives the last */
    v = parse("{\"a\": 1, \"b\": 2, \"a\": 3}");
    CHECK(v && v->u.a.n == 3);
    CHECK(json_get(v, "a") && json_get(v, "a")->u.i == 3);
    json_free(v);
    /* escapes in member names are decoded */
    v = parse("{\"\\u0061\\n\": true, \"\": false}");
    CHECK(json_get(v, "a\n") && json_get(v, "a\n")->u.b);
    CHECK(json_get(v, "") && !json_get(v, "")->u.b);
    json_free(v);

    /* nesting up to JSON_MAX_DEPTH containers is allowed, one more is not */
    char deep[2 * JSON_MAX_DEPTH + 8];
    for (int i = 0; i < JSON_MAX_DEPTH; i++) {
        deep[i] = '[';
        deep[JSON_MAX_DEPTH + i] = ']';
    }
    deep[2 * JSON_MAX_DEPTH] = 0;
    v = parse(deep);
    CHECK(v != NULL);
    json_free(v);
    char deeper[2 * JSON_MAX_DEPTH + 8];
    deeper[0] = '[';
    memcpy(deeper + 1, deep, 2 * JSON_MAX_DEPTH);
    deeper[2 * JSON_MAX_DEPTH + 1] = ']';
    deeper[2 * JSON_MAX_DEPTH + 2] = 0;
    bad(deeper, JSON_MAX_DEPTH, "nested too deeply");
    /* the same with objects */
    char objs[12 * (JSON_MAX_DEPTH + 1) + 8], *o = objs;
    for (int i = 0; i <= JSON_MAX_DEPTH; i++)
        o += sprintf(o, "{\"k\":");
    o += sprintf(o, "1");
    for (int i = 0; i <= JSON_MAX_DEPTH; i++)
        *o++ = '}';
    *o = 0;
    bad(objs, 5 * JSON_MAX_DEPTH, "nested too deeply");

    /* many members: the arrays grow */
    char big[6 * 2000 + 8];
    o = big;
    *o++ = '[';
    for (int i = 0; i < 2000; i++)
        o += sprintf(o, "%s%d", i ? "," : "", i);
    *o++ = ']';
    *o = 0;
    v = parse(big);
    CHECK(v && v->type == JSON_ARRAY && v->u.a.n == 2000);
    if (v && v->u.a.n == 2000)
        CHECK(v->u.a.v[1999]->u.i == 1999);
    json_free(v);

    /* a string holds about its own length, whatever follows it (it held
     * the rest of the input: many short strings took quadratic memory) */
    size_t n = 3 * 20000 + 8;
    char *many = malloc(n);
    CHECK(many != NULL);
    if (!many)
        return;
    o = many;
    *o++ = '[';
    for (int i = 0; i < 20000; i++)
        o += sprintf(o, "%s\"\"", i ? "," : "");
    *o++ = ']';
    v = parse_n(many, o - many);
    CHECK(v && v->u.a.n == 20000);
#ifdef __GLIBC__
    if (v && v->u.a.n == 20000)
        CHECK(malloc_usable_size(v->u.a.v[0]->u.s) < 64);
#endif
    json_free(v);
    free(many);
}

static void test_end(void)
{
    /* with END, trailing bytes are left to the caller */
    struct json_value *v = NULL;
    size_t end = 0;
    const char *s = " {\"a\": 1} \n{\"b\": 2}";
    CHECK(json_parse(&v, s, strlen(s), &end, NULL) == 0);
    CHECK(v && json_get(v, "a"));
    CHECK_U64(end, 11);         /* past the blanks after the value */
    json_free(v);
    CHECK(json_parse(&v, s + end, strlen(s + end), &end, NULL) == 0);
    CHECK(v && json_get(v, "b"));
    CHECK_U64(end, 8);
    json_free(v);
    /* LEN is the end: a NUL or anything after it is not looked at */
    v = parse_n("[1]xyz", 3);
    CHECK(v && v->type == JSON_ARRAY);
    json_free(v);
    /* errors without errp are still errors */
    v = NULL;
    CHECK(json_parse(&v, "[", 1, NULL, NULL) == -EINVAL);
    CHECK(v == NULL);
}

static void test_invalid(void)
{
    bad("", 0, "unexpected end of input");
    bad("   ", 3, "unexpected end of input");
    bad("nul", 0, "unexpected character");
    bad("True", 0, "unexpected character");
    bad("'a'", 0, "unexpected character");
    bad("1 2", 2, "trailing characters");
    bad("{} x", 3, "trailing characters");
    bad("truex", 4, "trailing characters");
    bad("[1] ]", 4, "trailing characters");

    /* containers */
    bad("[", 1, "unexpected end of input");
    bad("[1", 2, "expected ',' or ']'");
    bad("[1,", 3, "unexpected end of input");
    bad("[1,]", 3, "unexpected character");
    bad("[1 2]", 3, "expected ',' or ']'");
    bad("{", 1, "expected a member name");
    bad("{\"a\"", 4, "expected ':'");
    bad("{\"a\":", 5, "unexpected end of input");
    bad("{\"a\":1", 6, "expected ',' or '}'");
    bad("{\"a\":1,}", 7, "expected a member name");
    bad("{a:1}", 1, "expected a member name");
    bad("{\"a\" 1}", 5, "expected ':'");
    bad("{\"a\":1]", 6, "expected ',' or '}'");
    bad("[1}", 2, "expected ',' or ']'");
    bad("{1:2}", 1, "expected a member name");

    /* strings */
    bad("\"abc", 4, "unterminated string");
    bad("\"abc\\", 5, "unterminated string");
    bad("[\"a]", 4, "unterminated string");
    bad("\"\\x\"", 3, "bad escape");
    bad("\"\\U0041\"", 3, "bad escape");
    bad("\"\\'\"", 3, "bad escape");
    bad("\"\\u12\"", 3, "short \\u escape");
    bad("\"\\u12g4\"", 6, "bad \\u escape");
    bad("\"a\tb\"", 2, "control character");
    bad("\"a\nb\"", 2, "control character");
    bad_n("\"a\0b\"", 5, 2, "control character");
    bad("\"\\u0000\"", 7, "NUL in a string");
    /* lone surrogates: high without low, low alone, high with a non-low */
    bad("\"\\ud83d\"", 7, "lone surrogate");
    bad("\"\\ud83dx\"", 7, "lone surrogate");
    bad("\"\\ud83d\\n\"", 7, "lone surrogate");
    bad("\"\\ude00\"", 7, "lone surrogate");
    bad("\"\\ud83d\\ud83d\"", 13, "lone surrogate");
    bad("\"\\ud83d\\u0041\"", 13, "lone surrogate");
    bad("\"\\ud83d\\uzzzz\"", 10, "bad \\u escape");
    /* invalid UTF-8: stray continuation, bad lead bytes, truncation,
     * overlong forms, UTF-16 surrogates encoded, beyond U+10FFFF */
    bad("\"\x80\"", 1, "invalid UTF-8");
    bad("\"ab\xbf\"", 3, "invalid UTF-8");
    bad("\"\xff\"", 1, "invalid UTF-8");
    bad("\"\xfe\"", 1, "invalid UTF-8");
    bad("\"\xc3\"", 1, "invalid UTF-8");
    bad("\"\xc3", 1, "invalid UTF-8");
    bad("\"\xe2\x82\"", 1, "invalid UTF-8");
    bad("\"\xf0\x9f\x98\"", 1, "invalid UTF-8");
    bad("\"\xc3\x28\"", 1, "invalid UTF-8");
    bad("\"\xc0\xaf\"", 1, "invalid UTF-8");          /* overlong '/' */
    bad("\"\xc1\xbf\"", 1, "invalid UTF-8");
    bad("\"\xe0\x80\xaf\"", 1, "invalid UTF-8");      /* overlong, 3 bytes */
    bad("\"\xe0\x9f\xbf\"", 1, "invalid UTF-8");
    bad("\"\xf0\x80\x80\xaf\"", 1, "invalid UTF-8");  /* overlong, 4 bytes */
    bad("\"\xf0\x8f\xbf\xbf\"", 1, "invalid UTF-8");
    bad("\"\xed\xa0\x80\"", 1, "invalid UTF-8");      /* U+D800 */
    bad("\"\xed\xbf\xbf\"", 1, "invalid UTF-8");      /* U+DFFF */
    bad("\"\xf4\x90\x80\x80\"", 1, "invalid UTF-8");  /* U+110000 */
    bad("\"\xf5\x80\x80\x80\"", 1, "invalid UTF-8");
    bad("{\"\xff\":1}", 2, "invalid UTF-8");          /* in a member name */

    /* numbers */
    bad("-", 1, "bad number");
    bad("-a", 1, "bad number");
    bad("+1", 0, "unexpected character");
    bad(".5", 0, "unexpected character");
    bad("-.5", 1, "bad number");
    bad("01", 0, "leading zero");
    bad("-01", 1, "leading zero");
    bad("00", 0, "leading zero");
    bad("1.", 2, "bad number");
    bad("1.e5", 2, "bad number");
    bad("1e", 2, "bad number");
    bad("1e+", 3, "bad number");
    bad("1E-", 3, "bad number");
    bad("[1.]", 3, "bad number");
    bad("1.5.5", 3, "trailing characters");
    bad("[1.5.5]", 4, "expected ',' or ']'");
    bad("1e5e5", 3, "trailing characters");
    bad("0x10", 1, "trailing characters");
    bad("1ee5", 2, "bad number");
    bad("Infinity", 0, "unexpected character");
    bad("NaN", 0, "unexpected character");
    bad("9223372036854775808", 19, "integer out of range");
    bad("-9223372036854775809", 20, "integer out of range");
    bad("123456789012345678901234567890", 30, "integer out of range");
    bad("1e400", 5, "bad number");
    bad("-1e400", 6, "bad number");
    char longnum[80];
    memset(longnum, '1', 70);
    longnum[70] = 0;
    bad(longnum, 70, "number too long");
}

int main(void)
{
    test_scalars();
    test_containers();
    test_end();
    test_invalid();
    return unit_result();
}
