/* regs.c - the x86-64 back end's per-block register cache (see x86.h). */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "x86_64/x86.h"

const int x86_pool[X86_POOL] = { RBX, R12, R13, R14, RSI, RDI, R8, R9, R10, R11, RCX, RDX };

bool x86_caller_saved(int h)
{
    return h == RSI || h == RDI || (h >= R8 && h <= R11) || h == RCX || h == RDX;
}

int x86_slot(struct ir_val v)
{
    if (v.kind == IR_V_REG)
        return v.idx < 32 ? v.idx : -1;
    if (v.kind == IR_V_TMP)
        return 64 + v.idx;
    return -1;
}

int x86_home(int slot)
{
    return slot < 64 ? CPU_OFF_X(slot) : CPU_OFF_TMP(slot - 64);
}

void rc_reset(struct x86_gen *g)
{
    memset(g->host_slot, -1, sizeof(g->host_slot));
    memset(g->slot_host, -1, sizeof(g->slot_host));
    memset(g->dirty, 0, sizeof(g->dirty));
    memset(g->used, 0, sizeof(g->used));
    g->locked = 0;
    g->clock = 0;
}

static void rc_store(struct x86_gen *g, int h)
{
    x_rm(&g->b, XF_W, 0x89, h, RBP, -1, x86_home(g->host_slot[h]));
    g->dirty[h] = false;
}

static void rc_evict(struct x86_gen *g, int h)
{
    if (g->host_slot[h] < 0)
        return;
    if (g->dirty[h])
        rc_store(g, h);
    g->slot_host[g->host_slot[h]] = -1;
    g->host_slot[h] = -1;
}

static inline int uslot(struct ir_val v)
{
    if (v.kind == IR_V_REG)
        return v.idx;
    if (v.kind == IR_V_TMP)
        return 64 + v.idx;
    return -1;
}

static bool op_reads(const struct ir_op *op, int s)
{
    return uslot(op->a) == s || uslot(op->b) == s || uslot(op->c) == s;
}

static bool op_writes(const struct ir_op *op, int s)
{
    return uslot(op->d) == s && op->opc != IR_ST && op->opc != IR_BRSIDE && !ir_is_end(op->opc);
}

static bool op_barrier(const struct ir_op *op)
{
    return ir_is_barrier(op->opc) || op->opc == IR_CALL2;
}

#define SLOT_OK(s) ((unsigned)(s) < X86_SLOTS)

void rc_prepare(struct x86_gen *g, struct rc_refs *r)
{
    const struct ir_block *ir = g->ir;
    int n = ir->n_ops;
    g->refs = r;
    /* count, then place (an op that names a slot twice reads it once) */
    memset(r->rd_start, 0, sizeof(r->rd_start));
    memset(r->wr_start, 0, sizeof(r->wr_start));
    for (int i = 0; i < n; i++) {
        const struct ir_op *op = &ir->ops[i];
        int a = uslot(op->a), b = uslot(op->b), c = uslot(op->c), d = uslot(op->d);
        if (SLOT_OK(a))
            r->rd_start[a + 1]++;
        if (SLOT_OK(b) && b != a)
            r->rd_start[b + 1]++;
        if (SLOT_OK(c) && c != a && c != b)
            r->rd_start[c + 1]++;
        if (SLOT_OK(d) && op_writes(op, d))
            r->wr_start[d + 1]++;
    }
    for (int k = 0; k < X86_SLOTS; k++) {
        r->rd_start[k + 1] += r->rd_start[k];
        r->wr_start[k + 1] += r->wr_start[k];
    }
    uint16_t rfill[X86_SLOTS], wfill[X86_SLOTS];
    memcpy(rfill, r->rd_start, sizeof(rfill));
    memcpy(wfill, r->wr_start, sizeof(wfill));
    for (int i = 0; i < n; i++) {
        const struct ir_op *op = &ir->ops[i];
        int a = uslot(op->a), b = uslot(op->b), c = uslot(op->c), d = uslot(op->d);
        if (SLOT_OK(a))
            r->rd[rfill[a]++] = (uint16_t)i;
        if (SLOT_OK(b) && b != a)
            r->rd[rfill[b]++] = (uint16_t)i;
        if (SLOT_OK(c) && c != a && c != b)
            r->rd[rfill[c]++] = (uint16_t)i;
        if (SLOT_OK(d) && op_writes(op, d))
            r->wr[wfill[d]++] = (uint16_t)i;
    }
    r->bar_next[n] = RC_FAR;
    for (int i = n - 1; i >= 0; i--)
        r->bar_next[i] = op_barrier(&ir->ops[i]) ? i : r->bar_next[i + 1];
    memset(r->at, -1, sizeof(r->at));
}

