/* microvm.c - qemu's "microvm" board for x86-64 guests on KVM: RAM, the
 * in-kernel irqchip and PIT, an 8250 UART or two, virtio-mmio slots
 * described in ACPI, and direct Linux boot.  No firmware, no PCI, no
 * legacy devices the guest does not need to boot.
 *
 * Memory map (guest-physical):
 *     0 .. min(RAM, 3 GiB)            RAM (the loaders' low-memory layout,
 *                                     hw/x86/boot.h, in its first MiB)
 *     0xe0000 .. 0xffff0              the ACPI tables (RSDP first), in RAM
 *                                     that the e820 map leaves out
 *     0xffff0                         the reset vector: a stub that writes
 *                                     the ACPI reset register
 *     0xfeb00000 + i * 4 KiB          virtio-mmio slot i (8 slots), GSI 16 + i
 *     4 GiB ..                        the rest of the RAM above 3 GiB
 * Port space: COM1 0x3f8 (GSI 4), COM2 0x2f8 (GSI 3, with a second
 * -serial), the ACPI registers hw/x86/acpi.h names (sleep control and
 * status, reset), and the keyboard controller's reset (0x64 <- 0xfe).
 *
 * Interrupts: every line is a GSI of KVM's in-kernel IOAPIC, raised and
 * lowered with KVM_IRQ_LINE.  The virtio slots sit on GSIs 16 to 23, which
 * only the IOAPIC has (not the PIC), described in the DSDT as level-
 * triggered, active high: virtio-mmio's interrupt is a level.
 *
 * Power: the guest powers off through the ACPI sleep control register
 * (hardware-reduced ACPI, SLP_TYP of \_S5 with SLP_EN) and resets
 * through the ACPI reset register, the keyboard controller or a triple
 * fault (KVM's SHUTDOWN exit); a reset reloads the kernel, the initrd
 * and the ACPI tables and puts the vCPUs back to their entry state.
 */
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include "hw/machine.h"
#include "hw/devices.h"
#include "hw/dev.h"
#include "hw/hw.h"
#include "hw/virtio/models.h"
#include "hw/virtio/virtio.h"
#include "hw/x86/boot.h"
#include "hw/x86/acpi.h"
#include "hw/x86/kernel-cache.h"
#include "kvm/kvm.h"
#include "accel.h"
#include "pool.h"
#include "keyval.h"
#include "i18n.h"

#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)
#define MICROVM_LOW_RAM_MAX (3 * GiB)
#define MICROVM_HIGH_RAM (4 * GiB)
#define MICROVM_MAX_RAM (UINT64_C(1) << 40)
#define MICROVM_ACPI_BASE 0xe0000
#define MICROVM_ACPI_SIZE (ACPI_RESET_VECTOR - MICROVM_ACPI_BASE)   /* the stub above */
#define MICROVM_VIRTIO 0xfeb00000
#define MICROVM_VIRTIO_COUNT 8
#define MICROVM_VIRTIO_GSI 16
#define MICROVM_COM1 0x3f8
#define MICROVM_COM1_GSI 4
#define MICROVM_COM2 0x2f8
#define MICROVM_COM2_GSI 3
#define MICROVM_SLEEP_CTL ACPI_SLEEP_CTL_PORT
#define MICROVM_SLEEP_STS ACPI_SLEEP_STS_PORT
#define MICROVM_RESET ACPI_RESET_PORT
#define MICROVM_KBC_CMD 0x64
#define MICROVM_KBC_RESET 0xfe
#define MICROVM_QUEUE_NOTIFY 0x050     /* virtio-mmio's QueueNotify register */
#define MICROVM_MAX_KICKS 64
/* A kernel or initrd bigger than this is not one (and would not fit). */
#define MICROVM_MAX_IMAGE (UINT64_C(1) << 31)

/* One virtqueue's kick through an ioeventfd: KVM signals fd when the
 * guest writes the queue's index to its transport's QueueNotify, and the
 * loop thread, not the vCPU, runs the device's notify. */
struct microvm_kick {
    int fd;
    uint64_t addr;
    int queue;
    struct virtio_dev *vd;
};

