/* signal.c - guest signals.
 *
 * Dispositions are the process's; masks, alternate stacks and pending
 * thread-directed signals are each thread's (struct uthread), pending
 * process-directed ones the process's (struct user).  A signal is taken
 * by a thread when it leaves translated code: after a system call, a
 * fault, or an interrupt request (cpu->exit_req), which translated code
 * checks at block boundaries so that even a tight loop notices.
 *
 * Where signals come from:
 *  - the host: for each guest signal with a handler, a host handler
 *    (host_signal) records it and sets exit_req; with SIG_DFL or SIG_IGN the
 *    host disposition mirrors the guest's, so the host kernel stops, kills
 *    (the right exit status) or ignores for us;
 *  - the guest itself (kill/tgkill to its own process or threads): queued
 *    directly, and the target thread is kicked with SIG_KICK so that a
 *    blocking system call returns EINTR;
 *  - faults, illegal instructions, ebreak: delivered synchronously.
 *
 * The frame is what the riscv64 kernel builds: siginfo (128 bytes), then
 * the ucontext with uc_stack at 16, uc_sigmask at 40 and uc_mcontext at 176
 * (pc and x1..x31, then f0..f31 and fcsr).  The handler returns to a
 * two-instruction trampoline page (li a7, 139; ecall) mapped by the loader.
 */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "user.h"
#include "riscv/riscv.h"
#include "log.h"

#define RV_SA_SIGINFO 4u
#define RV_SA_ONSTACK 0x08000000u
#define RV_SA_RESTART 0x10000000u
#define RV_SA_NODEFER 0x40000000u
#define RV_SA_RESETHAND 0x80000000u
#define RV_SS_ONSTACK 1
#define RV_SS_DISABLE 2
#define RV_MINSIGSTKSZ 2048

#define SIGBIT(s) (UINT64_C(1) << ((s) - 1))

static struct user *sig_user;   /* for the host handlers */

static bool default_ignored(int sig)
{
    return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
}

/* A host signal for a guest handler, or the kick: note it and make the
 * thread leave translated code at the next block boundary. */
static void host_signal(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    struct user *u = sig_user;
    struct uthread *t = user_thread;
    if (!u || sig < 1 || sig > 64)
        return;
    if (sig != SIG_KICK) {
        bool to_thread = t && si && si->si_code == SI_TKILL;
        siginfo_t *slot = to_thread ? &t->info[sig] : &u->info[sig];
        if (si)
            *slot = *si;
        __atomic_or_fetch(to_thread ? &t->pending : &u->pending, SIGBIT(sig), __ATOMIC_SEQ_CST);
    }
    if (t)
        t->cpu.exit_req = 1;
}

/* Signals the host keeps for itself: the translator's fault handler,
 * the unblockable ones, glibc's and our own real-time signals. */
static bool host_owned(int sig)
{
    return sig == SIGSEGV || sig == SIGBUS || sig == SIGKILL || sig == SIGSTOP || sig >= 32;
}

void user_signals_init(struct user *u)
{
    sig_user = u;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigfillset(&sa.sa_mask);
    sa.sa_sigaction = host_signal;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIG_KICK, &sa, NULL);
    /* the host dispositions we inherited are the guest's (exec keeps
     * SIG_IGN) */
    for (int sig = 1; sig < 32; sig++) {
        struct sigaction old;
        if (!host_owned(sig) && sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            u->sig_handler[sig] = (uint64_t)(uintptr_t)SIG_IGN;
    }
}

/* Mirror the guest's disposition of sig onto the host. */
static void host_disposition(struct user *u, int sig)
{
    if (host_owned(sig))
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigfillset(&sa.sa_mask);
    uint64_t h = u->sig_handler[sig];
    if (h == (uint64_t)(uintptr_t)SIG_DFL)
        sa.sa_handler = SIG_DFL;
    else if (h == (uint64_t)(uintptr_t)SIG_IGN)
        sa.sa_handler = SIG_IGN;
    else {
        /* no SA_RESTART on the host: the guest's SA_RESTART is applied
         * when the interrupted call returns (see user_syscall_interrupted) */
        sa.sa_sigaction = host_signal;
        sa.sa_flags = SA_SIGINFO;
    }
    sigaction(sig, &sa, NULL);
}

