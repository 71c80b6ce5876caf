/* test-virtio-input.c - virtio-input (hw/virtio/input.c) through the
 * input core, against a driver that plays by the rules and one that does
 * not: the config space for every select (unknown ones read as zero),
 * key and pointer events in groups ended by EV_SYN, events waiting for
 * buffers and dropped past the bound, LEDs from the status queue, short
 * and wrongly directed buffers (a device error, nothing written), the
 * savevm state.
 *
 * The test plays the driver: descriptors and buffers in a guest RAM of
 * its own, queue notifications by hand. */
#include <config.h>
#include <linux/input-event-codes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hw/hw.h"
#include "hw/mem.h"
#include "hw/virtio/models.h"
#include "hw/virtio/virtio.h"
#include "input.h"
#include "loop.h"
#include "vmstate.h"
#include "unit.h"

#define RAM_BASE UINT64_C(0x80000000)
#define RAM_SIZE 0x100000
#define QN 16
#define QAREA(q) (RAM_BASE + 0x10000 * (uint64_t)(q))   /* desc, +0x1000 avail, +0x2000 used */
#define BUF(q) (QAREA(q) + 0x8000)                      /* QN buffers of 16 bytes */

static struct mem_map mem;
static uint8_t *ram;
static struct loop *loop;

struct drv {
    struct virtio_dev *vd;
    uint16_t avail_idx[2], used_seen[2];
    int base;                   /* of its queue areas, 0 or 2 */
};

static uint8_t *at(uint64_t pa)
{
    return ram + (pa - RAM_BASE);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v), put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v), put32(p + 4, (uint32_t)(v >> 32));
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
    return get16(p) | (uint32_t)get16(p + 2) << 16;
}

static void update_irq(void *opaque, struct virtio_dev *d)
{
    (void)opaque, (void)d;
}

static const struct virtio_transport tr = { update_irq };

/* The driver's bring-up, after a reset. */
static void init(struct drv *d)
{
    struct virtio_dev *vd = d->vd;
    int base = d->base;
    hw_lock();
    virtio_set_status(vd, 0);
    virtio_set_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    vd->driver_features = vd->host_features;
    virtio_set_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                              VIRTIO_STATUS_FEATURES_OK);
    for (int q = 0; q < 2; q++) {
        struct virtq *vq = &vd->vq[q];
        memset(at(QAREA(base + q)), 0, 0x10000);
        vq->num = QN;
        vq->desc_pa = QAREA(base + q);
        vq->avail_pa = QAREA(base + q) + 0x1000;
        vq->used_pa = QAREA(base + q) + 0x2000;
        virtq_set_ready(vd, q, true);
    }
    virtio_set_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                              VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
    hw_unlock();
    d->avail_idx[0] = d->avail_idx[1] = d->used_seen[0] = d->used_seen[1] = 0;
}

static void setup(struct drv *d, const char *spec, int base)
{
    const struct vdev_env env = { .mem = &mem, .loop = loop };
    struct error *err = NULL;
    if (vdev_create(&d->vd, spec, &env, &err) < 0) {
        fprintf(stderr, "test-virtio-input: %s: %s\n", spec, err->msg);
        exit(1);
    }
    d->base = base;
    virtio_dev_set_transport(d->vd, &tr, NULL);
    init(d);
}

/* Post buffer I (descriptor I, LEN bytes, device-writable or not) on Q. */
static void post(struct drv *d, int q, unsigned i, uint32_t len, bool writable)
{
    uint8_t *desc = at(QAREA(d->base + q)) + 16 * i;
    put64(desc, BUF(d->base + q) + 16 * i), put32(desc + 8, len);
    put16(desc + 12, writable ? 2 : 0), put16(desc + 14, 0);
    uint8_t *av = at(QAREA(d->base + q) + 0x1000);
    put16(av + 4 + 2 * (d->avail_idx[q] % QN), (uint16_t)i);
    d->avail_idx[q]++;
    put16(av + 2, d->avail_idx[q]);
}

