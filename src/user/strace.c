/* strace.c - -strace: each system call with its arguments decoded the
 * way strace(1) shows them (descriptors, strings, flags, structures) and
 * its result with the errno name.  Calls that do not return (exit,
 * execve when it works) are printed when they start. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "user.h"
#include "log.h"

/* Argument kinds, one letter each in the table below:
 *   d int  u unsigned  x hex  p pointer  F descriptor  D dirfd  s string
 *   b buffer written by the guest (length in the next argument)
 *   r buffer filled by the call (length is the result)
 *   o open flags  m mode  P mmap prot  M mmap flags  S signal  c clone flags
 *   a sockaddr (length in the next argument)  f family  v string array
 *   t timespec  k sigset  A at-flags  w wait options  h how (sigprocmask) */
struct sc_info {
    int nr;
    const char *name;
    const char *args;
};

static const struct sc_info sc_table[] = {
    { 5, "setxattr", "sspux" }, { 17, "getcwd", "pu" }, { 19, "eventfd2", "ux" },
    { 20, "epoll_create1", "x" }, { 21, "epoll_ctl", "FdFp" }, { 22, "epoll_pwait", "Fpddpu" },
    { 23, "dup", "F" }, { 24, "dup3", "FFo" }, { 25, "fcntl", "Fdx" },
    { 26, "inotify_init1", "x" }, { 27, "inotify_add_watch", "Fsx" }, { 29, "ioctl", "Fxp" },
    { 32, "flock", "Fd" }, { 33, "mknodat", "Dsmx" }, { 34, "mkdirat", "Dsm" },
    { 35, "unlinkat", "DsA" }, { 36, "symlinkat", "sDs" }, { 37, "linkat", "DsDsA" },
    { 38, "renameat", "DsDs" }, { 43, "statfs", "sp" }, { 44, "fstatfs", "Fp" },
    { 45, "truncate", "sd" }, { 46, "ftruncate", "Fd" }, { 47, "fallocate", "Fddd" },
    { 48, "faccessat", "Dsd" }, { 49, "chdir", "s" }, { 50, "fchdir", "F" },
    { 51, "chroot", "s" }, { 52, "fchmod", "Fm" }, { 53, "fchmodat", "Dsm" },
    { 54, "fchownat", "DsddA" }, { 55, "fchown", "Fdd" }, { 56, "openat", "Dsom" },
    { 57, "close", "F" }, { 59, "pipe2", "po" }, { 61, "getdents64", "Fpu" },
    { 62, "lseek", "Fdd" }, { 63, "read", "Fru" }, { 64, "write", "Fbu" },
    { 65, "readv", "Fpd" }, { 66, "writev", "Fpd" }, { 67, "pread64", "Frud" },
    { 68, "pwrite64", "Fbud" }, { 69, "preadv", "Fpdd" }, { 70, "pwritev", "Fpdd" },
    { 71, "sendfile", "FFpu" }, { 72, "pselect6", "dppppp" }, { 73, "ppoll", "pdtku" },
    { 74, "signalfd4", "Fpux" }, { 76, "splice", "FpFpux" }, { 77, "tee", "FFux" },
    { 78, "readlinkat", "Dspu" }, { 79, "newfstatat", "DspA" }, { 80, "fstat", "Fp" },
    { 81, "sync", "" }, { 82, "fsync", "F" }, { 83, "fdatasync", "F" },
    { 85, "timerfd_create", "dx" }, { 86, "timerfd_settime", "Fdpp" },
    { 87, "timerfd_gettime", "Fp" }, { 88, "utimensat", "DspA" }, { 90, "capget", "pp" },
    { 91, "capset", "pp" }, { 92, "personality", "x" }, { 93, "exit", "d" },
    { 94, "exit_group", "d" }, { 95, "waitid", "ddpwp" }, { 96, "set_tid_address", "p" },
    { 98, "futex", "pdupud" }, { 99, "set_robust_list", "pu" }, { 100, "get_robust_list", "dpp" },
    { 101, "nanosleep", "tp" }, { 102, "getitimer", "dp" }, { 103, "setitimer", "dpp" },
    { 107, "timer_create", "dpp" }, { 108, "timer_gettime", "dp" },
    { 109, "timer_getoverrun", "d" }, { 110, "timer_settime", "ddpp" },
    { 111, "timer_delete", "d" }, { 112, "clock_settime", "dt" }, { 113, "clock_gettime", "dp" },
    { 114, "clock_getres", "dp" }, { 115, "clock_nanosleep", "ddtp" },
    { 118, "sched_setparam", "dp" }, { 119, "sched_setscheduler", "ddp" },
    { 120, "sched_getscheduler", "d" }, { 121, "sched_getparam", "dp" },
    { 122, "sched_setaffinity", "dup" }, { 123, "sched_getaffinity", "dup" },
    { 124, "sched_yield", "" }, { 129, "kill", "dS" }, { 130, "tkill", "dS" },
    { 131, "tgkill", "ddS" }, { 132, "sigaltstack", "pp" }, { 133, "rt_sigsuspend", "ku" },
    { 134, "rt_sigaction", "Sppu" }, { 135, "rt_sigprocmask", "hkpu" },
    { 136, "rt_sigpending", "pu" }, { 137, "rt_sigtimedwait", "kppu" },
    { 139, "rt_sigreturn", "" }, { 140, "setpriority", "ddd" }, { 141, "getpriority", "dd" },
    { 143, "setregid", "dd" }, { 144, "setgid", "d" }, { 145, "setreuid", "dd" },
    { 146, "setuid", "d" }, { 147, "setresuid", "ddd" }, { 148, "getresuid", "ppp" },
    { 149, "setresgid", "ddd" }, { 150, "getresgid", "ppp" }, { 153, "times", "p" },
    { 154, "setpgid", "dd" }, { 155, "getpgid", "d" }, { 156, "getsid", "d" },
    { 157, "setsid", "" }, { 158, "getgroups", "dp" }, { 159, "setgroups", "dp" },
    { 160, "uname", "p" }, { 163, "getrlimit", "dp" }, { 164, "setrlimit", "dp" },
    { 165, "getrusage", "dp" }, { 166, "umask", "m" }, { 167, "prctl", "dxxxx" },
    { 168, "getcpu", "ppp" }, { 169, "gettimeofday", "pp" }, { 172, "getpid", "" },
    { 173, "getppid", "" }, { 174, "getuid", "" }, { 175, "geteuid", "" },
    { 176, "getgid", "" }, { 177, "getegid", "" }, { 178, "gettid", "" },
    { 179, "sysinfo", "p" }, { 198, "socket", "fdd" }, { 199, "socketpair", "fddp" },
    { 200, "bind", "Fau" }, { 201, "listen", "Fd" }, { 202, "accept", "Fpp" },
    { 203, "connect", "Fau" }, { 204, "getsockname", "Fpp" }, { 205, "getpeername", "Fpp" },
    { 206, "sendto", "Fbuxau" }, { 207, "recvfrom", "Fruxpp" }, { 208, "setsockopt", "Fddpu" },
    { 209, "getsockopt", "Fddpp" }, { 210, "shutdown", "Fd" }, { 211, "sendmsg", "Fpx" },
    { 212, "recvmsg", "Fpx" }, { 214, "brk", "p" }, { 215, "munmap", "pu" },
    { 216, "mremap", "puuxp" }, { 220, "clone", "cpppp" }, { 221, "execve", "svp" },
    { 222, "mmap", "puPMFx" }, { 223, "fadvise64", "Fddd" }, { 226, "mprotect", "puP" },
    { 227, "msync", "pux" }, { 228, "mlock", "pu" }, { 229, "munlock", "pu" },
    { 232, "mincore", "pup" }, { 233, "madvise", "pud" }, { 242, "accept4", "Fppx" },
    { 243, "recvmmsg", "Fpuxp" }, { 258, "riscv_hwprobe", "pupux" },
    { 259, "riscv_flush_icache", "ppx" }, { 260, "wait4", "dpwp" }, { 261, "prlimit64", "ddpp" },
    { 267, "syncfs", "F" }, { 269, "sendmmsg", "Fpux" }, { 276, "renameat2", "DsDsx" },
    { 278, "getrandom", "pux" }, { 279, "memfd_create", "sx" }, { 281, "execveat", "Dsvpx" },
    { 283, "membarrier", "dx" }, { 285, "copy_file_range", "FpFpux" },
    { 286, "preadv2", "Fpddx" }, { 287, "pwritev2", "Fpddx" }, { 291, "statx", "DsAxp" },
    { 293, "rseq", "puxx" }, { 435, "clone3", "pu" }, { 436, "close_range", "uux" },
    { 439, "faccessat2", "DsdA" }, { 441, "epoll_pwait2", "Fpdtpu" },
};

