/* unsupported.c - subcommands of qemu-img that emu-img does not have yet:
 * they say so and fail instead of pretending. */
#include <config.h>

#include "i18n.h"
#include "img.h"
#include "msg.h"

static int not_yet(const char *cmd)
{
    msg_error(_("Command '%s' is not supported yet"), cmd);
    return IMG_FAIL;
}

int img_measure(int argc, char **argv) { return not_yet("measure"); }
int img_rebase(int argc, char **argv) { return not_yet("rebase"); }
int img_commit(int argc, char **argv) { return not_yet("commit"); }
int img_amend(int argc, char **argv) { return not_yet("amend"); }
int img_dd(int argc, char **argv) { return not_yet("dd"); }
int img_bench(int argc, char **argv) { return not_yet("bench"); }
