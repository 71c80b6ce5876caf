/* vhdx.c - the Microsoft VHDX format (specification v1.00): dynamic and
 * fixed disks (differencing disks are refused).
 *
 * Layout: a file type identifier ("vhdxfile") at 0, two 4 KiB headers at
 * 64 KiB and 128 KiB (the valid one with the higher sequence number is
 * current), two copies of the region table at 192 KiB and 256 KiB naming
 * the BAT and metadata regions, and the log.  All structures are
 * little-endian and protected by CRC-32C.  The BAT interleaves one sector
 * bitmap entry after every chunk_ratio payload block entries.
 *
 * Opening read-write replays a pending log (vhdx-log.c) and then clears the
 * header's log GUID; a read-only open of an image with a pending log is
 * refused, as nothing may be written.  Writes allocate payload blocks at
 * the end of the file: the block's data is written first, then its BAT
 * entry, so a crash leaves at most an unreferenced block.  The first write
 * of a session moves the headers to new file/data write GUIDs. */
#include <config.h>

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include "i18n.h"
#include "msg.h"
#include "vhdx.h"
#include "anon.h"

#define MiB (UINT64_C(1) << 20)

const uint8_t vhdx_guid_bat[16] = { 0x66, 0x77, 0xc2, 0x2d, 0x23, 0xf6, 0x00, 0x42,
                                      0x9d, 0x64, 0x11, 0x5e, 0x9b, 0xfd, 0x4a, 0x08 };
const uint8_t vhdx_guid_meta[16] = { 0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b,
                                       0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e };
const uint8_t vhdx_guid_file_params[16] = { 0x37, 0x67, 0xa1, 0xca, 0x36, 0xfa, 0x43, 0x4d,
                                              0xb3, 0xb6, 0x33, 0xf0, 0xaa, 0x44, 0xe7, 0x6b };
const uint8_t vhdx_guid_disk_size[16] = { 0x24, 0x42, 0xa5, 0x2f, 0x1b, 0xcd, 0x76, 0x48,
                                            0xb2, 0x11, 0x5d, 0xbe, 0xd8, 0x3b, 0xf4, 0xb8 };
const uint8_t vhdx_guid_disk_id[16] = { 0xab, 0x12, 0xca, 0xbe, 0xe6, 0xb2, 0x23, 0x45,
                                          0x93, 0xef, 0xc3, 0x09, 0xe0, 0x00, 0xc7, 0x46 };
const uint8_t vhdx_guid_lss[16] = { 0x1d, 0xbf, 0x41, 0x81, 0x6f, 0xa9, 0x09, 0x47,
                                      0xba, 0x47, 0xf2, 0x33, 0xa8, 0xfa, 0xab, 0x5f };
const uint8_t vhdx_guid_pss[16] = { 0xc7, 0x48, 0xa3, 0xcd, 0x5d, 0x44, 0x71, 0x44,
                                      0x9c, 0xc9, 0xe9, 0x88, 0x52, 0x51, 0xc5, 0x56 };
const uint8_t vhdx_guid_parent[16] = { 0x2d, 0x5f, 0xd3, 0xa8, 0x0b, 0xb3, 0x4d, 0x45,
                                         0xab, 0xf7, 0xd3, 0xd8, 0x48, 0x34, 0xab, 0x0c };

uint32_t vhdx_crc32c(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    crc = ~crc;
    while (len--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
    }
    return ~crc;
}

/* CRC-32C of BUF with the 4-byte checksum field at CSUM_AT taken as zero. */
uint32_t vhdx_checksum(const uint8_t *buf, size_t len, size_t csum_at)
{
    static const uint8_t zero[4];
    uint32_t c = vhdx_crc32c(0, buf, csum_at);
    c = vhdx_crc32c(c, zero, 4);
    return vhdx_crc32c(c, buf + csum_at + 4, len - csum_at - 4);
}

void vhdx_new_guid(uint8_t g[16])
{
    if (getrandom(g, 16, 0) != 16)
        memset(g, 0x5a, 16);
    g[7] = (uint8_t)((g[7] & 0x0f) | 0x40);
    g[8] = (uint8_t)((g[8] & 0x3f) | 0x80);
}

