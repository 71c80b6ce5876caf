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
};

struct user {
    struct guest_mem mem;
    struct tr *tr;
    struct cpu *cpu;
    const char *exe_path;
    uint64_t entry, phdr, phnum, load_bias;
    uint64_t sigreturn_tramp;
    /* signals */
    uint64_t sig_handler[65];
    uint64_t sig_flags[65];
    uint64_t sig_mask[65];
    uint64_t blocked;
    uint64_t pending;             /* signals sent to ourselves, not yet delivered */
    uint64_t suspend_saved;       /* rt_sigsuspend: the mask to restore after the handler */
    bool in_suspend;
    int exit_code;
    bool exited;                  /* exit_group: the whole process ends */
    int n_threads;
};

/* One guest thread: its CPU state and what the loop needs. */
struct uthread {
    struct cpu cpu;
    struct user *u;
    bool exited;
    uint64_t clear_tid;           /* CLONE_CHILD_CLEARTID address, or 0 */
    uint64_t set_tid;             /* CLONE_CHILD_SETTID address, or 0 */
    pid_t *tid_out;               /* where the starting thread reports its tid */
    void *started;                /* sem_t the parent waits on */
};
extern __thread struct uthread *user_thread;
#define UCPU (&user_thread->cpu)

/* thread.c */
int user_run(struct user *u, struct uthread *t);
long user_clone(struct user *u, uint64_t flags, uint64_t newsp, uint64_t ptid, uint64_t tls,
                uint64_t ctid);
void user_thread_exit(struct user *u, int code);

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

int elf_load(struct user *u, const char *path, char **argv, int argc, char **envp,
             const char *argv0, struct error **errp);

/* syscall.c: run the system call in cpu->x[17]; result in a0. */
void user_syscall(struct user *u);
/* signal.c */
void user_deliver_sync_signal(struct user *u, int sig, int code, uint64_t addr);
long user_rt_sigaction(struct user *u, int sig, uint64_t act, uint64_t oldact, uint64_t size);
long user_rt_sigreturn(struct user *u);
/* kill/tkill/tgkill aimed at this process: queue it for the guest. */
long user_self_signal(struct user *u, int sig);
/* Deliver queued signals that are not blocked. */
void user_deliver_pending(struct user *u);

#endif
