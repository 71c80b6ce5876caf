/* test-x86-boot.c - the x86 direct-boot loaders (hw/x86/boot.h) against
 * plain memory: a synthetic bzImage and ELF vmlinux built here, every
 * field they write checked; broken and hostile images give one clear
 * error and no out-of-bounds access (run under ASan in the sanitizer
 * build); and, when this machine has them, Debian's real bzImage
 * (EMU_TEST_BZIMAGE, or the kvm-testbed's cache) and an ELF vmlinux
 * (EMU_TEST_VMLINUX).  Also the host-side unpacking of a bzImage's
 * payload (gzip, xz, zstd; lying sizes, damaged streams) and the cache
 * of unpacked kernels (hits, damaged entries, eviction).
 */
#include <config.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#ifdef HAVE_LZMA
#include <lzma.h>
#endif
#ifdef HAVE_ZSTD
#include <zstd.h>
#endif
#include "hw/x86/boot.h"
#include "hw/x86/kernel-cache.h"
#include "unit.h"

#define MiB (UINT64_C(1) << 20)

static uint64_t rd(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void wr(uint8_t *p, int n, uint64_t v)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- a synthetic bzImage ---- */
#define BZ_SETUP_SECTS 4
#define BZ_KOFF ((BZ_SETUP_SECTS + 1) * 512)
#define BZ_KSIZE 0x3000

static uint8_t *make_bzimage(size_t *len)
{
    *len = BZ_KOFF + BZ_KSIZE;
    uint8_t *b = calloc(1, *len);
    b[SH_SETUP_SECTS] = BZ_SETUP_SECTS;
    wr(b + SH_BOOT_FLAG, 2, 0xaa55);
    b[SH_JUMP] = 0xeb;
    b[SH_JUMP + 1] = 0x6a;                      /* header ends at 0x26c */
    wr(b + SH_HEADER, 4, SH_MAGIC);
    wr(b + SH_VERSION, 2, 0x020f);
    b[SH_LOADFLAGS] = LOADFLAGS_LOADED_HIGH;
    wr(b + SH_INITRD_ADDR_MAX, 4, 0x7fffffff);
    wr(b + SH_KERNEL_ALIGNMENT, 4, 0x200000);
    b[SH_RELOCATABLE] = 1;
    wr(b + SH_XLOADFLAGS, 2, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
    wr(b + SH_CMDLINE_SIZE, 4, 2047);
    wr(b + SH_PREF_ADDRESS, 8, 0x1000000);
    wr(b + SH_INIT_SIZE, 4, 0x400000);
    wr(b + 0x240, 8, 0x1122334455667788ull);    /* hardware_subarch_data: copied as is */
    for (size_t i = 0; i < BZ_KSIZE; i++)
        b[BZ_KOFF + i] = (uint8_t)(i * 7 + 3);
    return b;
}

static uint8_t initrd_data[100 * 1024];

static int load(uint8_t *ram, uint64_t ram_size, const uint8_t *k, size_t klen,
                const char *cmdline, const uint8_t *initrd, size_t ilen, struct x86_entry *e,
                struct x86_boot_info *info, struct error **errp)
{
    struct x86_boot_config cfg = {
        .kernel_name = "vmlinuz-test", .kernel = k, .kernel_len = klen,
        .initrd_name = "initrd-test", .initrd = initrd, .initrd_len = ilen,
        .cmdline = cmdline, .rsdp_addr = 0xe0000,
    };
    return x86_load_linux(ram, ram_size, &cfg, e, info, errp);
}

static void check_gdt_and_tables(const uint8_t *ram)
{
    const uint8_t *g = ram + X86_BOOT_GDT;
    CHECK_U64(rd(g, 8), 0);
    CHECK_U64(rd(g + X86_SEL_CODE32, 8), 0x00cf9b000000ffffull);
    CHECK_U64(rd(g + X86_SEL_CODE64, 8), 0x00af9b000000ffffull);
    CHECK_U64(rd(g + X86_SEL_DATA, 8), 0x00cf93000000ffffull);
    CHECK_U64(rd(g + X86_SEL_TSS, 8), 0x00008b0000000067ull);
}

static void check_page_tables(const uint8_t *ram)
{
    CHECK_U64(rd(ram + X86_BOOT_PML4, 8), 0xa003);
    for (int i = 1; i < 512; i++)
        if (rd(ram + X86_BOOT_PML4 + i * 8, 8) != 0) {
            CHECK(!"PML4 entry beyond 0 set");
            break;
        }
    for (int i = 0; i < 4; i++)
        CHECK_U64(rd(ram + 0xa000 + i * 8, 8), 0xb003 + i * 0x1000);
    CHECK_U64(rd(ram + 0xa000 + 4 * 8, 8), 0);
    bool ok = true;
    for (uint64_t i = 0; i < 2048; i++)
        ok &= rd(ram + 0xb000 + i * 8, 8) == ((i << 21) | 0x83);
    CHECK(ok);
    CHECK_U64(rd(ram + 0xb000 + 2047 * 8, 8), 0xffe00083);
}

static void test_bzimage_good(void)
{
    size_t len;
    uint8_t *k = make_bzimage(&len);
    uint64_t ram_size = 64 * MiB;
    uint8_t *ram = calloc(1, ram_size);
    for (size_t i = 0; i < sizeof(initrd_data); i++)
        initrd_data[i] = (uint8_t)(i ^ 0x5a);
    struct x86_entry e;
    struct x86_boot_info info;
    struct error *err = NULL;
    int r = load(ram, ram_size, k, len, "console=ttyS0 quiet", initrd_data,
                 sizeof(initrd_data), &e, &info, &err);
    CHECK(r == 0);
    if (err) {
        fprintf(stderr, "unexpected: %s\n", err_msg(err));
        err_free(err);
    }
    CHECK(!info.pvh);
    CHECK_U64(info.kernel_addr, 0x1000000);
    CHECK_U64(info.kernel_end, 0x1400000);
    CHECK_U64(info.entry, 0x1000200);
    CHECK(memcmp(ram + 0x1000000, k + BZ_KOFF, BZ_KSIZE) == 0);
    /* (the rest of init_size zeroed: RAM was calloc'ed, so poison-check one spot) */
    CHECK_U64(ram[0x1000000 + BZ_KSIZE], 0);
    /* the initrd at the top of RAM, page-aligned */
    uint64_t ia = (ram_size - sizeof(initrd_data)) & ~UINT64_C(4095);
    CHECK_U64(info.initrd_addr, ia);
    CHECK_U64(info.initrd_size, sizeof(initrd_data));
    CHECK(memcmp(ram + ia, initrd_data, sizeof(initrd_data)) == 0);
    /* the command line */
    CHECK(strcmp((char *)ram + X86_BOOT_CMDLINE, "console=ttyS0 quiet") == 0);
    /* boot_params */
    const uint8_t *bp = ram + X86_BOOT_PARAMS;
    CHECK_U64(rd(bp + SH_BOOT_FLAG, 2), 0xaa55);
    CHECK_U64(rd(bp + SH_HEADER, 4), SH_MAGIC);
    CHECK_U64(rd(bp + SH_VERSION, 2), 0x020f);
    CHECK_U64(rd(bp + SH_VID_MODE, 2), 0xffff);
    CHECK_U64(bp[SH_TYPE_OF_LOADER], 0xff);
    CHECK_U64(bp[SH_LOADFLAGS], LOADFLAGS_LOADED_HIGH | LOADFLAGS_CAN_USE_HEAP);
    CHECK_U64(rd(bp + SH_CMD_LINE_PTR, 4), X86_BOOT_CMDLINE);
    CHECK_U64(rd(bp + BP_EXT_CMD_LINE_PTR, 4), 0);
    CHECK_U64(rd(bp + BP_ACPI_RSDP_ADDR, 8), 0xe0000);    /* the machine's ACPI tables */
    CHECK_U64(rd(bp + SH_RAMDISK_IMAGE, 4), ia);
    CHECK_U64(rd(bp + SH_RAMDISK_SIZE, 4), sizeof(initrd_data));
    CHECK_U64(rd(bp + BP_EXT_RAMDISK_IMAGE, 4), 0);
    CHECK_U64(rd(bp + SH_INIT_SIZE, 4), 0x400000);
    CHECK_U64(rd(bp + SH_PREF_ADDRESS, 8), 0x1000000);
    CHECK_U64(rd(bp + 0x240, 8), 0x1122334455667788ull);
    CHECK_U64(rd(bp + SH_XLOADFLAGS, 2), 3);
    /* nothing of the image beyond the header's end (0x26c) */
    bool clean = true;
    for (int i = 0x26c; i < BP_E820_TABLE; i++)
        clean &= bp[i] == 0;
    CHECK(clean);
    CHECK_U64(bp[BP_E820_ENTRIES], 2);
    const uint8_t *e820 = bp + BP_E820_TABLE;
    CHECK_U64(rd(e820, 8), 0);
    CHECK_U64(rd(e820 + 8, 8), 0x9fc00);
    CHECK_U64(rd(e820 + 16, 4), E820_RAM);
    CHECK_U64(rd(e820 + 20, 8), 0x100000);
    CHECK_U64(rd(e820 + 28, 8), ram_size - 0x100000);
    CHECK_U64(rd(e820 + 36, 4), E820_RAM);
    CHECK_U64(rd(e820 + 40, 8), 0);
    check_gdt_and_tables(ram);
    check_page_tables(ram);
    /* the 64-bit entry state */
    CHECK_U64(e.rip, 0x1000200);
    CHECK_U64(e.rsi, X86_BOOT_PARAMS);
    CHECK_U64(e.rflags, 2);
    CHECK_U64(e.cr0 & (X86_CR0_PE | X86_CR0_PG), X86_CR0_PE | X86_CR0_PG);
    CHECK_U64(e.cr3, X86_BOOT_PML4);
    CHECK_U64(e.cr4, X86_CR4_PAE);
    CHECK_U64(e.efer, X86_EFER_LME | X86_EFER_LMA);
    CHECK_U64(e.cs.selector, 0x10);
    CHECK(e.cs.l == 1 && e.cs.db == 0 && e.cs.s == 1 && e.cs.present && e.cs.type == 0xb);
    CHECK_U64(e.ds.selector, 0x18);
    CHECK_U64(e.ss.selector, 0x18);
    CHECK(e.ds.type == 3 && e.ds.db && e.ds.g && e.ds.limit == 0xffffffff);
    CHECK_U64(e.tr.selector, 0x20);
    CHECK(e.tr.type == 0xb && e.tr.present && !e.tr.s);
    CHECK_U64(e.gdt_base, X86_BOOT_GDT);
    CHECK_U64(e.gdt_limit, 39);

    /* A small RAM: pref_address (16 MiB) does not fit, the lowest 2 MiB
     * aligned address does; and high RAM shows in the map. */
    memset(ram, 0, ram_size);
    struct x86_boot_config cfg = {
        .kernel_name = "vmlinuz-test", .kernel = k, .kernel_len = len,
        .cmdline = NULL, .high_ram_size = 2ull << 30,
    };
    r = x86_load_bzimage(ram, 12 * MiB, &cfg, &e, &info, NULL);
    CHECK(r == 0);
    CHECK_U64(info.kernel_addr, 0x200000);
    CHECK_U64(e.rip, 0x200200);
    CHECK_U64(ram[X86_BOOT_CMDLINE], 0);
    CHECK_U64(ram[X86_BOOT_PARAMS + BP_E820_ENTRIES], 3);
    CHECK_U64(rd(ram + X86_BOOT_PARAMS + BP_E820_TABLE + 40, 8), 4ull << 30);
    CHECK_U64(rd(ram + X86_BOOT_PARAMS + BP_E820_TABLE + 48, 8), 2ull << 30);
    CHECK_U64(rd(ram + X86_BOOT_PARAMS + SH_RAMDISK_SIZE, 4), 0);
    free(ram);
    free(k);
}

/* One broken image: loading fails with a message naming the file and
 * containing what. */
static void expect_error(const uint8_t *k, size_t len, uint64_t ram_size, const char *cmdline,
                         size_t initrd_len, const char *what)
{
    uint8_t *ram = calloc(1, ram_size);
    static uint8_t big_initrd[8 * MiB];
    struct x86_entry e;
    struct x86_boot_info info;
    struct error *err = NULL;
    int r = load(ram, ram_size, k, len, cmdline, initrd_len ? big_initrd : NULL, initrd_len,
                 &e, &info, &err);
    CHECK(r < 0);
    CHECK(err != NULL);
    if (err) {
        CHECK_CONTAINS(err_msg(err), what);
        CHECK(strchr(err_msg(err), '\n') == NULL);
        CHECK(strstr(err_msg(err), "vmlinuz-test") || strstr(err_msg(err), "initrd-test"));
        err_free(err);
    }
    free(ram);
}

static void test_bzimage_broken(void)
{
    size_t len;
    uint8_t *k = make_bzimage(&len);
    const uint64_t R = 32 * MiB;

    expect_error(k, 100, R, NULL, 0, "too short");
    expect_error(k, BZ_KOFF, R, NULL, 0, "beyond the file");     /* no kernel at all */

    uint8_t *b = malloc(len);
#define MUT(stmt, what)                                                       \
    do {                                                                      \
        memcpy(b, k, len);                                                    \
        stmt;                                                                 \
        expect_error(b, len, R, NULL, 0, what);                               \
    } while (0)
    MUT(wr(b + SH_HEADER, 4, 0x12345678), "not a bzImage");
    MUT(wr(b + SH_BOOT_FLAG, 2, 0), "not a bzImage");
    MUT(wr(b + SH_VERSION, 2, 0x0205), "2.05 is too old");
    MUT(wr(b + SH_VERSION, 2, 0x0100), "too old");
    MUT(b[SH_SETUP_SECTS] = 255, "setup_sects 255");
    MUT(b[SH_SETUP_SECTS] = 40, "beyond the file");
    MUT(b[SH_LOADFLAGS] = 0, "zImage");
    MUT(wr(b + SH_XLOADFLAGS, 2, 0), "no 64-bit entry point");
    MUT(wr(b + SH_VERSION, 2, 0x0206), "no 64-bit entry point");
    MUT(wr(b + SH_KERNEL_ALIGNMENT, 4, 0x300000), "not a power of two");
    MUT(wr(b + SH_KERNEL_ALIGNMENT, 4, 0), "not a power of two");
    MUT(wr(b + SH_KERNEL_ALIGNMENT, 4, 0x80000000u), "not a power of two");
    MUT(wr(b + SH_INIT_SIZE, 4, 0xffffffffu), "more than the");
    /* not relocatable, and its only address is beyond RAM */
    MUT((b[SH_RELOCATABLE] = 0, wr(b + SH_PREF_ADDRESS, 8, 0xfffffffffff00000ull)),
        "more than the");
    /* a header that claims to run past boot_params' room is clipped, not copied */
    memcpy(b, k, len);
    b[SH_JUMP + 1] = 0xff;
    {
        uint8_t *ram = calloc(1, R);
        struct x86_entry e;
        struct x86_boot_info info;
        CHECK(load(ram, R, b, len, NULL, NULL, 0, &e, &info, NULL) == 0);
        CHECK_U64(ram[X86_BOOT_PARAMS + BP_HDR_MAX_END], 0);
        free(ram);
    }
    /* the command line: longer than cmdline_size */
    memcpy(b, k, len);
    wr(b + SH_CMDLINE_SIZE, 4, 10);
    expect_error(b, len, R, "console=ttyS0", 0, "command line is too long");
    expect_error(b, len, R, "0123456789a", 0, "(11 bytes, the kernel takes 10)");
    /* longer than our buffer, whatever the kernel says */
    {
        char *huge = malloc(X86_BOOT_CMDLINE_MAX + 10);
        memset(huge, 'x', X86_BOOT_CMDLINE_MAX + 9);
        huge[X86_BOOT_CMDLINE_MAX + 9] = 0;
        memcpy(b, k, len);
        wr(b + SH_CMDLINE_SIZE, 4, 0xffffffffu);
        expect_error(b, len, R, huge, 0, "command line is too long");
        free(huge);
    }
    /* an initrd larger than RAM, and one that fits RAM but not beside the kernel */
    expect_error(k, len, 8 * MiB, NULL, 8 * MiB, "initrd");
    expect_error(k, len, 20 * MiB, NULL, 4 * MiB, "does not fit in RAM");
    /* initrd_addr_max below the kernel's end */
    memcpy(b, k, len);
    wr(b + SH_INITRD_ADDR_MAX, 4, 0x00ffffff);
    expect_error(b, len, R, NULL, 4096, "does not fit in RAM");
    /* RAM too small for the boot tables and the command line */
    expect_error(k, len, 64 * 1024, NULL, 0, "vmlinuz-test");
    free(b);
    free(k);
}

/* Random damage to the header and random truncation: an error or a
 * load inside RAM, never a crash (ASan watches the accesses). */
static void test_bzimage_fuzz(void)
{
    size_t len;
    uint8_t *k = make_bzimage(&len);
    uint8_t *b = malloc(len);
    const uint64_t R = 24 * MiB;
    uint8_t *ram = malloc(R);
    unsigned seed = 12345;
    int ok = 0, bad = 0;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(b, k, len);
        int n = 1 + rand_r(&seed) % 6;
        for (int j = 0; j < n; j++) {
            size_t off = 0x1f0 + (size_t)rand_r(&seed) % 0x80;
            b[off] = (uint8_t)rand_r(&seed);
        }
        size_t blen = (rand_r(&seed) % 4) ? len : (size_t)rand_r(&seed) % len;
        struct x86_entry e;
        struct x86_boot_info info;
        struct error *err = NULL;
        if (load(ram, R, b, blen, "console=ttyS0", initrd_data, sizeof(initrd_data), &e,
                 &info, &err) == 0) {
            ok++;
            CHECK(info.kernel_end <= R && info.initrd_addr + info.initrd_size <= R);
        } else {
            bad++;
            CHECK(err && err_msg(err)[0]);
            err_free(err);
        }
    }
    fprintf(stderr, "bzImage fuzz: %d loaded, %d refused\n", ok, bad);
    CHECK(ok > 0 && bad > 0);
    free(ram);
    free(b);
    free(k);
}

/* ---- a synthetic ELF vmlinux with a PVH note ---- */
#define ELF_LEN 0x4000
#define ELF_ENTRY 0x1000100ull

static uint8_t *make_elf(size_t *len)
{
    *len = ELF_LEN;
    uint8_t *b = calloc(1, ELF_LEN);
    memcpy(b, "\177ELF", 4);
    b[4] = 2;                       /* ELFCLASS64 */
    b[5] = 1;                       /* little-endian */
    b[6] = 1;
    wr(b + 16, 2, 2);               /* ET_EXEC */
    wr(b + 18, 2, 62);              /* EM_X86_64 */
    wr(b + 20, 4, 1);
    wr(b + 24, 8, 0xffffffff81000000ull);
    wr(b + 32, 8, 64);              /* phoff */
    wr(b + 52, 2, 64);
    wr(b + 54, 2, 56);
    wr(b + 56, 2, 3);               /* phnum */
    uint8_t *p = b + 64;
    /* PT_LOAD: 0x2000 bytes at file 0x1000 -> 16 MiB, 0x3000 in memory */
    wr(p + 0, 4, 1);
    wr(p + 8, 8, 0x1000);
    wr(p + 16, 8, 0xffffffff81000000ull);
    wr(p + 24, 8, 0x1000000);
    wr(p + 32, 8, 0x2000);
    wr(p + 40, 8, 0x3000);
    /* PT_NOTE at 0x200: an unrelated note, then Xen's PHYS32_ENTRY */
    p += 56;
    wr(p + 0, 4, 4);
    wr(p + 8, 8, 0x200);
    wr(p + 32, 8, 16 + 4 + 4 + 12 + 4 + 4);
    uint8_t *n = b + 0x200;
    wr(n, 4, 4);                    /* "GNU", type 3, 4 bytes */
    wr(n + 4, 4, 4);
    wr(n + 8, 4, 3);
    memcpy(n + 12, "GNU", 4);
    n += 20;
    wr(n, 4, 4);
    wr(n + 4, 4, 4);
    wr(n + 8, 4, 18);
    memcpy(n + 12, "Xen", 4);
    wr(n + 16, 4, ELF_ENTRY);
    /* PT_GNU_STACK: ignored */
    p += 56;
    wr(p + 0, 4, 0x6474e551);
    for (int i = 0; i < 0x2000; i++)
        b[0x1000 + i] = (uint8_t)(i * 13 + 1);
    return b;
}

static void test_pvh_good(void)
{
    size_t len;
    uint8_t *k = make_elf(&len);
    uint64_t ram_size = 32 * MiB;
    uint8_t *ram = malloc(ram_size);
    memset(ram, 0xcc, ram_size);        /* so that zeroing shows */
    struct x86_entry e;
    struct x86_boot_info info;
    struct error *err = NULL;
    int r = load(ram, ram_size, k, len, "console=hvc0", initrd_data, sizeof(initrd_data), &e,
                 &info, &err);
    CHECK(r == 0);
    if (err) {
        fprintf(stderr, "unexpected: %s\n", err_msg(err));
        err_free(err);
    }
    CHECK(info.pvh);
    CHECK_U64(info.kernel_addr, 0x1000000);
    CHECK_U64(info.kernel_end, 0x1003000);
    CHECK(memcmp(ram + 0x1000000, k + 0x1000, 0x2000) == 0);
    bool bss = true;
    for (int i = 0x2000; i < 0x3000; i++)
        bss &= ram[0x1000000 + i] == 0;
    CHECK(bss);
    CHECK_U64(ram[0x1003000], 0xcc);            /* nothing beyond memsz */
    uint64_t ia = (ram_size - sizeof(initrd_data)) & ~UINT64_C(4095);
    CHECK_U64(info.initrd_addr, ia);
    CHECK(memcmp(ram + ia, initrd_data, sizeof(initrd_data)) == 0);
    const uint8_t *si = ram + X86_BOOT_PVH_INFO;
    CHECK_U64(rd(si, 4), 0x336ec578);
    CHECK_U64(rd(si + 4, 4), 1);
    CHECK_U64(rd(si + 8, 4), 0);
    CHECK_U64(rd(si + 12, 4), 1);
    uint64_t mod = rd(si + 16, 8);
    CHECK(mod > X86_BOOT_PVH_INFO && mod < X86_BOOT_PVH_INFO + 0x1000);
    CHECK_U64(rd(ram + mod, 8), ia);
    CHECK_U64(rd(ram + mod + 8, 8), sizeof(initrd_data));
    CHECK_U64(rd(ram + mod + 16, 8), 0);
    CHECK_U64(rd(si + 24, 8), X86_BOOT_CMDLINE);
    CHECK(strcmp((char *)ram + X86_BOOT_CMDLINE, "console=hvc0") == 0);
    CHECK_U64(rd(si + 32, 8), 0xe0000);         /* rsdp_paddr: the machine's ACPI tables */
    uint64_t mm = rd(si + 40, 8);
    CHECK_U64(rd(si + 48, 4), 2);
    CHECK_U64(rd(ram + mm, 8), 0);
    CHECK_U64(rd(ram + mm + 8, 8), 0x9fc00);
    CHECK_U64(rd(ram + mm + 16, 4), 1);
    CHECK_U64(rd(ram + mm + 24, 8), 0x100000);
    CHECK_U64(rd(ram + mm + 32, 8), ram_size - 0x100000);
    CHECK_U64(rd(ram + mm + 40, 4), 1);
    check_gdt_and_tables(ram);
    /* 32-bit protected mode, paging off, EBX = start info */
    CHECK_U64(e.rip, ELF_ENTRY);
    CHECK_U64(e.rbx, X86_BOOT_PVH_INFO);
    CHECK_U64(e.cr0 & (X86_CR0_PE | X86_CR0_PG), X86_CR0_PE);
    CHECK_U64(e.cr4, 0);
    CHECK_U64(e.efer, 0);
    CHECK_U64(e.rflags, 2);
    CHECK_U64(e.cs.selector, X86_SEL_CODE32);
    CHECK(e.cs.db == 1 && e.cs.l == 0 && e.cs.limit == 0xffffffff && e.cs.base == 0);
    CHECK_U64(e.ds.selector, X86_SEL_DATA);
    CHECK(e.tr.type == 0xb && e.tr.present);
    free(ram);
    free(k);
}

static void test_pvh_broken(void)
{
    size_t len;
    uint8_t *k = make_elf(&len);
    uint8_t *b = malloc(len);
    const uint64_t R = 32 * MiB;
    uint8_t *note = NULL;
#define EMUT(stmt, what)                                                      \
    do {                                                                      \
        memcpy(b, k, len);                                                    \
        note = b + 0x200 + 20;                                                \
        (void)note;                                                           \
        stmt;                                                                 \
        expect_error(b, len, R, NULL, 0, what);                               \
    } while (0)
    expect_error(k, 40, R, NULL, 0, "not an ELF file");      /* too short for a header */
    EMUT(b[4] = 1, "not a 64-bit");
    EMUT(wr(b + 18, 2, 3), "x86-64");
    EMUT(wr(b + 16, 2, 3), "not an ELF executable");
    EMUT(wr(b + 32, 8, 0xfffffffffffffff0ull), "outside the file");
    EMUT(wr(b + 32, 8, len - 10), "outside the file");
    EMUT(wr(b + 56, 2, 0xffff), "program headers");
    EMUT(wr(b + 56, 2, 0), "program headers");
    EMUT(wr(b + 54, 2, 32), "program headers");
    EMUT(wr(b + 64 + 8, 8, 0xfffffffffffff000ull), "segment 0 lies outside");
    EMUT(wr(b + 64 + 32, 8, len), "segment 0 lies outside");
    EMUT(wr(b + 64 + 40, 8, 0x100), "larger in the file");
    EMUT(wr(b + 64 + 24, 8, 0x1000), "outside 1 MiB");
    EMUT(wr(b + 64 + 24, 8, 0xfffffffffffff000ull), "outside 1 MiB");
    EMUT(wr(b + 64 + 24, 8, 0x40000000), "beyond the");
    EMUT(wr(b + 64 + 56 + 8, 8, len + 1), "note segment");
    EMUT(wr(b + 64 + 56 + 32, 8, 0xffffffffffffff00ull), "note segment");
    EMUT(wr(b + 0x200, 4, 0xfffffff0u), "runs past");
    EMUT(wr(note, 4, 0x7fffffffu), "runs past");
    EMUT(wr(note + 4, 4, 0xffffffffu), "runs past");
    EMUT(wr(note + 4, 4, 2), "2 bytes");
    EMUT(wr(note + 8, 4, 17), "no PVH entry");
    EMUT(memcpy(note + 12, "Xex", 4), "no PVH entry");
    EMUT(wr(note + 16, 4, 0x5000000), "outside the loaded kernel");
    EMUT(wr(b + 64, 4, 6), "nothing to load");
    /* and random damage to headers and notes */
    uint8_t *ram = malloc(R);
    unsigned seed = 777;
    int ok = 0, bad = 0;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(b, k, len);
        int n = 1 + rand_r(&seed) % 4;
        for (int j = 0; j < n; j++) {
            size_t off = (rand_r(&seed) % 2) ? (size_t)rand_r(&seed) % (64 + 3 * 56)
                                             : 0x200 + (size_t)rand_r(&seed) % 48;
            b[off] = (uint8_t)rand_r(&seed);
        }
        size_t blen = (rand_r(&seed) % 5) ? len : (size_t)rand_r(&seed) % len;
        struct x86_entry e;
        struct x86_boot_info info;
        struct error *err = NULL;
        if (load(ram, R, b, blen, NULL, NULL, 0, &e, &info, &err) == 0) {
            ok++;
            CHECK(info.kernel_end <= R);
        } else {
            bad++;
            err_free(err);
        }
    }
    fprintf(stderr, "ELF fuzz: %d loaded, %d refused\n", ok, bad);
    CHECK(ok > 0 && bad > 0);
    free(ram);
    free(b);
    free(k);
}

