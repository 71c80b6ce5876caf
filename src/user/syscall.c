/* syscall.c - Linux riscv64 system calls on an x86-64 host: the entry
 * point, memory, time, futexes and signals.  Files, sockets and processes
 * are in syscall-fs.c, syscall-net.c and syscall-proc.c.
 *
 * riscv64 uses the asm-generic numbers and, for most calls, the same
 * structure layouts as x86-64; the ones that differ (struct stat, the
 * guest's sigaction, epoll_event) are translated.  Guest pointers become
 * host pointers by adding the guest base; an unmapped guest page is
 * PROT_NONE on the host, so the host kernel reports EFAULT for it just as
 * it would.  Calls we do not implement return -ENOSYS and log under
 * "unimp".
 *
 * Locking: system calls run without the translator lock (they may block)
 * except those that change or read the memory map, which take it.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <linux/futex.h>

#include "user.h"
#include "log.h"
#include "trace/user.h"

static bool range_mapped(struct user *u, uint64_t ga, size_t len, int need)
{
    struct guest_mem *m = &u->mem;
    if (!gmem_range_ok(m, ga, len))
        return false;
    for (uint64_t a = ga; a < ga + len;) {
        const struct vma *v = gmem_find(m, a);
        if (!v || (v->prot & need) != need)
            return false;
        a = v->end;
    }
    return true;
}

int put_user(struct user *u, uint64_t ga, const void *src, size_t len)
{
    if (len == 0)
        return 0;
    tr_lock(u->tr);
    if (!range_mapped(u, ga, len, PROT_WRITE)) {
        tr_unlock(u->tr);
        return -EFAULT;
    }
    for (uint64_t pg = ALIGN_DOWN(ga, GUEST_PAGE); pg < ga + len; pg += GUEST_PAGE)
        if (gmem_is_code_page(&u->mem, pg)) {
            /* translated code came from here: drop it, which lifts the
             * write protection */
            tr_flush(u->tr, UCPU);
            break;
        }
    memcpy(g2h(&u->mem, ga), src, len);
    tr_unlock(u->tr);
    return 0;
}

int get_user(struct user *u, void *dst, uint64_t ga, size_t len)
{
    if (len == 0)
        return 0;
    tr_lock(u->tr);
    bool ok = range_mapped(u, ga, len, PROT_READ);
    if (ok)
        memcpy(dst, g2h(&u->mem, ga), len);
    tr_unlock(u->tr);
    return ok ? 0 : -EFAULT;
}

int get_user_str(struct user *u, char *buf, size_t len, uint64_t ga)
{
    struct guest_mem *m = &u->mem;
    tr_lock(u->tr);
    size_t i = 0;
    int r = -ENAMETOOLONG;
    while (i < len) {
        const struct vma *v = gmem_find(m, ga + i);
        if (!v || !(v->prot & PROT_READ)) {
            r = -EFAULT;
            break;
        }
        size_t room = MIN(len - i, v->end - (ga + i));
        const char *s = (const char *)g2h(m, ga + i);
        const char *z = memchr(s, 0, room);
        if (z) {
            memcpy(buf + i, s, (size_t)(z - s) + 1);
            r = 0;
            break;
        }
        memcpy(buf + i, s, room);
        i += room;
    }
    tr_unlock(u->tr);
    return r;
}

static long do_brk(struct user *u, uint64_t newbrk)
{
    struct guest_mem *m = &u->mem;
    if (newbrk == 0 || newbrk < m->brk_start)
        return (long)m->brk_cur;
    uint64_t need = ALIGN_UP(newbrk, GUEST_PAGE);
    if (need > m->brk_mapped) {
        /* refuse to grow into another mapping */
        for (size_t i = 0; i < m->n_vmas; i++)
            if (m->vmas[i].start < need && m->vmas[i].end > m->brk_mapped)
                return (long)m->brk_cur;
        if (gmem_map(m, m->brk_mapped, need - m->brk_mapped, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) < 0)
            return (long)m->brk_cur;
        m->brk_mapped = need;
    }
    m->brk_cur = newbrk;
    return (long)newbrk;
}

