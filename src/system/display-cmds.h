/* display-cmds.h - the monitors' display commands (display-cmds.c):
 * QMP screendump and query-display-stats, HMP screendump and
 * "info display". */
#ifndef EMU_SYSTEM_DISPLAY_CMDS_H
#define EMU_SYSTEM_DISPLAY_CMDS_H

#include "hmp.h"
#include "qmp.h"

hmp_fn hmp_screendump;          /* screendump [-f png|ppm] FILE [DEVICE [HEAD]] */
hmp_fn hmp_info_display;        /* info display */

qmp_fn display_qmp_screendump;
qmp_fn display_qmp_query_stats;
extern const struct qmp_arg display_screendump_args[];

#endif
