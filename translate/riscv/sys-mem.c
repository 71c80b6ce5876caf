/* sys-mem.c - what translated code cannot do through its TLB: the slow
 * paths of loads and stores (TLB misses, device memory, pages holding
 * code, accesses crossing a page), atomics, and instruction fetch.
 *
 * Every path checks the whole access against the memory map: a guest
 * address that is not RAM/ROM or a device becomes an access fault, never
 * a host access.
 */
#include <config.h>

#include <string.h>

#include "riscv/sys-int.h"
#include "log.h"

/* The hart whose thread this is: instruction fetch during translation
 * has no cpu argument. */
static __thread struct rv_hart *rv_self;

static int fault_cause(int acc, bool misaligned)
{
    if (misaligned)
        return acc == RV_ACC_STORE ? RV_EXC_STORE_MISALIGNED : RV_EXC_LOAD_MISALIGNED;
    return acc == RV_ACC_STORE ? RV_EXC_STORE_ACCESS : RV_EXC_LOAD_ACCESS;
}

/* One access inside one page.  0, or an exception cause. */
static int access_one(struct rv_hart *h, uint64_t va, int size, int acc, uint64_t *val)
{
    uint64_t pa;
    struct rv_sys *s = h->sys;
    const struct mem_region *reg;
    const struct rv_io_tlb *io = &h->io_tlb[h->cur_ctx][(va >> 12) & (RV_IO_TLB - 1)];
    uint64_t tag = acc == RV_ACC_LOAD ? io->tag_r : acc == RV_ACC_STORE ? io->tag_w : ~UINT64_C(0);
    if (tag == (va & ~UINT64_C(0xfff))) {
        pa = io->ppage | (va & 0xfff);      /* a device page seen before */
        reg = io->reg;
    } else {
        int r = rv_mmu_access(h, va, size, acc, &pa, true);
        if (r)
            return r;
        reg = mem_find(s->mem, pa);
    }
    if (!reg || pa + (uint64_t)size - 1 > reg->base + reg->size - 1)
        return fault_cause(acc, false);
    if (reg->kind == MEM_MMIO) {
        bool ok = acc == RV_ACC_STORE ? mem_mmio_write(s->mem, pa, (unsigned)size, *val)
                                      : mem_mmio_read(s->mem, pa, (unsigned)size, val);
        if (!ok) {
            if (log_on(LOG_GUEST_ERROR))
                log_msg(LOG_GUEST_ERROR, "hart %d: %s of %d bytes at 0x%" PRIx64
                        " (pc 0x%" PRIx64 "): no device takes it", h->id,
                        acc == RV_ACC_STORE ? "store" : "load", size, pa, h->cpu.pc);
            return fault_cause(acc, false);
        }
        return 0;
    }
    uint8_t *p = reg->host + (pa - reg->base);
    if (acc == RV_ACC_STORE) {
        if (reg->kind == MEM_ROM)
            return RV_EXC_STORE_ACCESS;
        rv_code_write(s, pa, (uint64_t)size);
        switch (size) {
        case 1: __atomic_store_n(p, (uint8_t)*val, __ATOMIC_RELAXED); break;
        case 2: { uint16_t v = (uint16_t)*val; memcpy(p, &v, 2); break; }
        case 4: { uint32_t v = (uint32_t)*val; memcpy(p, &v, 4); break; }
        default: memcpy(p, val, 8); break;
        }
    } else {
        uint64_t v = 0;
        memcpy(&v, p, (size_t)size);
        *val = v;
    }
    return 0;
}

static uint64_t extend(uint64_t v, int size, bool sign)
{
    int bits = 8 * size;
    if (bits == 64)
        return v;
    v &= (UINT64_C(1) << bits) - 1;
    if (sign && (v >> (bits - 1)) & 1)
        v |= ~UINT64_C(0) << bits;
    return v;
}

