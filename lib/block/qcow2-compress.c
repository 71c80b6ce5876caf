/* qcow2-compress.c - compressed clusters: raw deflate (zlib, window 2^12)
 * or zstd frames, as the image's compression type says.
 *
 * Compression runs without the image lock so that several clusters can be
 * compressed at once in the worker pool; only the allocation and the L2
 * update are done under the lock. */
#include <config.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <zlib.h>
#ifdef HAVE_ZSTD
#include <zstd.h>
#endif
#include "qcow2.h"

void qcow2_compressed_range(const struct qcow2 *s, uint64_t entry, uint64_t *off, uint64_t *len)
{
    uint64_t coff = entry & s->cmask;
    uint64_t nsec = ((entry >> s->csize_shift) & s->csize_mask) + 1;
    *off = coff;
    *len = nsec * 512 - (coff & 511);
}

int qcow2_decompress(struct qcow2 *s, const uint8_t *src, size_t slen, uint8_t *dst,
                     size_t dlen)
{
    if (s->compression_type == 0) {
        z_stream z;
        memset(&z, 0, sizeof(z));
        if (inflateInit2(&z, -12) != Z_OK)
            return -ENOMEM;
        z.next_in = (Bytef *)src;
        z.avail_in = (uInt)slen;
        z.next_out = dst;
        z.avail_out = (uInt)dlen;
        int zr = inflate(&z, Z_FINISH);
        size_t out = dlen - z.avail_out;
        inflateEnd(&z);
        if ((zr == Z_STREAM_END || zr == Z_BUF_ERROR || zr == Z_OK) && out == dlen)
            return 0;
        return -EIO;
    }
#ifdef HAVE_ZSTD
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    if (!dc)
        return -ENOMEM;
    ZSTD_inBuffer in = { src, slen, 0 };
    ZSTD_outBuffer out = { dst, dlen, 0 };
    int r = 0;
    while (out.pos < dlen) {
        size_t zr = ZSTD_decompressStream(dc, &out, &in);
        if (ZSTD_isError(zr)) {
            r = -EIO;
            break;
        }
        if (zr == 0 && out.pos < dlen) {
            r = -EIO; /* frame ended early */
            break;
        }
        if (in.pos == in.size && out.pos < dlen && zr != 0) {
            r = -EIO;
            break;
        }
    }
    ZSTD_freeDCtx(dc);
    return r;
#else
    return -ENOTSUP;
#endif
}

/* One deflate state per thread, reset between clusters: setting a state
 * up costs more than compressing a small cluster. */
static pthread_key_t deflate_key;
static pthread_once_t deflate_once = PTHREAD_ONCE_INIT;

static void deflate_free(void *p)
{
    z_stream *z = p;
    deflateEnd(z);
    free(z);
}

static void deflate_key_init(void)
{
    pthread_key_create(&deflate_key, deflate_free);
}