#define FRAME_INFO 0
#define FRAME_UC 128
#define UC_STACK 16
#define UC_SIGMASK 40
#define UC_MCONTEXT 176
#define FRAME_SIZE (FRAME_UC + UC_MCONTEXT + 256 + 528)

long user_rt_sigaction(struct user *u, int sig, uint64_t act, uint64_t oldact, uint64_t size)
{
    if (sig < 1 || sig > 64 || size != 8)
        return -EINVAL;
    uint64_t n[3];
    if (act && get_user(u, n, act, sizeof(n)) < 0)
        return -EFAULT;
    if (act && (sig == SIGKILL || sig == SIGSTOP))
        return -EINVAL;
    tr_lock(u->tr);
    uint64_t o[3] = { u->sig_handler[sig], u->sig_flags[sig], u->sig_mask[sig] };
    if (act) {
        u->sig_handler[sig] = n[0];
        u->sig_flags[sig] = n[1];
        u->sig_mask[sig] = n[2] & ~(SIGBIT(SIGKILL) | SIGBIT(SIGSTOP));
        host_disposition(u, sig);
        if (n[0] == (uint64_t)(uintptr_t)SIG_IGN ||
            (n[0] == (uint64_t)(uintptr_t)SIG_DFL && default_ignored(sig)))
            __atomic_and_fetch(&u->pending, ~SIGBIT(sig), __ATOMIC_SEQ_CST);
    }
    tr_unlock(u->tr);
    if (oldact && put_user(u, oldact, o, sizeof(o)) < 0)
        return -EFAULT;
    return 0;
}

/* Die the way the host kernel would kill us for sig. */
static _Noreturn void die_by_signal(int sig)
{
    fflush(NULL);
    struct rlimit no_core = { 0, 0 };
    setrlimit(RLIMIT_CORE, &no_core);
    signal(sig, SIG_DFL);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    raise(sig);
    /* SIGSEGV and friends raised from here may come back to the fault
     * handler's old disposition; make sure */
    kill(getpid(), sig);
    _exit(128 + sig);
}

static bool on_altstack(const struct uthread *t, uint64_t sp)
{
    return t->ss_size && sp > t->ss_sp && sp - t->ss_sp <= t->ss_size;
}

/* Build the frame and enter the handler for sig on the current thread. */
static void setup_frame(struct user *u, int sig, const siginfo_t *info)
{
    struct uthread *t = user_thread;
    struct cpu *c = &t->cpu;
    uint64_t h = u->sig_handler[sig], flags = u->sig_flags[sig];
    struct guest_mem *m = &u->mem;
    uint64_t sp = c->x[2];
    if ((flags & RV_SA_ONSTACK) && t->ss_size && !on_altstack(t, sp))
        sp = t->ss_sp + t->ss_size;
    sp = ALIGN_DOWN(sp - FRAME_SIZE, 16);
    tr_lock(u->tr);
    const struct vma *lo = gmem_find(m, sp), *hi = gmem_find(m, sp + FRAME_SIZE - 1);
    bool ok = lo && hi && (lo->prot & PROT_WRITE) && (hi->prot & PROT_WRITE);
    if (ok)
        for (uint64_t pg = ALIGN_DOWN(sp, GUEST_PAGE); pg < sp + FRAME_SIZE; pg += GUEST_PAGE)
            if (gmem_is_code_page(m, pg))
                tr_flush(u->tr, c);
    tr_unlock(u->tr);
    if (!ok)
        die_by_signal(SIGSEGV);     /* no room for the frame: as the kernel does */
    uint8_t *f = g2h(m, sp);
    memset(f, 0, FRAME_SIZE);
    memcpy(f + FRAME_INFO, info, 128);
    uint64_t stk[3] = { t->ss_sp, t->ss_size ? (on_altstack(t, c->x[2]) ? RV_SS_ONSTACK : 0)
                                             : RV_SS_DISABLE, t->ss_size };
    memcpy(f + FRAME_UC + UC_STACK, stk, sizeof(stk));
    /* after rt_sigsuspend the handler returns to the mask from before it */
    uint64_t frame_mask = t->in_suspend ? t->suspend_saved : t->blocked;
    t->in_suspend = false;
    memcpy(f + FRAME_UC + UC_SIGMASK, &frame_mask, 8);
    uint64_t *regs = (uint64_t *)(void *)(f + FRAME_UC + UC_MCONTEXT);
    regs[0] = c->pc;
    for (int i = 1; i < 32; i++)
        regs[i] = c->x[i];
    rv_fp_sync(c);
    memcpy(regs + 32, c->f, 256);
    uint32_t fcsr = (c->frm << 5) | c->fflags;
    memcpy(regs + 64, &fcsr, 4);

    t->blocked |= u->sig_mask[sig];
    if (!(flags & RV_SA_NODEFER))
        t->blocked |= SIGBIT(sig);
    if (flags & RV_SA_RESETHAND) {
        u->sig_handler[sig] = 0;
        u->sig_flags[sig] &= ~RV_SA_SIGINFO;
        host_disposition(u, sig);
    }
    c->x[10] = (uint64_t)sig;
    c->x[11] = sp + FRAME_INFO;
    c->x[12] = sp + FRAME_UC;
    c->x[1] = u->sigreturn_tramp;
    c->x[2] = sp;
    c->pc = h;
}

