/* vdi-anon.c - the VDI metadata walker of emu-img anonymize.
 *
 * Kept: the header sector (pre-header text, header, UUIDs) and the block
 * map; the blocks are user data.  --scrub-names scrubs the free-text image
 * description in the header (no checksum covers it). */
#include <config.h>

#include <errno.h>
#include <string.h>
#include "i18n.h"
#include "anon.h"

#define VDI_SIGNATURE 0xbeda107fu
#define VDI_MAX_BMAP ((uint64_t)0x3fffffffu)

static uint32_t vdi_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int vdi_anonymize(struct anon *a, struct error **errp)
{
    uint8_t h[512];
    int r = anon_read(a, 0, sizeof(h), h);
    if (r < 0)
        return err_set_errno(errp, -r, _("cannot read '%s'"), a->filename);
    if (vdi_le32(h + 0x40) != VDI_SIGNATURE)
        return err_set(errp, EINVAL, _("'%s': not a VDI image"), a->filename);
    anon_keep(a, 0, 512);
    if (a->scrub_names)
        anon_scrub_range(a, 0x54, 256);
    uint64_t bmap = vdi_le32(h + 0x154), blocks = vdi_le32(h + 0x180);
    /* the map starts after the header; its length is what the header says,
     * bounded like qemu does */
    if (bmap >= 512)
        anon_keep(a, bmap, MIN(blocks * 4, VDI_MAX_BMAP));
    return 0;
}
