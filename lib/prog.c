/* prog.c - common start-up of emu programs (see prog.h). */
#include <config.h>

#include "prog.h"
#include "i18n.h"
#include "log.h"
#include "msg.h"

int prog_init(int argc, char **argv)
{
    struct error *err = NULL;
    i18n_init();
    msg_set_progname(argc > 0 ? argv[0] : PACKAGE);
    int r = log_init_from_env(&err);
    if (r < 0)
        err_report(err);
    return r < 0 ? r : 0;
}

void prog_print_version(FILE *fp)
{
    fprintf(fp, "%s (%s) %s\n", msg_progname(), PACKAGE_NAME, PACKAGE_VERSION);
    fprintf(fp, "%s\n", _("A machine emulator and disk-image tool suite."));
}
