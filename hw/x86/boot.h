/* boot.h - direct Linux boot on x86: a bzImage through the 64-bit boot
 * protocol, or an ELF vmlinux through the PVH entry.
 *
 * Pure functions over guest RAM given as one host buffer (guest-physical
 * 0 .. ram_size, below the 32-bit PCI hole): no accelerator needed, so
 * tests/unit/test-x86-boot.c checks every byte they write.  Every value
 * read from the kernel image is untrusted: offsets and sizes are bounds-
 * and overflow-checked before use, and a broken image gives one line that
 * names the file and the problem.
 *
 * Low-memory layout the loaders use (all below 1 MiB, where no kernel is
 * loaded; the kernel copies what it needs before it reuses the pages):
 */
#ifndef EMU_HW_X86_BOOT_H
#define EMU_HW_X86_BOOT_H

#include "common.h"
#include "error.h"
#include "hw/x86/cpu-state.h"

#define X86_BOOT_GDT 0x500              /* 5 descriptors, see entry.c */
#define X86_BOOT_PVH_INFO 0x6000        /* hvm_start_info, module, memory map */
#define X86_BOOT_PARAMS 0x7000          /* the zero page (struct boot_params) */
#define X86_BOOT_STACK 0x8ff0           /* a stack for the first instructions */
#define X86_BOOT_PML4 0x9000            /* + PDPT at 0xa000, 4 PDs at 0xb000 */
#define X86_BOOT_CMDLINE 0x20000
#define X86_BOOT_CMDLINE_MAX 0x10000    /* bytes, with the NUL */
#define X86_BOOT_KERNEL_MIN 0x100000    /* nothing of the kernel below 1 MiB */

/* GDT selectors (Linux's boot protocol wants CS 0x10, DS 0x18) */
#define X86_SEL_CODE32 0x08
#define X86_SEL_CODE64 0x10
#define X86_SEL_DATA 0x18
#define X86_SEL_TSS 0x20

/* boot_params offsets (the zero page, Documentation/arch/x86/zero-page
 * and boot protocol), as byte offsets: the image is parsed as bytes. */
#define BP_ACPI_RSDP_ADDR 0x070         /* boot protocol 2.14 */
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_HDR 0x1f1                    /* the setup header, copied from the image */
#define BP_HDR_MAX_END 0x290            /* where boot_params' header room ends */
#define BP_E820_TABLE 0x2d0
#define BP_E820_MAX 128
/* setup header fields, offsets in the image and in boot_params alike */
#define SH_SETUP_SECTS 0x1f1
#define SH_VID_MODE 0x1fa
#define SH_BOOT_FLAG 0x1fe
#define SH_JUMP 0x200
#define SH_HEADER 0x202
#define SH_VERSION 0x206
#define SH_TYPE_OF_LOADER 0x210
#define SH_LOADFLAGS 0x211
#define SH_RAMDISK_IMAGE 0x218
#define SH_RAMDISK_SIZE 0x21c
#define SH_HEAP_END_PTR 0x224
#define SH_CMD_LINE_PTR 0x228
#define SH_INITRD_ADDR_MAX 0x22c
#define SH_KERNEL_ALIGNMENT 0x230
#define SH_RELOCATABLE 0x234
#define SH_MIN_ALIGNMENT 0x235
#define SH_XLOADFLAGS 0x236
#define SH_CMDLINE_SIZE 0x238
#define SH_PREF_ADDRESS 0x258
#define SH_INIT_SIZE 0x260

#define SH_MAGIC 0x53726448u            /* "HdrS" */
#define LOADFLAGS_LOADED_HIGH 0x01
#define LOADFLAGS_KEEP_SEGMENTS 0x40
#define LOADFLAGS_CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x01
#define XLF_CAN_BE_LOADED_ABOVE_4G 0x02

/* e820 / PVH memory map types */
#define E820_RAM 1
#define E820_RESERVED 2

struct x86_e820 {
    uint64_t addr, size;
    uint32_t type;
};

/* What the setup header says (x86_bzimage_parse). */
struct x86_bzimage {
    uint16_t version;           /* 0x020f = 2.15 */
    uint8_t loadflags;
    uint16_t xloadflags;        /* 0 before 2.12 */
    uint32_t hdr_end;           /* end of the setup header in the image */
    uint32_t kernel_offset;     /* of the protected-mode kernel in the file */
    uint32_t kernel_size;       /* its bytes in the file */
    uint32_t cmdline_size;      /* longest command line, without the NUL */
    uint32_t initrd_addr_max;   /* highest address an initrd byte may have */
    uint32_t kernel_alignment;
    bool relocatable;
    uint64_t pref_address;
    uint32_t init_size;         /* memory the kernel needs from its load address */
};

