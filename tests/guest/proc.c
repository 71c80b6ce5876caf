/* proc.c - processes and descriptors as a userland uses them: a fork
 * tree, fork+exec of ourselves and of a "#!" script, wait4, pipes, dup3,
 * poll/ppoll/pselect/epoll, eventfd, timerfd, socketpair, a TCP echo over
 * loopback, getdents64, statx and the *at calls, prlimit64, prctl,
 * ioctls.  argv[1] is a scratch directory.  Compared with qemu-riscv64. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static int tree(int depth)
{
    if (depth == 0)
        return 1;
    int sum = 1;
    pid_t kids[2];
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        if (kids[i] == 0)
            _exit(tree(depth - 1));
    }
    for (int i = 0; i < 2; i++) {
        int st;
        if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st))
            return -100;
        sum += WEXITSTATUS(st);
    }
    return sum;
}

static void tcp_echo(void)
{
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 4) < 0) {
        printf("tcp: bind/listen failed\n");
        return;
    }
    socklen_t al = sizeof(a);
    getsockname(ls, (struct sockaddr *)&a, &al);
    pid_t p = fork();
    if (p == 0) {
        int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        char buf[256];
        ssize_t n;
        while ((n = recv(c, buf, sizeof(buf), 0)) > 0)
            send(c, buf, (size_t)n, 0);
        _exit(0);
    }
    close(ls);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
        printf("tcp: connect failed: %s\n", strerror(errno));
        return;
    }
    struct sockaddr_in peer;
    socklen_t pl = sizeof(peer);
    getpeername(s, (struct sockaddr *)&peer, &pl);
    int total = 0;
    for (int i = 0; i < 50; i++) {
        char msg[64], back[64];
        int n = snprintf(msg, sizeof(msg), "message %d", i);
        struct iovec iov = { msg, (size_t)n };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        sendmsg(s, &mh, 0);
        int got = 0;
        while (got < n) {
            struct iovec riov = { back + got, (size_t)(n - got) };
            struct msghdr rh = { .msg_iov = &riov, .msg_iovlen = 1 };
            ssize_t r = recvmsg(s, &rh, 0);
            if (r <= 0)
                break;
            got += (int)r;
        }
        if (got == n && memcmp(msg, back, (size_t)n) == 0)
            total++;
    }
    shutdown(s, SHUT_WR);
    close(s);
    int st;
    waitpid(p, &st, 0);
    printf("tcp echo: %d/50 round trips, peer is loopback %d, server exit %d\n", total,
           peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK), WEXITSTATUS(st));
}

static void waiting(void)
{
    int p[2];
    pipe2(p, O_CLOEXEC);
    struct pollfd pf = { p[0], POLLIN, 0 };
    printf("poll empty: %d\n", poll(&pf, 1, 10));
    write(p[1], "xyz", 3);
    printf("poll ready: %d revents %d\n", poll(&pf, 1, 10), pf.revents);
    int avail = -1;
    ioctl(p[0], FIONREAD, &avail);
    printf("FIONREAD: %d\n", avail);
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    struct timespec ts = { 0, 1000000 };
    printf("pselect: %d\n", pselect(p[0] + 1, &rs, NULL, NULL, &ts, NULL));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0x1122334455667788ull };
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    int efd = eventfd(3, EFD_CLOEXEC);
    struct epoll_event ev2 = { .events = EPOLLIN, .data.u64 = 42 };
    epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev2);
    struct epoll_event out[4];
    int n = epoll_wait(ep, out, 4, 100);
    unsigned long long sum = 0;
    for (int i = 0; i < n; i++)
        sum += out[i].data.u64;
    printf("epoll: %d events, data sum %llx\n", n, sum);
    uint64_t v;
    read(efd, &v, 8);
    printf("eventfd: %llu\n", (unsigned long long)v);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    struct itimerspec its = { { 0, 0 }, { 0, 2000000 } };
    timerfd_settime(tfd, 0, &its, NULL);
    read(tfd, &v, 8);
    printf("timerfd expirations: %llu\n", (unsigned long long)v);
    int nd = dup3(p[0], 100, O_CLOEXEC);
    printf("dup3: %d cloexec %d\n", nd, (fcntl(nd, F_GETFD) & FD_CLOEXEC) != 0);
    char buf[8] = { 0 };
    read(nd, buf, sizeof(buf) - 1);
    printf("read through dup: %s\n", buf);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    write(sv[0], "pair", 4);
    memset(buf, 0, sizeof(buf));
    read(sv[1], buf, 4);
    printf("socketpair: %s\n", buf);
    struct termios t;
    printf("TCGETS on a pipe: %d %s\n", tcgetattr(p[0], &t), strerror(errno));
    close(p[0]);
    close(p[1]);
    close(nd);
    close(ep);
    close(efd);
    close(tfd);
    close(sv[0]);
    close(sv[1]);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void files(const char *dir)
{
    int d = open(dir, O_RDONLY | O_DIRECTORY);
    mkdirat(d, "sub", 0755);
    int f = openat(d, "sub/a.txt", O_CREAT | O_WRONLY | O_TRUNC, 0640);
    write(f, "hello", 5);
    close(f);
    symlinkat("a.txt", d, "sub/link");
    linkat(d, "sub/a.txt", d, "sub/hard", 0);
    renameat(d, "sub/hard", d, "sub/b.txt");
    struct statx sx;
    statx(d, "sub/link", 0, STATX_SIZE | STATX_MODE | STATX_NLINK, &sx);
    printf("statx: size %llu mode %o nlink %u\n", (unsigned long long)sx.stx_size,
           sx.stx_mode & 0777, sx.stx_nlink);
    struct stat st;
    fstatat(d, "sub/link", &st, AT_SYMLINK_NOFOLLOW);
    printf("lstat link: %s\n", S_ISLNK(st.st_mode) ? "symlink" : "not a link");
    char tgt[64] = { 0 };
    readlinkat(d, "sub/link", tgt, sizeof(tgt) - 1);
    printf("readlink: %s\n", tgt);
    fchmodat(d, "sub/b.txt", 0600, 0);
    fstatat(d, "sub/b.txt", &st, 0);
    printf("chmod: %o access W %d\n", st.st_mode & 0777, faccessat(d, "sub/b.txt", W_OK, 0));
    DIR *dd = opendir(dir);
    char path[4096];
    snprintf(path, sizeof(path), "%s/sub", dir);
    closedir(dd);
    dd = opendir(path);
    char *names[16];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dd)) && n < 16)
        names[n++] = strdup(e->d_name);
    closedir(dd);
    qsort(names, (size_t)n, sizeof(*names), name_cmp);
    printf("getdents64:");
    for (int i = 0; i < n; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
    unlinkat(d, "sub/link", 0);
    unlinkat(d, "sub/a.txt", 0);
    unlinkat(d, "sub/b.txt", 0);
    printf("rmdir: %d\n", unlinkat(d, "sub", AT_REMOVEDIR));
    close(d);
}

static void limits(void)
{
    struct rlimit rl = { 64, 128 }, old;
    prlimit(0, RLIMIT_NOFILE, &rl, &old);
    getrlimit(RLIMIT_NOFILE, &rl);
    printf("prlimit NOFILE: %llu %llu\n", (unsigned long long)rl.rlim_cur,
           (unsigned long long)rl.rlim_max);
    prlimit(0, RLIMIT_NOFILE, &old, NULL);
    char name[16] = { 0 };
    prctl(PR_SET_NAME, "emutest", 0, 0, 0);
    prctl(PR_GET_NAME, name, 0, 0, 0);
    printf("prctl name: %s\n", name);
}

static void execs(char **argv);

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1 && strcmp(argv[1], "exec-child") == 0) {
        printf("exec child: argc %d, %s\n", argc, argc > 2 ? argv[2] : "-");
        return 23;
    }
    if (argc > 1 && strcmp(argv[1], "interp") == 0) {
        /* started through a "#!" line: interp, its argument, the script, ours */
        printf("script: argc %d, arg %s, last %s\n", argc, argv[1], argv[argc - 1]);
        return 24;
    }
    if (argc < 2)
        return 2;
    printf("fork tree of depth 4: %d processes\n", tree(4));
    /* qemu-riscv64 cannot run a riscv64 program from execve without
     * binfmt_misc: the driver asks for this part from emu only */
    if (argc > 2 && strcmp(argv[2], "exec") == 0)
        execs(argv);
    printf("execve of a missing file: %d %s\n", execl("/nonexistent/x", "x", NULL),
           strerror(errno));
    waiting();
    tcp_echo();
    files(argv[1]);
    limits();
    return 0;
}

static void execs(char **argv)
{
    pid_t p = fork();
    if (p == 0) {
        char *args[] = { argv[0], "exec-child", "from exec", NULL };
        execv("/proc/self/exe", args);
        _exit(99);
    }
    int st;
    struct rusage ru;
    wait4(p, &st, 0, &ru);
    printf("fork+exec: exit %d\n", WEXITSTATUS(st));

    char exe[4096] = { 0 }, script[4096];
    readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    snprintf(script, sizeof(script), "%s/script", argv[1]);
    FILE *sf = fopen(script, "w");
    fprintf(sf, "#!%s interp\nthis is not run\n", exe);
    fclose(sf);
    chmod(script, 0755);
    p = fork();
    if (p == 0) {
        char *args[] = { script, "last-arg", NULL };
        execv(script, args);
        _exit(98);
    }
    waitpid(p, &st, 0);
    printf("script exec: exit %d\n", WEXITSTATUS(st));
    unlink(script);
}
