/* trans.c - one small function per RISC-V instruction: its IR.
 *
 * A trans function returns false when the encoding is illegal (then it
 * must not have emitted anything useful; decode.c discards it).  Reads of
 * x0 become the constant 0, writes to x0 are dropped (loads to x0 still
 * access memory so that their faults happen).
 */
#include <config.h>

#include "riscv/riscv.h"

#define RD(i)  (((i) >> 7) & 31)
#define RS1(i) (((i) >> 15) & 31)
#define RS2(i) (((i) >> 20) & 31)
#define F3(i)  (((i) >> 12) & 7)

static int64_t sext_bits(uint32_t v, int bits)
{
    return (int64_t)(int32_t)(v << (32 - bits)) >> (32 - bits);
}
static int64_t imm_i(uint32_t i) { return (int32_t)i >> 20; }
static int64_t imm_s(uint32_t i) { return sext_bits(((i >> 25) << 5) | ((i >> 7) & 31), 12); }
static int64_t imm_u(uint32_t i) { return (int32_t)(i & 0xfffff000u); }
static int64_t imm_b(uint32_t i)
{
    return sext_bits(((i >> 31) << 12) | (((i >> 7) & 1) << 11) | (((i >> 25) & 63) << 5) |
                     (((i >> 8) & 15) << 1), 13);
}
static int64_t imm_j(uint32_t i)
{
    return sext_bits(((i >> 31) << 20) | (((i >> 12) & 255) << 12) | (((i >> 20) & 1) << 11) |
                     (((i >> 21) & 1023) << 1), 21);
}

static struct ir_val src(int r)
{
    return r ? ir_reg(r) : ir_const(0);
}

static struct ir_val new_tmp(struct rv_dc *dc)
{
    int t = dc->n_tmp < CPU_TMPS ? dc->n_tmp++ : CPU_TMPS - 1;
    return ir_tmp(t);
}

static struct ir_op *gen(struct rv_dc *dc, int opc, struct ir_val d, struct ir_val a, struct ir_val b)
{
    struct ir_op *op = ir_emit(dc->b, opc);
    op->d = d;
    op->a = a;
    op->b = b;
    return op;
}

/* d = a OP b for a destination register that may be x0. */
static bool gen_alu(struct rv_dc *dc, int opc, int rd, struct ir_val a, struct ir_val b)
{
    if (rd != 0)
        gen(dc, opc, ir_reg(rd), a, b);
    return true;
}

static bool gen_call2(struct rv_dc *dc, ir_fn2 fn, int rd, struct ir_val a, struct ir_val b)
{
    if (rd != 0)
        gen(dc, IR_CALL2, ir_reg(rd), a, b)->fn = (void *)fn;
    return true;
}

static bool gen_r(struct rv_dc *dc, uint32_t i, int opc)
{
    return gen_alu(dc, opc, RD(i), src(RS1(i)), src(RS2(i)));
}

static bool gen_i(struct rv_dc *dc, uint32_t i, int opc)
{
    return gen_alu(dc, opc, RD(i), src(RS1(i)), ir_const(imm_i(i)));
}

static bool gen_load(struct rv_dc *dc, uint32_t i, int size_log2, bool sign)
{
    struct ir_val d = RD(i) ? ir_reg(RD(i)) : new_tmp(dc);
    struct ir_op *op = gen(dc, IR_LD, d, src(RS1(i)), ir_const(0));
    op->imm = imm_i(i);
    op->aux = (uint8_t)(size_log2 | (sign ? IR_MEM_SIGNED : 0));
    return true;
}

static bool gen_store(struct rv_dc *dc, uint32_t i, int size_log2, struct ir_val v)
{
    struct ir_op *op = gen(dc, IR_ST, ir_const(0), src(RS1(i)), v);
    op->imm = imm_s(i);
    op->aux = (uint8_t)size_log2;
    return true;
}

/* A conditional branch ends the block when it goes back to the block's
 * start (a loop the back end can keep in registers); any other branch
 * becomes a side exit and translation goes on (a superblock): a loop
 * whose body holds if-statements or several exits stays one block, and
 * so does one entered in the middle whose exit test comes first. */
