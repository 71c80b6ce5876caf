/* socket.c - frames over a host socket, so that emulators can talk to
 * each other (-netdev socket, stream, dgram; qemu 7.2's spellings):
 *
 *   -netdev socket,id=n0,listen=[HOST]:PORT       a stream server
 *   -netdev socket,id=n0,connect=HOST:PORT        a stream client
 *   -netdev socket,id=n0,udp=HOST:PORT[,localaddr=HOST:PORT]
 *   -netdev stream,id=n0,server=on|off,addr.type=inet,addr.host=H,addr.port=P
 *   -netdev stream,id=n0,server=on|off,addr.type=unix,addr.path=PATH
 *   -netdev dgram,id=n0,remote.type=inet,remote.host=H,remote.port=P
 *          [,local.type=inet,local.host=H,local.port=P]
 *
 * On a stream each frame is a 4-byte big-endian length and the frame, as
 * qemu sends them, so emu and qemu interoperate; a datagram is one frame.
 * A server serves one connection at a time and listens again when it
 * ends; frames sent meanwhile are dropped, as on an unplugged cable.  A
 * length above NETDEV_MAX_FRAME from the peer ends the connection.
 *
 * Flow control: when the guest has no room, the frame stays in the read
 * buffer and the socket is not read until rx_ready; when the socket does
 * not take a whole frame, the rest waits in a buffer and send says -EAGAIN
 * until it is written.
 */
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "hw/net/netdev.h"
#include "i18n.h"
#include "keyval.h"
#include "log.h"
#include "loop.h"
#include "msg.h"

#define RBUF_SIZE (2 * (4 + NETDEV_MAX_FRAME))
#define SOCK_BATCH 64

enum sock_mode { MODE_LISTEN, MODE_CONNECT, MODE_DGRAM };

struct sock_net {
    struct netdev *nd;
    enum sock_mode mode;
    int listen_fd;
    int fd;                     /* the connection or the datagram socket; -1: none */
    struct sockaddr_storage remote;     /* datagrams go here */
    socklen_t remote_len;
    /* stream input: bytes [roff, rlen) of rbuf not yet parsed */
    uint8_t *rbuf;
    size_t roff, rlen;
    bool rx_blocked;            /* a complete frame waits for the guest */
    size_t dgram_pending;       /* dgram: a frame of this size waits in rbuf */
    /* stream output: the rest of a frame the socket did not take */
    uint8_t *obuf;
    size_t ooff, olen;
    bool tx_waiting;            /* send said -EAGAIN: tx_ready is owed */
    char *unix_path;            /* a unix server's socket file, removed at close */
};

static void sock_readable(void *opaque, int fd);
static void sock_writable(void *opaque, int fd);

static void set_handlers(struct sock_net *s)
{
    if (s->fd < 0)
        return;
    loop_fd_fn *rd = s->rx_blocked ? NULL : sock_readable;
    loop_fd_fn *wr = s->olen > s->ooff ? sock_writable : NULL;
    if (!rd && !wr)
        loop_remove_fd(s->nd->loop, s->fd);
    else if (loop_set_fd(s->nd->loop, s->fd, rd, wr, s, NULL) < 0)
        msg_warn(_("netdev %s: cannot watch its socket"), s->nd->id);
}

static void accept_ready(void *opaque, int fd);

/* The connection ended (or broke the framing): drop it; a server
 * listens again. */
static void drop_conn(struct sock_net *s)
{
    if (s->fd >= 0) {
        loop_remove_fd(s->nd->loop, s->fd);
        close(s->fd);
        s->fd = -1;
    }
    s->roff = s->rlen = 0;
    s->ooff = s->olen = 0;
    s->rx_blocked = false;
    if (s->mode == MODE_LISTEN && s->listen_fd >= 0)
        loop_set_fd(s->nd->loop, s->listen_fd, accept_ready, NULL, s, NULL);
    if (s->tx_waiting) {
        s->tx_waiting = false;
        netdev_tx_ready(s->nd);
    }
}

/* Deliver the complete frames in rbuf; false: the guest is full. */
static bool parse_frames(struct sock_net *s)
{
    while (s->rlen - s->roff >= 4) {
        const uint8_t *p = s->rbuf + s->roff;
        uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (len > NETDEV_MAX_FRAME) {
            msg_warn(_("netdev %s: the peer sent a frame of %" PRIu32 " bytes; "
                       "closing the connection"), s->nd->id, len);
            drop_conn(s);
            return true;
        }
        if (s->rlen - s->roff - 4 < len)
            break;
        if (len) {
            struct iovec iov = { (void *)(p + 4), len };
            if (!netdev_receive(s->nd, &iov, 1))
                return false;
        }
        s->roff += 4 + len;
    }
    /* keep the partial frame at the start */
    if (s->roff) {
        memmove(s->rbuf, s->rbuf + s->roff, s->rlen - s->roff);
        s->rlen -= s->roff;
        s->roff = 0;
    }
    return true;
}

