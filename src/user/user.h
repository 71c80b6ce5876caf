/* user.h - emu-user-riscv64: one riscv64 Linux process on the host.
 *
 * The guest address space is one host reservation (struct guest_mem):
 * guest address a is host address base + a for the whole run, so
 * translated code needs one add per access.  Guest mappings are host
 * mappings inside the reservation; a sorted list of them (vmas) gives
 * permissions for instruction fetch and address choice for mmap.
 */
#ifndef EMU_USER_H
#define EMU_USER_H

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include "common.h"
#include "error.h"
#include "cpu.h"
#include "exec.h"

#define GUEST_PAGE 4096u
#define GUEST_SPACE (UINT64_C(1) << 38)          /* 256 GiB, like Sv39 */
#define GUEST_PIE_BASE UINT64_C(0x0010000000)     /* where static-PIE loads */
#define GUEST_MMAP_BASE UINT64_C(0x2000000000)
#define GUEST_STACK_TOP UINT64_C(0x3ffffff000)
#define GUEST_STACK_SIZE (8u << 20)

struct vma {
    uint64_t start, end;
    int prot;
    /* file mappings, for /proc/self/maps: the file offset at START, the
     * file's device and inode, its guest path (interned; NULL: anonymous) */
    uint64_t off, ino;
    uint32_t dev_major, dev_minor;
    const char *name;
};

struct guest_mem {
    uint8_t *base;
    uint64_t size;
    struct vma *vmas;
    size_t n_vmas, cap_vmas;
    size_t last;                  /* fetch cache */
    uint8_t *code_bits;           /* 1 bit per guest page: write-protected because
                                     translated code came from it */
    uint64_t *code_pages;         /* the pages with the bit set */
    size_t n_code_pages, cap_code_pages;
    uint64_t brk_start, brk_cur, brk_mapped;
    char **names;                 /* the vmas' file names, each once */
    size_t n_names, cap_names;
    const char *sysroot;          /* -L: stripped from host paths of mapped files */
};

struct user {
    struct guest_mem mem;
    struct tr *tr;
    struct cpu *cpu;
    const char *exe_path;         /* the program's host path (/proc/self/exe) */
    const char *sysroot;          /* -L: absolute guest paths are looked up here first */
    const char *cpu_model;        /* -cpu as given, passed on by execve */
    const char *emu_argv0;        /* how we were started, for execve */
    const char *emu_path;         /* our own binary (when /proc is missing) */
    int gdb_fd;                   /* -g: the connection to gdb, or -1 */
    bool gdb_stopped_once;
    bool via_binfmt;              /* started by binfmt_misc: execve goes through it again */
    struct rlimit rlim_as;        /* the guest's RLIMIT_AS, kept from the host */
    uint64_t entry, phdr, phnum, load_bias;
    uint64_t stack_lo;            /* the main stack's lowest address */
    uint64_t args_lo, args_hi;    /* argv strings on the stack (/proc/self/cmdline) */
    uint64_t auxv[48];            /* the auxiliary vector as given (/proc/self/auxv) */
    size_t auxv_len;              /* in bytes */
    uint64_t sigreturn_tramp;
    /* signals: dispositions and process-directed pending signals */
    uint64_t sig_handler[65];
    uint64_t sig_flags[65];
    uint64_t sig_mask[65];
    uint64_t pending;
    siginfo_t info[65];
    int exit_code;
    bool exited;                  /* exit_group: the whole process ends */
    int n_threads;
    struct uthread *threads;      /* every live guest thread, under threads_lock */
    pthread_mutex_t threads_lock;
};

/* One guest thread: its CPU state and what the loop needs. */
struct uthread {
    struct cpu cpu;
    struct user *u;
    bool exited;
    uint64_t clear_tid;           /* CLONE_CHILD_CLEARTID address, or 0 */
    uint64_t set_tid;             /* CLONE_CHILD_SETTID address, or 0 */
    uint64_t parent_tid;          /* CLONE_PARENT_SETTID address, or 0 */
    pid_t *tid_out;               /* where the starting thread reports its tid */
    void *started;                /* sem_t the parent waits on */
    pid_t tid;
    struct uthread *next;         /* in u->threads */
    /* signals: this thread's mask, thread-directed pending signals,
     * alternate stack */
    uint64_t blocked;
    uint64_t pending;
    siginfo_t info[65];
    uint64_t suspend_saved;       /* rt_sigsuspend: the mask to restore after the handler */
    bool in_suspend;
    uint64_t ss_sp, ss_size;
    uint64_t robust_list;
};
extern __thread struct uthread *user_thread;
#define UCPU (&user_thread->cpu)

/* thread.c */
int user_run(struct user *u, struct uthread *t);
long user_clone(struct user *u, uint64_t flags, uint64_t newsp, uint64_t ptid, uint64_t tls,
                uint64_t ctid);
void user_thread_exit(struct user *u, int code);
/* Add/remove t in u->threads. */
void user_thread_register(struct user *u, struct uthread *t);
void user_thread_unregister(struct user *u, struct uthread *t);
/* fork-like clone (fork, vfork, posix_spawn's CLONE_VM|CLONE_VFORK) */
long user_fork(struct user *u, uint64_t flags, uint64_t newsp, uint64_t ptid, uint64_t tls,
               uint64_t ctid);

