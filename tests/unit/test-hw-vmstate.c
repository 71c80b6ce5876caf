/* test-hw-vmstate.c - the devices' savevm state (dev_ops.save/load):
 * the UART, the PLIC, the CLINT, the RTC, a virtio-mmio slot and the
 * virtio core with a queue in use, all put into a busy state through
 * their registers as a guest would.
 *
 *   - completeness: what one set of devices saves, a fresh set loads and
 *     saves again byte for byte, and the loaded devices answer their
 *     registers as the saved ones did;
 *   - hostile values: thousands of states with fields changed to values
 *     of the right type (so that the framing's checks pass and the
 *     devices' own must hold), each loaded and then driven through every
 *     register and the virtqueue: a failed load is one line naming the
 *     section, and nothing may crash or touch memory outside guest RAM.
 *
 * No harts, no character device (the UART's line is not connected). */
#include <config.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "hw/devices.h"
#include "hw/dev.h"
#include "hw/machine.h"
#include "hw/virtio/models.h"
#include "hw/virtio/virtio.h"
#include "vmstate.h"
#include "unit.h"

static struct loop *L;

/* the sifive test device is not built here; libcore's machine_request
 * is still linked by hw/: a double keeps the test free of a machine */
void machine_request(struct machine *m, enum machine_event ev, int exit_code)
{
    (void)m, (void)ev, (void)exit_code;
}

#define RAM 0x80000000u
#define RAM_SIZE (1u << 20)
#define UART 0x10000000u
#define PLIC 0x0c000000u
#define CLINT 0x02000000u
#define RTC 0x00101000u
#define VIO 0x10001000u

static void noop_irq(void *opaque, int n, int level)
{
    (void)opaque, (void)n, (void)level;
}

/* A virtio model that uses every request it gets at once. */
static void tdev_notify(struct virtio_dev *vd, int q)
{
    struct virtq_elem e = { 0 };
    while (virtq_pop(&vd->vq[q], &e) == 1)
        virtq_push(&vd->vq[q], &e, (uint32_t)e.in_len, vd->generation);
    virtq_elem_free(&e);
    virtq_notify(&vd->vq[q]);
}

static void tdev_free(struct virtio_dev *vd)
{
    virtio_dev_cleanup(vd);
}

static const struct virtio_dev_ops tdev_ops = {
    .name = "virtio-test-device",
    .device_id = 99,
    .queue_notify = tdev_notify,
    .free = tdev_free,
};

struct set {
    struct mem_map m;
    struct uart16550 *u;
    struct plic *p;
    struct aclint *c;
    struct goldfish_rtc *r;
    struct virtio_mmio *v;
    struct virtio_dev vd;
    struct dev_list l;
};

static void set_new(struct set *s)
{
    memset(s, 0, sizeof(*s));
    struct irq_line none = { noop_irq, NULL, 0 };
    struct irq_line lines[4] = { none, none, none, none };
    CHECK(mem_add_ram(&s->m, "ram", RAM, RAM_SIZE, false, NULL) == 0);
    CHECK(aclint_new(&s->c, &s->m, L, CLINT, 2, lines, lines, NULL) == 0);
    CHECK(plic_new(&s->p, &s->m, PLIC, 0x600000, 32, 4, lines, NULL) == 0);
    CHECK(goldfish_rtc_new(&s->r, &s->m, L, RTC, plic_input(s->p, 11), NULL) == 0);
    CHECK(uart16550_new(&s->u, &s->m, UART, plic_input(s->p, 10), NULL, NULL) == 0);
    CHECK(virtio_mmio_new(&s->v, &s->m, VIO, plic_input(s->p, 1), NULL) == 0);
    CHECK(virtio_dev_init(&s->vd, &tdev_ops, NULL, &s->m, 1, 8, 2, 64, NULL) == 0);
    CHECK(virtio_mmio_plug(s->v, &s->vd));
    dev_list_add(&s->l, &aclint_ops, s->c, CLINT, NULL);
    dev_list_add(&s->l, &plic_ops, s->p, PLIC, NULL);
    dev_list_add(&s->l, &goldfish_rtc_ops, s->r, RTC, NULL);
    dev_list_add(&s->l, &uart16550_ops, s->u, UART, NULL);
    dev_list_add(&s->l, &virtio_mmio_ops, s->v, VIO, NULL);
    dev_list_add(&s->l, &virtio_dev_list_ops, &s->vd, VIO, NULL);
}

