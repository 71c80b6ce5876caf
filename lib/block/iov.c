/* iov.c - iovec helpers for byte-granular requests. */
#include <config.h>

#include <string.h>
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

bool buf_is_zero(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len && ((uintptr_t)p & 7)) {
        if (*p++)
            return false;
        len--;
    }
    const uint64_t *q = (const uint64_t *)p;
    while (len >= 32) {
        if (q[0] | q[1] | q[2] | q[3])
            return false;
        q += 4;
        len -= 32;
    }
    p = (const unsigned char *)q;
    while (len--) {
        if (*p++)
            return false;
    }
    return true;
}
