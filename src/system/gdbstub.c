/* gdbstub.c - -gdb tcp:[HOST]:PORT (and -s): the gdb remote serial
 * protocol for a whole machine, as gdb-multiarch expects it from
 * qemu-system-riscv64:
 *
 *     emu-system-riscv64 -M virt -bios none -kernel prog.elf -S -s &
 *     gdb-multiarch prog.elf -ex 'target remote :1234'
 *
 * Every CPU is a thread (ids from 1).  Supported: ?, g/G, p/P, m/M/X,
 * Z0/z0 (Z1 alike), c/s/C/S, vCont (c, s), H, T, D, k, ^C, qXfer of the
 * target description (the machine's), thread queries, no-ack mode.
 *
 * Everything runs on the loop thread and never blocks it: the socket is
 * non-blocking, input is collected until a packet is whole, output is
 * queued and written when the socket takes it.  The CPUs are driven
 * through the machine's struct machine_debug_ops (all-stop: when one
 * stops, all do); a CPU that stops by itself (breakpoint, end of a step)
 * reaches us through the stop handler, on the loop thread.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "gdbstub.h"
#include "i18n.h"
#include "msg.h"

#define GDB_PKT_MAX 0x4000          /* PacketSize we announce (bytes of payload) */
#define GDB_IN_MAX (2 * GDB_PKT_MAX + 64)
#define GDB_SIGINT 2
#define GDB_SIGTRAP 5

struct gdbstub {
    struct loop *loop;
    struct machine *m;
    const struct machine_debug_ops *ops;
    void *dbg;                  /* the ops' opaque */
    void (*on_resume)(void *opaque);
    void *opaque;
    int listen_fd, fd;          /* fd: the gdb connection, or -1 */
    char in[GDB_IN_MAX];
    size_t in_len;
    char *out;                  /* queued output */
    size_t out_len, out_cap;
    bool out_watch;             /* waiting for the socket to take output */
    char *last;                 /* the last packet sent (for a '-') */
    bool noack;
    bool running;               /* the CPUs run for gdb (a stop reply is owed) */
    int g_cpu;                  /* Hg: registers and memory */
    int c_cpu;                  /* Hc: step (-1: any) */
    int stop_cpu, stop_sig;     /* the last stop */
    char *resp;                 /* a reply being built */
};

static void on_readable(void *opaque, int fd);
static void on_writable(void *opaque, int fd);

/* ---- output ---- */

static void update_watch(struct gdbstub *g)
{
    bool want = g->out_len > 0;
    if (g->fd < 0 || want == g->out_watch)
        return;
    g->out_watch = want;
    loop_set_fd(g->loop, g->fd, on_readable, want ? on_writable : NULL, g, NULL);
}

