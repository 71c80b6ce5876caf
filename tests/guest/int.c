/* int.c - integer arithmetic: every width, signedness, shift, multiply
 * (high parts), divide (non-zero divisors: portable), bit counting, and a
 * few loops that mix them.  Output is compared with the native build. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint64_t special[] = {
    0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000u,
    0xffffffffu, 0x100000000u, 0x7fffffffffffffffu, 0x8000000000000000u,
    0xffffffffffffffffu, 0xfffffffffffffffeu, 0x123456789abcdef0u, 0xfedcba9876543210u,
};

static uint64_t h = 1469598103934665603u;
static void mix(uint64_t v)
{
    h = (h ^ v) * 1099511628211u;
}

static void ops(uint64_t a, uint64_t b)
{
    int64_t sa = (int64_t)a, sb = (int64_t)b;
    int32_t wa = (int32_t)a, wb = (int32_t)b;
    uint32_t ua = (uint32_t)a, ub = (uint32_t)b;
    mix(a + b); mix(a - b); mix(a & b); mix(a | b); mix(a ^ b);
    mix(a << (b & 63)); mix(a >> (b & 63)); mix((uint64_t)(sa >> (b & 63)));
    mix((uint64_t)(int64_t)(int32_t)(ua + ub)); mix((uint64_t)(int64_t)(int32_t)(ua - ub));
    mix((uint64_t)(int64_t)(int32_t)(ua << (b & 31))); mix((uint64_t)(int64_t)(int32_t)(ua >> (b & 31)));
    mix((uint64_t)(int64_t)(wa >> (b & 31)));
    mix(sa < sb); mix(a < b); mix(a * b); mix((uint64_t)(int64_t)(int32_t)(ua * ub));
    mix((uint64_t)(((__int128)sa * sb) >> 64));
    mix((uint64_t)(((unsigned __int128)a * b) >> 64));
    mix((uint64_t)(((__int128)sa * (unsigned __int128)b) >> 64));
    if (b != 0) {
        mix(a / b); mix(a % b);
        if (!(sa == INT64_MIN && sb == -1)) { mix((uint64_t)(sa / sb)); mix((uint64_t)(sa % sb)); }
    }
    if (ub != 0) {
        mix((uint64_t)(int64_t)(int32_t)(ua / ub)); mix((uint64_t)(int64_t)(int32_t)(ua % ub));
        if (!(wa == INT32_MIN && wb == -1)) {
            mix((uint64_t)(int64_t)(wa / wb)); mix((uint64_t)(int64_t)(wa % wb));
        }
    }
    mix((uint64_t)__builtin_popcountll(a)); mix(a ? (uint64_t)__builtin_clzll(a) : 64);
    mix(a ? (uint64_t)__builtin_ctzll(a) : 64); mix(__builtin_bswap64(a));
    mix(ua ? (uint64_t)__builtin_clz(ua) : 32);
    mix((a << 7) | (a >> 57)); mix((uint64_t)(int64_t)(int32_t)((ua >> 5) | (ua << 27)));
    /* rotates the optimizer fuses (and near misses it must not) */
    mix((uint64_t)(int64_t)(int32_t)(((ua >> 6) | (ua << 26)) ^ ((ua >> 11) | (ua << 21)) ^ ((ua >> 25) | (ua << 7))));
    mix((uint64_t)(int64_t)(int32_t)((ua >> 6) | (ua << 25))); mix((a >> 1) | (a << 62));
    mix((a >> 63) | (a << 1)); mix((uint64_t)(int64_t)(int32_t)((ua >> 31) | (ua << 1)));
    mix(sa < sb ? a : b); mix(a > b ? a : b); mix(a & ~b); mix(a | ~b); mix(~(a ^ b));
    mix((uint64_t)(int64_t)(int8_t)a); mix((uint64_t)(int64_t)(int16_t)a); mix((uint16_t)a);
    mix(a + (b << 1)); mix(a + (b << 2)); mix(a + (b << 3)); mix(a + (uint32_t)b);
    mix(a + ((uint64_t)(uint32_t)b << 3)); mix((a >> (b & 63)) & 1); mix(a | (1ull << (b & 63)));
    mix(a & ~(1ull << (b & 63))); mix(a ^ (1ull << (b & 63)));
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

int main(void)
{
    size_t n = sizeof(special) / sizeof(special[0]);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            ops(special[i], special[j]);
    printf("special: %016llx\n", (unsigned long long)h);
    for (int i = 0; i < 200000; i++) {
        uint64_t a = next(), b = next(), s = next() & 63;
        ops(a, b >> s);
    }
    printf("random:  %016llx\n", (unsigned long long)h);

    static uint64_t arr[50000];
    for (size_t i = 0; i < 50000; i++)
        arr[i] = next();
    qsort(arr, 50000, sizeof(arr[0]), cmp_u64);
    uint64_t s = 0;
    for (size_t i = 0; i < 50000; i++)
        s = s * 31 + arr[i];
    printf("qsort:   %016llx sorted=%d\n", (unsigned long long)s, arr[0] <= arr[49999]);

    char buf[256];
    long total = 0;
    for (int i = 0; i < 1000; i++) {
        int len = snprintf(buf, sizeof(buf), "%d %x %lld %s", i * 7919, i, (long long)i * -123456789, "str");
        total += len + (long)strlen(buf) + atoi(buf);
    }
    printf("strings: %ld\n", total);
    return 0;
}
