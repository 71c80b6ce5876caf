/* input.c - virtio-input (virtio 1.2, 5.8): a keyboard, an absolute
 * pointer (tablet) and a relative one (mouse), as qemu's
 *     -device virtio-keyboard-device | virtio-tablet-device | virtio-mouse-device
 * give them.  Each is a handler of the input core (lib/input.h) and
 * speaks Linux evdev to the guest: the config space describes the device
 * (name, ids, which event types and codes it sends, the absolute axes'
 * ranges), the event queue carries one struct virtio_input_event per
 * buffer to the driver, and the status queue carries the driver's LED
 * changes back.
 *
 * Events are gathered per group (one key, one motion with its buttons)
 * and handed over at the input core's sync, ended by EV_SYN, so the
 * guest never sees half a motion (a group longer than GROUP_MAX goes as
 * several).  When the driver has posted too few buffers, whole groups
 * wait in a bounded queue (PENDING_MAX events) and go as buffers arrive;
 * past the bound a group is dropped and counted, as are events that come
 * while the device has no driver.
 *
 * Threads: the input core calls the handler from the loop thread (with
 * its own mutex held); it takes the device lock.  The driver's queue
 * notifications arrive in a hart thread with the device lock held and
 * only move a few bytes, so they are handled at once.
 *
 * Untrusted guest: an event buffer shorter than one event, a status
 * buffer shorter than one event, or one written the wrong way, is a
 * device error (virtio_error); a select the device does not know reads
 * as size 0 and a zeroed union, as the spec asks. */
#include <config.h>
#include <errno.h>
#include <linux/input-event-codes.h>
#include <string.h>
#include "hw/virtio/virtio.h"
#include "hw/virtio/models.h"
#include "hw/hw.h"
#include "block/block.h"     /* iov helpers */
#include "i18n.h"
#include "input.h"
#include "keyval.h"
#include "log.h"
#include "vmstate.h"
#include "trace/hw.h"

#define VIRTIO_ID_INPUT 18
#define QUEUE_SIZE 64
#define Q_EVENT 0
#define Q_STATUS 1
#define EVENT_LEN 8             /* le16 type, le16 code, le32 value */
#define GROUP_MAX 32            /* events between two syncs */
#define PENDING_MAX 512         /* events waiting for the driver's buffers */
#define SERIAL_MAX 64
#define BUS_VIRTUAL 0x06        /* <linux/input.h>, which clashes with input.h's names */

/* Config space (5.8.4). */
enum {
    CFG_UNSET = 0x00,
    CFG_ID_NAME = 0x01,
    CFG_ID_SERIAL = 0x02,
    CFG_ID_DEVIDS = 0x03,
    CFG_PROP_BITS = 0x10,
    CFG_EV_BITS = 0x11,
    CFG_ABS_INFO = 0x12,
};
#define CFG_SELECT 0
#define CFG_SUBSEL 1
#define CFG_SIZE 2
#define CFG_U 8
#define CFG_U_LEN 128
#define CFG_LEN (CFG_U + CFG_U_LEN)

/* What kind of device a model is. */
struct vin_model {
    /* The guest sees this name in /proc/bus/input/devices; "QEMU" as in
     * the mmio vendor id, so that guest configs written for qemu's
     * devices (udev rules, Xorg sections) match ours too. */
    const char *id_name;
    uint16_t product;
    struct input_handler_ops ops;
};

struct vin_event {
    uint16_t type, code;
    int32_t value;
};

struct virtio_input {
    struct virtio_dev vd;
    const struct vin_model *m;
    struct input_handler *h;
    char serial[SERIAL_MAX];
    struct vin_event group[GROUP_MAX];
    unsigned n_group;
    struct vin_event pending[PENDING_MAX];     /* a ring */
    unsigned p_head, p_len;
    uint64_t dropped;
    unsigned leds;              /* INPUT_LED_* as the driver last set them */
};

static void vin_err(const char *fmt, ...) EMU_PRINTF(1, 2);
static void vin_err(const char *fmt, ...)
{
    if (!log_on(LOG_GUEST_ERROR))
        return;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    log_msg(LOG_GUEST_ERROR, "virtio-input: %s", buf);
}

/* ---- the config space ---- */

static void bit_set(uint8_t *bm, unsigned bit)
{
    bm[bit / 8] |= (uint8_t)(1u << (bit % 8));
}

/* The bitmap of codes of event TYPE the device sends (or takes: EV_LED),
 * into BM (CFG_U_LEN bytes, zeroed). */
