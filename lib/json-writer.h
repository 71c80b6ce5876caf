/* json-writer.h - build JSON text (QMP replies and events, --output=json).
 *
 *     struct json_writer w;
 *     jw_init(&w);
 *     jw_obj_begin(&w, NULL);
 *     jw_str(&w, "status", "running");
 *     jw_bool(&w, "running", true);
 *     jw_obj_end(&w);
 *     ... w.buf, w.len ...
 *     jw_free(&w);
 *
 * Members (a key) inside objects, elements (key NULL) inside arrays;
 * commas are placed by the writer.  Strings are escaped as RFC 8259 asks
 * (control characters as \u00XX; other bytes as given: callers pass
 * UTF-8).  Out of memory makes the writer "failed" (w.failed) and later
 * calls no-ops, so callers check once at the end.
 */
#ifndef EMU_JSON_WRITER_H
#define EMU_JSON_WRITER_H

#include "common.h"
#include "json.h"

struct json_writer {
    char *buf;
    size_t len, cap;
    bool failed;
    int depth;
    bool first[JSON_MAX_DEPTH + 1];     /* nothing written yet at this depth */
};

void jw_init(struct json_writer *w);
void jw_free(struct json_writer *w);
void jw_obj_begin(struct json_writer *w, const char *key);
void jw_obj_end(struct json_writer *w);
void jw_arr_begin(struct json_writer *w, const char *key);
void jw_arr_end(struct json_writer *w);
void jw_str(struct json_writer *w, const char *key, const char *s);
void jw_int(struct json_writer *w, const char *key, int64_t v);
void jw_uint(struct json_writer *w, const char *key, uint64_t v);
void jw_bool(struct json_writer *w, const char *key, bool v);
void jw_null(struct json_writer *w, const char *key);
/* TEXT, which must be one complete JSON value, as it is. */
void jw_raw(struct json_writer *w, const char *key, const char *text);
/* A parsed value, written back as JSON. */
void jw_value(struct json_writer *w, const char *key, const struct json_value *v);

#endif