static bool gen_branch(struct rv_dc *dc, uint32_t i, int cond)
{
    uint64_t target = dc->pc + (uint64_t)imm_b(i);
    bool side = target != dc->b->pc && dc->side_exits < 6 && dc->b->n_insns < dc->max_insns - 4;
    struct ir_op *op = gen(dc, side ? IR_BRSIDE : IR_BRCOND, ir_const(0), src(RS1(i)), src(RS2(i)));
    op->aux = (uint8_t)cond;
    op->imm = (int64_t)target;
    op->imm2 = (int64_t)(dc->pc + (uint64_t)dc->len);
    if (side)
        dc->side_exits++;
    else
        dc->end = true;
    return true;
}

static bool gen_helper(struct rv_dc *dc, ir_helper fn, uint32_t insn)
{
    struct ir_op *op = ir_emit(dc->b, IR_HELPER);
    if (fn == rv_helper_amo || fn == rv_sys_helper_amo)
        op->aux = IR_HELPER_MEM;
    op->fn = (void *)fn;
    op->insn = insn;
    op->imm = (int64_t)dc->pc;
    return true;
}

static bool gen_exit(struct rv_dc *dc, int reason, uint64_t pc)
{
    struct ir_op *op = ir_emit(dc->b, IR_EXIT);
    op->imm = (int64_t)pc;
    op->aux = (uint8_t)reason;
    dc->end = true;
    return true;
}

/* ---- RV64I ---- */
RV_TRANS_DECL(lui) { return gen_alu(dc, IR_MOV, RD(insn), ir_const(imm_u(insn)), ir_const(0)); }
RV_TRANS_DECL(auipc)
{
    return gen_alu(dc, IR_MOV, RD(insn), ir_const((int64_t)(dc->pc + (uint64_t)imm_u(insn))), ir_const(0));
}
RV_TRANS_DECL(jal)
{
    gen_alu(dc, IR_MOV, RD(insn), ir_const((int64_t)(dc->pc + (uint64_t)dc->len)), ir_const(0));
    struct ir_op *op = ir_emit(dc->b, IR_GOTO);
    op->imm = (int64_t)(dc->pc + (uint64_t)imm_j(insn));
    dc->end = true;
    return true;
}
RV_TRANS_DECL(jalr)
{
    struct ir_val t = new_tmp(dc);
    gen(dc, IR_ADD, t, src(RS1(insn)), ir_const(imm_i(insn)));
    gen_alu(dc, IR_MOV, RD(insn), ir_const((int64_t)(dc->pc + (uint64_t)dc->len)), ir_const(0));
    gen(dc, IR_GOTO_IND, ir_const(0), t, ir_const(0));
    dc->end = true;
    return true;
}
RV_TRANS_DECL(beq) { return gen_branch(dc, insn, IR_EQ); }
RV_TRANS_DECL(bne) { return gen_branch(dc, insn, IR_NE); }
RV_TRANS_DECL(blt) { return gen_branch(dc, insn, IR_LT); }
RV_TRANS_DECL(bge) { return gen_branch(dc, insn, IR_GE); }
RV_TRANS_DECL(bltu) { return gen_branch(dc, insn, IR_LTU); }
RV_TRANS_DECL(bgeu) { return gen_branch(dc, insn, IR_GEU); }
RV_TRANS_DECL(lb) { return gen_load(dc, insn, 0, true); }
RV_TRANS_DECL(lh) { return gen_load(dc, insn, 1, true); }
RV_TRANS_DECL(lw) { return gen_load(dc, insn, 2, true); }
RV_TRANS_DECL(ld) { return gen_load(dc, insn, 3, false); }
RV_TRANS_DECL(lbu) { return gen_load(dc, insn, 0, false); }
RV_TRANS_DECL(lhu) { return gen_load(dc, insn, 1, false); }
RV_TRANS_DECL(lwu) { return gen_load(dc, insn, 2, false); }
RV_TRANS_DECL(sb) { return gen_store(dc, insn, 0, src(RS2(insn))); }
RV_TRANS_DECL(sh) { return gen_store(dc, insn, 1, src(RS2(insn))); }
RV_TRANS_DECL(sw) { return gen_store(dc, insn, 2, src(RS2(insn))); }
RV_TRANS_DECL(sd) { return gen_store(dc, insn, 3, src(RS2(insn))); }
RV_TRANS_DECL(addi) { return gen_i(dc, insn, IR_ADD); }
RV_TRANS_DECL(slti) { return gen_i(dc, insn, IR_SLT); }
RV_TRANS_DECL(sltiu) { return gen_i(dc, insn, IR_SLTU); }
RV_TRANS_DECL(xori) { return gen_i(dc, insn, IR_XOR); }
RV_TRANS_DECL(ori) { return gen_i(dc, insn, IR_OR); }
RV_TRANS_DECL(andi) { return gen_i(dc, insn, IR_AND); }
RV_TRANS_DECL(slli) { return gen_alu(dc, IR_SHL, RD(insn), src(RS1(insn)), ir_const((insn >> 20) & 63)); }
RV_TRANS_DECL(srli) { return gen_alu(dc, IR_SHR, RD(insn), src(RS1(insn)), ir_const((insn >> 20) & 63)); }
RV_TRANS_DECL(srai) { return gen_alu(dc, IR_SAR, RD(insn), src(RS1(insn)), ir_const((insn >> 20) & 63)); }
RV_TRANS_DECL(add) { return gen_r(dc, insn, IR_ADD); }
RV_TRANS_DECL(sub) { return gen_r(dc, insn, IR_SUB); }
RV_TRANS_DECL(sll) { return gen_r(dc, insn, IR_SHL); }
RV_TRANS_DECL(slt) { return gen_r(dc, insn, IR_SLT); }
RV_TRANS_DECL(sltu) { return gen_r(dc, insn, IR_SLTU); }
RV_TRANS_DECL(xor) { return gen_r(dc, insn, IR_XOR); }
RV_TRANS_DECL(srl) { return gen_r(dc, insn, IR_SHR); }
RV_TRANS_DECL(sra) { return gen_r(dc, insn, IR_SAR); }
RV_TRANS_DECL(or) { return gen_r(dc, insn, IR_OR); }
RV_TRANS_DECL(and) { return gen_r(dc, insn, IR_AND); }
/* x86 keeps every order RVWMO asks for except a store before a later
 * load: only a fence ordering W before R needs a host fence.  User mode
 * has one host thread per guest thread and leaves fences out. */
