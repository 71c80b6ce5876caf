/* gdbstub.c - -g PORT: the gdb remote serial protocol over TCP, enough
 * for gdb-multiarch: registers (x0..x31, pc; described by target.xml),
 * memory, software breakpoints (Z0: an ebreak written into the guest
 * code, translations flushed), single-step (one-instruction blocks, see
 * tr->single_step), continue, detach, kill.  One gdb, the first thread. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "user.h"
#include "riscv/riscv.h"
#include "i18n.h"
#include "msg.h"

#define GDB_MAX_BP 64

struct gdb_bp {
    uint64_t addr;
    uint32_t saved;
    int len;
};

static struct gdb_bp gdb_bps[GDB_MAX_BP];
static int gdb_nbp;

static const char *const gdb_reg_names[32] = {
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "fp", "s1", "a0", "a1", "a2", "a3", "a4",
    "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
    "t5", "t6",
};

static int gdb_send(struct user *u, const char *data)
{
    size_t n = strlen(data);
    char *pkt = malloc(n + 5);
    if (!pkt)
        return -1;
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (unsigned char)data[i];
    pkt[0] = '$';
    memcpy(pkt + 1, data, n);
    snprintf(pkt + 1 + n, 4, "#%02x", sum & 0xff);
    ssize_t w = write(u->gdb_fd, pkt, n + 4);
    free(pkt);
    char ack;
    if (w < 0 || read(u->gdb_fd, &ack, 1) != 1)
        return -1;
    return 0;
}

/* One packet's payload into buf (NUL-terminated); -1 when gdb went away. */
static int gdb_recv(struct user *u, char *buf, size_t len)
{
    char c;
    for (;;) {
        do {
            if (read(u->gdb_fd, &c, 1) != 1)
                return -1;
            if (c == 3)     /* ^C while stopped: nothing to interrupt */
                continue;
        } while (c != '$');
        size_t n = 0;
        unsigned sum = 0;
        while (read(u->gdb_fd, &c, 1) == 1 && c != '#') {
            if (n + 1 < len)
                buf[n++] = c;
            sum += (unsigned char)c;
        }
        char cs[3] = { 0 };
        if (read(u->gdb_fd, cs, 2) != 2)
            return -1;
        buf[n] = 0;
        bool ok = strtoul(cs, NULL, 16) == (sum & 0xff);
        if (write(u->gdb_fd, ok ? "+" : "-", 1) != 1)
            return -1;
        if (ok)
            return 0;
    }
}

static void hex64(char *out, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        sprintf(out + 2 * i, "%02x", (unsigned)((v >> (8 * i)) & 0xff));
}

static uint64_t unhex64(const char *s)
{
    uint64_t v = 0;
    for (int i = 0; i < 8 && s[2 * i] && s[2 * i + 1]; i++) {
        char b[3] = { s[2 * i], s[2 * i + 1], 0 };
        v |= (uint64_t)strtoul(b, NULL, 16) << (8 * i);
    }
    return v;
}

/* Write into guest code (read-only to the guest) and drop translations. */
static int gdb_poke(struct user *u, uint64_t addr, const void *data, size_t len)
{
    struct guest_mem *m = &u->mem;
    tr_lock(u->tr);
    const struct vma *v = gmem_find(m, addr);
    if (!v || addr + len > v->end) {
        tr_unlock(u->tr);
        return -EFAULT;
    }
    uint64_t pg = ALIGN_DOWN(addr, GUEST_PAGE);
    size_t span = ALIGN_UP(addr + len, GUEST_PAGE) - pg;
    int prot = v->prot;
    tr_flush(u->tr, UCPU);
    mprotect(g2h(m, pg), span, PROT_READ | PROT_WRITE);
    memcpy(g2h(m, addr), data, len);
    mprotect(g2h(m, pg), span,
             (prot & (PROT_READ | PROT_WRITE)) | ((prot & PROT_EXEC) ? PROT_READ : 0));
    tr_unlock(u->tr);
    return 0;
}

static const char *gdb_target_xml(void)
{
    static char xml[8192];
    if (xml[0])
        return xml;
    int n = snprintf(xml, sizeof(xml),
                     "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
                     "<target><architecture>riscv:rv64</architecture>"
                     "<feature name=\"org.gnu.gdb.riscv.cpu\">");
    for (int i = 0; i < 32; i++)
        n += snprintf(xml + n, sizeof(xml) - (size_t)n,
                      "<reg name=\"%s\" bitsize=\"64\" type=\"int\" regnum=\"%d\"/>",
                      gdb_reg_names[i], i);
    n += snprintf(xml + n, sizeof(xml) - (size_t)n,
                  "<reg name=\"pc\" bitsize=\"64\" type=\"code_ptr\" regnum=\"32\"/></feature>"
                  "<feature name=\"org.gnu.gdb.riscv.fpu\">");
    for (int i = 0; i < 32; i++)
        n += snprintf(xml + n, sizeof(xml) - (size_t)n,
                      "<reg name=\"f%d\" bitsize=\"64\" type=\"ieee_double\" regnum=\"%d\"/>",
                      i, 33 + i);
    snprintf(xml + n, sizeof(xml) - (size_t)n,
             "<reg name=\"fflags\" bitsize=\"32\" type=\"int\" regnum=\"66\"/>"
             "<reg name=\"frm\" bitsize=\"32\" type=\"int\" regnum=\"67\"/>"
             "<reg name=\"fcsr\" bitsize=\"32\" type=\"int\" regnum=\"68\"/>"
             "</feature></target>");
    return xml;
}

