/* sys-state.c - a hart's state for savevm/loadvm (lib/vmstate.h).
 *
 * Saved: the integer and FP registers, pc, fcsr, the privilege, every CSR
 * the hart keeps, the pending-interrupt bits, WFI and the LR/SC
 * reservation.  The reservation is kept by host address (sys-mem.c), so
 * it travels as a guest-physical address.  Counters derive from the
 * machine clock (which loadvm restores) and their offsets.
 *
 * Loading takes the stream as untrusted: the hart goes back to its
 * power-on CSRs and the saved values go in through the CSR write path,
 * which keeps only what the hardware could hold (WARL), in an order that
 * lets every write land (PMP addresses before their configuration, the
 * Sstc enable before stimecmp).  Derived state (TLBs, the PMP cache,
 * translation contexts) is rebuilt, and rv_sys_state_loaded() drops
 * every translation, since RAM changed under them.
 */
#include <config.h>

#include <string.h>

#include "riscv/sys-int.h"
#include "vmstate.h"

/* The CSRs that go through the write path, in the order they are
 * written back. */
static const uint16_t csr_order[] = {
    0x30a,                      /* menvcfg: before stimecmp (Sstc) */
    0x300, 0x302, 0x303, 0x304, 0x305, 0x306, 0x320, 0x340, 0x341, 0x342, 0x343,
    0x105, 0x106, 0x10a, 0x140, 0x141, 0x142, 0x143, 0x180, 0x14d,
};

#define MIP_SW_BITS ((UINT64_C(1) << RV_IRQ_SSI) | (UINT64_C(1) << RV_IRQ_STI) | \
                     (UINT64_C(1) << RV_IRQ_SEI))
#define MIP_HW_BITS ((UINT64_C(1) << RV_IRQ_MSI) | (UINT64_C(1) << RV_IRQ_MTI) | \
                     (UINT64_C(1) << RV_IRQ_MEI) | (UINT64_C(1) << RV_IRQ_SEI))

int rv_sys_n_harts(struct rv_sys *s)
{
    return s->n_harts;
}

static uint64_t csr_value(struct rv_hart *h, unsigned csr)
{
    switch (csr) {
    case 0x30a: return h->menvcfg;
    case 0x300: return h->mstatus;
    case 0x302: return h->medeleg;
    case 0x303: return h->mideleg;
    case 0x304: return h->mie;
    case 0x305: return h->mtvec;
    case 0x306: return h->mcounteren;
    case 0x320: return h->mcountinhibit;
    case 0x340: return h->mscratch;
    case 0x341: return h->mepc;
    case 0x342: return h->mcause;
    case 0x343: return h->mtval;
    case 0x105: return h->stvec;
    case 0x106: return h->scounteren;
    case 0x10a: return h->senvcfg;
    case 0x140: return h->sscratch;
    case 0x141: return h->sepc;
    case 0x142: return h->scause;
    case 0x143: return h->stval;
    case 0x180: return h->satp;
    case 0x14d: return h->stimecmp;
    }
    return 0;
}

/* The reservation as a guest-physical address (~0: none, or not RAM). */
static uint64_t res_phys(const struct rv_hart *h)
{
    uint64_t host = h->cpu.res_addr;
    const struct mem_map *m = h->sys->mem;
    for (int i = 0; host != ~UINT64_C(0) && i < m->n; i++) {
        const struct mem_region *r = &m->r[i];
        uint64_t start = (uint64_t)(uintptr_t)r->host;
        if (r->kind == MEM_RAM && host >= start && host - start < r->size)
            return r->base + (host - start);
    }
    return ~UINT64_C(0);
}

void rv_hart_save(void *hart, struct vms_out *f)
{
    struct rv_hart *h = hart;
    /* (the stopped hart's thread folded the host's FP flags into fflags
     * as it left; this thread's own must not mix in) */
    for (int i = 0; i < 32; i++)
        vms_put_u64(f, h->cpu.x[i]);
    for (int i = 0; i < 32; i++)
        vms_put_u64(f, h->cpu.f[i]);
    vms_put_u64(f, h->cpu.pc);
    vms_put_u32(f, h->cpu.fflags);
    vms_put_u32(f, h->cpu.frm);
    vms_put_u64(f, res_phys(h));
    vms_put_u64(f, h->cpu.res_val);
    vms_put_u8(f, (uint8_t)h->priv);
    vms_put_bool(f, h->wfi);
    vms_put_u32(f, ARRAY_SIZE(csr_order));
    for (size_t i = 0; i < ARRAY_SIZE(csr_order); i++) {
        vms_put_u16(f, csr_order[i]);
        vms_put_u64(f, csr_value(h, csr_order[i]));
    }
    vms_put_u64(f, h->mip_sw);
    vms_put_u64(f, __atomic_load_n(&h->mip_hw, __ATOMIC_ACQUIRE));
    vms_put_u64(f, (uint64_t)h->cycle_offset);
    vms_put_u64(f, (uint64_t)h->instret_offset);
    vms_put_u32(f, RV_PMP_N);
    for (int i = 0; i < RV_PMP_N; i++) {
        vms_put_u8(f, h->pmpcfg[i]);
        vms_put_u64(f, h->pmpaddr[i]);
    }
}

