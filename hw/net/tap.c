/* tap.c - a host tap interface (-netdev tap): frames go to and come from
 * the host kernel's network stack through /dev/net/tun.
 *
 *   -netdev tap,id=n0,ifname=tap0,script=no,downscript=no[,vnet_hdr=on|off]
 *   -netdev tap,id=n0,fd=N          (an open tap descriptor, as libvirt passes)
 *
 * The interface is opened with IFF_TAP | IFF_NO_PI and, unless
 * vnet_hdr=off, IFF_VNET_HDR: one read or write is one Ethernet frame
 * behind a 12-byte virtio_net_hdr_v1, through which the guest's partial
 * checksums and 64 KiB TCP segments go to the host kernel as they are,
 * and the kernel's come back (TUNSETOFFLOAD, when the guest takes them).
 * A passed descriptor keeps the flags it was opened with.  Configuring
 * the interface (addresses, bridges) is the user's business: no
 * ifup/ifdown scripts are run, so only script=no and downscript=no are
 * accepted.
 *
 * Frames from the host are read in the loop thread; when the guest has no
 * room the frame waits in the buffer and the descriptor is not watched
 * until the NIC calls rx_ready.  A full write side (EAGAIN) makes send
 * return -EAGAIN and waits for the descriptor to be writable.
 */
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <linux/if_tun.h>
#include "hw/net/netdev.h"
#include "i18n.h"
#include "keyval.h"
#include "loop.h"
#include "parse.h"

#define TAP_BATCH 64            /* frames per readable event */

struct tap_net {
    struct netdev *nd;
    int fd;
    bool own_fd;
    char ifname[IFNAMSIZ];
    uint8_t buf[NETDEV_VNET_HDR + NETDEV_MAX_FRAME];
    size_t pending;             /* a frame the guest had no room for */
    bool tx_waiting;
};

static void tap_readable(void *opaque, int fd);

static void tap_writable(void *opaque, int fd);

static void tap_set_handlers(struct tap_net *t)
{
    loop_fd_fn *rd = t->pending ? NULL : tap_readable;
    loop_fd_fn *wr = t->tx_waiting ? tap_writable : NULL;
    if (!rd && !wr)
        loop_remove_fd(t->nd->loop, t->fd);
    else
        loop_set_fd(t->nd->loop, t->fd, rd, wr, t, NULL);
}

static void tap_readable(void *opaque, int fd)
{
    struct tap_net *t = opaque;
    for (int i = 0; i < TAP_BATCH; i++) {
        ssize_t n = read(fd, t->buf, sizeof(t->buf));
        if (n <= 0)
            return;             /* EAGAIN, or the interface went away */
        struct iovec iov = { t->buf, (size_t)n };
        if (!netdev_receive(t->nd, &iov, 1)) {
            t->pending = (size_t)n;
            tap_set_handlers(t);
            return;
        }
    }
}

static void tap_writable(void *opaque, int fd)
{
    struct tap_net *t = opaque;
    (void)fd;
    t->tx_waiting = false;
    tap_set_handlers(t);
    netdev_tx_ready(t->nd);
}

static void tap_rx_ready(struct netdev *nd)
{
    struct tap_net *t = nd->priv;
    if (!t->pending)
        return;
    struct iovec iov = { t->buf, t->pending };
    if (!netdev_receive(nd, &iov, 1))
        return;
    t->pending = 0;
    tap_set_handlers(t);
}

static int tap_send(struct netdev *nd, const struct iovec *iov, int n_iov)
{
    struct tap_net *t = nd->priv;
    ssize_t n = writev(t->fd, iov, n_iov);
    if (n >= 0)
        return 0;
    if (errno == EINVAL) {
        nd->tx_dropped++;       /* the kernel refused the header: a guest's lie */
        return 0;
    }
    if (errno == EAGAIN) {
        t->tx_waiting = true;
        tap_set_handlers(t);
        return -EAGAIN;
    }
    nd->tx_dropped++;           /* the interface is down, or similar */
    return 0;
}

static void tap_set_offload(struct netdev *nd, unsigned flags)
{
    struct tap_net *t = nd->priv;
    if (!nd->vnet_hdr)
        return;
    unsigned long f = 0;
    if (flags & NETDEV_OFF_CSUM) {
        f |= TUN_F_CSUM;
        if (flags & NETDEV_OFF_TSO4)
            f |= TUN_F_TSO4;
        if (flags & NETDEV_OFF_TSO6)
            f |= TUN_F_TSO6;
        if ((flags & NETDEV_OFF_ECN) && (flags & (NETDEV_OFF_TSO4 | NETDEV_OFF_TSO6)))
            f |= TUN_F_TSO_ECN;
    }
    /* a kernel that refuses some of them then sends whole frames */
    if (ioctl(t->fd, TUNSETOFFLOAD, f) < 0 && f)
        (void)ioctl(t->fd, TUNSETOFFLOAD, 0UL);
}