struct microvm {
    struct machine *m;
    struct mem_map pio;         /* the 64 KiB port space */
    uint64_t low_ram, high_ram;
    uint8_t *low;               /* host memory of guest-physical 0 .. low_ram */
    void *accel;                /* the struct kvm (kvm_accel_ops) */
    struct kvm *kvm;
    int n_cpus;
    struct uart16550 *uart[2];
    struct virtio_mmio *virtio[MICROVM_VIRTIO_COUNT];
    struct dev_list devs;
    uint8_t *kernel, *initrd;   /* the images, read once (a reset reloads them) */
    size_t kernel_len, initrd_len;
    struct x86_kernel_image vmlinux;    /* the bzImage's, unpacked (data NULL: none) */
    char *cmdline;
    struct x86_entry entry;
    struct x86_boot_info info;
    struct microvm_kick kick[MICROVM_MAX_KICKS];
    int n_kicks;
};

/* ---- the power registers: ACPI sleep control and reset, and the
 * keyboard controller's reset pulse ---- */

static bool power_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
    (void)opaque, (void)off, (void)size;
    *val = 0;                   /* sleep status: never asleep; 0x64: nothing pending */
    return true;
}

/* SLP_EN with \_S5's SLP_TYP: power off (no other sleep state exists) */
static bool sleep_ctl_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct microvm *v = opaque;
    (void)off, (void)size;
    if ((val & ACPI_SLP_EN) &&
        (val & ACPI_SLP_TYP_MASK) >> ACPI_SLP_TYP_SHIFT == ACPI_SLP_TYP_S5)
        machine_request(v->m, MACHINE_SHUTDOWN, 0);
    return true;
}

/* The ACPI reset register is 0xcf9, the PC's reset control: the reset
 * value and Linux's reboot=pci writes (0x06, 0x0e) all have RST_CPU. */
static bool reset_reg_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct microvm *v = opaque;
    (void)off, (void)size;
    if (val & 0x04)
        machine_request(v->m, MACHINE_RESET, 0);
    return true;
}

static bool kbc_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct microvm *v = opaque;
    (void)off, (void)size;
    if ((val & 0xff) == MICROVM_KBC_RESET)
        machine_request(v->m, MACHINE_RESET, 0);
    return true;
}

static const struct mmio_ops sleep_ctl_ops = { .read = power_read, .write = sleep_ctl_write };
static const struct mmio_ops sleep_sts_ops = { .read = power_read, .write = NULL };
static const struct mmio_ops reset_reg_ops = { .read = power_read, .write = reset_reg_write };
static const struct mmio_ops kbc_ops = { .read = power_read, .write = kbc_write };

/* ---- boot ---- */

/* The whole file, at most max bytes. */
static int read_image(const char *path, const char *what, uint8_t **out, size_t *len,
                      struct error **errp)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set_errno(errp, errno, _("cannot open %s '%s'"), what, path);
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > MICROVM_MAX_IMAGE) {
        int e = errno;
        close(fd);
        if (e && !S_ISREG(st.st_mode))
            return err_set_errno(errp, e, _("cannot read %s '%s'"), what, path);
        return err_set(errp, EFBIG, _("%s '%s' is not a regular file of at most 2 GiB"),
                       what, path);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        close(fd);
        return err_set(errp, ENOMEM, _("out of memory reading %s '%s'"), what, path);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = r < 0 ? errno : EIO;
            close(fd);
            free(buf);
            return err_set_errno(errp, e, _("cannot read %s '%s'"), what, path);
        }
        got += (size_t)r;
    }
    close(fd);
    *out = buf;
    *len = n;
    return 0;
}

/* The ACPI tables at MICROVM_ACPI_BASE: what the guest finds its CPUs,
 * its interrupt controller, the serial port, the virtio slots and the
 * power registers through. */