static void gdb_set_step(struct user *u, bool on)
{
    struct tr *tr = u->tr;
    if (tr->single_step == on)
        return;
    tr_lock(tr);
    tr->single_step = on;
    tr->max_insns = on ? 1 : tr->fe->max_insns;
    tr->no_chain = on;
    tr_flush(tr, UCPU);
    tr_unlock(tr);
}

int gdb_listen(struct user *u, int port)
{
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 1) < 0) {
        char ps[16];
        snprintf(ps, sizeof(ps), "%d", port);
        msg_error(_("cannot listen for gdb on port %s: %s"), ps, strerror(errno));
        if (ls >= 0)
            close(ls);
        return -1;
    }
    msg_info(_("waiting for gdb on port %d"), port);
    int fd;
    while ((fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC)) < 0 && errno == EINTR)
        ;
    close(ls);
    if (fd < 0)
        return -1;
    /* out of the guest's way: a high descriptor */
    int hi = fcntl(fd, F_DUPFD_CLOEXEC, 900);
    if (hi >= 0) {
        close(fd);
        fd = hi;
    }
    setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
    u->gdb_fd = fd;
    return 0;
}

void gdb_exited(struct user *u, int code)
{
    if (u->gdb_fd < 0)
        return;
    char r[8];
    snprintf(r, sizeof(r), "W%02x", code & 0xff);
    gdb_send(u, r);
    close(u->gdb_fd);
    u->gdb_fd = -1;
}

