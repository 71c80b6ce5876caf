/* test-loop.c - the select() event loop: fd handlers (changed from inside
 * callbacks), timers, bottom halves, cross-thread wake-up, signals, and the
 * FD_SETSIZE limit. */
#include <config.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/select.h>
#include "loop.h"
#include "unit.h"

static struct loop *L;

/* ---- fd handlers ---- */
struct pipe_ctx {
    int fds[2];
    int reads;
    int other_fd;       /* fd whose handler this callback removes */
    int add_fd;         /* fd whose handler this callback adds */
};

static void on_read_count(void *opaque, int fd)
{
    struct pipe_ctx *c = opaque;
    char b;
    if (read(fd, &b, 1) == 1)
        c->reads++;
}

static void on_read_remove_self(void *opaque, int fd)
{
    on_read_count(opaque, fd);
    loop_remove_fd(L, fd);
}

static void on_read_remove_other(void *opaque, int fd)
{
    struct pipe_ctx *c = opaque;
    on_read_count(opaque, fd);
    loop_remove_fd(L, c->other_fd);
    if (c->add_fd >= 0)
        CHECK(loop_set_fd(L, c->add_fd, on_read_count, NULL, c, NULL) == 0);
}

static int writes;
static void on_write_once(void *opaque, int fd)
{
    writes++;
    CHECK(write(fd, "w", 1) == 1);
    loop_set_fd(L, fd, NULL, NULL, NULL, NULL); /* same as remove */
}

static void test_fds(void)
{
    struct pipe_ctx a = { .other_fd = -1, .add_fd = -1 }, b = { .other_fd = -1, .add_fd = -1 };
    CHECK(pipe(a.fds) == 0 && pipe(b.fds) == 0);

    /* A handler that removes itself runs once even though data remains. */
    CHECK(loop_set_fd(L, a.fds[0], on_read_remove_self, NULL, &a, NULL) == 0);
    CHECK(write(a.fds[1], "xy", 2) == 2);
    for (int i = 0; i < 5; i++)
        loop_run_once(L, false, NULL);
    CHECK(a.reads == 1);

    /* Both ready in one round; whichever runs first removes the other, so
     * exactly one of them runs (the removed one is never called).  The
     * first also adds a handler for a third, ready fd: it must not run in
     * the round that was selected before it existed. */
    struct pipe_ctx c = { .other_fd = -1, .add_fd = -1 };
    CHECK(pipe(c.fds) == 0);
    a.reads = b.reads = 0;
    char drain[8];
    CHECK(read(a.fds[0], drain, 1) == 1);
    a.other_fd = b.fds[0];
    b.other_fd = a.fds[0];
    a.add_fd = b.add_fd = c.fds[0];
    CHECK(loop_set_fd(L, a.fds[0], on_read_remove_other, NULL, &a, NULL) == 0);
    CHECK(loop_set_fd(L, b.fds[0], on_read_remove_other, NULL, &b, NULL) == 0);
    CHECK(write(a.fds[1], "1", 1) == 1 && write(b.fds[1], "2", 1) == 1);
    CHECK(write(c.fds[1], "3", 1) == 1);
    int n = loop_run_once(L, false, NULL);
    CHECK(n == 1);
    CHECK(a.reads + b.reads == 1);
    CHECK(c.reads == 0);
    /* The next round runs the added handler (context: whichever added it). */
    loop_run_once(L, false, NULL);
    struct pipe_ctx *adder = a.reads ? &a : &b;
    CHECK(adder->reads == 2);
    loop_remove_fd(L, c.fds[0]);
    loop_remove_fd(L, a.fds[0]);
    loop_remove_fd(L, b.fds[0]);
    loop_remove_fd(L, 12345 % FD_SETSIZE); /* removing an unknown fd is harmless */

    /* Write handler. */
    CHECK(loop_set_fd(L, c.fds[1], NULL, on_write_once, NULL, NULL) == 0);
    loop_run_once(L, false, NULL);
    loop_run_once(L, false, NULL);
    CHECK(writes == 1);

    for (int i = 0; i < 2; i++) {
        close(a.fds[i]);
        close(b.fds[i]);
        close(c.fds[i]);
    }
}