static void notify(struct drv *d, int q)
{
    hw_lock();
    virtio_queue_notify(d->vd, q);
    hw_unlock();
}

/* Post all QN event buffers. */
static void fill_events(struct drv *d)
{
    for (unsigned i = 0; i < QN; i++)
        post(d, 0, i, 8, true);
    notify(d, 0);
}

/* The next used event, as type/code/value; false when there is none. */
static bool next_event(struct drv *d, uint16_t *type, uint16_t *code, int32_t *value)
{
    const uint8_t *used = at(QAREA(d->base) + 0x2000);
    if (get16(used + 2) == d->used_seen[0])
        return false;
    const uint8_t *u = used + 4 + 8 * (d->used_seen[0] % QN);
    uint32_t id = get32(u), len = get32(u + 4);
    d->used_seen[0]++;
    const uint8_t *b = at(BUF(d->base)) + 16 * id;
    *type = get16(b), *code = get16(b + 2), *value = (int32_t)get32(b + 4);
    post(d, 0, id, 8, true);    /* give it back, as the driver does */
    return len == 8;
}

static bool expect(struct drv *d, uint16_t type, uint16_t code, int32_t value)
{
    uint16_t t, c;
    int32_t v;
    if (!next_event(d, &t, &c, &v)) {
        fprintf(stderr, "expected event %u %u %d: none\n", type, code, value);
        return false;
    }
    if (t != type || c != code || v != value) {
        fprintf(stderr, "expected event %u %u %d, got %u %u %d\n", type, code, value, t, c, v);
        return false;
    }
    return true;
}

static uint64_t cfg_read(struct drv *d, uint32_t off, unsigned size)
{
    uint64_t v = 0;
    hw_lock();
    CHECK(virtio_config_read(d->vd, off, size, &v));
    hw_unlock();
    return v;
}

/* Select SEL/SUBSEL; returns the size the device reports. */
static unsigned cfg_select(struct drv *d, uint8_t sel, uint8_t sub)
{
    hw_lock();
    virtio_config_write(d->vd, 0, 1, sel);
    virtio_config_write(d->vd, 1, 1, sub);
    hw_unlock();
    return (unsigned)cfg_read(d, 2, 1);
}

static bool cfg_bit(struct drv *d, unsigned bit)
{
    return (cfg_read(d, 8 + bit / 8, 1) >> (bit % 8)) & 1;
}

