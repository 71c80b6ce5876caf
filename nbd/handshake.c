/* handshake.c - the fixed newstyle handshake and option haggling.
 *
 * Every option is read whole (at most NBD_MAX_OPTION_SIZE bytes; larger
 * ones are skipped and refused) and answered in one go; a client that
 * breaks a MUST of the protocol (bad magic, unknown client flags, an
 * export name the server does not have) is disconnected. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "block/block.h"
#include "internal.h"
#include "log.h"
#include "trace/nbd.h"

struct meta_ctx {
    const char *name;
    uint32_t id;
};

static const struct meta_ctx meta_contexts[] = {
    { "base:allocation", NBD_META_ID_BASE_ALLOCATION },
    { "qemu:allocation-depth", NBD_META_ID_ALLOCATION_DEPTH },
};

static void release_free(void *p)
{
    free(p);
}

/* Queue one option reply with a copy of DATA. */
/* The option's name in trace events. */
static const char *nbd_opt_name(uint32_t opt)
{
    static const char *const names[] = {
        [NBD_OPT_EXPORT_NAME] = "export_name", [NBD_OPT_ABORT] = "abort",
        [NBD_OPT_LIST] = "list", [NBD_OPT_STARTTLS] = "starttls", [NBD_OPT_INFO] = "info",
        [NBD_OPT_GO] = "go", [NBD_OPT_STRUCTURED_REPLY] = "structured_reply",
        [NBD_OPT_LIST_META_CONTEXT] = "list_meta_context",
        [NBD_OPT_SET_META_CONTEXT] = "set_meta_context",
        [NBD_OPT_EXTENDED_HEADERS] = "extended_headers",
    };
    return opt < ARRAY_SIZE(names) && names[opt] ? names[opt] : "unknown";
}

static void opt_reply(struct nbd_conn *c, uint32_t type, const void *data, size_t len)
{
    trace_nbd_option_reply(c, c->opt, type);
    struct nbd_out *o = nbd_out_new(2);
    uint8_t *copy = len ? malloc(len) : NULL;
    if (!o || (len && !copy)) {
        free(o);
        free(copy);
        nbd_conn_fail(c);
        return;
    }
    be64_put(o->hdr, NBD_REP_MAGIC);
    be32_put(o->hdr + 8, c->opt);
    be32_put(o->hdr + 12, type);
    be32_put(o->hdr + 16, (uint32_t)len);
    o->iov[0] = (struct iovec){ o->hdr, 20 };
    o->niov = 1;
    if (len) {
        memcpy(copy, data, len);
        o->iov[1] = (struct iovec){ copy, len };
        o->niov = 2;
        o->release = release_free;
        o->opaque = copy;
    }
    nbd_conn_queue(c, o);
}

static void opt_error(struct nbd_conn *c, uint32_t type, const char *why)
{
    nbd_log("client %d: option %u refused: %s", c->fd, c->opt, why);
    opt_reply(c, type, why, strlen(why));
}

static void want(struct nbd_conn *c, enum nbd_conn_state st, void *buf, size_t n)
{
    c->st = st;
    c->want_buf = buf;
    c->want = n;
    c->have = 0;
}