static void ev_bits(const struct virtio_input *v, unsigned type, uint8_t *bm)
{
    unsigned mask = v->m->ops.mask;
    bool pointer = mask & (INPUT_MASK(INPUT_ABS) | INPUT_MASK(INPUT_REL));
    switch (type) {
    case EV_KEY:
        if (mask & INPUT_MASK(INPUT_KEY)) {
            /* a full keyboard: every code below the buttons, so that a
             * back end may pass on any key the host has */
            for (unsigned k = 1; k < BTN_MISC; k++)
                bit_set(bm, k);
        }
        if (pointer) {
            bit_set(bm, BTN_LEFT);
            bit_set(bm, BTN_RIGHT);
            bit_set(bm, BTN_MIDDLE);
            bit_set(bm, BTN_SIDE);
            bit_set(bm, BTN_EXTRA);
        }
        break;
    case EV_REL:
        if (mask & INPUT_MASK(INPUT_REL)) {
            bit_set(bm, REL_X);
            bit_set(bm, REL_Y);
        }
        if (pointer)
            bit_set(bm, REL_WHEEL);
        break;
    case EV_ABS:
        if (mask & INPUT_MASK(INPUT_ABS)) {
            bit_set(bm, ABS_X);
            bit_set(bm, ABS_Y);
        }
        break;
    case EV_LED:
        if (mask & INPUT_MASK(INPUT_KEY)) {
            bit_set(bm, LED_NUML);
            bit_set(bm, LED_CAPSL);
            bit_set(bm, LED_SCROLLL);
        }
        break;
    case EV_REP:
        /* the guest's input core repeats held keys itself */
        if (mask & INPUT_MASK(INPUT_KEY))
            bit_set(bm, 0);
        break;
    }
}

/* Fill size and the union for the current select/subsel (lock held). */
static void cfg_update(struct virtio_input *v)
{
    struct virtio_dev *vd = &v->vd;
    uint8_t sel = vd->config[CFG_SELECT], sub = vd->config[CFG_SUBSEL];
    uint8_t *u = vd->config + CFG_U;
    size_t size = 0;
    memset(u, 0, CFG_U_LEN);
    switch (sel) {
    case CFG_ID_NAME:
        if (sub == 0) {
            size = strlen(v->m->id_name);
            memcpy(u, v->m->id_name, size);
        }
        break;
    case CFG_ID_SERIAL:
        if (sub == 0 && v->serial[0]) {
            size = strlen(v->serial);
            memcpy(u, v->serial, size);
        }
        break;
    case CFG_ID_DEVIDS:
        if (sub == 0) {
            virtio_cfg_put16(vd, CFG_U, BUS_VIRTUAL);
            virtio_cfg_put16(vd, CFG_U + 2, 0x0627);       /* the vendor qemu's use */
            virtio_cfg_put16(vd, CFG_U + 4, v->m->product);
            virtio_cfg_put16(vd, CFG_U + 6, 1);
            size = 8;
        }
        break;
    case CFG_PROP_BITS:
        break;                  /* no INPUT_PROP_*: size 0 */
    case CFG_EV_BITS:
        ev_bits(v, sub, u);
        for (size_t i = CFG_U_LEN; i > 0; i--)
            if (u[i - 1]) {
                size = i;
                break;
            }
        break;
    case CFG_ABS_INFO:
        if ((v->m->ops.mask & INPUT_MASK(INPUT_ABS)) && (sub == ABS_X || sub == ABS_Y)) {
            virtio_cfg_put32(vd, CFG_U, 0);                 /* min */
            virtio_cfg_put32(vd, CFG_U + 4, INPUT_ABS_MAX); /* max; fuzz, flat, res 0 */
            size = 20;
        }
        break;
    default:
        if (sel != CFG_UNSET)
            vin_err("config select 0x%02x subsel 0x%02x unknown", sel, sub);
        break;
    }
    vd->config[CFG_SIZE] = (uint8_t)size;
}

static bool vin_config_write(struct virtio_dev *vd, uint32_t off, unsigned size, uint64_t val)
{
    struct virtio_input *v = vd->opaque;
    bool any = false;
    /* select and subsel are the only writable bytes; a wider write that
     * covers them sets them, the rest of it is ignored */
    for (unsigned i = 0; i < size; i++)
        if (off + i == CFG_SELECT || off + i == CFG_SUBSEL) {
            vd->config[off + i] = (uint8_t)(val >> (8 * i));
            any = true;
        }
    if (any)
        cfg_update(v);
    return any;
}

