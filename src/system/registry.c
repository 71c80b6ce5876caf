/* registry.c - the machine registers itself in the runtime directory
 * (see registry.h and lib/rundir.h).
 *
 * One registration per process, so the state is static; an atexit
 * handler removes the files also when something calls exit() past the
 * program's own clean-up. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "registry.h"
#include "chardev.h"
#include "hw/machine.h"
#include "i18n.h"
#include "json-writer.h"
#include "msg.h"
#include "qmp.h"
#include "rundir.h"

static struct {
    char *dir, *name, *qmp_path;
    int fd;                     /* the locked descriptor; -1: not registered */
    struct chardev *chr;        /* the QMP socket */
    bool atexit_set;
} R = { .fd = -1 };

bool registry_enabled(void)
{
    const char *v = getenv("EMU_REGISTRY");
    return !v || !(strcmp(v, "off") == 0 || strcmp(v, "0") == 0 || strcmp(v, "no") == 0);
}

/* The unix server socket of a -serial spec ("unix:PATH,server=on,...",
 * or "chardev:ID" naming a -chardev socket), absolute, or NULL. */
static char *console_path(const struct machine *m, const char *spec)
{
    if (spec && strncmp(spec, "chardev:", 8) == 0) {
        const char *id = spec + 8;
        spec = NULL;
        for (int i = 0; i < m->n_chardevs; i++)
            if (strcmp(m->chardevs[i].id, id) == 0)
                spec = m->chardevs[i].spec;
    }
    if (!spec || strncmp(spec, "unix:", 5) != 0)
        return NULL;
    const char *path = spec + 5, *opts = strchr(path, ',');
    size_t n = opts ? (size_t)(opts - path) : strlen(path);
    size_t ol = opts ? strlen(opts) : 0;
    if (!opts || !(strstr(opts, ",server=on") || strstr(opts, ",server,") ||
                   (ol >= 7 && strcmp(opts + ol - 7, ",server") == 0)))
        return NULL;        /* a client socket: nothing to attach to */
    char *out = NULL, cwd[4096];
    if (path[0] == '/') {
        out = strndup(path, n);
    } else if (getcwd(cwd, sizeof(cwd))) {
        if (asprintf(&out, "%s/%.*s", cwd, (int)n, path) < 0)
            out = NULL;
    }
    return out;
}

/* argv as the kernel keeps it (main's own is not ours to hold). */
static void write_argv(struct json_writer *w)
{
    jw_arr_begin(w, "argv");
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        static char buf[65536];
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n > 0)
            buf[n] = 0;
        for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
            jw_str(w, NULL, buf + i);
    }
    jw_arr_end(w);
}

static void unregister(void)
{
    if (R.fd < 0)
        return;
    /* the socket before the descriptor: the name is free once the
     * descriptor is gone, and a new machine's socket must not be removed */
    if (R.chr) {
        chardev_free(R.chr);
        R.chr = NULL;
    } else if (R.qmp_path) {
        unlink(R.qmp_path);
    }
    rundir_release(R.fd, R.dir, R.name);
    R.fd = -1;
}

static void on_exit_unregister(void)
{
    /* exit() called past main's clean-up: the loop may be gone, so the
     * chardev is not freed, only its file removed */
    if (R.fd < 0)
        return;
    if (R.qmp_path)
        unlink(R.qmp_path);
    R.chr = NULL;
    rundir_release(R.fd, R.dir, R.name);
    R.fd = -1;
}

int registry_start(struct loop *loop, struct qmp *qmp, const struct machine *m,
                   const char *target, const char *serial0, struct error **errp)
{
    struct error *err = NULL;
    char *console = NULL, *spec = NULL;
    struct json_writer w;
    int r;

    if (!registry_enabled() || !qmp)
        return 0;
    jw_init(&w);
    if ((r = rundir_path(&R.dir, true, &err)) < 0)
        goto warn;
    const char *given = m->opts.name;
    if (given && rundir_name_valid(given)) {
        R.name = strdup(given);
    } else {
        if (given)
            msg_warn(_("-name %s: not a name emu can use (letters, digits, '.', '_' and "
                       "'-', at most %d); registered as vm-%ld"),
                     given, RUNDIR_NAME_MAX, (long)getpid());
        if (asprintf(&R.name, "vm-%ld", (long)getpid()) < 0)
            R.name = NULL;
    }
    if (!R.name) {
        r = err_set(&err, ENOMEM, _("out of memory"));
        goto warn;
    }
    if ((r = rundir_file(&R.qmp_path, R.dir, R.name, "qmp", &err)) < 0)
        goto warn;
    console = console_path(m, serial0);

    jw_obj_begin(&w, NULL);
    jw_str(&w, "name", R.name);
    jw_int(&w, "pid", getpid());
    jw_str(&w, "target", target);
    if (m->opts.type)
        jw_str(&w, "machine", m->opts.type);
    jw_int(&w, "start-time", (int64_t)time(NULL));
    jw_str(&w, "qmp", R.qmp_path);
    if (console)
        jw_str(&w, "console", console);
    else
        jw_null(&w, "console");
    jw_str(&w, "version", PACKAGE_VERSION);
    write_argv(&w);
    jw_obj_end(&w);
    if (w.failed) {
        r = err_set(&err, ENOMEM, _("out of memory"));
        goto warn;
    }
    pid_t other = 0;
    r = rundir_claim(&R.fd, &other, R.dir, R.name, w.buf, w.len, &err);
    if (r == -EEXIST) {
        /* the one fatal case: two machines must not answer to one name */
        if (other > 0)
            err_set(errp, EEXIST, _("-name %s: a machine of that name is already running "
                                    "(pid %ld); choose another name"),
                    R.name, (long)other);
        else
            err_set(errp, EEXIST, _("-name %s: a machine of that name is already running; "
                                    "choose another name"), R.name);
        err_free(err);
        goto out;
    }
    if (r < 0)
        goto warn;
    if (!R.atexit_set && atexit(on_exit_unregister) == 0)
        R.atexit_set = true;
    if (asprintf(&spec, "unix:%s,server=on,wait=off", R.qmp_path) < 0) {
        r = err_set(&err, ENOMEM, _("out of memory"));
        goto warn;
    }
    if ((r = chardev_new(&R.chr, loop, spec, &err)) < 0 ||
        (r = qmp_attach(qmp, R.chr, &err)) < 0)
        goto warn;
    r = 0;
    goto out;

warn:
    msg_warn(_("this machine is not registered for 'emu': %s"), err_msg(err));
    err_free(err);
    unregister();
    r = 0;
out:
    if (r < 0 || R.fd < 0) {
        free(R.dir);
        free(R.name);
        free(R.qmp_path);
        R.dir = R.name = R.qmp_path = NULL;
    }
    jw_free(&w);
    free(console);
    free(spec);
    return r;
}

void registry_stop(void)
{
    unregister();
}
