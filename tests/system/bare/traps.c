/* traps.c - ecall from U/S/M, mret/sret and the MPP/MPIE/SPP/SPIE stack,
 * illegal instructions (mtval = the instruction), ebreak, medeleg, and
 * the Sdtrig CSRs that M-mode probes for triggers. */
#include "check.h"

/* one-instruction snippets, each run in a lower mode until it traps */
__asm__(".pushsection .text\n"
        ".option push\n.option norvc\n"
        "sn_mstatus: csrr a0, mstatus\n"
        "sn_mret: mret\n"
        "sn_sret: sret\n"
        "sn_wfi: wfi\n"
        "sn_satp: csrr a0, satp\n"
        "sn_sfence: sfence.vma\n"
        "sn_ecall_ebreak: ecall\n ebreak\n"
        "sn_ill_ebreak: .word 0xffffffff\n ebreak\n"
        "sn_sstatus: csrr a0, sstatus\n ecall\n"
        "sn_tselect: csrr a0, tselect\n"
        ".option pop\n"
        ".popsection\n");
extern char sn_mstatus[], sn_mret[], sn_sret[], sn_wfi[], sn_satp[], sn_sfence[];
extern char sn_ecall_ebreak[], sn_ill_ebreak[], sn_sstatus[], sn_tselect[];

#define ST_BITS (MSTATUS_MIE | MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_SIE | \
                 MSTATUS_SPIE | MSTATUS_SPP)

/* S: sret to S with SPP=1, SPIE=1, SIE=0; report sstatus after it */
static void s_sret_self(void)
{
    u64 st;
    csrc(sstatus, MSTATUS_SIE);
    csrs(sstatus, MSTATUS_SPP | MSTATUS_SPIE);
    __asm__ volatile("la t0, 1f\n csrw sepc, t0\n sret\n1:" ::: "t0", "memory");
    st = csrr(sstatus);
    __asm__ volatile("mv a0, %0\n ecall" :: "r"(st) : "a0");
    for (;;)
        ;
}

/* S: sret to U at sn_sstatus?  U cannot read sstatus: it traps (illegal) */
static void s_to_u(void)
{
    csrc(sstatus, MSTATUS_SPP);
    csrw(sepc, (u64)u_ecall);
    __asm__ volatile("sret");
    for (;;)
        ;
}

static void run(const char *what, unsigned mode, void *pc, struct trap *t)
{
    run_in(mode, (uintptr_t)pc, 0, 0, t);
    printf("%s: cause=%lx tval=%lx epc=%lx mpp=%lu mpie=%lu\n", what, t->cause,
           t->tval, t->epc, (t->status >> 11) & 3, (t->status >> 7) & 1);
}

