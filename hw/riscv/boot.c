/* boot.c - loaders for RISC-V boot images: ELF64, Linux Image, raw.
 *
 * Every header field is distrusted: offsets and sizes are checked against
 * the file, destinations against the memory map, before anything is
 * copied.  ELF files are read whole (they are at most as large as guest
 * RAM); a Linux Image or a raw file is read straight into guest memory
 * (a kernel is tens of MiB: no buffer to fault in and copy from).
 */
#include <config.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "hw/riscv/boot.h"
#include "i18n.h"

#ifndef EM_RISCV
#define EM_RISCV 243
#endif

/* Open a regular file of at most max bytes: the fd, its size in *len. */
static int open_file(const char *path, uint64_t max, int *fdp, size_t *len, struct error **errp)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return err_set_errno(errp, errno, _("cannot open '%s'"), path);
    int ret = 0;
    if (fstat(fd, &st) < 0)
        ret = err_set_errno(errp, errno, _("cannot stat '%s'"), path);
    else if (!S_ISREG(st.st_mode))
        ret = err_set(errp, EINVAL, _("'%s' is not a regular file"), path);
    else if ((uint64_t)st.st_size > max || (uint64_t)st.st_size > SIZE_MAX)
        ret = err_set(errp, EFBIG,
                      _("'%s' is too large (%" PRIu64 " bytes, at most %" PRIu64 " fit)"),
                      path, (uint64_t)st.st_size, max);
    if (ret < 0) {
        close(fd);
        return ret;
    }
    *fdp = fd;
    *len = (size_t)st.st_size;
    return 0;
}

/* n bytes from the start of the file into dst (a file that shrank
 * meanwhile is an error). */
static int read_all(int fd, const char *path, uint8_t *dst, size_t n, struct error **errp)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, dst + done, n - done, (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return err_set_errno(errp, r < 0 ? errno : EIO, _("cannot read '%s'"), path);
        done += (size_t)r;
    }
    return 0;
}

int rv_read_file(const char *path, uint64_t max, uint8_t **buf, size_t *len,
                 struct error **errp)
{
    *buf = NULL;
    *len = 0;
    CLEANUP_CLOSE int fd = -1;
    size_t n;
    int ret = open_file(path, max, &fd, &n, errp);
    if (ret < 0)
        return ret;
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return err_set(errp, ENOMEM, _("out of memory reading '%s'"), path);
    ret = read_all(fd, path, b, n, errp);
    if (ret < 0) {
        free(b);
        return ret;
    }
    *buf = b;
    *len = n;
    return 0;
}

/* Is [addr, addr + len) all RAM or ROM?  The message names the file. */
static int check_dest(const struct mem_map *m, const char *path, uint64_t addr, uint64_t len,
                      struct error **errp)
{
    if (len == 0 || mem_ram_ptr(m, addr, len, true))
        return 0;
    return err_set(errp, ERANGE,
                   _("'%s': 0x%" PRIx64 " bytes at 0x%" PRIx64 " do not fit in guest memory"),
                   path, len, addr);
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static bool is_elf(const uint8_t *b, size_t n)
{
    return n >= SELFMAG && memcmp(b, ELFMAG, SELFMAG) == 0;
}

#define IMAGE_HEADER_SIZE 64
#define IMAGE_IMAGE_SIZE 0x10
#define IMAGE_MAGIC 0x30
#define IMAGE_MAGIC2 0x38

static bool is_linux_image(const uint8_t *b, size_t n)
{
    return n >= IMAGE_HEADER_SIZE && memcmp(b + IMAGE_MAGIC2, "RSC\x05", 4) == 0;
}

/* The largest file that could fit: all of RAM and ROM. */
static uint64_t load_max(const struct mem_map *m)
{
    uint64_t total = 0;
    for (int i = 0; i < m->n; i++)
        if (m->r[i].kind != MEM_MMIO)
            total += m->r[i].size;
    return total;
}

static int elf_put(const struct mem_map *m, const char *path, const uint8_t *b, size_t n,
                   struct rv_boot_image *out, struct error **errp)
{
    int ret;
    Elf64_Ehdr eh;
    if (n < sizeof(eh))
        return err_set(errp, EINVAL, _("'%s': truncated ELF header"), path);
    memcpy(&eh, b, sizeof(eh));
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
        eh.e_machine != EM_RISCV)
        return err_set(errp, EINVAL, _("'%s' is not a 64-bit little-endian RISC-V ELF"), path);
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phoff > n ||
        (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > n - eh.e_phoff)
        return err_set(errp, EINVAL, _("'%s': bad ELF program header table"), path);

