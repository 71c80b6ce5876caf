/* vhdx-log.c - replaying the VHDX metadata log (specification section 2.3).
 *
 * The log is a circular buffer of entries, each a 4 KiB-aligned run of
 * sectors: a header ("loge": checksum over the whole entry, length, tail,
 * sequence number, descriptor count, log GUID, flushed and last file
 * offsets) with 32-byte descriptors ("desc" for one 4 KiB data sector,
 * "zero" for a zeroed range), then one "data" sector per data descriptor
 * carrying 4084 bytes; the first 8 and last 4 bytes of the target sector
 * are in the descriptor.  The active sequence is the chain of valid
 * entries with consecutive sequence numbers that ends in the entry with
 * the highest sequence number and starts at that entry's tail.  Replaying
 * writes every descriptor in order, extends the file to the last entry's
 * LastFileOffset, and clears the header's log GUID. */
#include <config.h>

#include <errno.h>
#include <string.h>
#include "i18n.h"
#include "vhdx.h"

#define LOG_SECTOR 4096u
/* Entries larger than this are treated as invalid: it bounds the memory
 * and time a hostile log can cost (real entries hold a few sectors). */
#define LOG_MAX_ENTRY (64u << 20)

struct log_entry {
    uint32_t pos, len, tail, ndesc;
    uint64_t seq, last_file_off;
};

/* Read LEN bytes at POS of the circular log. */
static int log_read(struct blk *bs, uint32_t pos, uint32_t len, uint8_t *buf)
{
    struct vhdx *s = bs->opaque;
    uint32_t first = MIN(len, s->log_len - pos);
    int r = blk_pread(bs->file, s->log_off + pos, first, buf);
    if (r >= 0 && first < len)
        r = blk_pread(bs->file, s->log_off, len - first, buf + first);
    return r;
}

/* Validate the entry at POS; fills E and returns 1 if it is valid, 0 if
 * not, -errno on read errors.  *BUF receives the entry (caller frees). */
static int log_entry_at(struct blk *bs, uint32_t pos, struct log_entry *e, uint8_t **buf)
{
    struct vhdx *s = bs->opaque;
    uint8_t h[64];
    *buf = NULL;
    int r = log_read(bs, pos, 64, h);
    if (r < 0)
        return r;
    uint32_t len = vhdx_le32(h + 8), ndesc = vhdx_le32(h + 24);
    if (memcmp(h, "loge", 4) != 0 || len == 0 || len % LOG_SECTOR || len > s->log_len ||
        len > LOG_MAX_ENTRY ||
        memcmp(h + 32, s->header + 48, 16) != 0 || ndesc > len / 32)
        return 0;
    uint64_t desc_bytes = ALIGN_UP(64 + (uint64_t)ndesc * 32, (uint64_t)LOG_SECTOR);
    if (desc_bytes > len)
        return 0;
    uint8_t *b = malloc(len);
    if (!b)
        return -ENOMEM;
    r = log_read(bs, pos, len, b);
    if (r < 0 || vhdx_le32(b + 4) != vhdx_checksum(b, len, 4)) {
        free(b);
        return r < 0 ? r : 0;
    }
    e->pos = pos;
    e->len = len;
    e->tail = vhdx_le32(b + 12);
    e->seq = vhdx_le64(b + 16);
    e->ndesc = ndesc;
    e->last_file_off = vhdx_le64(b + 56);
    /* descriptors and data sectors must agree with the entry */
    uint64_t data = desc_bytes;
    for (uint32_t i = 0; i < ndesc; i++) {
        const uint8_t *d = b + 64 + 32 * i;
        bool is_data = memcmp(d, "desc", 4) == 0;
        if ((!is_data && memcmp(d, "zero", 4) != 0) || vhdx_le64(d + 24) != e->seq ||
            vhdx_le64(d + 16) % LOG_SECTOR) {
            free(b);
            return 0;
        }
        if (!is_data)
            continue;
        if (data + LOG_SECTOR > len) {
            free(b);
            return 0;
        }
        const uint8_t *ds = b + data;
        uint64_t seq = (uint64_t)vhdx_le32(ds + 4) << 32 | vhdx_le32(ds + 4092);
        if (memcmp(ds, "data", 4) != 0 || seq != e->seq) {
            free(b);
            return 0;
        }
        data += LOG_SECTOR;
    }
    if (e->tail % LOG_SECTOR || e->tail >= s->log_len) {
        free(b);
        return 0;
    }
    *buf = b;
    return 1;
}

