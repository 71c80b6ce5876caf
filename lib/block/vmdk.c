/* vmdk.c - VMware VMDK, read-only for now: monolithicSparse and
 * streamOptimized (hosted sparse extents, compressed grains with
 * markers, the grain directory at the end) and monolithicFlat /
 * twoGbMaxExtentFlat (a text descriptor naming flat extents).
 * Creating and writing VMDK images is not supported yet and says so.
 *
 * Sparse extent: a little-endian header ("KDMV"), a grain directory of
 * 32-bit sector numbers of grain tables, grain tables of 32-bit sector
 * numbers of grains (0 unallocated, 1 zero).  Compressed grains start with
 * a 12-byte marker (lba, size) followed by zlib data. */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>
#include "i18n.h"
#include "block.h"

#define VMDK_MAGIC 0x564d444bu
#define VMDK_GD_AT_END UINT64_C(0xffffffffffffffff)
#define VMDK_MAX_EXTENTS 64

struct vmdk_extent {
    struct blk *file;        /* NULL: the image's own file */
    bool flat;
    uint64_t sectors;        /* size of the extent */
    uint64_t flat_offset;    /* flat: start in the file, bytes */
    /* sparse */
    uint64_t grain;          /* bytes */
    uint32_t gtes;           /* entries per grain table */
    uint32_t gd_entries;
    uint32_t *gd;
    bool compressed;
    uint32_t *gt;            /* the last grain table read */
    uint32_t gt_index;
};

struct vmdk {
    struct vmdk_extent ext[VMDK_MAX_EXTENTS];
    int next;
    uint32_t cid, parent_cid;
    char create_type[64];
};

