/* vhdx-anon.c - the VHDX metadata walker of emu-img anonymize.
 *
 * Kept: the file type identifier (first 64 KiB), both headers, both region
 * tables, every region they name (BAT, metadata region with all its items,
 * unknown regions), the sector bitmap blocks the BAT marks present, and in
 * the log the sectors of every entry that has a "loge" header.  Payload
 * blocks and everything else are user data.
 *
 * The log: an entry's descriptor sectors are kept.  Its data sectors carry
 * 4084 bytes of a target sector, the descriptor the other 12 (leading and
 * trailing bytes).  When the target lies in metadata (below 1 MiB or in a
 * region) the data sector is metadata and kept; otherwise those 4084 +
 * 12 bytes are user data and become zeros, with the "data" signature and
 * sequence numbers kept.  The entry checksum covers them: it is
 * recomputed when it was valid, and left as it was (still invalid)
 * otherwise, so replay sees the same entries, writing zeros.  Sectors of
 * an entry that no descriptor accounts for are zeroed the same way.
 *
 * Names: --scrub-names scrubs the values of the parent locator (paths;
 * not parent_linkage, a GUID).  The metadata region has no checksum. */
#include <config.h>

#include <errno.h>
#include <string.h>
#include "i18n.h"
#include "anon.h"
#include "vhdx.h"

#define MiB (UINT64_C(1) << 20)
#define LOG_SECTOR 4096u
#define LOG_MAX_ENTRY (64u << 20)
#define VX_MAX_REGIONS 2047

struct vx {
    struct anon *a;
    uint64_t region[2 * VX_MAX_REGIONS][2];   /* off, len */
    int nregion;
    uint64_t bat_off, bat_len, meta_off, meta_len;
};

static bool vx_is_meta(const struct vx *v, uint64_t off)
{
    if (off < MiB)
        return true;
    for (int i = 0; i < v->nregion; i++)
        if (off >= v->region[i][0] && off - v->region[i][0] < v->region[i][1])
            return true;
    return false;
}

static void vx_regions(struct vx *v, uint64_t at)
{
    uint8_t *rt = malloc(64 * 1024);
    if (!rt) {
        v->a->err = -ENOMEM;
        return;
    }
    anon_keep(v->a, at, 64 * 1024);
    if (anon_read(v->a, at, 64 * 1024, rt) >= 0 && memcmp(rt, "regi", 4) == 0) {
        uint32_t n = MIN(vhdx_le32(rt + 8), (uint32_t)VX_MAX_REGIONS);
        for (uint32_t i = 0; i < n && v->nregion < 2 * VX_MAX_REGIONS; i++) {
            const uint8_t *e = rt + 16 + 32 * i;
            uint64_t off = vhdx_le64(e + 16), len = vhdx_le32(e + 24);
            if (!off || !len)
                continue;
            anon_keep(v->a, off, len);
            v->region[v->nregion][0] = off;
            v->region[v->nregion][1] = len;
            v->nregion++;
            if (memcmp(e, vhdx_guid_bat, 16) == 0 && !v->bat_off) {
                v->bat_off = off;
                v->bat_len = len;
            } else if (memcmp(e, vhdx_guid_meta, 16) == 0 && !v->meta_off) {
                v->meta_off = off;
                v->meta_len = len;
            }
        }
    }
    free(rt);
}

/* The parent locator at OFF (LEN bytes): scrub every value but the
 * parent_linkage GUIDs. */
static void vx_parent_locator(struct vx *v, uint64_t off, uint32_t len)
{
    len = MIN(len, 64u * 1024);
    uint8_t *p = anon_alloc(v->a, len);
    if (!p || len < 20 || anon_read(v->a, off, len, p) < 0)
        return;
    uint16_t n = vhdx_le16(p + 18);
    bool changed = false;
    for (uint32_t i = 0; i < n && 20 + 12 * (i + 1) <= len; i++) {
        const uint8_t *e = p + 20 + 12 * i;
        uint32_t ko = vhdx_le32(e), vo = vhdx_le32(e + 4);
        uint16_t kl = vhdx_le16(e + 8), vl = vhdx_le16(e + 10);
        if (ko > len || kl > len - ko || vo > len || vl > len - vo)
            continue;
        char key[32] = "";
        for (uint32_t k = 0; k + 1 < sizeof(key) && 2 * k + 1 < kl; k++)
            key[k] = (char)p[ko + 2 * k];
        if (strncmp(key, "parent_linkage", 14) == 0)
            continue;
        anon_scrub(p + vo, vl);
        changed = true;
    }
    if (changed)
        anon_replace_ref(v->a, off, len, p, ANON_PRIO_META);
}

