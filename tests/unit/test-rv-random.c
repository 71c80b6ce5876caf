/* test-rv-random.c - random-instruction tests of the translator.
 *
 * Each round writes a block of random RV64 instructions (ALU, M, W, Zba/
 * Zbb/Zbs, loads and stores into a scratch area, forward branches, FP
 * moves/loads/stores, compressed forms) followed by ebreak into a private
 * guest memory, gives the registers random values, and runs it three
 * ways: on the reference interpreter, on translated code (with chaining),
 * and in the lock-step compare mode.  All three must end with the same
 * registers and memory.  A few directed checks pin down spec values that
 * both engines share through ir_eval (division by zero, ctzw of 0...).
 */
#include <config.h>

#include <errno.h>
#include <unistd.h>
#include <string.h>
#include <sys/mman.h>

#include "unit.h"
#include "log.h"
#include "exec.h"
#include "riscv/riscv.h"

#define MEM_SIZE (1u << 20)
#define CODE 0x1000u
#define DATA 0x40000u
#define DATA_SIZE 0x1000u

static uint8_t *mem;
static uint64_t code_end;

static int fetch(void *opaque, uint64_t pc)
{
    if (pc < CODE || pc + 2 > code_end)
        return -1;
    uint16_t h;
    memcpy(&h, mem + pc, 2);
    return h;
}

static uint64_t rs = 88172645463325252u;
static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

static uint32_t r_type(uint32_t f7, uint32_t f3, uint32_t opc, int rd, int a, int b)
{
    return (f7 << 25) | ((uint32_t)b << 20) | ((uint32_t)a << 15) | (f3 << 12) | ((uint32_t)rd << 7) | opc;
}
static uint32_t i_type(int32_t imm, uint32_t f3, uint32_t opc, int rd, int a)
{
    return ((uint32_t)imm << 20) | ((uint32_t)a << 15) | (f3 << 12) | ((uint32_t)rd << 7) | opc;
}
static uint32_t s_type(int32_t imm, uint32_t f3, int base, int src)
{
    uint32_t u = (uint32_t)imm;
    return ((u >> 5) << 25) | ((uint32_t)src << 20) | ((uint32_t)base << 15) | (f3 << 12) |
           ((u & 31) << 7) | 0x23;
}

static const uint32_t r_ops[][3] = {   /* f7, f3, opcode */
    { 0, 0, 0x33 }, { 0x20, 0, 0x33 }, { 0, 1, 0x33 }, { 0, 2, 0x33 }, { 0, 3, 0x33 },
    { 0, 4, 0x33 }, { 0, 5, 0x33 }, { 0x20, 5, 0x33 }, { 0, 6, 0x33 }, { 0, 7, 0x33 },
    { 1, 0, 0x33 }, { 1, 1, 0x33 }, { 1, 2, 0x33 }, { 1, 3, 0x33 }, { 1, 4, 0x33 },
    { 1, 5, 0x33 }, { 1, 6, 0x33 }, { 1, 7, 0x33 },
    { 0, 0, 0x3b }, { 0x20, 0, 0x3b }, { 0, 1, 0x3b }, { 0, 5, 0x3b }, { 0x20, 5, 0x3b },
    { 1, 0, 0x3b }, { 1, 4, 0x3b }, { 1, 5, 0x3b }, { 1, 6, 0x3b }, { 1, 7, 0x3b },
    { 0x10, 2, 0x33 }, { 0x10, 4, 0x33 }, { 0x10, 6, 0x33 }, { 0x04, 0, 0x3b },
    { 0x10, 2, 0x3b }, { 0x20, 7, 0x33 }, { 0x20, 6, 0x33 }, { 0x20, 4, 0x33 },
    { 0x05, 6, 0x33 }, { 0x05, 7, 0x33 }, { 0x05, 4, 0x33 }, { 0x05, 5, 0x33 },
    { 0x30, 1, 0x33 }, { 0x30, 5, 0x33 }, { 0x30, 1, 0x3b }, { 0x30, 5, 0x3b },
    { 0x24, 1, 0x33 }, { 0x24, 5, 0x33 }, { 0x34, 1, 0x33 }, { 0x14, 1, 0x33 },
};
static const uint32_t unary_ops[] = {   /* full encodings without rd/rs1 */
    0x60001013, 0x60101013, 0x60201013, 0x6000101b, 0x6010101b, 0x6020101b,
    0x60401013, 0x60501013, 0x0800403b, 0x28705013, 0x6b805013,
};

