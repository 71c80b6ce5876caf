/* virt-fdt.c - the virt board's device tree.
 *
 * Node names, compatibles, registers, interrupts and the phandle links
 * follow qemu's tree for the same board (so that a guest, or a user
 * diffing `-M virt,dumpdtb=`, sees the same machine), leaving out what
 * emu does not emulate (fw-cfg, flash, PCI, platform bus, PMU).  The
 * bindings: Documentation/devicetree/bindings in Linux (riscv/cpus.yaml,
 * interrupt-controller/sifive,plic-1.0.0.yaml, timer/sifive,clint.yaml,
 * serial/8250.yaml, rtc/google,goldfish-rtc, power/reset/syscon-*.yaml).
 */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <libfdt.h>
#include "hw/riscv/virt.h"
#include "riscv/sys.h"
#include "i18n.h"

#define FDT_SIZE (64 * 1024)

/* libfdt's sequential writer: stop at the first failure, keep its code. */
struct fdtw {
    void *fdt;
    int err;
};

static void w_begin(struct fdtw *w, const char *name)
{
    if (!w->err)
        w->err = fdt_begin_node(w->fdt, name);
}

static void w_end(struct fdtw *w)
{
    if (!w->err)
        w->err = fdt_end_node(w->fdt);
}

static void w_prop(struct fdtw *w, const char *name, const void *val, int len)
{
    if (!w->err)
        w->err = fdt_property(w->fdt, name, val, len);
}

static void w_u32(struct fdtw *w, const char *name, uint32_t v)
{
    if (!w->err)
        w->err = fdt_property_u32(w->fdt, name, v);
}

static void w_str(struct fdtw *w, const char *name, const char *s)
{
    if (!w->err)
        w->err = fdt_property_string(w->fdt, name, s);
}

static void w_empty(struct fdtw *w, const char *name)
{
    w_prop(w, name, NULL, 0);
}

/* A list of cells, converted to big-endian. */
static void w_cells(struct fdtw *w, const char *name, const uint32_t *cells, int n)
{
    fdt32_t be[64];
    if (n > (int)ARRAY_SIZE(be)) {
        w->err = -FDT_ERR_NOSPACE;
        return;
    }
    for (int i = 0; i < n; i++)
        be[i] = cpu_to_fdt32(cells[i]);
    w_prop(w, name, be, n * (int)sizeof(fdt32_t));
}

/* reg = <base size> with two cells each. */
static void w_reg(struct fdtw *w, uint64_t base, uint64_t size)
{
    uint32_t c[4] = { (uint32_t)(base >> 32), (uint32_t)base,
                      (uint32_t)(size >> 32), (uint32_t)size };
    w_cells(w, "reg", c, 4);
}

static void w_node_name(char *buf, size_t len, const char *name, uint64_t addr)
{
    snprintf(buf, len, "%s@%" PRIx64, name, addr);
}

/* A device on the PLIC: interrupts and interrupt-parent. */
static void w_plic_irq(struct fdtw *w, uint32_t plic_ph, uint32_t irq)
{
    w_u32(w, "interrupts", irq);
    w_u32(w, "interrupt-parent", plic_ph);
}

static void w_cpus(struct fdtw *w, struct virt *v, const uint32_t *cpu_ph,
                   const uint32_t *intc_ph)
{
    char name[64], isa[512];
    const char *exts[64];
    char extlist[1024];
    size_t extlen = 0;

    rv_isa_string(v->ext, isa, sizeof(isa));
    int n_ext = rv_isa_extensions(v->ext, exts, (int)ARRAY_SIZE(exts));
    for (int i = 0; i < n_ext && i < (int)ARRAY_SIZE(exts); i++) {
        size_t l = strlen(exts[i]) + 1;
        if (extlen + l > sizeof(extlist))
            break;
        memcpy(extlist + extlen, exts[i], l);
        extlen += l;
    }

    w_begin(w, "cpus");
    w_u32(w, "#address-cells", 1);
    w_u32(w, "#size-cells", 0);
    w_u32(w, "timebase-frequency", VIRT_TIMEBASE);
    for (int h = 0; h < v->n_harts; h++) {
        w_node_name(name, sizeof(name), "cpu", (uint64_t)h);
        w_begin(w, name);
        w_u32(w, "phandle", cpu_ph[h]);
        w_str(w, "device_type", "cpu");
        w_u32(w, "reg", (uint32_t)h);
        w_str(w, "status", "okay");
        w_str(w, "compatible", "riscv");
        w_str(w, "riscv,isa", isa);
        w_str(w, "riscv,isa-base", "rv64i");
        w_prop(w, "riscv,isa-extensions", extlist, (int)extlen);
        w_str(w, "mmu-type", rv_mmu_type());
        w_begin(w, "interrupt-controller");
        w_u32(w, "#interrupt-cells", 1);
        w_empty(w, "interrupt-controller");
        w_str(w, "compatible", "riscv,cpu-intc");
        w_u32(w, "phandle", intc_ph[h]);
        w_end(w);
        w_end(w);
    }
    w_begin(w, "cpu-map");
    w_begin(w, "cluster0");
    for (int h = 0; h < v->n_harts; h++) {
        snprintf(name, sizeof(name), "core%d", h);
        w_begin(w, name);
        w_u32(w, "cpu", cpu_ph[h]);
        w_end(w);
    }
    w_end(w);
    w_end(w);
    w_end(w);
}

