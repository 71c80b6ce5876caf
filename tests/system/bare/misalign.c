/* misalign.c - misaligned loads and stores in M, S and U (qemu 7.2 does
 * them without trapping), misaligned AMOs and LR/SC (address-misaligned or
 * access faults: whatever the reference does). */
#include "check.h"

static unsigned char buf[64] __attribute__((aligned(64)));
static struct trap t;

__asm__(".pushsection .text\n"
        "sn_amow: amoadd.w a1, a1, (a0)\n ecall\n"
        "sn_lrw: lr.w a1, (a0)\n ecall\n"
        "sn_lh: lh a1, 0(a0)\n ecall\n"
        "sn_sw: sw a1, 0(a0)\n ecall\n"
        ".popsection\n");
extern char sn_amow[], sn_lrw[], sn_lh[], sn_sw[];

/* A misaligned AMO may raise cause 6 (the spec) or 4 (qemu 7.2), or an
 * access fault (5/7): print the class only. */
static const char *kind(u64 cause)
{
    switch (cause) {
    case 4: case 6: return "misaligned";
    case 5: case 7: return "access-fault";
    case 8: case 9: return "no-trap";
    default: return "?";
    }
}

static void show(const char *what, unsigned mode, char *pc, u64 a0, u64 a1)
{
    run_in(mode, (uintptr_t)pc, a0, a1, &t);
    if (pc == u_amoadd || pc == sn_amow) {
        printf("%s %c: %s tval-off=%ld\n", what, "US?M"[mode], kind(t.cause),
               t.tval ? (long)(t.tval - (u64)buf) : -1L);
        return;
    }
    printf("%s %c: cause=%lx tval-off=%ld", what, "US?M"[mode], t.cause,
           t.tval ? (long)(t.tval - (u64)buf) : -1L);
    if (t.cause == 8 || t.cause == 9)
        printf(" a1=%lx", t.a1);
    printf("\n");
}

int main(void)
{
    printf("misalign\n");
    for (int i = 0; i < 64; i++)
        buf[i] = i * 7 + 1;
    u64 b = (u64)buf;
    for (unsigned mode = 0; mode < 2; mode++) {
        show("ld +1", mode, u_load, b + 1, 0);
        show("ld +7 (crosses 8)", mode, u_load, b + 7, 0);
        show("lwu +3", mode, u_loadw, b + 3, 0);
        show("lh +5", mode, sn_lh, b + 5, 0);
        show("sd +3", mode, u_store, b + 3, 0x1122334455667788UL);
        show("sw +6", mode, sn_sw, b + 6, 0xaabbccdd);
        show("amoadd.d +4", mode, u_amoadd, b + 4, 1);
        show("amoadd.w +2", mode, sn_amow, b + 2, 1);
        show("lr.d +4", mode, u_lr, b + 4, 0);
        show("lr.w +1", mode, sn_lrw, b + 1, 0);
        /* (sc.w: qemu 7.2 fails it without a trap when there is no
           reservation; the spec wants a trap: not compared) */
    }
    /* in M */
    volatile u64 *p = (volatile u64 *)(b + 9);
    int before = m_count;
    u64 v = *p;
    *(volatile u32 *)(b + 33) = 0x01020304;
    printf("M: ld +9=%lx traps=%d\n", v, m_count - before);
    u64 r;
    __asm__ volatile("li %0, 0\n amoadd.w %0, %0, (%1)" : "=&r"(r) : "r"(b + 2) : "memory");
    printf("M amoadd.w +2: traps=%d %s\n", m_count - before, kind(m_last.cause));
    CHECK(m_count - before == 1 && m_last.cause >= 4 && m_last.cause <= 7, "misaligned AMO traps");
    printf("buf:");
    for (int i = 0; i < 48; i++)
        printf(" %02x", buf[i]);
    printf("\n");
    return failures();
}
