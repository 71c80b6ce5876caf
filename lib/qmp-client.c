/* qmp-client.c - a blocking QMP client (see qmp-client.h).
 *
 * Input is cut into messages by a small scanner that follows strings and
 * nesting (so pretty-printed replies work too) before the JSON parser
 * sees them: it bounds the size and depth of what is buffered, and knows
 * garbage from a message not yet complete without parsing twice. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qmp-client.h"
#include "i18n.h"
#include "json-writer.h"

struct qmpc {
    int fd;
    char *path;
    int timeout_ms;
    int64_t deadline;               /* of the call in progress, ms */
    int64_t next_id;
    char err_class[64];
    /* input: buf[0, len) read, of which [0, scan) scanned */
    char *buf;
    size_t len, cap, scan;
    int depth;                      /* scanner state at buf[scan] */
    bool in_string, escape, started;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until the socket is ready for EVENTS, or the call's time is up. */
static int wait_fd(struct qmpc *c, short events, struct error **errp)
{
    for (;;) {
        int64_t left = c->deadline - now_ms();
        if (left <= 0)
            return err_set(errp, ETIMEDOUT, _("'%s': no answer in %d s"), c->path,
                           (c->timeout_ms + 999) / 1000);
        struct pollfd p = { .fd = c->fd, .events = events };
        int n = poll(&p, 1, (int)MIN(left, 1000000));
        if (n < 0 && errno != EINTR)
            return err_set_errno(errp, errno, _("'%s'"), c->path);
        if (n > 0)
            return 0;
    }
}

