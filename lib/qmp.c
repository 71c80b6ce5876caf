/* qmp.c - the QMP server (see qmp.h): sessions on chardevs, message
 * framing, capabilities negotiation, argument checks, dispatch, events.
 *
 * Framing: QMP messages are JSON objects one after another.  A session
 * scans its input for the end of each top-level object (counting
 * brackets outside strings, so it never parses a half message), then
 * parses just that object.  Bytes between messages that are not blanks
 * get one "JSON parse error" per run, as a lexer error would in QEMU.
 *
 * Threads: the chardev hands input over in the loop thread with the
 * device lock held; it is only buffered there, and a bottom half runs
 * the commands with no lock held, since commands stop and start CPUs
 * (which may be waiting for the device lock).
 */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "qmp.h"
#include "chardev.h"
#include "i18n.h"
#include "trace/system.h"

#define QMP_VERSION_MAJOR 7     /* the protocol of QEMU 7.2, which tools check */
#define QMP_VERSION_MINOR 2
#define QMP_VERSION_MICRO 0

struct qmp_session {
    struct qmp *q;
    struct chardev *chr;
    struct loop_bh *bh;
    char *in;                   /* QMP_MAX_MESSAGE + room for one read */
    size_t len;
    bool negotiated;
    /* the scanner, over in[0 .. len) */
    size_t pos, start;
    int depth;
    bool in_str, esc, junk, waiting;
};

struct qmp {
    struct loop *loop;
    const struct qmp_cmd *cmds;
    void *opaque;
    char *package;
    struct qmp_session *s[QMP_MAX_SESSIONS];
    int n;
};

#define IN_CAP (QMP_MAX_MESSAGE + 4096)

const struct qmp_cmd *qmp_commands(const struct qmp *q)
{
    return q->cmds;
}

/* ---- output ---- */

static void send_text(struct qmp_session *s, const char *text)
{
    chardev_write(s->chr, (const uint8_t *)text, strlen(text));
    chardev_write(s->chr, (const uint8_t *)"\r\n", 2);
}

static void send_writer(struct qmp_session *s, struct json_writer *w)
{
    if (w->failed)
        send_text(s, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"out of memory\"}}");
    else
        send_text(s, w->buf ? w->buf : "{}");
}

static const char *error_class(int code)
{
    switch (code) {
    case QMP_ERR_COMMAND_NOT_FOUND: return "CommandNotFound";
    case QMP_ERR_DEVICE_NOT_FOUND: return "DeviceNotFound";
    default: return "GenericError";
    }
}

static void send_error(struct qmp_session *s, const struct json_value *id, int code,
                       const char *desc)
{
    struct json_writer w;
    jw_init(&w);
    jw_obj_begin(&w, NULL);
    jw_obj_begin(&w, "error");
    jw_str(&w, "class", error_class(code));
    jw_str(&w, "desc", desc);
    jw_obj_end(&w);
    if (id)
        jw_value(&w, "id", id);
    jw_obj_end(&w);
    send_writer(s, &w);
    jw_free(&w);
}

static void greet(struct qmp_session *s)
{
    struct json_writer w;
    jw_init(&w);
    jw_obj_begin(&w, NULL);
    jw_obj_begin(&w, "QMP");
    jw_obj_begin(&w, "version");
    jw_obj_begin(&w, "qemu");
    jw_int(&w, "micro", QMP_VERSION_MICRO);
    jw_int(&w, "minor", QMP_VERSION_MINOR);
    jw_int(&w, "major", QMP_VERSION_MAJOR);
    jw_obj_end(&w);
    jw_str(&w, "package", s->q->package);
    jw_obj_end(&w);
    jw_arr_begin(&w, "capabilities");
    jw_arr_end(&w);
    jw_obj_end(&w);
    jw_obj_end(&w);
    send_writer(s, &w);
    jw_free(&w);
}

void qmp_event(struct qmp *q, const char *name, const char *data)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct json_writer w;
    jw_init(&w);
    jw_obj_begin(&w, NULL);
    jw_str(&w, "event", name);
    jw_raw(&w, "data", data ? data : "{}");
    jw_obj_begin(&w, "timestamp");
    jw_int(&w, "seconds", (int64_t)ts.tv_sec);
    jw_int(&w, "microseconds", ts.tv_nsec / 1000);
    jw_obj_end(&w);
    jw_obj_end(&w);
    for (int i = 0; i < q->n; i++)
        if (q->s[i]->negotiated)
            send_writer(q->s[i], &w);
    jw_free(&w);
}

/* ---- commands ---- */

