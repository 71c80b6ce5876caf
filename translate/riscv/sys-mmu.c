/* sys-mmu.c - address translation: Sv39/Sv48 page walks, PMP, and the
 * per-context software TLBs that translated code reads (cpu.h).
 *
 * A TLB entry maps one 4 KiB virtual page of one context; its tags hold
 * the page address when loads (tag_r), stores (tag_w) or fetches (tag_x)
 * may go straight to host memory, CPU_TLB_INVALID otherwise.  Entries
 * are only made for RAM/ROM pages that PMP allows as a whole, stores only
 * once the PTE's D bit is set and the page holds no translated code, so
 * that every access the fast path cannot do right reaches the slow path.
 */
#include <config.h>

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "riscv/sys-int.h"
#include "i18n.h"
#include "log.h"

#define PTE_V (1u << 0)
#define PTE_R (1u << 1)
#define PTE_W (1u << 2)
#define PTE_X (1u << 3)
#define PTE_U (1u << 4)
#define PTE_G (1u << 5)
#define PTE_A (1u << 6)
#define PTE_D (1u << 7)
#define PTE_PPN_SHIFT 10
#define PTE_PPN_MASK ((UINT64_C(1) << 44) - 1)
#define PTE_RESERVED (UINT64_C(0x3ff) << 54)   /* PBMT, N and reserved: not implemented */

#define PAGE_MASK (~UINT64_C(0xfff))

/* permission bits of a fill */
enum { PROT_RD = 1, PROT_WR = 2, PROT_EX = 4 };

int rv_mmu_init(struct rv_hart *h, struct error **errp)
{
    size_t sz = RV_N_CTX * sizeof(struct cpu_tlb_ctx);
    void *p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return err_set_errno(errp, errno, _("cannot allocate the TLB of hart %d"), h->id);
    h->ctx = p;
    h->ctx_phys = calloc(RV_N_CTX, sizeof(*h->ctx_phys));
    if (!h->ctx_phys)
        return err_set(errp, ENOMEM, _("out of memory"));
    for (int c = 0; c < RV_N_CTX; c++) {
        h->ctx_used[c] = true;
        h->ctx[c].n_log = CPU_CTX_LOG + 1;      /* everything to clear */
    }
    rv_tlb_flush_all(h);
    return 0;
}

void rv_mmu_free(struct rv_hart *h)
{
    if (h->ctx)
        munmap(h->ctx, RV_N_CTX * sizeof(struct cpu_tlb_ctx));
    free(h->ctx_phys);
}

static void ctx_flush(struct rv_hart *h, int c)
{
    if (!h->ctx_used[c])
        return;
    h->sys->st_exit[8 + c]++;
    struct cpu_tlb_ctx *x = &h->ctx[c];
    if (x->n_log <= CPU_CTX_LOG) {
        for (uint32_t k = 0; k < x->n_log; k++) {
            unsigned e = x->log[k];
            if (e & CPU_CTX_LOG_JC)
                x->jc[e & ~CPU_CTX_LOG_JC].pc = ~UINT64_C(0);
            else
                memset(&x->tlb[e], 0xff, sizeof(x->tlb[e]));
        }
    } else {
        memset(x->tlb, 0xff, sizeof(x->tlb));
        memset(x->jc, 0xff, sizeof(x->jc));    /* pc ~0: odd, never found */
    }
    x->n_log = 0;
    memset(h->io_tlb[c], 0xff, sizeof(h->io_tlb[c]));
    memset(x->jc_pages, 0, sizeof(x->jc_pages));
    memset(x->tlb_ng, 0, sizeof(x->tlb_ng));
    memset(x->jc_ng, 0, sizeof(x->jc_ng));
    for (int k = 0; k < RV_LP_RANGES; k++) {
        h->lp_base[c][k] = ~UINT64_C(0);
        h->lp_mask[c][k] = 0;
    }
    h->ctx_used[c] = false;
}

