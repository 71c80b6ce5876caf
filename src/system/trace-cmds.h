/* trace-cmds.h - the monitors' trace event commands (trace-cmds.c): HMP
 * "trace-event NAME on|off" and "info trace-events", QMP
 * trace-event-get-state and trace-event-set-state with QEMU's arguments
 * and replies. */
#ifndef EMU_SYSTEM_TRACE_CMDS_H
#define EMU_SYSTEM_TRACE_CMDS_H

#include "hmp.h"
#include "qmp.h"

hmp_fn hmp_trace_event;         /* trace-event NAME on|off */
hmp_fn hmp_info_trace_events;   /* info trace-events [NAME] */

qmp_fn trace_qmp_get_state;
qmp_fn trace_qmp_set_state;
extern const struct qmp_arg trace_get_state_args[];
extern const struct qmp_arg trace_set_state_args[];

#endif
