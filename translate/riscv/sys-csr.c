/* sys-csr.c - the CSR file of a hart in system mode (privileged spec 1.12).
 *
 * One helper runs every CSR instruction: it checks the privilege the CSR
 * number encodes (bits 9:8) and read-only CSRs (bits 11:10 = 3), reads the
 * old value, and writes the new one with each register's WARL rules.
 * Unimplemented CSRs raise an illegal-instruction exception: firmware such
 * as OpenSBI probes for features that way.  Writes that change how memory
 * is translated, which interrupts are enabled or the privilege leave the
 * block (CPU_EXIT_INTERRUPT at the next instruction), so that the run loop
 * selects the right TLB context and takes an interrupt that became pending.
 */
#include <config.h>

#include <errno.h>

#include "riscv/sys-int.h"
#include "log.h"

#define MIP_SSIP (UINT64_C(1) << RV_IRQ_SSI)
#define MIP_MSIP (UINT64_C(1) << RV_IRQ_MSI)
#define MIP_STIP (UINT64_C(1) << RV_IRQ_STI)
#define MIP_MTIP (UINT64_C(1) << RV_IRQ_MTI)
#define MIP_SEIP (UINT64_C(1) << RV_IRQ_SEI)
#define MIP_MEIP (UINT64_C(1) << RV_IRQ_MEI)
#define S_INTS (MIP_SSIP | MIP_STIP | MIP_SEIP)
#define M_INTS (MIP_MSIP | MIP_MTIP | MIP_MEIP)

#define MSTATUS_WMASK (MST_SIE | MST_MIE | MST_SPIE | MST_MPIE | MST_SPP | MST_MPP | MST_FS | \
                       MST_MPRV | MST_SUM | MST_MXR | MST_TVM | MST_TW | MST_TSR)
#define SSTATUS_MASK (MST_SIE | MST_SPIE | MST_SPP | MST_FS | MST_SUM | MST_MXR | \
                      (UINT64_C(3) << 32) | MST_SD)
/* every synchronous exception but an ecall from M-mode may be delegated */
#define MEDELEG_MASK UINT64_C(0xb3ff)

/* CSR_IRQ: the write may have enabled an interrupt or changed the
 * translation context (SUM, MPRV): switch context and leave the block only
 * if an interrupt is now to be taken (Linux toggles SUM and SIE all the
 * time).  CSR_EXIT: always leave the block. */
enum { CSR_OK, CSR_ILLEGAL, CSR_EXIT, CSR_IRQ };

static uint64_t mstatus_read(const struct rv_hart *h)
{
    uint64_t st = h->mstatus | MST_UXL_SXL;
    if ((st & MST_FS) == MST_FS)
        st |= MST_SD;
    return st;
}

static uint64_t misa(const struct rv_hart *h)
{
    uint64_t ext = h->sys->ext;
    uint64_t m = (UINT64_C(2) << 62) | (1u << ('I' - 'A')) | (1u << ('S' - 'A')) | (1u << ('U' - 'A'));
    if (ext & RV_EXT_M) m |= 1u << ('M' - 'A');
    if (ext & RV_EXT_A) m |= 1u << ('A' - 'A');
    if (ext & RV_EXT_F) m |= 1u << ('F' - 'A');
    if (ext & RV_EXT_D) m |= 1u << ('D' - 'A');
    if (ext & RV_EXT_C) m |= 1u << ('C' - 'A');
    return m;
}

void rv_csr_reset(struct rv_hart *h)
{
    h->priv = RV_PRIV_M;
    h->mstatus = 0;
    h->medeleg = h->mideleg = h->mie = h->mip_sw = 0;
    h->mtvec = h->mepc = h->mcause = h->mtval = h->mscratch = 0;
    h->stvec = h->sepc = h->scause = h->stval = h->sscratch = h->satp = 0;
    h->mcounteren = h->scounteren = h->mcountinhibit = h->menvcfg = h->senvcfg = 0;
    h->stimecmp = ~UINT64_C(0);
    h->cycle_offset = h->instret_offset = 0;
    for (int i = 0; i < RV_PMP_N; i++) {
        h->pmpcfg[i] = 0;
        h->pmpaddr[i] = 0;
    }
    h->pmp_active = h->pmp_locked = false;
}