void user_deliver_sync_signal(struct user *u, int sig, int code, uint64_t addr)
{
    struct uthread *t = user_thread;
    uint64_t h = u->sig_handler[sig];
    bool blocked = (t->blocked >> (sig - 1)) & 1;
    /* a fault that cannot be handled kills, even when ignored or blocked */
    if (h == (uint64_t)(uintptr_t)SIG_DFL || h == (uint64_t)(uintptr_t)SIG_IGN || blocked)
        die_by_signal(sig);
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    info.si_signo = sig;
    info.si_code = code;
    info.si_addr = (void *)(uintptr_t)addr;
    setup_frame(u, sig, &info);
}

long user_rt_sigreturn(struct user *u)
{
    struct uthread *t = user_thread;
    struct cpu *c = &t->cpu;
    uint64_t sp = c->x[2];
    uint8_t *f = g2h(&u->mem, sp);
    uint64_t regs[65];
    uint64_t mask;
    if (get_user(u, regs, sp + FRAME_UC + UC_MCONTEXT, sizeof(regs)) < 0 ||
        get_user(u, &mask, sp + FRAME_UC + UC_SIGMASK, 8) < 0)
        die_by_signal(SIGSEGV);
    (void)f;
    c->pc = regs[0];
    for (int i = 1; i < 32; i++)
        c->x[i] = regs[i];
    memcpy(c->f, regs + 32, 256);
    uint32_t fcsr;
    memcpy(&fcsr, regs + 64, 4);
    rv_fp_sync(c);          /* drop flags collected since: the frame's are the truth */
    c->fflags = fcsr & 0x1f;
    c->frm = (fcsr >> 5) & 7;
    rv_fp_load_mode(c);
    t->blocked = mask & ~(SIGBIT(SIGKILL) | SIGBIT(SIGSTOP));
    return (long)c->x[10];
}

/* The next signal the current thread may take, removed from its pending
 * set, with its info; 0 when none.  Only signals in `want`. */
static int take_signal(struct user *u, uint64_t want, siginfo_t *info)
{
    struct uthread *t = user_thread;
    uint64_t tp = __atomic_load_n(&t->pending, __ATOMIC_SEQ_CST) & want;
    uint64_t pp = __atomic_load_n(&u->pending, __ATOMIC_SEQ_CST) & want;
    /* synchronous-style signals first, as the kernel does */
    uint64_t all = tp | pp;
    if (!all)
        return 0;
    int sig = __builtin_ctzll(all) + 1;
    if (tp & SIGBIT(sig)) {
        __atomic_and_fetch(&t->pending, ~SIGBIT(sig), __ATOMIC_SEQ_CST);
        *info = t->info[sig];
    } else {
        if (!(__atomic_fetch_and(&u->pending, ~SIGBIT(sig), __ATOMIC_SEQ_CST) & SIGBIT(sig)))
            return -1;      /* another thread took it: look again */
        *info = u->info[sig];
    }
    if (info->si_signo != sig) {
        memset(info, 0, sizeof(*info));
        info->si_signo = sig;
        info->si_code = SI_USER;
    }
    return sig;
}

bool user_signal_ready(struct user *u)
{
    struct uthread *t = user_thread;
    return ((t->pending | u->pending) & ~t->blocked) != 0;
}

