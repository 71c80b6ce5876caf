/* lz.c - integer: LZ77 compression (hash-chain match finder) and
 * decompression of generated text, verified round trip. */
#include <string.h>
#include "bench.h"

#define WIN 65536
static int head[1 << 15], prev_[WIN];

static size_t compress(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t o = 0, i = 0;
    memset(head, -1, sizeof(head));
    while (i < n) {
        int best = 0, bdist = 0;
        if (i + 3 <= n) {
            unsigned h = ((in[i] << 10) ^ (in[i + 1] << 5) ^ in[i + 2]) & 0x7fff;
            int cand = head[h], chain = 32;
            while (cand >= 0 && (int)i - cand < WIN && chain--) {
                int l = 0;
                while (i + l < n && l < 255 && in[cand + l] == in[i + l]) l++;
                if (l > best) { best = l; bdist = (int)i - cand; }
                cand = prev_[cand % WIN];
            }
            prev_[i % WIN] = head[h];
            head[h] = (int)i;
        }
        if (best >= 4) {
            out[o++] = 1; out[o++] = (uint8_t)best; out[o++] = (uint8_t)bdist; out[o++] = (uint8_t)(bdist >> 8);
            for (int k = 1; k < best; k++) {
                size_t j = i + k;
                if (j + 3 <= n) {
                    unsigned h = ((in[j] << 10) ^ (in[j + 1] << 5) ^ in[j + 2]) & 0x7fff;
                    prev_[j % WIN] = head[h];
                    head[h] = (int)j;
                }
            }
            i += best;
        } else {
            out[o++] = 0; out[o++] = in[i++];
        }
    }
    return o;
}

static size_t decompress(const uint8_t *in, size_t n, uint8_t *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (in[i] == 0) { out[o++] = in[i + 1]; i += 2; }
        else {
            int l = in[i + 1], d = in[i + 2] | (in[i + 3] << 8);
            for (int k = 0; k < l; k++, o++) out[o] = out[o - d];
            i += 4;
        }
    }
    return o;
}

int main(int argc, char **argv)
{
    size_t n = 4 << 20;
    int rounds = (int)(40 * bench_scale(argc, argv)) + 1;
    uint8_t *in = malloc(n), *c = malloc(2 * n + 16), *d = malloc(n);
    static const char *words[] = { "the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog ",
                                   "emulator ", "translator ", "block ", "register " };
    size_t p = 0;
    while (p < n) {
        const char *w = words[bench_rand() % 12];
        for (; *w && p < n; w++) in[p++] = (uint8_t)*w;
        if (bench_rand() % 7 == 0 && p < n) in[p++] = (uint8_t)('0' + bench_rand() % 10);
    }
    uint64_t sum = 0;
    for (int r = 0; r < rounds; r++) {
        size_t cn = compress(in, n, c);
        size_t dn = decompress(c, cn, d);
        sum += cn + (dn == n && memcmp(in, d, n) == 0);
        in[r * 997 % n] ^= 1;
    }
    printf("lz: %llu\n", (unsigned long long)sum);
    return 0;
}