/* The first position in pos[lo, hi) after op AFTER, or RC_FAR. */
static int first_after(const uint16_t *pos, int lo, int hi, int after)
{
    int end = hi;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (pos[mid] <= after)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < end ? pos[lo] : RC_FAR;
}

/* The first read and the first write of slot s after the op being
 * emitted (RC_FAR: none).  Register allocation asks this of every cached
 * slot at every eviction: the answer is kept until the generation passes
 * either position. */
static void next_refs(const struct x86_gen *g, int s, int *rd, int *wr)
{
    struct rc_refs *r = g->refs;
    int i = g->op_idx;
    if (r->at[s] >= 0 && r->at[s] <= i && i < r->next_rd[s] && i < r->next_wr[s]) {
        *rd = r->next_rd[s];
        *wr = r->next_wr[s];
        return;
    }
    *rd = first_after(r->rd, r->rd_start[s], r->rd_start[s + 1], i);
    *wr = first_after(r->wr, r->wr_start[s], r->wr_start[s + 1], i);
    r->at[s] = i;
    r->next_rd[s] = *rd;
    r->next_wr[s] = *wr;
}

/* How far ahead (in ops) slot s is next read; a large number if it is
 * not read again in the block, or written before it is read.  *dead is
 * set when the value can be dropped without a write-back: it is
 * overwritten before any read and before anything that could observe the
 * guest state (a fault, a call, a block exit). */
int rc_next_read(const struct x86_gen *g, int s, bool *dead)
{
    const struct ir_block *ir = g->ir;
    *dead = s >= 64;        /* temporaries die with the block */
    if (!ir)
        return 0;
    /* the op being emitted may still load an operand that is cached */
    const struct ir_op *cur = &ir->ops[g->op_idx];
    if (op_reads(cur, s) || cur->opc == IR_HELPER) {
        *dead = false;
        return 0;
    }
    const struct rc_refs *r = g->refs;
    if (s < 0 || s >= X86_SLOTS)
        return RC_FAR;
    int rd, wr;
    next_refs(g, s, &rd, &wr);
    if (rd <= wr) {             /* read first (an op that reads and writes reads) */
        if (rd == RC_FAR)
            return RC_FAR;      /* never used again: dead only if a temporary */
        *dead = false;
        return rd - g->op_idx;
    }
    /* overwritten before any read: the old value need not be written back,
     * unless something may fault or leave the block first (the op being
     * emitted included) */
    *dead = !op_barrier(cur) && r->bar_next[g->op_idx + 1] > wr;
    return RC_FAR;
}

/* Distance to the next read of slot s strictly after the op being emitted. */
static int next_read_after(const struct x86_gen *g, int s)
{
    if (!g->ir)
        return 0;
    if (s < 0 || s >= X86_SLOTS)
        return RC_FAR;
    int rd, wr;
    next_refs(g, s, &rd, &wr);
    return rd <= wr && rd != RC_FAR ? rd - g->op_idx : RC_FAR;
}

/* The eviction score rc_alloc would pick now; -1 if a register is free. */
static int victim_score(struct x86_gen *g)
{
    int best_dist = -1;
    for (int i = 0; i < X86_POOL; i++) {
        int h = x86_pool[i];
        if ((g->locked | g->resident) & (1u << h))
            continue;
        if (g->loop_mode && !g->partial_loop && (h == RCX || h == RDX))
            continue;
        if (g->host_slot[h] < 0)
            return -1;
        bool dead;
        int dist = 2 * rc_next_read(g, g->host_slot[h], &dead) + (g->dirty[h] && !dead ? 0 : 1);
        if (dist > best_dist)
            best_dist = dist;
    }
    return best_dist;
}

