/* test-kvm.c - lib/kvm on a real /dev/kvm: tiny guests in real mode and
 * long mode that do port I/O, MMIO and HLT, checked exit by exit.
 *
 *   test-kvm                       the probe (exit 77 without /dev/kvm)
 *   test-kvm boot KERNEL [INITRD] [SECONDS]
 *                                  boot a Linux bzImage (or PVH vmlinux)
 *                                  with hw/x86's loader, hw/uart16550.c
 *                                  at port 0x3f8 to stdout, until the
 *                                  guest resets/powers off (exit 0) or
 *                                  SECONDS pass (exit 1); EMU_KVM_APPEND
 *                                  replaces the command line, EMU_KVM_SERIAL
 *                                  the serial back end (a -serial spec)
 *
 * Without /dev/kvm only the error path of kvm_open runs (a missing device
 * names the fix; EMU_KVM_DEV=PATH pretends the device is PATH);
 * tests/kvm/run-in-testbed.sh runs the rest through
 * ../shared/tools/kvm-testbed, whose guest has a real /dev/kvm.
 */
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "kvm/kvm.h"
#include "hw/x86/boot.h"
#include "hw/devices.h"
#include "hw/hw.h"
#include "chardev.h"
#include "loop.h"
#include "msg.h"
#include "unit.h"

#define MiB (UINT64_C(1) << 20)

/* What the guest did, as the devices and the exit ops saw it. */
struct probe {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;                   /* halts, events and "done" port writes */
    char out[4096];             /* bytes written to port 0x3f8 */
    size_t n_out;
    uint32_t out32;             /* the last 4-byte write to 0x3f8 */
    uint64_t mmio_addr, mmio_val;
    unsigned mmio_size;
    int n_mmio_reads;
    int event;                  /* enum kvm_event + 1, 0: none */
    char detail[160];
    bool echo;                  /* boot mode: print port 0x3f8 bytes */
};

/* The device (EMU_KVM_DEV overrides, to see the skip and the error). */
static const char *kvm_dev = KVM_DEV_PATH;

static struct probe P = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .cond = PTHREAD_COND_INITIALIZER,
};

static void probe_reset(void)
{
    pthread_mutex_lock(&P.lock);
    P.done = 0;
    P.n_out = 0;
    P.out32 = 0;
    P.mmio_addr = P.mmio_val = 0;
    P.mmio_size = 0;
    P.n_mmio_reads = 0;
    P.event = 0;
    P.detail[0] = 0;
    pthread_mutex_unlock(&P.lock);
}

static void probe_signal(void)
{
    pthread_mutex_lock(&P.lock);
    P.done++;
    pthread_cond_broadcast(&P.cond);
    pthread_mutex_unlock(&P.lock);
}

/* Wait until something signalled (true) or seconds passed (false). */
static bool probe_wait(int seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += seconds;
    pthread_mutex_lock(&P.lock);
    int r = 0;
    while (!P.done && r != ETIMEDOUT)
        r = pthread_cond_timedwait(&P.cond, &P.lock, &ts);
    bool ok = P.done > 0;
    pthread_mutex_unlock(&P.lock);
    return ok;
}

/* ---- the devices: a port at 0x3f8 (8 ports) and an MMIO page ---- */
static bool port_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
    (void)opaque;
    (void)size;
    /* Line status (0x3fd): transmitter empty, so a polling 8250 driver
     * (earlyprintk) writes on; everything else reads 0. */
    *val = off == 5 ? 0x60 : 0;
    return true;
}

static bool port_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    (void)opaque;
    if (off == 0 && size == 1) {
        pthread_mutex_lock(&P.lock);
        if (P.n_out < sizeof(P.out) - 1)
            P.out[P.n_out++] = (char)val;
        pthread_mutex_unlock(&P.lock);
        if (P.echo) {
            fputc((int)val, stdout);
            if (val == '\n')
                fflush(stdout);
        }
    } else if (off == 0 && size == 4) {
        P.out32 = (uint32_t)val;
    } else if (off == 1 && !P.echo) {
        probe_signal();             /* 0x3f9: the guest says it is done */
    }
    return true;
}

static const struct mmio_ops port_ops = { .read = port_read, .write = port_write };