    /* Check every segment before writing any. */
    uint64_t low = UINT64_MAX, high = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            memcpy(&ph, b + eh.e_phoff + i * sizeof(ph), sizeof(ph));
            if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
                continue;
            if (pass == 0) {
                if (ph.p_filesz > ph.p_memsz || ph.p_offset > n || ph.p_filesz > n - ph.p_offset)
                    return err_set(errp, EINVAL,
                                   _("'%s': ELF segment %u lies outside the file"), path, i);
                ret = check_dest(m, path, ph.p_paddr, ph.p_memsz, errp);
                if (ret < 0)
                    return ret;
                low = MIN(low, ph.p_paddr);
                high = MAX(high, ph.p_paddr + ph.p_memsz);
            } else {
                uint8_t *dst = mem_ram_ptr(m, ph.p_paddr, ph.p_memsz, true);
                memcpy(dst, b + ph.p_offset, ph.p_filesz);
                memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
            }
        }
    }
    if (high == 0)
        return err_set(errp, EINVAL, _("'%s': ELF file has nothing to load"), path);
    out->entry = eh.e_entry;
    out->low = low;
    out->high = high;
    return 0;
}

int rv_load_elf(const struct mem_map *m, const char *path, struct rv_boot_image *out,
                struct error **errp)
{
    CLEANUP_FREE uint8_t *b = NULL;
    size_t n;
    int ret = rv_read_file(path, load_max(m), &b, &n, errp);
    if (ret < 0)
        return ret;
    if (!is_elf(b, n))
        return err_set(errp, ENOEXEC, _("'%s' is not an ELF file"), path);
    return elf_put(m, path, b, n, out, errp);
}

/* The whole file (n bytes) at addr, claiming at least reserve bytes. */
static int put(const struct mem_map *m, const char *path, int fd, uint64_t addr, size_t n,
               uint64_t reserve, struct rv_boot_image *out, struct error **errp)
{
    uint64_t span = MAX((uint64_t)n, reserve);
    int ret = check_dest(m, path, addr, span, errp);
    if (ret < 0)
        return ret;
    uint8_t *dst = n ? mem_ram_ptr(m, addr, n, true) : NULL;
    if (n && !dst)
        return err_set(errp, ERANGE, _("'%s' does not fit in guest memory"), path);
    ret = read_all(fd, path, dst, n, errp);
    if (ret < 0)
        return ret;
    out->entry = addr;
    out->low = addr;
    out->high = addr + span;
    return 0;
}

enum load_kind { LOAD_ANY, LOAD_RAW, LOAD_IMAGE };

static int load(const struct mem_map *m, const char *path, uint64_t addr, enum load_kind kind,
                struct rv_boot_image *out, struct error **errp)
{
    CLEANUP_CLOSE int fd = -1;
    size_t n;
    int ret = open_file(path, load_max(m), &fd, &n, errp);
    if (ret < 0)
        return ret;
    uint8_t head[IMAGE_HEADER_SIZE];
    size_t nh = MIN(n, sizeof(head));
    ret = read_all(fd, path, head, nh, errp);
    if (ret < 0)
        return ret;
    if (kind == LOAD_ANY && is_elf(head, nh)) {
        CLEANUP_FREE uint8_t *b = malloc(n);
        if (!b)
            return err_set(errp, ENOMEM, _("out of memory reading '%s'"), path);
        ret = read_all(fd, path, b, n, errp);
        return ret < 0 ? ret : elf_put(m, path, b, n, out, errp);
    }
    bool image = is_linux_image(head, nh);
    if (kind == LOAD_IMAGE && !image)
        return err_set(errp, ENOEXEC, _("'%s' is not a Linux RISC-V Image"), path);
    if (kind == LOAD_RAW || !image)
        return put(m, path, fd, addr, n, 0, out, errp);
    /* The header's image_size: how much memory the kernel claims from its
     * load address (0 in old headers: then the file size). */
    if (!IS_ALIGNED(addr, UINT64_C(2) << 20))
        return err_set(errp, EINVAL,
                       _("'%s': a Linux Image must be loaded 2 MiB aligned (not 0x%" PRIx64 ")"),
                       path, addr);
    return put(m, path, fd, addr, n, le64(head + IMAGE_IMAGE_SIZE), out, errp);
}

int rv_load_raw(const struct mem_map *m, const char *path, uint64_t addr,
                struct rv_boot_image *out, struct error **errp)
{
    return load(m, path, addr, LOAD_RAW, out, errp);
}


int rv_load_linux_image(const struct mem_map *m, const char *path, uint64_t addr,
                        struct rv_boot_image *out, struct error **errp)
{
    return load(m, path, addr, LOAD_IMAGE, out, errp);
}

int rv_load_any(const struct mem_map *m, const char *path, uint64_t addr,
                struct rv_boot_image *out, struct error **errp)
{
    return load(m, path, addr, LOAD_ANY, out, errp);
}