/* The metadata table: block and sector size for the BAT layout, and the
 * parent locator for scrubbing. */
static void vx_metadata(struct vx *v, uint32_t *block_size, uint32_t *lss)
{
    uint8_t *m = malloc(64 * 1024);
    if (!m) {
        v->a->err = -ENOMEM;
        return;
    }
    if (anon_read(v->a, v->meta_off, 64 * 1024, m) >= 0 && memcmp(m, "metadata", 8) == 0) {
        uint16_t n = MIN(vhdx_le16(m + 10), (uint16_t)2047);
        for (unsigned i = 0; i < n; i++) {
            const uint8_t *e = m + 32 + 32 * i;
            uint32_t ioff = vhdx_le32(e + 16), ilen = vhdx_le32(e + 20);
            uint8_t val[4];
            if (!ilen || ioff > v->meta_len || ilen > v->meta_len - ioff)
                continue;
            if (memcmp(e, vhdx_guid_file_params, 16) == 0 && ilen >= 4 &&
                anon_read(v->a, v->meta_off + ioff, 4, val) >= 0)
                *block_size = vhdx_le32(val);
            else if (memcmp(e, vhdx_guid_lss, 16) == 0 && ilen >= 4 &&
                     anon_read(v->a, v->meta_off + ioff, 4, val) >= 0)
                *lss = vhdx_le32(val);
            else if (memcmp(e, vhdx_guid_parent, 16) == 0 && v->a->scrub_names)
                vx_parent_locator(v, v->meta_off + ioff, ilen);
        }
    }
    free(m);
}

/* Sector bitmap blocks marked present in the BAT are metadata. */
static void vx_bat(struct vx *v, uint32_t block_size, uint32_t lss)
{
    if (!v->bat_off || block_size < MiB || block_size > 256 * MiB || !IS_POW2(block_size) ||
        (lss != 512 && lss != 4096))
        return;
    uint64_t chunk = ((UINT64_C(1) << 23) * lss) / block_size;
    uint64_t bytes = MIN(v->bat_len, v->a->size > v->bat_off ? v->a->size - v->bat_off : 0);
    bytes = ALIGN_DOWN(bytes, (uint64_t)8);
    uint8_t *b = malloc(bytes + 8);
    if (!b) {
        v->a->err = -ENOMEM;
        return;
    }
    if (anon_read(v->a, v->bat_off, bytes, b) >= 0) {
        for (uint64_t i = chunk; i < bytes / 8; i += chunk + 1) {
            uint64_t e = vhdx_le64(b + 8 * i);
            if ((e & 7) == 6)
                anon_keep(v->a, (e >> 20) * MiB, MiB);
        }
    }
    free(b);
}

/* One log entry at POS of the log [LOFF, LOFF+LLEN): sector K of it lies
 * at LOFF + (POS + K * 4 KiB) % LLEN. */
static void vx_log_entry(struct vx *v, uint64_t loff, uint64_t llen, uint64_t pos,
                         const uint8_t *h)
{
    uint32_t len = vhdx_le32(h + 8), ndesc = vhdx_le32(h + 24);
    if (len == 0 || len % LOG_SECTOR || len > llen || len > LOG_MAX_ENTRY || ndesc > len / 32)
        return;
    uint64_t desc_bytes = ALIGN_UP(64 + (uint64_t)ndesc * 32, (uint64_t)LOG_SECTOR);
    if (desc_bytes > len)
        return;
    uint32_t nsec = len / LOG_SECTOR;
    uint8_t *b = malloc(len);
    uint8_t *user = calloc(nsec, 1);     /* sectors that are user data */
    if (!b || !user) {
        free(b);
        free(user);
        v->a->err = -ENOMEM;
        return;
    }
    for (uint32_t k = 0; k < nsec; k++)
        anon_read(v->a, loff + (pos + (uint64_t)k * LOG_SECTOR) % llen, LOG_SECTOR,
                  b + (uint64_t)k * LOG_SECTOR);
    bool valid = vhdx_le32(b + 4) == vhdx_checksum(b, len, 4);
    for (uint32_t k = (uint32_t)(desc_bytes / LOG_SECTOR); k < nsec; k++)
        user[k] = 1;
    uint32_t data = 0;
    for (uint32_t i = 0; i < ndesc; i++) {
        uint8_t *d = b + 64 + 32 * i;
        if (memcmp(d, "desc", 4) != 0)
            continue;
        uint64_t at = desc_bytes + (uint64_t)data * LOG_SECTOR;
        data++;
        if (vx_is_meta(v, vhdx_le64(d + 16))) {
            if (at < len)
                user[at / LOG_SECTOR] = 0;
            continue;
        }
        memset(d + 4, 0, 12);       /* trailing and leading bytes */
    }
    for (uint32_t k = 0; k < nsec; k++) {
        uint8_t *s = b + (uint64_t)k * LOG_SECTOR;
        if (!user[k])
            continue;
        if (memcmp(s, "data", 4) == 0)
            memset(s + 8, 0, LOG_SECTOR - 12);
        else
            memset(s, 0, LOG_SECTOR);
    }
    if (valid)
        vhdx_put_le32(b + 4, vhdx_checksum(b, len, 4));
    for (uint32_t k = 0; k < nsec; k++)
        anon_replace(v->a, loff + (pos + (uint64_t)k * LOG_SECTOR) % llen, LOG_SECTOR,
                     b + (uint64_t)k * LOG_SECTOR, ANON_PRIO_META);
    free(b);
    free(user);
}

