/* mem.c - the guest address space of emu-user-riscv64 (see user.h). */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "user.h"
#include "i18n.h"

int gmem_init(struct guest_mem *m, struct error **errp)
{
    memset(m, 0, sizeof(*m));
    /* One reservation, placed by the kernel: works next to ASan's shadow
     * and needs no fixed host address.  PROT_NONE + NORESERVE costs no
     * memory; guest mappings replace parts of it with MAP_FIXED. */
    void *p = mmap(NULL, GUEST_SPACE, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return err_set_errno(errp, errno,
                             _("cannot reserve %llu GiB of address space for the guest"),
                             (unsigned long long)(GUEST_SPACE >> 30));
    m->base = p;
    m->size = GUEST_SPACE;
    /* one bit per page; untouched parts of the bitmap cost nothing */
    void *bits = mmap(NULL, GUEST_SPACE / GUEST_PAGE / 8, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (bits == MAP_FAILED) {
        munmap(p, GUEST_SPACE);
        return err_set_errno(errp, errno, _("cannot reserve %llu GiB of address space for the guest"),
                             (unsigned long long)(GUEST_SPACE >> 30));
    }
    m->code_bits = bits;
    return 0;
}

void gmem_free(struct guest_mem *m)
{
    if (m->base)
        munmap(m->base, m->size);
    if (m->code_bits)
        munmap(m->code_bits, GUEST_SPACE / GUEST_PAGE / 8);
    free(m->vmas);
    free(m->code_pages);
    for (size_t i = 0; i < m->n_names; i++)
        free(m->names[i]);
    free(m->names);
    memset(m, 0, sizeof(*m));
}

/* Piece [start, end) of V: the same file attributes, its offset moved on. */
static struct vma vma_piece(const struct vma *v, uint64_t start, uint64_t end, int prot)
{
    struct vma p = *v;
    p.start = start;
    p.end = end;
    p.prot = prot;
    if (p.name)
        p.off = v->off + (start - v->start);
    return p;
}

/* Make [start, end) one vma with protection PROT and the file attributes
 * of ATTR (NULL: anonymous; ATTR->off is the offset at START), or remove
 * it from the list (prot < 0). */
static int vma_set(struct guest_mem *m, uint64_t start, uint64_t end, int prot,
                   const struct vma *attr)
{
    /* worst case: one split into three plus the new one */
    if (m->n_vmas + 3 > m->cap_vmas) {
        size_t cap = m->cap_vmas ? 2 * m->cap_vmas : 64;
        struct vma *n = realloc(m->vmas, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        m->vmas = n;
        m->cap_vmas = cap;
    }
    struct vma *out = malloc((m->n_vmas + 3) * sizeof(*out));
    if (!out)
        return -ENOMEM;
    struct vma nv = attr ? *attr : (struct vma){ 0 };
    nv.start = start;
    nv.end = end;
    nv.prot = prot;
    size_t k = 0;
    bool placed = false;
    for (size_t i = 0; i < m->n_vmas; i++) {
        struct vma v = m->vmas[i];
        if (!placed && prot >= 0 && v.start >= start) {
            out[k++] = nv;
            placed = true;
        }
        if (v.end <= start || v.start >= end) {
            out[k++] = v;
            continue;
        }
        if (v.start < start)
            out[k++] = vma_piece(&v, v.start, start, v.prot);
        if (!placed && prot >= 0) {
            out[k++] = nv;
            placed = true;
        }
        if (v.end > end)
            out[k++] = vma_piece(&v, end, v.end, v.prot);
    }
    if (!placed && prot >= 0)
        out[k++] = nv;
    memcpy(m->vmas, out, k * sizeof(*out));
    m->n_vmas = k;
    m->last = 0;
    free(out);
    return 0;
}

/* NAME once in m->names (so vmas can share it); NULL when out of memory. */
static const char *name_intern(struct guest_mem *m, const char *name)
{
    for (size_t i = 0; i < m->n_names; i++)
        if (strcmp(m->names[i], name) == 0)
            return m->names[i];
    if (m->n_names == m->cap_names) {
        size_t cap = m->cap_names ? 2 * m->cap_names : 16;
        char **n = realloc(m->names, cap * sizeof(*n));
        if (!n)
            return NULL;
        m->names = n;
        m->cap_names = cap;
    }
    char *d = strdup(name);
    if (d)
        m->names[m->n_names++] = d;
    return d;
}

/* File attributes of a mapping of host descriptor FD at OFF, as the guest
 * would see them in /proc/self/maps (paths inside the sysroot without it).
 * False: not a file we can name (the mapping then shows as anonymous). */
static bool file_attr(struct guest_mem *m, int fd, uint64_t off, struct vma *a)
{
    struct stat st;
    char link[64], path[4096];
    if (fd < 0 || fstat(fd, &st) < 0)
        return false;
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof(path) - 1);
    if (n <= 0)
        return false;
    path[n] = 0;
    const char *name = path;
    size_t sl = m->sysroot ? strlen(m->sysroot) : 0;
    if (sl && strncmp(path, m->sysroot, sl) == 0 && path[sl] == '/')
        name = path + sl;
    memset(a, 0, sizeof(*a));
    a->name = name_intern(m, name);
    if (!a->name)
        return false;
    a->off = off;
    a->ino = (uint64_t)st.st_ino;
    a->dev_major = major(st.st_dev);
    a->dev_minor = minor(st.st_dev);
    return true;
}

const struct vma *gmem_find(struct guest_mem *m, uint64_t addr)
{
    if (m->last < m->n_vmas && m->vmas[m->last].start <= addr && addr < m->vmas[m->last].end)
        return &m->vmas[m->last];
    size_t lo = 0, hi = m->n_vmas;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->vmas[mid].end <= addr)
            lo = mid + 1;
        else if (m->vmas[mid].start > addr)
            hi = mid;
        else {
            m->last = mid;
            return &m->vmas[mid];
        }
    }
    return NULL;
}

