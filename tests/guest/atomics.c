/* atomics.c - the C11/GCC atomic operations on 8/16/32/64-bit objects
 * (LR/SC loops for the small ones, AMOs for the others), compare-exchange
 * success and failure, and fences.  Single-threaded (threads are not yet
 * supported) but every value is checked.  Portable. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

int main(void)
{
    _Atomic uint64_t a64 = 1;
    _Atomic uint32_t a32 = 0xfffffff0u;
    _Atomic uint16_t a16 = 0xfff0;
    _Atomic uint8_t a8 = 0xf0;
    uint64_t h = 0;
    for (uint64_t i = 0; i < 10000; i++) {
        h = h * 31 + atomic_fetch_add(&a64, i * 0x9e3779b97f4a7c15u);
        h = h * 31 + atomic_fetch_xor(&a32, (uint32_t)i * 2654435761u);
        h = h * 31 + atomic_fetch_and(&a64, ~(i << 3));
        h = h * 31 + atomic_fetch_or(&a32, (uint32_t)i);
        h = h * 31 + atomic_fetch_sub(&a16, (uint16_t)i);
        h = h * 31 + atomic_fetch_add(&a8, (uint8_t)i);
        h = h * 31 + atomic_exchange(&a64, atomic_load(&a64) + i);
        uint32_t expect = (uint32_t)i;
        h = h * 31 + atomic_compare_exchange_strong(&a32, &expect, (uint32_t)i * 3);
        h = h * 31 + expect;
        uint64_t e64 = atomic_load(&a64);
        h = h * 31 + atomic_compare_exchange_weak(&a64, &e64, e64 ^ i);
        atomic_thread_fence(memory_order_seq_cst);
    }
    printf("atomics %016llx %llx %x %x %x\n", (unsigned long long)h, (unsigned long long)a64,
           (unsigned)a32, (unsigned)a16, (unsigned)a8);
    return 0;
}
