/* netdev.h - network back ends for the machine's NICs: -netdev.
 *
 * A netdev moves Ethernet frames between one front end (a NIC model:
 * virtio-net) and the host: user (libslirp), tap, and sockets (stream
 * and dgram) so that emulators can talk to each other.  Each back end is
 * a struct netdev_ops in the table netdev_types[] (netdev.c), in a file
 * of its own:
 *
 *   -netdev user,id=ID[,net=ADDR/MASK][,host=ADDR][,dns=ADDR][,dhcpstart=ADDR]
 *           [,hostfwd=tcp|udp:[HADDR]:HPORT-[GADDR]:GPORT...][,restrict=on|off]
 *           [,hostname=NAME][,ipv6=off][,guestfwd=tcp:IP:PORT-cmd:CMD]
 *   -netdev tap,id=ID[,ifname=NAME|fd=N][,script=no][,downscript=no]
 *   -netdev socket,id=ID,listen=[HOST]:PORT | connect=HOST:PORT
 *   -netdev socket,id=ID,udp=HOST:PORT[,localaddr=HOST:PORT]
 *   -netdev stream,id=ID,server=on|off,addr.type=inet,addr.host=H,addr.port=P
 *   -netdev dgram,id=ID,remote.type=inet,remote.host=H,remote.port=P
 *          [,local.type=inet,local.host=H,local.port=P]
 *
 * Threads: everything here runs in the loop thread.  Back ends watch
 * their descriptors with loop_set_fd (libslirp through a poll hook, see
 * lib/loop.h); the front end's callbacks take the device lock themselves,
 * and the front end calls netdev_send without holding it (a back end may
 * hand a frame straight back: libslirp answers an ARP request inside
 * slirp_input).
 *
 * Guarantees the core gives a back end: send() gets frames of 1 to
 * NETDEV_MAX_FRAME bytes; rx_ready() and send() only after open()
 * succeeded and before close().
 *
 * Offloads: a back end that sets netdev.vnet_hdr (tap, IFF_VNET_HDR)
 * takes and gives every frame behind a 12-byte virtio_net_hdr_v1
 * (little-endian: checksum to complete, segmentation), so the NIC can
 * offer checksum and TCP segmentation offloads both ways and pass the
 * header through; set_offload() says which of them the guest takes.
 */
#ifndef EMU_HW_NET_NETDEV_H
#define EMU_HW_NET_NETDEV_H

#include <stdio.h>
#include <sys/uio.h>
#include "common.h"
#include "error.h"

struct loop;
struct kv;
struct netdev;

/* The largest frame either way: a 64 KiB IP packet plus an Ethernet
 * header with a VLAN tag. */
#define NETDEV_MAX_FRAME (65535 + 18)
#define NETDEV_VNET_HDR 12          /* virtio_net_hdr_v1, with num_buffers */

/* What the guest takes from a vnet_hdr back end (set_offload). */
enum {
    NETDEV_OFF_CSUM = 1,            /* partial checksums (NEEDS_CSUM) */
    NETDEV_OFF_TSO4 = 2,
    NETDEV_OFF_TSO6 = 4,
    NETDEV_OFF_ECN = 8,
};
#define NETDEV_MAX 16

/* What a front end (the NIC) offers its back end; loop thread. */
struct netdev_peer {
    /* One frame from the network.  true: taken (delivered, or dropped
     * and counted); false: the guest has no room now, the back end keeps
     * it (or drops it) and waits for netdev_rx_ready() before offering
     * more. */
    bool (*receive)(void *opaque, const struct iovec *iov, int n_iov);
    /* The back end can take frames again after a send() of -EAGAIN. */
    void (*tx_ready)(void *opaque);
};

struct netdev_ops {
    const char *name;           /* -netdev NAME */
    /* Open from the -netdev options (id and type already taken): take
     * the keys with kv_get*() and refuse the rest with kv_check_used(). */
    int (*open)(struct netdev *nd, struct kv *opts, struct error **errp);
    /* One frame from the guest.  0: sent or dropped; -EAGAIN: not now,
     * the frame was not taken, peer->tx_ready() follows. */
    int (*send)(struct netdev *nd, const struct iovec *iov, int n_iov);
    /* The front end has room for frames again (after receive() said no). */
    void (*rx_ready)(struct netdev *nd);
    void (*close)(struct netdev *nd);
    /* vnet_hdr back ends: what the receiving side (the guest) takes
     * (NETDEV_OFF_*); until called, nothing: whole frames, checksums
     * complete. */
    void (*set_offload)(struct netdev *nd, unsigned flags);
    /* Frames the back end hands over have valid checksums that were
     * computed, not received (libslirp): the NIC may tell the guest so. */
    bool rx_csum_valid;
};

struct netdev {
    const struct netdev_ops *ops;
    char *id;
    struct loop *loop;
    void *priv;                 /* the back end's state */
    bool vnet_hdr;              /* frames both ways start with NETDEV_VNET_HDR bytes */
    /* the front end, once a NIC took this netdev (else frames are dropped) */
    const struct netdev_peer *peer;
    void *peer_opaque;
    bool taken;
    uint64_t tx_dropped, rx_dropped;
};

struct netdev_set {
    struct netdev *nd[NETDEV_MAX];
    int n;
    int n_nics;                 /* NICs built so far (for default MACs) */
};

extern const struct netdev_ops netdev_user_ops, netdev_tap_ops, netdev_socket_ops,
    netdev_stream_ops, netdev_dgram_ops;
extern const struct netdev_ops *const netdev_types[];   /* NULL-terminated */

/* -netdev SPEC ("user,id=n0,hostfwd=..."): parse and open it now. */
int netdev_add(struct netdev_set *s, struct loop *loop, const char *spec, struct error **errp);
/* The netdev named ID, or NULL. */
struct netdev *netdev_find(struct netdev_set *s, const char *id);
/* Connect a front end (a NIC model's create). */
void netdev_attach(struct netdev *nd, const struct netdev_peer *peer, void *opaque);
void netdev_detach(struct netdev *nd);
/* Front end to back end (loop thread, device lock not held). */
int netdev_send(struct netdev *nd, const struct iovec *iov, int n_iov);
void netdev_rx_ready(struct netdev *nd);
/* Back end to front end: a frame; false: keep it, wait for rx_ready. */
bool netdev_receive(struct netdev *nd, const struct iovec *iov, int n_iov);
void netdev_tx_ready(struct netdev *nd);
/* Warn about netdevs no NIC uses (qemu's "has no peer"). */
void netdevs_warn_unused(struct netdev_set *s);
void netdevs_free(struct netdev_set *s);
void netdev_print_types(FILE *fp);

/* "aa:bb:cc:dd:ee:ff" into mac[6]; -EINVAL with a message. */
int netdev_parse_mac(const char *str, uint8_t mac[6], struct error **errp);
/* "[HOST]:PORT" into an IPv4 socket address (empty or missing HOST: DEF,
 * e.g. INADDR_ANY; a name is looked up); -EINVAL with a message. */
struct sockaddr_in;
int netdev_parse_inet(const char *str, uint32_t def_host, struct sockaddr_in *out,
                      struct error **errp);

#endif
