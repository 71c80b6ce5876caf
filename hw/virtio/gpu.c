/* gpu.c - virtio-gpu in 2D mode (virtio 1.2, 5.7): what Linux's
 * virtio_gpu driver needs for a frame buffer console and a desktop.
 *
 * The guest creates resources (2D images in host memory), attaches guest
 * pages to them as backing, copies from the backing into the resource
 * (TRANSFER_TO_HOST_2D), shows a resource on a scanout (SET_SCANOUT) and
 * says what changed (RESOURCE_FLUSH).  Each scanout is a console of the
 * display core (lib/display.h); a flush copies the changed rectangle of
 * the scanout's resource into the console and hands it on, so back ends
 * and screendumps see only what the guest flushed.  The cursor queue
 * defines and moves the pointer image.
 *
 * Untrusted guest: every resource id is looked up (never an index),
 * every rectangle is checked against its resource in 64-bit arithmetic,
 * the backing entries must each lie inside guest RAM (checked again at
 * each transfer, through mem_ram_ptr), a transfer must stay inside the
 * backing, and the resources' host memory is bounded (max_hostmem, as
 * qemu's property, counting a fixed overhead per resource so that many
 * tiny resources are bounded too).  A bad command gets its
 * VIRTIO_GPU_RESP_ERR_* and a guest_errors log line; only a chain too
 * short for the header breaks the device (virtio_error).
 *
 * Commands run in the loop thread (a bottom half) under the device lock. */
#include <config.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "hw/virtio/virtio.h"
#include "hw/virtio/models.h"
#include "hw/hw.h"
#include "block/block.h"
#include "display.h"
#include "i18n.h"
#include "keyval.h"
#include "log.h"
#include "loop.h"
#include "parse.h"
#include "vmstate.h"

#define VIRTIO_ID_GPU 16
#define VIRTIO_GPU_F_EDID 1
#define QUEUE_SIZE 256
#define MAX_SCANOUTS 16
#define MAX_RESOURCES 4096
#define MAX_BACKING_ENTRIES 16384
#define RES_OVERHEAD 256        /* host bytes charged per resource besides its pixels */
#define MODE_MAX 4095           /* an EDID detailed timing has 12 bits per side */
#define CURSOR_MAX 256          /* a cursor image is at most this wide and high */

enum {
    CMD_GET_DISPLAY_INFO = 0x0100,
    CMD_RESOURCE_CREATE_2D,
    CMD_RESOURCE_UNREF,
    CMD_SET_SCANOUT,
    CMD_RESOURCE_FLUSH,
    CMD_TRANSFER_TO_HOST_2D,
    CMD_RESOURCE_ATTACH_BACKING,
    CMD_RESOURCE_DETACH_BACKING,
    CMD_GET_CAPSET_INFO,
    CMD_GET_CAPSET,
    CMD_GET_EDID,
    CMD_UPDATE_CURSOR = 0x0300,
    CMD_MOVE_CURSOR,
    RESP_OK_NODATA = 0x1100,
    RESP_OK_DISPLAY_INFO,
    RESP_OK_CAPSET_INFO,
    RESP_OK_CAPSET,
    RESP_OK_EDID,
    RESP_ERR_UNSPEC = 0x1200,
    RESP_ERR_OUT_OF_MEMORY,
    RESP_ERR_INVALID_SCANOUT_ID,
    RESP_ERR_INVALID_RESOURCE_ID,
    RESP_ERR_INVALID_CONTEXT_ID,
    RESP_ERR_INVALID_PARAMETER,
};
#define FLAG_FENCE 1
#define EVENT_DISPLAY 1
#define HDR_LEN 24
#define EDID_LEN 128

/* Config space (5.7.4). */
#define CFG_EVENTS_READ 0
#define CFG_EVENTS_CLEAR 4
#define CFG_NUM_SCANOUTS 8
#define CFG_NUM_CAPSETS 12
#define CFG_LEN 16

struct backing {
    uint64_t addr;
    uint32_t len;
    uint64_t start;             /* offset of this entry in the backing */
};

struct gpu_res {
    uint32_t id, width, height;
    enum display_format fmt;
    uint8_t *pixels;            /* width * height * 4 bytes, in fmt */
    uint64_t cost;              /* charged against max_hostmem */
    struct backing *backing;
    uint32_t n_backing;
    uint64_t backing_len;
    struct gpu_res *next;
};

struct scanout {
    struct display_console *con;
    uint32_t width, height;     /* the mode offered */
    uint32_t res_id;            /* 0: disabled */
    struct display_rect r;      /* what of the resource it shows */
};

struct virtio_gpu {
    struct virtio_dev vd;
    struct loop_bh *bh;
    struct mem_map *mem;
    uint32_t n_scanouts;
    struct scanout so[MAX_SCANOUTS];
    struct gpu_res *res;
    unsigned n_res;
    uint64_t hostmem, max_hostmem;
    bool edid;
};

/* Little-endian fields of a request. */
static uint32_t le32(const uint8_t *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16),
    p[3] = (uint8_t)(v >> 24);
}

