/* signal.c - guest signals: sigaction bookkeeping, delivery of
 * synchronous signals (faults, illegal instructions, breakpoints, signals
 * a process sends itself) with the riscv64 Linux frame, and rt_sigreturn.
 *
 * The frame is what the riscv64 kernel builds: siginfo (128 bytes), then
 * the ucontext with uc_sigmask at 40 and uc_mcontext at 176 (pc and x1..x31,
 * then f0..f31 and fcsr).  The handler returns to a two-instruction
 * trampoline page (li a7, 139; ecall) mapped by the ELF loader.
 * Signals from outside the process keep the host's default action.
 */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "user.h"
#include "riscv/riscv.h"
#include "log.h"

#define RV_SA_NODEFER 0x40000000u
#define RV_SA_RESETHAND 0x80000000u
#define RV_SA_SIGINFO 4u
#define RV_SA_RESTART 0x10000000u

static struct user *sig_user;   /* for the host handler of asynchronous signals */

/* A signal from outside for which the guest has a handler: note it and
 * make the current thread leave translated code at the next block. */
static void host_async_handler(int sig)
{
    struct user *u = sig_user;
    if (!u || sig < 1 || sig > 64)
        return;
    __atomic_or_fetch(&u->pending, UINT64_C(1) << (sig - 1), __ATOMIC_SEQ_CST);
    if (user_thread)
        user_thread->cpu.exit_req = 1;
}

/* Signals our own machinery raises synchronously keep the fault handler. */
static bool host_owned(int sig)
{
    return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
           sig == SIGTRAP || sig == SIGKILL || sig == SIGSTOP || sig >= 32;
}

/* Mirror the guest's disposition of sig onto the host. */
static void host_disposition(struct user *u, int sig)
{
    if (host_owned(sig))
        return;
    sig_user = u;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigfillset(&sa.sa_mask);
    uint64_t h = u->sig_handler[sig];
    if (h == (uint64_t)(uintptr_t)SIG_DFL)
        sa.sa_handler = SIG_DFL;
    else if (h == (uint64_t)(uintptr_t)SIG_IGN)
        sa.sa_handler = SIG_IGN;
    else {
        sa.sa_handler = host_async_handler;
        if (u->sig_flags[sig] & RV_SA_RESTART)
            sa.sa_flags |= SA_RESTART;
    }
    sigaction(sig, &sa, NULL);
}

#define FRAME_INFO 0
#define FRAME_UC 128
#define UC_SIGMASK 40
#define UC_MCONTEXT 176
#define FRAME_SIZE (FRAME_UC + UC_MCONTEXT + 256 + 528)

long user_rt_sigaction(struct user *u, int sig, uint64_t act, uint64_t oldact, uint64_t size)
{
    if (sig < 1 || sig > 64 || size != 8 || sig == SIGKILL || sig == SIGSTOP)
        return -EINVAL;
    struct guest_mem *m = &u->mem;
    if (oldact) {
        if (!gmem_find(m, oldact))
            return -EFAULT;
        uint64_t o[3] = { u->sig_handler[sig], u->sig_flags[sig], u->sig_mask[sig] };
        memcpy(g2h(m, oldact), o, sizeof(o));
    }
    if (act) {
        if (!gmem_find(m, act))
            return -EFAULT;
        uint64_t n[3];
        memcpy(n, g2h(m, act), sizeof(n));
        u->sig_handler[sig] = n[0];
        u->sig_flags[sig] = n[1];
        u->sig_mask[sig] = n[2];
        host_disposition(u, sig);
    }
    return 0;
}

/* Die the way the host kernel would kill us for sig. */
static void die_by_signal(int sig)
{
    struct rlimit no_core = { 0, 0 };
    setrlimit(RLIMIT_CORE, &no_core);
    signal(sig, SIG_DFL);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    sigprocmask(SIG_UNBLOCK, &s, NULL);
    raise(sig);
    _exit(128 + sig);
}

