/* test-virtio-gpu.c - virtio-gpu (hw/virtio/gpu.c) against a driver that
 * lies: every command with bad ids, rectangles that wrap around, backing
 * outside guest RAM, offsets past the backing, more memory than allowed,
 * short requests and short response buffers; then the good path, which
 * must put the guest's pixels into the console (lib/display.h) and count
 * one frame per flush, and nothing when nothing was flushed.
 *
 * The test plays the driver: it writes requests and descriptors into a
 * guest RAM of its own, notifies the queue and runs the loop once. */
#include <config.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "hw/hw.h"
#include "hw/mem.h"
#include "hw/virtio/models.h"
#include "hw/virtio/virtio.h"
#include "display.h"
#include "loop.h"
#include "vmstate.h"

#define RAM_BASE UINT64_C(0x80000000)
#define RAM_SIZE 0x100000
#define QN 16
#define DESC (RAM_BASE)
#define AVAIL (RAM_BASE + 0x1000)
#define USED (RAM_BASE + 0x2000)
#define REQ (RAM_BASE + 0x10000)
#define RESP (RAM_BASE + 0x20000)
#define PIX (RAM_BASE + 0x40000)

static struct mem_map mem;
static uint8_t *ram;
static struct loop *loop;
static struct virtio_dev *vd;
static uint16_t avail_idx[2];
static int failures;

#define CHECK(cond, ...)                                                             \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "test-virtio-gpu:%d: ", __LINE__);                       \
            fprintf(stderr, __VA_ARGS__);                                            \
            fprintf(stderr, "\n");                                                   \
            failures++;                                                              \
        }                                                                            \
    } while (0)

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

static uint32_t get32(const uint8_t *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void update_irq(void *opaque, struct virtio_dev *d)
{
    (void)opaque, (void)d;
}

static const struct virtio_transport tr = { update_irq };

static void setup(const char *spec)
{
    const struct vdev_env env = { .mem = &mem, .loop = loop };
    struct error *err = NULL;
    if (vdev_create(&vd, spec, &env, &err) < 0) {
        fprintf(stderr, "test-virtio-gpu: %s: %s\n", spec, err->msg);
        exit(1);
    }
    virtio_dev_set_transport(vd, &tr, NULL);
    virtio_set_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    vd->driver_features = vd->host_features;
    virtio_set_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                              VIRTIO_STATUS_FEATURES_OK);
    for (int q = 0; q < 2; q++) {
        struct virtq *vq = &vd->vq[q];
        vq->num = QN;
        vq->desc_pa = DESC + 0x4000 * (uint64_t)q;
        vq->avail_pa = AVAIL + 0x4000 * (uint64_t)q;
        vq->used_pa = USED + 0x4000 * (uint64_t)q;
        virtq_set_ready(vd, q, true);
    }
    virtio_set_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                              VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
    avail_idx[0] = avail_idx[1] = 0;
}

/* Send LEN bytes of request (already at REQ, followed by EXTRA bytes of
 * payload there) on queue Q with RESP_LEN bytes for the answer; returns
 * the response type (0: none written). */
static uint32_t send_q(int q, size_t len, size_t resp_len)
{
    uint8_t *d = at(DESC + 0x4000 * (uint64_t)q);
    memset(at(RESP), 0, 2048);
    put64(d, REQ), put32(d + 8, (uint32_t)len), put16(d + 12, resp_len ? 1 : 0), put16(d + 14, 1);
    put64(d + 16, RESP), put32(d + 24, (uint32_t)resp_len), put16(d + 28, 2), put16(d + 30, 0);
    uint8_t *av = at(AVAIL + 0x4000 * (uint64_t)q);
    put16(av + 4 + 2 * (avail_idx[q] % QN), 0);
    avail_idx[q]++;
    put16(av + 2, avail_idx[q]);
    hw_lock();
    virtio_queue_notify(vd, q);
    hw_unlock();
    loop_run_once(loop, false, NULL);
    return get32(at(RESP));
}

static uint32_t send(size_t len)
{
    return send_q(0, len, 2048);
}

/* A request header of TYPE at REQ. */
static uint8_t *req(uint32_t type)
{
    memset(at(REQ), 0, 4096);
    put32(at(REQ), type);
    return at(REQ) + 24;
}

static uint32_t create(uint32_t id, uint32_t fmt, uint32_t w, uint32_t h)
{
    uint8_t *p = req(0x101);
    put32(p, id), put32(p + 4, fmt), put32(p + 8, w), put32(p + 12, h);
    return send(40);
}

static uint32_t rect_cmd(uint32_t type, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
                         uint64_t off, uint32_t a, uint32_t b)
{
    uint8_t *p = req(type);
    put32(p, x), put32(p + 4, y), put32(p + 8, w), put32(p + 12, h);
    if (type == 0x105) {        /* transfer: offset, resource */
        put64(p + 16, off), put32(p + 24, a);
        return send(56);
    }
    put32(p + 16, a), put32(p + 20, b);     /* scanout: scanout, resource; flush: resource */
    return send(48);
}