static void flush_out(struct gdbstub *g)
{
    while (g->fd >= 0 && g->out_len) {
        ssize_t n = write(g->fd, g->out, g->out_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;      /* EAGAIN: the loop says when; an error: the read side sees it */
        memmove(g->out, g->out + n, g->out_len - (size_t)n);
        g->out_len -= (size_t)n;
    }
    update_watch(g);
}

static void queue(struct gdbstub *g, const char *data, size_t len)
{
    if (g->fd < 0)
        return;
    if (g->out_len + len > g->out_cap) {
        size_t cap = MAX(g->out_cap * 2, g->out_len + len + 256);
        char *p = realloc(g->out, cap);
        if (!p)
            return;     /* gdb times out and retries */
        g->out = p;
        g->out_cap = cap;
    }
    memcpy(g->out + g->out_len, data, len);
    g->out_len += len;
}

/* Send one packet: $payload#checksum (payload: len bytes, no escaping
 * needed by anything we send). */
static void send_packet_len(struct gdbstub *g, const char *payload, size_t len)
{
    char *p = malloc(len + 5);
    if (!p)
        return;
    unsigned sum = 0;
    for (size_t i = 0; i < len; i++)
        sum += (unsigned char)payload[i];
    p[0] = '$';
    memcpy(p + 1, payload, len);
    snprintf(p + 1 + len, 4, "#%02x", sum & 0xff);
    queue(g, p, len + 4);
    free(g->last);
    g->last = p;
    flush_out(g);
}

static void send_packet(struct gdbstub *g, const char *payload)
{
    send_packet_len(g, payload, strlen(payload));
}

static void send_stop(struct gdbstub *g)
{
    char r[48];
    snprintf(r, sizeof(r), "T%02xthread:%x;", g->stop_sig, g->stop_cpu + 1);
    send_packet(g, r);
}

/* ---- the connection ---- */

static void stop_now(struct gdbstub *g)
{
    enum machine_stop why;
    g->stop_cpu = g->ops->pause(g->dbg, &why);
    g->stop_sig = why == MACHINE_STOP_PAUSED ? GDB_SIGINT : GDB_SIGTRAP;
    g->running = false;
    g->g_cpu = g->stop_cpu;
}

/* Let the CPUs run as how[] says (enum machine_run per CPU). */
static int resume_how(struct gdbstub *g, const uint8_t *how)
{
    struct error *err = NULL;
    if (g->ops->resume(g->dbg, how, &err) < 0) {
        err_report(err);
        return -1;
    }
    g->running = true;
    if (g->on_resume)
        g->on_resume(g->opaque);
    return 0;
}

/* Let the CPUs run: all, or cpu alone for one instruction (step >= 0). */
static int resume(struct gdbstub *g, int step)
{
    int n = g->ops->n_cpus(g->dbg);
    uint8_t *how = malloc((size_t)n);
    if (!how)
        return -1;
    for (int i = 0; i < n; i++)
        how[i] = step < 0 ? MACHINE_RUN_CONTINUE : i == step ? MACHINE_RUN_STEP
                                                            : MACHINE_RUN_STOPPED;
    int r = resume_how(g, how);
    free(how);
    return r;
}

/* gdb detached or went away: no breakpoint stays behind, the machine runs on. */
static void disconnect(struct gdbstub *g)
{
    if (g->fd < 0)
        return;
    if (g->running)
        stop_now(g);
    g->ops->remove_all_bp(g->dbg);
    loop_remove_fd(g->loop, g->fd);
    close(g->fd);
    g->fd = -1;
    g->out_len = 0;
    g->out_watch = false;
    g->in_len = 0;
    resume(g, -1);
    g->running = false;         /* nobody to tell about stops */
    msg_info(_("gdb disconnected"));
}

static void on_accept(void *opaque, int lfd)
{
    struct gdbstub *g = opaque;
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    if (g->fd >= 0) {
        close(fd);              /* one gdb at a time */
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (loop_set_fd(g->loop, fd, on_readable, NULL, g, NULL) < 0) {
        close(fd);
        return;
    }
    g->fd = fd;
    g->noack = false;
    g->in_len = 0;
    g->c_cpu = -1;
    /* as qemu: a debugger that attaches stops the machine */
    stop_now(g);
    g->stop_sig = GDB_SIGTRAP;
}

/* A CPU stopped by itself (the machine's stop handler, loop thread). */
static void on_cpu_stop(void *opaque)
{
    struct gdbstub *g = opaque;
    if (!g->running || g->fd < 0)
        return;
    stop_now(g);
    send_stop(g);
}

/* ---- packets ---- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t to_hex(char *out, const uint8_t *buf, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[buf[i] >> 4];
        out[2 * i + 1] = digits[buf[i] & 15];
    }
    out[2 * len] = 0;
    return 2 * len;
}

/* len bytes from hex text; -1 if it is short or not hex. */
static int from_hex(uint8_t *buf, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        int hi = hexval(s[2 * i]), lo = hi < 0 ? -1 : hexval(s[2 * i + 1]);
        if (lo < 0)
            return -1;
        buf[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* A thread id ("1", "-1", "0") to a CPU index: -1 for all/any, -2 for
 * one that does not exist. */
static int parse_thread(struct gdbstub *g, const char *s)
{
    if (strncmp(s, "-1", 2) == 0)
        return -1;
    char *end;
    unsigned long id = strtoul(s, &end, 16);
    if (end == s)
        return -2;
    if (id == 0)
        return -1;
    return id <= (unsigned long)g->ops->n_cpus(g->dbg) ? (int)id - 1 : -2;
}

static const char *err_reply(int r)
{
    return r == -EFAULT ? "E0e" : r == -ENOENT ? "E02" : r == -EBUSY ? "E10" : "E01";
}

/* "addr,len" (hex); false if malformed. */
static bool parse_addr_len(const char *s, uint64_t *addr, uint64_t *len, char **end)
{
    char *e;
    *addr = strtoull(s, &e, 16);
    if (e == s || *e != ',')
        return false;
    s = e + 1;
    *len = strtoull(s, &e, 16);
    if (e == s)
        return false;
    if (end)
        *end = e;
    return true;
}

static void cmd_read_regs(struct gdbstub *g)
{
    char *r = g->resp;
    size_t n = 0;
    for (int i = 0; i < g->ops->n_g_regs; i++) {
        uint8_t buf[16];
        int sz = g->ops->read_reg(g->dbg, g->g_cpu, i, buf);
        if (sz < 0) {
            send_packet(g, err_reply(sz));
            return;
        }
        n += to_hex(r + n, buf, (size_t)sz);
    }
    send_packet_len(g, r, n);
}

static void cmd_write_regs(struct gdbstub *g, const char *hex)
{
    size_t avail = strlen(hex) / 2;
    for (int i = 0; i < g->ops->n_g_regs; i++) {
        uint8_t buf[16];
        int sz = g->ops->read_reg(g->dbg, g->g_cpu, i, buf);
        if (sz < 0 || avail < (size_t)sz)
            break;
        if (from_hex(buf, hex, (size_t)sz) < 0)
            break;
        g->ops->write_reg(g->dbg, g->g_cpu, i, buf, (size_t)sz);
        hex += 2 * sz;
        avail -= (size_t)sz;
    }
    send_packet(g, "OK");
}

static void cmd_read_reg(struct gdbstub *g, const char *arg)
{
    char *end;
    long regno = strtol(arg, &end, 16);
    uint8_t buf[16];
    int sz = end == arg ? -ENOENT : g->ops->read_reg(g->dbg, g->g_cpu, (int)regno, buf);
    if (sz < 0) {
        send_packet(g, err_reply(sz));
        return;
    }
    to_hex(g->resp, buf, (size_t)sz);
    send_packet(g, g->resp);
}

static void cmd_write_reg(struct gdbstub *g, const char *arg)
{
    char *eq;
    long regno = strtol(arg, &eq, 16);
    uint8_t buf[16];
    size_t len = *eq == '=' ? MIN(strlen(eq + 1) / 2, sizeof(buf)) : 0;
    if (eq == arg || *eq != '=' || from_hex(buf, eq + 1, len) < 0) {
        send_packet(g, "E01");
        return;
    }
    int r = g->ops->write_reg(g->dbg, g->g_cpu, (int)regno, buf, len);
    send_packet(g, r < 0 ? err_reply(r) : "OK");
}

static void cmd_read_mem(struct gdbstub *g, const char *arg)
{
    uint64_t addr, len;
    if (!parse_addr_len(arg, &addr, &len, NULL)) {
        send_packet(g, "E01");
        return;
    }
    len = MIN(len, (uint64_t)(GDB_PKT_MAX / 2 - 8));
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        send_packet(g, "E01");
        return;
    }
    int r = g->ops->read_mem(g->dbg, g->g_cpu, addr, buf, len);
    if (r < 0)
        send_packet(g, err_reply(r));
    else
        send_packet_len(g, g->resp, to_hex(g->resp, buf, len));
    free(buf);
}

/* M addr,len:hex and X addr,len:binary (escaped with '}'). */
static void cmd_write_mem(struct gdbstub *g, const char *arg, size_t arglen, bool binary)
{
    uint64_t addr, len;
    char *colon;
    if (!parse_addr_len(arg, &addr, &len, &colon) || *colon != ':' || len > GDB_PKT_MAX) {
        send_packet(g, "E01");
        return;
    }
    const char *data = colon + 1, *end = arg + arglen;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        send_packet(g, "E01");
        return;
    }
    int ok = 0;
    if (binary) {
        size_t n = 0;
        for (const char *p = data; p < end && n < len; p++)
            buf[n++] = *p == '}' && p + 1 < end ? (uint8_t)(*++p ^ 0x20) : (uint8_t)*p;
        ok = n == len ? 0 : -1;
    } else {
        ok = (size_t)(end - data) >= 2 * len ? from_hex(buf, data, len) : -1;
    }
    int r = ok < 0 ? -EINVAL : len ? g->ops->write_mem(g->dbg, g->g_cpu, addr, buf, len) : 0;
    send_packet(g, r < 0 ? err_reply(r) : "OK");
    free(buf);
}

static void cmd_breakpoint(struct gdbstub *g, const char *pkt)
{
    /* Z0/Z1 software (hardware ones are done the same way); watchpoints
     * are not supported: an empty reply */
    if ((pkt[1] != '0' && pkt[1] != '1') || pkt[2] != ',') {
        send_packet(g, "");
        return;
    }
    uint64_t addr, kind;
    if (!parse_addr_len(pkt + 3, &addr, &kind, NULL)) {
        send_packet(g, "E01");
        return;
    }
    int r = pkt[0] == 'Z' ? g->ops->insert_bp(g->dbg, g->g_cpu, addr)
                          : g->ops->remove_bp(g->dbg, g->g_cpu, addr);
    send_packet(g, r < 0 ? err_reply(r) : "OK");
}

/* c/s/C/S [addr]: continue everything, or step the Hc (else the stopped) CPU. */
static void cmd_resume(struct gdbstub *g, const char *pkt)
{
    bool step = pkt[0] == 's' || pkt[0] == 'S';
    const char *a = pkt + 1;
    if (pkt[0] == 'C' || pkt[0] == 'S') {
        a = strchr(a, ';');     /* the signal is ignored */
        a = a ? a + 1 : "";
    }
    int cpu = g->c_cpu >= 0 ? g->c_cpu : g->stop_cpu;
    if (*a) {
        uint8_t buf[8];
        uint64_t pc = strtoull(a, NULL, 16);
        for (int i = 0; i < 8; i++)
            buf[i] = (uint8_t)(pc >> (8 * i));
        g->ops->write_reg(g->dbg, cpu, 32, buf, 8);     /* gdb's pc number */
    }
    if (resume(g, step ? cpu : -1) < 0)
        send_packet(g, "E01");
}

/* vCont;ACTION[:TID]...: each CPU takes the first action that names it
 * (an action without a thread names all); CPUs named by none stay
 * stopped.  gdb's step over a breakpoint continues one thread alone. */
static void cmd_vcont(struct gdbstub *g, const char *p)
{
    int n = g->ops->n_cpus(g->dbg);
    uint8_t *how = malloc((size_t)n);
    bool *set = calloc((size_t)n, sizeof(*set));
    bool ok = how && set;
    while (ok && *p == ';') {
        char act = p[1];
        p += 2;
        if (act == 'C' || act == 'S')
            p += strspn(p, "0123456789abcdefABCDEF");
        int cpu = -1;
        if (*p == ':') {
            cpu = parse_thread(g, p + 1);
            p += 1 + strcspn(p + 1, ";");
        }
        if ((act != 'c' && act != 'C' && act != 's' && act != 'S') || cpu == -2) {
            ok = false;
            break;
        }
        uint8_t m = act == 's' || act == 'S' ? MACHINE_RUN_STEP : MACHINE_RUN_CONTINUE;
        for (int i = 0; i < n; i++) {
            if (!set[i] && (cpu < 0 || cpu == i)) {
                how[i] = m;
                set[i] = true;
            }
        }
    }
    for (int i = 0; ok && i < n; i++)
        if (!set[i])
            how[i] = MACHINE_RUN_STOPPED;
    if (!ok || resume_how(g, how) < 0)
        send_packet(g, "E01");
    free(how);
    free(set);
}

static void cmd_query(struct gdbstub *g, const char *pkt)
{
    char *r = g->resp;
    int n = g->ops->n_cpus(g->dbg);
    if (strncmp(pkt, "qSupported", 10) == 0) {
        snprintf(r, GDB_PKT_MAX, "PacketSize=%x;qXfer:features:read+;QStartNoAckMode+;"
                 "vContSupported+", GDB_PKT_MAX);
    } else if (strcmp(pkt, "qAttached") == 0) {
        strcpy(r, "1");
    } else if (strcmp(pkt, "qC") == 0) {
        snprintf(r, GDB_PKT_MAX, "QC%x", g->stop_cpu + 1);
    } else if (strcmp(pkt, "qfThreadInfo") == 0) {
        size_t k = (size_t)snprintf(r, GDB_PKT_MAX, "m");
        for (int i = 0; i < n && k < GDB_PKT_MAX - 16; i++)
            k += (size_t)snprintf(r + k, GDB_PKT_MAX - k, "%s%x", i ? "," : "", i + 1);
    } else if (strcmp(pkt, "qsThreadInfo") == 0) {
        strcpy(r, "l");
    } else if (strncmp(pkt, "qThreadExtraInfo,", 17) == 0) {
        int cpu = parse_thread(g, pkt + 17);
        char text[32];
        snprintf(text, sizeof(text), "CPU#%d", cpu < 0 ? 0 : cpu);
        to_hex(r, (const uint8_t *)text, strlen(text));
    } else if (strncmp(pkt, "qXfer:features:read:target.xml:", 31) == 0) {
        uint64_t off, len;
        const char *x = g->ops->target_xml(g->dbg);
        size_t xl = strlen(x);
        if (!parse_addr_len(pkt + 31, &off, &len, NULL)) {
            strcpy(r, "E01");
        } else if (off >= xl) {
            strcpy(r, "l");
        } else {
            size_t k = (size_t)MIN(len, MIN((uint64_t)(xl - off), (uint64_t)GDB_PKT_MAX - 2));
            r[0] = off + k >= xl ? 'l' : 'm';
            memcpy(r + 1, x + off, k);
            r[1 + k] = 0;
        }
    } else if (strncmp(pkt, "qXfer:", 6) == 0) {
        strcpy(r, "");
    } else {
        strcpy(r, "");          /* not supported */
    }
    send_packet(g, r);
}

static void handle_packet(struct gdbstub *g, char *pkt, size_t len)
{
    switch (pkt[0]) {
    case '?':
        send_stop(g);
        break;
    case 'g':
        cmd_read_regs(g);
        break;
    case 'G':
        cmd_write_regs(g, pkt + 1);
        break;
    case 'p':
        cmd_read_reg(g, pkt + 1);
        break;
    case 'P':
        cmd_write_reg(g, pkt + 1);
        break;
    case 'm':
        cmd_read_mem(g, pkt + 1);
        break;
    case 'M':
    case 'X':
        cmd_write_mem(g, pkt + 1, len - 1, pkt[0] == 'X');
        break;
    case 'Z':
    case 'z':
        cmd_breakpoint(g, pkt);
        break;
    case 'c': case 'C': case 's': case 'S':
        cmd_resume(g, pkt);
        break;
    case 'H': {
        int cpu = parse_thread(g, pkt + 2);
        if (cpu == -2 || (pkt[1] != 'g' && pkt[1] != 'c')) {
            send_packet(g, "E01");
            break;
        }
        if (pkt[1] == 'g')
            g->g_cpu = cpu >= 0 ? cpu : g->stop_cpu;
        else
            g->c_cpu = cpu;
        send_packet(g, "OK");
        break;
    }
    case 'T':
        send_packet(g, parse_thread(g, pkt + 1) >= 0 ? "OK" : "E01");
        break;
    case 'D':
        send_packet(g, "OK");
        flush_out(g);
        disconnect(g);
        break;
    case 'k':
        /* kill: the emulator quits (exit status 0), as qemu */
        loop_remove_fd(g->loop, g->fd);
        close(g->fd);
        g->fd = -1;
        g->running = false;
        machine_request(g->m, MACHINE_QUIT, 0);
        break;
    case 'q':
        cmd_query(g, pkt);
        break;
    case 'Q':
        if (strcmp(pkt, "QStartNoAckMode") == 0) {
            send_packet(g, "OK");
            g->noack = true;
        } else {
            send_packet(g, "");
        }
        break;
    case 'v':
        if (strcmp(pkt, "vCont?") == 0)
            send_packet(g, "vCont;c;C;s;S");
        else if (strncmp(pkt, "vCont;", 6) == 0)
            cmd_vcont(g, pkt + 5);
        else
            send_packet(g, "");
        break;
    default:
        send_packet(g, "");
        break;
    }
}

/* Take whole packets out of the input buffer. */
static void process_input(struct gdbstub *g)
{
    size_t i = 0;
    while (i < g->in_len && g->fd >= 0) {
        char c = g->in[i];
        if (c == 3) {                   /* ^C */
            i++;
            if (g->running) {
                stop_now(g);
                g->stop_sig = GDB_SIGINT;
                send_stop(g);
            }
            continue;
        }
        if (c == '-' && !g->noack && g->last) {
            queue(g, g->last, strlen(g->last));
            flush_out(g);
        }
        if (c != '$') {
            i++;                        /* acks and noise */
            continue;
        }
        char *hash = memchr(g->in + i, '#', g->in_len - i);
        if (!hash || (size_t)(hash - g->in) + 3 > g->in_len)
            break;                      /* not whole yet */
        char *pkt = g->in + i + 1;
        size_t len = (size_t)(hash - pkt);
        unsigned sum = 0;
        for (size_t k = 0; k < len; k++)
            sum += (unsigned char)pkt[k];
        int hi = hexval(hash[1]), lo = hexval(hash[2]);
        bool ok = hi >= 0 && lo >= 0 && (unsigned)(hi << 4 | lo) == (sum & 0xff);
        i = (size_t)(hash - g->in) + 3;
        if (!g->noack)
            queue(g, ok ? "+" : "-", 1);
        if (!ok) {
            flush_out(g);
            continue;
        }
        *hash = 0;
        if (len == 0)
            send_packet(g, "");
        else
            handle_packet(g, pkt, len);
    }
    if (g->fd < 0)
        return;
    memmove(g->in, g->in + i, g->in_len - i);
    g->in_len -= i;
    if (g->in_len == sizeof(g->in)) {
        g->in_len = 0;                  /* a packet larger than we said: drop it */
        queue(g, "-", 1);
    }
    flush_out(g);
}

static void on_readable(void *opaque, int fd)
{
    struct gdbstub *g = opaque;
    for (;;) {
        ssize_t n = read(fd, g->in + g->in_len, sizeof(g->in) - g->in_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            disconnect(g);
            return;
        }
        g->in_len += (size_t)n;
        process_input(g);
        if (g->fd < 0 || g->in_len == sizeof(g->in))
            return;
    }
}

static void on_writable(void *opaque, int fd)
{
    (void)fd;
    flush_out(opaque);
}

/* ---- setup ---- */

static int listen_on(const char *dev, struct error **errp)
{
    const char *p = strncmp(dev, "tcp:", 4) == 0 ? dev + 4 : dev;
    const char *colon = strrchr(p, ':');
    if (!colon)
        return err_set(errp, EINVAL, _("expected tcp:[HOST]:PORT"));
    char host[256];
    size_t hl = (size_t)(colon - p);
    if (hl >= sizeof(host))
        return err_set(errp, EINVAL, _("host name too long"));
    memcpy(host, p, hl);
    host[hl] = 0;
    /* [::1]: brackets around an IPv6 address */
    char *h = host;
    if (h[0] == '[' && hl > 1 && h[hl - 1] == ']') {
        h[hl - 1] = 0;
        h++;
    }
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE }, *ai;
    int e = getaddrinfo(*h ? h : NULL, colon + 1, &hints, &ai);
    if (e)
        return err_set(errp, EINVAL, _("cannot resolve '%s': %s"), p, gai_strerror(e));
    int fd = -1, err = 0;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 1) == 0)
            break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd < 0)
        return err_set_errno(errp, err ? err : EADDRNOTAVAIL, _("cannot listen on %s"), p);
    return fd;
}