RV_TRANS_DECL(fence)
{
    if ((dc->features & RV_EXT_SYS) && (insn & (1u << 24)) && (insn & (1u << 21)))
        return gen_helper(dc, rv_sys_helper_fence, insn);
    return true;
}
/* System mode sees every store into translated code (the TLB sends them
 * to the slow path, which drops those blocks), so fence.i only has to end
 * the block. */
RV_TRANS_DECL(fence_i)
{
    if (dc->features & RV_EXT_SYS) {
        struct ir_op *op = ir_emit(dc->b, IR_GOTO);
        op->imm = (int64_t)(dc->pc + (uint64_t)dc->len);
        dc->end = true;
        return true;
    }
    return gen_exit(dc, CPU_EXIT_FLUSH, dc->pc + (uint64_t)dc->len);
}
/* The privileged instructions change the mode, the address space or wait:
 * their helper checks the privilege and leaves the block. */
RV_TRANS_DECL(mret) { return gen_helper(dc, rv_sys_helper_priv, insn); }
RV_TRANS_DECL(sret) { return gen_helper(dc, rv_sys_helper_priv, insn); }
RV_TRANS_DECL(wfi) { return gen_helper(dc, rv_sys_helper_priv, insn); }
RV_TRANS_DECL(sfence_vma) { return gen_helper(dc, rv_sys_helper_priv, insn); }
RV_TRANS_DECL(ecall) { return gen_exit(dc, CPU_EXIT_ECALL, dc->pc); }
RV_TRANS_DECL(ebreak) { return gen_exit(dc, CPU_EXIT_EBREAK, dc->pc); }
RV_TRANS_DECL(addiw) { return gen_i(dc, insn, IR_ADDW); }
RV_TRANS_DECL(slliw) { return gen_alu(dc, IR_SHLW, RD(insn), src(RS1(insn)), ir_const((insn >> 20) & 31)); }
RV_TRANS_DECL(srliw) { return gen_alu(dc, IR_SHRW, RD(insn), src(RS1(insn)), ir_const((insn >> 20) & 31)); }
RV_TRANS_DECL(sraiw) { return gen_alu(dc, IR_SARW, RD(insn), src(RS1(insn)), ir_const((insn >> 20) & 31)); }
RV_TRANS_DECL(addw) { return gen_r(dc, insn, IR_ADDW); }
RV_TRANS_DECL(subw) { return gen_r(dc, insn, IR_SUBW); }
RV_TRANS_DECL(sllw) { return gen_r(dc, insn, IR_SHLW); }
RV_TRANS_DECL(srlw) { return gen_r(dc, insn, IR_SHRW); }
RV_TRANS_DECL(sraw) { return gen_r(dc, insn, IR_SARW); }