/* CID, parentCID and createType from descriptor text. */
static void vmdk_parse_ddb(struct vmdk *s, const char *text)
{
    const char *p;
    unsigned v;
    s->parent_cid = UINT32_MAX;
    if ((p = strstr(text, "\nCID=")) && sscanf(p + 5, "%x", &v) == 1)
        s->cid = v;
    if ((p = strstr(text, "parentCID=")) && sscanf(p + 10, "%x", &v) == 1)
        s->parent_cid = v;
    if ((p = strstr(text, "createType=\"")))
        sscanf(p + 12, "%63[^\"]", s->create_type);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int vmdk_probe(const uint8_t *buf, size_t len, const char *filename)
{
    if (len >= 4 && le32(buf) == VMDK_MAGIC)
        return 100;
    if (len >= 21 && memcmp(buf, "# Disk DescriptorFile", 21) == 0)
        return 100;
    return 0;
}

/* Parse a hosted sparse extent in FILE. */
static int vmdk_open_sparse(struct blk *bs, struct blk *file, struct vmdk_extent *e,
                            struct error **errp)
{
    const char *fn = file->filename;
    uint8_t h[512];
    int r = blk_pread(file, 0, 512, h);
    if (r < 0)
        return err_set_errno(errp, -r, _("cannot read '%s'"), fn);
    if (le32(h) != VMDK_MAGIC)
        return err_set(errp, EINVAL, _("'%s': not a VMDK sparse extent"), fn);
    if (le64(h + 56) == VMDK_GD_AT_END) {
        /* streamOptimized: the real header is the footer near the end */
        if (file->size < 1536)
            return err_set(errp, EINVAL, _("'%s': VMDK footer is missing"), fn);
        r = blk_pread(file, file->size - 1024, 512, h);
        if (r < 0)
            return err_set_errno(errp, -r, _("cannot read '%s'"), fn);
        if (le32(h) != VMDK_MAGIC || le64(h + 56) == VMDK_GD_AT_END)
            return err_set(errp, EINVAL, _("'%s': invalid VMDK footer"), fn);
    }
    uint32_t version = le32(h + 4), flags = le32(h + 8);
    uint64_t capacity = le64(h + 12), grain = le64(h + 20);
    uint32_t gtes = le32(h + 44);
    uint64_t gd_off = le64(h + 56);
    uint16_t calg = (uint16_t)(h[77] | h[78] << 8);
    if (version < 1 || version > 3)
        return err_set(errp, ENOTSUP, _("'%s': unsupported VMDK version %u"), fn, version);
    if (grain == 0 || !IS_POW2(grain) || grain > 2048 || gtes == 0 || gtes > 65536 ||
        capacity > (UINT64_C(1) << 41))
        return err_set(errp, EINVAL, _("'%s': invalid VMDK grain layout"), fn);
    e->compressed = (flags & (1u << 16)) != 0;
    if (e->compressed && calg != 1)
        return err_set(errp, ENOTSUP, _("'%s': unsupported VMDK compression %u"), fn, calg);
    e->sectors = capacity;
    e->grain = grain * 512;
    e->gtes = gtes;
    uint64_t span = grain * gtes;
    e->gd_entries = (uint32_t)DIV_ROUND_UP(capacity, span);
    if ((uint64_t)e->gd_entries * 4 > (64u << 20) || gd_off > file->size / 512 ||
        (uint64_t)e->gd_entries * 4 > file->size - gd_off * 512)
        return err_set(errp, EINVAL, _("'%s': VMDK grain directory lies outside the file"), fn);
    e->gd = malloc((size_t)e->gd_entries * 4 + 4);
    e->gt = malloc((size_t)gtes * 4);
    if (!e->gd || !e->gt)
        return err_set(errp, ENOMEM, _("out of memory"));
    r = blk_pread(file, gd_off * 512, (uint64_t)e->gd_entries * 4, e->gd);
    if (r < 0)
        return err_set_errno(errp, -r, _("cannot read '%s'"), fn);
    for (uint32_t i = 0; i < e->gd_entries; i++)
        e->gd[i] = le32((uint8_t *)&e->gd[i]);
    e->gt_index = UINT32_MAX;
    /* the embedded descriptor (monolithic images) */
    uint64_t doff = le64(h + 28), dsize = le64(h + 36);
    struct vmdk *s = bs->opaque;
    if (file == bs->file && doff && dsize && dsize <= 128 && doff <= file->size / 512 &&
        dsize * 512 <= file->size - doff * 512) {
        char *text = calloc(1, dsize * 512 + 1);
        if (text && blk_pread(file, doff * 512, dsize * 512, text) >= 0)
            vmdk_parse_ddb(s, text);
        free(text);
    }
    return 0;
}

/* A descriptor file: "RW <sectors> FLAT "<file>" <offset>" lines. */
static int vmdk_open_descriptor(struct blk *bs, struct error **errp)
{
    struct vmdk *s = bs->opaque;
    uint64_t len = MIN(bs->file->size, (uint64_t)(64 << 10));
    char *text = calloc(1, len + 1);
    if (!text)
        return err_set(errp, ENOMEM, _("out of memory"));
    int r = blk_pread(bs->file, 0, len, text);
    if (r < 0) {
        free(text);
        return err_set_errno(errp, -r, _("cannot read '%s'"), bs->filename);
    }
    vmdk_parse_ddb(s, text);
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && r >= 0;
         line = strtok_r(NULL, "\n", &save)) {
        char access[16], type[16], name[1024];
        unsigned long long sectors, offset = 0;
        int n = sscanf(line, "%15s %llu %15s \"%1023[^\"]\" %llu", access, &sectors, type, name,
                       &offset);
        if (n < 4 || (strcmp(access, "RW") && strcmp(access, "RDONLY") &&
                      strcmp(access, "NOACCESS")))
            continue;
        if (strcmp(type, "FLAT") != 0 && strcmp(type, "SPARSE") != 0) {
            r = err_set(errp, ENOTSUP, _("'%s': VMDK extent type %s is not supported yet"),
                        bs->filename, type);
            break;
        }
        if (s->next == VMDK_MAX_EXTENTS || sectors > (UINT64_C(1) << 41) ||
            offset > (UINT64_C(1) << 50)) {
            r = err_set(errp, EINVAL, _("'%s': invalid VMDK extent"), bs->filename);
            break;
        }
        struct vmdk_extent *e = &s->ext[s->next];
        char *path = blk_path_combine(bs->filename, name);
        if (!path) {
            r = err_set(errp, ENOMEM, _("out of memory"));
            break;
        }
        r = blk_open_file(&e->file, path, 0, errp);
        free(path);
        if (r < 0)
            break;
        s->next++;
        if (strcmp(type, "FLAT") == 0) {
            e->flat = true;
            e->sectors = sectors;
            e->flat_offset = offset * 512;
        } else {
            r = vmdk_open_sparse(bs, e->file, e, errp);
            if (r >= 0 && e->sectors != sectors)
                r = err_set(errp, EINVAL, _("'%s': invalid VMDK extent"), bs->filename);
        }
    }
    free(text);
    if (r >= 0 && s->next == 0)
        r = err_set(errp, EINVAL, _("'%s': VMDK descriptor has no extents"), bs->filename);
    return r;
}