static int reg_limit = 29;

static int reg(void)
{
    /* x31 holds the data base, x30 the loop counter */
    return 1 + (int)(rnd() % (uint64_t)reg_limit);
}

static int src_reg(void)
{
    return (int)(rnd() % (uint64_t)(reg_limit + 1));
}

/* One random instruction at *p; returns its length. */
static int gen_insn(uint8_t *p, int remaining)
{
    uint32_t w;
    int k = (int)(rnd() % 17);
    switch (k) {
    case 0: case 1: case 2: {
        const uint32_t *o = r_ops[rnd() % ARRAY_SIZE(r_ops)];
        w = r_type(o[0], o[1], o[2], reg(), src_reg(), src_reg());
        break;
    }
    case 3: {
        static const uint32_t f3s[] = { 0, 2, 3, 4, 6, 7 };
        w = i_type((int32_t)(rnd() % 4096) - 2048, f3s[rnd() % 6], 0x13, reg(), src_reg());
        break;
    }
    case 4: {
        static const uint32_t sh[] = { 0x1013, 0x5013, 0x40005013, 0x101b, 0x501b, 0x4000501b };
        int which = (int)(rnd() % 6);
        uint32_t amt = (uint32_t)(rnd() % (which >= 3 ? 32 : 64));
        w = sh[which] | (amt << 20) | ((uint32_t)(rnd() % 31) << 15) | ((uint32_t)reg() << 7);
        break;
    }
    case 5:
        w = unary_ops[rnd() % ARRAY_SIZE(unary_ops)] | ((uint32_t)(rnd() % 31) << 15) | ((uint32_t)reg() << 7);
        break;
    case 6: {   /* load from the data area */
        uint32_t f3 = (uint32_t)(rnd() % 7);
        int size = 1 << (f3 & 3);
        int32_t off = (int32_t)((rnd() % (DATA_SIZE / 8)) * 8) & ~(size - 1);
        w = i_type(off - 2048 < 2047 ? off % 2047 : 0, f3, 0x03, reg(), 31);
        break;
    }
    case 7: {
        uint32_t f3 = (uint32_t)(rnd() % 4);
        w = s_type((int32_t)(rnd() % 2040), f3, 31, (int)(rnd() % 32));
        break;
    }
    case 8:
        w = ((uint32_t)(rnd() & 0xfffff) << 12) | ((uint32_t)reg() << 7) | ((rnd() & 1) ? 0x37 : 0x17);
        break;
    case 9: {   /* forward branch over 1..3 instructions (4-byte ones follow) */
        if (remaining < 24) {
            w = 0x13;
            break;
        }
        int32_t off = 4 * (int32_t)(1 + rnd() % 3) + 4;
        uint32_t f3s[] = { 0, 1, 4, 5, 6, 7 };
        uint32_t u = (uint32_t)off;
        w = (((u >> 12) & 1) << 31) | (((u >> 5) & 63) << 25) | ((uint32_t)(rnd() % 31) << 20) |
            ((uint32_t)(rnd() % 31) << 15) | (f3s[rnd() % 6] << 12) | (((u >> 1) & 15) << 8) |
            (((u >> 11) & 1) << 7) | 0x63;
        memcpy(p, &w, 4);
        for (int i = 1; i < off / 4; i++) {
            uint32_t f = i_type((int32_t)(rnd() % 100), 0, 0x13, reg(), src_reg());
            memcpy(p + 4 * i, &f, 4);
        }
        return off;
    }
    case 10: {  /* FP load/store/move: inline IR */
        int f = (int)(rnd() % 32);
        switch (rnd() % 4) {
        case 0: w = i_type((int32_t)(rnd() % 255) * 8, 3, 0x07, f, 31); break;
        case 1: w = s_type((int32_t)(rnd() % 255) * 8, 3, 31, f) ^ 0x23 ^ 0x27; break;
        case 2: w = 0xf2000053 | ((uint32_t)(rnd() % 31) << 15) | ((uint32_t)f << 7); break;
        default: w = 0xe2000053 | ((uint32_t)f << 15) | ((uint32_t)reg() << 7); break;
        }
        break;
    }
    case 11: {  /* compressed ALU: c.addi, c.li, c.slli, c.mv, c.add, c.and/or/xor/sub */
        uint16_t c;
        int rd = reg();
        switch (rnd() % 5) {
        case 0: c = (uint16_t)(0x0001 | (rd << 7) | ((rnd() & 31) << 2) | ((rnd() & 1) << 12)); break;
        case 1: c = (uint16_t)(0x4001 | (rd << 7) | ((rnd() & 31) << 2)); break;
        case 2: c = (uint16_t)(0x0002 | (rd << 7) | ((1 + rnd() % 31) << 2)); break;
        case 3: c = (uint16_t)(0x8002 | (rd << 7) | ((1 + rnd() % 30) << 2)); break;
        default: c = (uint16_t)(0x8c01 | ((rnd() & 7) << 7) | ((rnd() & 7) << 2) | ((rnd() & 3) << 5)); break;
        }
        memcpy(p, &c, 2);
        return 2;
    }
    case 12: case 13: case 14: {   /* double-precision arithmetic, dynamic rounding */
        static const uint32_t fops[] = {
            0x02007053, 0x0a007053, 0x12007053, 0x1a007053, /* fadd.d fsub.d fmul.d fdiv.d (rm=dyn) */
            0x5a007053,                                     /* fsqrt.d */
            0x22000053, 0x22001053, 0x22002053,             /* fsgnj.d fsgnjn.d fsgnjx.d */
            0xa2002053, 0xa2001053, 0xa2000053,             /* feq.d flt.d fle.d */
            0xd2007053, 0xd2207053,                         /* fcvt.d.w fcvt.d.l */
            0x00007053, 0x08007053, 0x10007053, 0x18007053, /* fadd.s fsub.s fmul.s fdiv.s */
            0x58007053,                                     /* fsqrt.s */
            0xa0002053, 0xa0001053, 0xa0000053,             /* feq.s flt.s fle.s */
            0xd0007053, 0xd0207053,                         /* fcvt.s.w fcvt.s.l */
        };
        uint32_t o = fops[rnd() % ARRAY_SIZE(fops)];
        int rd = (o & 0xf0000000u) == 0xa0000000u ? reg() : (int)(rnd() % 32);
        int rs1 = (o & 0xf0000000u) == 0xd0000000u ? src_reg() : (int)(rnd() % 32);
        uint32_t rs2 = (o == 0x5a007053 || o == 0x58007053 || (o & 0xf0000000u) == 0xd0000000u)
                       ? (o & (31u << 20)) : (uint32_t)(rnd() % 32) << 20;
        w = o | rs2 | ((uint32_t)rs1 << 15) | ((uint32_t)rd << 7);
        if (rnd() % 4 == 0) {   /* fused multiply-add family */
            w = (uint32_t)(0x43 | ((rnd() & 3) << 2)) | (7u << 12) | ((uint32_t)(rnd() & 1) << 25) |
                ((uint32_t)(rnd() % 32) << 7) | ((uint32_t)(rnd() % 32) << 15) |
                ((uint32_t)(rnd() % 32) << 20) | ((uint32_t)(rnd() % 32) << 27);
        }
        break;
    }
    default:    /* addi/addiw with a small immediate */
        w = i_type((int32_t)(rnd() % 64) - 32, 0, (rnd() & 1) ? 0x13 : 0x1b, reg(), src_reg());
        break;
    }
    memcpy(p, &w, 4);
    return 4;
}

