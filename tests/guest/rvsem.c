/* rvsem.c - RISC-V semantics that are easy to get wrong, through inline
 * assembly: division by zero and overflow, 32-bit ops sign-extending,
 * fcvt saturation and flags, fmin/fmax with signalling NaNs, NaN-boxing,
 * the canonical NaN, fflags accrual, static and dynamic rounding modes
 * (including RMM conversions), LR/SC and AMOs, Zba/Zbb/Zbs.
 * Compared with qemu-riscv64 (not portable). */
#include <stdint.h>
#include <stdio.h>

#define R(insn, a, b) ({ uint64_t r_; __asm__ volatile(insn " %0, %1, %2" : "=r"(r_) : "r"(a), "r"(b)); r_; })
#define R1(insn, a) ({ uint64_t r_; __asm__ volatile(insn " %0, %1" : "=r"(r_) : "r"(a)); r_; })

static uint64_t vals[] = { 0, 1, 5, (uint64_t)-1, (uint64_t)-7, 0x7fffffff, 0x80000000,
                           0xffffffff80000000ull, 0x8000000000000000ull, 0x7fffffffffffffffull,
                           0x123456789abcdef0ull, 0xfffffffffffffff9ull, 32, 63, 64 };
#define NV (sizeof(vals) / sizeof(vals[0]))

static unsigned fflags(void)
{
    unsigned f;
    __asm__ volatile("csrrw %0, fflags, zero" : "=r"(f));
    return f;
}

static uint64_t fmv_x_d(double d) { uint64_t r; __asm__ volatile("fmv.x.d %0, %1" : "=r"(r) : "f"(d)); return r; }
static double fmv_d_x(uint64_t x) { double r; __asm__ volatile("fmv.d.x %0, %1" : "=f"(r) : "r"(x)); return r; }

