/* i18n.h - gettext glue.  Every user-facing message is written _("...") so
 * that po/ can translate it; N_("...") marks strings translated later. */
#ifndef EMU_I18N_H
#define EMU_I18N_H

#include <config.h>

#if ENABLE_NLS
#include <libintl.h>
#define _(s) dgettext(PACKAGE, s)
#else
#define _(s) ((const char *)(s))
#endif
#define N_(s) (s)

/* Bind the text domain; programs call this first thing in main(). */
void i18n_init(void);

#endif
