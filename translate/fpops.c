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

static double d_of(uint64_t v)
{
    double d;
    memcpy(&d, &v, 8);
    return d;
}

static uint64_t d_bits(double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    return v;
}

static float s_of(uint64_t v)
{
    uint32_t b = (v >> 32) == 0xffffffffu ? (uint32_t)v : IR_CANON_NAN_S;
    float f;
    memcpy(&f, &b, 4);
    return f;
}

static uint64_t s_box(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    return UINT64_C(0xffffffff00000000) | (isnan(f) ? IR_CANON_NAN_S : b);
}

static uint64_t fp_eval_s(const struct ir_op *op, uint64_t a, uint64_t b, uint64_t c)
{
    volatile float x = s_of(a), y = s_of(b), z = s_of(c);
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
    return s_box(r);
}

uint64_t ir_fp_eval(const struct ir_op *op, uint64_t a, uint64_t b, uint64_t c)
{
    if (op->aux & IR_F_SINGLE)
        return fp_eval_s(op, a, b, c);
    volatile double x = d_of(a), y = d_of(b), z = d_of(c);
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
    return isnan(rr) ? IR_CANON_NAN_D : d_bits(rr);
}
