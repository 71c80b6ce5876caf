/* parse.h - numbers and sizes from command lines and option strings.
 *
 * Sizes follow qemu-img's rules, so users can reuse their habits:
 *   "512"      512 bytes (the default unit; parse_size_unit changes it)
 *   "64k"      64 KiB; suffixes b/B (bytes), k/K, M/m, G/g, T/t, P/p, E/e,
 *              all powers of 1024
 *   "1.5G"     fractions are allowed together with a suffix larger than a
 *              byte ("1.5" alone is rejected: there are no half bytes)
 *   "0x1000"   hexadecimal integers
 * Rejected with -EINVAL: empty strings, negative numbers, leading blanks,
 * unknown suffixes, trailing garbage.  Rejected with -ERANGE: anything that
 * does not fit in 64 bits.
 */
#ifndef EMU_PARSE_H
#define EMU_PARSE_H

#include "common.h"
#include "error.h"

int parse_size(const char *str, uint64_t *out, struct error **errp);
/* As parse_size, but a bare number is in units of UNIT bytes (e.g. 1024 for
 * options whose default unit is KiB). */
int parse_size_unit(const char *str, uint64_t unit, uint64_t *out, struct error **errp);
/* Parse a size and check MIN <= value <= MAX; WHAT names it in messages. */
int parse_size_range(const char *what, const char *str, uint64_t min, uint64_t max,
                     uint64_t *out, struct error **errp);

/* Whole numbers: decimal, or hex with 0x.  No suffixes, no blanks. */
int parse_u64(const char *what, const char *str, uint64_t min, uint64_t max,
              uint64_t *out, struct error **errp);
int parse_int(const char *what, const char *str, int min, int max, int *out,
              struct error **errp);
/* "on/off/yes/no/true/false/1/0" */
int parse_bool(const char *what, const char *str, bool *out, struct error **errp);

#endif
