/* emu.c - `emu`: list the running emu machines and act on them.
 *
 *     emu start vm1 -- -m 512M -kernel Image -drive file=disk.qcow2
 *     emu list
 *     emu console vm1
 *     emu stop vm1
 *
 * main, the command table and the helpers every subcommand uses: finding
 * a machine by name and talking QMP to it, with one-line errors that
 * name the machine. */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "emu.h"
#include "i18n.h"
#include "json-writer.h"
#include "msg.h"
#include "prog.h"

const struct emu_command emu_commands[] = {
    { "list", emu_cmd_list, N_("[--output=human|json] [-q]"),
      N_("list the running machines"),
      N_("  -o, --output=FMT  human (a table, the default) or json\n"
         "  -q, --quiet       the names only, without asking the machines\n") },
    { "start", emu_cmd_start, N_("NAME [--target=TARGET] [--wait=S] [-- EMU-SYSTEM-ARGS...]"),
      N_("start a machine in the background"),
      N_("  -t, --target=TARGET  run emu-system-TARGET (default riscv64)\n"
         "  -w, --wait=S         wait up to S seconds for its monitor (default 30)\n"
         "\n"
         "The machine runs detached, in its own session, with '-name NAME', its\n"
         "output in NAME.log in the runtime directory and its first serial port\n"
         "on the socket NAME.console there (unless the arguments give -serial),\n"
         "for 'emu console NAME'.\n") },
    { "status", emu_cmd_status, N_("NAME [--output=human|json]"),
      N_("show a machine's state"),
      N_("  -o, --output=FMT  human (the default) or json\n") },
    { "pause", emu_cmd_pause, N_("NAME"), N_("stop the machine's CPUs (QMP stop)"), NULL },
    { "resume", emu_cmd_resume, N_("NAME"), N_("let the CPUs run again (QMP cont)"), NULL },
    { "reset", emu_cmd_reset, N_("NAME"), N_("reset the machine (QMP system_reset)"), NULL },
    { "stop", emu_cmd_stop, N_("NAME [--timeout=S]"),
      N_("ask the guest to power off, then quit"),
      N_("  -t, --timeout=S   seconds the guest has to power off before the machine\n"
         "                    is told to quit (default 30)\n") },
    { "kill", emu_cmd_kill, N_("NAME"),
      N_("quit at once (SIGKILL if the machine does not answer)"), NULL },
    { "console", emu_cmd_console, N_("NAME"),
      N_("attach the terminal to the serial console (Ctrl-] detaches)"),
      N_("When standard input is not a terminal, its lines are sent and the\n"
         "output is shown until the console has been quiet for a second after\n"
         "the input ended.\n") },
    { "monitor", emu_cmd_monitor, N_("NAME [HMP-COMMAND...]"),
      N_("run a human monitor command, or a (qemu) prompt"),
      N_("With a command, print its output.  Without one, read commands from\n"
         "standard input, one a line, with a '(qemu) ' prompt on a terminal.\n") },
    { "snapshot", emu_cmd_snapshot, N_("NAME save|load|delete|list [TAG]"),
      N_("save, load, delete or list the machine's snapshots"),
      N_("Snapshots hold the disks, the RAM and the devices' state, in the\n"
         "machine's qcow2 images (the monitor's savevm, loadvm, delvm and info\n"
         "snapshots).  'create' is another name for 'save'.\n") },
    { "export", emu_cmd_export, N_("NAME DRIVE [--socket=PATH | --port=N [--host=H]] "
                                   "[--name=EXPORT]"),
      N_("serve a running machine's disk over NBD (read-only)"),
      N_("  -s, --socket=PATH  serve on this Unix socket (default: NAME.nbd in the\n"
         "                     runtime directory)\n"
         "  -p, --port=N       serve on TCP port N instead\n"
         "  -H, --host=H       the address to bind with --port (default 127.0.0.1)\n"
         "  -n, --name=EXPORT  the export's name (default: DRIVE)\n"
         "  -o, --output=FMT   human (the URI, the default) or json\n") },
    { "screendump", emu_cmd_screendump, N_("NAME FILE [--format=png|ppm]"),
      N_("save the machine's screen to FILE"),
      N_("  -f, --format=FMT  png (the default) or ppm\n"
         "\n"
         "The screen of the machine's first display console (a virtio-gpu).\n") },
    { "qmp", emu_cmd_qmp, N_("NAME COMMAND [JSON-ARGUMENTS] | NAME JSON-MESSAGE"),
      N_("run a QMP command and print its return value as JSON"),
      N_("The arguments are a JSON object ('{\"device\": \"virtio0\"}'); a whole\n"
         "message is '{\"execute\": COMMAND, \"arguments\": {...}}'.  A QMP error is\n"
         "printed with QEMU's error class, and the exit status is 1.\n") },
    { NULL, NULL, NULL, NULL, NULL },
};

