/* drive.c - -drive and -blockdev: open disk images for devices (drive.h). */
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "hw/drive.h"
#include "block/block.h"
#include "i18n.h"
#include "keyval.h"
#include "loop.h"
#include "msg.h"

enum cache_mode { CACHE_WRITEBACK, CACHE_WRITETHROUGH, CACHE_NONE, CACHE_DIRECTSYNC, CACHE_UNSAFE };
static const char *const cache_names[] = { "writeback", "writethrough", "none", "directsync",
                                           "unsafe", NULL };

static void drive_free(struct drive *d)
{
    if (!d)
        return;
    if (d->bs)
        blk_close(d->bs);
    free(d->id);
    free(d->filename);
    free(d->format);
    free(d->serial);
    free(d);
}

static int set_str(char **dst, const char *v, struct error **errp)
{
    free(*dst);
    *dst = v ? strdup(v) : NULL;
    if (v && !*dst)
        return err_set(errp, ENOMEM, _("out of memory"));
    return 0;
}

static int add(struct drive_set *s, struct drive *d, struct error **errp)
{
    if (drive_find(s, d->id))
        return err_set(errp, EEXIST, _("Duplicate ID '%s' for drive"), d->id);
    if (s->n == DRIVE_MAX)
        return err_set(errp, E2BIG, _("too many drives (at most %d)"), DRIVE_MAX);
    s->d[s->n++] = d;
    return 0;
}

/* The cache mode's flags and write-cache setting. */
static void apply_cache(struct drive *d, int mode)
{
    d->writeback = mode != CACHE_WRITETHROUGH && mode != CACHE_DIRECTSYNC;
    if (mode == CACHE_NONE || mode == CACHE_DIRECTSYNC)
        d->flags |= BLK_O_DIRECT;
    if (mode == CACHE_UNSAFE)
        d->flags |= BLK_O_NO_FLUSH;
}

static int check_format(const char *fmt, struct error **errp)
{
    if (fmt && !blk_find_driver(fmt))
        return err_set(errp, EINVAL, _("'%s' invalid format"), fmt);
    return 0;
}

int drive_add(struct drive_set *s, const char *spec, char **device, struct error **errp)
{
    struct kv *kv;
    *device = NULL;
    int r = kv_parse(&kv, spec, NULL, errp);
    if (r < 0)
        return r;
    struct drive *d = calloc(1, sizeof(*d));
    if (!d) {
        kv_free(kv);
        return err_set(errp, ENOMEM, _("out of memory"));
    }
    static const char *const ifs[] = { "virtio", "none", NULL };
    static const char *const discards[] = { "ignore", "off", "unmap", "on", NULL };
    static const char *const medias[] = { "disk", NULL };
    static const char *const aios[] = { "threads", "native", "io_uring", NULL };
    static const char *const zeroes[] = { "off", NULL };
    const char *file = kv_get(kv, "file");
    const char *id = kv_get(kv, "id");
    int iface = kv_get_choice(kv, "if", ifs, 0, errp);
    int cache = iface < 0 ? iface : kv_get_choice(kv, "cache", cache_names, CACHE_WRITEBACK, errp);
    int disc = cache < 0 ? cache : kv_get_choice(kv, "discard", discards, 0, errp);
    r = disc;
    if (r >= 0)
        r = kv_get_choice(kv, "media", medias, 0, errp);
    if (r >= 0)
        r = kv_get_choice(kv, "aio", aios, 0, errp);    /* the pool serves every kind */
    if (r >= 0)
        r = kv_get_choice(kv, "detect-zeroes", zeroes, 0, errp);
    bool ro = false, snap = false;
    if (r >= 0)
        r = kv_get_bool(kv, "readonly", false, &ro, errp);
    if (r >= 0)
        r = kv_get_bool(kv, "read-only", ro, &ro, errp);
    if (r >= 0)
        r = kv_get_bool(kv, "snapshot", s->snapshot_all, &snap, errp);
    if (r >= 0)
        r = set_str(&d->format, kv_get(kv, "format"), errp);
    if (r >= 0)
        r = check_format(d->format, errp);
    if (r >= 0)
        r = set_str(&d->serial, kv_get(kv, "serial"), errp);
    if (r >= 0)
        r = kv_check_used(kv, errp);
    if (r >= 0 && !file)
        r = err_set(errp, EINVAL, _("a drive needs file="));
    if (r >= 0)
        r = set_str(&d->filename, file, errp);
    if (r >= 0) {
        char name[32];
        if (!id) {
            /* qemu's names for drives without an id */
            snprintf(name, sizeof(name), "virtio%d", s->n);
            id = name;
        }
        r = set_str(&d->id, id, errp);
    }
    if (r >= 0) {
        d->readonly = ro;
        d->snapshot = snap;
        d->discard = disc >= 2;
        apply_cache(d, cache);
        r = add(s, d, errp);
    }
    if (r >= 0 && iface == 0) {
        size_t n = strlen(d->id) + 64;
        if (!(*device = malloc(n))) {
            s->n--;
            r = err_set(errp, ENOMEM, _("out of memory"));
        } else {
            snprintf(*device, n, "virtio-blk-device,drive=%s", d->id);
        }
    }
    kv_free(kv);
    if (r < 0)
        drive_free(d);
    return r;
}

