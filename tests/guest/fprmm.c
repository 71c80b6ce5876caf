/* fprmm.c - rounding to nearest with ties to max magnitude (RMM), static
 * (the instruction's rm field) and dynamic (frm = 4), next to the other
 * four modes: additions, products, quotients (ties exist only among
 * subnormals), square roots, fused multiply-adds and conversions, on
 * operands built to land exactly half-way, and on ordinary ones.  Every
 * result is printed with the exception flags it raised.  Last, rt_sigreturn
 * restoring frm into and out of RMM behind the translator's back (the
 * handler changes frm).  Compared with
 * qemu-riscv64 (not portable: inline assembly). */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static unsigned fflags(void)
{
    unsigned f;
    __asm__ volatile("csrrw %0, fflags, zero" : "=r"(f));
    return f;
}

static double d(uint64_t x) { double r; memcpy(&r, &x, 8); return r; }
static uint64_t db(double x) { uint64_t r; memcpy(&r, &x, 8); return r; }
static float s(uint32_t x) { float r; memcpy(&r, &x, 4); return r; }
static uint32_t sb(float x) { uint32_t r; memcpy(&r, &x, 4); return r; }

/* One function per instruction and static rounding mode, plus "dyn". */
#define RMS(X) X(rne) X(rtz) X(rdn) X(rup) X(rmm) X(dyn)
#define D2(name, insn) \
    static double name(double a, double b, int m) { double r; switch (m) { \
    case 0: __asm__ volatile(insn " %0, %1, %2, rne" : "=f"(r) : "f"(a), "f"(b)); break; \
    case 1: __asm__ volatile(insn " %0, %1, %2, rtz" : "=f"(r) : "f"(a), "f"(b)); break; \
    case 2: __asm__ volatile(insn " %0, %1, %2, rdn" : "=f"(r) : "f"(a), "f"(b)); break; \
    case 3: __asm__ volatile(insn " %0, %1, %2, rup" : "=f"(r) : "f"(a), "f"(b)); break; \
    case 4: __asm__ volatile(insn " %0, %1, %2, rmm" : "=f"(r) : "f"(a), "f"(b)); break; \
    default: __asm__ volatile(insn " %0, %1, %2, dyn" : "=f"(r) : "f"(a), "f"(b)); break; } return r; }
#define S2(name, insn) \
    static float name(float a, float b, int m) { float r; switch (m) { \
    case 0: __asm__ volatile(insn " %0, %1, %2, rne" : "=f"(r) : "f"(a), "f"(b)); break; \
    case 1: __asm__ volatile(insn " %0, %1, %2, rtz" : "=f"(r) : "f"(a), "f"(b)); break; \
    case 2: __asm__ volatile(insn " %0, %1, %2, rdn" : "=f"(r) : "f"(a), "f"(b)); break; \
    case 3: __asm__ volatile(insn " %0, %1, %2, rup" : "=f"(r) : "f"(a), "f"(b)); break; \
    case 4: __asm__ volatile(insn " %0, %1, %2, rmm" : "=f"(r) : "f"(a), "f"(b)); break; \
    default: __asm__ volatile(insn " %0, %1, %2, dyn" : "=f"(r) : "f"(a), "f"(b)); break; } return r; }
#define D3(name, insn) \
    static double name(double a, double b, double c, int m) { double r; switch (m) { \
    case 0: __asm__ volatile(insn " %0, %1, %2, %3, rne" : "=f"(r) : "f"(a), "f"(b), "f"(c)); break; \
    case 1: __asm__ volatile(insn " %0, %1, %2, %3, rtz" : "=f"(r) : "f"(a), "f"(b), "f"(c)); break; \
    case 2: __asm__ volatile(insn " %0, %1, %2, %3, rdn" : "=f"(r) : "f"(a), "f"(b), "f"(c)); break; \
    case 3: __asm__ volatile(insn " %0, %1, %2, %3, rup" : "=f"(r) : "f"(a), "f"(b), "f"(c)); break; \
    case 4: __asm__ volatile(insn " %0, %1, %2, %3, rmm" : "=f"(r) : "f"(a), "f"(b), "f"(c)); break; \
    default: __asm__ volatile(insn " %0, %1, %2, %3, dyn" : "=f"(r) : "f"(a), "f"(b), "f"(c)); break; } return r; }
#define S3(name, insn) \
    static float name(float a, float b, float c, int m) { float r; switch (m) { \
    case 0: __asm__ volatile(insn " %0, %1, %2, %3, rne" : "=f"(r) : "f"(a), "f"(b), "f"(c)); break; \
    case 1: __asm__ volatile(insn " %0, %1, %2, %3, rtz" : "=f"(r) : "f"(a), "f"(b), "f"(c)); break; \
    case 2: __asm__ volatile(insn " %0, %1, %2, %3, rdn" : "=f"(r) : "f"(a), "f"(b), "f"(c)); break; \
    case 3: __asm__ volatile(insn " %0, %1, %2, %3, rup" : "=f"(r) : "f"(a), "f"(b), "f"(c)); break; \
    case 4: __asm__ volatile(insn " %0, %1, %2, %3, rmm" : "=f"(r) : "f"(a), "f"(b), "f"(c)); break; \
    default: __asm__ volatile(insn " %0, %1, %2, %3, dyn" : "=f"(r) : "f"(a), "f"(b), "f"(c)); break; } return r; }
