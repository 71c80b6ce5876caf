/* smp.c - two harts hammer the same words: amoadd.w, amoadd.d, an LR/SC
 * increment, and a plain increment under an amoswap spinlock.  Hart 0
 * waits for hart 1 and checks the exact totals. */
#include "check.h"

#define N 500000
/* in .data: hart 1 starts before hart 0 has cleared .bss */
static volatile u32 cnt_w = 0, lock = 0;
static volatile u64 cnt_d = 0, cnt_lrsc = 0, cnt_plain = 0, sc_retries[2] = { 0, 0 };
static volatile u32 go = 0, finished = 0;

static void work(u64 hart)
{
    u64 retries = 0;
    for (int i = 0; i < N; i++) {
        __asm__ volatile("amoadd.w zero, %1, (%0)" :: "r"(&cnt_w), "r"(1) : "memory");
        __asm__ volatile("amoadd.d zero, %1, (%0)" :: "r"(&cnt_d), "r"(1L) : "memory");
        u64 v, fail;
        do {
            __asm__ volatile("lr.d %0, (%2)\n addi %0, %0, 1\n sc.d %1, %0, (%2)"
                             : "=&r"(v), "=&r"(fail) : "r"(&cnt_lrsc) : "memory");
            retries += fail != 0;
        } while (fail);
        u32 old;
        do {
            __asm__ volatile("amoswap.w.aq %0, %2, (%1)" : "=r"(old) : "r"(&lock), "r"(1) : "memory");
        } while (old);
        cnt_plain = cnt_plain + 1;
        __asm__ volatile("amoswap.w.rl zero, zero, (%0)" :: "r"(&lock) : "memory");
    }
    sc_retries[hart] = retries;
}

void secondary(u64 hart)
{
    if (hart != 1)
        return;
    while (!go)
        ;
    work(1);
    __asm__ volatile("fence rw, rw");
    finished = 1;
}

int main(void)
{
    printf("smp\n");
    go = 1;
    work(0);
    u64 t0 = mtime();
    while (!finished)
        if (mtime() - t0 > 10000000UL * 60) {
            printf("FAIL: hart 1 never finished\n");
            return 1;
        }
    __asm__ volatile("fence rw, rw");
    printf("amoadd.w total=%u\n", cnt_w);
    printf("amoadd.d total=%lu\n", cnt_d);
    printf("lr/sc total=%lu\n", cnt_lrsc);
    printf("locked plain total=%lu\n", cnt_plain);
    CHECK(cnt_w == 2 * N, "amoadd.w lost updates");
    CHECK(cnt_d == 2 * N, "amoadd.d lost updates");
    CHECK(cnt_lrsc == 2 * N, "lr/sc lost updates");
    CHECK(cnt_plain == 2 * N, "spinlock lost updates");
    return failures();
}
