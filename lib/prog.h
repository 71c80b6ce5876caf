/* prog.h - what every emu program does the same way at start-up:
 * gettext, the program name for messages, EMU_LOG, and --version text. */
#ifndef EMU_PROG_H
#define EMU_PROG_H

#include <stdio.h>
#include "common.h"
#include "error.h"

/* Call first in main().  Returns 0, or -errno (already reported) when the
 * environment asks for something impossible (e.g. an unknown EMU_LOG). */
int prog_init(int argc, char **argv);
/* "emu-img (emu) 0.1.0" plus copyright lines, to FP. */
void prog_print_version(FILE *fp);

#endif
