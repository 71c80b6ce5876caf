/* pvh.c - an uncompressed ELF vmlinux through the PVH entry.
 *
 * A kernel built with PVH support carries an ELF note of owner "Xen",
 * type 18 (XEN_ELFNOTE_PHYS32_ENTRY) whose value is the physical address
 * of a 32-bit entry point.  The loader copies each PT_LOAD segment to its
 * physical address (p_paddr), writes an hvm_start_info (version 1: with
 * the memory map), the command line and the initrd as module 0, and
 * starts the vCPU in 32-bit protected mode, paging off, at that entry
 * with EBX = the start info (the PVH boot ABI of Xen's
 * docs/misc/pvh.pandoc and arch-x86/hvm/start_info.h).
 *
 * Only 64-bit little-endian x86-64 executables are taken; every header,
 * program header and note is bounds-checked against the file.
 */
#include <config.h>
#include <errno.h>
#include <string.h>
#include "hw/x86/boot.h"
#include "i18n.h"

#define PT_LOAD 1
#define PT_NOTE 4
#define EM_X86_64 62
#define ET_EXEC 2
#define ELF64_EHDR_SIZE 64
#define ELF64_PHDR_SIZE 56
#define PHYS32_ENTRY_NOTE 18
#define PVH_MAX_PHDRS 64

/* hvm_start_info, version 1 */
#define HVM_START_MAGIC 0x336ec578u
#define HSI_MAGIC 0
#define HSI_VERSION 4
#define HSI_FLAGS 8
#define HSI_NR_MODULES 12
#define HSI_MODLIST 16
#define HSI_CMDLINE 24
#define HSI_RSDP 32
#define HSI_MEMMAP 40
#define HSI_MEMMAP_ENTRIES 48
#define HSI_SIZE 56
#define PVH_MODLIST (X86_BOOT_PVH_INFO + 0x40)   /* one 32-byte module entry */
#define PVH_MEMMAP (X86_BOOT_PVH_INFO + 0x80)    /* 24-byte entries */
#define PVH_MEMMAP_MAX 16

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

struct elf_phdr {
    uint32_t type;
    uint64_t offset, paddr, filesz, memsz;
};

/* The PHYS32_ENTRY value in a PT_NOTE segment [off, off + size) of the
 * file; 0 when the segment has none. */
static int pvh_find_note(const uint8_t *img, size_t len, uint64_t off, uint64_t size,
                         const char *name, uint64_t *entry, struct error **errp)
{
    uint64_t end;
    if (ADD_OVERFLOWS(off, size, &end) || end > len)
        return BAD(_("%s: a note segment lies outside the file"), name);
    while (end - off >= 12) {
        uint32_t namesz = get32(img + off), descsz = get32(img + off + 4);
        uint32_t type = get32(img + off + 8);
        uint64_t n4 = ALIGN_UP((uint64_t)namesz, 4), d4 = ALIGN_UP((uint64_t)descsz, 4);
        off += 12;
        if (n4 > end - off || d4 > end - off - n4)
            return BAD(_("%s: an ELF note runs past its segment"), name);
        if (namesz == 4 && memcmp(img + off, "Xen", 4) == 0 && type == PHYS32_ENTRY_NOTE) {
            if (descsz == 4)
                *entry = get32(img + off + n4);
            else if (descsz == 8)
                *entry = get64(img + off + n4);
            else
                return BAD(_("%s: the PVH entry note has %u bytes (4 or 8 expected)"), name,
                           descsz);
            return 0;
        }
        off += n4 + d4;
    }
    return 0;
}

struct elf_image {
    struct elf_phdr ph[PVH_MAX_PHDRS];
    int phnum;
    uint64_t entry;             /* the PVH entry */
};

/* The checks that need only the file: the ELF header, the program
 * headers, every PT_LOAD segment inside the file, and the PVH note. */
static int pvh_parse(const uint8_t *img, size_t len, const char *name, struct elf_image *el,
                     struct error **errp)
{
    if (len < ELF64_EHDR_SIZE || memcmp(img, "\177ELF", 4) != 0)
        return BAD(_("%s: not an ELF file"), name);
    if (img[4] != 2 || img[5] != 1 || get16(img + 18) != EM_X86_64)
        return BAD(_("%s: not a 64-bit little-endian x86-64 ELF file"), name);
    if (get16(img + 16) != ET_EXEC)
        return BAD(_("%s: not an ELF executable"), name);
    uint64_t phoff = get64(img + 32);
    uint16_t phentsize = get16(img + 54), phnum = get16(img + 56);
    if (phentsize != ELF64_PHDR_SIZE || phnum == 0 || phnum > PVH_MAX_PHDRS)
        return BAD(_("%s: bad ELF program headers (%u of %u bytes)"), name, phnum, phentsize);
    if (phoff > len || (uint64_t)phnum * ELF64_PHDR_SIZE > len - phoff)
        return BAD(_("%s: the ELF program headers lie outside the file"), name);
    el->phnum = phnum;
    el->entry = 0;
    int r;
    for (int i = 0; i < phnum; i++) {
        const uint8_t *p = img + phoff + (uint64_t)i * ELF64_PHDR_SIZE;
        struct elf_phdr *ph = &el->ph[i];
        *ph = (struct elf_phdr){ get32(p), get64(p + 8), get64(p + 24), get64(p + 32),
                                 get64(p + 40) };
        uint64_t fend;
        if (ph->type == PT_NOTE && !el->entry &&
            (r = pvh_find_note(img, len, ph->offset, ph->filesz, name, &el->entry, errp)) < 0)
            return r;
        if (ph->type != PT_LOAD)
            continue;
        if (ADD_OVERFLOWS(ph->offset, ph->filesz, &fend) || fend > len)
            return BAD(_("%s: ELF segment %d lies outside the file"), name, i);
        if (ph->filesz > ph->memsz)
            return BAD(_("%s: ELF segment %d is larger in the file than in memory"), name, i);
    }
    if (!el->entry)
        return BAD(_("%s: no PVH entry point (an ELF vmlinux needs CONFIG_PVH; "
                     "or boot its bzImage)"), name);
    return 0;
}

