/* loop.c - the select()-based event loop (see loop.h for the guarantees). */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/select.h>

#include "loop.h"
#include "log.h"
#include "i18n.h"

struct fd_handler {
    int fd;
    loop_fd_fn *on_read, *on_write;
    void *opaque;
    uint64_t serial;            /* creation order: see loop_run_once */
    struct fd_handler *next_dead;
};

struct loop_timer {
    struct loop *loop;
    loop_cb_fn *cb;
    void *opaque;
    uint64_t deadline;
    enum { TIMER_IDLE, TIMER_ARMED, TIMER_EXPIRED } state;
    struct loop_timer *prev, *next; /* in loop->armed or loop->expired */
};

struct loop_bh {
    struct loop *loop;
    loop_cb_fn *cb;
    void *opaque;
    atomic_bool scheduled;
    bool deleted;
    struct loop_bh *next;
};

struct loop_poll_hook {
    struct loop *loop;
    loop_poll_pre_fn *pre;
    loop_poll_post_fn *post;
    void *opaque;
    struct loop_poll_hook *next;
};

struct loop_poll {
    fd_set *rfds, *wfds;
    int nfds;
    uint64_t timeout_ns;        /* UINT64_MAX: none asked for */
};

struct timer_list {
    struct loop_timer *head, *tail;
};

struct loop {
    struct fd_handler *fds[FD_SETSIZE];
    int max_fd;                 /* highest fd with a handler, -1 if none */
    uint64_t next_serial;
    struct fd_handler *dead_fds; /* removed during dispatch, freed at depth 0 */
    int depth;                  /* nesting of loop_run_once */

    struct timer_list armed;    /* sorted by deadline */
    struct timer_list expired;  /* due in the current dispatch round */

    struct loop_bh *bhs;
    struct loop_poll_hook *hooks;
    bool bh_running;
    bool bh_dead;               /* some bh is marked deleted */

    int wake_fd;                /* eventfd: loop_wakeup and signals */
    atomic_bool wake_pending;

    atomic_bool quit;           /* loop_quit may come from any thread */
    bool shutdown_requested;
    int shutdown_signal;        /* the signal that asked for it */
    loop_cb_fn *shutdown_cb;
    void *shutdown_opaque;
};

/* Signals are process-wide, so the loop that handles them is too. */
static struct loop *signal_loop;
static volatile sig_atomic_t signal_caught;
static volatile int signal_wake_fd = -1;

uint64_t loop_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct loop *loop_new(struct error **errp)
{
    struct loop *loop = calloc(1, sizeof(*loop));
    if (!loop) {
        err_set(errp, ENOMEM, _("cannot allocate the event loop"));
        return NULL;
    }
    loop->max_fd = -1;
    loop->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->wake_fd < 0) {
        err_set_errno(errp, errno, _("event loop: cannot create its wake-up eventfd"));
        free(loop);
        return NULL;
    }
    if (loop->wake_fd >= FD_SETSIZE) {
        err_set(errp, EMFILE, _("event loop: wake-up fd %d is at or above FD_SETSIZE (%d)"),
                loop->wake_fd, FD_SETSIZE);
        close(loop->wake_fd);
        free(loop);
        return NULL;
    }
    return loop;
}

static void timer_unlink(struct loop_timer *t)
{
    struct timer_list *l = t->state == TIMER_ARMED ? &t->loop->armed : &t->loop->expired;
    if (t->state == TIMER_IDLE)
        return;
    if (t->prev)
        t->prev->next = t->next;
    else
        l->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        l->tail = t->prev;
    t->prev = t->next = NULL;
    t->state = TIMER_IDLE;
}

static void free_dead_fds(struct loop *loop)
{
    while (loop->dead_fds) {
        struct fd_handler *h = loop->dead_fds;
        loop->dead_fds = h->next_dead;
        free(h);
    }
}

