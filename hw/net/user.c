/* user.c - user-mode networking through libslirp (-netdev user).
 *
 * The guest sits on a private network, qemu's by default: 10.0.2.0/24,
 * the host (gateway) at 10.0.2.2, DNS at 10.0.2.3, DHCP from 10.0.2.15,
 * IPv6 fec0::/64.  libslirp turns the guest's connections into host
 * sockets; hostfwd= forwards host ports into the guest.
 *
 * libslirp is driven from the loop thread alone (it is not thread-safe):
 * a poll hook (lib/loop.h) lets it add its sockets and timeout before
 * each select() and handle them after; its timers are loop timers; guest
 * frames go in with slirp_input from the NIC's transmit bottom half, and
 * frames for the guest come out of send_packet in the same thread.  So
 * nothing is copied or queued between threads.  A frame the guest has no
 * room for waits in a short queue (RX_QUEUE_MAX frames, then dropped:
 * TCP retransmits) until the NIC calls rx_ready.
 */
#include <config.h>
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <libslirp.h>
#include "hw/net/netdev.h"
#include "i18n.h"
#include "keyval.h"
#include "log.h"
#include "loop.h"
#include "msg.h"
#include "parse.h"

#define RX_QUEUE_MAX 512

struct rx_frame {
    struct rx_frame *next;
    size_t len;
    uint8_t data[];
};

struct user_net {
    struct netdev *nd;
    Slirp *slirp;
    struct loop_poll_hook *hook;
    struct rx_frame *head, *tail;
    unsigned queued;
    bool blocked;               /* the NIC said no: queue until rx_ready */
    bool fd_warned;
};

struct user_timer {
    struct user_net *u;
    struct loop_timer *t;
    SlirpTimerId id;
    void *cb_opaque;
};

/* ---- frames for the guest ---- */

static bool queue_frame(struct user_net *u, const void *buf, size_t len)
{
    if (u->queued >= RX_QUEUE_MAX)
        return false;
    struct rx_frame *f = malloc(sizeof(*f) + len);
    if (!f)
        return false;
    f->next = NULL;
    f->len = len;
    memcpy(f->data, buf, len);
    if (u->tail)
        u->tail->next = f;
    else
        u->head = f;
    u->tail = f;
    u->queued++;
    return true;
}

/* Hand queued frames to the NIC while it takes them. */
static void flush_queue(struct user_net *u)
{
    while (u->head) {
        struct rx_frame *f = u->head;
        struct iovec iov = { f->data, f->len };
        if (!netdev_receive(u->nd, &iov, 1)) {
            u->blocked = true;
            return;
        }
        u->head = f->next;
        if (!u->head)
            u->tail = NULL;
        u->queued--;
        free(f);
    }
    u->blocked = false;
}

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
    struct user_net *u = opaque;
    if (!u->blocked) {
        struct iovec iov = { (void *)buf, len };
        if (netdev_receive(u->nd, &iov, 1))
            return (ssize_t)len;
        u->blocked = true;
    }
    if (!queue_frame(u, buf, len))
        u->nd->rx_dropped++;
    return (ssize_t)len;
}

static void user_rx_ready(struct netdev *nd)
{
    struct user_net *u = nd->priv;
    if (u->blocked)
        flush_queue(u);
}

/* ---- libslirp's callbacks ---- */

static void cb_guest_error(const char *msg, void *opaque)
{
    struct user_net *u = opaque;
    if (log_on(LOG_GUEST_ERROR))
        log_msg(LOG_GUEST_ERROR, "netdev %s: %s", u->nd->id, msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
    (void)opaque;
    return (int64_t)loop_now_ns();
}

static void timer_fire(void *opaque)
{
    struct user_timer *t = opaque;
    slirp_handle_timer(t->u->slirp, t->id, t->cb_opaque);
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
    struct user_net *u = opaque;
    struct user_timer *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->u = u;
    t->id = id;
    t->cb_opaque = cb_opaque;
    t->t = loop_timer_new(u->nd->loop, timer_fire, t, NULL);
    if (!t->t) {
        free(t);
        return NULL;
    }
    return t;
}

/* Only for libslirp before config version 4; ours uses the opaque kind. */
static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    (void)cb;
    return cb_timer_new_opaque(SLIRP_TIMER_RA, cb_opaque, opaque);
}