int main(void)
{
    for (size_t i = 0; i < NV; i++)
        for (size_t j = 0; j < NV; j++) {
            uint64_t a = vals[i], b = vals[j];
            printf("%zu,%zu div %llx %llx %llx %llx\n", i, j,
                   (unsigned long long)R("div", a, b), (unsigned long long)R("divu", a, b),
                   (unsigned long long)R("rem", a, b), (unsigned long long)R("remu", a, b));
            printf("%zu,%zu divw %llx %llx %llx %llx\n", i, j,
                   (unsigned long long)R("divw", a, b), (unsigned long long)R("divuw", a, b),
                   (unsigned long long)R("remw", a, b), (unsigned long long)R("remuw", a, b));
            printf("%zu,%zu w %llx %llx %llx %llx %llx %llx\n", i, j,
                   (unsigned long long)R("addw", a, b), (unsigned long long)R("subw", a, b),
                   (unsigned long long)R("sllw", a, b), (unsigned long long)R("srlw", a, b),
                   (unsigned long long)R("sraw", a, b), (unsigned long long)R("mulw", a, b));
            printf("%zu,%zu mul %llx %llx %llx %llx\n", i, j,
                   (unsigned long long)R("mul", a, b), (unsigned long long)R("mulh", a, b),
                   (unsigned long long)R("mulhu", a, b), (unsigned long long)R("mulhsu", a, b));
            printf("%zu,%zu zb %llx %llx %llx %llx %llx %llx %llx %llx %llx %llx %llx %llx\n", i, j,
                   (unsigned long long)R("sh1add", a, b), (unsigned long long)R("sh3add.uw", a, b),
                   (unsigned long long)R("add.uw", a, b), (unsigned long long)R("andn", a, b),
                   (unsigned long long)R("rol", a, b), (unsigned long long)R("rorw", a, b),
                   (unsigned long long)R("max", a, b), (unsigned long long)R("minu", a, b),
                   (unsigned long long)R("bset", a, b), (unsigned long long)R("bclr", a, b),
                   (unsigned long long)R("bext", a, b), (unsigned long long)R("binv", a, b));
        }
    for (size_t i = 0; i < NV; i++) {
        uint64_t a = vals[i];
        printf("%zu un %llx %llx %llx %llx %llx %llx %llx %llx %llx %llx %llx\n", i,
               (unsigned long long)R1("clz", a), (unsigned long long)R1("ctz", a),
               (unsigned long long)R1("cpop", a), (unsigned long long)R1("clzw", a),
               /* ctzw of a zero low word: qemu-riscv64 7.2 answers 63
                * (fixed in later QEMU); the ISA says 32 - tested in
                * test-rv-insn instead */
               (uint32_t)a ? (unsigned long long)R1("ctzw", a) : 32ull,
               (unsigned long long)R1("cpopw", a),
               (unsigned long long)R1("sext.b", a), (unsigned long long)R1("sext.h", a),
               (unsigned long long)R1("zext.h", a), (unsigned long long)R1("orc.b", a),
               (unsigned long long)R1("rev8", a));
        uint64_t r;
        __asm__ volatile("addiw %0, %1, -1" : "=r"(r) : "r"(a));
        printf("%zu addiw %llx\n", i, (unsigned long long)r);
        __asm__ volatile("sraiw %0, %1, 3" : "=r"(r) : "r"(a));
        printf("%zu sraiw %llx\n", i, (unsigned long long)r);
        __asm__ volatile("slli.uw %0, %1, 5" : "=r"(r) : "r"(a));
        printf("%zu slli.uw %llx\n", i, (unsigned long long)r);
        __asm__ volatile("rori %0, %1, 13" : "=r"(r) : "r"(a));
        printf("%zu rori %llx\n", i, (unsigned long long)r);
    }

    /* FP: conversions with saturation, in every static rounding mode */
    static const double cv[] = { 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2147483647.5, -2147483648.5,
                                 4294967295.5, -1.0, 1e20, -1e20, 9.2233720368547758e18,
                                 1.8446744073709552e19, __builtin_inf(), -__builtin_inf(),
                                 __builtin_nan(""), -0.0, 1e-300 };
    fflags();
    for (size_t i = 0; i < sizeof(cv) / sizeof(cv[0]); i++) {
        double d = cv[i];
        uint64_t w[5], wu[5], l[5], lu[5];
        unsigned f[5];
#define CVT(rm, k) \
        __asm__ volatile("fcvt.w.d %0, %1, " rm : "=r"(w[k]) : "f"(d)); \
        __asm__ volatile("fcvt.wu.d %0, %1, " rm : "=r"(wu[k]) : "f"(d)); \
        __asm__ volatile("fcvt.l.d %0, %1, " rm : "=r"(l[k]) : "f"(d)); \
        __asm__ volatile("fcvt.lu.d %0, %1, " rm : "=r"(lu[k]) : "f"(d)); \
        f[k] = fflags();
        CVT("rne", 0) CVT("rtz", 1) CVT("rdn", 2) CVT("rup", 3) CVT("rmm", 4)
        for (int k = 0; k < 5; k++)
            printf("cvt %zu rm%d %llx %llx %llx %llx f%x\n", i, k, (unsigned long long)w[k],
                   (unsigned long long)wu[k], (unsigned long long)l[k], (unsigned long long)lu[k], f[k]);
        float s;
        __asm__ volatile("fcvt.s.d %0, %1" : "=f"(s) : "f"(d));
        uint64_t sb;
        __asm__ volatile("fmv.x.w %0, %1" : "=r"(sb) : "f"(s));
        printf("cvt.s.d %zu %llx f%x\n", i, (unsigned long long)sb, fflags());
        uint64_t cls;
        __asm__ volatile("fclass.d %0, %1" : "=r"(cls) : "f"(d));
        printf("fclass %zu %llx\n", i, (unsigned long long)cls);
    }

    /* NaN-boxing and canonical NaN */
    double unboxed = fmv_d_x(0x000000003f800000ull);   /* 1.0f, not boxed */
    float sum;
    __asm__ volatile("fadd.s %0, %1, %1" : "=f"(sum) : "f"(unboxed));
    printf("unboxed add: %llx f%x\n", (unsigned long long)fmv_x_d((double)0) + 0, fflags());
    uint64_t raw;
    __asm__ volatile("fmv.x.d %0, %1" : "=r"(raw) : "f"(sum));
    printf("unboxed add raw: %llx\n", (unsigned long long)raw);
    double boxed = fmv_d_x(0xffffffff3f800000ull);
    __asm__ volatile("fadd.s %0, %1, %1" : "=f"(sum) : "f"(boxed));
    __asm__ volatile("fmv.x.d %0, %1" : "=r"(raw) : "f"(sum));
    printf("boxed add raw: %llx\n", (unsigned long long)raw);
    double snan = fmv_d_x(0x7ff4000000000000ull), qnan = fmv_d_x(0xfff8000000000123ull);
    double one = 1.0, r;
    __asm__ volatile("fadd.d %0, %1, %2" : "=f"(r) : "f"(snan), "f"(one));
    printf("snan+1 %llx f%x\n", (unsigned long long)fmv_x_d(r), fflags());
    __asm__ volatile("fmul.d %0, %1, %2" : "=f"(r) : "f"(qnan), "f"(one));
    printf("qnan*1 %llx f%x\n", (unsigned long long)fmv_x_d(r), fflags());
    __asm__ volatile("fmin.d %0, %1, %2" : "=f"(r) : "f"(snan), "f"(one));
    printf("fmin(snan,1) %llx f%x\n", (unsigned long long)fmv_x_d(r), fflags());
    __asm__ volatile("fmax.d %0, %1, %2" : "=f"(r) : "f"(qnan), "f"(snan));
    printf("fmax(qnan,snan) %llx f%x\n", (unsigned long long)fmv_x_d(r), fflags());
    double mz = -0.0, pz = 0.0;
    __asm__ volatile("fmin.d %0, %1, %2" : "=f"(r) : "f"(pz), "f"(mz));
    printf("fmin(+0,-0) %llx\n", (unsigned long long)fmv_x_d(r));
    __asm__ volatile("fmax.d %0, %1, %2" : "=f"(r) : "f"(mz), "f"(pz));
    printf("fmax(-0,+0) %llx\n", (unsigned long long)fmv_x_d(r));
    uint64_t eq, lt;
    __asm__ volatile("feq.d %0, %1, %2" : "=r"(eq) : "f"(qnan), "f"(one));
    printf("feq qnan %llu f%x\n", (unsigned long long)eq, fflags());
    __asm__ volatile("flt.d %0, %1, %2" : "=r"(lt) : "f"(qnan), "f"(one));
    printf("flt qnan %llu f%x\n", (unsigned long long)lt, fflags());
    __asm__ volatile("feq.d %0, %1, %2" : "=r"(eq) : "f"(snan), "f"(one));
    printf("feq snan %llu f%x\n", (unsigned long long)eq, fflags());
    double zero = 0.0, inf = __builtin_inf();
    __asm__ volatile("fdiv.d %0, %1, %2" : "=f"(r) : "f"(one), "f"(zero));
    printf("1/0 %llx f%x\n", (unsigned long long)fmv_x_d(r), fflags());
    __asm__ volatile("fmul.d %0, %1, %2" : "=f"(r) : "f"(inf), "f"(zero));
    printf("inf*0 %llx f%x\n", (unsigned long long)fmv_x_d(r), fflags());
    __asm__ volatile("fmadd.d %0, %1, %2, %3" : "=f"(r) : "f"(inf), "f"(zero), "f"(qnan));
    printf("fma(inf,0,qnan) %llx f%x\n", (unsigned long long)fmv_x_d(r), fflags());
    __asm__ volatile("fsqrt.d %0, %1" : "=f"(r) : "f"(mz));
    printf("sqrt(-0) %llx f%x\n", (unsigned long long)fmv_x_d(r), fflags());

    /* dynamic rounding mode through frm, and static overriding it */
    double third = 1.0 / 3.0, three = 3.0;
    for (unsigned m = 0; m < 4; m++) {
        unsigned old;
        __asm__ volatile("csrrw %0, frm, %1" : "=r"(old) : "r"(m));
        __asm__ volatile("fmul.d %0, %1, %2" : "=f"(r) : "f"(third), "f"(three));
        double r2;
        __asm__ volatile("fmul.d %0, %1, %2, rne" : "=f"(r2) : "f"(third), "f"(three));
        unsigned fcsr;
        __asm__ volatile("frcsr %0" : "=r"(fcsr));
        printf("frm %u: %llx %llx fcsr %x\n", m, (unsigned long long)fmv_x_d(r),
               (unsigned long long)fmv_x_d(r2), fcsr);
        fflags();
    }
    __asm__ volatile("fsrm zero");

    /* atomics */
    static uint64_t m64 = 10;
    static uint32_t m32 = 0xfffffff0u;
    uint64_t o;
    __asm__ volatile("amoadd.d %0, %2, (%1)" : "=r"(o) : "r"(&m64), "r"(5ull) : "memory");
    printf("amoadd.d %llu %llu\n", (unsigned long long)o, (unsigned long long)m64);
    __asm__ volatile("amoswap.w %0, %2, (%1)" : "=r"(o) : "r"(&m32), "r"(7ull) : "memory");
    printf("amoswap.w %llx %x\n", (unsigned long long)o, m32);
    __asm__ volatile("amomin.w %0, %2, (%1)" : "=r"(o) : "r"(&m32), "r"((uint64_t)-3) : "memory");
    printf("amomin.w %llx %x\n", (unsigned long long)o, m32);
    __asm__ volatile("amomaxu.d %0, %2, (%1)" : "=r"(o) : "r"(&m64), "r"(3ull) : "memory");
    printf("amomaxu.d %llx %llx\n", (unsigned long long)o, (unsigned long long)m64);
    uint64_t sc, lr;
    __asm__ volatile("lr.d %0, (%2)\n sc.d %1, %3, (%2)" : "=&r"(lr), "=&r"(sc) : "r"(&m64), "r"(99ull) : "memory");
    printf("lr/sc %llu %llu %llu\n", (unsigned long long)lr, (unsigned long long)sc, (unsigned long long)m64);
    __asm__ volatile("sc.d %0, %2, (%1)" : "=r"(sc) : "r"(&m64), "r"(5ull) : "memory");
    printf("sc without lr %llu %llu\n", (unsigned long long)sc, (unsigned long long)m64);
    return 0;
}
