/* vmdk-anon.c - the VMDK metadata walker of emu-img anonymize.
 *
 * Hosted sparse extents (monolithicSparse, streamOptimized): kept are the
 * header, the footer and its markers, the embedded descriptor, both grain
 * directories and every grain table they name, and the 12-byte marker of
 * each compressed grain; a compressed grain's data becomes a zlib stream
 * of a zero grain (the marker's size stays, the rest of its sectors are
 * zeros, which readers skip after the end of the stream).  A linear scan
 * of the stream markers also finds grain tables and grains nothing points
 * to.  Descriptor files (monolithicFlat, split images) are metadata as a
 * whole; each extent they name becomes a further file of the image: flat
 * extents are all user data, sparse extents are walked like the above.
 *
 * Names: --scrub-names scrubs the extent file names and parentFileNameHint
 * in descriptors (there is no checksum over them); the copies of extent
 * files then take the scrubbed names. */
#include <config.h>

#include <errno.h>
#include <string.h>
#include <zlib.h>
#include "i18n.h"
#include "anon.h"
#include "vmdk.h"

#define VA_MAX_DESC (1u << 20)
#define VA_MAX_GD_ENTRIES (16u << 20)
#define VA_MARKER_EOS 0
#define VA_MARKER_GT 1
#define VA_MARKER_GD 2
#define VA_MARKER_FOOTER 3

struct va {
    struct anon *a;
    uint64_t grain;           /* bytes */
    uint32_t gtes;
    bool compressed, markers;
    uint8_t *zs;              /* zlib stream of a zero grain */
    size_t zlen;
    uint64_t *gts;            /* grain table offsets (bytes) */
    size_t ngt, capgt;
};

static void va_push_gt(struct va *v, uint64_t off)
{
    if (v->ngt == v->capgt) {
        size_t cap = v->capgt ? v->capgt * 2 : 64;
        uint64_t *n = realloc(v->gts, cap * sizeof(*n));
        if (!n) {
            v->a->err = -ENOMEM;
            return;
        }
        v->gts = n;
        v->capgt = cap;
    }
    v->gts[v->ngt++] = off;
}

/* Scrub the quoted names of extent lines and parentFileNameHint in the
 * descriptor TEXT (LEN bytes); returns whether anything changed.  With
 * NAMES, call FN for each extent line (type, quoted name as found, name
 * after scrubbing). */
static bool va_scrub_desc(uint8_t *text, size_t len, bool scrub,
                          void (*fn)(void *, const char *, const char *, const char *),
                          void *opaque)
{
    bool changed = false;
    size_t i = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && text[e] != '\n' && text[e] != 0)
            e++;
        char line[1200];
        size_t ll = MIN(e - i, sizeof(line) - 1);
        memcpy(line, text + i, ll);
        line[ll] = 0;
        char access[16], type[16];
        unsigned long long sectors;
        bool extent = sscanf(line, "%15s %llu %15s", access, &sectors, type) == 3 &&
                      (!strcmp(access, "RW") || !strcmp(access, "RDONLY") ||
                       !strcmp(access, "NOACCESS"));
        bool hint = strncmp(line, "parentFileNameHint", 18) == 0;
        uint8_t *q1 = (extent || hint) ? memchr(text + i, '"', e - i) : NULL;
        uint8_t *q2 = q1 ? memchr(q1 + 1, '"', (size_t)(text + e - q1 - 1)) : NULL;
        if (q2 && q2 > q1 + 1) {
            size_t nl = (size_t)(q2 - q1 - 1);
            char *orig = strndup((char *)q1 + 1, nl);
            if (scrub) {
                anon_scrub(q1 + 1, nl);
                changed = true;
            }
            char *now = strndup((char *)q1 + 1, nl);
            if (orig && now && extent && fn)
                fn(opaque, type, orig, now);
            free(orig);
            free(now);
        }
        i = e + 1;
    }
    return changed;
}

/* A descriptor embedded in a sparse extent. */
static void va_embedded_desc(struct va *v, uint64_t off, uint64_t len)
{
    len = MIN(len, (uint64_t)VA_MAX_DESC);
    anon_keep(v->a, off, len);
    if (!v->a->scrub_names || off >= v->a->size)
        return;
    len = MIN(len, v->a->size - off);
    uint8_t *t = anon_alloc(v->a, len);
    if (t && anon_read(v->a, off, len, t) >= 0 && va_scrub_desc(t, len, true, NULL, NULL))
        anon_replace_ref(v->a, off, len, t, ANON_PRIO_META);
}

/* A compressed grain at byte OFF: keep its marker, zero its data. */
static void va_grain(struct va *v, uint64_t off, uint32_t size)
{
    anon_keep(v->a, off, 12);
    if (v->zs && v->zlen <= size)
        anon_replace_ref(v->a, off + 12, v->zlen, v->zs, ANON_PRIO_DATA);
    else
        v->a->warn_unfit++;
}