static int blockdev_kv_add(struct drive_set *s, struct kv *kv, struct error **errp)
{
    static const char *const discards[] = { "ignore", "unmap", NULL };
    struct drive *d = calloc(1, sizeof(*d));
    if (!d)
        return err_set(errp, ENOMEM, _("out of memory"));
    const char *driver = kv_get(kv, "driver");
    const char *name = kv_get(kv, "node-name");
    int r = 0;
    bool ro = false, direct = false, noflush = false;
    if (!driver)
        r = err_set(errp, EINVAL, _("Parameter 'driver' is missing"));
    else if (!name)
        r = err_set(errp, EINVAL, _("Parameter 'node-name' is missing"));
    if (r >= 0)
        r = set_str(&d->id, name, errp);
    if (r >= 0)
        r = kv_get_bool(kv, "read-only", false, &ro, errp);
    if (r >= 0)
        r = kv_get_bool(kv, "cache.direct", false, &direct, errp);
    if (r >= 0)
        r = kv_get_bool(kv, "cache.no-flush", false, &noflush, errp);
    int disc = r < 0 ? r : kv_get_choice(kv, "discard", discards, 0, errp);
    if (disc < 0)
        r = disc;
    (void)kv_get(kv, "auto-read-only");     /* libvirt's; we open as asked */
    const char *file = NULL;
    if (r >= 0 && (strcmp(driver, "file") == 0 || strcmp(driver, "host_device") == 0)) {
        /* a protocol node: formats refer to it by name */
        d->is_protocol = true;
        file = kv_get(kv, "filename");
        (void)kv_get(kv, "aio");
        (void)kv_get(kv, "locking");
        if (!file)
            r = err_set(errp, EINVAL, _("Parameter 'filename' is missing"));
    } else if (r >= 0) {
        r = check_format(driver, errp);
        if (r >= 0)
            r = set_str(&d->format, driver, errp);
        const char *ref = kv_get(kv, "file");
        const char *fdrv = kv_get(kv, "file.driver");
        const char *backing = kv_get(kv, "backing");
        (void)kv_get(kv, "file.aio");
        (void)kv_get(kv, "file.locking");
        if (backing && strcmp(backing, "null") != 0 && strcmp(backing, "") != 0)
            r = err_set(errp, ENOTSUP, _("backing='%s': only the image's own backing chain "
                                         "or null is supported"), backing);
        else if (backing)
            d->flags |= BLK_O_NO_BACKING;
        if (r >= 0 && ref) {
            struct drive *p = drive_find(s, ref);
            if (!p || !p->is_protocol)
                r = err_set(errp, ENOENT, _("Cannot find node '%s'"), ref);
            else {
                file = p->filename;
                p->taken = true;
                d->flags |= p->flags;
                ro = ro || p->readonly;
            }
        } else if (r >= 0) {
            if (fdrv && strcmp(fdrv, "file") != 0 && strcmp(fdrv, "host_device") != 0)
                r = err_set(errp, ENOTSUP, _("file.driver=%s is not supported"), fdrv);
            file = kv_get(kv, "file.filename");
            bool fdirect = false;
            if (r >= 0)
                r = kv_get_bool(kv, "file.cache.direct", false, &fdirect, errp);
            direct = direct || fdirect;
            if (r >= 0 && !file)
                r = err_set(errp, EINVAL, _("Parameter 'file' is missing"));
        }
    }
    if (r >= 0)
        r = kv_check_used(kv, errp);
    if (r >= 0)
        r = set_str(&d->filename, file, errp);
    if (r >= 0) {
        d->readonly = ro;
        d->discard = disc == 1;
        d->writeback = true;
        d->snapshot = s->snapshot_all;
        if (direct)
            d->flags |= BLK_O_DIRECT;
        if (noflush)
            d->flags |= BLK_O_NO_FLUSH;
        r = add(s, d, errp);
    }
    if (r < 0)
        drive_free(d);
    return r;
}

