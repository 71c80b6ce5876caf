/* server.c - the NBD server: exports, listeners, and each connection's
 * socket I/O (non-blocking, in the loop thread).  The protocol itself is in
 * handshake.c (option haggling) and request.c (transmission). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/select.h>
#include <sys/socket.h>

#include "block/block.h"
#include "i18n.h"
#include "internal.h"
#include "log.h"
#include "trace/nbd.h"

/* Backpressure: a connection stops reading while it has this much in
 * flight (requests not yet replied to, or reply bytes not yet sent). */
#define NBD_MAX_IN_FLIGHT 64
#define NBD_MAX_IN_FLIGHT_BYTES (96u * 1024 * 1024)
#define NBD_MAX_OUT_BYTES (4u * 1024 * 1024)
/* Socket send buffer asked for (the kernel doubles it for its overhead). */
#define NBD_SNDBUF (4 * 1024 * 1024)
/* How long an orderly shutdown waits for clients to take their replies. */
#define NBD_SHUTDOWN_GRACE_NS (5ull * 1000 * 1000 * 1000)

static void conn_on_read(void *opaque, int fd);
static void conn_on_write(void *opaque, int fd);
static void conn_flush(struct nbd_conn *c);
static void conn_read(struct nbd_conn *c);
static void conn_kick(void *opaque);
static void reap_conns(void *opaque);

/* ---- buffers ---- */

static int buf_class(size_t len)
{
    size_t cap = 65536;
    for (int i = 0; i < NBD_BUF_CLASSES; i++, cap <<= 1)
        if (len <= cap)
            return i;
    return -1;
}

void *nbd_buf_get(struct nbd_server *srv, size_t len)
{
    int k = buf_class(len);
    if (k < 0)
        return malloc(len);
    if (srv->nbufs[k] > 0) {
        srv->buf_bytes -= (size_t)65536 << k;
        return srv->bufs[k][--srv->nbufs[k]];
    }
    return malloc((size_t)65536 << k);
}

void nbd_buf_put(struct nbd_server *srv, void *buf, size_t len)
{
    if (!buf)
        return;
    int k = buf_class(len);
    if (k >= 0 && srv->nbufs[k] < NBD_BUF_KEEP &&
        srv->buf_bytes + ((size_t)65536 << k) <= NBD_BUF_KEEP_BYTES) {
        srv->bufs[k][srv->nbufs[k]++] = buf;
        srv->buf_bytes += (size_t)65536 << k;
        return;
    }
    free(buf);
}

/* ---- exports ---- */

struct nbd_export *nbd_export_find(struct nbd_server *srv, const char *name)
{
    for (struct nbd_export *e = srv->exports; e; e = e->next)
        if (strcmp(e->name, name) == 0)
            return e;
    return NULL;
}

int nbd_server_add_export(struct nbd_server *srv, const struct nbd_export_config *cfg,
                          struct error **errp)
{
    const char *name = cfg->name ? cfg->name : "";
    if (strlen(name) > NBD_MAX_STRING)
        return err_set(errp, EINVAL, _("export name '%.32s...' is too long"), name);
    if (cfg->description && strlen(cfg->description) > NBD_MAX_STRING)
        return err_set(errp, EINVAL, _("description of export '%s' is too long"), name);
    if (nbd_export_find(srv, name))
        return err_set(errp, EEXIST, _("there are two exports named '%s'"), name);
    if (cfg->offset > cfg->blk->size)
        return err_set(errp, EINVAL, _("offset %llu is past the end of '%s'"),
                       (unsigned long long)cfg->offset, cfg->blk->filename);
    struct nbd_export *e = calloc(1, sizeof(*e));
    if (!e || !(e->name = strdup(name)) ||
        (cfg->description && !(e->description = strdup(cfg->description)))) {
        if (e) {
            free(e->name);
            free(e);
        }
        return err_set(errp, ENOMEM, _("out of memory"));
    }
    e->blk = cfg->blk;
    e->offset = cfg->offset;
    e->size = cfg->blk->size - cfg->offset;
    e->read_only = cfg->read_only || cfg->blk->read_only;
    e->discard = cfg->discard;
    e->writethrough = cfg->writethrough;
    e->no_flush = cfg->no_flush;
    e->detect_zeroes = cfg->detect_zeroes;
    e->serial_writes = cfg->serial_writes;
    /* the data must be seen to detect zeros in it */
    e->splice_in = !e->read_only && e->detect_zeroes == NBD_DETECT_ZEROES_OFF &&
                   blk_can_splice_write(e->blk);
    e->srv = srv;
    pthread_mutex_init(&e->wq_lock, NULL);
    /* keep the order of the command line for NBD_OPT_LIST */
    struct nbd_export **pp = &srv->exports;
    while (*pp)
        pp = &(*pp)->next;
    *pp = e;
    return 0;
}

