/* exec.h - the translator core: front-end and back-end ops, translation
 * blocks, the code cache, and the execution loop.
 *
 * Usage (user mode, see src/user/main.c):
 *
 *     struct tr *tr = tr_new(&rv_frontend, TR_MODE_JIT, fetch, mem, &err);
 *     tr_install_fault_handler();
 *     for (;;) {
 *         int why = tr_run(tr, cpu);      // runs until something needs the OS
 *         ...handle CPU_EXIT_ECALL / _ILLEGAL / _FAULT / _EBREAK...
 *     }
 *
 * The front end (guest) turns guest code into IR; the back end (host)
 * turns IR into machine code in the code cache.  Blocks are found through
 * a hash table on the guest pc; direct jumps between blocks are patched to
 * go straight to the target once both exist, indirect jumps go through the
 * per-thread jump cache in struct cpu.  tr_flush() drops every block
 * (fence.i, guest code unmapped or rewritten, cache full).
 *
 * The guarantees the core gives a back end: it is called with a block
 * that ends in exactly one end op (see ir.h); code is written into the RW
 * view and runs from the RX view of the cache; gen_block never runs while
 * translated code runs on this thread.
 */
#ifndef EMU_TR_EXEC_H
#define EMU_TR_EXEC_H

#include <pthread.h>
#include <signal.h>
#include "common.h"
#include "error.h"
#include "cpu.h"
#include "ir.h"

struct tr;
struct tb;

typedef int (*tr_fetch_fn)(void *opaque, uint64_t pc);

struct tr_frontend {
    const char *name;
    int max_insns;
    int (*translate)(struct ir_block *b, uint64_t pc, uint64_t features,
                     tr_fetch_fn fetch, void *opaque, int max_insns);
    void (*describe)(char *buf, size_t len, uint64_t pc, uint32_t raw, int ilen,
                     uint64_t features);
    /* Fold state the host keeps on the guest's behalf (FP exception flags
     * in MXCSR) into struct cpu, so that two cpus can be compared. */
    void (*sync_state)(struct cpu *cpu);
};

struct tr_backend {
    const char *name;
    /* Write the entry trampoline and the shared exit path at the start of
     * the code cache; returns bytes used or -ENOSPC. */
    int (*gen_prologue)(struct tr *tr, uint8_t *rw, uint8_t *rx, size_t room);
    /* Translate IR into code at rw (runs at rx); fill tb->insn_off[].
     * Returns bytes used, or -ENOSPC when room was too small. */
    int (*gen_block)(struct tr *tr, const struct ir_block *b, struct tb *tb,
                     uint8_t *rw, uint8_t *rx, size_t room);
    /* Point the chain jump whose rel32 field is at rx_slot at target. */
    void (*patch_jump)(struct tr *tr, uint8_t *rx_slot, const void *target);
    /* After a fault in translated code at guest instruction insn of tb:
     * copy guest registers that live in host registers from the signal
     * context into cpu. */
    void (*recover_regs)(struct cpu *cpu, const struct tb *tb, int insn, const void *ucontext);
    /* System mode: the guest instruction whose slow path holds host code
     * offset off of tb, or -1 if off is not in a slow path. */
    int (*slow_insn)(const struct tb *tb, uint32_t off);
    /* Disassembly is not provided; -d out_asm prints hex bytes. */
};

extern const struct tr_frontend rv_frontend;
extern const struct tr_backend x86_backend;

enum tr_mode {
    TR_MODE_JIT,        /* translate to host code (the product) */
    TR_MODE_INTERP,     /* interpret the IR (reference) */
    TR_MODE_COMPARE,    /* both, block by block; stop at the first difference */
};

struct tb {
    /* what a lookup reads, in the first cache line */
    uint64_t pc;
    uint64_t flags;         /* the cpu's run-time feature bits it was translated for */
    uint64_t phys, phys2;   /* see below */
    struct tb *hash_next;
    uint8_t *code;          /* RX address */
    bool invalid;
    uint64_t end_pc;
    uint32_t code_size;
    uint16_t n_insns;
    uint32_t *insn_off;     /* host offset of each guest instruction */
    uint64_t *insn_pc;
    uint8_t *fault_map;     /* back end's per-instruction register map */
    uint32_t slow_start;    /* system mode: offset where the slow paths begin */
    uint16_t *slow_insn;    /* ... and the instruction of each (slow_off order) */
    uint32_t *slow_off;
    int n_slow;
    struct ir_op *ops;      /* interpreter/compare modes: the IR */
    int n_ops;
    /* System mode: phys and phys2 are the physical pages its code came
     * from (phys2: the second page of an instruction straddling a page
     * end, or TB_NO_PAGE); these its links in the per-page lists (tagged
     * with the page slot). */
    uintptr_t page_next[2];
    struct tb *pool_next;   /* in tr->tb_pool */
};
#define TB_NO_PAGE (~UINT64_C(0))

/* Undo log used by the compare mode to replay a block twice. */
struct tr_undo {
    uint64_t addr;
    uint64_t old;
    int size;
};