/* ---- Zicsr: the user-level CSRs live in the helper ---- */
static bool gen_csr(struct rv_dc *dc, uint32_t insn)
{
    return gen_helper(dc, (dc->features & RV_EXT_SYS) ? rv_sys_helper_csr : rv_helper_csr, insn);
}
RV_TRANS_DECL(csrrw) { return gen_csr(dc, insn); }
RV_TRANS_DECL(csrrs) { return gen_csr(dc, insn); }
RV_TRANS_DECL(csrrc) { return gen_csr(dc, insn); }
RV_TRANS_DECL(csrrwi) { return gen_csr(dc, insn); }
RV_TRANS_DECL(csrrsi) { return gen_csr(dc, insn); }
RV_TRANS_DECL(csrrci) { return gen_csr(dc, insn); }

/* ---- M ---- */
RV_TRANS_DECL(mul) { return gen_r(dc, insn, IR_MUL); }
RV_TRANS_DECL(mulh) { return gen_r(dc, insn, IR_MULH); }
RV_TRANS_DECL(mulhsu) { return gen_call2(dc, rv_fn_mulhsu, RD(insn), src(RS1(insn)), src(RS2(insn))); }
RV_TRANS_DECL(mulhu) { return gen_r(dc, insn, IR_MULHU); }
RV_TRANS_DECL(div) { return gen_r(dc, insn, IR_DIV); }
RV_TRANS_DECL(divu) { return gen_r(dc, insn, IR_DIVU); }
RV_TRANS_DECL(rem) { return gen_r(dc, insn, IR_REM); }
RV_TRANS_DECL(remu) { return gen_r(dc, insn, IR_REMU); }
RV_TRANS_DECL(mulw) { return gen_r(dc, insn, IR_MULW); }
RV_TRANS_DECL(divw) { return gen_r(dc, insn, IR_DIVW); }
RV_TRANS_DECL(divuw) { return gen_r(dc, insn, IR_DIVUW); }
RV_TRANS_DECL(remw) { return gen_r(dc, insn, IR_REMW); }
RV_TRANS_DECL(remuw) { return gen_r(dc, insn, IR_REMUW); }

/* ---- A: host atomics in the helper ---- */
static bool gen_amo(struct rv_dc *dc, uint32_t insn)
{
    return gen_helper(dc, (dc->features & RV_EXT_SYS) ? rv_sys_helper_amo : rv_helper_amo, insn);
}
RV_TRANS_DECL(lr_w) { return gen_amo(dc, insn); }
RV_TRANS_DECL(sc_w) { return gen_amo(dc, insn); }
RV_TRANS_DECL(lr_d) { return gen_amo(dc, insn); }
RV_TRANS_DECL(sc_d) { return gen_amo(dc, insn); }
static bool amo_funct_ok(uint32_t insn)
{
    switch (insn >> 27) {
    case 0x00: case 0x01: case 0x04: case 0x08: case 0x0c:
    case 0x10: case 0x14: case 0x18: case 0x1c:
        return true;
    }
    return false;
}
RV_TRANS_DECL(amo_w) { return amo_funct_ok(insn) && gen_amo(dc, insn); }
RV_TRANS_DECL(amo_d) { return amo_funct_ok(insn) && gen_amo(dc, insn); }