static void test_config(struct drv *kbd, struct drv *tab)
{
    char name[129] = { 0 };
    unsigned n = cfg_select(kbd, 1, 0);
    for (unsigned i = 0; i < n && i < 128; i++)
        name[i] = (char)cfg_read(kbd, 8 + i, 1);
    CHECK(strcmp(name, "QEMU Virtio Keyboard") == 0);
    CHECK(cfg_select(kbd, 2, 0) == 4);         /* serial=kb01 */
    CHECK(cfg_read(kbd, 8, 4) == 0x3130626bu);
    CHECK(cfg_select(tab, 2, 0) == 0);          /* no serial */
    CHECK(cfg_select(kbd, 3, 0) == 8);
    CHECK(cfg_read(kbd, 8, 2) == 6 && cfg_read(kbd, 12, 2) == 1);
    CHECK(cfg_select(kbd, 0x11, EV_KEY) == 32);
    CHECK(cfg_bit(kbd, KEY_A) && cfg_bit(kbd, KEY_POWER) && cfg_bit(kbd, KEY_ESC));
    CHECK(!cfg_bit(kbd, 0));
    CHECK(cfg_select(kbd, 0x11, EV_LED) == 1 && cfg_read(kbd, 8, 1) == 7);
    CHECK(cfg_select(kbd, 0x11, EV_REP) == 1);
    CHECK(cfg_select(kbd, 0x11, EV_ABS) == 0);
    CHECK(cfg_select(kbd, 0x11, EV_REL) == 0);
    CHECK(cfg_select(kbd, 0x12, ABS_X) == 0);
    /* the tablet */
    CHECK(cfg_select(tab, 0x11, EV_ABS) == 1 && cfg_read(tab, 8, 1) == 3);
    CHECK(cfg_select(tab, 0x11, EV_KEY) > 0);
    CHECK(cfg_bit(tab, BTN_LEFT) && cfg_bit(tab, BTN_RIGHT) && cfg_bit(tab, BTN_MIDDLE));
    CHECK(!cfg_bit(tab, KEY_A));
    CHECK(cfg_select(tab, 0x11, EV_REL) == 2 && cfg_bit(tab, REL_WHEEL) && !cfg_bit(tab, REL_X));
    CHECK(cfg_select(tab, 0x12, ABS_X) == 20);
    CHECK(cfg_read(tab, 8, 4) == 0 && cfg_read(tab, 12, 4) == 32767 && cfg_read(tab, 16, 4) == 0);
    CHECK(cfg_select(tab, 0x12, ABS_Y) == 20);
    CHECK(cfg_select(tab, 0x12, ABS_Z) == 0);
    /* hostile selects: size 0 and a zeroed union, whatever came before */
    static const uint8_t bad[][2] = { { 0x04, 0 }, { 0x13, 0 }, { 0xff, 0xff }, { 1, 1 },
                                      { 3, 9 }, { 0x11, 0xff }, { 0x10, 0 } };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cfg_select(tab, 1, 0);
        CHECK(cfg_select(tab, bad[i][0], bad[i][1]) == 0);
        bool zero = true;
        for (unsigned k = 0; k < 128; k += 8)
            zero = zero && cfg_read(tab, 8 + k, 8) == 0;
        CHECK(zero);
    }
    /* writes elsewhere are refused; reads past the end too */
    uint64_t v;
    hw_lock();
    CHECK(!virtio_config_write(tab->vd, 2, 1, 99));
    CHECK(!virtio_config_write(tab->vd, 8, 4, 0x41414141));
    CHECK(!virtio_config_read(tab->vd, 136, 1, &v));
    CHECK(!virtio_config_read(tab->vd, 132, 8, &v));
    /* a 2-byte write sets select and subsel at once */
    CHECK(virtio_config_write(tab->vd, 0, 2, 0x0012 | ABS_Y << 8));
    hw_unlock();
    CHECK(cfg_read(tab, 2, 1) == 20);
}