/* ---- events to the guest ---- */

/* Hand pending events to the driver's buffers (lock held). */
static void flush_events(struct virtio_input *v)
{
    struct virtq *vq = &v->vd.vq[Q_EVENT];
    struct virtq_elem e = { 0 };
    bool pushed = false;
    while (v->p_len && !v->vd.broken && virtq_pop(vq, &e) == 1) {
        if (e.n_out || e.in_len < EVENT_LEN) {
            virtio_error(&v->vd, "virtio-input: event buffer of %" PRIu64 " bytes%s",
                         e.in_len, e.n_out ? " with driver-readable parts" : "");
            break;
        }
        const struct vin_event *ev = &v->pending[v->p_head];
        uint8_t b[EVENT_LEN] = {
            (uint8_t)ev->type, (uint8_t)(ev->type >> 8),
            (uint8_t)ev->code, (uint8_t)(ev->code >> 8),
            (uint8_t)ev->value, (uint8_t)((uint32_t)ev->value >> 8),
            (uint8_t)((uint32_t)ev->value >> 16), (uint8_t)((uint32_t)ev->value >> 24),
        };
        size_t n = iov_from_buf(e.iov, (int)e.n_in, 0, b, EVENT_LEN);
        for (size_t done = 0, i = 0; i < e.n_in && done < n; i++) {
            size_t k = MIN(e.iov[i].iov_len, n - done);
            mem_dma_written(v->vd.mem, e.pa[i], k);
            done += k;
        }
        v->p_head = (v->p_head + 1) % PENDING_MAX;
        v->p_len--;
        virtq_push(vq, &e, (uint32_t)n, v->vd.generation);
        pushed = true;
    }
    virtq_elem_free(&e);
    if (pushed)
        virtq_notify(vq);
}

/* The group so far, ended by EV_SYN, into the pending ring and on to
 * the driver: whole or not at all (lock held). */
static void group_commit(struct virtio_input *v)
{
    unsigned n = v->n_group;
    if (!n)
        return;
    v->group[n++] = (struct vin_event){ EV_SYN, SYN_REPORT, 0 };
    if (!virtio_running(&v->vd) || n > PENDING_MAX - v->p_len) {
        v->dropped += n;        /* no driver to tell, or no room */
        trace_virtio_input_drop(v->vd.ops->name, n);
    } else {
        for (unsigned i = 0; i < n; i++)
            v->pending[(v->p_head + v->p_len + i) % PENDING_MAX] = v->group[i];
        v->p_len += n;
        flush_events(v);
        trace_virtio_input_group(v->vd.ops->name, n, v->p_len);
    }
    v->n_group = 0;
}

static void group_add(struct virtio_input *v, uint16_t type, uint16_t code, int32_t value)
{
    /* more events between two syncs than a group holds (a long
     * input-send-event): they go as several groups */
    if (v->n_group == GROUP_MAX - 1)    /* room kept for the EV_SYN */
        group_commit(v);
    v->group[v->n_group++] = (struct vin_event){ type, code, value };
}

/* The input core's event: into the current group (input_lock held). */
static void vin_event(void *opaque, const struct input_event *ev)
{
    struct virtio_input *v = opaque;
    static const uint16_t buttons[INPUT_BTN__MAX] = {
        [INPUT_BTN_LEFT] = BTN_LEFT, [INPUT_BTN_MIDDLE] = BTN_MIDDLE,
        [INPUT_BTN_RIGHT] = BTN_RIGHT, [INPUT_BTN_SIDE] = BTN_SIDE,
        [INPUT_BTN_EXTRA] = BTN_EXTRA,
    };
    bool mine = hw_lock_held();
    if (!mine)
        hw_lock();
    switch (ev->kind) {
    case INPUT_KEY:
        group_add(v, EV_KEY, (uint16_t)ev->code, ev->down);
        break;
    case INPUT_BTN:
        if (ev->code == INPUT_BTN_WHEEL_UP || ev->code == INPUT_BTN_WHEEL_DOWN) {
            /* a wheel click is a press; its release says nothing */
            if (ev->down)
                group_add(v, EV_REL, REL_WHEEL, ev->code == INPUT_BTN_WHEEL_UP ? 1 : -1);
        } else if (ev->code < INPUT_BTN__MAX) {
            group_add(v, EV_KEY, buttons[ev->code], ev->down);
        }
        break;
    case INPUT_ABS:
        group_add(v, EV_ABS, ev->code == INPUT_AXIS_X ? ABS_X : ABS_Y, ev->value);
        break;
    case INPUT_REL:
        group_add(v, EV_REL, ev->code == INPUT_AXIS_X ? REL_X : REL_Y, ev->value);
        break;
    }
    if (!mine)
        hw_unlock();
}