static unsigned export_users(const struct nbd_server *srv, const struct nbd_export *e,
                             bool live_only)
{
    unsigned n = 0;
    for (const struct nbd_conn *c = srv->conns; c; c = c->next)
        if (c->exp == e && !(live_only && c->dead))
            n++;
    return n;
}

unsigned nbd_server_export_clients(const struct nbd_server *srv, const char *name)
{
    for (const struct nbd_export *e = srv->exports; e; e = e->next)
        if (strcmp(e->name, name) == 0)
            return export_users(srv, e, true);
    return 0;
}

static void export_free(struct nbd_export *e)
{
    pthread_mutex_destroy(&e->wq_lock);
    free(e->name);
    free(e->description);
    free(e);
}

/* Free the removed exports nothing uses any more, and tell their owners.
 * A connection points at its export until it is freed, and its requests
 * (pool jobs) keep it from being freed; drain jobs of writable exports
 * are counted in wq_jobs. */
static void reap_exports(struct nbd_server *srv)
{
    struct nbd_export **pp = &srv->removed;
    while (*pp) {
        struct nbd_export *e = *pp;
        if (export_users(srv, e, false) > 0 || (!e->read_only && srv->wq_jobs > 0)) {
            pp = &e->next;
            continue;
        }
        *pp = e->next;
        loop_cb_fn *done = e->removed;
        void *opaque = e->removed_opaque;
        export_free(e);
        if (done)
            done(opaque);
    }
}

int nbd_server_remove_export(struct nbd_server *srv, const char *name, bool hard,
                             loop_cb_fn *done, void *opaque, struct error **errp)
{
    struct nbd_export **pp = &srv->exports;
    while (*pp && strcmp((*pp)->name, name) != 0)
        pp = &(*pp)->next;
    struct nbd_export *e = *pp;
    if (!e)
        return err_set(errp, ENOENT, _("export '%s' is not found"), name);
    if (!hard && export_users(srv, e, true) > 0)
        return err_set(errp, EBUSY, _("export '%s' still in use"), name);
    *pp = e->next;
    e->next = srv->removed;
    srv->removed = e;
    e->removed = done;
    e->removed_opaque = opaque;
    for (struct nbd_conn *c = srv->conns, *n; c; c = n) {
        n = c->next;
        if (c->exp == e && !c->dead)
            nbd_conn_fail(c);
    }
    reap_exports(srv);
    return 0;
}

int nbd_server_flush(struct nbd_server *srv)
{
    int ret = 0;
    for (struct nbd_export *e = srv->exports; e; e = e->next) {
        if (e->read_only)
            continue;
        int r = blk_flush(e->blk);
        if (r < 0 && ret == 0)
            ret = r;
    }
    return ret;
}

/* ---- server ---- */

struct nbd_server *nbd_server_new(struct loop *loop, struct pool *pool, struct error **errp)
{
    struct nbd_server *srv = calloc(1, sizeof(*srv));
    if (!srv) {
        err_set(errp, ENOMEM, _("out of memory"));
        return NULL;
    }
    srv->loop = loop;
    srv->pool = pool;
    /* for tests and comparisons: every request through the loop */
    srv->no_stream = getenv("EMU_NBD_NOSTREAM") != NULL;
    pthread_mutex_init(&srv->pipe_lock, NULL);
    pthread_mutex_init(&srv->done_lock, NULL);
    srv->reap_bh = loop_bh_new(loop, reap_conns, srv, errp);
    srv->done_bh = srv->reap_bh ? loop_bh_new(loop, nbd_req_run_done, srv, errp) : NULL;
    if (!srv->done_bh) {
        loop_bh_free(srv->reap_bh);
        pthread_mutex_destroy(&srv->pipe_lock);
        pthread_mutex_destroy(&srv->done_lock);
        free(srv);
        return NULL;
    }
    return srv;
}

