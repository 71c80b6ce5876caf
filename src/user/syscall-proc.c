/* syscall-proc.c - processes: exit, clone (threads and fork), execve
 * (a riscv64 program or script runs under emu again, anything else
 * directly on the host), wait, ids, limits, scheduling, prctl.
 * See syscall.c for the conventions. */
#include <config.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "user.h"
#include "log.h"

extern char **environ;

static long do_exit(struct user *u, int code, bool group)
{
    if (!group && u->n_threads > 1 && UCPU != u->cpu) {
        user_thread_exit(u, code);
        return 0;
    }
    if (UCPU != u->cpu) {
        fflush(NULL);
        _exit(code & 0xff);     /* exit_group from another thread: the process ends here */
    }
    u->exit_code = code & 0xff;
    u->exited = true;
    return 0;
}

/* A NULL-terminated guest array of strings, copied. */
static int get_strv(struct user *u, uint64_t ga, char ***out)
{
    size_t n = 0, cap = 16;
    char **v = calloc(cap, sizeof(*v));
    if (!v)
        return -ENOMEM;
    char *buf = malloc(ARG_MAX_STR);
    if (!buf) {
        free(v);
        return -ENOMEM;
    }
    int r = 0;
    for (; ga; n++) {
        uint64_t p;
        if ((r = get_user(u, &p, ga + 8 * n, 8)) < 0)
            break;
        if (!p)
            break;
        if (n + 2 > cap) {
            cap *= 2;
            char **nv = realloc(v, cap * sizeof(*nv));
            if (!nv) {
                r = -ENOMEM;
                break;
            }
            v = nv;
        }
        if ((r = get_user_str(u, buf, ARG_MAX_STR, p)) < 0)
            break;
        char *s = strdup(buf);
        if (!s) {
            r = -ENOMEM;
            break;
        }
        v[n] = s;
        v[n + 1] = NULL;
    }
    free(buf);
    if (r < 0) {
        for (size_t i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return r == -ENAMETOOLONG ? -E2BIG : r;
    }
    *out = v;
    return 0;
}

static void free_strv(char **v)
{
    if (!v)
        return;
    for (size_t i = 0; v[i]; i++)
        free(v[i]);
    free(v);
}

/* Does path (a host path) run under us: a riscv64 ELF, or a script
 * whose interpreter does?  1 yes, 0 no (the host runs it), <0 -errno. */
static int runs_under_emu(struct user *u, const char *path, int depth)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    char head[256];
    ssize_t n = read(fd, head, sizeof(head) - 1);
    close(fd);
    if (n < 0)
        return -EIO;
    head[n] = 0;
    if (n >= (ssize_t)sizeof(Elf64_Ehdr))
        return elf_check_header(head) == 0;
    if (n > 2 && head[0] == '#' && head[1] == '!' && depth < 4) {
        char *s = head + 2;
        s += strspn(s, " \t");
        s[strcspn(s, " \t\n")] = 0;
        char buf[PATH_MAX];
        return runs_under_emu(u, user_path(u, s, buf, sizeof(buf)), depth + 1);
    }
    return 0;
}

static long do_execve(struct user *u, uint64_t path_ga, uint64_t argv_ga, uint64_t envp_ga)
{
    char raw[PATH_MAX], red[PATH_MAX];
    int r = get_user_str(u, raw, sizeof(raw), path_ga);
    if (r < 0)
        return r;
    const char *hp = user_path(u, raw, red, sizeof(red));
    if (strcmp(raw, "/proc/self/exe") == 0)
        hp = u->exe_path;
    if (access(hp, X_OK) < 0)
        return -errno;
    int emu = runs_under_emu(u, hp, 0);
    if (emu < 0)
        return emu;
    char **argv = NULL, **envp = NULL;
    if ((r = get_strv(u, argv_ga, &argv)) < 0)
        return r;
    if ((r = get_strv(u, envp_ga, &envp)) < 0) {
        free_strv(argv);
        return r;
    }
    /* the guest's blocked signals become the host mask across exec, where
     * the next emu picks them up (main.c) */
    sigset_t mask, old;
    sigemptyset(&mask);
    for (int sig = 1; sig < 32; sig++)
        if ((user_thread->blocked >> (sig - 1)) & 1 && sig != SIGSEGV && sig != SIGBUS)
            sigaddset(&mask, sig);
    pthread_sigmask(SIG_SETMASK, &mask, &old);
    fflush(NULL);
    if (!emu || u->via_binfmt) {
        /* the host runs it, or binfmt_misc brings it back to us */
        execve(hp, argv, envp);
    } else {
        size_t argc = 0;
        while (argv[argc])
            argc++;
        const char **nv = calloc(argc + 16, sizeof(*nv));
        if (nv) {
            size_t k = 0;
            nv[k++] = u->emu_argv0;
            if (u->sysroot) {
                nv[k++] = "-L";
                nv[k++] = u->sysroot;
            }
            if (u->cpu_model) {
                nv[k++] = "-cpu";
                nv[k++] = u->cpu_model;
            }
            if (log_on(LOG_STRACE))
                nv[k++] = "-strace";
            if (argc > 0) {
                nv[k++] = "-0";
                nv[k++] = argv[0];
            }
            nv[k++] = "--";
            /* a guest path stays one (the next emu applies -L itself) */
            nv[k++] = raw[0] == '/' && u->sysroot && hp != u->exe_path ? raw : hp;
            for (size_t i = 1; i < argc; i++)
                nv[k++] = argv[i];
            nv[k] = NULL;
            /* our own binary, even inside a chroot where its path is gone */
            execve("/proc/self/exe", (char **)nv, envp);
            execve(u->emu_path, (char **)nv, envp);
            free(nv);
            /* neither (a chroot without /proc): binfmt_misc may know us */
            execve(hp, argv, envp);
        }
    }
    r = -errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    free_strv(argv);
    free_strv(envp);
    return r;
}