/* The input core's sync: the group goes to the guest. */
static void vin_sync(void *opaque)
{
    struct virtio_input *v = opaque;
    bool mine = hw_lock_held();
    if (!mine)
        hw_lock();
    group_commit(v);
    if (!mine)
        hw_unlock();
}

/* ---- the driver's status (LEDs) ---- */

static void status_process(struct virtio_input *v)
{
    struct virtq *vq = &v->vd.vq[Q_STATUS];
    struct virtq_elem e = { 0 };
    bool pushed = false;
    unsigned old = v->leds;
    while (!v->vd.broken && virtq_pop(vq, &e) == 1) {
        uint8_t b[EVENT_LEN];
        if (iov_to_buf(e.iov, (int)e.n_out, 0, b, EVENT_LEN) < EVENT_LEN) {
            virtio_error(&v->vd, "virtio-input: status buffer of %" PRIu64 " bytes",
                         e.out_len);
            break;
        }
        uint16_t type = (uint16_t)(b[0] | b[1] << 8), code = (uint16_t)(b[2] | b[3] << 8);
        uint32_t value = b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 |
                         (uint32_t)b[7] << 24;
        if (type == EV_LED && code <= LED_SCROLLL && (v->m->ops.mask & INPUT_MASK(INPUT_KEY))) {
            /* LED_NUML, LED_CAPSL, LED_SCROLLL are bits 0, 1, 2, as INPUT_LED_* */
            if (value)
                v->leds |= 1u << code;
            else
                v->leds &= ~(1u << code);
        } else if (type != EV_SYN) {
            vin_err("status event type %u code %u ignored", type, code);
        }
        virtq_push(vq, &e, 0, v->vd.generation);
        pushed = true;
    }
    virtq_elem_free(&e);
    if (pushed)
        virtq_notify(vq);
    if (v->leds != old) {
        trace_virtio_input_leds(v->vd.ops->name, v->leds);
        input_set_leds(v->leds);
    }
}

static void vin_queue_notify(struct virtio_dev *vd, int q)
{
    struct virtio_input *v = vd->opaque;
    if (q == Q_EVENT)
        flush_events(v);        /* new buffers for what waits */
    else if (q == Q_STATUS)
        status_process(v);
}

static void vin_reset(struct virtio_dev *vd)
{
    struct virtio_input *v = vd->opaque;
    v->n_group = 0;
    v->p_head = v->p_len = 0;
    v->leds = 0;
    vd->config[CFG_SELECT] = vd->config[CFG_SUBSEL] = 0;
    cfg_update(v);
}

static void vin_free(struct virtio_dev *vd)
{
    struct virtio_input *v = vd->opaque;
    input_handler_unregister(v->h);
    virtio_dev_cleanup(&v->vd);
    free(v);
}

/* savevm: the events still waiting for buffers and the LEDs (select and
 * subsel are in the core's copy of the config space). */
static void vin_save(struct virtio_dev *vd, struct vms_out *f)
{
    struct virtio_input *v = vd->opaque;
    vms_put_u32(f, v->p_len);
    for (unsigned i = 0; i < v->p_len; i++) {
        const struct vin_event *ev = &v->pending[(v->p_head + i) % PENDING_MAX];
        vms_put_u16(f, ev->type);
        vms_put_u16(f, ev->code);
        vms_put_u32(f, (uint32_t)ev->value);
    }
    vms_put_u8(f, (uint8_t)v->leds);
}

static void vin_load(struct virtio_dev *vd, struct vms_in *f, uint32_t version)
{
    struct virtio_input *v = vd->opaque;
    (void)version;
    v->n_group = 0;
    v->p_head = v->p_len = 0;
    uint32_t n = vms_get_u32(f);
    if (!vms_check(f, n <= PENDING_MAX, "virtio-input pending events"))
        return;
    for (uint32_t i = 0; i < n; i++) {
        struct vin_event *ev = &v->pending[i];
        ev->type = vms_get_u16(f);
        ev->code = vms_get_u16(f);
        ev->value = (int32_t)vms_get_u32(f);
    }
    uint8_t leds = vms_get_u8(f);
    if (!vms_check(f, leds <= 7, "virtio-input LEDs"))
        return;
    v->p_len = n;
    v->leds = leds;
    /* the config bytes came from the stream: make the union match them
     * (a hostile select reads as zero, as ever) */
    cfg_update(v);
    if (v->m->ops.mask & INPUT_MASK(INPUT_KEY))
        input_set_leds(v->leds);
    /* what waits goes at the driver's next notify or the next event */
}