static int microvm_acpi(struct microvm *v, uint64_t *rsdp, struct error **errp)
{
    struct acpi_machine am;
    acpi_machine_init(&am, v->n_cpus);
    am.legacy_pic = true;               /* KVM's irqchip has the 8259s */
    am.com1_port = MICROVM_COM1;
    am.com1_gsi = MICROVM_COM1_GSI;
    am.n_virtio = MICROVM_VIRTIO_COUNT;
    for (int i = 0; i < MICROVM_VIRTIO_COUNT; i++)
        am.virtio[i] = (struct acpi_virtio_mmio){
            .base = MICROVM_VIRTIO + (uint64_t)i * VIRTIO_MMIO_SIZE,
            .size = VIRTIO_MMIO_SIZE,
            .gsi = MICROVM_VIRTIO_GSI + (uint32_t)i,
        };
    am.sleep_ctl = (struct acpi_reg){ ACPI_SPACE_IO, MICROVM_SLEEP_CTL };
    am.sleep_sts = (struct acpi_reg){ ACPI_SPACE_IO, MICROVM_SLEEP_STS };
    am.reset = (struct acpi_reg){ ACPI_SPACE_IO, MICROVM_RESET };
    am.reset_value = ACPI_RESET_VALUE;
    size_t used;
    int r = acpi_build(v->low + MICROVM_ACPI_BASE, MICROVM_ACPI_SIZE, MICROVM_ACPI_BASE, &am,
                       rsdp, &used, errp);
    /* Linux's reboot ends in a jump to the BIOS at F000:FFF0 on a
     * machine like this one (acpi.h): a stub there writes the reset
     * register */
    return r < 0 ? r : acpi_write_reset_stub(v->low, v->low_ram, &am, errp);
}

/* Kernel, initrd, command line, ACPI tables and the boot vCPU's entry
 * state; at create and at every reset (the guest may have overwritten
 * any of it). */
static int microvm_load(struct microvm *v, struct error **errp)
{
    uint64_t rsdp = 0;
    int r = microvm_acpi(v, &rsdp, errp);
    if (r < 0)
        return r;
    struct x86_boot_config bc = {
        .kernel_name = v->m->opts.kernel,
        .kernel = v->vmlinux.data ? v->vmlinux.data : v->kernel,
        .kernel_len = v->vmlinux.data ? v->vmlinux.len : v->kernel_len,
        .initrd_name = v->m->opts.initrd,
        .initrd = v->initrd, .initrd_len = v->initrd_len,
        .cmdline = v->cmdline,
        .high_ram_size = v->high_ram,
        .rsdp_addr = rsdp,
    };
    struct error *pvh_err = NULL;
    r = x86_load_linux(v->low, v->low_ram, &bc, &v->entry, &v->info,
                       v->vmlinux.data ? &pvh_err : errp);
    if (r < 0 && v->vmlinux.data) {
        /* what the PVH entry cannot take (too little RAM for the whole
         * vmlinux, say), the kernel's own decompressor may; if it cannot
         * either, the first reason is the one to tell */
        x86_kernel_release(&v->vmlinux);
        bc.kernel = v->kernel;
        bc.kernel_len = v->kernel_len;
        r = x86_load_linux(v->low, v->low_ram, &bc, &v->entry, &v->info, NULL);
        if (r < 0 && errp && !*errp) {
            *errp = pvh_err;
            pvh_err = NULL;
        }
    }
    err_free(pvh_err);
    if (r < 0)
        return r;
    return kvm_cpu_set_entry(kvm_cpu(v->kvm, 0), &v->entry, errp);
}

/* ---- devices ---- */

static int microvm_devices(struct microvm *v, struct error **errp)
{
    struct machine *m = v->m;
    int r;
    static const uint16_t com_port[2] = { MICROVM_COM1, MICROVM_COM2 };
    static const int com_gsi[2] = { MICROVM_COM1_GSI, MICROVM_COM2_GSI };
    for (int i = 0; i < 2; i++) {
        if (i > 0 && !m->serial[i])
            break;              /* COM1 always (the kernel's console=ttyS0) */
        r = uart16550_new(&v->uart[i], &v->pio, com_port[i],
                          (struct irq_line){ kvm_irq_set, v->kvm, com_gsi[i] }, m->serial[i],
                          errp);
        if (r < 0 || (r = dev_list_add(&v->devs, &uart16550_ops, v->uart[i], com_port[i],
                                       errp)) < 0)
            return r;
    }
    if ((r = mem_add_mmio(&v->pio, "acpi-sleep-control", MICROVM_SLEEP_CTL, 1,
                          &sleep_ctl_ops, v, errp)) < 0 ||
        (r = mem_add_mmio(&v->pio, "acpi-sleep-status", MICROVM_SLEEP_STS, 1,
                          &sleep_sts_ops, v, errp)) < 0 ||
        (r = mem_add_mmio(&v->pio, "acpi-reset", MICROVM_RESET, 1, &reset_reg_ops, v,
                          errp)) < 0 ||
        (r = mem_add_mmio(&v->pio, "i8042-reset", MICROVM_KBC_CMD, 1, &kbc_ops, v, errp)) < 0)
        return r;
    for (int i = 0; i < MICROVM_VIRTIO_COUNT; i++) {
        uint64_t base = MICROVM_VIRTIO + (uint64_t)i * VIRTIO_MMIO_SIZE;
        r = virtio_mmio_new(&v->virtio[i], &m->mem, base,
                            (struct irq_line){ kvm_irq_set, v->kvm, MICROVM_VIRTIO_GSI + i },
                            errp);
        if (r < 0 || (r = dev_list_add(&v->devs, &virtio_mmio_ops, v->virtio[i], base, errp)) < 0)
            return r;
    }
    return 0;
}

