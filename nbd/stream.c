/* stream.c - a connection that sends writes back to back is served by two
 * workers that read its socket themselves.
 *
 * Why: on a machine with few CPUs, a copy tool's writes go fastest when
 * the thread that receives a payload is the one that writes it and sends
 * the reply, on the CPU where the client has just put the bytes.  The
 * client's send then wakes the worker blocked on the socket on the
 * client's own CPU (the kernel favours the waker's CPU for a socket
 * wake-up), the payload is copied into the page cache while it is still
 * in that CPU's cache, and the socket's buffers are freed where the client
 * allocates its next ones.  When the loop reads the socket and a drain
 * job writes, each write crosses CPUs twice, idle CPUs are woken (an
 * interrupt, expensive in a VM) for most of them, and the client's own
 * copies run a third slower on buffers that come back cold.
 *
 * How: when the loop parses a write on a plain connection (no TLS), it
 * stops reading the socket and submits two stream_work() jobs for it.
 * They take turns at the socket under a lock: the holder reads the next
 * request (a write's payload into a pipe or its own buffer), lets go, runs
 * it and replies, while the other reads the next one.  Writes, zero
 * writes, trims and flushes run here.  The stream hands the connection
 * back to the loop, whose state machine goes on from there:
 *   - at the first request of another kind (its header goes back whole),
 *   - when the client sends nothing for NBD_STREAM_LINGER_MS (an idle
 *     connection holds no worker),
 *   - when a request stalls half read (what came goes back with it),
 *   - at an error, and when the server shuts down.
 * Requests run here count in no in-flight limit: each job runs one at a
 * time and replies before it reads again, so the socket itself holds the
 * client back. */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "block/block.h"
#include "internal.h"

/* How long a stream waits for the next request before it gives the
 * connection back to the loop, and how long for the rest of a request it
 * has begun to read. */
#define NBD_STREAM_LINGER_MS 20
#define NBD_STREAM_STALL_MS 200
/* Jobs per stream, and streams at once, server-wide: each job holds a
 * worker. */
#define NBD_STREAM_JOBS 2
#define NBD_STREAMS_MAX 4

struct nbd_stream {
    struct nbd_conn *c;
    int hlen;                   /* request header size */
    unsigned jobs;              /* jobs not completed (loop thread) */
    unsigned served;            /* requests run (atomic) */
    pthread_mutex_t lock;       /* the socket's read side, and all below */
    struct nbd_req *first;      /* the write the loop began with */
    /* Bytes the loop had read past the first header: consumed first; what
     * is left goes back into the connection's stage. */
    uint8_t *pre;
    size_t pre_pos, pre_len;
    bool stop;                  /* a job has stopped: the others end too */
    /* Handed back by the job that stopped: a request whose payload is
     * partly read (PART_HAVE bytes in PART), or HDR_HAVE bytes of the
     * next header in HDR. */
    struct nbd_req *r;
    uint8_t *part;
    size_t part_have, hdr_have;
    uint8_t hdr[32];
    bool broken;                /* payload bytes lost (no memory): fail C */
};

/* A job's payload buffer, reused from one write to the next. */
struct stream_buf {
    uint8_t *p;
    size_t cap;
};

/* The socket is empty: wait for it, in slices so that a shutdown is seen
 * soon, adding to *WAITED.  False once *WAITED reaches LIMIT_MS, at
 * shutdown or a poll() error. */
static bool stream_wait(struct nbd_stream *s, int *waited, int limit_ms)
{
    if (*waited >= limit_ms || __atomic_load_n(&s->c->srv->shutting_down, __ATOMIC_RELAXED))
        return false;
    int slice = MIN(limit_ms - *waited, 10);
    struct pollfd p = { .fd = s->c->fd, .events = POLLIN };
    int k = poll(&p, 1, slice);
    if (k == 0)
        *waited += slice;
    return k >= 0 || errno == EINTR;
}

/* Up to LEN bytes into BUF from the loop's leftovers, then the socket.
 * Waits up to WAIT_MS while nothing has come, and NBD_STREAM_STALL_MS in
 * all for the rest (a client that trickles a request in holds a worker no
 * longer: the loop reads the rest).  True when LEN bytes are in (*HAVE
 * counts them), false at a time-out, end of stream, an error or shutdown. */
