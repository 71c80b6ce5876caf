/* display-ui.c - the table of display back ends (display.h). */
#include <config.h>
#include <string.h>
#include "display.h"

#ifdef HAVE_SDL2
extern const struct display_backend display_sdl;
#endif
#ifdef HAVE_NCURSES
extern const struct display_backend display_curses;
#endif

const struct display_backend *const display_backends[] = {
#ifdef HAVE_SDL2
    &display_sdl,
#endif
#ifdef HAVE_NCURSES
    &display_curses,
#endif
    NULL,
};

const struct display_backend *display_backend_find(const char *name)
{
    for (int i = 0; display_backends[i]; i++)
        if (strcmp(display_backends[i]->name, name) == 0)
            return display_backends[i];
    return NULL;
}
