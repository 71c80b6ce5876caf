/* savevm.c - internal snapshots of a running machine (savevm.h).
 *
 * The order of a savevm, as QEMU's: check that every writable disk can
 * take a snapshot, drop older snapshots of the name, pause the CPUs and
 * let device requests finish (the worker pool drains: no request is in
 * flight in the saved state), write the machine's state into the first
 * disk's VM state area, snapshot every disk (the first records the
 * state's size and the guest clock), and run on.  The guest clock is put
 * back to where it was paused, so the guest does not see the pause.
 *
 * loadvm applies the snapshot to every disk first and then reads the
 * state from the first one's active layer, where applying it put the VM
 * state back (lib/block/qcow2-vmstate.c).  A state that does not load
 * (damaged, hostile, another machine configuration) leaves the machine
 * paused with one line saying why.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "savevm.h"
#include "monitor.h"
#include "block/block.h"
#include "hw/drive.h"
#include "hw/hw.h"
#include "hw/machine.h"
#include "pool.h"
#include "vmstate.h"
#include "i18n.h"

#define SNAP_NAME_MAX 255       /* what QEMU keeps of a name */

static struct monitor_host *H;

void savevm_set_host(struct monitor_host *h)
{
    H = h;
}

static struct monitor_host *host(struct error **errp)
{
    struct monitor_host *h = H ? H : monitor_host();
    if (!h || !h->m || !h->m->board) {
        err_set(errp, ENODEV, "there is no machine");
        return NULL;
    }
    return h;
}

/* ---- the disks ---- */

static bool can_snapshot(const struct blk *bs)
{
    const struct block_driver *d = bs->drv;
    return d->snapshot_list && d->snapshot_create && d->snapshot_goto && d->snapshot_delete;
}

/* Every writable disk (QEMU's rule: read-only ones are left alone), in
 * -drive order; a writable one that cannot take snapshots is an error
 * when STRICT (save, load), else left out (delvm, info snapshots). */
static int snap_disks(struct monitor_host *h, struct drive **out, int *n, bool strict,
                      struct error **errp)
{
    *n = 0;
    for (int i = 0; h->drives && i < h->drives->n; i++) {
        struct drive *d = h->drives->d[i];
        if (d->is_protocol || !d->bs || d->readonly || d->bs->read_only)
            continue;
        if (!strict && (!can_snapshot(d->bs) || !blk_can_vmstate(d->bs)))
            continue;
        if (!can_snapshot(d->bs) || !blk_can_vmstate(d->bs))
            return err_set(errp, ENOTSUP,
                           "Device '%s' is writable but does not support snapshots", d->id);
        out[(*n)++] = d;
    }
    return 0;
}

/* The snapshot NAME (an id or a name, ids first, as qcow2 looks them up)
 * of BS into *sn; 1 found, 0 not, -errno. */
static int find_snap(struct blk *bs, const char *name, struct blk_snapshot *sn)
{
    struct blk_snapshot *l = NULL;
    int n = bs->drv->snapshot_list(bs, &l);
    if (n < 0)
        return n;
    int k = -1;
    for (int i = 0; i < n && k < 0; i++)
        if (strcmp(l[i].id, name) == 0)
            k = i;
    for (int i = 0; i < n && k < 0; i++)
        if (strcmp(l[i].name, name) == 0)
            k = i;
    if (k >= 0) {
        *sn = l[k];
        sn->id = strdup(l[k].id);
        sn->name = strdup(l[k].name);
        if (!sn->id || !sn->name) {
            free(sn->id);
            free(sn->name);
            k = -2;
        }
    }
    blk_snapshots_free(l, n);
    return k == -2 ? -ENOMEM : k >= 0;
}

static void snap_clear(struct blk_snapshot *sn)
{
    free(sn->id);
    free(sn->name);
    sn->id = sn->name = NULL;
}

/* Delete every snapshot called NAME on the disks (a name may repeat). */
static int delete_all(struct drive **d, int n, const char *name, struct error **errp)
{
    for (int i = 0; i < n; i++) {
        struct blk_snapshot sn;
        int r;
        while ((r = find_snap(d[i]->bs, name, &sn)) > 0) {
            snap_clear(&sn);
            r = d[i]->bs->drv->snapshot_delete(d[i]->bs, name, errp);
            if (r < 0)
                break;
        }
        if (r < 0) {
            err_prefix(errp, "Could not delete snapshot '%s' on '%s'", name, d[i]->id);
            return r < 0 ? r : -EIO;
        }
    }
    return 0;
}

