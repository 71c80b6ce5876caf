/* backend.c - the x86-64 host back end: IR to machine code.
 *
 * See x86.h for the register plan.  Each IR op becomes a short fixed
 * sequence over the block's register cache (regs.c); the cache is written
 * back at every block exit and before calls, and a per-instruction map
 * (tb->fault_map) tells the fault handler which host registers held
 * modified guest registers, so faults stay precise.
 */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>
#include <cpuid.h>

#include "x86_64/x86.h"

static void ld_loc(struct xbuf *b, int r, struct loc l)
{
    if (l.k == L_IMM)
        x_mov_ri(b, r, l.imm);
    else if (l.k == L_REG)
        x_mov_rr(b, r, l.r);
    else
        x_rm(b, XF_W, 0x8b, r, RBP, -1, l.disp);
}

/* reg = reg ALU l (w: 64-bit); scratch is used for big immediates. */
static void alu_loc(struct xbuf *b, int w, int alu, int r, struct loc l, int scratch)
{
    int f = w ? XF_W : 0;
    if (l.k == L_IMM) {
        if (fits_s32(l.imm)) {
            x_alu_ri(b, w, alu, r, (int32_t)l.imm);
            return;
        }
        x_mov_ri(b, scratch, l.imm);
        x_rr(b, f, (uint32_t)(alu * 8 + 1), scratch, r);
    } else if (l.k == L_REG) {
        x_rr(b, f, (uint32_t)(alu * 8 + 1), l.r, r);
    } else {
        x_rm(b, f, (uint32_t)(alu * 8 + 3), r, RBP, -1, l.disp);
    }
}

/* Destination of an integer op: a cache register, or memory (FP regs). */
struct dst {
    bool mem;
    int r;
    int32_t disp;
};

static struct dst dst_of(struct x86_gen *g, struct ir_val d)
{
    struct dst x = { 0 };
    if (x86_slot(d) < 0) {
        xc_sync(g, d.idx - 32, true);   /* integer code writes an FP register */
        x.mem = true;
        x.disp = CPU_OFF_X(d.idx);
    } else {
        x.r = rc_def(g, d);
    }
    return x;
}

/* Put the value in register r into the destination. */
static void dst_set(struct x86_gen *g, struct dst d, int r)
{
    if (d.mem)
        x_rm(&g->b, XF_W, 0x89, r, RBP, -1, d.disp);
    else
        x_mov_rr(&g->b, d.r, r);
}

/* Write back both caches before leaving the block. */
static void flush_all(struct x86_gen *g, bool tmps)
{
    rc_flush(g, tmps);
    xc_flush(g);
}

static void mov_pc(struct xbuf *b, uint64_t pc)
{
    if (fits_s32((int64_t)pc)) {
        x_rm(b, XF_W, 0xc7, 0, RBP, -1, CPU_OFF(pc));
        xb_u32(b, (uint32_t)pc);
    } else {
        x_mov_ri(b, RAX, (int64_t)pc);
        x_rm(b, XF_W, 0x89, RAX, RBP, -1, CPU_OFF(pc));
    }
}

/* A chainable exit to pc: "jmp rel32" (first to the stub right behind it,
 * later patched to the target block), then the stub that stores the pc
 * and the slot address and returns to the loop.  The cache must have been
 * written back. */
/* System mode, a jump to another page: its mapping may differ the next
 * time this block runs, so no patched jump; the context's jump cache
 * (emptied whenever the mapping changes) finds the block, or the loop does. */
static void gen_goto_jc(struct x86_gen *g, uint64_t pc)
{
    struct xbuf *b = &g->b;
    int32_t off = CPU_TLB_OFF_JC + (int32_t)(((pc >> 1) & (CPU_CTX_JC_SIZE - 1)) * sizeof(struct cpu_jc_entry));
    mov_pc(b, pc);
    x_mov_ri(b, RAX, (int64_t)pc);
    x_rm(b, XF_W, 0x3b, RAX, R15, -1, off);                 /* cmp rax, [r15 + jc.pc] */
    uint8_t *miss = x_jcc8(b, CC_NE);
    x_rm(b, 0, 0xff, 4, R15, -1, off + 8);                  /* jmp [r15 + jc.code] */
    x_patch8(b, miss);
    x_rm(b, XF_W, 0xc7, 0, RBP, -1, CPU_OFF(chain_from));
    xb_u32(b, 0);
    x_rr(b, 0, 0x31, RAX, RAX);
    x_jmp32(b, g->exit_rw);
}

static void gen_goto(struct x86_gen *g, uint64_t pc)
{
    struct xbuf *b = &g->b;
    if (g->tr->sys && !g->tr->no_chain && (pc >> 12) != (g->block_pc >> 12)) {
        gen_goto_jc(g, pc);
        return;
    }
    if (g->tr->no_chain) {
        mov_pc(b, pc);
        x_rm(b, XF_W, 0xc7, 0, RBP, -1, CPU_OFF(chain_from));
        xb_u32(b, 0);
        x_rr(b, 0, 0x31, RAX, RAX);
        x_jmp32(b, g->exit_rw);
        return;
    }
    /* Align the rel32 field so that patching it is one atomic store. */
    while (((uintptr_t)(b->p + 1) & 3) != 0)
        xb_byte(b, 0x90);
    uint8_t *slot = x_jmp32(b, NULL);
    if (!b->overflow)
        x_patch32(slot, b->p);
    mov_pc(b, pc);
    /* lea rax, [rip + slot]; mov [rbp + chain_from], rax */
    x_prefix(b, XF_W, RAX, -1, -1, 0x8d);
    xb_byte(b, 0x05);
    int32_t rel = (int32_t)(slot - (b->p + 4));
    xb_u32(b, (uint32_t)rel);
    x_rm(b, XF_W, 0x89, RAX, RBP, -1, CPU_OFF(chain_from));
    x_rr(b, 0, 0x31, RAX, RAX);
    x_jmp32(b, g->exit_rw);
}

static void gen_exit_reason(struct x86_gen *g, uint64_t pc, int reason)
{
    struct xbuf *b = &g->b;
    flush_all(g, false);
    mov_pc(b, pc);
    x_mov_ri(b, RAX, reason);
    x_jmp32(b, g->exit_rw);
}

static void gen_goto_ind(struct x86_gen *g, struct ir_val target)
{
    struct xbuf *b = &g->b;
    ld_loc(b, RAX, rc_loc(g, target));
    flush_all(g, false);
    x_alu_ri(b, 1, ALU_AND, RAX, -2);
    x_rm(b, XF_W, 0x89, RAX, RBP, -1, CPU_OFF(pc));
    if (!g->tr->no_chain) {
        /* ecx = ((pc >> 1) & mask) * 16 */
        x_rr(b, 0, 0x89, RAX, RCX);                 /* mov ecx, eax */
        x_rr(b, 0, 0xc1, 5, RCX);                   /* shr ecx, 1 */
        xb_byte(b, 1);
        x_alu_ri(b, 0, ALU_AND, RCX, (int32_t)((g->tr->sys ? CPU_CTX_JC_SIZE : CPU_JC_SIZE) - 1));
        x_rr(b, 0, 0xc1, 4, RCX);                   /* shl ecx, 4 */
        xb_byte(b, 4);
        /* user mode: the jump cache in struct cpu; system mode: the
         * current translation context's (r15) */
        int base = g->tr->sys ? R15 : RBP;
        int32_t jc = g->tr->sys ? CPU_TLB_OFF_JC : CPU_OFF(jc);
        x_rm(b, XF_W, 0x3b, RAX, base, RCX, jc);                /* cmp rax, [base+rcx+jc] */
        uint8_t *miss = x_jcc8(b, CC_NE);
        x_rm(b, 0, 0xff, 4, base, RCX, jc + 8);                 /* jmp [base+rcx+jc+8] */
        x_patch8(b, miss);
    }
    x_rm(b, XF_W, 0xc7, 0, RBP, -1, CPU_OFF(chain_from));
    xb_u32(b, 0);
    x_rr(b, 0, 0x31, RAX, RAX);
    x_jmp32(b, g->exit_rw);
}

