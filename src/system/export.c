/* export.c - a running machine's disks over NBD (see export.h): the
 * server's life, the exports and their point-in-time views, and the QMP
 * and HMP commands, with QEMU's names, JSON shapes and messages. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "export.h"
#include "monitor.h"
#include "block/block.h"
#include "block/cbw.h"
#include "hw/drive.h"
#include "hw/machine.h"
#include "i18n.h"
#include "nbd/nbd.h"

/* QEMU's ids: a letter, then letters, digits, '-', '.', '_'. */
#define EXPORT_ID_MAX 128

struct export {
    char *id;                   /* block-export id; nbd-server-add: the name */
    char *name;                 /* NBD export name */
    char *node;                 /* node-name, as query-block-exports shows it */
    struct blk *view;           /* our point-in-time view (NULL: none needed) */
    bool shutting_down;         /* removed; waiting for its clients to go */
    struct export *next;
};

/* A server nbd-server-stop ended, freed once its clients are gone. */
struct dying {
    struct nbd_server *srv;
    struct loop_bh *bh;
    struct dying *next;
};

static struct {
    struct nbd_server *srv;     /* NULL: not running */
    char *unix_path;            /* the socket file we made, unlinked at stop */
    struct export *exports;     /* newest first, as qemu lists them */
    struct dying *dying;
} X;

/* ---- the machine's nodes ---- */

static struct drive_set *drives(void)
{
    struct monitor_host *h = monitor_host();
    return h ? h->drives : NULL;
}

/* The node named NAME: a drive's id, or ID-backingN (see export.h).
 * *D gets its drive, *DEPTH its place in the chain. */
static struct blk *node_find(const char *name, struct drive **dp, int *depth)
{
    struct drive_set *s = drives();
    if (!s || !name)
        return NULL;
    for (int i = 0; i < s->n; i++) {
        struct drive *d = s->d[i];
        if (!d->is_protocol && d->bs && strcmp(d->id, name) == 0) {
            *dp = d;
            *depth = 0;
            return d->bs;
        }
    }
    for (int i = 0; i < s->n; i++) {
        struct drive *d = s->d[i];
        size_t n = strlen(d->id);
        if (d->is_protocol || !d->bs || strncmp(name, d->id, n) != 0 ||
            strncmp(name + n, "-backing", 8) != 0)
            continue;
        const char *num = name + n + 8;
        char *end;
        if (!isdigit((unsigned char)*num) || *num == '0')
            continue;
        errno = 0;
        unsigned long k = strtoul(num, &end, 10);
        if (*end || errno || k > BLK_MAX_CHAIN)
            continue;
        struct blk *b = d->bs;
        for (unsigned long j = 0; b && j < k; j++)
            b = b->backing;
        if (b) {
            *dp = d;
            *depth = (int)k;
            return b;
        }
    }
    return NULL;
}