static void gpu_err(const char *fmt, ...) EMU_PRINTF(1, 2);
static void gpu_err(const char *fmt, ...)
{
    if (!log_on(LOG_GUEST_ERROR))
        return;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    log_msg(LOG_GUEST_ERROR, "virtio-gpu: %s", buf);
}

static bool format_of(uint32_t vf, enum display_format *out)
{
    switch (vf) {
    case 1: *out = DISPLAY_FMT_BGRA; return true;    /* B8G8R8A8_UNORM */
    case 2: *out = DISPLAY_FMT_BGRX; return true;    /* B8G8R8X8_UNORM */
    case 3: *out = DISPLAY_FMT_ARGB; return true;    /* A8R8G8B8_UNORM */
    case 4: *out = DISPLAY_FMT_XRGB; return true;    /* X8R8G8B8_UNORM */
    case 67: *out = DISPLAY_FMT_RGBA; return true;   /* R8G8B8A8_UNORM */
    case 68: *out = DISPLAY_FMT_XBGR; return true;   /* X8B8G8R8_UNORM */
    case 121: *out = DISPLAY_FMT_ABGR; return true;  /* A8B8G8R8_UNORM */
    case 134: *out = DISPLAY_FMT_RGBX; return true;  /* R8G8B8X8_UNORM */
    }
    return false;
}

static struct gpu_res *res_find(struct virtio_gpu *g, uint32_t id)
{
    for (struct gpu_res *r = g->res; r; r = r->next)
        if (r->id == id)
            return r;
    return NULL;
}

/* Read rectangle fields at P; true when R lies inside RES. */
static bool rect_in(const uint8_t *p, const struct gpu_res *res, struct display_rect *r)
{
    *r = (struct display_rect){ le32(p), le32(p + 4), le32(p + 8), le32(p + 12) };
    return (uint64_t)r->x + r->w <= res->width && (uint64_t)r->y + r->h <= res->height;
}

static void scanout_disable(struct virtio_gpu *g, struct scanout *s)
{
    (void)g;
    s->res_id = 0;
    display_resize(s->con, 0, 0, NULL);
    display_cursor_define(s->con, 0, 0, 0, 0, NULL);
}

/* Copy R (resource coordinates) of RES to every scanout that shows it. */
static void res_show(struct virtio_gpu *g, const struct gpu_res *res, const struct display_rect *r)
{
    for (uint32_t i = 0; i < g->n_scanouts; i++) {
        struct scanout *s = &g->so[i];
        if (s->res_id != res->id)
            continue;
        uint32_t x0 = MAX(r->x, s->r.x), y0 = MAX(r->y, s->r.y);
        uint32_t x1 = MIN(r->x + r->w, s->r.x + s->r.w), y1 = MIN(r->y + r->h, s->r.y + s->r.h);
        if (x0 >= x1 || y0 >= y1)
            continue;
        size_t stride = (size_t)res->width * 4;
        display_blit(s->con, &(struct display_rect){ x0 - s->r.x, y0 - s->r.y, x1 - x0, y1 - y0 },
                     res->pixels + (size_t)y0 * stride + (size_t)x0 * 4, stride, res->fmt);
        display_flush(s->con);
    }
}

static void res_free(struct virtio_gpu *g, struct gpu_res *res)
{
    for (uint32_t i = 0; i < g->n_scanouts; i++)
        if (g->so[i].res_id == res->id)
            scanout_disable(g, &g->so[i]);
    g->hostmem -= res->cost;
    g->n_res--;
    free(res->backing);
    free(res->pixels);
    free(res);
}

/* ---- the control queue's commands: each reads its request from REQ
 * (LEN bytes, the header included), may write a payload after the
 * response header in RESP, and returns the response type. ---- */

static uint32_t c_display_info(struct virtio_gpu *g, uint8_t *resp, size_t *rlen)
{
    memset(resp + HDR_LEN, 0, 16 * 24);
    for (uint32_t i = 0; i < g->n_scanouts; i++) {
        uint8_t *m = resp + HDR_LEN + 24 * i;
        put32(m + 8, g->so[i].width);
        put32(m + 12, g->so[i].height);
        put32(m + 16, i == 0);          /* enabled: the first head, as qemu */
    }
    *rlen = HDR_LEN + 16 * 24;
    return RESP_OK_DISPLAY_INFO;
}

/* An EDID 1.4 base block for W x H at 60 Hz: enough for Linux to take
 * the preferred mode from it. */
