/* chase.c - memory bound: pointer chasing through a random cyclic
 * permutation of a 64 MiB array (cache and TLB misses). */
#include "bench.h"

int main(int argc, char **argv)
{
    long n = 4 << 20;
    long steps = (long)(17500000 * bench_scale(argc, argv)) + 1;
    uint64_t *next = malloc(n * sizeof(uint64_t));
    for (long i = 0; i < n; i++) next[i] = (uint64_t)i;
    for (long i = n - 1; i > 0; i--) {   /* Sattolo: one cycle */
        long j = (long)(bench_rand() % (uint64_t)i);
        uint64_t t = next[i]; next[i] = next[j]; next[j] = t;
    }
    uint64_t p = 0, sum = 0;
    for (long s = 0; s < steps; s++) { p = next[p]; sum += p; }
    printf("chase: %llu\n", (unsigned long long)sum);
    return 0;
}