void user_deliver_sync_signal(struct user *u, int sig, int code, uint64_t addr)
{
    struct cpu *c = UCPU;
    uint64_t h = u->sig_handler[sig];
    if (h == (uint64_t)(uintptr_t)SIG_IGN && sig != SIGSEGV && sig != SIGILL && sig != SIGBUS)
        return;
    bool blocked = (u->blocked >> (sig - 1)) & 1;
    if (h == (uint64_t)(uintptr_t)SIG_DFL || h == (uint64_t)(uintptr_t)SIG_IGN || blocked) {
        if (sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH)
            return;
        die_by_signal(sig);
    }
    struct guest_mem *m = &u->mem;
    uint64_t sp = ALIGN_DOWN(c->x[2] - FRAME_SIZE, 16);
    const struct vma *lo = gmem_find(m, sp), *hi = gmem_find(m, sp + FRAME_SIZE - 1);
    if (!lo || !hi || !(lo->prot & PROT_WRITE) || !(hi->prot & PROT_WRITE))
        die_by_signal(SIGSEGV);     /* no room for the frame: as the kernel does */
    uint8_t *f = g2h(m, sp);
    memset(f, 0, FRAME_SIZE);
    int32_t si[4] = { sig, 0, code, 0 };
    memcpy(f + FRAME_INFO, si, sizeof(si));
    memcpy(f + FRAME_INFO + 16, &addr, 8);
    /* after rt_sigsuspend the handler returns to the mask from before it */
    uint64_t frame_mask = u->in_suspend ? u->suspend_saved : u->blocked;
    u->in_suspend = false;
    memcpy(f + FRAME_UC + UC_SIGMASK, &frame_mask, 8);
    uint64_t *regs = (uint64_t *)(void *)(f + FRAME_UC + UC_MCONTEXT);
    regs[0] = c->pc;
    for (int i = 1; i < 32; i++)
        regs[i] = c->x[i];
    memcpy(regs + 32, c->f, 256);
    rv_fp_sync(c);
    uint32_t fcsr = (c->frm << 5) | c->fflags;
    memcpy(regs + 64, &fcsr, 4);

    u->blocked |= u->sig_mask[sig];
    if (!(u->sig_flags[sig] & RV_SA_NODEFER))
        u->blocked |= UINT64_C(1) << (sig - 1);
    if (u->sig_flags[sig] & RV_SA_RESETHAND)
        u->sig_handler[sig] = 0;
    c->x[10] = (uint64_t)sig;
    c->x[11] = sp + FRAME_INFO;
    c->x[12] = sp + FRAME_UC;
    c->x[1] = u->sigreturn_tramp;
    c->x[2] = sp;
    c->pc = h;
}

long user_rt_sigreturn(struct user *u)
{
    struct cpu *c = UCPU;
    struct guest_mem *m = &u->mem;
    uint64_t sp = c->x[2];
    if (!gmem_find(m, sp) || !gmem_find(m, sp + FRAME_SIZE - 1))
        die_by_signal(SIGSEGV);
    uint8_t *f = g2h(m, sp);
    const uint64_t *regs = (const uint64_t *)(const void *)(f + FRAME_UC + UC_MCONTEXT);
    c->pc = regs[0];
    for (int i = 1; i < 32; i++)
        c->x[i] = regs[i];
    memcpy(c->f, regs + 32, 256);
    uint32_t fcsr;
    memcpy(&fcsr, regs + 64, 4);
    c->fflags = fcsr & 0x1f;
    c->frm = (fcsr >> 5) & 7;
    rv_fp_sync(c);          /* drop flags collected since: the frame's are the truth */
    c->fflags = fcsr & 0x1f;
    rv_fp_load_mode(c);
    memcpy(&u->blocked, f + FRAME_UC + UC_SIGMASK, 8);
    return (long)c->x[10];
}

static bool default_ignored(int sig)
{
    return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
}

long user_self_signal(struct user *u, int sig)
{
    if (sig == 0)
        return 0;
    if (sig < 1 || sig > 64)
        return -EINVAL;
    if (sig == SIGKILL || sig == SIGSTOP)
        return kill(getpid(), sig) < 0 ? -errno : 0;
    uint64_t h = u->sig_handler[sig];
    if (h == (uint64_t)(uintptr_t)SIG_IGN || (h == 0 && default_ignored(sig)))
        return 0;
    u->pending |= UINT64_C(1) << (sig - 1);
    return 0;
}

void user_deliver_pending(struct user *u)
{
    uint64_t ready = u->pending & ~u->blocked;
    while (ready) {
        int sig = __builtin_ctzll(ready) + 1;
        ready &= ready - 1;
        __atomic_and_fetch(&u->pending, ~(UINT64_C(1) << (sig - 1)), __ATOMIC_SEQ_CST);
        if (u->sig_handler[sig] == 0) {
            if (!default_ignored(sig))
                die_by_signal(sig);
            continue;
        }
        user_deliver_sync_signal(u, sig, SI_TKILL, 0);
    }
}
