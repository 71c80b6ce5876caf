/* syscall-net.c - sockets and waiting for descriptors: socket calls
 * (struct sockaddr, msghdr and cmsghdr are laid out alike on riscv64 and
 * x86-64; only the pointers inside msghdr and iovecs need translating),
 * poll/ppoll, pselect6, epoll (struct epoll_event is packed to 12 bytes
 * on x86-64 but 16 on riscv64), eventfd, timerfd, signalfd.
 * See syscall.c for the conventions. */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "user.h"
#include "log.h"

/* riscv64's struct epoll_event: natural alignment */
struct rv_epoll_event {
    uint32_t events;
    uint32_t pad;
    uint64_t data;
};

/* struct msghdr with host pointers; iov holds the translated vector */
struct host_msg {
    struct msghdr h;
    struct iovec *iov;
};

static int get_msghdr(struct user *u, uint64_t ga, struct host_msg *hm)
{
    uint64_t g[7];   /* name, namelen, iov, iovlen, control, controllen, flags */
    if (get_user(u, g, ga, sizeof(g)) < 0)
        return -EFAULT;
    if (g[3] > 1024)
        return -EMSGSIZE;
    memset(hm, 0, sizeof(*hm));
    hm->iov = calloc(g[3] + 1, sizeof(struct iovec));
    uint64_t *gi = calloc(g[3] + 1, 16);
    if (!hm->iov || !gi) {
        free(hm->iov);
        free(gi);
        return -ENOMEM;
    }
    if (get_user(u, gi, g[2], g[3] * 16) < 0) {
        free(hm->iov);
        free(gi);
        return -EFAULT;
    }
    for (uint64_t i = 0; i < g[3]; i++) {
        hm->iov[i].iov_base = GP(gi[2 * i]);
        hm->iov[i].iov_len = gi[2 * i + 1];
    }
    free(gi);
    hm->h.msg_name = GP(g[0]);
    hm->h.msg_namelen = (socklen_t)g[1];
    hm->h.msg_iov = hm->iov;
    hm->h.msg_iovlen = g[3];
    hm->h.msg_control = GP(g[4]);
    hm->h.msg_controllen = g[5];
    hm->h.msg_flags = (int)g[6];
    return 0;
}

/* After recvmsg: the lengths and flags the kernel updated. */
static int put_msghdr_result(struct user *u, uint64_t ga, const struct host_msg *hm)
{
    uint32_t namelen = hm->h.msg_namelen;
    uint64_t controllen = hm->h.msg_controllen;
    int32_t flags = hm->h.msg_flags;
    if (put_user(u, ga + 8, &namelen, 4) < 0 || put_user(u, ga + 40, &controllen, 8) < 0 ||
        put_user(u, ga + 48, &flags, 4) < 0)
        return -EFAULT;
    return 0;
}

static long do_msg(struct user *u, int nr, int fd, uint64_t ga, int flags)
{
    struct host_msg hm;
    int r = get_msghdr(u, ga, &hm);
    if (r < 0)
        return r;
    long n;
    if (nr == 211) {
        n = ret_errno(sendmsg(fd, &hm.h, flags));
    } else {
        n = ret_errno(recvmsg(fd, &hm.h, flags));
        if (n >= 0 && put_msghdr_result(u, ga, &hm) < 0)
            n = -EFAULT;
    }
    free(hm.iov);
    return n;
}

/* sendmmsg/recvmmsg: struct mmsghdr is a msghdr (56 bytes) + unsigned len */
static long do_mmsg(struct user *u, int nr, int fd, uint64_t ga, unsigned vlen, int flags)
{
    if (vlen > 1024)
        vlen = 1024;
    unsigned done = 0;
    for (; done < vlen; done++) {
        uint64_t ea = ga + (uint64_t)done * 64;
        struct host_msg hm;
        int r = get_msghdr(u, ea, &hm);
        if (r < 0)
            return done ? (long)done : r;
        long n = nr == 269 ? sendmsg(fd, &hm.h, flags) : recvmsg(fd, &hm.h, flags);
        if (n < 0) {
            int e = errno;
            free(hm.iov);
            return done ? (long)done : -e;
        }
        if (nr != 269)
            put_msghdr_result(u, ea, &hm);
        free(hm.iov);
        uint32_t len = (uint32_t)n;
        put_user(u, ea + 56, &len, 4);
        if (nr != 269 && (flags & MSG_WAITFORONE))
            flags |= MSG_DONTWAIT;
    }
    return done;
}

