/* decode.c - RISC-V instruction encodings as data, and the block loop.
 *
 * rv_insn_table is generated from insns.h: one row per instruction with
 * its mask and match bits.  rv_translate() fetches, expands compressed
 * forms, looks the instruction up and calls its trans function.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "riscv/riscv.h"
#include "exec.h"
#include "log.h"

const struct rv_insn_desc rv_insn_table[] = {
#define RV_INSN(n, mask, match, ext) { mask, match, ext, #n, trans_##n },
#include "riscv/insns.h"
#undef RV_INSN
};
const size_t rv_insn_count = ARRAY_SIZE(rv_insn_table);

const struct rv_insn_desc *rv_decode(uint32_t insn, uint64_t features)
{
    for (size_t i = 0; i < rv_insn_count; i++) {
        const struct rv_insn_desc *d = &rv_insn_table[i];
        if ((insn & d->mask) == d->match)
            return (d->ext & features) ? d : NULL;
    }
    return NULL;
}

void rv_describe(char *buf, size_t len, uint64_t pc, uint32_t raw, int ilen, uint64_t features)
{
    char text[96];
    rv_disasm(text, sizeof(text), pc, raw, ilen, features);
    if (ilen == 2)
        snprintf(buf, len, "0x%08" PRIx64 ":  %04x      %s", pc, raw, text);
    else
        snprintf(buf, len, "0x%08" PRIx64 ":  %08x  %s", pc, raw, text);
}

static void rv_gen_illegal(struct rv_dc *dc)
{
    struct ir_op *op = ir_emit(dc->b, IR_EXIT);
    if (op) {
        op->imm = (int64_t)dc->pc;
        op->aux = CPU_EXIT_ILLEGAL;
    }
    dc->end = true;
}

/* If-conversion: a conditional branch that only skips the next
 * instruction, which computes a register and nothing else ("if (c) x +=
 * y"), becomes that instruction and a select, instead of a side exit and
 * another block.  Carry propagation in multi-word arithmetic (the
 * kernel's RSA and elliptic curves) is written this way; as one block
 * its loop stays in host registers.
 *
 *     t = cond(rs1, rs2); mask = 0 - t or t - 1 (all ones: run it)
 *     old = rd; <the instruction>; rd = old ^ ((rd ^ old) & mask)
 *
 * Returns the two instructions' length in bytes, or 0 (nothing emitted). */
