/* test-hw-devices.c - the device models driven through the memory map as
 * a hart would drive them (mem_mmio_read/write), with recording interrupt
 * lines: memory map bounds, ns16550a, PLIC, CLINT, goldfish RTC,
 * sifive-test and the empty virtio-mmio slots.
 *
 * The character device and machine_request are test doubles defined here
 * (the linker then takes them instead of libcore's), so the test needs
 * neither a terminal nor harts. */
#include <config.h>
#include <errno.h>
#include <time.h>
#include "hw/devices.h"
#include "hw/machine.h"
#include "chardev.h"
#include "unit.h"

static struct loop *L;

/* ---- doubles ---- */

struct chardev {
    const struct chardev_frontend *fe;
    void *fe_opaque;
    uint8_t out[256];
    size_t n_out;
    int accepts;
};

void chardev_set_frontend(struct chardev *c, const struct chardev_frontend *fe, void *opaque)
{
    c->fe = fe;
    c->fe_opaque = opaque;
}

void chardev_accept_input(struct chardev *c)
{
    c->accepts++;
}

void chardev_write(struct chardev *c, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len && c->n_out < sizeof(c->out); i++)
        c->out[c->n_out++] = buf[i];
}

static int req_count, req_event, req_code;
void machine_request(struct machine *m, enum machine_event ev, int exit_code)
{
    (void)m;
    req_count++;
    req_event = (int)ev;
    req_code = exit_code;
}

/* Recording irq lines: levels[n] and the number of changes. */
struct irq_rec {
    int level[16];
    int changes;
};

static void rec_set(void *opaque, int n, int level)
{
    struct irq_rec *r = opaque;
    if (n >= 0 && n < 16 && r->level[n] != level) {
        r->level[n] = level;
        r->changes++;
    }
}

static uint64_t rd(struct mem_map *m, uint64_t a, unsigned size)
{
    uint64_t v = 0xdeadbeef;
    CHECK(mem_mmio_read(m, a, size, &v));
    return v;
}

static void wr(struct mem_map *m, uint64_t a, unsigned size, uint64_t v)
{
    CHECK(mem_mmio_write(m, a, size, v));
}

/* Run the loop until *flag is set or ms milliseconds pass. */
static void run_until(const int *flag, int ms)
{
    uint64_t end = loop_now_ns() + (uint64_t)ms * 1000000;
    while (!*flag && loop_now_ns() < end) {
        /* Blocking would wait for the timer; a short poll keeps the bound. */
        loop_run_once(L, false, NULL);
        struct timespec ts = { 0, 200000 };
        nanosleep(&ts, NULL);
    }
}

/* ---- memory map ---- */

static bool dummy_read(void *o, uint64_t off, unsigned size, uint64_t *val)
{
    (void)o, (void)size;
    *val = off + 1;
    return true;
}
static const struct mmio_ops dummy_ops = { .read = dummy_read };

