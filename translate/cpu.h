/* cpu.h - the guest CPU state the translated code works on.
 *
 * One `struct cpu` per guest thread.  Translated code addresses it through a
 * fixed host register (see x86_64/backend.c), so the layout is part of the
 * translator's contract: integer registers first, then FP registers, then
 * the program counter.  The fields after `pc` are bookkeeping of the
 * execution loop.  The guest-specific parts (x[], f[], fcsr) are RISC-V
 * today; another guest adds its own register file after these.
 */
#ifndef EMU_TR_CPU_H
#define EMU_TR_CPU_H

#include "common.h"

#define CPU_TMPS 16          /* IR temporaries live in cpu->tmp[] */
#define CPU_JC_BITS 10       /* per-thread jump cache: 1024 entries */
#define CPU_JC_SIZE (1u << CPU_JC_BITS)

/* Why translated code returned to the execution loop. */
enum cpu_exit {
    CPU_EXIT_CHAIN = 0,      /* end of a block; cpu->pc holds the next pc */
    CPU_EXIT_ECALL,          /* system call at cpu->pc */
    CPU_EXIT_EBREAK,         /* breakpoint at cpu->pc */
    CPU_EXIT_ILLEGAL,        /* illegal instruction at cpu->pc */
    CPU_EXIT_FAULT,          /* memory fault: cpu->fault_addr, cpu->fault_sig */
    CPU_EXIT_FLUSH,          /* fence.i: flush translations, go on at cpu->pc */
    CPU_EXIT_HALT,           /* program asked to stop (exit) */
    CPU_EXIT_INTERRUPT,      /* cpu->exit_req was set (a signal arrived); cpu->pc is exact */
};

struct cpu_jc_entry {
    uint64_t pc;
    void *code;
};

struct cpu {
    uint64_t x[32];          /* offset 0: integer registers, x[0] == 0 */
    uint64_t f[32];          /* offset 256: FP registers (NaN-boxed singles) */
    uint64_t pc;             /* offset 512 */
    uint64_t tmp[CPU_TMPS];  /* IR temporaries */
    uint32_t fflags;         /* accrued exception flags (NV DZ OF UF NX) */
    uint32_t frm;            /* dynamic rounding mode */
    uint64_t res_addr;       /* LR/SC reservation (guest address, or ~0) */
    uint64_t res_val;        /* value seen by LR */
    uint64_t guest_base;     /* host address of guest address 0 */
    uint64_t fault_addr;     /* CPU_EXIT_FAULT: guest address */
    int fault_sig;           /* CPU_EXIT_FAULT: host signal (SIGSEGV/SIGBUS) */
    int fault_code;          /* CPU_EXIT_FAULT: si_code */
    uint64_t exit_pc;        /* CHAIN exits: where the exiting jump sits */
    void *chain_from;        /* CHAIN exits: the patchable jump, or NULL */
    uint64_t insn_count;     /* instructions counted by the interpreter */
    uint64_t features;       /* enabled extensions: RV_EXT_* bits */
    volatile uint32_t exit_req;  /* set asynchronously: leave translated code soon */
    uint32_t flush_req;      /* translations assume a state that changed (set
                                outside translated code, e.g. by rt_sigreturn):
                                tr_run drops them before running on */
    void *ctx;               /* owner (user-mode process state) */
    struct cpu_jc_entry jc[CPU_JC_SIZE];
    uint64_t seen_flushes;   /* tr->n_flushes when jc was last valid (threads) */
};

/* System mode: a software TLB.  Translated code finds the entry for a
 * virtual address at index (addr >> 12) & (CPU_TLB_SIZE - 1) and compares
 * the page of the access's last byte with tag_r (loads) or tag_w
 * (stores); on a match the host address is addr + addend.  A tag that
 * cannot match (its low 12 bits are set) sends the access to the slow path:
 * a miss, device memory, a page holding translated code, or a page that
 * PMP does not allow as a whole.  tag_x serves instruction fetch, in C.
 *
 * One struct cpu_tlb_ctx per translation context (privilege mode, and for
 * S-mode the SUM bit): r15 (cpu->guest_base) points at the current one,
 * so a context switch costs nothing and the TLBs of the others survive.
 * Each context also has its own jump cache (virtual pc -> code), since
 * the same virtual pc means different code in different contexts; both
 * are emptied when the context's address space changes (satp, sfence.vma). */
#define CPU_TLB_BITS 11
#define CPU_TLB_SIZE (1u << CPU_TLB_BITS)
#define CPU_TLB_INVALID (~UINT64_C(0))

struct cpu_tlb_entry {
    uint64_t tag_r, tag_w, tag_x;
    uint64_t addend;
};

/* a system's code is larger than a process's: a bigger jump cache */
#define CPU_CTX_JC_BITS 12
#define CPU_CTX_JC_SIZE (1u << CPU_CTX_JC_BITS)

struct cpu_tlb_ctx {
    struct cpu_tlb_entry tlb[CPU_TLB_SIZE];
    struct cpu_jc_entry jc[CPU_CTX_JC_SIZE];
    /* a hashed set of the virtual pages the jump cache holds code of,
     * so that dropping one page's entries rarely has to look at all */
    uint64_t jc_pages[64];
    /* the entries filled since the last flush (TLB index, or jump-cache
     * index | CPU_CTX_LOG_JC), so that a flush of a lightly used context
     * does not have to clear all of it; n_log past CPU_CTX_LOG: clear all */
    uint32_t n_log;
    uint16_t log[256];
    /* Entries that came from non-global mappings (the owner sets tlb_ng;
     * jc_install sets jc_ng when code_global, which the owner's code
     * lookup sets, is false): an address-space switch drops only these. */
    uint64_t tlb_ng[CPU_TLB_SIZE / 64];
    uint64_t jc_ng[CPU_CTX_JC_SIZE / 64];
    bool code_global;
};
#define CPU_CTX_LOG 256
#define CPU_CTX_LOG_JC 0x8000
_Static_assert(CPU_TLB_SIZE <= CPU_CTX_LOG_JC && CPU_CTX_JC_SIZE <= CPU_CTX_LOG_JC,
               "flush-log entries must fit in 15 bits");
static inline void cpu_ctx_log(struct cpu_tlb_ctx *c, unsigned entry)
{
    if (c->n_log < CPU_CTX_LOG)
        c->log[c->n_log] = (uint16_t)entry;
    if (c->n_log <= CPU_CTX_LOG)
        c->n_log++;
}
static inline unsigned cpu_jc_page_bit(uint64_t pc)
{
    uint64_t p = pc >> 12;
    return (unsigned)((p ^ (p >> 12) ^ (p >> 24)) & 4095);
}
#define CPU_TLB_OFF_JC ((int)offsetof(struct cpu_tlb_ctx, jc))

#define CPU_OFF_X(i) ((int)(offsetof(struct cpu, x) + 8 * (i)))
#define CPU_OFF_F(i) ((int)(offsetof(struct cpu, f) + 8 * (i)))
#define CPU_OFF_TMP(i) ((int)(offsetof(struct cpu, tmp) + 8 * (i)))
#define CPU_OFF(field) ((int)offsetof(struct cpu, field))

#endif