const struct emu_command *emu_command_find(const char *name)
{
    for (const struct emu_command *c = emu_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static void usage(FILE *fp)
{
    fprintf(fp, _("Usage: %s [--help] [--version] COMMAND [ARGS...]\n"
                  "List the running emu machines and act on them.\n\n"
                  "Commands:\n"), msg_progname());
    for (const struct emu_command *c = emu_commands; c->name; c++)
        fprintf(fp, "  %-10s %s\n", c->name, _(c->summary));
    fprintf(fp, _("\n'%s COMMAND --help' shows a command's options.  Machines register in\n"
                  "$XDG_RUNTIME_DIR/emu (else /run/emu for root, /tmp/emu-UID for others).\n"), msg_progname());
}

int emu_help(const char *cmd)
{
    const struct emu_command *c = emu_command_find(cmd);
    printf(_("Usage: %s %s %s\n"), msg_progname(), c->name, _(c->synopsis));
    const char *sum = _(c->summary);
    /* the summaries are list items in `emu --help`; here a sentence */
    printf("%c%s.\n", sum[0] >= 'a' && sum[0] <= 'z' ? sum[0] - 'a' + 'A' : sum[0], sum + 1);
    if (c->help)
        printf("\n%s", _(c->help));
    printf(_("\n  -h, --help        show this help\n"));
    return EMU_EXIT_OK;
}

int emu_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    char buf[512];
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (cmd) {
        msg_error("%s: %s", cmd, buf);
        fprintf(stderr, _("Try '%s %s --help' for more information.\n"), msg_progname(), cmd);
    } else {
        msg_error("%s", buf);
        fprintf(stderr, _("Try '%s --help' for more information.\n"), msg_progname());
    }
    return EMU_EXIT_USAGE;
}

bool emu_parse_output(const char *cmd, const char *arg, bool *json)
{
    if (strcmp(arg, "json") == 0 || strcmp(arg, "human") == 0) {
        *json = arg[0] == 'j';
        return true;
    }
    emu_usage_error(cmd, _("--output must be human or json, not '%s'"), arg);
    return false;
}

int emu_want_args(char **argv, int argc, int optind, int min, int max)
{
    int n = argc - optind;
    if (n < min)
        return emu_usage_error(argv[0], n == 0 ? _("a machine name is needed")
                                               : _("missing arguments"));
    if (n > max)
        return emu_usage_error(argv[0], _("unexpected argument '%s'"), argv[optind + max]);
    return EMU_EXIT_OK;
}

int emu_bad_option(char **argv, int opt)
{
    const char *a = argv[optind - 1];
    if (opt == ':')
        return emu_usage_error(argv[0], _("option '%s' needs an argument"), a);
    if (optopt && a[0] == '-' && a[1] != '-')
        return emu_usage_error(argv[0], _("unknown option '-%c'"), optopt);
    return emu_usage_error(argv[0], _("unknown option '%s'"), a);
}

int emu_plain_args(int argc, char **argv, int min, int max, int *code)
{
    static const struct option lo[] = { { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        *code = opt == 'h' ? emu_help(argv[0]) : emu_bad_option(argv, opt);
        return -1;
    }
    *code = emu_want_args(argv, argc, optind, min, max);
    return *code == EMU_EXIT_OK ? 0 : -1;
}

char *emu_rundir(int *code)
{
    char *dir = NULL;
    struct error *err = NULL;
    int r = rundir_path(&dir, false, &err);
    if (r == -ENOENT) {
        *code = EMU_EXIT_OK;
        return NULL;
    }
    if (r < 0) {
        err_report(err);
        *code = EMU_EXIT_ERROR;
        return NULL;
    }
    return dir;
}

int emu_machine(struct rundir_entry **e, const char *name)
{
    int code;
    struct error *err = NULL;
    char *dir = emu_rundir(&code);
    int r = 0;
    if (dir) {
        r = rundir_entry_open(e, dir, name, &err);
        free(dir);
    } else if (code != EMU_EXIT_OK) {
        return code;
    }
    if (r < 0) {
        err_report(err);
        return EMU_EXIT_ERROR;
    }
    if (r == 0) {
        msg_error(_("no machine named '%s' is running"), name);
        return EMU_EXIT_ERROR;
    }
    return EMU_EXIT_OK;
}

int emu_connect(struct qmpc **c, const struct rundir_entry *e, int timeout_ms)
{
    struct error *err = NULL;
    if (qmpc_connect(c, e->qmp, timeout_ms, &err) < 0) {
        msg_error(_("%s: cannot reach the machine's monitor: %s"), e->name, err_msg(err));
        err_free(err);
        return EMU_EXIT_ERROR;
    }
    return EMU_EXIT_OK;
}

bool emu_is_quit(const char *qmp_command, const char *hmp_line)
{
    if (qmp_command && strcmp(qmp_command, "quit") == 0)
        return true;
    if (!hmp_line)
        return false;
    size_t n = strcspn(hmp_line, " \t");
    return (n == 4 && strncmp(hmp_line, "quit", 4) == 0) || (n == 1 && hmp_line[0] == 'q');
}

int emu_execute(struct qmpc *c, const struct rundir_entry *e, const char *command,
                const char *args, struct json_value **ret, bool show_class)
{
    struct error *err = NULL;
    if (qmpc_execute(c, command, args, ret, &err) < 0) {
        int code = err_code(err);
        const struct json_value *line = NULL;
        struct json_value *a = NULL;
        if (args && strcmp(command, "human-monitor-command") == 0 &&
            json_parse(&a, args, strlen(args), NULL, NULL) == 0)
            line = json_get(a, "command-line");
        bool quit = emu_is_quit(command, line && line->type == JSON_STRING ? line->u.s : NULL);
        json_free(a);
        if (quit && code != QMPC_ERR_REMOTE && emu_wait_exit(e, 5000)) {
            err_free(err);
            return EMU_EXIT_OK;
        }
        if (err_code(err) == QMPC_ERR_REMOTE && show_class)
            msg_error("%s: %s: %s", e->name, qmpc_error_class(c), err_msg(err));
        else
            msg_error("%s: %s", e->name, err_msg(err));
        err_free(err);
        return EMU_EXIT_ERROR;
    }
    return EMU_EXIT_OK;
}

int emu_run(const char *name, const char *command, const char *args, struct json_value **ret)
{
    struct rundir_entry *e = NULL;
    struct qmpc *c = NULL;
    int code = emu_machine(&e, name);
    if (code == EMU_EXIT_OK)
        code = emu_connect(&c, e, EMU_QMP_TIMEOUT_MS);
    if (code == EMU_EXIT_OK)
        code = emu_execute(c, e, command, args, ret, false);
    qmpc_close(c);
    rundir_entry_free(e);
    return code;
}

int emu_hmp(const struct rundir_entry *e, const char *line, char **out)
{
    struct qmpc *c = NULL;
    struct json_value *ret = NULL;
    struct json_writer w;
    jw_init(&w);
    jw_obj_begin(&w, NULL);
    jw_str(&w, "command-line", line);
    jw_obj_end(&w);
    int code = w.failed ? EMU_EXIT_ERROR : emu_connect(&c, e, EMU_QMP_TIMEOUT_MS);
    if (w.failed)
        msg_error(_("out of memory"));
    if (code == EMU_EXIT_OK)
        code = emu_execute(c, e, "human-monitor-command", w.buf, &ret, false);
    if (code == EMU_EXIT_OK) {
        /* QEMU's HMP text ends lines with CR LF */
        const char *s = ret && ret->type == JSON_STRING ? ret->u.s : "";
        char *o = malloc(strlen(s) + 1), *q = o;
        if (!o) {
            msg_error(_("out of memory"));
            code = EMU_EXIT_ERROR;
        } else {
            for (; *s; s++)
                if (!(*s == '\r' && s[1] == '\n'))
                    *q++ = *s;
            *q = 0;
            *out = o;
        }
    }
    json_free(ret);
    jw_free(&w);
    qmpc_close(c);
    return code;
}

bool emu_wait_exit(const struct rundir_entry *e, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 50) {
        if (!rundir_entry_alive(e))
            return true;
        struct timespec ts = { 0, 50 * 1000000 };
        nanosleep(&ts, NULL);
    }
    return !rundir_entry_alive(e);
}

void emu_print_json(FILE *fp, const struct json_value *v)
{
    struct json_writer w;
    jw_init(&w);
    if (v)
        jw_value(&w, NULL, v);
    else
        jw_raw(&w, NULL, "{}");
    if (!w.failed)
        fprintf(fp, "%s\n", w.buf);
    jw_free(&w);
}

void emu_format_uptime(char *buf, size_t n, int64_t s)
{
    if (s < 0)
        s = 0;
    if (s >= 86400)
        snprintf(buf, n, "%" PRId64 "d%02" PRId64 "h", s / 86400, s % 86400 / 3600);
    else if (s >= 3600)
        snprintf(buf, n, "%" PRId64 "h%02" PRId64 "m", s / 3600, s % 3600 / 60);
    else if (s >= 60)
        snprintf(buf, n, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
    else
        snprintf(buf, n, "%" PRId64 "s", s);
}

int main(int argc, char **argv)
{
    if (prog_init(argc, argv) < 0)
        return EMU_EXIT_ERROR;
    opterr = 0;     /* the subcommands word their own usage errors */
    /* a machine that hangs up must not kill us: the write fails instead */
    signal(SIGPIPE, SIG_IGN);
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return EMU_EXIT_OK;
        }
        if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
            prog_print_version(stdout);
            return EMU_EXIT_OK;
        }
        return emu_usage_error(NULL, _("unknown option '%s'"), argv[i]);
    }
    if (i == argc) {
        usage(stderr);
        return EMU_EXIT_USAGE;
    }
    if (strcmp(argv[i], "help") == 0) {
        if (i + 1 < argc && emu_command_find(argv[i + 1]))
            return emu_help(argv[i + 1]);
        if (i + 1 < argc)
            return emu_usage_error(NULL, _("unknown command '%s'"), argv[i + 1]);
        usage(stdout);
        return EMU_EXIT_OK;
    }
    const struct emu_command *c = emu_command_find(argv[i]);
    if (!c)
        return emu_usage_error(NULL, _("unknown command '%s'"), argv[i]);
    int code = c->fn(argc - i, argv + i);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        msg_error(_("cannot write the output: %s"), strerror(errno));
        return EMU_EXIT_ERROR;
    }
    return code;
}