static void purge_dead_bhs(struct loop *loop)
{
    struct loop_bh **pp = &loop->bhs;
    while (*pp) {
        struct loop_bh *bh = *pp;
        if (bh->deleted) {
            *pp = bh->next;
            free(bh);
        } else {
            pp = &bh->next;
        }
    }
    loop->bh_dead = false;
}

void loop_free(struct loop *loop)
{
    if (!loop)
        return;
    if (signal_loop == loop) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal_wake_fd = -1;
        signal_loop = NULL;
    }
    for (int fd = 0; fd <= loop->max_fd; fd++)
        free(loop->fds[fd]);
    free_dead_fds(loop);
    /* Timers and bottom halves are owned by their creators, who must free
     * them; detach any left so a late free does not touch freed memory. */
    while (loop->armed.head)
        timer_unlink(loop->armed.head);
    while (loop->expired.head)
        timer_unlink(loop->expired.head);
    while (loop->bhs) {
        struct loop_bh *bh = loop->bhs;
        loop->bhs = bh->next;
        free(bh);
    }
    while (loop->hooks) {
        struct loop_poll_hook *h = loop->hooks;
        loop->hooks = h->next;
        free(h);
    }
    close(loop->wake_fd);
    free(loop);
}

int loop_set_fd(struct loop *loop, int fd, loop_fd_fn *on_read, loop_fd_fn *on_write,
                void *opaque, struct error **errp)
{
    if (fd < 0)
        return err_set(errp, EBADF, _("event loop: invalid fd %d"), fd);
    if (fd >= FD_SETSIZE)
        return err_set(errp, EMFILE,
                       _("event loop: fd %d is at or above FD_SETSIZE (%d), select() cannot watch it"),
                       fd, FD_SETSIZE);
    if (!on_read && !on_write) {
        loop_remove_fd(loop, fd);
        return 0;
    }
    struct fd_handler *h = loop->fds[fd];
    if (!h) {
        h = calloc(1, sizeof(*h));
        if (!h)
            return err_set(errp, ENOMEM, _("event loop: out of memory adding fd %d"), fd);
        h->fd = fd;
        h->serial = loop->next_serial++;
        loop->fds[fd] = h;
        if (fd > loop->max_fd)
            loop->max_fd = fd;
    }
    h->on_read = on_read;
    h->on_write = on_write;
    h->opaque = opaque;
    return 0;
}

void loop_remove_fd(struct loop *loop, int fd)
{
    if (fd < 0 || fd >= FD_SETSIZE || !loop->fds[fd])
        return;
    struct fd_handler *h = loop->fds[fd];
    loop->fds[fd] = NULL;
    /* Freed after the current dispatch: a caller up the stack may still be
     * looking at it. */
    h->next_dead = loop->dead_fds;
    loop->dead_fds = h;
    if (loop->depth == 0)
        free_dead_fds(loop);
    while (loop->max_fd >= 0 && !loop->fds[loop->max_fd])
        loop->max_fd--;
}

struct loop_timer *loop_timer_new(struct loop *loop, loop_cb_fn *cb, void *opaque,
                                  struct error **errp)
{
    struct loop_timer *t = calloc(1, sizeof(*t));
    if (!t) {
        err_set(errp, ENOMEM, _("event loop: out of memory creating a timer"));
        return NULL;
    }
    t->loop = loop;
    t->cb = cb;
    t->opaque = opaque;
    return t;
}

void loop_timer_arm(struct loop_timer *t, uint64_t deadline_ns)
{
    struct loop *loop = t->loop;
    timer_unlink(t);
    t->deadline = deadline_ns;
    /* Insert after every timer with an earlier or equal deadline, so timers
     * with the same deadline fire in arming order. */
    struct loop_timer *after = loop->armed.tail;
    while (after && after->deadline > deadline_ns)
        after = after->prev;
    t->prev = after;
    t->next = after ? after->next : loop->armed.head;
    if (t->next)
        t->next->prev = t;
    else
        loop->armed.tail = t;
    if (after)
        after->next = t;
    else
        loop->armed.head = t;
    t->state = TIMER_ARMED;
}

