/* sort.c - integer: quicksort and merge sort of 64-bit keys. */
#include <string.h>
#include "bench.h"

static void qs(uint64_t *a, long lo, long hi)
{
    while (lo < hi) {
        uint64_t p = a[(lo + hi) / 2];
        long i = lo, j = hi;
        while (i <= j) {
            while (a[i] < p) i++;
            while (a[j] > p) j--;
            if (i <= j) { uint64_t t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
        }
        if (j - lo < hi - i) { qs(a, lo, j); lo = i; } else { qs(a, i, hi); hi = j; }
    }
}

static void ms(uint64_t *a, uint64_t *tmp, size_t n)
{
    if (n < 2) return;
    size_t h = n / 2;
    ms(a, tmp, h);
    ms(a + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = a[i] <= a[j] ? a[i++] : a[j++];
    while (i < h) tmp[k++] = a[i++];
    while (j < n) tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof(*a));
}

int main(int argc, char **argv)
{
    size_t n = 2000000;
    int rounds = (int)(16 * bench_scale(argc, argv)) + 1;
    uint64_t *a = malloc(n * 8), *t = malloc(n * 8), sum = 0;
    for (int r = 0; r < rounds; r++) {
        for (size_t i = 0; i < n; i++) a[i] = bench_rand() % 1000000007u;
        if (r & 1) ms(a, t, n); else qs(a, 0, (long)n - 1);
        for (size_t i = 1; i < n; i += 1000) sum += a[i] + (a[i - 1] <= a[i]);
    }
    printf("sort: %llu\n", (unsigned long long)sum);
    return 0;
}
