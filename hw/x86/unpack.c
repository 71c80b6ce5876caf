/* unpack.c - the vmlinux inside a bzImage, decompressed on the host.
 *
 * Why: a bzImage's first work in the guest is to decompress itself
 * (Debian's amd64 kernel: 8 MB of xz into 66 MB), then move and relocate
 * what it decompressed.  That is the same work on every boot, done at
 * guest speed with the guest's cold caches and, under nested
 * virtualisation, every page walk two-dimensional.  Done here, once per
 * kernel (hw/x86/kernel-cache.c keeps the result), the guest starts at
 * the kernel's PVH entry with everything in place.  What is lost: the
 * decompressor's own choices (physical KASLR of the kernel image; the
 * kernel still randomises its memory layout), which is why the board
 * keeps `kernel-cache=off` to boot the bzImage as it is.
 *
 * The payload (boot protocol 2.08: payload_offset and payload_length in
 * the setup header, relative to the protected-mode kernel) is a gzip,
 * xz or zstd stream followed by the decompressed size as 4 little-endian
 * bytes (the kernel's build appends it; gzip's own trailer ends so).  That
 * size is the output buffer, exactly; a stream that makes more or less
 * is refused.  Other compressors (bzip2, lzma, lzo, lz4) are left to the
 * kernel.
 */
#include <config.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <zlib.h>
#ifdef HAVE_LZMA
#include <lzma.h>
#endif
#ifdef HAVE_ZSTD
#include <zstd.h>
#endif
#include "hw/x86/boot.h"
#include "i18n.h"

#define SH_PAYLOAD_OFFSET 0x248
#define SH_PAYLOAD_LENGTH 0x24c
/* The decoder's memory (xz: about its dictionary; the kernel's build
 * uses 32 MiB at most) is bounded so that a hostile header cannot make
 * us allocate gigabytes. */
#define XZ_MEMLIMIT (UINT64_C(256) << 20)

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int unpack_gzip(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                       const char *name, struct error **errp)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return err_set(errp, ENOMEM, _("%s: cannot start a gzip decoder"), name);
    int r = 0, zr = Z_OK;
    size_t done_in = 0, done_out = 0;
    /* zlib counts in uInt: feed at most 1 GiB at a time */
    while (zr == Z_OK) {
        z.next_in = (Bytef *)(uintptr_t)(in + done_in);
        z.avail_in = (uInt)MIN(in_len - done_in, (size_t)1 << 30);
        z.next_out = out + done_out;
        z.avail_out = (uInt)MIN(out_len - done_out, (size_t)1 << 30);
        uInt ai = z.avail_in, ao = z.avail_out;
        zr = inflate(&z, Z_NO_FLUSH);
        done_in += ai - z.avail_in;
        done_out += ao - z.avail_out;
        if (zr == Z_OK && ai == z.avail_in && ao == z.avail_out)
            break;              /* no progress: the input ended, or the output is full */
    }
    if (zr != Z_STREAM_END || done_out != out_len)
        r = err_set(errp, EINVAL, _("%s: the gzip payload does not decompress to the %zu "
                                    "bytes it declares"), name, out_len);
    inflateEnd(&z);
    return r;
}

static int unpack_xz(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                     const char *name, struct error **errp)
{
#ifdef HAVE_LZMA
    lzma_stream s = LZMA_STREAM_INIT;
    if (lzma_stream_decoder(&s, XZ_MEMLIMIT, 0) != LZMA_OK)
        return err_set(errp, ENOMEM, _("%s: cannot start an xz decoder"), name);
    s.next_in = in;
    s.avail_in = in_len;
    s.next_out = out;
    s.avail_out = out_len;
    lzma_ret lr;
    do
        lr = lzma_code(&s, LZMA_FINISH);
    while (lr == LZMA_OK && s.avail_out > 0);
    int r = 0;
    if (lr == LZMA_MEMLIMIT_ERROR)
        r = err_set(errp, EINVAL, _("%s: the xz payload needs more than %" PRIu64
                                    " MiB to decompress"), name, XZ_MEMLIMIT >> 20);
    else if (lr != LZMA_STREAM_END || s.avail_out != 0)
        r = err_set(errp, EINVAL, _("%s: the xz payload does not decompress to the %zu "
                                    "bytes it declares"), name, out_len);
    lzma_end(&s);
    return r;
#else
    (void)in, (void)in_len, (void)out, (void)out_len;
    return err_set(errp, ENOTSUP, _("%s: this build has no xz decoder (liblzma)"), name);
#endif
}