static bool id_wellformed(const char *id)
{
    if (!isalpha((unsigned char)id[0]) || strlen(id) > EXPORT_ID_MAX)
        return false;
    for (const char *p = id + 1; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
            return false;
    return true;
}

static struct export *export_find(const char *id)
{
    for (struct export *e = X.exports; e; e = e->next)
        if (strcmp(e->id, id) == 0)
            return e;
    return NULL;
}

static void export_free(struct export *e)
{
    blk_close(e->view);
    free(e->id);
    free(e->name);
    free(e->node);
    free(e);
}

bool export_has_views(void)
{
    for (struct export *e = X.exports; e; e = e->next)
        if (e->view)
            return true;
    return false;
}

/* ---- exports ---- */

struct export_opts {
    const char *id, *node, *name, *description;
    bool writable;
    bool by_device;             /* nbd-server-add: NODE may be a device */
};

static int export_add(const struct export_opts *o, struct error **errp)
{
    if (!X.srv)
        return err_set(errp, ENOTCONN, "NBD server not running");
    if (!id_wellformed(o->id))
        return err_set(errp, EINVAL, "Invalid block export id");
    if (export_find(o->id))
        return err_set(errp, EEXIST, "Block export id '%s' is already in use", o->id);
    struct drive *d = NULL;
    int depth = 0;
    struct blk *bs = node_find(o->node, &d, &depth);
    if (!bs)
        return err_set(errp, ENOENT, "Cannot find device='%s' nor node-name='%s'",
                       o->by_device ? o->node : "", o->node);
    const char *name = o->name ? o->name : o->node;
    for (struct export *e = X.exports; e; e = e->next)
        if (!e->shutting_down && strcmp(e->name, name) == 0)
            return err_set(errp, EEXIST, "NBD server already has export named '%s'", name);
    if (o->writable)
        return err_set(errp, ENOTSUP,
                       _("cannot export '%s' writable: exports of a running machine's disks "
                         "are read-only point-in-time views"), o->node);
    struct export *e = calloc(1, sizeof(*e));
    if (!e || !(e->id = strdup(o->id)) || !(e->name = strdup(name)) ||
        !(e->node = strdup(o->node))) {
        if (e)
            export_free(e);
        return err_set(errp, ENOMEM, _("out of memory"));
    }
    /* the top node of a writable disk changes: export the moment instead;
     * backing images and read-only disks do not */
    struct blk *target = bs;
    if (depth == 0 && !bs->read_only) {
        int r = cbw_open(&e->view, bs, o->node, errp);
        if (r < 0) {
            export_free(e);
            return r;
        }
        target = e->view;
    }
    struct nbd_export_config cfg = {
        .name = name,
        .description = o->description,
        .blk = target,
        .read_only = true,
    };
    int r = nbd_server_add_export(X.srv, &cfg, errp);
    if (r < 0) {
        export_free(e);
        return r;
    }
    e->next = X.exports;
    X.exports = e;
    return 0;
}

/* The server let go of export OPAQUE: its view goes, and clients hear. */
static void export_removed(void *opaque)
{
    struct export *e = opaque;
    for (struct export **pp = &X.exports; *pp; pp = &(*pp)->next)
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    struct qmp *q = monitor_qmp();
    if (q) {
        /* ids are well-formed: nothing to escape */
        char data[EXPORT_ID_MAX + 16];
        snprintf(data, sizeof(data), "{\"id\": \"%s\"}", e->id);
        qmp_event(q, "BLOCK_EXPORT_DELETED", data);
    }
    export_free(e);
}

static int export_del(const char *id, bool hard, struct error **errp)
{
    struct export *e = export_find(id);
    if (!e)
        return err_set(errp, ENOENT, "Export '%s' is not found", id);
    if (e->shutting_down) {
        /* hard removal cut its clients already; they are on their way */
        if (hard)
            return 0;
        return err_set(errp, EBUSY, "export '%s' still in use", id);
    }
    /* set first: E (and ID, which may be E's) is freed in the call when no
     * client uses it; else it waits for them, shutting down */
    e->shutting_down = true;
    struct error *err = NULL;
    int r = nbd_server_remove_export(X.srv, e->name, hard, export_removed, e, &err);
    if (r < 0) {
        e->shutting_down = false;
        if (r == -EBUSY) {
            err_free(err);
            return err_set(errp, EBUSY, "export '%s' still in use", id);
        }
        if (errp)
            *errp = err;
        else
            err_free(err);
        return r;
    }
    return 0;
}

/* ---- the server ---- */

static void dying_free(void *opaque)
{
    struct dying *dy = opaque;
    for (struct dying **pp = &X.dying; *pp; pp = &(*pp)->next)
        if (*pp == dy) {
            *pp = dy->next;
            break;
        }
    nbd_server_free(dy->srv);
    loop_bh_free(dy->bh);       /* (the loop lets go of it after this call) */
    free(dy);
}

/* The last client of a stopped server is gone: free it outside its own
 * callbacks. */
static void server_done(void *opaque)
{
    struct dying *dy = opaque;
    loop_bh_schedule(dy->bh);
}

static int server_stop(struct error **errp)
{
    if (!X.srv)
        return err_set(errp, ENOTCONN, "NBD server not running");
    /* every export goes, its clients cut (qemu's nbd-server-stop) */
    for (struct export *e = X.exports, *n; e; e = n) {
        n = e->next;
        if (!e->shutting_down)
            export_del(e->id, true, NULL);
    }
    if (X.unix_path) {
        unlink(X.unix_path);
        free(X.unix_path);
        X.unix_path = NULL;
    }
    struct monitor_host *h = monitor_host();
    struct dying *dy = calloc(1, sizeof(*dy));
    if (dy)
        dy->bh = loop_bh_new(h->m->loop, dying_free, dy, NULL);
    if (!dy || !dy->bh) {
        free(dy);
        nbd_server_free(X.srv);   /* at once then: drains the pool */
    } else {
        dy->srv = X.srv;
        dy->next = X.dying;
        X.dying = dy;
        nbd_server_shutdown(X.srv, server_done, dy);
    }
    X.srv = NULL;
    return 0;
}

static int listen_unix(const char *path, struct error **errp)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sa.sun_path))
        return err_set(errp, ENAMETOOLONG, _("socket path '%.64s...' is too long"), path);
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return err_set(errp, errno, _("cannot create a socket: %s"), strerror(errno));
    /* a stale socket of an earlier run goes, as qemu does; but nothing
     * else a monitor client names */
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
        int e = errno;
        close(fd);
        return err_set(errp, e, _("Failed to bind socket to %s: %s"), path, strerror(e));
    }
    return fd;
}