static void make_edid(uint8_t *e, uint32_t w, uint32_t h)
{
    static const uint8_t hdr[8] = { 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0 };
    memset(e, 0, EDID_LEN);
    memcpy(e, hdr, 8);
    /* manufacturer "EMU" in 5-bit letters, big-endian */
    uint16_t mfg = (uint16_t)((('E' - '@') << 10) | (('M' - '@') << 5) | ('U' - '@'));
    e[8] = (uint8_t)(mfg >> 8), e[9] = (uint8_t)mfg;
    e[10] = 0x34, e[11] = 0x12;         /* product code */
    e[16] = 1, e[17] = 34;              /* week 1 of 2024 */
    e[18] = 1, e[19] = 4;               /* EDID 1.4 */
    e[20] = 0xa5;                       /* digital, 8 bits per colour, DisplayPort */
    e[21] = (uint8_t)MIN(255u, MAX(1u, w / 40));
    e[22] = (uint8_t)MIN(255u, MAX(1u, h / 40));
    e[23] = 120;                        /* gamma 2.2 */
    e[24] = 0x06;                       /* RGB, preferred timing is native */
    /* sRGB chromaticity */
    static const uint8_t chroma[10] = { 0xee, 0x91, 0xa3, 0x54, 0x4c,
                                        0x99, 0x26, 0x0f, 0x50, 0x54 };
    memcpy(e + 25, chroma, 10);
    for (int i = 38; i < 54; i++)
        e[i] = 1;                       /* no standard timings */
    /* detailed timing: blanking of 160 x 30, 60 Hz, or less where the
     * 16-bit pixel clock (10 kHz units) would overflow (w, h < 4096) */
    uint32_t hb = 160, vb = 30, hfp = 48, hs = 32, vfp = 3, vs = 5;
    uint64_t frame = (uint64_t)(w + hb) * (h + vb);
    uint32_t hz = (uint32_t)MIN(60u, 65535u * 10000 / frame);
    uint32_t clk = (uint32_t)((frame * hz + 5000) / 10000);
    uint8_t *d = e + 54;
    d[0] = (uint8_t)clk, d[1] = (uint8_t)(clk >> 8);
    d[2] = (uint8_t)w, d[3] = (uint8_t)hb;
    d[4] = (uint8_t)(((w >> 8) & 15) << 4 | ((hb >> 8) & 15));
    d[5] = (uint8_t)h, d[6] = (uint8_t)vb;
    d[7] = (uint8_t)(((h >> 8) & 15) << 4 | ((vb >> 8) & 15));
    d[8] = (uint8_t)hfp, d[9] = (uint8_t)hs;
    d[10] = (uint8_t)((vfp & 15) << 4 | (vs & 15));
    d[11] = 0;
    uint32_t wmm = w / 4, hmm = h / 4;
    d[12] = (uint8_t)wmm, d[13] = (uint8_t)hmm;
    d[14] = (uint8_t)(((wmm >> 8) & 15) << 4 | ((hmm >> 8) & 15));
    d[17] = 0x1e;                       /* digital separate sync, both positive */
    /* monitor name */
    d = e + 72;
    d[3] = 0xfc;
    memcpy(d + 5, "EMU Monitor\n ", 13);
    /* range limits: 1-75 Hz vertical, 1-255 kHz horizontal, 650 MHz */
    d = e + 90;
    d[3] = 0xfd;
    d[5] = 1, d[6] = 75, d[7] = 1, d[8] = 255, d[9] = 65;
    d[10] = 1;
    memcpy(d + 11, "\n      ", 7);
    /* dummy descriptor */
    e[108 + 3] = 0x10;
    uint8_t sum = 0;
    for (int i = 0; i < 127; i++)
        sum = (uint8_t)(sum + e[i]);
    e[127] = (uint8_t)(256 - sum);
}

static uint32_t c_edid(struct virtio_gpu *g, const uint8_t *req, size_t len, uint8_t *resp,
                       size_t *rlen)
{
    if (len < HDR_LEN + 8)
        return RESP_ERR_UNSPEC;
    uint32_t id = le32(req + HDR_LEN);
    if (id >= g->n_scanouts) {
        gpu_err("GET_EDID: scanout %u of %u", id, g->n_scanouts);
        return RESP_ERR_INVALID_SCANOUT_ID;
    }
    memset(resp + HDR_LEN, 0, 8 + 1024);
    put32(resp + HDR_LEN, EDID_LEN);
    make_edid(resp + HDR_LEN + 8, g->so[id].width, g->so[id].height);
    *rlen = HDR_LEN + 8 + 1024;
    return RESP_OK_EDID;
}

static uint32_t c_create_2d(struct virtio_gpu *g, const uint8_t *req, size_t len)
{
    if (len < HDR_LEN + 16)
        return RESP_ERR_UNSPEC;
    uint32_t id = le32(req + HDR_LEN), vf = le32(req + HDR_LEN + 4);
    uint32_t w = le32(req + HDR_LEN + 8), h = le32(req + HDR_LEN + 12);
    enum display_format fmt;
    if (id == 0 || res_find(g, id)) {
        gpu_err("RESOURCE_CREATE_2D: resource id %u is %s", id, id ? "taken" : "invalid");
        return RESP_ERR_INVALID_RESOURCE_ID;
    }
    if (!format_of(vf, &fmt) || w == 0 || h == 0 || w > DISPLAY_MAX_SIDE ||
        h > DISPLAY_MAX_SIDE) {
        gpu_err("RESOURCE_CREATE_2D: resource %u: format %u, %ux%u", id, vf, w, h);
        return RESP_ERR_INVALID_PARAMETER;
    }
    uint64_t cost = (uint64_t)w * h * 4 + RES_OVERHEAD;
    if (g->n_res >= MAX_RESOURCES || cost > g->max_hostmem - g->hostmem) {
        gpu_err("RESOURCE_CREATE_2D: resource %u (%ux%u): over max_hostmem", id, w, h);
        return RESP_ERR_OUT_OF_MEMORY;
    }
    struct gpu_res *r = calloc(1, sizeof(*r));
    if (!r || !(r->pixels = calloc((size_t)w * h, 4))) {
        free(r);
        return RESP_ERR_OUT_OF_MEMORY;
    }
    *r = (struct gpu_res){ .id = id, .width = w, .height = h, .fmt = fmt, .pixels = r->pixels,
                           .cost = cost, .next = g->res };
    g->res = r;
    g->n_res++;
    g->hostmem += cost;
    return RESP_OK_NODATA;
}

