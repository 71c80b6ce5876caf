/* input-cmds.c - the monitors' input commands: QMP input-send-event,
 * send-key and query-mice, HMP sendkey, mouse_move, mouse_button and
 * "info mice", with qemu's arguments and messages.  They feed the input
 * core (lib/input.h), which hands the events to the device models.
 *
 * QMP's arguments are checked whole before any event is sent, and the
 * messages name the member as qemu's QAPI visitor does
 * ("events[0].data.key"), so that a script that reads them works on both.
 *
 * A key "held" (send-key, sendkey) is released by a loop timer: the loop
 * thread never sleeps.  A new send-key while keys are still held
 * releases those first, so that keys typed one command at a time keep
 * their order. */
#include <config.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/input-event-codes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "input-cmds.h"
#include "monitor.h"
#include "display.h"
#include "hw/machine.h"
#include "i18n.h"
#include "input.h"
#include "json.h"
#include "json-writer.h"
#include "loop.h"

#define EVENTS_MAX 256          /* per input-send-event */
#define KEYS_MAX 64             /* per send-key */
#define HOLD_DEFAULT_MS 100
#define HOLD_MAX_MS 60000

/* ---- QMP arguments, checked as qemu's QAPI visitor checks them ---- */

static const char *const kind_names[] = { "key", "btn", "abs", "rel" };
static const char *const button_names[] = {
    [INPUT_BTN_LEFT] = "left", [INPUT_BTN_MIDDLE] = "middle", [INPUT_BTN_RIGHT] = "right",
    [INPUT_BTN_WHEEL_UP] = "wheel-up", [INPUT_BTN_WHEEL_DOWN] = "wheel-down",
    [INPUT_BTN_SIDE] = "side", [INPUT_BTN_EXTRA] = "extra",
};
/* Buttons qemu's schema has and we have not (no horizontal wheel): taken
 * and ignored, as a guest without them would. */
static const char *const ignored_buttons[] = { "wheel-left", "wheel-right" };

/* Member KEY of object OBJ (at PATH) of json type TYPE; NULL with errp
 * set when it is missing (unless OPTIONAL) or of another type. */
static const struct json_value *member(const struct json_value *obj, const char *path,
                                       const char *key, enum json_type type, bool optional,
                                       struct error **errp)
{
    static const char *const desc[] = {
        [JSON_BOOL] = "boolean", [JSON_INT] = "integer", [JSON_STRING] = "string",
        [JSON_OBJECT] = "object", [JSON_ARRAY] = "array",
    };
    const struct json_value *v = json_get(obj, key);
    if (!v) {
        if (!optional)
            err_set(errp, EINVAL, "Parameter '%s%s%s' is missing", path, *path ? "." : "", key);
        return NULL;
    }
    if (v->type != type) {
        err_set(errp, EINVAL, "Invalid parameter type for '%s%s%s', expected: %s", path,
                *path ? "." : "", key, desc[type]);
        return NULL;
    }
    return v;
}

/* OBJ (at PATH) must be an object with no members but those in KEYS. */
static int only_members(const struct json_value *obj, const char *path, const char *const *keys,
                        struct error **errp)
{
    if (obj->type != JSON_OBJECT)
        return err_set(errp, EINVAL, "Invalid parameter type for '%s', expected: object", path);
    for (size_t i = 0; i < obj->u.a.n; i++) {
        bool ok = false;
        for (const char *const *k = keys; *k && !ok; k++)
            ok = strcmp(*k, obj->u.a.keys[i]) == 0;
        if (!ok)
            return err_set(errp, EINVAL, "Parameter '%s.%s' is unexpected", path,
                           obj->u.a.keys[i]);
    }
    return 0;
}

/* An enum member: its index in NAMES (N of them, NULL entries skipped). */
static int enum_member(const struct json_value *obj, const char *path, const char *key,
                       const char *const *names, size_t n, struct error **errp)
{
    const struct json_value *v = member(obj, path, key, JSON_STRING, false, errp);
    if (!v)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], v->u.s) == 0)
            return (int)i;
    /* qemu names the member alone here, not its path */
    return err_set(errp, EINVAL, "Parameter '%s' does not accept value '%s'", key, v->u.s);
}

