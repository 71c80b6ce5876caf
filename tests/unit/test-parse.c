/* test-parse.c - sizes and numbers parsed as qemu-img parses them. */
#include <config.h>
#include <errno.h>
#include "parse.h"
#include "unit.h"

static void size_ok(const char *s, uint64_t want)
{
    uint64_t v = 0;
    struct error *err = NULL;
    int r = parse_size(s, &v, &err);
    if (r != 0)
        fprintf(stderr, "parse_size('%s') failed: %s\n", s, err_msg(err));
    CHECK(r == 0);
    CHECK_U64(v, want);
    err_free(err);
}

static void size_bad(const char *s, int code, const char *msg_part)
{
    uint64_t v = 12345;
    struct error *err = NULL;
    int r = parse_size(s, &v, &err);
    if (r != -code)
        fprintf(stderr, "parse_size('%s') = %d, expected %d\n", s, r, -code);
    CHECK(r == -code);
    CHECK(v == 12345); /* output untouched on failure */
    CHECK(err != NULL);
    CHECK_CONTAINS(err_msg(err), msg_part);
    CHECK(strchr(err_msg(err), '\n') == NULL); /* one line */
    err_free(err);
}

int main(void)
{
    size_ok("0", 0);
    size_ok("512", 512);
    size_ok("512b", 512);
    size_ok("512B", 512);
    size_ok("64k", 65536);
    size_ok("64K", 65536);
    size_ok("1M", 1048576);
    size_ok("1m", 1048576);
    size_ok("1.5G", UINT64_C(1610612736));
    size_ok("2T", UINT64_C(2) << 40);
    size_ok("0.5k", 512);
    size_ok("1P", UINT64_C(1) << 50);
    size_ok("15E", UINT64_C(15) << 60);
    size_ok("0x1000", 4096);
    size_ok("18446744073709551615", UINT64_MAX);

    size_bad("", EINVAL, "empty");
    size_bad("abc", EINVAL, "not a number");
    size_bad("-1", EINVAL, "not a number");
    size_bad(" 1", EINVAL, "not a number");
    size_bad("1x", EINVAL, "unknown suffix 'x'");
    size_bad("10kb", EINVAL, "unknown suffix 'kb'");
    size_bad("1.5", EINVAL, "fraction");
    size_bad("1.", EINVAL, "missing digits");
    size_bad("16E", ERANGE, "too large");
    size_bad("18446744073709551616", ERANGE, "too large");
    size_bad("99999999999999999999999", ERANGE, "too large");
    size_bad("1G ", EINVAL, "unknown suffix");

    uint64_t v;
    struct error *err = NULL;
    CHECK(parse_size_unit("4", 1024, &v, NULL) == 0 && v == 4096);
    CHECK(parse_size_range("image size", "8E", 0, INT64_MAX, &v, &err) == -ERANGE);
    CHECK_CONTAINS(err_msg(err), "image size '8E' is out of range");
    err_free(err);
    err = NULL;
    CHECK(parse_size_range("image size", "1q", 0, INT64_MAX, &v, &err) == -EINVAL);
    CHECK_CONTAINS(err_msg(err), "image size: invalid size '1q'");
    err_free(err);
    err = NULL;

    CHECK(parse_u64("port", "10809", 1, 65535, &v, NULL) == 0 && v == 10809);
    CHECK(parse_u64("port", "65536", 1, 65535, &v, &err) == -ERANGE);
    CHECK_CONTAINS(err_msg(err), "between 1 and 65535");
    err_free(err);
    err = NULL;
    CHECK(parse_u64("port", "12a", 1, 65535, &v, &err) == -EINVAL);
    err_free(err);
    err = NULL;

    int i;
    CHECK(parse_int("n", "-5", -10, 10, &i, NULL) == 0 && i == -5);
    CHECK(parse_int("n", "-11", -10, 10, &i, NULL) == -ERANGE);
    CHECK(parse_int("n", "-1", 0, 10, &i, NULL) == -ERANGE);
    CHECK(parse_int("n", "2147483648", INT32_MIN, INT32_MAX, &i, NULL) == -ERANGE);
    CHECK(parse_int("n", "-2147483648", INT32_MIN, INT32_MAX, &i, NULL) == 0 && i == INT32_MIN);
    CHECK(parse_int("n", "x", 0, 10, &i, NULL) == -EINVAL);

    bool b;
    CHECK(parse_bool("x", "on", &b, NULL) == 0 && b);
    CHECK(parse_bool("x", "OFF", &b, NULL) == 0 && !b);
    CHECK(parse_bool("x", "maybe", &b, NULL) == -EINVAL);
    return unit_result();
}
