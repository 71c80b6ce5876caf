/* create.c - emu-img create [-q] [-f fmt] [-b backing_file [-F backing_fmt]]
 *                           [-u] [-o options] filename [size] */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include "i18n.h"
#include "img.h"
#include "msg.h"
#include "parse.h"

static void print_formatting(const char *filename, const char *fmt,
                             const struct blk_create_opts *o, char **set)
{
    bool given_prealloc = false, given_compat = false;
    for (char **p = set; p && *p; p++) {
        if (strcmp(*p, "preallocation") == 0)
            given_prealloc = true;
        if (strcmp(*p, "compat") == 0)
            given_compat = true;
    }
    printf("Formatting '%s', fmt=%s", filename, fmt);
    if (strcmp(fmt, "qcow2") == 0) {
        printf(" cluster_size=%" PRIu64 " extended_l2=%s", o->cluster_size ? o->cluster_size
                                                                         : 65536,
               o->extended_l2 ? "on" : "off");
        if (given_prealloc)
            printf(" preallocation=%s", blk_prealloc_name(o->prealloc));
        printf(" compression_type=%s size=%" PRIu64, o->compression_type ? "zstd" : "zlib",
               o->size);
        if (o->backing_file)
            printf(" backing_file=%s", o->backing_file);
        if (o->backing_fmt)
            printf(" backing_fmt=%s", o->backing_fmt);
        if (given_compat)
            printf(" compat=%s", o->compat == 2 ? "0.10" : "1.1");
        printf(" lazy_refcounts=%s refcount_bits=%d", o->lazy_refcounts ? "on" : "off",
               o->refcount_bits ? o->refcount_bits : 16);
    } else {
        printf(" size=%" PRIu64, o->size);
        if (given_prealloc)
            printf(" preallocation=%s", blk_prealloc_name(o->prealloc));
        if (strcmp(fmt, "vdi") == 0)
            printf(" static=%s", o->fixed ? "on" : "off");
        if (strcmp(fmt, "vpc") == 0 && o->fixed)
            printf(" subformat=fixed");
        if (strcmp(fmt, "vhdx") == 0) {
            printf(" log_size=%" PRIu64 " block_size=%" PRIu64, o->log_size ? o->log_size
                                                                          : 1048576,
                   o->block_size);
            if (o->subformat)
                printf(" subformat=%s", o->subformat);
            if (o->has_block_state_zero)
                printf(" block_state_zero=%s", o->block_state_zero_off ? "off" : "on");
        }
        if (strcmp(fmt, "vmdk") == 0) {
            if (o->adapter_type)
                printf(" adapter_type=%s", o->adapter_type);
            printf(" compat6=%s hwversion=%s", o->compat6 ? "on" : "off",
                   o->hwversion ? o->hwversion : "undefined");
            if (o->subformat)
                printf(" subformat=%s", o->subformat);
            if (o->toolsversion)
                printf(" toolsversion=%s", o->toolsversion);
            if (o->zeroed_grain)
                printf(" zeroed_grain=on");
        }
    }
    printf("\n");
}

int img_create(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, 'O' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = "raw", *backing = NULL, *backing_fmt = NULL;
    char *opts = NULL;
    bool quiet = false, unsafe = false;
    int c, ret = IMG_FAIL;
    char **strings = NULL, **set = NULL;
    struct error *err = NULL;

    optind = 1;
    while ((c = getopt_long(argc, argv, ":F:b:f:ho:qu", longopts, NULL)) != -1) {
        switch (c) {
        case 'F': backing_fmt = optarg; break;
        case 'b': backing = optarg; break;
        case 'f': fmt = optarg; break;
        case 'o': opts = img_opts_append(opts, optarg); break;
        case 'q': quiet = true; break;
        case 'u': unsafe = true; break;
        case 'h':
            printf("create [-q] [-f fmt] [-b backing_file [-F backing_fmt]] [-u] [-o options] "
                   "filename [size]\n");
            free(opts);
            return 0;
        case 'O':
            msg_error(_("--object is not supported yet"));
            goto out;
        case ':':
            msg_error(_("option '%s' needs an argument"), argv[optind - 1]);
            goto out;
        default:
            msg_error(_("unrecognized option '%s'"), argv[optind - 1]);
            goto out;
        }
    }
    const struct block_driver *drv = img_format_driver(fmt);
    if (!drv)
        goto out;
    struct blk_create_opts o;
    memset(&o, 0, sizeof(o));
    int r = img_opts_parse(drv, opts, &o, &set, &strings, &err);
    if (r < 0) {
        img_report(err);
        goto out;
    }
    if (r == 1) {
        ret = 0;
        goto out;
    }
    if (optind >= argc) {
        msg_error(_("Expecting image file name"));
        goto out;
    }
    const char *filename = argv[optind++];
    if (optind < argc) {
        uint64_t sz;
        struct error *err = NULL;
        /* One line naming the bad size and why (qemu-img prints two). */
        if (parse_size_range(_("image size"), argv[optind], 0, INT64_MAX, &sz, &err) < 0) {
            err_report(err);
            goto out;
        }
        o.size = sz;
        o.has_size = true;
        optind++;
    }
    if (optind < argc) {
        msg_error(_("Unexpected argument: %s"), argv[optind]);
        goto out;
    }
    if (backing)
        o.backing_file = backing;
    if (backing_fmt)
        o.backing_fmt = backing_fmt;
    o.unsafe_backing = unsafe;
    if (o.backing_fmt && !o.backing_file) {
        msg_error(_("%s: backing format given without a backing file"), filename);
        goto out;
    }
    if (o.backing_file) {
        if (strcmp(fmt, "qcow2") != 0) {
            msg_error(_("%s: format '%s' does not support backing files"), filename, fmt);
            goto out;
        }
        if (!o.backing_fmt) {
            msg_error(_("%s: Backing file specified without backing format"), filename);
            goto out;
        }
        if (!unsafe) {
            char *path = blk_path_combine(filename, o.backing_file);
            struct blk *b = path ? img_open(path, o.backing_fmt, 0) : NULL;
            free(path);
            if (!b)
                goto out;
            if (!o.has_size) {
                o.size = b->size;
                o.has_size = true;
            }
            blk_close(b);
        }
    }
    if (!o.has_size) {
        msg_error(_("%s: Image creation needs a size parameter"), filename);
        goto out;
    }
    if (!quiet)
        print_formatting(filename, fmt, &o, set);
    if (blk_create(fmt, filename, &o, &err) < 0) {
        msg_error(_("%s: %s"), filename, err_msg(err));
        err_free(err);
        goto out;
    }
    ret = 0;
out:
    img_opts_free(strings);
    img_opts_free(set);
    free(opts);
    return ret;
}