static int rv_if_convert(struct rv_dc *dc, uint64_t pc, int len, rv_fetch_fn fetch, void *opaque)
{
    struct ir_block *b = dc->b;
    uint32_t br = dc->insn;
    int64_t off = (int64_t)(int32_t)((((br >> 31) & 1) << 12) | (((br >> 7) & 1) << 11) |
                                     (((br >> 25) & 63) << 5) | (((br >> 8) & 15) << 1)) << 19 >> 19;
    uint64_t npc = pc + (uint64_t)len;
    if (b->n_insns + 2 > dc->max_insns || b->n_ops + 40 > IR_MAX_OPS)
        return 0;
    if ((dc->features & RV_EXT_SYS) && ((npc & 0xfff) == 0 || (npc & 0xfff) == 0xffe))
        return 0;       /* the next instruction must be on this page, whole */
    int lo = fetch(opaque, npc);
    if (lo < 0)
        return 0;
    uint32_t raw = (uint32_t)lo;
    int nlen = 2;
    if ((raw & 3) == 3) {
        int hi = fetch(opaque, npc + 2);
        if (hi < 0)
            return 0;
        raw |= (uint32_t)hi << 16;
        nlen = 4;
    }
    if (off != len + nlen)
        return 0;
    uint32_t insn = nlen == 2 ? ((dc->features & RV_EXT_C) ? rv_expand_compressed((uint16_t)raw, dc->features) : 0)
                              : raw;
    unsigned opcode = insn & 0x7f, rd = (insn >> 7) & 31;
    if (!insn || rd == 0 || (opcode != 0x13 && opcode != 0x1b && opcode != 0x33 && opcode != 0x3b &&
                             opcode != 0x37 && opcode != 0x17))
        return 0;
    const struct rv_insn_desc *d = rv_decode(insn, dc->features);
    if (!d)
        return 0;

    int n_ops0 = b->n_ops, n_insns0 = b->n_insns;
    struct ir_val t = ir_tmp(CPU_TMPS - 1), old = ir_tmp(CPU_TMPS - 2), x = ir_tmp(CPU_TMPS - 3);
    unsigned rs1 = (br >> 15) & 31, rs2 = (br >> 20) & 31;
    struct ir_val a = rs1 ? ir_reg((int)rs1) : ir_const(0), c = rs2 ? ir_reg((int)rs2) : ir_const(0);
    struct ir_op *op;
    /* the branch: t = 1 when it would be taken for beq/bge/bgeu (then
     * the instruction runs when t is 0) or not taken for bne/blt/bltu */
    unsigned f3 = (br >> 12) & 7;
    b->insn_pc[b->n_insns] = pc;
    b->insn_word[b->n_insns] = dc->raw;
    b->n_insns++;
    if (f3 == 0 || f3 == 1) {           /* t = rs1 != rs2 */
        op = ir_emit(b, IR_XOR);
        op->d = t, op->a = a, op->b = c;
        op = ir_emit(b, IR_SLTU);
        op->d = t, op->a = ir_const(0), op->b = t;
    } else {                            /* t = rs1 < rs2 */
        op = ir_emit(b, f3 == 4 || f3 == 5 ? IR_SLT : IR_SLTU);
        op->d = t, op->a = a, op->b = c;
    }
    bool run_if_t = f3 == 0 || f3 == 5 || f3 == 7;     /* beq, bge, bgeu skip when t is 0 */
    op = ir_emit(b, run_if_t ? IR_SUB : IR_ADD);
    if (run_if_t)
        op->d = t, op->a = ir_const(0), op->b = t;
    else
        op->d = t, op->a = t, op->b = ir_const(-1);
    op = ir_emit(b, IR_MOV);
    op->d = old, op->a = ir_reg((int)rd), op->b = ir_const(0);

    /* the instruction, as usual, then the select */
    b->insn_pc[b->n_insns] = npc;
    b->insn_word[b->n_insns] = raw;
    b->n_insns++;
    int first = b->n_ops;
    dc->pc = npc;
    dc->len = nlen;
    dc->insn = insn;
    dc->n_tmp = 0;
    bool ok = d->trans(dc, insn) && !dc->end && dc->n_tmp <= CPU_TMPS - 3;
    for (int i = first; ok && i < b->n_ops; i++) {
        const struct ir_op *o = &b->ops[i];
        /* pure ops (ir.h order: IR_MOV .. IR_CALL2) writing rd or a temporary */
        ok = o->opc >= IR_MOV && o->opc <= IR_CALL2 &&
             (o->d.kind == IR_V_TMP || (o->d.kind == IR_V_REG && o->d.idx == (int)rd));
    }
    if (!ok) {
        b->n_ops = n_ops0;
        b->n_insns = n_insns0;
        dc->end = false;
        dc->pc = pc;
        dc->len = len;
        dc->insn = br;
        return 0;
    }
    op = ir_emit(b, IR_XOR);
    op->d = x, op->a = ir_reg((int)rd), op->b = old;
    op = ir_emit(b, IR_AND);
    op->d = x, op->a = x, op->b = t;
    op = ir_emit(b, IR_XOR);
    op->d = ir_reg((int)rd), op->a = old, op->b = x;
    return len + nlen;
}