static void test_fd_limit(void)
{
    struct error *err = NULL;
    CHECK(loop_set_fd(L, FD_SETSIZE, on_read_count, NULL, NULL, &err) == -EMFILE);
    CHECK_CONTAINS(err_msg(err), "at or above FD_SETSIZE");
    err_free(err);
    err = NULL;
    CHECK(loop_set_fd(L, -1, on_read_count, NULL, NULL, &err) == -EBADF);
    err_free(err);
    err = NULL;

    /* With a real descriptor above the limit, when the rlimit allows one. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max > FD_SETSIZE + 1) {
        rl.rlim_cur = FD_SETSIZE + 2;
        CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
        int p[2];
        CHECK(pipe(p) == 0);
        int big = dup2(p[0], FD_SETSIZE + 1);
        CHECK(big == FD_SETSIZE + 1);
        CHECK(loop_set_fd(L, big, on_read_count, NULL, NULL, &err) == -EMFILE);
        CHECK_CONTAINS(err_msg(err), "fd 1025 is at or above FD_SETSIZE (1024)");
        err_free(err);
        err = NULL;
        loop_run_once(L, false, NULL); /* the loop still works */
        close(big);
        close(p[0]);
        close(p[1]);
    } else {
        fprintf(stderr, "note: RLIMIT_NOFILE hard limit too low for a real fd >= FD_SETSIZE\n");
    }
}

/* ---- timers ---- */
static char order[16];
static int norder;
struct tctx { char name; struct loop_timer *t; int rearm; };

static void on_timer(void *opaque)
{
    struct tctx *c = opaque;
    order[norder++] = c->name;
    if (c->rearm-- > 0)
        loop_timer_arm_in(c->t, 0);   /* due at once: fires next round */
}

static void on_timer_free_self(void *opaque)
{
    struct tctx *c = opaque;
    order[norder++] = c->name;
    loop_timer_free(c->t);
    c->t = NULL;
}

static void test_timers(void)
{
    struct tctx a = { 'a' }, b = { 'b' }, c = { 'c' }, d = { 'd' };
    a.t = loop_timer_new(L, on_timer, &a, NULL);
    b.t = loop_timer_new(L, on_timer, &b, NULL);
    c.t = loop_timer_new(L, on_timer, &c, NULL);
    d.t = loop_timer_new(L, on_timer_free_self, &d, NULL);
    uint64_t now = loop_now_ns();
    /* Armed in reverse order; must fire in deadline order. */
    loop_timer_arm(c.t, now + 30000000);
    loop_timer_arm(b.t, now + 20000000);
    loop_timer_arm(a.t, now + 10000000);
    loop_timer_arm(d.t, now + 25000000);
    loop_timer_arm(b.t, now + 40000000); /* re-arm moves it */
    CHECK(loop_timer_armed(b.t));
    loop_timer_cancel(c.t);
    CHECK(!loop_timer_armed(c.t));

    while (norder < 3)
        loop_run_once(L, true, NULL);
    uint64_t took = loop_now_ns() - now;
    CHECK(strcmp(order, "adb") == 0);
    CHECK(took >= 40000000);      /* not early */
    CHECK(took < 2000000000);     /* and blocked on the deadline, not forever */
    CHECK(d.t == NULL);

    /* The earliest deadline sets the select() timeout: one blocking
     * iteration with only a 50 ms timer returns after ~50 ms. */
    norder = 0;
    memset(order, 0, sizeof(order));
    now = loop_now_ns();
    loop_timer_arm_in(a.t, 50000000);
    loop_timer_arm_in(c.t, 5000000000u);
    int n = 0;
    while (n == 0)
        n = loop_run_once(L, true, NULL);
    took = loop_now_ns() - now;
    CHECK(strcmp(order, "a") == 0);
    CHECK(took >= 50000000 && took < 1000000000);
    loop_timer_cancel(c.t);

    /* A timer that re-arms itself for "now" fires once per iteration. */
    norder = 0;
    memset(order, 0, sizeof(order));
    a.rearm = 3;
    loop_timer_arm_in(a.t, 0);
    loop_run_once(L, false, NULL);
    CHECK(norder == 1);
    for (int i = 0; i < 5; i++)
        loop_run_once(L, false, NULL);
    CHECK(strcmp(order, "aaaa") == 0);

    loop_timer_free(a.t);
    loop_timer_free(b.t);
    loop_timer_free(c.t);
    loop_timer_free(NULL);
}

