/* iov.c - iovec helpers for byte-granular requests. */
#include <config.h>

#include <string.h>
#include <immintrin.h>
#include "block.h"

size_t iov_size(const struct iovec *iov, int iovcnt)
{
    size_t n = 0;
    for (int i = 0; i < iovcnt; i++)
        n += iov[i].iov_len;
    return n;
}

/* Walk IOV from OFFSET for LEN bytes, calling FN on each piece. */
static size_t iov_walk(const struct iovec *iov, int iovcnt, size_t offset, size_t len,
                       void (*fn)(void *piece, size_t n, size_t done, void *arg), void *arg)
{
    size_t done = 0;
    for (int i = 0; i < iovcnt && done < len; i++) {
        if (offset >= iov[i].iov_len) {
            offset -= iov[i].iov_len;
            continue;
        }
        size_t n = MIN(iov[i].iov_len - offset, len - done);
        fn((char *)iov[i].iov_base + offset, n, done, arg);
        done += n;
        offset = 0;
    }
    return done;
}

static void piece_to_buf(void *piece, size_t n, size_t done, void *arg)
{
    memcpy((char *)arg + done, piece, n);
}

static void piece_from_buf(void *piece, size_t n, size_t done, void *arg)
{
    memcpy(piece, (const char *)arg + done, n);
}

static void piece_memset(void *piece, size_t n, size_t done, void *arg)
{
    memset(piece, *(int *)arg, n);
}

size_t iov_to_buf(const struct iovec *iov, int iovcnt, size_t offset, void *buf, size_t len)
{
    return iov_walk(iov, iovcnt, offset, len, piece_to_buf, buf);
}

size_t iov_from_buf(const struct iovec *iov, int iovcnt, size_t offset, const void *buf,
                    size_t len)
{
    return iov_walk(iov, iovcnt, offset, len, piece_from_buf, (void *)buf);
}

size_t iov_memset(const struct iovec *iov, int iovcnt, size_t offset, int c, size_t len)
{
    return iov_walk(iov, iovcnt, offset, len, piece_memset, &c);
}

int iov_slice(const struct iovec *iov, int iovcnt, size_t offset, size_t len,
              struct iovec *out, int maxout)
{
    int n = 0;
    size_t done = 0;
    for (int i = 0; i < iovcnt && done < len; i++) {
        if (offset >= iov[i].iov_len) {
            offset -= iov[i].iov_len;
            continue;
        }
        if (n == maxout)
            return -1;
        size_t k = MIN(iov[i].iov_len - offset, len - done);
        out[n].iov_base = (char *)iov[i].iov_base + offset;
        out[n].iov_len = k;
        n++;
        done += k;
        offset = 0;
    }
    return n;
}

/* Zero detection at memory bandwidth.  Data is told apart by its first
 * bytes, so the first 16 (32) are looked at before anything else; then 64
 * bytes per iteration (four SSE2 or two AVX2 loads ORed together, one
 * test and branch), aligned loads after one unaligned head, and the tail
 * as the last 64 bytes again, overlapping.  AVX2 is used where the CPU
 * has it (checked once). */
static inline bool zero_small(const unsigned char *p, size_t len)
{
    uint64_t acc = 0, w;
    for (; len >= 8; p += 8, len -= 8) {
        memcpy(&w, p, 8);
        acc |= w;
    }
    for (; len; p++, len--)
        acc |= *p;
    return acc == 0;
}

bool buf_is_zero_sse2(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    if (len < 64)
        return zero_small(p, len);
    const __m128i z = _mm_setzero_si128();
    __m128i v = _mm_loadu_si128((const __m128i *)p);
    if (_mm_movemask_epi8(_mm_cmpeq_epi8(v, z)) != 0xffff)
        return false;
    const unsigned char *end = p + len;
    /* the head covers every byte before the first aligned block */
    const unsigned char *q = (const unsigned char *)ALIGN_UP((uintptr_t)p + 1, (uintptr_t)16);
    for (; q + 64 <= end; q += 64) {
        v = _mm_or_si128(_mm_or_si128(_mm_load_si128((const __m128i *)q),
                                      _mm_load_si128((const __m128i *)(q + 16))),
                         _mm_or_si128(_mm_load_si128((const __m128i *)(q + 32)),
                                      _mm_load_si128((const __m128i *)(q + 48))));
        if (_mm_movemask_epi8(_mm_cmpeq_epi8(v, z)) != 0xffff)
            return false;
    }
    if (q < end) {
        q = end - 64;
        v = _mm_or_si128(_mm_or_si128(_mm_loadu_si128((const __m128i *)q),
                                      _mm_loadu_si128((const __m128i *)(q + 16))),
                         _mm_or_si128(_mm_loadu_si128((const __m128i *)(q + 32)),
                                      _mm_loadu_si128((const __m128i *)(q + 48))));
        if (_mm_movemask_epi8(_mm_cmpeq_epi8(v, z)) != 0xffff)
            return false;
    }
    return true;
}

__attribute__((target("avx2")))
bool buf_is_zero_avx2(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    if (len < 64)
        return zero_small(p, len);
    __m256i v = _mm256_loadu_si256((const __m256i *)p);
    if (!_mm256_testz_si256(v, v))
        return false;
    const unsigned char *end = p + len;
    const unsigned char *q = (const unsigned char *)ALIGN_UP((uintptr_t)p + 1, (uintptr_t)32);
    for (; q + 64 <= end; q += 64) {
        v = _mm256_or_si256(_mm256_load_si256((const __m256i *)q),
                            _mm256_load_si256((const __m256i *)(q + 32)));
        if (!_mm256_testz_si256(v, v))
            return false;
    }
    if (q < end) {
        q = end - 64;
        v = _mm256_or_si256(_mm256_loadu_si256((const __m256i *)q),
                            _mm256_loadu_si256((const __m256i *)(q + 32)));
        if (!_mm256_testz_si256(v, v))
            return false;
    }
    return true;
}

static bool buf_is_zero_first(const void *buf, size_t len);
static bool (*buf_is_zero_fn)(const void *, size_t) = buf_is_zero_first;

/* The first call picks the variant for this CPU. */
static bool buf_is_zero_first(const void *buf, size_t len)
{
    __builtin_cpu_init();
    bool (*fn)(const void *, size_t) =
        __builtin_cpu_supports("avx2") ? buf_is_zero_avx2 : buf_is_zero_sse2;
    __atomic_store_n(&buf_is_zero_fn, fn, __ATOMIC_RELAXED);
    return fn(buf, len);
}

bool buf_is_zero(const void *buf, size_t len)
{
    return __atomic_load_n(&buf_is_zero_fn, __ATOMIC_RELAXED)(buf, len);
}