int rv_translate(struct ir_block *b, uint64_t pc, uint64_t features,
                 rv_fetch_fn fetch, void *opaque, int max_insns)
{
    struct rv_dc dc = { .b = b, .features = features, .max_insns = max_insns };
    b->pc = pc;
    b->n_ops = 0;
    b->n_insns = 0;
    if (max_insns > IR_MAX_INSNS)
        max_insns = IR_MAX_INSNS;
    dc.max_insns = max_insns;

    while (!dc.end) {
        if ((features & RV_EXT_SYS) && b->n_insns > 0 && (pc & 0xfff) == 0)
            break;          /* the next page: another block (see below) */
        int lo = fetch(opaque, pc);
        if (lo < 0) {
            if (b->n_insns == 0)
                return -EFAULT;
            break;            /* the next block will fault precisely */
        }
        uint32_t raw = (uint32_t)lo;
        int len = 2;
        /* System mode: a block holds the code of one page (so that it can
         * be dropped with that page, and found again through its physical
         * address); only a first instruction may straddle a page end. */
        if ((features & RV_EXT_SYS) && b->n_insns > 0 && (pc & 0xfff) == 0xffe && (raw & 3) == 3)
            break;
        if ((raw & 3) == 3) {
            int hi = fetch(opaque, pc + 2);
            if (hi < 0) {
                if (b->n_insns == 0)
                    return -EFAULT;
                break;
            }
            raw |= (uint32_t)hi << 16;
            len = 4;
        }
        /* Room for the worst case of one instruction plus the block end. */
        if (b->n_ops + 16 > IR_MAX_OPS)
            break;
        dc.pc = pc;
        dc.len = len;
        dc.raw = raw;
        dc.insn = len == 2 ? ((features & RV_EXT_C) ? rv_expand_compressed((uint16_t)raw, features) : 0)
                           : raw;
        const struct rv_insn_desc *d = dc.insn ? rv_decode(dc.insn, features) : NULL;
        if (d && (dc.insn & 0x7f) == 0x63) {
            int n = rv_if_convert(&dc, pc, len, fetch, opaque);
            if (n > 0) {
                pc += (uint64_t)n;
                if (b->n_insns >= max_insns) {
                    struct ir_op *op = ir_emit(b, IR_GOTO);
                    op->imm = (int64_t)pc;
                    dc.end = true;
                }
                continue;
            }
        }
        b->insn_pc[b->n_insns] = pc;
        b->insn_word[b->n_insns] = raw;
        b->n_insns++;
        int ops_before = b->n_ops;
        dc.n_tmp = 0;       /* temporaries never live across instructions */
        if (d && (features & RV_EXT_SYS) && (d->ext & (RV_EXT_F | RV_EXT_D)) && !dc.fs_checked) {
            /* the first FP instruction of the block: trap if mstatus.FS
             * is Off, else mark the state dirty (the helper) */
            struct ir_op *op = ir_emit(b, IR_HELPER);
            op->fn = (void *)rv_sys_helper_fs;
            op->insn = dc.insn;
            op->imm = (int64_t)pc;
            dc.fs_checked = true;
            ops_before = b->n_ops;
        }
        if (!d || !d->trans(&dc, dc.insn)) {
            if (log_on(LOG_GUEST_ERROR))
                log_msg(LOG_GUEST_ERROR, "illegal instruction 0x%08x at 0x%" PRIx64, raw, pc);
            b->n_ops = ops_before;   /* a failing trans may have emitted ops */
            rv_gen_illegal(&dc);
        }
        pc += (uint64_t)len;
        if (b->n_insns >= max_insns && !dc.end) {
            struct ir_op *op = ir_emit(b, IR_GOTO);
            op->imm = (int64_t)pc;
            dc.end = true;
        }
    }
    if (!dc.end) {
        struct ir_op *op = ir_emit(b, IR_GOTO);
        op->imm = (int64_t)pc;
    }
    b->end_pc = pc;
    b->n_tmps = CPU_TMPS;
    return 0;
}

const struct tr_frontend rv_frontend = {
    .name = "riscv64",
    .max_insns = 64,
    .translate = rv_translate,
    .describe = rv_describe,
    .sync_state = rv_fp_sync,
};
