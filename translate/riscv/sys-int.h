/* sys-int.h - inside RISC-V system mode: the hart, its CSRs, MMU and traps.
 *
 * Files:
 *   sys-hart.c  the harts' threads and run loop, interrupts, WFI, start/stop
 *   sys-trap.c  taking traps, mret/sret/wfi/sfence.vma, privilege checks
 *   sys-csr.c   the CSR file (privileged spec 1.12) and the counters
 *   sys-mmu.c   Sv39/Sv48 page walks with A/D updates, PMP, the TLB contexts
 *   sys-mem.c   the translator's slow paths: loads, stores, atomics, fetch
 *   sys-isa.c   -cpu parsing and the device-tree ISA strings
 *
 * Locking: a hart's own state (everything below but mip_hw) belongs to
 * its thread.  mip_hw is written by devices (any thread, under hw_lock)
 * with atomic operations; the wait lock pairs with WFI's sleep so that a
 * kick is never lost.  The translator's lock (tr_lock) guards blocks and
 * the code-page map.
 */
#ifndef EMU_TR_RISCV_SYS_INT_H
#define EMU_TR_RISCV_SYS_INT_H

#include <pthread.h>
#include "riscv/sys.h"
#include "riscv/riscv.h"
#include "exec.h"
#include "hw/hw.h"
#include "hw/mem.h"
#include "hw/machine.h"

enum { RV_PRIV_U = 0, RV_PRIV_S = 1, RV_PRIV_M = 3 };

/* Translation contexts (cpu.h: one TLB and jump cache each). */
enum { RV_CTX_U, RV_CTX_S, RV_CTX_S_SUM, RV_CTX_M, RV_CTX_MPRV, RV_N_CTX };

/* mstatus */
#define MST_SIE   (UINT64_C(1) << 1)
#define MST_MIE   (UINT64_C(1) << 3)
#define MST_SPIE  (UINT64_C(1) << 5)
#define MST_MPIE  (UINT64_C(1) << 7)
#define MST_SPP   (UINT64_C(1) << 8)
#define MST_MPP_SHIFT 11
#define MST_MPP   (UINT64_C(3) << MST_MPP_SHIFT)
#define MST_FS_SHIFT 13
#define MST_FS    (UINT64_C(3) << MST_FS_SHIFT)
#define MST_MPRV  (UINT64_C(1) << 17)
#define MST_SUM   (UINT64_C(1) << 18)
#define MST_MXR   (UINT64_C(1) << 19)
#define MST_TVM   (UINT64_C(1) << 20)
#define MST_TW    (UINT64_C(1) << 21)
#define MST_TSR   (UINT64_C(1) << 22)
#define MST_UXL_SXL (UINT64_C(0xa) << 32)       /* both 64-bit, read-only */
#define MST_SD    (UINT64_C(1) << 63)

#define MENVCFG_STCE (UINT64_C(1) << 63)

/* exception causes */
enum {
    RV_EXC_INSN_MISALIGNED = 0, RV_EXC_INSN_ACCESS = 1, RV_EXC_ILLEGAL = 2,
    RV_EXC_BREAKPOINT = 3, RV_EXC_LOAD_MISALIGNED = 4, RV_EXC_LOAD_ACCESS = 5,
    RV_EXC_STORE_MISALIGNED = 6, RV_EXC_STORE_ACCESS = 7, RV_EXC_ECALL_U = 8,
    RV_EXC_ECALL_S = 9, RV_EXC_ECALL_M = 11, RV_EXC_INSN_PAGE = 12,
    RV_EXC_LOAD_PAGE = 13, RV_EXC_STORE_PAGE = 15,
};

/* kinds of access */
enum { RV_ACC_LOAD, RV_ACC_STORE, RV_ACC_FETCH };

#define RV_PMP_N 16

struct rv_hart {
    struct cpu cpu;             /* first: translated code's view (container_of) */
    struct rv_sys *sys;
    int id;

