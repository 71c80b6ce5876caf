/* syscall-fs.c - file system calls: paths (with the -L sysroot and the
 * guest's /proc/self), descriptors, I/O, stat, directories, ioctls.
 * See syscall.c for the conventions. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "user.h"
#include "log.h"

/* asm-generic struct stat, as riscv64 sees it */
struct rv_stat {
    uint64_t st_dev, st_ino;
    uint32_t st_mode, st_nlink, st_uid, st_gid;
    uint64_t st_rdev, pad1;
    int64_t st_size;
    int32_t st_blksize, pad2;
    int64_t st_blocks;
    int64_t st_atime_, st_atime_nsec, st_mtime_, st_mtime_nsec, st_ctime_, st_ctime_nsec;
    uint32_t unused[2];
};

static long put_stat(struct user *u, uint64_t gaddr, const struct stat *st)
{
    struct rv_stat r = {
        .st_dev = st->st_dev, .st_ino = st->st_ino, .st_mode = st->st_mode,
        .st_nlink = (uint32_t)st->st_nlink, .st_uid = st->st_uid, .st_gid = st->st_gid,
        .st_rdev = st->st_rdev, .st_size = st->st_size, .st_blksize = (int32_t)st->st_blksize,
        .st_blocks = st->st_blocks,
        .st_atime_ = st->st_atim.tv_sec, .st_atime_nsec = st->st_atim.tv_nsec,
        .st_mtime_ = st->st_mtim.tv_sec, .st_mtime_nsec = st->st_mtim.tv_nsec,
        .st_ctime_ = st->st_ctim.tv_sec, .st_ctime_nsec = st->st_ctim.tv_nsec,
    };
    return put_user(u, gaddr, &r, sizeof(r));
}

/* A guest path argument, read and redirected (-L).  *out is the path for
 * the host; buf holds PATH_MAX bytes for the copy, rbuf for the redirection. */
struct upath {
    char raw[PATH_MAX];
    char red[PATH_MAX];
    const char *p;
};

static int get_path(struct user *u, struct upath *up, uint64_t ga)
{
    if (!ga)
        return -EFAULT;
    int r = get_user_str(u, up->raw, sizeof(up->raw), ga);
    if (r < 0)
        return r;
    up->p = user_path(u, up->raw, up->red, sizeof(up->red));
    return 0;
}

#define PATH_ARG(up, ga)                        \
    do {                                        \
        int r_ = get_path(u, (up), (ga));       \
        if (r_ < 0)                             \
            return r_;                          \
    } while (0)

static long do_rw_vec(struct user *u, int nr, int fd, uint64_t giov, int cnt, int64_t off,
                      int flags)
{
    if (cnt < 0 || cnt > 1024)
        return -EINVAL;
    struct iovec *iov = calloc((size_t)cnt + 1, sizeof(*iov));
    if (!iov)
        return -ENOMEM;
    uint64_t *g = calloc((size_t)cnt + 1, 16);
    if (!g || get_user(u, g, giov, (size_t)cnt * 16) < 0) {
        free(iov);
        free(g);
        return -EFAULT;
    }
    for (int i = 0; i < cnt; i++) {
        iov[i].iov_base = GP(g[2 * i]);
        iov[i].iov_len = g[2 * i + 1];
    }
    long r;
    switch (nr) {
    case 65: r = readv(fd, iov, cnt); break;
    case 66: r = writev(fd, iov, cnt); break;
    case 69: r = preadv(fd, iov, cnt, off); break;
    case 70: r = pwritev(fd, iov, cnt, off); break;
    case 286: r = preadv2(fd, iov, cnt, off, flags); break;
    default: r = pwritev2(fd, iov, cnt, off, flags); break;
    }
    r = ret_errno(r);
    free(iov);
    free(g);
    return r;
}

