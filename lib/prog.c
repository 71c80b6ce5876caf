/* prog.c - common start-up of emu programs (see prog.h). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"
#include "i18n.h"
#include "log.h"
#include "msg.h"
#include "trace.h"

int prog_init(int argc, char **argv)
{
    struct error *err = NULL;
    i18n_init();
    msg_set_progname(argc > 0 ? argv[0] : PACKAGE);
    int r = log_init_from_env(&err);
    if (r >= 0)
        r = trace_init_from_env(&err);
    if (r < 0)
        err_report(err);
    return r < 0 ? r : 0;
}

static bool exiting;

void prog_set_exiting(void)
{
#if !defined(__SANITIZE_ADDRESS__)
    exiting = true;
#endif
}

bool prog_exiting(void)
{
    return exiting;
}

void prog_print_version(FILE *fp)
{
    fprintf(fp, "%s (%s) %s\n", msg_progname(), PACKAGE_NAME, PACKAGE_VERSION);
    fprintf(fp, "%s\n", _("A machine emulator and disk-image tool suite."));
}

int prog_daemonize(int *ready_fd, int *status)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        msg_error(_("cannot create a pipe: %s"), strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        msg_error(_("cannot fork: %s"), strerror(errno));
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid > 0) {
        close(p[1]);
        char c;
        ssize_t n;
        do
            n = read(p[0], &c, 1);
        while (n < 0 && errno == EINTR);
        close(p[0]);
        if (n == 1) {
            *status = 0;
            return 1;
        }
        int st;
        waitpid(pid, &st, 0);
        *status = WIFEXITED(st) && WEXITSTATUS(st) ? WEXITSTATUS(st) : 1;
        return 1;
    }
    close(p[0]);
    setsid();
    *ready_fd = p[1];
    return 0;
}

void prog_daemon_ready(int *ready_fd, bool keep_stderr)
{
    if (*ready_fd < 0)
        return;
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        if (!keep_stderr)
            dup2(fd, STDERR_FILENO);
        close(fd);
    }
    if (write(*ready_fd, "", 1) < 0) {
        /* the parent is gone: nobody to tell */
    }
    close(*ready_fd);
    *ready_fd = -1;
}