static void tap_close(struct netdev *nd)
{
    struct tap_net *t = nd->priv;
    if (!t)
        return;
    if (t->fd >= 0) {
        loop_remove_fd(nd->loop, t->fd);
        if (t->own_fd)
            close(t->fd);
    }
    free(t);
    nd->priv = NULL;
}

static int tap_open(struct netdev *nd, struct kv *kv, struct error **errp)
{
    const char *ifname = kv_get(kv, "ifname");
    const char *fdstr = kv_get(kv, "fd");
    const char *script = kv_get(kv, "script");
    const char *downscript = kv_get(kv, "downscript");
    bool vhost = false, vnet = true;
    int r = kv_get_bool(kv, "vhost", false, &vhost, errp);
    if (r < 0 || (r = kv_get_bool(kv, "vnet_hdr", true, &vnet, errp)) < 0)
        return r;
    if ((r = kv_check_used(kv, errp)) < 0)
        return r;
    if ((script && strcmp(script, "no") != 0 && *script) ||
        (downscript && strcmp(downscript, "no") != 0 && *downscript))
        return err_set(errp, ENOTSUP, _("only script=no and downscript=no are supported: "
                                        "configure the tap interface beforehand"));
    if (vhost)
        return err_set(errp, ENOTSUP, _("vhost=on is not supported"));
    if (ifname && strlen(ifname) >= IFNAMSIZ)
        return err_set(errp, EINVAL, _("ifname='%s' is too long"), ifname);
    if (fdstr && ifname)
        return err_set(errp, EINVAL, _("ifname= and fd= cannot be used together"));
    struct tap_net *t = calloc(1, sizeof(*t));
    if (!t)
        return err_set(errp, ENOMEM, _("out of memory"));
    t->nd = nd;
    t->fd = -1;
    nd->priv = t;
    if (fdstr) {
        if ((r = parse_int("fd", fdstr, 0, INT32_MAX, &t->fd, errp)) < 0) {
            t->fd = -1;
            goto fail;
        }
        if (fcntl(t->fd, F_GETFD) < 0) {
            r = err_set_errno(errp, errno, _("fd=%d is not an open descriptor"), t->fd);
            t->fd = -1;
            goto fail;
        }
    } else {
        t->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (t->fd < 0) {
            r = err_set_errno(errp, errno, _("could not open /dev/net/tun (tap networking needs "
                                             "the tun module and the right to use it)"));
            goto fail;
        }
        t->own_fd = true;
        struct ifreq ifr;
        memset(&ifr, 0, sizeof(ifr));
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
        if (ifname)
            snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
        if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
            r = err_set_errno(errp, errno, _("could not configure /dev/net/tun (%s)"),
                              ifname ? ifname : "tap%d");
            goto fail;
        }
        snprintf(t->ifname, sizeof(t->ifname), "%s", ifr.ifr_name);
    }
    /* the header is on when the descriptor was opened so, and the
     * kernel takes our size for it (12: with num_buffers) */
    struct ifreq q;
    memset(&q, 0, sizeof(q));
    int hdr = NETDEV_VNET_HDR;
    bool has = ioctl(t->fd, TUNGETIFF, &q) == 0 && (q.ifr_flags & IFF_VNET_HDR);
    if (has && vnet && ioctl(t->fd, TUNSETVNETHDRSZ, &hdr) == 0) {
        nd->vnet_hdr = true;
        (void)ioctl(t->fd, TUNSETOFFLOAD, 0UL);     /* until the guest says */
    } else if (has) {
        r = err_set(errp, ENOTSUP, _("the tap descriptor has a virtio header that cannot be "
                                     "set up (vnet_hdr=off with a descriptor opened with one?)"));
        goto fail;
    }
    int fl = fcntl(t->fd, F_GETFL);
    if (fl < 0 || fcntl(t->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        r = err_set_errno(errp, errno, _("cannot make the tap descriptor non-blocking"));
        goto fail;
    }
    if ((r = loop_set_fd(nd->loop, t->fd, tap_readable, NULL, t, errp)) < 0)
        goto fail;
    return 0;
fail:
    tap_close(nd);
    return r;
}

const struct netdev_ops netdev_tap_ops = {
    .name = "tap",
    .open = tap_open,
    .send = tap_send,
    .rx_ready = tap_rx_ready,
    .close = tap_close,
    .set_offload = tap_set_offload,
};