static uint32_t c_unref(struct virtio_gpu *g, const uint8_t *req, size_t len)
{
    if (len < HDR_LEN + 8)
        return RESP_ERR_UNSPEC;
    uint32_t id = le32(req + HDR_LEN);
    for (struct gpu_res **p = &g->res; *p; p = &(*p)->next)
        if ((*p)->id == id) {
            struct gpu_res *r = *p;
            *p = r->next;
            res_free(g, r);
            return RESP_OK_NODATA;
        }
    gpu_err("RESOURCE_UNREF: no resource %u", id);
    return RESP_ERR_INVALID_RESOURCE_ID;
}

static uint32_t c_attach(struct virtio_gpu *g, const struct virtq_elem *e, const uint8_t *req,
                         size_t len)
{
    if (len < HDR_LEN + 8)
        return RESP_ERR_UNSPEC;
    uint32_t id = le32(req + HDR_LEN), n = le32(req + HDR_LEN + 4);
    struct gpu_res *r = res_find(g, id);
    if (!r) {
        gpu_err("RESOURCE_ATTACH_BACKING: no resource %u", id);
        return RESP_ERR_INVALID_RESOURCE_ID;
    }
    if (r->backing) {
        gpu_err("RESOURCE_ATTACH_BACKING: resource %u has backing already", id);
        return RESP_ERR_UNSPEC;
    }
    if (n == 0 || n > MAX_BACKING_ENTRIES ||
        e->out_len < (uint64_t)HDR_LEN + 8 + (uint64_t)n * 16) {
        gpu_err("RESOURCE_ATTACH_BACKING: resource %u: %u entries in %" PRIu64 " bytes", id, n,
                e->out_len);
        return RESP_ERR_INVALID_PARAMETER;
    }
    struct backing *b = calloc(n, sizeof(*b));
    if (!b)
        return RESP_ERR_OUT_OF_MEMORY;
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t ent[16];
        iov_to_buf(e->iov, (int)e->n_out, HDR_LEN + 8 + (size_t)i * 16, ent, sizeof(ent));
        b[i] = (struct backing){ le64(ent), le32(ent + 8), total };
        if (!b[i].len || !mem_ram_ptr(g->mem, b[i].addr, b[i].len, false)) {
            gpu_err("RESOURCE_ATTACH_BACKING: resource %u: entry %u at 0x%" PRIx64
                    "+%u is not guest RAM", id, i, b[i].addr, b[i].len);
            free(b);
            return RESP_ERR_INVALID_PARAMETER;
        }
        total += b[i].len;
    }
    r->backing = b;
    r->n_backing = n;
    r->backing_len = total;
    return RESP_OK_NODATA;
}

static uint32_t c_detach(struct virtio_gpu *g, const uint8_t *req, size_t len)
{
    if (len < HDR_LEN + 8)
        return RESP_ERR_UNSPEC;
    uint32_t id = le32(req + HDR_LEN);
    struct gpu_res *r = res_find(g, id);
    if (!r || !r->backing) {
        gpu_err("RESOURCE_DETACH_BACKING: resource %u %s", id, r ? "has no backing" : "unknown");
        return r ? RESP_ERR_UNSPEC : RESP_ERR_INVALID_RESOURCE_ID;
    }
    free(r->backing);
    r->backing = NULL;
    r->n_backing = 0;
    r->backing_len = 0;
    return RESP_OK_NODATA;
}

/* Copy LEN bytes at OFF of RES's backing to DST.  The caller checked
 * OFF + LEN <= backing_len; each piece is looked up in guest RAM again. */
static bool backing_read(struct virtio_gpu *g, const struct gpu_res *r, uint64_t off,
                         uint8_t *dst, size_t len)
{
    /* the last entry starting at or before OFF */
    uint32_t lo = 0, hi = r->n_backing;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (r->backing[mid].start <= off)
            lo = mid;
        else
            hi = mid;
    }
    for (uint32_t i = lo; len && i < r->n_backing; i++) {
        const struct backing *b = &r->backing[i];
        uint64_t in = off - b->start;
        if (in >= b->len)
            continue;
        size_t n = (size_t)MIN((uint64_t)len, b->len - in);
        const void *src = mem_ram_ptr(g->mem, b->addr + in, n, false);
        if (!src)
            return false;
        memcpy(dst, src, n);
        dst += n, off += n, len -= n;
    }
    return len == 0;
}

