/* test-trace.c - trace events: pattern control, and planted event
 * sequences for tests/shell/trace.sh to check through each backend.
 *
 *   test-trace                 unit checks of the pattern and option parsing
 *   test-trace log FILE        the log backend: a planted sequence into FILE
 *   test-trace simple FILE     the simple backend: the same sequence
 *   test-trace leak FILE       a block, an NBD and a virtqueue request that
 *                              never complete, among ones that do
 *   test-trace overlap FILE    two writes overlapping in [4096, 8192)
 *   test-trace clean FILE      completed, non-overlapping requests only
 *   test-trace threads FILE    4 threads x 50000 events (the ring under load)
 */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "unit.h"
#include "log.h"
#include "trace.h"
#include "trace/block.h"
#include "trace/nbd.h"
#include "trace/hw.h"

#define BS ((void *)(uintptr_t)0x1000)
#define CONN ((void *)(uintptr_t)0x2000)

static void planted(void)
{
    trace_blk_open(BS, "disk.img", "raw");
    trace_blk_request_submit(BS, "write", 4096, 512);
    trace_blk_request_complete(BS, "write", 4096, 512, 0);
    trace_blk_request_submit(BS, "read", 0, 65536);
    trace_blk_request_complete(BS, "read", 0, 65536, -5);
    trace_nbd_request(CONN, 7, 0, "read", 1 << 20, 4096, 0);
    trace_nbd_reply(CONN, 7, 0);
    trace_qcow2_refcount_update(BS, 0x30000, 65536, -1);
}

static void leak(void)
{
    trace_blk_request_submit(BS, "read", 0, 512);
    trace_blk_request_complete(BS, "read", 0, 512, 0);
    trace_blk_request_submit(BS, "write", 8192, 4096);           /* never completes */
    trace_nbd_conn_open(CONN, 5);
    trace_nbd_request(CONN, 1, 1, "write", 0, 512, 0);
    trace_nbd_reply(CONN, 1, 0);
    trace_nbd_request(CONN, 2, 0, "read", 512, 512, 0);         /* never replied */
    trace_nbd_conn_close(CONN);
    trace_virtqueue_pop("virtio-blk-device", 0, 3, 512, 16);
    trace_virtqueue_push("virtio-blk-device", 0, 3, 512);
    trace_virtqueue_pop("virtio-blk-device", 0, 4, 512, 16);    /* never pushed */
}

static void overlap(void)
{
    trace_blk_open(BS, "disk.img", "raw");
    trace_blk_request_submit(BS, "write", 0, 6144);
    trace_blk_request_complete(BS, "write", 0, 6144, 0);
    trace_blk_request_submit(BS, "write", 8192, 4096);
    trace_blk_request_complete(BS, "write", 8192, 4096, 0);
    trace_blk_request_submit(BS, "zeroes", 5120, 2048);         /* overwrites 5120..6144 */
    trace_blk_request_complete(BS, "zeroes", 5120, 2048, 0);
}

static void clean(void)
{
    trace_blk_open(BS, "disk.img", "raw");
    for (uint64_t i = 0; i < 16; i++) {
        trace_blk_request_submit(BS, "write", i * 4096, 4096);
        trace_blk_request_complete(BS, "write", i * 4096, 4096, 0);
        trace_blk_request_submit(BS, "read", i * 4096, 4096);
        trace_blk_request_complete(BS, "read", i * 4096, 4096, 0);
    }
    trace_nbd_conn_open(CONN, 5);
    trace_nbd_request(CONN, 1, 0, "read", 0, 512, 0);
    trace_nbd_reply(CONN, 1, 0);
    trace_nbd_request(CONN, 2, 2, "disc", 0, 0, 0);
    trace_nbd_conn_close(CONN);
}

static void *thread_main(void *arg)
{
    uintptr_t t = (uintptr_t)arg;
    for (uint64_t i = 0; i < 50000; i++) {
        trace_blk_request_submit((void *)t, "read", i, 512);
        if (i % 1000 == 0) {
            struct timespec d = { 0, 100000 };
            nanosleep(&d, NULL);
        }
    }
    return NULL;
}

static void threads(void)
{
    pthread_t th[4];
    for (uintptr_t i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, thread_main, (void *)(i + 1));
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
}

static int unit(void)
{
    struct error *err = NULL;
    CHECK(trace_event_count > 10);
    const struct trace_event *ev = trace_event_find("blk_request_submit");
    CHECK(ev != NULL);
    CHECK(trace_event_find("no_such_event") == NULL);
    CHECK(trace_enable_pattern("blk_request_*", &err) == 2);
    if (ev)
        CHECK(trace_event_get_state(ev) == (TRACE_HAS_STATE != 0));
    CHECK(trace_enable_pattern("-blk_*", &err) >= 2);
    if (ev)
        CHECK(!trace_event_get_state(ev));
    CHECK(trace_enable_pattern("nothing_matches*", &err) == -EINVAL);
    CHECK(err && strstr(err->msg, "nothing_matches*"));
    err_free(err);
    err = NULL;
    CHECK(trace_opt_parse("enable=nbd_*,qcow2_l2_cache_miss", &err) == 0);
    CHECK(trace_opt_parse("bogus=1", &err) == -EINVAL);
    CHECK(err && strstr(err->msg, "bogus=1"));
    err_free(err);
    err = NULL;
    CHECK(trace_opt_parse("events=/nonexistent/events", &err) < 0);
    CHECK(err && strstr(err->msg, "/nonexistent/events"));
    err_free(err);
    err = NULL;
    CHECK(log_enable("trace:tb_*", &err) == 0);
    ev = trace_event_find("tb_flush");
    if (ev)
        CHECK(trace_event_get_state(ev) == (TRACE_HAS_STATE != 0));
    CHECK(log_enable("trace:zzz", &err) < 0);
    err_free(err);
    return unit_result();
}

int main(int argc, char **argv)
{
    struct error *err = NULL;
    if (argc == 1)
        return unit();
    if (argc != 3) {
        fprintf(stderr, "usage: test-trace [log|simple|leak|overlap|clean|threads FILE]\n");
        return 2;
    }
    const char *mode = argv[1], *file = argv[2];
    int r;
    if (strcmp(mode, "log") == 0) {
        r = log_set_file(file, &err);
        if (r >= 0)
            r = trace_opt_parse("blk_*,nbd_re*", &err);
    } else {
        r = trace_opt_parse("*", &err);
        if (r >= 0)
            r = trace_simple_open(file, &err);
    }
    if (r < 0) {
        err_report(err);
        return 1;
    }
    if (strcmp(mode, "log") == 0 || strcmp(mode, "simple") == 0)
        planted();
    else if (strcmp(mode, "leak") == 0)
        leak();
    else if (strcmp(mode, "overlap") == 0)
        overlap();
    else if (strcmp(mode, "clean") == 0)
        clean();
    else if (strcmp(mode, "threads") == 0)
        threads();
    else {
        fprintf(stderr, "test-trace: unknown mode '%s'\n", mode);
        return 2;
    }
    trace_simple_close();
    log_close();
    return 0;
}
