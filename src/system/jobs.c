/* jobs.c - QMP's background jobs for internal snapshots: snapshot-save,
 * snapshot-load and snapshot-delete, query-jobs, job-dismiss, with the
 * JOB_STATUS_CHANGE events QEMU sends (created, running, waiting,
 * pending, concluded; null once dismissed).
 *
 * The work itself is savevm.c's (the same as HMP savevm/loadvm/delvm).
 * It runs in a bottom half after the command's reply, so that a client
 * sees the reply before the job's events, as QEMU's do; it pauses the
 * machine for as long as it takes, in the loop thread.  A job stays
 * "concluded" (with its error, if any) until job-dismiss, as QEMU's
 * snapshot jobs do (they are not auto-dismissed).
 *
 * QEMU lets snapshot-save pick the disks; here, as with HMP savevm, they
 * are every writable disk and the VM state goes to the first: the
 * command checks that DEVICES and VMSTATE say exactly that, and refuses
 * otherwise with the list it expects. */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"
#include "monitor.h"
#include "savevm.h"
#include "hw/drive.h"
#include "i18n.h"
#include "json-writer.h"
#include "loop.h"

#define MAX_JOBS 16

enum job_kind { JOB_SAVE, JOB_LOAD, JOB_DELETE };
static const char *const kind_name[] = { "snapshot-save", "snapshot-load", "snapshot-delete" };

struct job {
    char *id;
    char *tag;
    enum job_kind kind;
    const char *status;         /* QEMU's JobStatus */
    char *error;                /* concluded with an error */
    struct loop_bh *bh;
};

static struct job *jobs[MAX_JOBS];
static struct loop *jobs_loop;

void jobs_init(struct loop *loop)
{
    jobs_loop = loop;
}

void jobs_free(void)
{
    for (int i = 0; i < MAX_JOBS; i++)
        if (jobs[i]) {
            loop_bh_free(jobs[i]->bh);
            free(jobs[i]->id);
            free(jobs[i]->tag);
            free(jobs[i]->error);
            free(jobs[i]);
            jobs[i] = NULL;
        }
}

static struct job *job_find(const char *id)
{
    for (int i = 0; i < MAX_JOBS; i++)
        if (jobs[i] && strcmp(jobs[i]->id, id) == 0)
            return jobs[i];
    return NULL;
}

static void set_status(struct job *j, const char *status)
{
    j->status = status;
    struct qmp *q = monitor_qmp();
    if (!q)
        return;
    struct json_writer w;
    jw_init(&w);
    jw_obj_begin(&w, NULL);
    jw_str(&w, "status", status);
    jw_str(&w, "id", j->id);
    jw_obj_end(&w);
    if (!w.failed)
        qmp_event(q, "JOB_STATUS_CHANGE", w.buf);
    jw_free(&w);
}

static void job_run(void *opaque)
{
    struct job *j = opaque;
    set_status(j, "created");
    set_status(j, "running");
    struct error *err = NULL;
    int r;
    switch (j->kind) {
    case JOB_SAVE: r = savevm_save(j->tag, &err); break;
    case JOB_LOAD: r = savevm_load(j->tag, &err); break;
    default: r = savevm_delete(j->tag, &err); break;
    }
    if (r < 0) {
        j->error = strdup(err ? err->msg : "failed");
        err_free(err);
        set_status(j, "aborting");
    } else {
        set_status(j, "waiting");
        set_status(j, "pending");
    }
    set_status(j, "concluded");
}

/* The disks a snapshot goes to: every writable one, in -drive order. */
static int expected_disks(const char **ids, int max)
{
    struct drive_set *ds = monitor_host()->drives;
    int n = 0;
    for (int i = 0; ds && i < ds->n; i++) {
        const struct drive *d = ds->d[i];
        if (!d->is_protocol && d->bs && !d->readonly && n < max)
            ids[n++] = d->id;
    }
    return n;
}

static int check_devices(const struct json_value *a, bool with_vmstate, struct error **errp)
{
    const char *want[DRIVE_MAX];
    int n = expected_disks(want, DRIVE_MAX);
    char list[512] = "";
    for (int i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
                 want[i]);
    const struct json_value *dev = json_get(a, "devices");
    if (!dev || dev->type != JSON_ARRAY)
        return err_set(errp, EINVAL, "Invalid parameter type for 'devices', expected: array");
    bool ok = dev->u.a.n == (size_t)n;
    for (size_t i = 0; ok && i < dev->u.a.n; i++) {
        const struct json_value *v = dev->u.a.v[i];
        if (v->type != JSON_STRING)
            return err_set(errp, EINVAL, "Invalid parameter type for 'devices', expected: "
                                         "array of strings");
        bool found = false;
        for (int k = 0; k < n && !found; k++)
            found = strcmp(want[k], v->u.s) == 0;
        ok = found;
    }
    if (!ok)
        return err_set(errp, EINVAL, "'devices' must list every writable disk: [%s]", list);
    if (with_vmstate) {
        const struct json_value *vm = json_get(a, "vmstate");
        if (!vm || vm->type != JSON_STRING)
            return err_set(errp, EINVAL, "Parameter 'vmstate' is missing");
        if (n == 0 || strcmp(vm->u.s, want[0]) != 0)
            return err_set(errp, EINVAL, "'vmstate' must be the first writable disk (%s)",
                           n ? want[0] : "there is none");
    }
    return 0;
}

