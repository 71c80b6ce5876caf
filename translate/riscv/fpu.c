/* fpu.c - RISC-V F and D arithmetic on the host's SSE unit.
 *
 * Each helper runs the operation with the host MXCSR set to the guest's
 * rounding mode and all exceptions masked, reads the host's exception
 * flags back and accrues them into fflags, then applies the RISC-V rules
 * the host does not share: results that are NaN become the canonical NaN,
 * single values must be NaN-boxed (else they read as the canonical NaN),
 * fmin/fmax return the non-NaN operand, comparisons and conversions
 * saturate and flag as the ISA says.  Operands go through volatile
 * variables so that the compiler cannot move the arithmetic across the
 * MXCSR accesses.
 */
#include <config.h>

#include <math.h>
#include <string.h>

#include "riscv/riscv.h"
#include "fpbox.h"
#include "log.h"

#define FF_NX 1u
#define FF_UF 2u
#define FF_OF 4u
#define FF_DZ 8u
#define FF_NV 16u

#define CANON_S IR_CANON_NAN_S
#define CANON_D IR_CANON_NAN_D
#define BOX FP_BOX

enum { RM_RNE, RM_RTZ, RM_RDN, RM_RUP, RM_RMM, RM_DYN = 7 };

static inline uint32_t mxcsr_get(void)
{
    uint32_t v;
    __asm__ volatile("stmxcsr %0" : "=m"(v));
    return v;
}
static inline void mxcsr_set(uint32_t v)
{
    __asm__ volatile("ldmxcsr %0" : : "m"(v));
}

static const uint32_t rv_rc[8] = { 0, 3, 1, 2, 0, 0, 0, 0 };

static uint32_t host_flags(uint32_t m)
{
    uint32_t f = 0;
    if (m & 0x01) f |= FF_NV;
    if (m & 0x04) f |= FF_DZ;
    if (m & 0x08) f |= FF_OF;
    if (m & 0x10) f |= FF_UF;
    if (m & 0x20) f |= FF_NX;
    return f;
}

/* While guest code runs, the host MXCSR holds the guest's dynamic rounding
 * mode and collects its exception flags (inline FP ops in translated code
 * use it directly).  rv_fp_sync folds the collected flags into fflags. */
void rv_fp_sync(struct cpu *cpu)
{
    uint32_t m = mxcsr_get();
    if (m & 0x3f) {
        cpu->fflags |= host_flags(m);
        mxcsr_set(m & ~0x3fu);
    }
}

void rv_fp_load_mode(struct cpu *cpu)
{
    mxcsr_set(0x1f80u | (rv_rc[cpu->frm & 7] << 13));
    /* Inline FP code is translated only while frm is a mode SSE has; when
     * frm moved into or out of RMM/invalid behind the translator's back
     * (rt_sigreturn restoring fcsr), drop the translations. */
    bool special = cpu->frm >= RM_RMM;
    if (special != ((cpu->features & RV_FRM_INVALID) != 0)) {
        cpu->features ^= RV_FRM_INVALID;
        cpu->flush_req = 1;
    }
}

/* Start a host operation in rounding mode rm (RISC-V encoding). */
static void fp_begin_cpu(struct cpu *cpu, int rm)
{
    rv_fp_sync(cpu);
    mxcsr_set(0x1f80u | (rv_rc[rm] << 13));
}
#define fp_begin(rm) fp_begin_cpu(cpu, rm)

/* End it: accrue the host's flags into fflags, back to the dynamic mode. */
static void fp_end(struct cpu *cpu)
{
    uint32_t m = mxcsr_get();
    cpu->fflags |= host_flags(m);
    rv_fp_load_mode(cpu);
}

static uint64_t s_box_raw(uint32_t b)
{
    return BOX | b;
}
static bool s_snan(float f)
{
    uint32_t b = fp_s_bits(f);
    return (b & 0x7f800000u) == 0x7f800000u && (b & 0x007fffffu) && !(b & 0x00400000u);
}
static bool d_snan(double d)
{
    uint64_t b = fp_d_bits(d);
    return (b & UINT64_C(0x7ff0000000000000)) == UINT64_C(0x7ff0000000000000) &&
           (b & UINT64_C(0x000fffffffffffff)) && !(b & UINT64_C(0x0008000000000000));
}

/* RMM: the host computed in RNE (rv_rc[RM_RMM] is RNE); move a tie away
 * from zero (fpops.c).  a, b, c as ir_fp_rmm takes them. */