/* Stopped with sig: talk to gdb until it resumes us. */
void gdb_stop(struct user *u, int sig)
{
    struct cpu *c = UCPU;
    char stop[8];
    snprintf(stop, sizeof(stop), "S%02x", sig);
    if (u->gdb_stopped_once && gdb_send(u, stop) < 0)
        goto gone;
    u->gdb_stopped_once = true;
    char *in = malloc(8192), *out = malloc(8192);
    if (!in || !out) {
        free(in);
        free(out);
        goto gone;
    }
    for (;;) {
        if (gdb_recv(u, in, 8192) < 0) {
            free(in);
            free(out);
            goto gone;
        }
        out[0] = 0;
        switch (in[0]) {
        case '?': strcpy(out, stop); break;
        case 'g':
            for (int i = 0; i < 32; i++)
                hex64(out + 16 * i, i ? c->x[i] : 0);
            hex64(out + 16 * 32, c->pc);
            out[16 * 33] = 0;
            break;
        case 'G':
            for (int i = 1; i < 32 && strlen(in + 1) >= 16u * (unsigned)(i + 1); i++)
                c->x[i] = unhex64(in + 1 + 16 * i);
            if (strlen(in + 1) >= 16 * 33)
                c->pc = unhex64(in + 1 + 16 * 32);
            strcpy(out, "OK");
            break;
        case 'p': {
            unsigned long r = strtoul(in + 1, NULL, 16);
            rv_fp_sync(c);
            uint32_t fcsr = (c->frm << 5) | c->fflags;
            if (r < 32)
                hex64(out, r ? c->x[r] : 0);
            else if (r == 32)
                hex64(out, c->pc);
            else if (r >= 33 && r < 65)
                hex64(out, c->f[r - 33]);
            else if (r >= 66 && r <= 68)
                hex64(out, r == 66 ? c->fflags : r == 67 ? c->frm : fcsr);
            else
                strcpy(out, "E01");
            if (r <= 64)
                out[16] = 0;
            else if (r >= 66 && r <= 68)
                out[8] = 0;
            break;
        }
        case 'P': {
            char *eq;
            unsigned long r = strtoul(in + 1, &eq, 16);
            if (*eq == '=' && r > 0 && r < 32)
                c->x[r] = unhex64(eq + 1);
            else if (*eq == '=' && r == 32)
                c->pc = unhex64(eq + 1);
            else if (*eq == '=' && r >= 33 && r < 65)
                c->f[r - 33] = unhex64(eq + 1);
            strcpy(out, r <= 64 ? "OK" : "E01");
            break;
        }
        case 'm': {
            char *comma;
            uint64_t addr = strtoull(in + 1, &comma, 16);
            uint64_t len = strtoull(comma + 1, NULL, 16);
            uint8_t buf[2048];
            if (len > sizeof(buf) || get_user(u, buf, addr, len) < 0) {
                strcpy(out, "E14");
                break;
            }
            for (uint64_t i = 0; i < len; i++)
                sprintf(out + 2 * i, "%02x", buf[i]);
            out[2 * len] = 0;
            break;
        }
        case 'M': {
            char *comma, *colon;
            uint64_t addr = strtoull(in + 1, &comma, 16);
            uint64_t len = strtoull(comma + 1, &colon, 16);
            uint8_t buf[2048];
            if (len > sizeof(buf) || *colon != ':') {
                strcpy(out, "E01");
                break;
            }
            for (uint64_t i = 0; i < len; i++) {
                char b[3] = { colon[1 + 2 * i], colon[2 + 2 * i], 0 };
                buf[i] = (uint8_t)strtoul(b, NULL, 16);
            }
            strcpy(out, gdb_poke(u, addr, buf, len) < 0 ? "E14" : "OK");
            break;
        }
        case 'Z': case 'z': {
            if (in[1] != '0') {
                break;      /* only software breakpoints: empty = unsupported */
            }
            uint64_t addr = strtoull(in + 3, NULL, 16);
            int found = -1;
            for (int i = 0; i < gdb_nbp; i++)
                if (gdb_bps[i].addr == addr)
                    found = i;
            if (in[0] == 'Z') {
                if (found >= 0) {
                    strcpy(out, "OK");
                    break;
                }
                uint16_t half;
                if (gdb_nbp == GDB_MAX_BP || get_user(u, &half, addr, 2) < 0) {
                    strcpy(out, "E14");
                    break;
                }
                struct gdb_bp *b = &gdb_bps[gdb_nbp];
                b->addr = addr;
                b->len = (half & 3) == 3 ? 4 : 2;
                b->saved = 0;
                get_user(u, &b->saved, addr, (size_t)b->len);
                uint32_t ebreak = b->len == 4 ? 0x00100073 : 0x9002;
                if (gdb_poke(u, addr, &ebreak, (size_t)b->len) < 0) {
                    strcpy(out, "E14");
                    break;
                }
                gdb_nbp++;
            } else if (found >= 0) {
                gdb_poke(u, addr, &gdb_bps[found].saved, (size_t)gdb_bps[found].len);
                gdb_bps[found] = gdb_bps[--gdb_nbp];
            }
            strcpy(out, "OK");
            break;
        }
        case 'c':
            if (in[1])
                c->pc = strtoull(in + 1, NULL, 16);
            gdb_set_step(u, false);
            free(in);
            free(out);
            return;
        case 's':
            if (in[1])
                c->pc = strtoull(in + 1, NULL, 16);
            gdb_set_step(u, true);
            memset(c->jc, 0, sizeof(c->jc));
            free(in);
            free(out);
            return;
        case 'k':
            exit(0);
        case 'D':
            gdb_send(u, "OK");
            free(in);
            free(out);
            goto gone;
        case 'H': strcpy(out, "OK"); break;
        case 'q':
            if (strncmp(in, "qSupported", 10) == 0)
                strcpy(out, "PacketSize=1000;qXfer:features:read+");
            else if (strcmp(in, "qAttached") == 0)
                strcpy(out, "1");
            else if (strcmp(in, "qC") == 0)
                strcpy(out, "QC1");
            else if (strcmp(in, "qfThreadInfo") == 0)
                strcpy(out, "m1");
            else if (strcmp(in, "qsThreadInfo") == 0)
                strcpy(out, "l");
            else if (strncmp(in, "qXfer:features:read:target.xml:", 31) == 0) {
                unsigned long off = strtoul(in + 31, NULL, 16);
                const char *comma = strchr(in + 31, ',');
                unsigned long len = comma ? strtoul(comma + 1, NULL, 16) : 0;
                const char *x = gdb_target_xml();
                size_t xl = strlen(x);
                if (off >= xl) {
                    strcpy(out, "l");
                } else {
                    size_t n = MIN(len, MIN(xl - off, 8000));
                    out[0] = off + n >= xl ? 'l' : 'm';
                    memcpy(out + 1, x + off, n);
                    out[1 + n] = 0;
                }
            }
            break;
        case 'T': strcpy(out, "OK"); break;
        default: break;
        }
        if (gdb_send(u, out) < 0) {
            free(in);
            free(out);
            goto gone;
        }
    }
gone:
    /* gdb detached or went away: run on without it */
    if (u->gdb_fd >= 0)
        close(u->gdb_fd);
    u->gdb_fd = -1;
    gdb_set_step(u, false);
}