/* A KeyValue ({"type": "qcode"|"number", "data": ...}) at PATH: its Linux
 * key code. */
static int key_value(const struct json_value *kv, const char *path, struct error **errp)
{
    static const char *const types[] = { "number", "qcode" };
    static const char *const keys[] = { "type", "data", NULL };
    char sub[96];
    int r;
    if ((r = only_members(kv, path, keys, errp)) < 0 ||
        (r = enum_member(kv, path, "type", types, 2, errp)) < 0)
        return r;
    snprintf(sub, sizeof(sub), "%s.data", path);
    if (r == 0) {
        const struct json_value *d = member(kv, path, "data", JSON_INT, false, errp);
        if (!d)
            return -EINVAL;
        int code = input_number_to_linux(d->u.i);
        if (code < 0)
            return err_set(errp, EINVAL, "Parameter '%s' expects a key number (a PC scancode "
                           "of set 1, 0x80 added for an 0xe0 prefix)", sub);
        return code;
    }
    const struct json_value *d = member(kv, path, "data", JSON_STRING, false, errp);
    if (!d)
        return -EINVAL;
    int code = input_qcode_to_linux(d->u.s);
    if (code < 0)
        return err_set(errp, EINVAL, "Parameter 'data' does not accept value '%s'", d->u.s);
    return code;
}

/* One InputEvent at PATH into *EV; *IGNORED when it is valid but means
 * nothing here. */
static int parse_event(const struct json_value *e, const char *path, struct input_event *ev,
                       bool *ignored, struct error **errp)
{
    static const char *const keys[] = { "type", "data", NULL };
    static const char *const key_keys[] = { "key", "down", NULL };
    static const char *const btn_keys[] = { "button", "down", NULL };
    static const char *const move_keys[] = { "axis", "value", NULL };
    static const char *const axes[] = { "x", "y" };
    char dpath[64], kpath[80];
    int r, kind;
    *ignored = false;
    if ((r = only_members(e, path, keys, errp)) < 0)
        return r;
    if ((kind = enum_member(e, path, "type", kind_names, ARRAY_SIZE(kind_names), errp)) < 0)
        return kind;
    snprintf(dpath, sizeof(dpath), "%s.data", path);
    const struct json_value *d = member(e, path, "data", JSON_OBJECT, false, errp);
    if (!d)
        return -EINVAL;
    *ev = (struct input_event){ .kind = (enum input_kind)kind };
    switch (kind) {
    case INPUT_KEY: {
        if ((r = only_members(d, dpath, key_keys, errp)) < 0)
            return r;
        snprintf(kpath, sizeof(kpath), "%s.key", dpath);
        const struct json_value *k = member(d, dpath, "key", JSON_OBJECT, false, errp);
        const struct json_value *down = k ? member(d, dpath, "down", JSON_BOOL, false, errp)
                                          : NULL;
        if (!down)
            return -EINVAL;
        if ((r = key_value(k, kpath, errp)) < 0)
            return r;
        ev->code = (unsigned)r;
        ev->down = down->u.b;
        return 0;
    }
    case INPUT_BTN: {
        if ((r = only_members(d, dpath, btn_keys, errp)) < 0)
            return r;
        const struct json_value *b = member(d, dpath, "button", JSON_STRING, false, errp);
        const struct json_value *down = b ? member(d, dpath, "down", JSON_BOOL, false, errp)
                                          : NULL;
        if (!down)
            return -EINVAL;
        for (size_t i = 0; i < ARRAY_SIZE(ignored_buttons); i++)
            if (strcmp(b->u.s, ignored_buttons[i]) == 0) {
                *ignored = true;
                return 0;
            }
        if ((r = enum_member(d, dpath, "button", button_names, ARRAY_SIZE(button_names),
                             errp)) < 0)
            return r;
        ev->code = (unsigned)r;
        ev->down = down->u.b;
        return 0;
    }
    default: {  /* abs, rel */
        if ((r = only_members(d, dpath, move_keys, errp)) < 0 ||
            (r = enum_member(d, dpath, "axis", axes, 2, errp)) < 0)
            return r;
        ev->code = (unsigned)r;
        const struct json_value *v = member(d, dpath, "value", JSON_INT, false, errp);
        if (!v)
            return -EINVAL;
        int64_t lo = kind == INPUT_ABS ? 0 : INT32_MIN;
        int64_t hi = kind == INPUT_ABS ? INPUT_ABS_MAX : INT32_MAX;
        if (v->u.i < lo || v->u.i > hi)
            return err_set(errp, EINVAL, "Parameter '%s.value' expects a value from %" PRId64
                           " to %" PRId64, dpath, lo, hi);
        ev->value = (int32_t)v->u.i;
        return 0;
    }
    }
}