static bool type_ok(const char *type, const struct json_value *v)
{
    if (strcmp(type, "str") == 0)
        return v->type == JSON_STRING;
    if (strcmp(type, "int") == 0)
        return v->type == JSON_INT;
    if (strcmp(type, "number") == 0)
        return v->type == JSON_INT || v->type == JSON_DOUBLE;
    if (strcmp(type, "bool") == 0)
        return v->type == JSON_BOOL;
    if (strcmp(type, "array") == 0)
        return v->type == JSON_ARRAY;
    return true;                /* "any" */
}

static const char *type_desc(const char *type)
{
    if (strcmp(type, "str") == 0)
        return "string";
    if (strcmp(type, "bool") == 0)
        return "boolean";
    return type;
}

/* Arguments against the command's list; 0, or an error sent. */
static int check_args(struct qmp_session *s, const struct qmp_cmd *c,
                      const struct json_value *args, const struct json_value *id)
{
    char msg[256];
    for (size_t i = 0; args && i < args->u.a.n; i++) {
        const struct qmp_arg *a = c->args;
        while (a && a->name && strcmp(a->name, args->u.a.keys[i]) != 0)
            a++;
        if (!a || !a->name) {
            snprintf(msg, sizeof(msg), "Parameter '%s' is unexpected", args->u.a.keys[i]);
            send_error(s, id, 0, msg);
            return -1;
        }
        if (!type_ok(a->type, args->u.a.v[i])) {
            snprintf(msg, sizeof(msg), "Invalid parameter type for '%s', expected: %s",
                     a->name, type_desc(a->type));
            send_error(s, id, 0, msg);
            return -1;
        }
    }
    for (const struct qmp_arg *a = c->args; a && a->name; a++)
        if (!a->optional && !json_get(args, a->name)) {
            snprintf(msg, sizeof(msg), "Parameter '%s' is missing", a->name);
            send_error(s, id, 0, msg);
            return -1;
        }
    return 0;
}

static void run_command(struct qmp_session *s, const struct json_value *req)
{
    const struct json_value *id = json_get(req, "id");
    const struct json_value *exec = NULL, *args = NULL;
    char msg[300];
    for (size_t i = 0; i < req->u.a.n; i++) {
        const char *k = req->u.a.keys[i];
        if (strcmp(k, "execute") == 0)
            exec = req->u.a.v[i];
        else if (strcmp(k, "arguments") == 0)
            args = req->u.a.v[i];
        else if (strcmp(k, "exec-oob") == 0) {
            send_error(s, id, 0, "QMP input member 'exec-oob' is not supported "
                                 "(out-of-band execution was not negotiated)");
            return;
        } else if (strcmp(k, "id") != 0) {
            snprintf(msg, sizeof(msg), "QMP input member '%s' is unexpected", k);
            send_error(s, id, 0, msg);
            return;
        }
    }
    if (!exec) {
        send_error(s, id, 0, "QMP input lacks member 'execute'");
        return;
    }
    if (exec->type != JSON_STRING) {
        send_error(s, id, 0, "QMP input member 'execute' must be a string");
        return;
    }
    if (args && args->type != JSON_OBJECT) {
        send_error(s, id, 0, "QMP input member 'arguments' must be an object");
        return;
    }
    const char *name = exec->u.s;
    if (strcmp(name, "qmp_capabilities") == 0) {
        if (s->negotiated) {
            send_error(s, id, QMP_ERR_COMMAND_NOT_FOUND,
                       "Capabilities negotiation is already complete, command ignored");
            return;
        }
        const struct json_value *en = json_get(args, "enable");
        if (args && (args->u.a.n > 1 || (args->u.a.n == 1 && !en))) {
            send_error(s, id, 0, "Parameter 'enable' is the only one qmp_capabilities takes");
            return;
        }
        if (en && (en->type != JSON_ARRAY || en->u.a.n)) {
            snprintf(msg, sizeof(msg), "Capability '%s' not available",
                     en->type == JSON_ARRAY && en->u.a.v[0]->type == JSON_STRING
                         ? en->u.a.v[0]->u.s : "?");
            send_error(s, id, 0, msg);
            return;
        }
        s->negotiated = true;
        struct json_writer w;
        jw_init(&w);
        jw_obj_begin(&w, NULL);
        jw_raw(&w, "return", "{}");
        if (id)
            jw_value(&w, "id", id);
        jw_obj_end(&w);
        send_writer(s, &w);
        jw_free(&w);
        return;
    }
    if (!s->negotiated) {
        send_error(s, id, QMP_ERR_COMMAND_NOT_FOUND,
                   "Expecting capabilities negotiation with 'qmp_capabilities'");
        return;
    }
    const struct qmp_cmd *c = s->q->cmds;
    while (c->name && strcmp(c->name, name) != 0)
        c++;
    if (!c->name) {
        snprintf(msg, sizeof(msg), "The command %s has not been found", name);
        send_error(s, id, QMP_ERR_COMMAND_NOT_FOUND, msg);
        return;
    }
    if (check_args(s, c, args, id) < 0)
        return;
    struct json_value empty = { .type = JSON_OBJECT };
    struct json_writer ret;
    jw_init(&ret);
    struct error *err = NULL;
    int r = c->fn(s->q->opaque, args ? args : &empty, &ret, &err);
    trace_qmp_command(c->name, r);
    if (r < 0) {
        send_error(s, id, err_code(err), err ? err_msg(err) : "failed");
        err_free(err);
        jw_free(&ret);
        return;
    }
    struct json_writer w;
    jw_init(&w);
    jw_obj_begin(&w, NULL);
    jw_raw(&w, "return", ret.len && !ret.failed ? ret.buf : "{}");
    if (id)
        jw_value(&w, "id", id);
    jw_obj_end(&w);
    w.failed |= ret.failed;
    send_writer(s, &w);
    jw_free(&w);
    jw_free(&ret);
}

