/* ir.h - the intermediate representation of one translation block.
 *
 * A block is a straight list of three-address ops.  Operands are guest
 * integer registers (IR_V_REG, index 1..31; register 0 never appears: the
 * front end turns reads of x0 into the constant 0 and drops writes), IR
 * temporaries (IR_V_TMP, stored in cpu->tmp[]), or 64-bit constants.
 *
 * Every op except the block-ending ones falls through.  A block ends with
 * exactly one of IR_GOTO (constant target, chainable), IR_GOTO_IND (target in
 * a register, through the jump cache), IR_BRCOND (two constant targets) or
 * IR_EXIT (back to the execution loop with a reason).  Ops that can fault
 * (IR_LD, IR_ST, IR_HELPER, ...) carry the guest pc of their instruction
 * so that a fault is reported precisely; everything before them in the
 * block has been written back to the guest state when they run.
 */
#ifndef EMU_TR_IR_H
#define EMU_TR_IR_H

#include <stdio.h>
#include "common.h"
#include "cpu.h"

enum ir_vkind { IR_V_NONE, IR_V_REG, IR_V_TMP, IR_V_CONST };

struct ir_val {
    uint8_t kind;
    uint8_t idx;
    int64_t c;
};

enum ir_opc {
    IR_NOP,
    IR_MOV,                       /* d = a */
    IR_ADD, IR_SUB, IR_AND, IR_OR, IR_XOR,
    IR_SHL, IR_SHR, IR_SAR,       /* shift count is b & 63 */
    IR_ADDW, IR_SUBW,             /* 32-bit, result sign-extended */
    IR_SHLW, IR_SHRW, IR_SARW,    /* shift count is b & 31 */
    IR_ROL, IR_ROR,               /* rotate; count is b & 63 */
    IR_ROLW, IR_RORW,             /* 32-bit rotate, count b & 31, sign-extended */
    IR_SLT, IR_SLTU,              /* d = (a < b), signed / unsigned */
    IR_MUL, IR_MULW, IR_MULH, IR_MULHU,
    IR_DIV, IR_DIVU, IR_REM, IR_REMU,      /* RISC-V results, never a trap */
    IR_DIVW, IR_DIVUW, IR_REMW, IR_REMUW,
    IR_MIN, IR_MAX, IR_MINU, IR_MAXU,      /* Zbb: d = min/max(a, b) */
    IR_CLZ, IR_CTZ, IR_CPOP,      /* Zbb, d = f(a): 64 for a zero input */
    IR_CLZW, IR_CTZW, IR_CPOPW,   /* on the low 32 bits of a (32 for zero) */
    IR_REV8, IR_ORCB,             /* byte reverse; each byte to 0 or 0xff */
    IR_CALL2,                     /* d = fn(a, b): pure helper, cannot fault */
    /* Floating point on doubles (operands are raw 64-bit register values).
     * They round in the current dynamic mode and accrue exception flags
     * in the host's MXCSR (folded into cpu->fflags by the front end's
     * sync); a NaN result is the canonical NaN.  Not pure: never removed. */
    IR_FOP,                       /* d = a OP b, OP in aux (enum ir_fop) */
    IR_FMA,                       /* d = (aux&2 ? -1 : 1) * a * b + (aux&1 ? -c : c) */
    IR_FCMP,                      /* d = a CMP b (0/1), CMP in aux (enum ir_fcmp) */
    IR_FCVT_DI,                   /* d = (double)a; aux 0: a is int32, 1: int64 */
    IR_LD,                        /* d = mem[a + imm]; size and sign in aux */
    IR_ST,                        /* mem[a + imm] = b; size in aux */
    IR_BRSIDE,                    /* side exit: if (a cond b) pc = imm, leave the
                                     block; else go on (superblocks) */
    IR_HELPER,                    /* fn(cpu, insn=aux): may read/write all
                                     state; returns 0 or an enum cpu_exit */
    IR_GOTO,                      /* end: pc = imm */
    IR_GOTO_IND,                  /* end: pc = a & ~1 */
    IR_BRCOND,                    /* end: pc = (a cond b) ? imm : imm2 */
    IR_EXIT,                      /* end: pc = imm; return reason aux */
    IR_OPC_COUNT
};

enum ir_fop { IR_FADD, IR_FSUB, IR_FMUL, IR_FDIV, IR_FSQRT };
enum ir_fcmp { IR_FEQ, IR_FLT, IR_FLE };
#define IR_CANON_NAN_D UINT64_C(0x7ff8000000000000)
#define IR_CANON_NAN_S UINT32_C(0x7fc00000)
/* aux flag of the FP ops: single precision.  Operands are NaN-boxed
 * 64-bit values (an operand that is not boxed reads as the canonical
 * NaN); results are boxed. */
#define IR_F_SINGLE 0x10

