/* test-pool.c - worker pool: thousands of jobs, each completion delivered
 * exactly once, in the loop thread, with the job's return value; pool_free
 * cancels queued jobs but still completes each once. */
#include <config.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include "pool.h"
#include "unit.h"

#define NJOBS 20000

static atomic_int worked[NJOBS];
static int completed[NJOBS];
static int bad_ret, wrong_thread;
static pthread_t loop_thread;
static struct pool *P;
static int resubmitted;

static int work(void *opaque)
{
    int i = (int)(intptr_t)opaque;
    atomic_fetch_add(&worked[i], 1);
    if (pthread_equal(pthread_self(), loop_thread))
        wrong_thread++;
    if (i % 1000 == 0)
        usleep(1000); /* some slow jobs so others overtake them */
    return i * 3;
}

static void done(void *opaque, int ret)
{
    int i = (int)(intptr_t)opaque;
    completed[i]++;
    if (ret != i * 3)
        bad_ret++;
    if (!pthread_equal(pthread_self(), loop_thread))
        wrong_thread++;
}

/* A completion that submits more work from inside the loop. */
static void done_resubmit(void *opaque, int ret)
{
    int i = (int)(intptr_t)opaque;
    done(opaque, ret);
    if (i + 1 < NJOBS && resubmitted < 100) {
        resubmitted++;
        CHECK(pool_submit(P, work, done_resubmit, (void *)(intptr_t)(i + 1), NULL) == 0);
    }
}

static int slow(void *opaque)
{
    usleep(20000);
    return 0;
}

static int cancelled, finished;
static void count_cancel(void *opaque, int ret)
{
    if (ret == -ECANCELED)
        cancelled++;
    else if (ret == 0)
        finished++;
}

int main(void)
{
    struct error *err = NULL;
    loop_thread = pthread_self();
    struct loop *L = loop_new(&err);
    CHECK(L != NULL);
    P = pool_new(L, 8, &err);
    CHECK(P != NULL);
    if (!L || !P)
        return 1;

    /* Submit in bursts while completions arrive. */
    for (int i = 0; i < NJOBS; i++) {
        if (i < NJOBS - 100) {
            CHECK(pool_submit(P, work, done, (void *)(intptr_t)i, &err) == 0);
        }
        if (i % 500 == 0)
            loop_run_once(L, false, NULL);
    }
    /* The last 100 are chained: each completion submits the next one. */
    CHECK(pool_submit(P, work, done_resubmit, (void *)(intptr_t)(NJOBS - 101), NULL) == 0);
    completed[NJOBS - 101]--; /* it ran twice on purpose: once above, once here */
    atomic_fetch_sub(&worked[NJOBS - 101], 1);
    CHECK(pool_drain(P, &err) == 0);
    CHECK(pool_in_flight(P) == 0);

    int bad = 0;
    for (int i = 0; i < NJOBS; i++)
        if (completed[i] != 1 || atomic_load(&worked[i]) != 1)
            bad++;
    if (bad)
        fprintf(stderr, "%d jobs not completed exactly once\n", bad);
    CHECK(bad == 0);
    CHECK(bad_ret == 0);
    CHECK(wrong_thread == 0);
    CHECK(pool_threads(P) >= 1 && pool_threads(P) <= 8);

    /* Free with work still queued: nothing is lost or doubled. */
    for (int i = 0; i < 50; i++)
        CHECK(pool_submit(P, slow, count_cancel, NULL, NULL) == 0);
    pool_free(P);
    CHECK(cancelled + finished == 50);
    CHECK(cancelled > 0);
    loop_free(L);
    return unit_result();
}
