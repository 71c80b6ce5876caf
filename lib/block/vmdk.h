/* vmdk.h - pieces shared by the VMDK driver files (vmdk.c reads and
 * writes, vmdk-create.c creates images). */
#ifndef EMU_VMDK_H
#define EMU_VMDK_H

#include "block.h"

#define VMDK_MAGIC 0x564d444bu
#define VMDK_GD_AT_END UINT64_C(0xffffffffffffffff)
#define VMDK_FLAG_NL_TEST     (1u << 0)
#define VMDK_FLAG_RGD         (1u << 1)
#define VMDK_FLAG_ZERO_GRAIN  (1u << 2)
#define VMDK_FLAG_COMPRESSED  (1u << 16)
#define VMDK_FLAG_MARKERS     (1u << 17)

static inline uint32_t vmdk_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t vmdk_le64(const uint8_t *p)
{
    return vmdk_le32(p) | (uint64_t)vmdk_le32(p + 4) << 32;
}

static inline void vmdk_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static inline void vmdk_put_le64(uint8_t *p, uint64_t v)
{
    vmdk_put_le32(p, (uint32_t)v);
    vmdk_put_le32(p + 4, (uint32_t)(v >> 32));
}

int vmdk_create(const char *filename, const struct blk_create_opts *o, struct error **errp);
extern const struct blk_opt_desc vmdk_create_opts[];

#endif