/* The sigmask argument of ppoll/pselect6/epoll_pwait: the guest's mask
 * is emulated, so it is applied to the guest thread for the duration;
 * host signals stay deliverable to interrupt the wait. */
static int swap_mask(struct user *u, uint64_t ga, uint64_t size, uint64_t *saved, bool *swapped)
{
    *swapped = false;
    if (!ga)
        return 0;
    if (size != 8)
        return -EINVAL;
    uint64_t m;
    if (get_user(u, &m, ga, 8) < 0)
        return -EFAULT;
    *saved = user_thread->blocked;
    user_thread->blocked = m;
    *swapped = true;
    return 0;
}

static void restore_mask(uint64_t saved, bool swapped, long r)
{
    if (!swapped)
        return;
    if (r == -EINTR) {
        /* the handler runs with the temporary mask in place, and returns to the old one */
        user_thread->suspend_saved = saved;
        user_thread->in_suspend = true;
    } else {
        user_thread->blocked = saved;
    }
}

/* Host signals blocked from the check for pending guest signals until
 * the kernel atomically unblocks them inside the wait (the sigmask
 * argument of ppoll, pselect6, epoll_pwait): a signal arriving in between
 * cannot be lost. */
static void block_host_signals(sigset_t *old)
{
    sigset_t all;
    sigfillset(&all);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    pthread_sigmask(SIG_BLOCK, &all, old);
}

static long do_epoll_wait(struct user *u, int epfd, uint64_t ev_ga, int maxev, int timeout,
                          const struct timespec *ts, bool use_ts)
{
    if (maxev <= 0 || maxev > 65536)
        return -EINVAL;
    struct epoll_event *ev = calloc((size_t)maxev, sizeof(*ev));
    if (!ev)
        return -ENOMEM;
    long n;
    sigset_t old;
    block_host_signals(&old);
    if (user_signal_ready(u))
        n = -EINTR;
    else if (use_ts)
        n = ret_errno(syscall(SYS_epoll_pwait2, epfd, ev, maxev, ts, &old, 8));
    else
        n = ret_errno(epoll_pwait(epfd, ev, maxev, timeout, &old));
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    for (long i = 0; i < n; i++) {
        struct rv_epoll_event g = { ev[i].events, 0, ev[i].data.u64 };
        if (put_user(u, ev_ga + 16 * (uint64_t)i, &g, sizeof(g)) < 0) {
            n = -EFAULT;
            break;
        }
    }
    free(ev);
    return n;
}