int gdbstub_new(struct gdbstub **out, struct loop *loop, struct machine *m, const char *dev,
                void (*on_resume)(void *opaque), void *opaque, struct error **errp)
{
    void *dbg = NULL;
    const struct machine_debug_ops *ops = m->ops->debug ? m->ops->debug(m, &dbg) : NULL;
    if (!ops)
        return err_set(errp, ENOTSUP, _("the machine '%s' cannot be debugged"), m->ops->name);
    struct gdbstub *g = calloc(1, sizeof(*g));
    char *resp = malloc(2 * GDB_PKT_MAX + 16);
    if (!g || !resp) {
        free(g);
        free(resp);
        return err_set(errp, ENOMEM, _("out of memory"));
    }
    g->loop = loop;
    g->m = m;
    g->ops = ops;
    g->dbg = dbg;
    g->on_resume = on_resume;
    g->opaque = opaque;
    g->fd = -1;
    g->c_cpu = -1;
    g->resp = resp;
    g->stop_sig = GDB_SIGTRAP;
    g->listen_fd = listen_on(dev, errp);
    if (g->listen_fd < 0) {
        int r = g->listen_fd;
        gdbstub_free(g);
        return r;
    }
    int r = loop_set_fd(loop, g->listen_fd, on_accept, NULL, g, errp);
    if (r < 0) {
        gdbstub_free(g);
        return r;
    }
    ops->set_stop_handler(dbg, on_cpu_stop, g);
    *out = g;
    return 0;
}

