/* qmp-client.h - the QEMU Machine Protocol, client side, blocking.
 *
 *     struct qmpc *c;
 *     struct json_value *ret;
 *     if (qmpc_connect(&c, "/run/user/1000/emu/vm.qmp", 10000, &err) < 0 ||
 *         qmpc_execute(c, "query-status", NULL, &ret, &err) < 0)
 *         ... err, and qmpc_error_class(c) for a QMP error's class ...
 *
 * For programs that ask a machine one thing and go (the `emu` front end),
 * so each call blocks, up to the timeout given at connect.  The peer is
 * not trusted: a message may be at most QMPC_MAX_MESSAGE bytes and
 * JSON_MAX_DEPTH deep, and anything that is not a QMP message ends the
 * session with an error naming the socket.  Events are skipped.
 */
#ifndef EMU_QMP_CLIENT_H
#define EMU_QMP_CLIENT_H

#include <errno.h>
#include "common.h"
#include "error.h"
#include "json.h"

/* Replies can be larger than requests (query-qmp-schema) */
#define QMPC_MAX_MESSAGE (16 << 20)

/* The code of a QMP error reply (the machine refused the command). */
#define QMPC_ERR_REMOTE EREMOTEIO

struct qmpc;

/* Connect to the Unix socket PATH, read the greeting and leave
 * negotiation mode.  TIMEOUT_MS bounds each later call too. */
int qmpc_connect(struct qmpc **out, const char *path, int timeout_ms, struct error **errp);
void qmpc_close(struct qmpc *c);

/* Run COMMAND with ARGS (a JSON object's text, or NULL for none).  *RET
 * (if not NULL) gets the reply's "return" value, to json_free.  A QMP
 * error reply returns -QMPC_ERR_REMOTE with its description in *errp and
 * its class in qmpc_error_class(). */
int qmpc_execute(struct qmpc *c, const char *command, const char *args,
                 struct json_value **ret, struct error **errp);

/* The class of the last QMP error reply ("GenericError",
 * "CommandNotFound", ...), "" when the last call did not get one. */
const char *qmpc_error_class(const struct qmpc *c);

#endif
