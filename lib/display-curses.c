/* display-curses.c - "-display curses": the consoles in the terminal,
 * through ncursesw, as qemu's curses display.
 *
 * One console shows at a time; Alt-1 .. Alt-9 (ESC and a digit, as
 * terminals send Alt) pick console 1 .. 9 in creation order, as in qemu.
 * A text console (a vc: a serial port, a monitor) shows its cells, and
 * what is typed goes to it: printable keys as UTF-8, Enter as CR,
 * Backspace as DEL, the cursor and editing keys as an xterm sends them.
 * Of a graphical console one line tells its size.  There are no keys of
 * our own besides Alt-N: the serial port is not mux'ed, so quitting is
 * the monitor's "quit" (or a signal).
 *
 * Threads: the console's callbacks come in the thread that drew (a hart
 * writing to a UART) with the console mutex held; they only note what
 * changed under our own mutex and schedule the redraw, a bottom half.
 * Every curses call is made in the loop thread.  Lock order: console
 * mutex, then ours; the redraw takes ours and drops it before it reads
 * the console.
 *
 * The terminal is given back (endwin) by fini, at exit(), and on a fatal
 * signal (the saved termios, then the terminal's own "leave the full
 * screen" string, both async-signal-safe to send).
 */
#include <config.h>
#ifdef HAVE_NCURSES
#define NCURSES_WIDECHAR 1
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>
#include <sys/ioctl.h>
#include <curses.h>
#include <term.h>

#include "display.h"
#include "i18n.h"
#include "loop.h"

#define CURSES_ROWS_MAX 1024    /* text consoles are at most this tall (display.c) */

static struct curses_ui {
    /* loop thread */
    bool active;                /* curses owns the terminal */
    SCREEN *scr;
    struct loop *loop;
    struct loop_bh *redraw_bh;
    int winch_pipe[2];
    struct display_console *cur;
    bool cur_text;
    uint32_t ox, oy;            /* the console's cell at the screen's top left */
    bool utf8;                  /* the terminal takes UTF-8 */
    bool colours;
    short pair[16][16];         /* colour pairs made so far (0: none yet) */
    short n_pairs;

    /* from the console callbacks, under lock */
    pthread_mutex_t lock;
    bool full;
    uint16_t lo[CURSES_ROWS_MAX], hi[CURSES_ROWS_MAX];
} ui = {
    .winch_pipe = { -1, -1 },
    .lock = PTHREAD_MUTEX_INITIALIZER,
};

/* For the fatal-signal handler: what gives the terminal back. */
static struct termios tty_saved;
static volatile sig_atomic_t tty_taken;
static char tty_leave[128];
static size_t tty_leave_len;

/* ---- console callbacks (any thread, console mutex held) ---- */

static void cb_resize(void *opaque, struct display_console *c)
{
    (void)opaque, (void)c;
    pthread_mutex_lock(&ui.lock);
    ui.full = true;
    pthread_mutex_unlock(&ui.lock);
    loop_bh_schedule(ui.redraw_bh);
}

static void cb_update(void *opaque, struct display_console *c, const struct display_rect *r)
{
    (void)opaque;
    if (!display_console_is_text(c))
        return;                 /* a graphical console's pixels are not shown */
    pthread_mutex_lock(&ui.lock);
    for (uint32_t y = r->y; y < r->y + r->h && y < CURSES_ROWS_MAX; y++) {
        uint32_t x1 = MIN(r->x + r->w, (uint32_t)UINT16_MAX);
        if (ui.lo[y] >= ui.hi[y]) {
            ui.lo[y] = (uint16_t)MIN(r->x, x1);
            ui.hi[y] = (uint16_t)x1;
        } else {
            ui.lo[y] = (uint16_t)MIN(ui.lo[y], r->x);
            ui.hi[y] = (uint16_t)MAX(ui.hi[y], x1);
        }
    }
    pthread_mutex_unlock(&ui.lock);
    loop_bh_schedule(ui.redraw_bh);
}

static const struct display_ops curses_ops = {
    .name = "curses",
    .resize = cb_resize,
    .update = cb_update,
};

/* ---- drawing (loop thread) ---- */

/* The pair for FG on BG, made on first use; colours the terminal lacks
 * (8-15 on an 8-colour one) become their dark twin, in bold for a
 * foreground.  White on black is pair 0: the terminal's own colours. */