/* Listen on HOST:PORT.  HOST is an address ("" or "::" for all,
 * "localhost" for 127.0.0.1): a name would be looked up in DNS while the
 * machine's loop waits. */
static int listen_inet(const char *host, const char *port, struct error **errp)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICHOST }, *res = NULL;
    const char *h = strcmp(host, "localhost") == 0 ? "127.0.0.1" : *host ? host : NULL;
    int g = getaddrinfo(h, port, &hints, &res);
    if (g == EAI_NONAME && h)
        return err_set(errp, EINVAL, _("'%s' is not an address: give the address to "
                                       "listen on, not a host name"), host);
    if (g != 0)
        return err_set(errp, EINVAL, _("address resolution failed for %s:%s: %s"), host, port,
                       gai_strerror(g));
    int fd = -1, e = EADDRNOTAVAIL;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    a->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, a->ai_addr, a->ai_addrlen) < 0 || listen(fd, 16) < 0) {
            e = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        return err_set(errp, e, _("Failed to bind socket to %s:%s: %s"), host, port,
                       strerror(e));
    return fd;
}

struct server_addr {
    const char *type;           /* "unix", "inet" */
    const char *path;           /* unix */
    const char *host, *port;    /* inet */
};

static int server_start(const struct server_addr *a, unsigned max_conn,
                        struct error **errp)
{
    if (X.srv)
        return err_set(errp, EEXIST, "NBD server already running");
    struct monitor_host *h = monitor_host();
    if (!h || !h->m->loop || !h->m->pool)
        return err_set(errp, EAGAIN, _("the machine is not ready for an NBD server"));
    int fd = strcmp(a->type, "unix") == 0 ? listen_unix(a->path, errp)
                                          : listen_inet(a->host, a->port, errp);
    if (fd < 0)
        return fd;
    struct nbd_server *srv = nbd_server_new(h->m->loop, h->m->pool, errp);
    if (!srv) {
        close(fd);
        return -ENOMEM;
    }
    nbd_server_set_max_clients(srv, max_conn);
    if (nbd_server_listen(srv, fd, errp) < 0) {
        nbd_server_free(srv);
        return -EIO;
    }
    if (strcmp(a->type, "unix") == 0 && !(X.unix_path = strdup(a->path))) {
        nbd_server_free(srv);
        unlink(a->path);
        return err_set(errp, ENOMEM, _("out of memory"));
    }
    X.srv = srv;
    return 0;
}

