/* internal.h - what the files of the NBD server share: the server, its
 * exports and connections, the output queue and the TLS transport. */
#ifndef EMU_NBD_INTERNAL_H
#define EMU_NBD_INTERNAL_H

#include <pthread.h>
#include <sys/uio.h>
#include "nbd.h"
#include "proto.h"
#include "log.h"

/* Protocol tracing (-v, EMU_LOG=nbd): one test when it is off. */
#define nbd_log(...) \
    do { \
        if (log_on(LOG_NBD)) \
            log_msg(LOG_NBD, __VA_ARGS__); \
    } while (0)

struct nbd_conn;

/* A pipe for moving page-cache pages into a socket without a copy. */
struct nbd_pipe {
    int rd, wr;
    size_t cap;                 /* bytes one vmsplice may move at most */
};
#define NBD_PIPES_KEEP 32

struct nbd_req;

struct nbd_export {
    struct nbd_server *srv;
    char *name, *description;
    struct blk *blk;
    uint64_t offset, size;
    bool read_only, discard, writethrough, no_flush;
    enum nbd_detect_zeroes detect_zeroes;
    /* Writes to an image the kernel writes one at a time anyway (page
     * cache of one file) go into WQ, which one pool job at a time drains:
     * a job per write would wake a thread per write only to have it wait
     * on the others, and on two CPUs those switches cost the client time. */
    bool serial_writes;
    bool splice_in;             /* write payloads may come in a pipe */
    pthread_mutex_t wq_lock;
    struct nbd_req *wq_head, *wq_tail;
    bool wq_running;            /* a drain job is queued or running */
    struct nbd_export *next;
    /* nbd_server_remove_export: runs once nothing uses it any more */
    loop_cb_fn *removed;
    void *removed_opaque;
};

/* A cache of request buffers: large malloc()s are mmap()s, and faulting
 * fresh pages in for every request costs more than the copy itself. */
#define NBD_BUF_CLASSES 10      /* 64 KiB << 0..9 = 64 KiB .. 32 MiB */
#define NBD_BUF_KEEP 64         /* per class, and ... */
#define NBD_BUF_KEEP_BYTES (128u << 20)  /* ... in all */

struct nbd_server {
    struct loop *loop;
    struct pool *pool;
    struct nbd_export *exports;
    struct nbd_export *removed;     /* removed, still used by connections */
    struct nbd_tls *tls;
    bool tls_required;
    unsigned max_clients, nclients;
    int listen_fds[16];
    int nlisten;
    bool accepting;             /* listeners are watched */
    bool shutting_down;
    nbd_event_fn *event_cb;
    void *event_opaque;
    loop_cb_fn *shutdown_done;
    void *shutdown_opaque;
    struct loop_timer *shutdown_timer;
    struct loop_bh *shutdown_bh;
    struct loop_bh *reap_bh;
    struct nbd_conn *conns;
    void *bufs[NBD_BUF_CLASSES][NBD_BUF_KEEP];
    int nbufs[NBD_BUF_CLASSES];
    size_t buf_bytes;           /* held in bufs */
    /* Empty pipes for zero-copy sends (zerocopy.c), shared by all threads. */
    pthread_mutex_t pipe_lock;
    struct nbd_pipe *pipes[NBD_PIPES_KEEP];
    int npipes;
    bool no_zc;                 /* the kernel cannot splice to sockets */
    /* Pipes for write payloads (splicein.c), under pipe_lock. */
    struct nbd_pipe *wpipes[NBD_PIPES_KEEP];
    int nwpipes;
    unsigned wpipes_out;
    bool no_splice_in;          /* the kernel cannot splice from sockets */
    /* Requests a drain job (request.c) finished: their completions run
     * in the loop from DONE_BH, as pool completions do. */
    pthread_mutex_t done_lock;
    struct nbd_req *done_head, *done_tail;
    struct loop_bh *done_bh;
    bool done_scheduled;        /* done_bh is due (under done_lock) */
    unsigned wq_jobs;           /* drain jobs not completed (loop thread) */
    unsigned streams;           /* stream jobs running (loop thread) */
    bool no_stream;             /* serve no connection by a stream */
};

