/* codecache.c - the executable code cache, W^X: one memfd mapped twice,
 * writable at tr->rw and executable at tr->rx, never both at one address.
 * Falls back to a single read-write-execute mapping only if memfd_create
 * is unavailable.  A shared mapping survives fork() as shared memory, so
 * fork goes through tr_fork, which gives the child its own copy.
 */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exec.h"
#include "i18n.h"

int tr_code_cache_init(struct tr *tr, size_t size, struct error **errp);
void tr_code_cache_free(struct tr *tr);
void tr_lock_init(struct tr *tr);

int tr_code_cache_init(struct tr *tr, size_t size, struct error **errp)
{
    int fd = memfd_create("emu-code-cache", MFD_CLOEXEC);
    if (fd >= 0) {
        if (ftruncate(fd, (off_t)size) < 0) {
            int e = errno;
            close(fd);
            return err_set_errno(errp, e, _("cannot size the code cache"));
        }
        void *rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        void *rx = rw == MAP_FAILED ? MAP_FAILED
                                    : mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
        int e = errno;
        close(fd);
        if (rw == MAP_FAILED || rx == MAP_FAILED) {
            if (rw != MAP_FAILED)
                munmap(rw, size);
            return err_set_errno(errp, e, _("cannot map the code cache"));
        }
        tr->rw = rw;
        tr->rx = rx;
    } else {
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return err_set_errno(errp, errno, _("cannot map the code cache"));
        tr->rw = tr->rx = p;
    }
    tr->size = size;
    tr->used = 0;
    return 0;
}

void tr_code_cache_free(struct tr *tr)
{
    if (!tr->rw)
        return;
    munmap(tr->rw, tr->size);
    if (tr->rx != tr->rw)
        munmap(tr->rx, tr->size);
    tr->rw = tr->rx = NULL;
}

/* A new memfd holding the first tr->used bytes of the cache (what any
 * block, chained jump or jump-cache entry can refer to); -1 with errno. */
static int tr_code_cache_snapshot(const struct tr *tr)
{
    int fd = memfd_create("emu-code-cache", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    if (ftruncate(fd, (off_t)tr->size) < 0)
        goto fail;
    for (size_t off = 0; off < tr->used;) {
        ssize_t n = pwrite(fd, tr->rw + off, tr->used - off, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            goto fail;
        }
        off += (size_t)n;
    }
    return fd;
fail:;
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

/* Parent and child of a plain fork() would keep writing translations and
 * chain patches into the same shared pages, each overwriting code the
 * other has translated and runs: the other then executes foreign blocks.
 * So the parent snapshots the cache first, holding the lock so that no
 * thread translates or patches until the fork is done, and the child maps
 * the snapshot over both views at the same addresses: every pointer into
 * the cache (blocks, chained jumps, jump caches, the exit path) stays
 * valid there.  Caches retired by multi-threaded flushes stay shared; the
 * child, with one thread that is not running translated code now, never
 * enters them again. */
pid_t tr_fork(struct tr *tr)
{
    tr_lock(tr);
    int fd = -1;
    if (tr->rw != tr->rx) {     /* the fallback mapping is private already */
        fd = tr_code_cache_snapshot(tr);
        if (fd < 0) {
            int e = errno;
            tr_unlock(tr);
            errno = e;
            return -1;
        }
    }
    pid_t pid = fork();
    int e = errno;
    if (pid == 0) {
        if (fd >= 0 &&
            (mmap(tr->rw, tr->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) ==
                 MAP_FAILED ||
             mmap(tr->rx, tr->size, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED, fd, 0) ==
                 MAP_FAILED))
            raise(SIGKILL);     /* still sharing the parent's code: must not run */
        if (fd >= 0)
            close(fd);
        tr_lock_init(tr);       /* held by the parent's thread: not ours to unlock */
        return 0;
    }
    if (fd >= 0)
        close(fd);
    tr_unlock(tr);
    errno = e;
    return pid;
}