/* Parse and check a bzImage's setup header.  Requires boot protocol
 * 2.06 or later and a kernel loaded high. */
int x86_bzimage_parse(const uint8_t *img, size_t len, const char *name,
                      struct x86_bzimage *out, struct error **errp);

struct x86_boot_config {
    const char *kernel_name;    /* for messages */
    const uint8_t *kernel;
    size_t kernel_len;
    const char *initrd_name;
    const uint8_t *initrd;      /* NULL: none */
    size_t initrd_len;
    const char *cmdline;        /* NULL: empty */
    uint64_t high_ram_size;     /* RAM at 4 GiB and up, for the memory map */
    uint64_t rsdp_addr;         /* the ACPI RSDP for the kernel (0: none) */
};

/* Where things went (for the monitor and the tests). */
struct x86_boot_info {
    bool pvh;
    uint64_t kernel_addr, kernel_end;
    uint64_t initrd_addr, initrd_size;
    uint64_t entry;
};

/* The memory map of a guest with ram_size bytes at 0 (and high RAM at
 * 4 GiB): fills at most max entries, returns how many. */
int x86_e820_build(struct x86_e820 *e, int max, uint64_t ram_size, uint64_t high_ram_size);

/* Load a kernel into ram (ram_size bytes = guest-physical 0..ram_size)
 * with its initrd and command line and compute the vCPU's entry state:
 * an ELF image goes through PVH, anything else must be a bzImage. */
int x86_load_linux(uint8_t *ram, uint64_t ram_size, const struct x86_boot_config *cfg,
                   struct x86_entry *entry, struct x86_boot_info *info, struct error **errp);
int x86_load_bzimage(uint8_t *ram, uint64_t ram_size, const struct x86_boot_config *cfg,
                     struct x86_entry *entry, struct x86_boot_info *info, struct error **errp);
int x86_load_pvh(uint8_t *ram, uint64_t ram_size, const struct x86_boot_config *cfg,
                 struct x86_entry *entry, struct x86_boot_info *info, struct error **errp);
/* The checks of x86_load_pvh that need no RAM: an x86-64 ELF executable
 * whose segments lie in the file, with a PVH entry note. */
int x86_pvh_check(const uint8_t *img, size_t len, const char *name, struct error **errp);

/* unpack.c: the ELF vmlinux inside a bzImage (boot protocol 2.08 and up
 * name the payload), decompressed here rather than by the kernel's own
 * decompressor in the guest.  *out (mmap'd, *out_len bytes) is an ELF
 * file with a PVH entry.  -ENOTSUP (with a message) when this build or
 * this image cannot be done so: a compression we lack, an old protocol,
 * no PVH entry; the bzImage then boots as it is.  Payloads are untrusted:
 * the output is bounded by X86_UNPACK_MAX and by the size the payload
 * declares. */
#define X86_UNPACK_MAX (UINT64_C(1) << 30)
int x86_bzimage_unpack(const uint8_t *img, size_t len, const char *name, uint8_t **out,
                       size_t *out_len, struct error **errp);

/* entry.c: the GDT at X86_BOOT_GDT, identity page tables for the low
 * 4 GiB (2 MiB pages) at X86_BOOT_PML4, and the register state of a
 * 64-bit entry (long mode, paging on) or a 32-bit one (protected mode,
 * paging off, as PVH wants).  -EFAULT when ram is too small. */
int x86_setup_gdt(uint8_t *ram, uint64_t ram_size);
int x86_setup_page_tables(uint8_t *ram, uint64_t ram_size);
void x86_entry_long_mode(struct x86_entry *e, uint64_t rip);
void x86_entry_protected_mode(struct x86_entry *e, uint64_t eip);

/* Place an initrd: highest page-aligned address with its end at or below
 * top (the lower of RAM's end and what the kernel can reach), at or
 * above floor (the kernel's end).  -ENOSPC with a message otherwise. */
int x86_place_initrd(uint8_t *ram, uint64_t ram_size, const struct x86_boot_config *cfg,
                     uint64_t floor, uint64_t top, uint64_t *addr, struct error **errp);
/* Write the command line at X86_BOOT_CMDLINE; max: longest the kernel
 * takes (without the NUL). */
int x86_put_cmdline(uint8_t *ram, uint64_t ram_size, const struct x86_boot_config *cfg,
                    uint32_t max, struct error **errp);

#endif
