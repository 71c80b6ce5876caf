/* net.c - virtio-net (virtio 1.2, 5.1) on a netdev back end (hw/net/).
 *
 *   -device virtio-net-device,netdev=ID[,mac=52:54:00:12:34:56][,id=NAME]
 *
 * One receive queue (0) and one transmit queue (1), no control queue.
 * Features: MAC, STATUS (the link is always up), MRG_RXBUF (the 12-byte
 * header with num_buffers is what VERSION_1 always uses), CSUM (the
 * device completes checksums the guest leaves partial) and GUEST_CSUM
 * (frames from back ends that computed their checksums themselves,
 * libslirp, are marked DATA_VALID so the guest does not check them
 * again).  On a back end that takes the virtio header (tap), also TCP
 * segmentation both ways (HOST_ and GUEST_TSO4/6, ECN): the header
 * goes through as the guest wrote it or the kernel gave it, and 64 KiB
 * segments travel whole; the host kernel checks what it is given.
 *
 * Transmit: a notification (a hart thread) only schedules a bottom half;
 * in the loop thread the chains are taken off the ring under the device
 * lock, and each frame is handed to the back end without the lock, as
 * iovecs into guest RAM (no copy unless a checksum must be filled in),
 * then the chain goes back.  A back end that cannot take more (-EAGAIN)
 * keeps the chain waiting here until it calls tx_ready.
 *
 * Receive: the back end offers a frame (loop thread); it is copied into
 * as many of the guest's buffers as it needs (MRG_RXBUF) or into one
 * chain.  Buffers taken from the ring for a frame that did not fit wait
 * here for the next one.  When the guest has no buffers, the back end is
 * told no and keeps the frame until a notification of the receive queue
 * says there are buffers again.
 *
 * Guest lies: a transmit chain shorter than its header or a receive
 * buffer shorter than the header (MRG_RXBUF) or without writable space
 * breaks the device (virtio_error); a transmit frame that is empty, too
 * long, or has a checksum position outside the frame is dropped and
 * counted (-d guest_errors says why).
 */
#include <config.h>
#include <errno.h>
#include <string.h>
#include "hw/virtio/virtio.h"
#include "hw/virtio/models.h"
#include "hw/net/netdev.h"
#include "hw/hw.h"
#include "block/block.h"
#include "i18n.h"
#include "keyval.h"
#include "log.h"
#include "loop.h"
#include "vmstate.h"

/* Feature bits (5.1.3). */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16

/* Config layout (5.1.4). */
#define CFG_MAC 0
#define CFG_STATUS 6
#define CFG_MAX_VQ_PAIRS 8
#define CFG_MTU 10
#define CFG_LEN 12
#define VIRTIO_NET_S_LINK_UP 1

/* The header (5.1.6). */
#define HDR_LEN 12
#define HDR_F_NEEDS_CSUM 1
#define HDR_F_DATA_VALID 2
#define GSO_NONE 0

#define RXQ 0
#define TXQ 1
#define QUEUE_SIZE 256
#define TX_BURST 256            /* frames per bottom half before yielding */
#define MAX_TX_IOV 64
/* Receive buffers kept for one frame: a 64 KiB frame in the smallest
 * mergeable buffers the header allows would need more, but Linux's are
 * at least 1.5 KiB; a frame that needs more is dropped. */
#define RX_STASH 64

struct virtio_net {
    struct virtio_dev vd;
    struct netdev *nd;          /* NULL: not connected (frames dropped) */
    struct loop_bh *tx_bh, *rx_bh;
    uint8_t mac[6];
    /* transmit */
    struct virtq_elem tx_elem;
    bool tx_held;               /* tx_elem waits for the back end (-EAGAIN) */
    uint32_t tx_gen;
    bool tx_blocked;
    uint8_t *tx_buf;            /* a frame whose checksum we complete */
    /* receive: buffers popped but not yet used */
    struct virtq_elem stash[RX_STASH];
    int n_stash;
    uint32_t stash_gen;
    bool rx_waiting;            /* the back end waits for buffers */
    bool offload_pending;       /* the guest's features: tell the back end */
    uint64_t tx_dropped, rx_dropped;
};

