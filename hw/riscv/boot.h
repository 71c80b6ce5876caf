/* boot.h - putting boot images into a RISC-V machine's memory.
 *
 * Every loader reads one file and writes it into RAM/ROM through the
 * memory map; every byte's destination is checked against the regions
 * first, and the messages name the file and what did not fit.  Nothing is
 * written when a check fails.
 */
#ifndef EMU_HW_RISCV_BOOT_H
#define EMU_HW_RISCV_BOOT_H

#include "common.h"
#include "error.h"
#include "hw/mem.h"

/* What a loader put where: [low, high) covers everything it wrote (for
 * an ELF, every PT_LOAD segment's memory size; for a Linux Image, the
 * header's image_size when larger than the file), entry is where to jump. */
struct rv_boot_image {
    uint64_t entry;
    uint64_t low, high;
};

/* An ELF64 RISC-V executable: PT_LOAD segments at their p_paddr, the rest
 * of p_memsz zeroed.  -ENOEXEC when the file is not an ELF at all (a
 * caller may try another format); other errors for a broken or misplaced
 * ELF. */
int rv_load_elf(const struct mem_map *m, const char *path, struct rv_boot_image *out,
                struct error **errp);

/* The file's bytes at addr. */
int rv_load_raw(const struct mem_map *m, const char *path, uint64_t addr,
                struct rv_boot_image *out, struct error **errp);

/* A Linux RISC-V "Image" (Documentation/riscv/boot-image-header.rst) at
 * addr, which must be 2 MiB aligned for RV64.  -ENOEXEC when the file
 * has no Image header. */
int rv_load_linux_image(const struct mem_map *m, const char *path, uint64_t addr,
                        struct rv_boot_image *out, struct error **errp);

/* A kernel or firmware of any of the above kinds: an ELF at its own
 * addresses, else a Linux Image or raw bytes at addr. */
int rv_load_any(const struct mem_map *m, const char *path, uint64_t addr,
                struct rv_boot_image *out, struct error **errp);

/* A whole file into memory (initrd, DTB): *buf (free() it) and *len.
 * Files larger than max are refused. */
int rv_read_file(const char *path, uint64_t max, uint8_t **buf, size_t *len,
                 struct error **errp);

#endif