void nbd_server_set_tls(struct nbd_server *srv, struct nbd_tls *tls, bool required)
{
    srv->tls = tls;
    srv->tls_required = tls && required;
}

void nbd_server_set_max_clients(struct nbd_server *srv, unsigned n)
{
    srv->max_clients = n;
}

void nbd_server_set_event_cb(struct nbd_server *srv, nbd_event_fn *cb, void *opaque)
{
    srv->event_cb = cb;
    srv->event_opaque = opaque;
}

unsigned nbd_server_clients(const struct nbd_server *srv)
{
    return srv->nclients;
}

static void on_accept(void *opaque, int fd);

/* Watch the listeners exactly when another client may come in. */
static void update_accepting(struct nbd_server *srv)
{
    bool want = !srv->shutting_down &&
                (srv->max_clients == 0 || srv->nclients < srv->max_clients);
    if (want == srv->accepting)
        return;
    srv->accepting = want;
    for (int i = 0; i < srv->nlisten; i++) {
        if (want)
            loop_set_fd(srv->loop, srv->listen_fds[i], on_accept, NULL, srv, NULL);
        else
            loop_remove_fd(srv->loop, srv->listen_fds[i]);
    }
}

static void on_accept(void *opaque, int fd)
{
    struct nbd_server *srv = opaque;
    int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0)
        return;     /* EAGAIN, a client that gave up, EMFILE: try again later */
    struct error *err = NULL;
    if (nbd_server_add_client(srv, cfd, &err) < 0) {
        nbd_log("%s", err_msg(err));
        err_free(err);
    }
}

int nbd_server_listen(struct nbd_server *srv, int fd, struct error **errp)
{
    if (srv->nlisten >= (int)ARRAY_SIZE(srv->listen_fds)) {
        close(fd);
        return err_set(errp, EMFILE, _("too many listening sockets"));
    }
    srv->listen_fds[srv->nlisten++] = fd;
    if (srv->accepting || (srv->max_clients && srv->nclients >= srv->max_clients) ||
        srv->shutting_down)
        return srv->accepting ? loop_set_fd(srv->loop, fd, on_accept, NULL, srv, errp) : 0;
    update_accepting(srv);
    return 0;
}

void nbd_server_stop_listening(struct nbd_server *srv)
{
    for (int i = 0; i < srv->nlisten; i++) {
        if (srv->accepting)
            loop_remove_fd(srv->loop, srv->listen_fds[i]);
        close(srv->listen_fds[i]);
    }
    srv->nlisten = 0;
    srv->accepting = false;
}

int nbd_server_add_client(struct nbd_server *srv, int fd, struct error **errp)
{
    if (fd >= FD_SETSIZE) {
        close(fd);
        return err_set(errp, EMFILE, _("client descriptor %d is too high for select()"), fd);
    }
    struct nbd_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return err_set(errp, ENOMEM, _("out of memory"));
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* fails on Unix sockets */
    /* A deep send buffer lets replies run ahead of the client's reads
     * (a Unix socket's default holds less than one 256 KiB read); past
     * net.core.wmem_max only with CAP_NET_ADMIN, else what the kernel
     * allows. */
    int sndbuf = NBD_SNDBUF, got = 0;
    socklen_t gl = sizeof(got);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &got, &gl) == 0 && got < sndbuf)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf));
    /* splice() into the socket must not block a worker either */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && !(fl & O_NONBLOCK))
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    c->srv = srv;
    c->fd = fd;
    c->kick_bh = loop_bh_new(srv->loop, conn_kick, c, errp);
    if (!c->kick_bh) {
        free(c);
        close(fd);
        return -ENOMEM;
    }
    pthread_mutex_init(&c->send_lock, NULL);
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nclients++;
    trace_nbd_conn_open(c, fd);
    update_accepting(srv);
    if (srv->event_cb)
        srv->event_cb(srv->event_opaque, NBD_EVENT_CLIENT_OPENED);
    nbd_hs_start(c);
    nbd_conn_update(c);
    return 0;
}

static void finish_shutdown(void *opaque)
{
    struct nbd_server *srv = opaque;
    if (!srv->shutting_down || srv->nclients > 0 || !srv->shutdown_done)
        return;
    loop_timer_cancel(srv->shutdown_timer);
    nbd_server_flush(srv);
    loop_cb_fn *done = srv->shutdown_done;
    srv->shutdown_done = NULL;
    done(srv->shutdown_opaque);
}