/* One reply waiting to be sent: iov[pos..niov) with iov[pos] possibly
 * already partly sent; RELEASE(opaque) runs once it is out (or dropped). */
struct nbd_out {
    struct nbd_out *next;
    int niov, pos;
    size_t bytes;               /* still to send */
    void (*release)(void *opaque);
    void *opaque;
    /* zc[i]: iov[i] points into pages that stay unchanged until the
     * client has them (a mapping of a read-only image file), so the
     * socket may take references to them instead of a copy. */
    uint8_t *zc;
    bool has_zc;
    uint8_t hdr[64];            /* room for headers pointed to by iov */
    struct iovec iov[];
};

enum nbd_conn_state {
    NBD_ST_CLIENT_FLAGS,        /* want 4 bytes of client flags */
    NBD_ST_OPT_HDR,             /* want 16 bytes of option header */
    NBD_ST_OPT_DATA,            /* want the option payload */
    NBD_ST_OPT_SKIP,            /* discarding a too large option payload */
    NBD_ST_TLS_FLUSH,           /* STARTTLS acked; waiting for the ack to go out */
    NBD_ST_TLS_HANDSHAKE,
    NBD_ST_REQ_HDR,             /* want a request header */
    NBD_ST_REQ_PAYLOAD,         /* reading a write payload */
    NBD_ST_REQ_SKIP,            /* discarding a refused write's payload */
    NBD_ST_STREAM,              /* a stream job reads the socket (stream.c) */
    NBD_ST_CLOSING,             /* read nothing more; close when drained */
};

struct nbd_conn {
    struct nbd_server *srv;
    struct nbd_conn *prev, *next;
    int fd;
    enum nbd_conn_state st;
    bool dead;                  /* socket gone: drop output, free when idle */
    bool watching_read, watching_write;
    /* The loop is not reading us (atomic): a drained write's completion
     * may be what lets it go on, so it must wake the loop.  While we read,
     * completions wait until our next input instead. */
    bool paused;
    struct loop_bh *kick_bh;    /* go on reading without waiting for select() */

    /* input: a staging buffer, and the current target */
    uint8_t stage[65536];
    size_t stage_pos, stage_len;
    uint8_t hdr[32];
    uint8_t *want_buf;
    size_t want, have;
    uint64_t skip;              /* bytes to discard in the SKIP states */

    /* handshake */
    uint32_t opt, opt_len;
    uint8_t *opt_data;
    bool no_zeroes, structured, extended;
    bool meta_base, meta_depth;
    char *meta_export;          /* export the contexts were set for */
    struct nbd_export *exp;

    /* transmission */
    struct nbd_req *cur;        /* request whose payload is being read */
    struct nbd_pipe *in_pipe;   /* ... into this pipe (cur's), not want_buf */
    /* The last payload was spliced: read the next header alone, as
     * bytes of a payload read into the stage would be copied twice. */
    bool exact_hdr;
    uint64_t spliced_in;        /* payload bytes spliced, for -v */
    unsigned unspliced;         /* payloads that went on in a buffer */
    unsigned no_pipe;           /* payloads that found no pipe free */
    unsigned in_flight;         /* requests not yet replied to */
    size_t in_flight_bytes;
    unsigned jobs;              /* pool jobs that still point at us */
    struct nbd_stream *stream;  /* the job reading us in NBD_ST_STREAM */
    unsigned streamed;          /* requests streams have run, for -v */

    /* The output queue.  Workers send a finished reply themselves when
     * nothing is queued before it (direct_ok: plain sockets only), so
     * the queue and the socket's write side are under send_lock; the
     * socket stays open (only shut down) until no job points at us. */
    pthread_mutex_t send_lock;
    bool direct_ok;
    struct nbd_out *out_head, *out_tail;
    size_t out_bytes;
    /* Bytes of a zero-copy send already taken from the queue into ZC_PIPE
     * but not yet into the socket: they go out before anything else. */
    struct nbd_pipe *zc_pipe;
    size_t zc_pending;
    uint64_t zc_bytes, copied_bytes;    /* sent each way, for -v */

