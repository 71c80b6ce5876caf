/* list.c - `emu list` and `emu status`: what runs, from the descriptors
 * in the runtime directory and each machine's answers to query-status
 * and query-block.  A machine that does not answer is listed anyway, its
 * status "unreachable": a listing must not fail for one machine. */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "emu.h"
#include "i18n.h"
#include "json-writer.h"
#include "msg.h"

/* Short: a listing asks every machine, and a busy one must not stall it. */
#define LIST_TIMEOUT_MS 3000

struct machine_info {
    struct rundir_entry *e;
    char status[32];                /* QEMU's run state, or "unreachable" */
    char *error;                    /* why it is unreachable */
    struct json_value *block;       /* query-block's return, or NULL */
};

static void info_gather(struct machine_info *mi, struct rundir_entry *e, int timeout_ms)
{
    struct qmpc *c = NULL;
    struct error *err = NULL;
    struct json_value *st = NULL;
    memset(mi, 0, sizeof(*mi));
    mi->e = e;
    snprintf(mi->status, sizeof(mi->status), "unreachable");
    if (qmpc_connect(&c, e->qmp, timeout_ms, &err) == 0 &&
        qmpc_execute(c, "query-status", NULL, &st, &err) == 0) {
        const struct json_value *s = json_get(st, "status");
        if (s && s->type == JSON_STRING)
            snprintf(mi->status, sizeof(mi->status), "%s", s->u.s);
        if (qmpc_execute(c, "query-block", NULL, &mi->block, NULL) < 0)
            mi->block = NULL;
    }
    if (err)
        mi->error = strdup(err_msg(err));
    err_free(err);
    json_free(st);
    qmpc_close(c);
}

static void info_free(struct machine_info *mi)
{
    free(mi->error);
    json_free(mi->block);
    rundir_entry_free(mi->e);
}

static int64_t uptime(const struct rundir_entry *e)
{
    return e->start_time ? (int64_t)time(NULL) - e->start_time : 0;
}

/* Each disk as DEVICE and its file (query-block's entries with an image). */
static void for_each_disk(const struct json_value *block,
                          void (*fn)(void *opaque, const char *dev, const char *file,
                                     const char *fmt),
                          void *opaque)
{
    if (!block || block->type != JSON_ARRAY)
        return;
    for (size_t i = 0; i < block->u.a.n; i++) {
        const struct json_value *b = block->u.a.v[i];
        const struct json_value *dev = json_get(b, "device");
        const struct json_value *ins = json_get(b, "inserted");
        const struct json_value *file = json_get(ins, "file");
        const struct json_value *fmt = json_get(ins, "drv");
        if (!dev || dev->type != JSON_STRING || !ins)
            continue;
        fn(opaque, dev->u.s, file && file->type == JSON_STRING ? file->u.s : "",
           fmt && fmt->type == JSON_STRING ? fmt->u.s : "");
    }
}

static void disk_json(void *opaque, const char *dev, const char *file, const char *fmt)
{
    struct json_writer *w = opaque;
    jw_obj_begin(w, NULL);
    jw_str(w, "device", dev);
    jw_str(w, "file", file);
    jw_str(w, "format", fmt);
    jw_obj_end(w);
}

static void write_json(struct json_writer *w, const struct machine_info *mi)
{
    const struct rundir_entry *e = mi->e;
    jw_obj_begin(w, NULL);
    jw_str(w, "name", e->name);
    jw_int(w, "pid", e->pid);
    jw_str(w, "target", e->target ? e->target : "");
    if (e->machine)
        jw_str(w, "machine", e->machine);
    jw_str(w, "status", mi->status);
    if (mi->error)
        jw_str(w, "error", mi->error);
    jw_int(w, "start-time", e->start_time);
    jw_int(w, "uptime", uptime(e));
    jw_str(w, "qmp", e->qmp);
    if (e->console)
        jw_str(w, "console", e->console);
    else
        jw_null(w, "console");
    const struct json_value *argv = json_get(e->desc, "argv");
    if (argv)
        jw_value(w, "argv", argv);
    jw_arr_begin(w, "disks");
    for_each_disk(mi->block, disk_json, w);
    jw_arr_end(w);
    jw_obj_end(w);
}

struct names {
    char buf[256];
    size_t len;
};

static void disk_name(void *opaque, const char *dev, const char *file, const char *fmt)
{
    struct names *n = opaque;
    (void)file, (void)fmt;
    if (n->len < sizeof(n->buf))
        n->len += (size_t)snprintf(n->buf + n->len, sizeof(n->buf) - n->len, "%s%s",
                                   n->len ? "," : "", dev);
}

static int flush_json(struct json_writer *w)
{
    if (w->failed) {
        msg_error(_("out of memory"));
        jw_free(w);
        return EMU_EXIT_ERROR;
    }
    printf("%s\n", w->buf);
    jw_free(w);
    return EMU_EXIT_OK;
}

