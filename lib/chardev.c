/* chardev.c - character devices: the back ends of lib/chardev.h.
 *
 * One struct serves every back end; what differs is which descriptors
 * exist (in_fd, out_fd, a listening socket) and how patient a writer is
 * with a full peer.  Input takes one path for all of them:
 *
 *     loop: fd readable -> read (<= 256 bytes) -> Ctrl-A filter (mux)
 *           -> in_buf -> deliver(): front end's can_read/read under
 *              hw_lock, as much as it takes
 *     bytes left over -> stop watching the fd until chardev_accept_input
 *           (a bottom half: any thread may call it) delivers the rest
 *
 * so in_buf is only refilled once it is empty, and the front end's pace
 * sets ours, as the receive FIFO of a real UART would with flow control.
 *
 * Output may come from any thread (a hart's store to the UART's THR):
 * out_lock serialises writers and guards out_fd against the loop thread
 * swapping the client of a Unix socket server.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "chardev.h"
#include "keyval.h"
#include "hw/hw.h"
#include "i18n.h"
#include "msg.h"
#include "parse.h"
#include "vc.h"

#define CHARDEV_ESCAPE 0x01         /* Ctrl-A */
/* How long a writer waits for a peer that does not drain (a socket client
 * or pty reader that stopped reading) before the bytes are dropped; after
 * one such timeout writes do not wait again until one gets through, so a
 * stuck peer costs the guest one second, not one second per character. */
#define CHARDEV_STALL_MS 1000

enum chardev_kind {
    CHARDEV_NULL,
    CHARDEV_STDIO,
    CHARDEV_FILE,
    CHARDEV_PTY,
    CHARDEV_UNIX_SERVER,
    CHARDEV_UNIX_CLIENT,
    CHARDEV_VC,                 /* a terminal on a text console (vc.h) */
};

struct chardev {
    struct loop *loop;
    enum chardev_kind kind;
    char *label;
    bool mux;                   /* Ctrl-A commands (mon:stdio) */

    /* input: loop thread only */
    int in_fd;                  /* -1: no input (now) */
    bool in_watched;            /* in_fd registered with the loop */
    bool in_eof;                /* input ended for good */
    int listen_fd;              /* unix server: -1 otherwise */
    char *sock_path;            /* unix server: unlinked when freed */
    int pty_slave;              /* pty: our own open slave (see pty_open) */
    uint8_t in_buf[256];
    size_t in_off, in_len;      /* bytes in_buf[in_off..in_len) not yet taken */
    bool mux_escape;            /* the last byte was Ctrl-A */
    const struct chardev_frontend *fe;
    void *fe_opaque;
    const struct chardev_frontend *mon_fe;  /* mux: the monitor */
    void *mon_opaque;
    bool mon_focus;             /* mux: input goes to the monitor */
    chardev_quit_fn *quit_fn;
    void *quit_opaque;
    struct loop_bh *input_bh;
    struct vc *vc;              /* vc: the terminal; its input replaces in_fd */

    /* output: under out_lock */
    pthread_mutex_t out_lock;
    int out_fd;                 /* -1: output dropped */
    bool out_socket;            /* send(MSG_NOSIGNAL): no SIGPIPE */
    int out_wait_ms;            /* -1: wait for a full peer as long as it takes */
    bool out_stalled;           /* the last wait timed out */
    bool timestamps;            /* Ctrl-A t */
    bool ts_linestart;
    uint64_t ts_start_ns;
};

static chardev_wait_fn *wait_notifier;

void chardev_set_wait_notifier(chardev_wait_fn *fn)
{
    wait_notifier = fn;
}

/* ---- the terminal ----
 * Saved once, by the first stdio chardev, and put back by chardev_free,
 * at exit, and by the handlers of the signals that would otherwise kill
 * the process with the terminal still raw. */

static bool stdio_in_use;
static struct termios tty_saved;
static volatile sig_atomic_t tty_raw;
static bool tty_hooks_installed;

