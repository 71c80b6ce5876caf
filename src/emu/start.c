/* start.c - `emu start NAME [-- ARGS]`: run emu-system-TARGET detached.
 *
 * The machine gets its own session (no terminal: a closed shell does not
 * hang it up), standard input from /dev/null and its output in NAME.log
 * in the runtime directory.  We wait for it to register and answer on its
 * QMP socket, so that a start that returns 0 means a machine one can
 * talk to; if it dies first, its last lines of output say why. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emu.h"
#include "i18n.h"
#include "msg.h"
#include "parse.h"

/* Lines of the log shown when the machine fails to start. */
#define LOG_TAIL_LINES 12

/* Whether ARGS has option OPT (as "-opt" or "--opt"). */
static bool has_opt(char **args, int n, const char *opt)
{
    for (int i = 0; i < n; i++) {
        const char *a = args[i];
        if (a[0] == '-' && a[1] == '-')
            a++;
        if (a[0] == '-' && strcmp(a + 1, opt) == 0)
            return true;
    }
    return false;
}

/* emu-system-TARGET beside this program (an uninstalled build runs its
 * own), else from PATH. */
static char *find_system(const char *target)
{
    char self[PATH_MAX], *out = NULL;
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = 0;
            if (asprintf(&out, "%s/emu-system-%s", self, target) < 0)
                out = NULL;
            if (out && access(out, X_OK) == 0)
                return out;
            free(out);
        }
    }
    if (asprintf(&out, "emu-system-%s", target) < 0)
        return NULL;
    return out;
}

static void print_log_tail(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char *lines[LOG_TAIL_LINES] = { NULL };
    char buf[1024];
    int k = 0;
    while (fgets(buf, sizeof(buf), f)) {
        free(lines[k % LOG_TAIL_LINES]);
        lines[k % LOG_TAIL_LINES] = strdup(buf);
        k++;
    }
    fclose(f);
    for (int i = k > LOG_TAIL_LINES ? k - LOG_TAIL_LINES : 0; i < k; i++) {
        char *l = lines[i % LOG_TAIL_LINES];
        if (l)
            fprintf(stderr, "  %s%s", l, l[strlen(l) - 1] == '\n' ? "" : "\n");
    }
    for (int i = 0; i < LOG_TAIL_LINES; i++)
        free(lines[i]);
}

/* The child: a new session, the log for output, then the emulator. */
static void exec_machine(char **av, const char *log, int report_fd)
{
    setsid();
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) {
        int e = errno;
        if (write(report_fd, &e, sizeof(e)) < 0) {
            /* the parent sees us exit */
        }
        _exit(127);
    }
    signal(SIGPIPE, SIG_DFL);
    execvp(av[0], av);
    int e = errno;
    if (write(report_fd, &e, sizeof(e)) < 0) {
        /* as above */
    }
    _exit(127);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until NAME is registered by PID and answers QMP, or PID ends. */
static int wait_ready(const char *dir, const char *name, pid_t pid, const char *log,
                      int timeout_s)
{
    int64_t deadline = now_ms() + (int64_t)timeout_s * 1000;
    struct error *err = NULL;
    for (;;) {
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) {
            if (WIFEXITED(st))
                msg_error(_("%s: the machine exited with status %d while starting; its "
                            "output (%s) ends with:"), name, WEXITSTATUS(st), log);
            else
                msg_error(_("%s: the machine was killed by signal %d while starting; its "
                            "output (%s) ends with:"), name, WTERMSIG(st), log);
            print_log_tail(log);
            err_free(err);
            return EMU_EXIT_ERROR;
        }
        struct rundir_entry *e = NULL;
        if (rundir_entry_open(&e, dir, name, NULL) > 0 && e->pid == pid) {
            struct qmpc *c = NULL;
            int64_t left = deadline - now_ms();
            err_free(err);
            err = NULL;
            if (left > 0 && qmpc_connect(&c, e->qmp, (int)MIN(left, 2000), &err) == 0 &&
                qmpc_execute(c, "query-status", NULL, NULL, &err) == 0) {
                qmpc_close(c);
                rundir_entry_free(e);
                return EMU_EXIT_OK;
            }
            qmpc_close(c);
        }
        rundir_entry_free(e);
        if (now_ms() >= deadline) {
            msg_error(_("%s: the machine did not answer in %d s%s%s; stopping it.  Its output "
                        "(%s) ends with:"), name, timeout_s, err ? ": " : "", err_msg(err), log);
            print_log_tail(log);
            err_free(err);
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            rundir_reap(dir, name);
            return EMU_EXIT_ERROR;
        }
        struct timespec ts = { 0, 50 * 1000000 };
        nanosleep(&ts, NULL);
    }
}