static uint32_t c_transfer(struct virtio_gpu *g, const uint8_t *req, size_t len)
{
    if (len < HDR_LEN + 32)
        return RESP_ERR_UNSPEC;
    uint64_t off = le64(req + HDR_LEN + 16);
    uint32_t id = le32(req + HDR_LEN + 24);
    struct gpu_res *r = res_find(g, id);
    struct display_rect rc;
    if (!r || !r->backing) {
        gpu_err("TRANSFER_TO_HOST_2D: resource %u %s", id, r ? "has no backing" : "unknown");
        return r ? RESP_ERR_UNSPEC : RESP_ERR_INVALID_RESOURCE_ID;
    }
    if (!rect_in(req + HDR_LEN, r, &rc)) {
        gpu_err("TRANSFER_TO_HOST_2D: resource %u (%ux%u): rectangle %u,%u+%ux%u outside", id,
                r->width, r->height, rc.x, rc.y, rc.w, rc.h);
        return RESP_ERR_INVALID_PARAMETER;
    }
    if (!rc.w || !rc.h)
        return RESP_OK_NODATA;
    uint64_t stride = (uint64_t)r->width * 4, row = (uint64_t)rc.w * 4;
    /* the last row's end, in 64 bits: off is the guest's, up to 2^64 */
    if (off > r->backing_len || (rc.h - 1) * stride + row > r->backing_len - off) {
        gpu_err("TRANSFER_TO_HOST_2D: resource %u: offset %" PRIu64 " beyond the backing's %"
                PRIu64 " bytes", id, off, r->backing_len);
        return RESP_ERR_INVALID_PARAMETER;
    }
    for (uint32_t y = 0; y < rc.h; y++) {
        uint8_t *dst = r->pixels + (rc.y + y) * stride + (uint64_t)rc.x * 4;
        if (!backing_read(g, r, off + y * stride, dst, (size_t)row))
            return RESP_ERR_INVALID_PARAMETER;
    }
    return RESP_OK_NODATA;
}

static uint32_t c_set_scanout(struct virtio_gpu *g, const uint8_t *req, size_t len)
{
    if (len < HDR_LEN + 24)
        return RESP_ERR_UNSPEC;
    uint32_t sid = le32(req + HDR_LEN + 16), id = le32(req + HDR_LEN + 20);
    if (sid >= g->n_scanouts) {
        gpu_err("SET_SCANOUT: scanout %u of %u", sid, g->n_scanouts);
        return RESP_ERR_INVALID_SCANOUT_ID;
    }
    struct scanout *s = &g->so[sid];
    if (id == 0) {
        scanout_disable(g, s);
        return RESP_OK_NODATA;
    }
    struct gpu_res *r = res_find(g, id);
    struct display_rect rc;
    if (!r) {
        gpu_err("SET_SCANOUT: no resource %u", id);
        return RESP_ERR_INVALID_RESOURCE_ID;
    }
    if (!rect_in(req + HDR_LEN, r, &rc) || !rc.w || !rc.h) {
        gpu_err("SET_SCANOUT: resource %u (%ux%u): rectangle %u,%u+%ux%u", id, r->width,
                r->height, rc.x, rc.y, rc.w, rc.h);
        return RESP_ERR_INVALID_PARAMETER;
    }
    bool resize = s->res_id == 0 || s->r.w != rc.w || s->r.h != rc.h;
    if (resize && display_resize(s->con, rc.w, rc.h, NULL) < 0)
        return RESP_ERR_OUT_OF_MEMORY;
    s->res_id = id;
    s->r = rc;
    res_show(g, r, &rc);
    return RESP_OK_NODATA;
}

static uint32_t c_flush(struct virtio_gpu *g, const uint8_t *req, size_t len)
{
    if (len < HDR_LEN + 24)
        return RESP_ERR_UNSPEC;
    uint32_t id = le32(req + HDR_LEN + 16);
    struct gpu_res *r = res_find(g, id);
    struct display_rect rc;
    if (!r) {
        gpu_err("RESOURCE_FLUSH: no resource %u", id);
        return RESP_ERR_INVALID_RESOURCE_ID;
    }
    if (!rect_in(req + HDR_LEN, r, &rc)) {
        gpu_err("RESOURCE_FLUSH: resource %u (%ux%u): rectangle %u,%u+%ux%u outside", id,
                r->width, r->height, rc.x, rc.y, rc.w, rc.h);
        return RESP_ERR_INVALID_PARAMETER;
    }
    res_show(g, r, &rc);
    return RESP_OK_NODATA;
}

static uint32_t ctrl_dispatch(struct virtio_gpu *g, const struct virtq_elem *e,
                              const uint8_t *req, size_t len, uint8_t *resp, size_t *rlen)
{
    switch (le32(req)) {
    case CMD_GET_DISPLAY_INFO: return c_display_info(g, resp, rlen);
    case CMD_GET_EDID: return c_edid(g, req, len, resp, rlen);
    case CMD_RESOURCE_CREATE_2D: return c_create_2d(g, req, len);
    case CMD_RESOURCE_UNREF: return c_unref(g, req, len);
    case CMD_RESOURCE_ATTACH_BACKING: return c_attach(g, e, req, len);
    case CMD_RESOURCE_DETACH_BACKING: return c_detach(g, req, len);
    case CMD_TRANSFER_TO_HOST_2D: return c_transfer(g, req, len);
    case CMD_SET_SCANOUT: return c_set_scanout(g, req, len);
    case CMD_RESOURCE_FLUSH: return c_flush(g, req, len);
    }
    gpu_err("control queue: unknown command 0x%x", le32(req));
    return RESP_ERR_UNSPEC;
}

