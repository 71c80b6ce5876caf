/* machine-state.c - a whole machine's state as a stream of sections
 * (machine-state.h).
 *
 * Guest RAM is most of the stream, and most of a guest's RAM is zero
 * (a 128 MiB guest that booted a small Linux touches a few dozen MiB):
 * only runs of pages that hold something are saved, each as its offset
 * and its bytes.  Loading first gives the region back to the kernel
 * (MADV_DONTNEED on the private anonymous mapping reads as zeros again)
 * and then writes the saved runs, so the pages the stream leaves out are
 * zero whatever the guest had there before loadvm.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "hw/machine-state.h"
#include "hw/hw.h"
#include "block/block.h"        /* buf_is_zero */
#include "vmstate.h"
#include "i18n.h"

#define MACHINE_STATE_VERSION 1
#define RAM_STATE_VERSION 1
#define PAGE 4096u
#define RAM_RUN (256 * PAGE)    /* bytes per saved run at most */

struct part {
    char name[VMS_NAME_MAX + 1];
    uint32_t instance, version;
    void *obj;
    void (*save)(void *obj, struct vms_out *f);
    void (*load)(void *obj, struct vms_in *f, uint32_t version);
    bool device;                /* under the device lock */
    bool seen;
};

/* ---- the "machine" section: the clock ---- */

static void clock_save(void *obj, struct vms_out *f)
{
    (void)obj;
    vms_put_u64(f, hw_clock_ns());
}

static void clock_load(void *obj, struct vms_in *f, uint32_t version)
{
    (void)obj, (void)version;
    uint64_t ns = vms_get_u64(f);
    /* guest time goes on from where it was saved: devices and harts
     * that load after this re-arm their timers on the restored clock */
    if (vms_check(f, ns < (UINT64_C(1) << 62), "machine clock"))
        hw_clock_set(ns);
}

/* ---- RAM ---- */

static void ram_save(void *obj, struct vms_out *f)
{
    const struct mem_region *r = obj;
    vms_put_bytes(f, r->name, strlen(r->name));
    vms_put_u64(f, r->size);
    uint64_t off = 0;
    while (off < r->size) {
        if (buf_is_zero(r->host + off, MIN((uint64_t)PAGE, r->size - off))) {
            off += PAGE;
            continue;
        }
        uint64_t end = off + PAGE;
        while (end < r->size && end - off < RAM_RUN &&
               !buf_is_zero(r->host + end, MIN((uint64_t)PAGE, r->size - end)))
            end += PAGE;
        end = MIN(end, r->size);
        vms_put_u64(f, off);
        vms_put_bytes(f, r->host + off, (size_t)(end - off));
        off = end;
    }
    vms_put_u64(f, UINT64_MAX);
}

static void ram_load(void *obj, struct vms_in *f, uint32_t version)
{
    const struct mem_region *r = obj;
    (void)version;
    char name[64];
    vms_get_str(f, name, sizeof(name));
    uint64_t size = vms_get_u64(f);
    if (!vms_failed(f) && (strcmp(name, r->name) != 0 || size != r->size)) {
        vms_fail(f, "RAM '%s' of %" PRIu64 " bytes where the machine has '%s' of %" PRIu64
                 " (another -m?)", name, size, r->name, r->size);
        return;
    }
    if (vms_failed(f))
        return;
    if (madvise(r->host, (size_t)r->size, MADV_DONTNEED) < 0)
        memset(r->host, 0, (size_t)r->size);
    for (;;) {
        uint64_t off = vms_get_u64(f);
        if (vms_failed(f) || off == UINT64_MAX)
            return;
        if (!vms_check(f, off < r->size && IS_ALIGNED(off, PAGE), "RAM offset"))
            return;
        vms_get_blob(f, r->host + off, (size_t)(r->size - off));
    }
}

/* ---- the parts of a machine ---- */