static void vmdk_close(struct blk *bs)
{
    struct vmdk *s = bs->opaque;
    for (int i = 0; i < s->next; i++) {
        free(s->ext[i].gd);
        free(s->ext[i].gt);
        blk_close(s->ext[i].file);
    }
}

static int vmdk_open(struct blk *bs, int flags, struct error **errp)
{
    struct vmdk *s = bs->opaque;
    if (flags & BLK_O_RDWR)
        return err_set(errp, ENOTSUP, _("'%s': writing VMDK images is not supported yet"),
                       bs->filename);
    uint8_t magic[4] = { 0 };
    int r = blk_pread(bs->file, 0, MIN((uint64_t)4, bs->file->size), magic);
    if (r < 0)
        return err_set_errno(errp, -r, _("cannot read '%s'"), bs->filename);
    if (le32(magic) == VMDK_MAGIC) {
        s->next = 1;
        r = vmdk_open_sparse(bs, bs->file, &s->ext[0], errp);
    } else {
        r = vmdk_open_descriptor(bs, errp);
    }
    if (r < 0) {
        vmdk_close(bs);
        memset(s, 0, sizeof(*s));
        return r;
    }
    bs->size = 0;
    for (int i = 0; i < s->next; i++)
        bs->size += s->ext[i].sectors * 512;
    return 0;
}

struct vmdk_map {
    int kind;                /* 0 unallocated, 1 zero, 2 data, 3 compressed */
    struct blk *file;
    uint64_t host, n, grain_host;
    uint64_t in_grain;
    struct vmdk_extent *e;
};

static int vmdk_map(struct blk *bs, uint64_t off, uint64_t len, struct vmdk_map *m)
{
    struct vmdk *s = bs->opaque;
    uint64_t base = 0;
    memset(m, 0, sizeof(*m));
    for (int i = 0; i < s->next; i++) {
        struct vmdk_extent *e = &s->ext[i];
        uint64_t esize = e->sectors * 512;
        if (off >= base + esize) {
            base += esize;
            continue;
        }
        uint64_t eo = off - base;
        m->file = e->file ? e->file : bs->file;
        m->e = e;
        if (e->flat) {
            m->kind = 2;
            m->host = e->flat_offset + eo;
            m->n = MIN(len, esize - eo);
            return 0;
        }
        uint64_t gi = eo / e->grain;
        uint32_t gdi = (uint32_t)(gi / e->gtes), gti = (uint32_t)(gi % e->gtes);
        m->in_grain = eo % e->grain;
        m->n = MIN(len, e->grain - m->in_grain);
        uint32_t gt_sector = gdi < e->gd_entries ? e->gd[gdi] : 0;
        if (!gt_sector)
            return 0;
        if (e->gt_index != gdi) {
            uint64_t gto = (uint64_t)gt_sector * 512;
            if (gto > m->file->size || (uint64_t)e->gtes * 4 > m->file->size - gto)
                return -EIO;
            e->gt_index = UINT32_MAX;
            int r = blk_pread(m->file, gto, (uint64_t)e->gtes * 4, e->gt);
            if (r < 0)
                return r;
            for (uint32_t k = 0; k < e->gtes; k++)
                e->gt[k] = le32((uint8_t *)&e->gt[k]);
            e->gt_index = gdi;
        }
        uint32_t g = e->gt[gti];
        if (g == 0)
            return 0;
        if (g == 1) {
            m->kind = 1;
            return 0;
        }
        m->grain_host = (uint64_t)g * 512;
        if (e->compressed) {
            m->kind = 3;
            return 0;
        }
        m->kind = 2;
        m->host = m->grain_host + m->in_grain;
        return 0;
    }
    return -EIO;
}

static int vmdk_read_compressed(struct vmdk_map *m, uint8_t *grain)
{
    uint8_t hdr[12];
    int r = blk_pread(m->file, m->grain_host, 12, hdr);
    if (r < 0)
        return r;
    uint32_t size = le32(hdr + 8);
    if (size > m->e->grain * 2 + 4096 || m->grain_host + 12 > m->file->size)
        return -EIO;
    uint8_t *cbuf = malloc(size ? size : 1);
    if (!cbuf)
        return -ENOMEM;
    r = blk_pread(m->file, m->grain_host + 12, size, cbuf);
    if (r >= 0) {
        uLongf out = (uLongf)m->e->grain;
        int zr = uncompress(grain, &out, cbuf, size);
        if (zr != Z_OK && zr != Z_BUF_ERROR)
            r = -EIO;
        else if (out < m->e->grain)
            memset(grain + out, 0, m->e->grain - out);
    }
    free(cbuf);
    return r;
}