void loop_timer_arm_in(struct loop_timer *t, uint64_t delay_ns)
{
    uint64_t now = loop_now_ns(), when;
    if (ADD_OVERFLOWS(now, delay_ns, &when))
        when = UINT64_MAX;
    loop_timer_arm(t, when);
}

void loop_timer_cancel(struct loop_timer *t)
{
    if (t)
        timer_unlink(t);
}

bool loop_timer_armed(const struct loop_timer *t)
{
    return t->state != TIMER_IDLE;
}

void loop_timer_free(struct loop_timer *t)
{
    if (!t)
        return;
    if (t->loop)
        timer_unlink(t);
    free(t);
}

struct loop_bh *loop_bh_new(struct loop *loop, loop_cb_fn *cb, void *opaque,
                            struct error **errp)
{
    struct loop_bh *bh = calloc(1, sizeof(*bh));
    if (!bh) {
        err_set(errp, ENOMEM, _("event loop: out of memory creating a bottom half"));
        return NULL;
    }
    bh->loop = loop;
    bh->cb = cb;
    bh->opaque = opaque;
    atomic_init(&bh->scheduled, false);
    bh->next = loop->bhs;
    loop->bhs = bh;
    return bh;
}

void loop_bh_schedule(struct loop_bh *bh)
{
    if (!atomic_exchange(&bh->scheduled, true))
        loop_wakeup(bh->loop);
}

void loop_bh_cancel(struct loop_bh *bh)
{
    atomic_store(&bh->scheduled, false);
}

void loop_bh_free(struct loop_bh *bh)
{
    if (!bh)
        return;
    struct loop *loop = bh->loop;
    atomic_store(&bh->scheduled, false);
    bh->deleted = true;
    loop->bh_dead = true;
    if (!loop->bh_running)
        purge_dead_bhs(loop);
}

