/* counters.c - cycle, time and instret: readable and advancing in M;
 * mcounteren gates S and U, scounteren gates U (illegal instruction with
 * the instruction in mtval when disabled).  Only deterministic facts are
 * printed, never raw counts. */
#include "check.h"

__asm__(".pushsection .text\n"
        "sn_cycle: csrr a0, cycle\n ecall\n"
        "sn_time: csrr a0, time\n ecall\n"
        "sn_instret: csrr a0, instret\n ecall\n"
        "sn_hpm3: csrr a0, hpmcounter3\n ecall\n"
        ".popsection\n");
extern char sn_cycle[], sn_time[], sn_instret[], sn_hpm3[];

static void probe(const char *what, unsigned mode)
{
    static char *sn[] = { sn_cycle, sn_time, sn_instret, sn_hpm3 };
    static const char *nm[] = { "cycle", "time", "instret", "hpmcounter3" };
    struct trap t;
    printf("%s %c:", what, mode ? 'S' : 'U');
    for (int i = 0; i < 4; i++) {
        run_in(mode, (uintptr_t)sn[i], 0, 0, &t);
        printf(" %s=%s", nm[i], t.cause == 2 ? "illegal" : t.cause == 8 || t.cause == 9 ? "ok" : "?");
        if (t.cause == 2)
            printf("(%lx)", t.tval);
    }
    printf("\n");
}

int main(void)
{
    u64 c0, c1, i0, i1, t0, t1;
    printf("counters\n");
    __asm__ volatile("rdcycle %0\n rdinstret %1\n rdtime %2" : "=r"(c0), "=r"(i0), "=r"(t0));
    for (volatile int i = 0; i < 10000; i++)
        ;
    __asm__ volatile("rdcycle %0\n rdinstret %1\n rdtime %2" : "=r"(c1), "=r"(i1), "=r"(t1));
    printf("M: cycle advanced=%d instret advanced=%d time advanced=%d\n", c1 > c0, i1 > i0, t1 > t0);
    CHECK(c1 > c0 && i1 > i0 && t1 > t0, "counters advance");
    u64 m0 = mtime();
    __asm__ volatile("rdtime %0" : "=r"(t0));
    u64 m1 = mtime();
    printf("M: time between two mtime reads=%d\n", t0 >= m0 && t0 <= m1);
    CHECK(t0 >= m0 && t0 <= m1, "time is mtime");
    csrw(minstret, 1000000);
    __asm__ volatile("rdinstret %0" : "=r"(i0));
    printf("M: instret after minstret=1000000: >= %d\n", i0 >= 1000000);

    csrw(mcounteren, 0);
    csrw(scounteren, 0);
    probe("mcounteren=0", MODE_S);
    probe("mcounteren=0", MODE_U);
    csrw(mcounteren, 7);
    printf("mcounteren=%lx\n", csrr(mcounteren));
    probe("mcounteren=7 scounteren=0", MODE_S);
    probe("mcounteren=7 scounteren=0", MODE_U);
    csrw(scounteren, 5);
    probe("mcounteren=7 scounteren=5", MODE_U);
    csrw(scounteren, 7);
    csrw(mcounteren, 2);
    probe("mcounteren=2 scounteren=7", MODE_U);
    struct trap t;
    csrw(mcounteren, 0);
    run_in(MODE_S, (uintptr_t)sn_cycle, 0, 0, &t);
    CHECK(t.cause == 2 && t.tval == 0xc0002573, "cycle gated");
    return failures();
}
