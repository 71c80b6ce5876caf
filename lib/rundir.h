/* rundir.h - the per-user directory where running machines register.
 *
 * Every emu-system-* process registers in $XDG_RUNTIME_DIR/emu (else
 * /run/emu for root, /tmp/emu-UID for others), which is created 0700
 * and must be the user's own directory, not a symlink:
 *
 *     NAME.json     the descriptor: pid, name, target, argv, start time,
 *                   the QMP and console sockets
 *     NAME.qmp      the machine's QMP socket (always there)
 *     NAME.console  its serial console, when `emu start` asked for one
 *
 * The machine holds an exclusive flock() on its descriptor for as long
 * as it runs.  That lock, not the pid, says whether an entry is alive:
 * pids are reused, while a lock ends with the last descriptor of its
 * process, however the process died.  An entry whose lock is free is
 * stale and whoever meets it first removes it (rundir_reap), under the
 * lock, checking that the name still means the file it locked, so that
 * two cleaners and a new machine of the same name never remove each
 * other's files.
 *
 * Names are what `emu` takes on its command line: 1 to RUNDIR_NAME_MAX
 * letters, digits, '.', '_' and '-', not starting with '.' or '-'.
 */
#ifndef EMU_RUNDIR_H
#define EMU_RUNDIR_H

#include <sys/types.h>
#include "common.h"
#include "error.h"
#include "json.h"

#define RUNDIR_NAME_MAX 64
/* A descriptor larger than this is not one of ours. */
#define RUNDIR_DESC_MAX (1 << 20)

bool rundir_name_valid(const char *name);

/* The directory's path in *OUT (to free).  CREATE: make it when missing.
 * -ENOENT (no message) when it does not exist and CREATE is false;
 * -EPERM when it exists but is not safe to use (a symlink, another
 * user's, open to others). */
int rundir_path(char **out, bool create, struct error **errp);

/* DIR/NAME.EXT in *OUT (to free); -ENAMETOOLONG when it could not be a
 * Unix socket's path (108 bytes). */
int rundir_file(char **out, const char *dir, const char *name, const char *ext,
                struct error **errp);

/* A registered machine, as its descriptor says. */
struct rundir_entry {
    char *name;
    pid_t pid;
    char *target;                   /* "riscv64" */
    char *machine;                  /* "virt"; NULL if not said */
    int64_t start_time;             /* seconds since the epoch */
    char *qmp;                      /* socket paths; console may be NULL */
    char *console;
    struct json_value *desc;        /* the whole descriptor */
    int fd;                         /* open on the descriptor: its lock */
};

/* Open NAME's entry.  Returns 1 and *OUT for a live machine; 0 when
 * there is none (a stale entry is removed on the way). */
int rundir_entry_open(struct rundir_entry **out, const char *dir, const char *name,
                      struct error **errp);
void rundir_entry_free(struct rundir_entry *e);
/* Whether the machine still runs (its lock is held). */
bool rundir_entry_alive(const struct rundir_entry *e);

/* The names of the live machines in DIR, sorted, in *NAMES (a NULL-
 * terminated array; free with rundir_names_free).  Stale entries are
 * removed. */
int rundir_list(char ***names, size_t *n, const char *dir, struct error **errp);
void rundir_names_free(char **names);

/* Remove NAME's entry if it is stale: 1 removed (or nothing there), 0
 * alive. */
int rundir_reap(const char *dir, const char *name);

/* The machine's side: register NAME with descriptor JSON.  *FD gets the
 * locked descriptor, to keep open while the machine runs.  -EEXIST when
 * a live machine has the name (its pid in *OTHER). */
int rundir_claim(int *fd, pid_t *other, const char *dir, const char *name, const char *json,
                 size_t len, struct error **errp);
/* Remove the descriptor and let the lock go (the sockets are the
 * caller's: their owners unlink them first). */
void rundir_release(int fd, const char *dir, const char *name);

#endif
