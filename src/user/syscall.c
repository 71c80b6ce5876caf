/* syscall.c - Linux riscv64 system calls on an x86-64 host.
 *
 * riscv64 uses the asm-generic numbers and, for most calls, the same
 * structure layouts as x86-64; the ones that differ (struct stat, the
 * guest's sigaction) are translated here.  Guest pointers become host
 * pointers by adding the guest base; an unmapped guest page is PROT_NONE
 * on the host, so the host kernel reports EFAULT for it just as it would.
 * Calls we do not implement return -ENOSYS and log under "unimp".
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/futex.h>

#include "user.h"
#include "log.h"

/* asm-generic struct stat, as riscv64 sees it */
struct rv_stat {
    uint64_t st_dev, st_ino;
    uint32_t st_mode, st_nlink, st_uid, st_gid;
    uint64_t st_rdev, pad1;
    int64_t st_size;
    int32_t st_blksize, pad2;
    int64_t st_blocks;
    int64_t st_atime_, st_atime_nsec, st_mtime_, st_mtime_nsec, st_ctime_, st_ctime_nsec;
    uint32_t unused[2];
};

static long put_stat(struct user *u, uint64_t gaddr, const struct stat *st)
{
    if (!gmem_range_ok(&u->mem, gaddr, sizeof(struct rv_stat)))
        return -EFAULT;
    struct rv_stat r = {
        .st_dev = st->st_dev, .st_ino = st->st_ino, .st_mode = st->st_mode,
        .st_nlink = (uint32_t)st->st_nlink, .st_uid = st->st_uid, .st_gid = st->st_gid,
        .st_rdev = st->st_rdev, .st_size = st->st_size, .st_blksize = (int32_t)st->st_blksize,
        .st_blocks = st->st_blocks,
        .st_atime_ = st->st_atim.tv_sec, .st_atime_nsec = st->st_atim.tv_nsec,
        .st_mtime_ = st->st_mtim.tv_sec, .st_mtime_nsec = st->st_mtim.tv_nsec,
        .st_ctime_ = st->st_ctim.tv_sec, .st_ctime_nsec = st->st_ctim.tv_nsec,
    };
    /* the copy itself may fault on a PROT_NONE page: check via the kernel */
    if (!gmem_find(&u->mem, gaddr))
        return -EFAULT;
    memcpy(g2h(&u->mem, gaddr), &r, sizeof(r));
    return 0;
}

static long ret_errno(long r)
{
    return r < 0 ? -errno : r;
}

/* A guest pointer argument as a host pointer (NULL stays NULL). */
#define GP(a) ((a) ? (void *)g2h(&u->mem, (a)) : NULL)

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
    long r = gmem_map(&u->mem, addr, len, prot, flags, (flags & MAP_ANONYMOUS) ? -1 : fd, off);
    if (r >= 0 && (prot & PROT_EXEC))
        tr_invalidate_range(u->tr, UCPU, addr, addr + len);
    return r;
}

static long do_writev(struct user *u, int fd, uint64_t giov, int cnt, bool write, bool pos,
                      int64_t off)
{
    if (cnt < 0 || cnt > 1024)
        return -EINVAL;
    if (!gmem_range_ok(&u->mem, giov, (uint64_t)cnt * 16))
        return -EFAULT;
    struct iovec iov[1024];
    const uint64_t *g = g2h(&u->mem, giov);
    for (int i = 0; i < cnt; i++) {
        iov[i].iov_base = GP(g[2 * i]);
        iov[i].iov_len = g[2 * i + 1];
    }
    if (pos)
        return ret_errno(write ? pwritev(fd, iov, cnt, off) : preadv(fd, iov, cnt, off));
    return ret_errno(write ? writev(fd, iov, cnt) : readv(fd, iov, cnt));
}

static long do_ioctl(int fd, unsigned long req, void *arg)
{
    switch (req) {
    case TCGETS: case TCSETS: case TCSETSW: case TCSETSF:
    case TIOCGWINSZ: case TIOCSWINSZ: case FIONREAD: case TIOCGPGRP:
        return ret_errno(ioctl(fd, req, arg));
    }
    if (log_on(LOG_UNIMP))
        log_msg(LOG_UNIMP, "ioctl 0x%lx", req);
    return -ENOTTY;
}

