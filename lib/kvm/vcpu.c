/* vcpu.c - the vCPUs: their file descriptors and kvm_run pages, one
 * thread each looping on KVM_RUN, and how another thread gets one out.
 *
 * Kicking: the kicker sets the vCPU's stop flag, then run->immediate_exit,
 * then sends the thread a signal (whose handler does nothing, installed
 * without SA_RESTART).  If the thread is inside KVM_RUN the signal makes
 * it return -EINTR; if it is anywhere between its stop check and the
 * ioctl, immediate_exit makes the next KVM_RUN return -EINTR at once.
 * The thread clears immediate_exit only before it checks the flag again,
 * so no kick is lost (the flag is stored before immediate_exit).
 */
#include <config.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "kvm/kvm-int.h"
#include "i18n.h"

int kvm_kick_signal(void)
{
    /* A real-time signal nobody else in the programs uses. */
    return SIGRTMIN + 4;
}

static void kvm_kick_handler(int sig)
{
    (void)sig;      /* its only job is to interrupt KVM_RUN */
}

static int kvm_kick_result;

static void kvm_kick_install_once(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kvm_kick_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;            /* no SA_RESTART: KVM_RUN must return */
    kvm_kick_result = sigaction(kvm_kick_signal(), &sa, NULL) < 0 ? -errno : 0;
}

static int kvm_install_kick(struct error **errp)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, kvm_kick_install_once);
    if (kvm_kick_result < 0)
        return err_set_errno(errp, -kvm_kick_result,
                             _("KVM: cannot install the vCPU kick signal"));
    return 0;
}

int kvm_vcpus_create(struct kvm *k, struct error **errp)
{
    int r = kvm_install_kick(errp);
    if (r < 0)
        return r;
    while (k->n_cpus < k->cfg.accel.n_cpus) {
        struct kvm_cpu *c = calloc(1, sizeof(*c));
        if (!c)
            return err_set(errp, ENOMEM, _("out of memory"));
        c->k = k;
        c->index = k->n_cpus;
        c->fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, (unsigned long)c->index);
        if (c->fd < 0) {
            int e = errno;
            free(c);
            return err_set_errno(errp, e, _("KVM: cannot create vCPU %d"), k->n_cpus);
        }
        k->cpus[k->n_cpus++] = c;       /* kvm_close frees it from here on */
        c->run = mmap(NULL, k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
        if (c->run == MAP_FAILED) {
            c->run = NULL;
            return err_set_errno(errp, errno, _("KVM: cannot map vCPU %d's kvm_run"),
                                 c->index);
        }
        if ((r = kvm_cpu_reset(c, errp)) < 0)
            return r;
    }
    return 0;
}

/* The vCPU thread: KVM_RUN until told to stop or an exit says so. */
static void *kvm_cpu_thread(void *opaque)
{
    struct kvm_cpu *c = opaque;
    /* Process signals belong to the loop thread; only the kick is ours. */
    sigset_t set;
    sigfillset(&set);
    sigdelset(&set, kvm_kick_signal());
    sigdelset(&set, SIGSEGV);
    sigdelset(&set, SIGBUS);
    sigdelset(&set, SIGFPE);
    sigdelset(&set, SIGILL);
    pthread_sigmask(SIG_SETMASK, &set, NULL);
    bool pending = false;       /* an exit whose instruction KVM has not finished */
    for (;;) {
        __atomic_store_n(&c->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&c->stop, __ATOMIC_SEQ_CST))
            break;
        int r = ioctl(c->fd, KVM_RUN, 0);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                c->counts.intr++;
                pending = false;
                continue;
            }
            char why[96];
            snprintf(why, sizeof(why), "KVM_RUN: %s", strerror(errno));
            kvm_cpu_fatal(c, why);
            pending = false;
            break;
        }
        pending = true;
        if (!kvm_handle_exit(c)) {
            __atomic_store_n(&c->halted, 1, __ATOMIC_SEQ_CST);
            break;
        }
    }
    /* A port or MMIO exit is only complete once KVM_RUN is entered again
     * (the kernel then moves RIP past the IN/OUT and stores what was
     * read): do that now without running the guest, so that the state
     * the loop thread reads or sets (a reset's entry point, savevm) is
     * the whole truth.  Without it the next KVM_RUN would skip the length
     * of an OUT past the entry point a reset has just set. */
    if (pending) {
        __atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
        (void)ioctl(c->fd, KVM_RUN, 0);
        __atomic_store_n(&c->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

void kvm_kick(struct kvm_cpu *c)
{
    if (c->run)
        __atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    if (c->thread_live)
        pthread_kill(c->thread, kvm_kick_signal());
}

int kvm_start(struct kvm *k, struct error **errp)
{
    if (k->running)
        return 0;
    if (k->n_cpus == 0) {
        int r = kvm_vcpus_create(k, errp);
        if (r < 0)
            return r;
    }
    k->running = true;
    for (int i = 0; i < k->n_cpus; i++) {
        struct kvm_cpu *c = k->cpus[i];
        c->stop = 0;
        c->halted = 0;
        int e = pthread_create(&c->thread, NULL, kvm_cpu_thread, c);
        if (e) {
            kvm_stop(k);
            return err_set_errno(errp, e, _("KVM: cannot start vCPU %d's thread"), i);
        }
        c->thread_live = true;
    }
    return 0;
}

void kvm_stop(struct kvm *k)
{
    for (int i = 0; i < k->n_cpus; i++) {
        struct kvm_cpu *c = k->cpus[i];
        __atomic_store_n(&c->stop, 1, __ATOMIC_SEQ_CST);
        kvm_kick(c);
    }
    for (int i = 0; i < k->n_cpus; i++) {
        struct kvm_cpu *c = k->cpus[i];
        if (c->thread_live) {
            pthread_join(c->thread, NULL);
            c->thread_live = false;
        }
    }
    k->running = false;
}

void kvm_cpu_counts(struct kvm_cpu *c, struct kvm_exit_counts *out)
{
    *out = c->counts;
}