void rv_tlb_flush_all(struct rv_hart *h)
{
    for (int c = 0; c < RV_N_CTX; c++)
        ctx_flush(h, c);
}

void rv_tlb_flush_vm(struct rv_hart *h)
{
    ctx_flush(h, RV_CTX_U);
    ctx_flush(h, RV_CTX_S);
    ctx_flush(h, RV_CTX_S_SUM);
    ctx_flush(h, RV_CTX_MPRV);
}

/* An address-space switch (satp) or sfence.vma for one ASID: global
 * mappings (the kernel's, in every address space) stay, with the jump
 * cache's entries for code on them; the rest go.  The TLB keeps no ASIDs,
 * so a flush for one ASID is one for all. */
void rv_tlb_flush_nonglobal(struct rv_hart *h)
{
    static const int vm_ctx[] = { RV_CTX_U, RV_CTX_S, RV_CTX_S_SUM, RV_CTX_MPRV };
    for (size_t k = 0; k < ARRAY_SIZE(vm_ctx); k++) {
        int c = vm_ctx[k];
        if (!h->ctx_used[c])
            continue;
        h->sys->st_exit[14]++;
        struct cpu_tlb_ctx *x = &h->ctx[c];
        memset(h->io_tlb[c], 0xff, sizeof(h->io_tlb[c]));
        for (unsigned w = 0; w < ARRAY_SIZE(x->tlb_ng); w++)
            for (uint64_t m = x->tlb_ng[w]; m; m &= m - 1)
                memset(&x->tlb[w * 64 + (unsigned)__builtin_ctzll(m)], 0xff, sizeof(x->tlb[0]));
        for (unsigned w = 0; w < ARRAY_SIZE(x->jc_ng); w++)
            for (uint64_t m = x->jc_ng[w]; m; m &= m - 1)
                x->jc[w * 64 + (unsigned)__builtin_ctzll(m)].pc = ~UINT64_C(0);
        memset(x->tlb_ng, 0, sizeof(x->tlb_ng));
        memset(x->jc_ng, 0, sizeof(x->jc_ng));
    }
}

void rv_tlb_flush_page(struct rv_hart *h, uint64_t va)
{
    static const int vm_ctx[] = { RV_CTX_U, RV_CTX_S, RV_CTX_S_SUM, RV_CTX_MPRV };
    uint64_t page = va & PAGE_MASK;
    for (size_t k = 0; k < ARRAY_SIZE(vm_ctx); k++) {
        int c = vm_ctx[k];
        if (!h->ctx_used[c])
            continue;
        /* a superpage was entered as 4 KiB pieces: flush them all */
        bool in_lp = false;
        for (int k = 0; k < RV_LP_RANGES; k++)
            if (h->lp_mask[c][k] && (va & ~h->lp_mask[c][k]) == h->lp_base[c][k])
                in_lp = true;
        if (in_lp) {
            ctx_flush(h, c);
            continue;
        }
        struct cpu_tlb_entry *e = &h->ctx[c].tlb[(va >> 12) & (CPU_TLB_SIZE - 1)];
        if (e->tag_r == page || e->tag_w == page || e->tag_x == page)
            memset(e, 0xff, sizeof(*e));
        struct rv_io_tlb *io = &h->io_tlb[c][(va >> 12) & (RV_IO_TLB - 1)];
        if (io->tag_r == page || io->tag_w == page)
            memset(io, 0xff, sizeof(*io));
        /* code at this page may map elsewhere now */
        unsigned bit = cpu_jc_page_bit(va);
        uint64_t *set = &h->ctx[c].jc_pages[bit / 64];
        if (!(*set & (UINT64_C(1) << (bit % 64))))
            continue;
        /* a page's pcs (2-byte aligned) index half of the jump cache,
         * from its first one on, wrapping */
        struct cpu_jc_entry *jc = h->ctx[c].jc;
        unsigned first = (unsigned)(page >> 1) & (CPU_CTX_JC_SIZE - 1);
        for (unsigned k = 0; k < 0x1000 / 2 && k < CPU_CTX_JC_SIZE; k++) {
            unsigned i = (first + k) & (CPU_CTX_JC_SIZE - 1);
            if ((jc[i].pc & PAGE_MASK) == page)
                jc[i].pc = ~UINT64_C(0);
        }
    }
}