/* The pointer image from RES (at most CURSOR_MAX square) as BGRA. */
static void cursor_define(struct virtio_gpu *g, struct scanout *s, uint32_t id, uint32_t hx,
                          uint32_t hy)
{
    struct gpu_res *r = id ? res_find(g, id) : NULL;
    if (!r || r->width > CURSOR_MAX || r->height > CURSOR_MAX || hx >= r->width ||
        hy >= r->height) {
        if (id)
            gpu_err("UPDATE_CURSOR: resource %u is no cursor image", id);
        display_cursor_define(s->con, 0, 0, 0, 0, NULL);
        return;
    }
    /* byte positions of B, G, R, A (4: none, opaque) per format */
    static const uint8_t pos[][4] = {
        [DISPLAY_FMT_BGRX] = { 0, 1, 2, 4 }, [DISPLAY_FMT_BGRA] = { 0, 1, 2, 3 },
        [DISPLAY_FMT_XRGB] = { 3, 2, 1, 4 }, [DISPLAY_FMT_ARGB] = { 3, 2, 1, 0 },
        [DISPLAY_FMT_RGBX] = { 2, 1, 0, 4 }, [DISPLAY_FMT_RGBA] = { 2, 1, 0, 3 },
        [DISPLAY_FMT_XBGR] = { 1, 2, 3, 4 }, [DISPLAY_FMT_ABGR] = { 1, 2, 3, 0 },
    };
    uint8_t img[CURSOR_MAX * CURSOR_MAX * 4];
    const uint8_t *p = pos[r->fmt];
    for (size_t i = 0; i < (size_t)r->width * r->height; i++) {
        const uint8_t *sp = r->pixels + 4 * i;
        uint8_t *d = img + 4 * i;
        d[0] = sp[p[0]], d[1] = sp[p[1]], d[2] = sp[p[2]];
        d[3] = p[3] < 4 ? sp[p[3]] : 0xff;
    }
    display_cursor_define(s->con, r->width, r->height, hx, hy, img);
}

static void cursor_cmd(struct virtio_gpu *g, const uint8_t *req, size_t len)
{
    if (len < HDR_LEN + 32) {
        gpu_err("cursor queue: request of %zu bytes", len);
        return;
    }
    uint32_t type = le32(req), sid = le32(req + HDR_LEN);
    int32_t x = (int32_t)le32(req + HDR_LEN + 4), y = (int32_t)le32(req + HDR_LEN + 8);
    if (sid >= g->n_scanouts) {
        gpu_err("cursor queue: scanout %u of %u", sid, g->n_scanouts);
        return;
    }
    struct scanout *s = &g->so[sid];
    if (type == CMD_UPDATE_CURSOR) {
        uint32_t id = le32(req + HDR_LEN + 16);
        cursor_define(g, s, id, le32(req + HDR_LEN + 20), le32(req + HDR_LEN + 24));
        display_cursor_move(s->con, x, y, id != 0);
    } else if (type == CMD_MOVE_CURSOR) {
        display_cursor_move(s->con, x, y, true);
    } else {
        gpu_err("cursor queue: unknown command 0x%x", type);
    }
}

static void gpu_process(void *opaque)
{
    struct virtio_gpu *g = opaque;
    struct virtq_elem e = { 0 };
    uint8_t req[HDR_LEN + 40];
    static uint8_t resp[HDR_LEN + 8 + 1024];    /* loop thread only, under the lock */
    hw_lock();
    for (int q = 0; q < 2; q++) {
        struct virtq *vq = &g->vd.vq[q];
        bool pushed = false;
        while (!g->vd.broken && virtq_pop(vq, &e) == 1) {
            size_t len = iov_to_buf(e.iov, (int)e.n_out, 0, req, sizeof(req));
            if (len < HDR_LEN) {
                virtio_error(&g->vd, "%s queue: a request of %zu bytes, shorter than its header",
                             q ? "cursor" : "control", len);
                break;
            }
            uint32_t written = 0;
            if (q == 0) {
                size_t rlen = HDR_LEN;
                uint32_t type = ctrl_dispatch(g, &e, req, len, resp, &rlen);
                memset(resp, 0, HDR_LEN);
                put32(resp, type);
                if (le32(req + 4) & FLAG_FENCE) {
                    /* done at once: the fence is signalled by this reply */
                    put32(resp + 4, FLAG_FENCE);
                    memcpy(resp + 8, req + 8, 12);      /* fence_id, ctx_id */
                }
                if (e.in_len < rlen)    /* no room for the payload: the header says why */
                    rlen = HDR_LEN;
                written = (uint32_t)iov_from_buf(e.iov + e.n_out, (int)e.n_in, 0, resp, rlen);
                for (unsigned i = 0, left = written; i < e.n_in && left; i++) {
                    size_t n = MIN(e.iov[e.n_out + i].iov_len, (size_t)left);
                    mem_dma_written(g->mem, e.pa[e.n_out + i], n);
                    left -= (unsigned)n;
                }
            } else {
                cursor_cmd(g, req, len);
            }
            virtq_push(vq, &e, written, g->vd.generation);
            pushed = true;
        }
        if (pushed)
            virtq_notify(vq);
    }
    hw_unlock();
    virtq_elem_free(&e);
}

