/* control.c - run control: `emu pause|resume|reset|stop|kill NAME`.
 *
 * A machine has ended when the lock on its descriptor is gone (see
 * lib/rundir.h), which is what stop and kill wait for: its pid may
 * linger as a zombie, or be someone else's already. */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "emu.h"
#include "i18n.h"
#include "msg.h"
#include "parse.h"

/* How long a machine told to quit may take to end. */
#define QUIT_TIMEOUT_MS 10000

static int simple(int argc, char **argv, const char *command)
{
    int code;
    if (emu_plain_args(argc, argv, 1, 1, &code) < 0)
        return code;
    return emu_run(argv[optind], command, NULL, NULL);
}

int emu_cmd_pause(int argc, char **argv)
{
    return simple(argc, argv, "stop");
}

int emu_cmd_resume(int argc, char **argv)
{
    return simple(argc, argv, "cont");
}

int emu_cmd_reset(int argc, char **argv)
{
    return simple(argc, argv, "system_reset");
}

/* Tell E to quit and wait for it; SIGKILL when it neither answers nor
 * ends.  The pid is only signalled while the lock says it is still the
 * registered machine's. */
static int quit_machine(const struct rundir_entry *e)
{
    struct qmpc *c = NULL;
    struct error *err = NULL;
    bool asked = false;
    if (qmpc_connect(&c, e->qmp, EMU_QMP_TIMEOUT_MS, &err) == 0) {
        /* the reply may be lost as the machine goes: what counts is that
         * it ends */
        qmpc_execute(c, "quit", NULL, NULL, NULL);
        asked = true;
    }
    if (!asked)
        msg_error(_("%s: the machine does not answer (%s); killing it"), e->name, err_msg(err));
    err_free(err);
    if (asked && emu_wait_exit(e, QUIT_TIMEOUT_MS)) {
        qmpc_close(c);
        return EMU_EXIT_OK;
    }
    qmpc_close(c);
    if (asked)
        msg_error(_("%s: the machine did not quit in %d s; killing it"), e->name,
                  QUIT_TIMEOUT_MS / 1000);
    if (rundir_entry_alive(e) && e->pid > 0 && kill(e->pid, SIGKILL) < 0 && errno != ESRCH) {
        msg_error(_("%s: cannot kill pid %ld: %s"), e->name, (long)e->pid, strerror(errno));
        return EMU_EXIT_ERROR;
    }
    if (!emu_wait_exit(e, QUIT_TIMEOUT_MS)) {
        msg_error(_("%s: pid %ld still runs after SIGKILL"), e->name, (long)e->pid);
        return EMU_EXIT_ERROR;
    }
    /* killed, it could not unregister: its entry is stale now */
    char *dir = NULL;
    if (rundir_path(&dir, false, NULL) == 0)
        rundir_reap(dir, e->name);
    free(dir);
    return EMU_EXIT_OK;
}

int emu_cmd_kill(int argc, char **argv)
{
    int code;
    struct rundir_entry *e = NULL;
    if (emu_plain_args(argc, argv, 1, 1, &code) < 0)
        return code;
    if ((code = emu_machine(&e, argv[optind])) != EMU_EXIT_OK)
        return code;
    code = quit_machine(e);
    rundir_entry_free(e);
    return code;
}

int emu_cmd_stop(int argc, char **argv)
{
    static const struct option lo[] = {
        { "timeout", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt, code, timeout = 30;
    struct error *err = NULL;
    while ((opt = getopt_long(argc, argv, ":t:h", lo, NULL)) != -1) {
        switch (opt) {
        case 't':
            if (parse_int("--timeout", optarg, 0, 86400, &timeout, &err) < 0) {
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
    if ((code = emu_want_args(argv, argc, optind, 1, 1)) != EMU_EXIT_OK)
        return code;
    struct rundir_entry *e = NULL;
    struct qmpc *c = NULL;
    if ((code = emu_machine(&e, argv[optind])) != EMU_EXIT_OK)
        return code;
    code = emu_connect(&c, e, EMU_QMP_TIMEOUT_MS);
    if (code == EMU_EXIT_OK)
        code = emu_execute(c, e, "system_powerdown", NULL, NULL, false);
    /* let go of the monitor: the machine serves one client at a time */
    qmpc_close(c);
    if (code == EMU_EXIT_OK && !emu_wait_exit(e, timeout * 1000)) {
        msg_error(_("%s: the guest did not power off in %d s; quitting"), e->name, timeout);
        code = quit_machine(e);
    }
    rundir_entry_free(e);
    return code;
}
