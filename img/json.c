/* json.c - the JSON printer for --output=json, laid out like qemu-img's
 * (four-space indentation, one member per line). */
#include <config.h>

#include <string.h>
#include "img.h"

void json_init(struct json *j, FILE *fp)
{
    memset(j, 0, sizeof(*j));
    j->fp = fp;
    j->first[0] = true;
}

static void indent(struct json *j, int depth)
{
    for (int i = 0; i < depth; i++)
        fputs("    ", j->fp);
}

static void put_string(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", fp); break;
        case '\\': fputs("\\\\", fp); break;
        case '\n': fputs("\\n", fp); break;
        case '\r': fputs("\\r", fp); break;
        case '\t': fputs("\\t", fp); break;
        case '\b': fputs("\\b", fp); break;
        case '\f': fputs("\\f", fp); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                fprintf(fp, "\\u%04x", *p);
            else
                fputc(*p, fp);
        }
    }
    fputc('"', fp);
}

/* Start a member (or element) at the current depth. */
static void member(struct json *j, const char *key)
{
    if (j->depth > 0) {
        fputs(j->first[j->depth] ? "\n" : ",\n", j->fp);
        indent(j, j->depth);
    }
    j->first[j->depth] = false;
    if (key) {
        put_string(j->fp, key);
        fputs(": ", j->fp);
    }
}

static void open_(struct json *j, const char *key, char c)
{
    member(j, key);
    fputc(c, j->fp);
    if (j->depth < 31)
        j->depth++;
    j->first[j->depth] = true;
}

/* Empty containers too are closed on their own line, as qemu-img does. */
static void close_(struct json *j, char c)
{
    j->depth--;
    fputc('\n', j->fp);
    indent(j, j->depth);
    fputc(c, j->fp);
}

void json_obj_begin(struct json *j, const char *key) { open_(j, key, '{'); }
void json_obj_end(struct json *j) { close_(j, '}'); }
void json_arr_begin(struct json *j, const char *key) { open_(j, key, '['); }
void json_arr_end(struct json *j) { close_(j, ']'); }

void json_int(struct json *j, const char *key, int64_t v)
{
    member(j, key);
    fprintf(j->fp, "%" PRId64, v);
}

void json_uint(struct json *j, const char *key, uint64_t v)
{
    member(j, key);
    fprintf(j->fp, "%" PRIu64, v);
}

void json_str(struct json *j, const char *key, const char *s)
{
    member(j, key);
    put_string(j->fp, s);
}

void json_bool(struct json *j, const char *key, bool b)
{
    member(j, key);
    fputs(b ? "true" : "false", j->fp);
}

void json_finish(struct json *j)
{
    fputc('\n', j->fp);
}
