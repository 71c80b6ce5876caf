/* fuzz-replay.c - runs a fuzz target without libFuzzer: every file of the
 * seed corpus given on the command line, then deterministic mutations of
 * each (header fields set to extreme values, random byte flips,
 * truncation).  Used by `make check`; exit 0 unless a sanitizer fires. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static const uint64_t interesting[] = {
    0, 1, 2, 7, 8, 9, 16, 21, 22, 31, 32, 63, 64, 72, 104, 112, 511, 512, 513,
    0x7fff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull,
    0x00fffffffffffe00ull, 0x7fffffffffffffffull, 0x8000000000000000ull,
    0xffffffffffffffffull,
};

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static void mutate(uint8_t *d, size_t *size, size_t cap)
{
    int kind = (int)(rng() % 4);
    if (kind == 0 && *size >= 8) {
        /* an aligned header-ish field gets an interesting value */
        size_t lim = MIN(*size, (size_t)512);
        size_t off = (size_t)(rng() % (lim / 4)) * 4;
        int width = (rng() & 1) && off + 8 <= *size ? 8 : 4;
        if (off + (size_t)width > *size)
            return;
        put_be(d + off, interesting[rng() % ARRAY_SIZE(interesting)], width);
    } else if (kind == 1) {
        for (int i = 0, n = 1 + (int)(rng() % 8); i < n && *size; i++)
            d[rng() % *size] ^= (uint8_t)(1u << (rng() % 8));
    } else if (kind == 2 && *size) {
        *size = (size_t)(rng() % *size);
    } else if (*size >= 8) {
        /* metadata tables live in the first clusters: poke one entry */
        size_t off = (size_t)(rng() % (*size / 8)) * 8;
        put_be(d + off, interesting[rng() % ARRAY_SIZE(interesting)], 8);
    }
    (void)cap;
}

int main(int argc, char **argv)
{
    int rounds = 200;
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "-n") == 0) {
        rounds = atoi(argv[2]);
        first = 3;
    }
    int runs = 0;
    if (getenv("FUZZ_SEED"))
        rng_state = strtoull(getenv("FUZZ_SEED"), NULL, 0) | 1;
    for (int a = first; a < argc; a++) {
        FILE *fp = fopen(argv[a], "rb");
        if (!fp) {
            fprintf(stderr, "fuzz-replay: cannot open %s\n", argv[a]);
            return 1;
        }
        /* VHDX images are 4 MiB at least */
        static uint8_t seed[8 << 20], work[8 << 20];
        size_t n = fread(seed, 1, sizeof(seed), fp);
        fclose(fp);
        LLVMFuzzerTestOneInput(seed, n);
        runs++;
        for (int r = 0; r < rounds; r++) {
            size_t size = n;
            memcpy(work, seed, n);
            for (int m = 0, k = 1 + (int)(rng() % 3); m < k; m++)
                mutate(work, &size, sizeof(work));
            LLVMFuzzerTestOneInput(work, size);
            runs++;
        }
    }
    printf("%d inputs replayed\n", runs);
    return 0;
}
