/* monitor.c - the commands that speak a machine's monitors:
 * `emu monitor` (HMP through QMP's human-monitor-command), `emu snapshot`
 * (HMP savevm, loadvm, delvm, info snapshots), `emu export` (QMP's NBD
 * server) and `emu qmp` (any QMP command).
 *
 * Each command connects for itself and lets go at once: a machine serves
 * one client per socket, and an interactive prompt must not keep every
 * other `emu` command waiting. */
#include <config.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu.h"
#include "i18n.h"
#include "json-writer.h"
#include "msg.h"
#include "parse.h"

/* The longest HMP line the prompt reads. */
#define MONITOR_LINE_MAX 4096

static int hmp_print(const struct rundir_entry *e, const char *line)
{
    char *out = NULL;
    int code = emu_hmp(e, line, &out);
    if (code == EMU_EXIT_OK) {
        fputs(out, stdout);
        if (out[0] && out[strlen(out) - 1] != '\n')
            fputc('\n', stdout);
        fflush(stdout);
    }
    free(out);
    return code;
}

/* The (qemu) prompt: one command per line until the end of the input or
 * until the machine is gone. */
static int monitor_loop(const struct rundir_entry *e)
{
    bool tty = isatty(STDIN_FILENO);
    char line[MONITOR_LINE_MAX];
    int code = EMU_EXIT_OK;
    for (;;) {
        if (tty) {
            fputs("(qemu) ", stdout);
            fflush(stdout);
        }
        if (!fgets(line, sizeof(line), stdin))
            break;
        size_t n = strlen(line);
        if (n && line[n - 1] != '\n' && !feof(stdin)) {
            msg_error(_("a monitor line is limited to %d bytes"), MONITOR_LINE_MAX - 1);
            return EMU_EXIT_ERROR;
        }
        line[strcspn(line, "\r\n")] = 0;
        const char *l = line + strspn(line, " \t");
        if (!*l)
            continue;
        code = hmp_print(e, l);
        if ((strcmp(l, "quit") == 0 || strcmp(l, "q") == 0) && code == EMU_EXIT_OK)
            break;
        if (!rundir_entry_alive(e))
            break;
    }
    if (tty && feof(stdin))
        fputc('\n', stdout);
    return code;
}

/* ARGV[0..N) joined by blanks, in *OUT (to free). */
static char *join(char **argv, int n)
{
    size_t len = 1;
    for (int i = 0; i < n; i++)
        len += strlen(argv[i]) + 1;
    char *s = malloc(len), *q = s;
    if (!s)
        return NULL;
    for (int i = 0; i < n; i++)
        q += sprintf(q, "%s%s", i ? " " : "", argv[i]);
    *q = 0;
    return s;
}

int emu_cmd_monitor(int argc, char **argv)
{
    int code;
    struct rundir_entry *e = NULL;
    if (emu_plain_args(argc, argv, 1, argc, &code) < 0)
        return code;
    if ((code = emu_machine(&e, argv[optind])) != EMU_EXIT_OK)
        return code;
    if (optind + 1 < argc) {
        char *line = join(argv + optind + 1, argc - optind - 1);
        if (!line) {
            msg_error(_("out of memory"));
            code = EMU_EXIT_ERROR;
        } else {
            code = hmp_print(e, line);
        }
        free(line);
    } else {
        code = monitor_loop(e);
    }
    rundir_entry_free(e);
    return code;
}