int gmem_fetch16(void *opaque, uint64_t pc)
{
    struct guest_mem *m = opaque;
    const struct vma *v = gmem_find(m, pc);
    if (!v || !(v->prot & PROT_EXEC) || pc + 2 > v->end)
        return -1;
    uint16_t h;
    memcpy(&h, m->base + pc, 2);
    return h;
}

static int host_prot(int prot)
{
    int p = prot & (PROT_READ | PROT_WRITE);
    if (prot & PROT_EXEC)
        p |= PROT_READ;     /* we read guest code; the host never runs it */
    return p;
}

int64_t gmem_map(struct guest_mem *m, uint64_t addr, uint64_t len, int prot, int flags,
                 int fd, uint64_t off)
{
    if (!gmem_range_ok(m, addr, len) || (addr & (GUEST_PAGE - 1)))
        return -ENOMEM;
    int hflags = (flags & (MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
                           MAP_POPULATE)) | MAP_FIXED;
    void *p = mmap(m->base + addr, len, host_prot(prot), hflags, fd, (off_t)off);
    if (p == MAP_FAILED)
        return -errno;
    /* Anonymous data (heaps, arrays): transparent huge pages cut the TLB
     * misses of memory-bound guests.  Small mappings too: neighbours merge
     * into one host mapping, which then holds whole huge pages.  Not
     * reservations (the stack): a huge page there costs start-up time
     * for little gain.  Only a hint; failure is fine. */
    if ((flags & MAP_ANONYMOUS) && !(flags & (MAP_SHARED | MAP_NORESERVE)) && (prot & PROT_WRITE))
        (void)madvise(p, len, MADV_HUGEPAGE);
    struct vma attr;
    bool named = !(flags & MAP_ANONYMOUS) && file_attr(m, fd, off, &attr);
    int r = vma_set(m, addr, addr + ALIGN_UP(len, GUEST_PAGE), prot, named ? &attr : NULL);
    if (r < 0)
        return r;
    return (int64_t)addr;
}

int gmem_map_record(struct guest_mem *m, uint64_t addr, uint64_t len, int prot,
                    const struct vma *from)
{
    return vma_set(m, addr, addr + ALIGN_UP(len, GUEST_PAGE), prot, from);
}