static void shutdown_timeout(void *opaque)
{
    struct nbd_server *srv = opaque;
    for (struct nbd_conn *c = srv->conns, *n; c; c = n) {
        n = c->next;
        if (!c->dead)
            nbd_conn_fail(c);
    }
}

void nbd_server_shutdown(struct nbd_server *srv, loop_cb_fn *done, void *opaque)
{
    srv->shutting_down = true;
    srv->shutdown_done = done;
    srv->shutdown_opaque = opaque;
    nbd_server_stop_listening(srv);
    if (!srv->shutdown_timer)
        srv->shutdown_timer = loop_timer_new(srv->loop, shutdown_timeout, srv, NULL);
    if (srv->shutdown_timer)
        loop_timer_arm_in(srv->shutdown_timer, NBD_SHUTDOWN_GRACE_NS);
    if (!srv->shutdown_bh)
        srv->shutdown_bh = loop_bh_new(srv->loop, finish_shutdown, srv, NULL);
    for (struct nbd_conn *c = srv->conns, *n; c; c = n) {
        n = c->next;
        if (c->dead)
            continue;
        if (c->st == NBD_ST_REQ_PAYLOAD || c->st == NBD_ST_REQ_SKIP)
            nbd_req_free_conn(c);  /* a write whose data never came is not acked */
        c->st = NBD_ST_CLOSING;
        nbd_conn_update(c);
    }
    if (srv->shutdown_bh)
        loop_bh_schedule(srv->shutdown_bh);
    else
        finish_shutdown(srv);
}

void nbd_server_free(struct nbd_server *srv)
{
    if (!srv)
        return;
    nbd_server_stop_listening(srv);
    for (struct nbd_conn *c = srv->conns, *n; c; c = n) {
        n = c->next;
        if (!c->dead)
            nbd_conn_fail(c);
    }
    /* Connections with pool jobs are freed when the pool completes them;
     * the caller frees the pool (which runs those callbacks) first or
     * after: either way nothing may point at srv afterwards, so drain. */
    if (srv->conns || srv->wq_jobs)
        pool_drain(srv->pool, NULL);
    nbd_req_run_done(srv);      /* what the last drain jobs finished */
    reap_conns(srv);
    loop_bh_free(srv->reap_bh);
    loop_bh_free(srv->done_bh);
    pthread_mutex_destroy(&srv->done_lock);
    reap_exports(srv);          /* nothing uses the removed ones now */
    for (struct nbd_export *e = srv->removed, *n; e; e = n) {
        n = e->next;            /* (a connection the drain could not free) */
        loop_cb_fn *done = e->removed;
        void *opaque = e->removed_opaque;
        export_free(e);
        if (done)
            done(opaque);
    }
    for (struct nbd_export *e = srv->exports, *n; e; e = n) {
        n = e->next;
        export_free(e);
    }
    for (int k = 0; k < NBD_BUF_CLASSES; k++)
        for (int i = 0; i < srv->nbufs[k]; i++)
            free(srv->bufs[k][i]);
    if (srv->shutdown_timer)
        loop_timer_free(srv->shutdown_timer);
    if (srv->shutdown_bh)
        loop_bh_free(srv->shutdown_bh);
    nbd_pipes_free(srv);
    nbd_wpipes_free(srv);
    pthread_mutex_destroy(&srv->pipe_lock);
    free(srv);
}

/* ---- connection I/O ---- */

struct nbd_out *nbd_out_new(int niov)
{
    struct nbd_out *o = malloc(sizeof(*o) + (sizeof(struct iovec) + 1) * (size_t)niov);
    if (!o)
        return NULL;
    o->zc = (uint8_t *)&o->iov[niov];
    memset(o->zc, 0, (size_t)niov);
    o->has_zc = false;
    o->next = NULL;
    o->niov = 0;
    o->pos = 0;
    o->bytes = 0;
    o->release = NULL;
    o->opaque = NULL;
    return o;
}

static void out_release(struct nbd_out *o)
{
    if (o->release)
        o->release(o->opaque);
    free(o);
}

static size_t out_size(struct nbd_out *o)
{
    size_t n = 0;
    for (int i = o->pos; i < o->niov; i++)
        n += o->iov[i].iov_len;
    return n;
}

