/* loop.h - the select()-based event loop.
 *
 * One thread owns a loop and calls loop_run()/loop_run_once(); everything
 * below runs in that thread unless marked "any thread".  The loop serves:
 *
 *   fd handlers    loop_set_fd(): on_read/on_write callbacks for a descriptor.
 *                  Handlers may be added, changed and removed at any time,
 *                  also from inside any callback (including their own); a
 *                  removed handler is never called again, even if its fd was
 *                  ready in the same select() round.
 *   timers         on CLOCK_MONOTONIC, nanoseconds.  Arm, re-arm, cancel and
 *                  free at any time.  The earliest armed deadline sets the
 *                  select() timeout.  A timer fires once per arming.
 *   bottom halves  callbacks scheduled to run "soon": on the next loop
 *                  iteration, before select() blocks.  Scheduling is allowed
 *                  from any thread (it wakes the loop).  Bottom halves never
 *                  run recursively: a bottom half that spins a nested loop
 *                  iteration does not cause other bottom halves to run inside
 *                  it.  Scheduling an already-scheduled bottom half is a no-op.
 *   wake-up        loop_wakeup() (any thread) makes a blocked select() return.
 *   poll hooks     loop_poll_hook_new(): for a library that keeps its own
 *                  set of descriptors and timeouts and wants to be asked
 *                  around every wait (libslirp's pollfds_fill/pollfds_poll).
 *                  PRE runs just before select() and adds descriptors and a
 *                  timeout with loop_poll_add()/loop_poll_timeout(); POST
 *                  runs right after it (before the fd handlers) and asks
 *                  loop_poll_ready() which of them are ready.  Hooks run
 *                  only in the outermost loop_run_once(), never in a nested
 *                  one (pool_drain), so their callbacks never run inside
 *                  code that waits for the loop.
 *   shutdown       loop_catch_signals() turns SIGINT/SIGTERM into an orderly
 *                  shutdown request: the shutdown callback runs in the loop
 *                  thread (default: loop_quit()).
 *
 * select() can only watch descriptors below FD_SETSIZE; a higher one is
 * refused by loop_set_fd() with -EMFILE and a message, never watched.
 */
#ifndef EMU_LOOP_H
#define EMU_LOOP_H

#include "common.h"
#include "error.h"

struct loop;
struct loop_timer;
struct loop_bh;

typedef void loop_fd_fn(void *opaque, int fd);
typedef void loop_cb_fn(void *opaque);

struct loop *loop_new(struct error **errp);
/* Frees the loop.  All fd handlers, timers and bottom halves still
 * registered are released; callbacks are not called. */
void loop_free(struct loop *loop);

/* Monotonic clock in nanoseconds. */
uint64_t loop_now_ns(void);

/* Watch FD: on_read when readable, on_write when writable.  Replaces any
 * handler FD had.  Both NULL removes the handler (same as loop_remove_fd). */
int loop_set_fd(struct loop *loop, int fd, loop_fd_fn *on_read, loop_fd_fn *on_write,
                void *opaque, struct error **errp);
void loop_remove_fd(struct loop *loop, int fd);

struct loop_timer *loop_timer_new(struct loop *loop, loop_cb_fn *cb, void *opaque,
                                  struct error **errp);
/* Arm at an absolute loop_now_ns() deadline, or DELAY_NS from now. */
void loop_timer_arm(struct loop_timer *t, uint64_t deadline_ns);
void loop_timer_arm_in(struct loop_timer *t, uint64_t delay_ns);
void loop_timer_cancel(struct loop_timer *t);
bool loop_timer_armed(const struct loop_timer *t);
void loop_timer_free(struct loop_timer *t);

struct loop_bh *loop_bh_new(struct loop *loop, loop_cb_fn *cb, void *opaque,
                            struct error **errp);
void loop_bh_schedule(struct loop_bh *bh);  /* any thread */
void loop_bh_cancel(struct loop_bh *bh);
void loop_bh_free(struct loop_bh *bh);

void loop_wakeup(struct loop *loop);        /* any thread */

/* ---- poll hooks ---- */
struct loop_poll;               /* one select() round, seen from a hook */
struct loop_poll_hook;
typedef void loop_poll_pre_fn(void *opaque, struct loop_poll *p);
/* ERROR: select() failed (EINTR included); nothing is ready. */
typedef void loop_poll_post_fn(void *opaque, struct loop_poll *p, bool error);
struct loop_poll_hook *loop_poll_hook_new(struct loop *loop, loop_poll_pre_fn *pre,
                                          loop_poll_post_fn *post, void *opaque,
                                          struct error **errp);
void loop_poll_hook_free(struct loop_poll_hook *h);
/* Watch FD in this round for reading and/or writing.  Returns FD, or -1
 * when select() cannot watch it (at or above FD_SETSIZE). */
int loop_poll_add(struct loop_poll *p, int fd, bool rd, bool wr);
/* Wake up after at most NS nanoseconds in this round. */
void loop_poll_timeout(struct loop_poll *p, uint64_t ns);
/* In POST: whether FD (as loop_poll_add returned it) is readable/writable. */
bool loop_poll_readable(const struct loop_poll *p, int fd);
bool loop_poll_writable(const struct loop_poll *p, int fd);

/* Route SIGINT and SIGTERM to this loop (one loop per process). */
int loop_catch_signals(struct loop *loop, struct error **errp);
void loop_set_shutdown_handler(struct loop *loop, loop_cb_fn *cb, void *opaque);
bool loop_shutdown_requested(const struct loop *loop);
/* The signal (SIGINT or SIGTERM) behind the shutdown request, for the
 * program's "terminating on signal N" line; 0 if none. */
int loop_shutdown_signal(const struct loop *loop);

/* One iteration: run due bottom halves and timers, wait (if BLOCKING) for
 * the first event, dispatch it.  Returns the number of callbacks run, or
 * -errno if select() failed. */
int loop_run_once(struct loop *loop, bool blocking, struct error **errp);
/* Run until loop_quit().  Returns 0, or -errno on a select() failure. */
int loop_run(struct loop *loop, struct error **errp);
void loop_quit(struct loop *loop);         /* any thread */

#endif
