/* json.c - a JSON parser for untrusted input (see json.h). */
#include <config.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "json.h"
#include "i18n.h"

struct jp {
    const char *s;
    size_t len, pos;
    struct error **errp;
};

static int fail(struct jp *p, const char *what)
{
    return err_set(p->errp, EINVAL, _("JSON parse error at byte %zu: %s"), p->pos, what);
}

static void skip_ws(struct jp *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                               p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static struct json_value *new_value(enum json_type t)
{
    struct json_value *v = calloc(1, sizeof(*v));
    if (v)
        v->type = t;
    return v;
}

void json_free(struct json_value *v)
{
    if (!v)
        return;
    if (v->type == JSON_STRING)
        free(v->u.s);
    if (v->type == JSON_ARRAY || v->type == JSON_OBJECT) {
        for (size_t i = 0; i < v->u.a.n; i++) {
            json_free(v->u.a.v[i]);
            if (v->u.a.keys)
                free(v->u.a.keys[i]);
        }
        free(v->u.a.v);
        free(v->u.a.keys);
    }
    free(v);
}

static int hex4(struct jp *p, unsigned *out)
{
    if (p->len - p->pos < 4)
        return fail(p, "short \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->pos++];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return fail(p, "bad \\u escape");
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t k;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        k = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        k = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        k = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((k == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (k == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return k;
}

static int parse_string(struct jp *p, char **out)
{
    p->pos++;                   /* the opening quote */
    /* The result is never longer than its input up to the closing quote
     * (or the end).  Sized from that, not from the rest of the input: a
     * document of many short strings then held (input size)^2 / 2 bytes
     * (a 300 KiB one of empty strings took 15 GB). */
    size_t raw = p->pos;
    while (raw < p->len && p->s[raw] != '"')
        raw += p->s[raw] == '\\' ? 2 : 1;
    char *o = malloc(MIN(raw, p->len) - p->pos + 1);
    if (!o)
        return err_set(p->errp, ENOMEM, _("out of memory"));
    size_t k = 0;
    for (;;) {
        if (p->pos >= p->len) {
            free(o);
            return fail(p, "unterminated string");
        }
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20) {
            free(o);
            return fail(p, "control character in a string");
        }
        if (c != '\\') {
            size_t n = utf8_len((const unsigned char *)p->s + p->pos, p->len - p->pos);
            if (!n) {
                free(o);
                return fail(p, "invalid UTF-8");
            }
            memcpy(o + k, p->s + p->pos, n);
            k += n;
            p->pos += n;
            continue;
        }
        p->pos++;
        if (p->pos >= p->len) {
            free(o);
            return fail(p, "unterminated string");
        }
        char e = p->s[p->pos++];
        unsigned cp;
        switch (e) {
        case '"': o[k++] = '"'; break;
        case '\\': o[k++] = '\\'; break;
        case '/': o[k++] = '/'; break;
        case 'b': o[k++] = '\b'; break;
        case 'f': o[k++] = '\f'; break;
        case 'n': o[k++] = '\n'; break;
        case 'r': o[k++] = '\r'; break;
        case 't': o[k++] = '\t'; break;
        case 'u':
            if (hex4(p, &cp) < 0) {
                free(o);
                return -EINVAL;
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                unsigned lo;
                if (p->len - p->pos < 6 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
                    free(o);
                    return fail(p, "lone surrogate");
                }
                p->pos += 2;
                if (hex4(p, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff) {
                    free(o);
                    return fail(p, "lone surrogate");
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if ((cp >= 0xdc00 && cp <= 0xdfff) || cp == 0) {
                free(o);
                return fail(p, cp ? "lone surrogate" : "NUL in a string");
            }
            /* an escape is 6 input bytes; its UTF-8 at most 4 */
            k += put_utf8(o + k, cp);
            break;
        default:
            free(o);
            return fail(p, "bad escape");
        }
    }
    o[k] = 0;
    *out = o;
    return 0;
}

/* Skip a run of digits; false when there was none. */
static bool skip_digits(struct jp *p)
{
    size_t start = p->pos;
    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
        p->pos++;
    return p->pos > start;
}

static int parse_number(struct jp *p, struct json_value **out)
{
    size_t start = p->pos;
    bool is_float = false;
    if (p->s[p->pos] == '-')
        p->pos++;
    if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
        return fail(p, "bad number");
    if (p->s[p->pos] == '0' && p->pos + 1 < p->len && p->s[p->pos + 1] >= '0' &&
        p->s[p->pos + 1] <= '9')
        return fail(p, "leading zero");
    /* RFC 8259's grammar, scanned here: strtod() alone would take "1."
     * and "1.e5", which JSON refuses. */
    skip_digits(p);
    if (p->pos < p->len && p->s[p->pos] == '.') {
        is_float = true;
        p->pos++;
        if (!skip_digits(p))
            return fail(p, "bad number");
    }
    if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        is_float = true;
        p->pos++;
        if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
            p->pos++;
        if (!skip_digits(p))
            return fail(p, "bad number");
    }
    char buf[64];
    size_t n = p->pos - start;
    if (n >= sizeof(buf))
        return fail(p, "number too long");
    memcpy(buf, p->s + start, n);
    buf[n] = 0;
    char *endp;
    struct json_value *v;
    errno = 0;
    if (!is_float) {
        long long i = strtoll(buf, &endp, 10);
        if (*endp || errno)
            return fail(p, "integer out of range");
        if (!(v = new_value(JSON_INT)))
            return err_set(p->errp, ENOMEM, _("out of memory"));
        v->u.i = i;
    } else {
        double d = strtod(buf, &endp);
        if (*endp || !isfinite(d))
            return fail(p, "bad number");
        if (!(v = new_value(JSON_DOUBLE)))
            return err_set(p->errp, ENOMEM, _("out of memory"));
        v->u.d = d;
    }
    *out = v;
    return 0;
}

static int parse_value(struct jp *p, struct json_value **out, int depth);

static int append(struct jp *p, struct json_value *c, struct json_value *v, char *key)
{
    size_t n = c->u.a.n + 1;
    /* The arrays hold a power of 2 of entries: grown one entry at a time
     * they were copied at every member (quadratic; 20000 members took
     * seconds under ASan, whose realloc always moves). */
    if (c->u.a.n == 0 || IS_POW2(c->u.a.n)) {
        size_t cap = c->u.a.n ? 2 * c->u.a.n : 1;
        struct json_value **nv = realloc(c->u.a.v, cap * sizeof(*nv));
        if (nv)
            c->u.a.v = nv;
        char **nk = c->type == JSON_OBJECT && nv ? realloc(c->u.a.keys, cap * sizeof(*nk))
                                                 : NULL;
        if (nk)
            c->u.a.keys = nk;
        if (!nv || (c->type == JSON_OBJECT && !nk)) {
            json_free(v);
            free(key);
            return err_set(p->errp, ENOMEM, _("out of memory"));
        }
    }
    c->u.a.v[c->u.a.n] = v;
    if (c->type == JSON_OBJECT)
        c->u.a.keys[c->u.a.n] = key;
    c->u.a.n = n;
    return 0;
}

static int parse_container(struct jp *p, struct json_value **out, int depth, bool obj)
{
    if (depth >= JSON_MAX_DEPTH)
        return fail(p, "nested too deeply");
    struct json_value *c = new_value(obj ? JSON_OBJECT : JSON_ARRAY);
    if (!c)
        return err_set(p->errp, ENOMEM, _("out of memory"));
    char close = obj ? '}' : ']';
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        *out = c;
        return 0;
    }
    for (;;) {
        char *key = NULL;
        skip_ws(p);
        if (obj) {
            if (p->pos >= p->len || p->s[p->pos] != '"') {
                json_free(c);
                return fail(p, "expected a member name");
            }
            if (parse_string(p, &key) < 0) {
                json_free(c);
                return -EINVAL;
            }
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') {
                free(key);
                json_free(c);
                return fail(p, "expected ':'");
            }
            p->pos++;
        }
        struct json_value *v;
        int r = parse_value(p, &v, depth + 1);
        if (r < 0 || (r = append(p, c, v, key)) < 0) {
            if (r < 0 && key && !v)
                free(key);
            json_free(c);
            return r;
        }
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == close) {
            p->pos++;
            *out = c;
            return 0;
        }
        json_free(c);
        return fail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static bool word(struct jp *p, const char *w)
{
    size_t n = strlen(w);
    if (p->len - p->pos >= n && memcmp(p->s + p->pos, w, n) == 0) {
        p->pos += n;
        return true;
    }
    return false;
}

static int parse_value(struct jp *p, struct json_value **out, int depth)
{
    *out = NULL;
    skip_ws(p);
    if (p->pos >= p->len)
        return fail(p, "unexpected end of input");
    char c = p->s[p->pos];
    struct json_value *v = NULL;
    if (c == '{' || c == '[')
        return parse_container(p, out, depth, c == '{');
    if (c == '"') {
        char *s;
        if (parse_string(p, &s) < 0)
            return -EINVAL;
        if (!(v = new_value(JSON_STRING))) {
            free(s);
            return err_set(p->errp, ENOMEM, _("out of memory"));
        }
        v->u.s = s;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        return parse_number(p, out);
    } else if (word(p, "true") || word(p, "false")) {
        if (!(v = new_value(JSON_BOOL)))
            return err_set(p->errp, ENOMEM, _("out of memory"));
        v->u.b = c == 't';
    } else if (word(p, "null")) {
        if (!(v = new_value(JSON_NULL)))
            return err_set(p->errp, ENOMEM, _("out of memory"));
    } else {
        return fail(p, "unexpected character");
    }
    *out = v;
    return 0;
}

int json_parse(struct json_value **out, const char *s, size_t len, size_t *end,
               struct error **errp)
{
    struct jp p = { s, len, 0, errp };
    struct json_value *v;
    int r = parse_value(&p, &v, 0);
    if (r < 0)
        return r;
    skip_ws(&p);
    if (end) {
        *end = p.pos;
    } else if (p.pos != len) {
        json_free(v);
        return fail(&p, "trailing characters");
    }
    *out = v;
    return 0;
}

struct json_value *json_get(const struct json_value *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT)
        return NULL;
    for (size_t i = obj->u.a.n; i-- > 0;)
        if (strcmp(obj->u.a.keys[i], key) == 0)
            return obj->u.a.v[i];
    return NULL;
}