/* Append O to the queue; send_lock held. */
static void queue_locked(struct nbd_conn *c, struct nbd_out *o)
{
    o->next = NULL;
    o->bytes = out_size(o);
    if (c->out_tail)
        c->out_tail->next = o;
    else
        __atomic_store_n(&c->out_head, o, __ATOMIC_RELAXED);
    c->out_tail = o;
    __atomic_store_n(&c->out_bytes, c->out_bytes + o->bytes, __ATOMIC_RELAXED);
}

void nbd_conn_queue(struct nbd_conn *c, struct nbd_out *o)
{
    if (c->dead) {
        out_release(o);
        return;
    }
    pthread_mutex_lock(&c->send_lock);
    queue_locked(c, o);
    bool first = c->out_head == o;
    pthread_mutex_unlock(&c->send_lock);
    /* Send at once when nothing is queued before: most replies go out
     * without another trip through select(). */
    if (first && c->st != NBD_ST_TLS_HANDSHAKE)
        conn_flush(c);
}

int nbd_conn_send_direct(struct nbd_conn *c, struct nbd_out *o)
{
    int ret;
    pthread_mutex_lock(&c->send_lock);
    if (!c->direct_ok || c->out_head || c->zc_pending) {
        pthread_mutex_unlock(&c->send_lock);
        return 0;
    }
    bool blocked;
    if (nbd_out_send(c, o, &blocked) < 0) {
        c->direct_ok = false;
        ret = -1;
    } else if (o->pos < o->niov) {
        ret = 2;
        queue_locked(c, o);     /* the rest goes out first, from the loop */
    } else {
        ret = 1;                /* bytes still in c->zc_pipe: the loop sends them */
    }
    pthread_mutex_unlock(&c->send_lock);
    return ret;
}

int nbd_conn_send_or_queue(struct nbd_conn *c, struct nbd_out *o)
{
    int ret = 2;
    bool kick = false;
    pthread_mutex_lock(&c->send_lock);
    if (!c->direct_ok) {
        /* failed (plain sockets only come here): its queue was dropped */
        pthread_mutex_unlock(&c->send_lock);
        return -1;
    }
    if (!c->out_head && !c->zc_pending) {
        bool blocked;
        if (nbd_out_send(c, o, &blocked) < 0) {
            c->direct_ok = false;
            ret = -1;
        } else if (o->pos == o->niov) {
            ret = 1;
        }
    }
    if (ret == 2) {
        kick = !c->out_head;
        queue_locked(c, o);
    }
    pthread_mutex_unlock(&c->send_lock);
    /* the loop watches the socket for room once it looks at C again */
    if (kick)
        loop_bh_schedule(c->kick_bh);
    return ret;
}

static bool conn_may_read(struct nbd_conn *c)
{
    if (c->dead || c->st == NBD_ST_CLOSING || c->st == NBD_ST_TLS_FLUSH ||
        c->st == NBD_ST_STREAM)
        return false;
    if (c->st == NBD_ST_TLS_HANDSHAKE)
        return true;
    if (c->in_flight >= NBD_MAX_IN_FLIGHT || c->in_flight_bytes >= NBD_MAX_IN_FLIGHT_BYTES)
        return false;
    /* no lock: a worker may hold it for a whole send, and a stale value
     * only delays a pause or a resume by one round */
    return __atomic_load_n(&c->out_bytes, __ATOMIC_RELAXED) < NBD_MAX_OUT_BYTES;
}

/* Record whether the loop reads C; see nbd_conn.paused. */
static void conn_set_paused(struct nbd_conn *c, bool paused)
{
    if (c->paused == paused)
        return;
    __atomic_store_n(&c->paused, paused, __ATOMIC_RELAXED);
    if (paused)
        nbd_req_done_wake(c->srv);
}

static void conn_close_clean(struct nbd_conn *c)
{
    if (c->tls_active)
        nbd_tls_bye(c);
    nbd_conn_fail(c);
}