int emu_cmd_snapshot(int argc, char **argv)
{
    int code;
    struct rundir_entry *e = NULL;
    if (emu_plain_args(argc, argv, 2, 3, &code) < 0)
        return code;
    const char *op = argv[optind + 1], *tag = optind + 2 < argc ? argv[optind + 2] : NULL;
    const char *hmp;
    bool list = false;
    if (strcmp(op, "save") == 0 || strcmp(op, "create") == 0) {
        hmp = "savevm";
    } else if (strcmp(op, "load") == 0) {
        hmp = "loadvm";
    } else if (strcmp(op, "delete") == 0) {
        hmp = "delvm";
    } else if (strcmp(op, "list") == 0) {
        hmp = "info snapshots";
        list = true;
    } else {
        return emu_usage_error(argv[0], _("'%s' is not save, load, delete or list"), op);
    }
    if (list && tag)
        return emu_usage_error(argv[0], _("list takes no tag"));
    if (!list && !tag && strcmp(hmp, "savevm") != 0)
        return emu_usage_error(argv[0], _("%s needs the snapshot's tag"), op);
    if (tag && (strchr(tag, ' ') || strchr(tag, '\t') || strchr(tag, '\n') || !*tag))
        return emu_usage_error(argv[0], _("a tag is one word: '%s'"), tag);
    if ((code = emu_machine(&e, argv[optind])) != EMU_EXIT_OK)
        return code;
    char line[RUNDIR_NAME_MAX + 512];
    snprintf(line, sizeof(line), "%s%s%s", hmp, tag ? " " : "", tag ? tag : "");
    char *out = NULL;
    code = emu_hmp(e, line, &out);
    /* savevm, loadvm and delvm say nothing when they work (as QEMU's):
     * any text is the reason they did not; info snapshots' errors start
     * with "Error:" (HMP has no other error channel) */
    bool failed = list ? strncmp(out ? out : "", "Error", 5) == 0 : out && out[0];
    if (code == EMU_EXIT_OK && !failed) {
        fputs(out, stdout);
        if (out[0] && out[strlen(out) - 1] != '\n')
            fputc('\n', stdout);
    } else if (code == EMU_EXIT_OK) {
        const char *m = out;
        if (strncmp(m, "Error: ", 7) == 0)
            m += 7;
        out[strcspn(out, "\n")] = 0;
        msg_error("%s: %s", e->name, m);
        code = EMU_EXIT_ERROR;
    }
    free(out);
    rundir_entry_free(e);
    return code;
}

int emu_cmd_qmp(int argc, char **argv)
{
    int code;
    if (emu_plain_args(argc, argv, 2, 3, &code) < 0)
        return code;
    const char *cmd = argv[optind + 1], *args = optind + 2 < argc ? argv[optind + 2] : NULL;
    struct json_value *msg = NULL, *ret = NULL;
    struct json_writer w;
    struct error *err = NULL;
    jw_init(&w);
    if (cmd[0] == '{') {
        /* a whole message: {"execute": ..., "arguments": {...}} */
        if (args)
            return emu_usage_error(argv[0], _("unexpected argument '%s' after a JSON message"),
                                   args);
        if (json_parse(&msg, cmd, strlen(cmd), NULL, &err) < 0) {
            code = emu_usage_error(argv[0], _("not JSON: %s"), err_msg(err));
            err_free(err);
            return code;
        }
        const struct json_value *ex = json_get(msg, "execute");
        const struct json_value *a = json_get(msg, "arguments");
        if (!ex || ex->type != JSON_STRING || (a && a->type != JSON_OBJECT)) {
            json_free(msg);
            return emu_usage_error(argv[0], _("a message is {\"execute\": COMMAND, "
                                              "\"arguments\": {...}}"));
        }
        cmd = ex->u.s;
        if (a) {
            jw_value(&w, NULL, a);
            args = w.buf;
        }
    } else if (args) {
        struct json_value *a = NULL;
        if (json_parse(&a, args, strlen(args), NULL, &err) < 0) {
            code = emu_usage_error(argv[0], _("the arguments are not JSON: %s"), err_msg(err));
            err_free(err);
            return code;
        }
        bool obj = a->type == JSON_OBJECT;
        json_free(a);
        if (!obj)
            return emu_usage_error(argv[0], _("the arguments must be a JSON object"));
    }
    struct rundir_entry *e = NULL;
    struct qmpc *c = NULL;
    code = w.failed ? EMU_EXIT_ERROR : emu_machine(&e, argv[optind]);
    if (code == EMU_EXIT_OK)
        code = emu_connect(&c, e, EMU_QMP_TIMEOUT_MS);
    if (code == EMU_EXIT_OK)
        code = emu_execute(c, e, cmd, args, &ret, true);
    if (code == EMU_EXIT_OK)
        emu_print_json(stdout, ret);
    json_free(ret);
    qmpc_close(c);
    rundir_entry_free(e);
    json_free(msg);
    jw_free(&w);
    return code;
}