static void guest_drop(struct virtio_net *n, const char *why, uint64_t val)
{
    n->tx_dropped++;
    if (log_on(LOG_GUEST_ERROR))
        log_msg(LOG_GUEST_ERROR, "%s: transmit frame dropped: %s (%" PRIu64 ")",
                n->vd.ops->name, why, val);
}

/* 16-bit one's complement sum of LEN bytes (RFC 1071), big-endian words. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    size_t i = 0;
    for (; i + 1 < len; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (i < len)
        sum += (uint32_t)p[i] << 8;
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* ---- transmit ---- */

/* Check and send the frame of tx_elem (device lock held; dropped around
 * the back end's call).  0: done with the chain; -EAGAIN: keep it. */
static int tx_one(struct virtio_net *n)
{
    struct virtq_elem *e = &n->tx_elem;
    uint8_t hdr[HDR_LEN];
    if (e->out_len < HDR_LEN) {
        virtio_error(&n->vd, "transmit chain of %" PRIu64 " bytes, shorter than the header",
                     e->out_len);
        return 0;
    }
    iov_to_buf(e->iov, (int)e->n_out, 0, hdr, HDR_LEN);
    uint8_t flags = hdr[0], gso = hdr[1];
    uint16_t csum_start = (uint16_t)(hdr[6] | hdr[7] << 8);
    uint16_t csum_offset = (uint16_t)(hdr[8] | hdr[9] << 8);
    uint64_t len = e->out_len - HDR_LEN;
    if (len == 0 || len > NETDEV_MAX_FRAME) {
        guest_drop(n, "frame length", len);
        return 0;
    }
    struct iovec iov[MAX_TX_IOV];
    int n_iov;
    if (n->nd && n->nd->vnet_hdr) {
        /* the header and the frame as they are: the host kernel
         * completes the checksum, cuts the segments, and refuses lies */
        n_iov = iov_slice(e->iov, (int)e->n_out, 0, HDR_LEN + len, iov, MAX_TX_IOV);
        if (n_iov < 0) {
            guest_drop(n, "too many buffers", e->n_out);
            return 0;
        }
        hw_unlock();
        int r = netdev_send(n->nd, iov, n_iov);
        hw_lock();
        return r == -EAGAIN ? -EAGAIN : 0;
    }
    if (gso != GSO_NONE) {
        guest_drop(n, "segmentation offload not negotiated", gso);
        return 0;
    }
    if ((flags & HDR_F_NEEDS_CSUM) && virtio_has_feature(&n->vd, VIRTIO_NET_F_CSUM)) {
        if (csum_start >= len || len - csum_start < 2 || csum_offset > len - csum_start - 2) {
            guest_drop(n, "checksum position outside the frame", csum_start);
            return 0;
        }
        iov_to_buf(e->iov, (int)e->n_out, HDR_LEN, n->tx_buf, len);
        uint8_t *field = n->tx_buf + csum_start + csum_offset;
        uint32_t sum = csum_add(0, n->tx_buf + csum_start, len - csum_start);
        uint16_t c = csum_fold(sum);
        /* UDP sends a computed 0 as 0xffff (RFC 768); for TCP both are zero */
        if (c == 0)
            c = 0xffff;
        field[0] = (uint8_t)(c >> 8);
        field[1] = (uint8_t)c;
        iov[0] = (struct iovec){ n->tx_buf, len };
        n_iov = 1;
    } else {
        n_iov = iov_slice(e->iov, (int)e->n_out, HDR_LEN, len, iov, MAX_TX_IOV);
        if (n_iov < 0) {
            guest_drop(n, "too many buffers", e->n_out);
            return 0;
        }
    }
    if (!n->nd) {
        n->tx_dropped++;
        return 0;
    }
    hw_unlock();
    int r = netdev_send(n->nd, iov, n_iov);
    hw_lock();
    return r == -EAGAIN ? -EAGAIN : 0;
}