static int cond_cc(int cond)
{
    static const int cc[] = { [IR_EQ] = CC_E, [IR_NE] = CC_NE, [IR_LT] = CC_L,
                              [IR_GE] = CC_GE, [IR_LTU] = CC_B, [IR_GEU] = CC_AE };
    return cc[cond];
}

/* cmp byte [rbp + exit_req], 0; jne (rel32, returned for patching) */
static uint8_t *gen_irq_check(struct x86_gen *g)
{
    x_rm(&g->b, 0, 0x80, 7, RBP, -1, CPU_OFF(exit_req));
    xb_byte(&g->b, 0);
    return x_jcc32(&g->b, CC_NE, NULL);
}

/* A back edge of a register-resident loop: leave if a signal is waiting
 * (through a stub at the end of the block that writes back every value
 * the loop modifies; see x86_gen_block).  The check comes before the
 * branch's compare (it sets flags) so that the looping path keeps a single
 * taken jump; for a conditional back edge the stub compares again and
 * goes on along the loop's exit path when the loop would end, since the
 * stub resumes at the loop's start.  Returns the slot, or NULL. */
static struct x86_irq_slot *gen_loop_irq_check(struct x86_gen *g)
{
    if (g->n_irq_slots == (int)ARRAY_SIZE(g->irq_slots))
        return NULL;    /* this many back edges: the signal waits for the loop to end */
    struct x86_irq_slot *sl = &g->irq_slots[g->n_irq_slots++];
    memset(sl, 0, sizeof(*sl));
    sl->jne = gen_irq_check(g);
    return sl;
}

static void gen_brcond(struct x86_gen *g, const struct ir_op *op)
{
    struct xbuf *b = &g->b;
    struct loc la = rc_loc(g, op->a), lb = rc_loc(g, op->b);
    int ra = RAX;
    if (la.k == L_REG)
        ra = la.r;
    else
        ld_loc(b, RAX, la);
    if (g->loop_head && ((uint64_t)op->imm == g->block_pc || (uint64_t)op->imm2 == g->block_pc)) {
        /* the back edge keeps every value in its register */
        bool taken_loops = (uint64_t)op->imm == g->block_pc;
        if (g->partial_loop)
            rc_flush_transient(g);      /* the loop head expects only residents */
        int loop_cc = taken_loops ? cond_cc(op->aux) : (cond_cc(op->aux) ^ 1);
        struct x86_irq_slot *sl = gen_loop_irq_check(g);
        alu_loc(b, 1, ALU_CMP, ra, lb, RCX);
        x_jcc32(b, loop_cc, g->loop_head);
        if (sl) {
            sl->cond = true;
            sl->ra = ra;
            g->irq_lb[sl - g->irq_slots] = lb;
            sl->loop_cc = loop_cc;
            sl->cont = b->p;
        }
        flush_all(g, false);
        gen_goto(g, (uint64_t)(taken_loops ? op->imm2 : op->imm));
        return;
    }
    flush_all(g, false);         /* stores leave the flags alone, but do them first */
    alu_loc(b, 1, ALU_CMP, ra, lb, RCX);
    /* jump over the taken exit when the condition is false */
    xb_byte(b, 0x0f);
    xb_byte(b, 0x80 | (cond_cc(op->aux) ^ 1));
    uint8_t *over = b->p;
    xb_u32(b, 0);
    gen_goto(g, (uint64_t)op->imm);
    if (!b->overflow)
        x_patch32(over, b->p);
    gen_goto(g, (uint64_t)op->imm2);
}

static void gen_brside(struct x86_gen *g, const struct ir_op *op)
{
    struct xbuf *b = &g->b;
    struct loc la = rc_loc(g, op->a), lb = rc_loc(g, op->b);
    int ra = RAX;
    if (la.k == L_REG)
        ra = la.r;
    else
        ld_loc(b, RAX, la);
    bool back_edge = g->loop_head && (uint64_t)op->imm == g->block_pc;
    if (back_edge && g->partial_loop)
        rc_flush_transient(g);
    struct x86_irq_slot *sl = back_edge ? gen_loop_irq_check(g) : NULL;
    alu_loc(b, 1, ALU_CMP, ra, lb, RCX);
    if (back_edge) {
        x_jcc32(b, cond_cc(op->aux), g->loop_head);
        if (sl) {
            sl->cond = true;
            sl->ra = ra;
            g->irq_lb[sl - g->irq_slots] = lb;
            sl->loop_cc = cond_cc(op->aux);
            sl->cont = b->p;
        }
        return;
    }
    xb_byte(b, 0x0f);
    xb_byte(b, 0x80 | (cond_cc(op->aux) ^ 1));
    uint8_t *over = b->p;
    xb_u32(b, 0);
    rc_flush_copy(g);
    xc_flush_copy(g);
    gen_goto(g, (uint64_t)op->imm);
    if (!b->overflow)
        x_patch32(over, b->p);
}

/* d = a op b for the plain ALU ops. */
static void gen_alu(struct x86_gen *g, const struct ir_op *op, int alu, bool w32)
{
    struct xbuf *b = &g->b;
    struct loc la = rc_loc(g, op->a), lb = rc_loc(g, op->b);
    struct dst d = dst_of(g, op->d);
    int w = !w32;
    int r = RAX;
    if (alu == ALU_ADD && w32 && !d.mem && la.k != L_IMM && lb.k == L_IMM && lb.imm == 0) {
        if (la.k == L_REG)
            x_rr(b, XF_W, 0x63, d.r, la.r);     /* sext.w: movsxd d, a32 */
        else
            x_rm(b, XF_W, 0x63, d.r, RBP, -1, la.disp);
        return;
    }
    if (alu == ALU_ADD && !d.mem && la.k == L_REG && la.r != d.r &&
        (lb.k == L_REG || (lb.k == L_IMM && fits_s32(lb.imm)))) {
        /* three-operand add: lea d, [a + b] */
        x_rm(b, w ? XF_W : 0, 0x8d, d.r, la.r, lb.k == L_REG ? lb.r : -1,
             lb.k == L_REG ? 0 : (int32_t)lb.imm);
        if (w32 && !(op->aux & IR_W_NOSEXT))
            x_rr(b, XF_W, 0x63, d.r, d.r);
        return;
    }
    if (alu != ALU_SUB && !d.mem && lb.k == L_REG && lb.r == d.r &&
        (la.k != L_IMM || fits_s32(la.imm))) {
        alu_loc(b, w, alu, d.r, la, RDX);       /* commutative: d = b op a */
        if (w32 && !(op->aux & IR_W_NOSEXT))
            x_rr(b, XF_W, 0x63, d.r, d.r);
        return;
    }
    if (!d.mem && !(lb.k == L_REG && lb.r == d.r && !(la.k == L_REG && la.r == d.r)))
        r = d.r;
    if (!d.mem && lb.k == L_REG && lb.r == d.r && la.k == L_REG && la.r == d.r)
        r = d.r;                                /* d = d op d */
    ld_loc(b, r, la);
    alu_loc(b, w, alu, r, lb, RDX);
    if (w32 && !(op->aux & IR_W_NOSEXT))
        x_rr(b, XF_W, 0x63, r, r);              /* movsxd r, r32 */
    if (r == RAX)
        dst_set(g, d, RAX);
}

static void gen_mov(struct x86_gen *g, const struct ir_op *op)
{
    struct loc la = rc_loc(g, op->a);
    struct dst d = dst_of(g, op->d);
    if (!d.mem) {
        ld_loc(&g->b, d.r, la);
    } else if (la.k == L_IMM && fits_s32(la.imm)) {
        x_rm(&g->b, XF_W, 0xc7, 0, RBP, -1, d.disp);
        xb_u32(&g->b, (uint32_t)la.imm);
    } else if (la.k == L_REG) {
        dst_set(g, d, la.r);
    } else {
        ld_loc(&g->b, RAX, la);
        dst_set(g, d, RAX);
    }
}

static void gen_shift(struct x86_gen *g, const struct ir_op *op, int ext, bool w32)
{
    struct xbuf *b = &g->b;
    struct loc la = rc_loc(g, op->a), lb = rc_loc(g, op->b);
    int f = w32 ? 0 : XF_W;
    if (lb.k != L_IMM)
        ld_loc(b, RCX, lb);
    struct dst d = dst_of(g, op->d);
    int r = d.mem ? RAX : d.r;
    ld_loc(b, r, la);
    if (lb.k == L_IMM) {
        x_rr(b, f, 0xc1, ext, r);
        xb_byte(b, (uint8_t)(lb.imm & (w32 ? 31 : 63)));
    } else {
        x_rr(b, f, 0xd3, ext, r);
    }
    if (w32 && !(op->aux & IR_W_NOSEXT))
        x_rr(b, XF_W, 0x63, r, r);
    if (d.mem)
        dst_set(g, d, RAX);
}