static void handle_message(struct qmp_session *s, const char *text, size_t len)
{
    struct json_value *v;
    struct error *err = NULL;
    if (json_parse(&v, text, len, NULL, &err) < 0) {
        char msg[300];
        snprintf(msg, sizeof(msg), "JSON parse error, %s", err_msg(err));
        send_error(s, NULL, 0, msg);
        err_free(err);
        return;
    }
    if (v->type != JSON_OBJECT)
        send_error(s, NULL, 0, "QMP input must be a JSON object");
    else
        run_command(s, v);
    json_free(v);
}

/* ---- input ---- */

static void reset_scan(struct qmp_session *s)
{
    s->depth = 0;
    s->in_str = s->esc = s->junk = false;
}

static void process(void *opaque)
{
    struct qmp_session *s = opaque;
    while (s->pos < s->len) {
        char c = s->in[s->pos];
        if (s->depth == 0) {
            bool blank = c == ' ' || c == '\t' || c == '\n' || c == '\r';
            if (c == '{' || c == '[' || blank) {
                if (s->junk)
                    send_error(s, NULL, 0, "JSON parse error, invalid keyword");
                s->junk = false;
            }
            if (c == '{' || c == '[') {
                s->start = s->pos;
                s->depth = 1;
            } else if (!blank) {
                s->junk = true;
            }
            s->pos++;
            continue;
        }
        if (s->in_str) {
            if (s->esc)
                s->esc = false;
            else if (c == '\\')
                s->esc = true;
            else if (c == '"')
                s->in_str = false;
        } else if (c == '"') {
            s->in_str = true;
        } else if (c == '{' || c == '[') {
            if (++s->depth > JSON_MAX_DEPTH) {
                send_error(s, NULL, 0, "JSON parse error, nesting too deep");
                reset_scan(s);
                s->start = ++s->pos;
                continue;
            }
        } else if (c == '}' || c == ']') {
            if (--s->depth == 0) {
                handle_message(s, s->in + s->start, s->pos + 1 - s->start);
                s->start = s->pos + 1;
            }
        }
        s->pos++;
    }
    /* keep only the message in progress */
    size_t keep_from = s->depth ? s->start : s->pos;
    if (s->depth && s->len - s->start > QMP_MAX_MESSAGE) {
        send_error(s, NULL, 0, "JSON parse error, message too long");
        reset_scan(s);
        keep_from = s->len;
    }
    memmove(s->in, s->in + keep_from, s->len - keep_from);
    s->len -= keep_from;
    s->pos -= keep_from;
    s->start = s->depth ? s->start - keep_from : 0;
    if (s->waiting) {
        s->waiting = false;
        chardev_accept_input(s->chr);
    }
}

static size_t fe_can_read(void *opaque)
{
    struct qmp_session *s = opaque;
    size_t room = IN_CAP - s->len;
    if (!room)
        s->waiting = true;
    return room;
}

static void fe_read(void *opaque, const uint8_t *buf, size_t len)
{
    struct qmp_session *s = opaque;
    size_t n = MIN(len, IN_CAP - s->len);
    memcpy(s->in + s->len, buf, n);
    s->len += n;
    loop_bh_schedule(s->bh);
}

static void fe_event(void *opaque, enum chardev_event ev)
{
    struct qmp_session *s = opaque;
    /* a new peer starts a new session */
    s->len = s->pos = s->start = 0;
    reset_scan(s);
    s->negotiated = false;
    if (ev == CHARDEV_OPENED)
        greet(s);
}

static const struct chardev_frontend qmp_frontend = {
    .can_read = fe_can_read,
    .read = fe_read,
    .event = fe_event,
};

