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
        b->insn_pc[b->n_insns] = pc;
        b->insn_word[b->n_insns] = raw;
        b->n_insns++;
        dc.pc = pc;
        dc.len = len;
        dc.insn = len == 2 ? ((features & RV_EXT_C) ? rv_expand_compressed((uint16_t)raw, features) : 0)
                           : raw;
        const struct rv_insn_desc *d = dc.insn ? rv_decode(dc.insn, features) : NULL;
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