static void cb_timer_free(void *timer, void *opaque)
{
    struct user_timer *t = timer;
    (void)opaque;
    if (t) {
        loop_timer_free(t->t);
        free(t);
    }
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    struct user_timer *t = timer;
    (void)opaque;
    if (t)
        loop_timer_arm(t->t, expire_ms <= 0 ? 0 : (uint64_t)expire_ms * 1000000u);
}

static void cb_register_poll_fd(int fd, void *opaque)
{
    (void)fd;
    (void)opaque;
}

static void cb_notify(void *opaque)
{
    struct user_net *u = opaque;
    loop_wakeup(u->nd->loop);
}

static const SlirpCb user_callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_new = cb_timer_new,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_register_poll_fd,
    .notify = cb_notify,
    .timer_new_opaque = cb_timer_new_opaque,
};

/* ---- the poll hook ---- */

struct poll_ctx {
    struct user_net *u;
    struct loop_poll *p;
};

static int add_poll(int fd, int events, void *opaque)
{
    struct poll_ctx *c = opaque;
    int idx = loop_poll_add(c->p, fd, events & (SLIRP_POLL_IN | SLIRP_POLL_PRI),
                            events & SLIRP_POLL_OUT);
    if (idx < 0 && !c->u->fd_warned) {
        c->u->fd_warned = true;
        msg_warn(_("netdev %s: socket %d is at or above FD_SETSIZE: its connection stalls"),
                 c->u->nd->id, fd);
    }
    return idx;
}

static int get_revents(int idx, void *opaque)
{
    struct poll_ctx *c = opaque;
    int ev = 0;
    if (idx < 0)
        return 0;
    if (loop_poll_readable(c->p, idx))
        ev |= SLIRP_POLL_IN;
    if (loop_poll_writable(c->p, idx))
        ev |= SLIRP_POLL_OUT;
    return ev;
}

static void hook_pre(void *opaque, struct loop_poll *p)
{
    struct user_net *u = opaque;
    struct poll_ctx c = { u, p };
    uint32_t timeout = UINT32_MAX;
    slirp_pollfds_fill(u->slirp, &timeout, add_poll, &c);
    if (timeout != UINT32_MAX)
        loop_poll_timeout(p, (uint64_t)timeout * 1000000u);
}

static void hook_post(void *opaque, struct loop_poll *p, bool error)
{
    struct user_net *u = opaque;
    struct poll_ctx c = { u, p };
    slirp_pollfds_poll(u->slirp, error, get_revents, &c);
}

/* ---- guest frames ---- */

static int user_send(struct netdev *nd, const struct iovec *iov, int n_iov)
{
    struct user_net *u = nd->priv;
    if (n_iov == 1) {
        slirp_input(u->slirp, iov[0].iov_base, (int)iov[0].iov_len);
        return 0;
    }
    /* slirp_input wants the frame in one piece */
    static __thread uint8_t buf[NETDEV_MAX_FRAME];
    size_t len = 0;
    for (int i = 0; i < n_iov; i++) {
        if (iov[i].iov_len > sizeof(buf) - len) {
            nd->tx_dropped++;
            return 0;
        }
        memcpy(buf + len, iov[i].iov_base, iov[i].iov_len);
        len += iov[i].iov_len;
    }
    slirp_input(u->slirp, buf, (int)len);
    return 0;
}

/* ---- options ---- */

static int get_addr(struct kv *kv, const char *key, struct in_addr *out, struct error **errp)
{
    const char *v = kv_get(kv, key);
    if (v && inet_pton(AF_INET, v, out) != 1)
        return err_set(errp, EINVAL, _("Parameter '%s' expects an IPv4 address, not '%s'"),
                       key, v);
    return v ? 1 : 0;
}