static void tx_process(void *opaque)
{
    struct virtio_net *n = opaque;
    struct virtq *vq = &n->vd.vq[TXQ];
    int done = 0;
    bool pushed = false;
    hw_lock();
    while (!n->tx_blocked && done < TX_BURST) {
        if (n->tx_held && n->tx_gen != n->vd.generation)
            n->tx_held = false; /* from before a reset: not ours to send */
        if (!n->tx_held) {
            if (virtq_pop(vq, &n->tx_elem) != 1)
                break;
            n->tx_gen = n->vd.generation;
            n->tx_held = true;
        }
        if (tx_one(n) == -EAGAIN) {
            n->tx_blocked = true;
            break;
        }
        n->tx_held = false;
        virtq_push(vq, &n->tx_elem, 0, n->tx_gen);
        pushed = true;
        done++;
    }
    if (pushed)
        virtq_notify(vq);
    /* more may wait: let the loop breathe, then go on */
    if (done == TX_BURST)
        loop_bh_schedule(n->tx_bh);
    hw_unlock();
}

static void net_tx_ready(void *opaque)
{
    struct virtio_net *n = opaque;
    hw_lock();
    n->tx_blocked = false;
    hw_unlock();
    loop_bh_schedule(n->tx_bh);
}

/* ---- receive ---- */

/* Forget the stashed buffers (their arrays stay for reuse). */
static void stash_clear(struct virtio_net *n)
{
    n->n_stash = 0;
}

/* Copy bytes from the source iovec cursor into E's writable buffers
 * from their start, at most CAP bytes; returns the bytes copied. */
struct cursor {
    const struct iovec *iov;
    int n, i;
    size_t off;
};

static size_t copy_into(struct virtio_net *n, struct virtq_elem *e, struct cursor *c, size_t cap)
{
    size_t total = 0;
    for (unsigned k = e->n_out; k < e->n_out + e->n_in && c->i < c->n && total < cap; k++) {
        uint8_t *dst = e->iov[k].iov_base;
        size_t room = MIN(e->iov[k].iov_len, cap - total), used = 0;
        while (used < room && c->i < c->n) {
            size_t m = MIN(room - used, c->iov[c->i].iov_len - c->off);
            memcpy(dst + used, (const uint8_t *)c->iov[c->i].iov_base + c->off, m);
            used += m;
            c->off += m;
            if (c->off == c->iov[c->i].iov_len) {
                c->i++;
                c->off = 0;
            }
        }
        mem_dma_written(n->vd.mem, e->pa[k], used);
        total += used;
    }
    return total;
}

