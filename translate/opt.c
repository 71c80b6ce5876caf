/* opt.c - the block optimizer: constant folding, copy propagation and
 * dead-code removal over one IR block.
 *
 * Forward pass: track which registers and temporaries hold a known
 * constant or a copy of another one, substitute operands, fold ops whose
 * operands are all constant (with ir_eval, the interpreter's semantics),
 * turn constant branches into jumps, and turn (x >> n) | (x << (w - n))
 * into a rotate (the shifts then usually die).  Backward pass: remove pure ops whose
 * result is overwritten before it is read.  Guest registers are live at
 * every op that can fault or call out (ir_is_barrier), so the guest state
 * stays exact wherever a fault can be observed.
 */
#include <config.h>

#include <string.h>

#include "ir.h"

#define N_SLOTS (64 + CPU_TMPS)

struct opt_info {
    bool is_const;
    int64_t c;
    int copy;       /* slot this one is a copy of, or -1 */
};

static int slot_of(struct ir_val v)
{
    if (v.kind == IR_V_REG)
        return v.idx;
    if (v.kind == IR_V_TMP)
        return 64 + v.idx;
    return -1;
}

static struct ir_val val_of_slot(int s)
{
    return s < 64 ? ir_reg(s) : ir_tmp(s - 64);
}

static void subst(struct opt_info *info, struct ir_val *v)
{
    int s = slot_of(*v);
    if (s < 0)
        return;
    if (info[s].is_const)
        *v = ir_const(info[s].c);
    else if (info[s].copy >= 0)
        *v = val_of_slot(info[s].copy);
}

/* n_copies[s]: how many slots are copies of s (saves the scan). */
static void set_copy(struct opt_info *info, int *n_copies, int d, int a)
{
    if (info[d].copy >= 0)
        n_copies[info[d].copy]--;
    info[d].copy = a;
    if (a >= 0)
        n_copies[a]++;
}

static void kill_slot(struct opt_info *info, int *n_copies, int s)
{
    info[s].is_const = false;
    set_copy(info, n_copies, s, -1);
    for (int t = 0; t < N_SLOTS && n_copies[s] > 0; t++)
        if (info[t].copy == s)
            set_copy(info, n_copies, t, -1);
}

static bool is_pure(int opc)
{
    return opc >= IR_MOV && opc <= IR_CALL2;
}

static bool commutative(int opc)
{
    return opc == IR_ADD || opc == IR_AND || opc == IR_OR || opc == IR_XOR ||
           opc == IR_MUL || opc == IR_ADDW || opc == IR_MULW;
}

/* A slot that holds a constant shift of another slot's value, for
 * recognising rotates: (x >> n) | (x << (w - n)). */
struct opt_shift {
    int opc;        /* IR_SHL, IR_SHR, IR_SHLW, IR_SHRW; 0: none */
    int src;        /* the shifted slot */
    unsigned gen;   /* its version when shifted */
    int n;          /* the count */
};

/* If op (an IR_OR of two slots) combines two shifts of the same value
 * into a rotate, turn it into IR_ROR / IR_RORW. */
static void fuse_rotate(struct ir_op *op, const struct opt_shift *sh, const unsigned *gen)
{
    int x = slot_of(op->a), y = slot_of(op->b);
    if (x < 0 || y < 0)
        return;
    const struct opt_shift *r = &sh[x], *l = &sh[y];
    if (r->opc == IR_SHL || r->opc == IR_SHLW) {
        const struct opt_shift *t = r;
        r = l;
        l = t;
    }
    bool w = r->opc == IR_SHRW && l->opc == IR_SHLW;
    if (!w && !(r->opc == IR_SHR && l->opc == IR_SHL))
        return;
    if (r->src != l->src || r->gen != gen[r->src] || l->gen != gen[l->src] ||
        r->n <= 0 || l->n <= 0 || r->n + l->n != (w ? 32 : 64))
        return;
    op->opc = w ? IR_RORW : IR_ROR;
    op->a = val_of_slot(r->src);
    op->b = ir_const(r->n);
}