static void test_mem(void)
{
    struct mem_map m = { .n = 0 };
    struct error *err = NULL;

    CHECK(mem_add_ram(&m, "ram", 0x80000000, 0x100000, false, NULL) == 0);
    CHECK(mem_add_ram(&m, "rom", 0x1000, 0xf000, true, NULL) == 0);
    CHECK(mem_add_mmio(&m, "dev", 0x10000000, 0x100, &dummy_ops, NULL, NULL) == 0);
    /* Overlaps at either end and inside are refused, naming both. */
    CHECK(mem_add_mmio(&m, "over", 0x800ff000, 0x2000, &dummy_ops, NULL, &err) == -EEXIST);
    CHECK_CONTAINS(err_msg(err), "'over'");
    CHECK_CONTAINS(err_msg(err), "'ram'");
    err_free(err);
    err = NULL;
    CHECK(mem_add_mmio(&m, "under", 0x7ffff000, 0x2000, &dummy_ops, NULL, NULL) == -EEXIST);
    CHECK(mem_add_mmio(&m, "wrap", UINT64_MAX - 0xff, 0x200, &dummy_ops, NULL, NULL) < 0);
    CHECK(mem_add_mmio(&m, "zero", 0x20000000, 0, &dummy_ops, NULL, NULL) < 0);
    CHECK(m.n == 3);
    CHECK(m.r[0].base == 0x1000 && m.r[1].base == 0x10000000 && m.r[2].base == 0x80000000);

    CHECK(mem_find(&m, 0x800fffff) == &m.r[2]);
    CHECK(mem_find(&m, 0x80100000) == NULL);
    CHECK(mem_find(&m, 0xfff) == NULL);
    CHECK(mem_ram_ptr(&m, 0x800ffff0, 0x10, false) != NULL);
    CHECK(mem_ram_ptr(&m, 0x800ffff0, 0x11, false) == NULL);
    CHECK(mem_ram_ptr(&m, 0x80000000, UINT64_MAX, false) == NULL);
    CHECK(mem_ram_ptr(&m, 0x1000, 4, false) == NULL);   /* ROM */
    CHECK(mem_ram_ptr(&m, 0x1000, 4, true) != NULL);
    uint32_t word = 0x12345678, back = 0;
    CHECK(mem_write(&m, 0x80000100, &word, 4) == 0);
    CHECK(mem_read(&m, 0x80000100, &back, 4) == 0);
    CHECK(back == 0x12345678);
    CHECK(mem_write(&m, 0x800ffffe, &word, 4) == -EFAULT);
    CHECK(mem_read(&m, 0x10000000, &back, 4) == -EFAULT);    /* MMIO */

    uint64_t v;
    CHECK(mem_mmio_read(&m, 0x10000010, 4, &v) && v == 0x11);
    CHECK(!mem_mmio_read(&m, 0x100000fc, 8, &v));  /* crosses the end */
    CHECK(!mem_mmio_read(&m, 0x10000000, 3, &v));
    CHECK(!mem_mmio_read(&m, 0x80000000, 4, &v));  /* RAM is not MMIO */
    CHECK(!mem_mmio_write(&m, 0x10000000, 4, 0));  /* no write callback */
    CHECK(!mem_mmio_read(&m, 0x20000000, 4, &v));  /* nothing there */
    mem_map_free(&m);
    CHECK(m.n == 0);
}

/* ---- ns16550a ---- */
#define U 0x10000000

