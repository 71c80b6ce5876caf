/* json-writer.c - JSON text out (see json-writer.h). */
#include <config.h>
#include <stdio.h>
#include <string.h>
#include "json-writer.h"

void jw_init(struct json_writer *w)
{
    memset(w, 0, sizeof(*w));
    w->first[0] = true;
}

void jw_free(struct json_writer *w)
{
    free(w->buf);
    jw_init(w);
}

static void put(struct json_writer *w, const char *s, size_t n)
{
    if (w->failed)
        return;
    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + n + 1)
            cap *= 2;
        char *b = realloc(w->buf, cap);
        if (!b) {
            w->failed = true;
            return;
        }
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = 0;
}

static void put_s(struct json_writer *w, const char *s)
{
    put(w, s, strlen(s));
}

static void put_string(struct json_writer *w, const char *s)
{
    put(w, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(w, run, (size_t)(s - run));
        char esc[8];
        switch (c) {
        case '"': put_s(w, "\\\""); break;
        case '\\': put_s(w, "\\\\"); break;
        case '\n': put_s(w, "\\n"); break;
        case '\r': put_s(w, "\\r"); break;
        case '\t': put_s(w, "\\t"); break;
        default:
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            put_s(w, esc);
        }
        run = s + 1;
    }
    put(w, run, (size_t)(s - run));
    put(w, "\"", 1);
}

/* The comma and the key before a value. */
static void prefix(struct json_writer *w, const char *key)
{
    if (!w->first[w->depth])
        put(w, ", ", 2);
    w->first[w->depth] = false;
    if (key) {
        put_string(w, key);
        put(w, ": ", 2);
    }
}

static void open_c(struct json_writer *w, const char *key, const char *c)
{
    prefix(w, key);
    put_s(w, c);
    if (w->depth < JSON_MAX_DEPTH)
        w->depth++;
    else
        w->failed = true;
    w->first[w->depth] = true;
}

static void close_c(struct json_writer *w, const char *c)
{
    if (w->depth > 0)
        w->depth--;
    put_s(w, c);
}

void jw_obj_begin(struct json_writer *w, const char *key) { open_c(w, key, "{"); }
void jw_obj_end(struct json_writer *w) { close_c(w, "}"); }
void jw_arr_begin(struct json_writer *w, const char *key) { open_c(w, key, "["); }
void jw_arr_end(struct json_writer *w) { close_c(w, "]"); }

void jw_str(struct json_writer *w, const char *key, const char *s)
{
    prefix(w, key);
    put_string(w, s ? s : "");
}

void jw_int(struct json_writer *w, const char *key, int64_t v)
{
    char b[32];
    snprintf(b, sizeof(b), "%" PRId64, v);
    prefix(w, key);
    put_s(w, b);
}

void jw_uint(struct json_writer *w, const char *key, uint64_t v)
{
    char b[32];
    snprintf(b, sizeof(b), "%" PRIu64, v);
    prefix(w, key);
    put_s(w, b);
}

void jw_bool(struct json_writer *w, const char *key, bool v)
{
    prefix(w, key);
    put_s(w, v ? "true" : "false");
}

void jw_null(struct json_writer *w, const char *key)
{
    prefix(w, key);
    put_s(w, "null");
}

void jw_raw(struct json_writer *w, const char *key, const char *text)
{
    prefix(w, key);
    put_s(w, text);
}

void jw_value(struct json_writer *w, const char *key, const struct json_value *v)
{
    char b[40];
    switch (v->type) {
    case JSON_NULL: jw_null(w, key); break;
    case JSON_BOOL: jw_bool(w, key, v->u.b); break;
    case JSON_INT: jw_int(w, key, v->u.i); break;
    case JSON_DOUBLE:
        snprintf(b, sizeof(b), "%.17g", v->u.d);
        prefix(w, key);
        put_s(w, b);
        break;
    case JSON_STRING: jw_str(w, key, v->u.s); break;
    case JSON_ARRAY:
    case JSON_OBJECT:
        open_c(w, key, v->type == JSON_OBJECT ? "{" : "[");
        for (size_t i = 0; i < v->u.a.n; i++)
            jw_value(w, v->type == JSON_OBJECT ? v->u.a.keys[i] : NULL, v->u.a.v[i]);
        close_c(w, v->type == JSON_OBJECT ? "}" : "]");
        break;
    }
}