    int priv;
    uint64_t mstatus;
    uint64_t medeleg, mideleg, mie;
    uint64_t mip_sw;            /* bits software writes: SSIP, STIP (without Sstc), SEIP */
    uint64_t mip_hw;            /* bits devices drive (atomic): MSIP, MTIP, MEIP, SEIP */
    uint64_t mtvec, mepc, mcause, mtval, mscratch;
    uint64_t stvec, sepc, scause, stval, sscratch, satp;
    uint64_t mcounteren, scounteren, mcountinhibit, menvcfg, senvcfg;
    uint64_t stimecmp;
    int64_t cycle_offset, instret_offset;
    uint8_t pmpcfg[RV_PMP_N];
    uint64_t pmpaddr[RV_PMP_N];
    bool pmp_active;            /* some entry is not OFF */
    uint64_t pmp_lo[RV_PMP_N], pmp_hi[RV_PMP_N];   /* decoded ranges (inclusive) */
    bool pmp_on[RV_PMP_N];
    /* what PMP grants whole pages: key page | priv, value PROT bits | 8
     * when uniform over the page (0 unknown); emptied when PMP changes */
    struct { uint64_t key; int prot; } pmp_cache[64];
    bool pmp_locked;            /* some entry has L (then M-mode is checked too) */

    /* TLB contexts (cpu.guest_base points at the current one) */
    struct cpu_tlb_ctx *ctx;
    uint64_t (*ctx_phys)[CPU_TLB_SIZE];      /* physical page of each entry */
    /* ranges covered by superpages entered into the TLB (as 4 KiB
     * pieces): an sfence.vma inside one flushes the whole context.  A few
     * separate ranges, so that the kernel's image and its linear map do
     * not merge into one that covers every kernel address */
#define RV_LP_RANGES 4
    uint64_t lp_base[RV_N_CTX][RV_LP_RANGES], lp_mask[RV_N_CTX][RV_LP_RANGES];
    /* Device pages never enter the TLB (every access must reach the
     * device), but their translations are kept here so that a driver's
     * register accesses need not walk the page tables each time:
     * virtual page -> physical page and region, per access kind; emptied
     * with the context */
#define RV_IO_TLB 8
    struct rv_io_tlb {
        uint64_t tag_r, tag_w, ppage;
        const struct mem_region *reg;
    } io_tlb[RV_N_CTX][RV_IO_TLB];
    bool ctx_used[RV_N_CTX];
    int cur_ctx;
    uint64_t mprv_key;          /* MPP/SUM/MXR the MPRV context was filled under */

    /* code fetch: the page of the block being translated */
    uint64_t fetch_vpage, fetch_ppage;
    bool last_global;           /* rv_mmu_access's last translation was global */

    /* an exception a helper or slow path raised (CPU_EXIT_FAULT / _ILLEGAL) */
    bool exc_pending;
    uint64_t exc_cause, exc_tval;

    /* the thread */
    pthread_t thread;
    bool thread_started;
    int tid;                    /* the thread's Linux id (atomic; 0 before it runs) */
    pthread_mutex_t wait_lock;
    pthread_cond_t wait_cond;
    bool wfi;
    int stop;                   /* atomic: leave the run loop */
    bool dbg_step;              /* the debugger steps this hart (sys-debug.c) */
    struct hw_timer *stimer;    /* Sstc: stimecmp's deadline */
};

struct rv_sys {
    struct tr *tr;
    struct rv_hart **harts;
    int n_harts;
    struct mem_map *mem;
    struct machine *machine;
    void (*request)(struct machine *m, enum machine_event ev, int exit_code);
    struct loop *loop;
    uint64_t ext;
    uint64_t reset_pc;
    /* pages of RAM that hold translated code: one byte per page of each
     * RAM region (index as mem->r[]), set under the translator's lock */
    uint8_t *code_map[MEM_MAX_REGIONS];
    const struct mem_region *ram;   /* the largest RAM region (page walks look here first) */
    /* counters for EMU_STATS=1 (printed when the machine goes away);
     * updated without atomics: approximate with several harts */
    uint64_t st_exit[16], st_ld_slow, st_st_slow, st_walk, st_runs, st_code, st_code_hit;
    bool running;
    struct rv_dbg *dbg;         /* the debugger's state, once one asked (sys-debug.c) */
};