int blockdev_add(struct drive_set *s, const char *spec, struct error **errp)
{
    struct kv *kv;
    int r = spec[0] == '{' ? kv_parse_json(&kv, spec, errp) : kv_parse(&kv, spec, NULL, errp);
    if (r < 0)
        return r;
    r = blockdev_kv_add(s, kv, errp);
    kv_free(kv);
    return r;
}

struct drive *drive_find(struct drive_set *s, const char *id)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->d[i]->id, id) == 0)
            return s->d[i];
    return NULL;
}

/* Image locking, as qemu does it, so that two emulators (ours or qemu's)
 * never write one image at once, nor one writes a base that another
 * reads through.  qemu's scheme: open file description (OFD) read locks
 * on single bytes, 100 + n for each permission n a user holds and
 * 200 + n for each it does not let others have, where n is the bit of
 * consistent-read (0), write (1) or resize (3).  A writer holds
 * 100, 101, 201 and 203; a reader (a backing file, a read-only disk)
 * 100 and 201.  Before taking a permission one checks that nobody else
 * refuses to share it, and before refusing one that nobody holds it. */
#define LOCK_PERM 100
#define LOCK_UNSHARED 200
#define PERM_READ 0
#define PERM_WRITE 1
#define PERM_RESIZE 3

/* Whether another open file description holds a lock on byte B. */
static bool byte_locked(int fd, int b)
{
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = b, .l_len = 1 };
    if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
        return false;           /* no locks here (some network file systems) */
    return fl.l_type != F_UNLCK;
}

static int lock_byte(int fd, int b)
{
    struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = b, .l_len = 1 };
    return fcntl(fd, F_OFD_SETLK, &fl) < 0 && errno != EINVAL && errno != ENOLCK ? -errno : 0;
}

static int lock_node(struct blk *bs, bool write, struct error **errp)
{
    struct blk *p = bs->file ? bs->file : bs;
    if (p->fd < 0)
        return 0;
    /* a writer needs nobody to refuse writes (201) or hold them (101);
     * a reader needs nobody writing (101), since it refuses that */
    if (byte_locked(p->fd, LOCK_UNSHARED + PERM_WRITE) && write)
        return err_set(errp, EBUSY, _("Failed to get \"write\" lock: '%s' is in use by "
                                      "another process"), p->filename);
    if (byte_locked(p->fd, LOCK_PERM + PERM_WRITE))
        return err_set(errp, EBUSY, _("Failed to get shared \"write\" lock: '%s' is being "
                                      "written by another process"), p->filename);
    int r = lock_byte(p->fd, LOCK_PERM + PERM_READ);
    if (r == 0)
        r = lock_byte(p->fd, LOCK_UNSHARED + PERM_WRITE);
    if (r == 0 && write)
        r = lock_byte(p->fd, LOCK_PERM + PERM_WRITE);
    if (r == 0 && write)
        r = lock_byte(p->fd, LOCK_UNSHARED + PERM_RESIZE);
    if (r < 0)
        return err_set_errno(errp, -r, _("cannot lock '%s'"), p->filename);
    return 0;
}

/* Lock the drive's image and its backing chain. */
static int lock_chain(struct drive *d, struct error **errp)
{
    bool write = !d->readonly && !d->snapshot;
    /* with snapshot=on the top is our private overlay: the image below
     * it is only read */
    struct blk *bs = d->bs;
    if (d->snapshot && !d->readonly) {
        write = false;
        bs = bs->backing;
    } else {
        write = !d->readonly;
    }
    for (; bs; bs = bs->backing) {
        int r = lock_node(bs, write, errp);
        if (r < 0)
            return r;
        write = false;
    }
    return 0;
}

