/* compare.c - emu-img compare [-f fmt] [-F fmt] [-T src_cache] [-p] [-q]
 *                             [-s] [-U] filename1 filename2
 * Exit codes: 0 identical, 1 different, 2 error (as qemu-img). */
#include <config.h>

#include <getopt.h>
#include <string.h>
#include "i18n.h"
#include "img.h"
#include "msg.h"

#define CMP_CHUNK (2u << 20)
#define CMP_ERR 2

/* Is [off, off+len) of BS all zeros?  Returns 1 yes, 0 no (and *where the
 * first non-zero 512-byte sector), <0 error. */
static int check_zero(struct blk *bs, uint64_t off, uint64_t len, uint8_t *buf,
                      uint64_t *where)
{
    while (len) {
        uint64_t pnum, map;
        int depth;
        int st = blk_block_status_above(bs, off, len, &pnum, &map, NULL, &depth);
        if (st < 0)
            return st;
        if (!(st & BLK_STATUS_ZERO)) {
            for (uint64_t o = 0; o < pnum;) {
                uint64_t n = MIN(pnum - o, (uint64_t)CMP_CHUNK);
                int r = blk_pread(bs, off + o, n, buf);
                if (r < 0)
                    return r;
                for (uint64_t i = 0; i < n; i += 512) {
                    if (!buf_is_zero(buf + i, MIN((uint64_t)512, n - i))) {
                        *where = off + o + i;
                        return 0;
                    }
                }
                o += n;
            }
        }
        off += pnum;
        len -= pnum;
    }
    return 1;
}

int img_compare(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "force-share", no_argument, NULL, 'U' },
        { "object", required_argument, NULL, 'J' },
        { "image-opts", no_argument, NULL, 'I' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt1 = NULL, *fmt2 = NULL;
    bool quiet = false, strict = false, progress = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":hf:F:T:pqsU", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt1 = optarg; break;
        case 'F': fmt2 = optarg; break;
        case 'T': case 'U': break;
        case 'p': progress = true; break;
        case 'q': quiet = true; break;
        case 's': strict = true; break;
        case 'h':
            printf("compare [-f fmt] [-F fmt] [-T src_cache] [-p] [-q] [-s] [-U] filename1 "
                   "filename2\n");
            return 0;
        case 'I': case 'J':
            msg_error(_("option '%s' is not supported yet"), argv[optind - 1]);
            return CMP_ERR;
        default:
            msg_error(_("unrecognized option '%s'"), argv[optind - 1]);
            return CMP_ERR;
        }
    }
    if (quiet)
        progress = false;
    if (optind != argc - 2) {
        msg_error(_("Expecting two image file names"));
        return CMP_ERR;
    }
    const char *fn1 = argv[optind], *fn2 = argv[optind + 1];
    struct blk *b1 = img_open(fn1, fmt1, 0);
    if (!b1)
        return CMP_ERR;
    struct blk *b2 = img_open(fn2, fmt2, 0);
    if (!b2) {
        blk_close(b1);
        return CMP_ERR;
    }
    int ret = CMP_ERR;
    uint8_t *buf1 = malloc(CMP_CHUNK), *buf2 = malloc(CMP_CHUNK);
    if (!buf1 || !buf2)
        goto out;
    uint64_t common = MIN(b1->size, b2->size);
    uint64_t off = 0;
    if (strict && b1->size != b2->size) {
        if (!quiet)
            printf("Strict mode: Image size mismatch!\n");
        ret = 1;
        goto out;
    }
    img_progress(progress, 0.0);
    while (off < common) {
        uint64_t p1, p2, m;
        int d1, d2;
        int s1 = blk_block_status_above(b1, off, common - off, &p1, &m, NULL, &d1);
        int s2 = s1 < 0 ? s1 : blk_block_status_above(b2, off, common - off, &p2, &m, NULL, &d2);
        if (s1 < 0 || s2 < 0) {
            msg_error(_("error while comparing at byte %" PRIu64 ": %s"), off,
                      strerror(-(s1 < 0 ? s1 : s2)));
            goto out;
        }
        uint64_t n = MIN(MIN(p1, p2), (uint64_t)CMP_CHUNK);
        bool a1 = (s1 & BLK_STATUS_ALLOCATED) != 0, a2 = (s2 & BLK_STATUS_ALLOCATED) != 0;
        if (strict && a1 != a2) {
            if (!quiet)
                printf("Strict mode: Offset %" PRIu64 " block status mismatch!\n", off);
            ret = 1;
            goto out;
        }
        if ((s1 & BLK_STATUS_ZERO) && (s2 & BLK_STATUS_ZERO)) {
            off += MIN(p1, p2);
            continue;
        }
        int r = blk_pread(b1, off, n, buf1);
        if (r >= 0)
            r = blk_pread(b2, off, n, buf2);
        if (r < 0) {
            msg_error(_("error while reading at byte %" PRIu64 ": %s"), off, strerror(-r));
            goto out;
        }
        if (memcmp(buf1, buf2, n) != 0) {
            uint64_t i = 0;
            while (i < n && memcmp(buf1 + i, buf2 + i, MIN((uint64_t)512, n - i)) == 0)
                i += 512;
            if (!quiet)
                printf("Content mismatch at offset %" PRIu64 "!\n", off + i);
            ret = 1;
            goto out;
        }
        off += n;
        img_progress(progress, (double)off * 100.0 / (double)MAX(b1->size, b2->size));
    }
    if (b1->size != b2->size) {
        if (strict) {
            if (!quiet)
                printf("Strict mode: Image size mismatch!\n");
            ret = 1;
            goto out;
        }
        if (!quiet)
            printf("Warning: Image size mismatch!\n");
        struct blk *big = b1->size > b2->size ? b1 : b2;
        uint64_t where = 0;
        int r = check_zero(big, common, big->size - common, buf1, &where);
        if (r < 0) {
            msg_error(_("error while reading at byte %" PRIu64 ": %s"), common, strerror(-r));
            goto out;
        }
        if (r == 0) {
            if (!quiet)
                printf("Content mismatch at offset %" PRIu64 "!\n", where);
            ret = 1;
            goto out;
        }
    }
    img_progress_end(progress);
    if (!quiet)
        printf("Images are identical.\n");
    ret = 0;
out:
    free(buf1);
    free(buf2);
    blk_close(b1);
    blk_close(b2);
    return ret;
}
