/* amend.c - emu-img amend [-p] [-q] [-f fmt] [-t cache] [--force]
 *                         -o options filename
 * Changes creation options of an existing image (qcow2: compat,
 * lazy_refcounts, refcount_bits, backing_file/backing_fmt). */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include "i18n.h"
#include "img.h"
#include "msg.h"

int img_amend(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "force", no_argument, NULL, 'F' },
        { "object", required_argument, NULL, 'J' },
        { "image-opts", no_argument, NULL, 'I' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL;
    char *opts = NULL;
    int c, ret = IMG_FAIL;
    char **strings = NULL, **set = NULL;
    struct error *err = NULL;
    struct blk *bs = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":ho:f:t:pq", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': opts = img_opts_append(opts, optarg); break;
        case 'f': fmt = optarg; break;
        case 't': case 'p': case 'q': case 'F': break;
        case 'h':
            printf("amend [-p] [-q] [-f fmt] [-t cache] [--force] -o options filename\n");
            free(opts);
            return 0;
        case 'I': case 'J':
            msg_error(_("option '%s' is not supported yet"), argv[optind - 1]);
            goto done;
        default:
            msg_error(_("unrecognized option '%s'"), argv[optind - 1]);
            goto done;
        }
    }
    if (!opts) {
        msg_error(_("Must specify options (-o)"));
        goto done;
    }
    if (optind != argc - 1 && !img_is_help_opt(opts)) {
        msg_error(_("Expecting one image file name"));
        goto done;
    }
    if (img_is_help_opt(opts) && optind == argc) {
        const struct block_driver *d = blk_find_driver(fmt ? fmt : "qcow2");
        if (!d || !d->create_opts) {
            msg_error(_("Unknown file format '%s'"), fmt ? fmt : "");
            goto done;
        }
        img_print_opts_help(d);
        ret = 0;
        goto done;
    }
    const char *filename = argv[optind];
    bs = img_open(filename, fmt, BLK_O_RDWR | BLK_O_NO_BACKING);
    if (!bs)
        goto done;
    struct blk_create_opts o;
    memset(&o, 0, sizeof(o));
    int r = img_opts_parse(bs->drv, opts, &o, &set, &strings, &err);
    if (r < 0) {
        img_report(err);
        goto done;
    }
    if (r == 1) {
        ret = 0;
        goto done;
    }
    if (!bs->drv->amend) {
        msg_error(_("Format driver '%s' does not support option amendment"), bs->drv->name);
        goto done;
    }
    for (char **p = set; p && *p; p++) {
        if (strcmp(*p, "size") == 0 && o.size != bs->size) {
            msg_error(_("Use 'resize' to change the image size"));
            goto done;
        }
    }
    if (bs->drv->amend(bs, &o, (const char *const *)set, &err) < 0) {
        msg_error(_("Error while amending options: %s"), err_msg(err));
        err_free(err);
        goto done;
    }
    ret = 0;
done:
    blk_close(bs);
    img_opts_free(strings);
    img_opts_free(set);
    free(opts);
    return ret;
}