void nbd_conn_update(struct nbd_conn *c)
{
    if (c->dead)
        return;
    if (c->st == NBD_ST_CLOSING && c->in_flight == 0 && c->jobs == 0) {
        pthread_mutex_lock(&c->send_lock);
        bool empty = c->out_head == NULL && c->zc_pending == 0;
        pthread_mutex_unlock(&c->send_lock);
        if (empty) {
            conn_close_clean(c);
            return;
        }
    }
    bool want_read = conn_may_read(c);
    /* workers queue only before their job completes, and that completion
     * runs here in the loop after it: no lock needed to see their items */
    bool want_write = __atomic_load_n(&c->out_head, __ATOMIC_RELAXED) != NULL ||
                      __atomic_load_n(&c->zc_pending, __ATOMIC_RELAXED) != 0;
    if (c->st == NBD_ST_TLS_HANDSHAKE) {
        bool ww = false;
        int r = nbd_tls_handshake(c, &ww);
        if (r < 0) {
            nbd_conn_fail(c);
            return;
        }
        if (r > 0) {
            c->tls_active = true;
            c->st = NBD_ST_OPT_HDR;
            c->want_buf = c->hdr;
            c->want = 16;
            c->have = 0;
            want_read = conn_may_read(c);
        } else {
            want_read = !ww;
            want_write = ww;
        }
    }
    /* Reading again after a pause: bytes staged here or decrypted inside
     * TLS do not make the socket readable. */
    if (want_read && !c->watching_read && c->st != NBD_ST_TLS_HANDSHAKE &&
        (c->stage_pos < c->stage_len || (c->tls_active && nbd_tls_pending(c))))
        loop_bh_schedule(c->kick_bh);
    conn_set_paused(c, !want_read);
    if (want_read == c->watching_read && want_write == c->watching_write)
        return;
    c->watching_read = want_read;
    c->watching_write = want_write;
    if (loop_set_fd(c->srv->loop, c->fd, want_read ? conn_on_read : NULL,
                    want_write ? conn_on_write : NULL, c, NULL) < 0)
        nbd_conn_fail(c);
}

/* Receive into BUF: >0 bytes, 0 end of stream, -EAGAIN, -errno. */
static ssize_t conn_recv(struct nbd_conn *c, void *buf, size_t len)
{
    if (c->tls_active)
        return nbd_tls_recv(c, buf, len);
    ssize_t n = recv(c->fd, buf, len, MSG_DONTWAIT);
    if (n < 0)
        return errno == EINTR ? -EAGAIN : -errno;
    return n;
}

static void conn_input_done(struct nbd_conn *c)
{
    switch (c->st) {
    case NBD_ST_CLIENT_FLAGS:
    case NBD_ST_OPT_HDR:
    case NBD_ST_OPT_DATA:
    case NBD_ST_OPT_SKIP:
        nbd_hs_input(c);
        break;
    case NBD_ST_REQ_HDR:
    case NBD_ST_REQ_PAYLOAD:
    case NBD_ST_REQ_SKIP:
        nbd_req_input(c);
        break;
    default:
        break;
    }
}

static void conn_read(struct nbd_conn *c)
{
    /* At most this many messages per call, so that one busy client does
     * not starve the others. */
    int budget = 256;
    while (budget-- > 0 && conn_may_read(c) && c->st != NBD_ST_TLS_HANDSHAKE) {
        bool skipping = c->st == NBD_ST_OPT_SKIP || c->st == NBD_ST_REQ_SKIP;
        if (skipping ? c->skip == 0 : c->have == c->want) {
            conn_input_done(c);
            continue;
        }
        size_t need = skipping ? (size_t)MIN(c->skip, (uint64_t)SIZE_MAX) : c->want - c->have;
        if (c->stage_pos < c->stage_len) {
            size_t n = MIN(need, c->stage_len - c->stage_pos);
            if (skipping)
                c->skip -= n;
            else if (c->in_pipe) {
                size_t w = nbd_pipe_fill(c->in_pipe, c->stage + c->stage_pos, n);
                c->have += w;
                c->stage_pos += w;
                if (w < n && nbd_req_unsplice(c) < 0) {
                    nbd_conn_fail(c);
                    return;
                }
                continue;
            } else {
                memcpy(c->want_buf + c->have, c->stage + c->stage_pos, n);
                c->have += n;
            }
            c->stage_pos += n;
            continue;
        }
        ssize_t n;
        if (c->in_pipe) {
            n = nbd_splice_in(c, c->in_pipe, need);
            if (n > 0) {
                c->have += (size_t)n;
                c->spliced_in += (uint64_t)n;
                continue;
            }
            if (n == -ENOSPC || n == -EINVAL) {
                if (nbd_req_unsplice(c) < 0) {
                    nbd_conn_fail(c);
                    return;
                }
                continue;
            }
        } else if (!skipping && (need >= sizeof(c->stage) / 4 ||
                                 (c->exact_hdr && c->st == NBD_ST_REQ_HDR))) {
            n = conn_recv(c, c->want_buf + c->have, need);
            if (n > 0) {
                c->have += (size_t)n;
                continue;
            }
        } else {
            n = conn_recv(c, c->stage, sizeof(c->stage));
            if (n > 0) {
                c->stage_pos = 0;
                c->stage_len = (size_t)n;
                continue;
            }
        }
        if (n == -EAGAIN)
            return nbd_conn_update(c);
        /* end of stream or an error: the client is gone */
        nbd_log("client %d: %s", c->fd, n == 0 ? "end of stream" : strerror((int)-n));
        nbd_conn_fail(c);
        return;
    }
    /* Out of budget (or paused) with bytes possibly staged here or inside
     * TLS, where select() cannot see them: go on soon, after the others. */
    if (budget < 0 && c->st != NBD_ST_TLS_HANDSHAKE && conn_may_read(c))
        loop_bh_schedule(c->kick_bh);
    nbd_conn_update(c);
}