static const struct sc_info *sc_find(int nr)
{
    for (size_t i = 0; i < ARRAY_SIZE(sc_table); i++)
        if (sc_table[i].nr == nr)
            return &sc_table[i];
    return NULL;
}

const char *strace_name(int nr)
{
    const struct sc_info *s = sc_find(nr);
    return s ? s->name : "?";
}

struct flag_name {
    uint64_t bit;
    const char *name;
};

static void put_flags(FILE *f, uint64_t v, const struct flag_name *t, size_t n, const char *zero)
{
    bool any = false;
    for (size_t i = 0; i < n; i++)
        if (t[i].bit && (v & t[i].bit) == t[i].bit) {
            fprintf(f, "%s%s", any ? "|" : "", t[i].name);
            v &= ~t[i].bit;
            any = true;
        }
    if (v || !any) {
        if (any)
            fprintf(f, "|%#" PRIx64, v);
        else if (zero && !v)
            fputs(zero, f);
        else
            fprintf(f, "%#" PRIx64, v);
    }
}

#define FL(x) { x, #x }
static const struct flag_name open_flags[] = {
    FL(O_WRONLY), FL(O_RDWR), FL(O_CREAT), FL(O_EXCL), FL(O_NOCTTY), FL(O_TRUNC), FL(O_APPEND),
    FL(O_NONBLOCK), FL(O_DSYNC), FL(O_DIRECT), FL(O_LARGEFILE), FL(O_DIRECTORY),
    FL(O_NOFOLLOW), FL(O_NOATIME), FL(O_CLOEXEC), FL(O_PATH), { 04010000, "O_SYNC" },
};
static const struct flag_name prot_flags[] = { FL(PROT_READ), FL(PROT_WRITE), FL(PROT_EXEC) };
static const struct flag_name map_flags[] = {
    FL(MAP_SHARED), FL(MAP_PRIVATE), FL(MAP_FIXED), FL(MAP_ANONYMOUS), FL(MAP_NORESERVE),
    FL(MAP_POPULATE), FL(MAP_STACK), FL(MAP_GROWSDOWN), FL(MAP_DENYWRITE),
    FL(MAP_FIXED_NOREPLACE),
};
static const struct flag_name clone_flags[] = {
    FL(CLONE_VM), FL(CLONE_FS), FL(CLONE_FILES), FL(CLONE_SIGHAND), FL(CLONE_PIDFD),
    FL(CLONE_PTRACE), FL(CLONE_VFORK), FL(CLONE_PARENT), FL(CLONE_THREAD), FL(CLONE_NEWNS),
    FL(CLONE_SYSVSEM), FL(CLONE_SETTLS), FL(CLONE_PARENT_SETTID), FL(CLONE_CHILD_CLEARTID),
    FL(CLONE_DETACHED), FL(CLONE_CHILD_SETTID),
};
static const struct flag_name at_flags[] = {
    FL(AT_SYMLINK_NOFOLLOW), FL(AT_REMOVEDIR), FL(AT_SYMLINK_FOLLOW), FL(AT_NO_AUTOMOUNT),
    FL(AT_EMPTY_PATH), FL(AT_EACCESS),
};
static const struct flag_name wait_flags[] = {
    FL(WNOHANG), FL(WUNTRACED), FL(WEXITED), FL(WCONTINUED), FL(WNOWAIT), FL(__WALL),
    FL(__WCLONE),
};
static const char *const sig_names[] = {
    "0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
    "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
    "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
    "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
};