static float rmm_s(int rm, int op, float r, uint64_t a, uint64_t b, uint64_t c)
{
    if (rm != RM_RMM || isnan(r))
        return r;
    uint64_t in[3] = { a, b, c };
    uint32_t bits = (uint32_t)ir_fp_rmm(op, true, fp_s_bits(r), IR_RMM_IN_S, in);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}
static double rmm_d(int rm, int op, double r, int in_kind, uint64_t a, uint64_t b, uint64_t c)
{
    if (rm != RM_RMM || isnan(r))
        return r;
    uint64_t in[3] = { a, b, c };
    return fp_d_of(ir_fp_rmm(op, false, fp_d_bits(r), in_kind, in));
}
/* Single precision from a wider exact value (fcvt.s.d, fcvt.s.{w,l}). */
static float rmm_s_from(int rm, float r, int in_kind, uint64_t v)
{
    if (rm != RM_RMM || isnan(r))
        return r;
    uint64_t in[3] = { v, 0, 0 };
    uint32_t bits = (uint32_t)ir_fp_rmm(IR_RMM_CVT, true, fp_s_bits(r), in_kind, in);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}
/* funct7 >> 2 of add, sub, mul, div, sqrt -> enum ir_rmm_op */
static int rmm_op(int k)
{
    static const int op[4] = { IR_RMM_ADD, IR_RMM_ADD, IR_RMM_MUL, IR_RMM_DIV };
    return k == 0x0b ? IR_RMM_SQRT : op[k & 3];
}
#define SIGN_S UINT64_C(0x80000000)
#define SIGN_D_BIT (UINT64_C(1) << 63)

static int fp_rm(struct cpu *cpu, uint32_t insn)
{
    int rm = (insn >> 12) & 7;
    if (rm == RM_DYN)
        rm = (int)cpu->frm;
    if (rm > RM_RMM)
        return -1;
    return rm;
}

static uint32_t fclass_bits(bool neg, bool inf, bool nan, bool snan, bool zero, bool sub)
{
    if (nan)
        return snan ? 1u << 8 : 1u << 9;
    if (inf)
        return neg ? 1u << 0 : 1u << 7;
    if (zero)
        return neg ? 1u << 3 : 1u << 4;
    if (sub)
        return neg ? 1u << 2 : 1u << 5;
    return neg ? 1u << 1 : 1u << 6;
}

/* Round v to an integer in mode rm, without host flags. */
static double round_rm(double v, int rm)
{
    switch (rm) {
    case RM_RTZ: return trunc(v);
    case RM_RDN: return floor(v);
    case RM_RUP: return ceil(v);
    case RM_RMM: return round(v);
    default: {
        double r = round(v);
        if (fabs(v - trunc(v)) == 0.5)        /* tie: to even */
            r = 2.0 * round(v / 2.0);
        return r;
    }
    }
}

/* fcvt.{w,wu,l,lu}: saturate, NV for NaN and out of range, NX if inexact. */
static uint64_t fcvt_to_int(struct cpu *cpu, double v, int kind, int rm)
{
    static const double lo[4] = { -2147483648.0, 0.0, -9223372036854775808.0, 0.0 };
    static const double hi[4] = { 2147483648.0, 4294967296.0, 9223372036854775808.0,
                                  18446744073709551616.0 };
    static const uint64_t min_v[4] = { UINT64_C(0xffffffff80000000), 0,
                                       UINT64_C(0x8000000000000000), 0 };
    static const uint64_t max_v[4] = { 0x7fffffff, UINT64_C(0xffffffffffffffff),
                                       UINT64_C(0x7fffffffffffffff), UINT64_C(0xffffffffffffffff) };
    if (isnan(v)) {
        cpu->fflags |= FF_NV;
        return max_v[kind];
    }
    double r = round_rm(v, rm);
    if (r < lo[kind]) {
        cpu->fflags |= FF_NV;
        return min_v[kind];
    }
    if (r >= hi[kind]) {
        cpu->fflags |= FF_NV;
        return max_v[kind];
    }
    if (r != v)
        cpu->fflags |= FF_NX;
    switch (kind) {
    case 0: return (uint64_t)(int64_t)(int32_t)r;
    case 1: return (uint64_t)(int64_t)(int32_t)(uint32_t)r;
    case 2: return (uint64_t)(int64_t)r;
    default: return (uint64_t)r;
    }
}

