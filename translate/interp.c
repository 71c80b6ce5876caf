/* interp.c - the reference interpreter: runs a block's IR in C.
 *
 * It shares the front end (and the pure-op semantics in ir_eval) with the
 * translator but none of the back end, register pinning, chaining or
 * optimizer-dependent code generation, so comparing it with translated
 * code block by block (TR_MODE_COMPARE) checks the back end.  In compare
 * mode it records the old contents of every store (tr->undo) so that the
 * block can be run again.
 */
#include <config.h>

#include <string.h>

#include "exec.h"

static uint64_t *slot(struct cpu *cpu, struct ir_val v)
{
    if (v.kind == IR_V_TMP)
        return &cpu->tmp[v.idx];
    return v.idx < 32 ? &cpu->x[v.idx] : &cpu->f[v.idx - 32];
}

static uint64_t val(struct cpu *cpu, struct ir_val v)
{
    return v.kind == IR_V_CONST ? (uint64_t)v.c : *slot(cpu, v);
}

/* Guest memory is not the host's heap: no sanitizer checks on it (a
 * guest fault must reach the fault handler as a plain SIGSEGV). */
__attribute__((no_sanitize_address))
static uint64_t guest_load(uint64_t host, int size)
{
    switch (size) {
    case 1: { uint8_t t; __builtin_memcpy(&t, (const void *)(uintptr_t)host, 1); return t; }
    case 2: { uint16_t t; __builtin_memcpy(&t, (const void *)(uintptr_t)host, 2); return t; }
    case 4: { uint32_t t; __builtin_memcpy(&t, (const void *)(uintptr_t)host, 4); return t; }
    default: { uint64_t t; __builtin_memcpy(&t, (const void *)(uintptr_t)host, 8); return t; }
    }
}

__attribute__((no_sanitize_address))
static void guest_store(uint64_t host, int size, uint64_t v)
{
    switch (size) {
    case 1: { uint8_t t = (uint8_t)v; __builtin_memcpy((void *)(uintptr_t)host, &t, 1); break; }
    case 2: { uint16_t t = (uint16_t)v; __builtin_memcpy((void *)(uintptr_t)host, &t, 2); break; }
    case 4: { uint32_t t = (uint32_t)v; __builtin_memcpy((void *)(uintptr_t)host, &t, 4); break; }
    default: __builtin_memcpy((void *)(uintptr_t)host, &v, 8); break;
    }
}

static void undo_log(struct tr *tr, uint64_t addr, const void *host, int size)
{
    if (tr->n_undo == tr->undo_cap) {
        size_t cap = tr->undo_cap ? 2 * tr->undo_cap : 256;
        struct tr_undo *n = realloc(tr->undo, cap * sizeof(*n));
        if (!n)
            abort();        /* test-only mode: no way to go on correctly */
        tr->undo = n;
        tr->undo_cap = cap;
    }
    struct tr_undo *u = &tr->undo[tr->n_undo++];
    u->addr = addr;
    u->size = size;
    u->old = guest_load((uint64_t)(uintptr_t)host, size);
}

int ir_interp(struct tr *tr, struct cpu *cpu, const struct ir_op *ops, int n_ops,
              const uint64_t *insn_pc, bool log_undo)
{
    for (int i = 0; i < n_ops; i++) {
        const struct ir_op *op = &ops[i];
        switch (op->opc) {
        case IR_NOP:
            break;
        case IR_LD: {
            cpu->pc = insn_pc[op->insn_idx];
            uint64_t addr = val(cpu, op->a) + (uint64_t)op->imm;
            int size = 1 << (op->aux & 3);
            uint64_t v = guest_load(cpu->guest_base + addr, size);
            if ((op->aux & IR_MEM_SIGNED) && size < 8) {
                int sh = 64 - 8 * size;
                v = (uint64_t)((int64_t)(v << sh) >> sh);
            }
            *slot(cpu, op->d) = v;
            break;
        }
        case IR_ST: {
            cpu->pc = insn_pc[op->insn_idx];
            uint64_t addr = val(cpu, op->a) + (uint64_t)op->imm;
            void *h = (void *)(uintptr_t)(cpu->guest_base + addr);
            int size = 1 << (op->aux & 3);
            uint64_t v = val(cpu, op->b);
            if (log_undo)
                undo_log(tr, addr, h, size);
            guest_store(cpu->guest_base + addr, size, v);
            break;
        }
        case IR_HELPER: {
            cpu->pc = (uint64_t)op->imm;
            int r = ((ir_helper)op->fn)(cpu, op->insn);
            if (r)
                return r;
            break;
        }
        case IR_GOTO:
            cpu->pc = (uint64_t)op->imm;
            return CPU_EXIT_CHAIN;
        case IR_GOTO_IND:
            cpu->pc = val(cpu, op->a) & ~UINT64_C(1);
            return CPU_EXIT_CHAIN;
        case IR_BRSIDE:
            if (ir_cond_eval(op->aux, val(cpu, op->a), val(cpu, op->b))) {
                cpu->pc = (uint64_t)op->imm;
                return CPU_EXIT_CHAIN;
            }
            break;
        case IR_BRCOND:
            cpu->pc = (uint64_t)(ir_cond_eval(op->aux, val(cpu, op->a), val(cpu, op->b))
                                 ? op->imm : op->imm2);
            return CPU_EXIT_CHAIN;
        case IR_EXIT:
            cpu->pc = (uint64_t)op->imm;
            return op->aux;
        case IR_FOP: case IR_FMA: case IR_FCMP: case IR_FCVT_DI:
            *slot(cpu, op->d) = ir_fp_eval(op, val(cpu, op->a), val(cpu, op->b),
                                           op->c.kind ? val(cpu, op->c) : 0);
            break;
        default:
            *slot(cpu, op->d) = ir_eval(op, val(cpu, op->a), val(cpu, op->b));
            break;
        }
    }
    return CPU_EXIT_CHAIN;
}