void export_cleanup(void)
{
    /* nbd_server_free ends the connections, waits for their requests and
     * lets go of the exports (export_removed closes the views) */
    if (X.srv) {
        for (struct export *e = X.exports, *n; e; e = n) {
            n = e->next;
            if (!e->shutting_down)
                export_del(e->id, true, NULL);
        }
        nbd_server_free(X.srv);
        X.srv = NULL;
    }
    while (X.dying) {
        struct dying *dy = X.dying;
        X.dying = dy->next;
        nbd_server_free(dy->srv);
        loop_bh_free(dy->bh);
        free(dy);
    }
    while (X.exports) {         /* (none should be left) */
        struct export *e = X.exports;
        X.exports = e->next;
        export_free(e);
    }
    if (X.unix_path) {
        unlink(X.unix_path);
        free(X.unix_path);
        X.unix_path = NULL;
    }
}

/* ---- QMP ---- */

static const char *arg_str(const struct json_value *a, const char *key)
{
    const struct json_value *v = json_get(a, key);
    return v && v->type == JSON_STRING ? v->u.s : NULL;
}

static bool arg_bool(const struct json_value *a, const char *key)
{
    const struct json_value *v = json_get(a, key);
    return v && v->type == JSON_BOOL && v->u.b;
}

/* MEMBER of OBJ (named PATH.MEMBER in messages) must be a string. */
static int member_str(const struct json_value *obj, const char *path, const char *member,
                      bool optional, const char **out, struct error **errp)
{
    const struct json_value *v = json_get(obj, member);
    *out = NULL;
    if (!v) {
        if (optional)
            return 0;
        return err_set(errp, EINVAL, "Parameter '%s.%s' is missing", path, member);
    }
    if (v->type != JSON_STRING)
        return err_set(errp, EINVAL, "Invalid parameter type for '%s.%s', expected: string",
                       path, member);
    *out = v->u.s;
    return 0;
}

/* Members of OBJ must be among KNOWN (NULL-terminated). */
static int members_known(const struct json_value *obj, const char *path,
                         const char *const *known, struct error **errp)
{
    for (size_t i = 0; i < obj->u.a.n; i++) {
        const char *k = obj->u.a.keys[i];
        const char *const *p = known;
        while (*p && strcmp(*p, k) != 0)
            p++;
        if (!*p)
            return err_set(errp, EINVAL, "Parameter '%s.%s' is unexpected", path, k);
    }
    return 0;
}

static int port_check(const char *port, struct error **errp)
{
    if (!*port)
        return err_set(errp, EINVAL, _("the port is empty"));
    bool digits = true;
    for (const char *p = port; *p; p++)
        digits = digits && isdigit((unsigned char)*p);
    if (digits && (strlen(port) > 5 || atoi(port) > 65535))
        return err_set(errp, EINVAL, _("port '%s' is out of range"), port);
    return 0;
}

/* SocketAddressLegacy, as qemu takes it for nbd-server-start:
 * {"type": "unix", "data": {"path": P}} or {"type": "inet", "data":
 * {"host": H, "port": "N"}}; the flat form without "data" too. */