static void test_uart(void)
{
    struct mem_map m = { .n = 0 };
    struct chardev chr = { .n_out = 0 };
    struct irq_rec irq = { .changes = 0 };
    struct uart16550 *u;

    CHECK(uart16550_new(&u, &m, U, (struct irq_line){ rec_set, &irq, 3 }, &chr, NULL) == 0);
    CHECK(chr.fe != NULL);

    /* Output goes out at once; THR is always empty. */
    wr(&m, U + 0, 1, 'h');
    wr(&m, U + 0, 1, 'i');
    CHECK(chr.n_out == 2 && chr.out[0] == 'h' && chr.out[1] == 'i');
    CHECK_U64(rd(&m, U + 5, 1) & 0x61, 0x60);
    CHECK(irq.level[3] == 0);           /* nothing enabled */

    /* Divisor latch. */
    wr(&m, U + 3, 1, 0x83);
    wr(&m, U + 0, 1, 0x12);
    wr(&m, U + 1, 1, 0x34);
    CHECK_U64(rd(&m, U + 0, 1), 0x12);
    CHECK_U64(rd(&m, U + 1, 1), 0x34);
    wr(&m, U + 3, 1, 0x03);
    CHECK_U64(rd(&m, U + 1, 1), 0);     /* IER again */
    CHECK(chr.n_out == 2);              /* DLL writes are not output */

    /* Enabling the THRE interrupt raises it; the IIR read that reports it
     * clears it; a THR write raises it again. */
    wr(&m, U + 2, 1, 0x07);             /* FIFOs on, cleared */
    wr(&m, U + 1, 1, 0x02);
    CHECK(irq.level[3] == 1);
    CHECK_U64(rd(&m, U + 2, 1), 0xc2);
    CHECK(irq.level[3] == 0);
    CHECK_U64(rd(&m, U + 2, 1), 0xc1);
    wr(&m, U + 0, 1, 'x');
    CHECK(irq.level[3] == 1);
    wr(&m, U + 1, 1, 0x00);
    CHECK(irq.level[3] == 0);

    /* Input: the FIFO takes 16 bytes, then the chardev waits. */
    uint8_t in[20];
    for (int i = 0; i < 20; i++)
        in[i] = (uint8_t)('a' + i);
    hw_lock();
    CHECK(chr.fe->can_read(chr.fe_opaque) == 16);
    chr.fe->read(chr.fe_opaque, in, 3);
    hw_unlock();
    CHECK_U64(rd(&m, U + 5, 1) & 1, 1);
    CHECK(irq.level[3] == 0);           /* RDA not enabled */
    wr(&m, U + 1, 1, 0x01);
    CHECK(irq.level[3] == 1);
    CHECK_U64(rd(&m, U + 2, 1), 0xc4);  /* trigger level 1 reached */
    hw_lock();
    chr.fe->read(chr.fe_opaque, in + 3, 13);
    CHECK(chr.fe->can_read(chr.fe_opaque) == 0);
    hw_unlock();
    int accepts = chr.accepts;
    CHECK_U64(rd(&m, U + 0, 1), 'a');
    CHECK(chr.accepts == accepts + 1);  /* room again: the chardev is told */
    for (int i = 1; i < 16; i++)
        CHECK_U64(rd(&m, U + 0, 1), 'a' + i);
    CHECK_U64(rd(&m, U + 5, 1) & 1, 0);
    CHECK(irq.level[3] == 0);
    CHECK_U64(rd(&m, U + 0, 1), 0);     /* empty FIFO reads 0 */

    /* FCR clears the receive FIFO. */
    hw_lock();
    chr.fe->read(chr.fe_opaque, in, 2);
    hw_unlock();
    CHECK(irq.level[3] == 1);
    wr(&m, U + 2, 1, 0x03);
    CHECK(irq.level[3] == 0);
    CHECK_U64(rd(&m, U + 5, 1) & 1, 0);

    /* Trigger level 4: one byte reports the timeout id, four the RDA id. */
    wr(&m, U + 2, 1, 0x41);
    hw_lock();
    chr.fe->read(chr.fe_opaque, in, 1);
    hw_unlock();
    CHECK_U64(rd(&m, U + 2, 1), 0xcc);
    hw_lock();
    chr.fe->read(chr.fe_opaque, in, 3);
    hw_unlock();
    CHECK_U64(rd(&m, U + 2, 1), 0xc4);

    /* Scratch, modem status, the unused rest of the window. */
    wr(&m, U + 7, 1, 0x5a);
    CHECK_U64(rd(&m, U + 7, 1), 0x5a);
    CHECK_U64(rd(&m, U + 6, 1) & 0xb0, 0xb0);
    CHECK_U64(rd(&m, U + 0x80, 1), 0);
    wr(&m, U + 0x80, 1, 0xff);
    uint64_t v;
    CHECK(!mem_mmio_read(&m, U + 0xff, 2, &v));     /* crosses the end */

    /* Reset drops the line and the FIFO. */
    uart16550_reset(u);
    CHECK(irq.level[3] == 0);
    CHECK_U64(rd(&m, U + 5, 1) & 1, 0);
    CHECK_U64(rd(&m, U + 1, 1), 0);
    uart16550_free(u);
    CHECK(chr.fe == NULL);
    mem_map_free(&m);

    /* No serial line: output dropped, nothing breaks. */
    CHECK(uart16550_new(&u, &m, U, (struct irq_line){ NULL, NULL, 0 }, NULL, NULL) == 0);
    wr(&m, U + 0, 1, 'z');
    CHECK_U64(rd(&m, U + 5, 1) & 0x60, 0x60);
    uart16550_free(u);
    mem_map_free(&m);
}

/* ---- PLIC ---- */
#define P 0xc000000
#define P_EN(c) (P + 0x2000 + 0x80 * (c))
#define P_TH(c) (P + 0x200000 + 0x1000 * (c))
#define P_CL(c) (P_TH(c) + 4)