/* Async-signal-safe: tcsetattr is. */
static void tty_restore(void)
{
    if (tty_raw) {
        tcsetattr(STDIN_FILENO, TCSANOW, &tty_saved);
        tty_raw = 0;
    }
}

static void tty_fatal_signal(int sig)
{
    tty_restore();
    /* SA_RESETHAND put the default action back: die of the same signal. */
    raise(sig);
}

static void tty_install_hooks(void)
{
    static const int fatal[] = { SIGHUP, SIGQUIT, SIGABRT, SIGSEGV, SIGBUS,
                                 SIGILL, SIGFPE };
    if (tty_hooks_installed)
        return;
    tty_hooks_installed = true;
    atexit(tty_restore);
    for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
        struct sigaction old, sa;
        /* Signals someone else handles stay theirs (the translator turns
         * SIGSEGV in guest code into guest faults, sanitizers report
         * crashes): a crash there leaves the terminal raw, which is
         * better than breaking them. */
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

/* Raw input: every key reaches the guest as typed (no line editing, no
 * echo, no CR/NL translation, no XON/XOFF).  Output processing stays on so
 * our own messages end their lines properly.  KEEP_SIGNALS: plain
 * "-serial stdio" leaves Ctrl-C to end the emulator, as in qemu;
 * mon:stdio hands it to the guest. */
static void tty_make_raw(bool keep_signals)
{
    struct termios t;
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &t) < 0)
        return;
    tty_saved = t;
    t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL |
                             IXON);
    t.c_oflag |= OPOST;
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | IEXTEN);
    if (!keep_signals)
        t.c_lflag &= ~(tcflag_t)ISIG;
    t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
    t.c_cflag |= CS8;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    tty_install_hooks();
    if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
        tty_raw = 1;
}

/* ---- output ---- */

/* Write everything or drop what the peer will not take (closed, gone, or
 * full for longer than out_wait_ms).  Called with out_lock held. */
static void out_write_locked(struct chardev *c, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0 && c->out_fd >= 0) {
        ssize_t n = c->out_socket ? send(c->out_fd, p, len, MSG_NOSIGNAL)
                                  : write(c->out_fd, p, len);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !c->out_stalled &&
            c->out_wait_ms != 0) {
            struct pollfd pfd = { .fd = c->out_fd, .events = POLLOUT };
            int r = poll(&pfd, 1, c->out_wait_ms);
            if (r > 0 || (r < 0 && errno == EINTR))
                continue;
            c->out_stalled = true;
        }
        return;
    }
    c->out_stalled = false;
}

/* "[hh:mm:ss.mmm] " at the start of each line while Ctrl-A t is on. */
static void out_timestamp_locked(struct chardev *c)
{
    uint64_t ms = (loop_now_ns() - c->ts_start_ns) / 1000000;
    char buf[48];
    int n = snprintf(buf, sizeof(buf), "[%02u:%02u:%02u.%03u] ",
                     (unsigned)(ms / 3600000), (unsigned)(ms / 60000 % 60),
                     (unsigned)(ms / 1000 % 60), (unsigned)(ms % 1000));
    if (n > 0)
        out_write_locked(c, buf, (size_t)n);
}

void chardev_write(struct chardev *c, const uint8_t *buf, size_t len)
{
    if (!c || len == 0)
        return;
    if (c->vc) {
        vc_write(c->vc, buf, len);
        return;
    }
    pthread_mutex_lock(&c->out_lock);
    if (!c->timestamps) {
        out_write_locked(c, buf, len);
    } else {
        while (len > 0) {
            if (c->ts_linestart) {
                out_timestamp_locked(c);
                c->ts_linestart = false;
            }
            const uint8_t *nl = memchr(buf, '\n', len);
            size_t n = nl ? (size_t)(nl - buf) + 1 : len;
            out_write_locked(c, buf, n);
            if (nl)
                c->ts_linestart = true;
            buf += n;
            len -= n;
        }
    }
    pthread_mutex_unlock(&c->out_lock);
}