static void w_soc(struct fdtw *w, struct virt *v, const uint32_t *intc_ph, uint32_t plic_ph,
                  uint32_t test_ph)
{
    char name[64];
    uint32_t ext[4 * VIRT_MAX_HARTS];
    static const char plic_compat[] = "sifive,plic-1.0.0\0riscv,plic0";
    static const char clint_compat[] = "sifive,clint0\0riscv,clint0";
    static const char test_compat[] = "sifive,test1\0sifive,test0\0syscon";

    w_begin(w, "soc");
    w_u32(w, "#address-cells", 2);
    w_u32(w, "#size-cells", 2);
    w_str(w, "compatible", "simple-bus");
    w_empty(w, "ranges");

    w_node_name(name, sizeof(name), "rtc", VIRT_RTC);
    w_begin(w, name);
    w_plic_irq(w, plic_ph, VIRT_RTC_IRQ);
    w_reg(w, VIRT_RTC, GOLDFISH_RTC_SIZE);
    w_str(w, "compatible", "google,goldfish-rtc");
    w_end(w);

    w_node_name(name, sizeof(name), "serial", VIRT_UART0);
    w_begin(w, name);
    w_plic_irq(w, plic_ph, VIRT_UART0_IRQ);
    w_u32(w, "clock-frequency", VIRT_UART_CLOCK);
    w_reg(w, VIRT_UART0, UART16550_SIZE);
    w_str(w, "compatible", "ns16550a");
    w_end(w);

    w_node_name(name, sizeof(name), "test", VIRT_TEST);
    w_begin(w, name);
    w_u32(w, "phandle", test_ph);
    w_reg(w, VIRT_TEST, SIFIVE_TEST_SIZE);
    w_prop(w, "compatible", test_compat, sizeof(test_compat));
    w_end(w);

    /* highest slot first, as qemu lists them: Linux probes in tree order,
     * so the first -drive (in the highest slot) becomes /dev/vda */
    for (int i = VIRT_VIRTIO_COUNT - 1; i >= 0; i--) {
        uint64_t base = VIRT_VIRTIO + (uint64_t)i * VIRTIO_MMIO_SIZE;
        w_node_name(name, sizeof(name), "virtio_mmio", base);
        w_begin(w, name);
        w_plic_irq(w, plic_ph, (uint32_t)(VIRT_VIRTIO_IRQ + i));
        w_reg(w, base, VIRTIO_MMIO_SIZE);
        w_str(w, "compatible", "virtio,mmio");
        w_end(w);
    }

    /* PLIC contexts: 2h is hart h's M-mode (MEI), 2h+1 its S-mode (SEI). */
    w_node_name(name, sizeof(name), "plic", VIRT_PLIC);
    w_begin(w, name);
    w_u32(w, "phandle", plic_ph);
    w_u32(w, "riscv,ndev", VIRT_PLIC_NDEV);
    w_reg(w, VIRT_PLIC, VIRT_PLIC_SIZE);
    for (int h = 0; h < v->n_harts; h++) {
        ext[4 * h + 0] = intc_ph[h];
        ext[4 * h + 1] = RV_IRQ_MEI;
        ext[4 * h + 2] = intc_ph[h];
        ext[4 * h + 3] = RV_IRQ_SEI;
    }
    w_cells(w, "interrupts-extended", ext, 4 * v->n_harts);
    w_empty(w, "interrupt-controller");
    w_prop(w, "compatible", plic_compat, sizeof(plic_compat));
    w_u32(w, "#address-cells", 0);
    w_u32(w, "#interrupt-cells", 1);
    w_end(w);

    w_node_name(name, sizeof(name), "clint", VIRT_CLINT);
    w_begin(w, name);
    for (int h = 0; h < v->n_harts; h++) {
        ext[4 * h + 0] = intc_ph[h];
        ext[4 * h + 1] = RV_IRQ_MSI;
        ext[4 * h + 2] = intc_ph[h];
        ext[4 * h + 3] = RV_IRQ_MTI;
    }
    w_cells(w, "interrupts-extended", ext, 4 * v->n_harts);
    w_reg(w, VIRT_CLINT, ACLINT_SIZE);
    w_prop(w, "compatible", clint_compat, sizeof(clint_compat));
    w_end(w);

    w_end(w);
}

