/* hmp.h - the human monitor (HMP) of emu-system-*: QEMU's text commands.
 *
 * One table of commands (src/system/hmp.c), each a function that writes
 * text into a struct hmp_out.  The same table serves every way in:
 * "-monitor stdio|unix:...", Ctrl-A c on a mux'ed stdio, "-mon
 * mode=readline" and QMP's human-monitor-command.  Commands run in the
 * loop thread without the device lock (as QMP commands do).
 *
 * A command gets the rest of its line (ARGS, leading blanks skipped, ""
 * when there is none) and parses it itself with the helpers below.  It
 * returns 0 or -errno with *errp set; the message is shown to the user
 * as the command's output (HMP has no error channel of its own).
 */
#ifndef EMU_SYSTEM_HMP_H
#define EMU_SYSTEM_HMP_H

#include <stdarg.h>
#include "common.h"
#include "error.h"

/* Text being written: grows as needed (bounded by HMP_MAX_OUTPUT). */
struct hmp_out {
    char *buf;
    size_t len, cap;
    bool truncated;
};
#define HMP_MAX_OUTPUT (4u << 20)

void hmp_printf(struct hmp_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void hmp_out_free(struct hmp_out *o);

typedef int hmp_fn(struct hmp_out *out, const char *args, struct error **errp);

struct hmp_cmd {
    const char *name;           /* "savevm"; aliases as "cont|c" */
    const char *params;         /* for help: "[tag]" */
    const char *help;           /* one line */
    hmp_fn *fn;
};

/* Split off the next blank-separated word of *ARGS into WORD (at most
 * N-1 bytes; longer words are an error).  Returns 1 with a word, 0 at the
 * end of the line, -EINVAL (errp set) for a word too long. */
int hmp_next_word(const char **args, char *word, size_t n, struct error **errp);

/* Run one command line; its text goes to OUT (errors as their message
 * and a newline).  Returns what the command returned (0 for an unknown
 * command: its message is the output, as in QEMU). */
int hmp_run(const char *line, struct hmp_out *out);

#endif