static bool page_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
    (void)opaque;
    P.n_mmio_reads++;
    *val = off == 8 && size == 4 ? 0xdeadbeef : 0x60 + off;
    return true;
}

static bool page_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    (void)opaque;
    P.mmio_addr = off;
    P.mmio_size = size;
    P.mmio_val = val;
    return true;
}

static const struct mmio_ops page_ops = { .read = page_read, .write = page_write };

/* ---- the exit ops: HLT stops the vCPU, events are recorded ---- */
static bool on_halt(void *opaque, int cpu)
{
    (void)opaque;
    (void)cpu;
    probe_signal();
    return false;
}

static struct loop *boot_loop;      /* boot mode: the loop the UART's chardev uses */

static void on_event(void *opaque, int cpu, enum kvm_event ev, const char *detail)
{
    (void)opaque;
    (void)cpu;
    pthread_mutex_lock(&P.lock);
    P.event = (int)ev + 1;
    snprintf(P.detail, sizeof(P.detail), "%s", detail);
    pthread_mutex_unlock(&P.lock);
    probe_signal();
    if (boot_loop)
        loop_quit(boot_loop);
}

static const struct kvm_exit_ops probe_ops = { .halt = on_halt, .event = on_event };

/* Boot mode with EMU_KVM_TRACE set: every port access on stderr. */
static struct mem_map *trace_pio;

static bool trace_pio_read(void *opaque, int cpu, uint16_t port, unsigned size, uint32_t *val)
{
    (void)opaque;
    uint64_t v = 0;
    bool ok = mem_mmio_read(trace_pio, port, size, &v);
    *val = ok ? (uint32_t)v : 0xffffffffu;
    fprintf(stderr, "[cpu%d in  0x%04x/%u -> 0x%x]\n", cpu, port, size, *val);
    return true;
}

static bool trace_pio_write(void *opaque, int cpu, uint16_t port, unsigned size, uint32_t val)
{
    (void)opaque;
    fprintf(stderr, "[cpu%d out 0x%04x/%u <- 0x%x]\n", cpu, port, size, val);
    mem_mmio_write(trace_pio, port, size, val);
    return true;
}

static const struct kvm_exit_ops trace_ops = {
    .halt = on_halt, .event = on_event,
    .pio_read = trace_pio_read, .pio_write = trace_pio_write,
};

/* A VM with RAM at [0, low) and [1 MiB, high), the port at 0x3f8 and an
 * MMIO page at mmio. */
struct vm {
    struct mem_map mem, pio;
    struct kvm *k;
    uint8_t *ram;               /* the low region's host memory */
    uint64_t low;
};

static int vm_new(struct vm *v, uint64_t low, uint64_t high, uint64_t mmio, int n_cpus,
                  bool irqchip, bool dirty)
{
    memset(v, 0, sizeof(*v));
    struct error *err = NULL;
    if (mem_add_ram(&v->mem, "low", 0, low, false, &err) < 0 ||
        (high && mem_add_ram(&v->mem, "high", MiB, high - MiB, false, &err) < 0) ||
        mem_add_mmio(&v->mem, "page", mmio, 0x1000, &page_ops, NULL, &err) < 0 ||
        mem_add_mmio(&v->pio, "com1", 0x3f8, 8, &port_ops, NULL, &err) < 0)
        goto fail;
    v->ram = v->mem.r[0].host;
    v->low = low;
    struct kvm_config cfg = {
        .accel = { .n_cpus = n_cpus, .mem = &v->mem, .pio = &v->pio },
        .ops = &probe_ops,
        .dev_path = kvm_dev,
    };
    if (kvm_open(&v->k, &cfg, &err) < 0 || kvm_map_ram(v->k, &v->mem, dirty, &err) < 0 ||
        (irqchip && kvm_create_irqchip(v->k, true, &err) < 0) ||
        kvm_vcpus_create(v->k, &err) < 0)
        goto fail;
    return 0;
fail:
    fprintf(stderr, "test-kvm: %s\n", err ? err_msg(err) : "?");
    err_free(err);
    return -1;
}

static void vm_free(struct vm *v)
{
    kvm_close(v->k);
    mem_map_free(&v->mem);
    mem_map_free(&v->pio);
}

