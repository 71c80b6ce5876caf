/* vmdk.c - VMware VMDK: monolithicSparse and streamOptimized (hosted
 * sparse extents, compressed grains with markers, the grain directory in
 * the header area or at the end) and monolithicFlat / twoGbMaxExtentFlat
 * (a text descriptor naming flat extents).  Creating: vmdk-create.c.
 *
 * Writes: flat extents in place; sparse grains are appended at the end of
 * the extent file.  Their grain table entries wait in memory (reads see
 * them) until the next flush, or until VMDK_PENDING_MAX of them wait: the
 * file is flushed first, then the redundant entries and the entries are
 * written, so that a crash at any point leaves at most unreferenced grains,
 * never an entry pointing at sectors that did not reach the disk.  A
 * flush per grain would cost a disk round trip per 64 KiB; a batch costs
 * one per flush.  A grain table appended for a missing one is flushed
 * before the directory entry pointing to it is written.
 * Compressed extents (streamOptimized) get every written grain appended
 * as a new compressed grain with its marker; an end-of-stream marker
 * follows the last grain on close.
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
#include "msg.h"
#include "vmdk.h"
#include "anon.h"

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
    uint32_t *rgd;           /* redundant directory, NULL if none */
    uint64_t gd_off, rgd_off;  /* sectors */
    uint64_t next;           /* writes: next free byte in the extent file */
    /* what the tables point to, walked once before the first write of a
     * session (vmdk_scan_extent) */
    bool scanned;
    bool aliased;            /* two entries share a grain: no writes */
    uint64_t far_end;        /* end of the farthest grain or table */
    uint64_t far_at;         /* ... its start, */
    bool far_table;          /* ... and whether it is a table */
    bool next_known;         /* every grain lies before next (vmdk_find_end) */
    bool no_alloc;           /* ... or some do not: no new grains */
    bool gd_at_end;          /* stream footer layout: not writable */
    bool dirty;              /* compressed: grains appended, EOS due */
    uint8_t *pend;           /* compressed: the grain being filled */
    uint64_t pend_gi;        /* its index, UINT64_MAX: none */
    uint64_t pend_lba;       /* its first sector in the extent */
    /* grain table entries not written yet (see the top of the file) */
    struct vmdk_gte *gtes_pending;
    uint32_t npending, pending_cap;
};

struct vmdk_gte {
    uint64_t gi;             /* grain index */
    uint32_t g;              /* its sector */
};

/* 4 Ki entries: 48 KiB of memory, 256 MiB of data with 64 KiB grains,
 * so that with a writeback cache the file is flushed once per 256 MiB. */
#define VMDK_PENDING_MAX 4096u

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

#define le32 vmdk_le32
#define le64 vmdk_le64

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
        e->gd_at_end = true;
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
    e->pend_gi = UINT64_MAX;
    e->gd_off = gd_off;
    uint64_t rgd_off = le64(h + 48);
    if ((flags & VMDK_FLAG_RGD) && !e->gd_at_end && rgd_off && rgd_off <= file->size / 512 &&
        (uint64_t)e->gd_entries * 4 <= file->size - rgd_off * 512) {
        e->rgd = malloc((size_t)e->gd_entries * 4 + 4);
        if (!e->rgd)
            return err_set(errp, ENOMEM, _("out of memory"));
        r = blk_pread(file, rgd_off * 512, (uint64_t)e->gd_entries * 4, e->rgd);
        if (r < 0)
            return err_set_errno(errp, -r, _("cannot read '%s'"), fn);
        for (uint32_t i = 0; i < e->gd_entries; i++)
            e->rgd[i] = le32((uint8_t *)&e->rgd[i]);
        e->rgd_off = rgd_off;
    }
    /* new grains go at the end; a trailing end-of-stream marker is reused */
    e->next = ALIGN_UP(file->size, (uint64_t)512);
    uint64_t overhead = le64(h + 64);
    if (e->compressed && e->next >= 512 && overhead <= file->size / 512 &&
        e->next - 512 >= overhead * 512) {
        uint8_t eos[512];
        if (blk_pread(file, e->next - 512, 512, eos) >= 0 && buf_is_zero(eos, 512))
            e->next -= 512;
    }
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
        r = blk_open_file(&e->file, path, bs->flags & (BLK_O_RDWR | BLK_O_NO_FLUSH), errp);
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

