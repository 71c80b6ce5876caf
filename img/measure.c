/* measure.c - emu-img measure [--output=ofmt] [-O output_fmt] [-o options]
 *                             [--size N | [-f fmt] filename]
 * The space an image needs, with qemu-img's formula. */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include "i18n.h"
#include "img.h"
#include "msg.h"
#include "parse.h"

int img_measure(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "output", required_argument, NULL, 'p' },
        { "size", required_argument, NULL, 's' },
        { "force-share", no_argument, NULL, 'U' },
        { "object", required_argument, NULL, 'J' },
        { "image-opts", no_argument, NULL, 'I' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *out_fmt = "raw";
    char *opts = NULL;
    enum img_output out = IMG_OUT_HUMAN;
    uint64_t size = 0;
    bool has_size = false;
    int c, ret = IMG_FAIL;
    char **strings = NULL;
    struct error *err = NULL;
    struct blk *bs = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":hf:O:o:l:U", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'O': out_fmt = optarg; break;
        case 'o': opts = img_opts_append(opts, optarg); break;
        case 'p':
            if (img_parse_output(optarg, &out) < 0)
                goto done;
            break;
        case 's':
            if (parse_size(optarg, &size, NULL) < 0) {
                msg_error(_("Invalid image size specified. You may use k, M, G, T, P or E "
                            "suffixes for\nkilobytes, megabytes, gigabytes, terabytes, "
                            "petabytes and exabytes."));
                goto done;
            }
            has_size = true;
            break;
        case 'U': break;
        case 'h':
            printf("measure [--output=ofmt] [-O output_fmt] [-o options] [--size N | "
                   "[-f fmt] filename]\n");
            free(opts);
            return 0;
        case 'l': case 'I': case 'J':
            msg_error(_("option '%s' is not supported yet"), argv[optind - 1]);
            goto done;
        default:
            msg_error(_("unrecognized option '%s'"), argv[optind - 1]);
            goto done;
        }
    }
    if (has_size && optind < argc) {
        msg_error(_("--size N cannot be used together with a filename."));
        goto done;
    }
    if (!has_size && optind != argc - 1) {
        msg_error(_("Either --size N or one filename must be specified."));
        goto done;
    }
    const struct block_driver *odrv = img_format_driver(out_fmt);
    if (!odrv)
        goto done;
    struct blk_create_opts o;
    memset(&o, 0, sizeof(o));
    int r = img_opts_parse(odrv, opts, &o, NULL, &strings, &err);
    if (r < 0) {
        img_report(err);
        goto done;
    }
    if (r == 1) {
        ret = 0;
        goto done;
    }
    uint64_t allocated = 0;
    bool src_qcow2 = false;
    if (!has_size) {
        bs = img_open(argv[optind], fmt, 0);
        if (!bs)
            goto done;
        size = bs->size;
        src_qcow2 = strcmp(bs->drv->name, "qcow2") == 0;
        uint64_t cs = o.cluster_size ? o.cluster_size : 65536;
        for (uint64_t off = 0; off < size;) {
            uint64_t pnum, map;
            int depth;
            int st = blk_block_status_above(bs, off, size - off, &pnum, &map, NULL, &depth);
            if (st < 0) {
                msg_error(_("Could not read file metadata: %s"), strerror(-st));
                goto done;
            }
            if (!(st & BLK_STATUS_ZERO) && (st & BLK_STATUS_DATA)) {
                pnum = ALIGN_UP(off + pnum, cs) - off;
                allocated += off % cs + pnum;
            }
            off += pnum;
        }
    }
    o.size = size;
    uint64_t required, fully;
    if (odrv->measure) {
        if (odrv->measure(&o, allocated, &required, &fully, &err) < 0) {
            img_report(err);
            goto done;
        }
    } else {
        required = fully = ALIGN_UP(size, (uint64_t)512);
    }
    bool bitmaps = src_qcow2 && odrv->measure;
    if (out == IMG_OUT_JSON) {
        struct json j;
        json_init(&j, stdout);
        json_obj_begin(&j, NULL);
        if (bitmaps)
            json_uint(&j, "bitmaps", 0);
        json_uint(&j, "required", required);
        json_uint(&j, "fully-allocated", fully);
        json_obj_end(&j);
        json_finish(&j);
    } else {
        printf("required size: %" PRIu64 "\n", required);
        printf("fully allocated size: %" PRIu64 "\n", fully);
        if (bitmaps)
            printf("bitmaps size: %d\n", 0);
    }
    ret = 0;
done:
    blk_close(bs);
    img_opts_free(strings);
    free(opts);
    return ret;
}
