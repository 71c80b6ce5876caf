/* loops.c - short loops under a storm of timer interrupts.  Translated
 * loops check for a waiting interrupt on their back edge; taking it must
 * resume the loop exactly where it was: a loop that had just finished must
 * not run once more (it did: a check before the branch resumed a finished
 * loop at its start, and a count-down loop then ran for 2^64 rounds). */
#include "runtime.h"
#include "check.h"

static volatile unsigned long ticks;

static int tick(struct frame *f, u64 cause)
{
    (void)f;
    if (!(cause & (1UL << 63)))
        return 0;
    ticks++;
    MMIO64(CLINT_MTIMECMP(0)) = mtime() + 7;    /* again in 0.7 us */
    return 1;
}

/* t1 counts the rounds of a count-down loop of n */
static u64 count_down(u64 n)
{
    u64 done;
    __asm__ volatile("mv t0, %1\n"
                     "li %0, 0\n"
                     "1: addi %0, %0, 1\n"
                     "addi t0, t0, -1\n"
                     "bnez t0, 1b\n"
                     : "=&r"(done) : "r"(n) : "t0");
    return done;
}

/* the same with the exit test first (a side exit, then a jump back) */
static u64 count_up(u64 n)
{
    u64 i;
    __asm__ volatile("li %0, 0\n"
                     "1: beq %0, %1, 2f\n"
                     "addi %0, %0, 1\n"
                     "j 1b\n"
                     "2:\n"
                     : "=&r"(i) : "r"(n));
    return i;
}

int main(void)
{
    m_hook = tick;
    csrw(mtvec, (u64)m_trap_entry);
    csrs(mie, 1UL << IRQ_M_TIMER);
    MMIO64(CLINT_MTIMECMP(0)) = mtime() + 7;
    csrs(mstatus, MSTATUS_MIE);
    u64 bad = 0;
    /* until a thousand interrupts came (bounded: a machine whose timer
     * never fires ends too) */
    for (u64 k = 0; ticks < 1000 && k < 20000000; k++) {
        u64 n = 1 + (k % 9);
        if (count_down(n) != n || count_up(n) != n)
            bad++;
    }
    csrc(mstatus, MSTATUS_MIE);
    MMIO64(CLINT_MTIMECMP(0)) = ~0UL;
    printf("short loops with interrupts: %lu wrong counts, interrupted: %s\n", bad,
           ticks >= 1000 ? "yes" : "no");
    CHECK(bad == 0, "every loop ran its count");
    CHECK(ticks >= 1000, "the timer interrupted the loops");
    return failures();
}
