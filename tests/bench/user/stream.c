/* stream.c - memory bound: STREAM-style copy, scale, add, triad over
 * arrays far larger than the caches. */
#include "bench.h"

int main(int argc, char **argv)
{
    long n = 8 << 20;
    int rounds = (int)(90 * bench_scale(argc, argv)) + 1;
    double *a = malloc(n * sizeof(double)), *b = malloc(n * sizeof(double)), *c = malloc(n * sizeof(double));
    for (long i = 0; i < n; i++) { a[i] = 1.0; b[i] = 2.0; c[i] = 0.0; }
    for (int r = 0; r < rounds; r++) {
        for (long i = 0; i < n; i++) c[i] = a[i];
        for (long i = 0; i < n; i++) b[i] = 3.0 * c[i];
        for (long i = 0; i < n; i++) c[i] = a[i] + b[i];
        for (long i = 0; i < n; i++) a[i] = b[i] + 3.0 * c[i];
    }
    double s = 0;
    for (long i = 0; i < n; i += 4096) s += a[i] + b[i] + c[i];
    printf("stream: %.3e\n", s);
    return 0;
}