static int vhdx_probe(const uint8_t *buf, size_t len, const char *filename)
{
    return len >= 8 && memcmp(buf, "vhdxfile", 8) == 0 ? 100 : 0;
}

static bool vhdx_header_valid(const uint8_t *h)
{
    return memcmp(h, "head", 4) == 0 && vhdx_le32(h + 4) == vhdx_checksum(h, 4096, 4) &&
           vhdx_le16(h + 66) == 1 && vhdx_le16(h + 64) == 0;
}

/* Write header content H with sequence number SEQ into the slot that is
 * not current, making it current. */
int vhdx_write_header(struct blk *bs, const uint8_t *guid_log)
{
    struct vhdx *s = bs->opaque;
    uint8_t *h = s->header;
    s->seq++;
    vhdx_put_le64(h + 8, s->seq);
    if (guid_log)
        memcpy(h + 48, guid_log, 16);
    vhdx_put_le32(h + 4, 0);
    vhdx_put_le32(h + 4, vhdx_checksum(h, 4096, 4));
    s->cur = !s->cur;
    int r = blk_pwrite(bs->file, s->cur ? 128 * 1024 : 64 * 1024, 4096, h);
    if (r >= 0)
        r = blk_flush(bs->file);
    return r;
}

static int vhdx_read_headers(struct blk *bs, struct error **errp)
{
    struct vhdx *s = bs->opaque;
    uint8_t h[2][4096];
    for (int i = 0; i < 2; i++) {
        int r = blk_pread(bs->file, (uint64_t)(i + 1) * 64 * 1024, 4096, h[i]);
        if (r < 0)
            return err_set_errno(errp, -r, _("cannot read '%s'"), bs->filename);
    }
    bool v0 = vhdx_header_valid(h[0]), v1 = vhdx_header_valid(h[1]);
    if (!v0 && !v1)
        return err_set(errp, EINVAL, _("'%s': no valid VHDX header"), bs->filename);
    int cur = !v0 ? 1 : !v1 ? 0 : vhdx_le64(h[1] + 8) > vhdx_le64(h[0] + 8);
    memcpy(s->header, h[cur], 4096);
    s->cur = cur;
    s->seq = vhdx_le64(s->header + 8);
    s->log_len = vhdx_le32(s->header + 68);
    s->log_off = vhdx_le64(s->header + 72);
    if (s->log_len % MiB || s->log_off % MiB || s->log_off < MiB ||
        s->log_off > bs->file->size || s->log_len > bs->file->size - s->log_off)
        return err_set(errp, EINVAL, _("'%s': VHDX log lies outside the file"), bs->filename);
    return 0;
}

static int vhdx_read_regions(struct blk *bs, uint64_t *meta_off, uint32_t *meta_len,
                             struct error **errp)
{
    struct vhdx *s = bs->opaque;
    uint8_t *rt = malloc(64 * 1024);
    if (!rt)
        return err_set(errp, ENOMEM, _("out of memory"));
    int r = -EINVAL;
    for (int copy = 0; copy < 2 && r < 0; copy++) {
        if (blk_pread(bs->file, (uint64_t)(3 + copy) * 64 * 1024, 64 * 1024, rt) < 0)
            continue;
        if (memcmp(rt, "regi", 4) != 0 || vhdx_le32(rt + 4) != vhdx_checksum(rt, 65536, 4))
            continue;
        r = 0;
    }
    if (r < 0) {
        free(rt);
        return err_set(errp, EINVAL, _("'%s': no valid VHDX region table"), bs->filename);
    }
    uint32_t n = vhdx_le32(rt + 8);
    bool have_bat = false, have_meta = false;
    if (n > 2047)
        r = err_set(errp, EINVAL, _("'%s': invalid VHDX region table"), bs->filename);
    for (uint32_t i = 0; i < n && r >= 0; i++) {
        const uint8_t *e = rt + 16 + 32 * i;
        uint64_t off = vhdx_le64(e + 16);
        uint32_t len = vhdx_le32(e + 24), req = vhdx_le32(e + 28) & 1;
        bool bat = memcmp(e, vhdx_guid_bat, 16) == 0, meta = memcmp(e, vhdx_guid_meta, 16) == 0;
        if (!bat && !meta) {
            if (req)
                r = err_set(errp, ENOTSUP, _("'%s': unknown required VHDX region"),
                            bs->filename);
            continue;
        }
        if (off % MiB || len % MiB || off < MiB || off > bs->file->size ||
            len > bs->file->size - off || (bat && have_bat) || (meta && have_meta)) {
            r = err_set(errp, EINVAL, _("'%s': VHDX region lies outside the file"),
                        bs->filename);
            break;
        }
        if (bat) {
            have_bat = true;
            s->bat_off = off;
            s->bat_len = len;
        } else {
            have_meta = true;
            *meta_off = off;
            *meta_len = len;
        }
    }
    free(rt);
    if (r >= 0 && (!have_bat || !have_meta))
        r = err_set(errp, EINVAL, _("'%s': VHDX region table lacks the BAT or metadata"),
                    bs->filename);
    return r;
}