static long do_uname(struct user *u, uint64_t buf)
{
    struct utsname un;
    if (uname(&un) < 0)
        return -errno;
    snprintf(un.machine, sizeof(un.machine), "riscv64");
    if (!gmem_find(&u->mem, buf))
        return -EFAULT;
    memcpy(g2h(&u->mem, buf), &un, sizeof(un));
    return 0;
}

static long do_exit(struct user *u, int code, bool group)
{
    if (!group && u->n_threads > 1 && user_thread != NULL && UCPU != u->cpu) {
        user_thread_exit(u, code);
        return 0;
    }
    if (UCPU != u->cpu)
        exit(code & 0xff);      /* exit_group from another thread: the process ends here */
    u->exit_code = code & 0xff;
    u->exited = true;
    return 0;
}

struct sc_name {
    int nr;
    const char *name;
};
static const struct sc_name sc_names[] = {
    { 17, "getcwd" }, { 23, "dup" }, { 24, "dup3" }, { 25, "fcntl" }, { 29, "ioctl" },
    { 34, "mkdirat" }, { 35, "unlinkat" }, { 46, "ftruncate" }, { 48, "faccessat" },
    { 49, "chdir" }, { 56, "openat" }, { 57, "close" }, { 59, "pipe2" },
    { 61, "getdents64" }, { 62, "lseek" }, { 63, "read" }, { 64, "write" },
    { 65, "readv" }, { 66, "writev" }, { 67, "pread64" }, { 68, "pwrite64" },
    { 78, "readlinkat" }, { 79, "newfstatat" }, { 80, "fstat" }, { 82, "fsync" },
    { 93, "exit" }, { 94, "exit_group" }, { 96, "set_tid_address" }, { 98, "futex" },
    { 99, "set_robust_list" }, { 101, "nanosleep" }, { 113, "clock_gettime" },
    { 114, "clock_getres" }, { 115, "clock_nanosleep" }, { 124, "sched_yield" },
    { 129, "kill" }, { 130, "tkill" }, { 131, "tgkill" }, { 132, "sigaltstack" },
    { 134, "rt_sigaction" }, { 135, "rt_sigprocmask" }, { 139, "rt_sigreturn" },
    { 153, "times" }, { 160, "uname" }, { 163, "getrlimit" }, { 165, "getrusage" },
    { 166, "umask" }, { 167, "prctl" }, { 169, "gettimeofday" }, { 172, "getpid" },
    { 173, "getppid" }, { 174, "getuid" }, { 175, "geteuid" }, { 176, "getgid" },
    { 177, "getegid" }, { 178, "gettid" }, { 179, "sysinfo" }, { 214, "brk" },
    { 215, "munmap" }, { 216, "mremap" }, { 220, "clone" }, { 221, "execve" },
    { 222, "mmap" }, { 226, "mprotect" }, { 233, "madvise" }, { 258, "riscv_hwprobe" },
    { 259, "riscv_flush_icache" }, { 260, "wait4" }, { 261, "prlimit64" },
    { 278, "getrandom" }, { 102, "getitimer" }, { 103, "setitimer" }, { 133, "rt_sigsuspend" }, { 291, "statx" }, { 293, "rseq" }, { 73, "ppoll" },
};

static const char *sc_name(int nr)
{
    for (size_t i = 0; i < ARRAY_SIZE(sc_names); i++)
        if (sc_names[i].nr == nr)
            return sc_names[i].name;
    return "?";
}