static uint8_t *guest(struct vm *v, uint64_t gpa, size_t len)
{
    return mem_ram_ptr(&v->mem, gpa, len, false);
}

/* ---- 1: real mode, PIO (single and string), MMIO, HLT ---- */
static void test_real_mode(void)
{
    static const uint8_t code[] = {
        0xba, 0xf8, 0x03,               /* mov dx, 0x3f8 */
        0xb0, 'A',                      /* mov al, 'A' */
        0xee,                           /* out dx, al */
        0xbe, 0x00, 0x11,               /* mov si, 0x1100 */
        0xb9, 0x03, 0x00,               /* mov cx, 3 */
        0xf3, 0x6e,                     /* rep outsb */
        0xb8, 0x00, 0xa0,               /* mov ax, 0xa000 */
        0x8e, 0xd8,                     /* mov ds, ax */
        0xc6, 0x06, 0x00, 0x00, 0x5a,   /* mov byte [0], 0x5a */
        0xa0, 0x01, 0x00,               /* mov al, [1] */
        0xee,                           /* out dx, al */
        0xf4,                           /* hlt */
    };
    struct vm v;
    CHECK(vm_new(&v, 0xa0000, 0, 0xa0000, 1, false, false) == 0);
    if (!v.k)
        return;
    memcpy(guest(&v, 0x1000, sizeof(code)), code, sizeof(code));
    memcpy(guest(&v, 0x1100, 3), "xyz", 3);
    struct kvm_cpu *c = kvm_cpu(v.k, 0);
    struct x86_entry e;
    struct error *err = NULL;
    CHECK(kvm_cpu_get_entry(c, &e, &err) == 0);
    CHECK_U64(e.cs.selector, 0xf000);           /* the power-on state */
    CHECK_U64(e.rip, 0xfff0);
    e.cs.selector = 0;
    e.cs.base = 0;
    e.rip = 0x1000;
    CHECK(kvm_cpu_set_entry(c, &e, &err) == 0);
    probe_reset();
    CHECK(kvm_start(v.k, &err) == 0);
    CHECK(probe_wait(20));
    kvm_stop(v.k);
    P.out[P.n_out] = 0;
    fprintf(stderr, "real mode: port 0x3f8 got \"%s\"\n", P.out);
    CHECK(strcmp(P.out, "Axyza") == 0);
    CHECK_U64(P.mmio_addr, 0);
    CHECK_U64(P.mmio_size, 1);
    CHECK_U64(P.mmio_val, 0x5a);
    CHECK_U64(P.event, 0);
    struct kvm_exit_counts n;
    kvm_cpu_counts(c, &n);
    fprintf(stderr, "real mode exits: pio %" PRIu64 " mmio %" PRIu64 " hlt %" PRIu64 "\n", n.pio,
            n.mmio, n.hlt);
    CHECK(n.pio >= 3 && n.mmio == 2 && n.hlt == 1);
    CHECK(kvm_cpu_get_entry(c, &e, &err) == 0);
    CHECK_U64(e.rip, 0x1000 + sizeof(code));    /* just past the HLT */
    err_free(err);
    vm_free(&v);
}

/* The long-mode entry of hw/x86's loaders, code at 1 MiB. */
static void enter_long_mode(struct vm *v, const uint8_t *code, size_t len)
{
    CHECK(x86_setup_gdt(v->ram, v->low) == 0);
    CHECK(x86_setup_page_tables(v->ram, v->low) == 0);
    memcpy(guest(v, MiB, len), code, len);
    struct x86_entry e;
    x86_entry_long_mode(&e, MiB);
    struct error *err = NULL;
    for (int i = 0; i < kvm_n_cpus(v->k); i++)
        CHECK(kvm_cpu_set_entry(kvm_cpu(v->k, i), &e, &err) == 0);
    if (err) {
        fprintf(stderr, "%s\n", err_msg(err));
        err_free(err);
    }
}

