/* zerocopy.c - sending read data without copying it in the server.
 *
 * Data of a read-only image that the page cache holds is mapped
 * (blk_map_read); those pages do not change while a client reads them,
 * so instead of copying them into the socket (sendmsg) they are moved by
 * reference: vmsplice() puts references to them into a pipe, splice()
 * passes the references on to the socket.  The client's receive is then
 * the only copy of the data on the machine, where a copy into the socket
 * used to cost the server about a third of its time.
 *
 * Only iovecs an nbd_out marks zc take this path; everything else is
 * sendmsg()ed.  A pipe is held only while bytes are in it: bytes a full
 * socket would not take stay in the connection's zc_pipe and go out
 * before anything else once the socket is writable again.  Kernels that
 * cannot splice into a socket make vmsplice() or splice() fail with
 * EINVAL; the server then stops trying and copies. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "internal.h"

/* Smaller pieces cost less to copy than two system calls and the page
 * references. */
#define NBD_ZC_MIN (32 * 1024)
/* The pipe size asked for: a typical read request (256 KiB to 1 MiB) in
 * one go.  The kernel may give less (fs.pipe-max-size). */
#define NBD_ZC_PIPE_SIZE (1024 * 1024)

/* A descriptor moved above what select() can watch, where it takes no
 * number a client's socket needs (pipes are never watched), if the
 * descriptor limit allows; else FD itself. */
static int fd_high(int fd)
{
    int h = fcntl(fd, F_DUPFD_CLOEXEC, FD_SETSIZE);
    if (h < 0)
        return fd;
    close(fd);
    return h;
}

struct nbd_pipe *nbd_pipe_new(void)
{
    int fds[2];
    struct nbd_pipe *p = malloc(sizeof(*p));
    if (!p || pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
        free(p);
        return NULL;
    }
    /* O_NONBLOCK lives in the open file, which the duplicate shares */
    p->rd = fd_high(fds[0]);
    p->wr = fd_high(fds[1]);
    int sz = fcntl(p->wr, F_GETPIPE_SZ);
    p->cap = sz > 0 ? (size_t)sz : 65536;
    return p;
}

void nbd_pipe_free(struct nbd_pipe *p)
{
    if (!p)
        return;
    close(p->rd);
    close(p->wr);
    free(p);
}

struct nbd_pipe *nbd_pipe_get(struct nbd_server *srv)
{
    struct nbd_pipe *p = NULL;
    pthread_mutex_lock(&srv->pipe_lock);
    bool off = srv->no_zc;
    if (!off && srv->npipes > 0)
        p = srv->pipes[--srv->npipes];
    pthread_mutex_unlock(&srv->pipe_lock);
    if (p || off)
        return p;
    if (!(p = nbd_pipe_new()))
        return NULL;
    int sz = fcntl(p->wr, F_SETPIPE_SZ, NBD_ZC_PIPE_SIZE);
    if (sz > 0)
        p->cap = (size_t)sz;
    return p;
}

/* Give P back; a pipe that may still hold bytes is closed instead. */
void nbd_pipe_put(struct nbd_server *srv, struct nbd_pipe *p, bool empty)
{
    if (!p)
        return;
    pthread_mutex_lock(&srv->pipe_lock);
    if (empty && srv->npipes < NBD_PIPES_KEEP) {
        srv->pipes[srv->npipes++] = p;
        p = NULL;
    }
    pthread_mutex_unlock(&srv->pipe_lock);
    nbd_pipe_free(p);
}

void nbd_pipes_free(struct nbd_server *srv)
{
    while (srv->npipes > 0)
        nbd_pipe_free(srv->pipes[--srv->npipes]);
}

static void zc_disable(struct nbd_server *srv, int err)
{
    pthread_mutex_lock(&srv->pipe_lock);
    if (!srv->no_zc)
        nbd_log("zero-copy sends are off: %s", strerror(err));
    srv->no_zc = true;
    pthread_mutex_unlock(&srv->pipe_lock);
}

void nbd_zc_drop(struct nbd_conn *c)
{
    nbd_pipe_put(c->srv, c->zc_pipe, c->zc_pending == 0);
    c->zc_pipe = NULL;
    c->zc_pending = 0;
}

/* MORE: further bytes of the reply follow (TCP may hold back a partial
 * segment for them). */
