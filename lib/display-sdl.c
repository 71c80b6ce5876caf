/* display-sdl.c - placeholder: the sdl back end is being written. */
#include <config.h>
#ifdef HAVE_SDL2
#include <errno.h>
#include "display.h"
#include "i18n.h"

static int init(struct loop *loop, const char *opts, const struct display_host *host,
                struct error **errp)
{
    (void)loop, (void)opts, (void)host;
    return err_set(errp, ENOTSUP, _("not available yet"));
}

static void fini(void)
{
}

const struct display_backend display_sdl = {
    .name = "sdl",
    .desc = "sdl",
    .init = init,
    .fini = fini,
};
#endif