uint64_t rv_sys_ld_slow(struct cpu *cpu, uint64_t va, uint32_t info, uint64_t *frame, uintptr_t ret)
{
    struct rv_hart *h = rv_hart_of(cpu);
    int size = 1 << (info & TR_SYS_INFO_SIZE);
    uint64_t v = 0;
    h->sys->st_ld_slow++;
    int r;
    if ((va & 0xfff) + (uint64_t)size > 0x1000) {
        /* crosses a page: byte by byte, each with its own translation
         * (misaligned accesses are done, not trapped, as on qemu's virt) */
        for (int i = 0; i < size; i++) {
            uint64_t b = 0;
            r = access_one(h, va + (uint64_t)i, 1, RV_ACC_LOAD, &b);
            if (r) {
                /* tval is the address of the part that faulted (the
                 * privileged spec, "mtval"): the handler must see the
                 * second page, or it fixes the first and the access
                 * faults again forever */
                rv_raise(h, (uint64_t)r, va + (uint64_t)i);
                tr_sys_raise(cpu, frame, ret);
            }
            v |= (b & 0xff) << (8 * i);
        }
    } else {
        r = access_one(h, va, size, RV_ACC_LOAD, &v);
        if (r) {
            rv_raise(h, (uint64_t)r, va);
            tr_sys_raise(cpu, frame, ret);
        }
    }
    return extend(v, size, (info & TR_SYS_INFO_SIGNED) != 0);
}

void rv_sys_st_slow(struct cpu *cpu, uint64_t va, uint64_t val, uint32_t info, uint64_t *frame,
                    uintptr_t ret)
{
    struct rv_hart *h = rv_hart_of(cpu);
    int size = 1 << (info & TR_SYS_INFO_SIZE);
    int r;
    h->sys->st_st_slow++;
    if ((va & 0xfff) + (uint64_t)size > 0x1000) {
        /* check both pages before writing anything, so that a fault on
         * the second leaves memory as it was */
        uint64_t pa;
        uint64_t second = (va | 0xfff) + 1, tval = va;
        r = rv_mmu_access(h, va, (int)(second - va), RV_ACC_STORE, &pa, false);
        if (!r) {
            /* a fault here is the second page's: tval says so (see above) */
            tval = second;
            r = rv_mmu_access(h, second, (int)(va + (uint64_t)size - second), RV_ACC_STORE, &pa, false);
        }
        if (r) {
            rv_raise(h, (uint64_t)r, tval);
            tr_sys_raise(cpu, frame, ret);
        }
        for (int i = 0; i < size; i++) {
            uint64_t b = (val >> (8 * i)) & 0xff;
            r = access_one(h, va + (uint64_t)i, 1, RV_ACC_STORE, &b);
            if (r) {
                rv_raise(h, (uint64_t)r, va + (uint64_t)i);
                tr_sys_raise(cpu, frame, ret);
            }
        }
        return;
    }
    r = access_one(h, va, size, RV_ACC_STORE, &val);
    if (r) {
        rv_raise(h, (uint64_t)r, va);
        tr_sys_raise(cpu, frame, ret);
    }
}

/* LR, SC and the AMOs: aligned, on RAM only (as a bus without atomics
 * would refuse them), with host atomic instructions. */
int rv_sys_helper_amo(struct cpu *cpu, uint32_t insn)
{
    struct rv_hart *h = rv_hart_of(cpu);
    int rd = (insn >> 7) & 31, rs1 = (insn >> 15) & 31;
    bool dw = ((insn >> 12) & 7) == 3;
    uint32_t f5 = insn >> 27;
    bool is_lr = f5 == 0x02;
    int acc = is_lr ? RV_ACC_LOAD : RV_ACC_STORE;
    uint64_t va = cpu->x[rs1];
    int size = dw ? 8 : 4;
    if (va & (uint64_t)(size - 1))
        return rv_raise(h, is_lr ? RV_EXC_LOAD_MISALIGNED : RV_EXC_STORE_MISALIGNED, va);
    /* the TLB first: atomics are frequent (locks) and their page is
     * usually there; a store tag is never set for a page of code */
    struct cpu_tlb_entry *e = &h->ctx[h->cur_ctx].tlb[(va >> 12) & (CPU_TLB_SIZE - 1)];
    void *p;
    if ((is_lr ? e->tag_r : e->tag_w) == (va & ~UINT64_C(0xfff))) {
        p = (void *)(uintptr_t)(va + e->addend);
    } else {
        uint64_t pa;
        int r = rv_mmu_access(h, va, size, acc, &pa, true);
        if (r)
            return rv_raise(h, (uint64_t)r, va);
        p = mem_ram_ptr(h->sys->mem, pa, (uint64_t)size, false);
        if (!p)
            return rv_raise(h, is_lr ? RV_EXC_LOAD_ACCESS : RV_EXC_STORE_ACCESS, va);
        if (!is_lr)
            rv_code_write(h->sys, pa, (uint64_t)size);
    }
    /* the reservation is kept by host address: the same for every hart
     * and every virtual alias of the word */
    uint64_t old = rv_amo_host(cpu, insn, p, (uint64_t)(uintptr_t)p);
    if (rd)
        cpu->x[rd] = old;
    return 0;
}

