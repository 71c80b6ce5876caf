/* gdb.c - a program for gdb to stop in (tests/system/gdb.sh): it calls
 * target() five times, then spins until gdb clears spin, and prints the
 * sum; gdb breaks in target, reads a0, the pc and magic, steps,
 * interrupts the spin and lets it run to the end. */
#include "runtime.h"

u64 magic = 0x1234abcd5678;     /* .data: gdb reads it */
volatile u64 counter;
volatile int spin = 1;
volatile u64 spins;

__attribute__((noinline)) u64 target(u64 a)
{
    counter += a;
    return counter * 3;
}

int main(void)
{
    u64 sum = 0;
    for (u64 i = 1; i <= 5; i++)
        sum += target(i);
    while (spin)
        spins++;
    printf("gdb: sum %lu magic %lx\n", sum, magic);
    return 0;
}