#define VIN_OPS(devname)                                                      \
    { .name = devname, .device_id = VIRTIO_ID_INPUT, .queue_notify = vin_queue_notify, \
      .config_write = vin_config_write, .reset = vin_reset, .free = vin_free,  \
      .vmstate_version = 1, .save = vin_save, .load = vin_load }

static const struct virtio_dev_ops dev_ops[] = {
    VIN_OPS("virtio-keyboard-device"),
    VIN_OPS("virtio-tablet-device"),
    VIN_OPS("virtio-mouse-device"),
};

static const struct vin_model models[] = {
    {
        .id_name = "QEMU Virtio Keyboard", .product = 0x0001,
        .ops = { .name = "QEMU Virtio Keyboard", .mask = INPUT_MASK(INPUT_KEY),
                 .event = vin_event, .sync = vin_sync },
    },
    {
        .id_name = "QEMU Virtio Tablet", .product = 0x0003,
        .ops = { .name = "QEMU Virtio Tablet",
                 .mask = INPUT_MASK(INPUT_BTN) | INPUT_MASK(INPUT_ABS),
                 .event = vin_event, .sync = vin_sync },
    },
    {
        .id_name = "QEMU Virtio Mouse", .product = 0x0002,
        .ops = { .name = "QEMU Virtio Mouse",
                 .mask = INPUT_MASK(INPUT_BTN) | INPUT_MASK(INPUT_REL),
                 .event = vin_event, .sync = vin_sync },
    },
};

static int vin_create_model(int which, struct virtio_dev **out, struct kv *props,
                            const struct vdev_env *env, struct error **errp)
{
    const struct vin_model *m = &models[which];
    const char *serial = kv_get(props, "serial");
    (void)kv_get(props, "id");
    int r = kv_check_used(props, errp);
    if (r < 0)
        return r;
    if (serial && strlen(serial) >= SERIAL_MAX)
        return err_set(errp, EINVAL, _("serial=%s: at most %d characters"), serial,
                       SERIAL_MAX - 1);
    struct virtio_input *v = calloc(1, sizeof(*v));
    if (!v)
        return err_set(errp, ENOMEM, _("out of memory"));
    v->m = m;
    if (serial)
        memcpy(v->serial, serial, strlen(serial) + 1);
    r = virtio_dev_init(&v->vd, &dev_ops[which], v, env->mem, 0, CFG_LEN, 2, QUEUE_SIZE, errp);
    if (r < 0) {
        free(v);
        return r;
    }
    cfg_update(v);
    r = input_handler_register(&v->h, &m->ops, v, errp);
    if (r < 0) {
        virtio_dev_cleanup(&v->vd);
        free(v);
        return r;
    }
    *out = &v->vd;
    return 0;
}

static int kbd_create(struct virtio_dev **out, struct kv *props, const struct vdev_env *env,
                      struct error **errp)
{
    return vin_create_model(0, out, props, env, errp);
}

static int tablet_create(struct virtio_dev **out, struct kv *props, const struct vdev_env *env,
                         struct error **errp)
{
    return vin_create_model(1, out, props, env, errp);
}

static int mouse_create(struct virtio_dev **out, struct kv *props, const struct vdev_env *env,
                        struct error **errp)
{
    return vin_create_model(2, out, props, env, errp);
}

const struct vdev_model virtio_keyboard_model = {
    .name = "virtio-keyboard-device",
    .desc = "virtio keyboard",
    .create = kbd_create,
};

const struct vdev_model virtio_tablet_model = {
    .name = "virtio-tablet-device",
    .desc = "virtio tablet (absolute pointer)",
    .create = tablet_create,
};

const struct vdev_model virtio_mouse_model = {
    .name = "virtio-mouse-device",
    .desc = "virtio mouse (relative pointer)",
    .create = mouse_create,
};

uint64_t virtio_input_dropped(const struct virtio_dev *vd)
{
    if (vd->ops->device_id != VIRTIO_ID_INPUT)
        return 0;
    const struct virtio_input *v = vd->opaque;
    return v->dropped;
}
