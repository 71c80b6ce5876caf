/* boot.c - what both x86 Linux entries share: the memory map, the
 * command line, the initrd's place, and the choice of entry by the
 * image's format.
 */
#include <config.h>
#include <errno.h>
#include <string.h>
#include "hw/x86/boot.h"
#include "i18n.h"

#define GiB (UINT64_C(1) << 30)
/* Conventional memory ends where the EBDA would begin: the last KiB
 * below 640 KiB stays out of the map, as on a PC. */
#define LOW_RAM_END 0x9fc00

int x86_e820_build(struct x86_e820 *e, int max, uint64_t ram_size, uint64_t high_ram_size)
{
    int n = 0;
    if (n < max)
        e[n++] = (struct x86_e820){ 0, MIN(ram_size, LOW_RAM_END), E820_RAM };
    if (ram_size > X86_BOOT_KERNEL_MIN && n < max)
        e[n++] = (struct x86_e820){ X86_BOOT_KERNEL_MIN, ram_size - X86_BOOT_KERNEL_MIN,
                                    E820_RAM };
    if (high_ram_size && n < max)
        e[n++] = (struct x86_e820){ 4 * GiB, high_ram_size, E820_RAM };
    return n;
}

int x86_put_cmdline(uint8_t *ram, uint64_t ram_size, const struct x86_boot_config *cfg,
                    uint32_t max, struct error **errp)
{
    const char *cmd = cfg->cmdline ? cfg->cmdline : "";
    size_t len = strlen(cmd);
    if (len > max || len >= X86_BOOT_CMDLINE_MAX)
        return err_set(errp, E2BIG,
                       _("%s: the command line is too long (%zu bytes, the kernel takes %u)"),
                       cfg->kernel_name, len, MIN(max, (uint32_t)X86_BOOT_CMDLINE_MAX - 1));
    if (ram_size < X86_BOOT_CMDLINE + X86_BOOT_CMDLINE_MAX)
        return err_set(errp, ENOSPC, _("%s: not enough RAM for the command line"),
                       cfg->kernel_name);
    memcpy(ram + X86_BOOT_CMDLINE, cmd, len + 1);
    return 0;
}

int x86_place_initrd(uint8_t *ram, uint64_t ram_size, const struct x86_boot_config *cfg,
                     uint64_t floor, uint64_t top, uint64_t *addr, struct error **errp)
{
    top = MIN(top, ram_size);
    uint64_t len = cfg->initrd_len;
    if (len > top || ALIGN_DOWN(top - len, 4096) < floor)
        return err_set(errp, ENOSPC,
                       _("%s: the initrd (%" PRIu64 " bytes) does not fit in RAM: %" PRIu64
                         " bytes free between the kernel's end 0x%" PRIx64 " and 0x%" PRIx64
                         " (use more -m)"),
                       cfg->initrd_name ? cfg->initrd_name : "initrd", len,
                       top > floor ? top - floor : 0, floor, top);
    *addr = ALIGN_DOWN(top - len, 4096);
    memcpy(ram + *addr, cfg->initrd, len);
    return 0;
}

int x86_load_linux(uint8_t *ram, uint64_t ram_size, const struct x86_boot_config *cfg,
                   struct x86_entry *entry, struct x86_boot_info *info, struct error **errp)
{
    if (cfg->kernel_len >= 4 && memcmp(cfg->kernel, "\177ELF", 4) == 0)
        return x86_load_pvh(ram, ram_size, cfg, entry, info, errp);
    return x86_load_bzimage(ram, ram_size, cfg, entry, info, errp);
}
