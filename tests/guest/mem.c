/* mem.c - memory: malloc of many sizes, brk through sbrk, mmap/munmap/
 * mprotect, mremap-free reuse, memcpy/memmove/memset at odd alignments,
 * file I/O with fstat/lseek/pread, a directory listing, and the file
 * mappings /proc/self/maps shows (name, offset, inode).  Portable. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static uint32_t sum(const unsigned char *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = s * 33 + p[i];
    return s;
}

/* The /proc/self/maps line covering ADDR: perms, offset, inode, name. */
static int maps_line(void *addr, char *perms, unsigned long long *off, unsigned long long *ino,
                     char *name, size_t namelen)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4608];
    int found = 0;
    while (f && !found && fgets(line, sizeof(line), f)) {
        unsigned long long lo, hi;
        unsigned maj, min;
        int n = 0;
        if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &lo, &hi, perms, off, &maj, &min,
                   ino, &n) < 7)
            continue;
        if ((uintptr_t)addr < lo || (uintptr_t)addr >= hi)
            continue;
        snprintf(name, namelen, "%s", line + n);
        name[strcspn(name, "\n")] = 0;
        found = 1;
    }
    if (f)
        fclose(f);
    return found;
}

int main(int argc, char **argv)
{
    /* malloc: small and large (mmap-backed) blocks, freed out of order */
    void *blocks[200];
    uint32_t total = 0;
    for (int i = 0; i < 200; i++) {
        size_t sz = (size_t)(i * i * 37 % 300000) + 1;
        blocks[i] = malloc(sz);
        if (!blocks[i]) { printf("malloc failed\n"); return 1; }
        memset(blocks[i], i & 0xff, sz);
        total += sum(blocks[i], sz < 64 ? sz : 64);
    }
    for (int i = 0; i < 200; i += 2) free(blocks[i]);
    for (int i = 1; i < 200; i += 2) free(blocks[i]);
    printf("malloc: %u\n", total);

    char *b0 = sbrk(0);
    char *b1 = sbrk(1 << 20);
    memset(b1, 7, 1 << 20);
    char *b2 = sbrk(0);
    printf("sbrk grew by %ld, byte %d\n", (long)(b2 - b0), b1[12345]);

    size_t len = 16 * 4096;
    unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) { printf("mmap failed\n"); return 1; }
    printf("fresh mmap zero: %d\n", m[0] == 0 && m[len - 1] == 0);
    for (size_t i = 0; i < len; i++) m[i] = (unsigned char)(i * 7);
    printf("mprotect ro: %d\n", mprotect(m, 4096, PROT_READ));
    printf("munmap middle: %d\n", munmap(m + 4 * 4096, 4096));
    printf("mprotect hole: %d\n", mprotect(m + 3 * 4096, 3 * 4096, PROT_READ) == 0);
    unsigned char *m2 = mmap(m + 4 * 4096, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("map fixed into hole: %d zero %d\n", m2 == m + 4 * 4096, m2[100]);
    printf("sum: %u\n", sum(m + 8 * 4096, 8 * 4096));
    munmap(m, len);

    /* memcpy/memmove at all alignments */
    static unsigned char src[4096], dst[4096];
    for (int i = 0; i < 4096; i++) src[i] = (unsigned char)(i * 13 + 1);
    uint32_t cs = 0;
    for (int a = 0; a < 16; a++)
        for (int b = 0; b < 16; b++) {
            memset(dst, 0, sizeof(dst));
            memcpy(dst + a, src + b, 1000 + a * b);
            memmove(dst + b, dst + a, 500);
            cs = cs * 7 + sum(dst, 2048);
        }
    printf("memcpy: %u\n", cs);

    /* files */
    char path[256];
    snprintf(path, sizeof(path), "%s/emu-mem-test.%d", argc > 1 ? argv[1] : "/tmp", (int)getpid());
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    if (fd < 0) { printf("open failed\n"); return 1; }
    for (int i = 0; i < 100; i++) write(fd, src, 1000);
    struct stat st;
    fstat(fd, &st);
    printf("fstat size %lld regular %d\n", (long long)st.st_size, S_ISREG(st.st_mode));
    struct stat st2;
    stat(path, &st2);
    printf("stat same inode %d mode %o\n", st.st_ino == st2.st_ino, (unsigned)(st2.st_mode & 0777));
    printf("lseek %lld\n", (long long)lseek(fd, 12345, SEEK_SET));
    unsigned char rb[100];
    ssize_t got = read(fd, rb, 100);
    printf("read %zd first %d\n", got, rb[0]);
    got = pread(fd, rb, 100, 999);
    printf("pread %zd first %d\n", got, rb[0]);
    close(fd);
    FILE *fp = fopen(path, "r");
    fseek(fp, 0, SEEK_END);
    printf("ftell %ld\n", ftell(fp));
    fclose(fp);
    int ur = unlink(path);
    printf("unlink %d access-after %d\n", ur, access(path, F_OK));
    /* file mappings in /proc/self/maps: our own file at offset 4096, its
     * first page made writable (a separate line, same file, same inode) */
    char self[4096], name[4096], perms[8];
    unsigned long long off, ino;
    struct stat sst;
    int sfd = open(argv[0], O_RDONLY);
    if (sfd < 0 || !realpath(argv[0], self) || fstat(sfd, &sst) < 0) {
        printf("maps: cannot open myself\n");
        return 1;
    }
    char *fm = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, sfd, 4096);
    if (fm == MAP_FAILED || mprotect(fm, 4096, PROT_READ | PROT_WRITE) < 0) {
        printf("maps: mmap failed\n");
        return 1;
    }
    for (int k = 0; k < 2; k++) {
        if (!maps_line(fm + k * 4096, perms, &off, &ino, name, sizeof(name))) {
            printf("maps: page %d not listed\n", k);
            continue;
        }
        printf("maps: page %d %s offset %llu, inode %s, name %s\n", k, perms, off,
               ino == (unsigned long long)sst.st_ino ? "ok" : "wrong",
               strcmp(name, self) == 0 ? "ok" : name);
    }
    munmap(fm, 8192);
    close(sfd);
    /* an anonymous mapping has no name, offset or inode */
    char *am = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (am != MAP_FAILED && maps_line(am, perms, &off, &ino, name, sizeof(name)))
        printf("maps: anonymous %s offset %llu inode %llu name '%s'\n", perms, off, ino, name);
    return 0;
}