static void conn_kick(void *opaque)
{
    struct nbd_conn *c = opaque;
    if (!c->dead)
        conn_read(c);
}

static void conn_on_read(void *opaque, int fd)
{
    struct nbd_conn *c = opaque;
    /* drained writes' completions that did not wake us (done_post) */
    if (__atomic_load_n(&c->srv->done_head, __ATOMIC_RELAXED)) {
        nbd_req_run_done(c->srv);
        if (c->dead || !c->watching_read)
            return;
    }
    if (c->st == NBD_ST_TLS_HANDSHAKE) {
        nbd_conn_update(c);
        if (c->dead || c->st == NBD_ST_TLS_HANDSHAKE)
            return;
    }
    conn_read(c);
}

static void conn_on_write(void *opaque, int fd)
{
    struct nbd_conn *c = opaque;
    if (c->st == NBD_ST_TLS_HANDSHAKE) {
        nbd_conn_update(c);
        return;
    }
    conn_flush(c);
}

/* Drop N sent bytes from the head of the queue. */
static void conn_consume(struct nbd_conn *c, size_t n)
{
    __atomic_store_n(&c->out_bytes, c->out_bytes - n, __ATOMIC_RELAXED);
    while (n > 0 || (c->out_head && c->out_head->bytes == 0)) {
        struct nbd_out *o = c->out_head;
        if (!o)
            break;
        size_t k = MIN(n, o->bytes);
        nbd_out_advance(o, k);
        o->bytes -= k;
        n -= k;
        if (o->pos < o->niov)
            break;
        __atomic_store_n(&c->out_head, o->next, __ATOMIC_RELAXED);
        if (!c->out_head)
            c->out_tail = NULL;
        out_release(o);
    }
}

static void conn_flush(struct nbd_conn *c)
{
    int err = 0;
    pthread_mutex_lock(&c->send_lock);
    while ((c->out_head || c->zc_pending) && !c->dead) {
        ssize_t n;
        if (c->zc_pending) {
            /* the rest of a zero-copy send goes first */
            int r = nbd_zc_drain(c);
            if (r == -EAGAIN)
                break;
            if (r < 0) {
                err = -r;
                break;
            }
            continue;
        }
        if (c->tls_active) {
            struct nbd_out *o = c->out_head;
            while (o->pos < o->niov && o->iov[o->pos].iov_len == 0)
                o->pos++;
            if (o->pos == o->niov) {
                conn_consume(c, 0);
                continue;
            }
            n = nbd_tls_send(c, o->iov[o->pos].iov_base, o->iov[o->pos].iov_len);
        } else if (c->out_head->has_zc) {
            struct nbd_out *o = c->out_head;
            bool blocked;
            n = nbd_out_send(c, o, &blocked);
            if (n < 0) {
                err = (int)-n;
                break;
            }
            /* nbd_out_send advanced O itself: account, and pop it if done */
            o->bytes -= (size_t)n;
            __atomic_store_n(&c->out_bytes, c->out_bytes - (size_t)n, __ATOMIC_RELAXED);
            conn_consume(c, 0);
            if (blocked)
                break;
            continue;
        } else {
            /* replies without zero-copy parts, several in one call */
            struct iovec iov[64];
            int cnt = 0;
            for (struct nbd_out *o = c->out_head; o && cnt < 64 && (o == c->out_head || !o->has_zc);
                 o = o->next)
                for (int i = o->pos; i < o->niov && cnt < 64; i++)
                    if (o->iov[i].iov_len)
                        iov[cnt++] = o->iov[i];
            if (cnt == 0) {
                conn_consume(c, 0);
                continue;
            }
            struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)cnt };
            n = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0)
                n = errno == EINTR ? 0 : -errno;
        }
        if (n == -EAGAIN || n == -EWOULDBLOCK)
            break;
        if (n < 0) {
            err = (int)-n;
            break;
        }
        c->copied_bytes += (uint64_t)n;
        conn_consume(c, (size_t)n);
    }
    bool empty = c->out_head == NULL && c->zc_pending == 0;
    pthread_mutex_unlock(&c->send_lock);
    if (err) {
        nbd_log("client %d: send: %s", c->fd, strerror(err));
        nbd_conn_fail(c);
        return;
    }
    if (c->dead)
        return;
    if (empty && c->st == NBD_ST_TLS_FLUSH) {
        /* the STARTTLS ack is out: the TLS handshake starts now */
        c->st = NBD_ST_TLS_HANDSHAKE;
        nbd_conn_update(c);
        return;
    }
    nbd_conn_update(c);
}

