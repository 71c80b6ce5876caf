/* test-chardev.c - character devices: the file, pty and Unix socket back
 * ends, input paced by the front end's can_read, and the Ctrl-A commands
 * of mon:stdio (with stdin and stdout pointed at a pipe and a file). */
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "chardev.h"
#include "hw/hw.h"
#include "unit.h"

static struct loop *L;
static char dir[] = "/tmp/test-chardev-XXXXXX";

/* A front end with a small receive FIFO, as a UART's. */
struct fe {
    uint8_t got[4096];
    size_t len;
    size_t room;            /* what can_read answers */
    bool unlocked_call;     /* a callback ran without the device lock */
    int quits;
};

static size_t fe_can_read(void *opaque)
{
    struct fe *f = opaque;
    if (!hw_lock_held())
        f->unlocked_call = true;
    return f->room;
}

static void fe_read(void *opaque, const uint8_t *buf, size_t len)
{
    struct fe *f = opaque;
    if (!hw_lock_held())
        f->unlocked_call = true;
    if (len > f->room || f->len + len > sizeof(f->got)) {
        f->unlocked_call = true;    /* more than can_read allowed: flag it too */
        return;
    }
    memcpy(f->got + f->len, buf, len);
    f->len += len;
    f->room -= len;
}

static const struct chardev_frontend fe_ops = { fe_can_read, fe_read };

static void fe_quit(void *opaque)
{
    ((struct fe *)opaque)->quits++;
}

/* Run the loop until COND or about a second passes. */
#define RUN_UNTIL(cond)                                                      \
    do {                                                                     \
        for (int i_ = 0; i_ < 200 && !(cond); i_++) {                        \
            loop_run_once(L, false, NULL);                                   \
            usleep(5000);                                                    \
        }                                                                    \
    } while (0)

static char *slurp(const char *path)
{
    static char buf[8192];
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
    if (fd >= 0)
        close(fd);
    buf[n > 0 ? n : 0] = 0;
    return buf;
}

static void test_specs(void)
{
    struct chardev *c = (struct chardev *)1;
    struct error *err = NULL;
    CHECK(chardev_new(&c, L, "none", NULL) == 0 && c == NULL);
    CHECK(chardev_new(&c, L, "bogus:x", &err) == -EINVAL && c == NULL);
    CHECK_CONTAINS(err_msg(err), "bogus:x");
    err_free(err);
    err = NULL;
    CHECK(chardev_new(&c, L, "file:/nonexistent/dir/x", &err) < 0);
    CHECK_CONTAINS(err_msg(err), "/nonexistent/dir/x");
    err_free(err);
    err = NULL;
    CHECK(chardev_new(&c, L, "unix:/tmp/x,server=on,colour=blue", &err) == -EINVAL);
    CHECK_CONTAINS(err_msg(err), "colour");
    err_free(err);
    CHECK(chardev_new(&c, L, "null", NULL) == 0 && c);
    chardev_write(c, (const uint8_t *)"gone", 4);      /* dropped, no crash */
    CHECK(strcmp(chardev_label(c), "null") == 0);
    chardev_free(c);
    /* NULL is "not connected": every call is a no-op */
    chardev_write(NULL, (const uint8_t *)"x", 1);
    chardev_accept_input(NULL);
    CHECK(strcmp(chardev_label(NULL), "none") == 0);
}

static void test_file(void)
{
    char path[64];
    snprintf(path, sizeof(path), "%s/out", dir);
    struct chardev *c;
    char spec[80];
    snprintf(spec, sizeof(spec), "file:%s", path);
    CHECK(chardev_new(&c, L, spec, NULL) == 0 && c);
    chardev_write(c, (const uint8_t *)"hello ", 6);
    chardev_write(c, (const uint8_t *)"world\n", 6);
    chardev_free(c);
    CHECK(strcmp(slurp(path), "hello world\n") == 0);
    /* truncated when opened again, as qemu's file back end */
    CHECK(chardev_new(&c, L, spec, NULL) == 0 && c);
    chardev_write(c, (const uint8_t *)"2\n", 2);
    chardev_free(c);
    CHECK(strcmp(slurp(path), "2\n") == 0);
}