static void gen_setcc(struct x86_gen *g, const struct ir_op *op, int cc)
{
    struct xbuf *b = &g->b;
    struct loc la = rc_loc(g, op->a), lb = rc_loc(g, op->b);
    int ra = RAX;
    if (la.k == L_REG)
        ra = la.r;
    else
        ld_loc(b, RAX, la);
    alu_loc(b, 1, ALU_CMP, ra, lb, RDX);
    x_rr(b, 0, 0x0f90 | (uint32_t)cc, 0, RAX);  /* setcc al */
    x_rr(b, 0, 0x0fb6, RAX, RAX);               /* movzx eax, al */
    dst_set(g, dst_of(g, op->d), RAX);
}

static void gen_mul(struct x86_gen *g, const struct ir_op *op)
{
    struct xbuf *b = &g->b;
    struct loc la = rc_loc(g, op->a), lb = rc_loc(g, op->b);
    ld_loc(b, RAX, la);
    if (op->opc == IR_MUL || op->opc == IR_MULW) {
        int f = op->opc == IR_MUL ? XF_W : 0;
        if (lb.k == L_REG)
            x_rr(b, f, 0x0faf, RAX, lb.r);
        else if (lb.k == L_MEM)
            x_rm(b, f, 0x0faf, RAX, RBP, -1, lb.disp);
        else {
            x_mov_ri(b, RCX, lb.imm);
            x_rr(b, f, 0x0faf, RAX, RCX);
        }
        if (op->opc == IR_MULW && !(op->aux & IR_W_NOSEXT))
            x_rr(b, XF_W, 0x63, RAX, RAX);
        dst_set(g, dst_of(g, op->d), RAX);
        return;
    }
    ld_loc(b, RCX, lb);
    x_rr(b, XF_W, 0xf7, op->opc == IR_MULH ? 5 : 4, RCX);   /* imul/mul rcx */
    dst_set(g, dst_of(g, op->d), RDX);
}

static void gen_div(struct x86_gen *g, const struct ir_op *op)
{
    struct xbuf *b = &g->b;
    struct loc la = rc_loc(g, op->a), lb = rc_loc(g, op->b);
    bool w32 = op->opc >= IR_DIVW;
    int base = w32 ? op->opc - IR_DIVW : op->opc - IR_DIV;   /* 0 div 1 divu 2 rem 3 remu */
    bool sign = base == 0 || base == 2, rem = base >= 2;
    int f = w32 ? 0 : XF_W;
    ld_loc(b, RAX, la);
    ld_loc(b, RCX, lb);
    x_rr(b, f, 0x85, RCX, RCX);                 /* test rcx, rcx */
    uint8_t *zero = x_jcc8(b, CC_E);
    uint8_t *m1_done = NULL;
    if (sign) {
        x_alu_ri(b, !w32, ALU_CMP, RCX, -1);
        uint8_t *m1 = x_jcc8(b, CC_NE);
        if (rem)
            x_rr(b, 0, 0x31, RAX, RAX);         /* x % -1 == 0 */
        else
            x_rr(b, f, 0xf7, 3, RAX);           /* x / -1 == -x (wraps) */
        m1_done = x_jmp8(b);
        x_patch8(b, m1);
        x_prefix(b, f, 0, -1, -1, 0x99);        /* cqo / cdq */
        x_rr(b, f, 0xf7, 7, RCX);               /* idiv */
    } else {
        x_rr(b, 0, 0x31, RDX, RDX);
        x_rr(b, f, 0xf7, 6, RCX);               /* div */
    }
    if (rem)
        x_mov_rr(b, RAX, RDX);
    uint8_t *done = x_jmp8(b);
    x_patch8(b, zero);
    if (!rem)
        x_mov_ri(b, RAX, -1);                   /* x / 0 == all ones */
    x_patch8(b, done);                          /* x % 0 == x: rax already */
    if (m1_done)
        x_patch8(b, m1_done);
    if (w32 && !(op->aux & IR_W_NOSEXT))
        x_rr(b, XF_W, 0x63, RAX, RAX);
    dst_set(g, dst_of(g, op->d), RAX);
}

/* Zbb min/max: rax = a; cmp rax, b; cmov rax, b when b wins. */
static void gen_minmax(struct x86_gen *g, const struct ir_op *op)
{
    static const int take_b[] = { [IR_MIN - IR_MIN] = CC_G, [IR_MAX - IR_MIN] = CC_L,
                                  [IR_MINU - IR_MIN] = CC_A, [IR_MAXU - IR_MIN] = CC_B };
    struct xbuf *b = &g->b;
    struct loc la = rc_loc(g, op->a), lb = rc_loc(g, op->b);
    if (lb.k == L_IMM) {
        x_mov_ri(b, RDX, lb.imm);       /* reserved by reserve_scratch */
        lb = (struct loc){ .k = L_REG, .r = RDX };
    }
    ld_loc(b, RAX, la);
    alu_loc(b, 1, ALU_CMP, RAX, lb, RCX);
    uint32_t cmov = 0x0f40 | (uint32_t)take_b[op->opc - IR_MIN];
    if (lb.k == L_REG)
        x_rr(b, XF_W, cmov, RAX, lb.r);
    else
        x_rm(b, XF_W, cmov, RAX, RBP, -1, lb.disp);
    dst_set(g, dst_of(g, op->d), RAX);
}

static int host_bitops = -1;    /* bit 0: lzcnt, bit 1: tzcnt (BMI1) */

static void probe_bitops(void)
{
    if (host_bitops >= 0)
        return;
    unsigned a, b, c, d;
    int f = 0;
    if (__get_cpuid(0x80000001, &a, &b, &c, &d) && (c & (1u << 5)))
        f |= 1;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 3)))
        f |= 2;
    host_bitops = f;
}

/* Zbb one-operand ops on rax. */
static void gen_bitop(struct x86_gen *g, const struct ir_op *op)
{
    struct xbuf *b = &g->b;
    probe_bitops();
    ld_loc(b, RAX, rc_loc(g, op->a));
    bool w = op->opc == IR_CLZW || op->opc == IR_CTZW || op->opc == IR_CPOPW;
    int f = w ? 0 : XF_W;
    switch (op->opc) {
    case IR_CLZ: case IR_CLZW:
        if (host_bitops & 1) {
            x_rr(b, XF_F3 | f, 0x0fbd, RAX, RAX);           /* lzcnt */
        } else {
            x_rr(b, f, 0x0fbd, RAX, RAX);                   /* bsr: index of the top bit */
            uint8_t *nz = x_jcc8(b, CC_NE);
            x_mov_ri(b, RAX, w ? 63 : 127);                 /* zero: 63^31 = 32, 127^63 = 64 */
            x_patch8(b, nz);
            x_alu_ri(b, 0, ALU_XOR, RAX, w ? 31 : 63);
        }
        break;
    case IR_CTZ: case IR_CTZW:
        if (host_bitops & 2) {
            x_rr(b, XF_F3 | f, 0x0fbc, RAX, RAX);           /* tzcnt */
        } else {
            x_rr(b, f, 0x0fbc, RAX, RAX);                   /* bsf */
            uint8_t *nz = x_jcc8(b, CC_NE);
            x_mov_ri(b, RAX, w ? 32 : 64);
            x_patch8(b, nz);
        }
        break;
    case IR_CPOP: case IR_CPOPW:
        x_rr(b, XF_F3 | f, 0x0fb8, RAX, RAX);               /* popcnt (front end checked) */
        break;
    case IR_REV8:
        x_prefix(b, XF_W, 0, -1, RAX, 0x0fc8);              /* bswap rax */
        break;
    case IR_ORCB:
        x_rr(b, XF_66 | XF_W, 0x0f6e, 0, RAX);              /* movq xmm0, rax */
        x_rr(b, XF_66, 0x0fef, 1, 1);                       /* pxor xmm1, xmm1 */
        x_rr(b, XF_66, 0x0f74, 0, 1);                       /* pcmpeqb xmm0, xmm1: zero bytes */
        x_rr(b, XF_66 | XF_W, 0x0f7e, 0, RAX);              /* movq rax, xmm0 */
        x_rr(b, XF_W, 0xf7, 2, RAX);                        /* not rax */
        break;
    }
    dst_set(g, dst_of(g, op->d), RAX);
}

