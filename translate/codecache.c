/* codecache.c - the executable code cache, W^X: one memfd mapped twice,
 * writable at tr->rw and executable at tr->rx, never both at one address.
 * Falls back to a single read-write-execute mapping only if memfd_create
 * is unavailable.
 */
#include <config.h>

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exec.h"
#include "i18n.h"


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

/* A fork: the memfd would be shared between parent and child, and both
 * would write new blocks (and patch chains) into the same pages.  Before
 * the fork, with the lock held so that nothing changes, the contents are
 * copied into a new memfd (tr_code_cache_fork_copy); the child maps that at
 * the same two addresses (tr_code_cache_fork_map), so every block, chain
 * and jump-cache entry stays valid there. */
int tr_code_cache_fork_copy(struct tr *tr, int *fdp)
{
    *fdp = -1;
    if (!tr->rw || tr->rw == tr->rx)
        return 0;       /* a private mapping: fork copies it */
    int fd = memfd_create("emu-code-cache", MFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (ftruncate(fd, (off_t)tr->size) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    size_t done = 0;
    while (done < tr->used) {
        ssize_t n = pwrite(fd, tr->rw + done, tr->used - done, (off_t)done);
        if (n <= 0) {
            close(fd);
            return -EIO;
        }
        done += (size_t)n;
    }
    *fdp = fd;
    return 0;
}

int tr_code_cache_fork_map(struct tr *tr, int fd)
{
    int r = 0;
    if (mmap(tr->rw, tr->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) ==
        MAP_FAILED ||
        mmap(tr->rx, tr->size, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
        r = -errno;
    close(fd);
    return r;
}