static void out_puts(struct chardev *c, const char *s)
{
    chardev_write(c, (const uint8_t *)s, strlen(s));
}

/* ---- input ---- */

static void on_input(void *opaque, int fd);

static void watch_input(struct chardev *c, bool on)
{
    if (c->in_fd < 0 || on == c->in_watched)
        return;
    if (on) {
        /* The fd was accepted once (chardev_new or the server's accept),
         * so the loop's only refusal, fd >= FD_SETSIZE, cannot happen. */
        if (loop_set_fd(c->loop, c->in_fd, on_input, NULL, c, NULL) < 0)
            return;
    } else {
        loop_remove_fd(c->loop, c->in_fd);
    }
    c->in_watched = on;
}

/* Hand in_buf to the front end as fast as it takes it; watch the fd again
 * only once everything is taken. */
static void deliver(struct chardev *c)
{
    const struct chardev_frontend *fe = c->mon_focus ? c->mon_fe : c->fe;
    void *fe_opaque = c->mon_focus ? c->mon_opaque : c->fe_opaque;
    if (c->in_off < c->in_len) {
        if (!fe) {
            /* No UART behind us: the bytes fall on the floor, as typing
             * into an unplugged cable. */
            c->in_off = c->in_len;
        } else {
            hw_lock();
            while (c->in_off < c->in_len) {
                size_t room = fe->can_read(fe_opaque);
                if (room == 0)
                    break;
                size_t n = c->in_len - c->in_off;
                if (n > room)
                    n = room;
                fe->read(fe_opaque, c->in_buf + c->in_off, n);
                c->in_off += n;
            }
            hw_unlock();
        }
    }
    watch_input(c, c->in_off == c->in_len && !c->in_eof);
}

static void on_input_bh(void *opaque)
{
    struct chardev *c = opaque;
    deliver(c);
    /* a vc's keys wait in the vc until in_buf is taken */
    while (c->vc && c->in_off == c->in_len) {
        c->in_len = vc_read_input(c->vc, c->in_buf, sizeof(c->in_buf));
        c->in_off = 0;
        if (c->in_len == 0)
            break;
        deliver(c);
    }
}

static void mux_help(struct chardev *c)
{
    static const struct {
        const char *key;
        const char *what;
    } keys[] = {
        { "h", N_("print this help") },
        { "x", N_("exit emulator") },
        { "t", N_("toggle console timestamps") },
        { "c", N_("switch between console and monitor") },
        { "a", N_("sends C-a") },
        { "C-a", N_("sends C-a") },
    };
    out_puts(c, "\r\n");
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char line[160];
        snprintf(line, sizeof(line), "C-a %-4s %s\r\n", keys[i].key, _(keys[i].what));
        out_puts(c, line);
    }
}

static void mux_command(struct chardev *c, uint8_t ch)
{
    char line[160];
    switch (ch) {
    case 'h':
    case '?':
        mux_help(c);
        break;
    case 'x':
        snprintf(line, sizeof(line), "\r\n%s: %s\r\n", msg_progname(), _("terminated"));
        out_puts(c, line);
        if (c->quit_fn)
            c->quit_fn(c->quit_opaque);
        break;
    case 'c':
        if (!c->mon_fe) {
            snprintf(line, sizeof(line), "\r\n%s: %s\r\n", msg_progname(),
                     _("there is no monitor on this console (C-a h for help)"));
            out_puts(c, line);
            break;
        }
        /* The bytes of the read that held the switch all go where the
         * focus ends up: only a paste puts keys on both sides of it. */
        c->mon_focus = !c->mon_focus;
        if (c->mon_focus && c->mon_fe->event)
            c->mon_fe->event(c->mon_opaque, CHARDEV_MUX_FOCUS);
        break;
    case 't':
        pthread_mutex_lock(&c->out_lock);
        c->timestamps = !c->timestamps;
        c->ts_start_ns = loop_now_ns();
        /* Stamps begin with the next line, not in the middle of this one. */
        c->ts_linestart = false;
        pthread_mutex_unlock(&c->out_lock);
        break;
    default:
        /* Unknown commands are ignored, so a stray Ctrl-A costs one key. */
        break;
    }
}

