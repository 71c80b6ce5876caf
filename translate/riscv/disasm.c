/* disasm.c - RISC-V disassembly for -d in_asm, in objdump's syntax.
 *
 * The instruction is looked up in the same table the translator decodes
 * with (insns.h); its name gives the mnemonic ("_" becomes "."), its major
 * opcode the operand format.  Compressed instructions are shown as their
 * 32-bit expansion, and the usual aliases (li, mv, ret, beqz, csrr, fmv.d
 * ...) are used where objdump uses them.
 */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "riscv/riscv.h"

static const char *const rv_xname[32] = {
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
    "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
};
static const char *const rv_fname[32] = {
    "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2", "fa3",
    "fa4", "fa5", "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11",
    "ft8", "ft9", "ft10", "ft11",
};
static const char *const rv_rmname[8] = { "rne", "rtz", "rdn", "rup", "rmm", "", "", "dyn" };

struct dis {
    char *p;
    size_t left;
};

static void put(struct dis *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct dis *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(d->p, d->left, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= d->left)
        n = d->left ? (int)d->left - 1 : 0;
    d->p += n;
    d->left -= (size_t)n;
}

#define RD(i) (((i) >> 7) & 31)
#define RS1(i) (((i) >> 15) & 31)
#define RS2(i) (((i) >> 20) & 31)
#define RS3(i) ((i) >> 27)
#define F3(i) (((i) >> 12) & 7)
#define X(r) rv_xname[r]
#define F(r) rv_fname[r]

static int64_t imm_i(uint32_t i) { return (int32_t)i >> 20; }
static int64_t imm_s(uint32_t i) { return ((int32_t)i >> 25) * 32 + ((i >> 7) & 31); }
static int64_t imm_b(uint32_t i)
{
    return (int64_t)((int32_t)i >> 31) * 4096 + (int64_t)(((i >> 7) & 1) * 2048 + ((i >> 25) & 63) * 32 +
                                                          ((i >> 8) & 15) * 2);
}
static int64_t imm_j(uint32_t i)
{
    return (int64_t)((int32_t)i >> 31) * (1 << 20) + (int64_t)((i & 0xff000) + ((i >> 20) & 1) * 2048 +
                                                                ((i >> 21) & 1023) * 2);
}

static const char *csr_name(unsigned csr, char *tmp, size_t n)
{
    switch (csr) {
    case 0x001: return "fflags";
    case 0x002: return "frm";
    case 0x003: return "fcsr";
    case 0xc00: return "cycle";
    case 0xc01: return "time";
    case 0xc02: return "instret";
    default: snprintf(tmp, n, "0x%x", csr); return tmp;
    }
}

static void dis_csr(struct dis *d, const char *name, uint32_t i)
{
    static const char *const fpn[4] = { "", "flags", "rm", "csr" };
    unsigned csr = i >> 20;
    bool imm = F3(i) >= 5;
    int op = F3(i) & 3;                 /* 1 rw, 2 rs, 3 rc */
    char tmp[16];
    const char *cn = csr_name(csr, tmp, sizeof(tmp));
    if (!imm && csr >= 1 && csr <= 3) {
        if (op == 2 && RS1(i) == 0) {
            put(d, "fr%s\t%s", fpn[csr], X(RD(i)));
            return;
        }
        if (op == 1) {
            if (RD(i))
                put(d, "fs%s\t%s,%s", fpn[csr], X(RD(i)), X(RS1(i)));
            else
                put(d, "fs%s\t%s", fpn[csr], X(RS1(i)));
            return;
        }
    }
    if (!imm && op == 2 && RS1(i) == 0 && csr >= 0xc00 && csr <= 0xc02) {
        put(d, "rd%s\t%s", cn, X(RD(i)));
        return;
    }
    if (!imm && op == 2 && RS1(i) == 0) {
        put(d, "csrr\t%s,%s", X(RD(i)), cn);
        return;
    }
    if (RD(i) == 0) {
        static const char *const w[4] = { "", "csrw", "csrs", "csrc" };
        if (imm)
            put(d, "%si\t%s,%u", w[op], cn, RS1(i));
        else
            put(d, "%s\t%s,%s", w[op], cn, X(RS1(i)));
        return;
    }
    if (imm)
        put(d, "%s\t%s,%s,%u", name, X(RD(i)), cn, RS1(i));
    else
        put(d, "%s\t%s,%s,%s", name, X(RD(i)), cn, X(RS1(i)));
}