    /* TLS */
    void *tls_session;          /* gnutls_session_t */
    bool tls_active;            /* handshake done: all I/O goes through TLS */
    uint8_t *tls_leftover;      /* plaintext-read bytes that are TLS records */
    size_t tls_left_pos, tls_left_len;
};

/* Write payloads smaller than this cost less to copy than a pipe costs. */
#define NBD_SPLICE_MIN (64 * 1024)

/* A request in the transmission phase (request.c; stream.c runs some). */
struct nbd_seg;
struct nbd_extent;

struct nbd_req {
    struct nbd_conn *c;
    struct nbd_export *e;
    uint64_t cookie, off, len;
    uint16_t type, flags;
    int err;                    /* NBD error to reply with (0: none) */
    uint8_t *buf;
    size_t buf_len;
    size_t charge;              /* bytes counted in c->in_flight_bytes */
    struct nbd_seg *segs;
    int nsegs, segcap;
    struct nbd_extent *ext[2];  /* block status: base, depth */
    int next[2];
    uint8_t *hdrs;              /* chunk headers of the reply */
    int refs;                   /* the job or the reply queue; see req_unref */
    int ret;                    /* result of the work */
    int sent;                   /* nbd_conn_send_direct()'s answer */
    struct nbd_out *out;        /* the reply, built by the worker */
    struct nbd_req *qnext;      /* in e->wq, then in srv->done */
    struct nbd_pipe *pipe;      /* a write's payload, instead of buf */
};

/* server.c: connection I/O */
struct nbd_out *nbd_out_new(int niov);
void nbd_conn_queue(struct nbd_conn *c, struct nbd_out *o);
/* Worker threads: send O now if nothing is queued before it.  Returns 1
 * sent whole, 0 not sent (queue it from the loop), 2 partly sent and
 * queued (RELEASE runs from the queue), -1 the socket failed. */
int nbd_conn_send_direct(struct nbd_conn *c, struct nbd_out *o);
/* Worker threads, plain sockets: send O now, or queue it (and have the
 * loop send it) when replies are queued before it or the socket is full.
 * Returns 1 sent whole, 2 queued (RELEASE runs from the queue), -1 the
 * connection failed (O stays the caller's). */
int nbd_conn_send_or_queue(struct nbd_conn *c, struct nbd_out *o);
void nbd_conn_update(struct nbd_conn *c);
void nbd_conn_fail(struct nbd_conn *c);
void nbd_conn_maybe_free(struct nbd_conn *c);
void *nbd_buf_get(struct nbd_server *srv, size_t len);
void nbd_buf_put(struct nbd_server *srv, void *buf, size_t len);
struct nbd_export *nbd_export_find(struct nbd_server *srv, const char *name);

/* zerocopy.c: send_lock held by the callers of the last three. */
struct nbd_pipe *nbd_pipe_new(void);    /* non-blocking, fds above select()'s */
void nbd_pipe_free(struct nbd_pipe *p); /* close it (NULL: nothing) */
struct nbd_pipe *nbd_pipe_get(struct nbd_server *srv);
void nbd_pipe_put(struct nbd_server *srv, struct nbd_pipe *p, bool empty);
void nbd_pipes_free(struct nbd_server *srv);
/* Send what is left of O from o->pos, iovecs marked zc through a pipe;
 * advance O by what the socket (or c->zc_pipe) took and return that many
 * bytes, or -errno; *BLOCKED is set when the socket is full. */
ssize_t nbd_out_send(struct nbd_conn *c, struct nbd_out *o, bool *blocked);
/* Step O past N bytes of its iovecs (and past empty ones). */
void nbd_out_advance(struct nbd_out *o, size_t n);
/* Move c->zc_pending bytes on: 0 all out, -EAGAIN, or -errno. */
int nbd_zc_drain(struct nbd_conn *c);
void nbd_zc_drop(struct nbd_conn *c);