/* Which context the hart's data accesses use now. */
static int ctx_index(const struct rv_hart *h)
{
    if (h->priv == RV_PRIV_M) {
        unsigned mpp = (unsigned)((h->mstatus & MST_MPP) >> MST_MPP_SHIFT);
        return (h->mstatus & MST_MPRV) && mpp != RV_PRIV_M ? RV_CTX_MPRV : RV_CTX_M;
    }
    if (h->priv == RV_PRIV_S)
        return (h->mstatus & MST_SUM) ? RV_CTX_S_SUM : RV_CTX_S;
    return RV_CTX_U;
}

void rv_select_ctx(struct rv_hart *h)
{
    int c = ctx_index(h);
    if (c == RV_CTX_MPRV) {
        /* filled under the MPP/SUM/MXR of its time: refill if they changed */
        uint64_t key = h->mstatus & (MST_MPP | MST_SUM | MST_MXR);
        if (key != h->mprv_key) {
            ctx_flush(h, RV_CTX_MPRV);
            h->mprv_key = key;
        }
    }
    h->cur_ctx = c;
    h->ctx_used[c] = true;
    h->cpu.guest_base = (uint64_t)(uintptr_t)&h->ctx[c];
}

/* ---- PMP ---- */

static bool pmp_range(const struct rv_hart *h, int i, uint64_t *lo, uint64_t *hi);

void rv_pmp_changed(struct rv_hart *h)
{
    h->pmp_active = false;
    h->pmp_locked = false;
    for (int i = 0; i < RV_PMP_N; i++) {
        if ((h->pmpcfg[i] >> 3) & 3)
            h->pmp_active = true;
        if ((h->pmpcfg[i] >> 3) & 3 && (h->pmpcfg[i] & 0x80))
            h->pmp_locked = true;
        h->pmp_on[i] = pmp_range(h, i, &h->pmp_lo[i], &h->pmp_hi[i]);
    }
    memset(h->pmp_cache, 0, sizeof(h->pmp_cache));
    rv_tlb_flush_all(h);
}

/* The range entry i covers: [*lo, *hi] inclusive (hi may be 2^64 - 1). */
static bool pmp_range(const struct rv_hart *h, int i, uint64_t *lo, uint64_t *hi)
{
    unsigned a = (h->pmpcfg[i] >> 3) & 3;
    uint64_t addr = h->pmpaddr[i];
    switch (a) {
    case 1: {                                   /* TOR */
        uint64_t base = i ? h->pmpaddr[i - 1] << 2 : 0;
        uint64_t top = addr << 2;
        if (top <= base)
            return false;
        *lo = base;
        *hi = top - 1;
        return true;
    }
    case 2:                                     /* NA4 */
        *lo = addr << 2;
        *hi = *lo + 3;
        return true;
    case 3: {                                   /* NAPOT */
        int t = __builtin_ctzll(~addr | (UINT64_C(1) << 63));   /* trailing ones */
        if (t >= 54) {                           /* the whole (56-bit) space */
            *lo = 0;
            *hi = ~UINT64_C(0);
            return true;
        }
        uint64_t size = UINT64_C(1) << (t + 3);
        *lo = (addr & ~((UINT64_C(1) << t) - 1)) << 2;
        *lo &= ~(size - 1);
        *hi = *lo + size - 1;
        return true;
    }
    }
    return false;
}

/* May priv access [pa, pa + len) for acc?  *whole: the answer holds for
 * every byte of the 4 KiB page around pa (so the TLB may cache it). */