static void test_events(struct drv *kbd, struct drv *tab)
{
    uint16_t t, c;
    int32_t v;
    fill_events(kbd);
    fill_events(tab);
    input_key(KEY_A, true);
    input_sync();
    input_key(KEY_A, false);
    input_sync();
    CHECK(expect(kbd, EV_KEY, KEY_A, 1));
    CHECK(expect(kbd, EV_SYN, SYN_REPORT, 0));
    CHECK(expect(kbd, EV_KEY, KEY_A, 0));
    CHECK(expect(kbd, EV_SYN, SYN_REPORT, 0));
    CHECK(!next_event(kbd, &t, &c, &v));
    CHECK(!next_event(tab, &t, &c, &v));
    notify(kbd, 0);

    input_abs(INPUT_AXIS_X, 0, 100);
    input_abs(INPUT_AXIS_Y, 99, 100);
    input_button(INPUT_BTN_LEFT, true);
    input_button(INPUT_BTN_WHEEL_DOWN, true);
    input_button(INPUT_BTN_WHEEL_DOWN, false);
    input_sync();
    CHECK(expect(tab, EV_ABS, ABS_X, 0));
    CHECK(expect(tab, EV_ABS, ABS_Y, 32767));
    CHECK(expect(tab, EV_KEY, BTN_LEFT, 1));
    CHECK(expect(tab, EV_REL, REL_WHEEL, -1));
    CHECK(expect(tab, EV_SYN, SYN_REPORT, 0));
    CHECK(!next_event(tab, &t, &c, &v));
    CHECK(!next_event(kbd, &t, &c, &v));
    notify(tab, 0);

    /* events without buffers wait, whole groups, and go when buffers come */
    for (int i = 0; i < 20; i++) {
        input_key(KEY_1 + i % 9, true);
        input_sync();
    }
    int got = 0;
    while (next_event(kbd, &t, &c, &v))
        got++;
    CHECK(got == QN);           /* the buffers it had: 8 groups of 2 */
    notify(kbd, 0);             /* the 16 buffers given back */
    while (next_event(kbd, &t, &c, &v))
        got++;
    notify(kbd, 0);
    while (next_event(kbd, &t, &c, &v))
        got++;
    CHECK(got == 40);

    /* no buffers at all: the bounded queue fills, then groups are dropped */
    uint64_t d0 = virtio_input_dropped(kbd->vd);
    /* use up the buffers posted back, without giving them back */
    input_key(KEY_B, true);
    input_sync();
    const uint8_t *used = at(QAREA(kbd->base) + 0x2000);
    for (int i = 0; i < 600; i++) {
        input_key(KEY_B, i & 1);
        input_sync();
    }
    CHECK(virtio_input_dropped(kbd->vd) > d0);
    CHECK(virtio_input_dropped(kbd->vd) - d0 < 2 * 600);
    CHECK(get16(used + 2) - kbd->used_seen[0] <= QN);
    /* drain: posts and notifies until nothing comes */
    got = 0;
    for (int round = 0; round < 100; round++) {
        int before = got;
        while (next_event(kbd, &t, &c, &v))
            got++;
        notify(kbd, 0);
        if (got == before && round > 0)
            break;
    }
    CHECK(got >= 512 && got <= 512 + 2 * QN);
    CHECK(!next_event(kbd, &t, &c, &v));

    /* more events between two syncs than a group holds: several groups,
     * each ended by EV_SYN, nothing lost */
    d0 = virtio_input_dropped(kbd->vd);
    for (int i = 0; i < 40; i++)
        input_key(KEY_C, i & 1);
    input_sync();
    int keys = 0, syns = 0;
    for (int round = 0; round < 10; round++) {
        while (next_event(kbd, &t, &c, &v)) {
            if (t == EV_KEY) {
                CHECK(c == KEY_C && v == (keys & 1));
                keys++;
            } else {
                CHECK(t == EV_SYN);
                syns++;
            }
        }
        notify(kbd, 0);
    }
    CHECK(keys == 40 && syns == 2);
    CHECK(virtio_input_dropped(kbd->vd) == d0);
    input_key(KEY_D, true);
    input_sync();
    CHECK(expect(kbd, EV_KEY, KEY_D, 1));
    CHECK(expect(kbd, EV_SYN, SYN_REPORT, 0));
    notify(kbd, 0);
}

static void test_leds(struct drv *kbd)
{
    uint8_t *b = at(BUF(kbd->base + 1));
    put16(b, EV_LED), put16(b + 2, LED_CAPSL), put32(b + 4, 1);
    post(kbd, 1, 0, 8, false);
    put16(b + 16, EV_SYN), put16(b + 18, 0), put32(b + 20, 0);
    post(kbd, 1, 1, 8, false);
    notify(kbd, 1);
    CHECK(input_get_leds() == INPUT_LED_CAPS);
    CHECK(get16(at(QAREA(kbd->base + 1) + 0x2000) + 2) == 2);
    put16(b, EV_LED), put16(b + 2, LED_NUML), put32(b + 4, 1);
    post(kbd, 1, 0, 8, false);
    put16(b + 16, EV_LED), put16(b + 18, LED_CAPSL), put32(b + 20, 0);
    post(kbd, 1, 1, 8, false);
    put16(b + 32, EV_LED), put16(b + 34, 200), put32(b + 36, 1);   /* no such LED */
    post(kbd, 1, 2, 8, false);
    notify(kbd, 1);
    CHECK(input_get_leds() == INPUT_LED_NUM);
    CHECK(!kbd->vd->broken);
}