/* ---- Debian's bzImage, when this machine has one ---- */
/* ---- bzImages unpacked on the host (hw/x86/unpack.c, kernel-cache.c) ---- */
#define SH_PAYLOAD_OFFSET 0x248
#define SH_PAYLOAD_LENGTH 0x24c

enum comp { COMP_GZIP, COMP_XZ, COMP_ZSTD };
static const char *const comp_name[] = { "gzip", "xz", "zstd" };

/* data compressed as the kernel's build does it: the stream, then (but
 * for gzip, whose trailer ends so) the size in 4 bytes; 0 when this build
 * lacks the compressor */
static size_t compress_as_kernel(enum comp c, const uint8_t *in, size_t n, uint8_t *out,
                                 size_t cap)
{
    size_t len = 0;
    switch (c) {
    case COMP_GZIP: {
        z_stream z;
        memset(&z, 0, sizeof(z));
        if (deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return 0;
        z.next_in = (Bytef *)(uintptr_t)in;
        z.avail_in = (uInt)n;
        z.next_out = out;
        z.avail_out = (uInt)cap;
        int r = deflate(&z, Z_FINISH);
        len = r == Z_STREAM_END ? z.total_out : 0;
        deflateEnd(&z);
        return len;
    }
    case COMP_XZ:
#ifdef HAVE_LZMA
        if (lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, in, n, out, &len, cap - 4) !=
            LZMA_OK)
            return 0;
        break;
#else
        return 0;
#endif
    case COMP_ZSTD:
#ifdef HAVE_ZSTD
        len = ZSTD_compress(out, cap - 4, in, n, 19);
        if (ZSTD_isError(len))
            return 0;
        break;
#else
        return 0;
#endif
    }
    wr(out + len, 4, n);
    return len + 4;
}

