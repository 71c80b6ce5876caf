/* check.c - emu-img check [-q] [--output=human|json] [-r leaks|all]
 *                         [-f fmt] [-U] filename
 * Exit codes as qemu-img: 0 clean, 1 check not completed, 2 corruptions,
 * 3 leaks only, 63 format without checks. */
#include <config.h>

#include <getopt.h>
#include <string.h>
#include "i18n.h"
#include "img.h"
#include "msg.h"

static void dump_human(const struct blk_check *c, bool quiet)
{
    if (quiet)
        return;
    if (c->corruptions == 0 && c->leaks == 0 && c->check_errors == 0) {
        printf("No errors were found on the image.\n");
    } else {
        if (c->corruptions)
            printf("\n%d errors were found on the image.\nData may be corrupted, or further "
                   "writes to the image may corrupt it.\n", c->corruptions);
        if (c->leaks)
            printf("\n%d leaked clusters were found on the image.\nThis means waste of disk "
                   "space, but no harm to data.\n", c->leaks);
        if (c->check_errors)
            printf("\n%d internal errors have occurred during the check.\n", c->check_errors);
    }
    if (c->total_clusters && c->allocated_clusters) {
        printf("%" PRIu64 "/%" PRIu64 " = %0.2f%% allocated, %0.2f%% fragmented, %0.2f%% "
               "compressed clusters\n", c->allocated_clusters, c->total_clusters,
               c->allocated_clusters * 100.0 / c->total_clusters,
               c->fragmented_clusters * 100.0 / c->allocated_clusters,
               c->compressed_clusters * 100.0 / c->allocated_clusters);
    }
    if (c->image_end_offset)
        printf("Image end offset: %" PRIu64 "\n", c->image_end_offset);
}

static void dump_json(const struct blk_check *c, const char *filename, const char *fmt)
{
    struct json j;
    json_init(&j, stdout);
    json_obj_begin(&j, NULL);
    if (c->image_end_offset)
        json_uint(&j, "image-end-offset", c->image_end_offset);
    if (c->total_clusters)
        json_uint(&j, "total-clusters", c->total_clusters);
    json_int(&j, "check-errors", c->check_errors);
    if (c->leaks_fixed)
        json_int(&j, "leaks-fixed", c->leaks_fixed);
    if (c->corruptions_fixed)
        json_int(&j, "corruptions-fixed", c->corruptions_fixed);
    if (c->leaks)
        json_int(&j, "leaks", c->leaks);
    if (c->corruptions)
        json_int(&j, "corruptions", c->corruptions);
    if (c->allocated_clusters)
        json_uint(&j, "allocated-clusters", c->allocated_clusters);
    if (c->fragmented_clusters)
        json_uint(&j, "fragmented-clusters", c->fragmented_clusters);
    if (c->compressed_clusters)
        json_uint(&j, "compressed-clusters", c->compressed_clusters);
    json_str(&j, "filename", filename);
    json_str(&j, "format", fmt);
    json_obj_end(&j);
    json_finish(&j);
}

int img_check(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "format", required_argument, NULL, 'f' },
        { "repair", required_argument, NULL, 'r' },
        { "output", required_argument, NULL, 'o' },
        { "force-share", no_argument, NULL, 'U' },
        { "object", required_argument, NULL, 'J' },
        { "image-opts", no_argument, NULL, 'I' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL;
    enum img_output out = IMG_OUT_HUMAN;
    int fix = 0, c;
    bool quiet = false;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":hf:r:T:qU", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'r':
            if (strcmp(optarg, "leaks") == 0) {
                fix = BLK_FIX_LEAKS;
            } else if (strcmp(optarg, "all") == 0) {
                fix = BLK_FIX_LEAKS | BLK_FIX_ERRORS;
            } else {
                msg_error(_("Unknown option value for -r (expecting 'leaks' or 'all'): %s"),
                          optarg);
                return IMG_FAIL;
            }
            break;
        case 'o':
            if (img_parse_output(optarg, &out) < 0)
                return IMG_FAIL;
            break;
        case 'T': case 'U': break;
        case 'q': quiet = true; break;
        case 'h':
            printf("check [-q] [--output=ofmt] [-r [leaks | all]] [-f fmt] [-U] filename\n");
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
        msg_error(_("Expecting one image file name"));
        return IMG_FAIL;
    }
    const char *filename = argv[optind];
    int flags = BLK_O_NO_BACKING | BLK_O_NO_REPAIR | (fix ? BLK_O_RDWR : 0);
    struct blk *bs = img_open(filename, fmt, flags);
    if (!bs)
        return IMG_FAIL;
    if (!bs->drv->check) {
        blk_close(bs);
        msg_error(_("This image format does not support checks"));
        return 63;
    }
    struct blk_check res;
    memset(&res, 0, sizeof(res));
    res.report = stderr;
    struct error *err = NULL;
    int r = bs->drv->check(bs, &res, fix, &err);
    if (r >= 0 && (res.corruptions_fixed || res.leaks_fixed)) {
        int lf = res.leaks_fixed, cf = res.corruptions_fixed;
        if (out == IMG_OUT_HUMAN && !quiet)
            printf("The following inconsistencies were found and repaired:\n\n"
                   "    %d leaked clusters\n    %d corruptions\n\n"
                   "Double checking the fixed image now...\n", lf, cf);
        memset(&res, 0, sizeof(res));
        res.report = stderr;
        r = bs->drv->check(bs, &res, 0, &err);
        res.leaks_fixed = lf;
        res.corruptions_fixed = cf;
    }
    if (r < 0) {
        msg_error(_("Check failed: %s"), err_msg(err));
        err_free(err);
        blk_close(bs);
        return IMG_FAIL;
    }
    if (out == IMG_OUT_JSON)
        dump_json(&res, filename, bs->drv->name);
    else
        dump_human(&res, quiet);
    blk_close(bs);
    if (res.check_errors)
        return 1;
    if (res.corruptions)
        return 2;
    if (res.leaks)
        return 3;
    return 0;
}