/* ---- bottom halves ---- */
static int bh_runs[4];
static int bh_depth, bh_max_depth;
static struct loop_bh *bh_a, *bh_b, *bh_self;

static void bh_count(void *opaque)
{
    int i = (int)(intptr_t)opaque;
    bh_depth++;
    if (bh_depth > bh_max_depth)
        bh_max_depth = bh_depth;
    bh_runs[i]++;
    if (i == 0) {
        /* A bottom half that spins the loop: B, scheduled here, must not
         * run inside it. */
        loop_bh_schedule(bh_b);
        loop_run_once(L, false, NULL);
        CHECK(bh_runs[1] == 0);
    }
    bh_depth--;
}

static void bh_free_self(void *opaque)
{
    bh_runs[2]++;
    loop_bh_free(bh_self);
}

struct wake_arg { struct loop_bh *bh; useconds_t delay; };
static void *thread_schedule(void *p)
{
    struct wake_arg *w = p;
    usleep(w->delay);
    if (w->bh)
        loop_bh_schedule(w->bh);
    else
        loop_wakeup(L);
    return NULL;
}

static void test_bhs(void)
{
    bh_a = loop_bh_new(L, bh_count, (void *)0, NULL);
    bh_b = loop_bh_new(L, bh_count, (void *)1, NULL);
    bh_self = loop_bh_new(L, bh_free_self, NULL, NULL);
    loop_bh_schedule(bh_a);
    loop_bh_schedule(bh_a); /* already scheduled: still runs once */
    loop_run_once(L, false, NULL);
    CHECK(bh_runs[0] == 1);
    CHECK(bh_max_depth == 1);
    loop_run_once(L, false, NULL);
    CHECK(bh_runs[1] == 1);
    loop_run_once(L, false, NULL);
    CHECK(bh_runs[0] == 1 && bh_runs[1] == 1);

    loop_bh_schedule(bh_b);
    loop_bh_cancel(bh_b);
    loop_run_once(L, false, NULL);
    CHECK(bh_runs[1] == 1);

    loop_bh_schedule(bh_self);
    loop_run_once(L, false, NULL);
    CHECK(bh_runs[2] == 1);

    /* Scheduled from another thread while the loop blocks with nothing
     * else to wait for: the loop wakes and runs it. */
    pthread_t th;
    struct wake_arg w = { bh_b, 50000 };
    uint64_t t0 = loop_now_ns();
    CHECK(pthread_create(&th, NULL, thread_schedule, &w) == 0);
    while (bh_runs[1] == 1)
        loop_run_once(L, true, NULL);
    pthread_join(th, NULL);
    CHECK(bh_runs[1] == 2);
    CHECK(loop_now_ns() - t0 < 2000000000u);

    /* A bare wake-up from another thread returns a blocked iteration. */
    w.bh = NULL;
    CHECK(pthread_create(&th, NULL, thread_schedule, &w) == 0);
    CHECK(loop_run_once(L, true, NULL) == 0);
    pthread_join(th, NULL);

    loop_bh_free(bh_a);
    loop_bh_free(bh_b);
}

/* ---- signals ---- */
static int shutdowns;
static void on_shutdown(void *opaque)
{
    shutdowns++;
    loop_quit(opaque);
}

