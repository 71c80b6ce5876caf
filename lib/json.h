/* json.h - JSON values (RFC 8259): parse and print.
 *
 * For QMP and the JSON forms of options (-blockdev '{...}').  Input is
 * untrusted: nesting is bounded (JSON_MAX_DEPTH), strings must be valid
 * UTF-8 after unescaping (\u surrogate pairs joined, lone surrogates and
 * NUL refused), numbers must fit an int64 or a double, and every error
 * names its byte offset.
 */
#ifndef EMU_JSON_H
#define EMU_JSON_H

#include "common.h"
#include "error.h"

#define JSON_MAX_DEPTH 64

enum json_type { JSON_NULL, JSON_BOOL, JSON_INT, JSON_DOUBLE, JSON_STRING, JSON_ARRAY,
                 JSON_OBJECT };

struct json_value {
    enum json_type type;
    union {
        bool b;
        int64_t i;
        double d;
        char *s;
        struct {
            struct json_value **v;
            char **keys;        /* objects: the member names, in input order */
            size_t n;
        } a;                    /* arrays and objects */
    } u;
};

/* Parse exactly one value from [s, s + len) (blanks around it allowed).
 * *end (if not NULL) gets the offset just past it, and trailing bytes are
 * then allowed; else they are an error. */
int json_parse(struct json_value **out, const char *s, size_t len, size_t *end,
               struct error **errp);
void json_free(struct json_value *v);
/* Object member by name (the last one if repeated), or NULL. */
struct json_value *json_get(const struct json_value *obj, const char *key);

#endif