/* conversions: OUT = insn(IN) */
#define CV(name, insn, OUT, IN, oc, ic) \
    static OUT name(IN a, int m) { OUT r; switch (m) { \
    case 0: __asm__ volatile(insn " %0, %1, rne" : "=" oc(r) : ic(a)); break; \
    case 1: __asm__ volatile(insn " %0, %1, rtz" : "=" oc(r) : ic(a)); break; \
    case 2: __asm__ volatile(insn " %0, %1, rdn" : "=" oc(r) : ic(a)); break; \
    case 3: __asm__ volatile(insn " %0, %1, rup" : "=" oc(r) : ic(a)); break; \
    case 4: __asm__ volatile(insn " %0, %1, rmm" : "=" oc(r) : ic(a)); break; \
    default: __asm__ volatile(insn " %0, %1, dyn" : "=" oc(r) : ic(a)); break; } return r; }

D2(fadd_d, "fadd.d") D2(fsub_d, "fsub.d") D2(fmul_d, "fmul.d") D2(fdiv_d, "fdiv.d")
S2(fadd_s, "fadd.s") S2(fsub_s, "fsub.s") S2(fmul_s, "fmul.s") S2(fdiv_s, "fdiv.s")
D3(fmadd_d, "fmadd.d") D3(fmsub_d, "fmsub.d") D3(fnmadd_d, "fnmadd.d") D3(fnmsub_d, "fnmsub.d")
S3(fmadd_s, "fmadd.s") S3(fnmsub_s, "fnmsub.s")
CV(fsqrt_d, "fsqrt.d", double, double, "f", "f")
CV(fsqrt_s, "fsqrt.s", float, float, "f", "f")
CV(fcvt_s_d, "fcvt.s.d", float, double, "f", "f")
CV(fcvt_s_w, "fcvt.s.w", float, int64_t, "f", "r")
CV(fcvt_s_wu, "fcvt.s.wu", float, int64_t, "f", "r")
CV(fcvt_s_l, "fcvt.s.l", float, int64_t, "f", "r")
CV(fcvt_s_lu, "fcvt.s.lu", float, int64_t, "f", "r")
CV(fcvt_d_l, "fcvt.d.l", double, int64_t, "f", "r")
CV(fcvt_d_lu, "fcvt.d.lu", double, int64_t, "f", "r")
CV(fcvt_l_d, "fcvt.l.d", int64_t, double, "r", "f")
CV(fcvt_w_s, "fcvt.w.s", int64_t, float, "r", "f")

static uint64_t rnd = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
    rnd ^= rnd << 13;
    rnd ^= rnd >> 7;
    rnd ^= rnd << 17;
    return rnd;
}

static void set_frm(unsigned m)
{
    __asm__ volatile("fsrm %0" : : "r"(m));
}

/* m 0-4: static modes; 5: dynamic with frm = 4 (RMM) */
#define EACH_MODE(m) for (int m = 0; m < 6; m++)
#define DYN(m) set_frm(m == 5 ? 4 : 0)

static void pd(const char *what, int i, int m, double r)
{
    printf("%s %d %d %016llx %x\n", what, i, m, (unsigned long long)db(r), fflags());
}
static void ps(const char *what, int i, int m, float r)
{
    printf("%s %d %d %08x %x\n", what, i, m, sb(r), fflags());
}
static void pi(const char *what, int i, int m, int64_t r)
{
    printf("%s %d %d %llx %x\n", what, i, m, (unsigned long long)r, fflags());
}

static void handler(int sig)
{
    (void)sig;
    static unsigned next_frm;
    set_frm(next_frm);              /* the frame's frm comes back on return */
    next_frm = 4 - next_frm;
}

/* A tie in the dynamic mode, in a loop so that it is translated inline
 * before the signal and run again after it. */
static void after_signal(const char *what)
{
    for (int round = 0; round < 2; round++) {
        if (round == 1)
            raise(SIGUSR1);
        unsigned frm;
        __asm__ volatile("frrm %0" : "=r"(frm));
        pd(what, round, (int)frm, fadd_d(0x1p53, 1.0, 5));
        pd(what, round, (int)frm, fadd_d(-0x1p53, -1.0, 5));
    }
}

