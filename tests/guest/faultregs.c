/* faultregs.c - a fault in the middle of translated code leaves every
 * register exact: values just computed (and still held in host registers
 * by the translator) appear in the signal handler's ucontext, integer and
 * FP; the handler then moves the pc past the faulting store and returns
 * through rt_sigreturn, and the code goes on with its registers intact.
 * RISC-V only; compared with qemu-riscv64. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

static volatile int faults;

static void on_segv(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    unsigned long *r = uc->uc_mcontext.__gregs;
    faults++;
    printf("fault %d at %p: t0=%lx t1=%lx t2=%lx t3=%lx a6=%lx s2=%lx\n", faults, si->si_addr,
           r[5], r[6], r[7], r[28], r[16], r[18]);
    printf("  ft0=%llx ft1=%llx fs2=%llx\n", uc->uc_mcontext.__fpregs.__d.__f[0],
           uc->uc_mcontext.__fpregs.__d.__f[1], uc->uc_mcontext.__fpregs.__d.__f[18]);
    r[0] += 4;      /* skip the faulting store (4 bytes) */
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);

    static volatile uint64_t out[16];
    for (long k = 1; k <= 3; k++) {
        __asm__ volatile(
            "mv t0, %1\n"
            "addi t1, t0, 7\n"
            "slli t2, t1, 3\n"
            "xor t3, t2, t0\n"
            "mul a6, t3, t1\n"
            "sub s2, a6, t0\n"
            "fcvt.d.l ft0, t0\n"
            "fadd.d ft1, ft0, ft0\n"
            "fmul.d fs2, ft1, ft0\n"
            "sd zero, 8(zero)\n"        /* faults: the handler skips it */
            "add t4, t3, t1\n"
            "fadd.d ft2, ft1, fs2\n"
            "sd t0, 0(%0)\n sd t1, 8(%0)\n sd t2, 16(%0)\n sd t3, 24(%0)\n"
            "sd t4, 32(%0)\n sd a6, 40(%0)\n sd s2, 48(%0)\n fsd ft2, 56(%0)\n"
            "ld t5, 64(zero)\n"         /* a faulting load: t5 keeps its value */
            "sd t5, 64(%0)\n"
            :
            : "r"(out), "r"(k * 0x1234567)
            : "t0", "t1", "t2", "t3", "t4", "t5", "a6", "s2", "ft0", "ft1", "ft2", "fs2", "memory");
        printf("after %ld: %llx %llx %llx %llx %llx %llx %llx %llx\n", k,
               (unsigned long long)out[0], (unsigned long long)out[1], (unsigned long long)out[2],
               (unsigned long long)out[3], (unsigned long long)out[4], (unsigned long long)out[5],
               (unsigned long long)out[6], (unsigned long long)out[7]);
    }
    printf("faults: %d\n", faults);
    return 0;
}
