/* test-i18n.c - prints a libcore message through gettext, so that
 * tests/shell/i18n.sh can check the German catalogue is really used. */
#include <config.h>
#include <stdio.h>
#include "error.h"
#include "i18n.h"
#include "parse.h"
#include "prog.h"

int main(int argc, char **argv)
{
    struct error *err = NULL;
    uint64_t v;
    if (prog_init(argc, argv) < 0)
        return 1;
    if (parse_size(argc > 1 ? argv[1] : "1q", &v, &err) == 0) {
        printf("%" PRIu64 "\n", v);
        return 0;
    }
    err_report(err);
    return 1;
}