static int vhdx_read_metadata(struct blk *bs, uint64_t off, uint32_t len, struct error **errp)
{
    struct vhdx *s = bs->opaque;
    const char *fn = bs->filename;
    uint8_t *m = malloc(64 * 1024);
    if (!m)
        return err_set(errp, ENOMEM, _("out of memory"));
    int r = blk_pread(bs->file, off, 64 * 1024, m);
    if (r < 0) {
        free(m);
        return err_set_errno(errp, -r, _("cannot read '%s'"), fn);
    }
    uint16_t n = vhdx_le16(m + 10);
    unsigned found = 0;
    if (memcmp(m, "metadata", 8) != 0 || n > 2047)
        r = err_set(errp, EINVAL, _("'%s': invalid VHDX metadata table"), fn);
    for (unsigned i = 0; i < n && r >= 0; i++) {
        const uint8_t *e = m + 32 + 32 * i;
        uint32_t ioff = vhdx_le32(e + 16), ilen = vhdx_le32(e + 20), fl = vhdx_le32(e + 24);
        uint8_t v[16] = { 0 };
        if (ilen && (ioff < 64 * 1024 || ioff > len || ilen > len - ioff)) {
            r = err_set(errp, EINVAL, _("'%s': VHDX metadata item lies outside its region"),
                        fn);
            break;
        }
        int bit = memcmp(e, vhdx_guid_file_params, 16) == 0 ? 0
                  : memcmp(e, vhdx_guid_disk_size, 16) == 0 ? 1
                  : memcmp(e, vhdx_guid_lss, 16) == 0       ? 2
                  : memcmp(e, vhdx_guid_pss, 16) == 0       ? 3
                  : memcmp(e, vhdx_guid_disk_id, 16) == 0   ? 4
                  : memcmp(e, vhdx_guid_parent, 16) == 0    ? 5 : -1;
        static const uint32_t want[] = { 8, 8, 4, 4, 16, 0 };
        if (bit < 0) {
            if (fl & 4)
                r = err_set(errp, ENOTSUP, _("'%s': unknown required VHDX metadata item"), fn);
            continue;
        }
        if (bit == 5)
            continue;
        if (ilen != want[bit]) {
            r = err_set(errp, EINVAL, _("'%s': invalid VHDX metadata item"), fn);
            break;
        }
        r = blk_pread(bs->file, off + ioff, ilen, v);
        if (r < 0) {
            err_set_errno(errp, -r, _("cannot read '%s'"), fn);
            break;
        }
        found |= 1u << bit;
        if (bit == 0) {
            s->block_size = vhdx_le32(v);
            s->leave_allocated = vhdx_le32(v + 4) & 1;
            s->has_parent = (vhdx_le32(v + 4) & 2) != 0;
        } else if (bit == 1) {
            s->size = vhdx_le64(v);
        } else if (bit == 2) {
            s->lss = vhdx_le32(v);
        } else if (bit == 3) {
            s->pss = vhdx_le32(v);
        }
    }
    free(m);
    if (r < 0)
        return r;
    if ((found & 15) != 15)
        return err_set(errp, EINVAL, _("'%s': VHDX metadata is incomplete"), fn);
    if (s->has_parent)
        return err_set(errp, ENOTSUP, _("'%s': differencing VHDX images are not supported"),
                       fn);
    if (s->block_size < MiB || s->block_size > 256 * MiB || !IS_POW2(s->block_size))
        return err_set(errp, EINVAL, _("'%s': invalid VHDX block size %u"), fn, s->block_size);
    if ((s->lss != 512 && s->lss != 4096) || (s->pss != 512 && s->pss != 4096))
        return err_set(errp, EINVAL, _("'%s': invalid VHDX sector size"), fn);
    if (s->size > VHDX_MAX_SIZE || s->size % s->lss)
        return err_set(errp, EINVAL, _("'%s': invalid VHDX disk size"), fn);
    return 0;
}