static short colour_pair(uint8_t fg, uint8_t bg, attr_t *a)
{
    if (!ui.colours)
        return 0;
    fg &= 15;
    bg &= 15;
    if (COLORS < 16) {
        if (fg >= 8) {
            fg -= 8;
            *a |= A_BOLD;
        }
        bg &= 7;
    }
    if (fg == 7 && bg == 0)
        return 0;
    if (ui.pair[fg][bg])
        return ui.pair[fg][bg];
    if (ui.n_pairs + 1 >= COLOR_PAIRS || ui.n_pairs >= 255)
        return 0;               /* out of pairs: the default will do */
    short p = ++ui.n_pairs;
    init_pair(p, fg, bg);
    ui.pair[fg][bg] = p;
    return p;
}

/* Cell X of ROW at screen column SX, line SY. */
static void draw_cell(int sy, int sx, const struct display_cell *row, uint32_t x)
{
    const struct display_cell *c = &row[x];
    uint32_t ch = c->ch;
    if (ch == 0) {
        /* the right half of a wide character drawn with its left half */
        if (x > 0 && row[x - 1].ch != 0 && wcwidth((wchar_t)row[x - 1].ch) == 2)
            return;
        ch = ' ';
    }
    if (ch < 0x20 || (ch >= 0x7f && ch < 0xa0) || ch > 0x10ffff || (ch >= 0xd800 && ch < 0xe000))
        ch = 0xfffd;
    if (!ui.utf8 && ch >= 0x80)
        ch = '?';
    int w = wcwidth((wchar_t)ch);
    if (w < 1 || (w == 2 && sx + 1 >= COLS)) {
        ch = ui.utf8 && w < 1 ? 0xfffd : '?';
        if (ch == 0xfffd && wcwidth(0xfffd) != 1)
            ch = '?';
    }
    attr_t a = A_NORMAL;
    if (c->attr & DISPLAY_ATTR_BOLD)
        a |= A_BOLD;
    if (c->attr & DISPLAY_ATTR_UNDERLINE)
        a |= A_UNDERLINE;
    short p = colour_pair(c->fg, c->bg, &a);
    wchar_t s[2] = { (wchar_t)ch, 0 };
    cchar_t cc;
    if (setcchar(&cc, s, a, p, NULL) == OK)
        mvadd_wch(sy, sx, &cc);
}

/* The first cell of a side of SIZE cells to show on SCREEN cells (when
 * it does not fit): moved from O only as far as it takes to keep the
 * cursor at CUR in view. */
static uint32_t view_origin(uint32_t o, uint32_t size, uint32_t screen, uint32_t cur)
{
    if (size <= screen)
        return 0;
    if (cur < size) {
        if (cur < o)
            o = cur;
        else if (cur >= o + screen)
            o = cur - screen + 1;
    }
    return MIN(o, size - screen);
}

static void draw_text(bool full, const uint16_t *lo, const uint16_t *hi)
{
    uint32_t cols, rows, cx, cy;
    const struct display_cell *cells = display_text_read_begin(ui.cur, &cols, &rows);
    bool vis = display_text_cursor_locked(ui.cur, &cx, &cy);
    uint32_t sw = (uint32_t)MAX(COLS, 0), sh = (uint32_t)MAX(LINES, 0);
    uint32_t ox = view_origin(ui.ox, cols, sw, cx), oy = view_origin(ui.oy, rows, sh, cy);
    if (ox != ui.ox || oy != ui.oy)
        full = true;
    ui.ox = ox;
    ui.oy = oy;
    /* a console smaller than the terminal sits in its middle, as in qemu */
    uint32_t px = cols < sw ? (sw - cols) / 2 : 0, py = rows < sh ? (sh - rows) / 2 : 0;
    if (full)
        erase();
    for (uint32_t y = oy; cells && y < rows && y - oy < sh; y++) {
        /* (display.c keeps text consoles within CURSES_ROWS_MAX rows) */
        bool known = y < CURSES_ROWS_MAX;
        uint32_t x0 = full ? 0 : known ? lo[y] : 0;
        uint32_t x1 = full ? cols : known ? MIN(hi[y], cols) : 0;
        /* from the left half, if the run starts on the right one of a wide character */
        if (x0 > 0 && x0 < x1 && cells[(size_t)y * cols + x0].ch == 0)
            x0--;
        for (uint32_t x = MAX(x0, ox); x < x1 && x - ox < sw; x++)
            draw_cell((int)(py + y - oy), (int)(px + x - ox), &cells[(size_t)y * cols], x);
    }
    display_read_end(ui.cur);
    if (vis && cx >= ox && cx - ox < sw && cy >= oy && cy - oy < sh) {
        move((int)(py + cy - oy), (int)(px + cx - ox));
        curs_set(1);
    } else {
        curs_set(0);
    }
}

