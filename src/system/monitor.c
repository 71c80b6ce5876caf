/* monitor.c - QMP commands for a machine, with QEMU's names and JSON
 * shapes (QEMU 7.2's QAPI schema describes them; we return the members
 * management tools read).  Each command is a function and a table line. */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "monitor.h"
#include "block/block.h"
#include "chardev.h"
#include "hw/drive.h"
#include "hw/machine.h"
#include "i18n.h"

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
    for (int i = 0; machine_types[i]; i++) {
        jw_obj_begin(w, NULL);
        jw_str(w, "name", machine_types[i]->name);
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

static int q_chardev(void *o, const struct json_value *a, struct json_writer *w,
                     struct error **errp)
{
    (void)o, (void)a, (void)errp;
    struct machine *m = H->m;
    jw_arr_begin(w, NULL);
    for (int i = 0; i < MACHINE_MAX_SERIAL; i++)
        if (m->serial[i]) {
            char label[16];
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
static const struct machine_debug_ops *cpu_ops(void **opaque)
{
    struct machine *m = H->m;
    return m->ops && m->ops->debug ? m->ops->debug(m, opaque) : NULL;
}

/* A CPU's host thread: its own once it runs; before that (-S) the main
 * thread's, which starts it. */
static int cpu_tid(const struct machine_debug_ops *d, void *opaque, int i)
{
    int tid = d->cpu_thread_id ? d->cpu_thread_id(opaque, i) : -1;
    return tid > 0 ? tid : (int)getpid();
}

static int q_cpus_fast(void *o, const struct json_value *a, struct json_writer *w,
                       struct error **errp)
{
    (void)o, (void)a, (void)errp;
    void *op = NULL;
    const struct machine_debug_ops *d = cpu_ops(&op);
    int n = d ? d->n_cpus(op) : 0;
    jw_arr_begin(w, NULL);
    for (int i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/machine/soc0/harts[%d]", i);
        jw_obj_begin(w, NULL);
        jw_int(w, "thread-id", cpu_tid(d, op, i));
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

static int c_powerdown(void *o, const struct json_value *a, struct json_writer *w,
                       struct error **errp)
{
    (void)o, (void)a, (void)w, (void)errp;
    /* the virt board has no power button: the event is all there is, as
     * with qemu-system-riscv64 */
    qmp_event(Q, "POWERDOWN", NULL);
    return 0;
}

static int c_quit(void *o, const struct json_value *a, struct json_writer *w,
                  struct error **errp)
{
    (void)o, (void)a, (void)w, (void)errp;
    machine_request_host(H->m, MACHINE_QUIT, MACHINE_CAUSE_QMP);
    return 0;
}

/* human-monitor-command: the few HMP commands there are, as text. */
static int c_hmp(void *o, const struct json_value *a, struct json_writer *w,
                 struct error **errp)
{
    const char *line = json_get(a, "command-line")->u.s;
    while (*line == ' ')
        line++;
    char out[512];
    out[0] = 0;
    int r = 0;
    if (strcmp(line, "info status") == 0) {
        const char *st = H->status(H->opaque);
        snprintf(out, sizeof(out), "VM status: %s\r\n", st);
    } else if (strcmp(line, "info version") == 0) {
        snprintf(out, sizeof(out), "7.2.0 (%s %s)\r\n", PACKAGE_NAME, PACKAGE_VERSION);
    } else if (strcmp(line, "info name") == 0) {
        if (H->m->opts.name)
            snprintf(out, sizeof(out), "%s\r\n", H->m->opts.name);
    } else if (strcmp(line, "info cpus") == 0) {
        /* as qemu: the current CPU (the monitor's, always 0) starred */
        void *op = NULL;
        const struct machine_debug_ops *d = cpu_ops(&op);
        int n = d ? d->n_cpus(op) : 0;
        size_t k = 0;
        for (int i = 0; i < n && k < sizeof(out); i++)
            k += (size_t)snprintf(out + k, sizeof(out) - k, "%c CPU #%d: thread_id=%d\r\n",
                                  i == 0 ? '*' : ' ', i, cpu_tid(d, op, i));
    } else if (strcmp(line, "stop") == 0) {
        r = c_stop(o, a, w, errp);
    } else if (strcmp(line, "cont") == 0 || strcmp(line, "c") == 0) {
        r = c_cont(o, a, w, errp);
    } else if (strcmp(line, "system_reset") == 0) {
        r = c_reset(o, a, w, errp);
    } else if (strcmp(line, "system_powerdown") == 0) {
        r = c_powerdown(o, a, w, errp);
    } else if (strcmp(line, "quit") == 0 || strcmp(line, "q") == 0) {
        r = c_quit(o, a, w, errp);
    } else if (strcmp(line, "help") == 0 || strcmp(line, "?") == 0) {
        snprintf(out, sizeof(out), "cont|c -- resume emulation\r\n"
                                   "help|? -- show the commands\r\n"
                                   "info status|version|name|cpus -- show the state\r\n"
                                   "quit|q -- quit the emulator\r\n"
                                   "stop -- stop emulation\r\n"
                                   "system_powerdown -- send a power down event\r\n"
                                   "system_reset -- reset the system\r\n");
    } else {
        size_t n = strcspn(line, " ");
        snprintf(out, sizeof(out), "unknown command: '%.*s'\r\n", (int)n, line);
    }
    if (r < 0)
        return r;
    /* HMP's output is a string; other HMP commands' messages go there too */
    jw_str(w, NULL, out);
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
    { "query-chardev", q_chardev, NULL, "any" },
    { "query-cpus-fast", q_cpus_fast, NULL, "any" },
    { "stop", c_stop, NULL, "{}" },
    { "cont", c_cont, NULL, "{}" },
    { "system_reset", c_reset, NULL, "{}" },
    { "system_powerdown", c_powerdown, NULL, "{}" },
    { "quit", c_quit, NULL, "{}" },
    { "human-monitor-command", c_hmp, hmp_args, "any" },
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