static int zc_drain(struct nbd_conn *c, bool more)
{
    while (c->zc_pending > 0) {
        unsigned fl = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | (more ? SPLICE_F_MORE : 0);
        ssize_t n = splice(c->zc_pipe->rd, NULL, c->fd, NULL, c->zc_pending, fl);
        if (n > 0) {
            c->zc_pending -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return -EAGAIN;
        return n == 0 ? -EPIPE : -errno;
    }
    nbd_pipe_put(c->srv, c->zc_pipe, true);
    c->zc_pipe = NULL;
    return 0;
}

int nbd_zc_drain(struct nbd_conn *c)
{
    return zc_drain(c, false);
}

void nbd_out_advance(struct nbd_out *o, size_t n)
{
    while (n > 0 && o->pos < o->niov) {
        struct iovec *v = &o->iov[o->pos];
        size_t k = MIN(n, v->iov_len);
        v->iov_base = (uint8_t *)v->iov_base + k;
        v->iov_len -= k;
        n -= k;
        if (v->iov_len == 0)
            o->pos++;
    }
    while (o->pos < o->niov && o->iov[o->pos].iov_len == 0)
        o->pos++;
}

static bool zc_usable(const struct nbd_conn *c, const struct nbd_out *o, int i)
{
    return o->has_zc && o->zc[i] && o->iov[i].iov_len >= NBD_ZC_MIN && !c->tls_active &&
           !__atomic_load_n(&c->srv->no_zc, __ATOMIC_RELAXED);
}

/* Move the head of iov[o->pos] into the socket by reference. */
static ssize_t zc_send_one(struct nbd_conn *c, struct nbd_out *o, bool *blocked)
{
    int i = o->pos;
    if (!c->zc_pipe && !(c->zc_pipe = nbd_pipe_get(c->srv))) {
        o->zc[i] = 0;           /* no pipe now: copy this one */
        return 0;
    }
    struct iovec v = { o->iov[i].iov_base, MIN(o->iov[i].iov_len, c->zc_pipe->cap) };
    ssize_t n;
    do
        n = vmsplice(c->zc_pipe->wr, &v, 1, SPLICE_F_NONBLOCK);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
        /* EINVAL/ENOSYS: not this kernel; others (EFAULT: the file
         * shrank) are left to the copy, which reports them */
        if (n < 0 && (errno == EINVAL || errno == ENOSYS))
            zc_disable(c->srv, errno);
        nbd_zc_drop(c);
        o->zc[i] = 0;
        return 0;
    }
    struct iovec saved = o->iov[i];
    nbd_out_advance(o, (size_t)n);
    c->zc_pending = (size_t)n;
    c->zc_bytes += (uint64_t)n;
    int r = zc_drain(c, o->pos < o->niov);
    if (r == -EINVAL && c->zc_pending == (size_t)n) {
        /* the socket takes no spliced pages: drop the pipe's references
         * and copy these bytes instead */
        zc_disable(c->srv, EINVAL);
        nbd_zc_drop(c);
        c->zc_bytes -= (uint64_t)n;
        o->pos = i;
        o->iov[i] = saved;
        o->zc[i] = 0;
        return 0;
    }
    if (r == -EAGAIN)
        *blocked = true;
    else if (r < 0)
        return r;
    return n;
}

ssize_t nbd_out_send(struct nbd_conn *c, struct nbd_out *o, bool *blocked)
{
    size_t total = 0;
    *blocked = false;
    if (c->zc_pending > 0) {
        int r = zc_drain(c, true);
        if (r == -EAGAIN) {
            *blocked = true;
            return 0;
        }
        if (r < 0)
            return r;
    }
    while (o->pos < o->niov && !*blocked) {
        int i = o->pos;
        if (o->iov[i].iov_len == 0) {
            o->pos++;
            continue;
        }
        if (zc_usable(c, o, i)) {
            ssize_t n = zc_send_one(c, o, blocked);
            if (n < 0)
                return n;
            total += (size_t)n;
            continue;
        }
        /* a run of iovecs to copy */
        int k = i + 1;
        while (k < o->niov && k - i < 1024 && !zc_usable(c, o, k))
            k++;
        struct msghdr m = { .msg_iov = o->iov + i, .msg_iovlen = (size_t)(k - i) };
        ssize_t n = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT | (k < o->niov ? MSG_MORE : 0));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            *blocked = true;
            break;
        }
        if (n <= 0)
            return n == 0 ? -EPIPE : -errno;
        nbd_out_advance(o, (size_t)n);
        c->copied_bytes += (uint64_t)n;
        total += (size_t)n;
    }
    return (ssize_t)total;
}