static void gpu_queue_notify(struct virtio_dev *vd, int q)
{
    struct virtio_gpu *g = vd->opaque;
    (void)q;
    loop_bh_schedule(g->bh);
}

static bool gpu_config_write(struct virtio_dev *vd, uint32_t off, unsigned size, uint64_t val)
{
    if (off != CFG_EVENTS_CLEAR || size != 4)
        return false;
    uint32_t ev = le32(vd->config + CFG_EVENTS_READ) & ~(uint32_t)val;
    virtio_cfg_put32(vd, CFG_EVENTS_READ, ev);
    return true;
}

static void gpu_free_resources(struct virtio_gpu *g)
{
    while (g->res) {
        struct gpu_res *r = g->res;
        g->res = r->next;
        res_free(g, r);
    }
}

static void gpu_reset(struct virtio_dev *vd)
{
    struct virtio_gpu *g = vd->opaque;
    gpu_free_resources(g);
    for (uint32_t i = 0; i < g->n_scanouts; i++)
        scanout_disable(g, &g->so[i]);
    virtio_cfg_put32(vd, CFG_EVENTS_READ, 0);
}

static void gpu_free(struct virtio_dev *vd)
{
    struct virtio_gpu *g = vd->opaque;
    loop_bh_free(g->bh);
    gpu_free_resources(g);
    for (uint32_t i = 0; i < MAX_SCANOUTS; i++)
        display_console_free(g->so[i].con);
    virtio_dev_cleanup(&g->vd);
    free(g);
}

/* savevm: the resources (pixels and backing) and what each scanout
 * shows.  The pointer image is not kept: Linux defines it again at its
 * next move. */
static void gpu_save(struct virtio_dev *vd, struct vms_out *f)
{
    struct virtio_gpu *g = vd->opaque;
    vms_put_u32(f, g->n_scanouts);
    for (uint32_t i = 0; i < g->n_scanouts; i++) {
        const struct scanout *so = &g->so[i];
        vms_put_u32(f, so->res_id);
        vms_put_u32(f, so->r.x), vms_put_u32(f, so->r.y);
        vms_put_u32(f, so->r.w), vms_put_u32(f, so->r.h);
    }
    vms_put_u32(f, g->n_res);
    for (const struct gpu_res *r = g->res; r; r = r->next) {
        vms_put_u32(f, r->id);
        vms_put_u32(f, (uint32_t)r->fmt);
        vms_put_u32(f, r->width), vms_put_u32(f, r->height);
        vms_put_bytes(f, r->pixels, (size_t)r->width * r->height * 4);
        vms_put_u32(f, r->n_backing);
        for (uint32_t k = 0; k < r->n_backing; k++) {
            vms_put_u64(f, r->backing[k].addr);
            vms_put_u32(f, r->backing[k].len);
        }
    }
}

/* One resource from the stream, checked as RESOURCE_CREATE_2D and
 * ATTACH_BACKING check the guest's; NULL after an error. */
static struct gpu_res *load_res(struct virtio_gpu *g, struct vms_in *f)
{
    uint32_t id = vms_get_u32(f), fmt = vms_get_u32(f);
    uint32_t w = vms_get_u32(f), h = vms_get_u32(f);
    if (!vms_check(f, id && !res_find(g, id), "virtio-gpu resource id") ||
        !vms_check(f, fmt <= DISPLAY_FMT_ABGR, "virtio-gpu resource format") ||
        !vms_check(f, w && h && w <= DISPLAY_MAX_SIDE && h <= DISPLAY_MAX_SIDE,
                   "virtio-gpu resource size"))
        return NULL;
    uint64_t cost = (uint64_t)w * h * 4 + RES_OVERHEAD;
    if (!vms_check(f, cost <= g->max_hostmem - g->hostmem, "virtio-gpu max_hostmem"))
        return NULL;
    struct gpu_res *r = calloc(1, sizeof(*r));
    if (!r || !(r->pixels = malloc((size_t)w * h * 4))) {
        free(r);
        vms_fail(f, "out of memory");
        return NULL;
    }
    r->id = id, r->fmt = (enum display_format)fmt, r->width = w, r->height = h, r->cost = cost;
    vms_get_bytes(f, r->pixels, (size_t)w * h * 4);
    uint32_t n = vms_get_u32(f);
    if (vms_check(f, n <= MAX_BACKING_ENTRIES, "virtio-gpu backing entries") && n &&
        !(r->backing = calloc(n, sizeof(*r->backing))))
        vms_fail(f, "out of memory");
    for (uint32_t k = 0; k < n && !vms_failed(f); k++) {
        struct backing *b = &r->backing[k];
        b->addr = vms_get_u64(f);
        b->len = vms_get_u32(f);
        b->start = r->backing_len;
        if (vms_check(f, b->len && mem_ram_ptr(g->mem, b->addr, b->len, false),
                      "virtio-gpu backing entry"))
            r->backing_len += b->len;
    }
    if (vms_failed(f)) {
        free(r->backing);
        free(r->pixels);
        free(r);
        return NULL;
    }
    r->n_backing = n;
    return r;
}