static long do_ioctl(struct user *u, int fd, unsigned long req, uint64_t arg)
{
    switch (req) {
    /* terminal and file ioctls whose argument is a pointer to a structure
     * (or int) laid out alike on riscv64 and x86-64 */
    case TCGETS: case TCSETS: case TCSETSW: case TCSETSF:
    case 0x802c542a: case 0x402c542b: case 0x402c542c: case 0x402c542d:  /* termios2 */
    case TIOCGWINSZ: case TIOCSWINSZ: case FIONREAD: case TIOCGPGRP: case TIOCSPGRP:
    case TIOCOUTQ: case TIOCGSID: case TIOCGPTN: case TIOCSPTLCK: case TIOCGEXCL:
    case FIONBIO: case FIOASYNC: case TIOCMGET: case TIOCMSET: case TIOCGETD: case TIOCSETD:
    case 0x80086601: case 0x40086602:      /* FS_IOC_GETFLAGS, FS_IOC_SETFLAGS */
        return ret_errno(ioctl(fd, req, GP(arg)));
    /* integer argument or none */
    case TCFLSH: case TCXONC: case TCSBRK: case TCSBRKP: case TIOCSCTTY: case TIOCNOTTY:
    case FIOCLEX: case FIONCLEX: case TIOCEXCL: case TIOCNXCL: case TIOCSBRK: case TIOCCBRK:
        return ret_errno(ioctl(fd, req, (unsigned long)arg));
    }
    if (log_on(LOG_UNIMP))
        log_msg(LOG_UNIMP, "ioctl 0x%lx", req);
    return -ENOTTY;
}

static long do_fcntl(struct user *u, int fd, int cmd, uint64_t arg)
{
    switch (cmd) {
    case F_GETFD: case F_SETFD: case F_GETFL: case F_SETFL: case F_DUPFD:
    case F_DUPFD_CLOEXEC: case F_GETOWN: case F_SETOWN: case F_GETSIG: case F_SETSIG:
    case F_SETLEASE: case F_GETLEASE: case F_NOTIFY: case F_SETPIPE_SZ: case F_GETPIPE_SZ:
    case F_ADD_SEALS: case F_GET_SEALS:
        return ret_errno(fcntl(fd, cmd, (long)arg));
    /* struct flock and f_owner_ex are the same on both */
    case F_GETLK: case F_SETLK: case F_SETLKW: case F_OFD_GETLK: case F_OFD_SETLK:
    case F_OFD_SETLKW: case F_GETOWN_EX: case F_SETOWN_EX:
        return ret_errno(fcntl(fd, cmd, GP(arg)));
    }
    if (log_on(LOG_UNIMP))
        log_msg(LOG_UNIMP, "fcntl command %d", cmd);
    return -EINVAL;
}

static long do_openat(struct user *u, int dirfd, uint64_t pga, int flags, int mode)
{
    struct upath p;
    PATH_ARG(&p, pga);
    long r = user_open_proc(u, p.raw, flags);
    if (r != SC_NONE)
        return r;
    return ret_errno(syscall(SYS_openat, dirfd, p.p, flags, mode));
}