/* Apply the descriptors of entry B. */
static int log_apply(struct blk *bs, const struct log_entry *e, const uint8_t *b)
{
    uint64_t data = ALIGN_UP(64 + (uint64_t)e->ndesc * 32, (uint64_t)LOG_SECTOR);
    uint8_t *sec = malloc(LOG_SECTOR);
    if (!sec)
        return -ENOMEM;
    int r = 0;
    for (uint32_t i = 0; i < e->ndesc && r >= 0; i++) {
        const uint8_t *d = b + 64 + 32 * i;
        uint64_t off = vhdx_le64(d + 16);
        if (memcmp(d, "desc", 4) == 0) {
            memcpy(sec, d + 8, 8);                       /* leading bytes */
            memcpy(sec + 8, b + data + 8, 4084);
            memcpy(sec + 4092, d + 4, 4);                /* trailing bytes */
            data += LOG_SECTOR;
            r = off > (uint64_t)INT64_MAX - LOG_SECTOR ? -EINVAL
                                                      : blk_pwrite(bs->file, off, LOG_SECTOR, sec);
        } else {
            uint64_t zlen = vhdx_le64(d + 8);
            if (zlen % LOG_SECTOR || zlen > (UINT64_C(1) << 40) ||
                off > (uint64_t)INT64_MAX - zlen) {
                r = -EINVAL;
                break;
            }
            memset(sec, 0, LOG_SECTOR);
            for (uint64_t k = 0; k < zlen && r >= 0; k += LOG_SECTOR)
                r = blk_pwrite(bs->file, off + k, LOG_SECTOR, sec);
        }
    }
    free(sec);
    return r;
}

int vhdx_log_replay(struct blk *bs, struct error **errp)
{
    struct vhdx *s = bs->opaque;
    const char *fn = bs->filename;
    struct log_entry best = { 0 };
    bool found = false;
    int r = 0;
    /* the entry with the highest sequence number */
    for (uint32_t pos = 0; pos < s->log_len; pos += LOG_SECTOR) {
        struct log_entry e;
        uint8_t *b;
        r = log_entry_at(bs, pos, &e, &b);
        if (r < 0)
            return err_set_errno(errp, -r, _("cannot read '%s'"), fn);
        free(b);
        if (r > 0 && (!found || e.seq > best.seq)) {
            best = e;
            found = true;
        }
    }
    if (found) {
        /* walk the sequence from the tail to the newest entry */
        uint32_t pos = best.tail;
        uint64_t count = 0;
        struct log_entry e;
        uint8_t *b;
        r = log_entry_at(bs, pos, &e, &b);
        if (r <= 0)
            return err_set(errp, EINVAL, _("'%s': the VHDX log sequence is broken"), fn);
        uint64_t want = e.seq;
        for (;;) {
            if (e.seq != want || ++count > s->log_len / LOG_SECTOR) {
                free(b);
                return err_set(errp, EINVAL, _("'%s': the VHDX log sequence is broken"), fn);
            }
            r = log_apply(bs, &e, b);
            free(b);
            if (r < 0)
                return err_set_errno(errp, -r, _("'%s': cannot replay the VHDX log"), fn);
            if (e.seq == best.seq)
                break;
            pos = (uint32_t)((pos + (uint64_t)e.len) % s->log_len);
            want++;
            r = log_entry_at(bs, pos, &e, &b);
            if (r <= 0)
                return err_set(errp, EINVAL, _("'%s': the VHDX log sequence is broken"), fn);
        }
        if (best.last_file_off > bs->file->size) {
            if (best.last_file_off > VHDX_MAX_SIZE * 2)
                return err_set(errp, EINVAL, _("'%s': invalid VHDX log entry"), fn);
            r = blk_truncate(bs->file, best.last_file_off, false, BLK_PREALLOC_OFF, errp);
            if (r < 0)
                return r;
        }
        r = blk_flush(bs->file);
        if (r < 0)
            return err_set_errno(errp, -r, _("cannot write '%s'"), fn);
    }
    static const uint8_t zero[16];
    r = vhdx_write_header(bs, zero);
    if (r < 0)
        return err_set_errno(errp, -r, _("cannot write '%s'"), fn);
    return 0;
}
