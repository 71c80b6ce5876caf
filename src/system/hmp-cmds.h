/* hmp-cmds.h - the human monitor's commands that live outside hmp.c
 * (hmp-info.c: "info" and the memory commands), for hmp.c's table. */
#ifndef EMU_SYSTEM_HMP_CMDS_H
#define EMU_SYSTEM_HMP_CMDS_H

#include "hmp.h"

/* "a|b|c" names one command with aliases: true when NAME is one. */
bool hmp_name_matches(const char *names, const char *name);

hmp_fn hmp_info;        /* info SUBCOMMAND */
int hmp_info_help(struct hmp_out *out);
hmp_fn hmp_x;           /* x /fmt addr: guest virtual memory */
hmp_fn hmp_xp;          /* xp /fmt addr: guest physical memory */
hmp_fn hmp_gva2gpa;

#endif