/* ---- the state stream on a disk ---- */

static int state_write(void *bs, uint64_t pos, const void *buf, size_t len)
{
    return blk_vmstate_write(bs, pos, len, buf);
}

static int state_read(void *bs, uint64_t pos, void *buf, size_t len)
{
    return blk_vmstate_read(bs, pos, len, buf);
}

static bool is_running(struct monitor_host *h)
{
    return strcmp(h->status(h->opaque), "running") == 0;
}

/* Pause for a save or load: CPUs stopped, device requests done. */
static int pause_machine(struct monitor_host *h, bool *was_running, struct error **errp)
{
    *was_running = is_running(h);
    int r = *was_running ? h->stop(h->opaque, errp) : 0;
    if (r < 0)
        return r;
    if (h->m->pool && (r = pool_drain(h->m->pool, errp)) < 0)
        return r;
    return 0;
}

int savevm_save(const char *name, struct error **errp)
{
    struct monitor_host *h = host(errp);
    if (!h)
        return -ENODEV;
    struct machine *m = h->m;
    if (!m->ops->save_state)
        return err_set(errp, ENOTSUP, "the machine '%s' cannot save its state", m->ops->name);
    struct drive *d[DRIVE_MAX];
    int nd, r = snap_disks(h, d, &nd, true, errp);
    if (r < 0)
        return r;
    if (nd == 0)
        return err_set(errp, ENODEV, "No block device can accept snapshots");
    char auto_name[32];
    if (!name || !*name) {
        time_t t = time(NULL);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(auto_name, sizeof(auto_name), "vm-%Y%m%d%H%M%S", &tm);
        name = auto_name;
    }
    if (strlen(name) > SNAP_NAME_MAX)
        return err_set(errp, EINVAL, "snapshot name '%.20s...' is longer than %d bytes", name,
                       SNAP_NAME_MAX);
    r = delete_all(d, nd, name, errp);
    if (r < 0)
        return r;

    bool was_running;
    uint64_t clock = hw_clock_ns();
    r = pause_machine(h, &was_running, errp);
    if (r < 0)
        goto resume;
    clock = hw_clock_ns();
    struct blk *vbs = d[0]->bs;
    struct vms_out *f;
    uint64_t size = 0;
    r = vms_out_new(&f, state_write, vbs, errp);
    if (r >= 0) {
        r = m->ops->save_state(m, f, errp);
        int r2 = vms_out_finish(f, &size, r < 0 ? NULL : errp);
        r = r < 0 ? r : r2;
        vms_out_free(f);
    }
    if (r < 0) {
        err_prefix(errp, "Error while writing VM state");
        blk_vmstate_drop(vbs);          /* no snapshot took it: not kept */
        goto resume;
    }
    for (int i = 0; i < nd && r >= 0; i++) {
        r = blk_snapshot_create_vm(d[i]->bs, name, i == 0 ? size : 0, clock, errp);
        if (r >= 0)
            r = blk_flush(d[i]->bs);
        if (r < 0)
            err_prefix(errp, "Error while creating snapshot on '%s'", d[i]->id);
    }
    if (r < 0)
        blk_vmstate_drop(vbs);
resume:
    /* the pause is invisible to the guest's clock */
    hw_clock_set(clock);
    if (was_running) {
        struct error *e2 = NULL;
        if (h->cont(h->opaque, &e2) < 0)
            err_propagate(r < 0 ? NULL : errp, e2);
        else
            err_free(e2);
    }
    return r < 0 ? r : 0;
}

