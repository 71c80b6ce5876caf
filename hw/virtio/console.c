/* console.c - virtio-console (virtio 1.2, 5.3) with one port: the
 * guest's hvc0 on a character device, as qemu's
 *     -device virtio-serial-device -device virtconsole,chardev=ID
 * gives it.  Without VIRTIO_CONSOLE_F_MULTIPORT the device has exactly
 * one port, port 0, on queues 0 (receive: host to guest) and 1 (transmit).
 *
 * Input from the chardev (loop thread, device lock held) goes into a
 * small buffer and from there into whatever receive buffers the guest
 * posted; when the buffer is full the chardev is told to wait, and it is
 * let go again when the guest posts buffers.  Output goes from the
 * transmit queue to the chardev in a bottom half, so a hart never waits
 * for a slow terminal.
 */
#include <config.h>
#include <errno.h>
#include <string.h>
#include "hw/virtio/virtio.h"
#include "hw/virtio/models.h"
#include "hw/hw.h"
#include "block/block.h"     /* iov helpers */
#include "chardev.h"
#include "i18n.h"
#include "keyval.h"
#include "loop.h"
#include "vmstate.h"

#define QUEUE_SIZE 128
#define RX_BUF 4096
#define Q_RX 0
#define Q_TX 1
/* config: cols, rows (u16), max_nr_ports, emerg_wr (u32) */
#define CFG_LEN 12

struct virtio_console {
    struct virtio_dev vd;
    struct chardev *chr;        /* NULL until a virtconsole port names one */
    struct loop_bh *tx_bh;
    uint8_t rx[RX_BUF];
    size_t rx_len;
    bool input_waiting;         /* can_read said 0: the chardev waits for us */
};

/* Move buffered input into the guest's receive buffers (lock held). */
static void flush_rx(struct virtio_console *c)
{
    struct virtq *vq = &c->vd.vq[Q_RX];
    struct virtq_elem e = { 0 };
    bool pushed = false;
    while (c->rx_len && virtq_pop(vq, &e) == 1) {
        size_t n = iov_from_buf(e.iov + e.n_out, (int)e.n_in, 0, c->rx, c->rx_len);
        for (size_t done = 0, i = 0; i < e.n_in && done < n; i++) {
            size_t k = MIN(e.iov[e.n_out + i].iov_len, n - done);
            mem_dma_written(c->vd.mem, e.pa[e.n_out + i], k);
            done += k;
        }
        memmove(c->rx, c->rx + n, c->rx_len - n);
        c->rx_len -= n;
        virtq_push(vq, &e, (uint32_t)n, c->vd.generation);
        pushed = true;
    }
    virtq_elem_free(&e);
    if (pushed)
        virtq_notify(vq);
    if (c->input_waiting && c->rx_len < RX_BUF && c->chr) {
        c->input_waiting = false;
        chardev_accept_input(c->chr);
    }
}

static size_t con_can_read(void *opaque)
{
    struct virtio_console *c = opaque;
    size_t room = virtio_running(&c->vd) ? RX_BUF - c->rx_len : 0;
    if (!room)
        c->input_waiting = true;
    return room;
}

static void con_read(void *opaque, const uint8_t *buf, size_t len)
{
    struct virtio_console *c = opaque;
    size_t n = MIN(len, RX_BUF - c->rx_len);   /* can_read promised the room */
    memcpy(c->rx + c->rx_len, buf, n);
    c->rx_len += n;
    flush_rx(c);
}

static const struct chardev_frontend con_frontend = {
    .can_read = con_can_read,
    .read = con_read,
};

/* Loop thread: everything the guest transmitted goes to the chardev. */
static void con_tx(void *opaque)
{
    struct virtio_console *c = opaque;
    struct virtq *vq = &c->vd.vq[Q_TX];
    struct virtq_elem e = { 0 };
    hw_lock();
    bool pushed = false;
    while (virtq_pop(vq, &e) == 1) {
        for (unsigned i = 0; i < e.n_out && c->chr; i++)
            chardev_write(c->chr, e.iov[i].iov_base, e.iov[i].iov_len);
        virtq_push(vq, &e, 0, c->vd.generation);
        pushed = true;
    }
    if (pushed)
        virtq_notify(vq);
    hw_unlock();
    virtq_elem_free(&e);
}

static void con_queue_notify(struct virtio_dev *vd, int q)
{
    struct virtio_console *c = vd->opaque;
    if (q == Q_TX)
        loop_bh_schedule(c->tx_bh);
    else
        flush_rx(c);            /* new receive buffers */
}