void nbd_conn_fail(struct nbd_conn *c)
{
    if (c->dead)
        return;
    c->dead = true;
    conn_set_paused(c, true);
    loop_remove_fd(c->srv->loop, c->fd);
    c->watching_read = c->watching_write = false;
    nbd_req_free_conn(c);
    pthread_mutex_lock(&c->send_lock);
    c->direct_ok = false;
    if (c->zc_bytes)
        nbd_log("client %d: %llu bytes sent by reference, %llu copied", c->fd,
                (unsigned long long)c->zc_bytes, (unsigned long long)c->copied_bytes);
    if (c->spliced_in || c->unspliced || c->no_pipe)
        nbd_log("client %d: %llu write bytes spliced, %u payloads finished in a buffer, "
                "%u found no pipe", c->fd, (unsigned long long)c->spliced_in, c->unspliced,
                c->no_pipe);
    if (c->streamed)
        nbd_log("client %d: %u requests served by a stream", c->fd, c->streamed);
    nbd_zc_drop(c);
    struct nbd_out *o = c->out_head;
    __atomic_store_n(&c->out_head, NULL, __ATOMIC_RELAXED);
    c->out_tail = NULL;
    __atomic_store_n(&c->out_bytes, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&c->send_lock);
    while (o) {
        struct nbd_out *next = o->next;
        out_release(o);
        o = next;
    }
    nbd_tls_session_free(c);
    /* workers may still be about to send: the descriptor is closed (and
     * its number reused) only when the connection is freed */
    shutdown(c->fd, SHUT_RDWR);
    nbd_conn_maybe_free(c);
}

/* Free dead connections that no pool job points at any more.  Runs from a
 * bottom half, so a connection stays valid until the callback that killed
 * it has returned. */
static void reap_conns(void *opaque)
{
    struct nbd_server *srv = opaque;
    for (struct nbd_conn *c = srv->conns, *next; c; c = next) {
        next = c->next;
        if (!c->dead || c->jobs > 0)
            continue;
        if (c->prev)
            c->prev->next = c->next;
        else
            srv->conns = c->next;
        if (c->next)
            c->next->prev = c->prev;
        trace_nbd_conn_close(c);
        close(c->fd);
        loop_bh_free(c->kick_bh);
        pthread_mutex_destroy(&c->send_lock);
        free(c->opt_data);
        free(c->meta_export);
        free(c->tls_leftover);
        free(c);
        srv->nclients--;
        if (srv->event_cb)
            srv->event_cb(srv->event_opaque, NBD_EVENT_CLIENT_CLOSED);
    }
    update_accepting(srv);
    if (srv->removed)
        reap_exports(srv);
    if (srv->shutting_down && srv->nclients == 0)
        finish_shutdown(srv);
}

void nbd_conn_maybe_free(struct nbd_conn *c)
{
    if (c->dead && c->jobs == 0)
        loop_bh_schedule(c->srv->reap_bh);
}