static int unpack_zstd(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                       const char *name, struct error **errp)
{
#ifdef HAVE_ZSTD
    /* one frame, then the 4 size bytes, which are not a frame */
    size_t n = ZSTD_findFrameCompressedSize(in, in_len);
    if (ZSTD_isError(n))
        return err_set(errp, EINVAL, _("%s: the zstd payload is not a zstd frame"), name);
    size_t got = ZSTD_decompress(out, out_len, in, n);
    if (ZSTD_isError(got) || got != out_len)
        return err_set(errp, EINVAL, _("%s: the zstd payload does not decompress to the %zu "
                                       "bytes it declares"), name, out_len);
    return 0;
#else
    (void)in, (void)in_len, (void)out, (void)out_len;
    return err_set(errp, ENOTSUP, _("%s: this build has no zstd decoder (libzstd)"), name);
#endif
}

int x86_bzimage_unpack(const uint8_t *img, size_t len, const char *name, uint8_t **out,
                       size_t *out_len, struct error **errp)
{
    struct x86_bzimage bz;
    int r = x86_bzimage_parse(img, len, name, &bz, errp);
    if (r < 0)
        return r;
    if (bz.version < 0x0208)
        return err_set(errp, ENOTSUP, _("%s: boot protocol %u.%02u does not locate its "
                                        "payload (2.08 does)"), name, bz.version >> 8,
                       bz.version & 0xff);
    uint32_t poff = get32(img + SH_PAYLOAD_OFFSET), plen = get32(img + SH_PAYLOAD_LENGTH);
    const uint8_t *kern = img + bz.kernel_offset;
    if (plen < 8 || poff > bz.kernel_size || plen > bz.kernel_size - poff)
        return err_set(errp, EINVAL, _("%s: the payload (%u bytes at %u) is not inside the "
                                       "kernel's %u bytes"), name, plen, poff, bz.kernel_size);
    const uint8_t *p = kern + poff;
    uint32_t size = get32(p + plen - 4);
    if (size < 64 || size > X86_UNPACK_MAX)
        return err_set(errp, ENOTSUP, _("%s: the payload declares %u bytes of kernel"), name,
                       size);
    int (*fn)(const uint8_t *, size_t, uint8_t *, size_t, const char *, struct error **);
    if (p[0] == 0x1f && p[1] == 0x8b)
        fn = unpack_gzip;
    else if (memcmp(p, "\xfd" "7zXZ\0", 6) == 0)
        fn = unpack_xz;
    else if (memcmp(p, "\x28\xb5\x2f\xfd", 4) == 0)
        fn = unpack_zstd;
    else
        return err_set(errp, ENOTSUP, _("%s: the kernel's compression is not one this "
                                        "program decompresses (gzip, xz, zstd)"), name);
    /* mapped, not malloc'd: a cached kernel comes back as a mapping of
     * its file, and the owner releases both kinds alike */
    uint8_t *buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED)
        return err_set(errp, ENOMEM, _("%s: out of memory for the %u-byte kernel"), name, size);
    /* gzip's own trailer ends in the size; the other streams are
     * followed by it */
    size_t in_len = fn == unpack_gzip ? plen : plen - 4;
    if ((r = fn(p, in_len, buf, size, name, errp)) < 0 ||
        (r = x86_pvh_check(buf, size, name, errp)) < 0) {
        munmap(buf, size);
        return r;
    }
    *out = buf;
    *out_len = size;
    return 0;
}