void nbd_hs_start(struct nbd_conn *c)
{
    struct nbd_out *o = nbd_out_new(1);
    if (!o) {
        nbd_conn_fail(c);
        return;
    }
    be64_put(o->hdr, NBD_MAGIC);
    be64_put(o->hdr + 8, NBD_OPTS_MAGIC);
    be16_put(o->hdr + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    o->iov[0] = (struct iovec){ o->hdr, 18 };
    o->niov = 1;
    want(c, NBD_ST_CLIENT_FLAGS, c->hdr, 4);
    nbd_conn_queue(c, o);
}

static void next_option(struct nbd_conn *c)
{
    free(c->opt_data);
    c->opt_data = NULL;
    if (c->st == NBD_ST_OPT_HDR || c->st == NBD_ST_OPT_DATA || c->st == NBD_ST_OPT_SKIP)
        want(c, NBD_ST_OPT_HDR, c->hdr, 16);
}

/* Parse "u32 len, name" at *P within END; returns a NUL-terminated copy
 * in NAME (caller frees) or false when it does not fit. */
static bool take_string(const uint8_t **p, const uint8_t *end, char **name)
{
    if (end - *p < 4)
        return false;
    uint32_t n = be32_get(*p);
    *p += 4;
    if (n > NBD_MAX_STRING || (size_t)(end - *p) < n || memchr(*p, 0, n))
        return false;
    *name = strndup((const char *)*p, n);
    if (!*name)
        return false;
    *p += n;
    return true;
}

uint16_t nbd_export_flags(const struct nbd_conn *c, const struct nbd_export *e)
{
    uint16_t f = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA |
                 NBD_FLAG_SEND_CACHE;
    /* Every connection shares one block node and FLUSH flushes that node,
     * so writes acked on any connection are covered: multi-conn is safe.
     * But with one client at a time (-e 1, the default) a client that
     * trusts the flag and opens more connections would wait forever for
     * the second one, as qemu-nbd knows too: advertise it only when more
     * than one connection can be served. */
    if (c->srv->max_clients != 1)
        f |= NBD_FLAG_CAN_MULTI_CONN;
    if (e->read_only)
        f |= NBD_FLAG_READ_ONLY;
    else
        f |= NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_SEND_FAST_ZERO;
    if (c->structured)
        f |= NBD_FLAG_SEND_DF;
    return f;
}

static void send_info(struct nbd_conn *c, uint16_t type, const void *data, size_t len)
{
    uint8_t buf[2 + NBD_MAX_STRING];
    be16_put(buf, type);
    memcpy(buf + 2, data, len);
    opt_reply(c, NBD_REP_INFO, buf, 2 + len);
}

static void enter_transmission(struct nbd_conn *c, struct nbd_export *e)
{
    c->exp = e;
    if (c->meta_export && strcmp(c->meta_export, e->name) != 0)
        c->meta_base = c->meta_depth = false;
    nbd_log("client %d: export '%s'%s%s", c->fd, e->name,
            c->structured ? ", structured replies" : "",
            c->extended ? ", extended headers" : "");
    free(c->opt_data);
    c->opt_data = NULL;
    nbd_req_start(c);
}

static void opt_info_go(struct nbd_conn *c, const uint8_t *p, const uint8_t *end)
{
    char *name = NULL;
    if (!take_string(&p, end, &name) || end - p < 2) {
        free(name);
        opt_error(c, NBD_REP_ERR_INVALID, "malformed NBD_OPT_INFO/GO");
        return;
    }
    uint16_t nreq = be16_get(p);
    p += 2;
    if ((size_t)(end - p) != (size_t)nreq * 2) {
        free(name);
        opt_error(c, NBD_REP_ERR_INVALID, "malformed information request list");
        return;
    }
    struct nbd_export *e = nbd_export_find(c->srv, name);
    free(name);
    if (!e) {
        opt_error(c, NBD_REP_ERR_UNKNOWN, "no such export");
        return;
    }
    bool want_name = false, want_desc = false;
    for (uint16_t i = 0; i < nreq; i++) {
        uint16_t t = be16_get(p + 2 * i);
        want_name |= t == NBD_INFO_NAME;
        want_desc |= t == NBD_INFO_DESCRIPTION;
    }
    if (want_name)
        send_info(c, NBD_INFO_NAME, e->name, strlen(e->name));
    if (want_desc && e->description)
        send_info(c, NBD_INFO_DESCRIPTION, e->description, strlen(e->description));
    uint8_t bs[12];
    be32_put(bs, 1);
    be32_put(bs + 4, 4096);
    be32_put(bs + 8, NBD_MAX_BLOCK_SIZE);
    send_info(c, NBD_INFO_BLOCK_SIZE, bs, sizeof(bs));
    uint8_t ex[10];
    be64_put(ex, e->size);
    be16_put(ex + 8, nbd_export_flags(c, e));
    send_info(c, NBD_INFO_EXPORT, ex, sizeof(ex));
    opt_reply(c, NBD_REP_ACK, NULL, 0);
    if (c->opt == NBD_OPT_GO && !c->dead)
        enter_transmission(c, e);
}

static void opt_export_name(struct nbd_conn *c, const uint8_t *p, size_t len)
{
    char *name = len <= NBD_MAX_STRING && !memchr(p, 0, len) ?
                 strndup((const char *)p, len) : NULL;
    struct nbd_export *e = name ? nbd_export_find(c->srv, name) : NULL;
    free(name);
    if (!e) {
        /* no way to say no to EXPORT_NAME but to hang up */
        nbd_log("client %d: NBD_OPT_EXPORT_NAME for an unknown export", c->fd);
        nbd_conn_fail(c);
        return;
    }
    static const uint8_t zeroes[124];
    struct nbd_out *o = nbd_out_new(2);
    if (!o) {
        nbd_conn_fail(c);
        return;
    }
    be64_put(o->hdr, e->size);
    be16_put(o->hdr + 8, nbd_export_flags(c, e));
    o->iov[0] = (struct iovec){ o->hdr, 10 };
    o->iov[1] = (struct iovec){ (void *)zeroes, sizeof(zeroes) };
    o->niov = c->no_zeroes ? 1 : 2;
    nbd_conn_queue(c, o);
    if (!c->dead)
        enter_transmission(c, e);
}

static bool meta_matches(const char *query, const struct meta_ctx *m, bool list)
{
    if (strcmp(query, m->name) == 0)
        return true;
    /* LIST accepts a namespace ("base:") for all its contexts */
    size_t n = strlen(query);
    return list && n > 0 && query[n - 1] == ':' && strncmp(query, m->name, n) == 0;
}

static void opt_meta(struct nbd_conn *c, const uint8_t *p, const uint8_t *end)
{
    bool list = c->opt == NBD_OPT_LIST_META_CONTEXT;
    if (!list && !c->structured) {
        opt_error(c, NBD_REP_ERR_INVALID, "structured replies are needed first");
        return;
    }
    char *name = NULL;
    if (!take_string(&p, end, &name) || end - p < 4) {
        free(name);
        opt_error(c, NBD_REP_ERR_INVALID, "malformed meta context option");
        return;
    }
    uint32_t nq = be32_get(p);
    p += 4;
    /* validate every query before answering any */
    const uint8_t *q = p;
    for (uint32_t i = 0; i < nq; i++) {
        char *s = NULL;
        if (!take_string(&q, end, &s)) {
            free(name);
            opt_error(c, NBD_REP_ERR_INVALID, "malformed meta context query");
            return;
        }
        free(s);
    }
    if (q != end) {
        free(name);
        opt_error(c, NBD_REP_ERR_INVALID, "trailing bytes after the queries");
        return;
    }
    if (!nbd_export_find(c->srv, name)) {
        free(name);
        opt_error(c, NBD_REP_ERR_UNKNOWN, "no such export");
        return;
    }
    bool sel[ARRAY_SIZE(meta_contexts)] = { false };
    if (list && nq == 0) {
        for (size_t k = 0; k < ARRAY_SIZE(meta_contexts); k++)
            sel[k] = true;
    }
    for (uint32_t i = 0; i < nq; i++) {
        char *s = NULL;
        take_string(&p, end, &s);
        for (size_t k = 0; s && k < ARRAY_SIZE(meta_contexts); k++)
            sel[k] |= meta_matches(s, &meta_contexts[k], list);
        free(s);
    }
    if (!list) {
        free(c->meta_export);
        c->meta_export = name;
        name = NULL;
        c->meta_base = sel[0];
        c->meta_depth = sel[1];
    }
    free(name);
    for (size_t k = 0; k < ARRAY_SIZE(meta_contexts); k++) {
        if (!sel[k])
            continue;
        uint8_t buf[64];
        size_t n = strlen(meta_contexts[k].name);
        be32_put(buf, list ? 0 : meta_contexts[k].id);
        memcpy(buf + 4, meta_contexts[k].name, n);
        opt_reply(c, NBD_REP_META_CONTEXT, buf, 4 + n);
    }
    opt_reply(c, NBD_REP_ACK, NULL, 0);
}

static void opt_list(struct nbd_conn *c, size_t len)
{
    if (len != 0) {
        opt_error(c, NBD_REP_ERR_INVALID, "NBD_OPT_LIST takes no data");
        return;
    }
    for (struct nbd_export *e = c->srv->exports; e && !c->dead; e = e->next) {
        size_t n = strlen(e->name), d = e->description ? strlen(e->description) : 0;
        uint8_t *buf = malloc(4 + n + d);
        if (!buf) {
            nbd_conn_fail(c);
            return;
        }
        be32_put(buf, (uint32_t)n);
        memcpy(buf + 4, e->name, n);
        if (d)
            memcpy(buf + 4 + n, e->description, d);
        opt_reply(c, NBD_REP_SERVER, buf, 4 + n + d);
        free(buf);
    }
    opt_reply(c, NBD_REP_ACK, NULL, 0);
}

static void opt_starttls(struct nbd_conn *c, size_t len)
{
    if (!c->srv->tls) {
        opt_error(c, NBD_REP_ERR_UNSUP, "TLS is not configured on this server");
        return;
    }
    if (len != 0 || c->tls_session) {
        opt_error(c, NBD_REP_ERR_INVALID, len ? "NBD_OPT_STARTTLS takes no data" :
                  "TLS is already active");
        return;
    }
    struct error *err = NULL;
    if (nbd_tls_session_new(c, &err) < 0) {
        nbd_log("client %d: %s", c->fd, err_msg(err));
        err_free(err);
        opt_error(c, NBD_REP_ERR_PLATFORM, "cannot start TLS");
        return;
    }
    /* Bytes after the option are the client's first TLS records. */
    size_t left = c->stage_len - c->stage_pos;
    if (left) {
        c->tls_leftover = malloc(left);
        if (!c->tls_leftover) {
            nbd_conn_fail(c);
            return;
        }
        memcpy(c->tls_leftover, c->stage + c->stage_pos, left);
        c->tls_left_pos = 0;
        c->tls_left_len = left;
        c->stage_pos = c->stage_len = 0;
    }
    /* what was negotiated in the clear does not carry over */
    c->structured = c->extended = false;
    c->meta_base = c->meta_depth = false;
    opt_reply(c, NBD_REP_ACK, NULL, 0);
    free(c->opt_data);
    c->opt_data = NULL;
    if (!c->dead) {
        c->st = NBD_ST_TLS_FLUSH;
        if (!c->out_head) {
            c->st = NBD_ST_TLS_HANDSHAKE;
        }
        nbd_conn_update(c);
    }
}

static void handle_option(struct nbd_conn *c)
{
    const uint8_t *p = c->opt_data;
    size_t len = c->opt_len;
    const uint8_t *end = p + len;
    uint32_t opt = c->opt;

    if (c->srv->tls_required && !c->tls_active && opt != NBD_OPT_STARTTLS &&
        opt != NBD_OPT_ABORT) {
        if (opt == NBD_OPT_EXPORT_NAME) {
            nbd_conn_fail(c);
            return;
        }
        opt_error(c, NBD_REP_ERR_TLS_REQD, "TLS is required");
        next_option(c);
        return;
    }
    if (c->srv->shutting_down && opt != NBD_OPT_ABORT) {
        if (opt == NBD_OPT_EXPORT_NAME) {
            nbd_conn_fail(c);
            return;
        }
        opt_error(c, NBD_REP_ERR_SHUTDOWN, "the server is shutting down");
        next_option(c);
        return;
    }
    switch (opt) {
    case NBD_OPT_EXPORT_NAME:
        opt_export_name(c, p, len);
        return;
    case NBD_OPT_ABORT:
        opt_reply(c, NBD_REP_ACK, NULL, 0);
        if (!c->dead) {
            c->st = NBD_ST_CLOSING;
            nbd_conn_update(c);
        }
        return;
    case NBD_OPT_LIST:
        opt_list(c, len);
        break;
    case NBD_OPT_STARTTLS:
        opt_starttls(c, len);
        if (c->st != NBD_ST_OPT_DATA)
            return;     /* TLS starts, or the connection is gone */
        break;
    case NBD_OPT_INFO:
    case NBD_OPT_GO:
        opt_info_go(c, p, end);
        if (c->st != NBD_ST_OPT_DATA && c->st != NBD_ST_OPT_HDR)
            return;     /* in transmission, or gone */
        break;
    case NBD_OPT_STRUCTURED_REPLY:
    case NBD_OPT_EXTENDED_HEADERS:
        if (len != 0) {
            opt_error(c, NBD_REP_ERR_INVALID, "option takes no data");
            break;
        }
        c->structured = true;
        if (opt == NBD_OPT_EXTENDED_HEADERS)
            c->extended = true;
        opt_reply(c, NBD_REP_ACK, NULL, 0);
        break;
    case NBD_OPT_LIST_META_CONTEXT:
    case NBD_OPT_SET_META_CONTEXT:
        opt_meta(c, p, end);
        break;
    default:
        opt_error(c, NBD_REP_ERR_UNSUP, "unknown option");
        break;
    }
    if (!c->dead)
        next_option(c);
}

void nbd_hs_input(struct nbd_conn *c)
{
    switch (c->st) {
    case NBD_ST_CLIENT_FLAGS: {
        uint32_t f = be32_get(c->hdr);
        if (f & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) {
            nbd_log("client %d: unknown client flags 0x%x", c->fd, f);
            nbd_conn_fail(c);
            return;
        }
        c->no_zeroes = (f & NBD_FLAG_C_NO_ZEROES) != 0;
        want(c, NBD_ST_OPT_HDR, c->hdr, 16);
        return;
    }
    case NBD_ST_OPT_HDR:
        if (be64_get(c->hdr) != NBD_OPTS_MAGIC) {
            nbd_log("client %d: bad option magic", c->fd);
            nbd_conn_fail(c);
            return;
        }
        c->opt = be32_get(c->hdr + 8);
        c->opt_len = be32_get(c->hdr + 12);
        trace_nbd_option(c, c->opt, nbd_opt_name(c->opt), c->opt_len);
        if (c->opt_len > NBD_MAX_OPTION_SIZE) {
            if (c->opt == NBD_OPT_EXPORT_NAME) {
                nbd_conn_fail(c);
                return;
            }
            c->st = NBD_ST_OPT_SKIP;
            c->skip = c->opt_len;
            return;
        }
        c->opt_data = malloc(c->opt_len + 1);
        if (!c->opt_data) {
            nbd_conn_fail(c);
            return;
        }
        want(c, NBD_ST_OPT_DATA, c->opt_data, c->opt_len);
        return;
    case NBD_ST_OPT_DATA:
        handle_option(c);
        return;
    case NBD_ST_OPT_SKIP:
        opt_error(c, NBD_REP_ERR_TOO_BIG, "option too large");
        if (!c->dead)
            next_option(c);
        return;
    default:
        return;
    }
}