/* Counters: a 1 GHz cycle count from the machine clock (instret counts
 * the same: the translator does not count instructions). */
static uint64_t counter(const struct rv_hart *h, int which)
{
    if (which == 1)
        return rv_time();
    uint64_t ns = hw_clock_ns();
    return ns + (uint64_t)(which == 0 ? h->cycle_offset : h->instret_offset);
}

/* May the current mode read counter n (0 cycle, 1 time, 2 instret, 3-31 hpm)? */
static bool counter_allowed(const struct rv_hart *h, int n)
{
    if (h->priv < RV_PRIV_M && !((h->mcounteren >> n) & 1))
        return false;
    if (h->priv < RV_PRIV_S && !((h->scounteren >> n) & 1))
        return false;
    return true;
}

void rv_sstc_update(struct rv_hart *h)
{
    if (!h->stimer)
        return;
    if ((h->menvcfg & MENVCFG_STCE) && h->stimecmp != ~UINT64_C(0)) {
        uint64_t ns = h->stimecmp > UINT64_MAX / 100 ? UINT64_MAX : h->stimecmp * 100;
        hw_lock();
        hw_timer_arm(h->stimer, ns);
        hw_unlock();
    }
}

static int fp_csr_ok(struct rv_hart *h)
{
    return (h->sys->ext & RV_EXT_F) && (h->mstatus & MST_FS);
}

static int csr_read(struct rv_hart *h, unsigned csr, uint64_t *out)
{
    uint64_t v;
    switch (csr) {
    case 0x001: if (!fp_csr_ok(h)) return CSR_ILLEGAL; v = rv_fflags_read(&h->cpu); break;
    case 0x002: if (!fp_csr_ok(h)) return CSR_ILLEGAL; v = h->cpu.frm; break;
    case 0x003:
        if (!fp_csr_ok(h)) return CSR_ILLEGAL;
        v = (h->cpu.frm << 5) | rv_fflags_read(&h->cpu);
        break;
    case 0xc00: case 0xc01: case 0xc02:
        if (!counter_allowed(h, (int)(csr - 0xc00)))
            return CSR_ILLEGAL;
        v = counter(h, (int)(csr - 0xc00));
        break;
    /* supervisor */
    case 0x100: v = mstatus_read(h) & SSTATUS_MASK; break;
    case 0x104: v = h->mie & h->mideleg; break;
    case 0x105: v = h->stvec; break;
    case 0x106: v = h->scounteren; break;
    case 0x10a: v = h->senvcfg; break;
    case 0x140: v = h->sscratch; break;
    case 0x141: v = h->sepc; break;
    case 0x142: v = h->scause; break;
    case 0x143: v = h->stval; break;
    case 0x144: v = rv_mip(h) & h->mideleg; break;
    case 0x14d:                                             /* stimecmp (Sstc) */
        if (h->priv < RV_PRIV_M && (!(h->mcounteren & 2) || !(h->menvcfg & MENVCFG_STCE)))
            return CSR_ILLEGAL;
        v = h->stimecmp;
        break;
    case 0x180:
        if (h->priv == RV_PRIV_S && (h->mstatus & MST_TVM))
            return CSR_ILLEGAL;
        v = h->satp;
        break;
    /* machine */
    case 0xf11: case 0xf12: case 0xf13: case 0xf15: v = 0; break;
    case 0xf14: v = (uint64_t)h->id; break;
    case 0x300: v = mstatus_read(h); break;
    case 0x301: v = misa(h); break;
    case 0x302: v = h->medeleg; break;
    case 0x303: v = h->mideleg; break;
    case 0x304: v = h->mie; break;
    case 0x305: v = h->mtvec; break;
    case 0x306: v = h->mcounteren; break;
    case 0x30a: v = h->menvcfg; break;
    case 0x320: v = h->mcountinhibit; break;
    case 0x340: v = h->mscratch; break;
    case 0x341: v = h->mepc; break;
    case 0x342: v = h->mcause; break;
    case 0x343: v = h->mtval; break;
    case 0x344: v = rv_mip(h); break;
    case 0xb00: v = counter(h, 0); break;
    case 0xb02: v = counter(h, 2); break;
    /* Sdtrig with no triggers: M-mode code finds out what triggers exist
     * by writing tselect and reading tdata1's type (riscv-tests'
     * breakpoint, OpenSBI), and must not trap doing so.  tselect holds
     * only 0, tdata1 has type 0 ("no trigger at this tselect"), tinfo
     * says 1 for a trigger that does not exist; writes are ignored. */
    case 0x7a0: case 0x7a1: case 0x7a2: case 0x7a3: v = 0; break;
    case 0x7a4: v = 1; break;
    default:
        if (csr >= 0x3a0 && csr <= 0x3af) {                 /* pmpcfg0..15 */
            if (csr & 1)
                return CSR_ILLEGAL;                         /* odd ones do not exist on RV64 */
            unsigned first = (csr - 0x3a0) * 4;
            v = 0;
            for (unsigned k = 0; k < 8 && first + k < RV_PMP_N; k++)
                v |= (uint64_t)h->pmpcfg[first + k] << (8 * k);
            break;
        }
        if (csr >= 0x3b0 && csr <= 0x3ef) {                 /* pmpaddr0..63 */
            unsigned i = csr - 0x3b0;
            v = i < RV_PMP_N ? h->pmpaddr[i] : 0;
            break;
        }
        if ((csr >= 0xb03 && csr <= 0xb1f) || (csr >= 0x323 && csr <= 0x33f)) {
            v = 0;                                          /* hpm counters/events: hardwired 0 */
            break;
        }
        if (csr >= 0xc03 && csr <= 0xc1f) {
            if (!counter_allowed(h, (int)(csr - 0xc00)))
                return CSR_ILLEGAL;
            v = 0;
            break;
        }
        if (log_on(LOG_UNIMP))
            log_msg(LOG_UNIMP, "hart %d: CSR 0x%03x at pc 0x%" PRIx64, h->id, csr, h->cpu.pc);
        return CSR_ILLEGAL;
    }
    *out = v;
    return CSR_OK;
}