static void opt_forward(struct ir_block *b)
{
    struct opt_info info[N_SLOTS];
    struct opt_shift sh[N_SLOTS];
    unsigned gen[N_SLOTS];
    int n_copies[N_SLOTS] = { 0 };
    for (int s = 0; s < N_SLOTS; s++) {
        info[s] = (struct opt_info){ .copy = -1 };
        sh[s].opc = 0;
        gen[s] = 0;
    }

    for (int i = 0; i < b->n_ops; i++) {
        struct ir_op *op = &b->ops[i];
        if (op->opc == IR_NOP)
            continue;
        if (op->opc != IR_HELPER) {
            subst(info, &op->a);
            subst(info, &op->b);
            subst(info, &op->c);
        }
        if (is_pure(op->opc)) {
            bool a_c = op->a.kind == IR_V_CONST;
            bool b_c = op->b.kind == IR_V_CONST || op->b.kind == IR_V_NONE;
            if (a_c && b_c) {
                int64_t c = (int64_t)ir_eval(op, (uint64_t)op->a.c, (uint64_t)op->b.c);
                op->opc = IR_MOV;
                op->a = ir_const(c);
                op->b = ir_const(0);
            } else if (commutative(op->opc) && a_c) {
                struct ir_val t = op->a;
                op->a = op->b;
                op->b = t;
            }
            if ((op->opc == IR_ADD || op->opc == IR_OR || op->opc == IR_XOR ||
                 op->opc == IR_SUB || op->opc == IR_SHL || op->opc == IR_SHR ||
                 op->opc == IR_SAR) && op->b.kind == IR_V_CONST && op->b.c == 0) {
                op->opc = IR_MOV;
                op->b = ir_const(0);
            }
            if (op->opc == IR_OR)
                fuse_rotate(op, sh, gen);
        } else if (op->opc == IR_BRCOND && op->a.kind == IR_V_CONST && op->b.kind == IR_V_CONST) {
            bool t = ir_cond_eval(op->aux, (uint64_t)op->a.c, (uint64_t)op->b.c);
            op->opc = IR_GOTO;
            op->imm = t ? op->imm : op->imm2;
        } else if (op->opc == IR_BRSIDE && op->a.kind == IR_V_CONST && op->b.kind == IR_V_CONST) {
            if (ir_cond_eval(op->aux, (uint64_t)op->a.c, (uint64_t)op->b.c)) {
                op->opc = IR_GOTO;      /* always taken: the rest is dead */
                for (int k = i + 1; k < b->n_ops; k++)
                    b->ops[k].opc = IR_NOP;
            } else {
                op->opc = IR_NOP;
            }
            continue;
        }
        if (op->opc == IR_HELPER) {
            for (int s = 0; s < 64; s++) {
                kill_slot(info, n_copies, s);
                sh[s].opc = 0;
                gen[s]++;
            }
            continue;
        }
        int d = slot_of(op->d);
        if (d < 0 || op->opc == IR_ST || op->opc == IR_BRSIDE || ir_is_end(op->opc))
            continue;
        kill_slot(info, n_copies, d);
        gen[d]++;
        sh[d].opc = 0;
        if ((op->opc == IR_SHL || op->opc == IR_SHR || op->opc == IR_SHLW || op->opc == IR_SHRW) &&
            slot_of(op->a) >= 0 && slot_of(op->a) != d && op->b.kind == IR_V_CONST) {
            int m = op->opc == IR_SHLW || op->opc == IR_SHRW ? 31 : 63;
            sh[d] = (struct opt_shift){ .opc = op->opc, .src = slot_of(op->a),
                                        .gen = gen[slot_of(op->a)], .n = (int)(op->b.c & m) };
        }
        if (op->opc == IR_MOV) {
            if (op->a.kind == IR_V_CONST) {
                info[d].is_const = true;
                info[d].c = op->a.c;
            } else {
                int a = slot_of(op->a);
                if (a >= 0 && a != d)
                    set_copy(info, n_copies, d, a);
            }
        }
    }
}

static void opt_dce(struct ir_block *b)
{
    uint64_t live_regs = ~UINT64_C(0);
    uint32_t live_tmps = 0;
    for (int i = b->n_ops - 1; i >= 0; i--) {
        struct ir_op *op = &b->ops[i];
        if (op->opc == IR_NOP)
            continue;
        int d = (op->opc == IR_ST || ir_is_end(op->opc) || op->opc == IR_HELPER ||
                 op->opc == IR_BRSIDE) ? -1 : slot_of(op->d);
        if (d >= 0 && is_pure(op->opc)) {
            bool live = d < 64 ? (live_regs >> d) & 1 : (live_tmps >> (d - 64)) & 1;
            if (!live) {
                op->opc = IR_NOP;
                continue;
            }
        }
        if (d >= 0) {
            if (d < 64)
                live_regs &= ~(UINT64_C(1) << d);
            else
                live_tmps &= ~(1u << (d - 64));
        }
        struct ir_val *rd[3] = { &op->a, &op->b, &op->c };
        for (int k = 0; k < 3; k++) {
            int s = slot_of(*rd[k]);
            if (s < 0)
                continue;
            if (s < 64)
                live_regs |= UINT64_C(1) << s;
            else
                live_tmps |= 1u << (s - 64);
        }
        if (ir_is_barrier(op->opc))
            live_regs = ~UINT64_C(0);
    }
}