static int fp_single(struct cpu *cpu, uint32_t insn)
{
    int rd = (insn >> 7) & 31, rs1 = (insn >> 15) & 31, rs2 = (insn >> 20) & 31;
    int f3 = (insn >> 12) & 7, f7 = (int)(insn >> 25);
    volatile float a = fp_s_of(cpu->f[rs1]), b = fp_s_of(cpu->f[rs2]);
    volatile float r;
    int rm;
    switch (f7 >> 2) {
    case 0x00: case 0x01: case 0x02: case 0x03: case 0x0b:
        if ((f7 >> 2) == 0x0b && rs2 != 0)
            return CPU_EXIT_ILLEGAL;
        if ((rm = fp_rm(cpu, insn)) < 0)
            return CPU_EXIT_ILLEGAL;
        fp_begin(rm);
        switch (f7 >> 2) {
        case 0x00: r = a + b; break;
        case 0x01: r = a - b; break;
        case 0x02: r = a * b; break;
        case 0x03: r = a / b; break;
        default: r = __builtin_sqrtf(a); break;
        }
        fp_end(cpu);
        {
            uint32_t x = fp_s_bits(a), y = fp_s_bits(b);
            if ((f7 >> 2) == 0x01)
                y ^= (uint32_t)SIGN_S;          /* a - b = a + -b */
            r = rmm_s(rm, rmm_op(f7 >> 2), r, x, y, 0);
        }
        cpu->f[rd] = fp_s_box(r);
        return 0;
    case 0x04: {    /* fsgnj[n|x] */
        uint32_t x = fp_s_bits(a), y = fp_s_bits(b), s;
        if (f3 == 0) s = y & 0x80000000u;
        else if (f3 == 1) s = ~y & 0x80000000u;
        else if (f3 == 2) s = (x ^ y) & 0x80000000u;
        else return CPU_EXIT_ILLEGAL;
        cpu->f[rd] = s_box_raw((x & 0x7fffffffu) | s);
        return 0;
    }
    case 0x05: {    /* fmin / fmax */
        if (f3 > 1)
            return CPU_EXIT_ILLEGAL;
        float x = a, y = b;
        if (s_snan(x) || s_snan(y))
            cpu->fflags |= FF_NV;
        uint64_t res;
        if (isnan(x) && isnan(y)) res = s_box_raw(CANON_S);
        else if (isnan(x)) res = fp_s_box(y);
        else if (isnan(y)) res = fp_s_box(x);
        else if (x == y) res = s_box_raw(f3 == 0 ? (fp_s_bits(x) | fp_s_bits(y)) : (fp_s_bits(x) & fp_s_bits(y)));
        else res = fp_s_box(f3 == 0 ? (x < y ? x : y) : (x > y ? x : y));
        cpu->f[rd] = res;
        return 0;
    }
    case 0x08:      /* fcvt.s.d */
        if (rs2 != 1 || (rm = fp_rm(cpu, insn)) < 0)
            return CPU_EXIT_ILLEGAL;
        {
            volatile double d = fp_d_of(cpu->f[rs1]);
            fp_begin(rm);
            r = (float)d;
            fp_end(cpu);
            r = rmm_s_from(rm, r, IR_RMM_IN_D, cpu->f[rs1]);
            cpu->f[rd] = fp_s_box(r);
        }
        return 0;
    case 0x14: {    /* feq, flt, fle */
        float x = a, y = b;
        uint64_t res;
        if (f3 == 2) {
            if (s_snan(x) || s_snan(y))
                cpu->fflags |= FF_NV;
            res = x == y;
        } else if (f3 <= 1) {
            if (isnan(x) || isnan(y)) {
                cpu->fflags |= FF_NV;
                res = 0;
            } else {
                res = f3 == 1 ? x < y : x <= y;
            }
        } else {
            return CPU_EXIT_ILLEGAL;
        }
        if (rd)
            cpu->x[rd] = res;
        return 0;
    }
    case 0x18:      /* fcvt.{w,wu,l,lu}.s */
        if (rs2 > 3 || (rm = fp_rm(cpu, insn)) < 0)
            return CPU_EXIT_ILLEGAL;
        {
            uint64_t v = fcvt_to_int(cpu, (double)a, rs2, rm);
            if (rd)
                cpu->x[rd] = v;
        }
        return 0;
    case 0x1a:      /* fcvt.s.{w,wu,l,lu} */
        if (rs2 > 3 || (rm = fp_rm(cpu, insn)) < 0)
            return CPU_EXIT_ILLEGAL;
        {
            volatile uint64_t x = cpu->x[rs1];
            fp_begin(rm);
            switch (rs2) {
            case 0: r = (float)(int32_t)x; break;
            case 1: r = (float)(uint32_t)x; break;
            case 2: r = (float)(int64_t)x; break;
            default: r = (float)x; break;
            }
            fp_end(cpu);
            {
                static const uint64_t mask[4] = { 0xffffffff, 0xffffffff, ~UINT64_C(0), ~UINT64_C(0) };
                uint64_t v = x & mask[rs2];
                if (rs2 == 0)
                    v = (uint64_t)(int64_t)(int32_t)v;
                r = rmm_s_from(rm, r, (rs2 & 1) ? IR_RMM_IN_U64 : IR_RMM_IN_I64, v);
            }
            cpu->f[rd] = fp_s_box(r);
        }
        return 0;
    case 0x1c:      /* fclass.s (fmv.x.w is inline) */
        if (f3 != 1 || rs2 != 0)
            return CPU_EXIT_ILLEGAL;
        {
            float x = a;
            uint32_t bits = fp_s_bits(x);
            uint64_t v = fclass_bits(bits >> 31, isinf(x), isnan(x), s_snan(x), x == 0,
                                     fpclassify(x) == FP_SUBNORMAL);
            if (rd)
                cpu->x[rd] = v;
        }
        return 0;
    }
    return CPU_EXIT_ILLEGAL;
}

