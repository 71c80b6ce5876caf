/* spmv.c - floating point: conjugate gradient on a sparse symmetric
 * positive definite matrix in CSR form (2-D Laplacian). */
#include <math.h>
#include "bench.h"

int main(int argc, char **argv)
{
    int g = 400, n = g * g;
    int iters = (int)(3000 * bench_scale(argc, argv)) + 1;
    int *rp = malloc((n + 1) * sizeof(int)), *ci = malloc(5 * n * sizeof(int));
    double *v = malloc(5 * n * sizeof(double));
    int nz = 0;
    for (int i = 0; i < g; i++)
        for (int j = 0; j < g; j++) {
            int r = i * g + j;
            rp[r] = nz;
            if (i > 0) { ci[nz] = r - g; v[nz++] = -1; }
            if (j > 0) { ci[nz] = r - 1; v[nz++] = -1; }
            ci[nz] = r; v[nz++] = 4.01;
            if (j < g - 1) { ci[nz] = r + 1; v[nz++] = -1; }
            if (i < g - 1) { ci[nz] = r + g; v[nz++] = -1; }
        }
    rp[n] = nz;
    double *x = calloc(n, sizeof(double)), *b = malloc(n * sizeof(double)), *r = malloc(n * sizeof(double));
    double *p = malloc(n * sizeof(double)), *ap = malloc(n * sizeof(double));
    for (int i = 0; i < n; i++) b[i] = r[i] = p[i] = (double)(bench_rand() % 100) / 100.0;
    double rr = 0;
    for (int i = 0; i < n; i++) rr += r[i] * r[i];
    for (int it = 0; it < iters; it++) {
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int k = rp[i]; k < rp[i + 1]; k++) s += v[k] * p[ci[k]];
            ap[i] = s;
        }
        double pap = 0;
        for (int i = 0; i < n; i++) pap += p[i] * ap[i];
        double alpha = rr / pap, rr2 = 0;
        for (int i = 0; i < n; i++) { x[i] += alpha * p[i]; r[i] -= alpha * ap[i]; rr2 += r[i] * r[i]; }
        double beta = rr2 / rr;
        rr = rr2;
        for (int i = 0; i < n; i++) p[i] = r[i] + beta * p[i];
    }
    printf("spmv: %.9e %.9f\n", sqrt(rr), x[n / 2]);
    return 0;
}