/* qemu sends input only to a running guest (a paused one would see the
 * keys pile up). */
static int check_running(struct error **errp)
{
    struct monitor_host *h = monitor_host();
    const char *st = h && h->status ? h->status(h->opaque) : "running";
    if (strcmp(st, "running") != 0)
        return err_set(errp, EBUSY, "VM not running");
    return 0;
}

const struct qmp_arg input_send_event_args[] = {
    { "device", "str", true },
    { "head", "int", true },
    { "events", "array", false },
    { NULL, NULL, false },
};

int input_qmp_send_event(void *o, const struct json_value *a, struct json_writer *w,
                         struct error **errp)
{
    (void)o, (void)w;
    const struct json_value *dev = json_get(a, "device"), *head = json_get(a, "head");
    const struct json_value *events = json_get(a, "events");
    int r = check_running(errp);
    if (r < 0)
        return r;
    /* the events go to whichever device takes them, as qemu's do when no
     * input device is bound to that console; the console must exist */
    if (dev) {
        int hd = !head ? 0 : head->u.i < 0 || head->u.i > 1 << 20 ? -1 : (int)head->u.i;
        struct error *e = NULL;
        if (!display_console_find(dev->u.s, hd, &e)) {
            /* qemu's class for a device that is not there at all */
            bool none = !strstr(err_msg(e), "QemuConsole");
            err_free(e);
            if (none)
                return err_set(errp, QMP_ERR_DEVICE_NOT_FOUND, "Device '%s' not found", dev->u.s);
            return err_set(errp, ENODEV, "Device '%s' (head %d) is not bound to a QemuConsole",
                           dev->u.s, hd);
        }
    }
    if (events->u.a.n > EVENTS_MAX)
        return err_set(errp, EINVAL, "Parameter 'events' expects at most %d events",
                       EVENTS_MAX);
    struct input_event evs[EVENTS_MAX];
    bool ignored[EVENTS_MAX];
    size_t n = events->u.a.n;
    for (size_t i = 0; i < n; i++) {
        char path[32];
        snprintf(path, sizeof(path), "events[%zu]", i);
        if ((r = parse_event(events->u.a.v[i], path, &evs[i], &ignored[i], errp)) < 0)
            return r;
    }
    for (size_t i = 0; i < n; i++)
        if (!input_has_handler(evs[i].kind))
            return err_set(errp, ENODEV, "Input handler not found for event type %s",
                           kind_names[evs[i].kind]);
    for (size_t i = 0; i < n; i++)
        if (!ignored[i])
            input_send(&evs[i]);
    input_sync();
    return 0;
}

/* ---- held keys (send-key, sendkey) ---- */

static struct {
    struct loop_timer *timer;
    unsigned codes[KEYS_MAX];
    int n;                      /* held now, released in reverse */
} held;

static void release_held(void *opaque)
{
    (void)opaque;
    for (int i = held.n - 1; i >= 0; i--) {
        input_key(held.codes[i], false);
        input_sync();
    }
    held.n = 0;
}

/* Press CODES in order now, release them in reverse after HOLD_MS. */
static int press_keys(const unsigned *codes, int n, int64_t hold_ms, struct error **errp)
{
    if (!held.timer) {
        struct monitor_host *h = monitor_host();
        held.timer = loop_timer_new(h->m->loop, release_held, NULL, errp);
        if (!held.timer)
            return -ENOMEM;
    }
    if (held.n) {
        loop_timer_cancel(held.timer);
        release_held(NULL);
    }
    for (int i = 0; i < n; i++) {
        input_key(codes[i], true);
        input_sync();
        held.codes[held.n++] = codes[i];
    }
    loop_timer_arm_in(held.timer, (uint64_t)hold_ms * 1000000);
    return 0;
}