static long do_clone(struct user *u, const uint64_t *a)
{
    uint64_t flags = a[0];
    if ((flags & CLONE_VM) && (flags & CLONE_THREAD))
        return user_clone(u, flags, a[1], a[2], a[3], a[4]);
    if ((flags & CLONE_VM) && !(flags & CLONE_VFORK)) {
        if (log_on(LOG_UNIMP))
            log_msg(LOG_UNIMP, "clone flags 0x%" PRIx64 " (shared memory without a thread)",
                    flags);
        return -EINVAL;
    }
    /* fork, vfork (as fork: the parent goes on at once, as qemu does) */
    return user_fork(u, flags, a[1], a[2], a[3], a[4]);
}

static long do_prlimit(struct user *u, pid_t pid, int res, uint64_t nga, uint64_t oga)
{
    /* the guest's address-space limit would count our reservation:
     * keep it to ourselves */
    if (res == RLIMIT_AS && (pid == 0 || pid == getpid())) {
        if (nga) {
            struct rlimit rl;
            if (get_user(u, &rl, nga, sizeof(rl)) < 0)
                return -EFAULT;
            if (rl.rlim_cur > rl.rlim_max)
                return -EINVAL;
            u->rlim_as = rl;
        }
        if (oga && put_user(u, oga, &u->rlim_as, sizeof(u->rlim_as)) < 0)
            return -EFAULT;
        return 0;
    }
    return ret_errno(syscall(SYS_prlimit64, pid, res, GP(nga), GP(oga)));
}

static long do_uname(struct user *u, uint64_t buf)
{
    struct utsname un;
    if (uname(&un) < 0)
        return -errno;
    snprintf(un.machine, sizeof(un.machine), "riscv64");
    return put_user(u, buf, &un, sizeof(un));
}

