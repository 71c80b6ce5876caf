/* trace-simple.c - the simple trace backend: a binary file written by a
 * thread of its own (see trace.h; doc/tracing.md describes the format,
 * scripts/simpletrace.py reads it).
 *
 * A traced thread reserves room in one shared ring with a compare-and-swap
 * on the head, copies its record in and publishes it by storing the
 * record's first word last (release).  The writer thread takes published
 * records in order from the tail, zeroes their room (so that an unpublished
 * record always reads as a zero first word) and writes whole records with
 * one write() at a time, so the file is a valid prefix of the trace even if
 * the process is killed.  When the ring is full a record is counted as
 * dropped, never waited for: tracing must not block the block layer.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "trace.h"
#include "i18n.h"

#ifdef TRACE_BACKEND_SIMPLE

#define TRACE_MAGIC "EMUTRACE"
#define TRACE_VERSION 1
#define REC_EVENT_DEF 1
#define REC_EVENT 2
#define REC_DROPPED 3
#define RING_SIZE (UINT64_C(1) << 24)     /* 16 MiB, a power of two */
#define MAX_STR 255                        /* longer strings are cut */
#define OUT_SIZE (64 * 1024)

static uint8_t *ring;
static uint64_t ring_head;      /* bytes ever reserved (producers, CAS) */
static uint64_t ring_tail;      /* bytes ever consumed (the writer) */
static uint64_t ring_dropped;
static int trace_fd = -1;
static pthread_t writer;
static bool writer_running;
static bool writer_stop;
static pthread_mutex_t simple_lock = PTHREAD_MUTEX_INITIALIZER;

static void ring_put(uint64_t pos, const void *src, size_t len)
{
    size_t off = (size_t)(pos & (RING_SIZE - 1));
    size_t first = MIN(len, (size_t)(RING_SIZE - off));
    memcpy(ring + off, src, first);
    memcpy(ring, (const uint8_t *)src + first, len - first);
}

static void ring_take(uint64_t pos, void *dst, size_t len)
{
    size_t off = (size_t)(pos & (RING_SIZE - 1));
    size_t first = MIN(len, (size_t)(RING_SIZE - off));
    memcpy(dst, ring + off, first);
    memcpy((uint8_t *)dst + first, ring, len - first);
    memset(ring + off, 0, first);
    memset(ring, 0, len - first);
}

void trace_simple_record(unsigned id, const uint64_t *a, unsigned n, unsigned strmask)
{
    /* The record is built on the stack and copied in with one or two
     * memcpy: header, id and thread, time, then the arguments. */
    uint64_t rec[3 + 12 * (1 + (MAX_STR + 4 + 7) / 8)];
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    rec[1] = (uint64_t)id | (uint64_t)(uint32_t)trace_tid() << 32;
    rec[2] = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    size_t w = 3;
    for (unsigned i = 0; i < n && i < 12; i++) {
        if (!(strmask & (1u << i))) {
            rec[w++] = a[i];
            continue;
        }
        const char *s = (const char *)(uintptr_t)a[i];
        uint32_t len = s ? (uint32_t)strnlen(s, MAX_STR) : 0;
        size_t words = (4 + len + 7) / 8;
        rec[w + words - 1] = 0;
        memcpy(&rec[w], &len, 4);
        memcpy((uint8_t *)&rec[w] + 4, s ? s : "", len);
        w += words;
    }
    uint64_t size = w * 8;
    uint64_t h = __atomic_load_n(&ring_head, __ATOMIC_RELAXED);
    do {
        if (!ring || h + size - __atomic_load_n(&ring_tail, __ATOMIC_ACQUIRE) > RING_SIZE) {
            __atomic_fetch_add(&ring_dropped, 1, __ATOMIC_RELAXED);
            return;
        }
    } while (!__atomic_compare_exchange_n(&ring_head, &h, h + size, true,
                                          __ATOMIC_ACQUIRE, __ATOMIC_RELAXED));
    ring_put(h + 8, &rec[1], size - 8);
    /* Publishing: the writer waits for this word to become nonzero. */
    __atomic_store_n((uint64_t *)(ring + (h & (RING_SIZE - 1))),
                     (uint64_t)REC_EVENT | size << 32, __ATOMIC_RELEASE);
}