static int parse_addr(const struct json_value *addr, struct server_addr *a,
                      struct error **errp)
{
    static const char *const unix_keys[] = { "path", "abstract", "tight", NULL };
    static const char *const inet_keys[] = { "host", "port", "numeric", "to", "ipv4",
                                             "ipv6", "keep-alive", "mptcp", NULL };
    if (addr->type != JSON_OBJECT)
        return err_set(errp, EINVAL, "Invalid parameter type for 'addr', expected: object");
    int r = member_str(addr, "addr", "type", false, &a->type, errp);
    if (r < 0)
        return r;
    const struct json_value *data = json_get(addr, "data");
    const char *path = "addr.data";
    if (data) {
        if (data->type != JSON_OBJECT)
            return err_set(errp, EINVAL,
                           "Invalid parameter type for 'addr.data', expected: object");
        for (size_t i = 0; i < addr->u.a.n; i++)
            if (strcmp(addr->u.a.keys[i], "type") && strcmp(addr->u.a.keys[i], "data"))
                return err_set(errp, EINVAL, "Parameter 'addr.%s' is unexpected",
                               addr->u.a.keys[i]);
    } else {
        data = addr;        /* flat, as SocketAddress */
        path = "addr";
    }
    if (strcmp(a->type, "unix") == 0) {
        r = member_str(data, path, "path", false, &a->path, errp);
        if (r >= 0 && data != addr)
            r = members_known(data, path, unix_keys, errp);
        if (r >= 0 && !*a->path)
            r = err_set(errp, EINVAL, _("the socket path is empty"));
        return r;
    }
    if (strcmp(a->type, "inet") == 0) {
        r = member_str(data, path, "host", false, &a->host, errp);
        if (r >= 0)
            r = member_str(data, path, "port", false, &a->port, errp);
        if (r >= 0 && data != addr)
            r = members_known(data, path, inet_keys, errp);
        return r < 0 ? r : port_check(a->port, errp);
    }
    if (strcmp(a->type, "fd") == 0 || strcmp(a->type, "vsock") == 0)
        return err_set(errp, ENOTSUP, _("NBD server addresses of type '%s' are not supported"),
                       a->type);
    return err_set(errp, EINVAL, "Parameter 'addr.type' does not accept value '%.64s'",
                   a->type);
}

int export_qmp_nbd_server_start(void *o, const struct json_value *a, struct json_writer *w,
                                struct error **errp)
{
    (void)o, (void)w;
    struct server_addr addr;
    int r = parse_addr(json_get(a, "addr"), &addr, errp);
    if (r < 0)
        return r;
    if (json_get(a, "tls-creds") || json_get(a, "tls-authz"))
        return err_set(errp, ENOTSUP, _("TLS is not supported by nbd-server-start"));
    unsigned max = 0;
    const struct json_value *m = json_get(a, "max-connections");
    if (m) {
        if (m->u.i < 0 || m->u.i > UINT32_MAX)
            return err_set(errp, EINVAL, "Parameter 'max-connections' expects uint32_t");
        max = (unsigned)m->u.i;
    }
    return server_start(&addr, max, errp);
}

/* "safe" (the default) or "hard". */
static int parse_mode(const struct json_value *a, bool *hard, struct error **errp)
{
    const char *mode = arg_str(a, "mode");
    *hard = false;
    if (!mode || strcmp(mode, "safe") == 0)
        return 0;
    if (strcmp(mode, "hard") == 0) {
        *hard = true;
        return 0;
    }
    return err_set(errp, EINVAL, "Parameter 'mode' does not accept value '%.64s'", mode);
}

int export_qmp_nbd_server_add(void *o, const struct json_value *a, struct json_writer *w,
                              struct error **errp)
{
    (void)o, (void)w;
    if (!X.srv)
        return err_set(errp, ENOTCONN, "NBD server not running");
    const char *bitmap = arg_str(a, "bitmap");
    if (bitmap)
        return err_set(errp, ENOENT, "Bitmap '%s' is not found", bitmap);
    const char *device = arg_str(a, "device");
    const char *name = arg_str(a, "name");
    struct export_opts eo = {
        .id = name ? name : device,
        .node = device,
        .name = name,
        .description = arg_str(a, "description"),
        .writable = arg_bool(a, "writable"),
        .by_device = true,
    };
    return export_add(&eo, errp);
}

int export_qmp_nbd_server_remove(void *o, const struct json_value *a, struct json_writer *w,
                                 struct error **errp)
{
    (void)o, (void)w;
    bool hard;
    int r = parse_mode(a, &hard, errp);
    return r < 0 ? r : export_del(arg_str(a, "name"), hard, errp);
}

