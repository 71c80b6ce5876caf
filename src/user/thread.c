/* thread.c - guest threads and the per-thread execution loop.
 *
 * Each guest thread (clone with CLONE_VM|CLONE_THREAD) is a host thread
 * with its own struct cpu, running user_run(); the translator and the
 * memory map are shared (see the lock in struct tr).  Futexes are host
 * futexes on guest memory, so glibc's thread library works unchanged;
 * CLONE_CHILD_CLEARTID is honoured at thread exit for pthread_join.
 */
#include <config.h>

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "user.h"
#include "riscv/riscv.h"
#include "log.h"
#include "msg.h"
#include "i18n.h"

__thread struct uthread *user_thread;

void user_thread_register(struct user *u, struct uthread *t)
{
    pthread_mutex_lock(&u->threads_lock);
    t->next = u->threads;
    u->threads = t;
    pthread_mutex_unlock(&u->threads_lock);
}

void user_thread_unregister(struct user *u, struct uthread *t)
{
    pthread_mutex_lock(&u->threads_lock);
    for (struct uthread **pp = &u->threads; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    pthread_mutex_unlock(&u->threads_lock);
}

int user_run(struct user *u, struct uthread *t)
{
    struct cpu *cpu = &t->cpu;
    while (!u->exited && !t->exited) {
        int r = tr_run(u->tr, cpu);
        switch (r) {
        case CPU_EXIT_ECALL:
            user_syscall(u);
            break;
        case CPU_EXIT_ILLEGAL:
            if (log_on(LOG_UNIMP))
                log_msg(LOG_UNIMP, "illegal instruction at pc 0x%" PRIx64, cpu->pc);
            user_deliver_sync_signal(u, SIGILL, ILL_ILLOPC, cpu->pc);
            break;
        case CPU_EXIT_EBREAK:
            if (u->gdb_fd >= 0 && cpu == u->cpu)
                gdb_stop(u, SIGTRAP);
            else
                user_deliver_sync_signal(u, SIGTRAP, TRAP_BRKPT, cpu->pc);
            break;
        case CPU_EXIT_FAULT:
            if (log_on(LOG_GUEST_ERROR))
                log_msg(LOG_GUEST_ERROR, "signal %d at pc 0x%" PRIx64 " address 0x%" PRIx64,
                        cpu->fault_sig, cpu->pc, cpu->fault_addr);
            user_deliver_sync_signal(u, cpu->fault_sig, cpu->fault_code, cpu->fault_addr);
            break;
        case CPU_EXIT_INTERRUPT:
            cpu->exit_req = 0;
            break;
        case -EIO:
            msg_error("compare mode: %s", u->tr->mismatch);
            return -EIO;
        default:
            msg_error("internal error: translator returned %d", r);
            return -EINVAL;
        }
        if (user_signal_ready(u))
            user_deliver_pending(u);
        if (u->gdb_fd >= 0 && u->tr->single_step && cpu == u->cpu && !u->exited)
            gdb_stop(u, SIGTRAP);
    }
    return 0;
}

static void *thread_main(void *arg)
{
    struct uthread *t = arg;
    struct user *u = t->u;
    user_thread = t;
    pid_t tid = (pid_t)syscall(SYS_gettid);
    t->tid = tid;
    user_thread_register(u, t);
    /* both ids are in place before the thread runs, as the kernel does:
     * glibc reuses thread descriptors, and a stale id there would be
     * taken for the owner of PI mutexes */
    if (t->set_tid)
        put_user(u, t->set_tid, &tid, 4);
    if (t->parent_tid)
        put_user(u, t->parent_tid, &tid, 4);
    *t->tid_out = tid;
    sem_post(t->started);       /* t->tid_out and t->started are the parent's: not used again */
    rv_fp_load_mode(&t->cpu);
    int r = user_run(u, t);
    if (r < 0)
        exit(2);
    if (t->clear_tid) {
        uint32_t zero = 0;
        tr_lock(u->tr);
        bool ok = gmem_find(&u->mem, t->clear_tid) != NULL;
        tr_unlock(u->tr);
        if (ok) {
            __atomic_store(((uint32_t *)g2h(&u->mem, t->clear_tid)), &zero, __ATOMIC_SEQ_CST);
            syscall(SYS_futex, g2h(&u->mem, t->clear_tid), FUTEX_WAKE, 1, NULL, NULL, 0);
        }
    }
    user_thread_unregister(u, t);
    tr_thread_exit(u->tr);
    __atomic_fetch_sub(&u->n_threads, 1, __ATOMIC_SEQ_CST);
    free(t);
    return NULL;
}

long user_clone(struct user *u, uint64_t flags, uint64_t newsp, uint64_t ptid, uint64_t tls,
                uint64_t ctid)
{
    struct cpu *parent = UCPU;
    if (u->tr->mode != TR_MODE_JIT) {
        /* the interpreter and compare modes keep per-block state that a
         * flush by another thread could free under them */
        if (log_on(LOG_UNIMP))
            log_msg(LOG_UNIMP, "threads need the translator (not -interp or -compare)");
        return -ENOSYS;
    }
    struct uthread *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    memcpy(&t->cpu, parent, offsetof(struct cpu, jc));
    t->cpu.x[10] = 0;               /* the child's clone returns 0 */
    if (newsp)
        t->cpu.x[2] = newsp;
    if (flags & CLONE_SETTLS)
        t->cpu.x[4] = tls;
    t->cpu.chain_from = NULL;
    t->cpu.exit_req = 0;
    t->u = u;
    t->blocked = user_thread->blocked;     /* the new thread inherits the mask */
    t->ss_sp = t->ss_size = 0;
    t->clear_tid = (flags & CLONE_CHILD_CLEARTID) ? ctid : 0;
    t->set_tid = (flags & CLONE_CHILD_SETTID) ? ctid : 0;
    t->parent_tid = (flags & CLONE_PARENT_SETTID) ? ptid : 0;
    pid_t tid = 0;
    sem_t started;
    sem_init(&started, 0, 0);
    t->tid_out = &tid;
    t->started = &started;
    tr_set_multi_threaded(u->tr);
    __atomic_fetch_add(&u->n_threads, 1, __ATOMIC_SEQ_CST);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 1u << 20);
    pthread_t th;
    int e = pthread_create(&th, &attr, thread_main, t);
    pthread_attr_destroy(&attr);
    if (e) {
        __atomic_fetch_sub(&u->n_threads, 1, __ATOMIC_SEQ_CST);
        free(t);
        sem_destroy(&started);
        return -e;
    }
    while (sem_wait(&started) < 0 && errno == EINTR)
        ;
    sem_destroy(&started);
    return tid;
}

