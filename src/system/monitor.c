/* monitor.c - QMP commands for a machine, with QEMU's names and JSON
 * shapes (QEMU 7.2's QAPI schema describes them; we return the members
 * management tools read).  Each command is a function and a table line. */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "monitor.h"
#include "savevm.h"
#include "jobs.h"
#include "export.h"
#include "trace-cmds.h"
#include "display-cmds.h"
#include "input-cmds.h"
#include "hmp.h"
#include "target.h"
#include "block/block.h"
#include "chardev.h"
#include "hw/drive.h"
#include "hw/machine.h"
#include "i18n.h"
#include "loop.h"

static struct monitor_host *H;  /* one machine per process */
static struct qmp *Q;

static int q_version(void *o, const struct json_value *a, struct json_writer *w,
                     struct error **errp)
{
    (void)o, (void)a, (void)errp;
    jw_obj_begin(w, NULL);
    jw_obj_begin(w, "qemu");
    jw_int(w, "micro", 0);
    jw_int(w, "minor", 2);
    jw_int(w, "major", 7);
    jw_obj_end(w);
    jw_str(w, "package", PACKAGE_NAME " " PACKAGE_VERSION);
    jw_obj_end(w);
    return 0;
}

static int q_status(void *o, const struct json_value *a, struct json_writer *w,
                    struct error **errp)
{
    (void)o, (void)a, (void)errp;
    const char *st = H->status(H->opaque);
    jw_obj_begin(w, NULL);
    jw_str(w, "status", st);
    jw_bool(w, "singlestep", false);
    jw_bool(w, "running", strcmp(st, "running") == 0);
    jw_obj_end(w);
    return 0;
}

static int q_name(void *o, const struct json_value *a, struct json_writer *w,
                  struct error **errp)
{
    (void)o, (void)a, (void)errp;
    jw_obj_begin(w, NULL);
    if (H->m->opts.name)
        jw_str(w, "name", H->m->opts.name);
    jw_obj_end(w);
    return 0;
}

static int q_target(void *o, const struct json_value *a, struct json_writer *w,
                    struct error **errp)
{
    (void)o, (void)a, (void)errp;
    jw_obj_begin(w, NULL);
    jw_str(w, "arch", H->target);
    jw_obj_end(w);
    return 0;
}

static int q_kvm(void *o, const struct json_value *a, struct json_writer *w,
                 struct error **errp)
{
    (void)o, (void)a, (void)errp;
    jw_obj_begin(w, NULL);
    jw_bool(w, "enabled", false);
    jw_bool(w, "present", false);
    jw_obj_end(w);
    return 0;
}