int export_qmp_nbd_server_stop(void *o, const struct json_value *a, struct json_writer *w,
                               struct error **errp)
{
    (void)o, (void)a, (void)w;
    return server_stop(errp);
}

int export_qmp_block_export_add(void *o, const struct json_value *a, struct json_writer *w,
                                struct error **errp)
{
    (void)o, (void)w;
    const char *type = arg_str(a, "type");
    if (strcmp(type, "nbd") != 0) {
        if (strcmp(type, "vhost-user-blk") == 0 || strcmp(type, "fuse") == 0 ||
            strcmp(type, "vduse-blk") == 0)
            return err_set(errp, ENOTSUP, _("block export type '%s' is not supported"), type);
        return err_set(errp, EINVAL, "Parameter 'type' does not accept value '%.64s'", type);
    }
    if (!X.srv)
        return err_set(errp, ENOTCONN, "NBD server not running");
    const struct json_value *bm = json_get(a, "bitmaps");
    if (bm && bm->u.a.n > 0) {
        const struct json_value *b0 = bm->u.a.v[0];
        return err_set(errp, ENOENT, "Bitmap '%s' is not found",
                       b0->type == JSON_STRING ? b0->u.s : "");
    }
    const char *iothread = arg_str(a, "iothread");
    if (iothread)
        return err_set(errp, ENOENT, "Cannot find iothread %s", iothread);
    struct export_opts eo = {
        .id = arg_str(a, "id"),
        .node = arg_str(a, "node-name"),
        .name = arg_str(a, "name"),
        .description = arg_str(a, "description"),
        .writable = arg_bool(a, "writable"),
    };
    return export_add(&eo, errp);
}

int export_qmp_block_export_del(void *o, const struct json_value *a, struct json_writer *w,
                                struct error **errp)
{
    (void)o, (void)w;
    bool hard;
    int r = parse_mode(a, &hard, errp);
    return r < 0 ? r : export_del(arg_str(a, "id"), hard, errp);
}

