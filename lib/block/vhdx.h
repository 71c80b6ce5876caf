/* vhdx.h - pieces shared by the VHDX driver files: vhdx.c (open, read,
 * write), vhdx-log.c (log replay), vhdx-create.c (create). */
#ifndef EMU_VHDX_H
#define EMU_VHDX_H

#include "block.h"

#define VHDX_MAX_SIZE (UINT64_C(64) << 40)

/* Payload block states (BAT entry bits 0-2). */
#define VHDX_PAYLOAD_NOT_PRESENT 0
#define VHDX_PAYLOAD_UNDEFINED 1
#define VHDX_PAYLOAD_ZERO 2
#define VHDX_PAYLOAD_UNMAPPED 3
#define VHDX_PAYLOAD_FULLY_PRESENT 6
#define VHDX_PAYLOAD_PARTIALLY_PRESENT 7

struct vhdx {
    uint8_t header[4096];     /* the current header */
    int cur;                  /* its slot: 0 at 64 KiB, 1 at 128 KiB */
    uint64_t seq;
    uint64_t log_off;
    uint32_t log_len;
    uint64_t bat_off;
    uint32_t bat_len;
    uint32_t block_size, lss, pss, chunk_ratio;
    uint64_t size, data_blocks, bat_entries;
    bool leave_allocated, has_parent, write_started;
    bool blocks_checked;      /* vhdx_check_blocks ran: */
    bool blocks_overlap;      /* ... no writes at all */
    int end_checked;          /* 0 not yet, 1 blocks inside the file, -1 not */
    uint64_t *bat;            /* host-endian */
};

static inline uint16_t vhdx_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t vhdx_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t vhdx_le64(const uint8_t *p)
{
    return vhdx_le32(p) | (uint64_t)vhdx_le32(p + 4) << 32;
}

static inline void vhdx_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
}

static inline void vhdx_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static inline void vhdx_put_le64(uint8_t *p, uint64_t v)
{
    vhdx_put_le32(p, (uint32_t)v);
    vhdx_put_le32(p + 4, (uint32_t)(v >> 32));
}

uint32_t vhdx_crc32c(uint32_t crc, const void *buf, size_t len);
uint32_t vhdx_checksum(const uint8_t *buf, size_t len, size_t csum_at);
void vhdx_new_guid(uint8_t g[16]);
/* Make a new current header from s->header with the next sequence number
 * (and GUID_LOG as log GUID unless NULL). */
int vhdx_write_header(struct blk *bs, const uint8_t *guid_log);
/* Replay the log named by the current header, then clear its GUID. */
int vhdx_log_replay(struct blk *bs, struct error **errp);

int vhdx_create(const char *filename, const struct blk_create_opts *o, struct error **errp);
extern const struct blk_opt_desc vhdx_create_opts[];

/* Table GUIDs, in on-disk byte order. */
extern const uint8_t vhdx_guid_bat[16], vhdx_guid_meta[16], vhdx_guid_file_params[16],
    vhdx_guid_disk_size[16], vhdx_guid_disk_id[16], vhdx_guid_lss[16], vhdx_guid_pss[16],
    vhdx_guid_parent[16];

#endif