static void put_sig(FILE *f, uint64_t s)
{
    if (s < ARRAY_SIZE(sig_names))
        fputs(sig_names[s], f);
    else if (s <= 64)
        fprintf(f, "SIGRT_%d", (int)s - 32);
    else
        fprintf(f, "%d", (int)s);
}

/* a guest string, escaped and cut like strace -s 32 */
static void put_str(FILE *f, struct user *u, uint64_t ga, long len)
{
    if (!ga) {
        fputs("NULL", f);
        return;
    }
    char buf[33];
    bool nul = len < 0;
    size_t want = len < 0 ? 32 : (size_t)MIN(len, 32);
    size_t got = 0;
    for (; got < want; got++)
        if (get_user(u, &buf[got], ga + got, 1) < 0)
            break;
    if (got == 0 && want) {
        fprintf(f, "0x%" PRIx64, ga);
        return;
    }
    fputc('"', f);
    size_t i = 0;
    for (; i < got; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (nul && c == 0)
            break;
        switch (c) {
        case '\n': fputs("\\n", f); break;
        case '\t': fputs("\\t", f); break;
        case '\r': fputs("\\r", f); break;
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        default:
            if (c >= 32 && c < 127)
                fputc(c, f);
            else
                fprintf(f, "\\%o", c);
        }
    }
    fputc('"', f);
    if ((nul && i == got && got == 32) || (!nul && len > 32))
        fputs("...", f);
}