static void test_plic(void)
{
    struct mem_map m = { .n = 0 };
    struct irq_rec out = { .changes = 0 };
    struct irq_line lines[4];
    struct plic *p;
    for (int i = 0; i < 4; i++)
        lines[i] = (struct irq_line){ rec_set, &out, i };

    CHECK(plic_new(&p, &m, P, 0x600000, 96, 4, lines, NULL) == 0);
    struct irq_line s10 = plic_input(p, 10), s11 = plic_input(p, 11), s96 = plic_input(p, 96);

    /* A raised source with priority 0 or not enabled interrupts no one. */
    irq_set(&s10, 1);
    CHECK_U64(rd(&m, P + 0x1000, 4), 1u << 10);
    CHECK(out.changes == 0);
    wr(&m, P + 4 * 10, 4, 5);
    CHECK(out.changes == 0);
    wr(&m, P_EN(1), 4, 1u << 10);
    CHECK(out.level[1] == 1 && out.level[0] == 0);
    CHECK_U64(rd(&m, P_EN(1), 4), 1u << 10);

    /* Threshold: only priorities above it. */
    wr(&m, P_TH(1), 4, 5);
    CHECK(out.level[1] == 0);
    CHECK_U64(rd(&m, P_CL(1), 4), 0);   /* nothing to claim */
    wr(&m, P_TH(1), 4, 4);
    CHECK(out.level[1] == 1);

    /* Claim: highest priority wins, then the lowest id. */
    irq_set(&s11, 1);
    wr(&m, P + 4 * 11, 4, 7);
    wr(&m, P_EN(1), 4, (1u << 10) | (1u << 11));
    CHECK_U64(rd(&m, P_CL(1), 4), 11);
    CHECK_U64(rd(&m, P + 0x1000, 4), 1u << 10);    /* 11 in service */
    CHECK_U64(rd(&m, P_CL(1), 4), 10);
    CHECK(out.level[1] == 0);
    /* The gateway: still high, but not pending again until completed. */
    CHECK_U64(rd(&m, P_CL(1), 4), 0);
    wr(&m, P_CL(1), 4, 10);
    CHECK(out.level[1] == 1);
    CHECK_U64(rd(&m, P_CL(1), 4), 10);
    irq_set(&s10, 0);
    wr(&m, P_CL(1), 4, 10);
    CHECK(out.level[1] == 0);           /* line low now: not pending */
    /* Completion for a source not enabled in the context is ignored. */
    wr(&m, P_CL(0), 4, 11);
    CHECK_U64(rd(&m, P + 0x1000, 4), 0);
    wr(&m, P_CL(1), 4, 11);
    CHECK_U64(rd(&m, P + 0x1000, 4), 1u << 11);
    CHECK(out.level[1] == 1);
    irq_set(&s11, 0);
    CHECK(out.level[1] == 0);

    /* Ties go to the lower id; another context sees the same source. */
    wr(&m, P + 4 * 10, 4, 2);
    wr(&m, P + 4 * 11, 4, 2);
    wr(&m, P_TH(1), 4, 0);
    irq_set(&s11, 1);
    irq_set(&s10, 1);
    wr(&m, P_EN(2), 4, 1u << 11);
    CHECK(out.level[1] == 1 && out.level[2] == 1);
    CHECK_U64(rd(&m, P_CL(1), 4), 10);
    CHECK_U64(rd(&m, P_CL(2), 4), 11);
    CHECK(out.level[1] == 0 && out.level[2] == 0);

    /* The last source and its enable bit, in the fourth word. */
    irq_set(&s96, 1);
    wr(&m, P + 4 * 96, 4, 1);
    wr(&m, P_EN(3) + 12, 4, 0xffffffff);
    CHECK_U64(rd(&m, P_EN(3) + 12, 4), 1);  /* only source 96 exists */
    CHECK(out.level[3] == 1);
    CHECK_U64(rd(&m, P_CL(3), 4), 96);

    /* Source 0 and sources past ndev do not exist; priorities are 3 bits. */
    wr(&m, P + 0, 4, 7);
    CHECK_U64(rd(&m, P + 0, 4), 0);
    wr(&m, P + 4 * 97, 4, 7);
    CHECK_U64(rd(&m, P + 4 * 97, 4), 0);
    wr(&m, P_EN(0), 4, 1);
    CHECK_U64(rd(&m, P_EN(0), 4), 0);
    wr(&m, P + 4 * 5, 4, 0xff);
    CHECK_U64(rd(&m, P + 4 * 5, 4), 7);
    struct irq_line none = plic_input(p, 0);
    irq_set(&none, 1);
    none = plic_input(p, 97);
    irq_set(&none, 1);
    CHECK_U64(rd(&m, P + 0x1000, 4) & 1, 0);
    /* Contexts that do not exist, the pending bits, bad sizes. */
    wr(&m, P_TH(4), 4, 1);
    CHECK_U64(rd(&m, P_TH(4), 4), 0);
    CHECK_U64(rd(&m, P_EN(4), 4), 0);
    CHECK_U64(rd(&m, P + 0x1000 + 12, 4), 0);  /* 96 in service */
    wr(&m, P_CL(3), 4, 96);
    wr(&m, P + 0x1000 + 12, 4, 0);              /* read-only */
    CHECK_U64(rd(&m, P + 0x1000 + 12, 4), 1);
    uint64_t v;
    CHECK(!mem_mmio_read(&m, P_CL(1), 8, &v));
    CHECK(!mem_mmio_read(&m, P + 2, 4, &v));
    CHECK(!mem_mmio_write(&m, P_TH(1), 1, 0));
    CHECK(!mem_mmio_read(&m, P + 0x600000, 4, &v));

    plic_reset(p);
    CHECK(out.level[0] == 0 && out.level[1] == 0 && out.level[2] == 0 && out.level[3] == 0);
    CHECK_U64(rd(&m, P + 4 * 10, 4), 0);
    plic_free(p);
    mem_map_free(&m);

    struct plic *bad;
    CHECK(plic_new(&bad, &m, P, 0x1000, 96, 4, lines, NULL) == -EINVAL);
}

