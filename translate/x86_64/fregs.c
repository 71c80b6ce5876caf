/* fregs.c - the x86-64 back end's cache of guest FP registers in xmm3-15.
 *
 * Same rules as the integer cache (regs.c): loaded on first use, written
 * back at block exits, before calls and on eviction (unless overwritten
 * before anything can observe it).  Integer IR that touches an FP
 * register (moves, sign injection, 32-bit loads and stores) works on
 * struct cpu, so xc_sync writes the cached copy back first.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "x86_64/x86.h"

void x_movapd(struct xbuf *b, int dst, int src)
{
    if (dst != src)
        x_rr(b, XF_66, 0x0f28, dst, src);
}

static void x_movsd_load(struct xbuf *b, int x, int f)
{
    x_rm(b, XF_F2, 0x0f10, x, RBP, -1, CPU_OFF_F(f));
}

static void x_movsd_store(struct xbuf *b, int x, int f)
{
    x_rm(b, XF_F2, 0x0f11, x, RBP, -1, CPU_OFF_F(f));
}

void xc_reset(struct x86_gen *g)
{
    memset(g->xslot, -1, sizeof(g->xslot));
    memset(g->fx, -1, sizeof(g->fx));
    memset(g->xdirty, 0, sizeof(g->xdirty));
    g->xlocked = 0;
}

static void xc_evict(struct x86_gen *g, int x, bool store)
{
    int f = g->xslot[x];
    if (f < 0)
        return;
    if (g->xdirty[x] && store)
        x_movsd_store(&g->b, x, f);
    g->xdirty[x] = false;
    g->fx[f] = -1;
    g->xslot[x] = -1;
}

static int xc_alloc(struct x86_gen *g)
{
    int best = -1, best_dist = -1;
    for (int x = 16 - X86_XPOOL; x < 16; x++) {
        if (g->xlocked & (1u << x))
            continue;
        if (g->xslot[x] < 0)
            return x;
        bool dead;
        int dist = 2 * rc_next_read(g, 32 + g->xslot[x], &dead) + (g->xdirty[x] && !dead ? 0 : 1);
        if (dist > best_dist) {
            best = x;
            best_dist = dist;
        }
    }
    if (best < 0)
        abort();            /* an op never locks more than three */
    bool dead;
    rc_next_read(g, 32 + g->xslot[best], &dead);
    xc_evict(g, best, !dead);
    return best;
}

int xc_use(struct x86_gen *g, int f)
{
    int x = g->fx[f];
    if (x < 0) {
        x = xc_alloc(g);
        x_movsd_load(&g->b, x, f);
        g->xslot[x] = (int8_t)f;
        g->fx[f] = (int8_t)x;
        g->xdirty[x] = false;
    }
    g->xlocked |= (uint16_t)(1u << x);
    return x;
}

int xc_def(struct x86_gen *g, int f)
{
    int x = g->fx[f];
    if (x < 0) {
        x = xc_alloc(g);
        g->xslot[x] = (int8_t)f;
        g->fx[f] = (int8_t)x;
    }
    g->xdirty[x] = true;
    g->xlocked |= (uint16_t)(1u << x);
    return x;
}

void xc_unlock(struct x86_gen *g)
{
    g->xlocked = 0;
}

void xc_flush(struct x86_gen *g)
{
    for (int x = 16 - X86_XPOOL; x < 16; x++)
        if (g->xslot[x] >= 0 && g->xdirty[x]) {
            x_movsd_store(&g->b, x, g->xslot[x]);
            g->xdirty[x] = false;
        }
}

void xc_flush_copy(struct x86_gen *g)
{
    for (int x = 16 - X86_XPOOL; x < 16; x++)
        if (g->xslot[x] >= 0 && g->xdirty[x])
            x_movsd_store(&g->b, x, g->xslot[x]);
}

void xc_drop(struct x86_gen *g)
{
    for (int x = 16 - X86_XPOOL; x < 16; x++)
        xc_evict(g, x, true);
}

void xc_sync(struct x86_gen *g, int f, bool write)
{
    int x = g->fx[f];
    if (x < 0)
        return;
    if (g->xdirty[x] && !write) {
        x_movsd_store(&g->b, x, f);
        g->xdirty[x] = false;
    }
    if (write)
        xc_evict(g, x, false);      /* memory gets the new value */
}

void xc_note_fault_point(struct x86_gen *g, uint8_t *map)
{
    for (int x = 16 - X86_XPOOL; x < 16; x++)
        if (g->xslot[x] >= 0 && g->xdirty[x])
            map[x] = (uint8_t)(g->xslot[x] + 1);
}

bool xc_setup_loop(struct x86_gen *g, const struct ir_block *ir)
{
    bool used[32] = { false }, written[32] = { false };
    int n = 0;
    for (int i = 0; i < ir->n_ops; i++) {
        const struct ir_op *op = &ir->ops[i];
        bool fp_op = op->opc == IR_FOP || op->opc == IR_FMA || op->opc == IR_FCMP ||
                     op->opc == IR_FCVT_DI || ((op->opc == IR_LD || op->opc == IR_ST) && (op->aux & 3) == 3);
        const struct ir_val *v[4] = { &op->d, &op->a, &op->b, &op->c };
        for (int k = 0; k < 4 && !fp_op; k++)
            if (v[k]->kind == IR_V_REG && v[k]->idx >= 32)
                return false;   /* integer code on an FP register: xc_sync would evict */
        for (int k = 0; k < 4; k++) {
            if (v[k]->kind != IR_V_REG || v[k]->idx < 32)
                continue;
            int f = v[k]->idx - 32;
            if (!used[f])
                n++;
            used[f] = true;
            if (k == 0 && op->opc != IR_ST && op->opc != IR_BRSIDE && !ir_is_end(op->opc))
                written[f] = true;
        }
    }
    if (n > X86_XPOOL)
        return false;
    memset(g->loop_written_x, -1, sizeof(g->loop_written_x));
    for (int f = 0; f < 32; f++) {
        if (!used[f])
            continue;
        int x = xc_use(g, f);
        g->xdirty[x] = written[f];
        if (written[f])
            g->loop_written_x[x] = (int8_t)f;
    }
    xc_unlock(g);
    return true;
}