/* net=ADDR[/MASK], MASK a prefix length or a dotted mask */
static int get_net(struct kv *kv, struct in_addr *net, struct in_addr *mask, struct error **errp)
{
    const char *v = kv_get(kv, "net");
    if (!v)
        return 0;
    char buf[64];
    snprintf(buf, sizeof(buf), "%s", v);
    char *slash = strchr(buf, '/');
    uint32_t m = 0xffffff00u;
    if (slash) {
        *slash++ = 0;
        struct in_addr ma;
        int bits;
        if (inet_pton(AF_INET, slash, &ma) == 1)
            m = ntohl(ma.s_addr);
        else if (parse_int("net", slash, 1, 30, &bits, NULL) == 0)
            m = 0xffffffffu << (32 - bits);
        else
            return err_set(errp, EINVAL, _("net=%s: invalid netmask"), v);
    } else {
        m = 0xffffff00u;
    }
    if (inet_pton(AF_INET, buf, net) != 1)
        return err_set(errp, EINVAL, _("net=%s: invalid network address"), v);
    if (ntohl(net->s_addr) & ~m)
        return err_set(errp, EINVAL, _("net=%s: address has bits outside the netmask"), v);
    mask->s_addr = htonl(m);
    return 1;
}

/* [tcp|udp]:[HADDR]:HPORT-[GADDR]:GPORT */
static int add_hostfwd(struct user_net *u, const char *rule, struct error **errp)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", rule);
    char *p = buf, *proto = p, *c = strchr(p, ':');
    if (!c)
        goto bad;
    *c = 0;
    p = c + 1;
    int udp;
    if (!*proto || strcmp(proto, "tcp") == 0)
        udp = 0;
    else if (strcmp(proto, "udp") == 0)
        udp = 1;
    else
        goto bad;
    char *dash = strchr(p, '-');
    if (!dash)
        goto bad;
    *dash = 0;
    struct sockaddr_in h, g;
    if (netdev_parse_inet(p, INADDR_ANY, &h, NULL) < 0 ||
        netdev_parse_inet(dash + 1, INADDR_ANY, &g, NULL) < 0 || !g.sin_port)
        goto bad;
    if (slirp_add_hostfwd(u->slirp, udp, h.sin_addr, ntohs(h.sin_port), g.sin_addr,
                          ntohs(g.sin_port)) < 0)
        return err_set(errp, EADDRINUSE, _("could not set up host forwarding rule '%s'"), rule);
    return 0;
bad:
    return err_set(errp, EINVAL, _("invalid host forwarding rule '%s' (expected "
                                   "[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT)"), rule);
}

/* tcp:[ADDR]:PORT-cmd:COMMAND: a guest connection to ADDR:PORT runs COMMAND. */
static int add_guestfwd(struct user_net *u, const char *rule, struct error **errp)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", rule);
    char *p = buf;
    if (strncmp(p, "tcp:", 4) == 0)
        p += 4;
    char *dash = strchr(p, '-');
    struct sockaddr_in g;
    if (!dash)
        goto bad;
    *dash = 0;
    if (netdev_parse_inet(p, 0, &g, NULL) < 0 || !g.sin_port)
        goto bad;
    if (strncmp(dash + 1, "cmd:", 4) != 0)
        return err_set(errp, ENOTSUP, _("guestfwd='%s': only the cmd:COMMAND form is supported "
                                        "(not a chardev or tcp: target)"), rule);
    const char *cmd = dash + 5;
    if (!*cmd)
        goto bad;
    if (slirp_add_exec(u->slirp, cmd, &g.sin_addr, ntohs(g.sin_port)) < 0)
        return err_set(errp, EINVAL, _("conflicting/invalid guest forwarding rule '%s'"), rule);
    return 0;
bad:
    return err_set(errp, EINVAL, _("invalid guest forwarding rule '%s' (expected "
                                   "tcp:[ADDR]:PORT-cmd:COMMAND)"), rule);
}

static void user_close(struct netdev *nd)
{
    struct user_net *u = nd->priv;
    if (!u)
        return;
    loop_poll_hook_free(u->hook);
    if (u->slirp)
        slirp_cleanup(u->slirp);
    while (u->head) {
        struct rx_frame *f = u->head;
        u->head = f->next;
        free(f);
    }
    free(u);
    nd->priv = NULL;
}