static void sock_readable(void *opaque, int fd)
{
    struct sock_net *s = opaque;
    for (int i = 0; i < SOCK_BATCH && s->fd == fd; i++) {
        if (s->mode == MODE_DGRAM) {
            ssize_t n = recv(fd, s->rbuf, NETDEV_MAX_FRAME, 0);
            if (n <= 0)
                return;
            struct iovec iov = { s->rbuf, (size_t)n };
            if (!netdev_receive(s->nd, &iov, 1)) {
                s->dgram_pending = (size_t)n;
                s->rx_blocked = true;
                set_handlers(s);
                return;
            }
            continue;
        }
        ssize_t n = read(fd, s->rbuf + s->rlen, RBUF_SIZE - s->rlen);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            drop_conn(s);
            return;
        }
        s->rlen += (size_t)n;
        if (!parse_frames(s)) {
            s->rx_blocked = true;
            set_handlers(s);
            return;
        }
    }
}

static void sock_rx_ready(struct netdev *nd)
{
    struct sock_net *s = nd->priv;
    if (!s->rx_blocked)
        return;
    if (s->mode == MODE_DGRAM) {
        struct iovec iov = { s->rbuf, s->dgram_pending };
        if (!netdev_receive(nd, &iov, 1))
            return;
        s->dgram_pending = 0;
    } else if (!parse_frames(s)) {
        return;
    }
    s->rx_blocked = false;
    set_handlers(s);
}

static void sock_writable(void *opaque, int fd)
{
    struct sock_net *s = opaque;
    ssize_t n = write(fd, s->obuf + s->ooff, s->olen - s->ooff);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        drop_conn(s);
        return;
    }
    s->ooff += (size_t)n;
    if (s->ooff < s->olen)
        return;
    s->ooff = s->olen = 0;
    set_handlers(s);
    if (s->tx_waiting) {
        s->tx_waiting = false;
        netdev_tx_ready(s->nd);
    }
}

static int sock_send(struct netdev *nd, const struct iovec *iov, int n_iov)
{
    struct sock_net *s = nd->priv;
    if (s->fd < 0) {
        nd->tx_dropped++;       /* no peer yet */
        return 0;
    }
    struct iovec v[1 + 64];
    if (n_iov > 64) {
        nd->tx_dropped++;
        return 0;
    }
    size_t len = 0;
    for (int i = 0; i < n_iov; i++)
        len += iov[i].iov_len;
    if (s->mode == MODE_DGRAM) {
        struct msghdr m = { .msg_name = &s->remote, .msg_namelen = s->remote_len,
                            .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n_iov };
        if (sendmsg(s->fd, &m, MSG_DONTWAIT) < 0)
            nd->tx_dropped++;   /* a datagram may be lost */
        return 0;
    }
    if (s->olen > s->ooff) {
        s->tx_waiting = true;
        return -EAGAIN;
    }
    uint8_t hdr[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                       (uint8_t)len };
    v[0] = (struct iovec){ hdr, 4 };
    memcpy(v + 1, iov, (size_t)n_iov * sizeof(*iov));
    ssize_t n = writev(s->fd, v, n_iov + 1);
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR) {
            drop_conn(s);
            nd->tx_dropped++;
            return 0;
        }
        n = 0;
    }
    if ((size_t)n == len + 4)
        return 0;
    /* keep the rest of the frame */
    size_t done = (size_t)n, k = 0;
    for (int i = 0; i < n_iov + 1; i++) {
        size_t l = v[i].iov_len, skip = done > l ? l : done;
        done -= skip;
        memcpy(s->obuf + k, (uint8_t *)v[i].iov_base + skip, l - skip);
        k += l - skip;
    }
    s->ooff = 0;
    s->olen = k;
    set_handlers(s);
    return 0;
}

static int make_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void accept_ready(void *opaque, int fd)
{
    struct sock_net *s = opaque;
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0)
        return;
    if (c >= FD_SETSIZE) {
        close(c);
        return;
    }
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    s->fd = c;
    /* one connection at a time, as qemu */
    loop_remove_fd(s->nd->loop, fd);
    set_handlers(s);
}

static void sock_close(struct netdev *nd)
{
    struct sock_net *s = nd->priv;
    if (!s)
        return;
    if (s->fd >= 0) {
        loop_remove_fd(nd->loop, s->fd);
        close(s->fd);
    }
    if (s->listen_fd >= 0) {
        loop_remove_fd(nd->loop, s->listen_fd);
        close(s->listen_fd);
    }
    if (s->unix_path) {
        unlink(s->unix_path);
        free(s->unix_path);
    }
    free(s->rbuf);
    free(s->obuf);
    free(s);
    nd->priv = NULL;
}