static void set_free(struct set *s)
{
    hw_lock();
    dev_list_free(&s->l);
    hw_unlock();
    mem_map_free(&s->m);
}

static void wr(struct set *s, uint64_t a, unsigned size, uint64_t v)
{
    mem_mmio_write(&s->m, a, size, v);
}

static uint64_t rd(struct set *s, uint64_t a, unsigned size)
{
    uint64_t v = 0;
    mem_mmio_read(&s->m, a, size, &v);
    return v;
}

/* A guest at work: registers set, interrupts pending, a queue in use. */
static void set_busy(struct set *s)
{
    wr(s, UART + 3, 1, 0x83);           /* DLAB */
    wr(s, UART + 0, 1, 0x12);
    wr(s, UART + 3, 1, 0x03);
    wr(s, UART + 1, 1, 0x03);
    wr(s, UART + 2, 1, 0xc1);
    wr(s, UART + 7, 1, 0x5a);
    for (int src = 1; src <= 11; src++)
        wr(s, PLIC + 4 * (uint64_t)src, 4, (uint64_t)(src % 7) + 1);
    wr(s, PLIC + 0x2000, 4, 0xffe);
    wr(s, PLIC + 0x2080, 4, 0x0c02);
    wr(s, PLIC + 0x200000, 4, 1);
    wr(s, CLINT + 0x4000, 8, UINT64_C(123456789));
    wr(s, CLINT + 0x4008, 8, UINT64_C(987654321));
    wr(s, CLINT + 4, 4, 1);
    wr(s, RTC + 0x0c, 4, 0);            /* alarm high */
    wr(s, RTC + 0x10, 4, 1);            /* irq enable */
    /* virtio: features, a queue of 16 in RAM, ready, DRIVER_OK */
    wr(s, VIO + 0x70, 4, 1);
    wr(s, VIO + 0x70, 4, 3);
    wr(s, VIO + 0x24, 4, 1);
    wr(s, VIO + 0x20, 4, 1);            /* VERSION_1 */
    wr(s, VIO + 0x24, 4, 0);
    wr(s, VIO + 0x20, 4, 1);
    wr(s, VIO + 0x70, 4, 11);
    wr(s, VIO + 0x30, 4, 0);
    wr(s, VIO + 0x38, 4, 16);
    wr(s, VIO + 0x80, 4, RAM);
    wr(s, VIO + 0x90, 4, RAM + 0x1000);
    wr(s, VIO + 0xa0, 4, RAM + 0x2000);
    wr(s, VIO + 0x44, 4, 1);
    wr(s, VIO + 0x70, 4, 15);
    /* two requests: one descriptor each, made available and notified */
    uint8_t *ram = mem_ram_ptr(&s->m, RAM, RAM_SIZE, false);
    for (int i = 0; i < 2; i++) {
        uint8_t *d = ram + 16 * i;
        uint64_t addr = RAM + 0x10000 + 0x100 * (uint64_t)i;
        memcpy(d, &addr, 8);
        uint32_t len = 64;
        memcpy(d + 8, &len, 4);
        uint16_t flags = 2;             /* device-writable */
        memcpy(d + 12, &flags, 2);
        uint16_t head = (uint16_t)i;
        memcpy(ram + 0x1000 + 4 + 2 * i, &head, 2);
    }
    uint16_t idx = 2;
    memcpy(ram + 0x1000 + 2, &idx, 2);
    wr(s, VIO + 0x50, 4, 0);
}

struct sbuf {
    uint8_t *buf;
    size_t len, cap;
};

static int buf_write(void *opaque, uint64_t pos, const void *buf, size_t len)
{
    struct sbuf *m = opaque;
    if (pos + len > m->cap) {
        size_t cap = (size_t)(pos + len) * 2 + 4096;
        uint8_t *n = realloc(m->buf, cap);
        if (!n)
            return -ENOMEM;
        m->buf = n;
        m->cap = cap;
    }
    memcpy(m->buf + pos, buf, len);
    if (pos + len > m->len)
        m->len = (size_t)(pos + len);
    return 0;
}