void gdbstub_free(struct gdbstub *g)
{
    if (!g)
        return;
    if (g->ops)
        g->ops->set_stop_handler(g->dbg, NULL, NULL);
    if (g->fd >= 0) {
        loop_remove_fd(g->loop, g->fd);
        close(g->fd);
    }
    if (g->listen_fd >= 0) {
        loop_remove_fd(g->loop, g->listen_fd);
        close(g->listen_fd);
    }
    free(g->out);
    free(g->last);
    free(g->resp);
    free(g);
}

void gdbstub_exited(struct gdbstub *g, int code)
{
    if (!g || g->fd < 0)
        return;
    char r[8];
    snprintf(r, sizeof(r), "W%02x", code & 0xff);
    send_packet(g, r);
    /* the last words: wait (a little) until the socket takes them */
    int fl = fcntl(g->fd, F_GETFL);
    if (fl >= 0 && fcntl(g->fd, F_SETFL, fl & ~O_NONBLOCK) == 0) {
        struct timeval tv = { .tv_sec = 1 };
        setsockopt(g->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        flush_out(g);
    }
    loop_remove_fd(g->loop, g->fd);
    close(g->fd);
    g->fd = -1;
    g->running = false;
}

bool gdbstub_holds_cpus(const struct gdbstub *g)
{
    return g && g->fd >= 0 && !g->running;
}
