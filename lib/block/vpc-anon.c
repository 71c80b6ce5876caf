/* vpc-anon.c - the VHD (vpc) metadata walker of emu-img anonymize.
 *
 * Kept: the footer at the end and its copy at offset 0, the dynamic header
 * with its parent locator data, the block allocation table and the sector
 * bitmap in front of every allocated block; the block data is user data
 * (a fixed disk is all data but its footer).  --scrub-names scrubs the
 * parent's Unicode name and the locators' paths; the dynamic header's
 * checksum is recomputed when it was valid, so a wrong one stays wrong. */
#include <config.h>

#include <errno.h>
#include <string.h>
#include "i18n.h"
#include "anon.h"
#include "vpc.h"

#define VPC_DYNAMIC 3
#define VPC_DIFF 4
#define VPC_MAX_BAT (1u << 24)

static void vpc_dynamic(struct anon *a, uint64_t dyn)
{
    uint8_t *d = anon_alloc(a, 1024);
    if (!d || anon_read(a, dyn, 1024, d) < 0 || memcmp(d, "cxsparse", 8) != 0)
        return;
    anon_keep(a, dyn, 1024);
    uint64_t bat = be64_get(d + 16);
    uint32_t entries = MIN(be32_get(d + 28), VPC_MAX_BAT), bsize = be32_get(d + 32);
    /* parent locators: platform data holding the parent's path */
    for (int i = 0; i < 8; i++) {
        const uint8_t *l = d + 576 + 24 * i;
        uint32_t len = MIN(be32_get(l + 8), 65536u);
        uint64_t off = be64_get(l + 16);
        if (!be32_get(l) || !len || !off)
            continue;
        anon_keep(a, off, len);
        if (a->scrub_names)
            anon_scrub_range(a, off, len);
    }
    if (a->scrub_names) {
        bool valid = be32_get(d + 36) == vpc_checksum(d, 1024, 36);
        anon_scrub(d + 64, 512);
        if (valid)
            be32_put(d + 36, vpc_checksum(d, 1024, 36));
        anon_replace_ref(a, dyn, 1024, d, ANON_PRIO_META);
    }
    if (!bat || bat >= a->size)
        return;
    anon_keep(a, bat, (uint64_t)entries * 4);
    if (bsize < 512 || bsize > (256u << 20) || !IS_POW2(bsize))
        return;
    uint64_t bitmap = ALIGN_UP(bsize / 512 / 8, 512u);
    uint64_t bytes = MIN((uint64_t)entries * 4, ALIGN_UP(a->size - bat, (uint64_t)4));
    uint8_t *t = malloc(bytes + 4);
    if (!t) {
        a->err = -ENOMEM;
        return;
    }
    if (anon_read(a, bat, bytes, t) >= 0) {
        for (uint64_t i = 0; i < bytes / 4; i++) {
            uint32_t e = be32_get(t + 4 * i);
            if (e != 0xffffffffu)
                anon_keep(a, (uint64_t)e * 512, bitmap);
        }
    }
    free(t);
}

int vpc_anonymize(struct anon *a, struct error **errp)
{
    uint8_t f0[512], f1[512];
    int r = anon_read(a, 0, 512, f0);
    if (r >= 0 && a->size >= 512)
        r = anon_read(a, a->size - 512, 512, f1);
    if (r < 0)
        return err_set_errno(errp, -r, _("cannot read '%s'"), a->filename);
    bool has0 = memcmp(f0, "conectix", 8) == 0;
    bool has1 = a->size >= 512 && memcmp(f1, "conectix", 8) == 0;
    if (!has0 && !has1)
        return err_set(errp, EINVAL, _("'%s': not a VHD image"), a->filename);
    if (has0)
        anon_keep(a, 0, 512);
    if (has1)
        anon_keep(a, a->size - 512, 512);
    /* the copy at 0 decides, as when the image is opened; a footer at the
     * end naming another dynamic header has that one walked too */
    const uint8_t *f = has0 ? f0 : f1;
    uint32_t type = be32_get(f + 60);
    if (type == VPC_DYNAMIC || type == VPC_DIFF)
        vpc_dynamic(a, be64_get(f + 16));
    if (has0 && has1 && be64_get(f1 + 16) != be64_get(f0 + 16) &&
        (be32_get(f1 + 60) == VPC_DYNAMIC || be32_get(f1 + 60) == VPC_DIFF))
        vpc_dynamic(a, be64_get(f1 + 16));
    return 0;
}