/* ---- 2: long mode, 8-byte MMIO write, 4-byte MMIO read and OUT ---- */
static void test_long_mode(void)
{
    static const uint8_t code[] = {
        0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, /* mov rax, imm64 */
        0xbb, 0x00, 0x00, 0x00, 0xd0,   /* mov ebx, 0xd0000000 */
        0x48, 0x89, 0x03,               /* mov [rbx], rax */
        0x66, 0xba, 0xf8, 0x03,         /* mov dx, 0x3f8 */
        0xb0, 'L',                      /* mov al, 'L' */
        0xee,                           /* out dx, al */
        0x8b, 0x43, 0x08,               /* mov eax, [rbx + 8] */
        0xef,                           /* out dx, eax */
        0xf4,                           /* hlt */
    };
    struct vm v;
    CHECK(vm_new(&v, 0xa0000, 4 * MiB, 0xd0000000, 1, false, false) == 0);
    if (!v.k)
        return;
    enter_long_mode(&v, code, sizeof(code));
    probe_reset();
    struct error *err = NULL;
    CHECK(kvm_start(v.k, &err) == 0);
    CHECK(probe_wait(20));
    kvm_stop(v.k);
    CHECK(P.n_out == 1 && P.out[0] == 'L');
    CHECK_U64(P.out32, 0xdeadbeef);
    CHECK_U64(P.mmio_addr, 0);
    CHECK_U64(P.mmio_size, 8);
    CHECK_U64(P.mmio_val, 0x1122334455667788ull);
    CHECK_U64(P.event, 0);
    struct x86_entry e;
    CHECK(kvm_cpu_get_entry(kvm_cpu(v.k, 0), &e, &err) == 0);
    CHECK(e.efer & X86_EFER_LMA);
    CHECK_U64(e.rip, MiB + sizeof(code));
    fprintf(stderr, "long mode: 'L', 0x%08x from MMIO, RIP 0x%" PRIx64 ", EFER 0x%" PRIx64 "\n",
            P.out32, e.rip, e.efer);
    err_free(err);
    vm_free(&v);
}

/* ---- 3: irqchip + PIT, 2 vCPUs, ioeventfd, irqfd, dirty log, and a
 * kick out of a guest spinning in the kernel ---- */
static void test_irqchip_kick(void)
{
    static const uint8_t code[] = {
        0xc6, 0x04, 0x25, 0x00, 0x30, 0x00, 0x00, 0x77,    /* mov byte [0x3000], 0x77 */
        0x66, 0xba, 0x00, 0x06,         /* mov dx, 0x600 */
        0xee,                           /* out dx, al (ioeventfd) */
        0x66, 0xba, 0xf9, 0x03,         /* mov dx, 0x3f9 */
        0xee,                           /* out dx, al (done) */
        0xeb, 0xfe,                     /* jmp $ */
    };
    struct vm v;
    CHECK(vm_new(&v, 0xa0000, 4 * MiB, 0xd0000000, 2, true, true) == 0);
    if (!v.k)
        return;
    struct error *err = NULL;
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int ifd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK(kvm_ioeventfd(v.k, efd, 0x600, 1, true, false, 0, true, &err) == 0);
    CHECK(kvm_irqfd(v.k, ifd, 5, -1, true, &err) == 0);
    CHECK(kvm_irq_line(v.k, 4, 1) == 0);
    CHECK(kvm_irq_line(v.k, 4, 0) == 0);
    enter_long_mode(&v, code, sizeof(code));
    uint64_t bitmap[DIV_ROUND_UP(0xa0000 / 4096, 64)];
    CHECK(kvm_get_dirty_log(v.k, 0, bitmap, &err) == 0);  /* start clean */
    probe_reset();
    CHECK(kvm_start(v.k, &err) == 0);
    CHECK(probe_wait(20));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    kvm_stop(v.k);                  /* vCPU 0 spins, vCPU 1 waits for SIPI */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    fprintf(stderr, "irqchip: 2 vCPUs stopped (kicked out of KVM_RUN) in %.2f ms\n", ms);
    CHECK(ms < 5000);
    uint64_t cnt = 0;
    CHECK(read(efd, &cnt, sizeof(cnt)) == sizeof(cnt));
    CHECK_U64(cnt, 1);
    struct kvm_exit_counts n;
    kvm_cpu_counts(kvm_cpu(v.k, 0), &n);
    CHECK_U64(n.pio, 1);            /* only the done port: 0x600 went to the eventfd */
    CHECK(kvm_get_dirty_log(v.k, 0, bitmap, &err) == 0);
    CHECK(bitmap[0] & (1u << 3));
    CHECK_U64(v.ram[0x3000], 0x77);
    fprintf(stderr, "irqchip: ioeventfd count %" PRIu64 ", dirty bitmap[0] 0x%" PRIx64 "\n",
            cnt, bitmap[0]);
    /* run again after a stop: the threads start anew from where vCPU 0 was */
    probe_reset();
    CHECK(kvm_start(v.k, &err) == 0);
    usleep(100 * 1000);
    kvm_stop(v.k);
    CHECK(kvm_irqfd(v.k, ifd, 5, -1, false, &err) == 0);
    /* level-triggered, with a resample fd (what virtio-mmio's line needs) */
    int rfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK(kvm_irqfd(v.k, ifd, 6, rfd, true, &err) == 0);
    CHECK(kvm_irqfd(v.k, ifd, 6, -1, false, &err) == 0);
    close(rfd);
    CHECK(kvm_ioeventfd(v.k, efd, 0x600, 1, true, false, 0, false, &err) == 0);
    if (err) {
        fprintf(stderr, "%s\n", err_msg(err));
        err_free(err);
    }
    close(efd);
    close(ifd);
    vm_free(&v);
}