static bool net_receive(void *opaque, const struct iovec *iov, int n_iov)
{
    struct virtio_net *n = opaque;
    struct virtq *vq = &n->vd.vq[RXQ];
    size_t len = iov_size(iov, n_iov);
    hw_lock();
    if (n->stash_gen != n->vd.generation) {
        stash_clear(n);
        n->stash_gen = n->vd.generation;
    }
    size_t hdr_in = n->nd && n->nd->vnet_hdr ? HDR_LEN : 0;   /* the back end's header */
    if (!virtio_running(&n->vd) || !vq->ready || len <= hdr_in || len - hdr_in > NETDEV_MAX_FRAME) {
        n->rx_dropped++;        /* nobody listens: the wire drops it */
        hw_unlock();
        return true;
    }
    bool mrg = virtio_has_feature(&n->vd, VIRTIO_NET_F_MRG_RXBUF);
    /* a vnet_hdr back end's frame starts with the header the guest gets */
    uint8_t hdr[HDR_LEN] = { 0 };
    bool vnet = hdr_in != 0;
    if (vnet) {
        iov_to_buf(iov, n_iov, 0, hdr, HDR_LEN);
        len -= HDR_LEN;
    }
    uint64_t need = HDR_LEN + len, have = 0;
    int used = 0;
    while (have < need) {
        if (used == n->n_stash) {
            if (used == RX_STASH || (!mrg && used == 1)) {
                /* the frame does not fit the buffers the guest gives */
                n->rx_dropped++;
                if (log_on(LOG_GUEST_ERROR))
                    log_msg(LOG_GUEST_ERROR, "%s: receive buffers too small for a frame of "
                            "%zu bytes", n->vd.ops->name, len);
                hw_unlock();
                return true;
            }
            if (virtq_pop(vq, &n->stash[used]) != 1) {
                n->rx_waiting = !n->vd.broken;
                hw_unlock();
                return n->vd.broken;    /* broken: drop, the guest must reset */
            }
            n->n_stash++;
            struct virtq_elem *e = &n->stash[used];
            if (e->in_len == 0 || (mrg && e->in_len < HDR_LEN) || (used == 0 && e->in_len < HDR_LEN)) {
                virtio_error(&n->vd, "receive buffer of %" PRIu64 " writable bytes", e->in_len);
                stash_clear(n);
                n->rx_dropped++;
                hw_unlock();
                return true;
            }
        }
        have += n->stash[used].in_len;
        used++;
    }
    /* the header, then the frame, over USED buffers */
    if (!vnet && n->nd && n->nd->ops->rx_csum_valid &&
        virtio_has_feature(&n->vd, VIRTIO_NET_F_GUEST_CSUM))
        hdr[0] = HDR_F_DATA_VALID;
    hdr[10] = (uint8_t)used;
    hdr[11] = (uint8_t)(used >> 8);
    struct iovec src[1 + MAX_TX_IOV];
    src[0] = (struct iovec){ hdr, HDR_LEN };
    int n_src = vnet ? iov_slice(iov, n_iov, HDR_LEN, len, src + 1, MAX_TX_IOV)
                     : (n_iov <= MAX_TX_IOV ? n_iov : -1);
    if (n_src < 0) {
        n->rx_dropped++;
        hw_unlock();
        return true;
    }
    if (!vnet)
        memcpy(src + 1, iov, (size_t)n_iov * sizeof(*iov));
    struct cursor c = { src, n_src + 1, 0, 0 };
    for (int i = 0; i < used; i++) {
        size_t w = copy_into(n, &n->stash[i], &c, SIZE_MAX);
        virtq_push(vq, &n->stash[i], (uint32_t)w, n->stash_gen);
    }
    /* the buffers left over wait for the next frame (the used ones go
     * behind them, their arrays kept for the next pops) */
    for (int i = used; i < n->n_stash; i++) {
        struct virtq_elem t = n->stash[i - used];
        n->stash[i - used] = n->stash[i];
        n->stash[i] = t;
    }
    n->n_stash -= used;
    virtq_notify(vq);
    hw_unlock();
    return true;
}

/* Loop thread: the guest gave receive buffers. */
static void rx_process(void *opaque)
{
    struct virtio_net *n = opaque;
    hw_lock();
    bool waiting = n->rx_waiting;
    n->rx_waiting = false;
    bool offload = n->offload_pending;
    n->offload_pending = false;
    unsigned flags = 0;
    if (virtio_has_feature(&n->vd, VIRTIO_NET_F_GUEST_CSUM))
        flags |= NETDEV_OFF_CSUM;
    if (virtio_has_feature(&n->vd, VIRTIO_NET_F_GUEST_TSO4))
        flags |= NETDEV_OFF_TSO4;
    if (virtio_has_feature(&n->vd, VIRTIO_NET_F_GUEST_TSO6))
        flags |= NETDEV_OFF_TSO6;
    if (virtio_has_feature(&n->vd, VIRTIO_NET_F_GUEST_ECN))
        flags |= NETDEV_OFF_ECN;
    if (!virtio_running(&n->vd))
        flags = 0;
    hw_unlock();
    /* (the back end's calls are in the loop thread, without the lock) */
    if (offload && n->nd && n->nd->ops->set_offload)
        n->nd->ops->set_offload(n->nd, flags);
    if (waiting && n->nd)
        netdev_rx_ready(n->nd);
}