/* ---- instruction fetch ---- */

static int fetch_fault(struct rv_hart *h, int r, uint64_t pc)
{
    rv_raise(h, (uint64_t)r, pc);
    return -1;
}

int rv_sys_code_phys(struct cpu *cpu, uint64_t pc, uint64_t *phys)
{
    struct rv_hart *h = rv_hart_of(cpu);
    rv_self = h;
    uint64_t vpage = pc & ~UINT64_C(0xfff);
    struct cpu_tlb_ctx *c = &h->ctx[h->cur_ctx];
    unsigned i = (unsigned)(pc >> 12) & (CPU_TLB_SIZE - 1);
    uint64_t ppage;
    h->sys->st_code++;
    if (c->tlb[i].tag_x == vpage) {
        h->sys->st_code_hit++;
        ppage = h->ctx_phys[h->cur_ctx][i];
        c->code_global = !((c->tlb_ng[i / 64] >> (i % 64)) & 1);
    } else {
        uint64_t pa;
        int r = rv_mmu_access(h, pc, 2, RV_ACC_FETCH, &pa, true);
        if (r)
            return fetch_fault(h, r, pc);
        c->code_global = h->last_global;
        const struct mem_region *reg = mem_find(h->sys->mem, pa);
        if (!reg || reg->kind == MEM_MMIO)
            return fetch_fault(h, RV_EXC_INSN_ACCESS, pc);
        ppage = pa & ~UINT64_C(0xfff);
    }
    h->fetch_vpage = vpage;
    h->fetch_ppage = ppage;
    *phys = ppage | (pc & 0xfff);
    return 0;
}

/* tr->fetch: 16 bits of code at virtual pc, for the block being
 * translated on this thread's hart. */
int rv_sys_fetch(void *opaque, uint64_t pc)
{
    struct rv_hart *h = rv_self;
    uint64_t pa;
    if ((pc & ~UINT64_C(0xfff)) == h->fetch_vpage) {
        pa = h->fetch_ppage | (pc & 0xfff);
    } else {
        /* the second half of an instruction straddling a page end */
        int r = rv_mmu_access(h, pc, 2, RV_ACC_FETCH, &pa, false);
        if (r)
            return fetch_fault(h, r, pc);
        h->sys->tr->tb_phys2 = pa & ~UINT64_C(0xfff);
    }
    const uint8_t *p = mem_ram_ptr(h->sys->mem, pa, 2, true);
    if (!p)
        return fetch_fault(h, RV_EXC_INSN_ACCESS, pc);
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

int rv_read_code16(struct rv_hart *h, uint64_t pc, uint32_t *out)
{
    uint64_t pa;
    if (rv_mmu_access(h, pc, 2, RV_ACC_FETCH, &pa, false))
        return -1;
    const uint8_t *p = mem_ram_ptr(h->sys->mem, pa, 2, true);
    if (!p)
        return -1;
    uint16_t v;
    memcpy(&v, p, 2);
    *out = v;
    return 0;
}

/* A block is gone: no jump cache of any hart may lead to it. */
void rv_sys_jc_drop(void *opaque, uint64_t pc, const void *code)
{
    struct rv_sys *s = opaque;
    unsigned i = (unsigned)(pc >> 1) & (CPU_CTX_JC_SIZE - 1);
    for (int k = 0; k < s->n_harts; k++) {
        struct rv_hart *h = s->harts[k];
        for (int c = 0; c < RV_N_CTX; c++) {
            struct cpu_jc_entry *e = &h->ctx[c].jc[i];
            if (e->code == code)
                __atomic_store_n(&e->pc, ~UINT64_C(0), __ATOMIC_SEQ_CST);   /* odd: never a pc */
        }
    }
}
