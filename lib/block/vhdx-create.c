/* vhdx-create.c - creating VHDX images, dynamic or fixed.
 *
 * Layout: file type identifier (0), headers (64 KiB, 128 KiB), region
 * tables (192 KiB, 256 KiB), the log (1 MiB, empty), the metadata region
 * (1 MiB), the BAT, then payload blocks.  A dynamic image's blocks start
 * as ZERO (block_state_zero=on, the default) or NOT_PRESENT; a fixed
 * image has every block allocated in order after the BAT. */
#include <config.h>

#include <errno.h>
#include <string.h>
#include "i18n.h"
#include "vhdx.h"

#define MiB (UINT64_C(1) << 20)

const struct blk_opt_desc vhdx_create_opts[] = {
    { "block_size", "size", N_("Block Size; min 1MB, max 256MB. 0 means auto-calculate "
                              "based on image size.") },
    { "block_state_zero", "bool", N_("Force use of payload blocks of type 'ZERO'.") },
    { "log_size", "size", N_("Log size; min 1MB.") },
    { "preallocation", "str", N_("Preallocation mode (allowed values: off, falloc, full)") },
    { "size", "size", N_("Virtual disk size; max of 64TB.") },
    { "subformat", "str", N_("VHDX format type, can be either 'dynamic' or 'fixed'. Default "
                            "is 'dynamic'.") },
    { NULL, NULL, NULL },
};

static void put_region_table(uint8_t *rt, uint64_t meta_off, uint64_t bat_off, uint64_t bat_len)
{
    memcpy(rt, "regi", 4);
    vhdx_put_le32(rt + 8, 2);
    memcpy(rt + 16, vhdx_guid_bat, 16);
    vhdx_put_le64(rt + 32, bat_off);
    vhdx_put_le32(rt + 40, (uint32_t)bat_len);
    vhdx_put_le32(rt + 44, 1);
    memcpy(rt + 48, vhdx_guid_meta, 16);
    vhdx_put_le64(rt + 64, meta_off);
    vhdx_put_le32(rt + 72, (uint32_t)MiB);
    vhdx_put_le32(rt + 76, 1);
    vhdx_put_le32(rt + 4, vhdx_checksum(rt, 65536, 4));
}

static void put_metadata(uint8_t *m, uint32_t block_size, bool fixed, uint64_t size)
{
    static const struct {
        const uint8_t *guid;
        uint32_t off, len, flags;
    } items[] = {
        { vhdx_guid_file_params, 0, 8, 4 }, { vhdx_guid_disk_size, 8, 8, 6 },
        { vhdx_guid_disk_id, 16, 16, 6 },   { vhdx_guid_lss, 32, 4, 6 },
        { vhdx_guid_pss, 36, 4, 6 },
    };
    memcpy(m, "metadata", 8);
    vhdx_put_le16(m + 10, 5);
    for (int i = 0; i < 5; i++) {
        uint8_t *e = m + 32 + 32 * i;
        memcpy(e, items[i].guid, 16);
        vhdx_put_le32(e + 16, 65536 + items[i].off);
        vhdx_put_le32(e + 20, items[i].len);
        vhdx_put_le32(e + 24, items[i].flags);
    }
    uint8_t *v = m + 65536;
    vhdx_put_le32(v, block_size);
    vhdx_put_le32(v + 4, fixed ? 1 : 0);
    vhdx_put_le64(v + 8, size);
    vhdx_new_guid(v + 16);
    vhdx_put_le32(v + 32, 512);
    vhdx_put_le32(v + 36, 512);
}