void loop_wakeup(struct loop *loop)
{
    if (!atomic_exchange(&loop->wake_pending, true)) {
        uint64_t one = 1;
        /* EAGAIN means the counter is already non-zero: the loop will wake. */
        if (write(loop->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
            abort(); /* an eventfd write cannot fail otherwise */
    }
}

struct loop_poll_hook *loop_poll_hook_new(struct loop *loop, loop_poll_pre_fn *pre,
                                          loop_poll_post_fn *post, void *opaque,
                                          struct error **errp)
{
    struct loop_poll_hook *h = calloc(1, sizeof(*h));
    if (!h) {
        err_set(errp, ENOMEM, _("event loop: out of memory creating a poll hook"));
        return NULL;
    }
    h->loop = loop;
    h->pre = pre;
    h->post = post;
    h->opaque = opaque;
    h->next = loop->hooks;
    loop->hooks = h;
    return h;
}

void loop_poll_hook_free(struct loop_poll_hook *h)
{
    if (!h)
        return;
    for (struct loop_poll_hook **pp = &h->loop->hooks; *pp; pp = &(*pp)->next) {
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    }
    free(h);
}

int loop_poll_add(struct loop_poll *p, int fd, bool rd, bool wr)
{
    if (fd < 0 || fd >= FD_SETSIZE)
        return -1;
    if (rd)
        FD_SET(fd, p->rfds);
    if (wr)
        FD_SET(fd, p->wfds);
    if (fd >= p->nfds)
        p->nfds = fd + 1;
    return fd;
}

void loop_poll_timeout(struct loop_poll *p, uint64_t ns)
{
    if (ns < p->timeout_ns)
        p->timeout_ns = ns;
}

bool loop_poll_readable(const struct loop_poll *p, int fd)
{
    return fd >= 0 && fd < FD_SETSIZE && FD_ISSET(fd, p->rfds);
}

bool loop_poll_writable(const struct loop_poll *p, int fd)
{
    return fd >= 0 && fd < FD_SETSIZE && FD_ISSET(fd, p->wfds);
}

static void on_signal(int signo)
{
    int saved = errno;
    uint64_t one = 1;
    signal_caught = signo;
    if (signal_wake_fd >= 0 && write(signal_wake_fd, &one, sizeof(one)) < 0) {
        /* counter already non-zero: the loop wakes anyway */
    }
    errno = saved;
}

int loop_catch_signals(struct loop *loop, struct error **errp)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* One-shot: a second Ctrl-C while we shut down kills the process the
     * usual way, for the user whose shutdown is stuck. */
    sa.sa_flags = SA_RESETHAND;
    signal_loop = loop;
    signal_wake_fd = loop->wake_fd;
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
        return err_set_errno(errp, errno, _("event loop: cannot install signal handlers"));
    return 0;
}

void loop_set_shutdown_handler(struct loop *loop, loop_cb_fn *cb, void *opaque)
{
    loop->shutdown_cb = cb;
    loop->shutdown_opaque = opaque;
}

bool loop_shutdown_requested(const struct loop *loop)
{
    return loop->shutdown_requested;
}

int loop_shutdown_signal(const struct loop *loop)
{
    return loop->shutdown_signal;
}

void loop_quit(struct loop *loop)
{
    loop->quit = true;
    loop_wakeup(loop);
}

static bool bh_pending(const struct loop *loop)
{
    if (loop->bh_running)
        return false;
    for (const struct loop_bh *bh = loop->bhs; bh; bh = bh->next)
        if (atomic_load(&bh->scheduled))
            return true;
    return false;
}

static int run_bhs(struct loop *loop)
{
    int n = 0;
    if (loop->bh_running)
        return 0; /* never recursively */
    loop->bh_running = true;
    for (struct loop_bh *bh = loop->bhs; bh; bh = bh->next) {
        if (!bh->deleted && atomic_exchange(&bh->scheduled, false)) {
            bh->cb(bh->opaque);
            n++;
        }
    }
    loop->bh_running = false;
    if (loop->bh_dead)
        purge_dead_bhs(loop);
    return n;
}

static int run_timers(struct loop *loop)
{
    uint64_t now = loop_now_ns();
    int n = 0;
    /* Move every due timer to the expired list first: a callback that
     * re-arms its timer for "now" then fires on the next iteration instead
     * of looping here forever. */
    while (loop->armed.head && loop->armed.head->deadline <= now) {
        struct loop_timer *t = loop->armed.head;
        timer_unlink(t);
        t->state = TIMER_EXPIRED;
        t->prev = loop->expired.tail;
        t->next = NULL;
        if (t->prev)
            t->prev->next = t;
        else
            loop->expired.head = t;
        loop->expired.tail = t;
    }
    while (loop->expired.head) {
        struct loop_timer *t = loop->expired.head;
        timer_unlink(t);
        t->cb(t->opaque);
        n++;
    }
    return n;
}

static void handle_wake(void *opaque, int fd)
{
    struct loop *loop = opaque;
    uint64_t v;
    /* Read first, then allow the next wake-up.  The other order loses
     * wake-ups for good: a loop_wakeup() between the two sets
     * wake_pending and writes, the read consumes that write too, and
     * wake_pending stays set with nothing left to read, so every later
     * loop_wakeup() skips its write.  In this order a wake-up that finds
     * wake_pending still set is not lost: what it announced (a bottom half,
     * quit) is looked at before the next select(). */
    if (read(fd, &v, sizeof(v)) < 0) {
        /* EAGAIN: nothing pending */
    }
    atomic_store(&loop->wake_pending, false);
}

int loop_run_once(struct loop *loop, bool blocking, struct error **errp)
{
    fd_set rfds, wfds;
    int n = 0, nfds;
    struct timeval tv, *tvp = NULL;

    loop->depth++;
    n += run_bhs(loop);
    n += run_timers(loop);

    FD_ZERO(&rfds);
    FD_ZERO(&wfds);
    FD_SET(loop->wake_fd, &rfds);
    nfds = loop->wake_fd + 1;
    for (int fd = 0; fd <= loop->max_fd; fd++) {
        struct fd_handler *h = loop->fds[fd];
        if (!h)
            continue;
        if (h->on_read)
            FD_SET(fd, &rfds);
        if (h->on_write)
            FD_SET(fd, &wfds);
        if (fd >= nfds)
            nfds = fd + 1;
    }
    /* Handlers created from here on did not take part in this select(). */
    uint64_t round = loop->next_serial;
    /* Poll hooks add their descriptors (only the outermost round). */
    struct loop_poll poll = { &rfds, &wfds, nfds, UINT64_MAX };
    bool hooks = loop->depth == 1 && loop->hooks;
    if (hooks) {
        for (struct loop_poll_hook *h = loop->hooks; h; h = h->next)
            h->pre(h->opaque, &poll);
        nfds = poll.nfds;
    }

    if (!blocking || n > 0 || bh_pending(loop) || loop->quit || signal_caught) {
        tv.tv_sec = 0;
        tv.tv_usec = 0;
        tvp = &tv;
    } else if (loop->armed.head || poll.timeout_ns != UINT64_MAX) {
        uint64_t now = loop_now_ns();
        uint64_t d = loop->armed.head ? loop->armed.head->deadline : UINT64_MAX;
        uint64_t wait = d > now ? d - now : 0;
        wait = MIN(wait, poll.timeout_ns);
        /* Round up so we never wake just before the deadline and spin. */
        uint64_t us = DIV_ROUND_UP(wait, 1000u);
        tv.tv_sec = (time_t)MIN(us / 1000000u, (uint64_t)INT32_MAX);
        tv.tv_usec = (suseconds_t)(us % 1000000u);
        tvp = &tv;
    }

    int r = select(nfds, &rfds, &wfds, NULL, tvp);
    if (hooks) {
        int e = errno;
        if (r < 0) {
            FD_ZERO(&rfds);
            FD_ZERO(&wfds);
        }
        for (struct loop_poll_hook *h = loop->hooks; h; h = h->next)
            h->post(h->opaque, &poll, r < 0);
        errno = e;
    }
    if (r < 0) {
        int e = errno;
        loop->depth--;
        if (e == EINTR)
            goto signals;
        return err_set_errno(errp, e, _("event loop: select() failed"));
    }
    if (log_on(LOG_LOOP))
        log_msg(LOG_LOOP, "select: %d ready", r);
    if (r > 0) {
        if (FD_ISSET(loop->wake_fd, &rfds)) {
            handle_wake(loop, loop->wake_fd);
            r--;
        }
        for (int fd = 0; fd < nfds && r > 0; fd++) {
            bool rd = FD_ISSET(fd, &rfds) && fd != loop->wake_fd;
            bool wr = FD_ISSET(fd, &wfds);
            if (!rd && !wr)
                continue;
            r -= rd + wr;
            struct fd_handler *h = loop->fds[fd];
            if (h && h->serial < round && rd && h->on_read) {
                h->on_read(h->opaque, fd);
                n++;
            }
            /* Look again: the read handler may have removed or replaced it. */
            h = loop->fds[fd];
            if (h && h->serial < round && wr && h->on_write) {
                h->on_write(h->opaque, fd);
                n++;
            }
        }
    }
    loop->depth--;

signals:
    if (signal_caught && signal_loop == loop) {
        loop->shutdown_signal = signal_caught;
        signal_caught = 0;
        loop->shutdown_requested = true;
        if (loop->shutdown_cb)
            loop->shutdown_cb(loop->shutdown_opaque);
        else
            loop_quit(loop);
        n++;
    }
    if (loop->depth == 0)
        free_dead_fds(loop);
    return n;
}

int loop_run(struct loop *loop, struct error **errp)
{
    while (!loop->quit) {
        int r = loop_run_once(loop, true, errp);
        if (r < 0)
            return r;
    }
    loop->quit = false;
    return 0;
}