int emu_cmd_start(int argc, char **argv)
{
    static const struct option lo[] = {
        { "target", required_argument, NULL, 't' },
        { "wait", required_argument, NULL, 'w' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *target = "riscv64";
    int opt, code, wait_s = 30;
    struct error *err = NULL;
    /* what follows "--" is the emulator's: getopt sees only what is before */
    int n_user = 0, ours = argc;
    char **user = NULL;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--") == 0) {
            user = argv + i + 1;
            n_user = argc - i - 1;
            ours = i;
            break;
        }
    while ((opt = getopt_long(ours, argv, ":t:w:h", lo, NULL)) != -1) {
        switch (opt) {
        case 't':
            target = optarg;
            break;
        case 'w':
            if (parse_int("--wait", optarg, 1, 3600, &wait_s, &err) < 0) {
                code = emu_usage_error(argv[0], "%s", err_msg(err));
                err_free(err);
                return code;
            }
            break;
        case 'h':
            return emu_help(argv[0]);
        default:
            return emu_bad_option(argv, opt);
        }
    }
    if (optind >= ours)
        return emu_usage_error(argv[0], _("a machine name is needed"));
    if (ours - optind > 1)
        return emu_usage_error(argv[0], _("unexpected argument '%s' (the emulator's "
                                          "arguments go after '--')"), argv[optind + 1]);
    const char *name = argv[optind];
    if (!rundir_name_valid(name))
        return emu_usage_error(argv[0], _("'%s' is not a machine name (1 to %d letters, digits, "
                                          "'.', '_' and '-', not first '.' or '-')"),
                               name, RUNDIR_NAME_MAX);
    for (const char *p = target; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return emu_usage_error(argv[0], _("'%s' is not a target name"), target);
    if (has_opt(user, n_user, "name"))
        return emu_usage_error(argv[0], _("the machine's name is NAME: leave -name out"));
    if (has_opt(user, n_user, "daemonize"))
        return emu_usage_error(argv[0], _("the machine runs detached anyway: leave "
                                          "-daemonize out"));

    char *dir = NULL, *log = NULL, *console = NULL, *serial = NULL, *sys = NULL;
    char **av = NULL;
    code = EMU_EXIT_ERROR;
    if (rundir_path(&dir, true, &err) < 0) {
        err_report(err);
        goto out;
    }
    struct rundir_entry *e = NULL;
    if (rundir_entry_open(&e, dir, name, NULL) > 0) {
        msg_error(_("a machine named '%s' is already running (pid %ld)"), name, (long)e->pid);
        rundir_entry_free(e);
        goto out;
    }
    if (rundir_file(&log, dir, name, "log", &err) < 0 ||
        rundir_file(&console, dir, name, "console", &err) < 0) {
        err_report(err);
        goto out;
    }
    if (!(sys = find_system(target)) || !(av = calloc((size_t)n_user + 16, sizeof(*av))) ||
        asprintf(&serial, "unix:%s,server=on,wait=off", console) < 0) {
        serial = NULL;
        msg_error(_("out of memory"));
        goto out;
    }
    int k = 0;
    av[k++] = sys;
    av[k++] = "-name";
    av[k++] = (char *)name;
    if (!has_opt(user, n_user, "display") && !has_opt(user, n_user, "nographic")) {
        av[k++] = "-display";
        av[k++] = "none";
    }
    if (!has_opt(user, n_user, "serial")) {
        av[k++] = "-serial";
        av[k++] = serial;
    }
    for (int i = 0; i < n_user; i++)
        av[k++] = user[i];
    av[k] = NULL;

    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        msg_error(_("cannot create a pipe: %s"), strerror(errno));
        goto out;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        msg_error(_("cannot fork: %s"), strerror(errno));
        close(p[0]);
        close(p[1]);
        goto out;
    }
    if (pid == 0) {
        close(p[0]);
        exec_machine(av, log, p[1]);
    }
    close(p[1]);
    int child_errno = 0;
    ssize_t got = read(p[0], &child_errno, sizeof(child_errno));
    close(p[0]);
    if (got == (ssize_t)sizeof(child_errno)) {
        /* before the exec: nothing in the log to show */
        waitpid(pid, NULL, 0);
        msg_error(_("%s: cannot run %s: %s"), name, sys, strerror(child_errno));
        goto out;
    }
    code = wait_ready(dir, name, pid, log, wait_s);
    if (code == EMU_EXIT_OK)
        printf(_("%s started (pid %ld)\n"), name, (long)pid);
out:
    free(av);
    free(sys);
    free(serial);
    free(console);
    free(log);
    free(dir);
    return code;
}