static void con_driver_ok(struct virtio_dev *vd)
{
    struct virtio_console *c = vd->opaque;
    if (c->input_waiting && c->chr) {
        c->input_waiting = false;
        chardev_accept_input(c->chr);
    }
}

static void con_reset(struct virtio_dev *vd)
{
    struct virtio_console *c = vd->opaque;
    c->rx_len = 0;
}

static void con_free(struct virtio_dev *vd)
{
    struct virtio_console *c = vd->opaque;
    if (c->chr)
        chardev_set_frontend(c->chr, NULL, NULL);
    loop_bh_free(c->tx_bh);
    virtio_dev_cleanup(&c->vd);
    free(c);
}

/* savevm: input from the chardev the guest has not taken yet. */
static void con_save(struct virtio_dev *vd, struct vms_out *f)
{
    struct virtio_console *c = vd->opaque;
    vms_put_bytes(f, c->rx, c->rx_len);
}

static void con_load(struct virtio_dev *vd, struct vms_in *f, uint32_t version)
{
    struct virtio_console *c = vd->opaque;
    (void)version;
    uint8_t *rx = malloc(RX_BUF);
    if (!rx) {
        vms_fail(f, "out of memory");
        return;
    }
    size_t n = vms_get_blob(f, rx, RX_BUF);
    if (!vms_failed(f)) {
        memcpy(c->rx, rx, n);
        c->rx_len = n;
    }
    free(rx);
}

static const struct virtio_dev_ops con_ops = {
    .name = "virtio-serial-device",
    .device_id = VIRTIO_ID_CONSOLE,
    .queue_notify = con_queue_notify,
    .driver_ok = con_driver_ok,
    .reset = con_reset,
    .free = con_free,
    .vmstate_version = 1,
    .save = con_save,
    .load = con_load,
};

static int serial_create(struct virtio_dev **out, struct kv *props, const struct vdev_env *env,
                         struct error **errp)
{
    (void)kv_get(props, "id");
    (void)kv_get(props, "max_ports");
    int r = kv_check_used(props, errp);
    if (r < 0)
        return r;
    struct virtio_console *c = calloc(1, sizeof(*c));
    if (!c)
        return err_set(errp, ENOMEM, _("out of memory"));
    r = virtio_dev_init(&c->vd, &con_ops, c, env->mem, 0, CFG_LEN, 2, QUEUE_SIZE, errp);
    if (r < 0 || !(c->tx_bh = loop_bh_new(env->loop, con_tx, c, errp))) {
        virtio_dev_cleanup(&c->vd);
        free(c);
        return r < 0 ? r : -ENOMEM;
    }
    virtio_cfg_put32(&c->vd, 4, 1);         /* max_nr_ports */
    *out = &c->vd;
    return 0;
}

const struct vdev_model virtio_serial_model = {
    .name = "virtio-serial-device",
    .desc = "virtio serial bus (one console port)",
    .create = serial_create,
};

/* virtconsole,chardev=ID: the port of the virtio-serial-device before it
 * on the command line.  It makes no device of its own (*out = NULL). */
static int port_create(struct virtio_dev **out, struct kv *props, const struct vdev_env *env,
                       struct error **errp)
{
    const char *id = kv_get(props, "chardev");
    (void)kv_get(props, "id");
    (void)kv_get(props, "name");
    int r = kv_check_used(props, errp);
    if (r < 0)
        return r;
    struct virtio_dev *bus = env->last_serial;
    if (!bus)
        return err_set(errp, ENODEV, _("No 'virtio-serial-bus' bus found for device 'virtconsole'"));
    struct virtio_console *c = bus->opaque;
    if (c->chr)
        return err_set(errp, ENOTSUP, _("one virtconsole per virtio-serial-device "
                                         "(multiple ports are not supported)"));
    if (!id)
        return err_set(errp, EINVAL, _("Property 'chardev' is missing"));
    struct chardev *chr = env->find_chardev(env->opaque, id);
    if (!chr)
        return err_set(errp, ENOENT, _("chardev '%s' not found"), id);
    c->chr = chr;
    chardev_set_frontend(chr, &con_frontend, c);
    *out = NULL;
    return 0;
}

const struct vdev_model virtconsole_model = {
    .name = "virtconsole",
    .desc = "a console port on virtio-serial-device (the guest's hvc0)",
    .create = port_create,
};