/* make_bzimage's header around a payload */
static uint8_t *make_packed(const uint8_t *payload, size_t plen, size_t *len)
{
    size_t hl;
    uint8_t *h = make_bzimage(&hl);
    *len = BZ_KOFF + 0x100 + plen;
    uint8_t *b = calloc(1, *len);
    memcpy(b, h, BZ_KOFF);
    free(h);
    wr(b + SH_PAYLOAD_OFFSET, 4, 0x100);
    wr(b + SH_PAYLOAD_LENGTH, 4, plen);
    memcpy(b + BZ_KOFF + 0x100, payload, plen);
    return b;
}

static int try_unpack(const uint8_t *b, size_t len, uint8_t **out, size_t *out_len,
                      const char *want)
{
    struct error *err = NULL;
    int r = x86_bzimage_unpack(b, len, "bz", out, out_len, &err);
    if (want) {
        CHECK(r < 0);
        CHECK(err && strstr(err_msg(err), want));
        if (err && !strstr(err_msg(err), want))
            fprintf(stderr, "expected '%s', got: %s\n", want, err_msg(err));
    } else if (err) {
        fprintf(stderr, "unexpected: %s\n", err_msg(err));
    }
    err_free(err);
    return r;
}

/* make_elf's image and a buffer for it compressed (*cap bytes) */
static uint8_t *make_elf_and_room(size_t *elen, uint8_t **pl, size_t *cap)
{
    uint8_t *elf = make_elf(elen);
    *cap = *elen * 2 + 1024;
    *pl = malloc(*cap);
    return elf;
}

