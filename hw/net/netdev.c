/* netdev.c - the table of network back ends and what they share
 * (netdev.h): -netdev parsing, the link to the front end, addresses. */
#include <config.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "hw/net/netdev.h"
#include "i18n.h"
#include "keyval.h"
#include "log.h"
#include "msg.h"
#include "parse.h"

const struct netdev_ops *const netdev_types[] = {
    &netdev_user_ops,
    &netdev_tap_ops,
    &netdev_socket_ops,
    &netdev_stream_ops,
    &netdev_dgram_ops,
    NULL,
};

void netdev_print_types(FILE *fp)
{
    fprintf(fp, "%s\n", _("Available netdev backend types:"));
    for (int i = 0; netdev_types[i]; i++)
        fprintf(fp, "%s\n", netdev_types[i]->name);
}

struct netdev *netdev_find(struct netdev_set *s, const char *id)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->nd[i]->id, id) == 0)
            return s->nd[i];
    return NULL;
}

/* qemu's rule for ids: a letter, then letters, digits, '-', '.', '_'. */
static bool id_ok(const char *id)
{
    if (!((*id >= 'a' && *id <= 'z') || (*id >= 'A' && *id <= 'Z')))
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '.' || *p == '_'))
            return false;
    return true;
}

int netdev_add(struct netdev_set *s, struct loop *loop, const char *spec, struct error **errp)
{
    static const char *const lists[] = { "hostfwd", "guestfwd", NULL };
    struct kv *kv;
    int r = kv_parse_list(&kv, spec, "type", lists, errp);
    if (r < 0)
        return r;
    const char *type = kv_get(kv, "type");
    const char *id = kv_get(kv, "id");
    const struct netdev_ops *ops = NULL;
    for (int i = 0; type && netdev_types[i]; i++)
        if (strcmp(netdev_types[i]->name, type) == 0)
            ops = netdev_types[i];
    struct netdev *nd = NULL;
    if (!type)
        r = err_set(errp, EINVAL, _("Parameter 'type' is missing"));
    else if (!ops)
        r = err_set(errp, EINVAL, _("Parameter 'type' does not accept value '%s'"), type);
    else if (!id)
        r = err_set(errp, EINVAL, _("Parameter 'id' is missing"));
    else if (!id_ok(id))
        r = err_set(errp, EINVAL, _("Parameter 'id' expects an identifier"));
    else if (netdev_find(s, id))
        r = err_set(errp, EEXIST, _("Duplicate ID '%s' for netdev"), id);
    else if (s->n == NETDEV_MAX)
        r = err_set(errp, E2BIG, _("too many netdevs (at most %d)"), NETDEV_MAX);
    else if (!(nd = calloc(1, sizeof(*nd))) || !(nd->id = strdup(id)))
        r = err_set(errp, ENOMEM, _("out of memory"));
    if (r >= 0) {
        nd->ops = ops;
        nd->loop = loop;
        r = ops->open(nd, kv, errp);
    }
    kv_free(kv);
    if (r < 0) {
        if (nd)
            free(nd->id);
        free(nd);
        return r;
    }
    s->nd[s->n++] = nd;
    return 0;
}

void netdev_attach(struct netdev *nd, const struct netdev_peer *peer, void *opaque)
{
    nd->peer = peer;
    nd->peer_opaque = opaque;
    nd->taken = true;
}

void netdev_detach(struct netdev *nd)
{
    nd->peer = NULL;
    nd->peer_opaque = NULL;
}

int netdev_send(struct netdev *nd, const struct iovec *iov, int n_iov)
{
    return nd->ops->send(nd, iov, n_iov);
}

void netdev_rx_ready(struct netdev *nd)
{
    if (nd->ops->rx_ready)
        nd->ops->rx_ready(nd);
}

bool netdev_receive(struct netdev *nd, const struct iovec *iov, int n_iov)
{
    if (!nd->peer) {
        nd->rx_dropped++;
        return true;
    }
    return nd->peer->receive(nd->peer_opaque, iov, n_iov);
}

void netdev_tx_ready(struct netdev *nd)
{
    if (nd->peer && nd->peer->tx_ready)
        nd->peer->tx_ready(nd->peer_opaque);
}

void netdevs_warn_unused(struct netdev_set *s)
{
    for (int i = 0; i < s->n; i++)
        if (!s->nd[i]->taken)
            msg_warn(_("netdev %s has no peer"), s->nd[i]->id);
}

void netdevs_free(struct netdev_set *s)
{
    for (int i = 0; i < s->n; i++) {
        struct netdev *nd = s->nd[i];
        if (log_on(LOG_GUEST_ERROR) && (nd->tx_dropped || nd->rx_dropped))
            log_msg(LOG_GUEST_ERROR, "netdev %s: %" PRIu64 " frames dropped to the network, %"
                    PRIu64 " from it", nd->id, nd->tx_dropped, nd->rx_dropped);
        nd->ops->close(nd);
        free(nd->id);
        free(nd);
        s->nd[i] = NULL;
    }
    s->n = 0;
}

int netdev_parse_mac(const char *str, uint8_t mac[6], struct error **errp)
{
    unsigned v[6];
    char end;
    if (sscanf(str, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
               &end) != 6 || strlen(str) != 17)
        return err_set(errp, EINVAL, _("Property 'mac' doesn't take value '%s'"), str);
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)v[i];
    return 0;
}

int netdev_parse_inet(const char *str, uint32_t def_host, struct sockaddr_in *out,
                      struct error **errp)
{
    const char *colon = strrchr(str, ':');
    int port;
    memset(out, 0, sizeof(*out));
    out->sin_family = AF_INET;
    if (!colon || parse_int("port", colon + 1, 0, 65535, &port, NULL) < 0)
        return err_set(errp, EINVAL, _("'%s': expected [HOST]:PORT"), str);
    out->sin_port = htons((uint16_t)port);
    size_t hl = (size_t)(colon - str);
    if (hl == 0) {
        out->sin_addr.s_addr = htonl(def_host);
        return 0;
    }
    char host[256];
    if (hl >= sizeof(host))
        return err_set(errp, EINVAL, _("'%s': host name too long"), str);
    memcpy(host, str, hl);
    host[hl] = 0;
    if (inet_pton(AF_INET, host, &out->sin_addr) == 1)
        return 0;
    struct addrinfo hints = { .ai_family = AF_INET }, *res = NULL;
    int e = getaddrinfo(host, NULL, &hints, &res);
    if (e != 0 || !res)
        return err_set(errp, EINVAL, _("host not found: '%s': %s"), host, gai_strerror(e));
    out->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
    return 0;
}
