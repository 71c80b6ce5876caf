/* vc.h - a terminal emulator on a text console: what the "vc" chardev
 * shows (a serial port, a monitor) in a display back end such as curses.
 *
 * Bytes written to a vc are UTF-8 text with the control characters and
 * escape sequences of a VT100/xterm/Linux console, as a serial console,
 * busybox's shell or emu's own monitor send them: CR LF BS TAB BEL, cursor
 * movement (CSI A B C D E F G H f d `), erasing (J K X), inserting and
 * deleting (@ P L M), scrolling (S T, a scroll region r, ESC D/E/M), SGR
 * colours and attributes, cursor visibility (?25), autowrap (?7), saving
 * the cursor (ESC 7/8, CSI s/u), the DEC line-drawing set, and status
 * reports (CSI 5n, 6n, c), which are answered on the input side.  Invalid
 * UTF-8 shows as U+FFFD; sequences it does not know are skipped whole.
 * The parser's state is a handful of bounded fields: hostile output costs
 * time, never memory.
 *
 * Input for the front end (what the back end's keyboard typed on the
 * console, then the replies to status reports) waits in a small buffer
 * (VC_INPUT_MAX bytes; more is dropped, as by a keyboard nobody reads)
 * until the owner takes it with vc_read_input(); the notifier tells it
 * that there is some.
 *
 * Threads: vc_write from any thread (a hart storing to a UART); the rest
 * from the loop thread.  A vc's own mutex is taken before the console's.
 */
#ifndef EMU_VC_H
#define EMU_VC_H

#include "common.h"
#include "error.h"

#define VC_DEFAULT_COLS 80
#define VC_DEFAULT_ROWS 24
#define VC_MAX_SIDE 1024        /* either side, in cells */
#define VC_INPUT_MAX 512

struct vc;
struct display_console;

/* There is input to take (any thread, no vc lock held). */
typedef void vc_notify_fn(void *opaque);

/* The size part of qemu's "vc:WxH": "" (80x24), "80Cx24C" (cells), or
 * "640x480" (pixels, 8 x 16 to a cell).  Errors name SPEC. */
int vc_parse_size(const char *spec, uint32_t *cols, uint32_t *rows, struct error **errp);

/* A COLS x ROWS terminal on a new text console named LABEL. */
int vc_new(struct vc **out, const char *label, uint32_t cols, uint32_t rows,
           struct error **errp);
void vc_free(struct vc *vc);
struct display_console *vc_console(struct vc *vc);

/* Show BUF (any thread). */
void vc_write(struct vc *vc, const uint8_t *buf, size_t len);

void vc_set_notify(struct vc *vc, vc_notify_fn *fn, void *opaque);
/* Take up to MAX bytes of input; returns how many. */
size_t vc_read_input(struct vc *vc, uint8_t *buf, size_t max);

#endif