/* ---- 4: a triple fault (reset), and an error reported with registers ---- */
static void test_faults(void)
{
    static const uint8_t ud2[] = { 0x0f, 0x0b };
    struct vm v;
    CHECK(vm_new(&v, 0xa0000, 4 * MiB, 0xd0000000, 1, false, false) == 0);
    if (!v.k)
        return;
    enter_long_mode(&v, ud2, sizeof(ud2));      /* IDT limit 0: #UD, #GP, #DF, shutdown */
    probe_reset();
    struct error *err = NULL;
    CHECK(kvm_start(v.k, &err) == 0);
    CHECK(probe_wait(20));
    kvm_stop(v.k);
    CHECK_U64(P.event, KVM_EVENT_RESET + 1);
    fprintf(stderr, "ud2 without an IDT: event %d (%s)\n", P.event - 1, P.detail);

    /* Execute from the MMIO page: KVM cannot fetch there. */
    struct x86_entry e;
    x86_entry_long_mode(&e, 0xd0000000);
    CHECK(kvm_cpu_set_entry(kvm_cpu(v.k, 0), &e, &err) == 0);
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    msg_set_stream(f);
    probe_reset();
    CHECK(kvm_start(v.k, &err) == 0);
    bool got = probe_wait(20);
    kvm_stop(v.k);
    msg_set_stream(NULL);
    fclose(f);
    fprintf(stderr, "fetch from MMIO: event %d (%s), report:\n%s", P.event - 1, P.detail,
            text ? text : "");
    CHECK(got);
    CHECK_U64(P.event, KVM_EVENT_ERROR + 1);
    CHECK_CONTAINS(text, "vCPU 0 stopped");
    CHECK_CONTAINS(text, "RIP=00000000d0000000");
    CHECK_CONTAINS(text, "CR0=");
    CHECK_CONTAINS(text, "EFER=");
    CHECK_CONTAINS(text, "CS =0010");
    free(text);
    err_free(err);
    vm_free(&v);
}

/* ---- 5: what an exit costs: 20,000 OUTs to a port handled in
 * userspace, then to a port with an ioeventfd (handled in the kernel) ---- */
