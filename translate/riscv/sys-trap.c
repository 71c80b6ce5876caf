/* sys-trap.c - traps and the privileged instructions (mret, sret, wfi,
 * sfence.vma), as the privileged spec 1.12 describes them.
 *
 * Helpers called from translated code find the cpu's pc at their own
 * instruction (the back end stores it before the call).  Returning
 * CPU_EXIT_INTERRUPT leaves the block with cpu->pc as the helper set it:
 * the run loop then selects the translation context for the new mode and
 * takes any interrupt that became enabled.
 */
#include <config.h>

#include "riscv/sys-int.h"
#include "log.h"

const char *rv_cause_name(uint64_t cause, bool irq)
{
    static const char *const exc[16] = {
        "instruction address misaligned", "instruction access fault", "illegal instruction",
        "breakpoint", "load address misaligned", "load access fault",
        "store/AMO address misaligned", "store/AMO access fault", "environment call from U-mode",
        "environment call from S-mode", "reserved", "environment call from M-mode",
        "instruction page fault", "load page fault", "reserved", "store/AMO page fault",
    };
    static const char *const irqs[12] = {
        "reserved", "supervisor software interrupt", "reserved", "machine software interrupt",
        "reserved", "supervisor timer interrupt", "reserved", "machine timer interrupt",
        "reserved", "supervisor external interrupt", "reserved", "machine external interrupt",
    };
    if (irq)
        return cause < 12 ? irqs[cause] : "reserved";
    return cause < 16 ? exc[cause] : "reserved";
}

int rv_raise(struct rv_hart *h, uint64_t cause, uint64_t tval)
{
    h->exc_pending = true;
    h->exc_cause = cause;
    h->exc_tval = tval;
    return CPU_EXIT_FAULT;
}

void rv_trap(struct rv_hart *h, uint64_t cause, bool irq, uint64_t tval)
{
    uint64_t pc = h->cpu.pc;
    uint64_t deleg = irq ? h->mideleg : h->medeleg;
    uint64_t code = cause | (irq ? UINT64_C(1) << 63 : 0);
    int from = h->priv;
    if (log_on(LOG_INT))
        log_msg(LOG_INT, "hart %d: %s %" PRIu64 " (%s) from %c-mode at pc 0x%" PRIx64
                ", tval 0x%" PRIx64, h->id, irq ? "interrupt" : "exception", cause,
                rv_cause_name(cause, irq), "US?M"[from], pc, tval);
    if (from <= RV_PRIV_S && ((deleg >> cause) & 1)) {
        h->sepc = pc;
        h->scause = code;
        h->stval = tval;
        uint64_t st = h->mstatus;
        st = (st & ~MST_SPIE) | ((st & MST_SIE) ? MST_SPIE : 0);
        st &= ~MST_SIE;
        st = (st & ~MST_SPP) | (from == RV_PRIV_S ? MST_SPP : 0);
        h->mstatus = st;
        h->priv = RV_PRIV_S;
        uint64_t base = h->stvec & ~UINT64_C(3);
        h->cpu.pc = base + ((irq && (h->stvec & 3) == 1) ? 4 * cause : 0);
    } else {
        h->mepc = pc;
        h->mcause = code;
        h->mtval = tval;
        uint64_t st = h->mstatus;
        st = (st & ~MST_MPIE) | ((st & MST_MIE) ? MST_MPIE : 0);
        st &= ~MST_MIE;
        st = (st & ~MST_MPP) | ((uint64_t)from << MST_MPP_SHIFT);
        h->mstatus = st;
        h->priv = RV_PRIV_M;
        uint64_t base = h->mtvec & ~UINT64_C(3);
        h->cpu.pc = base + ((irq && (h->mtvec & 3) == 1) ? 4 * cause : 0);
    }
    /* a trap breaks an LR/SC sequence */
    h->cpu.res_addr = ~UINT64_C(0);
}

static int illegal(struct rv_hart *h, uint32_t insn)
{
    return rv_raise(h, RV_EXC_ILLEGAL, insn);
}

int rv_sys_helper_priv(struct cpu *cpu, uint32_t insn)
{
    struct rv_hart *h = rv_hart_of(cpu);
    uint64_t st = h->mstatus;
    if (insn == 0x30200073) {                               /* mret */
        if (h->priv != RV_PRIV_M)
            return illegal(h, insn);
        int to = (int)((st & MST_MPP) >> MST_MPP_SHIFT);
        st = (st & ~MST_MIE) | ((st & MST_MPIE) ? MST_MIE : 0);
        st |= MST_MPIE;
        st &= ~MST_MPP;                                     /* U: the least-privileged mode */
        if (to != RV_PRIV_M)
            st &= ~MST_MPRV;
        h->mstatus = st;
        h->priv = to;
        cpu->pc = h->mepc;
        return CPU_EXIT_INTERRUPT;
    }
    if (insn == 0x10200073) {                               /* sret */
        if (h->priv == RV_PRIV_U || (h->priv == RV_PRIV_S && (st & MST_TSR)))
            return illegal(h, insn);
        int to = (st & MST_SPP) ? RV_PRIV_S : RV_PRIV_U;
        st = (st & ~MST_SIE) | ((st & MST_SPIE) ? MST_SIE : 0);
        st |= MST_SPIE;
        st &= ~MST_SPP;
        st &= ~MST_MPRV;                                    /* sret always leaves for S or U */
        h->mstatus = st;
        h->priv = to;
        cpu->pc = h->sepc;
        return CPU_EXIT_INTERRUPT;
    }
    if (insn == 0x10500073) {                               /* wfi */
        if (h->priv == RV_PRIV_U || (h->priv == RV_PRIV_S && (st & MST_TW)))
            return illegal(h, insn);
        cpu->pc += 4;
        h->wfi = true;
        return CPU_EXIT_INTERRUPT;
    }
    /* sfence.vma rs1, rs2 */
    if (h->priv == RV_PRIV_U || (h->priv == RV_PRIV_S && (st & MST_TVM)))
        return illegal(h, insn);
    int rs1 = (insn >> 15) & 31;
    if (log_on(LOG_MMU))
        log_msg(LOG_MMU, "hart %d: sfence.vma 0x%" PRIx64, h->id, rs1 ? cpu->x[rs1] : 0);
    /* ASIDs are not kept in the TLB: flushing one ASID flushes all; but
     * one with an ASID (rs2) leaves global mappings */
    int rs2 = (insn >> 20) & 31;
    if (rs1 == 0 && rs2 == 0)
        rv_tlb_flush_vm(h);
    else if (rs1 == 0)
        rv_tlb_flush_nonglobal(h);
    else
        rv_tlb_flush_page(h, cpu->x[rs1]);
    return 0;
}

/* mstatus.FS is Off: FP instructions trap; otherwise they make it Dirty
 * (software saves the FP registers of a context only when Dirty). */
int rv_sys_helper_fs(struct cpu *cpu, uint32_t insn)
{
    struct rv_hart *h = rv_hart_of(cpu);
    if ((h->mstatus & MST_FS) == 0)
        return illegal(h, insn);
    h->mstatus |= MST_FS;
    return 0;
}

int rv_sys_helper_fence(struct cpu *cpu, uint32_t insn)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return 0;
}
