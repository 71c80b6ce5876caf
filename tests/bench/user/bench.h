/* bench.h - shared bits of the user-mode benchmarks: a scale factor from
 * argv[1] (default 1.0) and a deterministic random generator. */
#ifndef BENCH_H
#define BENCH_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static inline double bench_scale(int argc, char **argv)
{
    return argc > 1 ? atof(argv[1]) : 1.0;
}
static uint64_t bench_rs = 0x853c49e6748fea9bull;
static inline uint64_t bench_rand(void)
{
    bench_rs ^= bench_rs << 13;
    bench_rs ^= bench_rs >> 7;
    bench_rs ^= bench_rs << 17;
    return bench_rs;
}
#endif
