/* splicein.c - receiving write payloads without copying them in the server.
 *
 * For a raw image file in the page cache, a write's data would be copied
 * twice by the server: from the socket into a buffer (recv), then from
 * the buffer into the page cache (pwrite), and the first copy ran in the
 * loop thread, which reads every connection.  Instead, the loop splice()s
 * the payload from the socket into a pipe (the pipe takes references to
 * the socket's pages, no copy), and the worker that runs the write
 * splice()s the pipe into the file (blk_splice_write): the copy into the
 * page cache is then the only one, and it runs in the worker.
 *
 * A pipe holds as many pieces as it has pages, and the socket's pieces may
 * be smaller than a page: a pipe can fill up before a payload is in.  The
 * loop then moves what the pipe holds into a buffer and reads the rest
 * the usual way (nbd_req_unsplice); the same happens when the kernel
 * cannot splice from this kind of socket, and writes too large for a pipe
 * never take this path. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "internal.h"

/* Pipes in use at once, server-wide: each costs two descriptors, which
 * must not run out for accept().  Past this, payloads go into buffers. */
#define NBD_WPIPES_MAX 128

static size_t pow2_at_least(size_t n)
{
    size_t p = 65536;
    while (p < n && p < ((size_t)1 << 30))
        p <<= 1;
    return p;
}

/* Make P hold at least WANT bytes: 0 or -1. */
static int pipe_grow(struct nbd_pipe *p, size_t want)
{
    if (p->cap >= want)
        return 0;
    int sz = fcntl(p->wr, F_SETPIPE_SZ, (int)want);
    if (sz < 0)
        return -1;
    p->cap = (size_t)sz;
    return p->cap >= want ? 0 : -1;
}

struct nbd_pipe *nbd_wpipe_get(struct nbd_server *srv, size_t len)
{
    /* room for twice the payload's pages: pieces smaller than a page each
     * take a whole slot */
    size_t want = pow2_at_least(len * 2), least = pow2_at_least(len + len / 4);
    struct nbd_pipe *p = NULL;
    pthread_mutex_lock(&srv->pipe_lock);
    if (srv->no_splice_in || srv->wpipes_out >= NBD_WPIPES_MAX) {
        pthread_mutex_unlock(&srv->pipe_lock);
        return NULL;
    }
    for (int i = srv->nwpipes - 1; i >= 0; i--) {
        if (srv->wpipes[i]->cap >= least) {
            p = srv->wpipes[i];
            srv->wpipes[i] = srv->wpipes[--srv->nwpipes];
            break;
        }
    }
    if (!p && srv->nwpipes > 0)
        p = srv->wpipes[--srv->nwpipes];
    srv->wpipes_out++;
    pthread_mutex_unlock(&srv->pipe_lock);
    if (!p && !(p = nbd_pipe_new()))
        goto none;
    if (pipe_grow(p, want) == 0 || pipe_grow(p, least) == 0)
        return p;
    /* too large for fs.pipe-max-size or the user's pipe allowance: the
     * payload goes into a buffer, and the pipe serves smaller ones */
    nbd_wpipe_put(srv, p, true);
    return NULL;
none:
    pthread_mutex_lock(&srv->pipe_lock);
    srv->wpipes_out--;
    pthread_mutex_unlock(&srv->pipe_lock);
    return NULL;
}

void nbd_wpipe_put(struct nbd_server *srv, struct nbd_pipe *p, bool empty)
{
    if (!p)
        return;
    pthread_mutex_lock(&srv->pipe_lock);
    srv->wpipes_out--;
    if (empty && srv->nwpipes < NBD_PIPES_KEEP) {
        srv->wpipes[srv->nwpipes++] = p;
        p = NULL;
    }
    pthread_mutex_unlock(&srv->pipe_lock);
    if (p)
        nbd_pipe_free(p);
}

void nbd_wpipes_free(struct nbd_server *srv)
{
    for (int i = 0; i < srv->nwpipes; i++)
        nbd_pipe_free(srv->wpipes[i]);
    srv->nwpipes = 0;
}

ssize_t nbd_splice_in(struct nbd_conn *c, struct nbd_pipe *p, size_t len)
{
    for (int tries = 0;; tries++) {
        ssize_t n = splice(c->fd, NULL, p->wr, NULL, len,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EINVAL || errno == ENOSYS) {
            __atomic_store_n(&c->srv->no_splice_in, true, __ATOMIC_RELAXED);
            return -EINVAL;
        }
        if (errno != EAGAIN)
            return -errno;
        /* Empty socket, or full pipe?  Bytes waiting in the socket that a
         * second try cannot move either mean the pipe is full. */
        int avail = 0;
        if (ioctl(c->fd, FIONREAD, &avail) < 0 || avail <= 0)
            return -EAGAIN;
        if (tries > 0)
            return -ENOSPC;
    }
}

size_t nbd_pipe_fill(struct nbd_pipe *p, const void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(p->wr, (const char *)buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    return done;
}

int nbd_pipe_drain(struct nbd_pipe *p, void *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = read(p->rd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf = (char *)buf + n;
        len -= (size_t)n;
    }
    return 0;
}