int savevm_load(const char *name, struct error **errp)
{
    struct monitor_host *h = host(errp);
    if (!h)
        return -ENODEV;
    struct machine *m = h->m;
    if (!m->ops->load_state)
        return err_set(errp, ENOTSUP, "the machine '%s' cannot load a state", m->ops->name);
    struct drive *d[DRIVE_MAX];
    int nd, r = snap_disks(h, d, &nd, true, errp);
    if (r < 0)
        return r;
    if (nd == 0)
        return err_set(errp, ENODEV, "No block device supports snapshots");
    struct blk_snapshot sn = { 0 };
    for (int i = nd - 1; i >= 0; i--) {
        snap_clear(&sn);
        r = find_snap(d[i]->bs, name, &sn);
        if (r < 0)
            return err_set_errno(errp, -r, "cannot list the snapshots of '%s'", d[i]->id);
        if (r == 0)
            return err_set(errp, ENOENT, "Snapshot '%s' does not exist in one or more devices",
                           name);
    }
    /* applying a snapshot changes a disk without the writes that a
     * point-in-time view (NBD export, lib/block/cbw.h) copies before */
    for (int i = 0; i < nd; i++)
        if (d[i]->bs->write_hooks) {
            snap_clear(&sn);
            return err_set(errp, EBUSY, "Device '%s' is exported with a point-in-time view; "
                           "remove the export first", d[i]->id);
        }
    /* sn is the first disk's */
    uint64_t size = sn.vm_state_size;
    snap_clear(&sn);
    if (size == 0)
        return err_set(errp, EINVAL,
                       "This is a disk-only snapshot. Revert to it offline using qemu-img");

    bool was_running;
    r = pause_machine(h, &was_running, errp);
    if (r < 0)
        return r;
    for (int i = 0; i < nd; i++) {
        r = d[i]->bs->drv->snapshot_goto(d[i]->bs, name, errp);
        if (r < 0) {
            err_prefix(errp, "Could not load snapshot '%s' on '%s'", name, d[i]->id);
            return r;
        }
    }
    struct vms_in *f;
    r = vms_in_new(&f, state_read, d[0]->bs, size, errp);
    if (r >= 0) {
        r = m->ops->load_state(m, f, errp);
        vms_in_free(f);
    }
    /* the snapshot keeps its state; the active layer need not */
    int dr = blk_vmstate_drop(d[0]->bs);
    if (dr < 0 && r >= 0)
        r = err_set_errno(errp, -dr, "cannot drop the VM state from '%s'", d[0]->id);
    if (r < 0) {
        err_prefix(errp, "Error while loading VM state of '%s'", d[0]->id);
        return r;       /* the machine stays paused: its state is not usable */
    }
    if (was_running)
        r = h->cont(h->opaque, errp);
    return r < 0 ? r : 0;
}

int savevm_delete(const char *name, struct error **errp)
{
    struct monitor_host *h = host(errp);
    if (!h)
        return -ENODEV;
    struct drive *d[DRIVE_MAX];
    int nd, r = snap_disks(h, d, &nd, false, errp);
    if (r < 0)
        return r;
    return delete_all(d, nd, name, errp);
}

/* ---- HMP ---- */

static int one_word(const char **args, char *w, size_t n, bool need, const char *cmd,
                    struct error **errp)
{
    int r = hmp_next_word(args, w, n, errp);
    if (r < 0)
        return r;
    if (r == 0 && need)
        return err_set(errp, EINVAL, "%s: missing the snapshot name (usage: %s tag)", cmd, cmd);
    if (r == 0)
        w[0] = 0;
    return 0;
}

int hmp_savevm(struct hmp_out *out, const char *args, struct error **errp)
{
    (void)out;
    char tag[SNAP_NAME_MAX + 2];
    int r = one_word(&args, tag, sizeof(tag), false, "savevm", errp);
    return r < 0 ? r : savevm_save(tag, errp);
}

int hmp_loadvm(struct hmp_out *out, const char *args, struct error **errp)
{
    (void)out;
    char tag[SNAP_NAME_MAX + 2];
    int r = one_word(&args, tag, sizeof(tag), true, "loadvm", errp);
    return r < 0 ? r : savevm_load(tag, errp);
}

int hmp_delvm(struct hmp_out *out, const char *args, struct error **errp)
{
    (void)out;
    char tag[SNAP_NAME_MAX + 2];
    int r = one_word(&args, tag, sizeof(tag), true, "delvm", errp);
    return r < 0 ? r : savevm_delete(tag, errp);
}

/* qemu-img's size notation: "0 B", "12.3 MiB". */
static void size_str(char *buf, size_t n, uint64_t v)
{
    static const char *const sfx[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
    int i = 0;
    double d = (double)v;
    while (i < 6 && d >= 1000.0) {
        d /= 1024.0;
        i++;
    }
    snprintf(buf, n, "%0.3g %sB", d, sfx[i]);
}

static void dump_header(struct hmp_out *out)
{
    hmp_printf(out, "%-10s%-17s%8s%20s%13s%11s\r\n", "ID", "TAG", "VM SIZE", "DATE",
               "VM CLOCK", "ICOUNT");
}

static void dump_snap(struct hmp_out *out, const struct blk_snapshot *sn, const char *id)
{
    char size[32], date[32], clock[32], icount[32] = "";
    size_str(size, sizeof(size), sn->vm_state_size);
    time_t t = (time_t)sn->date_sec;
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
    uint64_t ms = sn->vm_clock_nsec / 1000000;
    snprintf(clock, sizeof(clock), "%02u:%02u:%02u.%03u", (unsigned)(ms / 3600000),
             (unsigned)(ms / 60000 % 60), (unsigned)(ms / 1000 % 60), (unsigned)(ms % 1000));
    if (sn->icount != UINT64_MAX)
        snprintf(icount, sizeof(icount), "%" PRIu64, sn->icount);
    hmp_printf(out, "%-9s %-16s %8s%20s%13s%11s\r\n", id ? id : sn->id, sn->name, size, date,
               clock, icount);
}

static bool has_name(const struct blk_snapshot *l, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(l[i].name, name) == 0)
            return true;
    return false;
}

