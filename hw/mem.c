/* mem.c - a machine's guest-physical address space: a sorted table of
 * RAM, ROM and MMIO regions, and the checked ways into it.
 *
 * Every lookup takes (addr, len) from the guest and answers only when the
 * whole range lies inside one region; "inside" is computed as
 * off <= size && len <= size - off so that no sum can wrap.
 */
#include <config.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include "hw/hw.h"
#include "hw/mem.h"
#include "i18n.h"
#include "trace/hw.h"

/* Index of the region holding addr, or -1 (binary search on base). */
static int mem_index(const struct mem_map *m, uint64_t addr)
{
    int lo = 0, hi = m->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const struct mem_region *r = &m->r[mid];
        if (addr < r->base)
            hi = mid - 1;
        else if (addr - r->base >= r->size)
            lo = mid + 1;
        else
            return mid;
    }
    return -1;
}

const struct mem_region *mem_find(const struct mem_map *m, uint64_t addr)
{
    int i = mem_index(m, addr);
    return i < 0 ? NULL : &m->r[i];
}

/* The region holding all of [addr, addr + len), or NULL. */
static const struct mem_region *mem_find_range(const struct mem_map *m, uint64_t addr,
                                               uint64_t len)
{
    const struct mem_region *r = mem_find(m, addr);
    if (!r || len > r->size - (addr - r->base))
        return NULL;
    return r;
}

/* Insert a filled-in region, keeping the table sorted; refuse overlaps. */
static int mem_insert(struct mem_map *m, const struct mem_region *nr, struct error **errp)
{
    uint64_t last;
    if (nr->size == 0 || ADD_OVERFLOWS(nr->base, nr->size - 1, &last))
        return err_set(errp, EINVAL,
                       _("memory region '%s' at 0x%" PRIx64 " size 0x%" PRIx64
                         " does not fit the address space"), nr->name, nr->base, nr->size);
    if (m->n >= MEM_MAX_REGIONS)
        return err_set(errp, ENOSPC, _("too many memory regions (adding '%s')"), nr->name);
    int pos = 0;
    while (pos < m->n && m->r[pos].base < nr->base)
        pos++;
    /* Only the neighbours can overlap a sorted, overlap-free table. */
    const struct mem_region *prev = pos > 0 ? &m->r[pos - 1] : NULL;
    const struct mem_region *next = pos < m->n ? &m->r[pos] : NULL;
    const struct mem_region *clash = NULL;
    if (prev && nr->base - prev->base < prev->size)
        clash = prev;
    else if (next && next->base <= last)
        clash = next;
    if (clash)
        return err_set(errp, EEXIST,
                       _("memory region '%s' at 0x%" PRIx64 " size 0x%" PRIx64
                         " overlaps '%s' at 0x%" PRIx64 " size 0x%" PRIx64),
                       nr->name, nr->base, nr->size, clash->name, clash->base, clash->size);
    memmove(&m->r[pos + 1], &m->r[pos], (size_t)(m->n - pos) * sizeof(m->r[0]));
    m->r[pos] = *nr;
    m->n++;
    return 0;
}

