/* smc.c - code that changes code: a store into a page of translated code
 * must be seen by the next fence.i, also when the changed instruction sits
 * in a block that another block of the same page jumps straight into
 * (translated blocks of a page are chained to each other). */
#include "runtime.h"
#include "check.h"

static u32 code[64] __attribute__((aligned(4096)));

#define NOP      0x00000013u     /* addi x0, x0, 0 */
#define LI_A0_0  0x00000513u     /* addi a0, zero, 0 */
#define J_B      0x01c0006fu     /* jal x0, +28: from word 1 to word 8 */
#define ADD1     0x00150513u     /* addi a0, a0, 1 */
#define ADD2     0x00250513u     /* addi a0, a0, 2 */
#define RET      0x00008067u     /* jalr x0, 0(ra) */

static u64 run(void)
{
    u64 (*fn)(void) = (u64 (*)(void))(void *)code;
    return fn();
}

int main(void)
{
    for (int i = 0; i < 64; i++)
        code[i] = NOP;
    code[0] = LI_A0_0;
    code[1] = J_B;
    code[8] = ADD1;
    code[9] = RET;
    __asm__ volatile("fence.i" ::: "memory");
    u64 a = 0;
    for (int i = 0; i < 100; i++)       /* long enough to chain A to B */
        a += run();
    code[8] = ADD2;                     /* B changes, A does not */
    __asm__ volatile("fence.i" ::: "memory");
    u64 b = run();
    /* data next to the code, in the same page: the code stays right */
    code[40] = 0x12345678u;
    __asm__ volatile("fence.i" ::: "memory");
    u64 c = run();
    printf("before %lu after %lu after a data store %lu\n", a, b, c);
    CHECK(a == 100, "the first version ran");
    CHECK(b == 2, "the changed block ran");
    CHECK(c == 2, "a data store in the page changed nothing");
    return failures();
}