/* snapshot=on: a qcow2 overlay in $TMPDIR on top of the image, deleted
 * as soon as it is open, so nothing is left behind even after a crash. */
static int open_overlay(struct drive *d, struct error **errp)
{
    struct blk *base;
    int r = blk_open(&base, d->filename, d->format, 0, errp);
    if (r < 0)
        return r;
    uint64_t size = base->size;
    char *fmt = strdup(base->drv->name);
    blk_close(base);
    char *abs = realpath(d->filename, NULL);
    const char *dir = getenv("TMPDIR");
    char tmpl[PATH_MAX];
    snprintf(tmpl, sizeof(tmpl), "%s/emu-snapshot-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = -1;
    if (!fmt || !abs)
        r = err_set(errp, ENOMEM, _("out of memory"));
    else if ((fd = mkstemp(tmpl)) < 0)
        r = err_set_errno(errp, errno, _("cannot create a temporary overlay in '%s'"),
                          dir && *dir ? dir : "/tmp");
    if (r >= 0) {
        close(fd);
        struct blk_create_opts o = { .size = size, .has_size = true, .backing_file = abs,
                                     .backing_fmt = fmt };
        r = blk_create("qcow2", tmpl, &o, errp);
        if (r >= 0)
            r = blk_open(&d->bs, tmpl, "qcow2", (d->flags & ~BLK_O_DIRECT) | BLK_O_RDWR, errp);
        unlink(tmpl);
    }
    free(abs);
    free(fmt);
    return r;
}

int drives_open(struct drive_set *s, struct error **errp)
{
    for (int i = 0; i < s->n; i++) {
        struct drive *d = s->d[i];
        if (d->bs || d->is_protocol)
            continue;
        int r = d->snapshot && !d->readonly
                    ? open_overlay(d, errp)
                    : blk_open(&d->bs, d->filename, d->format,
                               d->flags | (d->readonly ? 0 : BLK_O_RDWR), errp);
        if (r >= 0)
            r = lock_chain(d, errp);
        /* a raw image can be made to look like any format by what the
         * guest writes to its first sector: say so, as qemu does */
        struct blk *top = d->snapshot && !d->readonly && d->bs ? d->bs->backing : d->bs;
        if (r >= 0 && !d->format && top && top->probed && strcmp(top->drv->name, "raw") == 0)
            msg_warn(_("drive '%s': the format of '%s' was not given and probing guessed raw; "
                       "give format=raw, or a guest could make it look like another format"),
                     d->id, d->filename);
        if (r < 0) {
            err_prefix(errp, _("drive '%s'"), d->id);
            return r;
        }
    }
    return 0;
}

void drives_warn_unused(const struct drive_set *s)
{
    for (int i = 0; i < s->n; i++)
        if (!s->d[i]->taken)
            msg_warn(_("drive '%s' (%s) is not used by any device"), s->d[i]->id,
                     s->d[i]->filename);
}

void drives_free(struct drive_set *s)
{
    for (int i = 0; i < s->n; i++)
        drive_free(s->d[i]);
    s->n = 0;
}

void drive_account(struct drive *d, enum drive_acct kind, uint64_t off, uint64_t len,
                   uint64_t ns, int ret)
{
    struct drive_stats *st = &d->stats;
    if (ret == DRIVE_INVALID) {
        __atomic_add_fetch(&st->invalid[kind], 1, __ATOMIC_RELAXED);
    } else if (ret < 0) {
        __atomic_add_fetch(&st->failed[kind], 1, __ATOMIC_RELAXED);
    } else {
        __atomic_add_fetch(&st->ops[kind], 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&st->bytes[kind], len, __ATOMIC_RELAXED);
        __atomic_add_fetch(&st->total_ns[kind], ns, __ATOMIC_RELAXED);
        if (kind == DRIVE_WR) {
            uint64_t end = off + len, old = __atomic_load_n(&st->wr_highest_offset,
                                                             __ATOMIC_RELAXED);
            while (end > old && !__atomic_compare_exchange_n(&st->wr_highest_offset, &old, end,
                                                             true, __ATOMIC_RELAXED,
                                                             __ATOMIC_RELAXED))
                ;
        }
    }
    __atomic_store_n(&st->last_done_ns, loop_now_ns(), __ATOMIC_RELAXED);
}
