/* vmstate.c - the machine-state stream (vmstate.h).
 *
 * Layout, all numbers little-endian:
 *   stream   magic "EMU-VMS\n", u32 framing version, sections, 'E'
 *   section  'S', u8 name length (1..63), name ([a-z0-9._-]), u32 instance,
 *            u32 version, u64 body length, body
 *   field    u8 type, then 1 (u8, bool), 2, 4 or 8 bytes, or for bytes a
 *            u32 length and the data
 * The body length is what lets a loader refuse a device that read too
 * little or too much, and skip sections it does not want.  The writer
 * learns it at vms_section_end and writes it back into the header
 * (positioned writes make that cheap even when the header has left the
 * buffer). */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmstate.h"
#include "i18n.h"

enum { T_U8 = 1, T_U16, T_U32, T_U64, T_BOOL, T_BYTES };
static const char *const type_names[] = {
    [T_U8] = "u8", [T_U16] = "u16", [T_U32] = "u32", [T_U64] = "u64",
    [T_BOOL] = "bool", [T_BYTES] = "bytes",
};
#define TAG_SECTION 'S'
#define TAG_END 'E'
#define HDR_BYTES 12                /* magic and framing version */
#define OUT_BUF (256u << 10)
#define IN_BUF (64u << 10)

static void le_put(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t le_get(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n > VMS_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.'))
            return false;
    }
    return true;
}

/* ---- writing ---- */

struct vms_out {
    vms_write_fn *fn;
    void *opaque;
    uint8_t *buf;
    size_t len;                 /* bytes in buf */
    uint64_t pos;               /* stream offset of buf[0] */
    bool in_section;
    uint64_t len_at;            /* stream offset of the section's body length */
    uint64_t body_at;
    int err;                    /* first error (-errno) */
    char errmsg[160];
};

static void out_fail(struct vms_out *f, int err, const char *msg)
{
    if (f->err)
        return;
    f->err = err;
    snprintf(f->errmsg, sizeof(f->errmsg), "%s", msg);
}

static void out_flush(struct vms_out *f)
{
    if (f->err || !f->len)
        return;
    int r = f->fn(f->opaque, f->pos, f->buf, f->len);
    if (r < 0)
        out_fail(f, r, _("cannot write the VM state"));
    f->pos += f->len;
    f->len = 0;
}

static void out_raw(struct vms_out *f, const void *p, size_t n)
{
    if (f->err || n == 0)
        return;
    if (n >= OUT_BUF) {
        /* large blobs (RAM) go straight through, not through the buffer */
        out_flush(f);
        if (f->err)
            return;
        int r = f->fn(f->opaque, f->pos, p, n);
        if (r < 0)
            out_fail(f, r, _("cannot write the VM state"));
        f->pos += n;
        return;
    }
    if (f->len + n > OUT_BUF)
        out_flush(f);
    memcpy(f->buf + f->len, p, n);
    f->len += n;
}

static uint64_t out_tell(const struct vms_out *f)
{
    return f->pos + f->len;
}

int vms_out_new(struct vms_out **out, vms_write_fn *fn, void *opaque, struct error **errp)
{
    struct vms_out *f = calloc(1, sizeof(*f));
    if (f)
        f->buf = malloc(OUT_BUF);
    if (!f || !f->buf) {
        free(f);
        return err_set(errp, ENOMEM, _("out of memory for the VM state"));
    }
    f->fn = fn;
    f->opaque = opaque;
    uint8_t h[HDR_BYTES];
    memcpy(h, VMS_MAGIC, 8);
    le_put(h + 8, VMS_FORMAT, 4);
    out_raw(f, h, sizeof(h));
    *out = f;
    return 0;
}

void vms_section_begin(struct vms_out *f, const char *name, uint32_t instance,
                       uint32_t version)
{
    size_t n = strlen(name);
    if (f->in_section || !name_ok(name, n)) {
        out_fail(f, -EINVAL, _("internal error: bad VM state section"));
        return;
    }
    uint8_t h[2 + VMS_NAME_MAX + 16];
    h[0] = TAG_SECTION;
    h[1] = (uint8_t)n;
    memcpy(h + 2, name, n);
    le_put(h + 2 + n, instance, 4);
    le_put(h + 6 + n, version, 4);
    le_put(h + 10 + n, 0, 8);           /* the body length, written at the end */
    f->len_at = out_tell(f) + 10 + n;
    out_raw(f, h, 18 + n);
    f->body_at = out_tell(f);
    f->in_section = true;
}