void user_deliver_pending(struct user *u)
{
    struct uthread *t = user_thread;
    for (;;) {
        siginfo_t info;
        int sig = take_signal(u, ~t->blocked, &info);
        if (sig < 0)
            continue;
        if (sig == 0)
            return;
        uint64_t h = u->sig_handler[sig];
        if (h == (uint64_t)(uintptr_t)SIG_IGN)
            continue;
        if (h == (uint64_t)(uintptr_t)SIG_DFL) {
            if (default_ignored(sig))
                continue;
            if (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
                kill(getpid(), SIGSTOP);
                continue;
            }
            die_by_signal(sig);
        }
        setup_frame(u, sig, &info);
        return;     /* one frame at a time: the rest after its first block */
    }
}

bool user_restart_allowed(struct user *u)
{
    struct uthread *t = user_thread;
    uint64_t ready = (t->pending | u->pending) & ~t->blocked;
    if (!ready)
        return true;        /* nothing to run: restart transparently */
    int sig = __builtin_ctzll(ready) + 1;
    uint64_t h = u->sig_handler[sig];
    if (h == (uint64_t)(uintptr_t)SIG_IGN || h == (uint64_t)(uintptr_t)SIG_DFL)
        return true;
    return (u->sig_flags[sig] & RV_SA_RESTART) != 0;
}

/* Queue sig for thread t (NULL: the process) and make it notice. */
static void queue_signal(struct user *u, struct uthread *t, int sig)
{
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    info.si_signo = sig;
    info.si_code = t ? SI_TKILL : SI_USER;
    info.si_pid = getpid();
    info.si_uid = getuid();
    if (t) {
        t->info[sig] = info;
        __atomic_or_fetch(&t->pending, SIGBIT(sig), __ATOMIC_SEQ_CST);
    } else {
        u->info[sig] = info;
        __atomic_or_fetch(&u->pending, SIGBIT(sig), __ATOMIC_SEQ_CST);
    }
    struct uthread *me = user_thread;
    if (t && t != me) {
        t->cpu.exit_req = 1;
        syscall(SYS_tgkill, getpid(), t->tid, SIG_KICK);
    } else if (!t) {
        if (!(me->blocked & SIGBIT(sig))) {
            me->cpu.exit_req = 1;
            return;
        }
        /* blocked here: wake a thread that would take it */
        pthread_mutex_lock(&u->threads_lock);
        for (struct uthread *o = u->threads; o; o = o->next)
            if (o != me && !(o->blocked & SIGBIT(sig))) {
                o->cpu.exit_req = 1;
                syscall(SYS_tgkill, getpid(), o->tid, SIG_KICK);
                break;
            }
        pthread_mutex_unlock(&u->threads_lock);
    } else {
        me->cpu.exit_req = 1;
    }
}

static bool signal_discarded(struct user *u, int sig)
{
    uint64_t h = u->sig_handler[sig];
    return h == (uint64_t)(uintptr_t)SIG_IGN || (h == 0 && default_ignored(sig));
}

long user_kill(struct user *u, pid_t pid, int sig)
{
    if (sig < 0 || sig > 64)
        return -EINVAL;
    if (pid != getpid() || sig == 0 || sig == SIGKILL || sig == SIGSTOP || sig == SIGCONT)
        return ret_errno(kill(pid, sig));   /* others, groups (we are in ours: host handler) */
    if (!signal_discarded(u, sig))
        queue_signal(u, NULL, sig);
    return 0;
}

long user_tgkill(struct user *u, pid_t tgid, pid_t tid, int sig)
{
    if (sig < 0 || sig > 64 || tid <= 0)
        return -EINVAL;
    if (tgid != -1 && tgid != getpid())
        return ret_errno(syscall(SYS_tgkill, tgid, tid, sig));
    struct uthread *t = NULL;
    pthread_mutex_lock(&u->threads_lock);
    for (struct uthread *o = u->threads; o; o = o->next)
        if (o->tid == tid && !o->exited)
            t = o;
    pthread_mutex_unlock(&u->threads_lock);
    if (!t) {
        if (tgid == -1)
            return ret_errno(syscall(SYS_tkill, tid, sig));
        return -ESRCH;
    }
    if (sig == 0)
        return 0;
    if (sig == SIGKILL || sig == SIGSTOP)
        return ret_errno(syscall(SYS_tgkill, getpid(), tid, sig));
    if (!signal_discarded(u, sig))
        queue_signal(u, t, sig);
    return 0;
}

