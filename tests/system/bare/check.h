/* check.h - CHECK(cond, fmt...) for facts the spec fixes; main returns
 * failures() so that a broken emulator fails even without a reference. */
#ifndef CHECK_H
#define CHECK_H
#include "runtime.h"
static int check_failed;
#define CHECK(c, ...) do { if (!(c)) { printf("FAIL line %d: ", __LINE__); \
    printf(__VA_ARGS__); printf("\n"); check_failed++; } } while (0)
static inline int failures(void)
{
    printf("%s: %d check(s) failed\n", check_failed ? "FAIL" : "done", check_failed);
    return check_failed;
}
#endif