static void test_unpack(void)
{
    size_t elen, cap;
    uint8_t *pl, *elf = make_elf_and_room(&elen, &pl, &cap);
    for (int c = COMP_GZIP; c <= COMP_ZSTD; c++) {
        size_t plen = compress_as_kernel(c, elf, elen, pl, cap);
        if (!plen) {
            fprintf(stderr, "unpack: no %s compressor in this build, skipped\n", comp_name[c]);
            continue;
        }
        size_t len, olen;
        uint8_t *b = make_packed(pl, plen, &len), *out;
        CHECK(try_unpack(b, len, &out, &olen, NULL) == 0);
        CHECK_U64(olen, elen);
        CHECK(memcmp(out, elf, elen) == 0);
        munmap(out, olen);

        /* the declared size is the output buffer, exactly */
        wr(b + len - 4, 4, elen + 1);
        CHECK(try_unpack(b, len, &out, &olen, c == COMP_GZIP ? "gzip" : "declares") < 0);
        wr(b + len - 4, 4, elen - 1);
        CHECK(try_unpack(b, len, &out, &olen, "declares") < 0);
        wr(b + len - 4, 4, 0xffffffffu);
        CHECK(try_unpack(b, len, &out, &olen, "declares 4294967295 bytes") == -ENOTSUP);
        wr(b + len - 4, 4, elen);
        /* truncated streams: shorter payload_length, size bytes moved up */
        for (size_t cut = 5; cut < plen - 8; cut += plen / 7 + 1) {
            size_t l2;
            uint8_t *t = malloc(plen);
            memcpy(t, pl, plen - 4 - cut);
            wr(t + plen - 4 - cut, 4, elen);
            uint8_t *b2 = make_packed(t, plen - cut, &l2);
            CHECK(try_unpack(b2, l2, &out, &olen, "bz: ") < 0);
            free(b2);
            free(t);
        }
        /* the payload outside the kernel */
        wr(b + SH_PAYLOAD_LENGTH, 4, plen + 1);
        CHECK(try_unpack(b, len, &out, &olen, "is not inside") == -EINVAL);
        wr(b + SH_PAYLOAD_OFFSET, 4, 0xfffffff0u);
        CHECK(try_unpack(b, len, &out, &olen, "is not inside") == -EINVAL);
        wr(b + SH_PAYLOAD_OFFSET, 4, 0x100);
        wr(b + SH_PAYLOAD_LENGTH, 4, plen);
        /* random damage to the stream: an error or the right bytes, never more */
        uint32_t seed = 12345 + (uint32_t)c;
        int refused = 0;
        for (int round = 0; round < 300; round++) {
            uint8_t *d = malloc(len);
            memcpy(d, b, len);
            for (int k = 0; k < 1 + round % 4; k++) {
                seed = seed * 1103515245u + 12345u;
                d[BZ_KOFF + 0x100 + (seed >> 8) % (plen - 4)] ^= (uint8_t)(1 + (seed >> 24) % 255);
            }
            struct error *err = NULL;
            if (x86_bzimage_unpack(d, len, "bz", &out, &olen, &err) == 0) {
                CHECK(olen == elen);
                munmap(out, olen);
            } else {
                refused++;
            }
            err_free(err);
            free(d);
        }
        CHECK(refused > 0);
        free(b);
    }

    /* what is left to the kernel's own decompressor */
    size_t plen = compress_as_kernel(COMP_GZIP, elf, elen, pl, cap), len, olen;
    uint8_t *b = make_packed(pl, plen, &len), *out;
    wr(b + SH_VERSION, 2, 0x0207);
    CHECK(try_unpack(b, len, &out, &olen, "2.08") == -ENOTSUP);
    wr(b + SH_VERSION, 2, 0x020f);
    memcpy(b + BZ_KOFF + 0x100, "BZh91AY&SY", 10);
    CHECK(try_unpack(b, len, &out, &olen, "compression") == -ENOTSUP);
    free(b);
    /* a payload that is not an ELF vmlinux with a PVH entry */
    uint8_t *noelf = calloc(1, elen);
    plen = compress_as_kernel(COMP_GZIP, noelf, elen, pl, cap);
    b = make_packed(pl, plen, &len);
    CHECK(try_unpack(b, len, &out, &olen, "not an ELF") == -EINVAL);
    free(b);
    memcpy(noelf, elf, elen);
    memcpy(noelf + 0x200 + 20 + 12, "Xex", 4);  /* the PVH note's owner */
    plen = compress_as_kernel(COMP_GZIP, noelf, elen, pl, cap);
    b = make_packed(pl, plen, &len);
    CHECK(try_unpack(b, len, &out, &olen, "no PVH entry") == -EINVAL);
    free(b);
    free(noelf);
    free(pl);
    free(elf);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += de->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void test_kernel_cache(void)
{
    size_t elen, cap;
    uint8_t *pl, *elf = make_elf_and_room(&elen, &pl, &cap);
    size_t plen = compress_as_kernel(COMP_GZIP, elf, elen, pl, cap), len;
    uint8_t *b = make_packed(pl, plen, &len);
    char top[] = "/tmp/emu-kcache-XXXXXX", dir[256];
    CHECK(mkdtemp(top) != NULL);
    setenv("XDG_CACHE_HOME", top, 1);
    snprintf(dir, sizeof(dir), "%s/emu/vmlinux", top);

    /* a miss: unpacked here, written in the background */
    struct x86_kernel_image k;
    CHECK(x86_kernel_unpacked(b, len, "bz", &k, NULL) == 0);
    CHECK(k.storing);
    CHECK(k.len == elen && memcmp(k.data, elf, elen) == 0);
    char path[512];
    snprintf(path, sizeof(path), "%s", k.path);
    x86_kernel_release(&k);
    CHECK_U64(count_entries(dir), 1);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (size_t)st.st_size == elen && (st.st_mode & 0777) == 0600);
    CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
    /* a hit: the entry mapped, nothing written */
    CHECK(x86_kernel_unpacked(b, len, "bz", &k, NULL) == 0);
    CHECK(!k.storing);
    CHECK(k.len == elen && memcmp(k.data, elf, elen) == 0);
    x86_kernel_release(&k);
    /* a damaged entry is dropped and made again */
    FILE *f = fopen(path, "r+b");
    CHECK(f && fwrite("JUNK", 1, 4, f) == 4);
    if (f)
        fclose(f);
    CHECK(x86_kernel_unpacked(b, len, "bz", &k, NULL) == 0);
    CHECK(k.storing);
    CHECK(k.len == elen && memcmp(k.data, elf, elen) == 0);
    x86_kernel_release(&k);
    CHECK(truncate(path, 100) == 0);
    CHECK(x86_kernel_unpacked(b, len, "bz", &k, NULL) == 0);
    CHECK(k.storing && k.len == elen);
    x86_kernel_release(&k);
    CHECK(stat(path, &st) == 0 && (size_t)st.st_size == elen);
    /* another kernel is another entry; only the 4 used last stay */
    for (int i = 0; i < 6; i++) {
        uint8_t *b2 = malloc(len + 16);
        memcpy(b2, b, len);
        memset(b2 + len, i, 16);                /* bytes after the payload */
        CHECK(x86_kernel_unpacked(b2, len + 16, "bz", &k, NULL) == 0);
        CHECK(k.storing);
        x86_kernel_release(&k);
        free(b2);
    }
    CHECK_U64(count_entries(dir), 4);
    CHECK(stat(path, &st) < 0);                 /* the oldest went */
    /* no cache to be had: unpacked all the same */
    setenv("XDG_CACHE_HOME", "/proc/no-such-cache", 1);
    CHECK(x86_kernel_unpacked(b, len, "bz", &k, NULL) == 0);
    CHECK(!k.storing && k.len == elen && memcmp(k.data, elf, elen) == 0);
    x86_kernel_release(&k);
    unsetenv("XDG_CACHE_HOME");

    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.' || strlen(de->d_name) > 2) {
            char p2[600];
            snprintf(p2, sizeof(p2), "%s/%s", dir, de->d_name);
            unlink(p2);
        }
    if (d)
        closedir(d);
    rmdir(dir);
    snprintf(path, sizeof(path), "%s/emu", top);
    rmdir(path);
    rmdir(top);
    free(b);
    free(pl);
    free(elf);
}

