/* unit.h - the few assertions the C unit tests need.
 *
 * A failed CHECK prints file:line and the expression and the test goes on,
 * so one run shows every failure; main() ends with `return unit_result();`
 * which is 1 (FAIL for automake) if anything failed, else 0.
 */
#ifndef EMU_UNIT_H
#define EMU_UNIT_H

#include <stdio.h>
#include <string.h>
#include <inttypes.h>

static int unit_failures;
static int unit_checks;

#define CHECK(cond)                                                          \
    do {                                                                     \
        unit_checks++;                                                       \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
            unit_failures++;                                                 \
        }                                                                    \
    } while (0)

#define CHECK_U64(a, b)                                                      \
    do {                                                                     \
        uint64_t a_ = (a), b_ = (b);                                         \
        unit_checks++;                                                       \
        if (a_ != b_) {                                                      \
            fprintf(stderr, "%s:%d: %s == %" PRIu64 ", expected %" PRIu64    \
                    "\n", __FILE__, __LINE__, #a, a_, b_);                   \
            unit_failures++;                                                 \
        }                                                                    \
    } while (0)

#define CHECK_CONTAINS(s, sub)                                               \
    do {                                                                     \
        const char *s_ = (s), *sub_ = (sub);                                 \
        unit_checks++;                                                       \
        if (!s_ || !strstr(s_, sub_)) {                                      \
            fprintf(stderr, "%s:%d: '%s' does not contain '%s'\n", __FILE__, \
                    __LINE__, s_ ? s_ : "(null)", sub_);                     \
            unit_failures++;                                                 \
        }                                                                    \
    } while (0)

static inline int unit_result(void)
{
    fprintf(stderr, "%d checks, %d failed\n", unit_checks, unit_failures);
    return unit_failures ? 1 : (unit_checks ? 0 : 99);
}

#endif