/* Load a call argument from its home after rc_flush(g, true). */
static void ld_arg(struct x86_gen *g, int r, struct ir_val v)
{
    int s = x86_slot(v);
    if (v.kind == IR_V_CONST)
        x_mov_ri(&g->b, r, v.c);
    else
        x_rm(&g->b, XF_W, 0x8b, r, RBP, -1, s >= 0 ? x86_home(s) : CPU_OFF_X(v.idx));
}

static void gen_call2(struct x86_gen *g, const struct ir_op *op)
{
    struct xbuf *b = &g->b;
    rc_flush(g, true);
    rc_drop(g, true);
    xc_drop(g);                                 /* xmm registers do not survive calls */
    ld_arg(g, RDI, op->a);
    ld_arg(g, RSI, op->b);
    x_mov_ri(b, RAX, (int64_t)(uintptr_t)op->fn);
    x_rr(b, 0, 0xff, 2, RAX);                   /* call rax */
    dst_set(g, dst_of(g, op->d), RAX);
}

static void gen_helper(struct x86_gen *g, const struct ir_op *op)
{
    struct xbuf *b = &g->b;
    rc_flush(g, true);
    rc_drop(g, false);                          /* the helper may change any register */
    xc_drop(g);
    mov_pc(b, (uint64_t)op->imm);
    x_mov_rr(b, RDI, RBP);
    x_mov_ri(b, RSI, op->insn);
    x_mov_ri(b, RAX, (int64_t)(uintptr_t)op->fn);
    x_rr(b, 0, 0xff, 2, RAX);
    if (g->tr->sys)                             /* the helper may switch TLB context */
        x_rm(b, XF_W, 0x8b, R15, RBP, -1, CPU_OFF(guest_base));
    x_rr(b, 0, 0x85, RAX, RAX);
    x_jcc32(b, CC_NE, g->exit_rw);              /* pc already stored, cache empty */
}

/* Memory operand [r15 + index + disp]: index is a cache register or rax. */
static int addr_index(struct x86_gen *g, struct ir_val a)
{
    struct loc la = rc_loc(g, a);
    if (la.k == L_REG)
        return la.r;
    ld_loc(&g->b, RAX, la);
    return RAX;
}

static bool is_freg(struct ir_val v)
{
    return v.kind == IR_V_REG && v.idx >= 32;
}

/* ---- system mode: loads and stores through the software TLB ---- */

static struct x86_slow *slow_new(struct x86_gen *g)
{
    if (g->n_slow == g->slow_cap) {
        int cap = g->slow_cap ? 2 * g->slow_cap : 32;
        struct tr *tr = g->tr;
        size_t size = (size_t)cap * sizeof(struct x86_slow);
        if (size > tr->be_scratch_size) {
            /* the array lives on in tr->be_scratch for the next blocks */
            struct x86_slow *n = realloc(tr->be_scratch, size);
            if (!n) {
                g->b.overflow = true;   /* gen_block fails; the caller retries after a flush */
                return NULL;
            }
            tr->be_scratch = n;
            tr->be_scratch_size = size;
        }
        g->slow = tr->be_scratch;
        g->slow_cap = cap;
    }
    struct x86_slow *sl = &g->slow[g->n_slow++];
    memset(sl, 0, sizeof(*sl));
    sl->insn = g->cur_insn;
    sl->val_xmm = -1;
    return sl;
}

/* rax = guest address (index + disp); look up the TLB entry for an access
 * of size bytes; on a miss jump to the slow path (recorded in sl) with
 * rax intact; on a hit rax = host address.  Uses rcx and rdx. */
static void gen_tlb_lookup(struct x86_gen *g, int idx, int32_t disp, int size, bool store,
                           struct x86_slow *sl)
{
    struct xbuf *b = &g->b;
    if (disp != 0 || idx != RAX)
        x_rm(b, XF_W, 0x8d, RAX, idx, -1, disp);           /* lea rax, [idx + disp] */
    x_mov_rr(b, RCX, RAX);
    x_rr(b, XF_W, 0xc1, 5, RCX);                            /* shr rcx, 12 - 5 */
    xb_byte(b, 12 - 5);
    x_alu_ri(b, 0, ALU_AND, RCX, (int32_t)((CPU_TLB_SIZE - 1) << 5));
    if (size > 1)
        x_rm(b, XF_W, 0x8d, RDX, RAX, -1, size - 1);        /* lea rdx, [rax + size - 1] */
    else
        x_mov_rr(b, RDX, RAX);
    x_alu_ri(b, 1, ALU_AND, RDX, -4096);
    x_rm(b, XF_W, 0x3b, RDX, R15, RCX,                      /* cmp rdx, [r15 + rcx + tag] */
         store ? (int32_t)offsetof(struct cpu_tlb_entry, tag_w) : (int32_t)offsetof(struct cpu_tlb_entry, tag_r));
    uint8_t *slot = x_jcc32(b, CC_NE, NULL);
    if (sl)
        sl->jcc = slot;
    x_rm(b, XF_W, 0x03, RAX, R15, RCX, (int32_t)offsetof(struct cpu_tlb_entry, addend));
}

static void gen_ld_sys(struct x86_gen *g, const struct ir_op *op)
{
    struct xbuf *b = &g->b;
    int idx = addr_index(g, op->a);
    rc_note_fault_point(g);
    int size = op->aux & 3;
    bool sign = op->aux & IR_MEM_SIGNED;
    struct x86_slow *sl = slow_new(g);
    if (!sl)
        return;
    sl->info = (uint32_t)size | (sign ? TR_SYS_INFO_SIGNED : 0);
    gen_tlb_lookup(g, idx, (int32_t)op->imm, 1 << size, false, sl);
    /* the value goes to rax first: the slow path returns it there, and the
     * destination is chosen after the access so that a fault never sees
     * a register allocated for a value that was not loaded */
    switch (size) {
    case 0: x_rm(b, sign ? XF_W : 0, sign ? 0x0fbe : 0x0fb6, RAX, RAX, -1, 0); break;
    case 1: x_rm(b, sign ? XF_W : 0, sign ? 0x0fbf : 0x0fb7, RAX, RAX, -1, 0); break;
    case 2:
        if (sign) x_rm(b, XF_W, 0x63, RAX, RAX, -1, 0);
        else x_rm(b, 0, 0x8b, RAX, RAX, -1, 0);
        break;
    default: x_rm(b, XF_W, 0x8b, RAX, RAX, -1, 0); break;
    }
    sl->resume = b->p;
    if (is_freg(op->d) && size == 3) {
        int x = xc_def(g, op->d.idx - 32);
        x_rr(b, XF_66 | XF_W, 0x0f6e, x, RAX);              /* movq xmm, rax */
        return;
    }
    dst_set(g, dst_of(g, op->d), RAX);
}

static void gen_st_sys(struct x86_gen *g, const struct ir_op *op)
{
    struct xbuf *b = &g->b;
    int size = op->aux & 3;
    struct loc lv = { .k = L_REG, .r = -1 };
    int x = -1;
    if (is_freg(op->b) && size == 3)
        x = xc_use(g, op->b.idx - 32);
    else if (x86_slot(op->b) >= 0)
        lv.r = rc_use(g, op->b);
    else
        lv = rc_loc(g, op->b);
    int idx = addr_index(g, op->a);
    rc_note_fault_point(g);
    struct x86_slow *sl = slow_new(g);
    if (!sl)
        return;
    sl->store = true;
    sl->info = (uint32_t)size;
    sl->val = lv;
    sl->val_xmm = x;
    gen_tlb_lookup(g, idx, 0 + (int32_t)op->imm, 1 << size, true, sl);
    int v;
    if (x >= 0) {
        x_rm(b, XF_F2, 0x0f11, x, RAX, -1, 0);              /* movsd [rax], xmm */
        sl->resume = b->p;
        return;
    }
    if (lv.k == L_REG) {
        v = lv.r;
    } else {
        ld_loc(b, RDX, lv);
        v = RDX;
    }
    switch (size) {
    case 0: x_rm(b, XF_REX, 0x88, v, RAX, -1, 0); break;
    case 1: x_rm(b, XF_66, 0x89, v, RAX, -1, 0); break;
    case 2: x_rm(b, 0, 0x89, v, RAX, -1, 0); break;
    default: x_rm(b, XF_W, 0x89, v, RAX, -1, 0); break;
    }
    sl->resume = b->p;
}