static uint32_t attach(uint32_t id, uint32_t n, uint64_t addr, uint32_t len, size_t sent)
{
    uint8_t *p = req(0x106);
    put32(p, id), put32(p + 4, n);
    for (uint32_t i = 0; i < n && i < 64; i++)
        put64(p + 8 + 16 * i, addr + (uint64_t)i * len), put32(p + 16 + 16 * i, len);
    return send(sent);
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

static void save_model(struct virtio_dev *d, struct buf *b)
{
    struct vms_out *f;
    uint64_t size;
    *b = (struct buf){ 0 };
    if (vms_out_new(&f, buf_write, b, NULL) < 0)
        exit(1);
    vms_section_begin(f, "virtio-gpu", 0, d->ops->vmstate_version);
    d->ops->save(d, f);
    vms_section_end(f);
    if (vms_out_finish(f, &size, NULL) < 0)
        exit(1);
    vms_out_free(f);
}

/* Load B into D's model: 0, or -1 when the stream was refused. */
static int load_model(struct virtio_dev *d, const struct buf *b)
{
    struct vms_in *f = NULL;
    struct error *err = NULL;
    char name[VMS_NAME_MAX + 1];
    uint32_t inst, ver;
    int r = vms_in_new(&f, buf_read, (void *)b, b->len, &err);
    if (r == 0)
        r = vms_in_section(f, name, &inst, &ver, &err);
    if (r > 0) {
        d->ops->load(d, f, ver);
        r = vms_section_finish(f, &err);
    }
    if (f)
        vms_in_free(f);
    err_free(err);
    return r < 0 ? -1 : 0;
}

enum {
    OK = 0x1100, OK_INFO = 0x1101, OK_EDID = 0x1104, E_UNSPEC = 0x1200, E_OOM, E_SCANOUT,
    E_RES, E_CTX, E_PARAM
};

int main(void)
{
    if (mem_add_ram(&mem, "ram", RAM_BASE, RAM_SIZE, false, NULL) < 0 ||
        !(loop = loop_new(NULL)))
        return 1;
    ram = mem_ram_ptr(&mem, RAM_BASE, RAM_SIZE, false);
    setup("virtio-gpu-device,id=gpu0,xres=640,yres=480,max_hostmem=1M");
    struct display_console *con = display_console_find("gpu0", 0, NULL);
    CHECK(con && display_console_at(0) == con, "console gpu0 head 0 not found");

    /* queries */
    req(0x100);
    CHECK(send(24) == OK_INFO, "GET_DISPLAY_INFO");
    CHECK(get32(at(RESP) + 24 + 8) == 640 && get32(at(RESP) + 24 + 12) == 480 &&
              get32(at(RESP) + 24 + 16) == 1, "display info: mode %ux%u",
          get32(at(RESP) + 32), get32(at(RESP) + 36));
    req(0x100);
    CHECK(send_q(0, 24, 30) == OK_INFO && get32(at(RESP) + 32) == 0,
          "a short response buffer gets the header only");
    put32(req(0x10a), 0);
    CHECK(send(32) == OK_EDID && get32(at(RESP) + 24) == 128, "GET_EDID");
    uint8_t sum = 0;
    for (int i = 0; i < 128; i++)
        sum = (uint8_t)(sum + at(RESP)[32 + i]);
    CHECK(sum == 0 && at(RESP)[32 + 1] == 0xff, "EDID checksum");
    put32(req(0x10a), 7);
    CHECK(send(32) == E_SCANOUT, "GET_EDID of scanout 7");
    req(0x1ff);
    CHECK(send(24) == E_UNSPEC, "unknown command");

    /* fences are echoed */
    put32(req(0x100) - 20, 1);
    put64(at(REQ) + 8, 0x1122334455667788ull);
    CHECK(send(24) == OK_INFO && get32(at(RESP) + 4) == 1 && get32(at(RESP) + 8) == 0x55667788,
          "fence not echoed");

    /* resources */
    CHECK(create(0, 2, 64, 64) == E_RES, "resource id 0");
    CHECK(create(1, 999, 64, 64) == E_PARAM, "unknown format");
    CHECK(create(1, 2, 0, 64) == E_PARAM, "width 0");
    CHECK(create(1, 2, 0x80000000u, 2) == E_PARAM, "width 2^31");
    CHECK(create(1, 2, 1024, 1024) == E_OOM, "4 MiB over max_hostmem=1M");
    CHECK(create(1, 2, 64, 64) == OK, "create 64x64");
    CHECK(create(1, 2, 64, 64) == E_RES, "duplicate id");
    req(0x101);
    CHECK(send(30) == E_UNSPEC, "short create request");
    unsigned made = 0;
    while (create(100 + made, 2, 128, 128) == OK && made < 100)
        made++;
    CHECK(made > 0 && made < 16, "max_hostmem bounds the resources: %u of 64 KiB made", made);
    for (unsigned i = 0; i < made; i++) {
        put32(req(0x102), 100 + i);
        CHECK(send(32) == OK, "unref %u", 100 + i);
    }
    put32(req(0x102), 100);
    CHECK(send(32) == E_RES, "unref twice");

    /* backing */
    CHECK(attach(9, 1, PIX, 4096, 48) == E_RES, "attach to an unknown resource");
    CHECK(attach(1, 1, RAM_BASE + RAM_SIZE - 16, 4096, 48) == E_PARAM, "backing past RAM");
    CHECK(attach(1, 1, 0xfffffffffffff000ull, 0x2000, 48) == E_PARAM, "backing wrapping");
    CHECK(attach(1, 1, 0x1000, 4096, 48) == E_PARAM, "backing outside RAM");
    CHECK(attach(1, 0xffffffffu, PIX, 4096, 48) == E_PARAM, "2^32-1 entries");
    CHECK(attach(1, 4, PIX, 4096, 48) == E_PARAM, "4 entries in a request of 1");
    CHECK(attach(1, 4, PIX, 4096, 32 + 64) == OK, "attach 4 pages");
    CHECK(attach(1, 4, PIX, 4096, 32 + 64) == E_UNSPEC, "attach twice");

    /* transfers: the backing is 16 KiB = the 64x64 resource */
    for (int i = 0; i < 64 * 64; i++)
        put32(at(PIX) + 4 * i, 0x00102030u + (uint32_t)i);
    CHECK(rect_cmd(0x105, 0xffffffffu, 0, 2, 1, 0, 1, 0) == E_PARAM, "x wraps");
    CHECK(rect_cmd(0x105, 0, 1, 64, 0xffffffffu, 0, 1, 0) == E_PARAM, "h wraps");
    CHECK(rect_cmd(0x105, 0, 0, 64, 64, 4, 1, 0) == E_PARAM, "offset: 4 bytes past the end");
    CHECK(rect_cmd(0x105, 0, 0, 1, 1, ~0ull, 1, 0) == E_PARAM, "offset 2^64-1");
    CHECK(rect_cmd(0x105, 0, 0, 64, 64, 0, 2, 0) == E_RES, "transfer to an unknown resource");
    CHECK(rect_cmd(0x105, 0, 0, 64, 64, 0, 1, 0) == OK, "transfer the whole resource");

    /* scanout and flush */
    struct display_stats st0, st;
    display_get_stats(con, &st0);
    CHECK(rect_cmd(0x103, 0, 0, 64, 64, 0, 1, 1) == E_SCANOUT, "scanout 1 of 1");
    CHECK(rect_cmd(0x103, 0, 0, 64, 64, 0, 0, 5) == E_RES, "scanout of an unknown resource");
    CHECK(rect_cmd(0x103, 1, 0, 64, 64, 0, 0, 1) == E_PARAM, "scanout rectangle outside");
    CHECK(rect_cmd(0x103, 0, 0, 0, 0, 0, 0, 1) == E_PARAM, "empty scanout rectangle");
    CHECK(rect_cmd(0x103, 0, 0, 64, 64, 0, 0, 1) == OK, "set scanout");
    const struct display_surface *s = display_read_begin(con);
    CHECK(s->width == 64 && s->height == 64, "surface %ux%u", s->width, s->height);
    /* the surface's fourth byte is unspecified (X) */
    CHECK((get32(s->pixels + 4 * (64 * 3 + 5)) & 0xffffff) == (0x102030u + 64 * 3 + 5),
          "pixel (5,3) is %08x", get32(s->pixels + 4 * (64 * 3 + 5)));
    display_read_end(con);
    display_get_stats(con, &st);
    CHECK(st.frames == st0.frames + 1 && st.pixels == st0.pixels + 64 * 64,
          "set scanout: %llu frames", (unsigned long long)(st.frames - st0.frames));
    CHECK(rect_cmd(0x104, 0, 0, 65, 1, 0, 1, 0) == E_PARAM, "flush outside the resource");
    CHECK(rect_cmd(0x104, 0, 0, 1, 1, 0, 7, 0) == E_RES, "flush of an unknown resource");
    req(0x100);
    send(24);
    display_get_stats(con, &st0);
    CHECK(st0.frames == st.frames, "a command that draws nothing costs a frame");
    put32(at(PIX), 0x00aabbcc);
    CHECK(rect_cmd(0x105, 0, 0, 1, 1, 0, 1, 0) == OK, "transfer one pixel");
    CHECK(rect_cmd(0x104, 0, 0, 1, 1, 0, 1, 0) == OK, "flush one pixel");
    display_get_stats(con, &st);
    CHECK(st.frames == st0.frames + 1 && st.regions == st0.regions + 1 &&
              st.pixels == st0.pixels + 1, "flush of one pixel: %llu pixels",
          (unsigned long long)(st.pixels - st0.pixels));
    s = display_read_begin(con);
    CHECK((get32(s->pixels) & 0xffffff) == 0xaabbccu, "pixel (0,0) is %08x", get32(s->pixels));
    display_read_end(con);

    /* savevm: the resources and the scanout come back in another device;
     * a damaged stream is refused without harm */
    struct buf b;
    save_model(vd, &b);
    struct virtio_dev *first = vd;
    uint16_t saved_idx[2] = { avail_idx[0], avail_idx[1] };
    setup("virtio-gpu-device,id=gpu1,xres=640,yres=480,max_hostmem=1M");
    struct virtio_dev *second = vd;
    struct display_console *con2 = display_console_find("gpu1", 0, NULL);
    CHECK(load_model(second, &b) == 0, "loading the saved state");
    s = display_read_begin(con2);
    CHECK(s->width == 64 && (get32(s->pixels) & 0xffffff) == 0xaabbccu &&
              (get32(s->pixels + 4 * (64 * 3 + 5)) & 0xffffff) == 0x102030u + 64 * 3 + 5,
          "loaded scanout: %ux%u", s->width, s->height);
    display_read_end(con2);
    for (size_t cut = 0; cut < b.len; cut += 1 + cut / 3) {
        struct buf t = { b.p, cut };
        load_model(second, &t);     /* refused or not: no crash, no leak */
    }
    for (size_t i = 0; i < 256 && i < b.len; i++) {
        uint8_t old = b.p[b.len - 1 - i * 61 % b.len];
        b.p[b.len - 1 - i * 61 % b.len] ^= 0xa5;
        load_model(second, &b);
        b.p[b.len - 1 - i * 61 % b.len] = old;
    }
    CHECK(load_model(second, &b) == 0, "the state again after the damaged ones");
    free(b.p);
    second->ops->free(second);
    vd = first;
    avail_idx[0] = saved_idx[0], avail_idx[1] = saved_idx[1];

    /* cursor queue: nothing written back, bad scanouts ignored */
    uint8_t *p = req(0x300);
    put32(p, 3), put32(p + 16, 1);
    CHECK(send_q(1, 56, 0) == 0, "cursor on scanout 3");
    p = req(0x300);
    put32(p + 16, 1), put32(p + 20, 1000);
    send_q(1, 56, 0);
    p = req(0x301);
    put32(p + 4, 10);
    send_q(1, 56, 0);
    CHECK(!vd->broken, "the cursor queue broke the device");

    /* a screendump as PPM: the header and 64x64 RGB pixels */
    char path[] = "/tmp/test-virtio-gpu.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && display_screendump(con, path, DISPLAY_DUMP_PPM, NULL) == 0, "PPM dump");
    FILE *pf = fopen(path, "rb");
    uint8_t ppm[16 + 64 * 64 * 3 + 1];
    size_t got = pf ? fread(ppm, 1, sizeof(ppm), pf) : 0;
    CHECK(got == 13 + 64 * 64 * 3 && memcmp(ppm, "P6\n64 64\n255\n", 13) == 0 &&
              ppm[13] == 0xaa && ppm[14] == 0xbb && ppm[15] == 0xcc, "PPM dump: %zu bytes", got);
    if (pf)
        fclose(pf);
    if (fd >= 0)
        close(fd);

    /* detach, unref: the scanout goes */
    put32(req(0x107), 1);
    CHECK(send(32) == OK, "detach");
    CHECK(rect_cmd(0x105, 0, 0, 1, 1, 0, 1, 0) == E_UNSPEC, "transfer without backing");
    put32(req(0x102), 1);
    CHECK(send(32) == OK, "unref the scanned-out resource");
    s = display_read_begin(con);
    CHECK(s->width == 0, "the scanout still shows a freed resource");
    display_read_end(con);
    CHECK(display_screendump(con, path, DISPLAY_DUMP_PPM, NULL) < 0 && access(path, F_OK) == 0,
          "a dump without a surface must fail before it touches the file");
    unlink(path);

    /* a request shorter than its header breaks the device */
    req(0x100);
    send(10);
    CHECK(vd->broken && (vd->status & VIRTIO_STATUS_NEEDS_RESET), "short header accepted");

    vd->ops->free(vd);
    CHECK(display_console_at(0) == NULL, "the console outlived its device");
    loop_free(loop);
    mem_map_free(&mem);
    if (failures)
        return 1;
    printf("test-virtio-gpu: ok\n");
    return 0;
}