const struct qmp_arg input_send_key_args[] = {
    { "keys", "array", false },
    { "hold-time", "int", true },
    { NULL, NULL, false },
};

int input_qmp_send_key(void *o, const struct json_value *a, struct json_writer *w,
                       struct error **errp)
{
    (void)o, (void)w;
    const struct json_value *keys = json_get(a, "keys"), *hold = json_get(a, "hold-time");
    /* qemu takes any hold time; a longer one than a minute is a mistake */
    int64_t hold_ms = hold ? MAX(0, MIN(hold->u.i, HOLD_MAX_MS)) : HOLD_DEFAULT_MS;
    if (keys->u.a.n > KEYS_MAX)
        return err_set(errp, EINVAL, "Parameter 'keys' expects at most %d keys", KEYS_MAX);
    if (keys->u.a.n == 0)
        return 0;
    unsigned codes[KEYS_MAX];
    for (size_t i = 0; i < keys->u.a.n; i++) {
        char path[32];
        snprintf(path, sizeof(path), "keys[%zu]", i);
        int r = key_value(keys->u.a.v[i], path, errp);
        if (r < 0)
            return r;
        codes[i] = (unsigned)r;
    }
    /* without a keyboard the keys go nowhere, silently, as in qemu */
    return press_keys(codes, (int)keys->u.a.n, hold_ms, errp);
}

/* ---- query-mice / info mice ---- */

#define HANDLERS_MAX 32

