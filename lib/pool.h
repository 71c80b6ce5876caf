/* pool.h - a worker-thread pool for blocking work.
 *
 * pool_submit() queues WORK(opaque) to run in a worker thread; when it has
 * returned, DONE(opaque, ret) runs in the loop thread, exactly once, with
 * WORK's return value.  Workers never touch loop state: everything a job
 * shares with the loop thread is handed over through opaque and read back in
 * DONE.  Threads start on demand up to the pool's maximum and block
 * SIGINT/SIGTERM, so those signals reach the loop thread.
 *
 *     static int do_read(void *op) { struct req *r = op; return pread(...); }
 *     static void read_done(void *op, int ret) { ... runs in the loop ... }
 *     pool_submit(pool, do_read, read_done, req, &err);
 *
 * pool_submit() may be called from any thread (a hart kicking a device
 * queue does); pool_drain() belongs to the loop thread.
 */
#ifndef EMU_POOL_H
#define EMU_POOL_H

#include "common.h"
#include "error.h"
#include "loop.h"

struct pool;

typedef int pool_work_fn(void *opaque);
typedef void pool_done_fn(void *opaque, int ret);

/* max_threads 0 picks a default (64). */
struct pool *pool_new(struct loop *loop, unsigned max_threads, struct error **errp);
/* Stops the workers.  Jobs still queued are not run: their DONE callbacks
 * run here with -ECANCELED; jobs already running finish first and their
 * DONE callbacks run here too.  Every job thus completes exactly once. */
void pool_free(struct pool *pool);

int pool_submit(struct pool *pool, pool_work_fn *work, pool_done_fn *done, void *opaque,
                struct error **errp);
/* Jobs whose DONE has not run yet. */
unsigned pool_in_flight(const struct pool *pool);
/* Run the loop until every submitted job has completed. */
int pool_drain(struct pool *pool, struct error **errp);
unsigned pool_threads(const struct pool *pool);

#endif
