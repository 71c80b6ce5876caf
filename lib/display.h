/* display.h - consoles: what a machine shows, between the device models
 * that draw it and the display back ends that present it.
 *
 * A device model (virtio-gpu, later a VGA or a text console) makes one
 * console per head and draws into the console's surface: a frame buffer
 * the core owns, in one pixel format (XRGB8888: bytes B, G, R, X), so
 * that back ends and screendumps read one format whatever the guest uses.
 * After drawing, the model marks what it changed (display_dirty) and ends
 * its batch (display_flush): the core hands the changed rectangles, and
 * only those, to every back end listening.  A console can instead be a
 * text console (cells of character and attribute), for back ends that
 * show text (curses).
 *
 * Back ends (SDL, curses, VNC, ...) are a struct display_ops and an
 * opaque; they know nothing of the device or the machine behind the
 * console.
 *
 * Threads: a console has its own mutex.  Models call in with their own
 * locks held (the device lock); back end callbacks run in the model's
 * thread with the console mutex held and must not call back into the
 * console nor block (copy the pixels, draw later).  Anyone may read a
 * surface through display_read_begin/end (screendumps from the monitor).
 *
 * Guarantees to back ends: a rectangle passed to update lies inside the
 * current surface; resize comes before any update of the new size.
 */
#ifndef EMU_DISPLAY_H
#define EMU_DISPLAY_H

#include <stdio.h>
#include "common.h"
#include "error.h"

/* The largest surface a console takes (either side, in pixels). */
#define DISPLAY_MAX_SIDE 16384

struct display_rect {
    uint32_t x, y, w, h;
};

/* Pixel layouts of a source a model copies from (display_blit).  The
 * names give the bytes in memory, as virtio-gpu's formats do. */
enum display_format {
    DISPLAY_FMT_BGRX,           /* the surface's own format */
    DISPLAY_FMT_BGRA,
    DISPLAY_FMT_XRGB,
    DISPLAY_FMT_ARGB,
    DISPLAY_FMT_RGBX,
    DISPLAY_FMT_RGBA,
    DISPLAY_FMT_XBGR,
    DISPLAY_FMT_ABGR,
};

/* A frame buffer, 4 bytes per pixel in DISPLAY_FMT_BGRX (the fourth
 * byte is unspecified).  width == 0: no surface (the guest shows
 * nothing). */
struct display_surface {
    uint32_t width, height, stride;
    uint8_t *pixels;
};

/* One text cell of a text console.  Colours are indexes in ANSI order:
 * 0 black, 1 red, 2 green, 3 yellow, 4 blue, 5 magenta, 6 cyan, 7 white,
 * 8-15 the bright ones; a new grid is white (7) on black (0).  A
 * character two cells wide (CJK) takes its cell and the next, whose ch is
 * 0; a back end draws a blank for a cell of ch 0 without such a
 * character before it. */
struct display_cell {
    uint32_t ch;                /* Unicode code point; 0: see above */
    uint8_t fg, bg;             /* colour indexes 0-15 */
    uint8_t attr;               /* DISPLAY_ATTR_* */
};
#define DISPLAY_ATTR_BOLD 1
#define DISPLAY_ATTR_UNDERLINE 2

struct display_stats {
    uint64_t frames;            /* flushes that carried changed regions */
    uint64_t regions;           /* rectangles handed on */
    uint64_t pixels;            /* pixels in them */
};

struct display_console;

/* A back end.  Every callback is optional. */
struct display_ops {
    const char *name;
    /* The surface (or the text grid) changed size; nothing is drawn yet. */
    void (*resize)(void *opaque, struct display_console *c);
    /* R of the surface (or of the text grid, in cells) changed. */
    void (*update)(void *opaque, struct display_console *c, const struct display_rect *r);
    /* The end of a batch of updates: present now. */
    void (*refresh)(void *opaque, struct display_console *c);
    /* The pointer's image (W x H pixels, BGRA) and hot spot; W == 0: none. */
    void (*cursor_define)(void *opaque, struct display_console *c, uint32_t w, uint32_t h,
                          uint32_t hot_x, uint32_t hot_y, const uint8_t *bgra);
    void (*cursor_move)(void *opaque, struct display_console *c, int32_t x, int32_t y,
                        bool visible);
};

/* ---- for device models ---- */
/* A console named LABEL (the device's id, or its model name) for HEAD of
 * that device; TEXT: a text console.  Consoles are numbered in order of
 * creation, the graphical ones before the text ones, as qemu's are. */
int display_console_new(struct display_console **out, const char *label, int head, bool text,
                        struct error **errp);
void display_console_free(struct display_console *c);
/* Make the surface W x H (cleared); 0 x 0 removes it.  -EINVAL beyond
 * DISPLAY_MAX_SIDE, -ENOMEM. */
int display_resize(struct display_console *c, uint32_t w, uint32_t h, struct error **errp);
/* Copy R (inside the surface; clipped otherwise) from SRC, whose pixel
 * (0,0) corresponds to the surface's (R.x, R.y), rows SRC_STRIDE bytes
 * apart, in FMT; marks R dirty. */
void display_blit(struct display_console *c, const struct display_rect *r, const uint8_t *src,
                  size_t src_stride, enum display_format fmt);
/* R changed (clipped to the surface). */
void display_dirty(struct display_console *c, const struct display_rect *r);
/* End of a batch: hand the dirty rectangles to the back ends.  Nothing
 * dirty: nothing happens, nothing is counted. */