static long do_mmap(struct user *u, uint64_t addr, uint64_t len, int prot, int flags,
                    int fd, uint64_t off)
{
    if (len == 0 || (off & (GUEST_PAGE - 1)))
        return -EINVAL;
    len = ALIGN_UP(len, GUEST_PAGE);
    if (!(flags & MAP_FIXED) && !(flags & MAP_FIXED_NOREPLACE)) {
        addr = gmem_find_free(&u->mem, addr, len);
        if (!addr)
            return -ENOMEM;
    } else if (flags & MAP_FIXED_NOREPLACE) {
        if (gmem_find_free(&u->mem, addr, len) != addr)
            return -EEXIST;
    }
    flags &= ~(MAP_FIXED_NOREPLACE | MAP_GROWSDOWN | MAP_STACK | MAP_DENYWRITE |
               MAP_EXECUTABLE | MAP_LOCKED);
    /* whatever was translated from the old contents is stale */
    tr_invalidate_range(u->tr, UCPU, addr, addr + len);
    return gmem_map(&u->mem, addr, len, prot, flags, (flags & MAP_ANONYMOUS) ? -1 : fd, off);
}

/* mremap: only in place (shrink, or grow into free space) or by copying
 * to a new anonymous place when MREMAP_MAYMOVE allows. */