/* The slow paths, after the block's body: call the stub (which keeps
 * every register but rax, rcx and rdx) and go back. */
static void gen_slow_paths(struct x86_gen *g, struct tb *tb)
{
    struct xbuf *b = &g->b;
    struct tr *tr = g->tr;
    if (!g->n_slow)
        return;
    tb->slow_insn = tr_alloc(tr, (size_t)g->n_slow * sizeof(*tb->slow_insn));
    tb->slow_off = tr_alloc(tr, (size_t)g->n_slow * sizeof(*tb->slow_off));
    if (!tb->slow_insn || !tb->slow_off) {
        b->overflow = true;
        return;
    }
    tb->n_slow = g->n_slow;
    for (int i = 0; i < g->n_slow && !b->overflow; i++) {
        struct x86_slow *sl = &g->slow[i];
        x_patch32(sl->jcc, b->p);
        tb->slow_off[i] = (uint32_t)(b->p - b->start);
        tb->slow_insn[i] = (uint16_t)sl->insn;
        if (sl->store) {
            if (sl->val_xmm >= 0)
                x_rr(b, XF_66 | XF_W, 0x0f7e, sl->val_xmm, RDX);    /* movq rdx, xmm */
            else if (sl->val.k == L_REG)
                x_mov_rr(b, RDX, sl->val.r);
            else
                ld_loc(b, RDX, sl->val);
            x_mov_ri(b, RCX, sl->info);
        } else {
            x_mov_ri(b, RDX, sl->info);
        }
        uint8_t *stub = tr->rw + ((sl->store ? tr->sys_st_stub : tr->sys_ld_stub) - tr->rx);
        xb_byte(b, 0xe8);                                   /* call rel32 */
        xb_u32(b, (uint32_t)(int32_t)(stub - (b->p + 4)));
        x_jmp32(b, sl->resume);
    }
}

static int x86_slow_insn(const struct tb *tb, uint32_t off)
{
    int found = -1;
    for (int i = 0; i < tb->n_slow; i++)
        if (tb->slow_off[i] <= off)
            found = tb->slow_insn[i];
    return found;
}

static void gen_ld(struct x86_gen *g, const struct ir_op *op)
{
    struct xbuf *b = &g->b;
    if (g->tr->sys) {
        gen_ld_sys(g, op);
        return;
    }
    int idx = addr_index(g, op->a);
    rc_note_fault_point(g);
    if (is_freg(op->d) && (op->aux & 3) == 3) {            /* fld: straight into xmm */
        int x = xc_def(g, op->d.idx - 32);
        x_rm(b, XF_F2, 0x0f10, x, R15, idx, (int32_t)op->imm);
        return;
    }
    struct dst d = dst_of(g, op->d);
    int32_t disp = (int32_t)op->imm;
    int r = d.mem ? RAX : d.r;
    int size = op->aux & 3;
    bool sign = op->aux & IR_MEM_SIGNED;
    switch (size) {
    case 0: x_rm(b, sign ? XF_W : 0, sign ? 0x0fbe : 0x0fb6, r, R15, idx, disp); break;
    case 1: x_rm(b, sign ? XF_W : 0, sign ? 0x0fbf : 0x0fb7, r, R15, idx, disp); break;
    case 2:
        if (sign) x_rm(b, XF_W, 0x63, r, R15, idx, disp);
        else x_rm(b, 0, 0x8b, r, R15, idx, disp);
        break;
    default: x_rm(b, XF_W, 0x8b, r, R15, idx, disp); break;
    }
    if (d.mem)
        dst_set(g, d, RAX);
}

static void gen_st(struct x86_gen *g, const struct ir_op *op)
{
    struct xbuf *b = &g->b;
    if (g->tr->sys) {
        gen_st_sys(g, op);
        return;
    }
    if (is_freg(op->b) && (op->aux & 3) == 3) {            /* fsd: straight from xmm */
        int x = xc_use(g, op->b.idx - 32);
        int idx = addr_index(g, op->a);
        rc_note_fault_point(g);
        x_rm(b, XF_F2, 0x0f11, x, R15, idx, (int32_t)op->imm);
        return;
    }
    /* rcx is reserved only when the value is not cacheable */
    struct loc lv = x86_slot(op->b) >= 0 ? (struct loc){ .k = L_REG, .r = rc_use(g, op->b) }
                                         : rc_loc(g, op->b);
    int v = RCX;
    if (lv.k == L_REG)
        v = lv.r;
    else
        ld_loc(b, RCX, lv);
    int idx = addr_index(g, op->a);
    rc_note_fault_point(g);
    int32_t disp = (int32_t)op->imm;
    switch (op->aux & 3) {
    case 0: x_rm(b, XF_REX, 0x88, v, R15, idx, disp); break;
    case 1: x_rm(b, XF_66, 0x89, v, R15, idx, disp); break;
    case 2: x_rm(b, 0, 0x89, v, R15, idx, disp); break;
    default: x_rm(b, XF_W, 0x89, v, R15, idx, disp); break;
    }
}

/* ---- floating point: scalar SSE on doubles ---- */

/* The xmm register holding FP operand v: its cache register, or scratch
 * (loaded from an integer register or constant). */
static int fp_reg(struct x86_gen *g, struct ir_val v, int scratch)
{
    if (is_freg(v))
        return xc_use(g, v.idx - 32);
    ld_loc(&g->b, RAX, rc_loc(g, v));
    x_rr(&g->b, XF_66 | XF_W, 0x0f6e, scratch, RAX);        /* movq xmm, rax */
    return scratch;
}

/* d (an FP register) = xmm0. */
static void fp_store(struct x86_gen *g, struct ir_val d, int xmm)
{
    if (is_freg(d)) {
        x_movapd(&g->b, xc_def(g, d.idx - 32), xmm);
    } else {
        struct dst x = dst_of(g, d);
        if (x.mem)
            x_rm(&g->b, XF_F2, 0x0f11, xmm, RBP, -1, x.disp);
        else
            x_rr(&g->b, XF_66 | XF_W, 0x0f7e, xmm, x.r);    /* movq r64, xmm */
    }
}

/* A NaN result becomes the canonical NaN (the host would keep a payload
 * or produce its own default NaN).  extra() runs first on that path. */
static void fp_canon(struct x86_gen *g, int xmm,
                     void (*extra)(struct x86_gen *, const struct ir_op *), const struct ir_op *op)
{
    struct xbuf *b = &g->b;
    x_rr(b, XF_66, 0x0f2e, xmm, xmm);                       /* ucomisd xmm, xmm */
    uint8_t *ok = x_jcc8(b, CC_NP);
    if (extra)
        extra(g, op);
    x_mov_ri(b, RAX, (int64_t)IR_CANON_NAN_D);
    x_rr(b, XF_66 | XF_W, 0x0f6e, xmm, RAX);
    x_patch8(b, ok);
}

/* ---- single precision: NaN-boxed values in the low half ---- */

/* xmm s = the single in operand v, or the canonical NaN if v is not boxed. */
static int fp_reg_s(struct x86_gen *g, struct ir_val v, int s)
{
    struct xbuf *b = &g->b;
    int x = fp_reg(g, v, s);
    x_rr(b, XF_66 | XF_W, 0x0f7e, x, RAX);                  /* movq rax, x */
    x_rr(b, XF_W, 0xc1, 5, RAX);                            /* shr rax, 32 */
    xb_byte(b, 32);
    x_alu_ri(b, 0, ALU_CMP, RAX, -1);
    x_movapd(b, s, x);                                      /* flags survive */
    uint8_t *ok = x_jcc8(b, CC_E);
    x_mov_ri(b, RAX, IR_CANON_NAN_S);
    x_rr(b, XF_66, 0x0f6e, s, RAX);                         /* movd s, eax */
    x_patch8(b, ok);
    return s;
}