int gmem_init(struct guest_mem *m, struct error **errp);
void gmem_free(struct guest_mem *m);
static inline void *g2h(struct guest_mem *m, uint64_t a)
{
    return m->base + a;
}
/* True when [a, a+len) is inside the guest space. */
static inline bool gmem_range_ok(struct guest_mem *m, uint64_t a, uint64_t len)
{
    return a < m->size && len <= m->size - a;
}
/* Map at a fixed guest address (MAP_FIXED semantics inside the space). */
int64_t gmem_map(struct guest_mem *m, uint64_t addr, uint64_t len, int prot, int flags,
                 int fd, uint64_t off);
/* Find a free range of len bytes (hint first); 0 when none. */
uint64_t gmem_find_free(struct guest_mem *m, uint64_t hint, uint64_t len);
/* Record [addr, addr+len) as mapped with prot (the host pages are there). */
/* Record [addr, addr+len) as mapped (mremap moved it there); FROM: the
 * vma it came from, whose file attributes it keeps, or NULL. */
int gmem_map_record(struct guest_mem *m, uint64_t addr, uint64_t len, int prot,
                    const struct vma *from);
int gmem_unmap(struct guest_mem *m, uint64_t addr, uint64_t len);
int gmem_protect(struct guest_mem *m, uint64_t addr, uint64_t len, int prot);
const struct vma *gmem_find(struct guest_mem *m, uint64_t addr);
int gmem_fetch16(void *opaque, uint64_t pc);
/* Hooks for the translator (see struct tr): write-protect writable pages
 * that code was translated from, lift that on flush, and answer whether
 * an address is in such a page. */
void gmem_code_translated(void *opaque, uint64_t start, uint64_t end);
void gmem_code_flushed(void *opaque);
bool gmem_is_code_page(void *opaque, uint64_t addr);

/* 0 for a riscv64 executable header, -1 not ELF, -2 another machine */
int elf_check_header(const void *ehdr);
int elf_load(struct user *u, const char *path, char **argv, int argc, char **envp,
             const char *argv0, struct error **errp);

/* syscall.c: run the system call in cpu->x[17]; result in a0. */
void user_syscall(struct user *u);

/* The areas of system calls: each returns SC_NONE for a number it does
 * not know.  a[] are the six argument registers. */
#define SC_NONE (-100000L)
#define ARG_MAX_STR (128 * 1024)    /* longest argument string execve takes */
long sys_fs(struct user *u, int nr, const uint64_t *a);
long sys_net(struct user *u, int nr, const uint64_t *a);
long sys_proc(struct user *u, int nr, const uint64_t *a);

static inline long ret_errno(long r)
{
    return r < 0 ? -errno : r;
}
/* A guest pointer argument as a host pointer for the host kernel: NULL
 * stays NULL, an address outside the guest space becomes one the kernel
 * refuses with EFAULT. */
static inline void *gp(struct user *u, uint64_t a)
{
    if (!a)
        return NULL;
    if (a >= u->mem.size)
        return (void *)(uintptr_t)UINT64_C(0xffffffffffffe000);
    return u->mem.base + a;
}
#define GP(a) gp(u, (a))
/* Copies between guest memory and ours, checked against the guest's
 * mappings; -EFAULT when a page is not mapped (or not writable). */
int put_user(struct user *u, uint64_t ga, const void *src, size_t len);
int get_user(struct user *u, void *dst, uint64_t ga, size_t len);
/* A guest string into buf; -EFAULT or -ENAMETOOLONG. */
int get_user_str(struct user *u, char *buf, size_t len, uint64_t ga);

/* path.c: -L: an absolute guest path that exists below the sysroot is
 * used from there; /proc, /sys and /dev always the host's.  Returns path
 * or buf. */
const char *user_path(struct user *u, const char *path, char *buf, size_t len);
/* /proc/self/{exe,maps,auxv,cmdline} as the guest should see them: an
 * open fd, or SC_NONE when path is not one of them. */
int user_open_proc(struct user *u, const char *path, int flags);
/* readlink of /proc/self/exe; SC_NONE for other paths */
long user_readlink_proc(struct user *u, const char *path, uint64_t buf, uint64_t len);

/* gdbstub.c */
int gdb_listen(struct user *u, int port);
void gdb_stop(struct user *u, int sig);
void gdb_exited(struct user *u, int code);

/* strace.c */
const char *strace_name(int nr);
void strace_enter(struct user *u, int nr, const uint64_t *a);
void strace_leave(struct user *u, int nr, const uint64_t *a, long r);
/* signal.c */
#define SIG_KICK 64                /* host signal that interrupts a thread's system call */
void user_signals_init(struct user *u);
void user_deliver_sync_signal(struct user *u, int sig, int code, uint64_t addr);
long user_rt_sigaction(struct user *u, int sig, uint64_t act, uint64_t oldact, uint64_t size);
long user_rt_sigreturn(struct user *u);
long user_kill(struct user *u, pid_t pid, int sig);
long user_tgkill(struct user *u, pid_t tgid, pid_t tid, int sig);   /* tgid -1: tkill */
long user_sigaltstack(struct user *u, uint64_t ss, uint64_t old);
long user_sigsuspend(struct user *u, uint64_t mask, uint64_t size);
long user_sigtimedwait(struct user *u, uint64_t set, uint64_t info, uint64_t ts, uint64_t size);
/* A signal the current thread should take now. */
bool user_signal_ready(struct user *u);
/* Deliver the first pending signal that is not blocked (one frame). */
void user_deliver_pending(struct user *u);
/* An interrupted system call: restart it (guest SA_RESTART, or no
 * handler runs)? */
bool user_restart_allowed(struct user *u);

#endif