void vms_section_end(struct vms_out *f)
{
    if (!f->in_section) {
        out_fail(f, -EINVAL, _("internal error: VM state section ended twice"));
        return;
    }
    f->in_section = false;
    if (f->err)
        return;
    uint8_t l[8];
    le_put(l, out_tell(f) - f->body_at, 8);
    if (f->len_at >= f->pos) {
        memcpy(f->buf + (f->len_at - f->pos), l, 8);
    } else {
        int r = f->fn(f->opaque, f->len_at, l, 8);
        if (r < 0)
            out_fail(f, r, _("cannot write the VM state"));
    }
}

static void put_num(struct vms_out *f, int type, uint64_t v, int n)
{
    uint8_t b[9];
    b[0] = (uint8_t)type;
    le_put(b + 1, v, n);
    out_raw(f, b, (size_t)n + 1);
}

void vms_put_u8(struct vms_out *f, uint8_t v) { put_num(f, T_U8, v, 1); }
void vms_put_u16(struct vms_out *f, uint16_t v) { put_num(f, T_U16, v, 2); }
void vms_put_u32(struct vms_out *f, uint32_t v) { put_num(f, T_U32, v, 4); }
void vms_put_u64(struct vms_out *f, uint64_t v) { put_num(f, T_U64, v, 8); }
void vms_put_bool(struct vms_out *f, bool v) { put_num(f, T_BOOL, v ? 1 : 0, 1); }

void vms_put_bytes(struct vms_out *f, const void *p, size_t len)
{
    if (len > UINT32_MAX) {
        out_fail(f, -EFBIG, _("internal error: VM state field too large"));
        return;
    }
    put_num(f, T_BYTES, len, 4);
    out_raw(f, p, len);
}

int vms_out_finish(struct vms_out *f, uint64_t *size, struct error **errp)
{
    if (f->in_section)
        out_fail(f, -EINVAL, _("internal error: VM state section not ended"));
    uint8_t e = TAG_END;
    out_raw(f, &e, 1);
    out_flush(f);
    if (f->err)
        return err_set(errp, -f->err, "%s: %s", f->errmsg, strerror(-f->err));
    *size = f->pos;
    return 0;
}

void vms_out_free(struct vms_out *f)
{
    if (!f)
        return;
    free(f->buf);
    free(f);
}

/* ---- reading ---- */

struct vms_in {
    vms_read_fn *fn;
    void *opaque;
    uint64_t size;              /* of the stream */
    uint64_t pos;               /* next byte to read */
    uint8_t *buf;
    uint64_t buf_at;            /* stream offset of buf[0] */
    size_t buf_len;
    bool in_section;
    uint64_t limit;             /* reads stop here: the section's end, or size */
    char name[VMS_NAME_MAX + 1];
    uint32_t instance;
    unsigned field;             /* fields read in this section (for messages) */
    int err;
    char errmsg[256];
};

static void in_fail(struct vms_in *f, int err, const char *fmt, ...) EMU_PRINTF(3, 4);
static void in_fail(struct vms_in *f, int err, const char *fmt, ...)
{
    if (f->err)
        return;
    f->err = err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->errmsg, sizeof(f->errmsg), fmt, ap);
    va_end(ap);
}