static char *find_real_kernel(void)
{
    const char *env = getenv("EMU_TEST_BZIMAGE");
    if (env && *env)
        return strdup(env);
    const char *home = getenv("HOME");
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/.cache/kvm-testbed/root/boot", home ? home : "/root");
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    struct dirent *de;
    char *found = NULL;
    while (!found && (de = readdir(d)))
        if (strncmp(de->d_name, "vmlinuz-", 8) == 0) {
            size_t n = strlen(dir) + strlen(de->d_name) + 2;
            found = malloc(n);
            snprintf(found, n, "%s/%s", dir, de->d_name);
        }
    closedir(d);
    return found;
}

static void test_real_kernel(void)
{
    char *path = find_real_kernel();
    if (!path) {
        fprintf(stderr, "no Debian bzImage here (EMU_TEST_BZIMAGE or ~/.cache/kvm-testbed): "
                        "real-kernel checks skipped\n");
        return;
    }
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f) {
        free(path);
        return;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *k = malloc((size_t)len);
    CHECK(fread(k, 1, (size_t)len, f) == (size_t)len);
    fclose(f);
    struct x86_bzimage h;
    struct error *err = NULL;
    int r = x86_bzimage_parse(k, (size_t)len, path, &h, &err);
    CHECK(r == 0);
    if (err) {
        fprintf(stderr, "%s\n", err_msg(err));
        err_free(err);
    }
    fprintf(stderr, "%s: protocol %u.%02u, loadflags 0x%x, xloadflags 0x%x, kernel at file "
            "0x%x (%u bytes), init_size 0x%x, pref_address 0x%" PRIx64 ", alignment 0x%x%s, "
            "cmdline_size %u, initrd_addr_max 0x%x\n", path, h.version >> 8, h.version & 0xff,
            h.loadflags, h.xloadflags, h.kernel_offset, h.kernel_size, h.init_size,
            h.pref_address, h.kernel_alignment, h.relocatable ? " relocatable" : "",
            h.cmdline_size, h.initrd_addr_max);
    CHECK(h.version >= 0x020c);
    CHECK(h.xloadflags & XLF_KERNEL_64);
    CHECK(h.relocatable);
    CHECK(h.init_size > h.kernel_size);
    CHECK(h.pref_address >= 0x100000 && IS_ALIGNED(h.pref_address, h.kernel_alignment));
    CHECK(h.kernel_alignment >= 0x200000);
    CHECK(h.cmdline_size >= 255);
    uint64_t R = 256 * MiB;
    uint8_t *ram = calloc(1, R);
    struct x86_entry e;
    struct x86_boot_info info;
    r = load(ram, R, k, (size_t)len, "console=ttyS0 earlyprintk=serial", initrd_data,
             sizeof(initrd_data), &e, &info, NULL);
    CHECK(r == 0);
    CHECK_U64(info.kernel_addr, h.pref_address);
    CHECK_U64(e.rip, h.pref_address + 0x200);
    CHECK(info.initrd_addr >= info.kernel_end);
    /* its vmlinux, unpacked here, through PVH */
    uint8_t *v;
    size_t vlen;
    r = x86_bzimage_unpack(k, (size_t)len, path, &v, &vlen, &err);
    if (err) {
        fprintf(stderr, "%s\n", err_msg(err));
        err_free(err);
        err = NULL;
    }
    CHECK(r == 0 || r == -ENOTSUP);
    if (r == 0) {
        memset(ram, 0, R);
        CHECK(load(ram, R, v, vlen, "console=ttyS0", initrd_data, sizeof(initrd_data), &e,
                   &info, NULL) == 0);
        fprintf(stderr, "%s unpacked: %zu bytes, PVH entry 0x%" PRIx64 "\n", path, vlen,
                info.entry);
        CHECK(info.pvh && vlen > h.kernel_size);
        munmap(v, vlen);
    }
    free(ram);
    free(k);
    free(path);
}