static inline struct rv_hart *rv_hart_of(struct cpu *cpu)
{
    return container_of(cpu, struct rv_hart, cpu);
}

/* sys-hart.c */
uint64_t rv_mip(struct rv_hart *h);
/* The interrupt to take now (mip & mie, delegation, global enables), or -1. */
int rv_pending_irq(struct rv_hart *h);
void rv_hart_kick(struct rv_hart *h);
uint64_t rv_time(void);                  /* mtime, 10 MHz */

/* Start one hart's thread from its current state (the loop thread). */
int rv_hart_start(struct rv_hart *h, struct error **errp);

/* sys-debug.c: hooks of the run loop.  A hart that took an ebreak asks
 * whether it is the debugger's (then it stops for it: true); a stepping
 * hart reports the end of each tr_run (one instruction, or a trap).
 * rv_dbg_free: from rv_sys_free. */
bool rv_dbg_ebreak(struct rv_hart *h);
void rv_dbg_stepped(struct rv_hart *h);
void rv_dbg_free(struct rv_sys *s);

/* sys-trap.c */
void rv_trap(struct rv_hart *h, uint64_t cause, bool irq, uint64_t tval);
/* Record an exception for the run loop to take (returns CPU_EXIT_FAULT). */
int rv_raise(struct rv_hart *h, uint64_t cause, uint64_t tval);
const char *rv_cause_name(uint64_t cause, bool irq);

/* sys-csr.c */
void rv_csr_reset(struct rv_hart *h);
void rv_sstc_update(struct rv_hart *h);  /* re-arm the Sstc timer */
/* The debugger's CSR access: any privilege; 0 or -ENOENT/-EPERM. */
int rv_csr_debug_read(struct rv_hart *h, unsigned csr, uint64_t *out);
int rv_csr_debug_write(struct rv_hart *h, unsigned csr, uint64_t v);

/* sys-mmu.c */
int rv_mmu_init(struct rv_hart *h, struct error **errp);
void rv_mmu_free(struct rv_hart *h);
void rv_select_ctx(struct rv_hart *h);   /* cpu.guest_base for the current mode */
void rv_tlb_flush_all(struct rv_hart *h);            /* every context */
void rv_tlb_flush_vm(struct rv_hart *h);             /* the translated (S/U) contexts */
void rv_tlb_flush_nonglobal(struct rv_hart *h);      /* ... but what global mappings gave */
void rv_tlb_flush_page(struct rv_hart *h, uint64_t va);
void rv_pmp_changed(struct rv_hart *h);
/* Translate va for an access of size bytes (within one page) by the
 * current data mode (fetch: the current privilege).  0 with *pa, or an
 * exception cause (with *tval) to raise.  fill: enter the page in the
 * current context's TLB when it may be. */
int rv_mmu_access(struct rv_hart *h, uint64_t va, int size, int acc, uint64_t *pa, bool fill);
/* The physical page holds translated code: no write may pass the TLB. */
void rv_mmu_code_page(struct rv_sys *s, uint64_t page);
bool rv_is_code_page(struct rv_sys *s, uint64_t pa);
/* A store is about to change a physical page: drop its translations. */
void rv_code_write(struct rv_sys *s, uint64_t pa, uint64_t len);

/* sys-mem.c */
uint64_t rv_sys_ld_slow(struct cpu *cpu, uint64_t va, uint32_t info, uint64_t *frame, uintptr_t ret);
void rv_sys_st_slow(struct cpu *cpu, uint64_t va, uint64_t val, uint32_t info, uint64_t *frame,
                    uintptr_t ret);
int rv_sys_code_phys(struct cpu *cpu, uint64_t pc, uint64_t *phys);
int rv_sys_fetch(void *opaque, uint64_t pc);
void rv_sys_jc_drop(void *opaque, uint64_t pc, const void *code);
/* Read/write guest memory as the hart would (debugger, tval); -1 on fault. */
int rv_read_code16(struct rv_hart *h, uint64_t pc, uint32_t *out);

#endif
