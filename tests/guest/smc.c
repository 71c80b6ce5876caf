/* smc.c - self-modifying code: write instructions into a buffer, fence.i,
 * run them; rewrite the same addresses, fence.i, run again; also without
 * fence.i, and with data sharing a page with code.  RISC-V only. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

typedef long (*fn_t)(long);

/* addi a0, a0, imm ; ret */
static void gen_addi(uint32_t *p, int imm)
{
    p[0] = ((uint32_t)(imm & 0xfff) << 20) | (10 << 15) | (0 << 12) | (10 << 7) | 0x13;
    p[1] = 0x00008067;
}

int main(void)
{
    uint32_t *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED) { printf("mmap failed\n"); return 1; }
    fn_t f = (fn_t)(uintptr_t)code;
    long total = 0;
    for (int i = 0; i < 50; i++) {
        gen_addi(code, i * 3 - 20);
        __asm__ volatile("fence.i" ::: "memory");
        long r = f(1000);
        total += r;
        if (i < 5 || i == 49)
            printf("round %d: %ld\n", i, r);
    }
    printf("total %ld\n", total);
    /* a loop calling code that is rewritten between calls, same address */
    for (int i = 0; i < 1000; i++) {
        gen_addi(code + 16, i & 1 ? 1 : -1);
        __asm__ volatile("fence.i" ::: "memory");
        total = ((fn_t)(uintptr_t)(code + 16))(total);
    }
    printf("after toggling %ld\n", total);
    /* without fence.i: not promised by the ISA, but Linux emulators (and
     * qemu-riscv64) notice stores into code they translated */
    for (int i = 0; i < 20; i++) {
        gen_addi(code + 32, i);
        total += ((fn_t)(uintptr_t)(code + 32))(total & 0xffff);
    }
    printf("without fence.i %ld\n", total);
    /* code and data in one page: a counter next to the code it runs */
    volatile long *counter = (volatile long *)(code + 48);
    for (int i = 0; i < 100; i++) {
        *counter += i;
        total += ((fn_t)(uintptr_t)(code + 32))(1);
    }
    printf("data next to code %ld %ld\n", *counter, total);
    /* mprotect to read-only+exec and unmap/remap with new code */
    mprotect(code, 4096, PROT_READ | PROT_EXEC);
    printf("still runs: %ld\n", f(5));
    munmap(code, 4096);
    uint32_t *c2 = mmap(code, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    gen_addi(c2, 77);
    __asm__ volatile("fence.i" ::: "memory");
    printf("remapped: %ld\n", ((fn_t)(uintptr_t)c2)(0));
    return 0;
}