static double run_out_loop(uint16_t port, int efd)
{
    uint8_t code[] = {
        0xb9, 0x20, 0x4e, 0x00, 0x00,   /* mov ecx, 20000 */
        0x66, 0xba, (uint8_t)port, (uint8_t)(port >> 8),  /* mov dx, port */
        0xee,                           /* 1: out dx, al */
        0xff, 0xc9,                     /* dec ecx */
        0x75, 0xfb,                     /* jnz 1b */
        0xf4,                           /* hlt */
    };
    struct vm v;
    if (vm_new(&v, 0xa0000, 4 * MiB, 0xd0000000, 1, false, false) < 0)
        return -1;
    struct error *err = NULL;
    if (efd >= 0)
        CHECK(kvm_ioeventfd(v.k, efd, port, 1, true, false, 0, true, &err) == 0);
    enter_long_mode(&v, code, sizeof(code));
    probe_reset();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(kvm_start(v.k, &err) == 0);
    bool done = probe_wait(120);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    kvm_stop(v.k);
    CHECK(done);
    struct kvm_exit_counts n;
    kvm_cpu_counts(kvm_cpu(v.k, 0), &n);
    CHECK_U64(n.pio, efd >= 0 ? 0 : 20000);
    err_free(err);
    vm_free(&v);
    return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

static void test_exit_cost(void)
{
    double user = run_out_loop(0x3fa, -1);
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    double kern = run_out_loop(0x610, efd);
    uint64_t cnt = 0;
    CHECK(read(efd, &cnt, sizeof(cnt)) == sizeof(cnt));
    CHECK_U64(cnt, 20000);
    close(efd);
    if (user > 0 && kern > 0)
        fprintf(stderr, "exit cost: %.2f us per OUT handled in userspace, %.2f us with an "
                "ioeventfd\n", user * 50, kern * 50);
}

/* The device missing or unusable: one line naming the fix. */
static void test_open_errors(void)
{
    struct kvm *k = NULL;
    struct error *err = NULL;
    struct kvm_config cfg = { .accel = { .n_cpus = 1 }, .dev_path = "/nonexistent/kvm" };
    CHECK(kvm_open(&k, &cfg, &err) == -ENOENT);
    CHECK_CONTAINS(err ? err_msg(err) : NULL, "Could not access KVM kernel module");
    CHECK_CONTAINS(err ? err_msg(err) : NULL, "kvm-intel or kvm-amd");
    CHECK(err && !strchr(err_msg(err), '\n'));
    if (err)
        fprintf(stderr, "missing device: %s\n", err_msg(err));
    err_free(err);
    err = NULL;
    cfg.dev_path = "/dev/null";         /* opens, but is no KVM */
    CHECK(kvm_open(&k, &cfg, &err) < 0);
    CHECK_CONTAINS(err ? err_msg(err) : NULL, "KVM API version");
    err_free(err);
    err = NULL;
    cfg.accel.n_cpus = 0;
    CHECK(kvm_open(&k, &cfg, &err) == -EINVAL);
    err_free(err);
}

/* ---- boot mode: Linux on hw/uart16550.c at port 0x3f8 ---- */
static void boot_timeout(void *opaque)
{
    loop_quit(opaque);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        rewind(f);
        if (n > 0 && (buf = malloc((size_t)n)) && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = n > 0 ? (size_t)n : 0;
    }
    fclose(f);
    return buf;
}

/* The machine the next session turns into -M microvm, in miniature: RAM,
 * the in-kernel irqchip and PIT, the riscv board's ns16550a on the port
 * map at 0x3f8 with its line on GSI 4, the loop running the chardev. */
static int boot(const char *kernel, const char *initrd, int seconds)
{
    struct error *err = NULL;
    size_t klen = 0, ilen = 0;
    uint8_t *kimg = read_file(kernel, &klen), *iimg = NULL;
    if (!kimg) {
        fprintf(stderr, "test-kvm: cannot read %s\n", kernel);
        return 1;
    }
    if (initrd && !(iimg = read_file(initrd, &ilen))) {
        fprintf(stderr, "test-kvm: cannot read %s\n", initrd);
        return 1;
    }
    struct vm v;
    memset(&v, 0, sizeof(v));
    const uint64_t ram = 256 * MiB;
    struct chardev *chr = NULL;
    struct uart16550 *uart = NULL;
    struct loop_timer *timer = NULL;
    int ret = 1;
    hw_clock_init();
    if (!(boot_loop = loop_new(&err)) ||
        chardev_new(&chr, boot_loop, getenv("EMU_KVM_SERIAL") ? getenv("EMU_KVM_SERIAL")
                                                              : "stdio", &err) < 0 ||
        mem_add_ram(&v.mem, "ram", 0, ram, false, &err) < 0)
        goto out;
    struct kvm_config cfg = {
        .accel = { .n_cpus = 1, .mem = &v.mem, .pio = &v.pio },
        .ops = getenv("EMU_KVM_TRACE") ? &trace_ops : &probe_ops,
        .dev_path = kvm_dev,
    };
    trace_pio = &v.pio;
    if (kvm_open(&v.k, &cfg, &err) < 0 || kvm_map_ram(v.k, &v.mem, false, &err) < 0 ||
        kvm_create_irqchip(v.k, true, &err) < 0 || kvm_vcpus_create(v.k, &err) < 0 ||
        uart16550_new(&uart, &v.pio, 0x3f8, (struct irq_line){ kvm_irq_set, v.k, 4 }, chr,
                      &err) < 0)
        goto out;
    struct x86_boot_config bc = {
        .kernel_name = kernel, .kernel = kimg, .kernel_len = klen,
        .initrd_name = initrd, .initrd = iimg, .initrd_len = ilen,
        .cmdline = getenv("EMU_KVM_APPEND") ? getenv("EMU_KVM_APPEND")
                   : "console=ttyS0 earlyprintk=serial,ttyS0 noapic reboot=t panic=-1 "
                     "lpj=1000000 tsc=reliable",
    };
    struct x86_entry e;
    struct x86_boot_info info;
    if (x86_load_linux(v.mem.r[0].host, ram, &bc, &e, &info, &err) < 0 ||
        kvm_cpu_set_entry(kvm_cpu(v.k, 0), &e, &err) < 0)
        goto out;
    fprintf(stderr, "test-kvm: %s loaded at 0x%" PRIx64 ", entry 0x%" PRIx64 "%s\n", kernel,
            info.kernel_addr, info.entry, info.pvh ? " (PVH)" : "");
    if (!(timer = loop_timer_new(boot_loop, boot_timeout, boot_loop, &err)))
        goto out;
    loop_timer_arm_in(timer, (uint64_t)seconds * 1000000000u);
    probe_reset();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (kvm_start(v.k, &err) < 0 || loop_run(boot_loop, &err) < 0)
        goto out;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    kvm_stop(v.k);
    struct kvm_exit_counts n;
    kvm_cpu_counts(kvm_cpu(v.k, 0), &n);
    fprintf(stderr, "\ntest-kvm: %s after %.1f s; exits: pio %" PRIu64 " mmio %" PRIu64
            " hlt %" PRIu64 " shutdown %" PRIu64 " intr %" PRIu64 "\n",
            P.event ? P.detail : "time up",
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, n.pio,
            n.mmio, n.hlt, n.shutdown, n.intr);
    char regs[1536];
    kvm_cpu_dump(kvm_cpu(v.k, 0), regs, sizeof(regs));
    fprintf(stderr, "test-kvm: vCPU 0 at the end:\n%s\n", regs);
    ret = P.event ? 0 : 1;
out:
    if (err) {
        fprintf(stderr, "test-kvm: %s\n", err_msg(err));
        err_free(err);
    }
    if (v.k)
        kvm_stop(v.k);
    if (uart)
        uart16550_free(uart);
    if (timer)
        loop_timer_free(timer);
    if (v.k)
        kvm_close(v.k);
    mem_map_free(&v.mem);
    mem_map_free(&v.pio);
    if (chr)
        chardev_free(chr);
    if (boot_loop)
        loop_free(boot_loop);
    free(kimg);
    free(iimg);
    return ret;
}

int main(int argc, char **argv)
{
    msg_set_progname(argv[0]);
    if (getenv("EMU_KVM_DEV") && *getenv("EMU_KVM_DEV"))
        kvm_dev = getenv("EMU_KVM_DEV");
    if (argc >= 3 && strcmp(argv[1], "boot") == 0)
        return boot(argv[2], argc >= 4 && argv[3][0] ? argv[3] : NULL,
                    argc >= 5 ? atoi(argv[4]) : 30);
    test_open_errors();
    if (access(kvm_dev, R_OK | W_OK) != 0) {
        fprintf(stderr, "SKIP: no usable %s here (%s); tests/kvm/run-in-testbed.sh runs "
                        "this probe in ../shared/tools/kvm-testbed\n", kvm_dev,
                strerror(errno));
        unit_result();
        return unit_failures ? 1 : 77;
    }
    test_real_mode();
    test_long_mode();
    test_irqchip_kick();
    test_faults();
    test_exit_cost();
    return unit_result();
}
