/* asig.c - asynchronous signals: a timer signal interrupting a busy loop
 * (translated code must notice it), a signal from another process, a
 * blocking call interrupted by a signal (pause -> EINTR), an ignored
 * SIGPIPE.  Portable: compared with qemu-riscv64 and the native build. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got_alarm, got_usr1;

static void on_alarm(int sig)
{
    got_alarm++;
}

static void on_usr1(int sig)
{
    got_usr1++;
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    struct itimerval it = { { 0, 0 }, { 0, 20000 } };
    setitimer(ITIMER_REAL, &it, NULL);
    unsigned long spins = 0;
    while (!got_alarm)
        spins++;
    printf("alarm in a busy loop: %d (spun %s)\n", got_alarm, spins ? "yes" : "no");

    /* a pure register loop: no memory access inside */
    got_alarm = 0;
    setitimer(ITIMER_REAL, &it, NULL);
    unsigned long x = 1;
    for (unsigned long i = 0; i < 3000000000ul && !got_alarm; i++) {
        x = x * 6364136223846793005ul + 1442695040888963407ul;
        if ((i & 0xffffff) == 0 && got_alarm)
            break;
    }
    printf("alarm in a compute loop: %d\n", got_alarm > 0);

    signal(SIGUSR1, on_usr1);
    pid_t child = fork();
    if (child == 0) {
        kill(getppid(), SIGUSR1);
        _exit(7);
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    while (!got_usr1)
        ;
    printf("SIGUSR1 from a child: %d, child exit %d\n", got_usr1, WEXITSTATUS(status));

    got_alarm = 0;
    alarm(1);
    int r = pause();
    printf("pause: %d %s, alarm %d\n", r, strerror(errno), got_alarm);

    signal(SIGPIPE, SIG_IGN);
    int p[2];
    pipe(p);
    close(p[0]);
    r = (int)write(p[1], "x", 1);
    printf("write to a closed pipe: %d %s\n", r, strerror(errno));
    return 0;
}
