/* rebase.c - emu-img rebase [-f fmt] [-t cache] [-T src_cache] [-p] [-q]
 *                           [-u] [-U] -b backing_file [-F backing_fmt] filename
 * Safe mode copies into the image every range it does not allocate itself
 * whose content differs between the old and the new backing file, so the
 * guest sees the same data; -u only rewrites the backing file name. */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include "i18n.h"
#include "img.h"
#include "msg.h"

#define REBASE_CHUNK (1u << 20)

/* Read [off, off+n) as seen through backing node B (NULL: zeros). */
static int read_through(struct blk *b, uint64_t off, uint64_t n, uint8_t *buf)
{
    uint64_t have = b && off < b->size ? MIN(n, b->size - off) : 0;
    memset(buf + have, 0, n - have);
    return have ? blk_pread(b, off, have, buf) : 0;
}

int img_rebase(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "force-share", no_argument, NULL, 'U' },
        { "object", required_argument, NULL, 'J' },
        { "image-opts", no_argument, NULL, 'I' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *backing = NULL, *backing_fmt = NULL;
    bool unsafe = false, quiet = false, progress = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":hf:F:b:upt:T:qU", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'F': backing_fmt = optarg; break;
        case 'b': backing = optarg; break;
        case 'u': unsafe = true; break;
        case 'p': progress = true; break;
        case 'q': quiet = true; break;
        case 't': case 'T': case 'U': break;
        case 'h':
            printf("rebase [-f fmt] [-t cache] [-T src_cache] [-p] [-q] [-u] [-U] "
                   "-b backing_file [-F backing_fmt] filename\n");
            return 0;
        case 'I': case 'J':
            msg_error(_("option '%s' is not supported yet"), argv[optind - 1]);
            return IMG_FAIL;
        default:
            msg_error(_("unrecognized option '%s'"), argv[optind - 1]);
            return IMG_FAIL;
        }
    }
    if (quiet)
        progress = false;
    if (optind != argc - 1) {
        msg_error(_("Expecting one image file name"));
        return IMG_FAIL;
    }
    if (!backing) {
        msg_error(_("Must specify backing file (-b) or use '-b \"\"' to remove it"));
        return IMG_FAIL;
    }
    const char *filename = argv[optind];
    if (*backing && !backing_fmt) {
        msg_error(_("Could not change the backing file to '%s': backing format must be "
                    "specified"), backing);
        return IMG_FAIL;
    }
    struct blk *bs = img_open(filename, fmt, BLK_O_RDWR | (unsafe ? BLK_O_NO_BACKING : 0));
    if (!bs)
        return IMG_FAIL;
    int ret = IMG_FAIL;
    struct blk *nb = NULL;
    uint8_t *a = NULL, *b = NULL;
    struct error *err = NULL;
    if (!bs->drv->change_backing) {
        msg_error(_("Format '%s' does not support backing files"), bs->drv->name);
        goto out;
    }
    if (!unsafe) {
        if (*backing) {
            char *path = blk_path_combine(filename, backing);
            nb = path ? img_open(path, backing_fmt, 0) : NULL;
            free(path);
            if (!nb)
                goto out;
        }
        a = malloc(REBASE_CHUNK);
        b = malloc(REBASE_CHUNK);
        if (!a || !b)
            goto out;
        img_progress(progress, 0.0);
        for (uint64_t off = 0; off < bs->size;) {
            uint64_t pnum, map;
            uint64_t n = MIN(bs->size - off, (uint64_t)REBASE_CHUNK);
            int st = blk_block_status(bs, off, n, &pnum, &map, NULL);
            if (st < 0) {
                msg_error(_("error while reading at byte %" PRIu64 ": %s"), off, strerror(-st));
                goto out;
            }
            if (!(st & BLK_STATUS_ALLOCATED)) {
                int r = read_through(bs->backing, off, pnum, a);
                if (r >= 0)
                    r = read_through(nb, off, pnum, b);
                if (r < 0) {
                    msg_error(_("error while reading at byte %" PRIu64 ": %s"), off,
                              strerror(-r));
                    goto out;
                }
                for (uint64_t i = 0; i < pnum; i += 512) {
                    uint64_t k = MIN((uint64_t)512, pnum - i);
                    if (memcmp(a + i, b + i, k) == 0)
                        continue;
                    uint64_t j = i + k;
                    while (j < pnum && memcmp(a + j, b + j, MIN((uint64_t)512, pnum - j)))
                        j += MIN((uint64_t)512, pnum - j);
                    r = blk_pwrite(bs, off + i, j - i, a + i);
                    if (r < 0) {
                        msg_error(_("error while writing at byte %" PRIu64 ": %s"), off + i,
                                  strerror(-r));
                        goto out;
                    }
                    i = j - 512;
                }
            }
            off += pnum;
            img_progress(progress, (double)off * 100.0 / (double)bs->size);
        }
        img_progress_end(progress);
    }
    if (bs->drv->change_backing(bs, *backing ? backing : NULL, *backing ? backing_fmt : NULL,
                                &err) < 0) {
        msg_error(_("Could not change the backing file to '%s': %s"), backing, err_msg(err));
        err_free(err);
        goto out;
    }
    ret = blk_flush(bs) < 0 ? IMG_FAIL : 0;
out:
    free(a);
    free(b);
    blk_close(nb);
    blk_close(bs);
    return ret;
}