int main(void)
{
    struct trap t;
    u64 pc, st;

    printf("traps\n");
    /* ecall from M: handled in M, mepc at the ecall */
    __asm__ volatile("la %0, 1f\n1: ecall" : "=r"(pc));
    printf("ecall M: cause=%lx epc-at-ecall=%d count=%d\n", m_last.cause,
           m_last.epc == pc, m_count);
    CHECK(m_last.cause == 11 && m_last.epc == pc, "ecall from M");

    run("ecall S", MODE_S, u_ecall, &t);
    CHECK(t.cause == 9 && t.epc == (u64)u_ecall && ((t.status >> 11) & 3) == 1, "ecall from S");
    run("ecall U", MODE_U, u_ecall, &t);
    CHECK(t.cause == 8 && ((t.status >> 11) & 3) == 0, "ecall from U");

    /* MPIE follows MIE across mret and the trap */
    csrs(mstatus, MSTATUS_MPIE);
    run("MPIE=1 before mret", MODE_S, u_ecall, &t);
    CHECK(t.status & MSTATUS_MPIE, "MIE=1 in S (from MPIE) must become MPIE=1");
    csrc(mstatus, MSTATUS_MPIE);
    run("MPIE=0 before mret", MODE_S, u_ecall, &t);
    CHECK(!(t.status & MSTATUS_MPIE), "MPIE must be 0");

    /* mret to M: MPP becomes U (the least privileged mode), MPIE 1 */
    csrs(mstatus, MSTATUS_MPP);
    csrc(mstatus, MSTATUS_MPIE | MSTATUS_MIE);
    __asm__ volatile("la t0, 1f\n csrw mepc, t0\n mret\n1:" ::: "t0", "memory");
    st = csrr(mstatus);
    printf("after mret to M: mstatus&bits=%lx\n", st & ST_BITS);
    CHECK(((st >> 11) & 3) == 0 && (st & MSTATUS_MPIE) && !(st & MSTATUS_MIE), "mret to M");

    /* sret to S: SPP becomes U, SPIE 1, SIE from SPIE */
    run_in(MODE_S, (uintptr_t)s_sret_self, 0, 0, &t);
    printf("after sret to S: sstatus&bits=%lx (trap cause=%lx)\n", t.a0 & ST_BITS, t.cause);
    CHECK(!(t.a0 & MSTATUS_SPP) && (t.a0 & MSTATUS_SPIE) && (t.a0 & MSTATUS_SIE), "sret to S");
    /* sret from S to U */
    run("sret S->U, ecall", MODE_S, s_to_u, &t);
    CHECK(t.cause == 8, "sret to U");

    /* illegal instructions: mtval holds the instruction */
    __asm__ volatile("la %0, 1f\n1: csrw cycle, zero" : "=r"(pc));
    printf("csrw cycle in M: cause=%lx tval=%lx epc-ok=%d\n", m_last.cause, m_last.tval, m_last.epc == pc);
    CHECK(m_last.cause == 2 && m_last.tval == 0xc0001073, "csrw cycle");
    __asm__ volatile(".option push\n.option norvc\n la %0, 1f\n1: .word 0xffffffff\n.option pop" : "=r"(pc));
    printf("0xffffffff in M: cause=%lx tval=%lx epc-ok=%d\n", m_last.cause, m_last.tval, m_last.epc == pc);
    __asm__ volatile("la %0, 1f\n1: .half 0\n nop" : "=r"(pc));
    printf("c.unimp 0x0000 in M: cause=%lx tval=%lx epc-ok=%d\n", m_last.cause, m_last.tval, m_last.epc == pc);
    CHECK(m_last.cause == 2 && m_last.epc == pc, "16-bit zero is illegal");
    run("csrr mstatus in S", MODE_S, sn_mstatus, &t);
    CHECK(t.cause == 2 && t.tval == 0x30002573, "csrr mstatus from S");
    run("mret in S", MODE_S, sn_mret, &t);
    CHECK(t.cause == 2 && t.tval == 0x30200073, "mret from S");
    run("sret in U", MODE_U, sn_sret, &t);
    CHECK(t.cause == 2 && t.tval == 0x10200073, "sret from U");
    run("csrr sstatus in U", MODE_U, sn_sstatus, &t);
    CHECK(t.cause == 2, "sstatus from U");
    run("wfi in U", MODE_U, sn_wfi, &t);
    CHECK(t.cause == 2 && t.tval == 0x10500073, "wfi from U");
    csrs(mstatus, MSTATUS_TSR);
    run("sret in S, TSR=1", MODE_S, sn_sret, &t);
    CHECK(t.cause == 2, "TSR");
    csrc(mstatus, MSTATUS_TSR);
    csrs(mstatus, MSTATUS_TVM);
    run("csrr satp in S, TVM=1", MODE_S, sn_satp, &t);
    CHECK(t.cause == 2 && t.tval == 0x18002573, "TVM satp");
    run("sfence.vma in S, TVM=1", MODE_S, sn_sfence, &t);
    CHECK(t.cause == 2 && t.tval == 0x12000073, "TVM sfence.vma");
    csrc(mstatus, MSTATUS_TVM);
    run("csrr satp in S, TVM=0", MODE_S, sn_satp, &t);
    CHECK(t.cause == 9, "satp with TVM=0");
    csrs(mstatus, MSTATUS_TW);
    run("wfi in S, TW=1", MODE_S, sn_wfi, &t);
    CHECK(t.cause == 2 && t.tval == 0x10500073, "TW");
    csrc(mstatus, MSTATUS_TW);

    /* triggers: M-mode finds out which exist by writing tselect, reading
     * it back and reading tdata1's type (riscv-tests' breakpoint test,
     * OpenSBI); none of that traps, whatever triggers there are (type 0:
     * none at this tselect, 2: an address/data match trigger).  The
     * CSRs are M-only. */
    int before_trig = m_count;
    csrw(tselect, 0);
    u64 tsel = csrr(tselect);
    u64 ttype = csrr(tdata1) >> 60;
    printf("tselect probe in M: traps=%d tselect=%lx type-none-or-match=%d\n",
           m_count - before_trig, tsel, ttype == 0 || ttype == 2);
    CHECK(m_count == before_trig && tsel == 0, "tselect/tdata1 from M");
    run("csrr tselect in S", MODE_S, sn_tselect, &t);
    CHECK(t.cause == 2 && t.tval == 0x7a002573, "tselect from S");

    /* ebreak and c.ebreak in M */
    __asm__ volatile(".option push\n.option norvc\n la %0, 1f\n1: ebreak\n.option pop" : "=r"(pc));
    printf("ebreak in M: cause=%lx tval-is-pc=%d tval-is-0=%d epc-ok=%d\n", m_last.cause,
           m_last.tval == pc, m_last.tval == 0, m_last.epc == pc);
    CHECK(m_last.cause == 3 && m_last.epc == pc, "ebreak");
    __asm__ volatile(".option push\n.option rvc\n la %0, 1f\n1: c.ebreak\n .option pop" : "=r"(pc));
    printf("c.ebreak in M: cause=%lx epc-ok=%d\n", m_last.cause, m_last.epc == pc);
    CHECK(m_last.cause == 3 && m_last.epc == pc, "c.ebreak");

    /* medeleg: ecall from U and illegal instructions go to S */
    csrw(stvec, (u64)s_trap_entry);
    csrw(medeleg, (1UL << 8) | (1UL << 2) | (1UL << 9));
    printf("medeleg=%lx\n", csrr(medeleg));
    s_count = 0;
    run("U ecall;ebreak (ecall delegated)", MODE_U, sn_ecall_ebreak, &t);
    printf("  S saw: cause=%lx tval=%lx epc=%lx spp=%lu spie=%lu count=%d\n", s_last.cause,
           s_last.tval, s_last.epc, (s_last.status >> 8) & 1, (s_last.status >> 5) & 1, s_count);
    CHECK(s_count == 1 && s_last.cause == 8 && s_last.epc == (u64)sn_ecall_ebreak, "delegated ecall");
    CHECK(t.cause == 3 && t.epc == (u64)sn_ecall_ebreak + 4, "ebreak after a delegated ecall");
    run("U illegal;ebreak (delegated)", MODE_U, sn_ill_ebreak, &t);
    printf("  S saw: cause=%lx tval=%lx epc=%lx spp=%lu count=%d\n", s_last.cause,
           s_last.tval, s_last.epc, (s_last.status >> 8) & 1, s_count);
    CHECK(s_count == 2 && s_last.cause == 2, "delegated illegal instruction");
    run("S ecall;ebreak (ecall from S delegated)", MODE_S, sn_ecall_ebreak, &t);
    printf("  S saw: cause=%lx epc=%lx spp=%lu count=%d\n", s_last.cause, s_last.epc,
           (s_last.status >> 8) & 1, s_count);
    CHECK(s_count == 3 && s_last.cause == 9 && (s_last.status & MSTATUS_SPP), "S ecall to S");
    /* an M-mode exception is never delegated */
    int before = m_count;
    __asm__ volatile("csrw cycle, zero");
    printf("M illegal with medeleg set: handled in M=%d\n", m_count == before + 1);
    CHECK(m_count == before + 1, "M exceptions stay in M");
    csrw(medeleg, 0);
    return failures();
}