static bool pmp_check_full(const struct rv_hart *h, uint64_t pa, uint64_t len, int acc, int priv,
                           bool *whole)
{
    uint64_t page = pa & PAGE_MASK, page_end = page + 0xfff;
    *whole = true;
    /* with no entry in use only M-mode may access anything (16 entries
     * are implemented, so S and U need one that matches) */
    if (!h->pmp_active)
        return priv == RV_PRIV_M;
    if (priv == RV_PRIV_M && !h->pmp_locked)
        return true;
    uint64_t last = pa + len - 1;
    for (int i = 0; i < RV_PMP_N; i++) {
        if (!h->pmp_on[i])
            continue;
        uint64_t lo = h->pmp_lo[i], hi = h->pmp_hi[i];
        bool page_overlaps = lo <= page_end && hi >= page;
        if (!page_overlaps)
            continue;
        if (lo > page || hi < page_end)
            *whole = false;                     /* another answer elsewhere in the page */
        if (lo > last || hi < pa) {
            continue;                           /* not this access */
        }
        if (lo > pa || hi < last)
            return false;                       /* partly covered: fails */
        uint8_t cfg = h->pmpcfg[i];
        if (priv == RV_PRIV_M && !(cfg & 0x80))
            return true;
        int bit = acc == RV_ACC_LOAD ? 1 : acc == RV_ACC_STORE ? 2 : 4;
        return (cfg & bit) != 0;
    }
    /* no entry matched */
    return priv == RV_PRIV_M;
}

/* pmp_check_full, with what it finds for whole pages remembered (page
 * walks and TLB fills ask about the same pages over and over). */
static bool pmp_check(struct rv_hart *h, uint64_t pa, uint64_t len, int acc, int priv, bool *whole)
{
    if (!h->pmp_active || (priv == RV_PRIV_M && !h->pmp_locked))
        return pmp_check_full(h, pa, len, acc, priv, whole);
    uint64_t page = pa & PAGE_MASK;
    if (((pa + len - 1) & PAGE_MASK) != page)
        return pmp_check_full(h, pa, len, acc, priv, whole);
    uint64_t key = page | (uint64_t)priv | 4;
    unsigned slot = (unsigned)((page >> 12) ^ (page >> 18)) & (ARRAY_SIZE(h->pmp_cache) - 1);
    if (h->pmp_cache[slot].key != key) {
        int prot = 8;
        bool w;
        for (int a = 0; a < 3 && prot; a++) {
            bool ok = pmp_check_full(h, page, 0x1000, a, priv, &w);
            if (!w)
                prot = 0;                       /* not uniform: never cached */
            else if (ok)
                prot |= a == RV_ACC_LOAD ? PROT_RD : a == RV_ACC_STORE ? PROT_WR : PROT_EX;
        }
        if (!prot)
            return pmp_check_full(h, pa, len, acc, priv, whole);
        h->pmp_cache[slot].key = key;
        h->pmp_cache[slot].prot = prot;
    }
    int prot = h->pmp_cache[slot].prot;
    *whole = true;
    int bit = acc == RV_ACC_LOAD ? PROT_RD : acc == RV_ACC_STORE ? PROT_WR : PROT_EX;
    return (prot & bit) != 0;
}

/* Host address of a page-table entry: the main RAM first. */
static uint64_t *pte_ptr(struct rv_sys *s, uint64_t pa)
{
    const struct mem_region *r = s->ram;
    if (!r) {
        for (int i = 0; i < s->mem->n; i++)
            if (s->mem->r[i].kind == MEM_RAM && (!r || s->mem->r[i].size > r->size))
                r = &s->mem->r[i];
        s->ram = r;     /* the map is complete before any hart runs */
    }
    if (r && pa >= r->base && pa - r->base <= r->size - 8)
        return (uint64_t *)(void *)(r->host + (pa - r->base));
    return mem_ram_ptr(s->mem, pa, 8, false);
}

/* ---- page walks ---- */

/* Walk satp's tables for va.  0 with *pa, *prot (what the TLB may do on
 * this page for this mode) and *pgmask (the leaf's size - 1), or an
 * exception cause. */
