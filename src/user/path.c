/* path.c - what paths mean to the guest: the -L sysroot (like
 * qemu-riscv64's: an absolute path that exists below the prefix is used
 * from there, everything else from the host; /proc, /sys and /dev are
 * always the host's), and the /proc/self files that must show the guest
 * rather than the emulator: exe, maps, auxv, cmdline. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "user.h"

static bool has_prefix_dir(const char *p, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(p, dir, n) == 0 && (p[n] == '/' || p[n] == 0);
}

const char *user_path(struct user *u, const char *path, char *buf, size_t len)
{
    if (!u->sysroot || !path || path[0] != '/' || path[1] == 0 || has_prefix_dir(path, "/proc") ||
        has_prefix_dir(path, "/sys") || has_prefix_dir(path, "/dev"))
        return path;
    int n = snprintf(buf, len, "%s%s", u->sysroot, path);
    if (n < 0 || (size_t)n >= len)
        return path;
    if (faccessat(AT_FDCWD, buf, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        return buf;
    return path;
}

/* "/proc/self/NAME" or "/proc/<our pid>/NAME": NAME, else NULL */
static const char *proc_self(const char *path)
{
    if (strncmp(path, "/proc/", 6) != 0)
        return NULL;
    const char *s = path + 6;
    if (strncmp(s, "self/", 5) == 0)
        return s + 5;
    char pid[24];
    int n = snprintf(pid, sizeof(pid), "%d/", (int)getpid());
    if (strncmp(s, pid, (size_t)n) == 0)
        return s + n;
    return NULL;
}

static int memfd_with(const void *data, size_t len, int flags)
{
    int fd = memfd_create("emu-proc", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
    if (fd < 0)
        return -errno;
    const uint8_t *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w <= 0) {
            close(fd);
            return -EIO;
        }
        p += w;
        len -= (size_t)w;
    }
    lseek(fd, 0, SEEK_SET);
    return fd;
}

static int proc_maps(struct user *u, int flags)
{
    struct guest_mem *m = &u->mem;
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return -ENOMEM;
    tr_lock(u->tr);
    for (size_t i = 0; i < m->n_vmas; i++) {
        const struct vma *v = &m->vmas[i];
        const char *name = "";
        if (v->start >= u->stack_lo && v->end <= GUEST_STACK_TOP)
            name = "[stack]";
        else if (v->start >= m->brk_start && v->end <= m->brk_mapped && m->brk_mapped > m->brk_start)
            name = "[heap]";
        if (v->name)
            name = v->name;
        int n = fprintf(f, "%08" PRIx64 "-%08" PRIx64 " %c%c%cp %08" PRIx64 " %02x:%02x %" PRIu64,
                        v->start, v->end, (v->prot & PROT_READ) ? 'r' : '-',
                        (v->prot & PROT_WRITE) ? 'w' : '-', (v->prot & PROT_EXEC) ? 'x' : '-',
                        v->name ? v->off : 0, v->dev_major, v->dev_minor, v->name ? v->ino : 0);
        fprintf(f, "%*s%s\n", *name ? MAX(1, 73 - n) : 0, "", name);
    }
    tr_unlock(u->tr);
    fclose(f);
    int fd = memfd_with(buf, size, flags);
    free(buf);
    return fd;
}

int user_open_proc(struct user *u, const char *path, int flags)
{
    const char *name = proc_self(path);
    if (!name)
        return (int)SC_NONE;
    if (strcmp(name, "exe") == 0)
        return ret_errno(open(u->exe_path, flags & ~(O_CREAT | O_TRUNC), 0));
    if (strcmp(name, "maps") == 0)
        return proc_maps(u, flags);
    if (strcmp(name, "auxv") == 0)
        return memfd_with(u->auxv, u->auxv_len, flags);
    if (strcmp(name, "cmdline") == 0) {
        size_t n = u->args_hi - u->args_lo;
        return memfd_with(g2h(&u->mem, u->args_lo), n, flags);
    }
    return (int)SC_NONE;
}

long user_readlink_proc(struct user *u, const char *path, uint64_t buf, uint64_t len)
{
    const char *name = proc_self(path);
    if (!name || strcmp(name, "exe") != 0)
        return SC_NONE;
    const char *exe = u->exe_path;
    size_t n = MIN(strlen(exe), len);
    int r = put_user(u, buf, exe, n);
    return r < 0 ? r : (long)n;
}
