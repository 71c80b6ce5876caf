/* signals.c - faults become guest signals at the right pc: a SIGSEGV
 * handler sees the faulting address and leaves with siglongjmp; SIGILL
 * from an illegal instruction; signals sent to oneself with a handler;
 * sigprocmask; the exit status of an unhandled fault.  RISC-V only for
 * the illegal instruction part. */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile void *fault_addr;
static volatile int got;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    fault_addr = si->si_addr;
    got = sig;
    siglongjmp(jb, 1);
}

static void on_usr1(int sig)
{
    got = sig;
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);

    for (int i = 0; i < 3; i++) {
        volatile int *p = (int *)(uintptr_t)(0x10 + i * 0x1000);
        if (sigsetjmp(jb, 1) == 0) {
            *p = 1;
            printf("no fault?\n");
        } else {
            printf("SIGSEGV %d at %p\n", got, (void *)fault_addr);
        }
    }
    /* a read from an unmapped page after mmap+munmap */
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    m[0] = 1;
    munmap(m, 8192);
    if (sigsetjmp(jb, 1) == 0) {
        volatile char c = m[4100];
        (void)c;
        printf("no fault?\n");
    } else {
        printf("SIGSEGV after munmap: offset %ld\n", (long)((char *)fault_addr - m));
    }
    /* write to a read-only page */
    m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (sigsetjmp(jb, 1) == 0) {
        m[8] = 1;
        printf("no fault?\n");
    } else {
        printf("SIGSEGV on read-only page: offset %ld\n", (long)((char *)fault_addr - m));
    }
    /* registers survive the fault: values computed before it are intact */
    volatile long a = 5, b = 7;
    if (sigsetjmp(jb, 1) == 0) {
        a = a * b;
        *(volatile long *)(uintptr_t)8 = a;
    } else {
        printf("after fault a=%ld\n", a);
    }
    /* illegal instruction */
    if (sigsetjmp(jb, 1) == 0) {
        __asm__ volatile(".word 0x0000" ::: "memory");
        printf("no SIGILL?\n");
    } else {
        printf("SIGILL %d\n", got);
    }
    if (sigsetjmp(jb, 1) == 0) {
        __asm__ volatile(".word 0xffffffff" ::: "memory");
        printf("no SIGILL?\n");
    } else {
        printf("SIGILL %d\n", got);
    }
    /* an FP op in the dynamic rounding mode while frm is invalid */
    for (int i = 0; i < 2; i++) {
        if (sigsetjmp(jb, 1) == 0) {
            __asm__ volatile("csrwi frm, 5\n fadd.d ft0, ft0, ft0" ::: "ft0", "memory");
            printf("no SIGILL for an invalid frm?\n");
        } else {
            printf("SIGILL %d for an invalid frm\n", got);
        }
        __asm__ volatile("csrwi frm, 0" ::: "memory");
        volatile double x = 1.0 / 3.0;
        printf("valid frm again: %a\n", x * 3.0);
    }
    /* a signal sent to ourselves, blocked then unblocked */
    signal(SIGUSR1, on_usr1);
    got = 0;
    raise(SIGUSR1);
    printf("raise: got %d\n", got);
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigprocmask(SIG_BLOCK, &s, &old);
    got = 0;
    kill(getpid(), SIGUSR1);
    printf("blocked: got %d\n", got);
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("unblocked: got %d\n", got);
    signal(SIGUSR1, SIG_IGN);
    raise(SIGUSR1);
    printf("ignored ok\n");
    fflush(stdout);
    /* finally an unhandled fault: the exit status says SIGSEGV */
    signal(SIGSEGV, SIG_DFL);
    if (argc > 1)
        *(volatile int *)(uintptr_t)16 = 0;
    return 0;
}
