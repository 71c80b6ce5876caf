/* client.c - just enough of an NBD client to list a server's exports
 * (emu-nbd -L): the fixed newstyle handshake, STARTTLS if asked for,
 * NBD_OPT_LIST, then NBD_OPT_INFO and NBD_OPT_LIST_META_CONTEXT per
 * export, then ABORT.  Blocking I/O on the caller's socket; everything
 * the server sends is bounds-checked before use. */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"
#include "i18n.h"
#include "internal.h"

/* The connection: plain until STARTTLS succeeded. */
struct link {
    int fd;
    struct nbd_tls_client *tls;
};

static int read_full(struct link *l, void *buf, size_t len, struct error **errp)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = l->tls ? nbd_tls_client_io(l->tls, p, len, false) : read(l->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n == 0 ? err_set(errp, EPIPE, _("the server closed the connection"))
                          : err_set_errno(errp, errno, _("cannot read from the server"));
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int write_full(struct link *l, const void *buf, size_t len, struct error **errp)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = l->tls ? nbd_tls_client_io(l->tls, (void *)p, len, true) : write(l->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_set_errno(errp, errno, _("cannot write to the server"));
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int send_opt(struct link *l, uint32_t opt, const void *data, uint32_t len, struct error **errp)
{
    uint8_t h[16];
    be64_put(h, NBD_OPTS_MAGIC);
    be32_put(h + 8, opt);
    be32_put(h + 12, len);
    if (write_full(l, h, 16, errp) < 0)
        return -EIO;
    return len ? write_full(l, data, len, errp) : 0;
}

/* One option reply: its type and payload (malloc'd, NUL-terminated). */
static int recv_reply(struct link *l, uint32_t opt, uint32_t *type, uint8_t **data, uint32_t *len,
                      struct error **errp)
{
    uint8_t h[20];
    if (read_full(l, h, 20, errp) < 0)
        return -EIO;
    if (be64_get(h) != NBD_REP_MAGIC || be32_get(h + 8) != opt)
        return err_set(errp, EPROTO, _("the server sent an invalid option reply"));
    *type = be32_get(h + 12);
    *len = be32_get(h + 16);
    if (*len > NBD_MAX_OPTION_SIZE)
        return err_set(errp, EPROTO, _("the server sent an oversized option reply"));
    *data = malloc(*len + 1);
    if (!*data)
        return err_set(errp, ENOMEM, _("out of memory"));
    (*data)[*len] = 0;
    if (read_full(l, *data, *len, errp) < 0) {
        free(*data);
        return -EIO;
    }
    return 0;
}

static int reply_error(uint32_t type, struct error **errp)
{
    if (type == NBD_REP_ERR_TLS_REQD)
        return err_set(errp, EACCES, _("the server requires TLS"));
    if (type == NBD_REP_ERR_POLICY)
        return err_set(errp, EACCES, _("the server refused to list its exports"));
    return err_set(errp, EPROTO, _("the server refused the request (error 0x%x)"), type);
}

static int query_export(struct link *l, struct nbd_export_info *e, struct error **errp)
{
    size_t nl = strlen(e->name);
    uint8_t *q = malloc(4 + nl + 2 + 6);
    if (!q)
        return err_set(errp, ENOMEM, _("out of memory"));
    be32_put(q, (uint32_t)nl);
    memcpy(q + 4, e->name, nl);
    be16_put(q + 4 + nl, 3);
    be16_put(q + 6 + nl, NBD_INFO_NAME);
    be16_put(q + 8 + nl, NBD_INFO_DESCRIPTION);
    be16_put(q + 10 + nl, NBD_INFO_BLOCK_SIZE);
    int r = send_opt(l, NBD_OPT_INFO, q, (uint32_t)(12 + nl), errp);
    free(q);
    if (r < 0)
        return r;
    for (;;) {
        uint32_t type, len;
        uint8_t *d;
        if (recv_reply(l, NBD_OPT_INFO, &type, &d, &len, errp) < 0)
            return -EIO;
        if (type == NBD_REP_ACK) {
            free(d);
            break;
        }
        if (type & 0x80000000u) {
            free(d);
            return 0;   /* listed but not describable: show the name only */
        }
        if (type == NBD_REP_INFO && len >= 2) {
            uint16_t it = be16_get(d);
            if (it == NBD_INFO_EXPORT && len == 12) {
                e->size = be64_get(d + 2);
                e->flags = be16_get(d + 10);
                e->has_info = true;
            } else if (it == NBD_INFO_BLOCK_SIZE && len == 14) {
                e->min_block = be32_get(d + 2);
                e->pref_block = be32_get(d + 6);
                e->max_block = be32_get(d + 10);
            } else if (it == NBD_INFO_DESCRIPTION && !e->description) {
                e->description = strndup((char *)d + 2, len - 2);
            }
        }
        free(d);
    }
    /* meta contexts */
    q = malloc(8 + nl);
    if (!q)
        return err_set(errp, ENOMEM, _("out of memory"));
    be32_put(q, (uint32_t)nl);
    memcpy(q + 4, e->name, nl);
    be32_put(q + 4 + nl, 0);
    r = send_opt(l, NBD_OPT_LIST_META_CONTEXT, q, (uint32_t)(8 + nl), errp);
    free(q);
    if (r < 0)
        return r;
    size_t n = 0;
    for (;;) {
        uint32_t type, len;
        uint8_t *d;
        if (recv_reply(l, NBD_OPT_LIST_META_CONTEXT, &type, &d, &len, errp) < 0)
            return -EIO;
        if (type != NBD_REP_META_CONTEXT) {
            free(d);
            break;
        }
        char **nc = len > 4 ? realloc(e->contexts, sizeof(char *) * (n + 2)) : NULL;
        if (nc) {
            e->contexts = nc;
            nc[n] = strndup((char *)d + 4, len - 4);
            if (nc[n])
                n++;
            nc[n] = NULL;
        }
        free(d);
    }
    return 0;
}

/* Send option OPT without data; its first reply's type into *TYPE. */
static int simple_opt(struct link *l, uint32_t opt, uint32_t *type, struct error **errp)
{
    uint32_t len;
    uint8_t *d;
    if (send_opt(l, opt, NULL, 0, errp) < 0 || recv_reply(l, opt, type, &d, &len, errp) < 0)
        return -EIO;
    free(d);
    return 0;
}

static int start_tls(struct link *l, const struct nbd_client_tls *cfg, struct error **errp)
{
    uint32_t type;
    if (simple_opt(l, NBD_OPT_STARTTLS, &type, errp) < 0)
        return -EIO;
    if (type != NBD_REP_ACK)
        return err_set(errp, EPROTO, _("the server does not offer TLS (reply 0x%x)"), type);
    struct nbd_tls_client *t = nbd_tls_client_new(cfg, errp);
    if (!t)
        return -EIO;
    if (nbd_tls_client_handshake(t, l->fd, errp) < 0) {
        nbd_tls_client_free(t);
        return -EIO;
    }
    l->tls = t;
    return 0;
}

static int list_exports(struct link *l, const struct nbd_client_tls *tls,
                        struct nbd_export_info **out, int *nout, struct error **errp)
{
    *out = NULL;
    *nout = 0;
    uint8_t g[18];
    if (read_full(l, g, 18, errp) < 0)
        return -EIO;
    if (be64_get(g) != NBD_MAGIC || be64_get(g + 8) != NBD_OPTS_MAGIC)
        return err_set(errp, EPROTO, _("not a newstyle NBD server"));
    uint16_t sflags = be16_get(g + 16);
    if (!(sflags & NBD_FLAG_FIXED_NEWSTYLE))
        return err_set(errp, EPROTO, _("the server does not support listing exports"));
    uint8_t cf[4];
    be32_put(cf, NBD_FLAG_C_FIXED_NEWSTYLE | (sflags & NBD_FLAG_NO_ZEROES ? NBD_FLAG_C_NO_ZEROES : 0));
    if (write_full(l, cf, 4, errp) < 0)
        return -EIO;
    if (tls && start_tls(l, tls, errp) < 0)
        return -EIO;
    /* structured replies, so that servers answer LIST_META_CONTEXT */
    uint32_t type, len;
    uint8_t *d;
    if (simple_opt(l, NBD_OPT_STRUCTURED_REPLY, &type, errp) < 0)
        return -EIO;
    if (type == NBD_REP_ERR_TLS_REQD)
        return reply_error(type, errp);
    if (send_opt(l, NBD_OPT_LIST, NULL, 0, errp) < 0)
        return -EIO;
    struct nbd_export_info *list = NULL;
    int n = 0, ret = 0;
    for (;;) {
        if (recv_reply(l, NBD_OPT_LIST, &type, &d, &len, errp) < 0) {
            ret = -EIO;
            goto out;
        }
        if (type == NBD_REP_ACK) {
            free(d);
            break;
        }
        if (type != NBD_REP_SERVER) {
            free(d);
            ret = reply_error(type, errp);
            goto out;
        }
        uint32_t nl = len >= 4 ? be32_get(d) : UINT32_MAX;
        if (nl > len - 4) {
            free(d);
            ret = err_set(errp, EPROTO, _("the server sent an invalid export name"));
            goto out;
        }
        struct nbd_export_info *nlst = realloc(list, sizeof(*list) * (size_t)(n + 1));
        if (!nlst) {
            free(d);
            ret = err_set(errp, ENOMEM, _("out of memory"));
            goto out;
        }
        list = nlst;
        memset(&list[n], 0, sizeof(list[n]));
        list[n].name = strndup((char *)d + 4, nl);
        if (len - 4 > nl)
            list[n].description = strndup((char *)d + 4 + nl, len - 4 - nl);
        n++;
        free(d);
    }
    for (int i = 0; i < n; i++) {
        if (!list[i].name) {
            ret = err_set(errp, ENOMEM, _("out of memory"));
            goto out;
        }
        if (query_export(l, &list[i], errp) < 0) {
            ret = -EIO;
            goto out;
        }
    }
    simple_opt(l, NBD_OPT_ABORT, &type, NULL);   /* a courtesy: errors do not matter */
out:
    if (ret < 0) {
        nbd_export_info_free(list, n);
        return ret;
    }
    *out = list;
    *nout = n;
    return 0;
}

int nbd_client_list(int fd, const struct nbd_client_tls *tls, struct nbd_export_info **out,
                    int *nout, struct error **errp)
{
    struct link l = { fd, NULL };
    int r = list_exports(&l, tls, out, nout, errp);
    if (l.tls) {
        nbd_tls_client_bye(l.tls);
        nbd_tls_client_free(l.tls);
    }
    return r;
}

void nbd_export_info_free(struct nbd_export_info *e, int n)
{
    for (int i = 0; i < n; i++) {
        free(e[i].name);
        free(e[i].description);
        for (char **c = e[i].contexts; c && *c; c++)
            free(*c);
        free(e[i].contexts);
    }
    free(e);
}