static void dis_fence(struct dis *d, uint32_t i)
{
    unsigned pred = (i >> 24) & 15, succ = (i >> 20) & 15;
    if (pred == 15 && succ == 15) {
        put(d, "fence");
        return;
    }
    char a[2][5];
    unsigned v[2] = { pred, succ };
    for (int k = 0; k < 2; k++) {
        char *q = a[k];
        if (v[k] & 8) *q++ = 'i';
        if (v[k] & 4) *q++ = 'o';
        if (v[k] & 2) *q++ = 'r';
        if (v[k] & 1) *q++ = 'w';
        *q = 0;
    }
    if ((i >> 28) == 8)
        put(d, "fence.tso");
    else
        put(d, "fence\t%s,%s", a[0], a[1]);
}

static void dis_amo(struct dis *d, uint32_t i)
{
    static const char *const ops[32] = {
        [0x00] = "amoadd", [0x01] = "amoswap", [0x02] = "lr", [0x03] = "sc", [0x04] = "amoxor",
        [0x08] = "amoor", [0x0c] = "amoand", [0x10] = "amomin", [0x14] = "amomax",
        [0x18] = "amominu", [0x1c] = "amomaxu",
    };
    const char *op = ops[i >> 27];
    const char *sfx = (i >> 25 & 3) == 3 ? ".aqrl" : (i >> 26 & 1) ? ".aq" : (i >> 25 & 1) ? ".rl" : "";
    char w = F3(i) == 2 ? 'w' : 'd';
    if (!op) {
        put(d, "unknown");
    } else if ((i >> 27) == 2) {
        put(d, "lr.%c%s\t%s,(%s)", w, sfx, X(RD(i)), X(RS1(i)));
    } else {
        put(d, "%s.%c%s\t%s,%s,(%s)", op, w, sfx, X(RD(i)), X(RS2(i)), X(RS1(i)));
    }
}

static void rm_suffix(struct dis *d, uint32_t i)
{
    if (F3(i) != 7)
        put(d, ",%s", rv_rmname[F3(i)]);
}

static void dis_fp(struct dis *d, uint32_t i)
{
    char t = (i >> 25 & 3) == 0 ? 's' : 'd';
    unsigned f7 = i >> 27;                      /* funct5 */
    static const char *const ar[4] = { "fadd", "fsub", "fmul", "fdiv" };
    switch (f7) {
    case 0: case 1: case 2: case 3:
        put(d, "%s.%c\t%s,%s,%s", ar[f7], t, F(RD(i)), F(RS1(i)), F(RS2(i)));
        rm_suffix(d, i);
        return;
    case 11:
        put(d, "fsqrt.%c\t%s,%s", t, F(RD(i)), F(RS1(i)));
        rm_suffix(d, i);
        return;
    case 4: {
        static const char *const sg[3] = { "fsgnj", "fsgnjn", "fsgnjx" };
        static const char *const al[3] = { "fmv", "fneg", "fabs" };
        if (F3(i) > 2)
            break;
        if (RS1(i) == RS2(i))
            put(d, "%s.%c\t%s,%s", al[F3(i)], t, F(RD(i)), F(RS1(i)));
        else
            put(d, "%s.%c\t%s,%s,%s", sg[F3(i)], t, F(RD(i)), F(RS1(i)), F(RS2(i)));
        return;
    }
    case 5:
        if (F3(i) > 1)
            break;
        put(d, "%s.%c\t%s,%s,%s", F3(i) ? "fmax" : "fmin", t, F(RD(i)), F(RS1(i)), F(RS2(i)));
        return;
    case 20: {
        static const char *const c[3] = { "fle", "flt", "feq" };
        if (F3(i) > 2)
            break;
        put(d, "%s.%c\t%s,%s,%s", c[F3(i)], t, X(RD(i)), F(RS1(i)), F(RS2(i)));
        return;
    }
    case 8:
        put(d, "fcvt.%c.%c\t%s,%s", t, RS2(i) == 1 ? 'd' : 's', F(RD(i)), F(RS1(i)));
        if (t == 's' || F3(i) != 0)     /* widening is exact: rne is not shown */
            rm_suffix(d, i);
        return;
    case 24: case 26: {
        static const char *const it[4] = { "w", "wu", "l", "lu" };
        if (RS2(i) > 3)
            break;
        if (f7 == 24)
            put(d, "fcvt.%s.%c\t%s,%s", it[RS2(i)], t, X(RD(i)), F(RS1(i)));
        else
            put(d, "fcvt.%c.%s\t%s,%s", t, it[RS2(i)], F(RD(i)), X(RS1(i)));
        if (!(f7 == 26 && t == 'd' && RS2(i) < 2 && F3(i) == 0))   /* exact: rne not shown */
            rm_suffix(d, i);
        return;
    }
    case 28:
        if (F3(i) == 1) {
            put(d, "fclass.%c\t%s,%s", t, X(RD(i)), F(RS1(i)));
            return;
        }
        break;
    }
    put(d, "unknown");
}