struct tr {
    const struct tr_frontend *fe;
    const struct tr_backend *be;
    enum tr_mode mode;
    tr_fetch_fn fetch;
    void *fetch_opaque;
    uint64_t features;
    int max_insns;
    bool no_chain;
    bool single_step;       /* a debugger steps: tr_run returns after every block
                               (CPU_EXIT_INTERRUPT); set max_insns 1 and no_chain too */

    /* code cache: one memfd mapped twice (W^X) */
    uint8_t *rw, *rx;
    size_t size, used, prologue_size;
    uint64_t (*enter)(struct cpu *cpu, void *code);
    uint8_t *exit_rx;       /* the shared exit path (back end's) */

    struct tb **hash;
    size_t n_tbs;
    struct tb **tbs;        /* in code-address order, for fault lookup */
    size_t tbs_cap;
    uint64_t n_flushes, n_translated;

    struct tb *tb_pool;     /* retired blocks, see tb_retire */
    /* The blocks' arrays (tr_alloc): chunks reused from the first at each
     * flush, when all the blocks go at once */
    struct tr_chunk *meta_head, *meta_cur;
    size_t meta_used;
    /* the back end's scratch, kept from block to block (tr_free frees it) */
    void *be_scratch;
    size_t be_scratch_size;

    struct ir_block *irb;

    /* Threads: one recursive lock guards blocks, hash, code cache and
     * (through tr_lock) the owner's memory map.  Translated code runs
     * unlocked.  Once a second thread exists, a flush retires the whole
     * generation (code cache, blocks and their arrays) and starts a fresh
     * one: other threads may still be running in the old code, fault in
     * it or raise exceptions from it.  A retired generation is given back
     * once every thread has been through its dispatcher since (see
     * tr_reclaim_gens in exec.c). */
    pthread_mutex_t lock;
    bool multi_threaded;
#define TR_MAX_GENS 32
    struct tr_gen {
        uint8_t *rx;            /* NULL: slot free */
        struct tb **tbs;        /* its blocks, in code-address order */
        size_t n_tbs;
        struct tr_chunk *chunks;    /* their arrays */
        uint64_t retired;       /* n_flushes once it was retired */
    } gens[TR_MAX_GENS];
    struct tr_chunk *free_chunks;
    /* One slot per thread that runs translated code (tr_run): whether it
     * is inside tr_run, and n_flushes as it last saw it at the top of its
     * dispatch loop, where it runs no translated code. */
#define TR_MAX_SLOTS 256
    struct tr_slot {
        int used;
        int in_run;
        uint64_t quiet;
        struct cpu *cpu;        /* while in_run: to kick it out (exit_req) */
        char pad[64 - 2 * sizeof(int) - sizeof(uint64_t) - sizeof(void *)];
    } *slots;
    int untracked;              /* a thread got no slot: never give a generation back */
    int fork_fd;            /* between tr_fork_prepare and the fork's end */

    /* Self-modifying code without fence.i: the owner of guest memory may
     * write-protect pages that translated code came from (on_translate),
     * must lift that when everything is flushed (on_flush), and tells the
     * fault handler whether a write fault hit such a page (is_code_page,
     * async-signal-safe).  Such a fault flushes and re-executes the store. */
    void (*on_translate)(void *opaque, uint64_t start, uint64_t end);
    void (*on_flush)(void *opaque);
    bool (*is_code_page)(void *opaque, uint64_t addr);
    void *mem_opaque;
    uint64_t n_smc;

    /* System mode (tr->sys): guest memory goes through the software TLB
     * (cpu.h).  The owner supplies the slow paths of loads and stores
     * (called from translated code through stubs that keep every host
     * register; they return the loaded value, or raise a guest exception
     * with tr_sys_raise), the physical address of code, and hooks to drop
     * jump-cache entries and to learn which physical pages hold code. */
    bool sys;
    uint64_t (*sys_ld_slow)(struct cpu *cpu, uint64_t va, uint32_t info, uint64_t *frame,
                            uintptr_t ret);
    void (*sys_st_slow)(struct cpu *cpu, uint64_t va, uint64_t val, uint32_t info,
                        uint64_t *frame, uintptr_t ret);
    /* 0 and *phys set, or -1 with the cpu's exception state set. */
    int (*sys_code_phys)(struct cpu *cpu, uint64_t pc, uint64_t *phys);
    /* A block is gone: remove pc -> code from every jump cache. */
    void (*sys_jc_drop)(void *opaque, uint64_t pc, const void *code);
    /* Physical page (address) now holds translated code. */
    void (*sys_code_page)(void *opaque, uint64_t page);
    void *sys_opaque;
    uint8_t *sys_ld_stub, *sys_st_stub;     /* RX addresses, in the prologue */
    struct tb **page_hash;                  /* physical page -> blocks */
    uint64_t tb_phys, tb_phys2;             /* of the block being translated */
    uint64_t n_invalidated;

