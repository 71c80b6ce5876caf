/* console.c - `emu console NAME`: the terminal on the machine's serial
 * console socket, as virsh console does it.
 *
 * The terminal is raw, so that every key (Ctrl-C too) reaches the guest;
 * Ctrl-] detaches and the terminal is put back, also when a signal ends
 * us.  Without a terminal, standard input is sent as it is and we stay
 * until the console has been quiet for a moment after its end, so that
 * `echo uname | emu console vm` shows the answer. */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "emu.h"
#include "i18n.h"
#include "msg.h"

#define ESCAPE_KEY 0x1d             /* Ctrl-] */
#define LINGER_MS 1000              /* quiet time after the input ended */

static struct termios saved_tio;
static bool tio_saved;

static void restore_terminal(void)
{
    if (tio_saved)
        tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_tio);
}

static void on_fatal_signal(int sig)
{
    restore_terminal();
    signal(sig, SIG_DFL);
    raise(sig);
}

static int raw_terminal(void)
{
    struct termios t;
    if (tcgetattr(STDIN_FILENO, &saved_tio) < 0)
        return -errno;
    t = saved_tio;
    cfmakeraw(&t);
    tio_saved = true;
    static const int sigs[] = { SIGTERM, SIGHUP, SIGINT, SIGQUIT };
    for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
        signal(sigs[i], on_fatal_signal);
    /* TCSADRAIN, not TCSAFLUSH: what was typed ahead goes to the guest */
    if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) < 0)
        return -errno;
    return 0;
}

static bool write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

static int connect_console(const char *path, const char *name)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sa.sun_path)) {
        msg_error(_("%s: '%s' is too long for a socket path"), name, path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        msg_error(_("%s: cannot connect to the console '%s': %s"), name, path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Copy between the terminal and the socket until Ctrl-], the end of the
 * console, or (no terminal) quiet after the end of the input. */
static int relay(int fd, bool tty, const char *name)
{
    char buf[4096];
    bool in_open = true;
    for (;;) {
        struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
                               { .fd = STDIN_FILENO, .events = POLLIN } };
        int n = poll(p, in_open ? 2 : 1, in_open ? -1 : LINGER_MS);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            msg_error("poll: %s", strerror(errno));
            return EMU_EXIT_ERROR;
        }
        if (n == 0)
            return EMU_EXIT_OK;         /* quiet after the input ended */
        if (p[0].revents) {
            ssize_t r = read(fd, buf, sizeof(buf));
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                restore_terminal();
                fprintf(stderr, "\n");
                msg_error(_("%s: the console was closed (the machine ended?)"), name);
                return EMU_EXIT_OK;
            }
            if (!write_all(STDOUT_FILENO, buf, (size_t)r))
                return EMU_EXIT_ERROR;
        }
        if (in_open && p[1].revents) {
            ssize_t r = read(STDIN_FILENO, buf, sizeof(buf));
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                in_open = false;
                continue;
            }
            size_t len = (size_t)r;
            char *esc = tty ? memchr(buf, ESCAPE_KEY, len) : NULL;
            if (esc)
                len = (size_t)(esc - buf);
            if (len && !write_all(fd, buf, len)) {
                msg_error(_("%s: cannot write to the console: %s"), name, strerror(errno));
                return EMU_EXIT_ERROR;
            }
            if (esc)
                return EMU_EXIT_OK;
        }
    }
}

int emu_cmd_console(int argc, char **argv)
{
    int code;
    struct rundir_entry *e = NULL;
    if (emu_plain_args(argc, argv, 1, 1, &code) < 0)
        return code;
    if ((code = emu_machine(&e, argv[optind])) != EMU_EXIT_OK)
        return code;
    if (!e->console) {
        msg_error(_("%s: the machine has no console socket (its first serial port is not a "
                    "'unix:PATH,server=on' socket)"), e->name);
        rundir_entry_free(e);
        return EMU_EXIT_ERROR;
    }
    int fd = connect_console(e->console, e->name);
    if (fd < 0) {
        rundir_entry_free(e);
        return EMU_EXIT_ERROR;
    }
    bool tty = isatty(STDIN_FILENO);
    if (tty) {
        /* raw before the greeting: keys typed once it shows must not
         * meet the cooked terminal (it would echo them and keep them) */
        int r = raw_terminal();
        if (r < 0) {
            restore_terminal();
            msg_error(_("cannot set the terminal to raw mode: %s"), strerror(-r));
            close(fd);
            rundir_entry_free(e);
            return EMU_EXIT_ERROR;
        }
        fprintf(stderr, _("Connected to %s (escape character is ^])"), e->name);
        fputs("\r\n", stderr);     /* raw mode: no newline translation */
    }
    code = relay(fd, tty, e->name);
    restore_terminal();
    if (tty)
        fprintf(stderr, "\n");
    close(fd);
    rundir_entry_free(e);
    return code;
}