/* Filter raw input through the Ctrl-A commands; returns the bytes left
 * for the guest in OUT (never more than LEN). */
static size_t mux_filter(struct chardev *c, const uint8_t *in, size_t len, uint8_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t ch = in[i];
        if (c->mux_escape) {
            c->mux_escape = false;
            if (ch == CHARDEV_ESCAPE || ch == 'a')
                out[k++] = CHARDEV_ESCAPE;
            else
                mux_command(c, ch);
        } else if (ch == CHARDEV_ESCAPE) {
            c->mux_escape = true;
        } else {
            out[k++] = ch;
        }
    }
    return k;
}

static void server_watch_listen(struct chardev *c);
static void fe_event(struct chardev *c, enum chardev_event ev);

/* The input side ended: stdin at EOF stops being read; a socket client
 * that hung up is closed (a server then waits for the next one). */
static void input_ended(struct chardev *c)
{
    watch_input(c, false);
    if (c->kind == CHARDEV_UNIX_SERVER || c->kind == CHARDEV_UNIX_CLIENT) {
        pthread_mutex_lock(&c->out_lock);
        c->out_fd = -1;
        c->out_stalled = false;
        pthread_mutex_unlock(&c->out_lock);
        close(c->in_fd);
        c->in_fd = -1;
        fe_event(c, CHARDEV_CLOSED);
        if (c->kind == CHARDEV_UNIX_SERVER) {
            server_watch_listen(c);
            return;
        }
    }
    c->in_eof = true;
}

static void on_input(void *opaque, int fd)
{
    struct chardev *c = opaque;
    uint8_t raw[sizeof(c->in_buf)];
    if (c->in_off < c->in_len) {
        /* cannot happen (we do not watch while bytes wait); be safe */
        deliver(c);
        return;
    }
    ssize_t n = read(fd, raw, sizeof(raw));
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n <= 0) {
        input_ended(c);
        return;
    }
    if (c->mux) {
        c->in_len = mux_filter(c, raw, (size_t)n, c->in_buf);
    } else {
        memcpy(c->in_buf, raw, (size_t)n);
        c->in_len = (size_t)n;
    }
    c->in_off = 0;
    deliver(c);
}

/* ---- Unix sockets ---- */

static void fe_event(struct chardev *c, enum chardev_event ev)
{
    if (c->fe && c->fe->event)
        c->fe->event(c->fe_opaque, ev);
}

static void server_take_client(struct chardev *c, int fd)
{
    pthread_mutex_lock(&c->out_lock);
    c->out_fd = fd;
    c->out_stalled = false;
    pthread_mutex_unlock(&c->out_lock);
    c->in_fd = fd;
    c->in_eof = false;
    watch_input(c, c->in_off == c->in_len);
    fe_event(c, CHARDEV_OPENED);
}

static void on_accept(void *opaque, int fd)
{
    struct chardev *c = opaque;
    int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0)
        return;     /* the client gave up already; keep listening */
    if (cfd >= FD_SETSIZE) {
        close(cfd);
        return;
    }
    /* One client at a time: the next waits in the backlog until this one
     * hangs up. */
    loop_remove_fd(c->loop, c->listen_fd);
    server_take_client(c, cfd);
}

static void server_watch_listen(struct chardev *c)
{
    loop_set_fd(c->loop, c->listen_fd, on_accept, NULL, c, NULL);
}

static int unix_addr(struct sockaddr_un *sa, const char *path, struct error **errp)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (!*path || strlen(path) >= sizeof(sa->sun_path))
        return err_set(errp, EINVAL, _("unix socket path '%s' is empty or too long"), path);
    memcpy(sa->sun_path, path, strlen(path));
    return 0;
}

