/* vmdk-create.c - creating VMDK images: monolithicSparse (hosted sparse
 * extent with an embedded descriptor), streamOptimized (the same layout
 * with compressed grains and markers) and monolithicFlat (a descriptor file
 * plus a raw "-flat" extent).
 *
 * Sparse layout, in 512-byte sectors: header (0), descriptor (1..20),
 * redundant grain directory, redundant grain tables, grain directory,
 * grain tables, then grains from the first grain-aligned sector ("overhead").
 * Every grain table is allocated up front so that writes only append grains
 * and fill in table entries. */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include "i18n.h"
#include "vmdk.h"

#define VMDK_GRAIN_SECTORS 128
#define VMDK_GTES 512
#define VMDK_DESC_SECTORS 20

const struct blk_opt_desc vmdk_create_opts[] = {
    { "adapter_type", "str", N_("Virtual adapter type, can be one of ide (default), lsilogic, "
                               "buslogic or legacyESX") },
    { "compat6", "bool", N_("VMDK version 6 image") },
    { "hwversion", "str", N_("VMDK hardware version") },
    { "preallocation", "str", N_("Preallocation mode (allowed values: off, falloc, full)") },
    { "size", "size", N_("Virtual disk size") },
    { "subformat", "str", N_("VMDK flat extent format, can be one of {monolithicSparse "
                            "(default) | monolithicFlat | streamOptimized}") },
    { "toolsversion", "str", N_("VMware guest tools version") },
    { "zeroed_grain", "bool", N_("Enable efficient zero writes using the zeroed-grain GTE "
                                "feature") },
    { NULL, NULL, NULL },
};

/* The descriptor text: disk database with the geometry for ADAPTER. */
static char *vmdk_descriptor(const struct blk_create_opts *o, const char *type,
                             const char *extent_line, uint64_t sectors, const char *adapter)
{
    unsigned heads = strcmp(adapter, "ide") == 0 ? 16 : 255, secs = 63;
    uint64_t cyl = MIN(sectors / (heads * secs), (uint64_t)16383);
    const char *hw = o->hwversion ? o->hwversion : o->compat6 ? "6" : "4";
    uint32_t cid;
    if (getrandom(&cid, sizeof(cid), 0) != sizeof(cid))
        cid = 0x5a5a5a5au;
    char *text = NULL;
    if (asprintf(&text,
                 "# Disk DescriptorFile\n"
                 "version=1\n"
                 "CID=%08x\n"
                 "parentCID=ffffffff\n"
                 "createType=\"%s\"\n"
                 "\n"
                 "# Extent description\n"
                 "%s\n"
                 "\n"
                 "# The Disk Data Base\n"
                 "#DDB\n"
                 "\n"
                 "ddb.virtualHWVersion = \"%s\"\n"
                 "ddb.geometry.cylinders = \"%" PRIu64 "\"\n"
                 "ddb.geometry.heads = \"%u\"\n"
                 "ddb.geometry.sectors = \"%u\"\n"
                 "ddb.adapterType = \"%s\"\n"
                 "ddb.toolsVersion = \"%s\"\n",
                 cid, type, extent_line, hw, cyl, heads, secs, adapter,
                 o->toolsversion ? o->toolsversion : "2147483647") < 0)
        return NULL;
    return text;
}