/* info snapshots: QEMU's two tables, the snapshots every disk has (the
 * loadable ones, by name) and per disk the others. */
int hmp_info_snapshots(struct hmp_out *out, const char *args, struct error **errp)
{
    (void)args;
    struct monitor_host *h = host(errp);
    if (!h)
        return -ENODEV;
    struct drive *d[DRIVE_MAX];
    int nd, r = snap_disks(h, d, &nd, false, NULL);
    if (r < 0 || nd == 0) {
        hmp_printf(out, "No available block device supports snapshots\r\n");
        return 0;
    }
    struct blk_snapshot *l[DRIVE_MAX] = { 0 };
    int n[DRIVE_MAX] = { 0 };
    for (int i = 0; i < nd; i++) {
        n[i] = d[i]->bs->drv->snapshot_list(d[i]->bs, &l[i]);
        if (n[i] < 0) {
            hmp_printf(out, "bdrv_snapshot_list: error %d\r\n", n[i]);
            n[i] = 0;
            goto out;
        }
    }
    if (n[0] == 0) {
        hmp_printf(out, "There is no snapshot available.\r\n");
        goto out;
    }
    int total = 0;
    bool *all = calloc((size_t)n[0], sizeof(*all));
    if (!all) {
        r = err_set(errp, ENOMEM, "out of memory");
        goto out;
    }
    for (int k = 0; k < n[0]; k++) {
        all[k] = true;
        for (int i = 1; i < nd && all[k]; i++)
            all[k] = has_name(l[i], n[i], l[0][k].name);
        total += all[k];
    }
    if (total > 0) {
        hmp_printf(out, "List of snapshots present on all disks:\r\n");
        dump_header(out);
        for (int k = 0; k < n[0]; k++)
            if (all[k])
                dump_snap(out, &l[0][k], "--");
    } else {
        hmp_printf(out, "None\r\n");
    }
    for (int i = 0; i < nd; i++) {
        bool any = false;
        for (int k = 0; k < n[i]; k++) {
            bool loadable = false;
            for (int j = 0; j < n[0] && !loadable; j++)
                loadable = all[j] && strcmp(l[0][j].name, l[i][k].name) == 0;
            if (loadable)
                continue;
            if (!any) {
                hmp_printf(out, "\r\nList of partial (non-loadable) snapshots on '%s':\r\n",
                           d[i]->id);
                dump_header(out);
                any = true;
            }
            dump_snap(out, &l[i][k], NULL);
        }
    }
    free(all);
out:
    for (int i = 0; i < nd; i++)
        if (n[i] > 0)
            blk_snapshots_free(l[i], n[i]);
    return r < 0 ? r : 0;
}

/* ---- QMP ---- */

const struct qmp_arg savevm_internal_snapshot_args[] = {
    { "device", "str", false },
    { "name", "str", false },
    { NULL, NULL, false },
};

const struct qmp_arg savevm_delete_internal_snapshot_args[] = {
    { "device", "str", false },
    { "id", "str", true },
    { "name", "str", true },
    { NULL, NULL, false },
};

static const char *arg_str(const struct json_value *a, const char *key)
{
    const struct json_value *v = a ? json_get(a, key) : NULL;
    return v && v->type == JSON_STRING ? v->u.s : NULL;
}

/* The drive a QMP command names, as QEMU's lookup by device or node name. */
static struct drive *qmp_drive(struct monitor_host *h, const char *device, struct error **errp)
{
    struct drive *d = h->drives ? drive_find(h->drives, device) : NULL;
    if (!d || !d->bs) {
        err_set(errp, ENODEV, "Cannot find device='%s' nor node-name='%s'", device, device);
        return NULL;
    }
    return d;
}

/* blockdev-snapshot-internal-sync {device, name}: a disk-only snapshot
 * of one disk, the guest running on (a snapshot is one header switch). */
