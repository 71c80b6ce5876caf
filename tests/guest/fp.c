/* fp.c - floating point through libc: arithmetic in all rounding modes,
 * exception flags from fenv, conversions, sqrt, fma, min/max, and printf.
 * Portable (compared with the native build); NaNs are never printed
 * directly (their sign differs between hosts), only classified. */
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static volatile double dv[] = { 0.0, -0.0, 1.0, -1.0, 0.1, 3.0, 1e308, -1e308, 1e-310, 2.5,
                                -2.5, 0.5, 1.5, 4503599627370497.0, 9.2233720368547758e18,
                                -9.3e18, 4294967296.5, -2147483648.5, INFINITY, -INFINITY };
static volatile float fv[] = { 0.0f, -0.0f, 1.0f, 0.1f, 3.0f, 3.4e38f, 1e-40f, 2.5f, -2.5f,
                               16777217.0f, -1.5f, INFINITY };

static void show_d(const char *what, double r)
{
    if (isnan(r))
        printf("%s nan\n", what);
    else
        printf("%s %a\n", what, r);
}

static void flags(const char *what)
{
    int f = fetestexcept(FE_ALL_EXCEPT);
    printf("%s flags:%s%s%s%s%s\n", what, f & FE_INVALID ? " NV" : "", f & FE_DIVBYZERO ? " DZ" : "",
           f & FE_OVERFLOW ? " OF" : "", f & FE_UNDERFLOW ? " UF" : "", f & FE_INEXACT ? " NX" : "");
    feclearexcept(FE_ALL_EXCEPT);
}

int main(void)
{
    static const int modes[] = { FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD };
    static const char *names[] = { "rne", "rtz", "rdn", "rup" };
    size_t nd = sizeof(dv) / sizeof(dv[0]), nf = sizeof(fv) / sizeof(fv[0]);
    char what[64];
    for (int m = 0; m < 4; m++) {
        fesetround(modes[m]);
        feclearexcept(FE_ALL_EXCEPT);
        for (size_t i = 0; i < nd; i++) {
            for (size_t j = 0; j < nd; j += 3) {
                double a = dv[i], b = dv[j];
                snprintf(what, sizeof(what), "%s d%zu,%zu +", names[m], i, j); show_d(what, a + b);
                snprintf(what, sizeof(what), "%s d%zu,%zu *", names[m], i, j); show_d(what, a * b);
                snprintf(what, sizeof(what), "%s d%zu,%zu /", names[m], i, j); show_d(what, a / b);
                flags(what);
                snprintf(what, sizeof(what), "%s d%zu,%zu fma", names[m], i, j); show_d(what, fma(a, b, 0.1));
                flags(what);
            }
            snprintf(what, sizeof(what), "%s sqrt d%zu", names[m], i); show_d(what, sqrt(dv[i]));
            flags(what);
            printf("%s lrint d%zu %ld\n", names[m], i,
                   fabs(dv[i]) < 9e18 ? lrint(dv[i]) : 0L);
            flags("lrint");
            printf("%s (float) d%zu %a\n", names[m], i, (double)(float)dv[i]);
            flags("narrow");
        }
        for (size_t i = 0; i < nf; i++)
            for (size_t j = 0; j < nf; j++) {
                float a = fv[i], b = fv[j];
                float s = a + b, p = a * b, q = a / b;
                printf("%s f%zu,%zu %a %a %s\n", names[m], i, j, isnan(s) ? 0.0 : (double)s,
                       isnan(p) ? 0.0 : (double)p, isnan(q) ? "nan" : "num");
                flags("f");
            }
        for (int64_t k = -5; k < 5; k++) {
            int64_t big = (INT64_C(1) << 62) + k * 1023;
            printf("%s cvt %a %a\n", names[m], (double)big, (double)(float)big);
        }
    }
    fesetround(FE_TONEAREST);
    for (size_t i = 0; i < nd; i++)
        for (size_t j = 0; j < nd; j++) {
            double a = dv[i], b = dv[j];
            /* the sign of fmin(+0, -0) is not portable (x86 libm differs) */
            bool zz = a == 0 && b == 0;
            printf("cmp %zu %zu %d%d%d %a %a\n", i, j, a < b, a <= b, a == b,
                   zz ? 0.0 : fmin(a, b), zz ? 0.0 : fmax(a, b));
        }
    flags("cmp");
    volatile double qn = NAN;
    printf("fmin(nan,1)=%a fmax(1,nan)=%a isnan=%d\n", fmin(qn, 1.0), fmax(1.0, qn), isnan(qn + 1.0));
    printf("qnan compares: %d %d\n", qn == qn, qn < 1.0);
    flags("nan");
    double acc = 0;
    for (int i = 1; i < 2000000; i++)
        acc += 1.0 / ((double)i * i);
    printf("basel %.15f\n", acc);
    float facc = 0;
    for (int i = 1; i < 100000; i++)
        facc += 1.0f / (float)i;
    printf("harmonic %.6f\n", (double)facc);
    return 0;
}