static int mstatus_write(struct rv_hart *h, uint64_t v, uint64_t mask)
{
    uint64_t old = h->mstatus;
    uint64_t nv = (old & ~mask) | (v & mask & MSTATUS_WMASK);
    unsigned mpp = (unsigned)((nv & MST_MPP) >> MST_MPP_SHIFT);
    if (mpp == 2)                                           /* reserved: keep the old */
        nv = (nv & ~MST_MPP) | (old & MST_MPP);
    if (!(h->sys->ext & RV_EXT_F))
        nv &= ~MST_FS;
    h->mstatus = nv;
    if ((old ^ nv) & MST_MXR)
        rv_tlb_flush_all(h);
    /* FS off must trap the rest of the block's FP instructions (they
     * checked FS once, at the block's first one) */
    return ((old ^ nv) & MST_FS) ? CSR_EXIT : CSR_IRQ;
}

static int csr_write(struct rv_hart *h, unsigned csr, uint64_t v)
{
    switch (csr) {
    case 0x001:
        rv_fp_sync(&h->cpu);
        h->cpu.fflags = (uint32_t)v & 0x1f;
        h->mstatus |= MST_FS;
        return CSR_OK;
    case 0x002: case 0x003:
        rv_fp_sync(&h->cpu);
        if (csr == 0x003) {
            h->cpu.fflags = (uint32_t)v & 0x1f;
            v >>= 5;
        }
        h->cpu.frm = (uint32_t)v & 7;
        h->mstatus |= MST_FS;
        rv_fp_load_mode(&h->cpu);
        /* inline FP code assumed a mode SSE has: a move into or out of
         * RMM/invalid makes rv_fp_load_mode ask for new translations */
        return h->cpu.flush_req ? CSR_EXIT : CSR_OK;
    case 0x100: return mstatus_write(h, v, SSTATUS_MASK);
    case 0x104:
        h->mie = (h->mie & ~h->mideleg) | (v & h->mideleg & S_INTS);
        return CSR_IRQ;
    case 0x105: h->stvec = v & ~UINT64_C(2); return CSR_OK;    /* modes 0 and 1 */
    case 0x106: h->scounteren = v & 0xffffffff; return CSR_OK;
    case 0x10a: h->senvcfg = v & 1; return CSR_OK;
    case 0x140: h->sscratch = v; return CSR_OK;
    case 0x141: h->sepc = v & ~UINT64_C(1); return CSR_OK;
    case 0x142: h->scause = v; return CSR_OK;
    case 0x143: h->stval = v; return CSR_OK;
    case 0x144:
        if (h->mideleg & MIP_SSIP)
            h->mip_sw = (h->mip_sw & ~MIP_SSIP) | (v & MIP_SSIP);
        return CSR_IRQ;
    case 0x14d:
        h->stimecmp = v;
        rv_sstc_update(h);
        return CSR_IRQ;
    case 0x180: {
        unsigned mode = (unsigned)(v >> 60);
        if (mode != 0 && mode != 8 && mode != 9)
            return CSR_OK;                                  /* WARL: unsupported modes are ignored */
        v &= (UINT64_C(0xf) << 60) | (UINT64_C(0xffff) << 44) | ((UINT64_C(1) << 44) - 1);
        if (mode == 0)
            v = 0;
        if (log_on(LOG_MMU))
            log_msg(LOG_MMU, "hart %d: satp 0x%" PRIx64 " -> 0x%" PRIx64, h->id, h->satp, v);
        if (v != h->satp) {
            /* another address space: global mappings stay (as in a TLB
             * with ASIDs), unless the translation scheme changed */
            bool mode_changed = (v ^ h->satp) >> 60 != 0;
            h->satp = v;
            if (mode_changed)
                rv_tlb_flush_vm(h);
            else
                rv_tlb_flush_nonglobal(h);
        }
        return CSR_EXIT;
    }
    case 0x300: return mstatus_write(h, v, ~UINT64_C(0));
    case 0x301: return CSR_OK;                               /* misa: fixed */
    case 0x302: h->medeleg = v & MEDELEG_MASK; return CSR_OK;
    case 0x303: h->mideleg = v & S_INTS; return CSR_IRQ;
    case 0x304: h->mie = v & (S_INTS | M_INTS); return CSR_IRQ;
    case 0x305: h->mtvec = v & ~UINT64_C(2); return CSR_OK;
    case 0x306: h->mcounteren = v & 0xffffffff; return CSR_OK;
    case 0x30a:
        h->menvcfg = v & (MENVCFG_STCE | 1);
        rv_sstc_update(h);
        return CSR_EXIT;
    case 0x320: h->mcountinhibit = v & 0xfffffffd; return CSR_OK;
    case 0x340: h->mscratch = v; return CSR_OK;
    case 0x341: h->mepc = v & ~UINT64_C(1); return CSR_OK;
    case 0x342: h->mcause = v; return CSR_OK;
    case 0x343: h->mtval = v; return CSR_OK;
    case 0x344: {
        uint64_t wm = MIP_SSIP | MIP_SEIP | ((h->menvcfg & MENVCFG_STCE) ? 0 : MIP_STIP);
        h->mip_sw = (h->mip_sw & ~wm) | (v & wm);
        return CSR_IRQ;
    }
    case 0xb00: h->cycle_offset = (int64_t)(v - hw_clock_ns()); return CSR_OK;
    case 0xb02: h->instret_offset = (int64_t)(v - hw_clock_ns()); return CSR_OK;
    default:
        if (csr >= 0x3a0 && csr <= 0x3af) {
            unsigned first = (csr - 0x3a0) * 4;
            for (unsigned k = 0; k < 8 && first + k < RV_PMP_N; k++) {
                unsigned i = first + k;
                if (h->pmpcfg[i] & 0x80)
                    continue;                               /* locked */
                uint8_t c = (uint8_t)(v >> (8 * k)) & 0x9f;
                if ((c & 3) == 2)                           /* W without R: reserved */
                    c &= (uint8_t)~3u;
                h->pmpcfg[i] = c;
            }
            rv_pmp_changed(h);
            return CSR_EXIT;
        }
        if (csr >= 0x3b0 && csr <= 0x3ef) {
            unsigned i = csr - 0x3b0;
            if (i >= RV_PMP_N)
                return CSR_OK;
            /* locked, or the base of a locked TOR entry above */
            if ((h->pmpcfg[i] & 0x80) ||
                (i + 1 < RV_PMP_N && (h->pmpcfg[i + 1] & 0x80) && ((h->pmpcfg[i + 1] >> 3) & 3) == 1))
                return CSR_OK;
            h->pmpaddr[i] = v & ((UINT64_C(1) << 54) - 1);
            rv_pmp_changed(h);
            return CSR_EXIT;
        }
        return CSR_OK;                                      /* hpm counters: writes ignored */
    }
}