static int write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t r = write(fd, p, len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

/* Move every published record to the file; returns how many bytes. */
static size_t drain(uint8_t *out)
{
    size_t total = 0, used = 0;
    uint64_t t = ring_tail;
    for (;;) {
        uint64_t hdr = __atomic_load_n((uint64_t *)(ring + (t & (RING_SIZE - 1))),
                                       __ATOMIC_ACQUIRE);
        uint32_t size = (uint32_t)(hdr >> 32);
        if (!hdr || used + size > OUT_SIZE) {
            if (used)
                write_all(trace_fd, out, used);
            total += used;
            used = 0;
            __atomic_store_n(&ring_tail, t, __ATOMIC_RELEASE);
            if (!hdr)
                break;
        }
        ring_take(t, out + used, size);
        used += size;
        t += size;
    }
    uint64_t lost = __atomic_exchange_n(&ring_dropped, 0, __ATOMIC_RELAXED);
    if (lost) {
        uint64_t rec[2] = { (uint64_t)REC_DROPPED | UINT64_C(16) << 32, lost };
        write_all(trace_fd, rec, sizeof rec);
    }
    return total;
}

static void *writer_main(void *arg)
{
    uint8_t *out = arg;
    int idle = 0;
    for (;;) {
        bool stop = __atomic_load_n(&writer_stop, __ATOMIC_ACQUIRE);
        size_t n = drain(out);
        /* At the end, a record reserved but never published (its thread
         * died with the process) must not hold the exit up for long. */
        if (stop && (__atomic_load_n(&ring_head, __ATOMIC_ACQUIRE) == ring_tail ||
                     (n == 0 && ++idle > 50)))
            break;
        if (n == 0) {
            /* Polling keeps the traced threads' side free of any wake-up. */
            struct timespec d = { 0, 2 * 1000 * 1000 };
            nanosleep(&d, NULL);
        }
    }
    free(out);
    return NULL;
}

static int writer_start(struct error **errp)
{
    uint8_t *out = malloc(OUT_SIZE);
    if (!out)
        return err_set(errp, ENOMEM, _("out of memory"));
    writer_stop = false;
    int r = pthread_create(&writer, NULL, writer_main, out);
    if (r) {
        free(out);
        return err_set_errno(errp, r, _("cannot start the trace writer thread"));
    }
    writer_running = true;
    return 0;
}

/* A forked child (emu-nbd going to the background, a guest's fork in
 * emu-user) has the ring but not the writer: it drops what its parent
 * will write and starts a writer of its own, appending to the same file. */
static void simple_atfork_child(void)
{
    if (!writer_running)
        return;
    /* only [tail, head) can be nonzero: the writer zeroes what it takes */
    uint64_t n = MIN(ring_head - ring_tail, RING_SIZE);
    size_t off = (size_t)(ring_tail & (RING_SIZE - 1));
    size_t first = MIN((size_t)n, (size_t)(RING_SIZE - off));
    memset(ring + off, 0, first);
    memset(ring, 0, (size_t)n - first);
    ring_head = ring_tail = 0;
    ring_dropped = 0;
    writer_running = false;
    pthread_mutex_init(&simple_lock, NULL);
    writer_start(NULL);
}

static int write_header(int fd)
{
    uint8_t hdr[16];
    uint32_t v = TRACE_VERSION, z = 0;
    memcpy(hdr, TRACE_MAGIC, 8);
    memcpy(hdr + 8, &v, 4);
    memcpy(hdr + 12, &z, 4);
    if (write_all(fd, hdr, sizeof hdr) < 0)
        return -1;
    /* The event table, so that the file can be read without the sources. */
    for (size_t i = 0; i < trace_event_count; i++) {
        uint32_t len = (uint32_t)strlen(trace_events[i].decl);
        uint32_t size = (uint32_t)ALIGN_UP(16 + len, 8u);
        uint8_t *rec = calloc(1, size);
        if (!rec)
            return -1;
        uint32_t words[4] = { REC_EVENT_DEF, size, trace_events[i].id, len };
        memcpy(rec, words, 16);
        memcpy(rec + 16, trace_events[i].decl, len);
        int r = write_all(fd, rec, size);
        free(rec);
        if (r < 0)
            return -1;
    }
    return 0;
}

int trace_simple_open(const char *path, struct error **errp)
{
    static bool atexit_done;
    pthread_mutex_lock(&simple_lock);
    int r = 0;
    if (trace_fd >= 0) {
        r = err_set(errp, EBUSY, _("cannot write trace file '%s': a trace file is already open"),
                    path);
        goto out;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        r = err_set_errno(errp, errno, _("cannot open trace file '%s'"), path);
        goto out;
    }
    if (write_header(fd) < 0) {
        r = err_set_errno(errp, errno, _("cannot write trace file '%s'"), path);
        close(fd);
        goto out;
    }
    if (!ring) {
        /* zero pages from the kernel: only the part in use is ever touched */
        void *p = mmap(NULL, RING_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
        if (p == MAP_FAILED) {
            close(fd);
            r = err_set(errp, ENOMEM, _("out of memory"));
            goto out;
        }
        ring = p;
    }
    trace_fd = fd;
    r = writer_start(errp);
    if (r < 0) {
        close(fd);
        trace_fd = -1;
        goto out;
    }
    if (!atexit_done) {
        atexit(trace_simple_close);
        pthread_atfork(NULL, NULL, simple_atfork_child);
        atexit_done = true;
    }
    __atomic_store_n(&trace_outputs, TRACE_OUT_SIMPLE, __ATOMIC_RELEASE);
out:
    pthread_mutex_unlock(&simple_lock);
    return r;
}

void trace_simple_close(void)
{
    pthread_mutex_lock(&simple_lock);
    if (writer_running) {
        /* events after the end (other threads at exit) go nowhere: who
         * asked for a file does not want them on standard error */
        __atomic_store_n(&trace_outputs, 0, __ATOMIC_RELEASE);
        __atomic_store_n(&writer_stop, true, __ATOMIC_RELEASE);
        pthread_join(writer, NULL);
        writer_running = false;
    }
    if (trace_fd >= 0) {
        close(trace_fd);
        trace_fd = -1;
    }
    pthread_mutex_unlock(&simple_lock);
}

#else /* !TRACE_BACKEND_SIMPLE */

void trace_simple_record(unsigned id, const uint64_t *a, unsigned n, unsigned strmask)
{
}

int trace_simple_open(const char *path, struct error **errp)
{
    return err_set(errp, ENOTSUP,
                   _("cannot write trace file '%s': this build has no simple trace backend"
                     " (configure --enable-trace-backends=simple)"), path);
}

void trace_simple_close(void)
{
}

#endif