int export_qmp_query_block_exports(void *o, const struct json_value *a,
                                   struct json_writer *w, struct error **errp)
{
    (void)o, (void)a, (void)errp;
    jw_arr_begin(w, NULL);
    for (struct export *e = X.exports; e; e = e->next) {
        jw_obj_begin(w, NULL);
        jw_str(w, "type", "nbd");
        jw_str(w, "id", e->id);
        jw_str(w, "node-name", e->node);
        jw_bool(w, "shutting-down", e->shutting_down);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    return 0;
}

/* One node as qemu's BlockDeviceInfo. */
static void write_node(struct json_writer *w, const struct drive *d, struct blk *bs,
                       const char *name, int depth)
{
    jw_obj_begin(w, NULL);
    jw_str(w, "node-name", name);
    jw_str(w, "file", bs->filename);
    jw_bool(w, "ro", bs->read_only);
    jw_str(w, "drv", bs->drv->name);
    if (bs->backing_file)
        jw_str(w, "backing_file", bs->backing_file);
    jw_int(w, "backing_file_depth", blk_chain_length(bs) - 1);
    jw_bool(w, "encrypted", false);
    jw_str(w, "detect_zeroes", "off");
    static const char *const zero[] = { "bps", "bps_rd", "bps_wr", "iops", "iops_rd",
                                        "iops_wr", "write_threshold" };
    for (size_t i = 0; i < ARRAY_SIZE(zero); i++)
        jw_int(w, zero[i], 0);
    jw_obj_begin(w, "cache");
    jw_bool(w, "writeback", d->writeback);
    jw_bool(w, "direct", (d->flags & BLK_O_DIRECT) != 0);
    jw_bool(w, "no-flush", (d->flags & BLK_O_NO_FLUSH) != 0);
    jw_obj_end(w);
    jw_obj_begin(w, "image");
    jw_str(w, "filename", bs->filename);
    jw_str(w, "format", bs->drv->name);
    jw_uint(w, "virtual-size", bs->size);
    jw_bool(w, "dirty-flag", false);
    if (bs->backing_file) {
        jw_str(w, "backing-filename", bs->backing_file);
        jw_str(w, "full-backing-filename",
               bs->backing_path ? bs->backing_path : bs->backing_file);
        if (bs->backing_fmt)
            jw_str(w, "backing-filename-format", bs->backing_fmt);
    }
    jw_obj_end(w);
    (void)depth;
    jw_obj_end(w);
}

int export_qmp_query_named_block_nodes(void *o, const struct json_value *a,
                                       struct json_writer *w, struct error **errp)
{
    (void)o, (void)a, (void)errp;
    struct drive_set *s = drives();
    jw_arr_begin(w, NULL);
    for (int i = 0; s && i < s->n; i++) {
        struct drive *d = s->d[i];
        if (d->is_protocol || !d->bs)
            continue;
        int k = 0;
        for (struct blk *b = d->bs; b && k <= BLK_MAX_CHAIN; b = b->backing, k++) {
            char name[EXPORT_ID_MAX + 64];
            if (k == 0)
                snprintf(name, sizeof(name), "%s", d->id);
            else
                snprintf(name, sizeof(name), "%s-backing%d", d->id, k);
            write_node(w, d, b, name, k);
        }
    }
    jw_arr_end(w);
    return 0;
}

const struct qmp_arg export_nbd_server_start_args[] = {
    { "addr", "any", false },
    { "tls-creds", "str", true },
    { "tls-authz", "str", true },
    { "max-connections", "int", true },
    { NULL, NULL, false },
};

const struct qmp_arg export_nbd_server_add_args[] = {
    { "device", "str", false },
    { "name", "str", true },
    { "description", "str", true },
    { "writable", "bool", true },
    { "bitmap", "str", true },
    { NULL, NULL, false },
};

const struct qmp_arg export_nbd_server_remove_args[] = {
    { "name", "str", false },
    { "mode", "str", true },
    { NULL, NULL, false },
};

const struct qmp_arg export_block_export_add_args[] = {
    { "type", "str", false },
    { "id", "str", false },
    { "node-name", "str", false },
    { "name", "str", true },
    { "description", "str", true },
    { "writable", "bool", true },
    { "writethrough", "bool", true },
    { "bitmaps", "array", true },
    { "allocation-depth", "bool", true },
    { "iothread", "str", true },
    { "fixed-iothread", "bool", true },
    { NULL, NULL, false },
};

const struct qmp_arg export_block_export_del_args[] = {
    { "id", "str", false },
    { "mode", "str", true },
    { NULL, NULL, false },
};

const struct qmp_arg export_query_named_block_nodes_args[] = {
    { "flat", "bool", true },
    { NULL, NULL, false },
};

/* ---- HMP ---- */

/* QEMU's argument parser's complaint, as its text (not an error). */
static int hmp_usage(struct hmp_out *out, const char *cmd, const char *what)
{
    hmp_printf(out, "%s: %s\r\nTry \"help %s\" for more information\r\n", cmd, what, cmd);
    return 0;
}

/* Leading -x flags of ARGS, among ALLOWED ("aw"); the rest stays in *ARGS. */
static int hmp_flags(const char **args, const char *allowed, char *flags, size_t n,
                     struct error **errp)
{
    size_t k = 0;
    flags[0] = 0;
    for (;;) {
        while (**args == ' ' || **args == '\t')
            (*args)++;
        if ((*args)[0] != '-' || !(*args)[1] || (*args)[1] == ' ')
            return 0;
        const char *p = *args + 1;
        for (; *p && *p != ' ' && *p != '\t'; p++) {
            if (!strchr(allowed, *p))
                return err_set(errp, EINVAL, _("unsupported option -%c"), *p);
            if (k + 1 < n && !strchr(flags, *p)) {
                flags[k++] = *p;
                flags[k] = 0;
            }
        }
        *args = p;
    }
}

/* "unix:PATH", or "HOST:PORT" ("[V6]:PORT"), as qemu's HMP parses it. */
static int parse_uri(char *uri, struct server_addr *a, struct error **errp)
{
    memset(a, 0, sizeof(*a));
    if (strncmp(uri, "unix:", 5) == 0) {
        a->type = "unix";
        a->path = uri + 5;
        if (!*a->path)
            return err_set(errp, EINVAL, "error parsing address '%s'", uri);
        return 0;
    }
    char *colon = strrchr(uri, ':');
    if (!colon || strncmp(uri, "fd:", 3) == 0 || strncmp(uri, "vsock:", 6) == 0)
        return err_set(errp, EINVAL, "error parsing address '%s'", uri);
    *colon = 0;
    a->type = "inet";
    a->host = uri;
    a->port = colon + 1;
    size_t hl = strlen(uri);
    if (hl >= 2 && uri[0] == '[' && uri[hl - 1] == ']') {
        uri[hl - 1] = 0;
        a->host = uri + 1;
    }
    return port_check(a->port, errp);
}

int hmp_nbd_server_start(struct hmp_out *out, const char *args, struct error **errp)
{
    char flags[4], uri[4096 + 8];
    int r = hmp_flags(&args, "aw", flags, sizeof(flags), errp);
    if (r < 0)
        return r;
    r = hmp_next_word(&args, uri, sizeof(uri), errp);
    if (r < 0)
        return r;
    if (r == 0)
        return hmp_usage(out, "nbd_server_start", "string expected");
    struct server_addr a;
    char buf[sizeof(uri)];
    strcpy(buf, uri);
    if (parse_uri(buf, &a, errp) < 0)
        return -EINVAL;
    r = server_start(&a, 0, errp);
    if (r < 0 || !strchr(flags, 'a'))
        return r;
    /* -a: every drive, under its own name */
    struct drive_set *s = drives();
    for (int i = 0; s && i < s->n; i++) {
        struct drive *d = s->d[i];
        if (d->is_protocol || !d->bs)
            continue;
        struct export_opts eo = { .id = d->id, .node = d->id, .by_device = true,
                                  .writable = strchr(flags, 'w') != NULL };
        r = export_add(&eo, errp);
        if (r < 0) {
            server_stop(NULL);
            return r;
        }
    }
    return 0;
}

int hmp_nbd_server_add(struct hmp_out *out, const char *args, struct error **errp)
{
    char flags[4], device[EXPORT_ID_MAX + 64], name[4096 + 1];
    int r = hmp_flags(&args, "w", flags, sizeof(flags), errp);
    if (r < 0)
        return r;
    r = hmp_next_word(&args, device, sizeof(device), errp);
    if (r < 0)
        return r;
    if (r == 0)
        return hmp_usage(out, "nbd_server_add", "block device name expected");
    r = hmp_next_word(&args, name, sizeof(name), errp);
    if (r < 0)
        return r;
    if (!X.srv)
        return err_set(errp, ENOTCONN, "NBD server not running");
    struct export_opts eo = {
        .id = r > 0 ? name : device,
        .node = device,
        .name = r > 0 ? name : NULL,
        .writable = strchr(flags, 'w') != NULL,
        .by_device = true,
    };
    return export_add(&eo, errp);
}

int hmp_nbd_server_remove(struct hmp_out *out, const char *args, struct error **errp)
{
    char flags[4], name[EXPORT_ID_MAX + 64];
    int r = hmp_flags(&args, "f", flags, sizeof(flags), errp);
    if (r < 0)
        return r;
    r = hmp_next_word(&args, name, sizeof(name), errp);
    if (r < 0)
        return r;
    if (r == 0)
        return hmp_usage(out, "nbd_server_remove", "string expected");
    return export_del(name, strchr(flags, 'f') != NULL, errp);
}

int hmp_nbd_server_stop(struct hmp_out *out, const char *args, struct error **errp)
{
    (void)out, (void)args;
    return server_stop(errp);
}
