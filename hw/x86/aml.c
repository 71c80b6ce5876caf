/* aml.c - the AML encoder (see aml.h), written from the ACPI 6.x
 * specification's grammar (20.2) and resource data types (6.4).
 */
#include <config.h>
#include <errno.h>
#include <string.h>
#include "hw/x86/aml.h"

/* Far more than a DSDT of ours needs; bounds the growth of a buffer that
 * a broken caller could otherwise drive forever. */
#define AML_MAX_SIZE (4u << 20)

void aml_init(struct aml *a)
{
    memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
    free(a->buf);
    memset(a, 0, sizeof(*a));
}

static void aml_fail(struct aml *a, int err)
{
    if (!a->err)
        a->err = err;
}

static bool aml_reserve(struct aml *a, size_t n)
{
    if (a->err)
        return false;
    if (n > AML_MAX_SIZE || a->len > AML_MAX_SIZE - n) {
        aml_fail(a, -E2BIG);
        return false;
    }
    if (a->len + n <= a->cap)
        return true;
    size_t cap = a->cap ? a->cap : 256;
    while (cap < a->len + n)
        cap *= 2;
    uint8_t *b = realloc(a->buf, cap);
    if (!b) {
        aml_fail(a, -ENOMEM);
        return false;
    }
    a->buf = b;
    a->cap = cap;
    return true;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
    if (!aml_reserve(a, n))
        return;
    memcpy(a->buf + a->len, p, n);
    a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
    aml_bytes(a, &b, 1);
}

