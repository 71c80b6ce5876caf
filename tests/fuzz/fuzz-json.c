/* fuzz-json.c - fuzz target for lib/json.c and lib/keyval.c (QMP and
 * -blockdev take both from untrusted hands).
 *
 * LLVMFuzzerTestOneInput() parses the input as one JSON document, then
 * again leaving trailing bytes to the caller, checks what it got (strings
 * valid UTF-8 without NUL, nesting within JSON_MAX_DEPTH, every error a
 * one-line message naming a byte offset inside the input), and feeds the
 * NUL-terminated input to kv_parse_json (objects flattened to dotted
 * keys) and to kv_parse (key=value strings).  Nothing may crash, leak or
 * abort.
 *
 * In `make check` it is linked with fuzz-replay.c (tests/shell/json-fuzz.sh);
 * tests/fuzz/build-libfuzzer.sh builds it for libFuzzer. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "keyval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether the NUL-terminated S is valid UTF-8 (no surrogates, nothing
 * past U+10FFFF, no overlong forms). */
static bool valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p, n, cp, min;
        if (c < 0x80) {
            p++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        for (unsigned i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += n + 1;
    }
    return true;
}

/* Check V (at nesting DEPTH containers); abort on a broken invariant. */
static void check_value(const struct json_value *v, int depth)
{
    if (!v)
        abort();
    switch (v->type) {
    case JSON_STRING:
        if (!v->u.s || !valid_utf8(v->u.s))
            abort();
        break;
    case JSON_ARRAY:
    case JSON_OBJECT:
        if (depth >= JSON_MAX_DEPTH)
            abort();
        for (size_t i = 0; i < v->u.a.n; i++) {
            if (v->type == JSON_OBJECT) {
                if (!v->u.a.keys[i] || !valid_utf8(v->u.a.keys[i]))
                    abort();
                /* json_get finds the last member of that name */
                const struct json_value *g = json_get(v, v->u.a.keys[i]);
                if (!g || (g != v->u.a.v[i] && i + 1 == v->u.a.n))
                    abort();
            }
            check_value(v->u.a.v[i], depth + 1);
        }
        break;
    case JSON_NULL:
    case JSON_BOOL:
    case JSON_INT:
    case JSON_DOUBLE:
        break;
    default:
        abort();
    }
}

/* A parse error: one line, naming a byte offset within the input. */
static void check_error(struct error *err, size_t size)
{
    if (!err || !err_msg(err) || strchr(err_msg(err), '\n'))
        abort();
    const char *at = strstr(err_msg(err), "at byte ");
    if (at && strtoull(at + 8, NULL, 10) > size)
        abort();
    err_free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct json_value *v = NULL;
    struct error *err = NULL;
    if (json_parse(&v, s, size, NULL, &err) == 0) {
        check_value(v, 0);
        json_free(v);
    } else {
        check_error(err, size);
    }

    /* the same leaving trailing bytes to us: END stays inside the input */
    size_t end = SIZE_MAX;
    err = NULL;
    if (json_parse(&v, s, size, &end, &err) == 0) {
        if (end > size)
            abort();
        check_value(v, 0);
        json_free(v);
    } else {
        check_error(err, size);
    }

    /* the key=value layer takes C strings */
    char *str = malloc(size + 1);
    if (!str)
        return 0;
    memcpy(str, data, size);
    str[size] = 0;
    struct kv *kv = NULL;
    err = NULL;
    if (kv_parse_json(&kv, str, &err) == 0) {
        for (int i = 0; i < kv->n; i++)
            if (!kv->p[i].key || !kv->p[i].val || !kv_get(kv, kv->p[i].key))
                abort();
        if (kv_check_used(kv, NULL) != 0)
            abort();
        kv_free(kv);
    } else {
        err_free(err);
    }
    err = NULL;
    if (kv_parse(&kv, str, size & 1 ? "driver" : NULL, &err) == 0) {
        bool b;
        uint64_t n;
        static const char *const choices[] = { "none", "writeback", NULL };
        kv_get_bool(kv, "readonly", false, &b, NULL);
        kv_get_size(kv, "size", 0, &n, NULL);
        kv_get_choice(kv, "cache", choices, 0, NULL);
        kv_check_used(kv, NULL);
        kv_free(kv);
    } else {
        if (!err)               /* (its message quotes the input: newlines and all) */
            abort();
        err_free(err);
    }
    free(str);
    return 0;
}