static int va_cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* Keep every grain table once; for compressed extents note the grains
 * they name.  Parsing is bounded like in qcow2-anon.c: honest tables do
 * not overlap, crafted ones repeating the same bytes are kept unparsed. */
static void va_walk_gts(struct va *v)
{
    uint64_t gt_bytes = (uint64_t)v->gtes * 4;
    uint64_t budget = 4 * v->a->size + (UINT64_C(64) << 20);
    uint8_t *gt = malloc(gt_bytes);
    uint64_t *grains = NULL;
    size_t ngr = 0, capgr = 0;
    if (!gt) {
        v->a->err = -ENOMEM;
        return;
    }
    if (v->ngt)
        qsort(v->gts, v->ngt, sizeof(*v->gts), va_cmp_u64);
    for (size_t i = 0; i < v->ngt && !anon_failed(v->a); i++) {
        if (i && v->gts[i] == v->gts[i - 1])
            continue;   /* both directories, or a loop: once */
        anon_keep(v->a, v->gts[i], gt_bytes);
        uint64_t in_file = MIN(gt_bytes, ALIGN_UP(v->a->size - v->gts[i], (uint64_t)4));
        if (!v->compressed || in_file > budget || anon_read(v->a, v->gts[i], in_file, gt) < 0)
            continue;
        budget -= in_file;
        for (uint64_t k = 0; k < in_file / 4; k++) {
            uint64_t g = (uint64_t)vmdk_le32(gt + 4 * k) * 512;
            if (g <= 512 || g >= v->a->size)
                continue;
            if (ngr == capgr) {
                size_t cap = capgr ? capgr * 2 : 1024;
                uint64_t *n = realloc(grains, cap * sizeof(*n));
                if (!n) {
                    v->a->err = -ENOMEM;
                    break;
                }
                grains = n;
                capgr = cap;
            }
            grains[ngr++] = g;
        }
    }
    free(gt);
    if (ngr)
        qsort(grains, ngr, sizeof(*grains), va_cmp_u64);
    for (size_t i = 0; i < ngr && !anon_failed(v->a); i++) {
        uint64_t g = grains[i];
        if (i && g == grains[i - 1])
            continue;
        if (v->markers) {
            uint8_t m[12];
            if (anon_read(v->a, g, 12, m) >= 0)
                va_grain(v, g, vmdk_le32(m + 8));
        } else if (v->zs && v->zlen <= 512) {
            /* no marker: the stream starts at the grain; its size is
             * unknown, so the zero stream must fit in one sector */
            anon_replace_ref(v->a, g, v->zlen, v->zs, ANON_PRIO_DATA);
        } else {
            v->a->warn_unfit++;
        }
    }
    free(grains);
}

/* Scan the markers of a stream from sector START: grains, grain tables and
 * directories nothing points to any more are found here too.  The scan
 * stops at anything that is not a plausible marker. */
static void va_scan_markers(struct va *v, uint64_t pos)
{
    uint64_t max_grain = v->grain * 2 + 1024;
    while (pos + 512 <= v->a->size && !anon_failed(v->a)) {
        uint8_t m[512];
        if (anon_read(v->a, pos, 512, m) < 0)
            return;
        uint64_t val = vmdk_le64(m);
        uint32_t size = vmdk_le32(m + 8), type = vmdk_le32(m + 12);
        if (size) {
            if (size > max_grain || val >= (UINT64_C(1) << 41))   /* lba past any capacity */
                return;
            va_grain(v, pos, size);
            pos += ALIGN_UP((uint64_t)12 + size, (uint64_t)512);
            continue;
        }
        if (!buf_is_zero(m + 16, 496))
            return;
        if (type == VA_MARKER_EOS) {
            if (val)
                return;
            anon_keep(v->a, pos, 512);
            pos += 512;
            continue;   /* a footer may follow an end-of-stream marker */
        }
        if ((type != VA_MARKER_GT && type != VA_MARKER_GD && type != VA_MARKER_FOOTER) ||
            val > (VA_MAX_GD_ENTRIES * 4u) / 512)
            return;
        if (type == VA_MARKER_FOOTER && val != 1)
            return;
        anon_keep(v->a, pos, 512 + val * 512);
        pos += 512 + val * 512;
    }
}

