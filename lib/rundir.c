/* rundir.c - the per-user directory of running machines (see rundir.h). */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "rundir.h"
#include "i18n.h"

/* The files of an entry besides its descriptor, removed with a stale
 * one (only when they are sockets: a log is kept). */
static const char *const entry_sockets[] = { "qmp", "console", "nbd" };

bool rundir_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > RUNDIR_NAME_MAX || name[0] == '.' || name[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

int rundir_path(char **out, bool create, struct error **errp)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    char *path;
    int n;
    /* XDG_RUNTIME_DIR must be absolute to count (the specification's
     * rule); root's machines (services, mostly) go where system daemons
     * keep their sockets, everyone else's in /tmp */
    if (xdg && xdg[0] == '/')
        n = asprintf(&path, "%s/emu", xdg);
    else if (getuid() == 0)
        n = asprintf(&path, "/run/emu");
    else
        n = asprintf(&path, "/tmp/emu-%lu", (unsigned long)getuid());
    if (n < 0)
        return err_set(errp, ENOMEM, _("out of memory"));
    if (create && mkdir(path, 0700) < 0 && errno != EEXIST) {
        int e = errno;
        err_set_errno(errp, e, _("cannot create the runtime directory '%s'"), path);
        free(path);
        return -e;
    }
    /* lstat: a symlink planted in /tmp by someone else must not be followed */
    struct stat st;
    if (lstat(path, &st) < 0) {
        int e = errno;
        if (e != ENOENT || create)
            err_set_errno(errp, e, _("cannot use the runtime directory '%s'"), path);
        free(path);
        return -e;
    }
    const char *why = NULL;
    if (!S_ISDIR(st.st_mode))
        why = _("not a directory");
    else if (st.st_uid != getuid())
        why = _("owned by another user");
    else if (st.st_mode & 077)
        why = _("others may use it (its mode should be 0700)");
    if (why) {
        err_set(errp, EPERM, _("the runtime directory '%s' is not safe: %s"), path, why);
        free(path);
        return -EPERM;
    }
    *out = path;
    return 0;
}

int rundir_file(char **out, const char *dir, const char *name, const char *ext,
                struct error **errp)
{
    char *p;
    if (asprintf(&p, "%s/%s.%s", dir, name, ext) < 0)
        return err_set(errp, ENOMEM, _("out of memory"));
    if (strlen(p) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        err_set(errp, ENAMETOOLONG, _("'%s' is too long for a socket path"), p);
        free(p);
        return -ENAMETOOLONG;
    }
    *out = p;
    return 0;
}