static const char *vmdk_basename(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Create FILENAME empty and open it for writing. */
static int vmdk_new_file(const char *filename, struct blk **f, struct error **errp)
{
    struct blk_create_opts fo = { .size = 0 };
    int r = blk_find_driver("file")->create(filename, &fo, errp);
    if (r >= 0)
        r = blk_open_file(f, filename, BLK_O_RDWR, errp);
    return r;
}

static int vmdk_create_flat(const char *filename, const struct blk_create_opts *o,
                            uint64_t sectors, const char *adapter, struct error **errp)
{
    size_t n = strlen(filename);
    char *flat = malloc(n + 8);
    if (!flat)
        return err_set(errp, ENOMEM, _("out of memory"));
    const char *dot = strrchr(vmdk_basename(filename), '.');
    size_t stem = dot ? (size_t)(dot - filename) : n;
    snprintf(flat, n + 8, "%.*s-flat%s", (int)stem, filename, dot ? dot : "");
    char line[4200];
    snprintf(line, sizeof(line), "RW %" PRIu64 " FLAT \"%s\" 0", sectors, vmdk_basename(flat));
    char *text = vmdk_descriptor(o, "monolithicFlat", line, sectors, adapter);
    struct blk *f = NULL;
    int r = text ? vmdk_new_file(flat, &f, errp) : err_set(errp, ENOMEM, _("out of memory"));
    if (r >= 0) {
        r = blk_truncate(f, sectors * 512, false, o->prealloc, errp);
        if (r >= 0)
            r = blk_flush(f);
        blk_close(f);
        f = NULL;
    }
    if (r >= 0)
        r = vmdk_new_file(filename, &f, errp);
    if (r >= 0) {
        r = blk_pwrite(f, 0, strlen(text), text);
        if (r >= 0)
            r = blk_flush(f);
        blk_close(f);
    }
    if (r < 0 && errp && !*errp)
        err_set_errno(errp, -r, _("cannot write '%s'"), filename);
    free(text);
    free(flat);
    return r;
}

static int vmdk_create_sparse(const char *filename, const struct blk_create_opts *o,
                              uint64_t sectors, const char *adapter, bool stream,
                              struct error **errp)
{
    uint64_t span = (uint64_t)VMDK_GRAIN_SECTORS * VMDK_GTES;
    uint64_t gd_entries = DIV_ROUND_UP(sectors, span);
    uint64_t gd_sectors = DIV_ROUND_UP(gd_entries * 4, 512);
    uint64_t gt_sectors = VMDK_GTES * 4 / 512;
    uint64_t rgd = 1 + VMDK_DESC_SECTORS;
    uint64_t gd = rgd + gd_sectors + gd_entries * gt_sectors;
    uint64_t end = gd + gd_sectors + gd_entries * gt_sectors;
    uint64_t overhead = ALIGN_UP(end, (uint64_t)VMDK_GRAIN_SECTORS);
    if (overhead >= UINT32_MAX)
        return err_set(errp, EFBIG, _("image size is too large"));
    char line[4200];
    snprintf(line, sizeof(line), "RW %" PRIu64 " SPARSE \"%s\"", sectors,
             vmdk_basename(filename));
    char *text = vmdk_descriptor(o, stream ? "streamOptimized" : "monolithicSparse", line,
                                 sectors, adapter);
    uint8_t *buf = calloc(1, overhead * 512);
    if (!text || !buf || strlen(text) > VMDK_DESC_SECTORS * 512) {
        free(text);
        free(buf);
        return err_set(errp, ENOMEM, _("out of memory"));
    }
    uint8_t *h = buf;
    vmdk_put_le32(h, VMDK_MAGIC);
    vmdk_put_le32(h + 4, stream ? 3 : o->zeroed_grain ? 2 : 1);
    uint32_t flags = VMDK_FLAG_NL_TEST | VMDK_FLAG_RGD;
    if (o->zeroed_grain)
        flags |= VMDK_FLAG_ZERO_GRAIN;
    if (stream)
        flags |= VMDK_FLAG_COMPRESSED | VMDK_FLAG_MARKERS;
    vmdk_put_le32(h + 8, flags);
    vmdk_put_le64(h + 12, sectors);
    vmdk_put_le64(h + 20, VMDK_GRAIN_SECTORS);
    vmdk_put_le64(h + 28, 1);
    vmdk_put_le64(h + 36, VMDK_DESC_SECTORS);
    vmdk_put_le32(h + 44, VMDK_GTES);
    vmdk_put_le64(h + 48, rgd);
    vmdk_put_le64(h + 56, gd);
    vmdk_put_le64(h + 64, overhead);
    memcpy(h + 73, "\n \r\n", 4);
    h[77] = stream ? 1 : 0;
    memcpy(buf + 512, text, strlen(text));
    for (uint64_t i = 0; i < gd_entries; i++) {
        vmdk_put_le32(buf + rgd * 512 + i * 4, (uint32_t)(rgd + gd_sectors + i * gt_sectors));
        vmdk_put_le32(buf + gd * 512 + i * 4, (uint32_t)(gd + gd_sectors + i * gt_sectors));
    }
    struct blk *f = NULL;
    int r = vmdk_new_file(filename, &f, errp);
    if (r >= 0) {
        r = blk_pwrite(f, 0, overhead * 512, buf);
        if (r >= 0)
            r = blk_flush(f);
        blk_close(f);
    }
    if (r < 0 && errp && !*errp)
        err_set_errno(errp, -r, _("cannot write '%s'"), filename);
    free(text);
    free(buf);
    return r;
}

int vmdk_create(const char *filename, const struct blk_create_opts *o, struct error **errp)
{
    if (o->backing_file)
        return err_set(errp, ENOTSUP, _("VMDK images with a backing file are not supported "
                                        "yet"));
    const char *sub = o->subformat ? o->subformat : "monolithicSparse";
    const char *adapter = o->adapter_type ? o->adapter_type : "ide";
    if (strcmp(adapter, "ide") && strcmp(adapter, "lsilogic") && strcmp(adapter, "buslogic") &&
        strcmp(adapter, "legacyESX"))
        return err_set(errp, EINVAL, _("Unknown adapter type: '%s'"), adapter);
    if (o->compat6 && o->hwversion)
        return err_set(errp, EINVAL, _("compat6 cannot be enabled with hwversion set"));
    uint64_t sectors = DIV_ROUND_UP(o->size, (uint64_t)512);
    if (sectors > (UINT64_C(1) << 41))
        return err_set(errp, EFBIG, _("image size is too large"));
    if (strcmp(sub, "monolithicSparse") == 0)
        return vmdk_create_sparse(filename, o, sectors, adapter, false, errp);
    if (strcmp(sub, "streamOptimized") == 0)
        return vmdk_create_sparse(filename, o, sectors, adapter, true, errp);
    if (strcmp(sub, "monolithicFlat") == 0)
        return vmdk_create_flat(filename, o, sectors, adapter, errp);
    if (strcmp(sub, "twoGbMaxExtentSparse") == 0 || strcmp(sub, "twoGbMaxExtentFlat") == 0)
        return err_set(errp, ENOTSUP, _("VMDK subformat '%s' is not supported yet"), sub);
    return err_set(errp, EINVAL, _("Unknown subformat: '%s'"), sub);
}