static void on_signal_timer(void *opaque)
{
    kill(getpid(), (int)(intptr_t)opaque);
}

static void test_signals(void)
{
    struct error *err = NULL;
    CHECK(loop_catch_signals(L, &err) == 0);
    CHECK(!loop_shutdown_requested(L));
    struct loop_timer *t = loop_timer_new(L, on_signal_timer, (void *)(intptr_t)SIGTERM, NULL);
    loop_timer_arm_in(t, 10000000);
    CHECK(loop_run(L, NULL) == 0); /* returns because of SIGTERM */
    CHECK(loop_shutdown_requested(L));

    /* Again with SIGINT and a shutdown handler of our own. */
    CHECK(loop_catch_signals(L, &err) == 0);
    loop_set_shutdown_handler(L, on_shutdown, L);
    loop_timer_free(t);
    t = loop_timer_new(L, on_signal_timer, (void *)(intptr_t)SIGINT, NULL);
    loop_timer_arm_in(t, 10000000);
    CHECK(loop_run(L, NULL) == 0);
    CHECK(shutdowns == 1);
    loop_timer_free(t);
}

/* ---- poll hooks ---- */
struct hook_ctx {
    int fd;                     /* watched by the hook, not by a handler */
    int pres, posts, ready;
    uint64_t timeout;
    bool nested;                /* run a nested round from POST */
};

static void hook_pre(void *opaque, struct loop_poll *p)
{
    struct hook_ctx *c = opaque;
    c->pres++;
    CHECK(loop_poll_add(p, c->fd, true, false) == c->fd);
    CHECK(loop_poll_add(p, FD_SETSIZE, true, false) == -1);
    if (c->timeout)
        loop_poll_timeout(p, c->timeout);
}

static void hook_post(void *opaque, struct loop_poll *p, bool error)
{
    struct hook_ctx *c = opaque;
    c->posts++;
    if (!error && loop_poll_readable(p, c->fd)) {
        char b;
        CHECK(read(c->fd, &b, 1) == 1);
        c->ready++;
    }
    if (c->nested) {
        /* hooks never run in a nested round */
        int pres = c->pres;
        c->nested = false;
        CHECK(loop_run_once(L, false, NULL) >= 0);
        CHECK(c->pres == pres);
    }
}

static void test_poll_hooks(void)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    struct hook_ctx c = { .fd = fds[0] };
    struct loop_poll_hook *h = loop_poll_hook_new(L, hook_pre, hook_post, &c, NULL);
    CHECK(h != NULL);
    /* Nothing ready: a blocking round ends at the hook's timeout. */
    c.timeout = 20000000;
    uint64_t t0 = loop_now_ns();
    CHECK(loop_run_once(L, true, NULL) >= 0);
    uint64_t dt = loop_now_ns() - t0;
    CHECK(dt >= 15000000 && dt < 2000000000);
    CHECK(c.pres == 1 && c.posts == 1 && c.ready == 0);
    /* The hook's fd wakes a blocking round and POST sees it. */
    c.timeout = 0;
    CHECK(write(fds[1], "x", 1) == 1);
    CHECK(loop_run_once(L, true, NULL) >= 0);
    CHECK(c.ready == 1 && c.posts == 2);
    c.nested = true;
    CHECK(loop_run_once(L, false, NULL) >= 0);
    CHECK(c.posts == 3 && !c.nested);
    loop_poll_hook_free(h);
    CHECK(loop_run_once(L, false, NULL) >= 0);
    CHECK(c.pres == 3);
    close(fds[0]);
    close(fds[1]);
}

int main(void)
{
    struct error *err = NULL;
    L = loop_new(&err);
    CHECK(L != NULL);
    if (!L) {
        fprintf(stderr, "%s\n", err_msg(err));
        return 1;
    }
    test_fds();
    test_fd_limit();
    test_timers();
    test_bhs();
    test_poll_hooks();
    test_signals();
    loop_free(L);
    return unit_result();
}
