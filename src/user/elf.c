/* elf.c - loading a riscv64 ELF program the way the kernel's binfmt_elf
 * and binfmt_script do: static, static-PIE and dynamic executables (the
 * interpreter named by PT_INTERP, the guest's ld.so, is loaded next to it),
 * "#!" scripts, and the initial stack (argc, argv, envp, auxv). */
#include <config.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

/* What one loaded image (the program or its interpreter) looks like. */
struct elf_image {
    uint64_t bias, entry, phdr, phnum, end;
    char interp[PATH_MAX];
    bool has_interp;
};

static int elf_prot(uint32_t pf)
{
    return ((pf & PF_R) ? PROT_READ : 0) | ((pf & PF_W) ? PROT_WRITE : 0) |
           ((pf & PF_X) ? PROT_EXEC : 0);
}

int elf_check_header(const void *ehdr)
{
    const Elf64_Ehdr *eh = ehdr;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
        return -1;
    if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
        eh->e_machine != EM_RISCV || (eh->e_type != ET_EXEC && eh->e_type != ET_DYN))
        return -2;
    return 0;
}

/* Map one image.  ET_DYN images go where the whole span fits: the
 * program at GUEST_PIE_BASE, an interpreter in the mmap area. */
static int load_image(struct user *u, int fd, const char *path, bool is_interp,
                      struct elf_image *img, struct error **errp)
{
    struct guest_mem *m = &u->mem;
    Elf64_Ehdr eh;
    if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
        memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
        return err_set(errp, ENOEXEC, _("'%s' is not an ELF file"), path);
    if (elf_check_header(&eh) < 0)
        return err_set(errp, ENOEXEC, _("'%s' is not a riscv64 executable"), path);
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 64)
        return err_set(errp, ENOEXEC, _("'%s': bad program header"), path);
    Elf64_Phdr ph[64];
    size_t phsize = (size_t)eh.e_phnum * sizeof(Elf64_Phdr);
    if (pread(fd, ph, phsize, (off_t)eh.e_phoff) != (ssize_t)phsize)
        return err_set(errp, ENOEXEC, _("'%s': truncated file"), path);

    uint64_t lo = UINT64_MAX, hi = 0, align = GUEST_PAGE;
    memset(img, 0, sizeof(*img));
    for (int i = 0; i < eh.e_phnum; i++) {
        const Elf64_Phdr *p = &ph[i];
        if (p->p_type == PT_INTERP && !is_interp) {
            if (p->p_filesz < 2 || p->p_filesz >= sizeof(img->interp) ||
                pread(fd, img->interp, p->p_filesz, (off_t)p->p_offset) != (ssize_t)p->p_filesz)
                return err_set(errp, ENOEXEC, _("'%s': bad program header"), path);
            img->interp[p->p_filesz] = 0;
            img->has_interp = true;
        }
        if (p->p_type != PT_LOAD || p->p_memsz == 0)
            continue;
        if (p->p_filesz > p->p_memsz || p->p_vaddr + p->p_memsz < p->p_vaddr ||
            p->p_vaddr >= m->size)
            return err_set(errp, ENOEXEC, _("'%s': bad program header"), path);
        lo = MIN(lo, ALIGN_DOWN(p->p_vaddr, GUEST_PAGE));
        hi = MAX(hi, ALIGN_UP(p->p_vaddr + p->p_memsz, GUEST_PAGE));
        if (p->p_align > align && p->p_align <= (1u << 21) && !(p->p_align & (p->p_align - 1)))
            align = p->p_align;
    }
    if (hi == 0 || hi - lo > m->size)
        return err_set(errp, ENOEXEC, _("'%s': bad program header"), path);
    uint64_t bias = 0;
    if (eh.e_type == ET_DYN) {
        uint64_t span = hi - lo;
        uint64_t want = is_interp ? 0 : GUEST_PIE_BASE;
        uint64_t at = gmem_find_free(m, want, span + align);
        if (!at)
            return err_set(errp, ENOMEM, _("'%s': no room in the guest address space"), path);
        bias = ALIGN_UP(at, align) - lo;
    } else if (!gmem_range_ok(m, lo, hi - lo)) {
        return err_set(errp, ENOEXEC, _("'%s': bad program header"), path);
    }

    bool phdr_found = false;
    for (int i = 0; i < eh.e_phnum; i++) {
        const Elf64_Phdr *p = &ph[i];
        if (p->p_type == PT_PHDR) {
            img->phdr = bias + p->p_vaddr;
            phdr_found = true;
        }
        if (p->p_type != PT_LOAD || p->p_memsz == 0)
            continue;
        uint64_t va = bias + p->p_vaddr;
        uint64_t start = ALIGN_DOWN(va, GUEST_PAGE);
        uint64_t end = ALIGN_UP(va + p->p_memsz, GUEST_PAGE);
        uint64_t file_end = va + p->p_filesz;
        int64_t r;
        if (p->p_filesz && (p->p_vaddr & (GUEST_PAGE - 1)) == (p->p_offset & (GUEST_PAGE - 1))) {
            /* file pages mapped privately, as the kernel does: shared
             * with the page cache until written */
            uint64_t fmap_end = ALIGN_UP(file_end, GUEST_PAGE);
            r = gmem_map(m, start, fmap_end - start, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd,
                         ALIGN_DOWN(p->p_offset, GUEST_PAGE));
            if (r < 0)
                return err_set_errno(errp, (int)-r, _("'%s': cannot map a segment"), path);
            if (fmap_end > file_end && p->p_memsz > p->p_filesz)
                memset(g2h(m, file_end), 0, fmap_end - file_end);   /* the bss start */
            if (end > fmap_end)
                r = gmem_map(m, fmap_end, end - fmap_end, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        } else {
            r = gmem_map(m, start, end - start, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (r >= 0 && p->p_filesz) {
                ssize_t n = pread(fd, g2h(m, va), p->p_filesz, (off_t)p->p_offset);
                if (n < 0 || (uint64_t)n != p->p_filesz)
                    return err_set(errp, ENOEXEC, _("'%s': truncated file"), path);
            }
        }
        if (r < 0)
            return err_set_errno(errp, (int)-r, _("'%s': cannot map a segment"), path);
        if (!phdr_found && p->p_offset == 0 && eh.e_phoff < p->p_filesz)
            img->phdr = va + eh.e_phoff;
    }
    for (int i = 0; i < eh.e_phnum; i++) {
        const Elf64_Phdr *p = &ph[i];
        if (p->p_type != PT_LOAD || p->p_memsz == 0)
            continue;
        uint64_t va = bias + p->p_vaddr;
        uint64_t start = ALIGN_DOWN(va, GUEST_PAGE);
        uint64_t end = ALIGN_UP(va + p->p_memsz, GUEST_PAGE);
        gmem_protect(m, start, end - start, elf_prot(p->p_flags));
    }
    img->bias = bias;
    img->entry = bias + eh.e_entry;
    img->phnum = eh.e_phnum;
    img->end = bias + hi;
    return 0;
}

static uint64_t push_bytes(struct user *u, uint64_t *sp, const void *data, size_t len)
{
    *sp -= len;
    memcpy(g2h(&u->mem, *sp), data, len);
    return *sp;
}

/* "#!interpreter [one argument]": the new argument vector is the
 * interpreter, its argument, the script's path, then argv[1...]. */
static int script_args(const char *path, const char *line, char ***out_argv, int *out_argc,
                       char **argv, int argc, char **interp, struct error **errp)
{
    const char *s = line + 2;
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strcspn(s, " \t\n");
    if (n == 0)
        return err_set(errp, ENOEXEC, _("'%s': empty interpreter line"), path);
    const char *ips = s;
    s += n;
    while (*s == ' ' || *s == '\t')
        s++;
    size_t an = strcspn(s, "\n");
    while (an && (s[an - 1] == ' ' || s[an - 1] == '\t'))
        an--;
    char *ip = malloc(n + 1 + an + 1);
    char **nv = calloc((size_t)argc + 3, sizeof(*nv));
    if (!ip || !nv) {
        free(ip);
        free(nv);
        return err_set(errp, ENOMEM, _("out of memory"));
    }
    memcpy(ip, ips, n);
    ip[n] = 0;
    char *arg = NULL;
    if (an) {
        arg = ip + n + 1;
        memcpy(arg, s, an);
        arg[an] = 0;
    }
    int k = 0;
    nv[k++] = ip;
    if (arg)
        nv[k++] = arg;
    nv[k++] = (char *)path;
    for (int i = 1; i < argc; i++)
        nv[k++] = argv[i];
    nv[k] = NULL;
    *out_argv = nv;
    *out_argc = k;
    *interp = ip;
    return 0;
}

/* Argument vectors made for scripts, freed when loading is over. */
struct script_args_list {
    char **v[5];
    int n;
};

static int elf_load_inner(struct user *u, const char *path, char **argv, int argc, char **envp,
                          const char *argv0, struct script_args_list *sl, struct error **errp);

int elf_load(struct user *u, const char *path, char **argv, int argc, char **envp,
             const char *argv0, struct error **errp)
{
    struct script_args_list sl = { .n = 0 };
    int r = elf_load_inner(u, path, argv, argc, envp, argv0, &sl, errp);
    for (int i = 0; i < sl.n; i++) {
        /* the interpreter and its argument are ours; the rest is borrowed */
        free(sl.v[i][0]);      /* the interpreter and its argument: one block */
        free(sl.v[i]);
    }
    return r;
}

static int elf_load_inner(struct user *u, const char *path, char **argv, int argc, char **envp,
                          const char *argv0, struct script_args_list *sl, struct error **errp)
{
    char pbuf[PATH_MAX];
    const char *open_path = path;
    int fd = -1;
    /* scripts may name scripts, up to a depth like the kernel's */
    for (int depth = 0;; depth++) {
        fd = open(open_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return err_set_errno(errp, errno, _("cannot open '%s'"), path);
        char head[256];
        ssize_t hn = pread(fd, head, sizeof(head) - 1, 0);
        if (hn < 2 || head[0] != '#' || head[1] != '!')
            break;
        head[hn] = 0;
        close(fd);
        if (depth >= 4)
            return err_set(errp, ELOOP, _("'%s': too many levels of interpreters"), path);
        char *interp = NULL;
        int r = script_args(path, head, &argv, &argc, argv, argc, &interp, errp);
        if (r < 0)
            return r;
        sl->v[sl->n++] = argv;
        argv0 = NULL;
        path = interp;
        open_path = user_path(u, interp, pbuf, sizeof(pbuf));
    }
    char real[PATH_MAX];
    u->exe_path = strdup(realpath(open_path, real) ? real : open_path);

    struct elf_image prog, interp;
    int r = load_image(u, fd, path, false, &prog, errp);
    close(fd);
    if (r < 0)
        return r;
    struct guest_mem *m = &u->mem;
    m->brk_start = m->brk_cur = m->brk_mapped = prog.end;
    uint64_t entry = prog.entry, base = 0;
    if (prog.has_interp) {
        const char *ip = user_path(u, prog.interp, pbuf, sizeof(pbuf));
        int ifd = open(ip, O_RDONLY | O_CLOEXEC);
        if (ifd < 0)
            return err_set_errno(errp, errno,
                                 _("cannot open the program interpreter '%s' of '%s' (try -L)"),
                                 prog.interp, path);
        r = load_image(u, ifd, prog.interp, true, &interp, errp);
        close(ifd);
        if (r < 0)
            return r;
        entry = interp.entry;
        base = interp.bias;
    }
    u->load_bias = prog.bias;
    u->entry = prog.entry;
    u->phdr = prog.phdr;
    u->phnum = prog.phnum;

    /* the stack */
    uint64_t stack_lo = GUEST_STACK_TOP - GUEST_STACK_SIZE;
    int64_t sr = gmem_map(m, stack_lo, GUEST_STACK_SIZE, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (sr < 0)
        return err_set_errno(errp, (int)-sr, _("cannot map the guest stack"));
    u->stack_lo = stack_lo;
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
    u->args_lo = sp;
    u->args_hi = envc ? env_addr[0] : execfn;   /* argv strings end where env begins */
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
        { AT_PAGESZ, GUEST_PAGE }, { AT_BASE, base }, { AT_FLAGS, 0 }, { AT_ENTRY, u->entry },
        { AT_UID, getuid() }, { AT_EUID, geteuid() }, { AT_GID, getgid() },
        { AT_EGID, getegid() }, { AT_HWCAP, hwcap }, { AT_CLKTCK, 100 },
        { AT_SECURE, 0 }, { AT_RANDOM, at_random }, { AT_HWCAP2, 0 }, { AT_EXECFN, execfn },
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
    _Static_assert(sizeof(auxv) <= sizeof(u->auxv), "room for the auxiliary vector");
    memcpy(u->auxv, auxv, sizeof(auxv));
    u->auxv_len = sizeof(auxv);
    for (size_t i = 0; i < ARRAY_SIZE(auxv); i++) {
        w[k++] = auxv[i][0];
        w[k++] = auxv[i][1];
    }
    free(env_addr);
    free(arg_addr);
    u->cpu->x[2] = sp;
    u->cpu->pc = entry;
    return 0;
}