/* ---- F and D: loads, stores and moves inline, arithmetic in fpu.c ---- */
#define FREG(r) ir_reg(32 + (r))
#define NANBOX UINT64_C(0xffffffff00000000)
RV_TRANS_DECL(flw)
{
    struct ir_val t = new_tmp(dc);
    struct ir_op *op = gen(dc, IR_LD, t, src(RS1(insn)), ir_const(0));
    op->imm = imm_i(insn);
    op->aux = 2;
    gen(dc, IR_OR, FREG(RD(insn)), t, ir_const((int64_t)NANBOX));
    return true;
}
RV_TRANS_DECL(fld)
{
    struct ir_op *op = gen(dc, IR_LD, FREG(RD(insn)), src(RS1(insn)), ir_const(0));
    op->imm = imm_i(insn);
    op->aux = 3;
    return true;
}
RV_TRANS_DECL(fsw) { return gen_store(dc, insn, 2, FREG(RS2(insn))); }
RV_TRANS_DECL(fsd) { return gen_store(dc, insn, 3, FREG(RS2(insn))); }
RV_TRANS_DECL(fmv_x_w) { return gen_alu(dc, IR_ADDW, RD(insn), FREG(RS1(insn)), ir_const(0)); }
RV_TRANS_DECL(fmv_w_x)
{
    struct ir_val t = new_tmp(dc);
    gen(dc, IR_AND, t, src(RS1(insn)), ir_const(0xffffffff));
    gen(dc, IR_OR, FREG(RD(insn)), t, ir_const((int64_t)NANBOX));
    return true;
}
RV_TRANS_DECL(fmv_x_d) { return gen_alu(dc, IR_MOV, RD(insn), FREG(RS1(insn)), ir_const(0)); }
RV_TRANS_DECL(fmv_d_x) { gen(dc, IR_MOV, FREG(RD(insn)), src(RS1(insn)), ir_const(0)); return true; }

#define SIGN_D INT64_MIN
#define RM_DYN 7

/* Double-precision ops in the dynamic rounding mode are inline IR (host
 * SSE, see IR_FOP); static rounding modes and the rarer ops use the
 * helper, which implements every case. */
static bool gen_fsgnj_d(struct rv_dc *dc, int rd, int rs1, int rs2, int kind)
{
    struct ir_val d = FREG(rd), a = FREG(rs1), b = FREG(rs2);
    if (rs1 == rs2 && kind == 0) {
        gen(dc, IR_MOV, d, a, ir_const(0));
        return true;
    }
    if (rs1 == rs2 && kind == 1) {
        gen(dc, IR_XOR, d, a, ir_const(SIGN_D));
        return true;
    }
    struct ir_val t = new_tmp(dc), u = new_tmp(dc);
    if (kind == 2) {
        gen(dc, IR_AND, t, b, ir_const(SIGN_D));
        gen(dc, IR_XOR, d, a, t);
        return true;
    }
    if (kind == 1) {
        gen(dc, IR_XOR, t, b, ir_const(-1));
        gen(dc, IR_AND, t, t, ir_const(SIGN_D));
    } else {
        gen(dc, IR_AND, t, b, ir_const(SIGN_D));
    }
    gen(dc, IR_AND, u, a, ir_const(INT64_MAX));
    gen(dc, IR_OR, d, u, t);
    return true;
}

