/* x86.h - shared state of the x86-64 back end (backend.c, regs.c).
 *
 * Register plan:
 *   rbp  the struct cpu of the running thread
 *   r15  guest_base: guest address a is host address r15 + a
 *   rax  scratch
 *   rbx, r12-r14, rsi, rdi, r8-r11, rcx, rdx  the block's register cache
 *        (regs.c; an op that needs rcx or rdx as scratch reserves it first):
 *        guest integer registers and IR temporaries are loaded on first
 *        use, kept while the block runs, and written back when the block
 *        ends, before calls, or when evicted.  FP registers stay in
 *        struct cpu (SSE instructions take them as memory operands).
 * A fault inside the block is made precise by a per-instruction map of
 * which host registers hold modified guest registers (tb->fault_map).
 */
#ifndef EMU_TR_X86_H
#define EMU_TR_X86_H

#include "exec.h"
#include "x86_64/asm.h"

#define X86_POOL 12                 /* rcx and rdx last: ops that need them reserve them */
#define X86_LOOP_POOL 10            /* loops keep their values out of rcx/rdx */
#define X86_LOOP_RESIDENT 7         /* partial loops: values kept across iterations;
                                       leaves 5, what the widest op needs: rcx+rdx
                                       reserved plus three operands (division) */
#define X86_SLOTS (64 + CPU_TMPS)   /* slot = IR reg index, or 64 + tmp */

enum { L_REG, L_MEM, L_IMM };
struct loc {
    int k;
    int r;
    int32_t disp;
    int64_t imm;
};

struct x86_gen {
    struct tr *tr;
    struct tb *tb;
    struct xbuf b;
    uint8_t *exit_rw;               /* the shared exit path, as seen from the rw view */
    int cur_insn;
    /* register cache */
    int8_t host_slot[16];           /* host reg -> slot, or -1 */
    bool dirty[16];
    uint32_t used[16];              /* LRU clock */
    int8_t slot_host[X86_SLOTS];    /* slot -> host reg, or -1 */
    uint16_t locked;
    uint32_t clock;
    /* A block that jumps back to its own start keeps its registers in
     * host registers across iterations: loop_head is where the back edge
     * goes, after the loads at the block's entry. */
    uint8_t *loop_head;
    uint64_t block_pc;
    /* back-edge exit_req checks: the jne to patch, and for a conditional
     * back edge how to decide again in the exit stub whether the loop
     * goes on (else the stub continues at cont, the loop's exit path) */
    struct x86_irq_slot {
        uint8_t *jne;
        bool cond;
        int ra;
        int loop_cc;
        uint8_t *cont;
    } irq_slots[16];
    struct loc irq_lb[16];
    int n_irq_slots;
    int8_t loop_written_host[16];   /* loop mode: host reg -> slot it writes, or -1 */
    int8_t loop_written_x[16];      /* loop mode: xmm -> f register it writes, or -1 */
    bool loop_mode;                 /* never allocate rcx/rdx (unless partial) */
    bool partial_loop;              /* only the 'resident' registers stay across iterations */
    uint16_t resident;              /* host registers that are never evicted */
    const struct ir_block *ir;      /* for choosing what to evict */
    int op_idx;
    /* Where each slot is read and written in the block, so that
     * rc_next_read answers with a binary search instead of a scan of
     * the ops ahead (which was a tenth of translation time). */
    struct rc_refs *refs;
    /* FP register cache: f0-f31 in xmm3-xmm15 (fregs.c) */
    int8_t xslot[16];               /* xmm -> f register, or -1 */
    bool xdirty[16];
    int8_t fx[32];                  /* f register -> xmm, or -1 */
    uint16_t xlocked;
    /* System mode: out-of-line slow paths of loads and stores, emitted
     * after the block's body (backend.c). */
    struct x86_slow *slow;
    int n_slow, slow_cap;
};


#define X86_XPOOL 13                /* xmm3 .. xmm15; xmm0-2 are scratch */
#define X86_FAULT_MAP 32            /* bytes per guest instruction: 16 GPRs, 16 XMMs */


/* A load or store's TLB-miss path: where its "jne" is, where to go back,
 * and what to pass to the stub. */
