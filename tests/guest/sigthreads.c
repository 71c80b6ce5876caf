/* sigthreads.c - threads and signals together: a thread storm with
 * futex handshakes, futex timeouts, a priority-inheritance mutex, signal
 * ping-pong between threads (sigwait) and between processes
 * (sigsuspend), a signal hitting a thread in a tight loop, per-thread
 * masks choosing the receiving thread, sigaltstack/SA_ONSTACK,
 * SA_RESETHAND, SA_RESTART against EINTR, sigtimedwait, and the exit
 * status of a process killed by a signal.  Compared with qemu-riscv64
 * and the native build. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long futex(_Atomic uint32_t *w, int op, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, w, op, val, ts, NULL, 0);
}

/* --- thread storm with futex handshakes --- */
static _Atomic long storm_total;
static _Atomic uint32_t gate;

static void *storm_worker(void *arg)
{
    while (atomic_load(&gate) == 0)
        futex(&gate, FUTEX_WAIT_PRIVATE, 0, NULL);
    for (int i = 0; i < 1000; i++)
        atomic_fetch_add(&storm_total, (long)arg);
    return NULL;
}

static void storm(void)
{
    for (int wave = 0; wave < 8; wave++) {
        pthread_t t[16];
        atomic_store(&gate, 0);
        for (long i = 0; i < 16; i++)
            pthread_create(&t[i], NULL, storm_worker, (void *)(i + 1));
        atomic_store(&gate, 1);
        futex(&gate, FUTEX_WAKE_PRIVATE, 16, NULL);
        for (int i = 0; i < 16; i++)
            pthread_join(t[i], NULL);
    }
    printf("thread storm: 128 threads, total %ld\n", atomic_load(&storm_total));
    _Atomic uint32_t w = 5;
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    long r = futex(&w, FUTEX_WAIT_PRIVATE, 5, &ts);
    printf("futex wait with timeout: %ld %s\n", r, strerror(errno));
    r = futex(&w, FUTEX_WAIT_PRIVATE, 6, &ts);
    printf("futex wait on a changed value: %ld %s\n", r, strerror(errno));
}

/* --- priority-inheritance mutex --- */
static pthread_mutex_t pi_lock;
static long pi_counter;

static void *pi_worker(void *arg)
{
    for (int i = 0; i < 20000; i++) {
        pthread_mutex_lock(&pi_lock);
        pi_counter++;
        pthread_mutex_unlock(&pi_lock);
    }
    return NULL;
}

static void pi_mutex(void)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
    pthread_mutex_init(&pi_lock, &a);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, pi_worker, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    printf("PI mutex: %ld\n", pi_counter);
}

/* --- ping-pong between threads with sigwait --- */
static pthread_t ping_main;

static void *pong(void *arg)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    for (int i = 0; i < 500; i++) {
        int sig;
        sigwait(&s, &sig);
        pthread_kill(ping_main, SIGUSR2);
    }
    return NULL;
}

static void pingpong_threads(void)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &s, NULL);   /* inherited by the new thread */
    ping_main = pthread_self();
    pthread_t t;
    pthread_create(&t, NULL, pong, NULL);
    sigset_t w;
    sigemptyset(&w);
    sigaddset(&w, SIGUSR2);
    int n = 0;
    for (int i = 0; i < 500; i++) {
        pthread_kill(t, SIGUSR1);
        int sig;
        if (sigwait(&w, &sig) == 0 && sig == SIGUSR2)
            n++;
    }
    pthread_join(t, NULL);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    printf("thread ping-pong: %d rounds\n", n);
}

/* --- ping-pong between processes with sigsuspend --- */
static volatile sig_atomic_t got;

static void on_sig(int sig)
{
    got++;
}

static void pingpong_procs(void)
{
    struct sigaction sa = { .sa_handler = on_sig };
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    got = 0;
    pid_t child = fork();
    if (child == 0) {
        pid_t parent = getppid();
        for (int i = 0; i < 200; i++) {
            while (got <= i)
                sigsuspend(&old);
            kill(parent, SIGUSR1);
        }
        _exit(0);
    }
    for (int i = 0; i < 200; i++) {
        kill(child, SIGUSR1);
        while (got <= i)
            sigsuspend(&old);
    }
    int st;
    waitpid(child, &st, 0);
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("process ping-pong: %d signals back, child exit %d\n", (int)got, WEXITSTATUS(st));
}

/* --- a signal hitting a thread in a tight loop --- */
static volatile int spin_stop;
static _Atomic int spinning;

static void on_stop(int sig)
{
    spin_stop = 1;
}

static void *spinner(void *arg)
{
    unsigned long x = 1;
    atomic_store(&spinning, 1);
    while (!spin_stop)
        x = x * 3 + 1;
    return (void *)(x & 1);
}