/* Canonical NaN for a NaN result, then box: bits 32-63 all ones. */
static void fp_canon_box_s(struct x86_gen *g, void (*extra)(struct x86_gen *, const struct ir_op *),
                           const struct ir_op *op)
{
    struct xbuf *b = &g->b;
    x_rr(b, 0, 0x0f2e, 0, 0);                               /* ucomiss xmm0, xmm0 */
    uint8_t *ok = x_jcc8(b, CC_NP);
    if (extra)
        extra(g, op);
    x_mov_ri(b, RAX, IR_CANON_NAN_S);
    x_rr(b, XF_66, 0x0f6e, 0, RAX);
    x_patch8(b, ok);
    x_rr(b, XF_66, 0x0f76, 1, 1);                           /* pcmpeqd xmm1, xmm1 */
    x_rr(b, XF_66, 0x0f73, 6, 1);                           /* psllq xmm1, 32 */
    xb_byte(b, 32);
    x_rr(b, XF_66, 0x0feb, 0, 1);                           /* por xmm0, xmm1 */
}

static void gen_fop_s(struct x86_gen *g, const struct ir_op *op)
{
    static const uint32_t opc[] = { [IR_FADD] = 0x0f58, [IR_FSUB] = 0x0f5c, [IR_FMUL] = 0x0f59,
                                    [IR_FDIV] = 0x0f5e, [IR_FSQRT] = 0x0f51 };
    int k = op->aux & 0xf;
    fp_reg_s(g, op->a, 0);
    if (k == IR_FSQRT) {
        x_rr(&g->b, XF_F3, 0x0f51, 0, 0);
    } else {
        fp_reg_s(g, op->b, 1);
        x_rr(&g->b, XF_F3, opc[k], 0, 1);
    }
    fp_canon_box_s(g, NULL, op);
    fp_store(g, op->d, 0);
}

static void fma_invalid_check_s(struct x86_gen *g, const struct ir_op *op)
{
    fp_reg_s(g, op->a, 2);
    x_rr(&g->b, XF_F3, 0x0f59, 2, 1);                       /* mulss xmm2, xmm1 (b) */
}

static void gen_fma_s(struct x86_gen *g, const struct ir_op *op)
{
    static const uint8_t opc[4] = { 0xa9, 0xab, 0xad, 0xaf };  /* vf[n]m{add,sub}213ss */
    struct xbuf *b = &g->b;
    fp_reg_s(g, op->a, 0);
    fp_reg_s(g, op->b, 1);
    fp_reg_s(g, op->c, 2);
    xb_byte(b, 0xc4);
    xb_byte(b, 0x80 | 0x40 | 0x20 | 0x02);                  /* ~R ~X ~B, map 0F38 */
    xb_byte(b, ((~1u & 15) << 3) | 0x01);                   /* W0, vvvv = xmm1, pp = 66 */
    xb_byte(b, opc[op->aux & 3]);
    xb_byte(b, 0xc0 | 2);                                   /* reg xmm0, rm xmm2 */
    fp_canon_box_s(g, fma_invalid_check_s, op);
    fp_store(g, op->d, 0);
}

static void gen_fcmp_s(struct x86_gen *g, const struct ir_op *op)
{
    struct xbuf *b = &g->b;
    int k = op->aux & 0xf;
    fp_reg_s(g, k == IR_FEQ ? op->a : op->b, 0);
    fp_reg_s(g, k == IR_FEQ ? op->b : op->a, 1);
    x_rr(b, 0, k == IR_FEQ ? 0x0f2e : 0x0f2f, 0, 1);        /* ucomiss / comiss */
    if (k == IR_FEQ) {
        x_rr(b, 0, 0x0f90 | CC_E, 0, RAX);
        x_rr(b, 0, 0x0f90 | CC_NP, 0, RCX);
        x_rr(b, 0, 0x20, RCX, RAX);
    } else {
        x_rr(b, 0, 0x0f90 | (k == IR_FLT ? CC_A : CC_AE), 0, RAX);
    }
    x_rr(b, 0, 0x0fb6, RAX, RAX);
    dst_set(g, dst_of(g, op->d), RAX);
}

static void gen_fcvt_di_s(struct x86_gen *g, const struct ir_op *op)
{
    ld_loc(&g->b, RAX, rc_loc(g, op->a));
    x_rr(&g->b, XF_F3 | ((op->aux & 1) ? XF_W : 0), 0x0f2a, 0, RAX);  /* cvtsi2ss xmm0, r */
    fp_canon_box_s(g, NULL, op);
    fp_store(g, op->d, 0);
}

static void gen_fop(struct x86_gen *g, const struct ir_op *op)
{
    if (op->aux & IR_F_SINGLE) {
        gen_fop_s(g, op);
        return;
    }
    static const uint32_t opc[] = { [IR_FADD] = 0x0f58, [IR_FSUB] = 0x0f5c, [IR_FMUL] = 0x0f59,
                                    [IR_FDIV] = 0x0f5e, [IR_FSQRT] = 0x0f51 };
    struct xbuf *b = &g->b;
    int xa = fp_reg(g, op->a, 0);
    if (op->aux == IR_FSQRT) {
        x_rr(b, XF_F2, 0x0f51, 0, xa);                      /* sqrtsd xmm0, xa */
    } else {
        int xb = fp_reg(g, op->b, 1);
        x_movapd(b, 0, xa);
        x_rr(b, XF_F2, opc[op->aux], 0, xb);
    }
    fp_canon(g, 0, NULL, op);
    fp_store(g, op->d, 0);
}

/* inf * 0 is invalid even when the addend is a quiet NaN (RISC-V); the
 * host's FMA leaves that to the implementation, so multiply again. */
static void fma_invalid_check(struct x86_gen *g, const struct ir_op *op)
{
    int xa = is_freg(op->a) ? g->fx[op->a.idx - 32] : fp_reg(g, op->a, 2);
    int xb = is_freg(op->b) ? g->fx[op->b.idx - 32] : fp_reg(g, op->b, 1);
    x_movapd(&g->b, 2, xa);
    x_rr(&g->b, XF_F2, 0x0f59, 2, xb);                      /* mulsd xmm2, b */
}

static void gen_fma(struct x86_gen *g, const struct ir_op *op)
{
    static const uint8_t opc[4] = { 0xa9, 0xab, 0xad, 0xaf };  /* vf[n]m{add,sub}213sd */
    struct xbuf *b = &g->b;
    if (op->aux & IR_F_SINGLE) {
        gen_fma_s(g, op);
        return;
    }
    int xa = fp_reg(g, op->a, 0);
    int xb = fp_reg(g, op->b, 1);
    int xc = fp_reg(g, op->c, 2);
    x_movapd(b, 0, xa);
    /* VEX.128.66.0F38.W1 op /r: xmm0 = xb * xmm0 +- xc */
    xb_byte(b, 0xc4);
    xb_byte(b, 0x80 | 0x40 | (xc < 8 ? 0x20 : 0) | 0x02);  /* ~R ~X ~B, map 0F38 */
    xb_byte(b, 0x80 | ((~(unsigned)xb & 15) << 3) | 0x01);  /* W1, vvvv = xb, pp = 66 */
    xb_byte(b, opc[op->aux & 3]);
    xb_byte(b, 0xc0 | (xc & 7));
    fp_canon(g, 0, fma_invalid_check, op);
    fp_store(g, op->d, 0);
}

static void gen_fcmp(struct x86_gen *g, const struct ir_op *op)
{
    struct xbuf *b = &g->b;
    if (op->aux & IR_F_SINGLE) {
        gen_fcmp_s(g, op);
        return;
    }
    struct ir_val first = op->aux == IR_FEQ ? op->a : op->b;
    struct ir_val second = op->aux == IR_FEQ ? op->b : op->a;
    int x1 = fp_reg(g, first, 0), x2 = fp_reg(g, second, 1);
    x_rr(b, XF_66, op->aux == IR_FEQ ? 0x0f2e : 0x0f2f, x1, x2);   /* ucomisd / comisd */
    if (op->aux == IR_FEQ) {
        x_rr(b, 0, 0x0f90 | CC_E, 0, RAX);
        x_rr(b, 0, 0x0f90 | CC_NP, 0, RCX);
        x_rr(b, 0, 0x20, RCX, RAX);                         /* and al, cl */
    } else {
        /* b > a  <=>  a < b; b >= a  <=>  a <= b; unordered gives false */
        x_rr(b, 0, 0x0f90 | (op->aux == IR_FLT ? CC_A : CC_AE), 0, RAX);
    }
    x_rr(b, 0, 0x0fb6, RAX, RAX);
    dst_set(g, dst_of(g, op->d), RAX);
}