/* ---- the device ---- */

static void net_queue_notify(struct virtio_dev *vd, int q)
{
    struct virtio_net *n = vd->opaque;
    loop_bh_schedule(q == TXQ ? n->tx_bh : n->rx_bh);
}

static void net_driver_ok(struct virtio_dev *vd)
{
    struct virtio_net *n = vd->opaque;
    /* a back end may have waited for buffers since before a reset */
    n->rx_waiting = true;
    n->offload_pending = true;  /* the features are known now */
    loop_bh_schedule(n->rx_bh);
}

static void net_reset(struct virtio_dev *vd)
{
    struct virtio_net *n = vd->opaque;
    /* elements of the old rings are not ours any more (generation) */
    n->tx_held = false;
    n->offload_pending = true;  /* none until the next driver says */
    loop_bh_schedule(n->rx_bh);
}

static void net_free(struct virtio_dev *vd)
{
    struct virtio_net *n = vd->opaque;
    if (n->nd)
        netdev_detach(n->nd);
    if (log_on(LOG_GUEST_ERROR) && (n->tx_dropped || n->rx_dropped))
        log_msg(LOG_GUEST_ERROR, "%s: %" PRIu64 " transmit and %" PRIu64
                " receive frames dropped", vd->ops->name, n->tx_dropped, n->rx_dropped);
    for (int i = 0; i < RX_STASH; i++)
        virtq_elem_free(&n->stash[i]);
    virtq_elem_free(&n->tx_elem);
    loop_bh_free(n->tx_bh);
    loop_bh_free(n->rx_bh);
    free(n->tx_buf);
    virtio_dev_cleanup(&n->vd);
    free(n);
}

/* savevm: receive buffers waiting for a frame and a frame the back end
 * refused for now are the last chains popped from their queues: the
 * saved state gives them back to the ring (virtio-state.c). */
static unsigned net_held(struct virtio_dev *vd, int q)
{
    struct virtio_net *n = vd->opaque;
    if (q == TXQ)
        return n->tx_held && n->tx_gen == vd->generation ? 1 : 0;
    return n->stash_gen == vd->generation ? (unsigned)n->n_stash : 0;
}

/* loadvm: the generation moved on (the stash and a held frame are
 * forgotten); tell the back end the loaded offloads, let it send. */
static void net_load(struct virtio_dev *vd, struct vms_in *f, uint32_t version)
{
    struct virtio_net *n = vd->opaque;
    (void)f, (void)version;
    n->tx_held = false;
    n->tx_blocked = false;
    n->offload_pending = true;
    n->rx_waiting = true;
    loop_bh_schedule(n->rx_bh);
}

static void net_save(struct virtio_dev *vd, struct vms_out *f)
{
    (void)vd, (void)f;          /* all of it is the core's (mac: config) */
}

static const struct virtio_dev_ops net_ops = {
    .name = "virtio-net-device",
    .device_id = VIRTIO_ID_NET,
    .queue_notify = net_queue_notify,
    .driver_ok = net_driver_ok,
    .reset = net_reset,
    .free = net_free,
    .held = net_held,
    .vmstate_version = 1,
    .save = net_save,
    .load = net_load,
};

static const struct netdev_peer net_peer = {
    .receive = net_receive,
    .tx_ready = net_tx_ready,
};