static int vhdx_read_bat(struct blk *bs, struct error **errp)
{
    struct vhdx *s = bs->opaque;
    s->chunk_ratio = (uint32_t)((UINT64_C(1) << 23) * s->lss / s->block_size);
    s->data_blocks = DIV_ROUND_UP(s->size, (uint64_t)s->block_size);
    s->bat_entries = s->data_blocks ? s->data_blocks + (s->data_blocks - 1) / s->chunk_ratio : 0;
    if (s->bat_entries * 8 > s->bat_len)
        return err_set(errp, EINVAL, _("'%s': VHDX BAT is too small for the disk size"),
                       bs->filename);
    s->bat = malloc(s->bat_entries * 8 + 8);
    if (!s->bat)
        return err_set(errp, ENOMEM, _("out of memory"));
    int r = blk_pread(bs->file, s->bat_off, s->bat_entries * 8, s->bat);
    if (r < 0)
        return err_set_errno(errp, -r, _("cannot read '%s'"), bs->filename);
    for (uint64_t i = 0; i < s->bat_entries; i++)
        s->bat[i] = vhdx_le64((uint8_t *)&s->bat[i]);
    return 0;
}

static void vhdx_close(struct blk *bs)
{
    struct vhdx *s = bs->opaque;
    free(s->bat);
    s->bat = NULL;
}

static int vhdx_open(struct blk *bs, int flags, struct error **errp)
{
    struct vhdx *s = bs->opaque;
    const char *fn = bs->filename;
    uint8_t sig[8] = { 0 };
    if (bs->file->size < 4 * MiB)
        return err_set(errp, EINVAL, _("'%s': VHDX file is truncated"), fn);
    int r = blk_pread(bs->file, 0, 8, sig);
    if (r < 0)
        return err_set_errno(errp, -r, _("cannot read '%s'"), fn);
    if (memcmp(sig, "vhdxfile", 8) != 0)
        return err_set(errp, EINVAL, _("'%s': not a VHDX image"), fn);
    r = vhdx_read_headers(bs, errp);
    if (r < 0)
        return r;
    static const uint8_t zero[16];
    if (memcmp(s->header + 48, zero, 16) != 0) {
        if (!(flags & BLK_O_RDWR))
            return err_set(errp, EPERM, _("'%s': the VHDX image has a log that must be "
                                          "replayed; open it read-write (check -r all)"), fn);
        r = vhdx_log_replay(bs, errp);
        if (r < 0)
            return r;
    }
    uint64_t meta_off = 0;
    uint32_t meta_len = 0;
    r = vhdx_read_regions(bs, &meta_off, &meta_len, errp);
    if (r >= 0)
        r = vhdx_read_metadata(bs, meta_off, meta_len, errp);
    if (r >= 0)
        r = vhdx_read_bat(bs, errp);
    if (r < 0) {
        vhdx_close(bs);
        return r;
    }
    bs->size = s->size;
    return 0;
}

/* Where guest OFF lives: *host 0 reads as zeros. */
static int vhdx_map(struct blk *bs, uint64_t off, uint64_t *host, uint64_t *idx)
{
    struct vhdx *s = bs->opaque;
    uint64_t b = off / s->block_size;
    *idx = b + b / s->chunk_ratio;
    uint64_t e = s->bat[*idx];
    *host = 0;
    switch (e & 7) {
    case VHDX_PAYLOAD_NOT_PRESENT:
    case VHDX_PAYLOAD_UNDEFINED:
    case VHDX_PAYLOAD_ZERO:
    case VHDX_PAYLOAD_UNMAPPED:
        return 0;
    case VHDX_PAYLOAD_FULLY_PRESENT: {
        uint64_t base = (e >> 20) * MiB;
        if (base < MiB || base > bs->file->size ||
            (uint64_t)s->block_size > UINT64_MAX - base)
            return -EIO;
        *host = base + off % s->block_size;
        return 1;
    }
    default:
        return -EIO;  /* partially present (differencing) or invalid */
    }
}

