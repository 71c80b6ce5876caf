/* map.c - emu-img map [-f fmt] [--output=human|json] [--start-offset=off]
 *                     [--max-length=len] [-U] filename
 * Prints the allocation of the image through its backing chain, merging
 * neighbours the way qemu-img does. */
#include <config.h>

#include <getopt.h>
#include <string.h>
#include "i18n.h"
#include "img.h"
#include "msg.h"
#include "parse.h"

struct map_entry {
    uint64_t start, length, offset;
    int depth;
    bool present, zero, data, has_offset;
    struct blk *file;
};

static void print_entry(const struct map_entry *e, enum img_output out, bool first)
{
    if (out == IMG_OUT_JSON) {
        printf("%s{ \"start\": %" PRIu64 ", \"length\": %" PRIu64 ", \"depth\": %d, "
               "\"present\": %s, \"zero\": %s, \"data\": %s", first ? "[" : ",\n",
               e->start, e->length, e->depth, e->present ? "true" : "false",
               e->zero ? "true" : "false", e->data ? "true" : "false");
        if (e->has_offset)
            printf(", \"offset\": %" PRIu64, e->offset);
        printf("}");
    } else if (e->data && e->has_offset) {
        char a[32], b[32], c[32];
        snprintf(a, sizeof(a), "%#" PRIx64, e->start);
        snprintf(b, sizeof(b), "%#" PRIx64, e->length);
        snprintf(c, sizeof(c), "%#" PRIx64, e->offset);
        printf("%-16s%-16s%-16s%s\n", e->start ? a : "0", b, e->offset ? c : "0",
               e->file ? e->file->filename : "");
    }
}

static bool mergeable(const struct map_entry *a, const struct map_entry *b)
{
    if (a->depth != b->depth || a->present != b->present || a->zero != b->zero ||
        a->data != b->data || a->has_offset != b->has_offset)
        return false;
    if (a->has_offset && (a->offset + a->length != b->offset || a->file != b->file))
        return false;
    return true;
}

int img_map(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, 'o' },
        { "start-offset", required_argument, NULL, 's' },
        { "max-length", required_argument, NULL, 'l' },
        { "force-share", no_argument, NULL, 'U' },
        { "object", required_argument, NULL, 'J' },
        { "image-opts", no_argument, NULL, 'I' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL;
    enum img_output out = IMG_OUT_HUMAN;
    uint64_t start = 0, maxlen = UINT64_MAX;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":hf:U", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'o':
            if (img_parse_output(optarg, &out) < 0)
                return IMG_FAIL;
            break;
        case 's':
            if (parse_size(optarg, &start, NULL) < 0) {
                msg_error(_("Invalid start offset specified! You may use k, M, G, T, P or E "
                            "suffixes for "));
                return IMG_FAIL;
            }
            break;
        case 'l':
            if (parse_size(optarg, &maxlen, NULL) < 0) {
                msg_error(_("Invalid length specified! You may use k, M, G, T, P or E "
                            "suffixes for "));
                return IMG_FAIL;
            }
            break;
        case 'U': break;
        case 'h':
            printf("map [-f fmt] [--output=ofmt] [--start-offset=offset] "
                   "[--max-length=len] [-U] filename\n");
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
    struct blk *bs = img_open(argv[optind], fmt, 0);
    if (!bs)
        return IMG_FAIL;
    uint64_t end = bs->size;
    if (maxlen != UINT64_MAX && start + maxlen < end)
        end = start + maxlen;
    if (out == IMG_OUT_HUMAN)
        printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
    struct map_entry cur;
    bool have = false, first = true;
    int ret = 0;
    for (uint64_t off = start; off < end;) {
        uint64_t pnum, map;
        struct blk *file = NULL;
        int depth;
        uint64_t n = MIN(end - off, (uint64_t)1 << 30);
        int st = blk_block_status_above(bs, off, n, &pnum, &map, &file, &depth);
        if (st < 0) {
            msg_error(_("Could not read file metadata: %s"), strerror(-st));
            ret = IMG_FAIL;
            break;
        }
        struct map_entry e = {
            .start = off, .length = pnum, .depth = depth,
            .present = (st & BLK_STATUS_ALLOCATED) != 0,
            .zero = (st & BLK_STATUS_ZERO) != 0,
            .data = (st & BLK_STATUS_DATA) != 0,
            .has_offset = (st & BLK_STATUS_OFFSET) != 0,
            .offset = map, .file = file,
        };
        if (have && mergeable(&cur, &e)) {
            cur.length += e.length;
        } else {
            if (have) {
                print_entry(&cur, out, first);
                first = false;
            }
            cur = e;
            have = true;
        }
        off += pnum;
    }
    if (have && ret == 0) {
        print_entry(&cur, out, first);
        first = false;
    }
    if (out == IMG_OUT_JSON && ret == 0)
        printf(first ? "[]\n" : "]\n");
    blk_close(bs);
    return ret;
}