static int unix_open(struct chardev *c, const char *rest, struct error **errp)
{
    char *copy = strdup(rest);
    if (!copy)
        return err_set(errp, ENOMEM, _("out of memory"));
    char *save = NULL;
    char *path = strtok_r(copy, ",", &save);
    bool server = false, wait = true;
    int r = 0;
    for (char *o = strtok_r(NULL, ",", &save); o && r == 0; o = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(o, '=');
        const char *val = eq ? eq + 1 : "on";
        if (eq)
            *eq = 0;
        if (strcmp(o, "server") == 0)
            r = parse_bool("server", val, &server, errp);
        else if (strcmp(o, "wait") == 0)
            r = parse_bool("wait", val, &wait, errp);
        else if (strcmp(o, "nowait") == 0 && !eq)
            wait = false;
        else
            r = err_set(errp, EINVAL, _("unknown option '%s' for a unix socket"), o);
    }
    struct sockaddr_un sa;
    if (r == 0)
        r = unix_addr(&sa, path ? path : "", errp);
    int fd = -1;
    if (r == 0) {
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            r = err_set_errno(errp, errno, _("cannot create a unix socket"));
    }
    if (r == 0 && fd >= FD_SETSIZE)
        r = err_set(errp, EMFILE, _("too many open files for unix:%s"), path);
    if (r == 0 && server) {
        struct stat st;
        /* A socket left behind by an earlier run would make bind fail;
         * anything else at that path is not ours to remove. */
        if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
            unlink(path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
            r = err_set_errno(errp, errno, _("cannot listen on unix:%s"), path);
        } else {
            c->kind = CHARDEV_UNIX_SERVER;
            c->listen_fd = fd;
            fd = -1;
            c->sock_path = strdup(path);
            if (!c->sock_path)
                r = err_set(errp, ENOMEM, _("out of memory"));
        }
        if (r == 0 && wait) {
            if (wait_notifier)
                wait_notifier(c->label);
            int cfd;
            do
                cfd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            while (cfd < 0 && (errno == EINTR || errno == ECONNABORTED));
            if (cfd < 0)
                r = err_set_errno(errp, errno, _("no client on unix:%s"), path);
            else if (cfd >= FD_SETSIZE) {
                close(cfd);
                r = err_set(errp, EMFILE, _("too many open files for unix:%s"), path);
            } else {
                server_take_client(c, cfd);
            }
        } else if (r == 0) {
            server_watch_listen(c);
        }
    } else if (r == 0) {
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            r = err_set_errno(errp, errno, _("cannot connect to unix:%s"), path);
        } else {
            c->kind = CHARDEV_UNIX_CLIENT;
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
            server_take_client(c, fd);
            fd = -1;
        }
    }
    if (fd >= 0)
        close(fd);
    c->out_socket = true;
    c->out_wait_ms = CHARDEV_STALL_MS;
    free(copy);
    return r;
}

/* "fd:N": a socket the parent process made and passed down (libvirt's
 * -chardev socket,fd=N): listening, it is served as a Unix socket server
 * (one client at a time); connected, as a client.  Anything else is
 * refused, so a wrong number cannot make us read a disk image. */
static int fd_open(struct chardev *c, const char *rest, struct error **errp)
{
    char *end;
    errno = 0;
    long n = strtol(rest, &end, 10);
    if (errno || end == rest || (*end && *end != ',') || n < 0 || n > INT_MAX)
        return err_set(errp, EINVAL, _("fd:%s: not a file descriptor number"), rest);
    int fd = (int)n;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return err_set_errno(errp, errno, _("fd:%d: not an open file descriptor"), fd);
    if (!S_ISSOCK(st.st_mode))
        return err_set(errp, ENOTSOCK, _("fd:%d: not a socket"), fd);
    if (fd >= FD_SETSIZE)
        return err_set(errp, EMFILE, _("fd:%d: too high a number for select()"), fd);
    int listening = 0;
    socklen_t len = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0)
        return err_set_errno(errp, errno, _("fd:%d: cannot query the socket"), fd);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    c->out_socket = true;
    c->out_wait_ms = CHARDEV_STALL_MS;
    if (listening) {
        c->kind = CHARDEV_UNIX_SERVER;
        c->listen_fd = fd;
        server_watch_listen(c);
    } else {
        c->kind = CHARDEV_UNIX_CLIENT;
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        server_take_client(c, fd);
    }
    return 0;
}