static int start(enum job_kind kind, const struct json_value *a, struct error **errp)
{
    const char *id = json_get(a, "job-id")->u.s;
    const char *tag = json_get(a, "tag")->u.s;
    if (!*id)
        return err_set(errp, EINVAL, "Invalid job ID ''");
    if (job_find(id))
        return err_set(errp, EEXIST, "Job ID '%s' already in use", id);
    int r = check_devices(a, kind != JOB_DELETE, errp);
    if (r < 0)
        return r;
    int slot = 0;
    while (slot < MAX_JOBS && jobs[slot])
        slot++;
    if (slot == MAX_JOBS)
        return err_set(errp, EBUSY, "too many jobs (dismiss concluded ones with job-dismiss)");
    struct job *j = calloc(1, sizeof(*j));
    if (!j || !(j->id = strdup(id)) || !(j->tag = strdup(tag)) ||
        !(j->bh = loop_bh_new(jobs_loop, job_run, j, errp))) {
        if (j) {
            free(j->id);
            free(j->tag);
        }
        free(j);
        return err_set(errp, ENOMEM, "out of memory");
    }
    j->kind = kind;
    jobs[slot] = j;
    j->status = "created";      /* its event follows the reply, as in QEMU's example */
    loop_bh_schedule(j->bh);
    return 0;
}

int jobs_qmp_snapshot_save(void *o, const struct json_value *a, struct json_writer *w,
                           struct error **errp)
{
    (void)o, (void)w;
    return start(JOB_SAVE, a, errp);
}

int jobs_qmp_snapshot_load(void *o, const struct json_value *a, struct json_writer *w,
                           struct error **errp)
{
    (void)o, (void)w;
    return start(JOB_LOAD, a, errp);
}

int jobs_qmp_snapshot_delete(void *o, const struct json_value *a, struct json_writer *w,
                             struct error **errp)
{
    (void)o, (void)w;
    return start(JOB_DELETE, a, errp);
}

int jobs_qmp_query_jobs(void *o, const struct json_value *a, struct json_writer *w,
                        struct error **errp)
{
    (void)o, (void)a, (void)errp;
    jw_arr_begin(w, NULL);
    for (int i = 0; i < MAX_JOBS; i++) {
        const struct job *j = jobs[i];
        if (!j)
            continue;
        bool done = strcmp(j->status, "concluded") == 0;
        jw_obj_begin(w, NULL);
        jw_str(w, "id", j->id);
        jw_str(w, "type", kind_name[j->kind]);
        jw_str(w, "status", j->status);
        jw_int(w, "current-progress", done ? 1 : 0);
        jw_int(w, "total-progress", 1);
        if (j->error)
            jw_str(w, "error", j->error);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    return 0;
}

int jobs_qmp_job_dismiss(void *o, const struct json_value *a, struct json_writer *w,
                         struct error **errp)
{
    (void)o, (void)w;
    const char *id = json_get(a, "id")->u.s;
    struct job *j = job_find(id);
    if (!j)
        return err_set(errp, ENOENT, "Job not found");
    if (strcmp(j->status, "concluded") != 0)
        return err_set(errp, EBUSY, "Job '%s' in state '%s' cannot accept command verb "
                                    "'dismiss'", id, j->status);
    set_status(j, "null");
    for (int i = 0; i < MAX_JOBS; i++)
        if (jobs[i] == j)
            jobs[i] = NULL;
    loop_bh_free(j->bh);
    free(j->id);
    free(j->tag);
    free(j->error);
    free(j);
    return 0;
}

const struct qmp_arg jobs_snapshot_args[] = {
    { "job-id", "str", false },
    { "tag", "str", false },
    { "vmstate", "str", false },
    { "devices", "any", false },
    { NULL, NULL, false },
};

const struct qmp_arg jobs_snapshot_delete_args[] = {
    { "job-id", "str", false },
    { "tag", "str", false },
    { "devices", "any", false },
    { NULL, NULL, false },
};

const struct qmp_arg jobs_id_args[] = {
    { "id", "str", false },
    { NULL, NULL, false },
};