static void tight_loop(void)
{
    signal(SIGUSR2, on_stop);
    pthread_t t;
    pthread_create(&t, NULL, spinner, NULL);
    while (!atomic_load(&spinning))
        sched_yield();
    pthread_kill(t, SIGUSR2);
    void *r;
    pthread_join(t, &r);
    printf("signal into a tight loop in a thread: stopped %d\n", spin_stop);
}

/* --- per-thread masks decide who takes a process signal --- */
static pthread_t taker;
static _Atomic int taken_by_worker;
static volatile int worker_done;

static void on_who(int sig)
{
    taken_by_worker = pthread_equal(pthread_self(), taker);
    worker_done = 1;
}

static void *waiter(void *arg)
{
    while (!worker_done) {
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void *unblocked_waiter(void *arg)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    return waiter(arg);
}

static void masks2(void)
{
    signal(SIGUSR1, on_who);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    worker_done = 0;
    pthread_create(&taker, NULL, unblocked_waiter, NULL);
    struct timespec ts = { 0, 20000000 };
    nanosleep(&ts, NULL);
    kill(getpid(), SIGUSR1);
    pthread_join(taker, NULL);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    printf("process signal taken by the thread that does not block it: %d\n",
           (int)taken_by_worker);
}

/* --- sigaltstack --- */
static char altstack[65536];
static _Atomic int on_alt;

static void on_altsig(int sig)
{
    char here;
    on_alt = &here >= altstack && &here < altstack + sizeof(altstack);
    stack_t cur;
    sigaltstack(NULL, &cur);
    on_alt += (cur.ss_flags & SS_ONSTACK) ? 10 : 0;
}

static void altstacks(void)
{
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
    sigaltstack(&ss, NULL);
    struct sigaction sa = { .sa_handler = on_altsig, .sa_flags = SA_ONSTACK };
    sigaction(SIGURG, &sa, NULL);
    raise(SIGURG);
    printf("SA_ONSTACK handler on the alternate stack: %d\n", on_alt);
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, NULL);
}

/* --- SA_RESETHAND, SA_RESTART, sigtimedwait, death by signal --- */
static void flags(void)
{
    struct sigaction sa = { .sa_handler = on_sig, .sa_flags = SA_RESETHAND };
    sigaction(SIGHUP, &sa, NULL);
    pid_t c = fork();
    if (c == 0) {
        raise(SIGHUP);      /* handled once */
        raise(SIGHUP);      /* now the default: death */
        _exit(1);
    }
    int st;
    waitpid(c, &st, 0);
    printf("SA_RESETHAND: second SIGHUP kills: %d (signal %d)\n", WIFSIGNALED(st),
           WIFSIGNALED(st) ? WTERMSIG(st) : 0);

    for (int restart = 0; restart < 2; restart++) {
        struct sigaction al = { .sa_handler = on_sig, .sa_flags = restart ? SA_RESTART : 0 };
        sigaction(SIGALRM, &al, NULL);
        int p[2];
        pipe(p);
        pid_t w = fork();
        if (w == 0) {
            struct timespec ts = { 0, 150000000 };
            nanosleep(&ts, NULL);
            write(p[1], "late", 4);
            _exit(0);
        }
        struct itimerval it = { { 0, 0 }, { 0, 30000 } };
        setitimer(ITIMER_REAL, &it, NULL);
        char buf[8] = { 0 };
        errno = 0;
        ssize_t n = read(p[0], buf, 4);
        printf("read interrupted by a %s handler: %zd %s %s\n",
               restart ? "SA_RESTART" : "plain", n, n < 0 ? strerror(errno) : "data", buf);
        waitpid(w, NULL, 0);
        close(p[0]);
        close(p[1]);
    }

    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    sigprocmask(SIG_BLOCK, &s, NULL);
    raise(SIGUSR2);
    siginfo_t si;
    struct timespec ts = { 0, 10000000 };
    int r = sigtimedwait(&s, &si, &ts);
    printf("sigtimedwait: %d code SI_TKILL %d\n", r, si.si_code == SI_TKILL);
    r = sigtimedwait(&s, &si, &ts);
    printf("sigtimedwait with nothing pending: %d %s\n", r, strerror(errno));
    sigprocmask(SIG_UNBLOCK, &s, NULL);

    int sigs[] = { SIGTERM, SIGINT, SIGKILL, SIGUSR1 };
    for (int i = 0; i < 4; i++) {
        c = fork();
        if (c == 0) {
            signal(SIGUSR1, SIG_DFL);
            kill(getpid(), sigs[i]);
            _exit(3);
        }
        waitpid(c, &st, 0);
        printf("child killed by signal %d: signaled %d termsig %d\n", sigs[i], WIFSIGNALED(st),
               WTERMSIG(st));
    }
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    storm();
    pi_mutex();
    pingpong_threads();
    pingpong_procs();
    tight_loop();
    masks2();
    altstacks();
    flags();
    return 0;
}
