/* riscv.h - the RISC-V (RV64GC) guest front end.
 *
 * rv_translate() decodes guest instructions starting at a pc into one IR
 * block.  Encodings are data (rv_insn_table in decode.c: mask, match,
 * extension, trans function); each instruction's semantics is one small
 * trans_*() function in trans.c that appends IR.  Compressed instructions
 * are expanded to their 32-bit equivalents first (rvc.c).  What IR cannot
 * express inline (FP, CSRs, atomics) is a helper in fpu.c / helpers.c,
 * called with the raw instruction word.
 */
#ifndef EMU_TR_RISCV_H
#define EMU_TR_RISCV_H

#include "common.h"
#include "cpu.h"
#include "ir.h"

/* Extensions (-cpu feature selection); cpu->features holds these bits. */
#define RV_EXT_M   (1u << 0)
#define RV_EXT_A   (1u << 1)
#define RV_EXT_F   (1u << 2)
#define RV_EXT_D   (1u << 3)
#define RV_EXT_C   (1u << 4)
#define RV_EXT_ZBA (1u << 5)
#define RV_EXT_ZBB (1u << 6)
#define RV_EXT_ZBS (1u << 7)
#define RV_EXT_I   (1u << 8)   /* always on */
#define RV_EXT_ALL 0x1ffu
/* Not a -cpu choice: system mode (the privileged architecture: M/S/U,
 * CSRs, paging).  Instructions that need it decode only in system mode;
 * others translate differently (CSRs, atomics, fences). */
#define RV_EXT_SYS (1u << 9)
/* Not an extension: set in cpu->features while frm holds an invalid
 * rounding mode or RMM (which SSE lacks), so that FP ops in the dynamic
 * mode are translated as helper calls (which raise SIGILL, or round
 * exactly) instead of inline SSE. */
#define RV_FRM_INVALID (1u << 16)

/* Reads guest code: returns the 16 bits at guest address pc, or -1 when
 * the address is not executable. */
typedef int (*rv_fetch_fn)(void *opaque, uint64_t pc);

struct rv_dc {
    struct ir_block *b;
    uint64_t pc;          /* of the current instruction */
    uint32_t insn;        /* 32-bit form (compressed ones expanded) */
    uint32_t raw;         /* as fetched */
    int len;              /* 2 or 4 */
    bool end;             /* the instruction ended the block */
    uint64_t features;
    int n_tmp;
    int side_exits;       /* conditional branches continued past */
    bool fs_checked;      /* system mode: FS was checked in this block */
    int max_insns;
};

typedef bool (*rv_trans_fn)(struct rv_dc *dc, uint32_t insn);

struct rv_insn_desc {
    uint32_t mask, match;
    uint32_t ext;
    const char *name;
    rv_trans_fn trans;
};

extern const struct rv_insn_desc rv_insn_table[];
extern const size_t rv_insn_count;

/* Find the table entry for a 32-bit instruction word (NULL: illegal). */
const struct rv_insn_desc *rv_decode(uint32_t insn, uint64_t features);
/* Expand a compressed instruction; 0 when it is illegal/reserved. */
uint32_t rv_expand_compressed(uint16_t c, uint64_t features);

/* Translate one block at pc.  Returns 0, or -EFAULT when the first
 * instruction cannot be fetched (the caller raises the guest fault). */
int rv_translate(struct ir_block *b, uint64_t pc, uint64_t features,
                 rv_fetch_fn fetch, void *opaque, int max_insns);

/* objdump-style disassembly of one instruction ("addi a0,a0,1" is shown
 * as objdump shows it: "add a0,a0,1"); -1 and "unknown" if illegal. */
int rv_disasm(char *buf, size_t len, uint64_t pc, uint32_t raw, int ilen, uint64_t features);
/* One line of -d in_asm: address, encoding, disassembly. */
void rv_describe(char *buf, size_t len, uint64_t pc, uint32_t raw, int ilen, uint64_t features);

/* trans.c */
#define RV_TRANS_DECL(name) bool trans_##name(struct rv_dc *dc, uint32_t insn)
#include "riscv/insns.h"

/* helpers (fpu.c, helpers.c): called from translated code. */
int rv_helper_fp(struct cpu *cpu, uint32_t insn);
int rv_helper_csr(struct cpu *cpu, uint32_t insn);
int rv_helper_amo(struct cpu *cpu, uint32_t insn);
/* The atomic operation of insn on host memory p (guest address addr, for
 * the LR/SC reservation); returns the value for rd. */
uint64_t rv_amo_host(struct cpu *cpu, uint32_t insn, void *p, uint64_t addr);
uint64_t rv_fn_mulhsu(uint64_t a, uint64_t b);
uint64_t rv_fn_clz(uint64_t a, uint64_t b);
uint64_t rv_fn_ctz(uint64_t a, uint64_t b);
uint64_t rv_fn_cpop(uint64_t a, uint64_t b);
uint64_t rv_fn_clzw(uint64_t a, uint64_t b);
uint64_t rv_fn_ctzw(uint64_t a, uint64_t b);
uint64_t rv_fn_cpopw(uint64_t a, uint64_t b);
uint64_t rv_fn_orcb(uint64_t a, uint64_t b);
uint64_t rv_fn_rev8(uint64_t a, uint64_t b);
uint64_t rv_fn_min(uint64_t a, uint64_t b);
uint64_t rv_fn_max(uint64_t a, uint64_t b);
uint64_t rv_fn_minu(uint64_t a, uint64_t b);
uint64_t rv_fn_maxu(uint64_t a, uint64_t b);

/* System-mode helpers (sys-*.c). */
int rv_sys_helper_csr(struct cpu *cpu, uint32_t insn);
int rv_sys_helper_amo(struct cpu *cpu, uint32_t insn);
int rv_sys_helper_priv(struct cpu *cpu, uint32_t insn);   /* mret, sret, wfi, sfence.vma */
int rv_sys_helper_fs(struct cpu *cpu, uint32_t insn);     /* FP use: FS off traps, else dirty */
int rv_sys_helper_fence(struct cpu *cpu, uint32_t insn);

/* Rounding-mode and flag state shared with the user-mode runtime. */
uint32_t rv_fflags_read(struct cpu *cpu);
void rv_fp_sync(struct cpu *cpu);
void rv_fp_load_mode(struct cpu *cpu);

#endif