static bool in_raw(struct vms_in *f, void *p, size_t n)
{
    if (f->err)
        return false;
    if (n > f->limit - f->pos) {
        in_fail(f, -EINVAL, f->in_section ? _("the section ends inside a field")
                                          : _("the stream ends early"));
        return false;
    }
    uint8_t *d = p;
    while (n) {
        if (f->pos >= f->buf_at && f->pos < f->buf_at + f->buf_len) {
            size_t off = (size_t)(f->pos - f->buf_at);
            size_t k = MIN(n, f->buf_len - off);
            memcpy(d, f->buf + off, k);
            d += k;
            n -= k;
            f->pos += k;
            continue;
        }
        if (n >= IN_BUF) {
            /* big blobs straight into their place */
            int r = f->fn(f->opaque, f->pos, d, n);
            if (r < 0) {
                in_fail(f, r, _("cannot read the VM state"));
                return false;
            }
            f->pos += n;
            return true;
        }
        size_t want = (size_t)MIN((uint64_t)IN_BUF, f->size - f->pos);
        int r = f->fn(f->opaque, f->pos, f->buf, want);
        if (r < 0) {
            in_fail(f, r, _("cannot read the VM state"));
            return false;
        }
        f->buf_at = f->pos;
        f->buf_len = want;
    }
    return true;
}

int vms_in_new(struct vms_in **out, vms_read_fn *fn, void *opaque, uint64_t size,
               struct error **errp)
{
    struct vms_in *f = calloc(1, sizeof(*f));
    if (f)
        f->buf = malloc(IN_BUF);
    if (!f || !f->buf) {
        free(f);
        return err_set(errp, ENOMEM, _("out of memory for the VM state"));
    }
    f->fn = fn;
    f->opaque = opaque;
    f->size = size;
    f->limit = size;
    uint8_t h[HDR_BYTES];
    if (!in_raw(f, h, sizeof(h)) || memcmp(h, VMS_MAGIC, 8) != 0) {
        int r = f->err && f->err != -EINVAL ? f->err : -EINVAL;
        vms_in_free(f);
        return err_set(errp, -r, _("the VM state is not emu's (no header)"));
    }
    uint32_t fmt = (uint32_t)le_get(h + 8, 4);
    if (fmt != VMS_FORMAT) {
        vms_in_free(f);
        return err_set(errp, ENOTSUP, _("the VM state has framing version %u; this emu reads %u"),
                       fmt, VMS_FORMAT);
    }
    *out = f;
    return 0;
}

static int in_error(struct vms_in *f, struct error **errp)
{
    if (f->in_section)
        return err_set(errp, -f->err, _("VM state, section '%s' instance %u, field %u: %s"),
                       f->name, f->instance, f->field, f->errmsg);
    return err_set(errp, -f->err, _("VM state at byte %" PRIu64 ": %s"), f->pos, f->errmsg);
}

int vms_in_section(struct vms_in *f, char name[VMS_NAME_MAX + 1], uint32_t *instance,
                   uint32_t *version, struct error **errp)
{
    if (f->in_section)
        return err_set(errp, EINVAL, _("internal error: VM state section not finished"));
    uint8_t tag;
    if (!in_raw(f, &tag, 1))
        return in_error(f, errp);
    if (tag == TAG_END)
        return 0;
    uint8_t n = 0;
    if (tag != TAG_SECTION)
        in_fail(f, -EINVAL, _("no section starts here (byte 0x%02x)"), tag);
    else if (in_raw(f, &n, 1) && (n == 0 || n > VMS_NAME_MAX))
        in_fail(f, -EINVAL, _("a section name of %u bytes"), n);
    char nm[VMS_NAME_MAX + 1];
    uint8_t h[16];
    if (!f->err && in_raw(f, nm, n) && !name_ok(nm, n))
        in_fail(f, -EINVAL, _("a section name that is not a name"));
    if (!f->err && in_raw(f, h, sizeof(h))) {
        uint64_t body = le_get(h + 8, 8);
        if (body > f->size - f->pos)
            in_fail(f, -EINVAL, _("section '%.*s' is longer (%" PRIu64 " bytes) than the "
                                  "rest of the stream"), (int)n, nm, body);
        else
            f->limit = f->pos + body;
    }
    if (f->err)
        return in_error(f, errp);
    memcpy(name, nm, n);
    name[n] = 0;
    memcpy(f->name, nm, (size_t)n + 1);
    f->name[n] = 0;
    f->instance = *instance = (uint32_t)le_get(h, 4);
    *version = (uint32_t)le_get(h + 4, 4);
    f->in_section = true;
    f->field = 0;
    return 1;
}

