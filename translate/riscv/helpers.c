/* helpers.c - RISC-V instructions done in C: CSRs, atomics, bit ops.
 *
 * Atomics operate on guest memory with host atomic instructions, so they
 * are atomic with respect to other guest threads.  LR/SC is emulated with
 * compare-and-swap against the value LR saw.
 */
#include <config.h>

#include <signal.h>
#include <time.h>

#include "riscv/riscv.h"
#include "exec.h"
#include "log.h"

static uint64_t csr_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int rv_helper_csr(struct cpu *cpu, uint32_t insn)
{
    int rd = (insn >> 7) & 31, rs1 = (insn >> 15) & 31, f3 = (insn >> 12) & 7;
    uint32_t csr = insn >> 20;
    uint64_t src = (f3 & 4) ? (uint64_t)rs1 : cpu->x[rs1];
    bool writes = (f3 & 3) == 1 || rs1 != 0;
    uint64_t old;
    bool fp = csr >= 1 && csr <= 3;

    if (fp && !(cpu->features & RV_EXT_F))
        return CPU_EXIT_ILLEGAL;
    if (fp)
        rv_fp_sync(cpu);
    switch (csr) {
    case 0x001: old = cpu->fflags; break;
    case 0x002: old = cpu->frm; break;
    case 0x003: old = (cpu->frm << 5) | cpu->fflags; break;
    case 0xc00: case 0xc02: old = csr_now_ns(); break;   /* cycle, instret */
    case 0xc01: old = csr_now_ns() / 100; break;         /* time: 10 MHz */
    default:
        if (log_on(LOG_UNIMP))
            log_msg(LOG_UNIMP, "CSR 0x%03x at pc 0x%" PRIx64, csr, cpu->pc);
        return CPU_EXIT_ILLEGAL;
    }
    if (writes) {
        uint64_t nv;
        switch (f3 & 3) {
        case 1: nv = src; break;
        case 2: nv = old | src; break;
        default: nv = old & ~src; break;
        }
        switch (csr) {
        case 0x001: cpu->fflags = (uint32_t)nv & 0x1f; break;
        case 0x002: cpu->frm = (uint32_t)nv & 7; break;
        case 0x003: cpu->fflags = (uint32_t)nv & 0x1f; cpu->frm = (uint32_t)(nv >> 5) & 7; break;
        default: return CPU_EXIT_ILLEGAL;                  /* read-only counters */
        }
        bool was_special = cpu->features & RV_FRM_INVALID;
        rv_fp_load_mode(cpu);       /* updates RV_FRM_INVALID */
        if (was_special != ((cpu->features & RV_FRM_INVALID) != 0)) {
            /* inline FP code assumes a mode the host has (not RMM, not
             * invalid): retranslate everything, starting after this
             * instruction (the rest of this block assumed the old mode) */
            if (rd)
                cpu->x[rd] = old;
            cpu->pc += 4;
            return CPU_EXIT_FLUSH;
        }
    }
    if (rd)
        cpu->x[rd] = old;
    return 0;
}

static int amo_fault(struct cpu *cpu, uint64_t addr, int sig)
{
    cpu->fault_addr = addr;
    cpu->fault_sig = sig;
    cpu->fault_code = sig == SIGBUS ? BUS_ADRALN : SEGV_MAPERR;
    return CPU_EXIT_FAULT;
}

int rv_helper_amo(struct cpu *cpu, uint32_t insn)
{
    int rd = (insn >> 7) & 31, rs1 = (insn >> 15) & 31;
    bool dw = ((insn >> 12) & 7) == 3;
    uint64_t addr = cpu->x[rs1];

    if (addr & (dw ? 7 : 3))
        return amo_fault(cpu, addr, SIGBUS);
    void *p = (void *)(uintptr_t)(cpu->guest_base + addr);
    tr_helper_enter(cpu);
    uint64_t old = rv_amo_host(cpu, insn, p, addr);
    tr_helper_leave(cpu);
    if (rd)
        cpu->x[rd] = old;
    return 0;
}