static void gpu_load(struct virtio_dev *vd, struct vms_in *f, uint32_t version)
{
    struct virtio_gpu *g = vd->opaque;
    (void)version;
    gpu_reset(vd);
    uint32_t n_so = vms_get_u32(f);
    if (!vms_check(f, n_so == g->n_scanouts, "virtio-gpu max_outputs"))
        return;
    uint32_t sid[MAX_SCANOUTS];
    struct display_rect rc[MAX_SCANOUTS];
    for (uint32_t i = 0; i < n_so; i++) {
        sid[i] = vms_get_u32(f);
        rc[i].x = vms_get_u32(f), rc[i].y = vms_get_u32(f);
        rc[i].w = vms_get_u32(f), rc[i].h = vms_get_u32(f);
    }
    uint32_t n = vms_get_u32(f);
    if (!vms_check(f, n <= MAX_RESOURCES, "virtio-gpu resources"))
        return;
    for (uint32_t i = 0; i < n; i++) {
        struct gpu_res *r = load_res(g, f);
        if (!r)
            return;
        r->next = g->res;
        g->res = r;
        g->n_res++;
        g->hostmem += r->cost;
    }
    for (uint32_t i = 0; i < n_so; i++) {
        if (!sid[i])
            continue;
        const struct gpu_res *r = res_find(g, sid[i]);
        if (!vms_check(f, r && rc[i].w && rc[i].h &&
                              (uint64_t)rc[i].x + rc[i].w <= r->width &&
                              (uint64_t)rc[i].y + rc[i].h <= r->height,
                       "virtio-gpu scanout"))
            return;
        if (display_resize(g->so[i].con, rc[i].w, rc[i].h, NULL) < 0) {
            vms_fail(f, "out of memory");
            return;
        }
        g->so[i].res_id = sid[i];
        g->so[i].r = rc[i];
        res_show(g, r, &rc[i]);
    }
}

static const struct virtio_dev_ops gpu_ops = {
    .name = "virtio-gpu-device",
    .device_id = VIRTIO_ID_GPU,
    .queue_notify = gpu_queue_notify,
    .config_write = gpu_config_write,
    .reset = gpu_reset,
    .free = gpu_free,
    .vmstate_version = 1,
    .save = gpu_save,
    .load = gpu_load,
};

static int prop_u64(struct kv *props, const char *key, uint64_t def, uint64_t min, uint64_t max,
                    uint64_t *out, struct error **errp)
{
    const char *v = kv_get(props, key);
    *out = def;
    return v ? parse_u64(key, v, min, max, out, errp) : 0;
}

static int gpu_create(struct virtio_dev **out, struct kv *props, const struct vdev_env *env,
                      struct error **errp)
{
    const char *id = kv_get(props, "id");
    uint64_t xres, yres, outputs, hostmem;
    bool edid;
    int r;
    if ((r = prop_u64(props, "xres", 1280, 64, MODE_MAX, &xres, errp)) < 0 ||
        (r = prop_u64(props, "yres", 800, 64, MODE_MAX, &yres, errp)) < 0 ||
        (r = prop_u64(props, "max_outputs", 1, 1, MAX_SCANOUTS, &outputs, errp)) < 0 ||
        (r = kv_get_size(props, "max_hostmem", 256u << 20, &hostmem, errp)) < 0 ||
        (r = kv_get_bool(props, "edid", true, &edid, errp)) < 0 ||
        (r = kv_check_used(props, errp)) < 0)
        return r;
    struct virtio_gpu *g = calloc(1, sizeof(*g));
    if (!g)
        return err_set(errp, ENOMEM, _("out of memory"));
    g->mem = env->mem;
    g->n_scanouts = (uint32_t)outputs;
    g->max_hostmem = hostmem;
    g->edid = edid;
    r = virtio_dev_init(&g->vd, &gpu_ops, g, env->mem, edid ? 1ull << VIRTIO_GPU_F_EDID : 0,
                        CFG_LEN, 2, QUEUE_SIZE, errp);
    if (r < 0) {
        free(g);
        return r;
    }
    virtio_cfg_put32(&g->vd, CFG_NUM_SCANOUTS, g->n_scanouts);
    for (uint32_t i = 0; i < g->n_scanouts && r == 0; i++) {
        g->so[i].width = (uint32_t)xres;
        g->so[i].height = (uint32_t)yres;
        r = display_console_new(&g->so[i].con, id ? id : "virtio-gpu-device", (int)i, false,
                                errp);
    }
    if (r == 0 && !(g->bh = loop_bh_new(env->loop, gpu_process, g, errp)))
        r = -ENOMEM;
    if (r < 0) {
        gpu_free(&g->vd);
        return r;
    }
    *out = &g->vd;
    return 0;
}

const struct vdev_model virtio_gpu_model = {
    .name = "virtio-gpu-device",
    .desc = "virtio GPU (2D)",
    .create = gpu_create,
};