static int buf_read(void *opaque, uint64_t pos, void *buf, size_t len)
{
    struct sbuf *m = opaque;
    if (pos > m->len || len > m->len - pos)
        return -EIO;
    memcpy(buf, m->buf + pos, len);
    return 0;
}

static void save(struct set *s, struct sbuf *out)
{
    memset(out, 0, sizeof(*out));
    struct vms_out *f;
    CHECK(vms_out_new(&f, buf_write, out, NULL) == 0);
    for (int i = 0; i < s->l.n; i++) {
        const struct dev_ops *ops = s->l.d[i].ops;
        vms_section_begin(f, ops->name, 0, ops->vmstate_version);
        hw_lock();
        ops->save(s->l.d[i].dev, f);
        hw_unlock();
        vms_section_end(f);
    }
    uint64_t size;
    CHECK(vms_out_finish(f, &size, NULL) == 0);
    vms_out_free(f);
}

/* 0 or -errno with the message in *msg (malloc'd). */
static int load(struct set *s, const struct sbuf *in, char **msg)
{
    struct vms_in *f = NULL;
    struct error *err = NULL;
    int r = vms_in_new(&f, buf_read, (void *)in, in->len, &err);
    while (r == 0) {
        char name[VMS_NAME_MAX + 1];
        uint32_t inst, ver;
        r = vms_in_section(f, name, &inst, &ver, &err);
        if (r <= 0)
            break;
        r = -EINVAL;
        for (int i = 0; i < s->l.n; i++) {
            const struct dev_ops *ops = s->l.d[i].ops;
            if (strcmp(ops->name, name) != 0 || inst != 0)
                continue;
            if (ver == 0 || ver > ops->vmstate_version)
                break;
            hw_lock();
            ops->load(s->l.d[i].dev, f, ver);
            hw_unlock();
            r = vms_section_finish(f, &err);
            break;
        }
        if (r == -EINVAL && !err)
            err_set(&err, EINVAL, "section '%s' unknown or of a bad version", name);
    }
    *msg = r < 0 ? strdup(err ? err_msg(err) : "no message") : NULL;
    err_free(err);
    vms_in_free(f);
    return r;
}

/* Every register of every device, read. */
static void read_all(struct set *s, uint64_t *out, size_t *n)
{
    static const struct { uint64_t base, len; unsigned size; } regs[] = {
        { UART, 8, 1 }, { PLIC, 0x60, 4 }, { PLIC + 0x1000, 8, 4 }, { PLIC + 0x2000, 8, 4 },
        { PLIC + 0x2080, 8, 4 }, { PLIC + 0x200000, 4, 4 }, { PLIC + 0x201000, 4, 4 },
        { CLINT, 8, 4 }, { CLINT + 0x4000, 16, 8 }, { RTC + 0x10, 4, 4 },
        { RTC + 0x18, 8, 4 }, { VIO, 0x100, 4 }, { VIO + 0x100, 8, 1 },
    };
    *n = 0;
    for (size_t i = 0; i < ARRAY_SIZE(regs); i++)
        for (uint64_t a = regs[i].base; a < regs[i].base + regs[i].len; a += regs[i].size) {
            /* reading these has side effects (RX data, claim) */
            if (a == UART || a == UART + 2 || a == PLIC + 0x200004)
                continue;
            out[(*n)++] = rd(s, a, regs[i].size);
        }
}

static void test_round_trip(void)
{
    struct set a, b;
    set_new(&a);
    set_busy(&a);
    struct sbuf s1, s2;
    save(&a, &s1);
    set_new(&b);
    /* RAM is the machine's section, loaded before the devices' */
    memcpy(mem_ram_ptr(&b.m, RAM, RAM_SIZE, false), mem_ram_ptr(&a.m, RAM, RAM_SIZE, false),
           RAM_SIZE);
    char *msg;
    int r = load(&b, &s1, &msg);
    if (r)
        fprintf(stderr, "round trip: %s\n", msg);
    CHECK(r == 0);
    free(msg);
    save(&b, &s2);
    CHECK(s1.len == s2.len && memcmp(s1.buf, s2.buf, s1.len) == 0);
    uint64_t ra[256], rb[256];
    size_t na, nb;
    read_all(&a, ra, &na);
    read_all(&b, rb, &nb);
    CHECK(na == nb && memcmp(ra, rb, na * sizeof(ra[0])) == 0);
    for (size_t i = 0; i < na && i < nb; i++)
        if (ra[i] != rb[i])
            fprintf(stderr, "register %zu: saved 0x%" PRIx64 ", loaded 0x%" PRIx64 "\n", i,
                    ra[i], rb[i]);
    /* the loaded queue goes on where the saved one was */
    CHECK(b.vd.vq[0].ready && b.vd.vq[0].last_avail == 2 && b.vd.vq[0].used_idx == 2);
    free(s1.buf);
    free(s2.buf);
    set_free(&a);
    set_free(&b);
}

