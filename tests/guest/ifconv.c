/* ifconv.c - a conditional branch over a single instruction, which the
 * translator turns into a select (if-conversion): every branch kind,
 * taken and not, over instructions of each form (compressed or not,
 * immediate, register, W, M, reading or writing the branch's own
 * operands).  Prints what each computed; RISC-V only. */
#include <stdint.h>
#include <stdio.h>

/* One case: x = v; if (!(a COND b)) x = INSN; the branch skips INSN. */
#define CASE(name, br, insn)                                                  \
    static uint64_t name(uint64_t a, uint64_t b, uint64_t v)                  \
    {                                                                         \
        uint64_t x = v;                                                       \
        __asm__ volatile(br " %1, %2, 1f\n\t" insn "\n1:"                    \
                         : "+&r"(x), "+&r"(a) : "r"(b));                      \
        return x ^ (a << 1);                                                  \
    }

/* .option norvc around a case forces the 4-byte form of the skipped one */
CASE(beq_add, "beq", ".option push\n.option norvc\nadd %0, %0, %2\n.option pop")
CASE(bne_addi, "bne", ".option push\n.option norvc\naddi %0, %0, -5\n.option pop")
CASE(blt_cadd, "blt", "c.add %0, %2")
CASE(bge_lui, "bge", "lui %0, 0x12345")
CASE(bltu_sltu, "bltu", "sltu %0, %1, %2")
CASE(bgeu_mulw, "bgeu", "mulw %0, %0, %2")
CASE(beq_own, "beq", "addi %1, %1, 7")          /* writes the branch's operand */
CASE(bne_cli, "bne", "c.li %0, 9")
CASE(blt_slli, "blt", ".option push\n.option norvc\nslli %0, %0, 3\n.option pop")
CASE(bgeu_xor, "bgeu", "xor %0, %0, %1")
CASE(bltu_divu, "bltu", "divu %0, %0, %2")
CASE(bge_addiw, "bge", "addiw %0, %0, 100")
CASE(beq_auipc, "beq", "auipc %0, 0")

/* a carry loop, as the kernel's multi-word subtraction */
static uint64_t carry_loop(uint64_t seed)
{
    uint64_t acc = 0, cy = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = seed * 0x9e3779b97f4a7c15ULL + (uint64_t)i;
        uint64_t y = acc - x;
        __asm__ volatile("bgeu %1, %2, 1f\n\taddi %0, %0, 1\n1:" : "+r"(cy) : "r"(acc), "r"(x));
        acc = y ^ cy;
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    }
    return acc + cy;
}

int main(void)
{
    static const uint64_t vals[] = { 0, 1, 2, 0x7fffffffffffffffULL, 0x8000000000000000ULL,
                                     0xffffffffffffffffULL, 42, 0xfffffffe, 0x100000000ULL };
    uint64_t (*const fns[])(uint64_t, uint64_t, uint64_t) = {
        beq_add, bne_addi, blt_cadd, bge_lui, bltu_sltu, bgeu_mulw, beq_own,
        bne_cli, blt_slli, bgeu_xor, bltu_divu, bge_addiw, beq_auipc,
    };
    const int n = sizeof(vals) / sizeof(vals[0]);
    for (unsigned f = 0; f < sizeof(fns) / sizeof(fns[0]); f++) {
        uint64_t h = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                uint64_t r = fns[f](vals[i], vals[j], vals[(i + j) % n] + 3);
                if (f == 12)    /* auipc: the address, not the same on every run */
                    r = r == vals[(i + j) % n] + 3 ? 1 : 2;
                h = h * 1099511628211ULL ^ r;
            }
        printf("case %u: %016llx\n", f, (unsigned long long)h);
    }
    printf("carry loop: %016llx\n", (unsigned long long)carry_loop(12345));
    return 0;
}