static long dispatch(struct user *u, int nr, uint64_t a0, uint64_t a1, uint64_t a2,
                     uint64_t a3, uint64_t a4, uint64_t a5)
{
    struct guest_mem *m = &u->mem;
    switch (nr) {
    case 17: {  /* getcwd */
        if (!gmem_range_ok(m, a0, a1))
            return -EFAULT;
        return ret_errno(syscall(SYS_getcwd, GP(a0), a1));
    }
    case 23: return ret_errno(dup((int)a0));
    case 24: return ret_errno(dup3((int)a0, (int)a1, (int)a2));
    case 25: {
        int cmd = (int)a1;
        switch (cmd) {
        case F_GETFD: case F_SETFD: case F_GETFL: case F_SETFL:
        case F_DUPFD: case F_DUPFD_CLOEXEC:
            return ret_errno(fcntl((int)a0, cmd, (long)a2));
        }
        if (log_on(LOG_UNIMP))
            log_msg(LOG_UNIMP, "fcntl command %d", cmd);
        return -EINVAL;
    }
    case 29: return do_ioctl((int)a0, (unsigned long)a1, GP(a2));
    case 34: return ret_errno(syscall(SYS_mkdirat, (int)a0, GP(a1), (mode_t)a2));
    case 35: return ret_errno(syscall(SYS_unlinkat, (int)a0, GP(a1), (int)a2));
    case 46: return ret_errno(ftruncate((int)a0, (off_t)a1));
    case 48: return ret_errno(syscall(SYS_faccessat, (int)a0, GP(a1), (int)a2));
    case 49: return ret_errno(syscall(SYS_chdir, GP(a0)));
    case 56: return ret_errno(syscall(SYS_openat, (int)a0, GP(a1), (int)a2, (int)a3));
    case 57: return ret_errno(close((int)a0));
    case 59: return ret_errno(syscall(SYS_pipe2, GP(a0), (int)a1));
    case 61: return ret_errno(syscall(SYS_getdents64, (int)a0, GP(a1), a2));
    case 62: return ret_errno(lseek((int)a0, (off_t)a1, (int)a2));
    case 63:
        if (!gmem_range_ok(m, a1, a2))
            return -EFAULT;
        return ret_errno(read((int)a0, GP(a1), a2));
    case 64:
        if (!gmem_range_ok(m, a1, a2))
            return -EFAULT;
        return ret_errno(write((int)a0, GP(a1), a2));
    case 65: return do_writev(u, (int)a0, a1, (int)a2, false, false, 0);
    case 66: return do_writev(u, (int)a0, a1, (int)a2, true, false, 0);
    case 67:
        if (!gmem_range_ok(m, a1, a2))
            return -EFAULT;
        return ret_errno(pread((int)a0, GP(a1), a2, (off_t)a3));
    case 68:
        if (!gmem_range_ok(m, a1, a2))
            return -EFAULT;
        return ret_errno(pwrite((int)a0, GP(a1), a2, (off_t)a3));
    case 78: {
        if (!gmem_range_ok(m, a2, a3))
            return -EFAULT;
        const char *p = GP(a1);
        if (p && strcmp(p, "/proc/self/exe") == 0) {
            const char *exe = u->exe_path;
            char real[4096];
            if (realpath(exe, real))
                exe = real;
            size_t n = MIN(strlen(exe), a3);
            memcpy(g2h(m, a2), exe, n);
            return (long)n;
        }
        return ret_errno(syscall(SYS_readlinkat, (int)a0, p, GP(a2), a3));
    }
    case 79: {
        struct stat st;
        if (syscall(SYS_newfstatat, (int)a0, GP(a1), &st, (int)a3) < 0)
            return -errno;
        return put_stat(u, a2, &st);
    }
    case 80: {
        struct stat st;
        if (fstat((int)a0, &st) < 0)
            return -errno;
        return put_stat(u, a1, &st);
    }
    case 82: return ret_errno(fsync((int)a0));
    case 93: return do_exit(u, (int)a0, false);
    case 94: return do_exit(u, (int)a0, true);
    case 96: return ret_errno(syscall(SYS_gettid));
    case 98: {
        /* guest futexes are host futexes on the same memory */
        int op = (int)a1 & FUTEX_CMD_MASK;
        switch (op) {
        case FUTEX_WAKE: case FUTEX_WAKE_BITSET:
            return ret_errno(syscall(SYS_futex, GP(a0), (int)a1, (int)a2, NULL, NULL, (int)a5));
        case FUTEX_WAIT: case FUTEX_WAIT_BITSET:
            return ret_errno(syscall(SYS_futex, GP(a0), (int)a1, (int)a2, GP(a3), NULL, (int)a5));
        case FUTEX_REQUEUE: case FUTEX_CMP_REQUEUE: case FUTEX_WAKE_OP:
            return ret_errno(syscall(SYS_futex, GP(a0), (int)a1, (int)a2, (void *)(uintptr_t)a3,
                                     GP(a4), (int)a5));
        }
        if (log_on(LOG_UNIMP))
            log_msg(LOG_UNIMP, "futex op %d", op);
        return -ENOSYS;
    }
    case 99: return 0;      /* set_robust_list: no threads to clean up after */
    case 101: return ret_errno(syscall(SYS_nanosleep, GP(a0), GP(a1)));
    case 113: return ret_errno(syscall(SYS_clock_gettime, (clockid_t)a0, GP(a1)));
    case 114: return ret_errno(syscall(SYS_clock_getres, (clockid_t)a0, GP(a1)));
    case 115: return ret_errno(syscall(SYS_clock_nanosleep, (clockid_t)a0, (int)a1, GP(a2), GP(a3)));
    case 124: return ret_errno(sched_yield());
    case 129:
        if ((pid_t)a0 == getpid() || a0 == 0)
            return user_self_signal(u, (int)a1);
        return ret_errno(kill((pid_t)a0, (int)a1));
    case 130:
        if ((pid_t)a0 == (pid_t)syscall(SYS_gettid))
            return user_self_signal(u, (int)a1);
        return ret_errno(syscall(SYS_tkill, (int)a0, (int)a1));
    case 131:
        if ((pid_t)a0 == getpid())
            return user_self_signal(u, (int)a2);
        return ret_errno(syscall(SYS_tgkill, (int)a0, (int)a1, (int)a2));
    case 132: return 0;     /* sigaltstack: accepted, handlers run on the normal stack */
    case 134: return user_rt_sigaction(u, (int)a0, a1, a2, a3);
    case 135: {
        uint64_t old = u->blocked;
        if (a1) {
            if (!gmem_find(m, a1))
                return -EFAULT;
            uint64_t set;
            memcpy(&set, g2h(m, a1), 8);
            if (a0 == SIG_BLOCK) u->blocked |= set;
            else if (a0 == SIG_UNBLOCK) u->blocked &= ~set;
            else if (a0 == SIG_SETMASK) u->blocked = set;
            else return -EINVAL;
        }
        if (a2) {
            if (!gmem_find(m, a2))
                return -EFAULT;
            memcpy(g2h(m, a2), &old, 8);
        }
        return 0;
    }
    case 139: return user_rt_sigreturn(u);
    case 133: {         /* rt_sigsuspend: wait with a temporary mask */
        if (a1 != 8 || !gmem_find(m, a0))
            return -EINVAL;
        uint64_t mask;
        memcpy(&mask, g2h(m, a0), 8);
        u->suspend_saved = u->blocked;
        u->in_suspend = true;
        u->blocked = mask;
        while (!(u->pending & ~u->blocked)) {
            tr_unlock(u->tr);
            pause();
            tr_lock(u->tr);
        }
        return -EINTR;
    }
    case 102: return ret_errno(syscall(SYS_getitimer, (int)a0, GP(a1)));
    case 103: return ret_errno(syscall(SYS_setitimer, (int)a0, GP(a1), GP(a2)));
    case 153: return ret_errno(syscall(SYS_times, GP(a0)));
    case 160: return do_uname(u, a0);
    case 163: return ret_errno(syscall(SYS_getrlimit, (int)a0, GP(a1)));
    case 165: return ret_errno(syscall(SYS_getrusage, (int)a0, GP(a1)));
    case 166: return (long)umask((mode_t)a0);
    case 167: return ret_errno(syscall(SYS_prctl, a0, a1, a2, a3, a4));
    case 169: return ret_errno(syscall(SYS_gettimeofday, GP(a0), GP(a1)));
    case 172: return getpid();
    case 173: return getppid();
    case 174: return getuid();
    case 175: return geteuid();
    case 176: return getgid();
    case 177: return getegid();
    case 178: return ret_errno(syscall(SYS_gettid));
    case 179: return ret_errno(syscall(SYS_sysinfo, GP(a0)));
    case 214: return do_brk(u, a0);
    case 215: {
        if (a0 & (GUEST_PAGE - 1))
            return -EINVAL;
        tr_invalidate_range(u->tr, UCPU, a0, a0 + a1);
        return gmem_unmap(m, a0, a1);
    }
    case 220:   /* clone: threads, or fork-like */
        if ((a0 & CLONE_VM) && (a0 & CLONE_THREAD))
            return user_clone(u, a0, a1, a2, a3, a4);
        if ((a0 & CLONE_VM) || (a0 & 0xff) != SIGCHLD) {
            if (log_on(LOG_UNIMP))
                log_msg(LOG_UNIMP, "clone flags 0x%" PRIx64 " (threads are not supported)", a0);
            return -ENOSYS;
        }
        return ret_errno(tr_fork(u->tr));     /* the child needs its own code cache */
    case 222: return do_mmap(u, a0, a1, (int)a2, (int)a3, (int)a4, a5);
    case 226: {
        long r = gmem_protect(m, a0, a1, (int)a2);
        if (r == 0)
            tr_invalidate_range(u->tr, UCPU, a0, a0 + a1);
        return r;
    }
    case 233: return 0;     /* madvise: advice only */
    case 259:               /* riscv_flush_icache */
        tr_flush(u->tr, UCPU);
        return 0;
    case 260: return ret_errno(syscall(SYS_wait4, (pid_t)a0, GP(a1), (int)a2, GP(a3)));
    case 261: return ret_errno(syscall(SYS_prlimit64, (pid_t)a0, (int)a1, GP(a2), GP(a3)));
    case 278:
        if (!gmem_range_ok(m, a0, a1))
            return -EFAULT;
        return ret_errno(getrandom(GP(a0), a1, (unsigned)a2));
    case 291: return ret_errno(syscall(SYS_statx, (int)a0, GP(a1), (int)a2, (unsigned)a3, GP(a4)));
    case 73: return ret_errno(syscall(SYS_ppoll, GP(a0), a1, GP(a2), NULL, 8));
    }
    if (log_on(LOG_UNIMP))
        log_msg(LOG_UNIMP, "system call %d (%s) at pc 0x%" PRIx64, nr, sc_name(nr), UCPU->pc);
    return -ENOSYS;
}

