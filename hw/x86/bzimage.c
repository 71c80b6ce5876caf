/* bzimage.c - a bzImage through Linux's x86 boot protocol (2.06 and up),
 * entered at its 64-bit entry point with boot_params (the zero page).
 *
 * The file: a boot sector and setup code ((setup_sects + 1) * 512 bytes,
 * the setup header at 0x1f1 inside them) followed by the protected-mode
 * kernel.  We skip the 16-bit setup code entirely: the protected-mode
 * kernel is copied to its load address, boot_params is built the way
 * the setup code would have left it (the header, the e820 map, the
 * command line and initrd pointers), and the vCPU starts in long mode at
 * load address + 0x200 with RSI = boot_params (xloadflags' XLF_KERNEL_64
 * says that entry exists).
 *
 * Where the kernel goes: its preferred address (pref_address) when that
 * fits in RAM; else, if it is relocatable, the lowest address above
 * 1 MiB aligned as kernel_alignment asks; else 1 MiB.  It needs
 * init_size bytes there (its decompression room), not just its file
 * size.
 */
#include <config.h>
#include <errno.h>
#include <string.h>
#include "hw/x86/boot.h"
#include "i18n.h"

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

#define BAD(...) err_set(errp, EINVAL, __VA_ARGS__)

int x86_bzimage_parse(const uint8_t *img, size_t len, const char *name,
                      struct x86_bzimage *out, struct error **errp)
{
    memset(out, 0, sizeof(*out));
    /* The fields up to init_size (protocol 2.10) must be in the file. */
    if (len < SH_INIT_SIZE + 4)
        return BAD(_("%s: not a bzImage (%zu bytes, too short for a setup header)"), name,
                   len);
    if (get16(img + SH_BOOT_FLAG) != 0xaa55 || get32(img + SH_HEADER) != SH_MAGIC)
        return BAD(_("%s: not a bzImage (no boot sector signature or no \"HdrS\" magic)"),
                   name);
    out->version = get16(img + SH_VERSION);
    if (out->version < 0x0206)
        return BAD(_("%s: boot protocol %u.%02u is too old (2.06 or later needed)"), name,
                   out->version >> 8, out->version & 0xff);
    /* The header ends where the jump at 0x200 lands (0x202 + its byte). */
    out->hdr_end = 0x202 + img[SH_JUMP + 1];
    if (out->hdr_end > BP_HDR_MAX_END)
        out->hdr_end = BP_HDR_MAX_END;      /* what boot_params has room for */
    uint32_t sects = img[SH_SETUP_SECTS] ? img[SH_SETUP_SECTS] : 4;
    out->kernel_offset = (sects + 1) * 512;
    if (out->kernel_offset < out->hdr_end || out->kernel_offset >= len)
        return BAD(_("%s: setup_sects %u puts the kernel at byte %u, beyond the file "
                     "(%zu bytes)"), name, sects, out->kernel_offset, len);
    if (len - out->kernel_offset > UINT32_MAX)
        return BAD(_("%s: the kernel is larger than 4 GiB"), name);
    out->kernel_size = (uint32_t)(len - out->kernel_offset);
    out->loadflags = img[SH_LOADFLAGS];
    if (!(out->loadflags & LOADFLAGS_LOADED_HIGH))
        return BAD(_("%s: a zImage (kernel loaded low) is not supported"), name);
    out->initrd_addr_max = get32(img + SH_INITRD_ADDR_MAX);
    out->kernel_alignment = get32(img + SH_KERNEL_ALIGNMENT);
    out->relocatable = img[SH_RELOCATABLE] != 0;
    out->cmdline_size = get32(img + SH_CMDLINE_SIZE);
    if (out->version >= 0x020a) {
        out->pref_address = get64(img + SH_PREF_ADDRESS);
        out->init_size = get32(img + SH_INIT_SIZE);
    }
    if (out->version >= 0x020c)
        out->xloadflags = get16(img + SH_XLOADFLAGS);
    if (out->relocatable &&
        (!IS_POW2(out->kernel_alignment) || out->kernel_alignment > (1u << 30)))
        return BAD(_("%s: kernel_alignment 0x%x is not a power of two up to 1 GiB"), name,
                   out->kernel_alignment);
    return 0;
}

/* Where the kernel goes (see the comment at the top); 0: nowhere. */
static uint64_t bz_load_address(const struct x86_bzimage *h, uint64_t need, uint64_t ram_size)
{
    uint64_t end;
    if (h->pref_address >= X86_BOOT_KERNEL_MIN && h->relocatable &&
        !ADD_OVERFLOWS(h->pref_address, need, &end) && end <= ram_size)
        return h->pref_address;
    uint64_t a = X86_BOOT_KERNEL_MIN;
    if (h->relocatable)
        a = ALIGN_UP(a, (uint64_t)h->kernel_alignment);
    else if (h->pref_address >= X86_BOOT_KERNEL_MIN)
        a = h->pref_address;            /* not relocatable: there or nowhere */
    if (ADD_OVERFLOWS(a, need, &end) || end > ram_size)
        return 0;
    return a;
}