static int vmdk_finish_stream(struct blk *bs);

static void vmdk_close(struct blk *bs)
{
    struct vmdk *s = bs->opaque;
    if (!bs->read_only)
        vmdk_finish_stream(bs);
    for (int i = 0; i < s->next; i++) {
        free(s->ext[i].gd);
        free(s->ext[i].rgd);
        free(s->ext[i].gt);
        free(s->ext[i].pend);
        free(s->ext[i].gtes_pending);
        blk_close(s->ext[i].file);
    }
}

static int vmdk_open(struct blk *bs, int flags, struct error **errp)
{
    struct vmdk *s = bs->opaque;
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
    for (int i = 0; i < s->next; i++) {
        bs->size += s->ext[i].sectors * 512;
        if ((flags & BLK_O_RDWR) && s->ext[i].gd_at_end) {
            vmdk_close(bs);
            memset(s, 0, sizeof(*s));
            return err_set(errp, ENOTSUP, _("'%s': writing VMDK stream images with the grain "
                                            "directory at the end is not supported"),
                           bs->filename);
        }
    }
    return 0;
}

struct vmdk_map {
    int kind;                /* 0 unallocated, 1 zero, 2 data, 3 compressed,
                                4 the pending grain of a compressed extent */
    uint64_t gi, lba;        /* sparse: grain index, its first extent sector */
    struct blk *file;
    uint64_t host, n, grain_host;
    uint64_t in_grain;
    struct vmdk_extent *e;
};

/* Make e->gt grain table GDI as reads must see it: the file's table (or
 * zeros, when it has none yet) with the waiting entries on top.  1 loaded,
 * 0 no table and nothing waiting, -errno. */