static int walk(struct rv_hart *h, uint64_t va, int acc, int priv, bool sum, bool mxr,
                uint64_t *pa, int *prot, uint64_t *pgmask, bool *global)
{
    unsigned mode = (unsigned)(h->satp >> 60);
    int levels = mode == 8 ? 3 : 4;
    int fault = acc == RV_ACC_FETCH ? RV_EXC_INSN_PAGE : acc == RV_ACC_STORE ? RV_EXC_STORE_PAGE
                                                                           : RV_EXC_LOAD_PAGE;
    int access_fault = acc == RV_ACC_FETCH ? RV_EXC_INSN_ACCESS
                       : acc == RV_ACC_STORE ? RV_EXC_STORE_ACCESS : RV_EXC_LOAD_ACCESS;
    int va_bits = 12 + 9 * levels;
    /* bits above the translated ones must all equal the top one */
    int64_t sx = (int64_t)(va << (64 - va_bits)) >> (64 - va_bits);
    if ((uint64_t)sx != va)
        return fault;
    uint64_t table = (h->satp & PTE_PPN_MASK) << 12;
restart:
    *global = false;
    for (int lvl = levels - 1; lvl >= 0; lvl--) {
        uint64_t idx = (va >> (12 + 9 * lvl)) & 511;
        uint64_t pte_pa = table + idx * 8;
        bool whole;
        if (!pmp_check(h, pte_pa, 8, RV_ACC_LOAD, RV_PRIV_S, &whole))
            return access_fault;
        uint64_t *ptep = pte_ptr(h->sys, pte_pa);
        if (!ptep)
            return access_fault;
        uint64_t pte = __atomic_load_n(ptep, __ATOMIC_ACQUIRE);
        if (!(pte & PTE_V) || (!(pte & PTE_R) && (pte & PTE_W)) || (pte & PTE_RESERVED)) {
            if (log_on(LOG_MMU))
                log_msg(LOG_MMU, "hart %d: 0x%" PRIx64 ": invalid pte 0x%" PRIx64 " at 0x%" PRIx64
                        " (level %d)", h->id, va, pte, pte_pa, lvl);
            return fault;
        }
        uint64_t ppn = (pte >> PTE_PPN_SHIFT) & PTE_PPN_MASK;
        if (pte & PTE_G)
            *global = true;             /* G on a pointer makes everything below global */
        if (!(pte & (PTE_R | PTE_X))) {
            if (lvl == 0)
                return fault;
            table = ppn << 12;
            continue;
        }
        /* a leaf */
        if (priv == RV_PRIV_U && !(pte & PTE_U))
            return fault;
        if (priv == RV_PRIV_S && (pte & PTE_U) && (acc == RV_ACC_FETCH || !sum))
            return fault;
        bool can_r = (pte & PTE_R) || (mxr && (pte & PTE_X));
        if ((acc == RV_ACC_LOAD && !can_r) || (acc == RV_ACC_STORE && !(pte & PTE_W)) ||
            (acc == RV_ACC_FETCH && !(pte & PTE_X))) {
            if (log_on(LOG_MMU))
                log_msg(LOG_MMU, "hart %d: 0x%" PRIx64 ": pte 0x%" PRIx64 " does not allow it",
                        h->id, va, pte);
            return fault;
        }
        uint64_t mask = (UINT64_C(1) << (12 + 9 * lvl)) - 1;
        if (ppn & (mask >> 12))
            return fault;                       /* misaligned superpage */
        /* the A and D bits, set by the hardware, atomically */
        uint64_t want = pte | PTE_A | (acc == RV_ACC_STORE ? PTE_D : 0);
        if (want != pte) {
            if (!pmp_check(h, pte_pa, 8, RV_ACC_STORE, RV_PRIV_S, &whole))
                return access_fault;
            if (!__atomic_compare_exchange_n(ptep, &pte, want, false, __ATOMIC_ACQ_REL,
                                             __ATOMIC_ACQUIRE))
                goto restart;                   /* changed under us: walk again */
            pte = want;
        }
        *pa = ((ppn << 12) & ~mask) | (va & mask);
        *pgmask = mask;
        int p = 0;
        if (can_r)
            p |= PROT_RD;
        if ((pte & PTE_W) && (pte & PTE_D))
            p |= PROT_WR;
        if (pte & PTE_X)
            p |= PROT_EX;
        *prot = p;
        if (log_on(LOG_MMU))
            log_msg(LOG_MMU, "hart %d: walk 0x%" PRIx64 " -> 0x%" PRIx64 " pte 0x%" PRIx64
                    " level %d", h->id, va, *pa, pte, lvl);
        return 0;
    }
    return fault;
}

