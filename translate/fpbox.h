/* fpbox.h - bit views of guest FP registers, shared by the IR's FP
 * evaluator (fpops.c) and the reference interpreter (riscv/fpu.c), which
 * must agree bit for bit.  Registers are 64 bits; a single-precision value
 * is NaN-boxed (upper 32 bits all ones), and a badly boxed one reads as
 * the canonical NaN.  Results that are NaN are stored canonical. */
#ifndef EMU_TRANSLATE_FPBOX_H
#define EMU_TRANSLATE_FPBOX_H

#include <math.h>
#include <stdint.h>
#include <string.h>
#include "ir.h"

#define FP_BOX UINT64_C(0xffffffff00000000)

static inline double fp_d_of(uint64_t v)
{
    double d;
    memcpy(&d, &v, 8);
    return d;
}

static inline uint64_t fp_d_bits(double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    return v;
}

static inline uint32_t fp_s_bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}

/* The single in a register: unboxed, or the canonical NaN. */
static inline float fp_s_of(uint64_t v)
{
    uint32_t b = (v >> 32) == 0xffffffffu ? (uint32_t)v : IR_CANON_NAN_S;
    float f;
    memcpy(&f, &b, 4);
    return f;
}

static inline uint64_t fp_s_box(float f)
{
    return FP_BOX | (isnan(f) ? IR_CANON_NAN_S : fp_s_bits(f));
}

static inline uint64_t fp_d_box(double d)
{
    return isnan(d) ? IR_CANON_NAN_D : fp_d_bits(d);
}

#endif