static int fp_double(struct cpu *cpu, uint32_t insn)
{
    int rd = (insn >> 7) & 31, rs1 = (insn >> 15) & 31, rs2 = (insn >> 20) & 31;
    int f3 = (insn >> 12) & 7, f7 = (int)(insn >> 25);
    volatile double a = fp_d_of(cpu->f[rs1]), b = fp_d_of(cpu->f[rs2]);
    volatile double r;
    int rm;
    switch (f7 >> 2) {
    case 0x00: case 0x01: case 0x02: case 0x03: case 0x0b:
        if ((f7 >> 2) == 0x0b && rs2 != 0)
            return CPU_EXIT_ILLEGAL;
        if ((rm = fp_rm(cpu, insn)) < 0)
            return CPU_EXIT_ILLEGAL;
        fp_begin(rm);
        switch (f7 >> 2) {
        case 0x00: r = a + b; break;
        case 0x01: r = a - b; break;
        case 0x02: r = a * b; break;
        case 0x03: r = a / b; break;
        default: r = __builtin_sqrt(a); break;
        }
        fp_end(cpu);
        r = rmm_d(rm, rmm_op(f7 >> 2), r, IR_RMM_IN_D, cpu->f[rs1],
                  cpu->f[rs2] ^ ((f7 >> 2) == 0x01 ? SIGN_D_BIT : 0), 0);
        cpu->f[rd] = fp_d_box(r);
        return 0;
    case 0x04: {
        uint64_t x = cpu->f[rs1], y = cpu->f[rs2], s, m = UINT64_C(1) << 63;
        if (f3 == 0) s = y & m;
        else if (f3 == 1) s = ~y & m;
        else if (f3 == 2) s = (x ^ y) & m;
        else return CPU_EXIT_ILLEGAL;
        cpu->f[rd] = (x & ~m) | s;
        return 0;
    }
    case 0x05: {
        if (f3 > 1)
            return CPU_EXIT_ILLEGAL;
        double x = a, y = b;
        if (d_snan(x) || d_snan(y))
            cpu->fflags |= FF_NV;
        uint64_t res;
        if (isnan(x) && isnan(y)) res = CANON_D;
        else if (isnan(x)) res = fp_d_bits(y);
        else if (isnan(y)) res = fp_d_bits(x);
        else if (x == y) res = f3 == 0 ? (fp_d_bits(x) | fp_d_bits(y)) : (fp_d_bits(x) & fp_d_bits(y));
        else res = fp_d_bits(f3 == 0 ? (x < y ? x : y) : (x > y ? x : y));
        cpu->f[rd] = res;
        return 0;
    }
    case 0x08:      /* fcvt.d.s */
        if (rs2 != 0 || fp_rm(cpu, insn) < 0)
            return CPU_EXIT_ILLEGAL;
        {
            volatile float s = fp_s_of(cpu->f[rs1]);
            fp_begin(RM_RNE);
            r = (double)s;
            fp_end(cpu);
            cpu->f[rd] = fp_d_box(r);
        }
        return 0;
    case 0x14: {
        double x = a, y = b;
        uint64_t res;
        if (f3 == 2) {
            if (d_snan(x) || d_snan(y))
                cpu->fflags |= FF_NV;
            res = x == y;
        } else if (f3 <= 1) {
            if (isnan(x) || isnan(y)) {
                cpu->fflags |= FF_NV;
                res = 0;
            } else {
                res = f3 == 1 ? x < y : x <= y;
            }
        } else {
            return CPU_EXIT_ILLEGAL;
        }
        if (rd)
            cpu->x[rd] = res;
        return 0;
    }
    case 0x18:
        if (rs2 > 3 || (rm = fp_rm(cpu, insn)) < 0)
            return CPU_EXIT_ILLEGAL;
        {
            uint64_t v = fcvt_to_int(cpu, a, rs2, rm);
            if (rd)
                cpu->x[rd] = v;
        }
        return 0;
    case 0x1a:
        if (rs2 > 3 || (rm = fp_rm(cpu, insn)) < 0)
            return CPU_EXIT_ILLEGAL;
        {
            volatile uint64_t x = cpu->x[rs1];
            fp_begin(rm);
            switch (rs2) {
            case 0: r = (double)(int32_t)x; break;
            case 1: r = (double)(uint32_t)x; break;
            case 2: r = (double)(int64_t)x; break;
            default: r = (double)x; break;
            }
            fp_end(cpu);
            if (rs2 >= 2)       /* 32-bit integers convert exactly */
                r = rmm_d(rm, IR_RMM_CVT, r, rs2 == 2 ? IR_RMM_IN_I64 : IR_RMM_IN_U64, x, 0, 0);
            cpu->f[rd] = fp_d_box(r);
        }
        return 0;
    case 0x1c:
        if (f3 != 1 || rs2 != 0)
            return CPU_EXIT_ILLEGAL;
        {
            double x = a;
            uint64_t v = fclass_bits(fp_d_bits(x) >> 63, isinf(x), isnan(x), d_snan(x), x == 0,
                                     fpclassify(x) == FP_SUBNORMAL);
            if (rd)
                cpu->x[rd] = v;
        }
        return 0;
    }
    return CPU_EXIT_ILLEGAL;
}