/* savevm streams in memory */
struct buf {
    uint8_t *p;
    size_t len;
};

static int buf_write(void *opaque, uint64_t pos, const void *data, size_t len)
{
    struct buf *b = opaque;
    if (pos + len > b->len) {
        uint8_t *np = realloc(b->p, pos + len);
        if (!np)
            return -1;
        b->p = np;
        b->len = pos + len;
    }
    memcpy(b->p + pos, data, len);
    return 0;
}

static int buf_read(void *opaque, uint64_t pos, void *data, size_t len)
{
    const struct buf *b = opaque;
    if (pos > b->len || len > b->len - pos)
        return -1;
    memcpy(data, b->p + pos, len);
    return 0;
}

static void save_dev(struct virtio_dev *d, struct buf *b)
{
    struct vms_out *f;
    uint64_t size;
    *b = (struct buf){ 0 };
    if (vms_out_new(&f, buf_write, b, NULL) < 0)
        exit(1);
    vms_section_begin(f, "virtio", 0, VIRTIO_VMSTATE_VERSION);
    virtio_dev_save(d, f);
    vms_section_end(f);
    if (vms_out_finish(f, &size, NULL) < 0)
        exit(1);
    vms_out_free(f);
}

static int load_dev(struct virtio_dev *d, const struct buf *b)
{
    struct vms_in *f = NULL;
    struct error *err = NULL;
    char name[VMS_NAME_MAX + 1];
    uint32_t inst, ver;
    int r = vms_in_new(&f, buf_read, (void *)b, b->len, &err);
    if (r == 0)
        r = vms_in_section(f, name, &inst, &ver, &err);
    if (r > 0) {
        hw_lock();
        virtio_dev_load(d, f, ver);
        hw_unlock();
        r = vms_section_finish(f, &err);
    }
    if (f)
        vms_in_free(f);
    err_free(err);
    return r < 0 ? -1 : 0;
}

static void test_savevm(struct drv *kbd)
{
    uint16_t t, c;
    int32_t v;
    /* three events wait (no buffers), the select is on the name */
    while (next_event(kbd, &t, &c, &v))
        ;
    for (int i = 0; i < QN / 2; i++) {  /* use every buffer up: groups of 2 */
        input_key(KEY_E, i & 1);
        input_sync();
    }
    /* consumed without giving back */
    kbd->used_seen[0] = get16(at(QAREA(kbd->base) + 0x2000) + 2);
    input_key(KEY_F, true);
    input_key(KEY_G, true);
    input_sync();
    cfg_select(kbd, 1, 0);
    struct buf b;
    save_dev(kbd->vd, &b);
    /* a damaged stream is refused without harm */
    for (size_t cut = 0; cut < b.len; cut += 1 + cut / 5) {
        struct buf tr_ = { b.p, cut };
        load_dev(kbd->vd, &tr_);
    }
    for (size_t i = 0; i < 200 && i < b.len; i++) {
        size_t at_ = b.len - 1 - i * 37 % b.len;
        uint8_t old = b.p[at_];
        b.p[at_] ^= 0x5a;
        load_dev(kbd->vd, &b);
        b.p[at_] = old;
    }
    CHECK(load_dev(kbd->vd, &b) == 0);
    free(b.p);
    CHECK(cfg_read(kbd, 2, 1) == 20);   /* "QEMU Virtio Keyboard" */
    notify(kbd, 0);                      /* nothing new posted: nothing goes */
    for (unsigned i = 0; i < QN; i++)
        post(kbd, 0, i, 8, true);
    notify(kbd, 0);
    CHECK(expect(kbd, EV_KEY, KEY_F, 1));
    CHECK(expect(kbd, EV_KEY, KEY_G, 1));
    CHECK(expect(kbd, EV_SYN, SYN_REPORT, 0));
}