static z_stream *deflate_state(void)
{
    pthread_once(&deflate_once, deflate_key_init);
    z_stream *z = pthread_getspecific(deflate_key);
    if (z) {
        if (deflateReset(z) == Z_OK)
            return z;
        deflate_free(z);
        pthread_setspecific(deflate_key, NULL);
    }
    z = calloc(1, sizeof(*z));
    if (!z)
        return NULL;
    if (deflateInit2(z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(z);
        return NULL;
    }
    pthread_setspecific(deflate_key, z);
    return z;
}

/* Whether a cluster is certainly not worth compressing: its bytes are
 * near-uniformly distributed (entropy above 7.9 bits per byte) and a probe
 * for repeated 8-byte sequences within deflate's 4 KiB window finds none.
 * Random or already compressed data then skips the deflate pass, which
 * would only find that the result is larger than the input. */
bool qcow2_incompressible(const uint8_t *buf, size_t len)
{
    if (len < 4096)
        return false;
    uint32_t hist[256] = { 0 };
    for (size_t i = 0; i < len; i++)
        hist[buf[i]]++;
    double bits = 0;
    for (int i = 0; i < 256; i++) {
        if (hist[i]) {
            double p = (double)hist[i] / (double)len;
            bits -= p * log2(p);
        }
    }
    if (bits < 7.9)
        return false;
    uint32_t seen[4096];
    memset(seen, 0xff, sizeof(seen));
    unsigned probes = 0, hits = 0;
    for (size_t pos = 0; pos + 8 <= len; pos += 16, probes++) {
        uint64_t v;
        memcpy(&v, buf + pos, 8);
        uint32_t h = (uint32_t)((v * UINT64_C(0x9e3779b97f4a7c15)) >> 52);
        uint32_t prev = seen[h];
        if (prev != UINT32_MAX && pos - prev <= 4096 && memcmp(buf + prev, buf + pos, 8) == 0)
            hits++;
        seen[h] = (uint32_t)pos;
    }
    return hits * 100 < probes;
}

size_t qcow2_compress(struct qcow2 *s, const uint8_t *src, size_t slen, uint8_t *dst,
                      size_t dlen)
{
    if (qcow2_incompressible(src, slen))
        return 0;
    if (s->compression_type == 0) {
        z_stream *z = deflate_state();
        if (!z)
            return 0;
        z->next_in = (Bytef *)src;
        z->avail_in = (uInt)slen;
        z->next_out = dst;
        z->avail_out = (uInt)dlen;
        int zr = deflate(z, Z_FINISH);
        return zr == Z_STREAM_END ? dlen - z->avail_out : 0;
    }
#ifdef HAVE_ZSTD
    size_t zr = ZSTD_compress(dst, dlen, src, slen, ZSTD_CLEVEL_DEFAULT);
    return ZSTD_isError(zr) ? 0 : zr;
#else
    return 0;
#endif
}

int qcow2_read_compressed(struct blk *bs, uint64_t entry, uint8_t *cluster)
{
    struct qcow2 *s = bs->opaque;
    uint64_t off, len;
    qcow2_compressed_range(s, entry, &off, &len);
    uint64_t fsize = bs->file->size;
    if (off >= fsize)
        return -EIO;
    len = MIN(len, fsize - off);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return -ENOMEM;
    int r = blk_pread(bs->file, off, len, buf);
    if (r >= 0)
        r = qcow2_decompress(s, buf, len, cluster, s->cluster_size);
    free(buf);
    return r;
}

int qcow2_pwrite_compressed(struct blk *bs, uint64_t off, uint64_t len, const void *data)
{
    struct qcow2 *s = bs->opaque;
    uint64_t cs = s->cluster_size;
    if (qcow2_offset_into_cluster(s, off) || (len != cs && off + len != bs->size))
        return -EINVAL;
#ifndef HAVE_ZSTD
    if (s->compression_type == 1)
        return -ENOTSUP;
#endif
    uint8_t *src = (uint8_t *)data;
    uint8_t *pad = NULL;
    if (len < cs) {
        pad = calloc(1, cs);
        if (!pad)
            return -ENOMEM;
        memcpy(pad, data, len);
        src = pad;
    }
    uint8_t *out = malloc(cs);
    if (!out) {
        free(pad);
        return -ENOMEM;
    }
    /* The largest compressed size the L2 descriptor can express. */
    size_t limit = (size_t)MIN(cs - 1, (s->csize_mask + 1) * 512 - 511);
    size_t clen = qcow2_compress(s, src, cs, out, limit);
    int r;
    if (clen == 0) {
        /* Incompressible: store it as a normal cluster. */
        struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
        free(out);
        free(pad);
        return qcow2_pwritev(bs, off, len, &iov, 1);
    }
    pthread_mutex_lock(&s->lock);
    r = qcow2_mark_dirty(bs);
    uint64_t l1i = off >> (s->cluster_bits + s->l2_bits);
    uint64_t l2i = (off >> s->cluster_bits) & (s->l2_entries - 1);
    uint64_t l2off = 0;
    uint8_t *tbl = NULL;
    if (r >= 0)
        r = qcow2_l2_writable(bs, l1i, &l2off, &tbl);
    int64_t host = 0;
    if (r >= 0) {
        host = qcow2_alloc_bytes(bs, clen);
        if (host < 0)
            r = (int)host;
    }
    if (r >= 0)
        r = qcow2_check_overlap(bs, (uint64_t)host, clen, 0);
    if (r >= 0)
        r = blk_pwrite(bs->file, (uint64_t)host, clen, out);
    if (r >= 0)
        r = qcow2_get_l2(bs, l2off, &tbl);
    if (r >= 0) {
        uint64_t nsec = (((uint64_t)host + clen - 1) >> 9) - ((uint64_t)host >> 9);
        uint64_t old = qcow2_l2_get(s, tbl, l2i);
        uint64_t e = QCOW2_OFLAG_COMPRESSED | (nsec << s->csize_shift) | (uint64_t)host;
        qcow2_l2_set(s, tbl, l2i, e, 0);
        r = qcow2_write_l2_entries(bs, l2off, tbl, l2i, 1);
        if (r >= 0)
            qcow2_free_any(bs, old);
    }
    pthread_mutex_unlock(&s->lock);
    free(out);
    free(pad);
    return r;
}