/* ---- the other back ends ---- */

/* A pseudo-terminal whose slave we keep open ourselves: otherwise, while
 * nobody has it open, reading the master fails with EIO at once, over and
 * over.  Output written meanwhile fills the pty's buffer and the rest is
 * dropped, as on a cable nobody listens to. */
static int pty_open(struct chardev *c, struct error **errp)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0)
        return err_set_errno(errp, errno, _("cannot open a pseudo-terminal"));
    char name[64];
    if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof(name)) != 0) {
        int e = errno;
        close(m);
        return err_set_errno(errp, e, _("cannot set up a pseudo-terminal"));
    }
    int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) {
        int e = errno;
        close(m);
        return err_set_errno(errp, e, _("cannot open '%s'"), name);
    }
    struct termios t;
    /* raw, so the line discipline neither echoes nor translates */
    if (tcgetattr(s, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(s, TCSANOW, &t);
    }
    fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
    free(c->label);
    if (asprintf(&c->label, "pty %s", name) < 0) {
        c->label = NULL;
        close(s);
        close(m);
        return err_set(errp, ENOMEM, _("out of memory"));
    }
    c->kind = CHARDEV_PTY;
    c->in_fd = c->out_fd = m;
    c->pty_slave = s;
    c->out_wait_ms = CHARDEV_STALL_MS;
    return 0;
}

/* The vc told us it has input (any thread). */
static void vc_notify(void *opaque)
{
    struct chardev *c = opaque;
    loop_bh_schedule(c->input_bh);
}

/* "vc[:WxH]": consoles vc0, vc1, ... in order of creation. */
static int vc_open(struct chardev *c, const char *size, struct error **errp)
{
    static unsigned n_vc;
    uint32_t cols, rows;
    int r = vc_parse_size(size, &cols, &rows, errp);
    if (r < 0)
        return r;
    char label[32];
    snprintf(label, sizeof(label), "vc%u", n_vc);
    r = vc_new(&c->vc, label, cols, rows, errp);
    if (r < 0)
        return r;
    n_vc++;
    c->kind = CHARDEV_VC;
    vc_set_notify(c->vc, vc_notify, c);
    return 0;
}

static int stdio_open(struct chardev *c, bool mux, struct error **errp)
{
    if (stdio_in_use)
        return err_set(errp, EBUSY, _("cannot use stdio by multiple character devices"));
    stdio_in_use = true;
    c->kind = CHARDEV_STDIO;
    c->mux = mux;
    c->out_fd = STDOUT_FILENO;
    /* A closed stdin is no input, not an fd for select() to choke on. */
    c->in_fd = fcntl(STDIN_FILENO, F_GETFL) >= 0 ? STDIN_FILENO : -1;
    tty_make_raw(!mux);
    return 0;
}

static int file_open(struct chardev *c, const char *path, struct error **errp)
{
    if (!*path)
        return err_set(errp, EINVAL, _("file: needs a path"));
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return err_set_errno(errp, errno, _("cannot open '%s'"), path);
    c->kind = CHARDEV_FILE;
    c->out_fd = fd;
    return 0;
}