static void test_hostile(struct drv *kbd, struct drv *tab)
{
    uint16_t t, c;
    int32_t v;
    /* an event buffer of 4 bytes: device error, nothing written */
    while (next_event(tab, &t, &c, &v))
        ;
    init(tab);
    memset(at(BUF(2)), 0xee, 16);   /* after init, which clears the areas */
    post(tab, 0, 0, 4, true);
    notify(tab, 0);
    input_abs(INPUT_AXIS_X, 1, 2);
    input_sync();
    CHECK(tab->vd->broken && (tab->vd->status & VIRTIO_STATUS_NEEDS_RESET));
    CHECK(at(BUF(2))[0] == 0xee);
    /* after a reset it works again */
    init(tab);
    CHECK(!tab->vd->broken);
    memset(at(BUF(2)), 0xee, 16);
    /* a driver-readable event buffer */
    post(tab, 0, 0, 8, false);
    notify(tab, 0);
    input_abs(INPUT_AXIS_X, 1, 2);
    input_sync();
    CHECK(tab->vd->broken);
    CHECK(at(BUF(2))[0] == 0xee);
    /* a short status buffer */
    post(kbd, 1, 0, 3, false);
    notify(kbd, 1);
    CHECK(kbd->vd->broken);
    /* a broken device takes no events and writes nothing */
    input_key(KEY_A, true);
    input_sync();
    CHECK(!next_event(kbd, &t, &c, &v));
}

int main(void)
{
    if (mem_add_ram(&mem, "ram", RAM_BASE, RAM_SIZE, false, NULL) < 0 ||
        !(loop = loop_new(NULL)))
        return 1;
    ram = mem_ram_ptr(&mem, RAM_BASE, RAM_SIZE, false);
    struct error *err = NULL;
    struct virtio_dev *junk;
    const struct vdev_env env = { .mem = &mem, .loop = loop };
    CHECK(vdev_create(&junk, "virtio-keyboard-device,bogus=1", &env, &err) < 0);
    err_free(err);

    struct drv kbd = { 0 }, tab = { 0 };
    setup(&kbd, "virtio-keyboard-device,serial=kb01", 0);
    setup(&tab, "virtio-tablet-device,id=t0", 2);
    CHECK(kbd.vd->ops->device_id == 18 && kbd.vd->n_queues == 2);
    CHECK(input_has_handler(INPUT_KEY) && input_has_handler(INPUT_ABS));
    CHECK(!input_has_handler(INPUT_REL));

    test_config(&kbd, &tab);
    test_events(&kbd, &tab);
    test_leds(&kbd);
    test_savevm(&kbd);
    test_hostile(&kbd, &tab);

    /* a mouse whose driver never came: its events are dropped, counted */
    struct virtio_dev *mouse;
    CHECK(vdev_create(&mouse, "virtio-mouse-device", &env, NULL) == 0);
    virtio_dev_set_transport(mouse, &tr, NULL);
    CHECK(input_has_handler(INPUT_REL));
    input_rel(INPUT_AXIS_X, 5);
    input_rel(INPUT_AXIS_Y, -5);
    input_sync();
    CHECK(virtio_input_dropped(mouse) == 3);
    char name[32] = { 0 };
    hw_lock();
    virtio_config_write(mouse, 0, 1, 1);
    for (unsigned i = 0; i < 17; i++) {
        uint64_t ch;
        virtio_config_read(mouse, 8 + i, 1, &ch);
        name[i] = (char)ch;
    }
    virtio_config_write(mouse, 0, 2, 0x11 | EV_REL << 8);
    uint64_t rel;
    virtio_config_read(mouse, 8, 2, &rel);
    hw_unlock();
    CHECK(strcmp(name, "QEMU Virtio Mouse") == 0);
    CHECK(rel == (1u << REL_X | 1u << REL_Y | 1u << REL_WHEEL));
    mouse->ops->free(mouse);

    kbd.vd->ops->free(kbd.vd);
    tab.vd->ops->free(tab.vd);
    CHECK(!input_has_handler(INPUT_KEY) && !input_has_handler(INPUT_BTN));
    loop_free(loop);
    mem_map_free(&mem);
    return unit_result();
}