long user_sigaltstack(struct user *u, uint64_t ss, uint64_t old)
{
    struct uthread *t = user_thread;
    uint64_t cur[3] = { t->ss_sp, t->ss_size ? (on_altstack(t, t->cpu.x[2]) ? RV_SS_ONSTACK : 0)
                                             : RV_SS_DISABLE, t->ss_size };
    if (ss) {
        uint64_t n[3];
        if (get_user(u, n, ss, sizeof(n)) < 0)
            return -EFAULT;
        if (on_altstack(t, t->cpu.x[2]))
            return -EPERM;
        int flags = (int)(uint32_t)n[1];
        if (flags & RV_SS_DISABLE) {
            t->ss_sp = t->ss_size = 0;
        } else {
            if (flags & ~(RV_SS_ONSTACK | (int)(1u << 31) /* SS_AUTODISARM */))
                return -EINVAL;
            if (n[2] < RV_MINSIGSTKSZ)
                return -ENOMEM;
            t->ss_sp = n[0];
            t->ss_size = n[2];
        }
    }
    if (old && put_user(u, old, cur, sizeof(cur)) < 0)
        return -EFAULT;
    return 0;
}

/* Wait until a signal in `want` is pending for this thread, or the
 * timeout (host timespec, NULL: none) passes.  Host signals are blocked
 * around the check, and ppoll unblocks them atomically: no lost wakeup. */
static int wait_signal(struct user *u, uint64_t want, const struct timespec *ts)
{
    struct uthread *t = user_thread;
    sigset_t all, old;
    sigfillset(&all);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int r = 0;
    while (!((t->pending | u->pending) & want)) {
        if (ppoll(NULL, 0, ts, &old) == 0) {
            r = -EAGAIN;
            break;
        }
        if (ts)
            break;      /* interrupted: the caller sees what came */
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return r;
}

long user_sigsuspend(struct user *u, uint64_t mask_ga, uint64_t size)
{
    struct uthread *t = user_thread;
    uint64_t mask;
    if (size != 8)
        return -EINVAL;
    if (get_user(u, &mask, mask_ga, 8) < 0)
        return -EFAULT;
    t->suspend_saved = t->blocked;
    t->blocked = mask & ~(SIGBIT(SIGKILL) | SIGBIT(SIGSTOP));
    for (;;) {
        wait_signal(u, ~t->blocked, NULL);
        /* a signal whose action is to ignore does not end the wait */
        uint64_t ready = (t->pending | u->pending) & ~t->blocked;
        bool acts = false;
        for (int sig = 1; sig <= 64; sig++)
            if ((ready & SIGBIT(sig)) && !signal_discarded(u, sig))
                acts = true;
        if (acts)
            break;
        __atomic_and_fetch(&t->pending, ~ready, __ATOMIC_SEQ_CST);
        __atomic_and_fetch(&u->pending, ~ready, __ATOMIC_SEQ_CST);
    }
    t->in_suspend = true;
    return -EINTR;
}

long user_sigtimedwait(struct user *u, uint64_t set_ga, uint64_t info_ga, uint64_t ts_ga,
                       uint64_t size)
{
    uint64_t set;
    struct timespec ts;
    if (size != 8)
        return -EINVAL;
    if (get_user(u, &set, set_ga, 8) < 0 || (ts_ga && get_user(u, &ts, ts_ga, sizeof(ts)) < 0))
        return -EFAULT;
    set &= ~(SIGBIT(SIGKILL) | SIGBIT(SIGSTOP));
    siginfo_t info;
    int sig;
    for (;;) {
        sig = take_signal(u, set, &info);
        if (sig > 0)
            break;
        if (sig < 0)
            continue;
        int r = wait_signal(u, set, ts_ga ? &ts : NULL);
        if (r < 0)
            return r;
        if (!((user_thread->pending | u->pending) & set) && user_signal_ready(u))
            return -EINTR;  /* a handled signal came instead */
    }
    if (info_ga && put_user(u, info_ga, &info, 128) < 0)
        return -EFAULT;
    return sig;
}
