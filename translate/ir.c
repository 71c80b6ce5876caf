/* ir.c - building, printing and evaluating IR (see ir.h). */
#include <config.h>

#include <string.h>
#include "ir.h"

static const char *const ir_names[IR_OPC_COUNT] = {
    [IR_NOP] = "nop", [IR_MOV] = "mov", [IR_ADD] = "add", [IR_SUB] = "sub",
    [IR_AND] = "and", [IR_OR] = "or", [IR_XOR] = "xor", [IR_SHL] = "shl",
    [IR_SHR] = "shr", [IR_SAR] = "sar", [IR_ADDW] = "addw", [IR_SUBW] = "subw",
    [IR_SHLW] = "shlw", [IR_SHRW] = "shrw", [IR_SARW] = "sarw",
    [IR_ROL] = "rol", [IR_ROR] = "ror", [IR_ROLW] = "rolw", [IR_RORW] = "rorw",
    [IR_SLT] = "slt", [IR_SLTU] = "sltu", [IR_MUL] = "mul", [IR_MULW] = "mulw",
    [IR_MULH] = "mulh", [IR_MULHU] = "mulhu", [IR_DIV] = "div",
    [IR_DIVU] = "divu", [IR_REM] = "rem", [IR_REMU] = "remu",
    [IR_DIVW] = "divw", [IR_DIVUW] = "divuw", [IR_REMW] = "remw",
    [IR_REMUW] = "remuw", [IR_MIN] = "min", [IR_MAX] = "max", [IR_MINU] = "minu",
    [IR_MAXU] = "maxu", [IR_CLZ] = "clz", [IR_CTZ] = "ctz", [IR_CPOP] = "cpop",
    [IR_CLZW] = "clzw", [IR_CTZW] = "ctzw", [IR_CPOPW] = "cpopw", [IR_REV8] = "rev8",
    [IR_ORCB] = "orc.b", [IR_CALL2] = "call2", [IR_FOP] = "fop", [IR_FMA] = "fma",
    [IR_FCMP] = "fcmp", [IR_FCVT_DI] = "fcvt_di", [IR_LD] = "ld", [IR_ST] = "st",
    [IR_HELPER] = "helper", [IR_BRSIDE] = "brside", [IR_GOTO] = "goto", [IR_GOTO_IND] = "goto_ind",
    [IR_BRCOND] = "brcond", [IR_EXIT] = "exit",
};

struct ir_op *ir_emit(struct ir_block *b, int opc)
{
    if (b->n_ops >= IR_MAX_OPS)
        return NULL;
    struct ir_op *op = &b->ops[b->n_ops++];
    memset(op, 0, sizeof(*op));
    op->opc = (uint8_t)opc;
    op->insn_idx = (uint16_t)(b->n_insns > 0 ? b->n_insns - 1 : 0);
    return op;
}

const char *ir_opc_name(int opc)
{
    return opc >= 0 && opc < IR_OPC_COUNT && ir_names[opc] ? ir_names[opc] : "?";
}

static void ir_print_val(FILE *fp, struct ir_val v)
{
    switch (v.kind) {
    case IR_V_REG: fprintf(fp, "x%d", v.idx); break;
    case IR_V_TMP: fprintf(fp, "t%d", v.idx); break;
    case IR_V_CONST: fprintf(fp, "$0x%" PRIx64, (uint64_t)v.c); break;
    default: fprintf(fp, "-"); break;
    }
}

void ir_dump(FILE *fp, const struct ir_block *b)
{
    fprintf(fp, "IR block 0x%" PRIx64 " (%d insns, %d ops)\n", b->pc, b->n_insns, b->n_ops);
    int last = -1;
    for (int i = 0; i < b->n_ops; i++) {
        const struct ir_op *op = &b->ops[i];
        if (op->opc == IR_NOP)
            continue;
        if (op->insn_idx != last) {
            last = op->insn_idx;
            fprintf(fp, " ---- 0x%" PRIx64 "\n", b->insn_pc[last]);
        }
        fprintf(fp, "  %-9s ", ir_opc_name(op->opc));
        ir_print_val(fp, op->d);
        fputc(' ', fp);
        ir_print_val(fp, op->a);
        fputc(' ', fp);
        ir_print_val(fp, op->b);
        if (op->opc == IR_FMA) {
            fputc(' ', fp);
            ir_print_val(fp, op->c);
        }
        fprintf(fp, " imm=0x%" PRIx64 " aux=%u\n", (uint64_t)op->imm, op->aux);
    }
}

static uint64_t sext32(uint64_t v)
{
    return (uint64_t)(int64_t)(int32_t)(uint32_t)v;
}