static void redraw(void *opaque)
{
    (void)opaque;
    if (!ui.active)
        return;
    static uint16_t lo[CURSES_ROWS_MAX], hi[CURSES_ROWS_MAX];
    pthread_mutex_lock(&ui.lock);
    bool full = ui.full;
    ui.full = false;
    memcpy(lo, ui.lo, sizeof(lo));
    memcpy(hi, ui.hi, sizeof(hi));
    memset(ui.lo, 0, sizeof(ui.lo));
    memset(ui.hi, 0, sizeof(ui.hi));
    pthread_mutex_unlock(&ui.lock);

    if (ui.cur && ui.cur_text) {
        draw_text(full, lo, hi);
    } else {
        erase();
        if (ui.cur) {
            const struct display_surface *s = display_read_begin(ui.cur);
            uint32_t w = s->width, h = s->height;
            display_read_end(ui.cur);
            if (w)
                mvprintw(0, 0, _("[graphic console %u x %u: use -display sdl, or screendump]"),
                         w, h);
            else
                mvprintw(0, 0, "%s", _("[graphic console: the guest shows nothing]"));
        } else {
            mvprintw(0, 0, "%s", _("[no console]"));
        }
        curs_set(0);
    }
    refresh();
}

/* Show console INDEX (0-based); nothing happens if there is none. */
static void switch_to(int index)
{
    struct display_console *c = display_console_at(index);
    if (!c)
        return;
    if (ui.cur)
        display_unlisten(ui.cur, &curses_ops, NULL);
    ui.cur = c;
    ui.cur_text = display_console_is_text(c);
    ui.ox = ui.oy = 0;
    pthread_mutex_lock(&ui.lock);
    ui.full = true;
    pthread_mutex_unlock(&ui.lock);
    if (display_listen(c, &curses_ops, NULL, NULL) < 0)
        ui.cur = NULL;          /* too many back ends on it: "[no console]" */
    loop_bh_schedule(ui.redraw_bh);
}

/* ---- keyboard (loop thread) ---- */

/* What an xterm sends for curses' key K; NULL: nothing. */
static const char *key_sequence(wint_t k)
{
    switch (k) {
    case KEY_UP: return "\033[A";
    case KEY_DOWN: return "\033[B";
    case KEY_RIGHT: return "\033[C";
    case KEY_LEFT: return "\033[D";
    case KEY_HOME: return "\033[H";
    case KEY_END: return "\033[F";
    case KEY_IC: return "\033[2~";
    case KEY_DC: return "\033[3~";
    case KEY_PPAGE: return "\033[5~";
    case KEY_NPAGE: return "\033[6~";
    case KEY_BTAB: return "\033[Z";
    case KEY_BACKSPACE: return "\177";
    case KEY_ENTER: return "\r";
    case KEY_F(1): return "\033OP";
    case KEY_F(2): return "\033OQ";
    case KEY_F(3): return "\033OR";
    case KEY_F(4): return "\033OS";
    case KEY_F(5): return "\033[15~";
    case KEY_F(6): return "\033[17~";
    case KEY_F(7): return "\033[18~";
    case KEY_F(8): return "\033[19~";
    case KEY_F(9): return "\033[20~";
    case KEY_F(10): return "\033[21~";
    case KEY_F(11): return "\033[23~";
    case KEY_F(12): return "\033[24~";
    default: return NULL;
    }
}

struct keybuf {
    uint8_t b[128];
    size_t n;
};

static void keys_flush(struct keybuf *k)
{
    if (k->n && ui.cur && ui.cur_text)
        display_text_input(ui.cur, k->b, k->n);
    k->n = 0;           /* a graphical console takes no text: dropped */
}

static void keys_add(struct keybuf *k, const void *p, size_t n)
{
    if (k->n + n > sizeof(k->b))
        keys_flush(k);
    memcpy(k->b + k->n, p, n);
    k->n += n;
}