/* An address: "inet" HOST:PORT (sockaddr_in), or "unix" PATH. */
struct sock_addr {
    struct sockaddr_storage ss;
    socklen_t len;
};

static int inet_addr_of(const char *hostport, uint32_t def, struct sock_addr *a,
                        struct error **errp)
{
    struct sockaddr_in in;
    int r = netdev_parse_inet(hostport, def, &in, errp);
    if (r < 0)
        return r;
    memset(a, 0, sizeof(*a));
    memcpy(&a->ss, &in, sizeof(in));
    a->len = sizeof(in);
    return 0;
}

static int unix_addr_of(const char *path, struct sock_addr *a, struct error **errp)
{
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(un.sun_path))
        return err_set(errp, ENAMETOOLONG, _("UNIX socket path '%s' is too long"), path);
    strcpy(un.sun_path, path);
    memset(a, 0, sizeof(*a));
    memcpy(&a->ss, &un, sizeof(un));
    a->len = sizeof(un);
    return 0;
}

static int new_socket(struct sock_net *s, int family, int type, struct error **errp)
{
    int fd = socket(family, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_set_errno(errp, errno, _("netdev %s: cannot create a socket"), s->nd->id);
    if (fd >= FD_SETSIZE) {
        close(fd);
        return err_set(errp, EMFILE, _("netdev %s: too many open files"), s->nd->id);
    }
    return fd;
}

static int start(struct sock_net *s, const struct sock_addr *a, const struct sock_addr *local,
                 const char *what, struct error **errp)
{
    int family = a->ss.ss_family, one = 1;
    int fd = new_socket(s, family, s->mode == MODE_DGRAM ? SOCK_DGRAM : SOCK_STREAM, errp);
    if (fd < 0)
        return fd;
    switch (s->mode) {
    case MODE_LISTEN:
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (family == AF_UNIX)
            unlink(((const struct sockaddr_un *)&a->ss)->sun_path);
        if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0 || listen(fd, 1) < 0) {
            int e = errno;
            close(fd);
            return err_set_errno(errp, e, _("cannot listen on %s"), what);
        }
        if (family == AF_UNIX &&
            !(s->unix_path = strdup(((const struct sockaddr_un *)&a->ss)->sun_path))) {
            close(fd);
            return err_set(errp, ENOMEM, _("out of memory"));
        }
        s->listen_fd = fd;
        make_nonblock(fd);
        return loop_set_fd(s->nd->loop, fd, accept_ready, NULL, s, errp);
    case MODE_CONNECT:
        if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
            int e = errno;
            close(fd);
            return err_set_errno(errp, e, _("cannot connect to %s"), what);
        }
        if (family != AF_UNIX)
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        break;
    case MODE_DGRAM:
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (local && bind(fd, (const struct sockaddr *)&local->ss, local->len) < 0) {
            int e = errno;
            close(fd);
            return err_set_errno(errp, e, _("cannot bind the local address of %s"), what);
        }
        memcpy(&s->remote, &a->ss, sizeof(a->ss));
        s->remote_len = a->len;
        break;
    }
    make_nonblock(fd);
    s->fd = fd;
    set_handlers(s);
    return 0;
}

static int sock_alloc(struct netdev *nd, enum sock_mode mode, struct error **errp)
{
    struct sock_net *s = calloc(1, sizeof(*s));
    if (!s || !(s->rbuf = malloc(RBUF_SIZE)) || !(s->obuf = malloc(4 + NETDEV_MAX_FRAME))) {
        if (s)
            free(s->rbuf);
        free(s);
        return err_set(errp, ENOMEM, _("out of memory"));
    }
    s->nd = nd;
    s->mode = mode;
    s->fd = s->listen_fd = -1;
    nd->priv = s;
    return 0;
}

/* -netdev socket,listen=|connect=|udp=[,localaddr=] */
static int socket_open(struct netdev *nd, struct kv *kv, struct error **errp)
{
    const char *listen_ = kv_get(kv, "listen"), *connect_ = kv_get(kv, "connect");
    const char *udp = kv_get(kv, "udp"), *local = kv_get(kv, "localaddr");
    const char *mcast = kv_get(kv, "mcast"), *fdv = kv_get(kv, "fd");
    int r = kv_check_used(kv, errp);
    if (r < 0)
        return r;
    if (mcast || fdv)
        return err_set(errp, ENOTSUP, _("only listen=, connect= and udp= are supported"));
    if (!!listen_ + !!connect_ + !!udp != 1)
        return err_set(errp, EINVAL, _("exactly one of listen=, connect= and udp= is needed"));
    if (local && !udp)
        return err_set(errp, EINVAL, _("localaddr= is only for udp="));
    struct sock_addr a, l;
    const char *what = listen_ ? listen_ : connect_ ? connect_ : udp;
    if ((r = inet_addr_of(what, listen_ ? INADDR_ANY : INADDR_LOOPBACK, &a, errp)) < 0 ||
        (local && (r = inet_addr_of(local, INADDR_ANY, &l, errp)) < 0))
        return r;
    if ((r = sock_alloc(nd, listen_ ? MODE_LISTEN : connect_ ? MODE_CONNECT : MODE_DGRAM,
                        errp)) < 0)
        return r;
    if ((r = start(nd->priv, &a, local ? &l : NULL, what, errp)) < 0)
        sock_close(nd);
    return r;
}

