/* pool.c - worker-thread pool whose completions run in the loop thread. */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "pool.h"
#include "log.h"
#include "i18n.h"

struct job {
    pool_work_fn *work;
    pool_done_fn *done;
    void *opaque;
    int ret;
    struct job *next;
};

struct pool {
    struct loop *loop;
    int done_fd;                /* eventfd: workers -> loop */
    unsigned max_threads;

    pthread_mutex_t lock;       /* guards everything below */
    pthread_cond_t work_cond;   /* a job was queued, or shutdown */
    struct job *queue_head, *queue_tail;
    struct job *done_head, *done_tail;
    unsigned nthreads, idle;
    bool shutdown;
    pthread_t *threads;

    unsigned in_flight;         /* atomic: jobs may be submitted from any thread */
};

static void *worker_main(void *arg)
{
    struct pool *pool = arg;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->queue_head && !pool->shutdown) {
            pool->idle++;
            pthread_cond_wait(&pool->work_cond, &pool->lock);
            pool->idle--;
        }
        if (pool->shutdown)
            break;
        struct job *job = pool->queue_head;
        pool->queue_head = job->next;
        if (!pool->queue_head)
            pool->queue_tail = NULL;
        pthread_mutex_unlock(&pool->lock);

        job->ret = job->work(job->opaque);

        pthread_mutex_lock(&pool->lock);
        job->next = NULL;
        bool was_empty = !pool->done_head;
        if (pool->done_tail)
            pool->done_tail->next = job;
        else
            pool->done_head = job;
        pool->done_tail = job;
        if (was_empty) {
            uint64_t one = 1;
            if (write(pool->done_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
                abort(); /* cannot happen with a valid eventfd */
        }
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

/* Run the DONE callbacks of finished jobs, in completion order. */
static int run_completions(struct pool *pool)
{
    uint64_t v;
    int n = 0;
    if (read(pool->done_fd, &v, sizeof(v)) < 0) {
        /* EAGAIN: nothing signalled, but check the list anyway */
    }
    pthread_mutex_lock(&pool->lock);
    struct job *list = pool->done_head;
    pool->done_head = pool->done_tail = NULL;
    pthread_mutex_unlock(&pool->lock);
    while (list) {
        struct job *job = list;
        list = job->next;
        __atomic_fetch_sub(&pool->in_flight, 1, __ATOMIC_ACQ_REL);
        job->done(job->opaque, job->ret);
        free(job);
        n++;
    }
    return n;
}

static void on_done_fd(void *opaque, int fd)
{
    run_completions(opaque);
}

struct pool *pool_new(struct loop *loop, unsigned max_threads, struct error **errp)
{
    struct pool *pool = calloc(1, sizeof(*pool));
    if (!pool) {
        err_set(errp, ENOMEM, _("cannot allocate the worker pool"));
        return NULL;
    }
    pool->loop = loop;
    pool->max_threads = max_threads ? max_threads : 64;
    pool->threads = calloc(pool->max_threads, sizeof(pthread_t));
    pool->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!pool->threads || pool->done_fd < 0) {
        err_set_errno(errp, pool->threads ? errno : ENOMEM,
                      _("worker pool: cannot set up its completion channel"));
        goto fail;
    }
    if (loop_set_fd(loop, pool->done_fd, on_done_fd, NULL, pool, errp) < 0)
        goto fail;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->work_cond, NULL);
    return pool;
fail:
    if (pool->done_fd >= 0)
        close(pool->done_fd);
    free(pool->threads);
    free(pool);
    return NULL;
}

/* Called with pool->lock held. */
static int spawn_worker_locked(struct pool *pool, struct error **errp)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = pthread_create(&pool->threads[pool->nthreads], NULL, worker_main, pool);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0)
        return err_set_errno(errp, r, _("worker pool: cannot start a thread"));
    pool->nthreads++;
    if (log_on(LOG_POOL))
        log_msg(LOG_POOL, "started worker %u", pool->nthreads);
    return 0;
}

int pool_submit(struct pool *pool, pool_work_fn *work, pool_done_fn *done, void *opaque,
                struct error **errp)
{
    struct job *job = malloc(sizeof(*job));
    if (!job)
        return err_set(errp, ENOMEM, _("worker pool: out of memory queueing a job"));
    job->work = work;
    job->done = done;
    job->opaque = opaque;
    job->ret = 0;
    job->next = NULL;

    pthread_mutex_lock(&pool->lock);
    /* A thread that is idle but not yet woken will take this job; only
     * start a new one when every existing thread is busy. */
    unsigned queued = 0;
    for (struct job *j = pool->queue_head; j && queued <= pool->idle; j = j->next)
        queued++;
    if (queued >= pool->idle && pool->nthreads < pool->max_threads) {
        int r = spawn_worker_locked(pool, pool->nthreads ? NULL : errp);
        if (r < 0 && pool->nthreads == 0) {
            /* No thread at all: the job could never run. */
            pthread_mutex_unlock(&pool->lock);
            free(job);
            return r;
        }
    }
    if (pool->queue_tail)
        pool->queue_tail->next = job;
    else
        pool->queue_head = job;
    pool->queue_tail = job;
    __atomic_fetch_add(&pool->in_flight, 1, __ATOMIC_ACQ_REL);
    pthread_cond_signal(&pool->work_cond);
    pthread_mutex_unlock(&pool->lock);
    return 0;
}

unsigned pool_in_flight(const struct pool *pool)
{
    return __atomic_load_n(&pool->in_flight, __ATOMIC_ACQUIRE);
}

unsigned pool_threads(const struct pool *pool)
{
    return pool->nthreads;
}

int pool_drain(struct pool *pool, struct error **errp)
{
    while (__atomic_load_n(&pool->in_flight, __ATOMIC_ACQUIRE) > 0) {
        int r = loop_run_once(pool->loop, true, errp);
        if (r < 0)
            return r;
    }
    return 0;
}

void pool_free(struct pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->shutdown = true;
    struct job *cancelled = pool->queue_head;
    pool->queue_head = pool->queue_tail = NULL;
    pthread_cond_broadcast(&pool->work_cond);
    pthread_mutex_unlock(&pool->lock);
    for (unsigned i = 0; i < pool->nthreads; i++)
        pthread_join(pool->threads[i], NULL);
    run_completions(pool);
    while (cancelled) {
        struct job *job = cancelled;
        cancelled = job->next;
        __atomic_fetch_sub(&pool->in_flight, 1, __ATOMIC_ACQ_REL);
        job->done(job->opaque, -ECANCELED);
        free(job);
    }
    loop_remove_fd(pool->loop, pool->done_fd);
    close(pool->done_fd);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->work_cond);
    free(pool->threads);
    free(pool);
}