void user_thread_exit(struct user *u, int code)
{
    user_thread->exited = true;
}

long user_fork(struct user *u, uint64_t flags, uint64_t newsp, uint64_t ptid, uint64_t tls,
               uint64_t ctid)
{
    struct uthread *me = user_thread;
    fflush(NULL);
    /* nobody may hold the translator or the thread list in the child */
    int r = tr_fork_prepare(u->tr);
    if (r < 0)
        return r;
    /* host signals wait until the child has forgotten the parent's
     * pending ones, so that one sent to the new child is not lost */
    sigset_t all, old;
    sigfillset(&all);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_mutex_lock(&u->threads_lock);
    pid_t pid = fork();
    if (pid != 0) {
        int e = errno;
        pthread_mutex_unlock(&u->threads_lock);
        tr_fork_parent(u->tr);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        errno = e;
        if (pid < 0)
            return -errno;
        if (flags & CLONE_PARENT_SETTID)
            put_user(u, ptid, &pid, 4);
        return pid;
    }
    /* the child: only this thread exists */
    pthread_mutex_init(&u->threads_lock, NULL);
    u->threads = me;
    me->next = NULL;
    me->tid = (pid_t)syscall(SYS_gettid);
    u->n_threads = 1;
    u->cpu = &me->cpu;
    me->pending = 0;
    u->pending = 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (tr_fork_child(u->tr) < 0) {
        msg_error(_("cannot set up the translator in a forked child"));
        _exit(127);
    }
    if (newsp)
        me->cpu.x[2] = newsp;
    if (flags & CLONE_SETTLS)
        me->cpu.x[4] = tls;
    if (flags & CLONE_CHILD_SETTID)
        put_user(u, ctid, &me->tid, 4);
    me->clear_tid = (flags & CLONE_CHILD_CLEARTID) ? ctid : 0;
    return 0;
}
