/* snapshot.c - emu-img snapshot [-q] [-l | -a snap | -c snap | -d snap]
 *                               [-U] filename */
#include <config.h>

#include <getopt.h>
#include <string.h>
#include "i18n.h"
#include "img.h"
#include "msg.h"

void img_dump_snapshots(const struct blk_snapshot *sn, int n);

int img_snapshot(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "force-share", no_argument, NULL, 'U' },
        { "object", required_argument, NULL, 'J' },
        { "image-opts", no_argument, NULL, 'I' },
        { NULL, 0, NULL, 0 },
    };
    int action = 0, c;
    const char *name = NULL;
    bool quiet = false;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":la:c:d:hqU", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': case 'a': case 'c': case 'd':
            if (action) {
                msg_error(_("Cannot mix '-l', '-a', '-c', '-d'"));
                return IMG_FAIL;
            }
            action = c;
            name = optarg;
            break;
        case 'q': quiet = true; break;
        case 'U': break;
        case 'h':
            printf("snapshot [-q] [-l | -a snapshot | -c snapshot | -d snapshot] [-U] "
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
    if (optind != argc - 1) {
        msg_error(_("Expecting one image file name"));
        return IMG_FAIL;
    }
    if (!action)
        action = 'l';
    const char *filename = argv[optind];
    struct blk *bs = img_open(filename, NULL,
                              BLK_O_NO_BACKING | (action == 'l' ? 0 : BLK_O_RDWR));
    if (!bs)
        return IMG_FAIL;
    int ret = 0;
    struct error *err = NULL;
    if (!bs->drv->snapshot_list) {
        msg_error(_("Format '%s' does not support snapshots"), bs->drv->name);
        blk_close(bs);
        return IMG_FAIL;
    }
    switch (action) {
    case 'l': {
        struct blk_snapshot *sn = NULL;
        int n = bs->drv->snapshot_list(bs, &sn);
        if (n < 0) {
            msg_error(_("Could not list snapshots: %s"), strerror(-n));
            ret = IMG_FAIL;
            break;
        }
        if (!quiet) {
            printf("Snapshot list:\n");
            img_dump_snapshots(sn, n);
        }
        blk_snapshots_free(sn, n);
        break;
    }
    case 'c':
        if (bs->drv->snapshot_create(bs, name, &err) < 0) {
            msg_error(_("Could not create snapshot '%s': %s"), name, err_msg(err));
            ret = IMG_FAIL;
        }
        break;
    case 'a':
        if (bs->drv->snapshot_goto(bs, name, &err) < 0) {
            msg_error(_("Could not apply snapshot '%s': %s"), name, err_msg(err));
            ret = IMG_FAIL;
        }
        break;
    case 'd':
        if (bs->drv->snapshot_delete(bs, name, &err) < 0) {
            msg_error(_("Could not delete snapshot '%s': %s"), name, err_msg(err));
            ret = IMG_FAIL;
        }
        break;
    }
    err_free(err);
    blk_close(bs);
    return ret;
}