int x86_pvh_check(const uint8_t *img, size_t len, const char *name, struct error **errp)
{
    struct elf_image el;
    return pvh_parse(img, len, name, &el, errp);
}

int x86_load_pvh(uint8_t *ram, uint64_t ram_size, const struct x86_boot_config *cfg,
                 struct x86_entry *entry, struct x86_boot_info *info, struct error **errp)
{
    const char *name = cfg->kernel_name;
    const uint8_t *img = cfg->kernel;
    memset(info, 0, sizeof(*info));
    info->pvh = true;
    if (ram_size > (UINT64_C(4) << 30))
        return err_set(errp, EINVAL, _("%s: low RAM above 4 GiB is not supported"), name);
    struct elf_image el;
    int r = pvh_parse(img, cfg->kernel_len, name, &el, errp);
    if (r < 0)
        return r;
    const struct elf_phdr *ph = el.ph;
    int phnum = el.phnum;
    uint64_t pvh_entry = el.entry;

    /* Check every segment against RAM before writing any byte. */
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < phnum; i++) {
        uint64_t mend;
        if (ph[i].type != PT_LOAD)
            continue;
        if (ADD_OVERFLOWS(ph[i].paddr, ph[i].memsz, &mend) || ph[i].paddr < X86_BOOT_KERNEL_MIN)
            return BAD(_("%s: ELF segment %d at 0x%" PRIx64 " is outside 1 MiB .. 4 GiB"), name,
                       i, ph[i].paddr);
        if (mend > ram_size)
            return err_set(errp, ENOSPC,
                           _("%s: ELF segment %d (0x%" PRIx64 "..0x%" PRIx64 ") is beyond the "
                             "%" PRIu64 " MiB of RAM (use more -m)"), name, i, ph[i].paddr,
                           mend, ram_size >> 20);
        lo = MIN(lo, ph[i].paddr);
        hi = MAX(hi, mend);
    }
    if (hi == 0)
        return BAD(_("%s: the ELF file has nothing to load"), name);
    if (pvh_entry < lo || pvh_entry >= hi)
        return BAD(_("%s: the PVH entry 0x%" PRIx64 " is outside the loaded kernel"), name,
                   pvh_entry);
    info->kernel_addr = lo;
    info->kernel_end = hi;
    info->entry = pvh_entry;
    if ((r = x86_put_cmdline(ram, ram_size, cfg, X86_BOOT_CMDLINE_MAX - 1, errp)) < 0)
        return r;
    if (cfg->initrd) {
        if ((r = x86_place_initrd(ram, ram_size, cfg, hi, UINT64_C(4) << 30,
                                  &info->initrd_addr, errp)) < 0)
            return r;
        info->initrd_size = cfg->initrd_len;
    }
    for (int i = 0; i < phnum; i++) {
        if (ph[i].type != PT_LOAD)
            continue;
        memcpy(ram + ph[i].paddr, img + ph[i].offset, ph[i].filesz);
        memset(ram + ph[i].paddr + ph[i].filesz, 0, ph[i].memsz - ph[i].filesz);
    }

    uint8_t *si = ram + X86_BOOT_PVH_INFO;
    memset(si, 0, PVH_MEMMAP + PVH_MEMMAP_MAX * 24 - X86_BOOT_PVH_INFO);
    put32(si + HSI_MAGIC, HVM_START_MAGIC);
    put32(si + HSI_VERSION, 1);
    put64(si + HSI_CMDLINE, X86_BOOT_CMDLINE);
    put64(si + HSI_RSDP, cfg->rsdp_addr);
    if (cfg->initrd) {
        uint8_t *mod = ram + PVH_MODLIST;
        put64(mod, info->initrd_addr);
        put64(mod + 8, info->initrd_size);
        put32(si + HSI_NR_MODULES, 1);
        put64(si + HSI_MODLIST, PVH_MODLIST);
    }
    struct x86_e820 map[PVH_MEMMAP_MAX];
    int n = x86_e820_build(map, PVH_MEMMAP_MAX, ram_size, cfg->high_ram_size);
    for (int i = 0; i < n; i++) {
        uint8_t *e = ram + PVH_MEMMAP + i * 24;
        put64(e, map[i].addr);
        put64(e + 8, map[i].size);
        put32(e + 16, map[i].type);
    }
    put64(si + HSI_MEMMAP, PVH_MEMMAP);
    put32(si + HSI_MEMMAP_ENTRIES, (uint32_t)n);
    if (x86_setup_gdt(ram, ram_size) < 0)
        return err_set(errp, ENOSPC, _("%s: not enough RAM for the boot tables"), name);
    x86_entry_protected_mode(entry, pvh_entry);
    entry->rbx = X86_BOOT_PVH_INFO;
    return 0;
}
