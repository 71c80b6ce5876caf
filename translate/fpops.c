/* fpops.c - the reference semantics of the IR floating-point ops, for the
 * interpreter: host SSE arithmetic in the current MXCSR (rounding mode and
 * sticky flags), the canonical NaN for NaN results - what the back end
 * emits inline.  Operands pass through volatile variables so that the
 * compiler keeps the operation where it is. */
#include <config.h>

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "ir.h"
#include "fpbox.h"

static uint64_t fp_eval_s(const struct ir_op *op, uint64_t a, uint64_t b, uint64_t c)
{
    volatile float x = fp_s_of(a), y = fp_s_of(b), z = fp_s_of(c);
    volatile float r;
    int k = op->aux & 0xf;
    switch (op->opc) {
    case IR_FOP:
        switch (k) {
        case IR_FADD: r = x + y; break;
        case IR_FSUB: r = x - y; break;
        case IR_FMUL: r = x * y; break;
        case IR_FDIV: r = x / y; break;
        default: r = __builtin_sqrtf(x); break;
        }
        break;
    case IR_FMA: {
        float p = (k & 2) ? -x : x;
        float q = (k & 1) ? -z : z;
        r = __builtin_fmaf(p, y, q);
        if (isnan(r)) {
            volatile float t = x * y;
            (void)t;
        }
        break;
    }
    case IR_FCMP: {
        float u = x, v = y;
        volatile bool res = k == IR_FEQ ? u == v : k == IR_FLT ? u < v : u <= v;
        return res;
    }
    case IR_FCVT_DI:
        r = k ? (float)(int64_t)a : (float)(int32_t)a;
        break;
    default:
        return 0;
    }
    return fp_s_box(r);
}

uint64_t ir_fp_eval(const struct ir_op *op, uint64_t a, uint64_t b, uint64_t c)
{
    if (op->aux & IR_F_SINGLE)
        return fp_eval_s(op, a, b, c);
    volatile double x = fp_d_of(a), y = fp_d_of(b), z = fp_d_of(c);
    volatile double r;
    switch (op->opc) {
    case IR_FOP:
        switch (op->aux) {
        case IR_FADD: r = x + y; break;
        case IR_FSUB: r = x - y; break;
        case IR_FMUL: r = x * y; break;
        case IR_FDIV: r = x / y; break;
        default: r = __builtin_sqrt(x); break;
        }
        break;
    case IR_FMA: {
        double p = (op->aux & 2) ? -x : x;
        double q = (op->aux & 1) ? -z : z;
        r = __builtin_fma(p, y, q);
        if (isnan(r)) {
            volatile double t = x * y;   /* inf * 0 is invalid even with a quiet NaN addend */
            (void)t;
        }
        break;
    }
    case IR_FCMP: {
        double u = x, v = y;
        if (op->aux == IR_FEQ) {
            /* quiet compare: the host raises invalid only for signalling NaNs */
            volatile bool eq = u == v;
            return eq;
        }
        /* signalling compares: invalid for any NaN */
        volatile bool res = op->aux == IR_FLT ? u < v : u <= v;
        return res;
    }
    case IR_FCVT_DI:
        r = op->aux ? (double)(int64_t)a : (double)(int32_t)a;
        break;
    default:
        return 0;
    }
    double rr = r;
    return isnan(rr) ? IR_CANON_NAN_D : fp_d_bits(rr);
}

/* ---- RMM: round to nearest, ties to max magnitude ----
 *
 * SSE has no such mode.  RMM and RNE give different results only when
 * the exact result lies exactly half-way between two neighbours and RNE
 * picked the smaller magnitude; the exception flags are the same (both
 * results are inexact, and they are the same size class: a tie between
 * the largest subnormal and the smallest normal goes up in both modes,
 * one between the largest finite value and the overflow bound overflows
 * in both).  So the helpers compute in RNE and this moves a tie one step
 * away from zero.  The test for a tie is exact in binary128 (GCC's
 * __float128, done in software by libgcc): the midpoint needs one bit
 * more than the format, products of two operands fit, and a sum that
 * does not fit cannot be a midpoint (see the comments below). */

typedef __float128 q128;

static inline uint32_t rmm_mxcsr_get(void)
{
    uint32_t v;
    __asm__ volatile("stmxcsr %0" : "=m"(v));
    return v;
}

static inline void rmm_mxcsr_set(uint32_t v)
{
    __asm__ volatile("ldmxcsr %0" : : "m"(v));
}

/* Is x exactly m?  x = in[0] OP in[1] (+ in[2] for FMA). */
static bool rmm_is_tie(int op, q128 m, const q128 in[3])
{
    switch (op) {
    case IR_RMM_ADD:
        /* If the sum needs more than 113 bits, the operands are more than
         * 60 binades apart: the sum is within 2^-59 of the larger one,
         * which is a value of the format, and a midpoint is at least
         * 2^-54 (relative) away from those. */
        return in[0] + in[1] == m;
    case IR_RMM_MUL:
        return in[0] * in[1] == m;      /* 2 x 53 bits: exact */
    case IR_RMM_DIV:
        return in[1] != 0 && m * in[1] == in[0];  /* 54 x 53 bits: exact */
    case IR_RMM_FMA: {
        /* a*b + c == m  <=>  a*b == m - c; the product is exact, and if
         * m - c is not (TwoSum error non-zero) it cannot equal it */
        q128 p = in[0] * in[1], nc = -in[2];
        q128 s = m + nc, bv = s - m, av = s - bv;
        q128 err = (m - av) + (nc - bv);
        return err == 0 && s == p;
    }
    case IR_RMM_CVT:
        return in[0] == m;
    default:
        return false;                   /* square roots never tie */
    }
}

static q128 rmm_in(int kind, uint64_t v)
{
    switch (kind) {
    case IR_RMM_IN_S: { float f; uint32_t b = (uint32_t)v; memcpy(&f, &b, 4); return f; }
    case IR_RMM_IN_D: return fp_d_of(v);
    case IR_RMM_IN_I64: return (q128)(int64_t)v;
    default: return (q128)v;
    }
}

uint64_t ir_fp_rmm(int op, bool single, uint64_t r, int in_kind, const uint64_t in[3])
{
    uint64_t expo = single ? UINT64_C(0x7f800000) : UINT64_C(0x7ff0000000000000);
    if ((r & expo) == expo)
        return r;                       /* inf or NaN: no rounding happened */
    uint64_t up = r + 1;    /* next value away from zero, same sign (-0 + 1: -min) */
    if ((up & expo) == expo)
        return r;                       /* r is the largest finite value */
    uint32_t saved = rmm_mxcsr_get();
    rmm_mxcsr_set(0x1f80);              /* RNE, masked: libgcc reads and sets it */
    q128 lo, hi;
    if (single) {
        float a, b;
        uint32_t ra = (uint32_t)r, rb = (uint32_t)up;
        memcpy(&a, &ra, 4);
        memcpy(&b, &rb, 4);
        lo = a;
        hi = b;
    } else {
        lo = fp_d_of(r);
        hi = fp_d_of(up);
    }
    q128 m = (lo + hi) / 2;             /* 54 or 25 bits: exact */
    q128 x[3];
    for (int i = 0; i < 3; i++)
        x[i] = rmm_in(in_kind, in[i]);
    bool tie = rmm_is_tie(op, m, x);
    rmm_mxcsr_set(saved);
    return tie ? up : r;
}
