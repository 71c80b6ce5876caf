/* keyval.c - qemu-style "key=value,..." option strings (see keyval.h). */
#include <config.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "keyval.h"
#include "i18n.h"
#include "json.h"
#include "parse.h"
#include <stdio.h>

struct kv *kv_new(void)
{
    return calloc(1, sizeof(struct kv));
}

void kv_free(struct kv *kv)
{
    if (!kv)
        return;
    for (int i = 0; i < kv->n; i++) {
        free(kv->p[i].key);
        free(kv->p[i].val);
    }
    free(kv->p);
    free(kv);
}

static struct kv_pair *find(const struct kv *kv, const char *key)
{
    for (int i = kv->n - 1; i >= 0; i--)
        if (strcmp(kv->p[i].key, key) == 0)
            return &kv->p[i];
    return NULL;
}

int kv_set(struct kv *kv, const char *key, const char *val)
{
    char *v = strdup(val);
    if (!v)
        return -ENOMEM;
    struct kv_pair *p = find(kv, key);
    if (p) {
        free(p->val);
        p->val = v;
        return 0;
    }
    struct kv_pair *np = realloc(kv->p, (size_t)(kv->n + 1) * sizeof(*np));
    char *k = strdup(key);
    if (!np || !k) {
        if (np)
            kv->p = np;
        free(k);
        free(v);
        return -ENOMEM;
    }
    kv->p = np;
    kv->p[kv->n++] = (struct kv_pair){ k, v, false };
    return 0;
}

/* Add KEY=VAL as a pair of its own even when KEY is there already. */
static int kv_append(struct kv *kv, const char *key, const char *val)
{
    if (!find(kv, key))
        return kv_set(kv, key, val);
    struct kv_pair *np = realloc(kv->p, (size_t)(kv->n + 1) * sizeof(*np));
    if (!np)
        return -ENOMEM;
    kv->p = np;
    char *k = strdup(key), *v = strdup(val);
    if (!k || !v) {
        free(k);
        free(v);
        return -ENOMEM;
    }
    kv->p[kv->n++] = (struct kv_pair){ k, v, false };
    return 0;
}

static bool in_list(const char *const *list, const char *key)
{
    for (int i = 0; list && list[i]; i++)
        if (strcmp(list[i], key) == 0)
            return true;
    return false;
}

int kv_parse(struct kv **out, const char *str, const char *implied_key, struct error **errp)
{
    return kv_parse_list(out, str, implied_key, NULL, errp);
}

int kv_parse_list(struct kv **out, const char *str, const char *implied_key,
                  const char *const *lists, struct error **errp)
{
    struct kv *kv = kv_new();
    size_t len = strlen(str);
    char *item = malloc(len + 1);
    if (!kv || !item) {
        kv_free(kv);
        free(item);
        return err_set(errp, ENOMEM, _("out of memory"));
    }
    const char *s = str;
    bool first = true;
    int ret = 0;
    while (ret == 0) {
        /* one item, with ",," turned into ',' */
        size_t k = 0;
        while (*s) {
            if (*s == ',' && s[1] == ',') {
                item[k++] = ',';
                s += 2;
            } else if (*s == ',') {
                break;
            } else {
                item[k++] = *s++;
            }
        }
        item[k] = 0;
        char *eq = strchr(item, '=');
        if (!eq && first && implied_key && k) {
            if (kv_set(kv, implied_key, item) < 0)
                ret = err_set(errp, ENOMEM, _("out of memory"));
        } else if (!eq) {
            if (k || *s)
                ret = err_set(errp, EINVAL, k ? _("Invalid parameter '%s'")
                                              : _("empty parameter in '%s'"), k ? item : str);
        } else {
            *eq = 0;
            if (!*item)
                ret = err_set(errp, EINVAL, _("a parameter without a name in '%s'"), str);
            else if ((in_list(lists, item) ? kv_append(kv, item, eq + 1)
                                           : kv_set(kv, item, eq + 1)) < 0)
                ret = err_set(errp, ENOMEM, _("out of memory"));
        }
        first = false;
        if (!*s)
            break;
        s++;                    /* the ',' */
    }
    free(item);
    if (ret < 0) {
        kv_free(kv);
        return ret;
    }
    *out = kv;
    return 0;
}

const char *kv_get(struct kv *kv, const char *key)
{
    const char *v = NULL;
    /* every occurrence is used: the last one wins */
    for (int i = 0; i < kv->n; i++)
        if (strcmp(kv->p[i].key, key) == 0) {
            kv->p[i].used = true;
            v = kv->p[i].val;
        }
    return v;
}