static void gen_fcvt_di(struct x86_gen *g, const struct ir_op *op)
{
    if (op->aux & IR_F_SINGLE) {
        gen_fcvt_di_s(g, op);
        return;
    }
    ld_loc(&g->b, RAX, rc_loc(g, op->a));
    x_rr(&g->b, XF_F2 | (op->aux ? XF_W : 0), 0x0f2a, 0, RAX);  /* cvtsi2sd xmm0, r */
    fp_store(g, op->d, 0);
}

static bool big_const(struct ir_val v)
{
    return v.kind == IR_V_CONST && !fits_s32(v.c);
}

/* Reserve the scratch registers op will use, before any operand is loaded. */
static void reserve_scratch(struct x86_gen *g, const struct ir_op *op)
{
    switch (op->opc) {
    case IR_ADD: case IR_SUB: case IR_AND: case IR_OR: case IR_XOR:
    case IR_ADDW: case IR_SUBW: case IR_SLT: case IR_SLTU:
        if (big_const(op->b))
            rc_reserve(g, RDX);
        break;
    case IR_SHL: case IR_SHR: case IR_SAR: case IR_SHLW: case IR_SHRW: case IR_SARW:
    case IR_ROL: case IR_ROR: case IR_ROLW: case IR_RORW:
        if (op->b.kind != IR_V_CONST)
            rc_reserve(g, RCX);
        break;
    case IR_MUL: case IR_MULW:
        if (op->b.kind == IR_V_CONST)
            rc_reserve(g, RCX);
        break;
    case IR_MULH: case IR_MULHU:
    case IR_DIV: case IR_DIVU: case IR_REM: case IR_REMU:
    case IR_DIVW: case IR_DIVUW: case IR_REMW: case IR_REMUW:
        rc_reserve(g, RCX);
        rc_reserve(g, RDX);
        break;
    case IR_ST:
        if (x86_slot(op->b) < 0)
            rc_reserve(g, RCX);
        break;
    case IR_BRCOND: case IR_BRSIDE:
        if (big_const(op->b))
            rc_reserve(g, RCX);
        break;
    case IR_FCMP: case IR_GOTO_IND:
        rc_reserve(g, RCX);
        break;
    case IR_MIN: case IR_MAX: case IR_MINU: case IR_MAXU:
        if (op->b.kind == IR_V_CONST)
            rc_reserve(g, RDX);
        break;
    default:
        break;
    }
}

static void gen_op(struct x86_gen *g, const struct ir_op *op)
{
    if (g->tr->sys && (op->opc == IR_LD || op->opc == IR_ST)) {
        rc_reserve(g, RCX);         /* the TLB lookup's scratch registers */
        rc_reserve(g, RDX);
    } else {
        reserve_scratch(g, op);
    }
    switch (op->opc) {
    case IR_NOP: break;
    case IR_MOV: gen_mov(g, op); break;
    case IR_ADD: gen_alu(g, op, ALU_ADD, false); break;
    case IR_SUB: gen_alu(g, op, ALU_SUB, false); break;
    case IR_AND: gen_alu(g, op, ALU_AND, false); break;
    case IR_OR: gen_alu(g, op, ALU_OR, false); break;
    case IR_XOR: gen_alu(g, op, ALU_XOR, false); break;
    case IR_ADDW: gen_alu(g, op, ALU_ADD, true); break;
    case IR_SUBW: gen_alu(g, op, ALU_SUB, true); break;
    case IR_SHL: gen_shift(g, op, 4, false); break;
    case IR_SHR: gen_shift(g, op, 5, false); break;
    case IR_SAR: gen_shift(g, op, 7, false); break;
    case IR_SHLW: gen_shift(g, op, 4, true); break;
    case IR_SHRW: gen_shift(g, op, 5, true); break;
    case IR_SARW: gen_shift(g, op, 7, true); break;
    case IR_ROL: gen_shift(g, op, 0, false); break;
    case IR_ROR: gen_shift(g, op, 1, false); break;
    case IR_ROLW: gen_shift(g, op, 0, true); break;
    case IR_RORW: gen_shift(g, op, 1, true); break;
    case IR_SLT: gen_setcc(g, op, CC_L); break;
    case IR_SLTU: gen_setcc(g, op, CC_B); break;
    case IR_MUL: case IR_MULW: case IR_MULH: case IR_MULHU: gen_mul(g, op); break;
    case IR_DIV: case IR_DIVU: case IR_REM: case IR_REMU:
    case IR_DIVW: case IR_DIVUW: case IR_REMW: case IR_REMUW: gen_div(g, op); break;
    case IR_MIN: case IR_MAX: case IR_MINU: case IR_MAXU: gen_minmax(g, op); break;
    case IR_CLZ: case IR_CTZ: case IR_CPOP: case IR_CLZW: case IR_CTZW: case IR_CPOPW:
    case IR_REV8: case IR_ORCB: gen_bitop(g, op); break;
    case IR_CALL2: gen_call2(g, op); break;
    case IR_FOP: gen_fop(g, op); break;
    case IR_FMA: gen_fma(g, op); break;
    case IR_FCMP: gen_fcmp(g, op); break;
    case IR_FCVT_DI: gen_fcvt_di(g, op); break;
    case IR_LD: gen_ld(g, op); break;
    case IR_ST: gen_st(g, op); break;
    case IR_HELPER: gen_helper(g, op); break;
    case IR_GOTO:
        if (g->loop_head && (uint64_t)op->imm == g->block_pc) {
            if (g->partial_loop)
                rc_flush_transient(g);
            gen_loop_irq_check(g);
            x_jmp32(&g->b, g->loop_head);
            break;
        }
        flush_all(g, false);
        gen_goto(g, (uint64_t)op->imm);
        break;
    case IR_GOTO_IND: gen_goto_ind(g, op->a); break;
    case IR_BRCOND: gen_brcond(g, op); break;
    case IR_BRSIDE: gen_brside(g, op); break;
    case IR_EXIT: gen_exit_reason(g, (uint64_t)op->imm, op->aux); break;
    }
    rc_unlock(g);
    xc_unlock(g);
}

