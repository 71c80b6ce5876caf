/* matmul.c - floating point: blocked double-precision matrix multiply. */
#include "bench.h"

int main(int argc, char **argv)
{
    int n = 384;
    int rounds = (int)(170 * bench_scale(argc, argv)) + 1;
    double *a = malloc(sizeof(double) * n * n), *b = malloc(sizeof(double) * n * n), *c = malloc(sizeof(double) * n * n);
    for (int i = 0; i < n * n; i++) { a[i] = (double)(bench_rand() % 1000) / 999.0; b[i] = (double)(bench_rand() % 1000) / 777.0; }
    double sum = 0;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < n * n; i++) c[i] = 0;
        for (int ii = 0; ii < n; ii += 32)
            for (int kk = 0; kk < n; kk += 32)
                for (int i = ii; i < ii + 32; i++)
                    for (int k = kk; k < kk + 32; k++) {
                        double aik = a[i * n + k];
                        for (int j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
                    }
        sum += c[(r * 7919) % (n * n)];
        a[r] += 1.0;
    }
    printf("matmul: %.6f\n", sum);
    return 0;
}