static void dis_fma(struct dis *d, uint32_t i)
{
    static const char *const n[4] = { "fmadd", "fmsub", "fnmsub", "fnmadd" };
    put(d, "%s.%c\t%s,%s,%s,%s", n[(i >> 2) & 3], (i >> 25 & 3) ? 'd' : 's',
        F(RD(i)), F(RS1(i)), F(RS2(i)), F(RS3(i)));
    rm_suffix(d, i);
}

/* Immediate-form ALU ops that objdump names after the register form. */
static const char *imm_alias(const char *name)
{
    static const char *const map[][2] = {
        { "addi", "add" }, { "andi", "and" }, { "ori", "or" }, { "xori", "xor" },
        { "slli", "sll" }, { "srli", "srl" }, { "srai", "sra" }, { "addiw", "addw" },
        { "slliw", "sllw" }, { "srliw", "srlw" }, { "sraiw", "sraw" }, { "rori", "ror" },
        { "roriw", "rorw" }, { "bclri", "bclr" }, { "bseti", "bset" }, { "binvi", "binv" },
        { "bexti", "bext" },
    };
    for (size_t k = 0; k < ARRAY_SIZE(map); k++)
        if (!strcmp(name, map[k][0]))
            return map[k][1];
    return name;
}

static void dis_insn(struct dis *d, uint64_t pc, uint32_t i, const char *name, bool rvc)
{
    unsigned rd = RD(i), rs1 = RS1(i), rs2 = RS2(i);
    switch (i & 0x7f) {
    case 0x37: case 0x17:
        put(d, "%s\t%s,0x%x", name, X(rd), i >> 12);
        return;
    case 0x6f: {
        uint64_t t = pc + (uint64_t)imm_j(i);
        if (rd == 0)
            put(d, "j\t%" PRIx64, t);
        else if (rd == 1)
            put(d, "jal\t%" PRIx64, t);
        else
            put(d, "jal\t%s,%" PRIx64, X(rd), t);
        return;
    }
    case 0x67:
        if (rd == 0 && rs1 == 1 && imm_i(i) == 0)
            put(d, "ret");
        else if (rd == 0 && imm_i(i) == 0)
            put(d, "jr\t%s", X(rs1));
        else if (rd == 1 && imm_i(i) == 0)
            put(d, "jalr\t%s", X(rs1));
        else if (rd == 0)
            put(d, "jr\t%" PRId64 "(%s)", imm_i(i), X(rs1));
        else if (rd == 1)
            put(d, "jalr\t%" PRId64 "(%s)", imm_i(i), X(rs1));
        else
            put(d, "jalr\t%s,%" PRId64 "(%s)", X(rd), imm_i(i), X(rs1));
        return;
    case 0x63: {
        uint64_t t = pc + (uint64_t)imm_b(i);
        if (rs2 == 0 && (F3(i) == 0 || F3(i) == 1 || F3(i) == 4 || F3(i) == 5)) {
            static const char *const z[8] = { "beqz", "bnez", "", "", "bltz", "bgez" };
            put(d, "%s\t%s,%" PRIx64, z[F3(i)], X(rs1), t);
        } else if (rs1 == 0 && (F3(i) == 4 || F3(i) == 5)) {
            put(d, "%s\t%s,%" PRIx64, F3(i) == 4 ? "bgtz" : "blez", X(rs2), t);
        } else {
            put(d, "%s\t%s,%s,%" PRIx64, name, X(rs1), X(rs2), t);
        }
        return;
    }
    case 0x03:
        put(d, "%s\t%s,%" PRId64 "(%s)", name, X(rd), imm_i(i), X(rs1));
        return;
    case 0x07:
        put(d, "%s\t%s,%" PRId64 "(%s)", name, F(rd), imm_i(i), X(rs1));
        return;
    case 0x23:
        put(d, "%s\t%s,%" PRId64 "(%s)", name, X(rs2), imm_s(i), X(rs1));
        return;
    case 0x27:
        put(d, "%s\t%s,%" PRId64 "(%s)", name, F(rs2), imm_s(i), X(rs1));
        return;
    case 0x0f:
        if (F3(i) == 1)
            put(d, "fence.i");
        else
            dis_fence(d, i);
        return;
    case 0x73:
        if (F3(i) == 0)
            put(d, "%s", name);
        else
            dis_csr(d, name, i);
        return;
    case 0x2f:
        dis_amo(d, i);
        return;
    case 0x53:
        if (!strncmp(name, "fmv.", 4))
            put(d, "%s\t%s,%s", name, name[4] == 'x' ? X(rd) : F(rd), name[4] == 'x' ? F(rs1) : X(rs1));
        else
            dis_fp(d, i);
        return;
    case 0x43: case 0x47: case 0x4b: case 0x4f:
        dis_fma(d, i);
        return;
    case 0x13: case 0x1b: {
        int64_t imm = imm_i(i);
        bool w = (i & 0x7f) == 0x1b;
        if (!strcmp(name, "addi")) {
            if (rd == 0 && rs1 == 0 && imm == 0)
                put(d, "nop");
            else if (rs1 == 0)
                put(d, "li\t%s,%" PRId64, X(rd), imm);
            else if (imm == 0)
                put(d, "mv\t%s,%s", X(rd), X(rs1));
            else
                put(d, "add\t%s,%s,%" PRId64, X(rd), X(rs1), imm);
            return;
        }
        if (!strcmp(name, "addiw") && imm == 0) {
            put(d, "sext.w\t%s,%s", X(rd), X(rs1));
            return;
        }
        if (!strcmp(name, "xori") && imm == -1) {
            put(d, "not\t%s,%s", X(rd), X(rs1));
            return;
        }
        if (!strcmp(name, "andi") && imm == 255) {
            put(d, "zext.b\t%s,%s", X(rd), X(rs1));
            return;
        }
        if (!strcmp(name, "sltiu") && imm == 1) {
            put(d, "seqz\t%s,%s", X(rd), X(rs1));
            return;
        }
        if (!strcmp(name, "orc.b") || !strcmp(name, "rev8") || !strcmp(name, "clz") ||
            !strcmp(name, "ctz") || !strcmp(name, "cpop") || !strcmp(name, "clzw") ||
            !strcmp(name, "ctzw") || !strcmp(name, "cpopw") || !strcmp(name, "sext.b") ||
            !strcmp(name, "sext.h")) {
            put(d, "%s\t%s,%s", name, X(rd), X(rs1));
            return;
        }
        if (F3(i) == 1 || F3(i) == 5) {                  /* shifts: hex amount */
            put(d, "%s\t%s,%s,0x%x", imm_alias(name), X(rd), X(rs1), (i >> 20) & (w && strcmp(name, "slli.uw") ? 31 : 63));
            return;
        }
        put(d, "%s\t%s,%s,%" PRId64, imm_alias(name), X(rd), X(rs1), imm);
        return;
    }
    case 0x33: case 0x3b:
        if (rvc && !strcmp(name, "add") && rs1 == 0) {
            put(d, "mv\t%s,%s", X(rd), X(rs2));    /* c.mv */
            return;
        }
        if (!strcmp(name, "sub") && rs1 == 0) {
            put(d, "neg\t%s,%s", X(rd), X(rs2));
            return;
        }
        if (!strcmp(name, "subw") && rs1 == 0) {
            put(d, "negw\t%s,%s", X(rd), X(rs2));
            return;
        }
        if (!strcmp(name, "sltu") && rs1 == 0) {
            put(d, "snez\t%s,%s", X(rd), X(rs2));
            return;
        }
        if (!strcmp(name, "slt") && rs2 == 0) {
            put(d, "sltz\t%s,%s", X(rd), X(rs1));
            return;
        }
        if (!strcmp(name, "slt") && rs1 == 0) {
            put(d, "sgtz\t%s,%s", X(rd), X(rs2));
            return;
        }
        if (!strcmp(name, "add.uw") && rs2 == 0) {
            put(d, "zext.w\t%s,%s", X(rd), X(rs1));
            return;
        }
        if (!strcmp(name, "zext.h")) {
            put(d, "%s\t%s,%s", name, X(rd), X(rs1));
            return;
        }
        put(d, "%s\t%s,%s,%s", name, X(rd), X(rs1), X(rs2));
        return;
    }
    put(d, "%s", name);
}

int rv_disasm(char *buf, size_t len, uint64_t pc, uint32_t raw, int ilen, uint64_t features)
{
    struct dis d = { buf, len };
    if (len)
        buf[0] = 0;
    uint32_t insn = raw;
    if (ilen == 2) {
        if (raw == 0x0001) {
            put(&d, "nop");
            return 0;
        }
        insn = rv_expand_compressed((uint16_t)raw, features);
    }
    const struct rv_insn_desc *desc = insn ? rv_decode(insn, features) : NULL;
    if (!desc) {
        put(&d, "unknown");
        return -1;
    }
    char name[16];
    snprintf(name, sizeof(name), "%s", desc->name);
    for (char *q = name; *q; q++)
        if (*q == '_')
            *q = '.';
    dis_insn(&d, pc, insn, name, ilen == 2);
    return 0;
}