RV_TRANS_DECL(fp_d)
{
    int rd = RD(insn), rs1 = RS1(insn), rs2 = RS2(insn), rm = F3(insn);
    uint32_t f7 = insn >> 25;
    if (rm == RM_DYN && (dc->features & RV_FRM_INVALID))
        return gen_helper(dc, rv_helper_fp, insn);      /* it raises SIGILL */
    switch (f7) {
    case 0x01: case 0x05: case 0x09: case 0x0d:     /* fadd, fsub, fmul, fdiv */
        if (rm != RM_DYN)
            break;
        gen(dc, IR_FOP, FREG(rd), FREG(rs1), FREG(rs2))->aux = (uint8_t)(f7 >> 2);
        return true;
    case 0x2d:                                      /* fsqrt */
        if (rs2 != 0)
            return false;
        if (rm != RM_DYN)
            break;
        gen(dc, IR_FOP, FREG(rd), FREG(rs1), FREG(rs1))->aux = IR_FSQRT;
        return true;
    case 0x11:                                      /* fsgnj, fsgnjn, fsgnjx */
        if (rm > 2)
            return false;
        return gen_fsgnj_d(dc, rd, rs1, rs2, rm);
    case 0x51: {                                    /* fle, flt, feq */
        static const uint8_t cmp[3] = { IR_FLE, IR_FLT, IR_FEQ };
        if (rm > 2)
            return false;
        struct ir_val d = rd ? ir_reg(rd) : new_tmp(dc);  /* flags even for x0 */
        gen(dc, IR_FCMP, d, FREG(rs1), FREG(rs2))->aux = cmp[rm];
        return true;
    }
    case 0x69:                                      /* fcvt.d.w / fcvt.d.l */
        if (rs2 == 0 && rm != 5 && rm != 6) {       /* exact: any valid mode */
            gen(dc, IR_FCVT_DI, FREG(rd), src(rs1), ir_const(0))->aux = 0;
            return true;
        }
        if (rs2 == 2 && rm == RM_DYN) {
            gen(dc, IR_FCVT_DI, FREG(rd), src(rs1), ir_const(0))->aux = 1;
            return true;
        }
        break;
    }
    return gen_helper(dc, rv_helper_fp, insn);
}

/* Single precision: the same inline ops with IR_F_SINGLE (NaN-boxing is
 * checked on every operand and applied to every result). */
RV_TRANS_DECL(fp_s)
{
    int rd = RD(insn), rs1 = RS1(insn), rs2 = RS2(insn), rm = F3(insn);
    uint32_t f7 = insn >> 25;
    if (rm == RM_DYN && (dc->features & RV_FRM_INVALID))
        return gen_helper(dc, rv_helper_fp, insn);
    switch (f7) {
    case 0x00: case 0x04: case 0x08: case 0x0c:     /* fadd.s, fsub.s, fmul.s, fdiv.s */
        if (rm != RM_DYN)
            break;
        gen(dc, IR_FOP, FREG(rd), FREG(rs1), FREG(rs2))->aux = (uint8_t)((f7 >> 2) | IR_F_SINGLE);
        return true;
    case 0x2c:
        if (rs2 != 0)
            return false;
        if (rm != RM_DYN)
            break;
        gen(dc, IR_FOP, FREG(rd), FREG(rs1), FREG(rs1))->aux = IR_FSQRT | IR_F_SINGLE;
        return true;
    case 0x50: {                                    /* fle.s, flt.s, feq.s */
        static const uint8_t cmp[3] = { IR_FLE, IR_FLT, IR_FEQ };
        if (rm > 2)
            return false;
        struct ir_val d = rd ? ir_reg(rd) : new_tmp(dc);
        gen(dc, IR_FCMP, d, FREG(rs1), FREG(rs2))->aux = (uint8_t)(cmp[rm] | IR_F_SINGLE);
        return true;
    }
    case 0x68:                                      /* fcvt.s.w / fcvt.s.l */
        if ((rs2 == 0 || rs2 == 2) && rm == RM_DYN) {
            gen(dc, IR_FCVT_DI, FREG(rd), src(rs1), ir_const(0))->aux =
                (uint8_t)((rs2 == 2 ? 1 : 0) | IR_F_SINGLE);
            return true;
        }
        break;
    }
    return gen_helper(dc, rv_helper_fp, insn);
}

static bool host_has_fma(void);

RV_TRANS_DECL(fma_s)
{
    if (F3(insn) != RM_DYN || !host_has_fma() || (dc->features & RV_FRM_INVALID))
        return gen_helper(dc, rv_helper_fp, insn);
    struct ir_op *op = gen(dc, IR_FMA, FREG(RD(insn)), FREG(RS1(insn)), FREG(RS2(insn)));
    op->c = FREG(insn >> 27);
    op->aux = (uint8_t)(((insn >> 2) & 3) | IR_F_SINGLE);
    return true;
}

