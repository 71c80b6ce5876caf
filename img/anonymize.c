/* anonymize.c - emu-img anonymize [-f fmt] [-p] [-q] [--scrub-names]
 *                                 [--in-place] [--keep-allocation] SRC [DST]
 * Writes DST with every metadata byte of SRC at the same offset and every
 * other byte a hole, so a broken image can be handed on without its data.
 * The walkers and the writer are in lib/block/anon.c and *-anon.c. */
#include <config.h>

#include <getopt.h>
#include <string.h>
#include "i18n.h"
#include "img.h"
#include "msg.h"
#include "block/anon.h"

static void anonymize_progress(void *opaque, double pct)
{
    (void)opaque;
    img_progress(true, pct);
}

int img_anonymize(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "format", required_argument, NULL, 'f' },
        { "scrub-names", no_argument, NULL, 's' },
        { "in-place", no_argument, NULL, 'i' },
        { "keep-allocation", no_argument, NULL, 'k' },
        { NULL, 0, NULL, 0 },
    };
    struct anon_opts o = { 0 };
    bool progress = false, quiet = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":hf:pq", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': o.fmt = optarg; break;
        case 'p': progress = true; break;
        case 'q': quiet = true; break;
        case 's': o.scrub_names = true; break;
        case 'i': o.in_place = true; break;
        case 'k': o.keep_allocation = true; break;
        case 'h':
            printf("anonymize [-f fmt] [-p] [-q] [--scrub-names] [--in-place] "
                   "[--keep-allocation] filename [output_filename]\n");
            return 0;
        case ':':
            msg_error(_("option '%s' needs an argument"), argv[optind - 1]);
            return IMG_FAIL;
        default:
            msg_error(_("unrecognized option '%s'"), argv[optind - 1]);
            return IMG_FAIL;
        }
    }
    int want = o.in_place ? 1 : 2;
    if (argc - optind != want) {
        msg_error(o.in_place ? _("Expecting one image file name with --in-place")
                             : _("Expecting an image file name and an output file name"));
        return IMG_FAIL;
    }
    progress = progress && !quiet;
    if (progress) {
        o.progress = anonymize_progress;
        img_progress(true, 0);
    }
    const char *src = argv[optind], *dst = o.in_place ? NULL : argv[optind + 1];
    struct anon_stats st;
    struct error *err = NULL;
    if (blk_anonymize(src, dst, &o, &st, &err) < 0) {
        img_report(err);
        return IMG_FAIL;
    }
    img_progress_end(progress);
    if (!o.fmt && strcmp(st.fmt, "raw") == 0 && !quiet)
        msg_warn(_("'%s' was probed as raw: the copy holds no metadata; name the format "
                   "with -f if it is an image"), src);
    if (st.warn_unfit && !quiet)
        msg_warn(_("%u compressed clusters had no room for a compressed zero stream and "
                   "were zeroed (they will not read back)"), st.warn_unfit);
    if (progress)
        printf(_("kept %" PRIu64 " of %" PRIu64 " bytes as metadata (%" PRIu64
                 " ranges, %" PRIu64 " bytes of metadata read)\n"),
               st.meta_bytes, st.file_size, st.meta_ranges, st.bytes_read);
    return 0;
}