uint64_t gmem_find_free(struct guest_mem *m, uint64_t hint, uint64_t len)
{
    len = ALIGN_UP(len, GUEST_PAGE);
    uint64_t lo = GUEST_MMAP_BASE, hi = GUEST_STACK_TOP - GUEST_STACK_SIZE - (1u << 20);
    if (hint && hint >= GUEST_PAGE && gmem_range_ok(m, hint, len)) {
        hint = ALIGN_DOWN(hint, GUEST_PAGE);
        bool free_ = true;
        for (size_t i = 0; i < m->n_vmas && free_; i++)
            if (m->vmas[i].start < hint + len && m->vmas[i].end > hint)
                free_ = false;
        if (free_)
            return hint;
    }
    uint64_t cand = lo;
    for (size_t i = 0; i < m->n_vmas; i++) {
        const struct vma *v = &m->vmas[i];
        if (v->end <= cand)
            continue;
        if (v->start >= cand + len)
            break;
        cand = ALIGN_UP(v->end, GUEST_PAGE);
    }
    return cand + len <= hi ? cand : 0;
}

int gmem_unmap(struct guest_mem *m, uint64_t addr, uint64_t len)
{
    len = ALIGN_UP(len, GUEST_PAGE);
    if (!gmem_range_ok(m, addr, len) || (addr & (GUEST_PAGE - 1)))
        return -EINVAL;
    void *p = mmap(m->base + addr, len, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED)
        return -errno;
    return vma_set(m, addr, addr + len, -1, NULL);
}

int gmem_protect(struct guest_mem *m, uint64_t addr, uint64_t len, int prot)
{
    len = ALIGN_UP(len, GUEST_PAGE);
    if (!gmem_range_ok(m, addr, len) || (addr & (GUEST_PAGE - 1)))
        return -EINVAL;
    /* every page must be mapped */
    for (uint64_t a = addr; a < addr + len;) {
        const struct vma *v = gmem_find(m, a);
        if (!v)
            return -ENOMEM;
        a = v->end;
    }
    if (mprotect(m->base + addr, len, host_prot(prot)) < 0)
        return -errno;
    /* rewrite the covered pieces one by one: each keeps its file */
    for (uint64_t a = addr; a < addr + len;) {
        const struct vma *v = gmem_find(m, a);
        if (!v)
            return -ENOMEM;
        uint64_t e = MIN(v->end, addr + len);
        struct vma piece = vma_piece(v, a, e, prot);
        int r = vma_set(m, a, e, prot, &piece);
        if (r < 0)
            return r;
        a = e;
    }
    return 0;
}

void gmem_code_translated(void *opaque, uint64_t start, uint64_t end)
{
    struct guest_mem *m = opaque;
    for (uint64_t pg = ALIGN_DOWN(start, GUEST_PAGE); pg < end; pg += GUEST_PAGE) {
        uint64_t n = pg / GUEST_PAGE;
        if (!gmem_range_ok(m, pg, GUEST_PAGE) || (m->code_bits[n / 8] & (1u << (n % 8))))
            continue;
        const struct vma *v = gmem_find(m, pg);
        if (!v || !(v->prot & PROT_WRITE))
            continue;           /* read-only code cannot change under us */
        if (m->n_code_pages == m->cap_code_pages) {
            size_t cap = m->cap_code_pages ? 2 * m->cap_code_pages : 64;
            uint64_t *np = realloc(m->code_pages, cap * sizeof(*np));
            if (!np)
                return;         /* unprotected: only fence.i will be seen */
            m->code_pages = np;
            m->cap_code_pages = cap;
        }
        if (mprotect(m->base + pg, GUEST_PAGE, host_prot(v->prot & ~PROT_WRITE)) < 0)
            continue;
        m->code_pages[m->n_code_pages++] = pg;
        m->code_bits[n / 8] |= (uint8_t)(1u << (n % 8));
    }
}

void gmem_code_flushed(void *opaque)
{
    struct guest_mem *m = opaque;
    for (size_t i = 0; i < m->n_code_pages; i++) {
        uint64_t pg = m->code_pages[i], n = pg / GUEST_PAGE;
        m->code_bits[n / 8] &= (uint8_t)~(1u << (n % 8));
        const struct vma *v = gmem_find(m, pg);
        if (v)
            mprotect(m->base + pg, GUEST_PAGE, host_prot(v->prot));
    }
    m->n_code_pages = 0;
}

bool gmem_is_code_page(void *opaque, uint64_t addr)
{
    struct guest_mem *m = opaque;
    if (addr >= m->size)
        return false;
    uint64_t n = addr / GUEST_PAGE;
    return (m->code_bits[n / 8] >> (n % 8)) & 1;
}