static void put_sockaddr(FILE *f, struct user *u, uint64_t ga, uint64_t len)
{
    struct sockaddr_storage ss;
    if (!ga || len < 2 || len > sizeof(ss) || get_user(u, &ss, ga, len) < 0) {
        fprintf(f, "0x%" PRIx64, ga);
        return;
    }
    char addr[64];
    if (ss.ss_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
        fprintf(f, "{sa_family=AF_INET, sin_port=htons(%u), sin_addr=inet_addr(\"%s\")}",
                ntohs(in->sin_port), addr);
    } else if (ss.ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 *in = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in->sin6_addr, addr, sizeof(addr));
        fprintf(f, "{sa_family=AF_INET6, sin6_port=htons(%u), sin6_addr=\"%s\"}",
                ntohs(in->sin6_port), addr);
    } else if (ss.ss_family == AF_UNIX) {
        fputs("{sa_family=AF_UNIX, sun_path=", f);
        put_str(f, u, ga + 2, -1);
        fputc('}', f);
    } else {
        fprintf(f, "{sa_family=%u, ...}", ss.ss_family);
    }
}

static void put_arg(FILE *f, struct user *u, char kind, const uint64_t *a, int i, long r)
{
    uint64_t v = a[i];
    switch (kind) {
    case 'd': case 'F': fprintf(f, "%d", (int)v); break;
    case 'u': fprintf(f, "%" PRIu64, v); break;
    case 'D':
        if ((int)v == AT_FDCWD)
            fputs("AT_FDCWD", f);
        else
            fprintf(f, "%d", (int)v);
        break;
    case 's': put_str(f, u, v, -1); break;
    case 'b': put_str(f, u, v, (long)a[i + 1]); break;
    case 'r':
        if (r >= 0)
            put_str(f, u, v, r);
        else
            fprintf(f, "0x%" PRIx64, v);
        break;
    case 'o': {
        int acc = (int)v & O_ACCMODE;
        fputs(acc == O_RDONLY ? "O_RDONLY" : acc == O_WRONLY ? "O_WRONLY" : "O_RDWR", f);
        if (v & ~(uint64_t)O_ACCMODE) {
            fputc('|', f);
            put_flags(f, v & ~(uint64_t)O_ACCMODE, open_flags + 2, ARRAY_SIZE(open_flags) - 2,
                      NULL);
        }
        break;
    }
    case 'm': fprintf(f, "0%03o", (unsigned)v); break;
    case 'P': put_flags(f, v, prot_flags, ARRAY_SIZE(prot_flags), "PROT_NONE"); break;
    case 'M': put_flags(f, v, map_flags, ARRAY_SIZE(map_flags), NULL); break;
    case 'A': put_flags(f, v, at_flags, ARRAY_SIZE(at_flags), "0"); break;
    case 'w': put_flags(f, v, wait_flags, ARRAY_SIZE(wait_flags), "0"); break;
    case 'c':
        put_flags(f, v & ~UINT64_C(0xff), clone_flags, ARRAY_SIZE(clone_flags), "0");
        if (v & 0xff) {
            fputc('|', f);
            put_sig(f, v & 0xff);
        }
        break;
    case 'S': put_sig(f, v); break;
    case 'h':
        fputs(v == SIG_BLOCK ? "SIG_BLOCK" : v == SIG_UNBLOCK ? "SIG_UNBLOCK"
              : v == SIG_SETMASK ? "SIG_SETMASK" : "?", f);
        break;
    case 'k': {
        uint64_t m;
        if (!v) {
            fputs("NULL", f);
        } else if (get_user(u, &m, v, 8) < 0) {
            fprintf(f, "0x%" PRIx64, v);
        } else {
            fputc('[', f);
            bool first = true;
            for (int s = 1; s <= 64; s++)
                if ((m >> (s - 1)) & 1) {
                    if (!first)
                        fputc(' ', f);
                    char nb[16];
                    if (s < (int)ARRAY_SIZE(sig_names))
                        fputs(sig_names[s] + 3, f);
                    else {
                        snprintf(nb, sizeof(nb), "RT_%d", s - 32);
                        fputs(nb, f);
                    }
                    first = false;
                }
            fputc(']', f);
        }
        break;
    }
    case 't': {
        int64_t ts[2];
        if (!v)
            fputs("NULL", f);
        else if (get_user(u, ts, v, sizeof(ts)) < 0)
            fprintf(f, "0x%" PRIx64, v);
        else
            fprintf(f, "{tv_sec=%" PRId64 ", tv_nsec=%" PRId64 "}", ts[0], ts[1]);
        break;
    }
    case 'a': put_sockaddr(f, u, v, a[i + 1]); break;
    case 'f':
        fputs(v == AF_UNIX ? "AF_UNIX" : v == AF_INET ? "AF_INET" : v == AF_INET6 ? "AF_INET6"
              : v == AF_NETLINK ? "AF_NETLINK" : "?", f);
        if (v != AF_UNIX && v != AF_INET && v != AF_INET6 && v != AF_NETLINK)
            fprintf(f, "%d", (int)v);
        break;
    case 'v': {
        fputc('[', f);
        for (int k = 0; k < 8; k++) {
            uint64_t p;
            if (get_user(u, &p, v + 8 * (uint64_t)k, 8) < 0 || !p)
                break;
            if (k)
                fputs(", ", f);
            put_str(f, u, p, -1);
        }
        fputc(']', f);
        break;
    }
    case 'p':
        if (!v)
            fputs("NULL", f);
        else
            fprintf(f, "0x%" PRIx64, v);
        break;
    default: fprintf(f, "%#" PRIx64, v); break;
    }
}