long sys_proc(struct user *u, int nr, const uint64_t *a)
{
    switch (nr) {
    case 93: return do_exit(u, (int)a[0], false);
    case 94: return do_exit(u, (int)a[0], true);
    case 95: return ret_errno(syscall(SYS_waitid, (int)a[0], (pid_t)a[1], GP(a[2]), (int)a[3],
                                      GP(a[4])));
    case 96:
        user_thread->clear_tid = a[0];
        return ret_errno(syscall(SYS_gettid));
    case 220: return do_clone(u, a);
    case 435: return -ENOSYS;   /* clone3: glibc falls back to clone */
    case 221: return do_execve(u, a[0], a[1], a[2]);
    case 281:                   /* execveat: paths only */
        if ((int)a[0] != AT_FDCWD || a[4])
            return -ENOSYS;
        return do_execve(u, a[1], a[2], a[3]);
    case 260: return ret_errno(syscall(SYS_wait4, (pid_t)a[0], GP(a[1]), (int)a[2], GP(a[3])));
    case 90: return ret_errno(syscall(SYS_capget, GP(a[0]), GP(a[1])));
    case 91: return ret_errno(syscall(SYS_capset, GP(a[0]), GP(a[1])));
    case 92: return (long)(a[0] == 0xffffffff ? 0 : 0);     /* personality: Linux, always */
    case 118: return ret_errno(syscall(SYS_sched_setparam, (pid_t)a[0], GP(a[1])));
    case 119: return ret_errno(syscall(SYS_sched_setscheduler, (pid_t)a[0], (int)a[1], GP(a[2])));
    case 120: return ret_errno(syscall(SYS_sched_getscheduler, (pid_t)a[0]));
    case 121: return ret_errno(syscall(SYS_sched_getparam, (pid_t)a[0], GP(a[1])));
    case 122: return ret_errno(syscall(SYS_sched_setaffinity, (pid_t)a[0], a[1], GP(a[2])));
    case 123: return ret_errno(syscall(SYS_sched_getaffinity, (pid_t)a[0], a[1], GP(a[2])));
    case 124: return ret_errno(sched_yield());
    case 125: return ret_errno(syscall(SYS_sched_get_priority_max, (int)a[0]));
    case 126: return ret_errno(syscall(SYS_sched_get_priority_min, (int)a[0]));
    case 127: return ret_errno(syscall(SYS_sched_rr_get_interval, (pid_t)a[0], GP(a[1])));
    case 140: return ret_errno(syscall(SYS_setpriority, (int)a[0], (int)a[1], (int)a[2]));
    case 141: return ret_errno(syscall(SYS_getpriority, (int)a[0], (int)a[1]));
    case 143: return ret_errno(syscall(SYS_setregid, (gid_t)a[0], (gid_t)a[1]));
    case 144: return ret_errno(syscall(SYS_setgid, (gid_t)a[0]));
    case 145: return ret_errno(syscall(SYS_setreuid, (uid_t)a[0], (uid_t)a[1]));
    case 146: return ret_errno(syscall(SYS_setuid, (uid_t)a[0]));
    case 147: return ret_errno(syscall(SYS_setresuid, (uid_t)a[0], (uid_t)a[1], (uid_t)a[2]));
    case 148: return ret_errno(syscall(SYS_getresuid, GP(a[0]), GP(a[1]), GP(a[2])));
    case 149: return ret_errno(syscall(SYS_setresgid, (gid_t)a[0], (gid_t)a[1], (gid_t)a[2]));
    case 150: return ret_errno(syscall(SYS_getresgid, GP(a[0]), GP(a[1]), GP(a[2])));
    case 151: return ret_errno(syscall(SYS_setfsuid, (uid_t)a[0]));
    case 152: return ret_errno(syscall(SYS_setfsgid, (gid_t)a[0]));
    case 153: return ret_errno(syscall(SYS_times, GP(a[0])));
    case 154: return ret_errno(setpgid((pid_t)a[0], (pid_t)a[1]));
    case 155: return ret_errno(getpgid((pid_t)a[0]));
    case 156: return ret_errno(getsid((pid_t)a[0]));
    case 157: return ret_errno(setsid());
    case 158: return ret_errno(syscall(SYS_getgroups, (int)a[0], GP(a[1])));
    case 159: return ret_errno(syscall(SYS_setgroups, a[0], GP(a[1])));
    case 160: return do_uname(u, a[0]);
    case 161: return ret_errno(syscall(SYS_sethostname, GP(a[0]), a[1]));
    case 162: return ret_errno(syscall(SYS_setdomainname, GP(a[0]), a[1]));
    case 163: return do_prlimit(u, 0, (int)a[0], 0, a[1]);
    case 164: return do_prlimit(u, 0, (int)a[0], a[1], 0);
    case 261: return do_prlimit(u, (pid_t)a[0], (int)a[1], a[2], a[3]);
    case 165: return ret_errno(syscall(SYS_getrusage, (int)a[0], GP(a[1])));
    case 167:
        switch ((int)a[0]) {
        case PR_SET_NAME: case PR_GET_NAME: case PR_GET_PDEATHSIG: case PR_GET_CHILD_SUBREAPER:
            return ret_errno(prctl((int)a[0], GP(a[1]), a[2], a[3], a[4]));
        case PR_SET_SECCOMP: case PR_SET_MM: case PR_SET_SYSCALL_USER_DISPATCH:
            return -EINVAL;
        }
        return ret_errno(prctl((int)a[0], a[1], a[2], a[3], a[4]));
    case 168: return ret_errno(syscall(SYS_getcpu, GP(a[0]), GP(a[1]), NULL));
    case 172: return getpid();
    case 173: return getppid();
    case 174: return getuid();
    case 175: return geteuid();
    case 176: return getgid();
    case 177: return getegid();
    case 178: return ret_errno(syscall(SYS_gettid));
    case 179: return ret_errno(syscall(SYS_sysinfo, GP(a[0])));
    case 258: return -ENOSYS;   /* riscv_hwprobe: glibc falls back to AT_HWCAP */
    }
    return SC_NONE;
}