static void init_cpu(struct cpu *c, uint64_t seed)
{
    memset(c, 0, sizeof(*c));
    uint64_t save = rs;
    rs = seed;
    for (int i = 1; i < 31; i++) {
        uint64_t v = rnd();
        c->x[i] = (i & 3) == 0 ? (v & 0xff) : (i & 3) == 1 ? (uint64_t)(int64_t)(int32_t)v : v;
    }
    static const uint64_t fspecial[] = {
        0, UINT64_C(0x8000000000000000), UINT64_C(0x3ff0000000000000), UINT64_C(0xbff0000000000000),
        UINT64_C(0x7ff0000000000000), UINT64_C(0xfff0000000000000), UINT64_C(0x7ff8000000000000),
        UINT64_C(0x7ff4000000000000), UINT64_C(0xfff8000000000123), UINT64_C(0x0000000000000001),
        UINT64_C(0x000fffffffffffff), UINT64_C(0x7fefffffffffffff), UINT64_C(0x3fb999999999999a),
        UINT64_C(0x4008000000000000), UINT64_C(0x0010000000000000), UINT64_C(0x43e0000000000000),
        /* NaN-boxed singles: 1.0f, qNaN, sNaN, denormal, inf, -0, 3.0f; and an unboxed 1.0f */
        UINT64_C(0xffffffff3f800000), UINT64_C(0xffffffff7fc00000), UINT64_C(0xffffffff7fa00000),
        UINT64_C(0xffffffff00000001), UINT64_C(0xffffffff7f800000), UINT64_C(0xffffffff80000000),
        UINT64_C(0xffffffff40400000), UINT64_C(0x000000003f800000),
    };
    for (int i = 0; i < 32; i++) {
        uint64_t v = rnd();
        c->f[i] = (v & 3) == 0 ? v : fspecial[(v >> 2) % ARRAY_SIZE(fspecial)];
    }
    rs = save;
    c->x[31] = DATA;
    c->pc = CODE;
    c->guest_base = (uint64_t)(uintptr_t)mem;
    c->features = RV_EXT_ALL;
    c->res_addr = ~UINT64_C(0);
}

