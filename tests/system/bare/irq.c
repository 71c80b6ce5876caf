/* irq.c - CLINT software and timer interrupts, vectored mtvec/stvec,
 * WFI wake-up, priority, delegation to S, Sstc's stimecmp. */
#include "check.h"

__asm__(".pushsection .text\n"
        "sn_spin: j sn_spin\n"
        "sn_stimecmp: csrr a0, stimecmp\n ecall\n"
        ".popsection\n");
extern char sn_spin[], sn_stimecmp[];

static u64 hart;
static volatile int order[8], norder;

/* M hook: record the order in which interrupts come, silence each */
static int m_record(struct frame *f, u64 cause)
{
    (void)f;
    if (!(cause & INTR))
        return 0;
    u64 c = cause & 63;
    order[norder++] = c;
    if (c == IRQ_M_SOFT)
        MMIO32(CLINT_MSIP(hart)) = 0;
    else if (c == IRQ_M_TIMER)
        MMIO64(CLINT_MTIMECMP(hart)) = ~0UL;
    else
        csrc(mip, 1UL << c);
    return 1;
}

/* S hook for the U excursion: record, then end it in M */
static int s_then_m(struct frame *f, u64 cause)
{
    s_last.cause = cause;
    s_last.epc = f->pc;
    s_last.vec = f->vec;
    s_count++;
    csrc(sip, 1UL << IRQ_S_SOFT);
    __asm__ volatile("ecall");
    return 1;
}

static void s_self_ssip(void)
{
    csrs(sie, 1UL << IRQ_S_SOFT);
    csrs(sstatus, MSTATUS_SIE);
    csrs(sip, 1UL << IRQ_S_SOFT);
    while (!s_count)
        ;
    __asm__ volatile("ecall");
    for (;;)
        ;
}

static void s_wait_sti(void)
{
    csrs(sie, 1UL << IRQ_S_TIMER);
    csrs(sstatus, MSTATUS_SIE);
    while (!s_count)
        __asm__ volatile("wfi");
    __asm__ volatile("ecall");
    for (;;)
        ;
}

static void s_sstc(void)
{
    u64 t;
    __asm__ volatile("rdtime %0" : "=r"(t));
    csrw(stimecmp, t + 20000);
    csrs(sie, 1UL << IRQ_S_TIMER);
    csrs(sstatus, MSTATUS_SIE);
    while (!s_count)
        __asm__ volatile("wfi");
    __asm__ volatile("rdtime %0" : "=r"(t));
    csrw(stimecmp, ~0UL);
    __asm__ volatile("mv a0, %0\n ecall" :: "r"(t) : "a0");
    for (;;)
        ;
}