static bool stream_read(struct nbd_stream *s, uint8_t *buf, size_t len, size_t *have,
                        int wait_ms)
{
    struct nbd_conn *c = s->c;
    if (s->pre_pos < s->pre_len && *have < len) {
        size_t n = MIN(len - *have, s->pre_len - s->pre_pos);
        memcpy(buf + *have, s->pre + s->pre_pos, n);
        s->pre_pos += n;
        *have += n;
    }
    int waited = 0;
    while (*have < len) {
        ssize_t n = recv(c->fd, buf + *have, len - *have, MSG_DONTWAIT);
        if (n > 0) {
            *have += (size_t)n;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            return false;       /* the loop finds out what it was */
        if (errno == EINTR)
            continue;
        if (!stream_wait(s, &waited, *have ? NBD_STREAM_STALL_MS : wait_ms))
            return false;
    }
    return true;
}

/* Move the next LEN bytes of payload into pipe P, the loop's leftovers
 * first (splicein.c tells why a pipe): true when all are in.  False with
 * *HAVE bytes in the pipe when it is full first (pieces smaller than a
 * page take a slot each) or the kernel cannot splice from the socket:
 * the caller goes on in a buffer; or, with *GONE set, at a stall, the end
 * of the stream or an error. */
static bool stream_splice(struct nbd_stream *s, struct nbd_pipe *p, size_t len, size_t *have,
                          bool *gone)
{
    struct nbd_conn *c = s->c;
    if (s->pre_pos < s->pre_len) {
        size_t n = MIN(len, s->pre_len - s->pre_pos);
        size_t w = nbd_pipe_fill(p, s->pre + s->pre_pos, n);
        s->pre_pos += w;
        *have += w;
        if (w < n)
            return false;
    }
    int waited = 0;
    while (*have < len) {
        ssize_t n = nbd_splice_in(c, p, len - *have);
        if (n > 0) {
            *have += (size_t)n;
            continue;
        }
        if (n == -ENOSPC || n == -EINVAL)
            return false;
        if (n != -EAGAIN || !stream_wait(s, &waited, NBD_STREAM_STALL_MS)) {
            *gone = true;
            return false;
        }
    }
    return true;
}

/* B holds at least LEN bytes: false when there is no memory. */
static bool buf_reserve(struct stream_buf *b, size_t len)
{
    if (b->cap >= len)
        return true;
    free(b->p);
    b->p = malloc(len);
    b->cap = b->p ? len : 0;
    return b->p != NULL;
}

/* Read write R's payload (S->lock held): into a pipe when one is free and
 * the image takes spliced writes (then the copy into the page cache is the
 * only one, and it runs in this job, where the client's bytes are in the
 * cache), else into B.  False: S stops, and R goes back to the loop with
 * what came of its payload. */
static bool stream_payload(struct nbd_stream *s, struct nbd_req *r, struct stream_buf *b)
{
    size_t have = 0;
    struct nbd_pipe *p = NULL;
    if (r->len >= NBD_SPLICE_MIN && r->e->splice_in)
        p = nbd_wpipe_get(s->c->srv, r->len);
    bool gone = false;
    if (p) {
        if (stream_splice(s, p, r->len, &have, &gone)) {
            r->pipe = p;        /* work_write() puts it back */
            return true;
        }
        /* what the pipe holds goes into the buffer; the rest follows it */
        bool ok = buf_reserve(b, r->len) && nbd_pipe_drain(p, b->p, have) == 0;
        nbd_wpipe_put(s->c->srv, p, ok);
        if (!ok) {
            s->broken = true;   /* bytes of the stream are lost */
            s->stop = true;
            free(r);
            return false;
        }
    }
    if (!gone && buf_reserve(b, r->len) &&
        stream_read(s, b->p, r->len, &have, NBD_STREAM_STALL_MS)) {
        r->buf = b->p;
        return true;
    }
    s->r = r;                   /* without a buffer, the loop tries with its own */
    s->part = b->p;
    s->part_have = b->p ? have : 0;
    *b = (struct stream_buf){ NULL, 0 };
    s->stop = true;
    return false;
}

static void stream_reply_release(void *opaque)
{
    free(opaque);
}

/* Reply to R, which is ours to free. */
static int stream_reply(struct nbd_stream *s, struct nbd_req *r, int ret)
{
    if (r->pipe) {              /* not taken by the write (it cannot be) */
        nbd_wpipe_put(s->c->srv, r->pipe, false);
        r->pipe = NULL;
    }
    struct nbd_out *o = nbd_req_status_reply(r, ret);
    if (!o) {
        free(r);
        return -1;
    }
    o->release = stream_reply_release;
    o->opaque = r;
    int sent = nbd_conn_send_or_queue(s->c, o);
    if (sent != 2) {
        free(o);
        free(r);
    }
    return sent < 0 ? -1 : 0;
}

/* Parse the header in S->hdr: a request to run here, or NULL (the header
 * goes back to the loop). */
static struct nbd_req *stream_parse(struct nbd_stream *s)
{
    struct nbd_conn *c = s->c;
    const uint8_t *h = s->hdr;
    if (be32_get(h) != (c->extended ? NBD_EXT_REQUEST_MAGIC : NBD_REQUEST_MAGIC))
        return NULL;
    uint16_t type = be16_get(h + 6);
    if (type != NBD_CMD_WRITE && type != NBD_CMD_WRITE_ZEROES && type != NBD_CMD_TRIM &&
        type != NBD_CMD_FLUSH)
        return NULL;
    struct nbd_req *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->c = c;
    r->e = c->exp;
    r->flags = be16_get(h + 4);
    r->type = type;
    r->cookie = be64_get(h + 8);
    r->off = be64_get(h + 16);
    r->len = c->extended ? be64_get(h + 24) : be32_get(h + 24);
    if (nbd_req_check(c, r) != 0) {
        free(r);                /* the loop refuses it, and logs why */
        return NULL;
    }
    return r;
}

/* The jobs (two, so that one reads the next request while the other
 * writes) take turns at the socket under S->lock. */
static int stream_work(void *opaque)
{
    struct nbd_stream *s = opaque;
    struct stream_buf b = { NULL, 0 };
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        struct nbd_req *r = s->first;
        s->first = NULL;
        if (!r) {
            /* shutting down: in-flight requests finish, no new one starts */
            if (__atomic_load_n(&s->c->srv->shutting_down, __ATOMIC_RELAXED)) {
                s->stop = true;
                break;
            }
            size_t have = 0;
            bool whole = stream_read(s, s->hdr, (size_t)s->hlen, &have, NBD_STREAM_LINGER_MS);
            if (!whole || !(r = stream_parse(s))) {
                s->hdr_have = have;
                s->stop = true;
                break;
            }
        }
        if (r->type == NBD_CMD_WRITE && !stream_payload(s, r, &b))
            break;
        pthread_mutex_unlock(&s->lock);
        int ret = nbd_req_run(r);
        r->buf = NULL;
        __atomic_add_fetch(&s->served, 1, __ATOMIC_RELAXED);
        bool failed = stream_reply(s, r, ret) < 0;
        pthread_mutex_lock(&s->lock);
        if (failed)
            s->stop = true;
    }
    pthread_mutex_unlock(&s->lock);
    free(b.p);
    return 0;
}