int input_qmp_query_mice(void *o, const struct json_value *a, struct json_writer *w,
                         struct error **errp)
{
    (void)o, (void)a, (void)errp;
    struct input_handler_info info[HANDLERS_MAX];
    int n = MIN(input_handlers(info, HANDLERS_MAX), HANDLERS_MAX);
    int cur = input_current_pointer();
    jw_arr_begin(w, NULL);
    for (int i = 0; i < n; i++) {
        if (!(info[i].mask & (INPUT_MASK(INPUT_ABS) | INPUT_MASK(INPUT_REL))))
            continue;
        jw_obj_begin(w, NULL);
        jw_str(w, "name", info[i].name);
        jw_int(w, "index", info[i].index);
        jw_bool(w, "current", info[i].index == cur);
        jw_bool(w, "absolute", (info[i].mask & INPUT_MASK(INPUT_ABS)) != 0);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    return 0;
}

int hmp_info_mice(struct hmp_out *out, const char *args, struct error **errp)
{
    (void)args, (void)errp;
    struct input_handler_info info[HANDLERS_MAX];
    int n = MIN(input_handlers(info, HANDLERS_MAX), HANDLERS_MAX);
    int cur = input_current_pointer(), shown = 0;
    for (int i = 0; i < n; i++) {
        if (!(info[i].mask & (INPUT_MASK(INPUT_ABS) | INPUT_MASK(INPUT_REL))))
            continue;
        hmp_printf(out, "%c Mouse #%d: %s%s\r\n", info[i].index == cur ? '*' : ' ',
                   info[i].index, info[i].name,
                   info[i].mask & INPUT_MASK(INPUT_ABS) ? " (absolute)" : "");
        shown++;
    }
    if (!shown)
        hmp_printf(out, "No mouse devices connected\r\n");
    return 0;
}

/* ---- HMP ---- */

/* qemu's text for a command missing its arguments. */
static int usage(struct hmp_out *out, const char *cmd)
{
    hmp_printf(out, "%s: string expected\r\nTry \"help %s\" for more information\r\n", cmd,
               cmd);
    return -EINVAL;
}

/* sendkey KEYS [HOLD_MS]: KEYS as "ctrl-alt-f1"; a name is a qcode or a
 * hex scancode ("0x1e"); "<" stands for "less", as in qemu. */
int hmp_sendkey(struct hmp_out *out, const char *args, struct error **errp)
{
    char keys[1024], hold[32];
    int r = hmp_next_word(&args, keys, sizeof(keys), errp);
    if (r <= 0)
        return r < 0 ? r : usage(out, "sendkey");
    int64_t hold_ms = HOLD_DEFAULT_MS;
    if ((r = hmp_next_word(&args, hold, sizeof(hold), errp)) < 0)
        return r;
    if (r > 0) {
        char *end;
        long long v = strtoll(hold, &end, 0);
        if (*end || end == hold)
            return err_set(errp, EINVAL, _("hold time '%s': a number of milliseconds expected"),
                           hold);
        hold_ms = MAX(0, MIN(v, HOLD_MAX_MS));
    }
    unsigned codes[KEYS_MAX];
    int n = 0;
    for (const char *p = keys;;) {
        size_t len = strcspn(p, "-");
        /* "-" alone is no key: a sequence like "ctrl--" names nothing */
        char name[64];
        int code = -1;
        if (len > 0 && len < sizeof(name)) {
            memcpy(name, p, len);
            name[len] = 0;
            if (strcmp(name, "<") == 0)
                code = input_qcode_to_linux("less");
            else if (strncmp(name, "0x", 2) == 0) {
                char *end;
                long long v = strtoll(name, &end, 16);
                code = *end || end == name + 2 ? -1 : input_number_to_linux(v);
            } else {
                code = input_qcode_to_linux(name);
            }
        }
        if (code < 0 || n == KEYS_MAX) {
            /* qemu's text, without "Error:": scripts match on it */
            hmp_printf(out, "invalid parameter: %.*s\r\n", (int)len, p);
            return -EINVAL;
        }
        codes[n++] = (unsigned)code;
        if (!p[len])
            break;
        p += len + 1;
    }
    return press_keys(codes, n, hold_ms, errp);
}

static int hmp_int(const char *word, const char *name, int32_t *out, struct error **errp)
{
    char *end;
    long long v = strtoll(word, &end, 0);
    if (!*word || *end || v < INT32_MIN || v > INT32_MAX)
        return err_set(errp, EINVAL, _("%s: '%s' is not a number"), name, word);
    *out = (int32_t)v;
    return 0;
}

/* mouse_move DX DY [DZ]: relative motion; a DZ other than 0 turns the
 * wheel one click (positive: up), as qemu's does. */
int hmp_mouse_move(struct hmp_out *out, const char *args, struct error **errp)
{
    static const char *const names[] = { "dx", "dy", "dz" };
    int32_t d[3] = { 0, 0, 0 };
    char word[32];
    int r, n = 0;
    while (n < 3 && (r = hmp_next_word(&args, word, sizeof(word), errp)) > 0)
        if ((r = hmp_int(word, names[n], &d[n], errp)) < 0)
            return r;
        else
            n++;
    if (r < 0)
        return r;
    if (n < 2)
        return usage(out, "mouse_move");
    if (*args)
        return err_set(errp, EINVAL, _("mouse_move: unexpected argument '%s'"), args);
    input_rel(INPUT_AXIS_X, d[0]);
    input_rel(INPUT_AXIS_Y, d[1]);
    if (d[2]) {
        enum input_button b = d[2] > 0 ? INPUT_BTN_WHEEL_UP : INPUT_BTN_WHEEL_DOWN;
        input_button(b, true);
        input_sync();
        input_button(b, false);
    }
    input_sync();
    return 0;
}

/* mouse_button STATE: bits 1 left, 2 right, 4 middle; only changes are
 * sent. */
int hmp_mouse_button(struct hmp_out *out, const char *args, struct error **errp)
{
    static int32_t state;
    static const struct { int32_t bit; enum input_button b; } map[] = {
        { 1, INPUT_BTN_LEFT }, { 2, INPUT_BTN_RIGHT }, { 4, INPUT_BTN_MIDDLE },
    };
    char word[32];
    int32_t st;
    int r = hmp_next_word(&args, word, sizeof(word), errp);
    if (r <= 0)
        return r < 0 ? r : usage(out, "mouse_button");
    if ((r = hmp_int(word, "button_state", &st, errp)) < 0)
        return r;
    for (size_t i = 0; i < ARRAY_SIZE(map); i++)
        if ((st ^ state) & map[i].bit)
            input_button(map[i].b, (st & map[i].bit) != 0);
    state = st;
    input_sync();
    return 0;
}

/* The power button (monitor_powerdown): pressed and released on the
 * keyboard; false when no keyboard takes it. */
bool input_power_button(void)
{
    if (!input_has_handler(INPUT_KEY))
        return false;
    input_key(KEY_POWER, true);
    input_sync();
    input_key(KEY_POWER, false);
    input_sync();
    return true;
}