static int send_all(struct qmpc *c, const char *s, size_t len, struct error **errp)
{
    while (len) {
        ssize_t n = send(c->fd, s, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            int r = wait_fd(c, POLLOUT, errp);
            if (r < 0)
                return r;
            continue;
        }
        if (n < 0)
            return err_set_errno(errp, errno, _("'%s': cannot send"), c->path);
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Scan from c->scan: the end of a complete message in *END and 1, 0 if
 * more input is needed, or -errno for input that is no QMP message. */
static int scan_message(struct qmpc *c, size_t *end, struct error **errp)
{
    for (; c->scan < c->len; c->scan++) {
        char ch = c->buf[c->scan];
        if (!c->started) {
            if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
                continue;
            if (ch != '{')
                return err_set(errp, EPROTO, _("'%s': the peer does not speak QMP "
                                               "(unexpected byte 0x%02x)"),
                               c->path, (unsigned char)ch);
            c->started = true;
        }
        if (c->in_string) {
            if (c->escape)
                c->escape = false;
            else if (ch == '\\')
                c->escape = true;
            else if (ch == '"')
                c->in_string = false;
            continue;
        }
        if (ch == '"') {
            c->in_string = true;
        } else if (ch == '{' || ch == '[') {
            if (++c->depth > JSON_MAX_DEPTH)
                return err_set(errp, EPROTO, _("'%s': a message nested more than %d deep"),
                               c->path, JSON_MAX_DEPTH);
        } else if (ch == '}' || ch == ']') {
            if (--c->depth == 0) {
                *end = ++c->scan;
                return 1;
            }
        }
    }
    return 0;
}

/* Read the next message (an object) into *OUT. */
static int read_message(struct qmpc *c, struct json_value **out, struct error **errp)
{
    for (;;) {
        size_t end = 0;
        int r = scan_message(c, &end, errp);
        if (r < 0)
            return r;
        if (r > 0) {
            struct json_value *v = NULL;
            struct error *perr = NULL;
            r = json_parse(&v, c->buf, end, NULL, &perr);
            memmove(c->buf, c->buf + end, c->len - end);
            c->len -= end;
            c->scan = 0;
            c->depth = 0;
            c->started = c->in_string = c->escape = false;
            if (r < 0) {
                r = err_set(errp, EPROTO, _("'%s': the peer sent invalid JSON: %s"), c->path,
                            err_msg(perr));
                err_free(perr);
                return r;
            }
            if (v->type != JSON_OBJECT) {
                json_free(v);
                return err_set(errp, EPROTO, _("'%s': the peer sent no QMP message"),
                               c->path);
            }
            *out = v;
            return 0;
        }
        if (c->len >= QMPC_MAX_MESSAGE)
            return err_set(errp, EMSGSIZE, _("'%s': a message longer than %d bytes"), c->path,
                           QMPC_MAX_MESSAGE);
        if (c->cap - c->len < 4096) {
            size_t cap = c->cap ? MIN(c->cap * 2, (size_t)QMPC_MAX_MESSAGE + 65536) : 65536;
            char *b = realloc(c->buf, cap);
            if (!b)
                return err_set(errp, ENOMEM, _("out of memory"));
            c->buf = b;
            c->cap = cap;
        }
        ssize_t n = recv(c->fd, c->buf + c->len, MIN(c->cap - c->len,
                                                     QMPC_MAX_MESSAGE + 1 - c->len),
                         MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if ((r = wait_fd(c, POLLIN, errp)) < 0)
                return r;
            continue;
        }
        if (n < 0)
            return err_set_errno(errp, errno, _("'%s'"), c->path);
        if (n == 0)
            return err_set(errp, ECONNRESET, _("'%s': the machine closed the connection"),
                           c->path);
        c->len += (size_t)n;
    }
}

static int get_reply(struct qmpc *c, int64_t id, struct json_value **ret, struct error **errp)
{
    for (;;) {
        struct json_value *m;
        int r = read_message(c, &m, errp);
        if (r < 0)
            return r;
        const struct json_value *mid = json_get(m, "id");
        if (json_get(m, "event") || (mid && !(mid->type == JSON_INT && mid->u.i == id))) {
            json_free(m);       /* an event, or an answer to someone else */
            continue;
        }
        struct json_value *rv = json_get(m, "return");
        const struct json_value *e = json_get(m, "error");
        if (rv) {
            if (ret) {
                /* detach the value from the message */
                for (size_t i = 0; i < m->u.a.n; i++)
                    if (m->u.a.v[i] == rv)
                        m->u.a.v[i] = NULL;
                *ret = rv;
            }
            json_free(m);
            return 0;
        }
        if (e && e->type == JSON_OBJECT) {
            const struct json_value *cl = json_get(e, "class");
            const struct json_value *d = json_get(e, "desc");
            snprintf(c->err_class, sizeof(c->err_class), "%s",
                     cl && cl->type == JSON_STRING ? cl->u.s : "GenericError");
            r = err_set(errp, QMPC_ERR_REMOTE, "%s",
                        d && d->type == JSON_STRING ? d->u.s : c->err_class);
            json_free(m);
            return r;
        }
        json_free(m);
        return err_set(errp, EPROTO, _("'%s': the peer sent a message that is no QMP reply"),
                       c->path);
    }
}

int qmpc_execute(struct qmpc *c, const char *command, const char *args,
                 struct json_value **ret, struct error **errp)
{
    struct json_writer w;
    int64_t id = ++c->next_id;
    c->err_class[0] = 0;
    c->deadline = now_ms() + c->timeout_ms;
    jw_init(&w);
    jw_obj_begin(&w, NULL);
    jw_str(&w, "execute", command);
    if (args)
        jw_raw(&w, "arguments", args);
    jw_int(&w, "id", id);
    jw_obj_end(&w);
    /* one write with its line end: a machine told to quit may be gone
     * before a second one */
    char *msg = w.failed ? NULL : malloc(w.len + 3);
    if (!msg) {
        jw_free(&w);
        return err_set(errp, ENOMEM, _("out of memory"));
    }
    memcpy(msg, w.buf, w.len);
    memcpy(msg + w.len, "\r\n", 3);
    int r = send_all(c, msg, w.len + 2, errp);
    free(msg);
    jw_free(&w);
    return r < 0 ? r : get_reply(c, id, ret, errp);
}

const char *qmpc_error_class(const struct qmpc *c)
{
    return c->err_class;
}

int qmpc_connect(struct qmpc **out, const char *path, int timeout_ms, struct error **errp)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sa.sun_path))
        return err_set(errp, ENAMETOOLONG, _("'%s' is too long for a socket path"), path);
    strcpy(sa.sun_path, path);
    struct qmpc *c = calloc(1, sizeof(*c));
    if (!c || !(c->path = strdup(path))) {
        free(c);
        return err_set(errp, ENOMEM, _("out of memory"));
    }
    c->timeout_ms = timeout_ms;
    c->deadline = now_ms() + timeout_ms;
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int r;
    if (c->fd < 0) {
        r = err_set_errno(errp, errno, _("cannot create a socket"));
        goto fail;
    }
    /* A machine serves one client per socket; the next waits in its
     * backlog, and a full backlog blocks connect: bounded by the send
     * timeout (Linux applies it to connect on Unix sockets). */
    struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        if (e == EAGAIN || e == EINPROGRESS)
            e = ETIMEDOUT;
        r = err_set_errno(errp, e, _("cannot connect to '%s'"), path);
        goto fail;
    }
    struct json_value *greeting = NULL;
    if ((r = read_message(c, &greeting, errp)) < 0)
        goto fail;
    bool ok = json_get(greeting, "QMP") != NULL;
    json_free(greeting);
    if (!ok) {
        r = err_set(errp, EPROTO, _("'%s': the peer sent no QMP greeting"), path);
        goto fail;
    }
    if ((r = qmpc_execute(c, "qmp_capabilities", NULL, NULL, errp)) < 0)
        goto fail;
    *out = c;
    return 0;
fail:
    qmpc_close(c);
    return r;
}

void qmpc_close(struct qmpc *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    free(c->path);
    free(c);
}