uint64_t ir_eval(const struct ir_op *op, uint64_t a, uint64_t b)
{
    int64_t sa = (int64_t)a, sb = (int64_t)b;
    int32_t wa = (int32_t)a, wb = (int32_t)b;
    switch (op->opc) {
    case IR_MOV: return a;
    case IR_ADD: return a + b;
    case IR_SUB: return a - b;
    case IR_AND: return a & b;
    case IR_OR: return a | b;
    case IR_XOR: return a ^ b;
    case IR_SHL: return a << (b & 63);
    case IR_SHR: return a >> (b & 63);
    case IR_SAR: return (uint64_t)(sa >> (b & 63));
    case IR_ADDW: return sext32(a + b);
    case IR_SUBW: return sext32(a - b);
    case IR_SHLW: return sext32((uint32_t)a << (b & 31));
    case IR_SHRW: return sext32((uint32_t)a >> (b & 31));
    case IR_SARW: return sext32((uint32_t)(wa >> (b & 31)));
    case IR_ROL: return (a << (b & 63)) | (a >> ((64 - b) & 63));
    case IR_ROR: return (a >> (b & 63)) | (a << ((64 - b) & 63));
    case IR_ROLW: return sext32((uint32_t)a << (b & 31) | (uint32_t)a >> ((32 - b) & 31));
    case IR_RORW: return sext32((uint32_t)a >> (b & 31) | (uint32_t)a << ((32 - b) & 31));
    case IR_SLT: return sa < sb;
    case IR_SLTU: return a < b;
    case IR_MUL: return a * b;
    case IR_MULW: return sext32(a * b);
    case IR_MULH: return (uint64_t)(((__int128)sa * sb) >> 64);
    case IR_MULHU: return (uint64_t)(((unsigned __int128)a * b) >> 64);
    case IR_DIV:
        if (b == 0) return ~UINT64_C(0);
        if (sa == INT64_MIN && sb == -1) return a;
        return (uint64_t)(sa / sb);
    case IR_DIVU: return b == 0 ? ~UINT64_C(0) : a / b;
    case IR_REM:
        if (b == 0) return a;
        if (sa == INT64_MIN && sb == -1) return 0;
        return (uint64_t)(sa % sb);
    case IR_REMU: return b == 0 ? a : a % b;
    case IR_DIVW:
        if (wb == 0) return ~UINT64_C(0);
        if (wa == INT32_MIN && wb == -1) return sext32((uint32_t)wa);
        return sext32((uint32_t)(wa / wb));
    case IR_DIVUW:
        if ((uint32_t)b == 0) return ~UINT64_C(0);
        return sext32((uint32_t)a / (uint32_t)b);
    case IR_REMW:
        if (wb == 0) return sext32((uint32_t)wa);
        if (wa == INT32_MIN && wb == -1) return 0;
        return sext32((uint32_t)(wa % wb));
    case IR_REMUW:
        if ((uint32_t)b == 0) return sext32((uint32_t)a);
        return sext32((uint32_t)a % (uint32_t)b);
    case IR_MIN: return sa < sb ? a : b;
    case IR_MAX: return sa > sb ? a : b;
    case IR_MINU: return a < b ? a : b;
    case IR_MAXU: return a > b ? a : b;
    case IR_CLZ: return a ? (uint64_t)__builtin_clzll(a) : 64;
    case IR_CTZ: return a ? (uint64_t)__builtin_ctzll(a) : 64;
    case IR_CPOP: return (uint64_t)__builtin_popcountll(a);
    case IR_CLZW: return (uint32_t)a ? (uint64_t)__builtin_clz((uint32_t)a) : 32;
    case IR_CTZW: return (uint32_t)a ? (uint64_t)__builtin_ctz((uint32_t)a) : 32;
    case IR_CPOPW: return (uint64_t)__builtin_popcount((uint32_t)a);
    case IR_REV8: return __builtin_bswap64(a);
    case IR_ORCB: {
        uint64_t r = 0;
        for (int i = 0; i < 64; i += 8)
            if ((a >> i) & 0xff)
                r |= UINT64_C(0xff) << i;
        return r;
    }
    case IR_CALL2: return ((ir_fn2)op->fn)(a, b);
    default: return 0;
    }
}

bool ir_cond_eval(int cond, uint64_t a, uint64_t b)
{
    switch (cond) {
    case IR_EQ: return a == b;
    case IR_NE: return a != b;
    case IR_LT: return (int64_t)a < (int64_t)b;
    case IR_GE: return (int64_t)a >= (int64_t)b;
    case IR_LTU: return a < b;
    case IR_GEU: return a >= b;
    }
    return false;
}