static int run(enum tr_mode mode, struct cpu *c)
{
    struct cpu scratch;
    memset(&scratch, 0, offsetof(struct cpu, jc));
    rv_fp_sync(&scratch);       /* start with clear host flags */
    rv_fp_load_mode(c);
    struct tr *tr = NULL;
    struct error *err = NULL;
    if (tr_new(&tr, &rv_frontend, &x86_backend, mode, RV_EXT_ALL, fetch, NULL, &err) < 0) {
        fprintf(stderr, "tr_new: %s\n", err_msg(err));
        err_free(err);
        return -1;
    }
    int r = tr_run(tr, c);
    rv_fp_sync(c);
    if (r == -EIO)
        fprintf(stderr, "compare: %s\n", tr->mismatch);
    tr_free(tr);
    return r;
}

static struct cpu c_int, c_jit, c_cmp;
static uint8_t data0[DATA_SIZE], data_int[DATA_SIZE], data_jit[DATA_SIZE];

static void round_(int n)
{
    uint64_t p = CODE;
    int count = 5 + (int)(rnd() % 60);
    bool loop = n % 3 == 0;
    /* some rounds use few registers, so that whole loops fit in host ones */
    reg_limit = (n % 2) ? 29 : 6;
    if (loop) {
        count = 3 + (int)(rnd() % 12);
        uint32_t li = i_type(1 + (int)(rnd() % 5), 0, 0x13, 30, 0);     /* li x30, k */
        memcpy(mem + p, &li, 4);
        p += 4;
    }
    uint64_t body = p;
    for (int i = 0; i < count; i++)
        p += (uint64_t)gen_insn(mem + p, (int)(count - i) * 4);
    if (loop && reg_limit > 10) {
        /* values carried from one iteration to the next in many registers:
         * more than the translator keeps in host registers across a back edge */
        for (int r = 1; r <= 14; r++) {
            uint32_t w = r_type(0, 0, 0x33, r, r, r + 1);             /* add xr, xr, xr+1 */
            memcpy(mem + p, &w, 4);
            p += 4;
        }
    }
    if (loop) {
        uint32_t dec = i_type(-1, 0, 0x13, 30, 30);                      /* addi x30, x30, -1 */
        memcpy(mem + p, &dec, 4);
        p += 4;
        int32_t off = (int32_t)(body - p);
        uint32_t u = (uint32_t)off;
        uint32_t bne = (((u >> 12) & 1) << 31) | (((u >> 5) & 63) << 25) | (0u << 20) |
                       (30u << 15) | (1u << 12) | (((u >> 1) & 15) << 8) | (((u >> 11) & 1) << 7) | 0x63;
        memcpy(mem + p, &bne, 4);
        p += 4;
    }
    uint32_t ebreak = 0x00100073;
    memcpy(mem + p, &ebreak, 4);
    code_end = p + 4;
    for (size_t i = 0; i < DATA_SIZE; i++)
        data0[i] = (uint8_t)rnd();
    uint64_t seed = rnd();

    memcpy(mem + DATA, data0, DATA_SIZE);
    init_cpu(&c_int, seed);
    int r1 = run(TR_MODE_INTERP, &c_int);
    memcpy(data_int, mem + DATA, DATA_SIZE);

    memcpy(mem + DATA, data0, DATA_SIZE);
    init_cpu(&c_jit, seed);
    if (getenv("RT_DEBUG") && atoi(getenv("RT_DEBUG")) == n)
        log_enable("in_asm,op,out_asm", NULL);
    int r2 = run(TR_MODE_JIT, &c_jit);
    memcpy(data_jit, mem + DATA, DATA_SIZE);

    memcpy(mem + DATA, data0, DATA_SIZE);
    init_cpu(&c_cmp, seed);
    int r3 = run(TR_MODE_COMPARE, &c_cmp);

    CHECK(r1 == CPU_EXIT_EBREAK);
    CHECK(r2 == CPU_EXIT_EBREAK);
    CHECK(r3 == CPU_EXIT_EBREAK);
    bool same = memcmp(c_int.x, c_jit.x, sizeof(c_int.x)) == 0 &&
                memcmp(c_int.f, c_jit.f, sizeof(c_int.f)) == 0 && c_int.pc == c_jit.pc &&
                c_int.fflags == c_jit.fflags && c_cmp.fflags == c_jit.fflags &&
                memcmp(data_int, data_jit, DATA_SIZE) == 0;
    CHECK(same);
    if (!same) {
        fprintf(stderr, "round %d differs:\n", n);
        for (int i = 0; i < 32; i++)
            if (c_int.x[i] != c_jit.x[i])
                fprintf(stderr, "  x%d interp %016" PRIx64 " jit %016" PRIx64 "\n", i, c_int.x[i], c_jit.x[i]);
        for (int i = 0; i < 32; i++)
            if (c_int.f[i] != c_jit.f[i])
                fprintf(stderr, "  f%d interp %016" PRIx64 " jit %016" PRIx64 "\n", i, c_int.f[i], c_jit.f[i]);
        fprintf(stderr, "  fflags interp %x jit %x compare %x\n", c_int.fflags, c_jit.fflags, c_cmp.fflags);
        for (uint64_t a = CODE; a < code_end; a += 2)
            fprintf(stderr, "%04x%s", *(uint16_t *)(void *)(mem + a), (a - CODE) % 32 == 30 ? "\n" : " ");
        fprintf(stderr, "\n");
    }
}