void display_flush(struct display_console *c);
void display_cursor_define(struct display_console *c, uint32_t w, uint32_t h, uint32_t hot_x,
                           uint32_t hot_y, const uint8_t *bgra);
void display_cursor_move(struct display_console *c, int32_t x, int32_t y, bool visible);
/* Text consoles: a COLS x ROWS grid; cells are written with display_text_put. */
int display_text_resize(struct display_console *c, uint32_t cols, uint32_t rows,
                        struct error **errp);
void display_text_put(struct display_console *c, uint32_t col, uint32_t row,
                      const struct display_cell *cell);
/* N cells from (COL, ROW) rightwards, clipped to the row: one dirty
 * rectangle, one lock, for a terminal emulator that changes whole runs. */
void display_text_write(struct display_console *c, uint32_t col, uint32_t row,
                        const struct display_cell *cells, uint32_t n);
/* Where the text cursor is, and whether it shows (a new grid: 0,0,
 * shown).  Its old and new cells count as changed. */
void display_text_cursor(struct display_console *c, uint32_t col, uint32_t row, bool visible);

/* ---- for back ends and the monitor ---- */
int display_listen(struct display_console *c, const struct display_ops *ops, void *opaque,
                   struct error **errp);
void display_unlisten(struct display_console *c, const struct display_ops *ops, void *opaque);
/* The consoles in order (display_console_new): index 0.. ; NULL past the end. */
struct display_console *display_console_at(int index);
/* The console of device LABEL, head HEAD; NULL with errp set (qemu's
 * messages) when there is none. */
struct display_console *display_console_find(const char *label, int head, struct error **errp);
const char *display_console_label(const struct display_console *c);
int display_console_head(const struct display_console *c);
bool display_console_is_text(const struct display_console *c);
void display_get_stats(struct display_console *c, struct display_stats *st);
/* Read access to the surface (or text grid): hold the console still
 * between begin and end; the pointers stay valid until end. */
const struct display_surface *display_read_begin(struct display_console *c);
const struct display_cell *display_text_read_begin(struct display_console *c, uint32_t *cols,
                                                   uint32_t *rows);
void display_read_end(struct display_console *c);
/* The text cursor (display_text_cursor); only between
 * display_text_read_begin and display_read_end.  Returns whether it
 * shows; the position may lie outside a grid that shrank. */
bool display_text_cursor_locked(const struct display_console *c, uint32_t *col, uint32_t *row);

/* ---- screendumps (display-dump.c) ---- */
enum display_dump_format { DISPLAY_DUMP_PNG, DISPLAY_DUMP_PPM };
/* Whether this build writes FMT (PNG needs libpng). */
bool display_dump_supported(enum display_dump_format fmt);
/* Write C's surface to PATH in FMT.  Errors name the file. */
int display_screendump(struct display_console *c, const char *path,
                       enum display_dump_format fmt, struct error **errp);

/* ---- text input to a text console (display.c) ---- */
/* Whoever feeds a text console (the vc chardev) takes the bytes a back
 * end's keyboard typed there (UTF-8, with the terminal's escape sequences
 * for special keys); called in the loop thread, console mutex not held. */
typedef void display_text_input_fn(void *opaque, const uint8_t *buf, size_t len);
void display_set_text_input(struct display_console *c, display_text_input_fn *fn, void *opaque);
/* A back end typed BUF on C; dropped when nobody takes input there. */
void display_text_input(struct display_console *c, const uint8_t *buf, size_t len);

/* ---- display back ends: -display TYPE[,OPTS] (display-ui.c) ---- */
/* What a back end may ask of the machine it shows, without knowing it;
 * set by the program before the back end starts.  Every hook is
 * optional; they run in the loop thread. */
struct display_host {
    /* The machine's name (-name), or NULL. */
    const char *(*name)(void);
    /* Whether the guest runs (false: paused, or not started). */
    bool (*running)(void);
    /* The user closed the window: ask the guest to power down. */
    void (*powerdown)(void);
    /* The user asked the program to quit. */
    void (*quit)(void);
};

/* What a back end drew of one console, counted by the back end: info
 * display and query-display-stats show it beside the console's own
 * counters, so that a test can see an idle guest cost no drawing. */
struct display_ui_stats {
    uint64_t presents;          /* frames put on the screen */
    uint64_t uploads;           /* rectangles copied towards the screen */
    uint64_t pixels;            /* pixels in them */
};

struct loop;
struct display_backend {
    const char *name;           /* "sdl", "curses", ... */
    const char *desc;           /* for -display help */
    /* Whether the program's default serial port and monitor go to text
     * consoles (vc) with this back end, as in qemu, rather than to the
     * terminal. */
    bool wants_vc;
    /* OPTS: what followed "NAME," in -display (may be ""); the consoles
     * exist already.  Loop thread. */
    int (*init)(struct loop *loop, const char *opts, const struct display_host *host,
                struct error **errp);
    /* Before the program exits: close the window, give the terminal back. */
    void (*fini)(void);
    /* Optional: what it drew of C (loop thread); false when it does not
     * run or does not show C. */
    bool (*stats)(struct display_console *c, struct display_ui_stats *st);
};
/* NULL-terminated, in order of preference; only the back ends this build has. */
extern const struct display_backend *const display_backends[];
const struct display_backend *display_backend_find(const char *name);

#endif