/* Unlink DIR/NAME.EXT if it is a socket. */
static void unlink_socket(const char *dir, const char *name, const char *ext)
{
    char *p;
    struct stat st;
    if (rundir_file(&p, dir, name, ext, NULL) < 0)
        return;
    if (lstat(p, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(p);
    free(p);
}

/* Remove the entry whose descriptor FD has open, if its lock is free and
 * PATH still names that file.  1 removed, 0 alive. */
static int reap_fd(int fd, const char *dir, const char *name, const char *path)
{
    if (flock(fd, LOCK_EX | LOCK_NB) < 0)
        return 0;
    struct stat a, b;
    if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino) {
        /* the sockets first: a new machine may take the name as soon as
         * the descriptor is gone, and its sockets must stay */
        for (size_t i = 0; i < sizeof(entry_sockets) / sizeof(entry_sockets[0]); i++)
            unlink_socket(dir, name, entry_sockets[i]);
        unlink(path);
    }
    flock(fd, LOCK_UN);
    return 1;
}

int rundir_reap(const char *dir, const char *name)
{
    char *path;
    if (rundir_file(&path, dir, name, "json", NULL) < 0)
        return 1;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    int r = fd < 0 ? 1 : reap_fd(fd, dir, name, path);
    if (fd >= 0)
        close(fd);
    free(path);
    return r;
}

bool rundir_entry_alive(const struct rundir_entry *e)
{
    if (flock(e->fd, LOCK_SH | LOCK_NB) == 0) {
        flock(e->fd, LOCK_UN);
        return false;
    }
    return errno == EWOULDBLOCK;
}

void rundir_entry_free(struct rundir_entry *e)
{
    if (!e)
        return;
    if (e->fd >= 0)
        close(e->fd);
    json_free(e->desc);
    free(e->name);
    free(e->target);
    free(e->machine);
    free(e->qmp);
    free(e->console);
    free(e);
}

/* A string member of the descriptor, copied; NULL when absent. */
static int desc_str(char **out, const struct json_value *d, const char *key)
{
    const struct json_value *v = json_get(d, key);
    *out = NULL;
    if (!v || v->type != JSON_STRING)
        return 0;
    *out = strdup(v->u.s);
    return *out ? 0 : -ENOMEM;
}

static int read_desc(struct json_value **out, int fd, const char *path, struct error **errp)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return err_set_errno(errp, errno, _("cannot read '%s'"), path);
    if (!S_ISREG(st.st_mode) || st.st_size > RUNDIR_DESC_MAX)
        return err_set(errp, EINVAL, _("'%s' is not a machine descriptor"), path);
    size_t len = (size_t)st.st_size;
    char *buf = malloc(len + 1);
    if (!buf)
        return err_set(errp, ENOMEM, _("out of memory"));
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, buf + got, len - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    int r = json_parse(out, buf, got, NULL, errp);
    free(buf);
    if (r < 0) {
        err_prefix(errp, _("'%s' is not a machine descriptor"), path);
        return r;
    }
    if ((*out)->type != JSON_OBJECT) {
        json_free(*out);
        return err_set(errp, EINVAL, _("'%s' is not a machine descriptor"), path);
    }
    return 0;
}

int rundir_entry_open(struct rundir_entry **out, const char *dir, const char *name,
                      struct error **errp)
{
    if (!rundir_name_valid(name))
        return 0;
    char *path;
    int r = rundir_file(&path, dir, name, "json", errp);
    if (r < 0)
        return r;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        free(path);
        return e == ENOENT ? 0 : err_set_errno(errp, e, _("cannot open '%s/%s.json'"), dir, name);
    }
    struct rundir_entry *e = calloc(1, sizeof(*e));
    if (!e) {
        close(fd);
        free(path);
        return err_set(errp, ENOMEM, _("out of memory"));
    }
    e->fd = fd;
    if (!rundir_entry_alive(e)) {
        reap_fd(fd, dir, name, path);
        rundir_entry_free(e);
        free(path);
        return 0;
    }
    r = read_desc(&e->desc, fd, path, errp);
    free(path);
    if (r < 0) {
        rundir_entry_free(e);
        return r;
    }
    const struct json_value *pid = json_get(e->desc, "pid");
    const struct json_value *st = json_get(e->desc, "start-time");
    e->pid = pid && pid->type == JSON_INT ? (pid_t)pid->u.i : 0;
    e->start_time = st && st->type == JSON_INT ? st->u.i : 0;
    if (!(e->name = strdup(name)) || desc_str(&e->target, e->desc, "target") < 0 ||
        desc_str(&e->machine, e->desc, "machine") < 0 ||
        desc_str(&e->qmp, e->desc, "qmp") < 0 || desc_str(&e->console, e->desc, "console") < 0) {
        rundir_entry_free(e);
        return err_set(errp, ENOMEM, _("out of memory"));
    }
    /* the QMP socket is always NAME.qmp beside the descriptor */
    if (!e->qmp && (r = rundir_file(&e->qmp, dir, name, "qmp", errp)) < 0) {
        rundir_entry_free(e);
        return r;
    }
    *out = e;
    return 1;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void rundir_names_free(char **names)
{
    if (!names)
        return;
    for (size_t i = 0; names[i]; i++)
        free(names[i]);
    free(names);
}