/* syscon-poweroff and syscon-reboot: values written to the test device. */
static void w_syscon(struct fdtw *w, const char *node, const char *compat, uint32_t value,
                     uint32_t test_ph)
{
    w_begin(w, node);
    w_u32(w, "value", value);
    w_u32(w, "offset", 0);
    w_u32(w, "regmap", test_ph);
    w_str(w, "compatible", compat);
    w_end(w);
}

int virt_fdt_build(struct virt *v, void **out, struct error **errp)
{
    uint32_t cpu_ph[VIRT_MAX_HARTS], intc_ph[VIRT_MAX_HARTS];
    uint32_t ph = 1;
    for (int h = 0; h < v->n_harts; h++) {
        cpu_ph[h] = ph++;
        intc_ph[h] = ph++;
    }
    uint32_t plic_ph = ph++;
    uint32_t test_ph = ph++;

    struct fdtw w = { .fdt = calloc(1, FDT_SIZE), .err = 0 };
    if (!w.fdt)
        return err_set(errp, ENOMEM, _("out of memory building the device tree"));
    w.err = fdt_create(w.fdt, FDT_SIZE);
    if (!w.err)
        w.err = fdt_finish_reservemap(w.fdt);
    w_begin(&w, "");
    w_u32(&w, "#address-cells", 2);
    w_u32(&w, "#size-cells", 2);
    w_str(&w, "compatible", "riscv-virtio");
    w_str(&w, "model", "riscv-virtio,qemu");

    w_begin(&w, "chosen");      /* filled by virt_fdt_chosen */
    w_end(&w);

    char name[64];
    w_node_name(name, sizeof(name), "memory", VIRT_DRAM);
    w_begin(&w, name);
    w_str(&w, "device_type", "memory");
    w_reg(&w, VIRT_DRAM, v->ram_size);
    w_end(&w);

    w_cpus(&w, v, cpu_ph, intc_ph);
    w_soc(&w, v, intc_ph, plic_ph, test_ph);
    w_syscon(&w, "poweroff", "syscon-poweroff", SIFIVE_TEST_PASS, test_ph);
    w_syscon(&w, "reboot", "syscon-reboot", SIFIVE_TEST_RESET, test_ph);
    w_end(&w);
    if (!w.err)
        w.err = fdt_finish(w.fdt);
    if (w.err) {
        free(w.fdt);
        return err_set(errp, EINVAL, _("cannot build the device tree: %s"),
                       fdt_strerror(w.err));
    }
    *out = w.fdt;
    return 0;
}

int virt_fdt_chosen(struct virt *v, void **fdtp, struct error **errp)
{
    const struct machine_opts *o = &v->m->opts;
    int size = (int)fdt_totalsize(*fdtp) + 4096 + (o->append ? (int)strlen(o->append) : 0);
    void *fdt = malloc((size_t)size);
    if (!fdt)
        return err_set(errp, ENOMEM, _("out of memory building the device tree"));
    int err = fdt_open_into(*fdtp, fdt, size);
    int node = err ? err : fdt_path_offset(fdt, "/chosen");
    if (node == -FDT_ERR_NOTFOUND)
        node = fdt_add_subnode(fdt, 0, "chosen");

    uint8_t seed[32];
    if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
        memset(seed, 0, sizeof(seed));  /* no seed is better than no boot */

    err = node < 0 ? node : 0;
    if (!err)
        err = fdt_setprop_string(fdt, node, "stdout-path", "/soc/serial@10000000");
    if (!err)
        err = fdt_setprop(fdt, node, "rng-seed", seed, sizeof(seed));
    if (!err && o->append)
        err = fdt_setprop_string(fdt, node, "bootargs", o->append);
    if (!err && v->have_initrd) {
        err = fdt_setprop_u64(fdt, node, "linux,initrd-start", v->initrd_start);
        if (!err)
            err = fdt_setprop_u64(fdt, node, "linux,initrd-end", v->initrd_end);
    }
    if (!err)
        err = fdt_pack(fdt);
    if (err) {
        free(fdt);
        return err_set(errp, EINVAL, _("cannot set /chosen in the device tree: %s"),
                       fdt_strerror(err));
    }
    free(*fdtp);
    *fdtp = fdt;
    return 0;
}
