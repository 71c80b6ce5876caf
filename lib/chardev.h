/* chardev.h - character devices: where a guest's serial port goes.
 *
 * A chardev is a back end (stdio, a file, a pty, a Unix socket, null, a
 * text console) with one front end (a UART, later a monitor).  Specs as
 * in qemu's -serial: "stdio", "mon:stdio", "file:PATH", "pty", "null",
 * "none", "unix:PATH,server=on[,wait=off]", "vc[:WxH]" (a terminal on a
 * text console of the display, vc.h; 80x24 cells by default, W x H in
 * pixels or "80Cx24C" in cells).
 *
 * Input is read in the loop thread and handed to the front end with the
 * device lock held (can_read says how many bytes it takes now; when it
 * was 0, the front end calls chardev_accept_input() once it has room).
 * Output (chardev_write) may come from any thread; it does not fail
 * visibly: a closed peer drops the bytes, as a disconnected cable would.
 *
 * stdio is a multiplexer, as qemu's: Ctrl-A x quits, Ctrl-A h prints the
 * help, Ctrl-A a sends Ctrl-A, Ctrl-A c switches to the monitor (when
 * there is one).  The terminal is in raw mode while the chardev exists
 * and is restored at exit, also on a fatal signal.
 */
#ifndef EMU_CHARDEV_H
#define EMU_CHARDEV_H

#include <sys/types.h>
#include "common.h"
#include "error.h"
#include "loop.h"

struct chardev;

enum chardev_event {
    CHARDEV_OPENED,             /* a peer is there (a socket client connected) */
    CHARDEV_CLOSED,             /* it went away */
    CHARDEV_MUX_FOCUS,          /* mux monitor: Ctrl-A c gave it the keyboard */
};
struct chardev_frontend {
    /* How many bytes the front end can take now (loop thread, device lock held). */
    size_t (*can_read)(void *opaque);
    /* Bytes for the front end (loop thread, device lock held). */
    void (*read)(void *opaque, const uint8_t *buf, size_t len);
    /* Optional: a peer came or went (loop thread, no lock held).  A
     * front end set while a peer is there hears CHARDEV_OPENED at once;
     * back ends that are always there (stdio, pty, file) report that. */
    void (*event)(void *opaque, enum chardev_event ev);
};

/* A second front end on a mux'ed chardev (mon:stdio): the monitor.  Ctrl-A
 * c moves the keyboard between the first front end and it (the monitor
 * hears CHARDEV_MUX_FOCUS); output from both goes out as it comes.
 * -EINVAL when C is not mux'ed. */
int chardev_set_mux_monitor(struct chardev *c, const struct chardev_frontend *fe,
                            void *opaque);
/* True when C is mux'ed (Ctrl-A commands). */
bool chardev_is_mux(const struct chardev *c);

/* Called for Ctrl-A x (loop thread). */
typedef void chardev_quit_fn(void *opaque);

/* Open the back end SPEC.  "none" succeeds with *out = NULL: no device
 * is connected.  One chardev at most may use stdio.  A unix server with
 * wait=on returns once its first client has connected. */
int chardev_new(struct chardev **out, struct loop *loop, const char *spec, struct error **errp);
void chardev_free(struct chardev *c);

void chardev_set_frontend(struct chardev *c, const struct chardev_frontend *fe, void *opaque);
void chardev_set_quit_handler(struct chardev *c, chardev_quit_fn *fn, void *opaque);
/* The front end has room again (any thread). */
void chardev_accept_input(struct chardev *c);
/* Write to the back end (any thread). */
void chardev_write(struct chardev *c, const uint8_t *buf, size_t len);
/* qemu's -chardev options ("socket,id=c0,path=P,server=on,wait=off",
 * "stdio,id=c0,mux=on", "file,id=c0,path=F", "pty,id=c0", "null,id=c0",
 * "vc,id=c0[,cols=C,rows=R|,width=W,height=H]")
 * as *ID and the spec for chardev_new() (*SPEC); both to free. */
int chardev_parse_opts(const char *opts, char **id, char **spec, struct error **errp);
/* A name for messages ("pty /dev/pts/3", "stdio"). */
const char *chardev_label(const struct chardev *c);

/* Called by chardev_new just before it blocks for the first client of a
 * "unix:PATH,server=on" (wait=on) back end, with its label, so that the
 * program can say why it waits (the library does not print). */
typedef void chardev_wait_fn(const char *label);
void chardev_set_wait_notifier(chardev_wait_fn *fn);

#endif