static bool host_has_fma(void)
{
    static int fma = -1;
    if (fma < 0)
        fma = __builtin_cpu_supports("fma") ? 1 : 0;
    return fma;
}

RV_TRANS_DECL(fma_d)
{
    if (F3(insn) != RM_DYN || !host_has_fma() || (dc->features & RV_FRM_INVALID))
        return gen_helper(dc, rv_helper_fp, insn);
    struct ir_op *op = gen(dc, IR_FMA, FREG(RD(insn)), FREG(RS1(insn)), FREG(RS2(insn)));
    op->c = FREG(insn >> 27);
    op->aux = (uint8_t)((insn >> 2) & 3);     /* bit 1: negate product, bit 0: negate addend */
    return true;
}

/* ---- Zba ---- */
static bool gen_shadd(struct rv_dc *dc, uint32_t insn, int sh, bool uw)
{
    if (!RD(insn))
        return true;
    struct ir_val t = new_tmp(dc);
    struct ir_val a = src(RS1(insn));
    if (uw) {
        gen(dc, IR_AND, t, a, ir_const(0xffffffff));
        a = t;
    }
    if (sh) {
        gen(dc, IR_SHL, t, a, ir_const(sh));
        a = t;
    }
    gen(dc, IR_ADD, ir_reg(RD(insn)), a, src(RS2(insn)));
    return true;
}
RV_TRANS_DECL(sh1add) { return gen_shadd(dc, insn, 1, false); }
RV_TRANS_DECL(sh2add) { return gen_shadd(dc, insn, 2, false); }
RV_TRANS_DECL(sh3add) { return gen_shadd(dc, insn, 3, false); }
RV_TRANS_DECL(add_uw) { return gen_shadd(dc, insn, 0, true); }
RV_TRANS_DECL(sh1add_uw) { return gen_shadd(dc, insn, 1, true); }
RV_TRANS_DECL(sh2add_uw) { return gen_shadd(dc, insn, 2, true); }
RV_TRANS_DECL(sh3add_uw) { return gen_shadd(dc, insn, 3, true); }
RV_TRANS_DECL(slli_uw)
{
    if (!RD(insn))
        return true;
    struct ir_val t = new_tmp(dc);
    gen(dc, IR_AND, t, src(RS1(insn)), ir_const(0xffffffff));
    gen(dc, IR_SHL, ir_reg(RD(insn)), t, ir_const((insn >> 20) & 63));
    return true;
}

/* ---- Zbb ---- */
static bool gen_not_op(struct rv_dc *dc, uint32_t insn, int opc)
{
    if (!RD(insn))
        return true;
    struct ir_val t = new_tmp(dc);
    gen(dc, IR_XOR, t, src(RS2(insn)), ir_const(-1));
    gen(dc, opc, ir_reg(RD(insn)), src(RS1(insn)), t);
    return true;
}
RV_TRANS_DECL(andn) { return gen_not_op(dc, insn, IR_AND); }
RV_TRANS_DECL(orn) { return gen_not_op(dc, insn, IR_OR); }
RV_TRANS_DECL(xnor) { return gen_not_op(dc, insn, IR_XOR); }
/* Inline IR; a population count only if the host has popcnt (else the
 * helper), the rest has fallbacks in the back end. */
static bool host_has_popcnt(void)
{
    static int p = -1;
    if (p < 0)
        p = __builtin_cpu_supports("popcnt") ? 1 : 0;
    return p;
}
#define ZBB1(name, opc) \
    RV_TRANS_DECL(name) { return gen_alu(dc, opc, RD(insn), src(RS1(insn)), ir_const(0)); }
