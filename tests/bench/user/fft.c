/* fft.c - floating point: iterative radix-2 complex FFT, forward and
 * inverse, on 2^18 points. */
#include <math.h>
#include "bench.h"

static void fft(double *re, double *im, int n, int inv)
{
    for (int i = 1, j = 0; i < n; i++) {
        int bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) { double t = re[i]; re[i] = re[j]; re[j] = t; t = im[i]; im[i] = im[j]; im[j] = t; }
    }
    for (int len = 2; len <= n; len <<= 1) {
        double ang = 2 * 3.141592653589793 / len * (inv ? -1 : 1);
        double wr = cos(ang), wi = sin(ang);
        for (int i = 0; i < n; i += len) {
            double cr = 1, ci = 0;
            for (int j = 0; j < len / 2; j++) {
                double ur = re[i + j], ui = im[i + j];
                double vr = re[i + j + len / 2] * cr - im[i + j + len / 2] * ci;
                double vi = re[i + j + len / 2] * ci + im[i + j + len / 2] * cr;
                re[i + j] = ur + vr; im[i + j] = ui + vi;
                re[i + j + len / 2] = ur - vr; im[i + j + len / 2] = ui - vi;
                double t = cr * wr - ci * wi;
                ci = cr * wi + ci * wr; cr = t;
            }
        }
    }
    if (inv) for (int i = 0; i < n; i++) { re[i] /= n; im[i] /= n; }
}

int main(int argc, char **argv)
{
    int n = 1 << 18;
    int rounds = (int)(155 * bench_scale(argc, argv)) + 1;
    double *re = malloc(n * sizeof(double)), *im = malloc(n * sizeof(double));
    for (int i = 0; i < n; i++) { re[i] = (double)(bench_rand() % 2000) / 1000.0 - 1; im[i] = 0; }
    double chk = 0;
    for (int r = 0; r < rounds; r++) {
        fft(re, im, n, 0);
        chk += fabs(re[r + 1]) + fabs(im[r + 3]);
        fft(re, im, n, 1);
    }
    printf("fft: %.6f %.6f\n", chk, re[12345]);
    return 0;
}