/* PREFIX.type=inet|unix, PREFIX.host=, PREFIX.port=, PREFIX.path= */
static int get_addr(struct kv *kv, const char *prefix, bool need, bool *found,
                    struct sock_addr *a, char *what, size_t what_len, struct error **errp)
{
    char k[4][32];
    snprintf(k[0], sizeof(k[0]), "%s.type", prefix);
    snprintf(k[1], sizeof(k[1]), "%s.host", prefix);
    snprintf(k[2], sizeof(k[2]), "%s.port", prefix);
    snprintf(k[3], sizeof(k[3]), "%s.path", prefix);
    const char *type = kv_get(kv, k[0]), *host = kv_get(kv, k[1]);
    const char *port = kv_get(kv, k[2]), *path = kv_get(kv, k[3]);
    *found = type != NULL;
    if (!type) {
        if (need)
            return err_set(errp, EINVAL, _("Parameter '%s' is missing"), k[0]);
        return 0;
    }
    if (strcmp(type, "unix") == 0) {
        if (!path)
            return err_set(errp, EINVAL, _("Parameter '%s' is missing"), k[3]);
        snprintf(what, what_len, "%s", path);
        return unix_addr_of(path, a, errp);
    }
    if (strcmp(type, "inet") != 0)
        return err_set(errp, ENOTSUP, _("%s=%s: only inet and unix are supported"), k[0], type);
    if (!port)
        return err_set(errp, EINVAL, _("Parameter '%s' is missing"), k[2]);
    snprintf(what, what_len, "%s:%s", host ? host : "", port);
    return inet_addr_of(what, INADDR_ANY, a, errp);
}

/* -netdev stream,server=on|off,addr.* */
static int stream_open(struct netdev *nd, struct kv *kv, struct error **errp)
{
    bool server = false, found;
    struct sock_addr a;
    char what[300];
    int r = kv_get_bool(kv, "server", false, &server, errp);
    if (r < 0 || (r = get_addr(kv, "addr", true, &found, &a, what, sizeof(what), errp)) < 0)
        return r;
    (void)kv_get(kv, "reconnect");
    if ((r = kv_check_used(kv, errp)) < 0)
        return r;
    if ((r = sock_alloc(nd, server ? MODE_LISTEN : MODE_CONNECT, errp)) < 0)
        return r;
    if ((r = start(nd->priv, &a, NULL, what, errp)) < 0)
        sock_close(nd);
    return r;
}

/* -netdev dgram,remote.*[,local.*] */
static int dgram_open(struct netdev *nd, struct kv *kv, struct error **errp)
{
    bool have_local, found;
    struct sock_addr a, l;
    char what[300], lwhat[300];
    int r = get_addr(kv, "remote", true, &found, &a, what, sizeof(what), errp);
    if (r < 0 || (r = get_addr(kv, "local", false, &have_local, &l, lwhat, sizeof(lwhat),
                               errp)) < 0)
        return r;
    if ((r = kv_check_used(kv, errp)) < 0)
        return r;
    if (a.ss.ss_family != AF_INET || (have_local && l.ss.ss_family != AF_INET))
        return err_set(errp, ENOTSUP, _("dgram: only inet addresses are supported"));
    if ((r = sock_alloc(nd, MODE_DGRAM, errp)) < 0)
        return r;
    if ((r = start(nd->priv, &a, have_local ? &l : NULL, what, errp)) < 0)
        sock_close(nd);
    return r;
}

const struct netdev_ops netdev_socket_ops = {
    .name = "socket",
    .open = socket_open,
    .send = sock_send,
    .rx_ready = sock_rx_ready,
    .close = sock_close,
};

const struct netdev_ops netdev_stream_ops = {
    .name = "stream",
    .open = stream_open,
    .send = sock_send,
    .rx_ready = sock_rx_ready,
    .close = sock_close,
};

const struct netdev_ops netdev_dgram_ops = {
    .name = "dgram",
    .open = dgram_open,
    .send = sock_send,
    .rx_ready = sock_rx_ready,
    .close = sock_close,
};
