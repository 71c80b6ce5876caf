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

/* --fork / -daemonize, before anything starts threads: fork.  The child
 * starts a new session, gets *ready_fd and sees 0.  The parent waits until
 * the child calls prog_daemon_ready() (*status 0) or ends first (its
 * messages still reach our stderr; *status is its exit status, 1 if that
 * was 0), sees 1, and should _exit(*status) (the library never exits).
 * -1 (reported) when the fork failed. */
int prog_daemonize(int *ready_fd, int *status);
/* The child runs: stdin, stdout (and stderr unless keep_stderr) go to
 * /dev/null and the waiting parent is released.  *ready_fd becomes -1;
 * nothing to do when it already is. */
void prog_daemon_ready(int *ready_fd, bool keep_stderr);

/* The program tears down to exit: what is freed only to be freed (no
 * data, no file, no lock depends on it) may be left to the kernel, which
 * takes a process's memory back at once.  Never under a leak checker,
 * which would report it. */
void prog_set_exiting(void);
bool prog_exiting(void);

#endif