/* `emu export`: nbd-server-start (unless a server runs already) and
 * nbd-server-add, read-only; prints the URI clients take. */
int emu_cmd_export(int argc, char **argv)
{
    static const struct option lo[] = {
        { "socket", required_argument, NULL, 's' },
        { "port", required_argument, NULL, 'p' },
        { "host", required_argument, NULL, 'H' },
        { "name", required_argument, NULL, 'n' },
        { "output", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *sock = NULL, *host = NULL, *export = NULL;
    int opt, code, port = 0;
    bool json = false;
    struct error *err = NULL;
    while ((opt = getopt_long(argc, argv, ":s:p:H:n:o:h", lo, NULL)) != -1) {
        switch (opt) {
        case 's':
            sock = optarg;
            break;
        case 'p':
            if (parse_int("--port", optarg, 1, 65535, &port, &err) < 0) {
                code = emu_usage_error(argv[0], "%s", err_msg(err));
                err_free(err);
                return code;
            }
            break;
        case 'H':
            host = optarg;
            break;
        case 'n':
            export = optarg;
            break;
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
    if ((code = emu_want_args(argv, argc, optind, 2, 2)) != EMU_EXIT_OK)
        return code;
    if (sock && port)
        return emu_usage_error(argv[0], _("--socket and --port exclude each other"));
    if (host && !port)
        return emu_usage_error(argv[0], _("--host goes with --port"));
    const char *drive = argv[optind + 1];
    if (!export)
        export = drive;
    if (!host)
        host = "127.0.0.1";

    struct rundir_entry *e = NULL;
    struct qmpc *c = NULL;
    char *path = NULL, *dir = NULL, *uri = NULL;
    if ((code = emu_machine(&e, argv[optind])) != EMU_EXIT_OK)
        return code;
    code = EMU_EXIT_ERROR;
    if (!sock && !port) {
        if (rundir_path(&dir, false, &err) < 0 || rundir_file(&path, dir, e->name, "nbd", &err) < 0) {
            err_report(err);
            goto out;
        }
        sock = path;
    }
    struct json_writer w;
    jw_init(&w);
    jw_obj_begin(&w, NULL);
    jw_obj_begin(&w, "addr");
    jw_str(&w, "type", port ? "inet" : "unix");
    jw_obj_begin(&w, "data");
    if (port) {
        char ps[16];
        snprintf(ps, sizeof(ps), "%d", port);
        jw_str(&w, "host", host);
        jw_str(&w, "port", ps);     /* a string in QEMU's schema */
    } else {
        jw_str(&w, "path", sock);
    }
    jw_obj_end(&w);
    jw_obj_end(&w);
    jw_obj_end(&w);
    if (w.failed || emu_connect(&c, e, EMU_QMP_TIMEOUT_MS) != EMU_EXIT_OK) {
        jw_free(&w);
        goto out;
    }
    if (qmpc_execute(c, "nbd-server-start", w.buf, NULL, &err) < 0) {
        /* one server per machine: a second export joins the running one */
        if (err_code(err) != QMPC_ERR_REMOTE || !strstr(err_msg(err), "already")) {
            msg_error("%s: nbd-server-start: %s", e->name, err_msg(err));
            err_free(err);
            jw_free(&w);
            goto out;
        }
        err_free(err);
        err = NULL;
        /* QMP cannot tell where the running server listens: the URI is
         * only right if it is on the address asked for now */
        struct stat st;
        if (!sock || stat(sock, &st) < 0 || !S_ISSOCK(st.st_mode))
            msg_warn(_("%s: the machine's NBD server was running already; the export is "
                       "served where it listens, which may not be the address below"),
                     e->name);
    }
    jw_free(&w);
    jw_init(&w);
    jw_obj_begin(&w, NULL);
    jw_str(&w, "device", drive);
    jw_str(&w, "name", export);
    jw_bool(&w, "writable", false);
    jw_obj_end(&w);
    int r = w.failed ? EMU_EXIT_ERROR : emu_execute(c, e, "nbd-server-add", w.buf, NULL, false);
    jw_free(&w);
    if (r != EMU_EXIT_OK)
        goto out;
    int n = port ? (strchr(host, ':') ? asprintf(&uri, "nbd://[%s]:%d/%s", host, port, export)
                                      : asprintf(&uri, "nbd://%s:%d/%s", host, port, export))
                 : asprintf(&uri, "nbd+unix:///%s?socket=%s", export, sock);
    if (n < 0) {
        uri = NULL;
        msg_error(_("out of memory"));
        goto out;
    }
    if (json) {
        jw_init(&w);
        jw_obj_begin(&w, NULL);
        jw_str(&w, "uri", uri);
        jw_str(&w, "export", export);
        jw_str(&w, "device", drive);
        if (port) {
            jw_str(&w, "host", host);
            jw_int(&w, "port", port);
        } else {
            jw_str(&w, "socket", sock);
        }
        jw_obj_end(&w);
        if (!w.failed)
            printf("%s\n", w.buf);
        jw_free(&w);
    } else {
        printf("%s\n", uri);
    }
    code = EMU_EXIT_OK;
out:
    qmpc_close(c);
    rundir_entry_free(e);
    free(uri);
    free(path);
    free(dir);
    return code;
}

/* emu screendump NAME FILE [--format=png|ppm]: QMP screendump.  The
 * machine writes the file, in its own working directory: a relative
 * FILE is made absolute here, where the user meant it. */
int emu_cmd_screendump(int argc, char **argv)
{
    static const struct option lo[] = {
        { "format", required_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *format = NULL;
    int opt, code;
    while ((opt = getopt_long(argc, argv, ":f:h", lo, NULL)) != -1) {
        switch (opt) {
        case 'f':
            if (strcmp(optarg, "png") != 0 && strcmp(optarg, "ppm") != 0)
                return emu_usage_error(argv[0], _("--format: '%s' is neither png nor ppm"),
                                       optarg);
            format = optarg;
            break;
        case 'h':
            return emu_help(argv[0]);
        default:
            return emu_bad_option(argv, opt);
        }
    }
    if ((code = emu_want_args(argv, argc, optind, 2, 2)) != EMU_EXIT_OK)
        return code;
    const char *file = argv[optind + 1];
    char *abs = NULL;
    if (file[0] != '/') {
        char *cwd = getcwd(NULL, 0);
        if (!cwd || asprintf(&abs, "%s/%s", cwd, file) < 0) {
            free(cwd);
            msg_error(_("%s: cannot make the path absolute: %s"), file, strerror(errno));
            return EMU_EXIT_ERROR;
        }
        free(cwd);
        file = abs;
    }
    struct json_writer w;
    jw_init(&w);
    jw_obj_begin(&w, NULL);
    jw_str(&w, "filename", file);
    if (format)
        jw_str(&w, "format", format);
    jw_obj_end(&w);
    code = w.failed ? EMU_EXIT_ERROR : emu_run(argv[optind], "screendump", w.buf, NULL);
    if (w.failed)
        msg_error("%s", _("out of memory"));
    jw_free(&w);
    free(abs);
    return code;
}
