/* info.c - emu-img info [-f fmt] [--output=human|json] [--backing-chain]
 *                       [-U] filename */
#include <config.h>

#include <getopt.h>
#include <string.h>
#include <time.h>
#include "i18n.h"
#include "img.h"
#include "msg.h"

/* The snapshot table the way qemu-img prints it (info and snapshot -l). */
void img_dump_snapshots(const struct blk_snapshot *sn, int n);
void img_dump_snapshots(const struct blk_snapshot *sn, int n)
{
    printf("%-10s%-17s%8s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK", "ICOUNT");
    for (int i = 0; i < n; i++) {
        char size[32], date[32], clock[32], icount[32] = "";
        img_size_str(size, sizeof(size), sn[i].vm_state_size);
        time_t t = (time_t)sn[i].date_sec;
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
        uint64_t ms = sn[i].vm_clock_nsec / 1000000;
        snprintf(clock, sizeof(clock), "%02u:%02u:%02u.%03u", (unsigned)(ms / 3600000),
                 (unsigned)(ms / 60000 % 60), (unsigned)(ms / 1000 % 60), (unsigned)(ms % 1000));
        if (sn[i].icount != UINT64_MAX)
            snprintf(icount, sizeof(icount), "%" PRIu64, sn[i].icount);
        printf("%-9s %-16s %8s%20s%13s%11s\n", sn[i].id, sn[i].name, size, date, clock, icount);
    }
}

static void info_json(struct json *j, struct blk *bs)
{
    struct blk_info bi;
    memset(&bi, 0, sizeof(bi));
    if (bs->drv->get_info)
        bs->drv->get_info(bs, &bi);
    struct blk_snapshot *sn = NULL;
    int nsn = bs->drv->snapshot_list ? bs->drv->snapshot_list(bs, &sn) : 0;

    json_obj_begin(j, NULL);
    if (bs->backing_file && bs->backing_fmt)
        json_str(j, "backing-filename-format", bs->backing_fmt);
    if (nsn > 0) {
        json_arr_begin(j, "snapshots");
        for (int i = 0; i < nsn; i++) {
            json_obj_begin(j, NULL);
            if (sn[i].icount != UINT64_MAX)
                json_uint(j, "icount", sn[i].icount);
            json_uint(j, "vm-clock-nsec", sn[i].vm_clock_nsec % 1000000000);
            json_str(j, "name", sn[i].name);
            json_uint(j, "date-sec", sn[i].date_sec);
            json_uint(j, "date-nsec", sn[i].date_nsec);
            json_uint(j, "vm-clock-sec", sn[i].vm_clock_nsec / 1000000000);
            json_str(j, "id", sn[i].id);
            json_uint(j, "vm-state-size", sn[i].vm_state_size);
            json_obj_end(j);
        }
        json_arr_end(j);
    }
    json_uint(j, "virtual-size", bs->size);
    json_str(j, "filename", bs->filename);
    if (bi.cluster_size)
        json_uint(j, "cluster-size", bi.cluster_size);
    json_str(j, "format", bs->drv->name);
    int64_t as = blk_allocated_size(bs);
    if (as >= 0)
        json_int(j, "actual-size", as);
    if (strcmp(bs->drv->name, "qcow2") == 0) {
        json_obj_begin(j, "format-specific");
        json_str(j, "type", "qcow2");
        json_obj_begin(j, "data");
        json_str(j, "compat", bi.compat);
        json_str(j, "compression-type", bi.compression_type);
        if (bi.has_v3_fields)
            json_bool(j, "lazy-refcounts", bi.lazy_refcounts);
        if (bi.has_bitmaps_ext) {
            json_arr_begin(j, "bitmaps");
            for (int i = 0; i < bi.nb_bitmaps; i++) {
                json_obj_begin(j, NULL);
                json_arr_begin(j, "flags");
                if (bi.bitmaps[i].flags & 1)
                    json_str(j, NULL, "in-use");
                if (bi.bitmaps[i].flags & 2)
                    json_str(j, NULL, "auto");
                json_arr_end(j);
                json_str(j, "name", bi.bitmaps[i].name);
                json_uint(j, "granularity", bi.bitmaps[i].granularity);
                json_obj_end(j);
            }
            json_arr_end(j);
        }
        json_int(j, "refcount-bits", bi.refcount_bits);
        if (bi.has_v3_fields) {
            json_bool(j, "corrupt", bi.corrupt);
            json_bool(j, "extended-l2", bi.extended_l2);
        }
        json_obj_end(j);
        json_obj_end(j);
    }
    if (bi.is_vmdk) {
        json_obj_begin(j, "format-specific");
        json_str(j, "type", "vmdk");
        json_obj_begin(j, "data");
        json_uint(j, "cid", bi.cid);
        json_uint(j, "parent-cid", bi.parent_cid);
        json_str(j, "create-type", bi.create_type);
        json_arr_begin(j, "extents");
        for (int i = 0; i < bi.nb_extents; i++) {
            const struct blk_extent_info *x = &bi.extents[i];
            json_obj_begin(j, NULL);
            if (x->compressed)
                json_bool(j, "compressed", true);
            json_uint(j, "virtual-size", x->virtual_size);
            json_str(j, "filename", x->filename);
            if (x->cluster_size)
                json_uint(j, "cluster-size", x->cluster_size);
            json_str(j, "format", x->format);
            json_obj_end(j);
        }
        json_arr_end(j);
        json_obj_end(j);
        json_obj_end(j);
    }
    if (bs->backing_file) {
        json_str(j, "full-backing-filename", bs->backing_path ? bs->backing_path
                                                              : bs->backing_file);
        json_str(j, "backing-filename", bs->backing_file);
    }
    json_bool(j, "dirty-flag", bi.dirty);
    json_obj_end(j);
    blk_snapshots_free(sn, nsn);
    blk_info_clear(&bi);
}

