/* parse.c - numbers and sizes the way qemu-img reads them (see parse.h). */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <math.h>

#include "parse.h"
#include "i18n.h"

/* Multiplier for a size suffix, 0 if the character is not one. */
static uint64_t suffix_mult(char c)
{
    switch (c) {
    case 'b': case 'B': return 1;
    case 'k': case 'K': return UINT64_C(1) << 10;
    case 'm': case 'M': return UINT64_C(1) << 20;
    case 'g': case 'G': return UINT64_C(1) << 30;
    case 't': case 'T': return UINT64_C(1) << 40;
    case 'p': case 'P': return UINT64_C(1) << 50;
    case 'e': case 'E': return UINT64_C(1) << 60;
    default: return 0;
    }
}

/* Parse the leading unsigned integer of S (decimal, or hex after 0x).
 * Returns the number of characters used, 0 if none, -ERANGE on overflow. */
static int parse_digits(const char *s, uint64_t *out, bool *hex)
{
    const char *p = s;
    unsigned base = 10;
    uint64_t v = 0;
    *hex = false;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && isxdigit((unsigned char)p[2])) {
        base = 16;
        p += 2;
        *hex = true;
    }
    const char *start = p;
    for (;; p++) {
        unsigned d;
        if (*p >= '0' && *p <= '9')
            d = (unsigned)(*p - '0');
        else if (base == 16 && isxdigit((unsigned char)*p))
            d = (unsigned)(tolower((unsigned char)*p) - 'a' + 10);
        else
            break;
        if (MUL_OVERFLOWS(v, (uint64_t)base, &v) || ADD_OVERFLOWS(v, (uint64_t)d, &v))
            return -ERANGE;
    }
    if (p == start)
        return 0;
    *out = v;
    return (int)(p - s);
}

int parse_size_unit(const char *str, uint64_t unit, uint64_t *out, struct error **errp)
{
    uint64_t val, mult = unit;
    double frac = 0;
    bool hex;
    const char *p = str;

    if (!str || !*str)
        return err_set(errp, EINVAL, _("invalid size '': empty string"));
    int n = parse_digits(p, &val, &hex);
    if (n == -ERANGE)
        return err_set(errp, ERANGE, _("invalid size '%s': value too large"), str);
    if (n == 0)
        return err_set(errp, EINVAL, _("invalid size '%s': not a number"), str);
    p += n;
    if (*p == '.' && !hex) {
        /* Fraction: digits only, read exactly as a decimal fraction. */
        const char *f = ++p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p == f)
            return err_set(errp, EINVAL, _("invalid size '%s': missing digits after '.'"), str);
        char buf[64];
        size_t len = MIN((size_t)(p - f), sizeof(buf) - 3);
        buf[0] = '0';
        buf[1] = '.';
        memcpy(buf + 2, f, len);
        buf[len + 2] = '\0';
        frac = strtod(buf, NULL);
    }
    if (*p) {
        mult = suffix_mult(*p);
        if (!mult || p[1])
            return err_set(errp, EINVAL,
                           _("invalid size '%s': unknown suffix '%s' (use k, M, G, T, P or E)"),
                           str, p);
    }
    if (frac != 0 && mult == 1)
        return err_set(errp, EINVAL,
                       _("invalid size '%s': a fraction needs a unit larger than a byte"), str);
    uint64_t whole, part = (uint64_t)(frac * (double)mult);
    if (MUL_OVERFLOWS(val, mult, &whole) || ADD_OVERFLOWS(whole, part, &whole))
        return err_set(errp, ERANGE, _("invalid size '%s': value too large"), str);
    *out = whole;
    return 0;
}

int parse_size(const char *str, uint64_t *out, struct error **errp)
{
    return parse_size_unit(str, 1, out, errp);
}

int parse_size_range(const char *what, const char *str, uint64_t min, uint64_t max,
                     uint64_t *out, struct error **errp)
{
    uint64_t v;
    int r = parse_size(str, &v, errp);
    if (r < 0) {
        err_prefix(errp, "%s", what);
        return r;
    }
    if (v < min || v > max)
        return err_set(errp, ERANGE,
                       _("%s '%s' is out of range: it must be between %" PRIu64 " and %" PRIu64),
                       what, str, min, max);
    *out = v;
    return 0;
}

int parse_u64(const char *what, const char *str, uint64_t min, uint64_t max,
              uint64_t *out, struct error **errp)
{
    uint64_t v;
    bool hex;
    if (!str || !*str)
        return err_set(errp, EINVAL, _("%s: empty value"), what);
    int n = parse_digits(str, &v, &hex);
    if (n == -ERANGE)
        return err_set(errp, ERANGE, _("%s '%s' is too large"), what, str);
    if (n == 0 || str[n])
        return err_set(errp, EINVAL, _("%s '%s' is not a valid number"), what, str);
    if (v < min || v > max)
        return err_set(errp, ERANGE,
                       _("%s '%s' is out of range: it must be between %" PRIu64 " and %" PRIu64),
                       what, str, min, max);
    *out = v;
    return 0;
}

int parse_int(const char *what, const char *str, int min, int max, int *out,
              struct error **errp)
{
    bool neg = str && str[0] == '-';
    uint64_t v;
    uint64_t lim = neg ? (uint64_t)-(int64_t)min : (uint64_t)(max < 0 ? 0 : max);
    if (neg && min >= 0)
        return err_set(errp, ERANGE,
                       _("%s '%s' is out of range: it must be between %d and %d"),
                       what, str, min, max);
    struct error *e = NULL;
    int r = parse_u64(what, neg ? str + 1 : str, 0, UINT64_MAX, &v, &e);
    if (r < 0) {
        err_free(e);
        return err_set(errp, -r, r == -ERANGE ? _("%s '%s' is too large") :
                       _("%s '%s' is not a valid number"), what, str);
    }
    if (v > lim)
        return err_set(errp, ERANGE,
                       _("%s '%s' is out of range: it must be between %d and %d"),
                       what, str, min, max);
    int64_t sv = neg ? -(int64_t)v : (int64_t)v;
    if (sv < min || sv > max)
        return err_set(errp, ERANGE,
                       _("%s '%s' is out of range: it must be between %d and %d"),
                       what, str, min, max);
    *out = (int)sv;
    return 0;
}

int parse_bool(const char *what, const char *str, bool *out, struct error **errp)
{
    static const char *const yes[] = { "on", "yes", "true", "1" };
    static const char *const no[] = { "off", "no", "false", "0" };
    for (size_t i = 0; str && i < ARRAY_SIZE(yes); i++) {
        if (strcasecmp(str, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(str, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return err_set(errp, EINVAL, _("%s: '%s' is not on/off"), what, str ? str : "");
}