void aml_le(struct aml *a, uint64_t v, int n)
{
    uint8_t b[8];
    for (int i = 0; i < n && i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    aml_bytes(a, b, (size_t)MIN(n, 8));
}

/* Insert n bytes at pos (<= len), moving what follows. */
static void aml_insert(struct aml *a, size_t pos, const uint8_t *p, size_t n)
{
    if (pos > a->len) {
        aml_fail(a, -EINVAL);
        return;
    }
    if (!aml_reserve(a, n))
        return;
    memmove(a->buf + pos + n, a->buf + pos, a->len - pos);
    memcpy(a->buf + pos, p, n);
    a->len += n;
}

/* ---- names ---- */

static bool lead_char(char c)
{
    return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool name_char(char c)
{
    return lead_char(c) || (c >= '0' && c <= '9');
}

void aml_namestring(struct aml *a, const char *path)
{
    const char *p = path;
    if (*p == '\\')
        aml_byte(a, AML_ROOT_CHAR), p++;
    else
        while (*p == '^')
            aml_byte(a, AML_PARENT_CHAR), p++;
    if (!*p) {
        aml_byte(a, 0);                 /* NullName */
        return;
    }
    /* count and check the segments first: the prefix depends on it */
    int n = 1;
    for (const char *q = p, *seg = p;; q++) {
        if (*q == '.' || !*q) {
            size_t l = (size_t)(q - seg);
            if (l < 1 || l > 4 || !lead_char(seg[0])) {
                aml_fail(a, -EINVAL);
                return;
            }
            for (size_t i = 1; i < l; i++)
                if (!name_char(seg[i])) {
                    aml_fail(a, -EINVAL);
                    return;
                }
            if (!*q)
                break;
            n++;
            seg = q + 1;
        }
    }
    if (n > 255) {
        aml_fail(a, -EINVAL);
        return;
    }
    if (n == 2)
        aml_byte(a, AML_DUAL_NAME_PREFIX);
    else if (n > 2) {
        aml_byte(a, AML_MULTI_NAME_PREFIX);
        aml_byte(a, (uint8_t)n);
    }
    while (*p) {
        char seg[4] = { '_', '_', '_', '_' };
        for (int i = 0; *p && *p != '.'; i++)
            seg[i] = *p++;
        aml_bytes(a, seg, 4);
        if (*p == '.')
            p++;
    }
}

/* ---- data ---- */

void aml_integer(struct aml *a, uint64_t v)
{
    if (v == 0)
        aml_byte(a, AML_ZERO);
    else if (v == 1)
        aml_byte(a, AML_ONE);
    else if (v == UINT64_MAX)
        aml_byte(a, AML_ONES);          /* (a revision 2 DSDT: 64-bit integers) */
    else if (v <= 0xff)
        aml_byte(a, AML_BYTE_PREFIX), aml_le(a, v, 1);
    else if (v <= 0xffff)
        aml_byte(a, AML_WORD_PREFIX), aml_le(a, v, 2);
    else if (v <= 0xffffffff)
        aml_byte(a, AML_DWORD_PREFIX), aml_le(a, v, 4);
    else
        aml_byte(a, AML_QWORD_PREFIX), aml_le(a, v, 8);
}

void aml_string(struct aml *a, const char *s)
{
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p > 0x7f) {
            aml_fail(a, -EINVAL);
            return;
        }
    aml_byte(a, AML_STRING_PREFIX);
    aml_bytes(a, s, strlen(s) + 1);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Three letters in 5 bits each ('A' = 1), then four hex digits; the
 * result's bytes in memory order are the compressed id's bytes in
 * reading order (6.1.5 "_HID", EISAID). */
uint32_t aml_eisaid(struct aml *a, const char *id)
{
    if (strlen(id) != 7) {
        aml_fail(a, -EINVAL);
        return 0;
    }
    uint8_t c[3];
    int h[4];
    for (int i = 0; i < 3; i++) {
        if (id[i] < 'A' || id[i] > 'Z') {
            aml_fail(a, -EINVAL);
            return 0;
        }
        c[i] = (uint8_t)(id[i] - 0x40);
    }
    for (int i = 0; i < 4; i++)
        if ((h[i] = hexval(id[3 + i])) < 0) {
            aml_fail(a, -EINVAL);
            return 0;
        }
    uint8_t b0 = (uint8_t)(c[0] << 2 | c[1] >> 3);
    uint8_t b1 = (uint8_t)((c[1] & 7) << 5 | c[2]);
    uint8_t b2 = (uint8_t)(h[0] << 4 | h[1]);
    uint8_t b3 = (uint8_t)(h[2] << 4 | h[3]);
    return (uint32_t)b0 | (uint32_t)b1 << 8 | (uint32_t)b2 << 16 | (uint32_t)b3 << 24;
}

/* ---- objects with a PkgLength ---- */

/* PkgLength (20.2.4): the length counts itself.  One byte holds up to 63;
 * otherwise bits 7:6 of the lead byte say how many bytes follow, its bits
 * 3:0 are the low nibble and each following byte the next 8 bits. */
static int pkglength_encode(size_t content, uint8_t out[4])
{
    static const uint32_t max[4] = { 0x3f, 0xfff, 0xfffff, AML_PKGLEN_MAX };
    for (int n = 1; n <= 4; n++) {
        if (content + (size_t)n > max[n - 1])
            continue;
        uint32_t l = (uint32_t)(content + (size_t)n);
        if (n == 1) {
            out[0] = (uint8_t)l;
            return 1;
        }
        out[0] = (uint8_t)((n - 1) << 6 | (l & 0xf));
        for (int i = 1; i < n; i++)
            out[i] = (uint8_t)(l >> (4 + 8 * (i - 1)));
        return n;
    }
    return -1;
}

int aml_pkglength_decode(const uint8_t *p, size_t n, uint32_t *len)
{
    if (n < 1)
        return -1;
    int follow = p[0] >> 6;
    if (follow == 0) {
        *len = p[0] & 0x3f;
        return 1;
    }
    if (p[0] & 0x30)                    /* bits 5:4 must be zero */
        return -1;
    if ((size_t)follow + 1 > n)
        return -1;
    uint32_t l = p[0] & 0xf;
    for (int i = 1; i <= follow; i++)
        l |= (uint32_t)p[i] << (4 + 8 * (i - 1));
    *len = l;
    return follow + 1;
}

void aml_end(struct aml *a, size_t mark)
{
    if (a->err)
        return;
    if (mark > a->len) {
        aml_fail(a, -EINVAL);
        return;
    }
    uint8_t pl[4];
    int n = pkglength_encode(a->len - mark, pl);
    if (n < 0) {
        aml_fail(a, -E2BIG);
        return;
    }
    aml_insert(a, mark, pl, (size_t)n);
}

size_t aml_scope(struct aml *a, const char *path)
{
    aml_byte(a, AML_SCOPE);
    size_t mark = a->len;
    aml_namestring(a, path);
    return mark;
}

size_t aml_device(struct aml *a, const char *path)
{
    aml_byte(a, AML_EXT_PREFIX);
    aml_byte(a, AML_EXT_DEVICE);
    size_t mark = a->len;
    aml_namestring(a, path);
    return mark;
}

size_t aml_package(struct aml *a, uint8_t n_elements)
{
    aml_byte(a, AML_PACKAGE);
    size_t mark = a->len;
    aml_byte(a, n_elements);
    return mark;
}

/* ---- Name () ---- */

void aml_name_integer(struct aml *a, const char *name, uint64_t v)
{
    aml_byte(a, AML_NAME);
    aml_namestring(a, name);
    aml_integer(a, v);
}

void aml_name_string(struct aml *a, const char *name, const char *s)
{
    aml_byte(a, AML_NAME);
    aml_namestring(a, name);
    aml_string(a, s);
}

void aml_name_eisaid(struct aml *a, const char *name, const char *id)
{
    uint32_t v = aml_eisaid(a, id);
    aml_byte(a, AML_NAME);
    aml_namestring(a, name);
    /* always a DWord, as ASL's EISAID() compiles: the guest tells an
     * EISA id from a plain integer by nothing else than its value */
    aml_byte(a, AML_DWORD_PREFIX);
    aml_le(a, v, 4);
}

size_t aml_name_restemplate(struct aml *a, const char *name)
{
    aml_byte(a, AML_NAME);
    aml_namestring(a, name);
    aml_byte(a, AML_BUFFER);
    return a->len;
}

void aml_restemplate_end(struct aml *a, size_t mark)
{
    if (a->err)
        return;
    if (mark > a->len) {
        aml_fail(a, -EINVAL);
        return;
    }
    /* End Tag (6.4.2.9): its checksum byte makes the whole template,
     * end tag included, sum to zero */
    aml_byte(a, 0x79);
    if (a->err)
        return;
    uint8_t sum = 0;
    for (size_t i = mark; i < a->len; i++)
        sum = (uint8_t)(sum + a->buf[i]);
    aml_byte(a, (uint8_t)-sum);
    /* BufferSize, before the bytes it counts */
    struct aml sz;
    aml_init(&sz);
    aml_integer(&sz, a->len - mark);
    if (sz.err)
        aml_fail(a, sz.err);
    else
        aml_insert(a, mark, sz.buf, sz.len);
    aml_free(&sz);
    aml_end(a, mark);
}

/* ---- resource descriptors ---- */

void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
    aml_byte(a, 0x47);                  /* small item 0x08, length 7 */
    aml_byte(a, 0x01);                  /* decodes 16 address bits */
    aml_le(a, min, 2);
    aml_le(a, max, 2);
    aml_byte(a, align);
    aml_byte(a, len);
}

void aml_res_irq_noflags(struct aml *a, uint16_t mask)
{
    aml_byte(a, 0x22);                  /* small item 0x04, length 2: edge, high */
    aml_le(a, mask, 2);
}

void aml_res_memory32_fixed(struct aml *a, bool rw, uint32_t base, uint32_t len)
{
    aml_byte(a, 0x86);                  /* large item 0x06 */
    aml_le(a, 9, 2);
    aml_byte(a, rw ? 1 : 0);
    aml_le(a, base, 4);
    aml_le(a, len, 4);
}

void aml_res_interrupt(struct aml *a, uint8_t flags, uint32_t gsi)
{
    aml_byte(a, 0x89);                  /* large item 0x09, Extended Interrupt */
    aml_le(a, 6, 2);                    /* flags, count, one DWord */
    aml_byte(a, flags & 0x1f);
    aml_byte(a, 1);
    aml_le(a, gsi, 4);
}