static int vmdk_preadv(struct blk *bs, uint64_t off, uint64_t len, const struct iovec *iov,
                       int iovcnt)
{
    struct iovec *sub = malloc(sizeof(*sub) * (size_t)iovcnt);
    uint8_t *grain = NULL;
    if (!sub)
        return -ENOMEM;
    int r = 0;
    for (uint64_t done = 0; done < len && r >= 0;) {
        struct vmdk_map m;
        r = vmdk_map(bs, off + done, len - done, &m);
        if (r < 0)
            break;
        if (m.kind == 2) {
            int k = iov_slice(iov, iovcnt, done, m.n, sub, iovcnt);
            r = blk_preadv(m.file, m.host, m.n, sub, k);
        } else if (m.kind == 3) {
            if (!grain)
                grain = malloc(m.e->grain);
            if (!grain) {
                r = -ENOMEM;
                break;
            }
            r = vmdk_read_compressed(&m, grain);
            if (r >= 0)
                iov_from_buf(iov, iovcnt, done, grain + m.in_grain, m.n);
        } else {
            iov_memset(iov, iovcnt, done, 0, m.n);
        }
        done += m.n;
    }
    free(grain);
    free(sub);
    return r < 0 ? r : 0;
}

static int vmdk_block_status(struct blk *bs, uint64_t off, uint64_t len, uint64_t *pnum,
                             uint64_t *map, struct blk **file)
{
    struct vmdk_map m;
    int r = vmdk_map(bs, off, len, &m);
    if (r < 0)
        return r;
    *pnum = m.n;
    switch (m.kind) {
    case 0:
        return 0;
    case 1:
        return BLK_STATUS_ZERO | BLK_STATUS_ALLOCATED;
    case 3:
        return BLK_STATUS_DATA | BLK_STATUS_ALLOCATED | BLK_STATUS_COMPRESSED;
    default:
        *map = m.host;
        *file = m.file;
        /* flat extents: holes in the extent file read as zeros */
        return BLK_STATUS_DATA | BLK_STATUS_ALLOCATED | BLK_STATUS_OFFSET |
               (m.e->flat ? BLK_STATUS_RECURSE : 0);
    }
}

static int vmdk_get_info(struct blk *bs, struct blk_info *info)
{
    struct vmdk *s = bs->opaque;
    info->cluster_size = s->next == 1 && !s->ext[0].flat ? s->ext[0].grain : 0;
    info->is_vmdk = true;
    info->cid = s->cid;
    info->parent_cid = s->parent_cid;
    info->create_type = s->create_type;
    info->extents = calloc((size_t)(s->next ? s->next : 1), sizeof(*info->extents));
    if (!info->extents)
        return -ENOMEM;
    for (int i = 0; i < s->next; i++) {
        struct vmdk_extent *e = &s->ext[i];
        struct blk_extent_info *x = &info->extents[i];
        x->filename = e->file ? e->file->filename : bs->filename;
        x->format = e->flat ? "FLAT" : e->file ? "SPARSE" : "";
        x->virtual_size = e->sectors * 512;
        x->cluster_size = e->flat ? 0 : e->grain;
        x->compressed = e->compressed;
    }
    info->nb_extents = s->next;
    return 0;
}

/* All files of the image: descriptor and extents. */
static int64_t vmdk_allocated_size(struct blk *bs)
{
    struct vmdk *s = bs->opaque;
    int64_t total = blk_allocated_size(bs->file);
    for (int i = 0; i < s->next && total >= 0; i++) {
        if (s->ext[i].file) {
            int64_t a = blk_allocated_size(s->ext[i].file);
            if (a > 0)
                total += a;
        }
    }
    return total;
}

static int vmdk_create(const char *filename, const struct blk_create_opts *o,
                       struct error **errp)
{
    return err_set(errp, ENOTSUP, _("creating VMDK images is not supported yet"));
}

const struct block_driver blk_drv_vmdk = {
    .name = "vmdk",
    .state_size = sizeof(struct vmdk),
    .probe = vmdk_probe,
    .open = vmdk_open,
    .close = vmdk_close,
    .create = vmdk_create,
    .preadv = vmdk_preadv,
    .block_status = vmdk_block_status,
    .get_info = vmdk_get_info,
    .allocated_size = vmdk_allocated_size,
};