static int vmdk_load_gt(struct vmdk_extent *e, struct blk *file, uint32_t gdi)
{
    uint32_t gt_sector = gdi < e->gd_entries ? e->gd[gdi] : 0;
    e->gt_index = UINT32_MAX;
    if (gt_sector) {
        uint64_t gto = (uint64_t)gt_sector * 512;
        if (gto > file->size || (uint64_t)e->gtes * 4 > file->size - gto)
            return -EIO;
        int r = blk_pread(file, gto, (uint64_t)e->gtes * 4, e->gt);
        if (r < 0)
            return r;
        for (uint32_t k = 0; k < e->gtes; k++)
            e->gt[k] = le32((uint8_t *)&e->gt[k]);
    } else {
        memset(e->gt, 0, (size_t)e->gtes * 4);
    }
    bool waiting = false;
    for (uint32_t i = 0; i < e->npending; i++) {
        if (e->gtes_pending[i].gi / e->gtes == gdi) {
            e->gt[e->gtes_pending[i].gi % e->gtes] = e->gtes_pending[i].g;
            waiting = true;
        }
    }
    if (!gt_sector && !waiting)
        return 0;
    e->gt_index = gdi;
    return 1;
}

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
        m->gi = gi;
        m->lba = (eo - m->in_grain) / 512;
        if (gi == e->pend_gi) {
            m->kind = 4;
            return 0;
        }
        if (e->gt_index != gdi) {
            int r = vmdk_load_gt(e, m->file, gdi);
            if (r <= 0)
                return r;       /* 0: no table, nothing allocated */
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
        } else if (m.kind == 4) {
            iov_from_buf(iov, iovcnt, done, m.e->pend + m.in_grain, m.n);
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
    case 4:
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

/* Visit every grain table the directories point to and every grain their
 * entries point to, telling FN whether each lies inside the file (a table
 * outside is not read: its grains are unknown).  A compressed grain counts
 * as one sector.  FN returns non-zero to stop; so does a read error
 * (negative). */
struct vmdk_walk {
    bool table;              /* a grain table, else a grain */
    uint64_t at;             /* its byte offset in the file */
    uint64_t len;            /* its length (a compressed grain: one sector) */
    uint64_t gi;             /* grains: the grain's index in the extent */
    bool inside;
};

static int vmdk_walk(struct vmdk_extent *e, struct blk *file,
                     int (*fn)(void *opaque, const struct vmdk_walk *w), void *opaque)
{
    uint64_t gt_bytes = (uint64_t)e->gtes * 4, fsize = file->size;
    uint64_t glen = e->compressed ? 512 : e->grain;
    uint8_t *gt = malloc(gt_bytes);
    if (!gt)
        return -ENOMEM;
    int r = 0;
    for (int copy = 0; copy < 2 && !r; copy++) {
        const uint32_t *dir = copy ? e->rgd : e->gd;
        for (uint32_t i = 0; dir && i < e->gd_entries && !r; i++) {
            struct vmdk_walk w = { .table = true, .at = (uint64_t)dir[i] * 512,
                                   .len = gt_bytes };
            if (!w.at)
                continue;
            w.inside = w.at <= fsize && gt_bytes <= fsize - w.at;
            r = fn(opaque, &w);
            /* the redundant tables point where the main ones do */
            if (r || copy || !w.inside)
                continue;
            r = blk_pread(file, w.at, gt_bytes, gt);
            w.table = false;
            w.len = glen;
            for (uint32_t k = 0; !r && k < e->gtes; k++) {
                w.at = (uint64_t)le32(gt + (size_t)k * 4) * 512;
                if (w.at <= 512)
                    continue;   /* unallocated or a zero grain */
                w.gi = (uint64_t)i * e->gtes + k;
                w.inside = w.at <= fsize && glen <= fsize - w.at;
                r = fn(opaque, &w);
            }
        }
    }
    free(gt);
    return r;
}

struct vmdk_scan {
    struct vmdk_extent *e;
    uint64_t *at;            /* grains, for the overlap search */
    size_t n, cap;
};

static int vmdk_scan_one(void *opaque, const struct vmdk_walk *w)
{
    struct vmdk_scan *c = opaque;
    struct vmdk_extent *e = c->e;
    if (w->at + w->len > e->far_end) {
        e->far_end = w->at + w->len;
        e->far_at = w->at;
        e->far_table = w->table;
    }
    /* compressed grains are never rewritten in place: sharing is harmless */
    if (w->table || e->compressed)
        return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024;
        uint64_t *n = realloc(c->at, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        c->at = n;
        c->cap = cap;
    }
    c->at[c->n++] = w->at;
    return 0;
}

/* Before the first write of a session, walk what E's tables point to,
 * once.  Two entries sending guest data into one grain (a damaged table)
 * mean that a write through one would change the other: the image then
 * takes no writes, and a warning says so once.  The farthest grain or
 * table is kept for vmdk_find_end. */
static int vmdk_scan_extent(struct vmdk_extent *e, struct blk *file)
{
    if (e->scanned)
        return e->aliased ? -EIO : 0;
    struct vmdk_scan c = { .e = e };
    e->far_end = 0;
    int r = vmdk_walk(e, file, vmdk_scan_one, &c);
    uint64_t hit = r < 0 ? UINT64_MAX : blk_find_overlap(c.at, c.n, e->grain);
    free(c.at);
    if (r < 0)
        return r;
    e->scanned = true;
    if (hit != UINT64_MAX) {
        msg_warn(_("'%s': two grain table entries point into the grain at byte %" PRIu64
                   "; the image can only be read"), file->filename, hit);
        e->aliased = true;
    }
    return e->aliased ? -EIO : 0;
}

static int vmdk_scan_all(struct blk *bs)
{
    struct vmdk *s = bs->opaque;
    int r = 0;
    for (int i = 0; i < s->next && r >= 0; i++)
        if (!s->ext[i].flat)
            r = vmdk_scan_extent(&s->ext[i], s->ext[i].file ? s->ext[i].file : bs->file);
    return r;
}

/* Before the first new grain of a session: does every grain and grain
 * table the directories point to lie inside the file?  In a truncated
 * copy one reaches past the end, and a grain appended at the end would
 * overlap it: a write to either would change the other.  Such an image is
 * read, and rewritten in place, but gets no new grains (convert it
 * instead, or rewrite the cut grains whole: the file size is taken now,
 * after such rewrites, not when the tables were walked). */
static int vmdk_find_end(struct vmdk_extent *e, struct blk *file)
{
    if (e->no_alloc)
        return -EIO;            /* said once */
    int r = vmdk_scan_extent(e, file);
    if (r < 0)
        return r;
    if (e->far_end > file->size) {
        if (e->far_table)
            msg_warn(_("'%s': a grain table at byte %" PRIu64 " reaches past the end of the "
                       "file (%" PRIu64 " bytes; truncated image?): no new grains can be added"),
                     file->filename, e->far_at, file->size);
        else
            msg_warn(_("'%s': a grain at byte %" PRIu64 " reaches past the end of the file "
                       "(%" PRIu64 " bytes; truncated image?): no new grains can be added"),
                     file->filename, e->far_at, file->size);
        e->no_alloc = true;
        return -EIO;
    }
    e->next = MAX(e->next, ALIGN_UP(file->size, (uint64_t)512));
    e->next_known = true;
    return 0;
}

/* Point GT entry GTI of directory entry GDI (and its redundant copy) at
 * sector G.  A missing grain table is appended zeroed before the directory
 * entry that points to it is written. */
static int vmdk_set_gte(struct vmdk_extent *e, struct blk *file, uint32_t gdi, uint32_t gti,
                        uint32_t g)
{
    uint64_t gt_bytes = ALIGN_UP((uint64_t)e->gtes * 4, (uint64_t)512);
    uint8_t v[4];
    vmdk_put_le32(v, g);
    for (int copy = e->rgd ? 0 : 1; copy < 2; copy++) {
        uint32_t *dir = copy ? e->gd : e->rgd;
        uint64_t dir_off = copy ? e->gd_off : e->rgd_off;
        int r;
        if (!dir[gdi]) {
            if (!e->next_known && (r = vmdk_find_end(e, file)) < 0)
                return r;
            if (e->next / 512 + gt_bytes / 512 >= UINT32_MAX)
                return -EFBIG;
            uint8_t *z = calloc(1, gt_bytes);
            if (!z)
                return -ENOMEM;
            uint64_t at = e->next;
            r = blk_pwrite(file, at, gt_bytes, z);
            free(z);
            /* The zeroed table must be on disk before the directory entry
             * that makes it live: otherwise a crash can leave the entry
             * pointing at whatever the sectors held (or past the end of
             * the file).  Rare: images we create have every table. */
            if (r >= 0)
                r = blk_flush(file);
            if (r < 0)
                return r;
            e->next += gt_bytes;
            uint8_t d[4];
            vmdk_put_le32(d, (uint32_t)(at / 512));
            r = blk_pwrite(file, dir_off * 512 + (uint64_t)gdi * 4, 4, d);
            if (r < 0)
                return r;
            dir[gdi] = (uint32_t)(at / 512);
        }
        uint64_t gto = (uint64_t)dir[gdi] * 512;
        if (gto > file->size || (uint64_t)e->gtes * 4 > file->size - gto)
            return -EIO;
        r = blk_pwrite(file, gto + (uint64_t)gti * 4, 4, v);
        if (r < 0)
            return r;
    }
    if (e->gt_index == gdi)
        e->gt[gti] = g;
    return 0;
}

/* Write the waiting grain table entries of E, after the grains they point
 * to are on disk. */
static int vmdk_commit_gtes(struct vmdk_extent *e, struct blk *file)
{
    if (!e->npending)
        return 0;
    int r = blk_flush(file);
    for (uint32_t i = 0; r >= 0 && i < e->npending; i++) {
        const struct vmdk_gte *p = &e->gtes_pending[i];
        r = vmdk_set_gte(e, file, (uint32_t)(p->gi / e->gtes), (uint32_t)(p->gi % e->gtes), p->g);
    }
    if (r < 0)
        return r;               /* kept: a later flush tries again */
    e->npending = 0;
    return 0;
}

/* Grain GI now lives at sector G: record it for reads at once, and for
 * the file at the next commit. */
static int vmdk_queue_gte(struct vmdk_extent *e, struct blk *file, uint64_t gi, uint32_t g)
{
    if (e->npending == VMDK_PENDING_MAX) {
        int r = vmdk_commit_gtes(e, file);
        if (r < 0)
            return r;
    }
    if (e->npending == e->pending_cap) {
        uint32_t cap = e->pending_cap ? e->pending_cap * 2 : 256;
        struct vmdk_gte *n = realloc(e->gtes_pending, sizeof(*n) * cap);
        if (!n)
            return -ENOMEM;
        e->gtes_pending = n;
        e->pending_cap = cap;
    }
    e->gtes_pending[e->npending++] = (struct vmdk_gte){ gi, g };
    uint32_t gdi = (uint32_t)(gi / e->gtes);
    if (e->gt_index == gdi)
        e->gt[gi % e->gtes] = g;
    return 0;
}

/* Append one grain whose full content is GRAIN at extent sector LBA;
 * returns its sector in *G. */
static int vmdk_append_grain(struct vmdk_extent *e, struct blk *file, uint64_t lba,
                             const uint8_t *grain, uint32_t *g)
{
    if (!e->next_known) {
        int r = vmdk_find_end(e, file);
        if (r < 0)
            return r;
    }
    uint64_t at = e->next;
    uint8_t *out = NULL;
    uint64_t n = e->grain;
    const uint8_t *src = grain;
    if (e->compressed) {
        uLongf clen = compressBound((uLong)e->grain);
        out = calloc(1, ALIGN_UP(clen + 12, (uint64_t)512));
        if (!out)
            return -ENOMEM;
        if (compress2(out + 12, &clen, grain, (uLong)e->grain, Z_DEFAULT_COMPRESSION) != Z_OK) {
            free(out);
            return -EIO;
        }
        vmdk_put_le64(out, lba);
        vmdk_put_le32(out + 8, (uint32_t)clen);
        n = ALIGN_UP(clen + 12, (uint64_t)512);
        src = out;
    }
    if ((at + n) / 512 >= UINT32_MAX) {
        free(out);
        return -EFBIG;
    }
    int r = blk_pwrite(file, at, n, src);
    free(out);
    if (r < 0)
        return r;
    e->next = at + n;
    e->dirty = e->compressed;
    *g = (uint32_t)(at / 512);
    return 0;
}

/* Write out the pending grain of compressed extent E. */
static int vmdk_flush_pending(struct blk *bs, struct vmdk_extent *e)
{
    if (!e->compressed || e->pend_gi == UINT64_MAX)
        return 0;
    struct blk *file = e->file ? e->file : bs->file;
    uint64_t gi = e->pend_gi;
    uint32_t g;
    e->pend_gi = UINT64_MAX;
    int r = vmdk_append_grain(e, file, e->pend_lba, e->pend, &g);
    if (r >= 0)
        r = vmdk_queue_gte(e, file, gi, g);
    return r;
}

/* Writes to a compressed extent collect a whole grain in memory (convert
 * writes a grain in pieces around zero runs); it is compressed and
 * appended when a write moves to another grain, on flush and on close. */
static int vmdk_write_compressed(struct blk *bs, struct vmdk_map *m, const struct iovec *iov,
                                 int iovcnt, uint64_t done)
{
    struct vmdk_extent *e = m->e;
    if (m->kind != 4) {
        int r = vmdk_flush_pending(bs, e);
        if (r < 0)
            return r;
        if (!e->pend && !(e->pend = malloc(e->grain)))
            return -ENOMEM;
        if (m->kind == 3)
            r = vmdk_read_compressed(m, e->pend);
        else
            memset(e->pend, 0, e->grain);
        if (r < 0)
            return r;
        e->pend_gi = m->gi;
        e->pend_lba = m->lba;
    }
    iov_to_buf(iov, iovcnt, done, e->pend + m->in_grain, m->n);
    return 0;
}

static int vmdk_pwritev(struct blk *bs, uint64_t off, uint64_t len, const struct iovec *iov,
                        int iovcnt)
{
    int r = vmdk_scan_all(bs);
    if (r < 0)
        return r;
    struct iovec *sub = malloc(sizeof(*sub) * (size_t)iovcnt);
    uint8_t *grain = NULL;
    if (!sub)
        return -ENOMEM;
    for (uint64_t done = 0; done < len && r >= 0;) {
        struct vmdk_map m;
        r = vmdk_map(bs, off + done, len - done, &m);
        if (r < 0)
            break;
        struct vmdk_extent *e = m.e;
        if (e->compressed) {
            r = vmdk_write_compressed(bs, &m, iov, iovcnt, done);
        } else if (m.kind == 2) {
            int k = iov_slice(iov, iovcnt, done, m.n, sub, iovcnt);
            r = blk_pwritev(m.file, m.host, m.n, sub, k);
        } else {
            /* a new grain: zeros plus this write, then its table entries */
            if (!grain && !(grain = malloc(e->grain))) {
                r = -ENOMEM;
                break;
            }
            memset(grain, 0, e->grain);
            iov_to_buf(iov, iovcnt, done, grain + m.in_grain, m.n);
            uint32_t g;
            r = vmdk_append_grain(e, m.file, m.lba, grain, &g);
            if (r >= 0)
                r = vmdk_queue_gte(e, m.file, m.gi, g);
        }
        done += m.n;
    }
    free(grain);
    free(sub);
    return r < 0 ? r : 0;
}

/* Unallocated grains already read as zeros (no backing files): nothing to
 * do.  Anything else goes through the core's zero-buffer fallback. */
static int vmdk_pwrite_zeroes(struct blk *bs, uint64_t off, uint64_t len, int flags)
{
    for (uint64_t done = 0; done < len;) {
        struct vmdk_map m;
        int r = vmdk_map(bs, off + done, len - done, &m);
        if (r < 0)
            return r;
        if (m.kind != 0 && m.kind != 1)
            return -ENOTSUP;
        done += m.n;
    }
    return 0;
}

/* Compressed extents end with an end-of-stream marker (a zero sector). */
static int vmdk_finish_stream(struct blk *bs)
{
    struct vmdk *s = bs->opaque;
    int r = 0;
    for (int i = 0; i < s->next; i++) {
        struct vmdk_extent *e = &s->ext[i];
        struct blk *file = e->file ? e->file : bs->file;
        int k = vmdk_flush_pending(bs, e);
        if (k >= 0)
            k = vmdk_commit_gtes(e, file);
        if (k < 0)
            r = k;
        if (!e->dirty)
            continue;
        uint8_t eos[512] = { 0 };
        k = blk_pwrite(file, e->next, 512, eos);
        if (k < 0)
            r = k;
        else
            e->dirty = false;
    }
    return r;
}

static int vmdk_flush(struct blk *bs)
{
    struct vmdk *s = bs->opaque;
    int r = vmdk_finish_stream(bs);
    for (int i = 0; i < s->next; i++) {
        if (s->ext[i].file) {
            int k = blk_flush(s->ext[i].file);
            if (k < 0)
                r = k;
        }
    }
    int k = blk_flush(bs->file);
    return k < 0 ? k : r;
}

struct vmdk_check_ctx {
    struct blk_check *res;
    const struct vmdk_extent *e;
    int ext;
};

static int vmdk_check_one(void *opaque, const struct vmdk_walk *w)
{
    struct vmdk_check_ctx *c = opaque;
    if (w->inside)
        return 0;
    if (c->res->report) {
        if (w->table)
            fprintf(c->res->report, "ERROR: extent %d: grain table at offset %" PRIu64
                    " lies outside the file\n", c->ext, w->at);
        else
            fprintf(c->res->report, "ERROR: extent %d: grain for sector %" PRIu64
                    " at offset %" PRIu64 " lies past the end of the file\n", c->ext,
                    w->gi * (c->e->grain / 512), w->at);
    }
    c->res->corruptions++;
    return 0;
}

/* What qemu-img check looks at in a VMDK: every grain table and grain the
 * sparse extents point to lies inside its file (a grain cut short by the
 * end counts too).  Nothing is repaired, and as with qemu-img there are
 * no cluster statistics. */
static int vmdk_check(struct blk *bs, struct blk_check *res, int fix, struct error **errp)
{
    struct vmdk *s = bs->opaque;
    (void)fix;
    for (int i = 0; i < s->next; i++) {
        struct vmdk_extent *e = &s->ext[i];
        if (e->flat)
            continue;
        struct vmdk_check_ctx c = { .res = res, .e = e, .ext = i };
        int r = vmdk_walk(e, e->file ? e->file : bs->file, vmdk_check_one, &c);
        if (r < 0) {
            res->check_errors++;
            return err_set_errno(errp, -r, _("cannot read '%s'"), bs->filename);
        }
    }
    return 0;
}

const struct block_driver blk_drv_vmdk = {
    .name = "vmdk",
    .state_size = sizeof(struct vmdk),
    .probe = vmdk_probe,
    .open = vmdk_open,
    .close = vmdk_close,
    .create_opts = vmdk_create_opts,
    .create = vmdk_create,
    .preadv = vmdk_preadv,
    .pwritev = vmdk_pwritev,
    .pwrite_zeroes = vmdk_pwrite_zeroes,
    .flush = vmdk_flush,
    .block_status = vmdk_block_status,
    .get_info = vmdk_get_info,
    .check = vmdk_check,
    .allocated_size = vmdk_allocated_size,
    .anonymize = vmdk_anonymize,
};
