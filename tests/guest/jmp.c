/* jmp.c - setjmp/longjmp out of deep recursion and back, many times,
 * with callee-saved registers holding live values.  Portable. */
#include <setjmp.h>
#include <stdio.h>

static jmp_buf env;
static int depth_reached;

static int recurse(int n, int limit)
{
    volatile int local = n * 3;
    if (n == limit) {
        depth_reached = n;
        longjmp(env, n + 1);
    }
    return recurse(n + 1, limit) + local;
}

int main(void)
{
    long total = 0;
    for (int i = 0; i < 200; i++) {
        register long keep = i * 1000003L;
        volatile long kept = keep;
        int r = setjmp(env);
        if (r == 0) {
            recurse(0, i % 50);
        } else {
            total += r + depth_reached + (kept % 1000);
        }
    }
    printf("total %ld\n", total);
    jmp_buf a;
    volatile int count = 0;
    if (setjmp(a) < 5) {
        count++;
        if (count < 5)
            longjmp(a, count);
    }
    printf("count %d\n", count);
    return 0;
}