struct x86_slow {
    uint8_t *jcc;           /* rel32 slot of the jne to patch */
    uint8_t *resume;
    int insn;
    bool store;
    uint32_t info;          /* size and sign for the C slow path */
    struct loc val;         /* store: the value (L_REG/L_IMM/L_MEM), or xmm: */
    int val_xmm;            /* >= 0: the value is this xmm register */
};

extern const int x86_pool[X86_POOL];
bool x86_caller_saved(int h);

int x86_slot(struct ir_val v);      /* -1: not cacheable (const, FP register) */
int x86_home(int slot);             /* struct cpu offset of a slot */
void rc_reset(struct x86_gen *g);
/* The block's references per slot, in op order: rd[rd_start[s] ..
 * rd_start[s + 1]) are the ops that read slot s, wr[...] those that write
 * it (a store's or a branch's d is not a write), bar_next[i] the first
 * op at or after i that may fault or leave the block (or RC_FAR). */
#define RC_FAR (1 << 20)
struct rc_refs {
    uint16_t rd_start[X86_SLOTS + 1], wr_start[X86_SLOTS + 1];
    uint16_t rd[3 * IR_MAX_OPS], wr[IR_MAX_OPS];
    int bar_next[IR_MAX_OPS + 1];
    /* the last answer per slot: the next read and write after op at[s]
     * (-1: none yet), good until the generation reaches either */
    int at[X86_SLOTS], next_rd[X86_SLOTS], next_wr[X86_SLOTS];
};
/* Index g->ir's reads and writes into R (which must outlive the block's
 * generation) for rc_next_read. */
void rc_prepare(struct x86_gen *g, struct rc_refs *r);
/* Host register holding v's value (loaded if needed); locked for the op. */
int rc_use(struct x86_gen *g, struct ir_val v);
/* Host register that will receive d's new value; marked dirty. */
int rc_def(struct x86_gen *g, struct ir_val d);
void rc_unlock(struct x86_gen *g);
/* Empty host register r (rcx/rdx) for use as scratch by the current op. */
void rc_reserve(struct x86_gen *g, int r);
/* Write modified cached values back to struct cpu (tmps too if asked). */
void rc_flush(struct x86_gen *g, bool tmps);
/* Store modified guest registers but keep the cache state (a side exit). */
void rc_flush_copy(struct x86_gen *g);
/* Forget cached values in the given host registers (after writing back). */
void rc_drop(struct x86_gen *g, bool caller_saved_only);
/* Record, for the current instruction, which host registers hold
 * modified guest registers (for a fault at the next host instruction). */
void rc_note_fault_point(struct x86_gen *g);
/* Operand location: L_IMM, L_REG (cached) or L_MEM (FP registers). */
struct loc rc_loc(struct x86_gen *g, struct ir_val v);
/* Next read of an IR slot (REG index 0..63, or 64 + tmp) after the op
 * being emitted; *dead when it is overwritten first with nothing in
 * between that could observe it. */
int rc_next_read(const struct x86_gen *g, int s, bool *dead);

/* FP register cache (fregs.c); f is 0..31. */
void xc_reset(struct x86_gen *g);
int xc_use(struct x86_gen *g, int f);       /* xmm holding f (loaded if needed) */
int xc_def(struct x86_gen *g, int f);       /* xmm that will receive f; dirty */
void xc_unlock(struct x86_gen *g);
void xc_flush(struct x86_gen *g);           /* write back modified ones */
void xc_flush_copy(struct x86_gen *g);      /* write back, keep state (side exit) */
void xc_drop(struct x86_gen *g);            /* write back and forget all */
/* Before integer code touches f in struct cpu: write it back, and forget
 * the cached copy if the integer code will change it. */
void xc_sync(struct x86_gen *g, int f, bool write);
void xc_note_fault_point(struct x86_gen *g, uint8_t *map);
/* Loop mode for FP registers (after rc_setup_loop succeeded). */
bool xc_setup_loop(struct x86_gen *g, const struct ir_block *ir);
void x_movapd(struct xbuf *b, int dst, int src);

/* Loop mode: if the block loops to itself and all its values fit in the
 * cache, load them all now, mark the ones it writes dirty, return true. */
bool rc_setup_loop(struct x86_gen *g, const struct ir_block *ir);
/* Store every value a register-resident loop writes (loop_written). */
void rc_store_loop_state(struct x86_gen *g);
/* Partial loops, at the back edge: write back and forget non-resident values. */
void rc_flush_transient(struct x86_gen *g);

#endif
