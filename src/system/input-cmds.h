/* input-cmds.h - the monitors' input commands (input-cmds.c): QMP
 * input-send-event, send-key and query-mice; HMP sendkey, mouse_move,
 * mouse_button and "info mice"; the power button. */
#ifndef EMU_SYSTEM_INPUT_CMDS_H
#define EMU_SYSTEM_INPUT_CMDS_H

#include "hmp.h"
#include "qmp.h"

hmp_fn hmp_sendkey;             /* sendkey KEYS [HOLD_MS] */
hmp_fn hmp_mouse_move;          /* mouse_move DX DY [DZ] */
hmp_fn hmp_mouse_button;        /* mouse_button STATE */
hmp_fn hmp_info_mice;           /* info mice */

qmp_fn input_qmp_send_event;
qmp_fn input_qmp_send_key;
qmp_fn input_qmp_query_mice;
extern const struct qmp_arg input_send_event_args[];
extern const struct qmp_arg input_send_key_args[];

/* Press and release KEY_POWER on the keyboard, if there is one (true). */
bool input_power_button(void);

#endif