int chardev_new(struct chardev **out, struct loop *loop, const char *spec,
                struct error **errp)
{
    *out = NULL;
    if (strcmp(spec, "none") == 0)
        return 0;
    struct chardev *c = calloc(1, sizeof(*c));
    if (!c)
        return err_set(errp, ENOMEM, _("out of memory"));
    c->loop = loop;
    c->in_fd = c->out_fd = c->listen_fd = c->pty_slave = -1;
    c->out_wait_ms = -1;
    pthread_mutex_init(&c->out_lock, NULL);
    c->label = strdup(spec);
    c->input_bh = loop_bh_new(loop, on_input_bh, c, errp);
    if (!c->label || !c->input_bh) {
        int r = c->label ? -ENOMEM : err_set(errp, ENOMEM, _("out of memory"));
        chardev_free(c);
        return r;
    }
    int r;
    if (strcmp(spec, "stdio") == 0)
        r = stdio_open(c, false, errp);
    else if (strcmp(spec, "mon:stdio") == 0)
        r = stdio_open(c, true, errp);
    else if (strcmp(spec, "null") == 0)
        r = 0;
    else if (strcmp(spec, "pty") == 0)
        r = pty_open(c, errp);
    else if (strncmp(spec, "file:", 5) == 0)
        r = file_open(c, spec + 5, errp);
    else if (strncmp(spec, "unix:", 5) == 0)
        r = unix_open(c, spec + 5, errp);
    else if (strncmp(spec, "fd:", 3) == 0)
        r = fd_open(c, spec + 3, errp);
    else if (strcmp(spec, "vc") == 0 || strncmp(spec, "vc:", 3) == 0)
        r = vc_open(c, spec[2] ? spec + 3 : "", errp);
    else
        r = err_set(errp, EINVAL, _("'%s' is not a valid character device"), spec);
    if (r == 0 && c->in_fd >= 0 && !c->in_watched && c->kind != CHARDEV_UNIX_SERVER &&
        c->kind != CHARDEV_UNIX_CLIENT) {
        r = loop_set_fd(loop, c->in_fd, on_input, NULL, c, errp);
        c->in_watched = r == 0;
    }
    if (r < 0) {
        chardev_free(c);
        return r;
    }
    *out = c;
    return 0;
}

void chardev_free(struct chardev *c)
{
    if (!c)
        return;
    watch_input(c, false);
    if (c->vc) {
        vc_set_notify(c->vc, NULL, NULL);
        vc_free(c->vc);
        c->vc = NULL;
    }
    if (c->listen_fd >= 0) {
        loop_remove_fd(c->loop, c->listen_fd);
        close(c->listen_fd);
    }
    if (c->sock_path)
        unlink(c->sock_path);
    if (c->input_bh)
        loop_bh_free(c->input_bh);
    switch (c->kind) {
    case CHARDEV_STDIO:
        tty_restore();
        stdio_in_use = false;
        break;
    case CHARDEV_PTY:
        close(c->pty_slave);
        close(c->in_fd);
        break;
    case CHARDEV_FILE:
        close(c->out_fd);
        break;
    case CHARDEV_UNIX_SERVER:
    case CHARDEV_UNIX_CLIENT:
        if (c->in_fd >= 0)
            close(c->in_fd);
        break;
    case CHARDEV_NULL:
    case CHARDEV_VC:
        break;
    }
    pthread_mutex_destroy(&c->out_lock);
    free(c->sock_path);
    free(c->label);
    free(c);
}

void chardev_set_frontend(struct chardev *c, const struct chardev_frontend *fe, void *opaque)
{
    if (!c)
        return;
    c->fe = fe;
    c->fe_opaque = opaque;
    bool sock = c->kind == CHARDEV_UNIX_SERVER || c->kind == CHARDEV_UNIX_CLIENT;
    if (c->kind != CHARDEV_NULL && (!sock || c->in_fd >= 0))
        fe_event(c, CHARDEV_OPENED);
}

int chardev_set_mux_monitor(struct chardev *c, const struct chardev_frontend *fe,
                            void *opaque)
{
    if (!c || !c->mux)
        return -EINVAL;
    c->mon_fe = fe;
    c->mon_opaque = opaque;
    if (!fe)
        c->mon_focus = false;
    return 0;
}

bool chardev_is_mux(const struct chardev *c)
{
    return c && c->mux;
}