/* Remember that [base, base + mask] is mapped by a superpage in context
 * c: merged into a range within 1 GiB of it, else a free one, else the
 * first (which then covers more than needed: flushes are only wider). */
static void lp_add(struct rv_hart *h, int c, uint64_t base, uint64_t mask)
{
    int free_k = -1;
    for (int k = 0; k < RV_LP_RANGES; k++) {
        uint64_t m = h->lp_mask[c][k];
        if (!m) {
            if (free_k < 0)
                free_k = k;
            continue;
        }
        uint64_t nm = m | mask;
        while ((h->lp_base[c][k] & ~nm) != (base & ~nm))
            nm = (nm << 1) | 1;
        if (nm < (UINT64_C(1) << 30)) {
            h->lp_mask[c][k] = nm;
            h->lp_base[c][k] &= ~nm;
            return;
        }
    }
    int k = free_k >= 0 ? free_k : 0;
    if (free_k >= 0) {
        h->lp_base[c][k] = base;
        h->lp_mask[c][k] = mask;
        return;
    }
    uint64_t nm = h->lp_mask[c][k] | mask;
    while ((h->lp_base[c][k] & ~nm) != (base & ~nm))
        nm = (nm << 1) | 1;
    h->lp_mask[c][k] = nm;
    h->lp_base[c][k] &= ~nm;
}

/* The mode and flags the current context's data accesses use. */
static void data_mode(const struct rv_hart *h, int *priv, bool *sum)
{
    switch (h->cur_ctx) {
    case RV_CTX_U: *priv = RV_PRIV_U; *sum = false; break;
    case RV_CTX_S: *priv = RV_PRIV_S; *sum = false; break;
    case RV_CTX_S_SUM: *priv = RV_PRIV_S; *sum = true; break;
    case RV_CTX_MPRV:
        *priv = (int)((h->mstatus & MST_MPP) >> MST_MPP_SHIFT);
        *sum = (h->mstatus & MST_SUM) != 0;
        break;
    default: *priv = RV_PRIV_M; *sum = false; break;
    }
}

static const struct mem_region *ram_region(const struct rv_sys *s, uint64_t pa, int *index)
{
    const struct mem_region *r = mem_find(s->mem, pa);
    if (!r || r->kind == MEM_MMIO)
        return NULL;
    *index = (int)(r - s->mem->r);
    return r;
}

bool rv_is_code_page(struct rv_sys *s, uint64_t pa)
{
    int ri;
    const struct mem_region *r = ram_region(s, pa, &ri);
    if (!r || !s->code_map[ri])
        return false;
    return __atomic_load_n(&s->code_map[ri][(pa - r->base) >> 12], __ATOMIC_SEQ_CST) != 0;
}