/* splicein.c: pipes for write payloads, any thread */
struct nbd_pipe *nbd_wpipe_get(struct nbd_server *srv, size_t len);  /* NULL: none */
void nbd_wpipe_put(struct nbd_server *srv, struct nbd_pipe *p, bool empty);
void nbd_wpipes_free(struct nbd_server *srv);
/* Move up to LEN bytes from c's socket into pipe P: >0 moved, 0 end of
 * stream, -EAGAIN socket empty, -ENOSPC pipe full, -EINVAL cannot splice
 * here, -errno. */
ssize_t nbd_splice_in(struct nbd_conn *c, struct nbd_pipe *p, size_t len);
size_t nbd_pipe_fill(struct nbd_pipe *p, const void *buf, size_t len);  /* bytes taken */
int nbd_pipe_drain(struct nbd_pipe *p, void *buf, size_t len);      /* 0 / -1 */

/* tls-client.c: blocking client-side TLS (emu-nbd -L) */
struct nbd_tls_client;
struct nbd_tls_client *nbd_tls_client_new(const struct nbd_client_tls *cfg, struct error **errp);
void nbd_tls_client_free(struct nbd_tls_client *t);
int nbd_tls_client_handshake(struct nbd_tls_client *t, int fd, struct error **errp);
/* Read (WR false) or write up to LEN bytes: >0, 0 end of stream, -1 errno. */
ssize_t nbd_tls_client_io(struct nbd_tls_client *t, void *buf, size_t len, bool wr);
void nbd_tls_client_bye(struct nbd_tls_client *t);

/* handshake.c */
void nbd_hs_start(struct nbd_conn *c);
void nbd_hs_input(struct nbd_conn *c);     /* c->want bytes arrived */

/* request.c */
void nbd_req_start(struct nbd_conn *c);     /* enter transmission */
void nbd_req_input(struct nbd_conn *c);
void nbd_req_free_conn(struct nbd_conn *c); /* drop c->cur */
/* c->cur's payload goes on into a buffer, with what c->in_pipe holds
 * moved there first: 0, or -1 (no memory: fail the connection). */
int nbd_req_unsplice(struct nbd_conn *c);
uint16_t nbd_export_flags(const struct nbd_conn *c, const struct nbd_export *e);
void nbd_req_run_done(void *srv);           /* completions of drained writes */
void nbd_req_done_wake(struct nbd_server *srv);  /* run them soon if any wait */
/* For stream.c.  The protocol's error for R (0: it can run); any thread. */
int nbd_req_check(struct nbd_conn *c, struct nbd_req *r);
int nbd_req_run(struct nbd_req *r);             /* in a worker: 0 or -errno */
/* The status-only reply to R after RET (0 or -errno); NULL: no memory. */
struct nbd_out *nbd_req_status_reply(struct nbd_req *r, int ret);
/* Loop thread: go on reading the next header, HAVE bytes of it in HDR. */
void nbd_req_want_header(struct nbd_conn *c, const uint8_t *hdr, size_t have);
/* Loop thread: take over write R (not counted yet), HAVE bytes of its
 * payload in PART; the loop reads the rest.  0, or -1 (no memory). */
int nbd_req_adopt(struct nbd_conn *c, struct nbd_req *r, const uint8_t *part, size_t have);

/* stream.c: serve C's requests in one worker from write R on (loop
 * thread, R parsed and checked but not counted).  False: not possible
 * now, the loop goes on with R. */
bool nbd_stream_start(struct nbd_conn *c, struct nbd_req *r);

/* tls.c */
int nbd_tls_session_new(struct nbd_conn *c, struct error **errp);
void nbd_tls_session_free(struct nbd_conn *c);
/* 1 done, 0 in progress (c->tls wants read or write), -1 failed. */
int nbd_tls_handshake(struct nbd_conn *c, bool *want_write);
ssize_t nbd_tls_recv(struct nbd_conn *c, void *buf, size_t len);   /* -EAGAIN */
ssize_t nbd_tls_send(struct nbd_conn *c, const void *buf, size_t len);
void nbd_tls_bye(struct nbd_conn *c);
bool nbd_tls_pending(struct nbd_conn *c);   /* decrypted bytes wait inside */

#endif