static int x86_gen_block(struct tr *tr, const struct ir_block *ir, struct tb *tb,
                         uint8_t *rw, uint8_t *rx, size_t room)
{
    struct x86_gen g = {
        .tr = tr,
        .tb = tb,
        .b = { .start = rw, .p = rw, .end = rw + room },
        .exit_rw = tr->rw + (tr->exit_rx - tr->rx),
        .ir = ir,
    };
    rc_reset(&g);
    xc_reset(&g);
    tb->fault_map = tr_alloc(tr, (size_t)ir->n_insns * X86_FAULT_MAP);
    if (!tb->fault_map)
        return -ENOMEM;
    struct rc_refs refs;
    rc_prepare(&g, &refs);
    g.block_pc = ir->pc;
    /* a signal waiting: leave before doing anything (nothing is cached yet) */
    uint8_t *entry_irq = gen_irq_check(&g);
    g.loop_mode = true;
    if (!tr->no_chain && rc_setup_loop(&g, ir) && xc_setup_loop(&g, ir))
        g.loop_head = g.b.p;
    else {
        g.loop_mode = false;
        g.partial_loop = false;
        g.resident = 0;
    }
    int insn = -1;
    for (int i = 0; i < ir->n_ops; i++) {
        const struct ir_op *op = &ir->ops[i];
        while (insn < op->insn_idx) {
            insn++;
            tb->insn_off[insn] = (uint32_t)(g.b.p - rw);
        }
        g.cur_insn = insn;
        g.op_idx = i;
        gen_op(&g, op);
        if (g.b.overflow) {
            return -ENOSPC;
        }
    }
    while (++insn < ir->n_insns)
        tb->insn_off[insn] = (uint32_t)(g.b.p - rw);
    gen_slow_paths(&g, tb);
    /* exit stubs for a waiting signal: at the entry nothing is cached; on a
     * loop's back edge every register the loop writes is written back */
    if (!g.b.overflow)
        x_patch32(entry_irq, g.b.p);
    mov_pc(&g.b, ir->pc);
    x_mov_ri(&g.b, RAX, CPU_EXIT_INTERRUPT);
    x_jmp32(&g.b, g.exit_rw);
    if (g.n_irq_slots) {
        /* per back edge: does the loop go on?  If not, back to its exit
         * path; if so, into the shared stub below */
        uint8_t *to_shared[ARRAY_SIZE(g.irq_slots)];
        int n_shared = 0;
        for (int k = 0; k < g.n_irq_slots && !g.b.overflow; k++) {
            struct x86_irq_slot *sl = &g.irq_slots[k];
            x_patch32(sl->jne, g.b.p);
            if (sl->cond) {
                alu_loc(&g.b, 1, ALU_CMP, sl->ra, g.irq_lb[k], RCX);
                x_jcc32(&g.b, sl->loop_cc ^ 1, sl->cont);
            }
            to_shared[n_shared++] = x_jmp32(&g.b, NULL);
        }
        for (int k = 0; k < n_shared && !g.b.overflow; k++)
            x_patch32(to_shared[k], g.b.p);
        rc_store_loop_state(&g);
        mov_pc(&g.b, ir->pc);
        x_mov_ri(&g.b, RAX, CPU_EXIT_INTERRUPT);
        x_jmp32(&g.b, g.exit_rw);
    }
    if (g.b.overflow)
        return -ENOSPC;
    return (int)(g.b.p - rw);
}

/* A slow-path stub: called from a block's slow path with rax = guest
 * address, rdx = info (loads) or value and rcx = info (stores).  Saves the
 * registers that may hold guest values into a frame (exec.h's layout, which
 * tr_sys_raise reads to make a fault precise), calls the owner's C slow
 * path, restores, returns (loads: the value in rax).  Returns the stub's
 * offset. */
static size_t gen_slow_stub(struct tr *tr, struct xbuf *b, uint8_t *rw, bool store)
{
    static const int frame_regs[TR_FRAME_GPRS] = { RBX, R12, R13, R14, RSI, RDI, R8, R9, R10, R11 };
    while ((b->p - rw) & 15)
        xb_byte(b, 0xcc);
    size_t at = (size_t)(b->p - rw);
    x_alu_ri(b, 1, ALU_SUB, RSP, TR_FRAME_BYTES);
    for (int k = 0; k < TR_FRAME_GPRS; k++)
        x_rm(b, XF_W, 0x89, frame_regs[k], RSP, -1, 8 * k);
    for (int x = 3; x < 16; x++)                            /* movq [rsp + ..], xmm */
        x_rm(b, XF_66, 0x0fd6, x, RSP, -1, 8 * TR_FRAME_XMM3 + 16 * (x - 3));
    x_mov_rr(b, RDI, RBP);
    x_mov_rr(b, RSI, RAX);
    if (store) {
        x_mov_rr(b, R8, RSP);
        x_rm(b, XF_W, 0x8b, R9, RSP, -1, TR_FRAME_BYTES);   /* return address */
        x_mov_ri(b, RAX, (int64_t)(uintptr_t)&tr->sys_st_slow);
    } else {
        x_mov_rr(b, RCX, RSP);
        x_rm(b, XF_W, 0x8b, R8, RSP, -1, TR_FRAME_BYTES);
        x_mov_ri(b, RAX, (int64_t)(uintptr_t)&tr->sys_ld_slow);
    }
    x_rm(b, 0, 0xff, 2, RAX, -1, 0);                        /* call [rax] */
    for (int k = 0; k < TR_FRAME_GPRS; k++)
        x_rm(b, XF_W, 0x8b, frame_regs[k], RSP, -1, 8 * k);
    for (int x = 3; x < 16; x++)                            /* movq xmm, [rsp + ..] */
        x_rm(b, XF_F3, 0x0f7e, x, RSP, -1, 8 * TR_FRAME_XMM3 + 16 * (x - 3));
    x_alu_ri(b, 1, ALU_ADD, RSP, TR_FRAME_BYTES);
    xb_byte(b, 0xc3);
    return at;
}

static int x86_gen_prologue(struct tr *tr, uint8_t *rw, uint8_t *rx, size_t room)
{
    struct xbuf b = { .start = rw, .p = rw, .end = rw + room };
    /* uint64_t enter(struct cpu *cpu [rdi], void *code [rsi]) */
    static const int saved[] = { RBP, RBX, R12, R13, R14, R15 };
    for (size_t i = 0; i < ARRAY_SIZE(saved); i++)
        x_prefix(&b, 0, 0, -1, saved[i], 0x50 + (saved[i] & 7));
    x_alu_ri(&b, 1, ALU_SUB, RSP, 8);
    x_mov_rr(&b, RBP, RDI);
    x_rm(&b, XF_W, 0x8b, R15, RBP, -1, CPU_OFF(guest_base));
    x_rr(&b, 0, 0xff, 4, RSI);                  /* jmp rsi */
    /* the exit path: rax holds the enum cpu_exit */
    while ((b.p - rw) & 15)
        xb_byte(&b, 0xcc);
    tr->exit_rx = rx + (b.p - rw);
    x_alu_ri(&b, 1, ALU_ADD, RSP, 8);
    for (int i = (int)ARRAY_SIZE(saved) - 1; i >= 0; i--)
        x_prefix(&b, 0, 0, -1, saved[i], 0x58 + (saved[i] & 7));
    xb_byte(&b, 0xc3);
    if (tr->sys) {
        tr->sys_ld_stub = rx + gen_slow_stub(tr, &b, rw, false);
        tr->sys_st_stub = rx + gen_slow_stub(tr, &b, rw, true);
    }
    if (b.overflow)
        return -ENOSPC;
    tr->enter = (uint64_t (*)(struct cpu *, void *))(void *)rx;
    return (int)(b.p - rw);
}

static void x86_patch_jump(struct tr *tr, uint8_t *rx_slot, const void *target)
{
    uint8_t *rw_slot = tr->rw + (rx_slot - tr->rx);
    int32_t rel = (int32_t)((const uint8_t *)target - (rx_slot + 4));
    __atomic_store_n((int32_t *)(void *)rw_slot, rel, __ATOMIC_RELEASE);
}

static void x86_recover_regs(struct cpu *cpu, const struct tb *tb, int insn, const void *ucontext)
{
    static const int greg[16] = {
        [RAX] = REG_RAX, [RCX] = REG_RCX, [RDX] = REG_RDX, [RBX] = REG_RBX,
        [RSP] = REG_RSP, [RBP] = REG_RBP, [RSI] = REG_RSI, [RDI] = REG_RDI,
        [R8] = REG_R8, [R9] = REG_R9, [R10] = REG_R10, [R11] = REG_R11,
        [R12] = REG_R12, [R13] = REG_R13, [R14] = REG_R14, [R15] = REG_R15,
    };
    const ucontext_t *uc = ucontext;
    if (!tb->fault_map)
        return;
    const uint8_t *m = tb->fault_map + X86_FAULT_MAP * insn;
    for (int h = 0; h < 16; h++)
        if (m[h] && m[h] - 1 < 32)
            cpu->x[m[h] - 1] = (uint64_t)uc->uc_mcontext.gregs[greg[h]];
    for (int x = 0; x < 16; x++) {
        if (!m[16 + x] || !uc->uc_mcontext.fpregs)
            continue;
        const struct _libc_xmmreg *r = &uc->uc_mcontext.fpregs->_xmm[x];
        cpu->f[m[16 + x] - 1] = r->element[0] | (uint64_t)r->element[1] << 32;
    }
}

const struct tr_backend x86_backend = {
    .name = "x86_64",
    .gen_prologue = x86_gen_prologue,
    .gen_block = x86_gen_block,
    .patch_jump = x86_patch_jump,
    .recover_regs = x86_recover_regs,
    .slow_insn = x86_slow_insn,
};
