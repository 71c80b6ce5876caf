/* mem.h - a machine's guest-physical address space.
 *
 * A flat, sorted table of non-overlapping regions.  RAM and ROM regions
 * are host memory (one anonymous mapping each); MMIO regions are a
 * device's callbacks.  The translator reaches RAM directly through its
 * TLB; everything else comes here.
 *
 * Guest addresses are untrusted: every helper checks that the whole
 * access lies inside one region (no overflow), and devices reach guest
 * RAM only through mem_ram_ptr()/mem_read()/mem_write(), never through a
 * raw pointer computed from a guest value.
 */
#ifndef EMU_HW_MEM_H
#define EMU_HW_MEM_H

#include "common.h"
#include "error.h"

/* MMIO callbacks.  off is relative to the region's base; size is 1, 2, 4
 * or 8 and off + size <= region size (the core checks).  Called with the
 * device lock held, from a hart thread.  Return false when the device
 * does not take the access (a size or offset it does not decode): the
 * hart then raises an access fault, as a bus error would. */
struct mmio_ops {
    bool (*read)(void *opaque, uint64_t off, unsigned size, uint64_t *val);
    bool (*write)(void *opaque, uint64_t off, unsigned size, uint64_t val);
};

enum mem_kind { MEM_RAM, MEM_ROM, MEM_MMIO };

struct mem_region {
    const char *name;
    uint64_t base, size;
    enum mem_kind kind;
    uint8_t *host;                  /* RAM/ROM: host address of base */
    const struct mmio_ops *ops;     /* MMIO */
    void *opaque;
};

#define MEM_MAX_REGIONS 64

struct mem_map {
    struct mem_region r[MEM_MAX_REGIONS];   /* sorted by base */
    int n;
    /* The accelerator's hook for device writes to RAM (mem_dma_written). */
    void (*dma_written)(void *opaque, uint64_t addr, uint64_t len);
    void *dma_opaque;
};

/* Add a region; fails (with a message naming both) if it overlaps one
 * already there.  RAM and ROM are allocated zeroed here and freed by
 * mem_map_free(). */
int mem_add_ram(struct mem_map *m, const char *name, uint64_t base, uint64_t size,
                bool rom, struct error **errp);
/* Transparent huge pages for every RAM region of 2 MiB or more (an
 * accelerator that maps RAM into a VM calls it). */
#define MEM_HUGE_SIZE ((size_t)2 << 20)
void mem_ram_hugepages(const struct mem_map *m);
int mem_add_mmio(struct mem_map *m, const char *name, uint64_t base, uint64_t size,
                 const struct mmio_ops *ops, void *opaque, struct error **errp);
void mem_map_free(struct mem_map *m);

/* The region holding addr, or NULL. */
const struct mem_region *mem_find(const struct mem_map *m, uint64_t addr);

/* Host pointer for [addr, addr + len) when it lies inside one RAM (or,
 * if rom_ok, ROM) region; NULL otherwise. */
void *mem_ram_ptr(const struct mem_map *m, uint64_t addr, uint64_t len, bool rom_ok);

/* Copy to/from guest RAM (loaders write ROM too).  -EFAULT when the range
 * is not inside RAM/ROM. */
int mem_write(const struct mem_map *m, uint64_t addr, const void *buf, size_t len);
int mem_read(const struct mem_map *m, uint64_t addr, void *buf, size_t len);

/* A device wrote [addr, addr + len) of guest RAM through a host pointer
 * (DMA): the accelerator drops what it derived from those bytes (the
 * translator's code from those pages).  Call before the guest can learn
 * of the write (before the used ring says so); any thread, with or
 * without the device lock. */
static inline void mem_dma_written(const struct mem_map *m, uint64_t addr, uint64_t len)
{
    if (m->dma_written && len)
        m->dma_written(m->dma_opaque, addr, len);
}

/* One MMIO access (size 1/2/4/8) at a physical address; takes the device
 * lock.  false: no device there or the device refused it. */
bool mem_mmio_read(const struct mem_map *m, uint64_t addr, unsigned size, uint64_t *val);
bool mem_mmio_write(const struct mem_map *m, uint64_t addr, unsigned size, uint64_t val);

#endif