/* A character typed, as UTF-8. */
static void keys_add_char(struct keybuf *k, wint_t ch)
{
    uint8_t u[4];
    size_t n;
    if (ch < 0x80) {
        u[0] = (uint8_t)ch;
        n = 1;
    } else if (ch < 0x800) {
        u[0] = (uint8_t)(0xc0 | ch >> 6);
        u[1] = (uint8_t)(0x80 | (ch & 0x3f));
        n = 2;
    } else if (ch < 0x10000) {
        u[0] = (uint8_t)(0xe0 | ch >> 12);
        u[1] = (uint8_t)(0x80 | (ch >> 6 & 0x3f));
        u[2] = (uint8_t)(0x80 | (ch & 0x3f));
        n = 3;
    } else if (ch < 0x110000) {
        u[0] = (uint8_t)(0xf0 | ch >> 18);
        u[1] = (uint8_t)(0x80 | (ch >> 12 & 0x3f));
        u[2] = (uint8_t)(0x80 | (ch >> 6 & 0x3f));
        u[3] = (uint8_t)(0x80 | (ch & 0x3f));
        n = 4;
    } else {
        return;
    }
    keys_add(k, u, n);
}

static void keys_add_key(struct keybuf *k, int r, wint_t ch)
{
    if (r == KEY_CODE_YES) {
        const char *s = key_sequence(ch);
        if (s)
            keys_add(k, s, strlen(s));
    } else {
        keys_add_char(k, ch);
    }
}

static void on_terminal_input(void *opaque, int fd)
{
    (void)opaque;
    /* readable with nothing to read (or EIO): the terminal hung up
     * (curses reads byte by byte, so it holds nothing back); stop
     * watching rather than spin */
    int avail = 0;
    if (ioctl(fd, FIONREAD, &avail) < 0 || avail == 0) {
        loop_remove_fd(ui.loop, fd);
        return;
    }
    struct keybuf k = { .n = 0 };
    wint_t ch;
    int r;
    while ((r = get_wch(&ch)) != ERR) {
        if (r == KEY_CODE_YES && ch == KEY_RESIZE) {
            cb_resize(NULL, NULL);
            continue;
        }
        if (r == OK && ch == 0x1b) {
            /* Alt-N arrives as ESC N, in the same read */
            wint_t ch2;
            int r2 = get_wch(&ch2);
            if (r2 == OK && ch2 >= '1' && ch2 <= '9') {
                keys_flush(&k);
                switch_to((int)(ch2 - '1'));
                continue;
            }
            keys_add_char(&k, 0x1b);
            if (r2 != ERR)
                keys_add_key(&k, r2, ch2);
            continue;
        }
        keys_add_key(&k, r, ch);
    }
    keys_flush(&k);
}

/* ---- terminal size ---- */

static void on_sigwinch(int sig)
{
    (void)sig;
    int e = errno;
    if (ui.winch_pipe[1] >= 0 && write(ui.winch_pipe[1], "w", 1) < 0) {
        /* full pipe: a wake-up is pending anyway */
    }
    errno = e;
}

static void on_winch(void *opaque, int fd)
{
    (void)opaque;
    char buf[64];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
        resizeterm(ws.ws_row, ws.ws_col);
    clearok(curscr, TRUE);      /* the terminal may have scrambled what it showed */
    cb_resize(NULL, NULL);
}

/* ---- giving the terminal back ---- */

static void err_capture_dying(void);

static void tty_fatal_signal(int sig)
{
    if (tty_taken) {
        tcsetattr(STDIN_FILENO, TCSANOW, &tty_saved);
        if (write(STDOUT_FILENO, tty_leave, tty_leave_len) < 0) {
            /* nothing more to try while dying */
        }
        tty_taken = 0;
        err_capture_dying();
    }
    raise(sig);                 /* SA_RESETHAND: the default action now */
}

static void tty_install_hooks(void)
{
    static const int fatal[] = { SIGHUP, SIGQUIT, SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE };
    for (size_t i = 0; i < ARRAY_SIZE(fatal); i++) {
        struct sigaction old, sa;
        /* handlers of others (the translator's SIGSEGV, a sanitizer's)
         * stay theirs */
        if (sigaction(fatal[i], NULL, &old) < 0 || old.sa_handler != SIG_DFL ||
            (old.sa_flags & SA_SIGINFO))
            continue;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = tty_fatal_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESETHAND | SA_NODEFER;
        sigaction(fatal[i], &sa, NULL);
    }
}

/* The terminal's strings that leave curses' screen: kept ready for the
 * signal handler. */