static long do_mremap(struct user *u, uint64_t old, uint64_t olen, uint64_t nlen, int flags)
{
    struct guest_mem *m = &u->mem;
    if ((old & (GUEST_PAGE - 1)) || nlen == 0 || (flags & ~3))
        return -EINVAL;
    olen = ALIGN_UP(olen, GUEST_PAGE);
    nlen = ALIGN_UP(nlen, GUEST_PAGE);
    const struct vma *v = gmem_find(m, old);
    if (!v || old + olen > v->end || (flags & 2 /* MREMAP_FIXED */))
        return -EFAULT;
    int prot = v->prot;
    struct vma from = *v;       /* v goes with the unmap below */
    if (from.name)
        from.off += old - v->start;
    if (nlen <= olen) {
        if (nlen < olen)
            gmem_unmap(m, old + nlen, olen - nlen);
        return (long)old;
    }
    if (gmem_find_free(m, old + olen, nlen - olen) == old + olen) {
        long r = gmem_map(m, old + olen, nlen - olen, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return r < 0 ? r : (long)old;
    }
    if (!(flags & 1 /* MREMAP_MAYMOVE */))
        return -ENOMEM;
    uint64_t na = gmem_find_free(m, 0, nlen);
    if (!na)
        return -ENOMEM;
    /* move the host pages themselves: file mappings stay file mappings */
    void *p = mremap(g2h(m, old), olen, nlen, MREMAP_MAYMOVE | MREMAP_FIXED, g2h(m, na));
    if (p == MAP_FAILED)
        return -errno;
    /* put the reservation back where the pages were */
    mmap(g2h(m, old), olen, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
         -1, 0);
    gmem_unmap(m, old, olen);
    tr_invalidate_range(u->tr, UCPU, old, old + olen);
    gmem_map_record(m, na, nlen, prot, &from);
    return (long)na;
}

static long do_futex(struct user *u, const uint64_t *a)
{
    /* guest futexes are host futexes on the same memory; the guest's
     * thread ids are host thread ids, so PI futexes work too */
    int op = (int)a[1] & FUTEX_CMD_MASK;
    switch (op) {
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET:
    case FUTEX_UNLOCK_PI:
        return ret_errno(syscall(SYS_futex, GP(a[0]), (int)a[1], (int)a[2], NULL, NULL,
                                 (int)a[5]));
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET:
    case FUTEX_LOCK_PI:
    case FUTEX_LOCK_PI2:
    case FUTEX_TRYLOCK_PI:
        return ret_errno(syscall(SYS_futex, GP(a[0]), (int)a[1], (int)a[2], GP(a[3]), NULL,
                                 (int)a[5]));
    case FUTEX_WAIT_REQUEUE_PI:
        return ret_errno(syscall(SYS_futex, GP(a[0]), (int)a[1], (int)a[2], GP(a[3]),
                                 GP(a[4]), (int)a[5]));
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE:
    case FUTEX_CMP_REQUEUE_PI:
    case FUTEX_WAKE_OP:
        return ret_errno(syscall(SYS_futex, GP(a[0]), (int)a[1], (int)a[2],
                                 (void *)(uintptr_t)a[3], GP(a[4]), (int)a[5]));
    }
    if (log_on(LOG_UNIMP))
        log_msg(LOG_UNIMP, "futex op %d", op);
    return -ENOSYS;
}

static long do_sigprocmask(struct user *u, int how, uint64_t set_ga, uint64_t old_ga,
                           uint64_t size)
{
    if (size != 8)
        return -EINVAL;
    struct uthread *t = user_thread;
    uint64_t old = t->blocked;
    if (set_ga) {
        uint64_t set;
        if (get_user(u, &set, set_ga, 8) < 0)
            return -EFAULT;
        set &= ~((UINT64_C(1) << (SIGKILL - 1)) | (UINT64_C(1) << (SIGSTOP - 1)));
        if (how == SIG_BLOCK)
            t->blocked |= set;
        else if (how == SIG_UNBLOCK)
            t->blocked &= ~set;
        else if (how == SIG_SETMASK)
            t->blocked = set;
        else
            return -EINVAL;
    }
    if (old_ga && put_user(u, old_ga, &old, 8) < 0)
        return -EFAULT;
    return 0;
}

static long dispatch(struct user *u, int nr, const uint64_t *a)
{
    struct guest_mem *m = &u->mem;
    long r;
    switch (nr) {
    case 98: return do_futex(u, a);
    case 99:    /* set_robust_list: remembered; the lists are not walked at exit */
        if (a[1] != 24)
            return -EINVAL;
        user_thread->robust_list = a[0];
        return 0;
    case 100: { /* get_robust_list: our own thread only */
        if (a[0] != 0 && (pid_t)a[0] != (pid_t)syscall(SYS_gettid))
            return -EPERM;
        uint64_t len = 24;
        if (put_user(u, a[1], &user_thread->robust_list, 8) < 0 || put_user(u, a[2], &len, 8) < 0)
            return -EFAULT;
        return 0;
    }
    case 101: return ret_errno(syscall(SYS_nanosleep, GP(a[0]), GP(a[1])));
    case 102: return ret_errno(syscall(SYS_getitimer, (int)a[0], GP(a[1])));
    case 103: return ret_errno(syscall(SYS_setitimer, (int)a[0], GP(a[1]), GP(a[2])));
    case 107: return ret_errno(syscall(SYS_timer_create, (clockid_t)a[0], GP(a[1]), GP(a[2])));
    case 108: return ret_errno(syscall(SYS_timer_gettime, (int)a[0], GP(a[1])));
    case 109: return ret_errno(syscall(SYS_timer_getoverrun, (int)a[0]));
    case 110: return ret_errno(syscall(SYS_timer_settime, (int)a[0], (int)a[1], GP(a[2]), GP(a[3])));
    case 111: return ret_errno(syscall(SYS_timer_delete, (int)a[0]));
    case 112: return ret_errno(syscall(SYS_clock_settime, (clockid_t)a[0], GP(a[1])));
    case 113: return ret_errno(syscall(SYS_clock_gettime, (clockid_t)a[0], GP(a[1])));
    case 114: return ret_errno(syscall(SYS_clock_getres, (clockid_t)a[0], GP(a[1])));
    case 115: return ret_errno(syscall(SYS_clock_nanosleep, (clockid_t)a[0], (int)a[1], GP(a[2]),
                                       GP(a[3])));
    case 129: return user_kill(u, (pid_t)a[0], (int)a[1]);
    case 130: return user_tgkill(u, -1, (pid_t)a[0], (int)a[1]);
    case 131: return user_tgkill(u, (pid_t)a[0], (pid_t)a[1], (int)a[2]);
    case 132: return user_sigaltstack(u, a[0], a[1]);
    case 133: return user_sigsuspend(u, a[0], a[1]);
    case 134: return user_rt_sigaction(u, (int)a[0], a[1], a[2], a[3]);
    case 135: return do_sigprocmask(u, (int)a[0], a[1], a[2], a[3]);
    case 136: { /* rt_sigpending */
        uint64_t p = (user_thread->pending | u->pending) & user_thread->blocked;
        return put_user(u, a[0], &p, 8);
    }
    case 137: return user_sigtimedwait(u, a[0], a[1], a[2], a[3]);
    case 139: return user_rt_sigreturn(u);
    case 169: return ret_errno(syscall(SYS_gettimeofday, GP(a[0]), GP(a[1])));
    case 214:
        tr_lock(u->tr);
        r = do_brk(u, a[0]);
        tr_unlock(u->tr);
        return r;
    case 215:
        if (a[0] & (GUEST_PAGE - 1))
            return -EINVAL;
        tr_lock(u->tr);
        tr_invalidate_range(u->tr, UCPU, a[0], a[0] + a[1]);
        r = gmem_unmap(m, a[0], a[1]);
        tr_unlock(u->tr);
        return r;
    case 216:
        tr_lock(u->tr);
        r = do_mremap(u, a[0], a[1], a[2], (int)a[3]);
        tr_unlock(u->tr);
        return r;
    case 222:
        tr_lock(u->tr);
        r = do_mmap(u, a[0], a[1], (int)a[2], (int)a[3], (int)a[4], a[5]);
        tr_unlock(u->tr);
        return r;
    case 226:
        tr_lock(u->tr);
        r = gmem_protect(m, a[0], a[1], (int)a[2]);
        if (r == 0)
            tr_invalidate_range(u->tr, UCPU, a[0], a[0] + a[1]);
        tr_unlock(u->tr);
        return r;
    case 227: return ret_errno(msync(GP(a[0]), a[1], (int)a[2]));
    case 228: case 229: case 230: case 231:
        return 0;           /* mlock, munlock, mlockall, munlockall: nothing to pin */
    case 232: return ret_errno(mincore(GP(a[0]), a[1], GP(a[2])));
    case 233:               /* madvise: DONTNEED must zero private anonymous pages */
        if ((int)a[2] == MADV_DONTNEED && gmem_range_ok(m, a[0], a[1]))
            return ret_errno(madvise(GP(a[0]), a[1], MADV_DONTNEED));
        return 0;
    case 259:               /* riscv_flush_icache */
        tr_flush(u->tr, UCPU);
        return 0;
    case 278:
        if (!gmem_range_ok(m, a[0], a[1]))
            return -EFAULT;
        return ret_errno(getrandom(GP(a[0]), a[1], (unsigned)a[2]));
    case 279: {             /* memfd_create */
        char name[256];
        if ((r = get_user_str(u, name, sizeof(name), a[0])) < 0)
            return r;
        return ret_errno(syscall(SYS_memfd_create, name, (unsigned)a[1]));
    }
    case 283:               /* membarrier: our threads' stores are host stores */
        if (a[0] == 0 /* MEMBARRIER_CMD_QUERY */)
            return 1 | 8 | 16;      /* GLOBAL, PRIVATE_EXPEDITED, REGISTER_PRIVATE_EXPEDITED */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        return 0;
    case 293: return -ENOSYS;   /* rseq: refused, glibc does without */
    }
    return SC_NONE;
}

/* Calls that return EINTR after a handler whatever SA_RESTART says, and
 * our own emulations that mean EINTR. */
static bool restartable(int nr)
{
    switch (nr) {
    case 22: case 72: case 73: case 101: case 115: case 133: case 137: case 139: case 441:
        return false;
    }
    return true;
}

void user_syscall(struct user *u)
{
    struct cpu *c = UCPU;
    int nr = (int)c->x[17];
    uint64_t a[6] = { c->x[10], c->x[11], c->x[12], c->x[13], c->x[14], c->x[15] };
    c->pc += 4;
    if (trace_user_syscall_enabled())       /* the name costs a lookup */
        trace_user_syscall(nr, strace_name(nr), a[0], a[1], a[2], a[3]);
    if (log_on(LOG_STRACE))
        strace_enter(u, nr, a);
    uint64_t flushes = u->tr->n_flushes;
    long r = dispatch(u, nr, a);
    if (r == SC_NONE)
        r = sys_fs(u, nr, a);
    if (r == SC_NONE)
        r = sys_net(u, nr, a);
    if (r == SC_NONE)
        r = sys_proc(u, nr, a);
    if (r == SC_NONE) {
        if (log_on(LOG_UNIMP))
            log_msg(LOG_UNIMP, "system call %d (%s) at pc 0x%" PRIx64, nr, strace_name(nr),
                    c->pc - 4);
        r = -ENOSYS;
    }
    if (r == -EFAULT && u->mem.n_code_pages) {
        /* the kernel may have met a page we write-protected because code
         * was translated from it: drop the translations, try once more */
        tr_flush(u->tr, c);
        r = dispatch(u, nr, a);
        if (r == SC_NONE)
            r = sys_fs(u, nr, a);
        if (r == SC_NONE)
            r = sys_net(u, nr, a);
        if (r == SC_NONE)
            r = sys_proc(u, nr, a);
    }
    if (u->tr->n_flushes != flushes && u->n_threads > 1) {
        /* code was unmapped or changed: make the other threads leave
         * translated code, so that they drop their jump caches */
        pthread_mutex_lock(&u->threads_lock);
        for (struct uthread *t = u->threads; t; t = t->next)
            if (t != user_thread)
                t->cpu.exit_req = 1;
        pthread_mutex_unlock(&u->threads_lock);
    }
    trace_user_syscall_ret(nr, r);
    if (log_on(LOG_STRACE))
        strace_leave(u, nr, a, r);
    if (r == -EINTR && restartable(nr) && user_restart_allowed(u)) {
        /* as the kernel does for -ERESTARTSYS: after the handler (if
         * any) the ecall runs again with its original arguments */
        c->pc -= 4;
        return;
    }
    if (nr != 139)      /* rt_sigreturn restored all registers */
        c->x[10] = (uint64_t)r;
}