int emu_cmd_list(int argc, char **argv)
{
    static const struct option lo[] = {
        { "output", required_argument, NULL, 'o' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool json = false, quiet = false;
    int opt, code;
    while ((opt = getopt_long(argc, argv, ":o:qh", lo, NULL)) != -1) {
        switch (opt) {
        case 'o':
            if (!emu_parse_output(argv[0], optarg, &json))
                return EMU_EXIT_USAGE;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            return emu_help(argv[0]);
        default:
            return emu_bad_option(argv, opt);
        }
    }
    if ((code = emu_want_args(argv, argc, optind, 0, 0)) != EMU_EXIT_OK)
        return code;

    char **names = NULL;
    size_t n = 0;
    struct error *err = NULL;
    char *dir = emu_rundir(&code);
    if (!dir && code != EMU_EXIT_OK)
        return code;
    if (dir && rundir_list(&names, &n, dir, &err) < 0) {
        err_report(err);
        free(dir);
        return EMU_EXIT_ERROR;
    }

    struct json_writer w;
    jw_init(&w);
    if (json)
        jw_arr_begin(&w, NULL);
    else if (!quiet)
        printf("%-16s %8s %-8s %-8s %-11s %7s  %s\n", _("NAME"), _("PID"), _("TARGET"),
               _("MACHINE"), _("STATUS"), _("UPTIME"), _("DISKS"));
    for (size_t i = 0; i < n; i++) {
        struct rundir_entry *e = NULL;
        /* gone since the directory was read: not listed */
        if (rundir_entry_open(&e, dir, names[i], NULL) <= 0)
            continue;
        if (quiet && !json) {
            printf("%s\n", e->name);
            rundir_entry_free(e);
            continue;
        }
        struct machine_info mi;
        info_gather(&mi, e, LIST_TIMEOUT_MS);
        if (json) {
            write_json(&w, &mi);
        } else {
            char up[32];
            struct names dn = { .len = 0 };
            dn.buf[0] = 0;
            for_each_disk(mi.block, disk_name, &dn);
            emu_format_uptime(up, sizeof(up), uptime(e));
            printf("%-16s %8ld %-8s %-8s %-11s %7s  %s\n", e->name, (long)e->pid,
                   e->target ? e->target : "-", e->machine ? e->machine : "-", mi.status, up,
                   dn.len ? dn.buf : "-");
        }
        info_free(&mi);
    }
    rundir_names_free(names);
    free(dir);
    if (json) {
        jw_arr_end(&w);
        return flush_json(&w);
    }
    jw_free(&w);
    return EMU_EXIT_OK;
}

static void disk_line(void *opaque, const char *dev, const char *file, const char *fmt)
{
    int *k = opaque;
    printf("%-9s %s (%s)\n", (*k)++ ? "" : _("disks:"), dev, file);
    (void)fmt;
}

int emu_cmd_status(int argc, char **argv)
{
    static const struct option lo[] = {
        { "output", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool json = false;
    int opt, code;
    while ((opt = getopt_long(argc, argv, ":o:h", lo, NULL)) != -1) {
        switch (opt) {
        case 'o':
            if (!emu_parse_output(argv[0], optarg, &json))
                return EMU_EXIT_USAGE;
            break;
        case 'h':
            return emu_help(argv[0]);
        default:
            return emu_bad_option(argv, opt);
        }
    }
    if ((code = emu_want_args(argv, argc, optind, 1, 1)) != EMU_EXIT_OK)
        return code;
    struct rundir_entry *e = NULL;
    if ((code = emu_machine(&e, argv[optind])) != EMU_EXIT_OK)
        return code;
    struct machine_info mi;
    info_gather(&mi, e, EMU_QMP_TIMEOUT_MS);
    if (strcmp(mi.status, "unreachable") == 0) {
        msg_error(_("%s: cannot reach the machine's monitor: %s"), e->name,
                  mi.error ? mi.error : _("no status"));
        code = EMU_EXIT_ERROR;
    } else if (json) {
        struct json_writer w;
        jw_init(&w);
        write_json(&w, &mi);
        code = flush_json(&w);
    } else {
        char up[32];
        int k = 0;
        emu_format_uptime(up, sizeof(up), uptime(e));
        printf("%-9s %s\n", _("name:"), e->name);
        printf("%-9s %s\n", _("status:"), mi.status);
        printf("%-9s %ld\n", _("pid:"), (long)e->pid);
        printf("%-9s %s\n", _("target:"), e->target ? e->target : "-");
        printf("%-9s %s\n", _("machine:"), e->machine ? e->machine : "-");
        printf("%-9s %s\n", _("uptime:"), up);
        printf("%-9s %s\n", _("monitor:"), e->qmp);
        printf("%-9s %s\n", _("console:"), e->console ? e->console : "-");
        for_each_disk(mi.block, disk_line, &k);
    }
    info_free(&mi);
    return code;
}
