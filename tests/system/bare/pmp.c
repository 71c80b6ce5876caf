/* pmp.c - physical memory protection: TOR, NA4 and NAPOT regions, the
 * first matching entry wins, S/U accesses outside every region fail, the
 * L bit binds M too and locks the entry.  Access faults: cause 1/5/7 with
 * the address in mtval. */
#include "check.h"

static u64 pg[4][512] __attribute__((aligned(4096)));
static struct trap t;

#define OFF 0
#define TOR (1 << 3)
#define NA4 (2 << 3)
#define NAPOT (3 << 3)
#define PR 1
#define PW 2
#define PX 4
#define PL 0x80

/* entry N's configuration byte (entries 0-7 live in pmpcfg0) */
static void cfg(int n, u64 v)
{
    u64 c = csrr(pmpcfg0);
    c &= ~(0xffUL << (8 * n));
    c |= v << (8 * n);
    csrw(pmpcfg0, c);
}

static void show(const char *what, unsigned mode, char *pc, u64 a0, u64 a1)
{
    run_in(mode, (uintptr_t)pc, a0, a1, &t);
    printf("%s %c: cause=%lx tval-ok=%d\n", what, mode ? 'S' : 'U', t.cause,
           t.cause == 8 || t.cause == 9 || t.tval == a0);
}

#define SETADDR(n, v) csrw(pmpaddr##n, (v))

int main(void)
{
    printf("pmp\n");
    u64 a = (u64)pg[0], b = (u64)pg[1], c = (u64)pg[2];
    *(u32 *)(c + 0) = 0x00000073;   /* ecall, to run from page c */

    /* TOR: entry 1 covers [pmpaddr0, pmpaddr1) = page a, read-only */
    SETADDR(0, a >> 2);
    SETADDR(1, (a + 4096) >> 2);
    cfg(0, OFF);
    cfg(1, TOR | PR);
    printf("pmpcfg0=%lx pmpaddr1 ok=%d\n", csrr(pmpcfg0), csrr(pmpaddr1) == (a + 4096) >> 2);
    show("TOR R: load", MODE_S, u_load, a + 8, 0);
    CHECK(t.cause == 9, "TOR load");
    show("TOR R: store", MODE_S, u_store, a + 8, 1);
    CHECK(t.cause == 7 && t.tval == a + 8, "TOR store");
    show("TOR R: store", MODE_U, u_store, a + 8, 1);
    CHECK(t.cause == 7, "TOR store U");
    show("TOR R: exec", MODE_S, u_jump, a, 0);
    CHECK(t.cause == 1 && t.tval == a, "TOR exec");
    show("TOR R: amoadd", MODE_S, u_amoadd, a + 8, 1);
    CHECK(t.cause == 7, "TOR AMO");
    show("below TOR: store", MODE_S, u_store, a - 8, 1);
    CHECK(t.cause == 9, "below TOR");
    /* M is not bound without L */
    pg[0][1] = 42;
    printf("M store to the TOR region: %lu\n", pg[0][1]);
    CHECK(pg[0][1] == 42, "M without L");

    /* NA4: one word of page b, no access */
    SETADDR(2, (b + 16) >> 2);
    cfg(2, NA4);
    show("NA4 word: load", MODE_S, u_loadw, b + 16, 0);
    CHECK(t.cause == 5 && t.tval == b + 16, "NA4 load");
    show("NA4 next word: load", MODE_S, u_loadw, b + 20, 0);
    CHECK(t.cause == 9, "NA4 neighbour");
    show("NA4 word: store byte", MODE_U, u_storeb, b + 19, 1);
    CHECK(t.cause == 7, "NA4 store");
    show("8 bytes over NA4: load", MODE_S, u_load, b + 16, 0);
    CHECK(t.cause == 5, "partial overlap");

    /* NAPOT: page c, execute only */
    SETADDR(3, (c | 2047) >> 2);
    cfg(3, NAPOT | PX);
    printf("pmpaddr3 readback ok=%d\n", csrr(pmpaddr3) == (c | 2047) >> 2);
    show("NAPOT X: exec", MODE_S, (char *)c, 0, 0);
    CHECK(t.cause == 9, "NAPOT exec");
    show("NAPOT X: load", MODE_S, u_load, c + 8, 0);
    CHECK(t.cause == 5, "NAPOT load");
    show("NAPOT X: exec", MODE_U, (char *)c, 0, 0);
    CHECK(t.cause == 8, "NAPOT exec U");

    /* the first match wins: entry 4 (R|W) after entry 3 changes nothing */
    SETADDR(4, (c | 2047) >> 2);
    cfg(4, NAPOT | PR | PW);
    show("NAPOT X then RW: load", MODE_S, u_load, c + 8, 0);
    CHECK(t.cause == 5, "priority");

    /* nothing matches: S and U fail (entry 15 off, entry 5 = RAM) */
    SETADDR(5, (0x80000000UL | ((128UL << 20) / 2 - 1)) >> 2);
    cfg(5, NAPOT | PR | PW | PX);
    csrw(pmpcfg2, 0);
    show("UART, no match: load", MODE_S, u_loadw, 0x10000000UL, 0);
    CHECK(t.cause == 5 && t.tval == 0x10000000UL, "no match");
    show("RAM entry: load", MODE_S, u_load, b + 64, 0);
    CHECK(t.cause == 9, "RAM entry");
    csrw(pmpcfg2, 0x1fUL << 56);
    cfg(5, OFF);

    /* L: binds M, and the entry no longer changes */
    SETADDR(6, (b | 2047) >> 2);
    cfg(6, NAPOT | PR | PL);
    int before = m_count;
    pg[1][100] = 7;
    printf("M store to a locked R region: cause=%lx tval-ok=%d faulted=%d value=%lu\n",
           m_last.cause, m_last.tval == (u64)&pg[1][100], m_count != before, pg[1][100]);
    CHECK(m_count == before + 1 && m_last.cause == 7 && pg[1][100] == 0, "L binds M");
    SETADDR(6, 0);
    cfg(6, NAPOT | PR | PW | PX);
    printf("locked entry: addr kept=%d cfg kept=%d\n", csrr(pmpaddr6) == (b | 2047) >> 2,
           ((csrr(pmpcfg0) >> 48) & 0xff) == (NAPOT | PR | PL));
    CHECK(csrr(pmpaddr6) == (b | 2047) >> 2, "locked addr");
    return failures();
}