    /* compare mode */
    struct cpu *ref;
    struct tr_undo *undo;
    size_t n_undo, undo_cap;
    uint64_t compared_blocks;
    char mismatch[512];
};

#define TR_HASH_BITS 18

int tr_new(struct tr **out, const struct tr_frontend *fe, const struct tr_backend *be,
           enum tr_mode mode, uint64_t features, tr_fetch_fn fetch, void *opaque,
           struct error **errp);
void tr_free(struct tr *tr);
/* n bytes for a block's arrays (the back end's too), zeroed, good until
 * the blocks are dropped; NULL when out of memory. */
void *tr_alloc(struct tr *tr, size_t n);
void tr_lock(struct tr *tr);
void tr_unlock(struct tr *tr);
/* fork() of a process running translated code: tr_fork_prepare before
 * (takes the lock, copies the code cache), then tr_fork_parent in the
 * parent (unlocks), tr_fork_child in the child: a fresh unlocked lock and
 * the copy of the code cache, not shared with the parent.  -errno if that
 * failed (the child cannot go on). */
int tr_fork_prepare(struct tr *tr);
void tr_fork_parent(struct tr *tr);
int tr_fork_child(struct tr *tr);
/* A second guest thread is about to start. */
void tr_set_multi_threaded(struct tr *tr);
/* The calling thread will run no more translated code (it gives back its
 * slot in the translator's bookkeeping of who may still run old code). */
void tr_thread_exit(struct tr *tr);
/* Drop every translation (fence.i, code unmapped, cache full). */
void tr_flush(struct tr *tr, struct cpu *cpu);
/* Drop translations overlapping [start, end) (guest addresses). */
void tr_invalidate_range(struct tr *tr, struct cpu *cpu, uint64_t start, uint64_t end);

/* System mode. */
#define TR_SYS_INFO_SIZE 3          /* slow-path info: log2 size ... */
#define TR_SYS_INFO_SIGNED 4        /* ... and sign extension */
/* Make tr a system-mode translator (before any block is translated). */
int tr_sys_enable(struct tr *tr, struct error **errp);
/* A store into [pa, pa + len) (inside one physical page): when it
 * overlaps the code of a block of that page, drop every block of the page
 * (they may be chained into each other); when it overlaps none, keep them.
 * Returns the number dropped; *remaining (if not NULL) gets the number of
 * blocks of that page still valid.  Takes the lock. */
int tr_invalidate_phys(struct tr *tr, uint64_t pa, uint64_t len, int *remaining);
/* From a slow path called by translated code (frame and ret as it was
 * given them): make the guest state precise at the faulting instruction
 * (cpu->pc and the registers) and leave translated code; tr_run returns
 * CPU_EXIT_FAULT.  The caller has recorded what to raise. */
__attribute__((noreturn)) void tr_sys_raise(struct cpu *cpu, const uint64_t *frame, uintptr_t ret);
/* The frame the slow-path stubs save: the host registers that may hold
 * guest values (in this order), then xmm3-xmm15 (16 bytes each). */
enum { TR_FRAME_RBX, TR_FRAME_R12, TR_FRAME_R13, TR_FRAME_R14, TR_FRAME_RSI, TR_FRAME_RDI,
       TR_FRAME_R8, TR_FRAME_R9, TR_FRAME_R10, TR_FRAME_R11, TR_FRAME_GPRS };
#define TR_FRAME_XMM3 TR_FRAME_GPRS     /* index (in uint64_t) of xmm3's low half */
#define TR_FRAME_BYTES (8 * TR_FRAME_GPRS + 16 * 13 + 8)   /* + 8: 16-byte alignment */

/* Run guest code until it needs the caller.  Returns an enum cpu_exit
 * other than CHAIN/FLUSH, with cpu->pc at the instruction concerned.
 * In compare mode a difference returns -EIO with tr->mismatch set. */
int tr_run(struct tr *tr, struct cpu *cpu);

/* The SIGSEGV/SIGBUS handler that turns faults of translated code (and
 * of helpers touching guest memory) into CPU_EXIT_FAULT. */
int tr_install_fault_handler(struct error **errp);

/* Helpers that touch guest memory bracket the access with these so that
 * a fault becomes the guest's. */
void tr_helper_enter(struct cpu *cpu);
void tr_helper_leave(struct cpu *cpu);

/* interp.c: run one block's IR on cpu; returns an enum cpu_exit. */
int ir_interp(struct tr *tr, struct cpu *cpu, const struct ir_op *ops, int n_ops,
              const uint64_t *insn_pc, bool log_undo);

/* The code cache (codecache.c), for exec.c: two views of one memfd,
 * writable and executable; fork_copy gives the fd of a private copy for a
 * fork's child (-1 when the cache is a private mapping that fork copies
 * anyway) and fork_map maps it over both views in the child. */
int tr_code_cache_init(struct tr *tr, size_t size, struct error **errp);
void tr_code_cache_free(struct tr *tr);
int tr_code_cache_fork_copy(struct tr *tr, int *fdp);
int tr_code_cache_fork_map(struct tr *tr, int fd);

#endif