int kv_get_bool(struct kv *kv, const char *key, bool def, bool *out, struct error **errp)
{
    const char *v = kv_get(kv, key);
    if (!v) {
        *out = def;
        return 0;
    }
    return parse_bool(key, v, out, errp);
}

int kv_get_size(struct kv *kv, const char *key, uint64_t def, uint64_t *out,
                struct error **errp)
{
    const char *v = kv_get(kv, key);
    if (!v) {
        *out = def;
        return 0;
    }
    int r = parse_size(v, out, errp);
    if (r < 0)
        err_prefix(errp, "%s", key);
    return r;
}

int kv_get_choice(struct kv *kv, const char *key, const char *const *choices, int def,
                  struct error **errp)
{
    const char *v = kv_get(kv, key);
    if (!v)
        return def;
    for (int i = 0; choices[i]; i++)
        if (strcmp(choices[i], v) == 0)
            return i;
    char list[256] = "";
    for (int i = 0; choices[i]; i++) {
        if (i)
            strncat(list, ", ", sizeof(list) - strlen(list) - 1);
        strncat(list, choices[i], sizeof(list) - strlen(list) - 1);
    }
    return err_set(errp, EINVAL, _("parameter '%s': '%s' is not one of %s"), key, v, list);
}

int kv_check_used(const struct kv *kv, struct error **errp)
{
    for (int i = 0; i < kv->n; i++)
        if (!kv->p[i].used)
            return err_set(errp, EINVAL, _("Invalid parameter '%s'"), kv->p[i].key);
    return 0;
}

/* JSON members as dotted keys: {"file": {"filename": "x"}} is file.filename=x,
 * arrays give KEY.0, KEY.1, ..., true/false give on/off. */
static int flatten(struct kv *kv, const struct json_value *v, char *prefix, size_t plen,
                   struct error **errp)
{
    char num[32];
    switch (v->type) {
    case JSON_OBJECT:
    case JSON_ARRAY:
        for (size_t i = 0; i < v->u.a.n; i++) {
            const char *k = v->type == JSON_OBJECT ? v->u.a.keys[i] : num;
            snprintf(num, sizeof(num), "%zu", i);
            size_t need = plen + (plen ? 1 : 0) + strlen(k) + 1;
            char *p = malloc(need);
            if (!p)
                return err_set(errp, ENOMEM, _("out of memory"));
            snprintf(p, need, "%s%s%s", prefix, plen ? "." : "", k);
            int r = flatten(kv, v->u.a.v[i], p, need - 1, errp);
            free(p);
            if (r < 0)
                return r;
        }
        return 0;
    case JSON_STRING:
        return kv_set(kv, prefix, v->u.s) < 0 ? err_set(errp, ENOMEM, _("out of memory")) : 0;
    case JSON_BOOL:
        return kv_set(kv, prefix, v->u.b ? "on" : "off") < 0
                   ? err_set(errp, ENOMEM, _("out of memory")) : 0;
    case JSON_NULL:
        return kv_set(kv, prefix, "null") < 0 ? err_set(errp, ENOMEM, _("out of memory")) : 0;
    case JSON_INT:
        snprintf(num, sizeof(num), "%" PRId64, v->u.i);
        break;
    case JSON_DOUBLE:
        /* the shortest form that reads back the same: 0.1 stays "0.1"
         * ("%.17g" alone gives "0.10000000000000001") */
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(num, sizeof(num), "%.*g", prec, v->u.d);
            if (strtod(num, NULL) == v->u.d)
                break;
        }
        break;
    }
    return kv_set(kv, prefix, num) < 0 ? err_set(errp, ENOMEM, _("out of memory")) : 0;
}

int kv_parse_json(struct kv **out, const char *str, struct error **errp)
{
    struct json_value *v;
    int r = json_parse(&v, str, strlen(str), NULL, errp);
    if (r < 0)
        return r;
    if (v->type != JSON_OBJECT) {
        json_free(v);
        return err_set(errp, EINVAL, _("a JSON object is expected"));
    }
    struct kv *kv = kv_new();
    char empty[1] = "";
    r = kv ? flatten(kv, v, empty, 0, errp) : err_set(errp, ENOMEM, _("out of memory"));
    json_free(v);
    if (r < 0) {
        kv_free(kv);
        return r;
    }
    *out = kv;
    return 0;
}