/* aux flag of the 32-bit integer ops (IR_ADDW..IR_RORW, IR_MULW,
 * IR_DIVW..IR_REMUW), set by the optimizer: nothing reads bits 32-63 of
 * the result before it is overwritten (the consumers use only the low
 * half, and no fault or exit can see it), so the back end may leave them
 * undefined instead of sign-extending.  The interpreter ignores it. */
#define IR_W_NOSEXT 0x80

/* IR_BRCOND conditions (aux). */
enum ir_cond { IR_EQ, IR_NE, IR_LT, IR_GE, IR_LTU, IR_GEU };

/* IR_HELPER aux: the helper writes guest memory (compare mode cannot
 * replay such a block). */
#define IR_HELPER_MEM 1

/* IR_LD/IR_ST aux: log2 size in bits 0-1, IR_MEM_SIGNED for sign-extension. */
#define IR_MEM_SIGNED 4

typedef uint64_t (*ir_fn2)(uint64_t a, uint64_t b);
struct cpu;
typedef int (*ir_helper)(struct cpu *cpu, uint32_t insn);

struct ir_op {
    uint8_t opc;
    uint8_t aux;
    uint16_t insn_idx;            /* index of the guest instruction */
    struct ir_val d, a, b, c;       /* c: IR_FMA only */
    int64_t imm, imm2;
    uint32_t insn;                /* IR_HELPER argument */
    void *fn;                     /* IR_CALL2 / IR_HELPER function */
};

#define IR_MAX_OPS 1024
#define IR_MAX_INSNS 256

struct ir_block {
    uint64_t pc;                  /* guest pc of the first instruction */
    uint64_t end_pc;              /* pc after the last instruction */
    int n_ops;
    int n_insns;
    int n_tmps;
    uint64_t insn_pc[IR_MAX_INSNS];
    uint32_t insn_word[IR_MAX_INSNS];
    struct ir_op ops[IR_MAX_OPS];
};

static inline struct ir_val ir_reg(int r)
{
    return (struct ir_val){ .kind = IR_V_REG, .idx = (uint8_t)r };
}
static inline struct ir_val ir_const(int64_t c)
{
    return (struct ir_val){ .kind = IR_V_CONST, .c = c };
}
static inline struct ir_val ir_tmp(int t)
{
    return (struct ir_val){ .kind = IR_V_TMP, .idx = (uint8_t)t };
}
static inline bool ir_same(struct ir_val x, struct ir_val y)
{
    return x.kind == y.kind && (x.kind == IR_V_CONST ? x.c == y.c : x.idx == y.idx);
}
static inline bool ir_is_end(int opc)
{
    return opc == IR_GOTO || opc == IR_GOTO_IND || opc == IR_BRCOND || opc == IR_EXIT;
}
/* Ops that may fault or observe the whole guest state. */
static inline bool ir_is_barrier(int opc)
{
    return opc == IR_LD || opc == IR_ST || opc == IR_HELPER || opc == IR_BRSIDE || ir_is_end(opc);
}

/* Append an op; returns it, or NULL when the block is full. */
struct ir_op *ir_emit(struct ir_block *b, int opc);
const char *ir_opc_name(int opc);
void ir_dump(FILE *fp, const struct ir_block *b);

/* Evaluate a pure op (everything up to IR_CALL2).  Shared by the optimizer's
 * constant folding and the reference interpreter, so both agree. */
uint64_t ir_eval(const struct ir_op *op, uint64_t a, uint64_t b);
/* Evaluate an FP op (IR_FOP..IR_FCVT_DI) with the host FPU in the current
 * MXCSR state, exactly as the translated code does (fpops.c). */
uint64_t ir_fp_eval(const struct ir_op *op, uint64_t a, uint64_t b, uint64_t c);
bool ir_cond_eval(int cond, uint64_t a, uint64_t b);

/* Round to nearest, ties to max magnitude (RMM), which the host cannot do:
 * given r, the result of the same operation rounded to nearest-even (raw
 * bits of a double, or of a single in the low 32 bits when single), return
 * the RMM result (r, or r moved one step away from zero at a tie).  The
 * exception flags of RNE are those of RMM.  in[] are the operands as
 * in_kind says; FMA operands carry the signs already (in[0] * in[1] +
 * in[2]); CVT: the exact value is in[0]. */
enum ir_rmm_op { IR_RMM_ADD, IR_RMM_MUL, IR_RMM_DIV, IR_RMM_FMA, IR_RMM_SQRT, IR_RMM_CVT };
enum ir_rmm_in { IR_RMM_IN_S, IR_RMM_IN_D, IR_RMM_IN_I64, IR_RMM_IN_U64 };
uint64_t ir_fp_rmm(int op, bool single, uint64_t r, int in_kind, const uint64_t in[3]);

/* Optimizer: constant folding, copy propagation, dead-code removal. */
void ir_optimize(struct ir_block *b);

#endif
