/* elf.c - loading a static or static-PIE riscv64 ELF executable and
 * building the initial stack (argc, argv, envp, auxv) the kernel would. */
#include <config.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "user.h"
#include "riscv/riscv.h"
#include "i18n.h"

#ifndef EM_RISCV
#define EM_RISCV 243
#endif

static int elf_prot(uint32_t pf)
{
    return ((pf & PF_R) ? PROT_READ : 0) | ((pf & PF_W) ? PROT_WRITE : 0) |
           ((pf & PF_X) ? PROT_EXEC : 0);
}

static int load_segments(struct user *u, int fd, const char *path, const Elf64_Ehdr *eh,
                         const Elf64_Phdr *ph, struct error **errp)
{
    struct guest_mem *m = &u->mem;
    uint64_t bias = eh->e_type == ET_DYN ? GUEST_PIE_BASE : 0;
    uint64_t max_end = 0;
    bool phdr_found = false;
    for (int i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *p = &ph[i];
        if (p->p_type == PT_INTERP)
            return err_set(errp, ENOEXEC,
                           _("'%s' is dynamically linked; only static executables are supported"),
                           path);
        if (p->p_type == PT_PHDR) {
            u->phdr = bias + p->p_vaddr;
            phdr_found = true;
        }
        if (p->p_type != PT_LOAD || p->p_memsz == 0)
            continue;
        uint64_t va = bias + p->p_vaddr;
        uint64_t start = ALIGN_DOWN(va, GUEST_PAGE);
        uint64_t end = ALIGN_UP(va + p->p_memsz, GUEST_PAGE);
        if (p->p_filesz > p->p_memsz || end <= start || !gmem_range_ok(m, start, end - start))
            return err_set(errp, ENOEXEC, _("'%s': bad program header"), path);
        int64_t r = gmem_map(m, start, end - start, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (r < 0)
            return err_set_errno(errp, (int)-r, _("'%s': cannot map a segment"), path);
        ssize_t n = pread(fd, g2h(m, va), p->p_filesz, (off_t)p->p_offset);
        if (n < 0 || (uint64_t)n != p->p_filesz)
            return err_set(errp, ENOEXEC, _("'%s': truncated file"), path);
        if (!phdr_found && p->p_offset == 0 && eh->e_phoff < p->p_filesz)
            u->phdr = va + eh->e_phoff;
        if (end > max_end)
            max_end = end;
    }
    for (int i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *p = &ph[i];
        if (p->p_type != PT_LOAD || p->p_memsz == 0)
            continue;
        uint64_t va = bias + p->p_vaddr;
        uint64_t start = ALIGN_DOWN(va, GUEST_PAGE);
        uint64_t end = ALIGN_UP(va + p->p_memsz, GUEST_PAGE);
        gmem_protect(m, start, end - start, elf_prot(p->p_flags));
    }
    u->load_bias = bias;
    u->entry = bias + eh->e_entry;
    u->phnum = eh->e_phnum;
    m->brk_start = m->brk_cur = m->brk_mapped = max_end;
    return 0;
}

static uint64_t push_bytes(struct user *u, uint64_t *sp, const void *data, size_t len)
{
    *sp -= len;
    memcpy(g2h(&u->mem, *sp), data, len);
    return *sp;
}

int elf_load(struct user *u, const char *path, char **argv, int argc, char **envp,
             const char *argv0, struct error **errp)
{
    CLEANUP_CLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set_errno(errp, errno, _("cannot open '%s'"), path);
    Elf64_Ehdr eh;
    if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
        memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
        return err_set(errp, ENOEXEC, _("'%s' is not an ELF file"), path);
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
        eh.e_machine != EM_RISCV || (eh.e_type != ET_EXEC && eh.e_type != ET_DYN))
        return err_set(errp, ENOEXEC, _("'%s' is not a riscv64 executable"), path);
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 64)
        return err_set(errp, ENOEXEC, _("'%s': bad program header"), path);
    Elf64_Phdr ph[64];
    size_t phsize = (size_t)eh.e_phnum * sizeof(Elf64_Phdr);
    if (pread(fd, ph, phsize, (off_t)eh.e_phoff) != (ssize_t)phsize)
        return err_set(errp, ENOEXEC, _("'%s': truncated file"), path);
    int r = load_segments(u, fd, path, &eh, ph, errp);
    if (r < 0)
        return r;

    /* the stack */
    struct guest_mem *m = &u->mem;
    uint64_t stack_lo = GUEST_STACK_TOP - GUEST_STACK_SIZE;
    int64_t sr = gmem_map(m, stack_lo, GUEST_STACK_SIZE, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (sr < 0)
        return err_set_errno(errp, (int)-sr, _("cannot map the guest stack"));
    /* a page with the signal-return trampoline: li a7, 139; ecall */
    uint64_t tramp = GUEST_STACK_TOP;
    if (gmem_map(m, tramp, GUEST_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) < 0)
        return err_set(errp, ENOMEM, _("cannot map the guest stack"));
    static const uint32_t tramp_code[2] = { 0x08b00893, 0x00000073 };
    memcpy(g2h(m, tramp), tramp_code, sizeof(tramp_code));
    gmem_protect(m, tramp, GUEST_PAGE, PROT_READ | PROT_EXEC);
    u->sigreturn_tramp = tramp;

    uint64_t sp = GUEST_STACK_TOP;
    int envc = 0;
    while (envp[envc])
        envc++;
    uint64_t execfn = push_bytes(u, &sp, path, strlen(path) + 1);
    uint64_t *env_addr = calloc((size_t)envc + 1, sizeof(uint64_t));
    uint64_t *arg_addr = calloc((size_t)argc + 1, sizeof(uint64_t));
    if (!env_addr || !arg_addr) {
        free(env_addr);
        free(arg_addr);
        return err_set(errp, ENOMEM, _("out of memory"));
    }
    for (int i = envc - 1; i >= 0; i--)
        env_addr[i] = push_bytes(u, &sp, envp[i], strlen(envp[i]) + 1);
    for (int i = argc - 1; i >= 0; i--) {
        const char *a = (i == 0 && argv0) ? argv0 : argv[i];
        arg_addr[i] = push_bytes(u, &sp, a, strlen(a) + 1);
    }
    uint8_t rnd[16];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        memset(rnd, 0x5a, sizeof(rnd));
    uint64_t at_random = push_bytes(u, &sp, rnd, sizeof(rnd));
    const char *plat = "riscv64";
    uint64_t at_platform = push_bytes(u, &sp, plat, strlen(plat) + 1);
    sp = ALIGN_DOWN(sp, 16);

    uint64_t hwcap = 0;
    static const struct { uint64_t ext; char letter; } caps[] = {
        { RV_EXT_I, 'I' }, { RV_EXT_M, 'M' }, { RV_EXT_A, 'A' }, { RV_EXT_F, 'F' },
        { RV_EXT_D, 'D' }, { RV_EXT_C, 'C' },
    };
    for (size_t i = 0; i < ARRAY_SIZE(caps); i++)
        if (u->cpu->features & caps[i].ext)
            hwcap |= UINT64_C(1) << (caps[i].letter - 'A');
    uint64_t auxv[][2] = {
        { AT_PHDR, u->phdr }, { AT_PHENT, sizeof(Elf64_Phdr) }, { AT_PHNUM, u->phnum },
        { AT_PAGESZ, GUEST_PAGE }, { AT_BASE, 0 }, { AT_FLAGS, 0 }, { AT_ENTRY, u->entry },
        { AT_UID, getuid() }, { AT_EUID, geteuid() }, { AT_GID, getgid() },
        { AT_EGID, getegid() }, { AT_HWCAP, hwcap }, { AT_CLKTCK, 100 },
        { AT_SECURE, 0 }, { AT_RANDOM, at_random }, { AT_EXECFN, execfn },
        { AT_PLATFORM, at_platform }, { AT_NULL, 0 },
    };
    size_t words = 1 + (size_t)argc + 1 + (size_t)envc + 1 + 2 * ARRAY_SIZE(auxv);
    sp -= words * 8;
    sp = ALIGN_DOWN(sp, 16);
    uint64_t *w = g2h(m, sp);
    size_t k = 0;
    w[k++] = (uint64_t)argc;
    for (int i = 0; i < argc; i++)
        w[k++] = arg_addr[i];
    w[k++] = 0;
    for (int i = 0; i < envc; i++)
        w[k++] = env_addr[i];
    w[k++] = 0;
    for (size_t i = 0; i < ARRAY_SIZE(auxv); i++) {
        w[k++] = auxv[i][0];
        w[k++] = auxv[i][1];
    }
    free(env_addr);
    free(arg_addr);
    u->cpu->x[2] = sp;
    u->cpu->pc = u->entry;
    return 0;
}