static void info_human(struct blk *bs)
{
    struct blk_info bi;
    memset(&bi, 0, sizeof(bi));
    if (bs->drv->get_info)
        bs->drv->get_info(bs, &bi);
    char size[32];
    printf("image: %s\n", bs->filename);
    printf("file format: %s\n", bs->drv->name);
    img_size_str(size, sizeof(size), bs->size);
    printf("virtual size: %s (%" PRIu64 " bytes)\n", size, bs->size);
    int64_t as = blk_allocated_size(bs);
    if (as >= 0) {
        img_size_str(size, sizeof(size), (uint64_t)as);
        printf("disk size: %s\n", size);
    } else {
        printf("disk size: unavailable\n");
    }
    if (bi.cluster_size)
        printf("cluster_size: %" PRIu64 "\n", bi.cluster_size);
    if (bs->backing_file) {
        printf("backing file: %s", bs->backing_file);
        if (bs->backing_path && strcmp(bs->backing_path, bs->backing_file) != 0)
            printf(" (actual path: %s)", bs->backing_path);
        printf("\n");
        if (bs->backing_fmt)
            printf("backing file format: %s\n", bs->backing_fmt);
    }
    if (bi.dirty)
        printf("cleanly shut down: no\n");
    struct blk_snapshot *sn = NULL;
    int nsn = bs->drv->snapshot_list ? bs->drv->snapshot_list(bs, &sn) : 0;
    if (nsn > 0) {
        printf("Snapshot list:\n");
        img_dump_snapshots(sn, nsn);
    }
    blk_snapshots_free(sn, nsn);
    if (bi.is_vmdk) {
        printf("Format specific information:\n");
        printf("    cid: %u\n    parent cid: %u\n    create type: %s\n    extents:\n", bi.cid,
               bi.parent_cid, bi.create_type);
        for (int i = 0; i < bi.nb_extents; i++) {
            const struct blk_extent_info *x = &bi.extents[i];
            printf("        [%d]:\n", i);
            if (x->compressed)
                printf("            compressed: true\n");
            printf("            virtual size: %" PRIu64 "\n", x->virtual_size);
            printf("            filename: %s\n", x->filename);
            if (x->cluster_size)
                printf("            cluster size: %" PRIu64 "\n", x->cluster_size);
            printf("            format: %s\n", x->format);
        }
    }
    if (strcmp(bs->drv->name, "qcow2") == 0) {
        printf("Format specific information:\n");
        printf("    compat: %s\n", bi.compat);
        printf("    compression type: %s\n", bi.compression_type);
        if (bi.has_v3_fields)
            printf("    lazy refcounts: %s\n", bi.lazy_refcounts ? "true" : "false");
        if (bi.has_bitmaps_ext) {
            printf("    bitmaps:\n");
            for (int i = 0; i < bi.nb_bitmaps; i++) {
                printf("        [%d]:\n            flags:\n", i);
                int k = 0;
                if (bi.bitmaps[i].flags & 1)
                    printf("                [%d]: in-use\n", k++);
                if (bi.bitmaps[i].flags & 2)
                    printf("                [%d]: auto\n", k++);
                printf("            name: %s\n", bi.bitmaps[i].name);
                printf("            granularity: %" PRIu64 "\n", bi.bitmaps[i].granularity);
            }
        }
        printf("    refcount bits: %d\n", bi.refcount_bits);
        if (bi.has_v3_fields) {
            printf("    corrupt: %s\n", bi.corrupt ? "true" : "false");
            printf("    extended l2: %s\n", bi.extended_l2 ? "true" : "false");
        }
    }
    blk_info_clear(&bi);
}

int img_info(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, 'o' },
        { "backing-chain", no_argument, NULL, 'b' },
        { "force-share", no_argument, NULL, 'U' },
        { "image-opts", no_argument, NULL, 'I' },
        { "object", required_argument, NULL, 'J' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL;
    enum img_output out = IMG_OUT_HUMAN;
    bool chain = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":f:hU", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'o':
            if (img_parse_output(optarg, &out) < 0)
                return IMG_FAIL;
            break;
        case 'b': chain = true; break;
        case 'U': break;
        case 'h':
            printf("info [-f fmt] [--output=ofmt] [--backing-chain] [-U] filename\n");
            return 0;
        case 'I':
        case 'J':
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
    struct blk *bs = img_open(filename, fmt, chain ? 0 : BLK_O_NO_BACKING);
    if (!bs)
        return IMG_FAIL;
    struct json j;
    json_init(&j, stdout);
    if (chain && out == IMG_OUT_JSON)
        json_arr_begin(&j, NULL);
    for (struct blk *b = bs; b; b = chain ? b->backing : NULL) {
        if (out == IMG_OUT_JSON) {
            info_json(&j, b);
        } else {
            if (b != bs)
                printf("\n");
            info_human(b);
        }
    }
    if (chain && out == IMG_OUT_JSON)
        json_arr_end(&j);
    if (out == IMG_OUT_JSON)
        json_finish(&j);
    blk_close(bs);
    return 0;
}