static int vnet_create(struct virtio_dev **out, struct kv *props, const struct vdev_env *env,
                       struct error **errp)
{
    const char *id = kv_get(props, "netdev");
    const char *mac = kv_get(props, "mac");
    /* qemu's tuning knobs: accepted, the defaults are what we do */
    (void)kv_get(props, "id");
    (void)kv_get(props, "bootindex");
    (void)kv_get(props, "rx_queue_size");
    (void)kv_get(props, "tx_queue_size");
    int r = kv_check_used(props, errp);
    if (r < 0)
        return r;
    uint8_t addr[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
    if (mac && (r = netdev_parse_mac(mac, addr, errp)) < 0)
        return r;
    if (mac && (addr[0] & 1))
        return err_set(errp, EINVAL, _("mac=%s is a multicast address"), mac);
    struct netdev *nd = NULL;
    if (id) {
        nd = env->netdevs ? netdev_find(env->netdevs, id) : NULL;
        if (!nd)
            return err_set(errp, ENOENT, _("Property 'virtio-net-device.netdev' can't find "
                                           "value '%s'"), id);
        if (nd->taken)
            return err_set(errp, EBUSY, _("netdev '%s' is already in use by another device"),
                           id);
    }
    if (!mac && env->netdevs)
        addr[5] = (uint8_t)(addr[5] + env->netdevs->n_nics);
    struct virtio_net *n = calloc(1, sizeof(*n));
    if (!n)
        return err_set(errp, ENOMEM, _("out of memory"));
    uint64_t f = UINT64_C(1) << VIRTIO_NET_F_MAC | UINT64_C(1) << VIRTIO_NET_F_STATUS |
                 UINT64_C(1) << VIRTIO_NET_F_MRG_RXBUF | UINT64_C(1) << VIRTIO_NET_F_CSUM |
                 UINT64_C(1) << VIRTIO_NET_F_GUEST_CSUM;
    if (nd && nd->vnet_hdr)
        f |= UINT64_C(1) << VIRTIO_NET_F_HOST_TSO4 | UINT64_C(1) << VIRTIO_NET_F_HOST_TSO6 |
             UINT64_C(1) << VIRTIO_NET_F_HOST_ECN | UINT64_C(1) << VIRTIO_NET_F_GUEST_TSO4 |
             UINT64_C(1) << VIRTIO_NET_F_GUEST_TSO6 | UINT64_C(1) << VIRTIO_NET_F_GUEST_ECN;
    r = virtio_dev_init(&n->vd, &net_ops, n, env->mem, f, CFG_LEN, 2, QUEUE_SIZE, errp);
    if (r < 0 || !(n->tx_bh = loop_bh_new(env->loop, tx_process, n, errp)) ||
        !(n->rx_bh = loop_bh_new(env->loop, rx_process, n, errp)) ||
        !(n->tx_buf = malloc(NETDEV_MAX_FRAME))) {
        if (r >= 0 && n->rx_bh && !n->tx_buf)
            r = err_set(errp, ENOMEM, _("out of memory"));
        loop_bh_free(n->tx_bh);
        loop_bh_free(n->rx_bh);
        virtio_dev_cleanup(&n->vd);
        free(n);
        return r < 0 ? r : -ENOMEM;
    }
    memcpy(n->mac, addr, 6);
    memcpy(n->vd.config + CFG_MAC, addr, 6);
    virtio_cfg_put16(&n->vd, CFG_STATUS, VIRTIO_NET_S_LINK_UP);
    virtio_cfg_put16(&n->vd, CFG_MAX_VQ_PAIRS, 1);
    virtio_cfg_put16(&n->vd, CFG_MTU, 1500);
    if (env->netdevs)
        env->netdevs->n_nics++;
    if (nd) {
        n->nd = nd;
        netdev_attach(nd, &net_peer, n);
    }
    *out = &n->vd;
    return 0;
}

const struct vdev_model virtio_net_model = {
    .name = "virtio-net-device",
    .desc = "virtio network device",
    .create = vnet_create,
};