long sys_fs(struct user *u, int nr, const uint64_t *a)
{
    struct guest_mem *m = &u->mem;
    struct upath p, q;
    int fd = (int)a[0];
    switch (nr) {
    case 17:    /* getcwd */
        if (!gmem_range_ok(m, a[0], a[1]))
            return -EFAULT;
        return ret_errno(syscall(SYS_getcwd, GP(a[0]), a[1]));
    case 23: return ret_errno(dup(fd));
    case 24: return ret_errno(dup3(fd, (int)a[1], (int)a[2]));
    case 25: return do_fcntl(u, fd, (int)a[1], a[2]);
    case 26: return ret_errno(syscall(SYS_inotify_init1, (int)a[0]));
    case 27:
        PATH_ARG(&p, a[1]);
        return ret_errno(syscall(SYS_inotify_add_watch, fd, p.p, (uint32_t)a[2]));
    case 28: return ret_errno(syscall(SYS_inotify_rm_watch, fd, (int)a[1]));
    case 29: return do_ioctl(u, fd, (unsigned long)a[1], a[2]);
    case 32: return ret_errno(flock(fd, (int)a[1]));
    case 33:
        PATH_ARG(&p, a[1]);
        return ret_errno(syscall(SYS_mknodat, fd, p.p, (mode_t)a[2], (dev_t)a[3]));
    case 34:
        PATH_ARG(&p, a[1]);
        return ret_errno(syscall(SYS_mkdirat, fd, p.p, (mode_t)a[2]));
    case 35:
        PATH_ARG(&p, a[1]);
        return ret_errno(syscall(SYS_unlinkat, fd, p.p, (int)a[2]));
    case 36: {  /* symlinkat: the target is stored as given */
        char target[PATH_MAX];
        int r = get_user_str(u, target, sizeof(target), a[0]);
        if (r < 0)
            return r;
        PATH_ARG(&p, a[2]);
        return ret_errno(syscall(SYS_symlinkat, target, (int)a[1], p.p));
    }
    case 37:
        PATH_ARG(&p, a[1]);
        PATH_ARG(&q, a[3]);
        return ret_errno(syscall(SYS_linkat, fd, p.p, (int)a[2], q.p, (int)a[4]));
    case 38:
        PATH_ARG(&p, a[1]);
        PATH_ARG(&q, a[3]);
        return ret_errno(syscall(SYS_renameat, fd, p.p, (int)a[2], q.p));
    case 276:
        PATH_ARG(&p, a[1]);
        PATH_ARG(&q, a[3]);
        return ret_errno(syscall(SYS_renameat2, fd, p.p, (int)a[2], q.p, (unsigned)a[4]));
    case 39: case 40:   /* umount2, mount */
        return -EPERM;
    case 43:
        PATH_ARG(&p, a[0]);
        return ret_errno(syscall(SYS_statfs, p.p, GP(a[1])));
    case 44: return ret_errno(syscall(SYS_fstatfs, fd, GP(a[1])));
    case 45:
        PATH_ARG(&p, a[0]);
        return ret_errno(truncate(p.p, (off_t)a[1]));
    case 46: return ret_errno(ftruncate(fd, (off_t)a[1]));
    case 47: return ret_errno(fallocate(fd, (int)a[1], (off_t)a[2], (off_t)a[3]));
    case 48:
        PATH_ARG(&p, a[1]);
        return ret_errno(syscall(SYS_faccessat, fd, p.p, (int)a[2]));
    case 439:
        PATH_ARG(&p, a[1]);
        return ret_errno(syscall(SYS_faccessat2, fd, p.p, (int)a[2], (int)a[3]));
    case 49:    /* chdir: not redirected (as qemu-riscv64): getcwd stays a guest path */
        PATH_ARG(&p, a[0]);
        return ret_errno(chdir(p.raw));
    case 50: return ret_errno(fchdir(fd));
    case 51:
        PATH_ARG(&p, a[0]);
        return ret_errno(chroot(p.p));
    case 52: return ret_errno(fchmod(fd, (mode_t)a[1]));
    case 53:
        PATH_ARG(&p, a[1]);
        return ret_errno(syscall(SYS_fchmodat, fd, p.p, (mode_t)a[2]));
    case 54:
        PATH_ARG(&p, a[1]);
        return ret_errno(syscall(SYS_fchownat, fd, p.p, (uid_t)a[2], (gid_t)a[3], (int)a[4]));
    case 55: return ret_errno(fchown(fd, (uid_t)a[1], (gid_t)a[2]));
    case 56: return do_openat(u, fd, a[1], (int)a[2], (int)a[3]);
    case 57: return ret_errno(close(fd));
    case 436: return ret_errno(syscall(SYS_close_range, (unsigned)a[0], (unsigned)a[1],
                                       (unsigned)a[2]));
    case 59: return ret_errno(syscall(SYS_pipe2, GP(a[0]), (int)a[1]));
    case 61: return ret_errno(syscall(SYS_getdents64, fd, GP(a[1]), a[2]));
    case 62: return ret_errno(lseek(fd, (off_t)a[1], (int)a[2]));
    case 63:
        if (!gmem_range_ok(m, a[1], a[2]))
            return -EFAULT;
        return ret_errno(read(fd, GP(a[1]), a[2]));
    case 64:
        if (!gmem_range_ok(m, a[1], a[2]))
            return -EFAULT;
        return ret_errno(write(fd, GP(a[1]), a[2]));
    case 65: case 66:
        return do_rw_vec(u, nr, fd, a[1], (int)a[2], 0, 0);
    case 69: case 70:
        return do_rw_vec(u, nr, fd, a[1], (int)a[2], (int64_t)a[3], 0);
    case 286: case 287:
        return do_rw_vec(u, nr, fd, a[1], (int)a[2], (int64_t)a[3], (int)a[5]);
    case 67:
        if (!gmem_range_ok(m, a[1], a[2]))
            return -EFAULT;
        return ret_errno(pread(fd, GP(a[1]), a[2], (off_t)a[3]));
    case 68:
        if (!gmem_range_ok(m, a[1], a[2]))
            return -EFAULT;
        return ret_errno(pwrite(fd, GP(a[1]), a[2], (off_t)a[3]));
    case 71: return ret_errno(syscall(SYS_sendfile, fd, (int)a[1], GP(a[2]), a[3]));
    case 76: return ret_errno(syscall(SYS_splice, fd, GP(a[1]), (int)a[2], GP(a[3]), a[4],
                                      (unsigned)a[5]));
    case 77: return ret_errno(syscall(SYS_tee, fd, (int)a[1], a[2], (unsigned)a[3]));
    case 285: return ret_errno(syscall(SYS_copy_file_range, fd, GP(a[1]), (int)a[2], GP(a[3]),
                                       a[4], (unsigned)a[5]));
    case 78: {
        if (!gmem_range_ok(m, a[2], a[3]))
            return -EFAULT;
        PATH_ARG(&p, a[1]);
        long r = user_readlink_proc(u, p.raw, a[2], a[3]);
        if (r != SC_NONE)
            return r;
        return ret_errno(syscall(SYS_readlinkat, fd, p.p, GP(a[2]), a[3]));
    }
    case 79: {
        struct stat st;
        PATH_ARG(&p, a[1]);
        const char *pp = p.p;
        if (strcmp(p.raw, "/proc/self/exe") == 0)
            pp = u->exe_path;
        if (syscall(SYS_newfstatat, fd, pp, &st, (int)a[3]) < 0)
            return -errno;
        return put_stat(u, a[2], &st);
    }
    case 80: {
        struct stat st;
        if (fstat(fd, &st) < 0)
            return -errno;
        return put_stat(u, a[1], &st);
    }
    case 291: {
        /* statx with an empty path works on the descriptor: no path to read */
        char c;
        if (get_user(u, &c, a[1], 1) < 0)
            return -EFAULT;
        if (c == 0)
            return ret_errno(syscall(SYS_statx, fd, "", (int)a[2], (unsigned)a[3], GP(a[4])));
        PATH_ARG(&p, a[1]);
        return ret_errno(syscall(SYS_statx, fd, p.p, (int)a[2], (unsigned)a[3], GP(a[4])));
    }
    case 81: sync(); return 0;
    case 82: return ret_errno(fsync(fd));
    case 83: return ret_errno(fdatasync(fd));
    case 84: return ret_errno(syscall(SYS_sync_file_range, fd, a[1], a[2], (unsigned)a[3]));
    case 267: return ret_errno(syncfs(fd));
    case 223: return ret_errno(syscall(SYS_fadvise64, fd, a[1], a[2], (int)a[3]));
    case 88: {
        if (!a[1])
            return ret_errno(syscall(SYS_utimensat, fd, NULL, GP(a[2]), (int)a[3]));
        PATH_ARG(&p, a[1]);
        return ret_errno(syscall(SYS_utimensat, fd, p.p, GP(a[2]), (int)a[3]));
    }
    case 166: return (long)umask((mode_t)a[0]);
    case 5: case 6: case 7: case 8: case 9: case 10: case 11: case 12: case 13:
    case 14: case 15: case 16:
        return -EOPNOTSUPP;     /* extended attributes */
    }
    return SC_NONE;
}