/* Directed: a few instructions with values fixed by the ISA manual. */
static void directed(void)
{
    static const struct { uint32_t insn; uint64_t a, b, want; } t[] = {
        { 0x02c5c533, 5, 0, ~UINT64_C(0) },                                  /* div a0,a1,a2 */
        { 0x02c5e533, 5, 0, 5 },                                             /* rem */
        { 0x02c5c533, UINT64_C(0x8000000000000000), ~UINT64_C(0), UINT64_C(0x8000000000000000) },
        { 0x02c5e533, UINT64_C(0x8000000000000000), ~UINT64_C(0), 0 },
        { 0x02c5c53b, 0x80000000, ~UINT64_C(0), UINT64_C(0xffffffff80000000) }, /* divw */
        { 0x02c5d53b, 7, 0, ~UINT64_C(0) },                                  /* divuw by 0 */
        { 0x02c5f53b, UINT64_C(0x1ffffffff), 0, ~UINT64_C(0) },              /* remuw by 0: sext */
        { 0x6015951b, UINT64_C(0x8000000000000000), 0, 32 },                 /* ctzw */
        { 0x6005951b, 0, 0, 32 },                                            /* clzw */
        { 0x00c5853b, 0x7fffffff, 1, UINT64_C(0xffffffff80000000) },         /* addw */
    };
    for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
        for (int mode = 0; mode < 2; mode++) {
            memcpy(mem + CODE, &t[i].insn, 4);
            uint32_t ebreak = 0x00100073;
            memcpy(mem + CODE + 4, &ebreak, 4);
            code_end = CODE + 8;
            struct cpu *c = &c_jit;
            init_cpu(c, 1);
            c->x[11] = t[i].a;
            c->x[12] = t[i].b;
            int r = run(mode ? TR_MODE_JIT : TR_MODE_INTERP, c);
            CHECK(r == CPU_EXIT_EBREAK);
            CHECK_U64(c->x[10], t[i].want);
        }
    }
}

int main(void)
{
    alarm(600);     /* a miscompiled loop must fail the test, not hang it */
    mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(mem != MAP_FAILED);
    if (mem == MAP_FAILED)
        return unit_result();
    directed();
    if (getenv("RT_SEED"))
        rs = strtoull(getenv("RT_SEED"), NULL, 0) | 1;
    int rounds = getenv("RT_ROUNDS") ? atoi(getenv("RT_ROUNDS")) : 1000;
    for (int n = 0; n < rounds; n++)
        round_(n);
    munmap(mem, MEM_SIZE);
    return unit_result();
}