int vhdx_create(const char *filename, const struct blk_create_opts *o, struct error **errp)
{
    if (o->backing_file)
        return err_set(errp, EINVAL, _("format '%s' does not support backing files"), "vhdx");
    uint64_t size = ALIGN_UP(o->size, (uint64_t)512);
    if (size > VHDX_MAX_SIZE)
        return err_set(errp, EINVAL, _("Image size too large; max of 64TB"));
    uint64_t bs = o->block_size;
    if (!bs)
        bs = size > (UINT64_C(100) << 30) ? 32 * MiB : size > (UINT64_C(2) << 30) ? 16 * MiB
                                                                                 : 8 * MiB;
    if (bs < MiB || bs > 256 * MiB || !IS_POW2(bs))
        return err_set(errp, EINVAL, _("Block size must be a power of two between 1 MB and "
                                       "256 MB"));
    uint64_t log_size = o->log_size ? o->log_size : MiB;
    if (log_size < MiB || log_size % MiB || log_size > (UINT64_C(1) << 31))
        return err_set(errp, EINVAL, _("Log size must be a multiple of 1 MB"));
    bool fixed = o->fixed;
    uint32_t chunk_ratio = (uint32_t)((UINT64_C(1) << 23) * 512 / bs);
    uint64_t blocks = DIV_ROUND_UP(size, bs);
    uint64_t entries = blocks ? blocks + (blocks - 1) / chunk_ratio : 0;
    uint64_t log_off = MiB, meta_off = log_off + log_size, bat_off = meta_off + MiB;
    uint64_t bat_len = ALIGN_UP(MAX(entries * 8, (uint64_t)1), MiB);
    uint64_t payload = bat_off + bat_len;
    uint64_t head_len = payload;
    uint8_t *buf = calloc(1, head_len);
    if (!buf)
        return err_set(errp, ENOMEM, _("out of memory"));
    memcpy(buf, "vhdxfile", 8);
    static const char creator[] = "emu-img";
    for (size_t i = 0; i < sizeof(creator) - 1; i++)
        buf[8 + 2 * i] = (uint8_t)creator[i];
    uint8_t fw[16], dw[16];
    vhdx_new_guid(fw);
    vhdx_new_guid(dw);
    for (int i = 0; i < 2; i++) {
        uint8_t *h = buf + (uint64_t)(i + 1) * 65536;
        memcpy(h, "head", 4);
        vhdx_put_le64(h + 8, (uint64_t)i);
        memcpy(h + 16, fw, 16);
        memcpy(h + 32, dw, 16);
        vhdx_put_le16(h + 66, 1);
        vhdx_put_le32(h + 68, (uint32_t)log_size);
        vhdx_put_le64(h + 72, log_off);
        vhdx_put_le32(h + 4, vhdx_checksum(h, 4096, 4));
    }
    put_region_table(buf + 3 * 65536, meta_off, bat_off, bat_len);
    put_region_table(buf + 4 * 65536, meta_off, bat_off, bat_len);
    put_metadata(buf + meta_off, (uint32_t)bs, fixed, size);
    for (uint64_t b = 0; b < blocks; b++) {
        uint64_t v = fixed ? (payload + b * bs) | VHDX_PAYLOAD_FULLY_PRESENT
                           : o->block_state_zero_off ? VHDX_PAYLOAD_NOT_PRESENT
                                                     : VHDX_PAYLOAD_ZERO;
        vhdx_put_le64(buf + bat_off + (b + b / chunk_ratio) * 8, v);
    }
    struct blk_create_opts fo = { .size = 0 };
    int r = blk_find_driver("file")->create(filename, &fo, errp);
    struct blk *f = NULL;
    if (r >= 0)
        r = blk_open_file(&f, filename, BLK_O_RDWR, errp);
    if (r >= 0) {
        r = blk_pwrite(f, 0, head_len, buf);
        if (r >= 0 && fixed)
            r = blk_truncate(f, payload + blocks * bs, false, o->prealloc, errp);
        if (r >= 0)
            r = blk_flush(f);
        if (r < 0 && errp && !*errp)
            err_set_errno(errp, -r, _("cannot write '%s'"), filename);
        blk_close(f);
    }
    free(buf);
    return r;
}