int rv_sys_helper_csr(struct cpu *cpu, uint32_t insn)
{
    struct rv_hart *h = rv_hart_of(cpu);
    int rd = (insn >> 7) & 31, rs1 = (insn >> 15) & 31, f3 = (insn >> 12) & 7;
    unsigned csr = insn >> 20;
    uint64_t src = (f3 & 4) ? (uint64_t)rs1 : cpu->x[rs1];
    bool writes = (f3 & 3) == 1 || rs1 != 0;
    bool reads = (f3 & 3) != 1 || rd != 0;

    if ((int)((csr >> 8) & 3) > h->priv)
        return rv_raise(h, RV_EXC_ILLEGAL, insn);
    if (writes && (csr >> 10) == 3)
        return rv_raise(h, RV_EXC_ILLEGAL, insn);
    uint64_t old = 0;
    /* csrrw with rd = x0 does not read (no side effects of a read) but the
     * CSR must still exist: read it anyway, ignoring the value */
    int r = csr_read(h, csr, &old);
    if (r == CSR_ILLEGAL)
        return rv_raise(h, RV_EXC_ILLEGAL, insn);
    (void)reads;
    int w = CSR_OK;
    if (writes) {
        /* mip and sip: a read-modify-write works on the bits software
         * wrote (mip_sw), not on what devices drive: clearing SSIP with
         * csrc must not latch a device's SEIP into the software bit */
        uint64_t base = (csr == 0x344 || csr == 0x144) ? h->mip_sw : old;
        uint64_t nv;
        switch (f3 & 3) {
        case 1: nv = src; break;
        case 2: nv = base | src; break;
        default: nv = base & ~src; break;
        }
        /* satp is the one CSR a write can trap on after the read check
         * (TVM); mstatus & co. were allowed by the read */
        w = csr_write(h, csr, nv);
    }
    if (rd)
        cpu->x[rd] = old;
    if (w == CSR_IRQ) {
        rv_select_ctx(h);           /* translated code reloads r15 after helpers */
        if (rv_pending_irq(h) >= 0)
            w = CSR_EXIT;
    }
    if (w == CSR_EXIT) {
        cpu->pc += 4;
        return CPU_EXIT_INTERRUPT;
    }
    return 0;
}