int vms_in_skip(struct vms_in *f, struct error **errp)
{
    if (!f->in_section)
        return err_set(errp, EINVAL, _("internal error: no VM state section to skip"));
    f->pos = f->limit;
    f->in_section = false;
    f->limit = f->size;
    return 0;
}

/* The next field's type tag, which must be TYPE. */
static bool get_tag(struct vms_in *f, int type)
{
    uint8_t t;
    if (!in_raw(f, &t, 1))
        return false;
    f->field++;
    if (t != type) {
        in_fail(f, -EINVAL, _("a %s where a %s belongs"),
                t < ARRAY_SIZE(type_names) && type_names[t] ? type_names[t] : _("garbage byte"),
                type_names[type]);
        return false;
    }
    return true;
}

static uint64_t get_num(struct vms_in *f, int type, int n)
{
    uint8_t b[8];
    if (!get_tag(f, type) || !in_raw(f, b, (size_t)n))
        return 0;
    return le_get(b, n);
}

uint8_t vms_get_u8(struct vms_in *f) { return (uint8_t)get_num(f, T_U8, 1); }
uint16_t vms_get_u16(struct vms_in *f) { return (uint16_t)get_num(f, T_U16, 2); }
uint32_t vms_get_u32(struct vms_in *f) { return (uint32_t)get_num(f, T_U32, 4); }
uint64_t vms_get_u64(struct vms_in *f) { return get_num(f, T_U64, 8); }

bool vms_get_bool(struct vms_in *f)
{
    uint64_t v = get_num(f, T_BOOL, 1);
    if (v > 1)
        in_fail(f, -EINVAL, _("a bool of value %" PRIu64), v);
    return v == 1;
}

size_t vms_get_blob(struct vms_in *f, void *p, size_t max)
{
    uint64_t n = get_num(f, T_BYTES, 4);
    if (f->err)
        return 0;
    if (n > max) {
        in_fail(f, -EINVAL, _("%" PRIu64 " bytes where at most %zu belong"), n, max);
        return 0;
    }
    return in_raw(f, p, (size_t)n) ? (size_t)n : 0;
}

void vms_get_str(struct vms_in *f, char *buf, size_t cap)
{
    size_t n = cap ? vms_get_blob(f, buf, cap - 1) : 0;
    for (size_t i = 0; i < n && !f->err; i++)
        if (buf[i] < 0x20 || buf[i] > 0x7e)
            in_fail(f, -EINVAL, _("a name with unprintable bytes"));
    if (cap)
        buf[f->err ? 0 : n] = 0;
}

void vms_get_bytes(struct vms_in *f, void *p, size_t len)
{
    uint64_t n = get_num(f, T_BYTES, 4);
    if (f->err)
        return;
    if (n != len) {
        in_fail(f, -EINVAL, _("%" PRIu64 " bytes where %zu belong"), n, len);
        return;
    }
    in_raw(f, p, len);
}

bool vms_check(struct vms_in *f, bool ok, const char *what)
{
    if (f->err)
        return false;
    if (!ok)
        in_fail(f, -EINVAL, _("%s out of range"), what);
    return ok;
}

void vms_fail(struct vms_in *f, const char *fmt, ...)
{
    if (f->err)
        return;
    char m[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof(m), fmt, ap);
    va_end(ap);
    in_fail(f, -EINVAL, "%s", m);
}

bool vms_failed(const struct vms_in *f)
{
    return f->err != 0;
}

int vms_section_finish(struct vms_in *f, struct error **errp)
{
    if (!f->in_section)
        return err_set(errp, EINVAL, _("internal error: no VM state section to finish"));
    if (!f->err && f->pos != f->limit)
        in_fail(f, -EINVAL, _("%" PRIu64 " bytes left unread (a device of another version?)"),
                f->limit - f->pos);
    if (f->err) {
        int r = in_error(f, errp);
        f->in_section = false;
        return r;
    }
    f->in_section = false;
    f->limit = f->size;
    return 0;
}

void vms_in_free(struct vms_in *f)
{
    if (!f)
        return;
    free(f->buf);
    free(f);
}
