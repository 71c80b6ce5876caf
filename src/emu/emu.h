/* emu.h - the `emu` front end: its subcommands and what they share.
 *
 * `emu COMMAND [ARGS]` finds running machines in the runtime directory
 * (lib/rundir.h) and acts on them through their QMP sockets
 * (lib/qmp-client.h).  Each subcommand is a function in a table
 * (emu.c); it parses its own options and returns the exit status:
 * EMU_EXIT_OK, EMU_EXIT_ERROR (reported) or EMU_EXIT_USAGE. */
#ifndef EMU_EMU_H
#define EMU_EMU_H

#include <stdio.h>
#include "common.h"
#include "json.h"
#include "qmp-client.h"
#include "rundir.h"

#define EMU_EXIT_OK 0
#define EMU_EXIT_ERROR 1
#define EMU_EXIT_USAGE 2

/* How long a machine may take to answer one command. */
#define EMU_QMP_TIMEOUT_MS 10000

struct emu_command {
    const char *name;
    int (*fn)(int argc, char **argv);   /* argv[0] is the command's name */
    const char *synopsis;               /* after "emu NAME " */
    const char *summary;                /* one line, for `emu --help` */
    const char *help;                   /* its options and more, or NULL */
};

extern const struct emu_command emu_commands[];
const struct emu_command *emu_command_find(const char *name);

/* `emu CMD --help` (to stdout). */
int emu_help(const char *cmd);
/* A usage error: the message, the hint to --help; returns EMU_EXIT_USAGE. */
int emu_usage_error(const char *cmd, const char *fmt, ...) EMU_PRINTF(2, 3);
/* Parse --output=human|json; false (reported) for anything else. */
bool emu_parse_output(const char *cmd, const char *arg, bool *json);
/* MIN to MAX operands in argv[optind...] (argv[0] is the command):
 * EMU_EXIT_OK, else a usage error. */
int emu_want_args(char **argv, int argc, int optind, int min, int max);
/* getopt_long returned OPT, '?' or ':': the usage error. */
int emu_bad_option(char **argv, int opt);
/* A command without options but --help: 0 with argv[optind...] holding
 * MIN to MAX operands, else -1 with the exit status in *CODE. */
int emu_plain_args(int argc, char **argv, int min, int max, int *code);

/* The runtime directory, or NULL (*code then says why: EMU_EXIT_OK when
 * it does not exist yet, which means no machine runs). */
char *emu_rundir(int *code);
/* NAME's entry: EMU_EXIT_OK, or EMU_EXIT_ERROR after "no machine named
 * 'NAME' is running". */
int emu_machine(struct rundir_entry **e, const char *name);
/* Connect to E's QMP socket (errors name the machine). */
int emu_connect(struct qmpc **c, const struct rundir_entry *e, int timeout_ms);
/* Run COMMAND on E: *RET (if not NULL) its return value.  Errors are
 * printed as "emu: NAME: message" (with the QMP error class when
 * SHOW_CLASS).  EMU_EXIT_OK or EMU_EXIT_ERROR. */
int emu_execute(struct qmpc *c, const struct rundir_entry *e, const char *command,
                const char *args, struct json_value **ret, bool show_class);
/* Open NAME, connect, run one command, close. */
int emu_run(const char *name, const char *command, const char *args, struct json_value **ret);
/* One human-monitor-command on E; its text (to free) in *OUT. */
int emu_hmp(const struct rundir_entry *e, const char *line, char **out);

/* COMMAND (QMP) or LINE (HMP) ends the machine: when its answer is
 * lost as it goes, its end is the answer. */
bool emu_is_quit(const char *qmp_command, const char *hmp_line);

/* Wait up to TIMEOUT_MS for E's machine to end (its lock to go). */
bool emu_wait_exit(const struct rundir_entry *e, int timeout_ms);

/* V as one line of JSON, to FP. */
void emu_print_json(FILE *fp, const struct json_value *v);
/* "3d04h", "2h05m", "4m12s", "9s" */
void emu_format_uptime(char *buf, size_t n, int64_t seconds);

/* The subcommands. */
int emu_cmd_list(int argc, char **argv);
int emu_cmd_status(int argc, char **argv);
int emu_cmd_start(int argc, char **argv);
int emu_cmd_pause(int argc, char **argv);
int emu_cmd_resume(int argc, char **argv);
int emu_cmd_reset(int argc, char **argv);
int emu_cmd_stop(int argc, char **argv);
int emu_cmd_kill(int argc, char **argv);
int emu_cmd_console(int argc, char **argv);
int emu_cmd_monitor(int argc, char **argv);
int emu_cmd_snapshot(int argc, char **argv);
int emu_cmd_export(int argc, char **argv);
int emu_cmd_qmp(int argc, char **argv);
int emu_cmd_screendump(int argc, char **argv);

#endif