int qmp_attach(struct qmp *q, struct chardev *chr, struct error **errp)
{
    if (q->n == QMP_MAX_SESSIONS)
        return err_set(errp, E2BIG, _("too many monitors (at most %d)"), QMP_MAX_SESSIONS);
    struct qmp_session *s = calloc(1, sizeof(*s));
    if (!s || !(s->in = malloc(IN_CAP))) {
        if (s)
            free(s);
        return err_set(errp, ENOMEM, _("out of memory"));
    }
    s->q = q;
    s->chr = chr;
    s->bh = loop_bh_new(q->loop, process, s, errp);
    if (!s->bh) {
        free(s->in);
        free(s);
        return -ENOMEM;
    }
    q->s[q->n++] = s;
    chardev_set_frontend(chr, &qmp_frontend, s);
    return 0;
}

int qmp_new(struct qmp **out, struct loop *loop, const struct qmp_cmd *cmds, void *opaque,
            const char *package, struct error **errp)
{
    struct qmp *q = calloc(1, sizeof(*q));
    if (!q || !(q->package = strdup(package))) {
        free(q);
        return err_set(errp, ENOMEM, _("out of memory"));
    }
    q->loop = loop;
    q->cmds = cmds;
    q->opaque = opaque;
    *out = q;
    return 0;
}

void qmp_free(struct qmp *q)
{
    if (!q)
        return;
    for (int i = 0; i < q->n; i++) {
        chardev_set_frontend(q->s[i]->chr, NULL, NULL);
        loop_bh_free(q->s[i]->bh);
        free(q->s[i]->in);
        free(q->s[i]);
    }
    free(q->package);
    free(q);
}

/* ---- introspection ----
 * query-qmp-schema's SchemaInfo list, made from the table: every command
 * with an object type for its arguments, the builtin types they use, and
 * one "any" for returns we do not describe further.  Type names are
 * numbered as QEMU's are (clients must not rely on them). */
void qmp_write_schema(const struct qmp *q, struct json_writer *w)
{
    static const char *const builtins[] = { "str", "int", "number", "bool", "any", NULL };
    jw_arr_begin(w, NULL);
    /* qmp_capabilities, which the server itself answers */
    jw_obj_begin(w, NULL);
    jw_str(w, "name", "qmp_capabilities");
    jw_str(w, "meta-type", "command");
    jw_str(w, "arg-type", "999");
    jw_str(w, "ret-type", "0");
    jw_bool(w, "allow-oob", true);
    jw_obj_end(w);
    jw_obj_begin(w, NULL);
    jw_str(w, "name", "999");
    jw_str(w, "meta-type", "object");
    jw_arr_begin(w, "members");
    jw_obj_begin(w, NULL);
    jw_str(w, "name", "enable");
    jw_str(w, "type", "[any]");
    jw_null(w, "default");
    jw_obj_end(w);
    jw_arr_end(w);
    jw_obj_end(w);
    int n = 0;
    for (const struct qmp_cmd *c = q->cmds; c->name; c++, n++) {
        char argt[16];
        snprintf(argt, sizeof(argt), "%d", 1000 + n);
        jw_obj_begin(w, NULL);
        jw_str(w, "name", c->name);
        jw_str(w, "meta-type", "command");
        jw_str(w, "arg-type", c->args ? argt : "0");
        jw_str(w, "ret-type", c->ret && strcmp(c->ret, "{}") == 0 ? "0" : "any");
        jw_bool(w, "allow-oob", false);
        jw_obj_end(w);
        if (!c->args)
            continue;
        jw_obj_begin(w, NULL);
        jw_str(w, "name", argt);
        jw_str(w, "meta-type", "object");
        jw_arr_begin(w, "members");
        for (const struct qmp_arg *a = c->args; a->name; a++) {
            jw_obj_begin(w, NULL);
            jw_str(w, "name", a->name);
            jw_str(w, "type", strcmp(a->type, "array") == 0 ? "[any]" : a->type);
            if (a->optional)
                jw_null(w, "default");
            jw_obj_end(w);
        }
        jw_arr_end(w);
        jw_obj_end(w);
    }
    /* the empty object, and the builtins */
    jw_obj_begin(w, NULL);
    jw_str(w, "name", "0");
    jw_str(w, "meta-type", "object");
    jw_arr_begin(w, "members");
    jw_arr_end(w);
    jw_obj_end(w);
    for (int i = 0; builtins[i]; i++) {
        jw_obj_begin(w, NULL);
        jw_str(w, "name", builtins[i]);
        jw_str(w, "meta-type", "builtin");
        jw_str(w, "json-type", strcmp(builtins[i], "str") == 0 ? "string"
                                   : strcmp(builtins[i], "int") == 0 ? "int"
                                   : strcmp(builtins[i], "bool") == 0 ? "boolean"
                                   : builtins[i]);
        jw_obj_end(w);
    }
    jw_obj_begin(w, NULL);
    jw_str(w, "name", "[any]");
    jw_str(w, "meta-type", "array");
    jw_str(w, "element-type", "any");
    jw_obj_end(w);
    jw_arr_end(w);
}
