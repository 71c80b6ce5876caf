/* commit.c - emu-img commit [-q] [-f fmt] [-t cache] [-b base] [-d] [-p]
 *                           filename
 * Copies what the image (and any image between it and BASE) holds into
 * BASE (default: its backing file), then empties the image unless -d or
 * -b is given. */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include "i18n.h"
#include "img.h"
#include "msg.h"

#define COMMIT_CHUNK (2u << 20)

int img_commit(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, 'J' },
        { "image-opts", no_argument, NULL, 'I' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *base_name = NULL;
    bool drop = false, quiet = false, progress = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":f:ht:b:dpqr:", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'b': base_name = optarg; drop = true; break;
        case 'd': drop = true; break;
        case 'p': progress = true; break;
        case 'q': quiet = true; break;
        case 't': case 'r': break;
        case 'h':
            printf("commit [-q] [-f fmt] [-t cache] [-b base] [-r rate_limit] [-d] [-p] "
                   "filename\n");
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
    const char *filename = argv[optind];
    struct blk *top = img_open(filename, fmt, 0);
    if (!top)
        return IMG_FAIL;
    int ret = IMG_FAIL;
    struct blk *base = NULL;
    uint8_t *buf = NULL;
    if (!top->backing) {
        msg_error(_("Image does not have a backing file"));
        goto out;
    }
    int depth = 1;
    struct blk *bnode = top->backing;
    if (base_name) {
        while (bnode && strcmp(bnode->filename, base_name) != 0) {
            bnode = bnode->backing;
            depth++;
        }
        if (!bnode) {
            msg_error(_("Did not find '%s' in the backing chain of '%s'"), base_name, filename);
            goto out;
        }
    }
    base = img_open(bnode->filename, bnode->drv->name, BLK_O_RDWR);
    if (!base)
        goto out;
    buf = malloc(COMMIT_CHUNK);
    if (!buf)
        goto out;
    img_progress(progress, 0.0);
    uint64_t end = MIN(top->size, base->size);
    for (uint64_t off = 0; off < end;) {
        uint64_t pnum, map;
        int d;
        int st = blk_block_status_above(top, off, MIN(end - off, (uint64_t)COMMIT_CHUNK),
                                        &pnum, &map, NULL, &d);
        int r = st;
        if (st >= 0 && d < depth && (st & BLK_STATUS_ALLOCATED)) {
            if (st & BLK_STATUS_ZERO) {
                r = blk_pwrite_zeroes(base, off, pnum, 0);
            } else {
                r = blk_pread(top, off, pnum, buf);
                if (r >= 0)
                    r = blk_pwrite(base, off, pnum, buf);
            }
        }
        if (r < 0) {
            msg_error(_("error while committing at byte %" PRIu64 ": %s"), off, strerror(-r));
            goto out;
        }
        off += pnum;
        img_progress(progress, (double)off * 100.0 / (double)end);
    }
    if (blk_flush(base) < 0) {
        msg_error(_("error while committing at byte %" PRIu64 ": %s"), end, strerror(EIO));
        goto out;
    }
    img_progress_end(progress);
    blk_close(base);
    base = NULL;
    blk_close(top);
    top = NULL;
    if (!drop) {
        struct blk *t = img_open(filename, fmt, BLK_O_RDWR | BLK_O_NO_BACKING);
        struct error *err = NULL;
        if (!t)
            goto out;
        if (t->drv->make_empty && t->drv->make_empty(t, &err) < 0) {
            msg_error(_("%s: %s"), filename, err_msg(err));
            err_free(err);
            blk_close(t);
            goto out;
        }
        blk_close(t);
    }
    if (!quiet)
        printf("Image committed.\n");
    ret = 0;
out:
    free(buf);
    blk_close(base);
    blk_close(top);
    return ret;
}