#define ZBBR(name, opc) RV_TRANS_DECL(name) { return gen_r(dc, insn, opc); }
ZBB1(clz, IR_CLZ)
ZBB1(ctz, IR_CTZ)
ZBB1(clzw, IR_CLZW)
ZBB1(ctzw, IR_CTZW)
ZBB1(orc_b, IR_ORCB)
ZBB1(rev8, IR_REV8)
RV_TRANS_DECL(cpop)
{
    if (!host_has_popcnt())
        return gen_call2(dc, rv_fn_cpop, RD(insn), src(RS1(insn)), ir_const(0));
    return gen_alu(dc, IR_CPOP, RD(insn), src(RS1(insn)), ir_const(0));
}
RV_TRANS_DECL(cpopw)
{
    if (!host_has_popcnt())
        return gen_call2(dc, rv_fn_cpopw, RD(insn), src(RS1(insn)), ir_const(0));
    return gen_alu(dc, IR_CPOPW, RD(insn), src(RS1(insn)), ir_const(0));
}
ZBBR(max, IR_MAX)
ZBBR(maxu, IR_MAXU)
ZBBR(min, IR_MIN)
ZBBR(minu, IR_MINU)
RV_TRANS_DECL(rol) { return gen_r(dc, insn, IR_ROL); }
RV_TRANS_DECL(ror) { return gen_r(dc, insn, IR_ROR); }
RV_TRANS_DECL(rolw) { return gen_r(dc, insn, IR_ROLW); }
RV_TRANS_DECL(rorw) { return gen_r(dc, insn, IR_RORW); }
RV_TRANS_DECL(rori) { return gen_alu(dc, IR_ROR, RD(insn), src(RS1(insn)), ir_const((insn >> 20) & 63)); }
RV_TRANS_DECL(roriw) { return gen_alu(dc, IR_RORW, RD(insn), src(RS1(insn)), ir_const((insn >> 20) & 31)); }
static bool gen_ext(struct rv_dc *dc, uint32_t insn, int bits, bool sign)
{
    if (!RD(insn))
        return true;
    struct ir_val t = new_tmp(dc);
    gen(dc, IR_SHL, t, src(RS1(insn)), ir_const(64 - bits));
    gen(dc, sign ? IR_SAR : IR_SHR, ir_reg(RD(insn)), t, ir_const(64 - bits));
    return true;
}
RV_TRANS_DECL(sext_b) { return gen_ext(dc, insn, 8, true); }
RV_TRANS_DECL(sext_h) { return gen_ext(dc, insn, 16, true); }
RV_TRANS_DECL(zext_h) { return gen_ext(dc, insn, 16, false); }

/* ---- Zbs ---- */
static bool gen_bit(struct rv_dc *dc, uint32_t insn, int kind, struct ir_val idx)
{
    if (!RD(insn))
        return true;
    struct ir_val t = new_tmp(dc);
    struct ir_val d = ir_reg(RD(insn));
    if (kind == 3) {    /* bext */
        gen(dc, IR_SHR, t, src(RS1(insn)), idx);
        gen(dc, IR_AND, d, t, ir_const(1));
        return true;
    }
    gen(dc, IR_SHL, t, ir_const(1), idx);
    if (kind == 0) {    /* bclr */
        gen(dc, IR_XOR, t, t, ir_const(-1));
        gen(dc, IR_AND, d, src(RS1(insn)), t);
    } else {
        gen(dc, kind == 1 ? IR_XOR : IR_OR, d, src(RS1(insn)), t);
    }
    return true;
}
RV_TRANS_DECL(bclr) { return gen_bit(dc, insn, 0, src(RS2(insn))); }
RV_TRANS_DECL(bclri) { return gen_bit(dc, insn, 0, ir_const((insn >> 20) & 63)); }
RV_TRANS_DECL(binv) { return gen_bit(dc, insn, 1, src(RS2(insn))); }
RV_TRANS_DECL(binvi) { return gen_bit(dc, insn, 1, ir_const((insn >> 20) & 63)); }
RV_TRANS_DECL(bset) { return gen_bit(dc, insn, 2, src(RS2(insn))); }
RV_TRANS_DECL(bseti) { return gen_bit(dc, insn, 2, ir_const((insn >> 20) & 63)); }
RV_TRANS_DECL(bext) { return gen_bit(dc, insn, 3, src(RS2(insn))); }
RV_TRANS_DECL(bexti) { return gen_bit(dc, insn, 3, ir_const((insn >> 20) & 63)); }