static int parts_build(struct machine *m, struct dev_list *devs,
                       const struct machine_state_cpus *cpus, struct part **out, int *n_out,
                       struct error **errp)
{
    int cap = 1 + m->mem.n + cpus->n + devs->n;
    struct part *p = calloc((size_t)cap, sizeof(*p));
    if (!p)
        return err_set(errp, ENOMEM, _("out of memory saving the machine state"));
    int n = 0;
    p[n++] = (struct part){ .name = "machine", .version = MACHINE_STATE_VERSION,
                            .save = clock_save, .load = clock_load };
    uint32_t rams = 0;
    for (int i = 0; i < m->mem.n; i++) {
        struct mem_region *r = &m->mem.r[i];
        if (r->kind == MEM_MMIO)
            continue;
        p[n] = (struct part){ .name = "ram", .instance = rams++, .version = RAM_STATE_VERSION,
                              .obj = r, .save = ram_save, .load = ram_load };
        n++;
    }
    for (int i = 0; i < cpus->n; i++) {
        p[n] = (struct part){ .name = "cpu", .instance = (uint32_t)i, .version = cpus->version,
                              .obj = cpus->cpu(cpus->opaque, i), .save = cpus->save,
                              .load = cpus->load };
        n++;
    }
    for (int i = 0; i < devs->n; i++) {
        const struct dev_ops *ops = devs->d[i].ops;
        if (!ops->vmstate_version || !ops->save || !ops->load)
            continue;
        uint32_t inst = 0;
        for (int k = 0; k < i; k++)
            if (devs->d[k].ops == ops)
                inst++;
        p[n] = (struct part){ .instance = inst, .version = ops->vmstate_version,
                              .obj = devs->d[i].dev, .save = ops->save, .load = ops->load,
                              .device = true };
        snprintf(p[n].name, sizeof(p[n].name), "%s", ops->name);
        n++;
    }
    *out = p;
    *n_out = n;
    return 0;
}

int machine_state_save(struct machine *m, struct dev_list *devs,
                       const struct machine_state_cpus *cpus, struct vms_out *f,
                       struct error **errp)
{
    struct part *p;
    int n;
    int r = parts_build(m, devs, cpus, &p, &n, errp);
    if (r < 0)
        return r;
    for (int i = 0; i < n; i++) {
        vms_section_begin(f, p[i].name, p[i].instance, p[i].version);
        if (p[i].device)
            hw_lock();
        p[i].save(p[i].obj, f);
        if (p[i].device)
            hw_unlock();
        vms_section_end(f);
    }
    free(p);
    return 0;                   /* the writer's errors come from vms_out_finish */
}

int machine_state_load(struct machine *m, struct dev_list *devs,
                       const struct machine_state_cpus *cpus, struct vms_in *f,
                       struct error **errp)
{
    struct part *p;
    int n;
    int r = parts_build(m, devs, cpus, &p, &n, errp);
    if (r < 0)
        return r;
    char name[VMS_NAME_MAX + 1];
    uint32_t inst, ver;
    while ((r = vms_in_section(f, name, &inst, &ver, errp)) > 0) {
        struct part *q = NULL;
        for (int i = 0; i < n && !q; i++)
            if (strcmp(p[i].name, name) == 0 && p[i].instance == inst)
                q = &p[i];
        if (!q) {
            r = err_set(errp, EINVAL, _("VM state: section '%s' instance %u belongs to no "
                                        "part of this machine (another configuration?)"),
                        name, inst);
            break;
        }
        if (q->seen) {
            r = err_set(errp, EINVAL, _("VM state: section '%s' instance %u comes twice"),
                        name, inst);
            break;
        }
        if (ver == 0 || ver > q->version) {
            r = err_set(errp, ENOTSUP, _("VM state: section '%s' instance %u has version %u; "
                                         "this emu reads 1 to %u"), name, inst, ver,
                        q->version);
            break;
        }
        q->seen = true;
        if (q->device)
            hw_lock();
        q->load(q->obj, f, ver);
        if (q->device)
            hw_unlock();
        r = vms_section_finish(f, errp);
        if (r < 0)
            break;
    }
    for (int i = 0; r == 0 && i < n; i++)
        if (!p[i].seen)
            r = err_set(errp, EINVAL, _("VM state: no section '%s' instance %u (a snapshot of "
                                        "another machine configuration?)"), p[i].name,
                        p[i].instance);
    free(p);
    return r;
}