int rundir_list(char ***names, size_t *n, const char *dir, struct error **errp)
{
    DIR *d = opendir(dir);
    if (!d)
        return err_set_errno(errp, errno, _("cannot read the runtime directory '%s'"), dir);
    size_t cnt = 0, cap = 8;
    char **v = malloc(cap * sizeof(*v));
    int r = v ? 0 : err_set(errp, ENOMEM, _("out of memory"));
    struct dirent *de;
    while (r == 0 && (de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        char name[RUNDIR_NAME_MAX + 1];
        if (len - 5 > RUNDIR_NAME_MAX)
            continue;
        memcpy(name, de->d_name, len - 5);
        name[len - 5] = 0;
        if (!rundir_name_valid(name) || rundir_reap(dir, name))
            continue;
        if (cnt + 1 >= cap) {
            char **nv = realloc(v, 2 * cap * sizeof(*v));
            if (!nv) {
                r = err_set(errp, ENOMEM, _("out of memory"));
                break;
            }
            v = nv;
            cap *= 2;
        }
        if (!(v[cnt] = strdup(name)))
            r = err_set(errp, ENOMEM, _("out of memory"));
        else
            cnt++;
    }
    closedir(d);
    if (v)
        v[cnt] = NULL;
    if (r < 0) {
        rundir_names_free(v);
        return r;
    }
    qsort(v, cnt, sizeof(*v), cmp_names);
    *names = v;
    *n = cnt;
    return 0;
}

int rundir_claim(int *fd, pid_t *other, const char *dir, const char *name, const char *json,
                 size_t len, struct error **errp)
{
    char *path, *tmp;
    struct rundir_entry *e = NULL;
    int r = rundir_file(&path, dir, name, "json", errp);
    if (r < 0)
        return r;
    /* written and locked under a hidden name, then linked: a reader never
     * sees a descriptor that is half written or not yet locked */
    if (asprintf(&tmp, "%s/.%s.%ld.tmp", dir, name, (long)getpid()) < 0) {
        free(path);
        return err_set(errp, ENOMEM, _("out of memory"));
    }
    unlink(tmp);
    int f = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (f < 0) {
        r = err_set_errno(errp, errno, _("cannot create '%s'"), tmp);
        goto out;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(f, json + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = err_set_errno(errp, n < 0 ? errno : ENOSPC, _("cannot write '%s'"), tmp);
            goto out;
        }
        done += (size_t)n;
    }
    if (flock(f, LOCK_EX | LOCK_NB) < 0) {
        r = err_set_errno(errp, errno, _("cannot lock '%s'"), tmp);
        goto out;
    }
    /* twice: the name may belong to a stale entry, which we remove */
    for (int tries = 0; tries < 2; tries++) {
        if (link(tmp, path) == 0) {
            r = 0;
            goto out;
        }
        if (errno != EEXIST) {
            r = err_set_errno(errp, errno, _("cannot create '%s'"), path);
            goto out;
        }
        if (!rundir_reap(dir, name))
            break;
    }
    *other = 0;
    if (rundir_entry_open(&e, dir, name, NULL) > 0) {
        *other = e->pid;
        rundir_entry_free(e);
    }
    r = err_set(errp, EEXIST, _("a machine named '%s' is already running"), name);
out:
    unlink(tmp);
    if (r < 0 && f >= 0)
        close(f);
    else if (r == 0)
        *fd = f;
    free(tmp);
    free(path);
    return r;
}

void rundir_release(int fd, const char *dir, const char *name)
{
    char *path;
    if (fd < 0)
        return;
    if (rundir_file(&path, dir, name, "json", NULL) == 0) {
        /* only our own descriptor: someone may have removed the files by
         * hand and started another machine of the name */
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino)
            unlink(path);
        free(path);
    }
    close(fd);
}