static int vhdx_preadv(struct blk *bs, uint64_t off, uint64_t len, const struct iovec *iov,
                       int iovcnt)
{
    struct vhdx *s = bs->opaque;
    struct iovec *sub = malloc(sizeof(*sub) * (size_t)iovcnt);
    if (!sub)
        return -ENOMEM;
    int r = 0;
    for (uint64_t done = 0; done < len && r >= 0;) {
        uint64_t pos = off + done, host, idx;
        uint64_t n = MIN(len - done, s->block_size - pos % s->block_size);
        r = vhdx_map(bs, pos, &host, &idx);
        if (r == 0) {
            iov_memset(iov, iovcnt, done, 0, n);
        } else if (r > 0) {
            /* a fixed image's last block may end before the block does */
            uint64_t in = host < bs->file->size ? MIN(n, bs->file->size - host) : 0;
            int k = iov_slice(iov, iovcnt, done, in, sub, iovcnt);
            r = in ? blk_preadv(bs->file, host, in, sub, k) : 0;
            if (in < n)
                iov_memset(iov, iovcnt, done + in, 0, n - in);
        }
        done += n;
    }
    free(sub);
    return r < 0 ? r : 0;
}

/* The first write of a session: new write GUIDs in a new header. */
static int vhdx_begin_write(struct blk *bs)
{
    struct vhdx *s = bs->opaque;
    if (s->write_started)
        return 0;
    vhdx_new_guid(s->header + 16);
    vhdx_new_guid(s->header + 32);
    int r = vhdx_write_header(bs, NULL);
    if (r >= 0)
        s->write_started = true;
    return r;
}

/* Before the first write of a session: may the block table be written
 * through?  Two entries whose payload blocks overlap (a damaged table)
 * mean that a write through one would change the other: nothing is
 * written then, and a warning says so once. */
static int vhdx_check_blocks(struct blk *bs)
{
    struct vhdx *s = bs->opaque;
    if (s->blocks_checked)
        return s->blocks_overlap ? -EIO : 0;
    uint64_t n = 0, present = 0;
    for (uint64_t b = 0; b < s->data_blocks; b++)
        present += (s->bat[b + b / s->chunk_ratio] & 7) == VHDX_PAYLOAD_FULLY_PRESENT;
    uint64_t *at = malloc(present * 8 + 8);    /* the file holds them all */
    if (!at)
        return -ENOMEM;
    for (uint64_t b = 0; b < s->data_blocks; b++) {
        uint64_t e = s->bat[b + b / s->chunk_ratio];
        if ((e & 7) == VHDX_PAYLOAD_FULLY_PRESENT)
            at[n++] = (e >> 20) * MiB;
    }
    uint64_t hit = blk_find_overlap(at, n, s->block_size);
    free(at);
    if (hit != UINT64_MAX) {
        msg_warn(_("'%s': two payload blocks overlap at byte %" PRIu64
                   "; the image can only be read"), bs->filename, hit);
        s->blocks_overlap = true;
    }
    s->blocks_checked = true;
    return s->blocks_overlap ? -EIO : 0;
}

/* Before the first new block of a session: does every payload block lie
 * inside the file?  In a truncated copy one reaches past the end, and a
 * block appended at the end would overlap it: a write to either would
 * change the other.  Such an image is read, and rewritten in place, but
 * gets no new blocks while a block is cut short (rewriting it whole, as
 * a full convert does, heals the image). */
static int vhdx_check_end(struct blk *bs)
{
    struct vhdx *s = bs->opaque;
    if (s->end_checked)
        return s->end_checked > 0 ? 0 : -EIO;
    uint64_t fsize = bs->file->size;
    s->end_checked = 1;
    for (uint64_t b = 0; s->end_checked > 0 && b < s->data_blocks; b++) {
        uint64_t e = s->bat[b + b / s->chunk_ratio], base = (e >> 20) * MiB;
        if ((e & 7) == VHDX_PAYLOAD_FULLY_PRESENT &&
            (base > fsize || s->block_size > fsize - base)) {
            msg_warn(_("'%s': block %" PRIu64 " reaches past the end of the file (%" PRIu64
                       " bytes; truncated image?): no new blocks can be added"),
                     bs->filename, b, fsize);
            s->end_checked = -1;
        }
    }
    return s->end_checked > 0 ? 0 : -EIO;
}