void rv_hart_load(void *hart, struct vms_in *f, uint32_t version)
{
    struct rv_hart *h = hart;
    (void)version;              /* 1 is the only one so far */
    uint64_t x[32], fr[32];
    for (int i = 0; i < 32; i++)
        x[i] = vms_get_u64(f);
    for (int i = 0; i < 32; i++)
        fr[i] = vms_get_u64(f);
    uint64_t pc = vms_get_u64(f);
    uint32_t fflags = vms_get_u32(f), frm = vms_get_u32(f);
    uint64_t res_pa = vms_get_u64(f), res_val = vms_get_u64(f);
    uint8_t priv = vms_get_u8(f);
    bool wfi = vms_get_bool(f);
    vms_check(f, (pc & 1) == 0, "pc");
    vms_check(f, fflags <= 0x1f && frm <= 7, "fcsr");
    vms_check(f, priv == RV_PRIV_U || priv == RV_PRIV_S || priv == RV_PRIV_M, "privilege");
    uint32_t n = vms_get_u32(f);
    vms_check(f, n == ARRAY_SIZE(csr_order), "CSR count");
    uint16_t num[ARRAY_SIZE(csr_order)];
    uint64_t val[ARRAY_SIZE(csr_order)];
    for (size_t i = 0; i < ARRAY_SIZE(csr_order) && !vms_failed(f); i++) {
        num[i] = vms_get_u16(f);
        val[i] = vms_get_u64(f);
        vms_check(f, num[i] == csr_order[i], "CSR number");
    }
    uint64_t mip_sw = vms_get_u64(f), mip_hw = vms_get_u64(f);
    int64_t cyc = (int64_t)vms_get_u64(f), ins = (int64_t)vms_get_u64(f);
    uint32_t npmp = vms_get_u32(f);
    vms_check(f, npmp == RV_PMP_N, "PMP entry count");
    uint8_t pcfg[RV_PMP_N];
    uint64_t paddr[RV_PMP_N];
    for (int i = 0; i < RV_PMP_N && !vms_failed(f); i++) {
        pcfg[i] = vms_get_u8(f);
        paddr[i] = vms_get_u64(f);
    }
    if (vms_failed(f))
        return;

    /* Power-on CSRs, then the saved ones through the write path. */
    rv_csr_reset(h);
    x[0] = 0;
    memcpy(h->cpu.x, x, sizeof(x));
    memcpy(h->cpu.f, fr, sizeof(fr));
    h->cpu.pc = pc;
    h->cpu.fflags = fflags;
    h->cpu.frm = frm;
    void *host = res_pa == ~UINT64_C(0) ? NULL : mem_ram_ptr(h->sys->mem, res_pa, 8, false);
    h->cpu.res_addr = host ? (uint64_t)(uintptr_t)host : ~UINT64_C(0);
    h->cpu.res_val = res_val;
    for (int i = 0; i < RV_PMP_N; i++)
        rv_csr_debug_write(h, 0x3b0 + (unsigned)i, paddr[i]);
    for (int i = 0; i < RV_PMP_N; i += 8) {
        uint64_t v = 0;
        for (int k = 0; k < 8; k++)
            v |= (uint64_t)pcfg[i + k] << (8 * k);
        rv_csr_debug_write(h, 0x3a0 + (unsigned)i / 4, v);
    }
    for (size_t i = 0; i < ARRAY_SIZE(csr_order); i++)
        rv_csr_debug_write(h, csr_order[i], val[i]);
    h->mip_sw = mip_sw & MIP_SW_BITS;
    __atomic_store_n(&h->mip_hw, mip_hw & MIP_HW_BITS, __ATOMIC_RELEASE);
    h->cycle_offset = cyc;
    h->instret_offset = ins;
    h->priv = priv;
    h->wfi = wfi;
    h->exc_pending = false;
    h->cpu.exit_req = 0;
    rv_tlb_flush_all(h);
    rv_select_ctx(h);
}

void rv_sys_state_loaded(struct rv_sys *s)
{
    tr_flush(s->tr, NULL);
    for (int i = 0; i < s->n_harts; i++) {
        struct rv_hart *h = s->harts[i];
        rv_tlb_flush_all(h);
        rv_select_ctx(h);
        rv_sstc_update(h);
    }
}