/* Pick a register: a free one, else the value read furthest in the
 * future (clean ones first among equals), written back if modified. */
static int rc_alloc(struct x86_gen *g)
{
    int best = -1, best_dist = -1;
    for (int i = 0; i < X86_POOL; i++) {
        int h = x86_pool[i];
        if ((g->locked | g->resident) & (1u << h))
            continue;
        if (g->loop_mode && !g->partial_loop && (h == RCX || h == RDX))
            continue;
        if (g->host_slot[h] < 0)
            return h;
        bool dead;
        int dist = 2 * rc_next_read(g, g->host_slot[h], &dead) + (g->dirty[h] && !dead ? 0 : 1);
        if (dist > best_dist) {
            best = h;
            best_dist = dist;
        }
    }
    if (best < 0)
        abort();        /* an op never locks more than three registers */
    bool dead;
    rc_next_read(g, g->host_slot[best], &dead);
    if (dead)
        g->dirty[best] = false;     /* overwritten before anyone can see it */
    rc_evict(g, best);
    return best;
}

int rc_use(struct x86_gen *g, struct ir_val v)
{
    int s = x86_slot(v);
    if (s < 0)
        abort();        /* callers pass only cacheable values */
    int h = g->slot_host[s];
    if (h < 0) {
        h = rc_alloc(g);
        x_rm(&g->b, XF_W, 0x8b, h, RBP, -1, x86_home(s));
        g->host_slot[h] = (int8_t)s;
        g->slot_host[s] = (int8_t)h;
        g->dirty[h] = false;
    }
    g->used[h] = ++g->clock;
    g->locked |= (uint16_t)(1u << h);
    return h;
}

int rc_def(struct x86_gen *g, struct ir_val d)
{
    int s = x86_slot(d);
    if (s < 0)
        abort();
    int h = g->slot_host[s];
    if (h < 0) {
        h = rc_alloc(g);
        g->host_slot[h] = (int8_t)s;
        g->slot_host[s] = (int8_t)h;
    }
    g->dirty[h] = true;
    g->used[h] = ++g->clock;
    g->locked |= (uint16_t)(1u << h);
    return h;
}

void rc_unlock(struct x86_gen *g)
{
    g->locked = 0;
}

void rc_reserve(struct x86_gen *g, int r)
{
    rc_evict(g, r);
    g->locked |= (uint16_t)(1u << r);
}

void rc_flush(struct x86_gen *g, bool tmps)
{
    for (int i = 0; i < X86_POOL; i++) {
        int h = x86_pool[i];
        if (g->host_slot[h] >= 0 && g->dirty[h] && (tmps || g->host_slot[h] < 64))
            rc_store(g, h);
    }
}

void rc_drop(struct x86_gen *g, bool caller_saved_only)
{
    for (int i = 0; i < X86_POOL; i++) {
        int h = x86_pool[i];
        if (caller_saved_only && !x86_caller_saved(h))
            continue;
        rc_evict(g, h);
    }
}

void rc_note_fault_point(struct x86_gen *g)
{
    uint8_t *m = g->tb->fault_map + X86_FAULT_MAP * g->cur_insn;
    memset(m, 0, X86_FAULT_MAP);
    xc_note_fault_point(g, m + 16);
    for (int i = 0; i < X86_POOL; i++) {
        int h = x86_pool[i];
        if (g->host_slot[h] >= 0 && g->host_slot[h] < 64 && g->dirty[h])
            m[h] = (uint8_t)(g->host_slot[h] + 1);
    }
}

struct loc rc_loc(struct x86_gen *g, struct ir_val v)
{
    struct loc l = { 0 };
    if (v.kind == IR_V_CONST) {
        l.k = L_IMM;
        l.imm = v.c;
    } else if (x86_slot(v) < 0) {
        xc_sync(g, v.idx - 32, false);  /* integer code reads an FP register */
        l.k = L_MEM;
        l.r = RBP;
        l.disp = CPU_OFF_X(v.idx);
    } else {
        int s = x86_slot(v);
        if (g->slot_host[s] < 0 && g->ir) {
            /* not cached and every register taken: read it from struct
             * cpu as a memory operand unless it is needed again sooner
             * than what loading it would evict */
            int victim = victim_score(g);
            if (victim >= 0 && 2 * next_read_after(g, s) >= victim) {
                l.k = L_MEM;
                l.r = RBP;
                l.disp = x86_home(s);
                return l;
            }
        }
        l.k = L_REG;
        l.r = rc_use(g, v);
    }
    return l;
}