long sys_net(struct user *u, int nr, const uint64_t *a)
{
    int fd = (int)a[0];
    long r;
    uint64_t saved = 0;
    bool swapped;
    switch (nr) {
    case 198: return ret_errno(socket((int)a[0], (int)a[1], (int)a[2]));
    case 199: return ret_errno(socketpair((int)a[0], (int)a[1], (int)a[2], GP(a[3])));
    case 200: return ret_errno(bind(fd, GP(a[1]), (socklen_t)a[2]));
    case 201: return ret_errno(listen(fd, (int)a[1]));
    case 202: return ret_errno(accept(fd, GP(a[1]), GP(a[2])));
    case 242: return ret_errno(accept4(fd, GP(a[1]), GP(a[2]), (int)a[3]));
    case 203: return ret_errno(connect(fd, GP(a[1]), (socklen_t)a[2]));
    case 204: return ret_errno(getsockname(fd, GP(a[1]), GP(a[2])));
    case 205: return ret_errno(getpeername(fd, GP(a[1]), GP(a[2])));
    case 206:
        if (!gmem_range_ok(&u->mem, a[1], a[2]))
            return -EFAULT;
        return ret_errno(sendto(fd, GP(a[1]), a[2], (int)a[3], GP(a[4]), (socklen_t)a[5]));
    case 207:
        if (!gmem_range_ok(&u->mem, a[1], a[2]))
            return -EFAULT;
        return ret_errno(recvfrom(fd, GP(a[1]), a[2], (int)a[3], GP(a[4]), GP(a[5])));
    case 208: return ret_errno(setsockopt(fd, (int)a[1], (int)a[2], GP(a[3]), (socklen_t)a[4]));
    case 209: return ret_errno(getsockopt(fd, (int)a[1], (int)a[2], GP(a[3]), GP(a[4])));
    case 210: return ret_errno(shutdown(fd, (int)a[1]));
    case 211: case 212: return do_msg(u, nr, fd, a[1], (int)a[2]);
    case 243: case 269: return do_mmsg(u, nr, fd, a[1], (unsigned)a[2], (int)a[3]);
    case 73:    /* ppoll */
        if ((r = swap_mask(u, a[3], a[4], &saved, &swapped)) < 0)
            return r;
        {
            sigset_t old;
            block_host_signals(&old);
            r = user_signal_ready(u) ? -EINTR
                                     : ret_errno(syscall(SYS_ppoll, GP(a[0]), a[1], GP(a[2]), &old,
                                                         8));
            pthread_sigmask(SIG_SETMASK, &old, NULL);
        }
        restore_mask(saved, swapped, r);
        return r;
    case 72: {  /* pselect6: the last argument is { sigset pointer, size } */
        uint64_t sm[2] = { 0, 0 };
        if (a[5] && get_user(u, sm, a[5], sizeof(sm)) < 0)
            return -EFAULT;
        if ((r = swap_mask(u, sm[0], sm[1], &saved, &swapped)) < 0)
            return r;
        {
            sigset_t old;
            block_host_signals(&old);
            struct { sigset_t *set; size_t size; } hs = { &old, 8 };
            r = user_signal_ready(u) ? -EINTR
                                     : ret_errno(syscall(SYS_pselect6, fd, GP(a[1]), GP(a[2]),
                                                         GP(a[3]), GP(a[4]), &hs));
            pthread_sigmask(SIG_SETMASK, &old, NULL);
        }
        restore_mask(saved, swapped, r);
        return r;
    }
    case 20: return ret_errno(epoll_create1((int)a[0]));
    case 21: {
        struct rv_epoll_event g;
        struct epoll_event ev;
        if (a[3]) {
            if (get_user(u, &g, a[3], sizeof(g)) < 0)
                return -EFAULT;
            ev.events = g.events;
            ev.data.u64 = g.data;
        }
        return ret_errno(epoll_ctl(fd, (int)a[1], (int)a[2], a[3] ? &ev : NULL));
    }
    case 22:    /* epoll_pwait */
        if ((r = swap_mask(u, a[4], a[5], &saved, &swapped)) < 0)
            return r;
        r = do_epoll_wait(u, fd, a[1], (int)a[2], (int)a[3], NULL, false);
        restore_mask(saved, swapped, r);
        return r;
    case 441: { /* epoll_pwait2 */
        struct timespec ts;
        if (a[3] && get_user(u, &ts, a[3], sizeof(ts)) < 0)
            return -EFAULT;
        if ((r = swap_mask(u, a[4], a[5], &saved, &swapped)) < 0)
            return r;
        r = do_epoll_wait(u, fd, a[1], (int)a[2], -1, a[3] ? &ts : NULL, true);
        restore_mask(saved, swapped, r);
        return r;
    }
    case 19: return ret_errno(syscall(SYS_eventfd2, (unsigned)a[0], (int)a[1]));
    case 85: return ret_errno(syscall(SYS_timerfd_create, (int)a[0], (int)a[1]));
    case 86: return ret_errno(syscall(SYS_timerfd_settime, fd, (int)a[1], GP(a[2]), GP(a[3])));
    case 87: return ret_errno(syscall(SYS_timerfd_gettime, fd, GP(a[1])));
    case 74: {  /* signalfd4: the signals must reach the host queue, so block them there */
        uint64_t m;
        if (a[2] != 8 || get_user(u, &m, a[1], 8) < 0)
            return -EINVAL;
        sigset_t hs;
        sigemptyset(&hs);
        for (int sig = 1; sig < 64; sig++)
            if (((m >> (sig - 1)) & 1) && sig != SIGSEGV && sig != SIGBUS && sig != SIG_KICK)
                sigaddset(&hs, sig);
        return ret_errno(signalfd(fd, &hs, (int)a[3]));
    }
    }
    return SC_NONE;
}