void user_syscall(struct user *u)
{
    struct cpu *c = UCPU;
    int nr = (int)c->x[17];
    uint64_t a[6] = { c->x[10], c->x[11], c->x[12], c->x[13], c->x[14], c->x[15] };
    c->pc += 4;
    /* System calls that may block, or that start/end threads, run
     * unlocked; the others take the translator lock, which also guards
     * the memory map against other threads. */
    bool unlocked = nr == 63 || nr == 64 || nr == 65 || nr == 66 || nr == 67 || nr == 68 ||
                    nr == 98 || nr == 101 || nr == 115 || nr == 260 || nr == 73 || nr == 124 ||
                    nr == 220 || nr == 93 || nr == 94 || nr == 129 || nr == 130 || nr == 131;
    if (!unlocked)
        tr_lock(u->tr);
    long r = dispatch(u, nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    if (r == -EFAULT && u->mem.n_code_pages) {
        /* the kernel may have met a page we write-protected because code
         * was translated from it: drop the translations, try once more */
        tr_flush(u->tr, UCPU);
        r = dispatch(u, nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    }
    if (!unlocked)
        tr_unlock(u->tr);
    if (log_on(LOG_STRACE))
        log_msg(LOG_STRACE, "%d %s(0x%" PRIx64 ", 0x%" PRIx64 ", 0x%" PRIx64 ", 0x%" PRIx64
                ") = %ld", (int)getpid(), sc_name(nr), a[0], a[1], a[2], a[3], r);
    if (nr != 139)      /* rt_sigreturn restored all registers */
        c->x[10] = (uint64_t)r;
}