/* The debugger's access (harts stopped): any implemented CSR, whatever
 * the privilege and mstatus.FS; the FP CSRs come from struct cpu directly
 * (their host flags were folded in when the hart's thread ended). */
int rv_csr_debug_read(struct rv_hart *h, unsigned csr, uint64_t *out)
{
    if (csr >= 1 && csr <= 3) {
        uint64_t fl = h->cpu.fflags & 0x1f, rm = h->cpu.frm & 7;
        *out = csr == 1 ? fl : csr == 2 ? rm : (rm << 5) | fl;
        return 0;
    }
    int priv = h->priv;
    h->priv = RV_PRIV_M;
    int r = csr_read(h, csr, out);
    h->priv = priv;
    return r == CSR_OK ? 0 : -ENOENT;
}

int rv_csr_debug_write(struct rv_hart *h, unsigned csr, uint64_t v)
{
    if (csr >= 1 && csr <= 3) {
        if (csr != 2)
            h->cpu.fflags = (uint32_t)v & 0x1f;
        if (csr != 1)
            h->cpu.frm = (uint32_t)(csr == 3 ? v >> 5 : v) & 7;
        return 0;       /* the hart loads the rounding mode when it runs */
    }
    if (((csr >> 10) & 3) == 3)
        return -EPERM;  /* read-only */
    int priv = h->priv;
    h->priv = RV_PRIV_M;
    int r = csr_write(h, csr, v);
    h->priv = priv;
    rv_tlb_flush_all(h);
    return r == CSR_ILLEGAL ? -ENOENT : 0;
}