/* ---- CLINT ---- */
#define C 0x2000000

static void test_clint(void)
{
    struct mem_map m = { .n = 0 };
    struct irq_rec msip = { .changes = 0 }, mtip = { .changes = 0 };
    struct irq_line ms[2], mt[2];
    struct aclint *c;
    for (int i = 0; i < 2; i++) {
        ms[i] = (struct irq_line){ rec_set, &msip, i };
        mt[i] = (struct irq_line){ rec_set, &mtip, i };
    }
    CHECK(aclint_new(&c, &m, L, C, 2, ms, mt, NULL) == 0);

    wr(&m, C + 4, 4, 0xffffffff);
    CHECK(msip.level[1] == 1 && msip.level[0] == 0);
    CHECK_U64(rd(&m, C + 4, 4), 1);
    wr(&m, C + 4, 4, 0);
    CHECK(msip.level[1] == 0);
    CHECK_U64(rd(&m, C + 8, 4), 0);     /* hart 2 does not exist */
    wr(&m, C + 8, 4, 1);

    /* mtime runs at 10 MHz; halves read the same counter. */
    uint64_t t0 = rd(&m, C + 0xbff8, 8);
    struct timespec ts = { 0, 2000000 };
    nanosleep(&ts, NULL);
    uint64_t t1 = rd(&m, C + 0xbff8, 8);
    CHECK(t1 - t0 >= 20000 && t1 - t0 < 20000000);
    CHECK_U64(rd(&m, C + 0xbffc, 4), rd(&m, C + 0xbff8, 8) >> 32);

    /* mtimecmp resets to all ones: MTIP low. */
    CHECK_U64(rd(&m, C + 0x4000, 8), UINT64_MAX);
    CHECK(mtip.level[0] == 0);
    /* A deadline in the past raises MTIP at once. */
    wr(&m, C + 0x4000, 8, 0);
    CHECK(mtip.level[0] == 1);
    wr(&m, C + 0x4000, 8, UINT64_MAX);
    CHECK(mtip.level[0] == 0);
    /* 2 ms ahead: low now, high after the deadline (through the loop). */
    uint64_t now = rd(&m, C + 0xbff8, 8);
    wr(&m, C + 0x4008, 4, (uint32_t)(now + 20000));
    wr(&m, C + 0x400c, 4, (now + 20000) >> 32);
    CHECK_U64(rd(&m, C + 0x4008, 8), now + 20000);
    CHECK(mtip.level[1] == 0);
    run_until(&mtip.level[1], 2000);
    CHECK(mtip.level[1] == 1);
    CHECK(rd(&m, C + 0xbff8, 8) >= now + 20000);
    /* Cancelled by a later deadline: does not fire early. */
    now = rd(&m, C + 0xbff8, 8);
    wr(&m, C + 0x4008, 8, now + 10000);
    CHECK(mtip.level[1] == 0);
    wr(&m, C + 0x4008, 8, UINT64_MAX);
    ts.tv_nsec = 3000000;
    nanosleep(&ts, NULL);
    for (int i = 0; i < 5; i++)
        loop_run_once(L, false, NULL);
    CHECK(mtip.level[1] == 0);

    /* Writing mtime moves the clock: far ahead raises MTIP. */
    wr(&m, C + 0x4000, 8, UINT64_C(1) << 40);
    CHECK(mtip.level[0] == 0);
    wr(&m, C + 0xbff8, 8, UINT64_C(1) << 41);
    CHECK(mtip.level[0] == 1);
    CHECK(rd(&m, C + 0xbff8, 8) >= UINT64_C(1) << 41);

    /* Sizes and alignment the CLINT does not decode. */
    uint64_t v;
    CHECK(!mem_mmio_read(&m, C + 0, 8, &v));
    CHECK(!mem_mmio_read(&m, C + 0x4000, 2, &v));
    CHECK(!mem_mmio_write(&m, C + 0x4004, 8, 0));
    CHECK(!mem_mmio_read(&m, C + 0xbffa, 4, &v));
    CHECK_U64(rd(&m, C + 0x5000, 8), 0);    /* past the harts */

    aclint_reset(c);
    CHECK(mtip.level[0] == 0 && msip.level[1] == 0);
    CHECK(rd(&m, C + 0xbff8, 8) < UINT64_C(1) << 40);
    aclint_free(c);
    mem_map_free(&m);
}