int rv_mmu_access(struct rv_hart *h, uint64_t va, int size, int acc, uint64_t *pa, bool fill)
{
    int priv;
    bool sum;
    if (acc == RV_ACC_FETCH) {
        priv = h->priv;
        sum = false;
    } else {
        data_mode(h, &priv, &sum);
    }
    bool mxr = (h->mstatus & MST_MXR) != 0;
    uint64_t phys = va;
    int prot = PROT_RD | PROT_WR | PROT_EX;
    uint64_t pgmask = 0xfff;
    /* Bare mode's identity map counts as global: leaving it changes satp's
     * MODE, which flushes everything. */
    bool global = true;
    h->last_global = false;
    if (priv != RV_PRIV_M && (h->satp >> 60) != 0) {
        h->sys->st_walk++;
        int r = walk(h, va, acc, priv, sum, mxr, &phys, &prot, &pgmask, &global);
        if (r) {
            if (log_on(LOG_MMU))
                log_msg(LOG_MMU, "hart %d: %s of 0x%" PRIx64 " faults (cause %d)", h->id,
                        acc == RV_ACC_FETCH ? "fetch" : acc == RV_ACC_STORE ? "store" : "load",
                        va, r);
            return r;
        }
    } else {
        phys = va;
    }
    bool whole;
    if (!pmp_check(h, phys, (uint64_t)size, acc, priv, &whole))
        return acc == RV_ACC_FETCH ? RV_EXC_INSN_ACCESS
               : acc == RV_ACC_STORE ? RV_EXC_STORE_ACCESS : RV_EXC_LOAD_ACCESS;
    *pa = phys;
    h->last_global = global;
    if (!fill || !whole)
        return 0;
    int ri;
    const struct mem_region *r = ram_region(h->sys, phys, &ri);
    if (!r) {
        /* device memory: always the slow path, but without the walk */
        const struct mem_region *d = mem_find(h->sys->mem, phys);
        if (d && acc != RV_ACC_FETCH && (phys & PAGE_MASK) >= d->base &&
            (phys & PAGE_MASK) + 0xfff <= d->base + d->size - 1) {
            int c = h->cur_ctx;
            uint64_t vpage = va & PAGE_MASK;
            struct rv_io_tlb *io = &h->io_tlb[c][(va >> 12) & (RV_IO_TLB - 1)];
            if (io->ppage != (phys & PAGE_MASK) || (io->tag_r != vpage && io->tag_w != vpage))
                memset(io, 0xff, sizeof(*io));
            io->ppage = phys & PAGE_MASK;
            io->reg = d;
            if (acc == RV_ACC_LOAD)
                io->tag_r = vpage;
            else
                io->tag_w = vpage;
            h->ctx_used[c] = true;
        }
        return 0;
    }
    uint64_t ppage = phys & PAGE_MASK;
    if (ppage + 0x1000 > r->base + r->size)
        return 0;
    /* what PMP grants for the whole page, per kind of access */
    bool w;
    int pmp_prot = 0;
    if (pmp_check(h, ppage, 8, RV_ACC_LOAD, priv, &w) && w)
        pmp_prot |= PROT_RD;
    if (pmp_check(h, ppage, 8, RV_ACC_STORE, priv, &w) && w)
        pmp_prot |= PROT_WR;
    if (pmp_check(h, ppage, 8, RV_ACC_FETCH, acc == RV_ACC_FETCH ? priv : h->priv, &w) && w)
        pmp_prot |= PROT_EX;
    prot &= pmp_prot;
    if (r->kind == MEM_ROM)
        prot &= ~PROT_WR;
    /* the execute permission belongs to the fetch mode: only fetches set it */
    if (acc != RV_ACC_FETCH)
        prot &= ~PROT_EX;
    else
        prot &= PROT_EX;

    int c = h->cur_ctx;
    h->ctx_used[c] = true;      /* (a flush in the middle of a block cleared it) */
    uint64_t vpage = va & PAGE_MASK;
    unsigned i = (unsigned)(va >> 12) & (CPU_TLB_SIZE - 1);
    struct cpu_tlb_entry *e = &h->ctx[c].tlb[i];
    uint64_t addend = (uint64_t)(uintptr_t)(r->host + (ppage - r->base)) - vpage;
    /* keep the other kind's tag when it is for the same mapping */
    bool same = e->addend == addend &&
                (e->tag_r == vpage || e->tag_w == vpage || e->tag_x == vpage);
    struct cpu_tlb_entry n = {
        .tag_r = same ? e->tag_r : CPU_TLB_INVALID,
        .tag_w = same ? e->tag_w : CPU_TLB_INVALID,
        .tag_x = same ? e->tag_x : CPU_TLB_INVALID,
        .addend = addend,
    };
    if (prot & PROT_RD)
        n.tag_r = vpage;
    if (prot & PROT_EX)
        n.tag_x = vpage;
    bool writable = (prot & PROT_WR) && !rv_is_code_page(h->sys, ppage);
    if (writable)
        n.tag_w = vpage;
    h->ctx_phys[c][i] = ppage;
    if (!same)
        cpu_ctx_log(&h->ctx[c], i);
    if (!global)
        h->ctx[c].tlb_ng[i / 64] |= UINT64_C(1) << (i % 64);
    *e = n;
    if (writable) {
        /* translation of code on this page may have begun meanwhile on
         * another hart (it marks the page, then drops write entries):
         * check again after our entry is visible */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (rv_is_code_page(h->sys, ppage))
            e->tag_w = CPU_TLB_INVALID;
    }
    if (pgmask > 0xfff) {
        /* remember the superpage so that sfence.vma of any address in
         * it drops the 4 KiB pieces entered for it */
        uint64_t base = va & ~pgmask;
        lp_add(h, c, base, pgmask);
    }
    return 0;
}