static void tty_leave_prepare(void)
{
    static const char *const caps[] = { "sgr0", "cnorm", "rmcup" };
    tty_leave_len = 0;
    for (size_t i = 0; i < ARRAY_SIZE(caps); i++) {
        const char *s = tigetstr((char *)caps[i]);
        if (!s || s == (char *)-1)
            continue;
        size_t n = strlen(s);
        if (tty_leave_len + n < sizeof(tty_leave)) {
            memcpy(tty_leave + tty_leave_len, s, n);
            tty_leave_len += n;
        }
    }
}

/* ---- stderr while curses has the terminal ----
 * Messages (a signal's "terminating on signal 15", an error) written to
 * the terminal would land on curses' screen and vanish with it, so
 * stderr goes to a pipe meanwhile; the loop keeps the latest
 * ERR_KEEP bytes, and they are written out once the terminal is back.
 * Writers never block: a full pipe drops what does not fit. */
#define ERR_KEEP 65536

static struct {
    int saved;                  /* the real stderr; -1: not redirected */
    int pipe[2];
    char *buf;
    size_t len;
} err_cap = { -1, { -1, -1 }, NULL, 0 };

static void err_drain(void)
{
    char tmp[4096];
    ssize_t n;
    while (err_cap.pipe[0] >= 0 && (n = read(err_cap.pipe[0], tmp, sizeof(tmp))) > 0) {
        if (!err_cap.buf)
            continue;
        if ((size_t)n > ERR_KEEP)
            n = ERR_KEEP;
        if (err_cap.len + (size_t)n > ERR_KEEP) {
            size_t drop = err_cap.len + (size_t)n - ERR_KEEP;
            memmove(err_cap.buf, err_cap.buf + drop, err_cap.len - drop);
            err_cap.len -= drop;
        }
        memcpy(err_cap.buf + err_cap.len, tmp, (size_t)n);
        err_cap.len += (size_t)n;
    }
}

static void on_err_pipe(void *opaque, int fd)
{
    (void)opaque, (void)fd;
    err_drain();
}

