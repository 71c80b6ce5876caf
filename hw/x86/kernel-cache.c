/* kernel-cache.c - bzImages decompressed once per kernel, not once per
 * boot (hw/x86/unpack.c says why the host does it at all).
 *
 * The cache is $XDG_CACHE_HOME/emu/vmlinux/ (else ~/.cache/...), one ELF
 * file per kernel named by a 64-bit hash and the size of the bzImage's
 * bytes, so a rebuilt kernel at the same path is a new entry and a stale
 * one can never be booted.  Entries are written to a temporary file,
 * synced and renamed, so a crash leaves a whole entry or none; a reader
 * still checks what it reads as any untrusted ELF file (x86_pvh_check)
 * and drops an entry that fails.  The newest X86_KCACHE_KEEP entries
 * (by the time of their last use) are kept: a kernel developer's few
 * kernels of the day, 60-70 MB each for a distribution kernel.
 *
 * The cache is a convenience: when it cannot be read or written (no
 * home, a read-only file system, a full disk), the kernel is decompressed
 * in memory for this boot and nothing is said.
 */
#include <config.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "hw/x86/boot.h"
#include "hw/x86/kernel-cache.h"
#include "i18n.h"

#define X86_KCACHE_KEEP 4
#define KCACHE_SUFFIX ".vmlinux"

/* Not cryptographic: the key only tells kernels apart, and whoever can
 * write the cache can change the kernel anyway.  Four 64-bit lanes of
 * multiply-xorshift, so it runs at memory speed. */
static uint64_t kcache_hash(const uint8_t *p, size_t n)
{
    const uint64_t k = 0x9e3779b97f4a7c15ull;
    uint64_t h[4] = { k, k ^ 1, k ^ 2, k ^ 3 };
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int l = 0; l < 4; l++) {
            uint64_t w;
            memcpy(&w, p + i + 8 * l, 8);
            h[l] = (h[l] ^ w) * 0xff51afd7ed558ccdull;
            h[l] ^= h[l] >> 29;
        }
    }
    uint64_t x = h[0] ^ (h[1] * 3) ^ (h[2] * 5) ^ (h[3] * 7) ^ n;
    for (; i < n; i++)
        x = (x ^ p[i]) * 0x100000001b3ull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* The cache directory, created if need be; NULL when there is none. */
static char *kcache_dir(void)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char *dir = NULL;
    if (xdg && *xdg == '/') {
        if (asprintf(&dir, "%s/emu/vmlinux", xdg) < 0)
            return NULL;
    } else if (home && *home == '/') {
        if (asprintf(&dir, "%s/.cache/emu/vmlinux", home) < 0)
            return NULL;
    } else {
        return NULL;
    }
    /* each level, as mkdir -p does; 0700: kernels are the user's */
    for (char *s = strchr(dir + 1, '/');; s = strchr(s + 1, '/')) {
        if (s)
            *s = '\0';
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
            free(dir);
            return NULL;
        }
        if (!s)
            break;
        *s = '/';
    }
    return dir;
}

static int write_all(int fd, const uint8_t *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = write(fd, buf + done, n - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

/* An entry that maps whole and passes the ELF checks, or NULL.  Mapped,
 * not read: the loader copies the segments once, straight from the page
 * cache.  Entries are only ever renamed into place, never rewritten, so
 * the mapping cannot shrink under us. */
static uint8_t *kcache_map(const char *path, const char *name, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    uint8_t *p = MAP_FAILED;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uint64_t)st.st_size <= X86_UNPACK_MAX)
        p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (p != MAP_FAILED && x86_pvh_check(p, (size_t)st.st_size, name, NULL) == 0) {
        *len = (size_t)st.st_size;
        futimens(fd, NULL);             /* last use, for the eviction */
        close(fd);
        return p;
    }
    if (p != MAP_FAILED) {
        munmap(p, (size_t)st.st_size);
        unlink(path);                   /* damaged: made again */
    }
    close(fd);
    return NULL;
}

struct kcache_entry {
    char name[NAME_MAX + 1];
    struct timespec used;
};

static int newest_first(const void *pa, const void *pb)
{
    const struct timespec *a = &((const struct kcache_entry *)pa)->used;
    const struct timespec *b = &((const struct kcache_entry *)pb)->used;
    if (a->tv_sec != b->tv_sec)
        return a->tv_sec < b->tv_sec ? 1 : -1;
    return a->tv_nsec < b->tv_nsec ? 1 : a->tv_nsec > b->tv_nsec ? -1 : 0;
}

/* Keep the X86_KCACHE_KEEP entries used last (of the first 64 seen: a
 * directory with more was not made by us alone). */
static void kcache_evict(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct kcache_entry *e = calloc(64, sizeof(*e));
    int n = 0;
    struct dirent *de;
    size_t sl = strlen(KCACHE_SUFFIX);
    while (e && n < 64 && (de = readdir(d))) {
        size_t l = strlen(de->d_name);
        struct stat st;
        if (l > sl && de->d_name[0] != '.' && strcmp(de->d_name + l - sl, KCACHE_SUFFIX) == 0 &&
            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISREG(st.st_mode)) {
            snprintf(e[n].name, sizeof(e[n].name), "%s", de->d_name);
            e[n++].used = st.st_mtim;
        }
    }
    if (e) {
        qsort(e, (size_t)n, sizeof(*e), newest_first);
        for (int i = X86_KCACHE_KEEP; i < n; i++)
            unlinkat(dirfd(d), e[i].name, 0);
    }
    free(e);
    closedir(d);
}

static void *kcache_store(void *opaque)
{
    struct x86_kernel_image *k = opaque;
    char *tmp = NULL;
    if (asprintf(&tmp, "%s/.tmp-XXXXXX", k->dir) < 0)
        return NULL;
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        free(tmp);
        return NULL;
    }
    /* synced before the rename: after a crash the name points at a whole
     * file or at nothing */
    bool ok = write_all(fd, k->data, k->len) == 0 && fdatasync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, k->path) < 0)
        unlink(tmp);
    free(tmp);
    if (ok)
        kcache_evict(k->dir);
    return NULL;
}

int x86_kernel_unpacked(const uint8_t *img, size_t len, const char *name,
                        struct x86_kernel_image *out, struct error **errp)
{
    memset(out, 0, sizeof(*out));
    out->dir = kcache_dir();
    if (out->dir && asprintf(&out->path, "%s/%016" PRIx64 "-%zx" KCACHE_SUFFIX, out->dir,
                             kcache_hash(img, len), len) < 0)
        out->path = NULL;
    if (out->path && (out->data = kcache_map(out->path, name, &out->len)))
        return 0;
    uint8_t *elf;
    int r = x86_bzimage_unpack(img, len, name, &elf, &out->len, errp);
    if (r < 0) {
        x86_kernel_release(out);
        return r;
    }
    out->data = elf;
    /* The guest need not wait for the disk: the entry is written while
     * it boots, and x86_kernel_release waits for the writer. */
    if (out->path && pthread_create(&out->writer, NULL, kcache_store, out) == 0)
        out->storing = true;
    return 0;
}

void x86_kernel_release(struct x86_kernel_image *k)
{
    if (k->storing)
        pthread_join(k->writer, NULL);
    if (k->data)
        munmap((void *)k->data, k->len);
    free(k->path);
    free(k->dir);
    memset(k, 0, sizeof(*k));
}