static int q_machines(void *o, const struct json_value *a, struct json_writer *w,
                      struct error **errp)
{
    (void)o, (void)a, (void)errp;
    jw_arr_begin(w, NULL);
    const struct machine_ops *const *mt = system_target.machines;
    for (int i = 0; mt[i]; i++) {
        jw_obj_begin(w, NULL);
        jw_str(w, "name", mt[i]->name);
        jw_bool(w, "hotpluggable-cpus", false);
        jw_bool(w, "numa-mem-supported", false);
        jw_bool(w, "deprecated", false);
        jw_bool(w, "is-default", i == 0);
        jw_int(w, "cpu-max", 8);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    return 0;
}

static int q_commands(void *o, const struct json_value *a, struct json_writer *w,
                      struct error **errp)
{
    (void)o, (void)a, (void)errp;
    jw_arr_begin(w, NULL);
    jw_obj_begin(w, NULL);
    jw_str(w, "name", "qmp_capabilities");
    jw_obj_end(w);
    for (const struct qmp_cmd *c = qmp_commands(Q); c->name; c++) {
        jw_obj_begin(w, NULL);
        jw_str(w, "name", c->name);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    return 0;
}

static int q_schema(void *o, const struct json_value *a, struct json_writer *w,
                    struct error **errp)
{
    (void)o, (void)a, (void)errp;
    qmp_write_schema(Q, w);
    return 0;
}

static int q_block(void *o, const struct json_value *a, struct json_writer *w,
                   struct error **errp)
{
    (void)o, (void)a, (void)errp;
    jw_arr_begin(w, NULL);
    for (int i = 0; H->drives && i < H->drives->n; i++) {
        const struct drive *d = H->drives->d[i];
        if (d->is_protocol)
            continue;
        jw_obj_begin(w, NULL);
        jw_str(w, "device", d->id);
        jw_bool(w, "locked", false);
        jw_bool(w, "removable", false);
        jw_str(w, "type", "unknown");
        jw_str(w, "io-status", "ok");
        if (d->bs) {
            struct blk *bs = d->bs;
            jw_obj_begin(w, "inserted");
            jw_str(w, "file", d->filename);
            jw_str(w, "node-name", d->id);
            jw_bool(w, "ro", d->readonly);
            jw_str(w, "drv", bs->drv->name);
            jw_int(w, "backing_file_depth", blk_chain_length(bs) - 1);
            jw_bool(w, "encrypted", false);
            jw_str(w, "detect_zeroes", "off");
            jw_obj_begin(w, "cache");
            jw_bool(w, "writeback", d->writeback);
            jw_bool(w, "direct", (d->flags & BLK_O_DIRECT) != 0);
            jw_bool(w, "no-flush", (d->flags & BLK_O_NO_FLUSH) != 0);
            jw_obj_end(w);
            jw_obj_begin(w, "image");
            jw_str(w, "filename", bs->filename);
            jw_str(w, "format", bs->drv->name);
            jw_uint(w, "virtual-size", bs->size);
            if (bs->backing_file)
                jw_str(w, "backing-filename", bs->backing_file);
            jw_obj_end(w);
            jw_obj_end(w);
        }
        jw_obj_end(w);
    }
    jw_arr_end(w);
    return 0;
}

/* query-blockstats: QEMU's BlockStats of each drive the guest uses. */
static int q_blockstats(void *o, const struct json_value *a, struct json_writer *w,
                        struct error **errp)
{
    (void)o, (void)a, (void)errp;
    uint64_t now = loop_now_ns();
    jw_arr_begin(w, NULL);
    for (int i = 0; H->drives && i < H->drives->n; i++) {
        const struct drive *d = H->drives->d[i];
        if (d->is_protocol)
            continue;
        const struct drive_stats *st = &d->stats;
#define LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
        static const char *const kind[DRIVE_ACCT_N] = { "rd", "wr", "flush", "unmap" };
        jw_obj_begin(w, NULL);
        jw_str(w, "device", d->id);
        jw_str(w, "node-name", d->id);
        jw_obj_begin(w, "stats");
        char key[40];
        for (int k = 0; k < DRIVE_ACCT_N; k++) {
            if (k != DRIVE_FLUSH) {
                snprintf(key, sizeof(key), "%s_bytes", kind[k]);
                jw_uint(w, key, LD(st->bytes[k]));
            }
            snprintf(key, sizeof(key), "%s_operations", kind[k]);
            jw_uint(w, key, LD(st->ops[k]));
            snprintf(key, sizeof(key), "%s_total_time_ns", kind[k]);
            jw_uint(w, key, LD(st->total_ns[k]));
            snprintf(key, sizeof(key), "failed_%s_operations", kind[k]);
            jw_uint(w, key, LD(st->failed[k]));
            snprintf(key, sizeof(key), "invalid_%s_operations", kind[k]);
            jw_uint(w, key, LD(st->invalid[k]));
            if (k != DRIVE_FLUSH) {
                snprintf(key, sizeof(key), "%s_merged", kind[k]);
                jw_uint(w, key, 0);
            }
        }
        jw_uint(w, "wr_highest_offset", LD(st->wr_highest_offset));
        uint64_t last = LD(st->last_done_ns);
        if (last)
            jw_uint(w, "idle_time_ns", now > last ? now - last : 0);
        jw_bool(w, "account_invalid", true);
        jw_bool(w, "account_failed", true);
        jw_arr_begin(w, "timed_stats");
        jw_arr_end(w);
        jw_obj_end(w);
        jw_obj_end(w);
#undef LD
    }
    jw_arr_end(w);
    return 0;
}

static int q_chardev(void *o, const struct json_value *a, struct json_writer *w,
                     struct error **errp)
{
    (void)o, (void)a, (void)errp;
    struct machine *m = H->m;
    jw_arr_begin(w, NULL);
    for (int i = 0; i < MACHINE_MAX_SERIAL; i++)
        if (m->serial[i]) {
            char label[32];
            snprintf(label, sizeof(label), "serial%d", i);
            jw_obj_begin(w, NULL);
            jw_str(w, "label", label);
            jw_str(w, "filename", chardev_label(m->serial[i]));
            jw_bool(w, "frontend-open", true);
            jw_obj_end(w);
        }
    for (int i = 0; i < m->n_chardevs; i++) {
        jw_obj_begin(w, NULL);
        jw_str(w, "label", m->chardevs[i].id);
        jw_str(w, "filename", m->chardevs[i].chr ? chardev_label(m->chardevs[i].chr) : "");
        jw_bool(w, "frontend-open", m->chardevs[i].taken);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    return 0;
}

/* The machine's CPUs, through its debug ops (NULL: none). */
const struct machine_debug_ops *monitor_cpu_ops(void **opaque)
{
    struct machine *m = H->m;
    return m->ops && m->ops->debug ? m->ops->debug(m, opaque) : NULL;
}

/* A CPU's host thread: its own once it runs; before that (-S) the main
 * thread's, which starts it. */
int monitor_cpu_tid(const struct machine_debug_ops *d, void *opaque, int i)
{
    int tid = d->cpu_thread_id ? d->cpu_thread_id(opaque, i) : -1;
    return tid > 0 ? tid : (int)getpid();
}

static int q_cpus_fast(void *o, const struct json_value *a, struct json_writer *w,
                       struct error **errp)
{
    (void)o, (void)a, (void)errp;
    void *op = NULL;
    const struct machine_debug_ops *d = monitor_cpu_ops(&op);
    int n = d ? d->n_cpus(op) : 0;
    jw_arr_begin(w, NULL);
    for (int i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/machine/soc0/harts[%d]", i);
        jw_obj_begin(w, NULL);
        jw_int(w, "thread-id", monitor_cpu_tid(d, op, i));
        jw_obj_begin(w, "props");
        jw_int(w, "core-id", i);
        jw_obj_end(w);
        jw_str(w, "qom-path", path);
        jw_int(w, "cpu-index", i);
        jw_str(w, "target", H->target);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    return 0;
}

static int c_stop(void *o, const struct json_value *a, struct json_writer *w,
                  struct error **errp)
{
    (void)o, (void)a, (void)w;
    return H->stop(H->opaque, errp);
}

static int c_cont(void *o, const struct json_value *a, struct json_writer *w,
                  struct error **errp)
{
    (void)o, (void)a, (void)w;
    return H->cont(H->opaque, errp);
}

static int c_reset(void *o, const struct json_value *a, struct json_writer *w,
                   struct error **errp)
{
    (void)o, (void)a, (void)w, (void)errp;
    machine_request_host(H->m, MACHINE_RESET, MACHINE_CAUSE_QMP);
    return 0;
}

struct monitor_host *monitor_host(void)
{
    return H;
}

struct qmp *monitor_qmp(void)
{
    return Q;
}

void monitor_powerdown(void)
{
    /* the virt board has no power button (qemu-system-riscv64 only sends
     * the event); but a guest with a virtio keyboard gets KEY_POWER on
     * it, which systemd-logind and acpid take as the button, so that
     * system_powerdown and closing the window shut such a guest down */
    if (Q)
        qmp_event(Q, "POWERDOWN", NULL);
    input_power_button();
}

static int c_powerdown(void *o, const struct json_value *a, struct json_writer *w,
                       struct error **errp)
{
    (void)o, (void)a, (void)w, (void)errp;
    monitor_powerdown();
    return 0;
}

static int c_quit(void *o, const struct json_value *a, struct json_writer *w,
                  struct error **errp)
{
    (void)o, (void)a, (void)w, (void)errp;
    machine_request_host(H->m, MACHINE_QUIT, MACHINE_CAUSE_QMP);
    return 0;
}

/* human-monitor-command: one line of the human monitor (hmp.c), its
 * text the return value. */
static int c_hmp(void *o, const struct json_value *a, struct json_writer *w,
                 struct error **errp)
{
    (void)o, (void)errp;
    struct hmp_out out = { 0 };
    hmp_run(json_get(a, "command-line")->u.s, &out);
    jw_str(w, NULL, out.buf ? out.buf : "");
    hmp_out_free(&out);
    return 0;
}

static const struct qmp_arg hmp_args[] = {
    { "command-line", "str", false },
    { "cpu-index", "int", true },
    { NULL, NULL, false },
};

static const struct qmp_cmd monitor_cmds[] = {
    { "query-version", q_version, NULL, "any" },
    { "query-status", q_status, NULL, "any" },
    { "query-name", q_name, NULL, "any" },
    { "query-target", q_target, NULL, "any" },
    { "query-kvm", q_kvm, NULL, "any" },
    { "query-machines", q_machines, NULL, "any" },
    { "query-commands", q_commands, NULL, "any" },
    { "query-qmp-schema", q_schema, NULL, "any" },
    { "query-block", q_block, NULL, "any" },
    { "query-blockstats", q_blockstats, NULL, "any" },
    { "query-chardev", q_chardev, NULL, "any" },
    { "query-cpus-fast", q_cpus_fast, NULL, "any" },
    { "stop", c_stop, NULL, "{}" },
    { "cont", c_cont, NULL, "{}" },
    { "system_reset", c_reset, NULL, "{}" },
    { "system_powerdown", c_powerdown, NULL, "{}" },
    { "quit", c_quit, NULL, "{}" },
    { "human-monitor-command", c_hmp, hmp_args, "any" },
    { "trace-event-get-state", trace_qmp_get_state, trace_get_state_args, "any" },
    { "trace-event-set-state", trace_qmp_set_state, trace_set_state_args, "{}" },
    { "nbd-server-start", export_qmp_nbd_server_start, export_nbd_server_start_args, "{}" },
    { "nbd-server-add", export_qmp_nbd_server_add, export_nbd_server_add_args, "{}" },
    { "nbd-server-remove", export_qmp_nbd_server_remove, export_nbd_server_remove_args, "{}" },
    { "nbd-server-stop", export_qmp_nbd_server_stop, NULL, "{}" },
    { "block-export-add", export_qmp_block_export_add, export_block_export_add_args, "{}" },
    { "block-export-del", export_qmp_block_export_del, export_block_export_del_args, "{}" },
    { "query-block-exports", export_qmp_query_block_exports, NULL, "any" },
    { "query-named-block-nodes", export_qmp_query_named_block_nodes,
      export_query_named_block_nodes_args, "any" },
    { "blockdev-snapshot-internal-sync", savevm_qmp_internal_snapshot,
      savevm_internal_snapshot_args, "{}" },
    { "blockdev-snapshot-delete-internal-sync", savevm_qmp_delete_internal_snapshot,
      savevm_delete_internal_snapshot_args, "any" },
    { "snapshot-save", jobs_qmp_snapshot_save, jobs_snapshot_args, "{}" },
    { "snapshot-load", jobs_qmp_snapshot_load, jobs_snapshot_args, "{}" },
    { "snapshot-delete", jobs_qmp_snapshot_delete, jobs_snapshot_delete_args, "{}" },
    { "query-jobs", jobs_qmp_query_jobs, NULL, "any" },
    { "screendump", display_qmp_screendump, display_screendump_args, "{}" },
    { "query-display-stats", display_qmp_query_stats, NULL, "any" },
    { "input-send-event", input_qmp_send_event, input_send_event_args, "{}" },
    { "send-key", input_qmp_send_key, input_send_key_args, "{}" },
    { "query-mice", input_qmp_query_mice, NULL, "any" },
    { "job-dismiss", jobs_qmp_job_dismiss, jobs_id_args, "{}" },
    { NULL, NULL, NULL, NULL },
};

int monitor_new(struct qmp **out, struct loop *loop, struct monitor_host *h,
                struct error **errp)
{
    H = h;
    int r = qmp_new(out, loop, monitor_cmds, NULL, PACKAGE_NAME " " PACKAGE_VERSION, errp);
    if (r == 0)
        Q = *out;
    return r;
}