static int va_sparse(struct anon *a, struct error **errp)
{
    uint8_t h[512];
    int r = anon_read(a, 0, 512, h);
    if (r < 0)
        return err_set_errno(errp, -r, _("cannot read '%s'"), a->filename);
    if (vmdk_le32(h) != VMDK_MAGIC)
        return err_set(errp, EINVAL, _("'%s': not a VMDK sparse extent"), a->filename);
    anon_keep(a, 0, 512);
    struct va v = { .a = a };
    const uint8_t *hp = h;
    uint8_t f[512];
    if (vmdk_le64(h + 56) == VMDK_GD_AT_END && a->size >= 1536) {
        /* stream layout: the footer (after its marker) has the real values */
        if (anon_read(a, a->size - 1024, 512, f) >= 0 && vmdk_le32(f) == VMDK_MAGIC) {
            anon_keep(a, a->size - 1536, 1536);
            hp = f;
        }
    }
    uint32_t flags = vmdk_le32(hp + 8);
    uint64_t capacity = vmdk_le64(hp + 12), grain = vmdk_le64(hp + 20);
    uint64_t doff = vmdk_le64(hp + 28), dsize = vmdk_le64(hp + 36);
    uint32_t gtes = vmdk_le32(hp + 44);
    uint64_t rgd = vmdk_le64(hp + 48), gd = vmdk_le64(hp + 56), overhead = vmdk_le64(hp + 64);
    /* the descriptor is named by the first header in either layout */
    if (vmdk_le64(h + 28) && vmdk_le64(h + 36) && vmdk_le64(h + 28) < a->size / 512)
        va_embedded_desc(&v, vmdk_le64(h + 28) * 512, vmdk_le64(h + 36) * 512);
    else if (doff && dsize && doff < a->size / 512)
        va_embedded_desc(&v, doff * 512, dsize * 512);
    if (grain == 0 || grain > 2048 || !IS_POW2(grain) || gtes == 0 || gtes > 65536)
        return 0;   /* no grain layout: nothing more can be found */
    v.grain = grain * 512;
    v.gtes = gtes;
    v.compressed = (flags & VMDK_FLAG_COMPRESSED) != 0;
    v.markers = (flags & VMDK_FLAG_MARKERS) != 0;
    if (v.compressed) {
        uint8_t *zero = calloc(1, v.grain);
        uLongf zl = compressBound((uLong)v.grain);
        v.zs = anon_alloc(a, zl);
        if (zero && v.zs && compress2(v.zs, &zl, zero, (uLong)v.grain, 9) == Z_OK)
            v.zlen = zl;
        else
            v.zs = NULL;
        free(zero);
    }
    uint64_t span = grain * gtes;
    uint64_t n = MIN(DIV_ROUND_UP(MIN(capacity, UINT64_C(1) << 50), span),
                     (uint64_t)VA_MAX_GD_ENTRIES);
    uint64_t dirs[2] = { gd, (flags & VMDK_FLAG_RGD) ? rgd : 0 };
    uint8_t *buf = malloc(n * 4 + 4);
    if (!buf) {
        a->err = -ENOMEM;
        return 0;
    }
    for (int d = 0; d < 2; d++) {
        if (!dirs[d] || dirs[d] == VMDK_GD_AT_END || dirs[d] >= a->size / 512)
            continue;
        anon_keep(a, dirs[d] * 512, n * 4);
        if (anon_read(a, dirs[d] * 512, n * 4, buf) < 0)
            continue;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t t = (uint64_t)vmdk_le32(buf + 4 * i) * 512;
            if (t && t < a->size)
                va_push_gt(&v, t);
        }
    }
    free(buf);
    va_walk_gts(&v);
    if (v.markers) {
        uint64_t start = overhead * 512;
        if (start == 0 || start >= a->size)
            start = ALIGN_UP(MAX((uint64_t)512, (doff + dsize) * 512), (uint64_t)512);
        va_scan_markers(&v, ALIGN_UP(start, (uint64_t)512));
    }
    free(v.gts);
    return 0;
}

struct va_desc {
    struct anon *a;
};

static void va_extent(void *opaque, const char *type, const char *orig, const char *now)
{
    struct va_desc *d = opaque;
    if (strcmp(type, "FLAT") == 0 || strcmp(type, "VMFS") == 0)
        anon_add_file(d->a, orig, now, NULL);
    else if (strcmp(type, "SPARSE") == 0 || strcmp(type, "VMFSSPARSE") == 0)
        anon_add_file(d->a, orig, now, va_sparse);
}

int vmdk_anonymize(struct anon *a, struct error **errp)
{
    uint8_t magic[4];
    int r = anon_read(a, 0, 4, magic);
    if (r < 0)
        return err_set_errno(errp, -r, _("cannot read '%s'"), a->filename);
    if (vmdk_le32(magic) == VMDK_MAGIC)
        return va_sparse(a, errp);
    /* a descriptor file: text, all of it metadata */
    if (a->size > VA_MAX_DESC)
        return err_set(errp, EINVAL, _("'%s': not a VMDK image"), a->filename);
    uint8_t *t = anon_alloc(a, a->size + 1);
    if (!t)
        return err_set(errp, ENOMEM, _("out of memory"));
    r = anon_read(a, 0, a->size, t);
    if (r < 0)
        return err_set_errno(errp, -r, _("cannot read '%s'"), a->filename);
    t[a->size] = 0;
    if (!strstr((char *)t, "createType"))   /* text, maybe NUL-padded */
        return err_set(errp, EINVAL, _("'%s': not a VMDK image"), a->filename);
    anon_keep(a, 0, a->size);
    struct va_desc d = { a };
    if (va_scrub_desc(t, a->size, a->scrub_names, va_extent, &d))
        anon_replace_ref(a, 0, a->size, t, ANON_PRIO_META);
    return 0;
}