/* An ELF vmlinux (EMU_TEST_VMLINUX: e.g. the one inside Debian's bzImage,
 * as tests/kvm/run-in-testbed.sh extracts it) through PVH. */
static void test_real_vmlinux(void)
{
    const char *path = getenv("EMU_TEST_VMLINUX");
    if (!path || !*path)
        return;
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *k = malloc((size_t)len);
    CHECK(fread(k, 1, (size_t)len, f) == (size_t)len);
    fclose(f);
    uint64_t R = 256 * MiB;
    uint8_t *ram = calloc(1, R);
    struct x86_entry e;
    struct x86_boot_info info;
    struct error *err = NULL;
    CHECK(load(ram, R, k, (size_t)len, "console=ttyS0", initrd_data, sizeof(initrd_data), &e,
               &info, &err) == 0);
    if (err) {
        fprintf(stderr, "%s\n", err_msg(err));
        err_free(err);
    }
    fprintf(stderr, "%s: PVH entry 0x%" PRIx64 ", kernel 0x%" PRIx64 "..0x%" PRIx64 "\n", path,
            info.entry, info.kernel_addr, info.kernel_end);
    CHECK(info.pvh);
    CHECK(info.entry > info.kernel_addr && info.entry < info.kernel_end);
    CHECK_U64(rd(ram + X86_BOOT_PVH_INFO, 4), 0x336ec578);
    CHECK_U64(e.rbx, X86_BOOT_PVH_INFO);
    free(ram);
    free(k);
}

int main(void)
{
    test_bzimage_good();
    test_bzimage_broken();
    test_bzimage_fuzz();
    test_pvh_good();
    test_pvh_broken();
    test_unpack();
    test_kernel_cache();
    test_real_kernel();
    test_real_vmlinux();
    return unit_result();
}