static bool is_w_op(int opc)
{
    return (opc >= IR_ADDW && opc <= IR_SARW) || opc == IR_ROLW || opc == IR_RORW ||
           opc == IR_MULW || (opc >= IR_DIVW && opc <= IR_REMUW);
}

/* Is slot s's value sign-extended from bit 31 (bits 32-63 copies of bit
 * 31)?  known[] tracks it forward. */
static bool sext_known(const bool *known, struct ir_val v)
{
    if (v.kind == IR_V_CONST)
        return v.c == (int64_t)(int32_t)v.c;
    int s = slot_of(v);
    return s >= 0 && known[s];
}

/* sext.w (addw x, 0) of a value that is already sign-extended is a move
 * (which copy propagation may then remove). */
static void opt_sext(struct ir_block *b)
{
    bool known[N_SLOTS] = { false };
    for (int i = 0; i < b->n_ops; i++) {
        struct ir_op *op = &b->ops[i];
        if (op->opc == IR_NOP)
            continue;
        if (op->opc == IR_HELPER) {
            for (int s = 0; s < 64; s++)
                known[s] = false;
            continue;
        }
        int d = slot_of(op->d);
        if (d < 0 || op->opc == IR_ST || op->opc == IR_BRSIDE || ir_is_end(op->opc))
            continue;
        if (op->opc == IR_ADDW && op->b.kind == IR_V_CONST && op->b.c == 0 &&
            sext_known(known, op->a))
            op->opc = IR_MOV;
        bool k;
        switch (op->opc) {
        case IR_MOV: k = sext_known(known, op->a); break;
        case IR_SLT: case IR_SLTU: k = true; break;
        case IR_LD: k = (op->aux & 3) < 2 || op->aux == (2 | IR_MEM_SIGNED); break;
        default: k = is_w_op(op->opc) && !(op->aux & IR_W_NOSEXT); break;
        }
        known[d] = k;
    }
}

/* Does op use only the low 32 bits of operand k (0 a, 1 b, 2 c), given
 * whether only the low 32 bits of its result are needed (low_res)? */
static bool low_only(const struct ir_op *op, int k, bool low_res)
{
    if (is_w_op(op->opc))
        return k < 2;
    switch (op->opc) {
    case IR_SHL: return k == 1 || (k == 0 && low_res);
    case IR_SHR: case IR_SAR: case IR_ROL: case IR_ROR: return k == 1;
    case IR_ADD: case IR_SUB: case IR_AND: case IR_OR: case IR_XOR: case IR_MUL:
        return k < 2 && low_res;
    case IR_MOV: return k == 0 && low_res;
    case IR_ST: return k == 1 && (op->aux & 3) <= 2;
    default: return false;
    }
}

/* Backward: mark 32-bit ops whose upper result half nobody can see
 * (IR_W_NOSEXT).  hi_dead[s]: the upper half of s's current value is not
 * read before s is overwritten, and no barrier (fault, call, exit) can
 * observe it - guest registers are visible at every barrier, temporaries
 * only through reads. */
static void opt_nosext(struct ir_block *b)
{
    bool hi_dead[N_SLOTS];
    for (int s = 0; s < N_SLOTS; s++)
        hi_dead[s] = s >= 64;
    for (int i = b->n_ops - 1; i >= 0; i--) {
        struct ir_op *op = &b->ops[i];
        if (op->opc == IR_NOP)
            continue;
        bool writes = !(op->opc == IR_ST || op->opc == IR_BRSIDE || ir_is_end(op->opc) ||
                        op->opc == IR_HELPER);
        int d = writes ? slot_of(op->d) : -1;
        bool low_res = false;
        if (d >= 0) {
            low_res = hi_dead[d];
            hi_dead[d] = true;
            if (low_res && is_w_op(op->opc))
                op->aux |= IR_W_NOSEXT;
        }
        if (ir_is_barrier(op->opc) || op->opc == IR_CALL2)
            for (int s = 0; s < 64; s++)
                hi_dead[s] = false;
        struct ir_val *rd[3] = { &op->a, &op->b, &op->c };
        for (int k = 0; k < 3; k++) {
            int s = slot_of(*rd[k]);
            if (s >= 0 && !low_only(op, k, low_res))
                hi_dead[s] = false;
        }
    }
}

void ir_optimize(struct ir_block *b)
{
    opt_sext(b);
    opt_forward(b);
    opt_dce(b);
    opt_nosext(b);
}
