/* fuzz-nbd.c - fuzz target for the NBD server: the input is everything a
 * client sends on one connection (handshake, options, requests and
 * payloads).  It is fed through a socketpair to a server with two small
 * exports ("" writable, "ro" read-only) while the event loop runs; the
 * server's replies are read and dropped.  Any sanitizer report, hang or
 * leak is a bug.  Built for libFuzzer by tests/fuzz/build-libfuzzer.sh and
 * replayed by fuzz-replay.c in `make check`. */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/socket.h>

#include "block/block.h"
#include "loop.h"
#include "nbd.h"
#include "pool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct loop *loop;
static struct pool *pool;
static struct blk *bs;
static struct nbd_server *srv;
static struct loop_timer *tick;

static void on_tick(void *opaque)
{
}

static void setup(void)
{
    char path[] = "/tmp/fuzz-nbd-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        abort();
    static uint8_t buf[1 << 20];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 7);
    if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) ||
        ftruncate(fd, 2 << 20) < 0)
        abort();
    close(fd);
    loop = loop_new(NULL);
    pool = loop ? pool_new(loop, 4, NULL) : NULL;
    if (!pool || blk_open(&bs, path, "raw", BLK_O_RDWR, NULL) < 0)
        abort();
    unlink(path);
    srv = nbd_server_new(loop, pool, NULL);
    tick = loop_timer_new(loop, on_tick, NULL, NULL);
    struct nbd_export_config rw = { .name = "", .blk = bs, .discard = true,
                                    .detect_zeroes = NBD_DETECT_ZEROES_UNMAP };
    struct nbd_export_config ro = { .name = "ro", .description = "read-only", .blk = bs,
                                    .read_only = true, .offset = 4096 };
    if (!srv || !tick || nbd_server_add_export(srv, &rw, NULL) < 0 ||
        nbd_server_add_export(srv, &ro, NULL) < 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv)
        setup();
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        return 0;
    if (nbd_server_add_client(srv, sv[0], NULL) < 0) {
        close(sv[1]);
        return 0;
    }
    size_t sent = 0;
    bool shut = false;
    static uint8_t sink[1 << 16];
    for (int round = 0; round < 20000 && nbd_server_clients(srv) > 0; round++) {
        if (sent < size) {
            ssize_t n = write(sv[1], data + sent, size - sent);
            if (n > 0)
                sent += (size_t)n;
            else if (n < 0 && errno != EAGAIN)
                sent = size;    /* the server hung up */
        }
        if (sent == size && !shut) {
            shutdown(sv[1], SHUT_WR);
            shut = true;
        }
        while (read(sv[1], sink, sizeof(sink)) > 0) {
        }
        loop_timer_arm_in(tick, 2 * 1000 * 1000);
        loop_run_once(loop, true, NULL);
    }
    close(sv[1]);
    /* the connection goes away on its own once it sees the hang-up */
    for (int round = 0; round < 20000 && nbd_server_clients(srv) > 0; round++) {
        loop_timer_arm_in(tick, 2 * 1000 * 1000);
        loop_run_once(loop, true, NULL);
    }
    if (nbd_server_clients(srv) > 0)
        abort();    /* a connection that never ends */
    return 0;
}