bool rc_setup_loop(struct x86_gen *g, const struct ir_block *ir)
{
    bool loops = false;
    bool used[X86_SLOTS] = { false }, written[X86_SLOTS] = { false };
    int uses[X86_SLOTS] = { 0 };
    int n = 0;
    for (int i = 0; i < ir->n_ops; i++) {
        const struct ir_op *op = &ir->ops[i];
        if (op->opc == IR_HELPER || op->opc == IR_CALL2)
            return false;
        if ((op->opc == IR_BRCOND && ((uint64_t)op->imm == ir->pc || (uint64_t)op->imm2 == ir->pc)) ||
            (op->opc == IR_BRSIDE && (uint64_t)op->imm == ir->pc) ||
            (op->opc == IR_GOTO && (uint64_t)op->imm == ir->pc))
            loops = true;
        const struct ir_val *v[4] = { &op->d, &op->a, &op->b, &op->c };
        for (int k = 0; k < 4; k++) {
            int s = x86_slot(*v[k]);
            if (s < 0)
                continue;
            if (!used[s])
                n++;
            used[s] = true;
            uses[s]++;
            if (k == 0 && op->opc != IR_ST && op->opc != IR_BRSIDE && !ir_is_end(op->opc))
                written[s] = true;
        }
    }
    if (!loops)
        return false;
    if (n > X86_LOOP_POOL) {
        /* partial: the most used guest registers stay in host registers
         * across iterations; the others go through the remaining ones
         * (rcx and rdx included) and are written back at the back edge */
        for (int s = 64; s < X86_SLOTS; s++)
            used[s] = false;
        for (int s = 0; s < 64; s++)
            used[s] = false;
        for (int k = 0; k < X86_LOOP_RESIDENT; k++) {
            int best = -1;
            for (int s = 1; s < 32; s++)
                if (!used[s] && uses[s] > 1 && (best < 0 || uses[s] > uses[best]))
                    best = s;
            if (best < 0)
                break;
            used[best] = true;
        }
        g->partial_loop = true;
    }
    memset(g->loop_written_host, -1, sizeof(g->loop_written_host));
    g->resident = 0;
    for (int s = 0; s < X86_SLOTS; s++) {
        if (!used[s])
            continue;
        struct ir_val v = s < 64 ? ir_reg(s) : ir_tmp(s - 64);
        int h = s < 64 ? rc_use(g, v) : rc_def(g, v);
        g->dirty[h] = written[s] && s < 64;
        if (written[s] && s < 64)
            g->loop_written_host[h] = (int8_t)s;
        if (g->partial_loop)
            g->resident |= (uint16_t)(1u << h);
    }
    rc_unlock(g);
    return true;
}

void rc_flush_transient(struct x86_gen *g)
{
    for (int i = 0; i < X86_POOL; i++) {
        int h = x86_pool[i];
        if (g->resident & (1u << h))
            continue;
        if (g->host_slot[h] >= 64)
            g->dirty[h] = false;    /* a temporary: dies with the iteration */
        rc_evict(g, h);
    }
}

void rc_flush_copy(struct x86_gen *g)
{
    for (int i = 0; i < X86_POOL; i++) {
        int h = x86_pool[i];
        if (g->host_slot[h] >= 0 && g->host_slot[h] < 64 && g->dirty[h])
            x_rm(&g->b, XF_W, 0x89, h, RBP, -1, x86_home(g->host_slot[h]));
    }
}

void rc_store_loop_state(struct x86_gen *g)
{
    for (int h = 0; h < 16; h++)
        if (g->loop_written_host[h] >= 0)
            x_rm(&g->b, XF_W, 0x89, h, RBP, -1, x86_home(g->loop_written_host[h]));
    for (int x = 0; x < 16; x++)
        if (g->loop_written_x[x] >= 0)
            x_rm(&g->b, XF_F2, 0x0f11, x, RBP, -1, CPU_OFF_F(g->loop_written_x[x]));
}