static void err_capture_start(struct loop *loop)
{
#if defined(__SANITIZE_ADDRESS__)
    /* a sanitizer's report comes before any signal we could catch: it
     * must reach the terminal as it is written */
    (void)loop;
    return;
#endif
    if (!isatty(STDERR_FILENO))
        return;                 /* a file or a pipe: nothing to hide from */
    err_cap.buf = malloc(ERR_KEEP);
    if (!err_cap.buf || pipe2(err_cap.pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        goto fail;
    fflush(stderr);
    err_cap.saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    if (err_cap.saved < 0 || dup2(err_cap.pipe[1], STDERR_FILENO) < 0 ||
        loop_set_fd(loop, err_cap.pipe[0], on_err_pipe, NULL, NULL, NULL) < 0)
        goto fail;
    return;
fail:
    if (err_cap.saved >= 0) {
        dup2(err_cap.saved, STDERR_FILENO);
        close(err_cap.saved);
        err_cap.saved = -1;
    }
    for (int i = 0; i < 2; i++) {
        if (err_cap.pipe[i] >= 0)
            close(err_cap.pipe[i]);
        err_cap.pipe[i] = -1;
    }
    free(err_cap.buf);
    err_cap.buf = NULL;
}

/* The same from a fatal signal's handler: system calls only (what the
 * loop took may be caught mid-update: better some garbage than nothing
 * of an abort()'s last words). */
static void err_capture_dying(void)
{
    if (err_cap.saved < 0)
        return;
    dup2(err_cap.saved, STDERR_FILENO);
    if (err_cap.buf && err_cap.len <= ERR_KEEP &&
        write(STDERR_FILENO, err_cap.buf, err_cap.len) < 0)
        return;
    char tmp[512];
    ssize_t n;
    while ((n = read(err_cap.pipe[0], tmp, sizeof(tmp))) > 0)
        if (write(STDERR_FILENO, tmp, (size_t)n) < 0)
            break;
}

/* stderr back to the terminal, and what was said meanwhile on it. */
static void err_capture_stop(void)
{
    if (err_cap.saved < 0)
        return;
    fflush(stderr);
    dup2(err_cap.saved, STDERR_FILENO);
    close(err_cap.saved);
    err_cap.saved = -1;
    err_drain();
    for (size_t off = 0; off < err_cap.len;) {
        ssize_t n = write(STDERR_FILENO, err_cap.buf + off, err_cap.len - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    if (ui.loop)
        loop_remove_fd(ui.loop, err_cap.pipe[0]);
    for (int i = 0; i < 2; i++) {
        close(err_cap.pipe[i]);
        err_cap.pipe[i] = -1;
    }
    free(err_cap.buf);
    err_cap.buf = NULL;
    err_cap.len = 0;
}

static void curses_stop(void)
{
    if (!ui.active)
        return;
    ui.active = false;
    tty_taken = 0;
    endwin();
    fflush(stdout);
    err_capture_stop();
}

static void fini(void)
{
    if (ui.cur)
        display_unlisten(ui.cur, &curses_ops, NULL);
    ui.cur = NULL;
    curses_stop();
    if (ui.scr) {
        delscreen(ui.scr);
        ui.scr = NULL;
    }
    if (ui.loop) {
        loop_remove_fd(ui.loop, STDIN_FILENO);
        if (ui.winch_pipe[0] >= 0)
            loop_remove_fd(ui.loop, ui.winch_pipe[0]);
    }
    signal(SIGWINCH, SIG_DFL);
    for (int i = 0; i < 2; i++) {
        if (ui.winch_pipe[i] >= 0)
            close(ui.winch_pipe[i]);
        ui.winch_pipe[i] = -1;
    }
    if (ui.redraw_bh)
        loop_bh_free(ui.redraw_bh);
    ui.redraw_bh = NULL;
    ui.loop = NULL;
}

/* "charset=NAME" is qemu's encoding of a VGA's text screen; emu's text
 * consoles are Unicode already, so it is taken and has nothing to do. */
static int parse_opts(const char *opts, struct error **errp)
{
    char *copy = strdup(opts);
    if (!copy)
        return err_set(errp, ENOMEM, _("out of memory"));
    int r = 0;
    char *save = NULL;
    for (char *o = strtok_r(copy, ",", &save); o && r == 0; o = strtok_r(NULL, ",", &save))
        if (strncmp(o, "charset=", 8) != 0)
            r = err_set(errp, EINVAL, _("unknown option '%s' (curses takes charset=)"), o);
    free(copy);
    return r;
}

static int init(struct loop *loop, const char *opts, const struct display_host *host,
                struct error **errp)
{
    static bool atexit_done;
    (void)host;
    int r = parse_opts(opts, errp);
    if (r < 0)
        return r;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return err_set(errp, ENOTTY, _("the curses display needs a terminal on stdin and stdout"));
    if (tcgetattr(STDIN_FILENO, &tty_saved) < 0)
        return err_set_errno(errp, errno, _("cannot read the terminal's settings"));
    ui.loop = loop;
    ui.redraw_bh = loop_bh_new(loop, redraw, NULL, errp);
    if (!ui.redraw_bh) {
        fini();
        return -ENOMEM;
    }
    if (pipe2(ui.winch_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        r = err_set_errno(errp, errno, _("cannot create a pipe"));
        fini();
        return r;
    }
    /* ours before curses starts, so that it leaves SIGWINCH to us: the
     * loop learns of a resize through the pipe, not in a getch() */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigwinch;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGWINCH, &sa, NULL);

    const char *term = getenv("TERM");
    ui.scr = newterm(NULL, stdout, stdin);
    if (!ui.scr) {
        r = err_set(errp, EINVAL, _("cannot use the terminal type '%s'"), term ? term : "");
        fini();
        return r;
    }
    set_term(ui.scr);
    ui.active = true;
    tty_leave_prepare();
    tty_taken = 1;
    tty_install_hooks();
    if (!atexit_done) {
        atexit(curses_stop);
        atexit_done = true;
    }
    raw();
    noecho();
    nonl();
    intrflush(stdscr, FALSE);
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    ui.utf8 = MB_CUR_MAX > 1 && strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    ui.colours = has_colors() && start_color() == OK;
    if (ui.colours)
        use_default_colors();
    memset(ui.pair, 0, sizeof(ui.pair));
    ui.n_pairs = 0;
    if (loop_set_fd(loop, STDIN_FILENO, on_terminal_input, NULL, NULL, errp) < 0 ||
        loop_set_fd(loop, ui.winch_pipe[0], on_winch, NULL, NULL, errp) < 0) {
        fini();
        return -EMFILE;
    }
    err_capture_start(loop);
    ui.full = true;
    switch_to(0);
    loop_bh_schedule(ui.redraw_bh);
    return 0;
}

const struct display_backend display_curses = {
    .name = "curses",
    .desc = "text consoles in the terminal (ncurses)",
    .wants_vc = true,
    .init = init,
    .fini = fini,
};
#endif
