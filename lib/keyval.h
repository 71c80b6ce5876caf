/* keyval.h - qemu's "key=value,key=value" option strings, as -drive,
 * -device, -netdev, -blockdev and -chardev take them.
 *
 *     virtio-blk-device,drive=d0,serial=abc     (implied key "driver")
 *     file=a,,b.img,format=raw                  (",," is a literal comma)
 *
 * The first item may lack "key=": it is then the value of the implied key
 * the caller names (NULL: not allowed).  A later item without '=' is
 * refused.  A key given twice keeps its last value, as qemu does.
 * Callers take the keys they know with kv_get*() and finish with
 * kv_check_used(), which refuses whatever nobody took, so a typo gets
 * "Invalid parameter 'cahce'" rather than silence.
 */
#ifndef EMU_KEYVAL_H
#define EMU_KEYVAL_H

#include "common.h"
#include "error.h"

struct kv {
    struct kv_pair {
        char *key, *val;
        bool used;
    } *p;
    int n;
};

int kv_parse(struct kv **out, const char *str, const char *implied_key, struct error **errp);
/* The same, but each key named in LISTS (NULL-terminated) keeps every
 * occurrence as a pair of its own, in order (-netdev user,hostfwd=...,
 * hostfwd=...): walk kv->p for them; kv_get gives the last. */
int kv_parse_list(struct kv **out, const char *str, const char *implied_key,
                  const char *const *lists, struct error **errp);
/* The same from a JSON object (-blockdev '{"driver": ...}'): nested
 * members become dotted keys ("file.filename"), true/false on/off. */
int kv_parse_json(struct kv **out, const char *str, struct error **errp);
struct kv *kv_new(void);
void kv_free(struct kv *kv);
/* Add (or replace) a pair; -ENOMEM. */
int kv_set(struct kv *kv, const char *key, const char *val);
/* The value of KEY, marking it used; NULL when absent. */
const char *kv_get(struct kv *kv, const char *key);
/* Typed getters: DEF when absent; -EINVAL with a message naming the key. */
int kv_get_bool(struct kv *kv, const char *key, bool def, bool *out, struct error **errp);
int kv_get_size(struct kv *kv, const char *key, uint64_t def, uint64_t *out,
                struct error **errp);
/* One of CHOICES (NULL-terminated): its index, DEF when absent, else
 * -EINVAL naming the key, the value and the choices. */
int kv_get_choice(struct kv *kv, const char *key, const char *const *choices, int def,
                  struct error **errp);
/* -EINVAL "Invalid parameter 'KEY'" for the first key nobody took. */
int kv_check_used(const struct kv *kv, struct error **errp);

#endif