int mem_add_ram(struct mem_map *m, const char *name, uint64_t base, uint64_t size,
                bool rom, struct error **errp)
{
    struct mem_region nr = {
        .name = name, .base = base, .size = size, .kind = rom ? MEM_ROM : MEM_RAM,
    };
    if (size == 0 || size > SIZE_MAX)
        return err_set(errp, EINVAL, _("memory region '%s': invalid size 0x%" PRIx64),
                       name, size);
    /* MAP_NORESERVE: a guest's -m 4G costs only the pages it touches.
     * The mapping starts on a 2 MiB boundary (as guest RAM bases do), so
     * that an accelerator can ask for transparent huge pages with the
     * host and guest addresses congruent (mem_ram_hugepages). */
    size_t align = size >= MEM_HUGE_SIZE ? MEM_HUGE_SIZE : 0;
    if (size > SIZE_MAX - align)
        return err_set(errp, EINVAL, _("memory region '%s': invalid size 0x%" PRIx64),
                       name, size);
    uint8_t *p = mmap(NULL, (size_t)size + align, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return err_set_errno(errp, errno,
                             _("cannot allocate %" PRIu64 " MiB for memory region '%s'"),
                             size >> 20, name);
    if (align) {
        size_t head = (size_t)(-(uintptr_t)p & (align - 1));
        if (head)
            munmap(p, head);
        if (align - head)
            munmap(p + head + size, align - head);
        p += head;
    }
    nr.host = p;
    int ret = mem_insert(m, &nr, errp);
    if (ret < 0)
        munmap(p, (size_t)size);
    return ret;
}

void mem_ram_hugepages(const struct mem_map *m)
{
    /* Where transparent huge pages are "madvise" only (Debian's default),
     * RAM without the advice is mapped 4 KiB at a time.  A hardware
     * accelerator then walks two levels of small pages, and under nested
     * virtualization every one of them costs exits: Linux's decompressor
     * alone took minutes.  Failure only loses the speed. */
    for (int i = 0; i < m->n; i++)
        if (m->r[i].kind == MEM_RAM && m->r[i].size >= MEM_HUGE_SIZE)
            madvise(m->r[i].host, (size_t)m->r[i].size, MADV_HUGEPAGE);
}

int mem_add_mmio(struct mem_map *m, const char *name, uint64_t base, uint64_t size,
                 const struct mmio_ops *ops, void *opaque, struct error **errp)
{
    struct mem_region nr = {
        .name = name, .base = base, .size = size, .kind = MEM_MMIO,
        .ops = ops, .opaque = opaque,
    };
    return mem_insert(m, &nr, errp);
}

void mem_map_free(struct mem_map *m)
{
    for (int i = 0; i < m->n; i++)
        if (m->r[i].host)
            munmap(m->r[i].host, (size_t)m->r[i].size);
    m->n = 0;
}

void *mem_ram_ptr(const struct mem_map *m, uint64_t addr, uint64_t len, bool rom_ok)
{
    const struct mem_region *r = mem_find_range(m, addr, len);
    if (!r || !(r->kind == MEM_RAM || (rom_ok && r->kind == MEM_ROM)))
        return NULL;
    return r->host + (addr - r->base);
}

int mem_write(const struct mem_map *m, uint64_t addr, const void *buf, size_t len)
{
    if (len == 0)
        return 0;
    void *p = mem_ram_ptr(m, addr, len, true);
    if (!p)
        return -EFAULT;
    memcpy(p, buf, len);
    return 0;
}

int mem_read(const struct mem_map *m, uint64_t addr, void *buf, size_t len)
{
    if (len == 0)
        return 0;
    void *p = mem_ram_ptr(m, addr, len, true);
    if (!p)
        return -EFAULT;
    memcpy(buf, p, len);
    return 0;
}

/* The MMIO region taking a whole access of SIZE at addr, or NULL. */
static const struct mem_region *mem_mmio_region(const struct mem_map *m, uint64_t addr,
                                                unsigned size)
{
    if (size != 1 && size != 2 && size != 4 && size != 8)
        return NULL;
    const struct mem_region *r = mem_find_range(m, addr, size);
    if (!r || r->kind != MEM_MMIO)
        return NULL;
    return r;
}

bool mem_mmio_read(const struct mem_map *m, uint64_t addr, unsigned size, uint64_t *val)
{
    const struct mem_region *r = mem_mmio_region(m, addr, size);
    *val = 0;
    if (!r || !r->ops->read)
        return false;
    hw_lock();
    bool ok = r->ops->read(r->opaque, addr - r->base, size, val);
    hw_unlock();
    if (!ok)
        *val = 0;
    else if (size < 8)
        *val &= (UINT64_C(1) << (size * 8)) - 1;
    trace_mmio_read(r->name, addr - r->base, size, *val);
    return ok;
}

bool mem_mmio_write(const struct mem_map *m, uint64_t addr, unsigned size, uint64_t val)
{
    const struct mem_region *r = mem_mmio_region(m, addr, size);
    if (!r || !r->ops->write)
        return false;
    if (size < 8)
        val &= (UINT64_C(1) << (size * 8)) - 1;
    trace_mmio_write(r->name, addr - r->base, size, val);
    hw_lock();
    bool ok = r->ops->write(r->opaque, addr - r->base, size, val);
    hw_unlock();
    return ok;
}
