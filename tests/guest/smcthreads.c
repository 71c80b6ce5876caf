/* smcthreads.c - one thread rewrites code (fence.i: the translator throws
 * every translation away) while others run code they did not write,
 * through a jump table, so that they look blocks up again right when the
 * translations go.  Each must compute what it computed before, and the
 * rewritten code must return what was last written.  RISC-V only. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>

#define WORKERS 3
#define ROUNDS 200          /* flushes: many times the translator's 32 retired code caches */

static volatile int done, started;

/* One pass: 256 cases, a block each, reached by an indirect jump. */
static __attribute__((noinline)) uint64_t pass(uint64_t acc)
{
    for (unsigned i = 0; i < 512; i++) {
        switch ((i * 37u) & 255u) {
#define C(n) case n: acc = acc * 31 + (n ^ (acc >> 7)); break;
#define C8(n) C(n) C(n + 1) C(n + 2) C(n + 3) C(n + 4) C(n + 5) C(n + 6) C(n + 7)
#define C64(n) C8(n) C8(n + 8) C8(n + 16) C8(n + 24) C8(n + 32) C8(n + 40) C8(n + 48) C8(n + 56)
        C64(0) C64(64) C64(128) C64(192)
        }
    }
    return acc;
}

static void *worker(void *arg)
{
    uint64_t want = pass((uintptr_t)arg);
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    long bad = 0, n = 0;
    while (!done || n < 200) {
        if (pass((uintptr_t)arg) != want)
            bad++;
        n++;
    }
    return (void *)bad;
}

typedef long (*fn_t)(void);

int main(void)
{
    uint32_t *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED) {
        printf("mmap failed\n");
        return 1;
    }
    pthread_t t[WORKERS];
    for (long i = 0; i < WORKERS; i++)
        pthread_create(&t[i], NULL, worker, (void *)(i + 1));
    while (started < WORKERS)     /* flush while they run */
        ;
    long wrong = 0;
    for (int k = 0; k < ROUNDS; k++) {
        uint32_t *p = code + 2 * k;
        p[0] = ((uint32_t)(k + 100) << 20) | (10 << 7) | 0x13;     /* li a0, k+100 */
        p[1] = 0x00008067;                                          /* ret */
        __asm__ volatile("fence.i" ::: "memory");
        if (((fn_t)(uintptr_t)p)() != k + 100)
            wrong++;
        for (int i = 0; i < 20; i++)    /* let the workers run a while */
            pass((uint64_t)k);
    }
    done = 1;
    long bad = 0;
    for (int i = 0; i < WORKERS; i++) {
        void *r;
        pthread_join(t[i], &r);
        bad += (long)r;
    }
    printf("rewritten code wrong %ld times, workers wrong %ld times\n", wrong, bad);
    return wrong || bad;
}