static int user_open(struct netdev *nd, struct kv *kv, struct error **errp)
{
    SlirpConfig cfg = { .version = 4 };
    struct in_addr net, mask;
    inet_pton(AF_INET, "10.0.2.0", &net);
    inet_pton(AF_INET, "255.255.255.0", &mask);
    int r = get_net(kv, &net, &mask, errp);
    if (r < 0)
        return r;
    uint32_t n = ntohl(net.s_addr);
    cfg.vnetwork = net;
    cfg.vnetmask = mask;
    cfg.vhost.s_addr = htonl(n | 2);
    cfg.vnameserver.s_addr = htonl(n | 3);
    cfg.vdhcp_start.s_addr = htonl(n | 15);
    if ((r = get_addr(kv, "host", &cfg.vhost, errp)) < 0 ||
        (r = get_addr(kv, "dns", &cfg.vnameserver, errp)) < 0 ||
        (r = get_addr(kv, "dhcpstart", &cfg.vdhcp_start, errp)) < 0)
        return r;
    uint32_t m = ntohl(mask.s_addr);
    const char *bad = NULL;
    if ((ntohl(cfg.vhost.s_addr) & m) != n)
        bad = "host";
    else if ((ntohl(cfg.vnameserver.s_addr) & m) != n)
        bad = "dns";
    else if ((ntohl(cfg.vdhcp_start.s_addr) & m) != n)
        bad = "dhcpstart";
    if (bad)
        return err_set(errp, EINVAL, _("%s= is not in the guest network"), bad);
    bool restrict_ = false, ipv4 = true, ipv6 = true;
    if ((r = kv_get_bool(kv, "restrict", false, &restrict_, errp)) < 0 ||
        (r = kv_get_bool(kv, "ipv4", true, &ipv4, errp)) < 0 ||
        (r = kv_get_bool(kv, "ipv6", true, &ipv6, errp)) < 0)
        return r;
    if (!ipv4 && !ipv6)
        return err_set(errp, EINVAL, _("IPv4 and IPv6 cannot both be disabled"));
    cfg.restricted = restrict_;
    cfg.in_enabled = ipv4;
    cfg.in6_enabled = ipv6;
    inet_pton(AF_INET6, "fec0::", &cfg.vprefix_addr6);
    cfg.vprefix_len = 64;
    inet_pton(AF_INET6, "fec0::2", &cfg.vhost6);
    inet_pton(AF_INET6, "fec0::3", &cfg.vnameserver6);
    cfg.vhostname = kv_get(kv, "hostname");
    cfg.vdomainname = kv_get(kv, "domainname");
    cfg.tftp_path = kv_get(kv, "tftp");
    cfg.tftp_server_name = kv_get(kv, "tftp-server-name");
    cfg.bootfile = kv_get(kv, "bootfile");
    if (kv_get(kv, "smb"))
        return err_set(errp, ENOTSUP, _("smb= is not supported"));
    /* hostfwd and guestfwd may repeat: every pair counts, not the last */
    for (int i = 0; i < kv->n; i++)
        if (strcmp(kv->p[i].key, "hostfwd") == 0 || strcmp(kv->p[i].key, "guestfwd") == 0)
            kv->p[i].used = true;
    if ((r = kv_check_used(kv, errp)) < 0)
        return r;

    struct user_net *u = calloc(1, sizeof(*u));
    if (!u)
        return err_set(errp, ENOMEM, _("out of memory"));
    u->nd = nd;
    nd->priv = u;
    u->slirp = slirp_new(&cfg, &user_callbacks, u);
    if (!u->slirp) {
        user_close(nd);
        return err_set(errp, EINVAL, _("libslirp refused the configuration"));
    }
    for (int i = 0; i < kv->n && r >= 0; i++) {
        if (strcmp(kv->p[i].key, "hostfwd") == 0)
            r = add_hostfwd(u, kv->p[i].val, errp);
        else if (strcmp(kv->p[i].key, "guestfwd") == 0)
            r = add_guestfwd(u, kv->p[i].val, errp);
    }
    if (r >= 0 && !(u->hook = loop_poll_hook_new(nd->loop, hook_pre, hook_post, u, errp)))
        r = -ENOMEM;
    if (r < 0) {
        user_close(nd);
        return r;
    }
    return 0;
}

const struct netdev_ops netdev_user_ops = {
    .name = "user",
    .open = user_open,
    .send = user_send,
    .rx_ready = user_rx_ready,
    .close = user_close,
    .rx_csum_valid = true,
};
