/* qmp.h - the QEMU Machine Protocol, server side, on libcore's loop.
 *
 * A struct qmp holds a table of commands and serves any number of
 * sessions, each on a character device (lib/chardev.h: a Unix socket a
 * client connects to, stdio, ...), as QEMU's "-mon mode=control" does:
 *
 *   server: {"QMP": {"version": {...}, "capabilities": []}}
 *   client: {"execute": "qmp_capabilities"}
 *   server: {"return": {}}
 *   client: {"execute": "query-status", "id": 7}
 *   server: {"return": {"status": "running", ...}, "id": 7}
 *   server: {"event": "STOP", "data": {}, "timestamp": {...}}
 *
 * Every message ends with CR LF, as QEMU's.  Input is untrusted: a
 * message may be at most QMP_MAX_MESSAGE bytes and JSON_MAX_DEPTH deep;
 * anything else is answered with an error and the session goes on.
 * Commands run in the loop thread without the device lock.
 *
 * Errors: a command sets its error with err_set(); its class is
 * GenericError unless the code is one of QMP_ERR_* below.
 */
#ifndef EMU_QMP_H
#define EMU_QMP_H

#include "common.h"
#include "error.h"
#include "json.h"
#include "json-writer.h"
#include "loop.h"

#define QMP_MAX_MESSAGE (1 << 20)
#define QMP_MAX_SESSIONS 16

/* Error codes that select QEMU's other error classes. */
#define QMP_ERR_COMMAND_NOT_FOUND 0x10001
#define QMP_ERR_DEVICE_NOT_FOUND 0x10002

struct qmp;
struct chardev;

/* A command: ARGS is its return value (one JSON value: the writer is
 * empty, at depth 0; writing nothing returns {}); 0 or -errno. */
typedef int qmp_fn(void *opaque, const struct json_value *args, struct json_writer *ret,
                   struct error **errp);

/* An argument: its name and type ("str", "int", "bool", "number",
 * "any"); optional ones are not checked for presence. */
struct qmp_arg {
    const char *name;
    const char *type;
    bool optional;
};

struct qmp_cmd {
    const char *name;
    qmp_fn *fn;
    const struct qmp_arg *args;     /* NULL-name terminated; NULL: none */
    /* what the command returns, for query-qmp-schema: a type name of
     * ours, "{}" for nothing, "any" */
    const char *ret;
};

/* VERSION_MAJOR/MINOR/MICRO: the QEMU version whose protocol we speak
 * (what tools check); PACKAGE: ours. */
int qmp_new(struct qmp **out, struct loop *loop, const struct qmp_cmd *cmds, void *opaque,
            const char *package, struct error **errp);
void qmp_free(struct qmp *q);
/* Serve QMP on CHR (which stays the caller's; one session per chardev). */
int qmp_attach(struct qmp *q, struct chardev *chr, struct error **errp);
/* Send event NAME to every session past negotiation.  DATA is a JSON
 * object's text, or NULL for {}. */
void qmp_event(struct qmp *q, const char *name, const char *data);
/* The command table (for query-commands and query-qmp-schema). */
const struct qmp_cmd *qmp_commands(const struct qmp *q);
/* Write the schema of the command table (query-qmp-schema's return). */
void qmp_write_schema(const struct qmp *q, struct json_writer *w);

#endif