static int unix_connect(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static ssize_t read_some(int fd, char *buf, size_t len)
{
    struct timeval tv = { .tv_sec = 2 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ssize_t n = read(fd, buf, len - 1);
    buf[n > 0 ? n : 0] = 0;
    return n;
}

static void test_unix_server(void)
{
    char path[64], spec[96];
    snprintf(path, sizeof(path), "%s/sock", dir);
    snprintf(spec, sizeof(spec), "unix:%s,server=on,wait=off", path);
    struct chardev *c;
    struct fe f = { .room = 3 };
    CHECK(chardev_new(&c, L, spec, NULL) == 0 && c);
    chardev_set_frontend(c, &fe_ops, &f);
    chardev_write(c, (const uint8_t *)"nobody", 6);    /* no client: dropped */

    int s = unix_connect(path);
    CHECK(s >= 0);
    CHECK(write(s, "abcdefgh", 8) == 8);
    /* the front end takes 3, then says 0: the rest waits */
    RUN_UNTIL(f.len == 3);
    CHECK_U64(f.len, 3);
    for (int i = 0; i < 5; i++)
        loop_run_once(L, false, NULL);
    CHECK_U64(f.len, 3);
    /* room again: a hart thread would call this under the device lock */
    hw_lock();
    f.room = 100;
    chardev_accept_input(c);
    hw_unlock();
    RUN_UNTIL(f.len == 8);
    CHECK(f.len == 8 && memcmp(f.got, "abcdefgh", 8) == 0);
    CHECK(!f.unlocked_call);

    char buf[64];
    chardev_write(c, (const uint8_t *)"to client", 9);
    CHECK(read_some(s, buf, sizeof(buf)) == 9 && strcmp(buf, "to client") == 0);

    /* one client at a time: a second one waits in the backlog */
    int s2 = unix_connect(path);
    CHECK(s2 >= 0);
    CHECK(write(s2, "Z", 1) == 1);
    for (int i = 0; i < 5; i++)
        loop_run_once(L, false, NULL);
    CHECK_U64(f.len, 8);
    /* the first hangs up; output meanwhile is dropped; the second is taken */
    close(s);
    RUN_UNTIL(f.len == 9);
    CHECK(f.len == 9 && f.got[8] == 'Z');
    chardev_write(c, (const uint8_t *)"second", 6);
    CHECK(read_some(s2, buf, sizeof(buf)) == 6 && strcmp(buf, "second") == 0);
    close(s2);
    RUN_UNTIL(false);
    chardev_write(c, (const uint8_t *)"x", 1);         /* peer gone: no SIGPIPE */
    chardev_free(c);
    CHECK(access(path, F_OK) < 0);                      /* socket removed */
}

static const char *waited_label;

static void on_wait(const char *label)
{
    waited_label = label;
}

static void *late_client(void *arg)
{
    usleep(100000);
    int fd = unix_connect(arg);
    if (fd >= 0) {
        if (write(fd, "hi", 2) != 2)
            abort();
        usleep(300000);
        close(fd);
    }
    return NULL;
}

static void test_unix_wait(void)
{
    char path[64], spec[160];
    snprintf(path, sizeof(path), "%s/wsock", dir);
    snprintf(spec, sizeof(spec), "unix:%s,server", path);
    chardev_set_wait_notifier(on_wait);
    pthread_t t;
    pthread_create(&t, NULL, late_client, path);
    struct chardev *c = NULL;
    /* blocks until the thread connects */
    CHECK(chardev_new(&c, L, spec, NULL) == 0 && c);
    CHECK(waited_label && strstr(waited_label, path));
    struct fe f = { .room = 100 };
    chardev_set_frontend(c, &fe_ops, &f);
    RUN_UNTIL(f.len == 2);
    CHECK(f.len == 2 && memcmp(f.got, "hi", 2) == 0);
    pthread_join(t, NULL);
    chardev_free(c);
    chardev_set_wait_notifier(NULL);

    /* client mode: connect to a listener of ours */
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/csock", dir);
    CHECK(bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(l, 1) == 0);
    snprintf(spec, sizeof(spec), "unix:%s", sa.sun_path);
    CHECK(chardev_new(&c, L, spec, NULL) == 0 && c);
    int a = accept(l, NULL, NULL);
    chardev_write(c, (const uint8_t *)"up", 2);
    char buf[16];
    CHECK(read_some(a, buf, sizeof(buf)) == 2 && strcmp(buf, "up") == 0);
    close(a);
    close(l);
    chardev_free(c);
}

static void test_pty(void)
{
    struct chardev *c;
    CHECK(chardev_new(&c, L, "pty", NULL) == 0 && c);
    const char *label = chardev_label(c);
    CHECK(strncmp(label, "pty /dev/", 9) == 0);
    int s = open(label + 4, O_RDWR | O_NOCTTY);
    CHECK(s >= 0);
    struct fe f = { .room = 100 };
    chardev_set_frontend(c, &fe_ops, &f);
    CHECK(write(s, "k", 1) == 1);
    RUN_UNTIL(f.len == 1);
    CHECK(f.len == 1 && f.got[0] == 'k');
    chardev_write(c, (const uint8_t *)"out\n", 4);
    char buf[16];
    ssize_t n = read(s, buf, sizeof(buf) - 1);
    CHECK(n == 4 && memcmp(buf, "out\n", 4) == 0);     /* raw: no \r added */
    close(s);
    /* nobody attached: output fills the pty and is then dropped, and
     * only the first full write waits */
    char big[4096];
    memset(big, 'x', sizeof(big));
    uint64_t t0 = loop_now_ns();
    for (int i = 0; i < 64; i++)
        chardev_write(c, (const uint8_t *)big, sizeof(big));
    CHECK(loop_now_ns() - t0 < UINT64_C(3000000000));
    chardev_free(c);
}

static void test_mux(void)
{
    int in[2];
    char outpath[64];
    snprintf(outpath, sizeof(outpath), "%s/stdout", dir);
    CHECK(pipe(in) == 0);
    int saved0 = dup(0), saved1 = dup(1);
    int o = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(in[0], 0);
    dup2(o, 1);
    close(in[0]);
    close(o);

    struct chardev *c, *c2 = NULL;
    struct error *err = NULL;
    struct fe f = { .room = 1000 };
    CHECK(chardev_new(&c, L, "mon:stdio", NULL) == 0 && c);
    CHECK(chardev_new(&c2, L, "stdio", &err) < 0 && !c2);
    CHECK_CONTAINS(err_msg(err), "stdio");
    err_free(err);
    chardev_set_frontend(c, &fe_ops, &f);
    chardev_set_quit_handler(c, fe_quit, &f);
    /* a b, C-a h (help), c, C-a a, C-a C-a, d, C-a z (ignored), C-a c,
     * e, C-a x (quit) */
    static const char keys[] = "ab\001hc\001a\001\001d\001z\001ce\001x";
    CHECK(write(in[1], keys, sizeof(keys) - 1) == (ssize_t)sizeof(keys) - 1);
    RUN_UNTIL(f.quits == 1);
    CHECK_U64(f.quits, 1);
    CHECK(f.len == 7 && memcmp(f.got, "abc\001\001de", 7) == 0);
    /* C-a split across two reads still works */
    CHECK(write(in[1], "\001", 1) == 1);
    RUN_UNTIL(false);
    CHECK(write(in[1], "x", 1) == 1);
    RUN_UNTIL(f.quits == 2);
    CHECK_U64(f.quits, 2);

    /* C-a t: stamps from the next line on */
    CHECK(write(in[1], "\001t", 2) == 2);
    RUN_UNTIL(false);
    chardev_write(c, (const uint8_t *)"one\ntwo\n", 8);
    CHECK(write(in[1], "\001t", 2) == 2);
    RUN_UNTIL(false);
    chardev_write(c, (const uint8_t *)"three\n", 6);

    /* EOF on stdin: reading stops, the loop does not spin on it */
    close(in[1]);
    RUN_UNTIL(false);
    int n = 0;
    for (int i = 0; i < 5; i++)
        n += loop_run_once(L, false, NULL);
    CHECK_U64(n, 0);
    chardev_write(c, (const uint8_t *)"after eof\n", 10);
    chardev_free(c);
    dup2(saved0, 0);
    dup2(saved1, 1);
    close(saved0);
    close(saved1);

    const char *out = slurp(outpath);
    CHECK_CONTAINS(out, "C-a h    print this help\r\n");
    CHECK_CONTAINS(out, "C-a x    exit emulator\r\n");
    CHECK_CONTAINS(out, "C-a C-a  sends C-a\r\n");
    CHECK_CONTAINS(out, "terminated");
    CHECK_CONTAINS(out, "no monitor");
    CHECK_CONTAINS(out, "one\n[00:00:0");
    CHECK_CONTAINS(out, "] two\nthree\nafter eof\n");
    CHECK(strstr(out, "[00:00:00.000] one") == NULL);
    CHECK(!f.unlocked_call);
    /* stdio is free again */
    CHECK(chardev_new(&c, L, "stdio", NULL) == 0 && c);
    chardev_free(c);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    L = loop_new(NULL);
    test_specs();
    test_file();
    test_unix_server();
    test_unix_wait();
    test_pty();
    test_mux();
    loop_free(L);
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return unit_result();
}