/* ---- goldfish RTC ---- */
#define R 0x101000

static void test_rtc(void)
{
    struct mem_map m = { .n = 0 };
    struct irq_rec irq = { .changes = 0 };
    struct goldfish_rtc *r;
    CHECK(goldfish_rtc_new(&r, &m, L, R, (struct irq_line){ rec_set, &irq, 0 }, NULL) == 0);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t host = (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
    uint64_t lo = rd(&m, R + 0x00, 4);
    uint64_t t = (rd(&m, R + 0x04, 4) << 32) | lo;
    CHECK(t >= host && t - host < 1000000000);

    /* Setting the time: high half staged, low half commits. */
    wr(&m, R + 0x04, 4, 0x10);
    wr(&m, R + 0x00, 4, 0);
    lo = rd(&m, R + 0x00, 4);
    t = (rd(&m, R + 0x04, 4) << 32) | lo;
    CHECK(t >= UINT64_C(0x10) << 32 && t - (UINT64_C(0x10) << 32) < 1000000000);

    /* An alarm 2 ms ahead interrupts when enabled. */
    uint64_t at = t + 2000000;
    wr(&m, R + 0x10, 4, 1);
    wr(&m, R + 0x0c, 4, at >> 32);
    wr(&m, R + 0x08, 4, (uint32_t)at);
    CHECK_U64(rd(&m, R + 0x18, 4), 1);
    CHECK(irq.level[0] == 0);
    run_until(&irq.level[0], 2000);
    CHECK(irq.level[0] == 1);
    CHECK_U64(rd(&m, R + 0x18, 4), 0);
    wr(&m, R + 0x1c, 4, 1);
    CHECK(irq.level[0] == 0);

    /* A past alarm fires at once; masked, the line stays low. */
    wr(&m, R + 0x10, 4, 0);
    wr(&m, R + 0x08, 4, 0);
    CHECK(irq.level[0] == 0);
    wr(&m, R + 0x10, 4, 1);
    CHECK(irq.level[0] == 1);
    wr(&m, R + 0x1c, 4, 1);
    CHECK(irq.level[0] == 0);

    /* Cleared alarms do not fire. */
    lo = rd(&m, R + 0x00, 4);
    at = ((rd(&m, R + 0x04, 4) << 32) | lo) + 1000000;
    wr(&m, R + 0x0c, 4, at >> 32);
    wr(&m, R + 0x08, 4, (uint32_t)at);
    wr(&m, R + 0x14, 4, 1);
    CHECK_U64(rd(&m, R + 0x18, 4), 0);
    struct timespec d = { 0, 3000000 };
    nanosleep(&d, NULL);
    for (int i = 0; i < 5; i++)
        loop_run_once(L, false, NULL);
    CHECK(irq.level[0] == 0);

    uint64_t v;
    CHECK(!mem_mmio_read(&m, R + 0x00, 8, &v));
    CHECK(!mem_mmio_write(&m, R + 0x02, 4, 0));
    CHECK_U64(rd(&m, R + 0x20, 4), 0);
    goldfish_rtc_reset(r);
    CHECK_U64(rd(&m, R + 0x10, 4), 0);
    goldfish_rtc_free(r);
    mem_map_free(&m);
}

/* ---- sifive-test ---- */
#define T 0x100000

static void test_sifive_test(void)
{
    struct mem_map m = { .n = 0 };
    struct sifive_test *t;
    CHECK(sifive_test_new(&t, &m, T, NULL, NULL) == 0);
    CHECK_U64(rd(&m, T, 4), 0);
    wr(&m, T, 4, 0x5555);
    CHECK(req_count == 1 && req_event == MACHINE_SHUTDOWN && req_code == 0);
    wr(&m, T, 4, (42u << 16) | 0x3333);
    CHECK(req_count == 2 && req_event == MACHINE_SHUTDOWN && req_code == 42);
    wr(&m, T, 4, 0x7777);
    CHECK(req_count == 3 && req_event == MACHINE_RESET);
    wr(&m, T, 4, 0x1234);
    wr(&m, T + 4, 4, 0x5555);
    wr(&m, T, 2, 0x5555);
    CHECK(req_count == 3);
    sifive_test_free(t);
    mem_map_free(&m);
}

/* ---- virtio-mmio ---- */
#define V 0x10001000

static void test_virtio_mmio(void)
{
    struct mem_map m = { .n = 0 };
    struct virtio_mmio *v[2];
    CHECK(virtio_mmio_new(&v[0], &m, V, (struct irq_line){ NULL, NULL, 0 }, NULL) == 0);
    CHECK(virtio_mmio_new(&v[1], &m, V + 0x1000, (struct irq_line){ NULL, NULL, 0 }, NULL) == 0);
    CHECK_U64(rd(&m, V + 0x1000, 4), 0x74726976);
    CHECK_U64(rd(&m, V + 4, 4), 2);
    CHECK_U64(rd(&m, V + 8, 4), 0);
    CHECK_U64(rd(&m, V + 0xc, 4), 0x554d4551);
    wr(&m, V + 0x70, 4, 0xff);
    CHECK_U64(rd(&m, V + 0x70, 4), 0);
    uint64_t x;
    CHECK(!mem_mmio_read(&m, V + 0, 2, &x));
    CHECK(!mem_mmio_read(&m, V + 2, 4, &x));
    virtio_mmio_free(v[0]);
    virtio_mmio_free(v[1]);
    mem_map_free(&m);
}

int main(void)
{
    L = loop_new(NULL);
    if (!L)
        return 99;
    hw_clock_init();
    test_mem();
    test_uart();
    test_plic();
    test_clint();
    test_rtc();
    test_sifive_test();
    test_virtio_mmio();
    loop_free(L);
    return unit_result();
}