static int fp_fma(struct cpu *cpu, uint32_t insn)
{
    int rd = (insn >> 7) & 31, rs1 = (insn >> 15) & 31, rs2 = (insn >> 20) & 31;
    int rs3 = (int)(insn >> 27), kind = (int)((insn >> 2) & 3);
    int rm = fp_rm(cpu, insn);
    if (rm < 0)
        return CPU_EXIT_ILLEGAL;
    bool neg_prod = kind >= 2, neg_add = kind == 1 || kind == 3;
    if ((insn >> 25 & 3) == 0) {
        volatile float a = fp_s_of(cpu->f[rs1]), b = fp_s_of(cpu->f[rs2]), c = fp_s_of(cpu->f[rs3]);
        volatile float r;
        if ((isinf(a) && b == 0) || (a == 0 && isinf(b)))
            cpu->fflags |= FF_NV;
        fp_begin(rm);
        r = __builtin_fmaf(neg_prod ? -a : a, b, neg_add ? -c : c);
        fp_end(cpu);
        r = rmm_s(rm, IR_RMM_FMA, r, fp_s_bits(a) ^ (neg_prod ? SIGN_S : 0), fp_s_bits(b),
                  fp_s_bits(c) ^ (neg_add ? SIGN_S : 0));
        cpu->f[rd] = fp_s_box(r);
    } else {
        volatile double a = fp_d_of(cpu->f[rs1]), b = fp_d_of(cpu->f[rs2]), c = fp_d_of(cpu->f[rs3]);
        volatile double r;
        if ((isinf(a) && b == 0) || (a == 0 && isinf(b)))
            cpu->fflags |= FF_NV;
        fp_begin(rm);
        r = __builtin_fma(neg_prod ? -a : a, b, neg_add ? -c : c);
        fp_end(cpu);
        r = rmm_d(rm, IR_RMM_FMA, r, IR_RMM_IN_D, fp_d_bits(a) ^ (neg_prod ? SIGN_D_BIT : 0), fp_d_bits(b),
                  fp_d_bits(c) ^ (neg_add ? SIGN_D_BIT : 0));
        cpu->f[rd] = fp_d_box(r);
    }
    return 0;
}

/* Entry point for every F/D instruction that is not inline IR. */
int rv_helper_fp(struct cpu *cpu, uint32_t insn)
{
    uint32_t opc = insn & 0x7f;
    if (opc != 0x53)
        return fp_fma(cpu, insn);
    return ((insn >> 25) & 3) == 0 ? fp_single(cpu, insn) : fp_double(cpu, insn);
}

uint32_t rv_fflags_read(struct cpu *cpu)
{
    rv_fp_sync(cpu);
    return cpu->fflags & 0x1f;
}