static void microvm_on_kick(void *opaque, int fd)
{
    struct microvm_kick *k = opaque;
    uint64_t n;
    if (read(fd, &n, sizeof(n)) != sizeof(n))
        return;
    hw_lock();
    virtio_queue_notify(k->vd, k->queue);
    hw_unlock();
}

/* Every queue of every plugged device kicks through an ioeventfd (a
 * write with its index as datamatch); the register's other writes still
 * exit to the transport.  Best effort: a queue without one is kicked
 * through the exit, as before. */
static void microvm_kicks(struct microvm *v, int slot, struct virtio_dev *vd)
{
    uint64_t addr = MICROVM_VIRTIO + (uint64_t)slot * VIRTIO_MMIO_SIZE + MICROVM_QUEUE_NOTIFY;
    for (int q = 0; q < vd->n_queues && v->n_kicks < MICROVM_MAX_KICKS; q++) {
        struct microvm_kick *k = &v->kick[v->n_kicks];
        struct error *err = NULL;
        k->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (k->fd < 0)
            return;
        k->addr = addr;
        k->queue = q;
        k->vd = vd;
        if (kvm_ioeventfd(v->kvm, k->fd, addr, 4, false, true, (uint64_t)q, true, &err) < 0 ||
            loop_set_fd(v->m->loop, k->fd, microvm_on_kick, NULL, k, &err) < 0) {
            kvm_ioeventfd(v->kvm, k->fd, addr, 4, false, true, (uint64_t)q, false, NULL);
            close(k->fd);
            err_free(err);
            return;
        }
        v->n_kicks++;
    }
}

static void microvm_kicks_free(struct microvm *v)
{
    for (int i = 0; i < v->n_kicks; i++) {
        struct microvm_kick *k = &v->kick[i];
        loop_remove_fd(v->m->loop, k->fd);
        if (v->kvm)
            kvm_ioeventfd(v->kvm, k->fd, k->addr, 4, false, true, (uint64_t)k->queue, false,
                          NULL);
        close(k->fd);
    }
    v->n_kicks = 0;
}

/* The -device lines, each into the next free virtio-mmio slot from the
 * first (the DSDT lists them in that order, so the first -device is the
 * guest's first virtio device: vda for the first disk). */
static int microvm_plug_devices(struct microvm *v, struct error **errp)
{
    struct machine *m = v->m;
    struct vdev_env env = { .mem = &m->mem, .loop = m->loop, .pool = m->pool,
                            .drives = m->drives, .netdevs = m->netdevs,
                            .find_chardev = machine_find_chardev, .opaque = m };
    int slot = 0;
    for (int i = 0; i < m->opts.n_devices; i++) {
        const char *spec = m->opts.devices[i];
        struct virtio_dev *vd;
        if (slot == MICROVM_VIRTIO_COUNT)
            return err_set(errp, ENOSPC, _("-device %s: no free virtio-mmio slot (the board "
                                           "has %d)"), spec, MICROVM_VIRTIO_COUNT);
        int r = vdev_create(&vd, spec, &env, errp);
        if (r < 0) {
            err_prefix(errp, "-device %s", spec);
            return r;
        }
        if (!vd)
            continue;           /* it joined an earlier device */
        if (vd->ops->device_id == VIRTIO_ID_CONSOLE)
            env.last_serial = vd;
        r = dev_list_add(&v->devs, &virtio_dev_list_ops, vd,
                         MICROVM_VIRTIO + (uint64_t)slot * VIRTIO_MMIO_SIZE, errp);
        if (r < 0) {
            vd->ops->free(vd);
            return r;
        }
        virtio_mmio_plug(v->virtio[slot], vd);
        microvm_kicks(v, slot++, vd);
    }
    return 0;
}

