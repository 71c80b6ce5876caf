/* dd.c - emu-img dd [-f fmt] [-O output_fmt] [bs=block_size]
 *                   [count=blocks] [skip=blocks] if=input of=output
 * Copies part of an image into a new one, dd style (qemu-img's rules:
 * count ends the input at count*bs, skip starts it at skip*bs). */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include "i18n.h"
#include "img.h"
#include "msg.h"
#include "parse.h"

int img_dd(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, 'J' },
        { "image-opts", no_argument, NULL, 'I' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *out_fmt = "raw", *in = NULL, *out = NULL;
    uint64_t bsz = 512, count = UINT64_MAX, skip = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":hf:O:U", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'O': out_fmt = optarg; break;
        case 'U': break;
        case 'h':
            printf("dd [-f fmt] [-O output_fmt] [bs=block_size] [count=blocks] [skip=blocks] "
                   "if=input of=output\n");
            return 0;
        case 'I': case 'J':
            msg_error(_("option '%s' is not supported yet"), argv[optind - 1]);
            return IMG_FAIL;
        default:
            msg_error(_("unrecognized option '%s'"), argv[optind - 1]);
            return IMG_FAIL;
        }
    }
    for (int i = optind; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) {
            msg_error(_("unrecognized operand %s"), argv[i]);
            return IMG_FAIL;
        }
        size_t kl = (size_t)(eq - argv[i]);
        const char *v = eq + 1;
        if (kl == 2 && strncmp(argv[i], "if", 2) == 0) {
            in = v;
        } else if (kl == 2 && strncmp(argv[i], "of", 2) == 0) {
            out = v;
        } else if (kl == 2 && strncmp(argv[i], "bs", 2) == 0) {
            if (parse_size(v, &bsz, NULL) < 0 || bsz == 0 || bsz > INT32_MAX) {
                msg_error(_("invalid number: '%s'"), v);
                return IMG_FAIL;
            }
        } else if (kl == 5 && strncmp(argv[i], "count", 5) == 0) {
            if (parse_size(v, &count, NULL) < 0) {
                msg_error(_("invalid number: '%s'"), v);
                return IMG_FAIL;
            }
        } else if (kl == 4 && strncmp(argv[i], "skip", 4) == 0) {
            if (parse_size(v, &skip, NULL) < 0) {
                msg_error(_("invalid number: '%s'"), v);
                return IMG_FAIL;
            }
        } else {
            msg_error(_("unrecognized operand %s"), argv[i]);
            return IMG_FAIL;
        }
    }
    if (!in) {
        msg_error(_("Must specify input file"));
        return IMG_FAIL;
    }
    if (!out) {
        msg_error(_("Must specify output file"));
        return IMG_FAIL;
    }
    struct blk *src = img_open(in, fmt, 0);
    if (!src)
        return IMG_FAIL;
    int ret = IMG_FAIL;
    struct blk *dst = NULL;
    uint8_t *buf = NULL;
    uint64_t start, end = src->size, mul;
    if (count != UINT64_MAX && !MUL_OVERFLOWS(count, bsz, &mul))
        end = MIN(end, mul);
    if (MUL_OVERFLOWS(skip, bsz, &start) || start > end) {
        msg_error(_("Cannot skip to the requested offset: %" PRIu64 " > %" PRIu64), skip,
                  end / bsz);
        goto out;
    }
    struct blk_create_opts o;
    memset(&o, 0, sizeof(o));
    o.size = end - start;
    struct error *err = NULL;
    if (blk_create(out_fmt, out, &o, &err) < 0) {
        msg_error(_("%s: %s"), out, err_msg(err));
        err_free(err);
        goto out;
    }
    dst = img_open(out, out_fmt, BLK_O_RDWR);
    buf = malloc(bsz);
    if (!dst || !buf)
        goto out;
    for (uint64_t off = start; off < end; off += bsz) {
        uint64_t n = MIN(bsz, end - off);
        int r = blk_pread(src, off, n, buf);
        if (r < 0) {
            msg_error(_("error while reading at byte %" PRIu64 ": %s"), off, strerror(-r));
            goto out;
        }
        if (buf_is_zero(buf, n))
            continue;  /* the new image reads as zeros already */
        r = blk_pwrite(dst, off - start, n, buf);
        if (r < 0) {
            msg_error(_("error while writing at byte %" PRIu64 ": %s"), off - start,
                      strerror(-r));
            goto out;
        }
    }
    ret = blk_flush(dst) < 0 ? IMG_FAIL : 0;
out:
    free(buf);
    blk_close(dst);
    blk_close(src);
    return ret;
}