int main(void)
{
    struct trap t;
    hart = csrr(mhartid);
    printf("irq\n");
    MMIO64(CLINT_MTIMECMP(hart)) = ~0UL;

    /* software interrupt through the vectored mtvec */
    csrw(mtvec, (u64)m_vectors | 1);
    printf("mtvec mode=%lu\n", csrr(mtvec) & 3);
    csrs(mie, 1UL << IRQ_M_SOFT);
    MMIO32(CLINT_MSIP(hart)) = 1;
    printf("msip=%u mip.MSIP=%lu\n", MMIO32(CLINT_MSIP(hart)), (csrr(mip) >> 3) & 1);
    csrs(mstatus, MSTATUS_MIE);
    __asm__ volatile("nop");
    csrc(mstatus, MSTATUS_MIE);
    printf("MSI: count=%d cause=%lx vec=%ld msip after=%u\n", m_count, m_last.cause,
           m_last.vec, MMIO32(CLINT_MSIP(hart)));
    CHECK(m_count == 1 && m_last.cause == (INTR | 3) && m_last.vec == 3, "MSI vectored");

    /* an exception in vectored mode goes to the base */
    __asm__ volatile("csrw cycle, zero");
    printf("exception in vectored mode: cause=%lx vec=%ld\n", m_last.cause, m_last.vec);
    CHECK(m_last.vec == 0 && m_last.cause == 2, "exceptions use the base");

    /* timer: mtimecmp in the future, wfi until it fires */
    csrs(mie, 1UL << IRQ_M_TIMER);
    int before = m_count;
    u64 t0 = mtime();
    MMIO64(CLINT_MTIMECMP(hart)) = t0 + 10000;
    csrs(mstatus, MSTATUS_MIE);
    while (m_count == before)
        __asm__ volatile("wfi");
    csrc(mstatus, MSTATUS_MIE);
    u64 t1 = mtime();
    printf("MTI: cause=%lx vec=%ld not-early=%d mtip after=%lu\n", m_last.cause, m_last.vec,
           t1 - t0 >= 10000, (csrr(mip) >> 7) & 1);
    CHECK(m_last.cause == (INTR | 7) && t1 - t0 >= 10000, "MTI");
    csrw(mtvec, (u64)m_trap_entry);

    /* WFI wakes on a pending enabled interrupt even with MIE=0 */
    before = m_count;
    csrw(mie, 1UL << IRQ_M_TIMER);
    MMIO64(CLINT_MTIMECMP(hart)) = mtime() + 10000;
    while (!(csrr(mip) & (1UL << IRQ_M_TIMER)))
        __asm__ volatile("wfi");
    printf("WFI with MIE=0: woke, mtip=%lu trapped=%d\n", (csrr(mip) >> 7) & 1, m_count != before);
    CHECK(m_count == before, "no trap with MIE=0");
    MMIO64(CLINT_MTIMECMP(hart)) = ~0UL;
    printf("mtimecmp=-1: mtip=%lu\n", (csrr(mip) >> 7) & 1);

    /* priority: MSI before MTI.  (The spec puts SSI after both; qemu 7.2
       takes a pending SSI first, so the reference cannot judge that.) */
    m_hook = m_record;
    MMIO32(CLINT_MSIP(hart)) = 1;
    MMIO64(CLINT_MTIMECMP(hart)) = 0;
    csrw(mie, (1UL << IRQ_M_SOFT) | (1UL << IRQ_M_TIMER));
    printf("pending mip=%lx\n", csrr(mip) & 0xaaa);
    csrs(mstatus, MSTATUS_MIE);
    __asm__ volatile("nop");
    csrc(mstatus, MSTATUS_MIE);
    printf("order:");
    for (int i = 0; i < norder; i++)
        printf(" %d", order[i]);
    printf("\n");
    CHECK(norder == 2 && order[0] == 3 && order[1] == 7, "priority");
    m_hook = 0;

    /* M interrupts are taken in U whatever MIE says; at the first insn */
    csrw(mie, 1UL << IRQ_M_SOFT);
    MMIO32(CLINT_MSIP(hart)) = 1;
    run_in(MODE_U, (uintptr_t)sn_spin, 0, 0, &t);
    printf("MSI in U with MIE=0: cause=%lx at-entry=%d\n", t.cause, t.epc == (u64)sn_spin);
    CHECK(t.cause == (INTR | 3), "MSI from U");
    MMIO32(CLINT_MSIP(hart)) = 0;
    csrw(mie, 0);

    /* delegation: SSIP to S, vectored stvec */
    csrw(mideleg, (1UL << IRQ_S_SOFT) | (1UL << IRQ_S_TIMER) | (1UL << IRQ_S_EXT));
    /* the S-level bits only: qemu 7.2 also has the H extension's VS bits */
    printf("mideleg=%lx\n", csrr(mideleg) & 0x222);
    csrw(stvec, (u64)s_vectors | 1);
    s_count = 0;
    run_in(MODE_S, (uintptr_t)s_self_ssip, 0, 0, &t);
    printf("SSI in S: cause=%lx vec=%ld; then M: cause=%lx\n", s_last.cause, s_last.vec, t.cause);
    CHECK(s_last.cause == (INTR | 1) && s_last.vec == 1 && t.cause == 9, "SSI delegated");

    /* a delegated interrupt is not taken in M */
    before = m_count;
    csrs(mie, 1UL << IRQ_S_SOFT);
    csrs(mip, 1UL << IRQ_S_SOFT);
    csrs(mstatus, MSTATUS_MIE);
    __asm__ volatile("nop");
    csrc(mstatus, MSTATUS_MIE);
    printf("delegated SSI pending in M: taken=%d\n", m_count != before);
    CHECK(m_count == before, "delegated interrupt taken in M");

    /* and is taken in U even with SIE=0 */
    s_count = 0;
    s_hook = s_then_m;
    csrc(mstatus, MSTATUS_SIE);
    run_in(MODE_U, (uintptr_t)sn_spin, 0, 0, &t);
    s_hook = 0;
    printf("SSI in U: S saw cause=%lx vec=%ld at-entry=%d; M saw cause=%lx\n", s_last.cause,
           s_last.vec, s_last.epc == (u64)sn_spin, t.cause);
    CHECK(s_count == 1 && s_last.cause == (INTR | 1) && t.cause == 9, "SSI from U");
    csrw(mie, 0);

    /* STIP set by M, taken by S */
    s_count = 0;
    csrs(mip, 1UL << IRQ_S_TIMER);
    run_in(MODE_S, (uintptr_t)s_wait_sti, 0, 0, &t);
    printf("STIP from M: S saw cause=%lx vec=%ld\n", s_last.cause, s_last.vec);
    CHECK(s_last.cause == (INTR | 5), "STI");
    csrc(mip, 1UL << IRQ_S_TIMER);

    /* Sstc: stimecmp needs menvcfg.STCE */
    csrw(mcounteren, 2);
    run_in(MODE_S, (uintptr_t)sn_stimecmp, 0, 0, &t);
    printf("stimecmp in S, STCE=0: cause=%lx\n", t.cause);
    CHECK(t.cause == 2, "stimecmp without STCE");
    csrs(menvcfg, 1UL << 63);
    printf("menvcfg.STCE=%lu\n", csrr(menvcfg) >> 63);
    csrw(stimecmp, 0);
    printf("stimecmp=0: mip.STIP=%lu\n", (csrr(mip) >> 5) & 1);
    csrw(stimecmp, ~0UL);
    printf("stimecmp=-1: mip.STIP=%lu\n", (csrr(mip) >> 5) & 1);
    s_count = 0;
    u64 start;
    __asm__ volatile("rdtime %0" : "=r"(start));
    run_in(MODE_S, (uintptr_t)s_sstc, 0, 0, &t);
    printf("Sstc: S saw cause=%lx vec=%ld not-early=%d\n", s_last.cause, s_last.vec,
           t.a0 - start >= 20000);
    CHECK(s_last.cause == (INTR | 5) && t.a0 - start >= 20000, "Sstc timer");
    csrw(mideleg, 0);
    return failures();
}