int main(void)
{
    fflags();
    for (int i = 0; i < 40; i++) {
        /* M: a 53-bit integer (odd), so M + 0.5 and 3M are ties */
        uint64_t M = (next() >> 11) | (UINT64_C(1) << 52) | 1;
        uint64_t M2 = ((next() >> 12) | (UINT64_C(1) << 51) | 1) + (UINT64_C(1) << 52) / 3;
        uint32_t N = (uint32_t)((next() >> 40) | (1u << 23) | 1);
        double half = (i & 1) ? 0.5 : 1.5, sg = (i & 2) ? -1.0 : 1.0;
        double dm = sg * (double)M, dm2 = sg * (double)M2;
        float fn = (float)sg * (float)N;
        double sub = d(next() & 0x000000000000ffffull);        /* subnormal, often odd */
        float fsub = s((uint32_t)next() & 0x0000ffffu);
        double any = d((next() & 0x3fffffffffffffffull) | 0x3000000000000000ull);
        double any2 = d((next() & 0x3fffffffffffffffull) | 0x3000000000000000ull);
        EACH_MODE(m) {
            DYN(m);
            pd("add", i, m, fadd_d(dm, half, m));
            pd("sub", i, m, fsub_d(dm, -half, m));
            pd("addh", i, m, fadd_d(1.0, sg * 0x1p-53, m));
            pd("mul", i, m, fmul_d(dm2, 3.0, m));
            pd("div", i, m, fdiv_d(sub, 2.0, m));
            pd("div4", i, m, fdiv_d(sub, -4.0, m));
            pd("divn", i, m, fdiv_d(any, any2, m));
            pd("mulsub", i, m, fmul_d(sub, 0.5, m));
            pd("sqrt", i, m, fsqrt_d(any, m));
            pd("fma", i, m, fmadd_d(dm2, 3.0, 0.0, m));
            pd("fmah", i, m, fmadd_d(dm, 1.0, half, m));
            pd("fms", i, m, fmsub_d(dm, 2.0, half, m));
            pd("fnma", i, m, fnmadd_d(dm, 1.0, half, m));
            pd("fnms", i, m, fnmsub_d(dm2, 3.0, sg, m));
            pd("fman", i, m, fmadd_d(any, any2, any, m));
            ps("cvtsd", i, m, fcvt_s_d(sg * ((double)N + 0.5), m));
            ps("cvtsdn", i, m, fcvt_s_d(any, m));
            ps("cvtsw", i, m, fcvt_s_w((int32_t)(sg * (double)((N << 1) | 1)), m));
            ps("cvtswu", i, m, fcvt_s_wu((int64_t)(int32_t)(((uint32_t)N << 8) | 0x80), m));
            ps("cvtsl", i, m, fcvt_s_l((int64_t)sg * (int64_t)(((uint64_t)N << 20) | (1u << 19)), m));
            ps("cvtslu", i, m, fcvt_s_lu((int64_t)(((uint64_t)N << 40) | (UINT64_C(1) << 39)), m));
            pd("cvtdl", i, m, fcvt_d_l((int64_t)sg * (int64_t)((M << 1) | 1) / 2 * 2 + (int64_t)sg, m));
            pd("cvtdlu", i, m, fcvt_d_lu((int64_t)((M << 11) | (UINT64_C(1) << 10)), m));
            pi("cvtld", i, m, fcvt_l_d(sg * (double)(N >> 1) + sg * 0.5, m));
            pi("cvtws", i, m, fcvt_w_s((float)sg * ((float)(N >> 2) + 0.5f), m));
            ps("adds", i, m, fadd_s(fn, (float)half, m));
            ps("subs", i, m, fsub_s(fn, (float)-half, m));
            ps("muls", i, m, fmul_s((float)sg * (float)((N >> 1) | 1), 3.0f, m));
            ps("divs", i, m, fdiv_s(fsub, 2.0f, m));
            ps("sqrts", i, m, fsqrt_s((float)any, m));
            ps("fmas", i, m, fmadd_s(fn, 1.0f, (float)half, m));
            ps("fnmss", i, m, fnmsub_s((float)sg * (float)((N >> 1) | 1), 3.0f, 0.0f, m));
        }
    }
    set_frm(0);
    /* edges: the largest finite value, zero, infinities, NaN operands */
    double edge[] = { 0x1.fffffffffffffp1023, -0x1.fffffffffffffp1023, 0.0, -0.0, 0x1p-1074,
                      1.0 / 0.0, -1.0 / 0.0, 0x1p1023, 0x1.0000000000001p-1022 };
    for (int i = 0; i < 9; i++)
        for (int j = 0; j < 9; j++)
            EACH_MODE(m) {
                DYN(m);
                pd("eadd", i * 9 + j, m, fadd_d(edge[i], edge[j], m));
                pd("emul", i * 9 + j, m, fmul_d(edge[i], edge[j], m));
                pd("ediv", i * 9 + j, m, fdiv_d(edge[i], edge[j], m));
                pd("efma", i * 9 + j, m, fmadd_d(edge[i], edge[j], edge[(i + j) % 9], m));
            }
    set_frm(0);
    signal(SIGUSR1, handler);
    set_frm(4);
    after_signal("sig-rmm");        /* the handler switches to RNE, return restores RMM */
    set_frm(0);
    after_signal("sig-rne");        /* the handler switches to RMM, return restores RNE */
    set_frm(0);
    return 0;
}