static void emit(struct user *u, int nr, const uint64_t *a, long r, bool done)
{
    char *line = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&line, &size);
    if (!f)
        return;
    const struct sc_info *s = sc_find(nr);
    if (s) {
        fprintf(f, "%d %s(", (int)gettid(), s->name);
        for (int i = 0; s->args[i]; i++) {
            if (i)
                fputs(", ", f);
            put_arg(f, u, s->args[i], a, i, r);
        }
    } else {
        fprintf(f, "%d syscall_%d(%#" PRIx64 ", %#" PRIx64 ", %#" PRIx64 ", %#" PRIx64,
                (int)gettid(), nr, a[0], a[1], a[2], a[3]);
    }
    fputc(')', f);
    if (!done)
        fputs(" = ?", f);
    else if (r < 0 && r >= -4095)
        fprintf(f, " = -1 %s (%s)", strerrorname_np((int)-r) ? strerrorname_np((int)-r) : "E?",
                strerror((int)-r));
    else if (nr == 222 || nr == 214 || nr == 216)
        fprintf(f, " = %#lx", (unsigned long)r);
    else
        fprintf(f, " = %ld", r);
    fclose(f);
    log_msg(LOG_STRACE, "%s", line);
    free(line);
}

void strace_enter(struct user *u, int nr, const uint64_t *a)
{
    if (nr == 93 || nr == 94 || nr == 221 || nr == 281)
        emit(u, nr, a, 0, false);
}

void strace_leave(struct user *u, int nr, const uint64_t *a, long r)
{
    if (nr == 93 || nr == 94)
        return;
    emit(u, nr, a, r, true);
}