/* ---- the machine ---- */

static void microvm_destroy(struct machine *m);

static int microvm_create(struct machine *m, struct error **errp)
{
    struct machine_opts *o = &m->opts;
    int r;
    bool kernel_cache = true;
    if (o->props && *o->props) {
        struct kv *kv;
        if ((r = kv_parse(&kv, o->props, NULL, errp)) == 0) {
            r = kv_get_bool(kv, "kernel-cache", true, &kernel_cache, errp);
            if (r == 0)
                r = kv_check_used(kv, errp);
            kv_free(kv);
        }
        if (r < 0) {
            err_prefix(errp, "-M microvm");
            return r;
        }
    }
    if (o->dumpdtb)
        return err_set(errp, ENOTSUP, _("-M microvm: no device tree to dump (the board "
                                        "describes itself in ACPI)"));
    if (o->bios && strcmp(o->bios, "none") != 0 && strcmp(o->bios, "default") != 0)
        return err_set(errp, ENOTSUP, _("-bios %s: the microvm board has no firmware; boot "
                                        "Linux directly with -kernel"), o->bios);
    if (o->dtb)
        return err_set(errp, ENOTSUP, _("-dtb: the microvm board has no device tree"));
    if (!o->kernel)
        return err_set(errp, EINVAL, _("-M microvm needs -kernel (a Linux bzImage or an "
                                        "ELF vmlinux with a PVH entry): there is no firmware"));
    int n = o->smp ? o->smp : 1;
    if (n < 1 || n > KVM_MAX_CPUS)
        return err_set(errp, EINVAL, _("-smp %d: the microvm board takes 1 to %d vCPUs"),
                       o->smp, KVM_MAX_CPUS);
    uint64_t ram = o->ram_size ? o->ram_size : 128 * MiB;
    if (ram > MICROVM_MAX_RAM || !IS_ALIGNED(ram, 4096) || ram < 16 * MiB)
        return err_set(errp, EINVAL,
                       _("-m: %" PRIu64 " bytes of RAM is not possible on the microvm board "
                         "(16 MiB to 1 TiB, a multiple of 4 KiB)"), ram);

    struct microvm *v = calloc(1, sizeof(*v));
    if (!v)
        return err_set(errp, ENOMEM, _("out of memory creating the machine"));
    m->board = v;
    v->m = m;
    m->devs = &v->devs;
    v->n_cpus = n;
    v->low_ram = MIN(ram, MICROVM_LOW_RAM_MAX);
    v->high_ram = ram - v->low_ram;

    hw_clock_init();
    if ((r = read_image(o->kernel, _("kernel"), &v->kernel, &v->kernel_len, errp)) < 0 ||
        (o->initrd &&
         (r = read_image(o->initrd, _("initrd"), &v->initrd, &v->initrd_len, errp)) < 0))
        goto fail;
    /* A bzImage boots from its vmlinux, decompressed here once per kernel
     * (hw/x86/unpack.c says why); whatever cannot be unpacked so boots as
     * it is, and its own decompressor says what it thinks of it. */
    if (kernel_cache && (v->kernel_len < 4 || memcmp(v->kernel, "\177ELF", 4) != 0))
        (void)x86_kernel_unpacked(v->kernel, v->kernel_len, o->kernel, &v->vmlinux, NULL);
    if (!(v->cmdline = strdup(o->append ? o->append : ""))) {
        r = err_set(errp, ENOMEM, _("out of memory creating the machine"));
        goto fail;
    }
    if ((r = mem_add_ram(&m->mem, "ram-below-4g", 0, v->low_ram, false, errp)) < 0 ||
        (v->high_ram && (r = mem_add_ram(&m->mem, "ram-above-4g", MICROVM_HIGH_RAM,
                                         v->high_ram, false, errp)) < 0))
        goto fail;
    v->low = mem_ram_ptr(&m->mem, 0, v->low_ram, false);

    struct accel_config cfg = {
        .n_cpus = n,
        .mem = &m->mem,
        .pio = &v->pio,
        .loop = m->loop,
        .machine = m,
        .request = machine_request,
    };
    if ((r = kvm_accel_ops.create(&v->accel, &cfg, errp)) < 0)
        goto fail;
    v->kvm = v->accel;
    if ((r = microvm_devices(v, errp)) < 0 || (r = microvm_plug_devices(v, errp)) < 0 ||
        (r = microvm_load(v, errp)) < 0)
        goto fail;
    return 0;
fail:
    microvm_destroy(m);
    return r;
}

