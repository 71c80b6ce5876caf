/* resize.c - emu-img resize [-f fmt] [--preallocation=mode] [-q] [--shrink]
 *                           filename [+ | -]size */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include "i18n.h"
#include "img.h"
#include "msg.h"
#include "parse.h"

int img_resize(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "preallocation", required_argument, NULL, 'P' },
        { "shrink", no_argument, NULL, 'S' },
        { "object", required_argument, NULL, 'J' },
        { "image-opts", no_argument, NULL, 'I' },
        { NULL, 0, NULL, 0 },
    };
    if (argc < 3) {
        msg_error(_("Expecting image file name and size"));
        return IMG_FAIL;
    }
    /* The size may be negative: take it off before getopt sees it. */
    const char *size = argv[--argc];
    const char *fmt = NULL;
    bool quiet = false, shrink = false;
    enum blk_prealloc prealloc = BLK_PREALLOC_OFF;
    struct error *err = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":f:hq", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'q': quiet = true; break;
        case 'S': shrink = true; break;
        case 'P':
            if (blk_prealloc_parse(optarg, &prealloc, &err) < 0) {
                msg_error(_("Invalid preallocation mode '%s'"), optarg);
                err_free(err);
                return IMG_FAIL;
            }
            break;
        case 'h':
            printf("resize [-f fmt] [--preallocation=prealloc] [-q] [--shrink] filename "
                   "[+ | -]size\n");
            return 0;
        case 'I': case 'J':
            msg_error(_("option '%s' is not supported yet"), argv[optind - 1]);
            return IMG_FAIL;
        default:
            msg_error(_("unrecognized option '%s'"), argv[optind - 1]);
            return IMG_FAIL;
        }
    }
    if (optind != argc - 1) {
        msg_error(_("Expecting image file name and size"));
        return IMG_FAIL;
    }
    const char *filename = argv[optind];
    int rel = 0;
    if (size[0] == '+' || size[0] == '-') {
        rel = size[0] == '+' ? 1 : -1;
        size++;
    }
    uint64_t n;
    if (parse_size_range(_("size"), size, 0, INT64_MAX, &n, &err) < 0) {
        err_report(err);
        return IMG_FAIL;
    }
    struct blk *bs = img_open(filename, fmt, BLK_O_RDWR | BLK_O_NO_BACKING);
    if (!bs)
        return IMG_FAIL;
    uint64_t total = n;
    if (rel > 0) {
        total = bs->size + n;
    } else if (rel < 0) {
        if (n > bs->size) {
            msg_error(_("New image size must be positive"));
            blk_close(bs);
            return IMG_FAIL;
        }
        total = bs->size - n;
    }
    int ret = 0;
    if (total < bs->size && !shrink) {
        msg_error(_("Use the --shrink option to perform a shrink operation."));
        blk_close(bs);
        return IMG_FAIL;
    }
    if (total < bs->size && prealloc != BLK_PREALLOC_OFF) {
        msg_error(_("Preallocation can only be used for growing images"));
        blk_close(bs);
        return IMG_FAIL;
    }
    if (blk_truncate(bs, total, shrink, prealloc, &err) < 0) {
        msg_error(_("Error resizing image: %s"), err_msg(err));
        err_free(err);
        ret = IMG_FAIL;
    } else if (blk_flush(bs) < 0) {
        msg_error(_("Error resizing image: %s"), strerror(EIO));
        ret = IMG_FAIL;
    } else if (!quiet) {
        printf("Image resized.\n");
    }
    blk_close(bs);
    return ret;
}