/* ---- translated code and stores ---- */

void rv_mmu_code_page(struct rv_sys *s, uint64_t page)
{
    int ri;
    const struct mem_region *r = ram_region(s, page, &ri);
    if (!r || r->kind != MEM_RAM)
        return;                                 /* ROM cannot be written */
    if (!s->code_map[ri]) {
        s->code_map[ri] = calloc((size_t)(r->size >> 12), 1);
        if (!s->code_map[ri])
            abort();                            /* cannot track code: nothing safe to do */
    }
    uint8_t *b = &s->code_map[ri][(page - r->base) >> 12];
    if (__atomic_load_n(b, __ATOMIC_SEQ_CST))
        return;
    __atomic_store_n(b, 1, __ATOMIC_SEQ_CST);
    /* no TLB may write this page directly any more */
    uint64_t host = (uint64_t)(uintptr_t)(r->host + (page - r->base));
    for (int k = 0; k < s->n_harts; k++) {
        struct rv_hart *h = s->harts[k];
        for (int c = 0; c < RV_N_CTX; c++) {
            if (!h->ctx_used[c])
                continue;
            struct cpu_tlb_entry *t = h->ctx[c].tlb;
            for (unsigned i = 0; i < CPU_TLB_SIZE; i++)
                if (t[i].tag_w != CPU_TLB_INVALID && t[i].tag_w + t[i].addend == host)
                    __atomic_store_n(&t[i].tag_w, CPU_TLB_INVALID, __ATOMIC_SEQ_CST);
        }
    }
}

void rv_code_write(struct rv_sys *s, uint64_t pa, uint64_t len)
{
    uint64_t end = pa + len;
    for (uint64_t p = pa; p < end; p = (p & PAGE_MASK) + 0x1000) {
        int ri;
        const struct mem_region *r = ram_region(s, p, &ri);
        if (!r || !s->code_map[ri])
            continue;
        uint8_t *b = &s->code_map[ri][(p - r->base) >> 12];
        if (!__atomic_load_n(b, __ATOMIC_SEQ_CST))
            continue;
        /* a store that misses the page's code keeps its translations
         * (pages that mix code and data: init sections, modules) */
        uint64_t n = MIN(end, (p & PAGE_MASK) + 0x1000) - p;
        int left;
        tr_lock(s->tr);
        tr_invalidate_phys(s->tr, p, n, &left);
        if (left == 0)
            __atomic_store_n(b, 0, __ATOMIC_SEQ_CST);     /* stores may go direct again */
        tr_unlock(s->tr);
    }
}

void rv_sys_dma_written(void *sys, uint64_t pa, uint64_t len)
{
    rv_code_write(sys, pa, len);
}
