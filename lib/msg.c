/* msg.c - the message channel (see msg.h). */
#include <config.h>

#include <stdarg.h>
#include <string.h>
#include <pthread.h>
#include <locale.h>
#include <stdlib.h>

#include "msg.h"
#include "i18n.h"

static const char *progname = "emu";
static FILE *stream;
static bool quiet;
/* Lines from several threads must not interleave. */
static pthread_mutex_t msg_lock = PTHREAD_MUTEX_INITIALIZER;

void msg_set_progname(const char *argv0)
{
    const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
    if (argv0)
        progname = slash ? slash + 1 : argv0;
}

const char *msg_progname(void)
{
    return progname;
}

void msg_set_stream(FILE *fp)
{
    stream = fp;
}

void msg_set_quiet(bool q)
{
    quiet = q;
}

static void msg_vprint(const char *kind, const char *fmt, va_list ap)
{
    FILE *fp = stream ? stream : stderr;
    pthread_mutex_lock(&msg_lock);
    fprintf(fp, "%s: ", progname);
    if (kind)
        fprintf(fp, "%s", kind);
    vfprintf(fp, fmt, ap);
    fputc('\n', fp);
    fflush(fp);
    pthread_mutex_unlock(&msg_lock);
}

void msg_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    msg_vprint(NULL, fmt, ap);
    va_end(ap);
}

void msg_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    msg_vprint(_("warning: "), fmt, ap);
    va_end(ap);
}

void msg_info(const char *fmt, ...)
{
    if (quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

void i18n_init(void)
{
    setlocale(LC_ALL, "");
    /* Numbers stay as in C in every language: "1.5G", JSON's 0.5 and our
     * JSON output must not turn into "1,5" under a German locale. */
    setlocale(LC_NUMERIC, "C");
#if ENABLE_NLS
    /* EMU_LOCALEDIR lets uninstalled builds and tests use their catalogues. */
    const char *dir = getenv("EMU_LOCALEDIR");
    bindtextdomain(PACKAGE, dir && *dir ? dir : LOCALEDIR);
#endif
}