uint64_t rv_amo_host(struct cpu *cpu, uint32_t insn, void *p, uint64_t addr)
{
    int rs2 = (insn >> 20) & 31;
    bool dw = ((insn >> 12) & 7) == 3;
    uint32_t f5 = insn >> 27;
    uint64_t v = cpu->x[rs2];
    uint64_t old;

    if (dw) {
        uint64_t *m = p;
        switch (f5) {
        case 0x02: old = __atomic_load_n(m, __ATOMIC_SEQ_CST);
            cpu->res_addr = addr; cpu->res_val = old; break;
        case 0x03: {
            uint64_t expect = cpu->res_val;
            bool ok = cpu->res_addr == addr &&
                      __atomic_compare_exchange_n(m, &expect, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
            cpu->res_addr = ~UINT64_C(0);
            old = !ok;
            break;
        }
        case 0x01: old = __atomic_exchange_n(m, v, __ATOMIC_SEQ_CST); break;
        case 0x00: old = __atomic_fetch_add(m, v, __ATOMIC_SEQ_CST); break;
        case 0x04: old = __atomic_fetch_xor(m, v, __ATOMIC_SEQ_CST); break;
        case 0x0c: old = __atomic_fetch_and(m, v, __ATOMIC_SEQ_CST); break;
        case 0x08: old = __atomic_fetch_or(m, v, __ATOMIC_SEQ_CST); break;
        default: {
            old = __atomic_load_n(m, __ATOMIC_SEQ_CST);
            for (;;) {
                uint64_t nv;
                switch (f5) {
                case 0x10: nv = (int64_t)old < (int64_t)v ? old : v; break;
                case 0x14: nv = (int64_t)old > (int64_t)v ? old : v; break;
                case 0x18: nv = old < v ? old : v; break;
                default: nv = old > v ? old : v; break;
                }
                if (__atomic_compare_exchange_n(m, &old, nv, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
                    break;
            }
        }
        }
    } else {
        uint32_t *m = p, w = (uint32_t)v, o;
        switch (f5) {
        case 0x02: o = __atomic_load_n(m, __ATOMIC_SEQ_CST);
            cpu->res_addr = addr; cpu->res_val = o; break;
        case 0x03: {
            uint32_t expect = (uint32_t)cpu->res_val;
            bool ok = cpu->res_addr == addr &&
                      __atomic_compare_exchange_n(m, &expect, w, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
            cpu->res_addr = ~UINT64_C(0);
            o = !ok;
            break;
        }
        case 0x01: o = __atomic_exchange_n(m, w, __ATOMIC_SEQ_CST); break;
        case 0x00: o = __atomic_fetch_add(m, w, __ATOMIC_SEQ_CST); break;
        case 0x04: o = __atomic_fetch_xor(m, w, __ATOMIC_SEQ_CST); break;
        case 0x0c: o = __atomic_fetch_and(m, w, __ATOMIC_SEQ_CST); break;
        case 0x08: o = __atomic_fetch_or(m, w, __ATOMIC_SEQ_CST); break;
        default: {
            o = __atomic_load_n(m, __ATOMIC_SEQ_CST);
            for (;;) {
                uint32_t nv;
                switch (f5) {
                case 0x10: nv = (int32_t)o < (int32_t)w ? o : w; break;
                case 0x14: nv = (int32_t)o > (int32_t)w ? o : w; break;
                case 0x18: nv = o < w ? o : w; break;
                default: nv = o > w ? o : w; break;
                }
                if (__atomic_compare_exchange_n(m, &o, nv, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
                    break;
            }
        }
        }
        old = (uint64_t)(int64_t)(int32_t)o;
    }
    return old;
}

uint64_t rv_fn_mulhsu(uint64_t a, uint64_t b)
{
    return (uint64_t)(((__int128)(int64_t)a * (unsigned __int128)b) >> 64);
}
uint64_t rv_fn_clz(uint64_t a, uint64_t b) { return a ? (uint64_t)__builtin_clzll(a) : 64; }
uint64_t rv_fn_ctz(uint64_t a, uint64_t b) { return a ? (uint64_t)__builtin_ctzll(a) : 64; }
uint64_t rv_fn_cpop(uint64_t a, uint64_t b) { return (uint64_t)__builtin_popcountll(a); }
uint64_t rv_fn_clzw(uint64_t a, uint64_t b) { return (uint32_t)a ? (uint64_t)__builtin_clz((uint32_t)a) : 32; }
uint64_t rv_fn_ctzw(uint64_t a, uint64_t b) { return (uint32_t)a ? (uint64_t)__builtin_ctz((uint32_t)a) : 32; }
uint64_t rv_fn_cpopw(uint64_t a, uint64_t b) { return (uint64_t)__builtin_popcount((uint32_t)a); }
uint64_t rv_fn_orcb(uint64_t a, uint64_t b)
{
    uint64_t r = 0;
    for (int i = 0; i < 64; i += 8)
        if ((a >> i) & 0xff)
            r |= UINT64_C(0xff) << i;
    return r;
}
uint64_t rv_fn_rev8(uint64_t a, uint64_t b) { return __builtin_bswap64(a); }
uint64_t rv_fn_min(uint64_t a, uint64_t b) { return (int64_t)a < (int64_t)b ? a : b; }
uint64_t rv_fn_max(uint64_t a, uint64_t b) { return (int64_t)a > (int64_t)b ? a : b; }
uint64_t rv_fn_minu(uint64_t a, uint64_t b) { return a < b ? a : b; }
uint64_t rv_fn_maxu(uint64_t a, uint64_t b) { return a > b ? a : b; }