void chardev_set_quit_handler(struct chardev *c, chardev_quit_fn *fn, void *opaque)
{
    if (!c)
        return;
    c->quit_fn = fn;
    c->quit_opaque = opaque;
}

void chardev_accept_input(struct chardev *c)
{
    if (c)
        loop_bh_schedule(c->input_bh);
}

const char *chardev_label(const struct chardev *c)
{
    return c ? c->label : "none";
}

/* "-chardev BACKEND,id=ID,..." as the -serial spec chardev_new() takes. */
int chardev_parse_opts(const char *opts, char **id, char **spec, struct error **errp)
{
    struct kv *kv;
    int r = kv_parse(&kv, opts, "backend", errp);
    if (r < 0)
        return r;
    const char *be = kv_get(kv, "backend");
    const char *name = kv_get(kv, "id");
    const char *path = kv_get(kv, "path");
    const char *fd = kv_get(kv, "fd");
    bool mux = false, server = false, wait = true, sig = true;
    char *s = NULL;
    r = kv_get_bool(kv, "mux", false, &mux, errp);
    if (r >= 0)
        r = kv_get_bool(kv, "server", false, &server, errp);
    if (r >= 0)
        r = kv_get_bool(kv, "wait", true, &wait, errp);
    if (r >= 0)
        r = kv_get_bool(kv, "signal", true, &sig, errp);
    (void)kv_get(kv, "logfile");
    if (r >= 0 && !name)
        r = err_set(errp, EINVAL, _("Parameter 'id' is missing"));
    if (r >= 0 && !be)
        r = err_set(errp, EINVAL, _("Parameter 'backend' is missing"));
    if (r >= 0) {
        size_t n = (path ? strlen(path) : 0) + 64;
        s = malloc(n);
        if (!s)
            r = err_set(errp, ENOMEM, _("out of memory"));
        else if (strcmp(be, "stdio") == 0)
            snprintf(s, n, "%s", mux ? "mon:stdio" : "stdio");
        else if (strcmp(be, "null") == 0 || strcmp(be, "pty") == 0)
            snprintf(s, n, "%s", be);
        else if (strcmp(be, "file") == 0 && path)
            snprintf(s, n, "file:%s", path);
        else if (strcmp(be, "socket") == 0 && fd && !path)
            snprintf(s, n, "fd:%.20s", fd);
        else if (strcmp(be, "socket") == 0 && path)
            snprintf(s, n, "unix:%s%s%s", path, server ? ",server=on" : "",
                     server && !wait ? ",wait=off" : "");
        else if (strcmp(be, "vc") == 0) {
            /* qemu's size options: cells, or pixels of 8 x 16 */
            const char *w = kv_get(kv, "width"), *h = kv_get(kv, "height");
            const char *cols = kv_get(kv, "cols"), *rows = kv_get(kv, "rows");
            if (cols || rows)
                snprintf(s, n, "vc:%.20sCx%.20sC", cols ? cols : "80", rows ? rows : "24");
            else if (w || h)
                snprintf(s, n, "vc:%.20sx%.20s", w ? w : "640", h ? h : "384");
            else
                snprintf(s, n, "vc");
        } else if (strcmp(be, "file") == 0 || strcmp(be, "socket") == 0)
            r = err_set(errp, EINVAL, _("chardev '%s': path= (or fd= for a socket) is needed "
                                        "(TCP sockets are not supported)"), name);
        else
            r = err_set(errp, ENOTSUP, _("chardev '%s': back end '%s' is not supported "
                                         "(stdio, file, pty, null, socket, vc)"), name, be);
    }
    if (r >= 0)
        r = kv_check_used(kv, errp);
    if (r >= 0 && !(*id = strdup(name)))
        r = err_set(errp, ENOMEM, _("out of memory"));
    if (r < 0) {
        free(s);
        kv_free(kv);
        return r;
    }
    *spec = s;
    kv_free(kv);
    return 0;
}