struct vx_entry {
    uint64_t seq, pos;
};

static int vx_cmp_entry(const void *x, const void *y)
{
    const struct vx_entry *a = x, *b = y;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* Every entry header in the log, oldest first: a newer entry that
 * overwrote part of an older one (the log is circular) is written last,
 * so its sectors are the ones that stay. */
static void vx_log(struct vx *v, uint64_t loff, uint64_t llen)
{
    if (loff < MiB || loff % MiB || !llen || llen % MiB || loff >= v->a->size)
        return;
    llen = MIN(llen, ALIGN_UP(v->a->size - loff, (uint64_t)LOG_SECTOR));
    struct vx_entry *e = malloc((llen / LOG_SECTOR + 1) * sizeof(*e));
    if (!e) {
        v->a->err = -ENOMEM;
        return;
    }
    size_t n = 0;
    for (uint64_t pos = 0; pos < llen; pos += LOG_SECTOR) {
        uint8_t h[64];
        if (anon_read(v->a, loff + pos, 64, h) >= 0 && memcmp(h, "loge", 4) == 0)
            e[n++] = (struct vx_entry){ vhdx_le64(h + 16), pos };
    }
    qsort(e, n, sizeof(*e), vx_cmp_entry);
    /* honest entries do not overlap: entries claiming more than twice the
     * log in all are not read (their sectors are then user data) */
    uint64_t budget = 2 * llen + LOG_MAX_ENTRY;
    for (size_t i = 0; i < n && !anon_failed(v->a); i++) {
        uint8_t h[64];
        if (anon_read(v->a, loff + e[i].pos, 64, h) < 0)
            continue;
        uint32_t len = vhdx_le32(h + 8);
        if (len > budget)
            break;
        budget -= len;
        vx_log_entry(v, loff, llen, e[i].pos, h);
    }
    free(e);
}

int vhdx_anonymize(struct anon *a, struct error **errp)
{
    uint8_t id[8];
    int r = anon_read(a, 0, 8, id);
    if (r < 0)
        return err_set_errno(errp, -r, _("cannot read '%s'"), a->filename);
    if (memcmp(id, "vhdxfile", 8) != 0)
        return err_set(errp, EINVAL, _("'%s': not a VHDX image"), a->filename);
    struct vx *v = calloc(1, sizeof(*v));
    if (!v)
        return err_set(errp, ENOMEM, _("out of memory"));
    v->a = a;
    anon_keep(a, 0, 64 * 1024);
    anon_keep(a, 64 * 1024, 4096);
    anon_keep(a, 128 * 1024, 4096);
    vx_regions(v, 192 * 1024);
    vx_regions(v, 256 * 1024);
    uint32_t block_size = 0, lss = 0;
    if (v->meta_off)
        vx_metadata(v, &block_size, &lss);
    vx_bat(v, block_size, lss);
    /* the log of each header (usually the same one) */
    uint64_t logs[2][2] = { { 0, 0 }, { 0, 0 } };
    for (int i = 0; i < 2; i++) {
        uint8_t h[80];
        if (anon_read(a, (uint64_t)(i + 1) * 64 * 1024, sizeof(h), h) < 0 ||
            memcmp(h, "head", 4) != 0)
            continue;
        logs[i][0] = vhdx_le64(h + 72);
        logs[i][1] = vhdx_le32(h + 68);
        if (i == 0 || logs[1][0] != logs[0][0] || logs[1][1] != logs[0][1])
            vx_log(v, logs[i][0], logs[i][1]);
    }
    free(v);
    return 0;
}