static int vhdx_pwritev(struct blk *bs, uint64_t off, uint64_t len, const struct iovec *iov,
                        int iovcnt)
{
    struct vhdx *s = bs->opaque;
    int r = vhdx_check_blocks(bs);
    if (r >= 0)
        r = vhdx_begin_write(bs);
    struct iovec *sub = malloc(sizeof(*sub) * (size_t)iovcnt);
    if (!sub)
        return -ENOMEM;
    for (uint64_t done = 0; done < len && r >= 0;) {
        uint64_t pos = off + done, host, idx;
        uint64_t n = MIN(len - done, s->block_size - pos % s->block_size);
        r = vhdx_map(bs, pos, &host, &idx);
        if (r > 0) {
            int k = iov_slice(iov, iovcnt, done, n, sub, iovcnt);
            r = blk_pwritev(bs->file, host, n, sub, k);
        } else if (r == 0) {
            /* a new block at the end: data first, then its BAT entry */
            if ((r = vhdx_check_end(bs)) < 0)
                break;
            uint8_t *blk = calloc(1, s->block_size);
            if (!blk) {
                r = -ENOMEM;
                break;
            }
            iov_to_buf(iov, iovcnt, done, blk + pos % s->block_size, n);
            uint64_t at = ALIGN_UP(bs->file->size, MiB);
            r = blk_pwrite(bs->file, at, s->block_size, blk);
            free(blk);
            if (r >= 0)
                r = blk_flush(bs->file);  /* the data is durable before the entry */
            if (r >= 0) {
                uint8_t e[8];
                uint64_t v = at | VHDX_PAYLOAD_FULLY_PRESENT;
                vhdx_put_le64(e, v);
                r = blk_pwrite(bs->file, s->bat_off + idx * 8, 8, e);
                if (r >= 0)
                    s->bat[idx] = v;
            }
        }
        done += n;
    }
    free(sub);
    return r < 0 ? r : 0;
}

/* No block_status: qemu-img maps every VHDX byte as data, and so do we. */

static int vhdx_get_info(struct blk *bs, struct blk_info *info)
{
    struct vhdx *s = bs->opaque;
    info->cluster_size = s->block_size;
    return 0;
}

/* Payload blocks must lie inside the file and not overlap. */
static int vhdx_check(struct blk *bs, struct blk_check *res, int fix, struct error **errp)
{
    struct vhdx *s = bs->opaque;
    for (uint64_t b = 0; b < s->data_blocks; b++) {
        uint64_t idx = b + b / s->chunk_ratio, e = s->bat[idx];
        uint64_t st = e & 7, base = (e >> 20) * MiB;
        if (st == VHDX_PAYLOAD_FULLY_PRESENT &&
            (base < MiB || base > bs->file->size ||
             base + s->block_size > ALIGN_UP(bs->file->size, MiB) + s->block_size)) {
            if (res->report)
                fprintf(res->report, "ERROR: block %" PRIu64 " lies outside the file\n", b);
            res->corruptions++;
        } else if (st != VHDX_PAYLOAD_FULLY_PRESENT && st > VHDX_PAYLOAD_UNMAPPED) {
            if (res->report)
                fprintf(res->report, "ERROR: block %" PRIu64 " has state %" PRIu64 "\n", b,
                        st);
            res->corruptions++;
        }
    }
    return 0;
}

const struct block_driver blk_drv_vhdx = {
    .name = "vhdx",
    .state_size = sizeof(struct vhdx),
    .create_opts = vhdx_create_opts,
    .probe = vhdx_probe,
    .open = vhdx_open,
    .close = vhdx_close,
    .create = vhdx_create,
    .preadv = vhdx_preadv,
    .pwritev = vhdx_pwritev,
    .get_info = vhdx_get_info,
    .check = vhdx_check,
    .anonymize = vhdx_anonymize,
};