/* Loop thread: a job has ended; after the last one, the loop reads the
 * connection again from where the stream stopped. */
static void stream_done(void *opaque, int ret)
{
    struct nbd_stream *s = opaque;
    struct nbd_conn *c = s->c;
    struct nbd_server *srv = c->srv;
    c->jobs--;
    if (--s->jobs > 0)
        return;
    srv->streams--;
    c->stream = NULL;
    c->streamed += s->served;
    if (s->broken && !c->dead)
        nbd_conn_fail(c);
    if (c->dead || c->st != NBD_ST_STREAM) {
        /* gone, or shut down meanwhile: a write whose data is not all in
         * is not acknowledged */
        free(s->r);
    } else {
        size_t left = s->pre_len - s->pre_pos;
        if (left)
            memcpy(c->stage, s->pre + s->pre_pos, left);   /* it came from there */
        c->stage_pos = 0;
        c->stage_len = left;
        if (s->r || s->hdr_have)
            nbd_log("client %d: a stream stopped in a request's %s; the loop reads the rest",
                    c->fd, s->r ? "payload" : "header");
        if (s->r) {
            if (nbd_req_adopt(c, s->r, s->part, s->part_have) < 0)
                nbd_conn_fail(c);
        } else {
            nbd_req_want_header(c, s->hdr, s->hdr_have);
        }
        if (!c->dead)
            loop_bh_schedule(c->kick_bh);   /* staged or whole-header bytes */
    }
    free(s->first);             /* no job ever ran */
    free(s->pre);
    free(s->part);
    pthread_mutex_destroy(&s->lock);
    free(s);
    if (c->dead)
        nbd_conn_maybe_free(c);
    else
        nbd_conn_update(c);
}

bool nbd_stream_start(struct nbd_conn *c, struct nbd_req *r)
{
    struct nbd_server *srv = c->srv;
    if (c->tls_active || srv->streams >= NBD_STREAMS_MAX || srv->shutting_down ||
        srv->no_stream)
        return false;
    struct nbd_stream *s = calloc(1, sizeof(*s));
    size_t left = c->stage_len - c->stage_pos;
    if (!s || (left && !(s->pre = malloc(left)))) {
        free(s);
        return false;
    }
    if (left)
        memcpy(s->pre, c->stage + c->stage_pos, left);
    s->pre_len = left;
    s->c = c;
    s->hlen = c->extended ? 32 : 28;
    s->first = r;
    pthread_mutex_init(&s->lock, NULL);
    for (int i = 0; i < NBD_STREAM_JOBS; i++) {
        struct error *err = NULL;
        if (pool_submit(srv->pool, stream_work, stream_done, s, &err) < 0) {
            err_free(err);
            break;
        }
        s->jobs++;
        c->jobs++;
    }
    if (s->jobs == 0) {
        pthread_mutex_destroy(&s->lock);
        free(s->pre);
        free(s);
        return false;
    }
    c->stage_pos = c->stage_len = 0;
    c->stream = s;
    srv->streams++;
    c->st = NBD_ST_STREAM;
    nbd_conn_update(c);         /* stop reading the socket */
    return true;
}