static int microvm_start(struct machine *m, struct error **errp)
{
    struct microvm *v = m->board;
    return kvm_accel_ops.start(v->accel, errp);
}

static void microvm_stop(struct machine *m)
{
    struct microvm *v = m->board;
    kvm_accel_ops.stop(v->accel);
}

static int microvm_reset(struct machine *m, struct error **errp)
{
    struct microvm *v = m->board;
    int r = kvm_accel_ops.reset(v->accel, errp);     /* stops them, power-on state */
    if (r < 0)
        return r;
    hw_lock();
    dev_list_reset(&v->devs);
    hw_unlock();
    /* device requests still in flight write RAM when they complete:
     * they finish before the images go back */
    if (m->pool)
        pool_drain(m->pool, NULL);
    return microvm_load(v, errp);
}

static void microvm_destroy(struct machine *m)
{
    struct microvm *v = m->board;
    if (!v)
        return;
    if (v->accel)
        kvm_accel_ops.stop(v->accel);
    /* No vCPU runs now; requests in the worker pool finish before RAM
     * and the devices go. */
    if (m->pool)
        pool_drain(m->pool, NULL);
    microvm_kicks_free(v);
    dev_list_free(&v->devs);
    if (v->accel)
        kvm_accel_ops.destroy(v->accel);
    mem_map_free(&v->pio);
    mem_map_free(&m->mem);
    free(v->kernel);
    x86_kernel_release(&v->vmlinux);
    free(v->initrd);
    free(v->cmdline);
    free(v);
    m->board = NULL;
    m->devs = NULL;
}

/* ---- the monitor's view of the vCPUs (info registers, info cpus,
 * query-cpus-fast, x/$pc); no gdb stub yet, so no breakpoints, no
 * stepping, no virtual memory ---- */

static int microvm_n_cpus(void *opaque)
{
    struct microvm *v = opaque;
    return v->n_cpus;
}

static uint64_t microvm_pc(void *opaque, int cpu)
{
    struct microvm *v = opaque;
    struct x86_entry e;
    struct error *err = NULL;
    if (cpu < 0 || cpu >= v->n_cpus || kvm_cpu_get_entry(kvm_cpu(v->kvm, cpu), &e, &err) < 0) {
        err_free(err);
        return 0;
    }
    return e.rip;
}

static int microvm_read_mem(void *opaque, int cpu, uint64_t va, void *buf, size_t len)
{
    (void)opaque, (void)cpu, (void)va, (void)buf, (void)len;
    return -ENOTSUP;            /* no x86 page walk here yet: use xp */
}

/* kvm_cpu_dump's block, line by line */
static void microvm_dump_state(void *opaque, int cpu, void (*line)(void *arg, const char *text),
                               void *arg)
{
    struct microvm *v = opaque;
    if (cpu < 0 || cpu >= v->n_cpus)
        return;
    char buf[2048];
    kvm_cpu_dump(kvm_cpu(v->kvm, cpu), buf, sizeof(buf));
    for (char *p = buf, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        if (!nl) {
            line(arg, p);
            break;
        }
        *nl = 0;
        line(arg, p);
    }
}

static const struct machine_debug_ops microvm_debug_ops = {
    .n_cpus = microvm_n_cpus,
    .pc = microvm_pc,
    .read_mem = microvm_read_mem,
    .dump_state = microvm_dump_state,
};

static const struct machine_debug_ops *microvm_debug(struct machine *m, void **opaque)
{
    *opaque = m->board;
    return m->board ? &microvm_debug_ops : NULL;
}

const struct machine_ops microvm_machine = {
    .name = "microvm",
    .desc = N_("microvm (i386), on KVM: virtio-mmio in ACPI, no PCI, direct Linux boot"),
    .create = microvm_create,
    .start = microvm_start,
    .stop = microvm_stop,
    .reset = microvm_reset,
    .destroy = microvm_destroy,
    .debug = microvm_debug,
};