int x86_load_bzimage(uint8_t *ram, uint64_t ram_size, const struct x86_boot_config *cfg,
                     struct x86_entry *entry, struct x86_boot_info *info, struct error **errp)
{
    const char *name = cfg->kernel_name;
    struct x86_bzimage h;
    int r = x86_bzimage_parse(cfg->kernel, cfg->kernel_len, name, &h, errp);
    if (r < 0)
        return r;
    if (h.version < 0x020c || !(h.xloadflags & XLF_KERNEL_64))
        return BAD(_("%s: the kernel has no 64-bit entry point (boot protocol %u.%02u, "
                     "xloadflags 0x%x)"), name, h.version >> 8, h.version & 0xff,
                   h.xloadflags);
    memset(info, 0, sizeof(*info));
    if (ram_size > (UINT64_C(4) << 30))
        return err_set(errp, EINVAL, _("%s: low RAM above 4 GiB is not supported"), name);
    uint64_t need = MAX((uint64_t)h.init_size, (uint64_t)h.kernel_size);
    uint64_t addr = bz_load_address(&h, need, ram_size);
    if (!addr)
        return err_set(errp, ENOSPC,
                       _("%s: the kernel needs %" PRIu64 " MiB from its load address, more "
                         "than the %" PRIu64 " MiB of RAM (use more -m)"), name,
                       DIV_ROUND_UP(need, 1 << 20), ram_size >> 20);
    info->kernel_addr = addr;
    info->kernel_end = addr + need;
    info->entry = addr + 0x200;
    if ((r = x86_put_cmdline(ram, ram_size, cfg, h.cmdline_size, errp)) < 0)
        return r;
    if (cfg->initrd) {
        uint64_t top = (uint64_t)h.initrd_addr_max + 1;
        if ((r = x86_place_initrd(ram, ram_size, cfg, info->kernel_end, top,
                                  &info->initrd_addr, errp)) < 0)
            return r;
        info->initrd_size = cfg->initrd_len;
    }
    memcpy(ram + addr, cfg->kernel + h.kernel_offset, h.kernel_size);
    memset(ram + addr + h.kernel_size, 0, need - h.kernel_size);

    /* boot_params: zeroed, the image's setup header, then what a boot
     * loader fills in. */
    uint8_t *bp = ram + X86_BOOT_PARAMS;
    memset(bp, 0, 4096);
    memcpy(bp + BP_HDR, cfg->kernel + BP_HDR, h.hdr_end - BP_HDR);
    put16(bp + SH_VID_MODE, 0xffff);                    /* "normal" text mode */
    bp[SH_TYPE_OF_LOADER] = 0xff;                       /* a loader without an id */
    bp[SH_LOADFLAGS] = (uint8_t)((h.loadflags & ~LOADFLAGS_KEEP_SEGMENTS) |
                                 LOADFLAGS_CAN_USE_HEAP);
    put16(bp + SH_HEAP_END_PTR, 0xfe00);                /* (unused: no setup code runs) */
    put32(bp + SH_CMD_LINE_PTR, X86_BOOT_CMDLINE);
    put32(bp + BP_EXT_CMD_LINE_PTR, 0);
    put64(bp + BP_ACPI_RSDP_ADDR, cfg->rsdp_addr);
    put32(bp + SH_RAMDISK_IMAGE, (uint32_t)info->initrd_addr);
    put32(bp + SH_RAMDISK_SIZE, (uint32_t)info->initrd_size);
    put32(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(info->initrd_addr >> 32));
    put32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)(info->initrd_size >> 32));
    struct x86_e820 map[BP_E820_MAX];
    int n = x86_e820_build(map, BP_E820_MAX, ram_size, cfg->high_ram_size);
    bp[BP_E820_ENTRIES] = (uint8_t)n;
    for (int i = 0; i < n; i++) {
        uint8_t *e = bp + BP_E820_TABLE + i * 20;
        put64(e, map[i].addr);
        put64(e + 8, map[i].size);
        put32(e + 16, map[i].type);
    }
    if (x86_setup_gdt(ram, ram_size) < 0 || x86_setup_page_tables(ram, ram_size) < 0)
        return err_set(errp, ENOSPC, _("%s: not enough RAM for the boot tables"), name);
    x86_entry_long_mode(entry, info->entry);
    entry->rsi = X86_BOOT_PARAMS;
    return 0;
}