/* The value bytes of every field of a stream: (offset, length, type). */
struct field {
    size_t at, len;
    int type;
};

static size_t fields_of(const struct sbuf *m, struct field *out, size_t max)
{
    size_t n = 0, pos = 12;
    while (pos < m->len && m->buf[pos] == 'S') {
        size_t nl = m->buf[pos + 1];
        uint64_t body = 0;
        memcpy(&body, m->buf + pos + 2 + nl + 8, 8);
        size_t p = pos + 18 + nl, end = p + (size_t)body;
        while (p < end && n < max) {
            int t = m->buf[p];
            size_t len = t == 1 || t == 5 ? 1 : t == 2 ? 2 : t == 3 ? 4 : t == 4 ? 8 : 0;
            if (t == 6) {
                uint32_t bl;
                memcpy(&bl, m->buf + p + 1, 4);
                out[n++] = (struct field){ p + 5, bl, t };
                p += 5 + bl;
                continue;
            }
            out[n++] = (struct field){ p + 1, len, t };
            p += 1 + len;
        }
        pos = end;
    }
    return n;
}

static void test_hostile_values(void)
{
    struct set a, b;
    set_new(&a);
    set_busy(&a);
    struct sbuf s1;
    save(&a, &s1);
    struct field fl[512];
    size_t nf = fields_of(&s1, fl, ARRAY_SIZE(fl));
    CHECK(nf > 50);
    set_new(&b);
    memcpy(mem_ram_ptr(&b.m, RAM, RAM_SIZE, false), mem_ram_ptr(&a.m, RAM, RAM_SIZE, false),
           RAM_SIZE);
    struct sbuf t = { malloc(s1.len), s1.len, s1.len };
    srand(4321);
    int failed = 0;
    for (int round = 0; round < 3000; round++) {
        memcpy(t.buf, s1.buf, s1.len);
        for (int k = 0, nk = 1 + rand() % 3; k < nk; k++) {
            const struct field *f = &fl[(size_t)rand() % nf];
            int how = rand() % 4;
            for (size_t i = 0; i < f->len; i++)
                t.buf[f->at + i] = f->type == 5 ? (uint8_t)(rand() & 1)
                                   : how == 0 ? 0xff : how == 1 ? 0 : (uint8_t)rand();
        }
        char *msg;
        int r = load(&b, &t, &msg);
        if (r < 0) {
            failed++;
            CHECK(msg && !strchr(msg, '\n'));
        }
        free(msg);
        /* whatever loaded: every register, written and read, and the queue */
        uint64_t regs[256];
        size_t nr;
        read_all(&b, regs, &nr);
        for (int k = 0; k < 20; k++) {
            static const uint64_t bases[] = { UART, PLIC, CLINT, RTC, VIO };
            uint64_t base = bases[rand() % 5];
            wr(&b, base + (uint64_t)(rand() % 0x200) * 4, 4, (uint64_t)rand());
        }
        hw_lock();
        for (int q = 0; q < b.vd.n_queues; q++)
            if (b.vd.vq[q].ready && virtio_running(&b.vd))
                tdev_notify(&b.vd, q);
        hw_unlock();
        rd(&b, PLIC + 0x200004, 4);     /* claim */
        rd(&b, UART, 1);
    }
    CHECK(failed > 100 && failed < 3000);
    free(t.buf);
    free(s1.buf);
    set_free(&a);
    set_free(&b);
}

int main(void)
{
    L = loop_new(NULL);
    if (!L)
        return 99;
    hw_clock_init();
    test_round_trip();
    test_hostile_values();
    loop_free(L);
    return unit_result();
}
