/* common.h - small helpers every part of emu uses.
 *
 * Kept deliberately tiny: macros for sizes and alignment, overflow-checked
 * arithmetic, scope cleanup, container_of.  Anything bigger gets its own file.
 */
#ifndef EMU_COMMON_H
#define EMU_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
/* Alignment helpers; ALIGN requires a power of two. */
#define IS_POW2(x) ((x) != 0 && ((x) & ((x) - 1)) == 0)
#define ALIGN_DOWN(n, a) ((n) & ~((__typeof__(n))(a) - 1))
#define ALIGN_UP(n, a) ALIGN_DOWN((n) + (a) - 1, (a))
#define IS_ALIGNED(n, a) (((n) & ((__typeof__(n))(a) - 1)) == 0)

#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))

/* Overflow-checked arithmetic: true when the result overflowed. */
#define ADD_OVERFLOWS(a, b, res) __builtin_add_overflow((a), (b), (res))
#define MUL_OVERFLOWS(a, b, res) __builtin_mul_overflow((a), (b), (res))

#define EMU_UNUSED __attribute__((unused))
#define EMU_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define EMU_WARN_UNUSED __attribute__((warn_unused_result))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Scope cleanup: `CLEANUP_FREE char *buf = NULL;` frees buf on every exit. */
void cleanup_free(void *ptr);
void cleanup_close(int *fd);
#define CLEANUP_FREE __attribute__((cleanup(cleanup_free)))
#define CLEANUP_CLOSE __attribute__((cleanup(cleanup_close)))

#endif