int savevm_qmp_internal_snapshot(void *o, const struct json_value *a, struct json_writer *w,
                                 struct error **errp)
{
    (void)o, (void)w;
    struct monitor_host *h = host(errp);
    if (!h)
        return -ENODEV;
    const char *device = arg_str(a, "device"), *name = arg_str(a, "name");
    struct drive *d = qmp_drive(h, device, errp);
    if (!d)
        return -ENODEV;
    struct blk *bs = d->bs;
    if (!*name)
        return err_set(errp, EINVAL, "Name is empty");
    if (d->readonly || bs->read_only)
        return err_set(errp, EROFS, "Device '%s' is read only", device);
    if (!can_snapshot(bs))
        return err_set(errp, ENOTSUP,
                       "Block format '%s' used by device '%s' does not support internal "
                       "snapshots", bs->drv->name, device);
    if (strlen(name) > SNAP_NAME_MAX)
        return err_set(errp, EINVAL, "Name '%.20s...' is too long", name);
    struct blk_snapshot *l = NULL;
    int n = bs->drv->snapshot_list(bs, &l);
    bool exists = false;
    for (int i = 0; i < n; i++)
        exists |= strcmp(l[i].name, name) == 0;
    if (n > 0)
        blk_snapshots_free(l, n);
    if (exists)
        return err_set(errp, EEXIST, "Snapshot with name '%s' already exists on device '%s'",
                       name, device);
    /* the guest runs on: the image's lock orders the snapshot against
     * its writes, each of which lands wholly before or after it */
    int r = blk_snapshot_create_vm(bs, name, 0, hw_clock_ns(), errp);
    if (r >= 0)
        r = blk_flush(bs);
    if (r < 0) {
        err_prefix(errp, "Failed to create snapshot '%s' on device '%s'", name, device);
        return r;
    }
    return 0;
}

/* blockdev-snapshot-delete-internal-sync {device, id?, name?}: returns
 * the deleted snapshot's SnapshotInfo. */
int savevm_qmp_delete_internal_snapshot(void *o, const struct json_value *a,
                                        struct json_writer *w, struct error **errp)
{
    (void)o;
    struct monitor_host *h = host(errp);
    if (!h)
        return -ENODEV;
    const char *device = arg_str(a, "device");
    const char *id = arg_str(a, "id"), *name = arg_str(a, "name");
    struct drive *d = qmp_drive(h, device, errp);
    if (!d)
        return -ENODEV;
    struct blk *bs = d->bs;
    if (!id && !name)
        return err_set(errp, EINVAL, "Name or id must be provided");
    if (!can_snapshot(bs))
        return err_set(errp, ENOTSUP,
                       "Block format '%s' used by device '%s' does not support internal "
                       "snapshots", bs->drv->name, device);
    struct blk_snapshot *l = NULL;
    int n = bs->drv->snapshot_list(bs, &l);
    int k = -1;
    for (int i = 0; i < n && k < 0; i++)
        if ((!id || strcmp(l[i].id, id) == 0) && (!name || strcmp(l[i].name, name) == 0))
            k = i;
    if (k < 0) {
        if (n > 0)
            blk_snapshots_free(l, n);
        return err_set(errp, ENOENT,
                       "Snapshot with id '%s' and name '%s' does not exist on device '%s'",
                       id ? id : "null", name ? name : "null", device);
    }
    if (d->readonly || bs->read_only) {
        blk_snapshots_free(l, n);
        return err_set(errp, EROFS, "Device '%s' is read only", device);
    }
    /* the driver deletes by id or name, ids first: the id is exact */
    int r = bs->drv->snapshot_delete(bs, l[k].id, errp);
    if (r >= 0) {
        const struct blk_snapshot *s = &l[k];
        jw_obj_begin(w, NULL);
        jw_str(w, "id", s->id);
        jw_str(w, "name", s->name);
        jw_uint(w, "vm-state-size", s->vm_state_size);
        jw_uint(w, "date-sec", s->date_sec);
        jw_uint(w, "date-nsec", s->date_nsec);
        jw_uint(w, "vm-clock-sec", s->vm_clock_nsec / 1000000000);
        jw_uint(w, "vm-clock-nsec", s->vm_clock_nsec % 1000000000);
        if (s->icount != UINT64_MAX)
            jw_uint(w, "icount", s->icount);
        jw_obj_end(w);
    }
    blk_snapshots_free(l, n);
    return r < 0 ? r : 0;
}
