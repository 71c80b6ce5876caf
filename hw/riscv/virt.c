/* virt.c - the RISC-V "virt" board: qemu's -M virt memory map with its
 * devices, 1 to 8 harts, and qemu's way of booting.
 *
 * Boot: every hart starts in M-mode at the reset ROM (0x1000), which
 * loads a0 = mhartid, a1 = the device tree's address, a2 = the address of
 * a struct fw_dynamic_info (OpenSBI, docs/firmware/fw_dynamic.md) and
 * jumps to the firmware at the start of RAM.  The firmware starts the
 * kernel (next_addr) in S-mode.  With -bios none there is no firmware
 * and the ROM jumps straight to the -kernel's entry, still in M-mode:
 * that is how bare-metal programs (the ISA tests) run.
 *
 * Placement, as qemu's: the kernel 2 MiB past the firmware's end (an ELF
 * at its own addresses), the initrd min(RAM/2, 128 MiB) past the kernel's
 * start, the device tree at the end of RAM (below 3 GiB), 2 MiB aligned.
 *
 * Interrupt wiring: CLINT msip/mtip of hart h -> MSIP/MTIP of hart h;
 * PLIC context 2h -> MEIP of hart h, 2h+1 -> SEIP of hart h; UART0 ->
 * PLIC source 10, RTC -> 11, virtio slot i -> 1 + i.
 */
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <libfdt.h>
#include "hw/riscv/virt.h"
#include "hw/riscv/boot.h"
#include "hw/machine-state.h"
#include "hw/virtio/models.h"
#include "hw/virtio/virtio.h"
#include "pool.h"
#include "riscv/sys.h"
#include "i18n.h"

#define MiB (UINT64_C(1) << 20)
#define VIRT_DEFAULT_RAM (128 * MiB)
/* The device tree stays below 3 GiB, where 32-bit code can reach it. */
#define VIRT_FDT_LIMIT UINT64_C(0xc0000000)
#define VIRT_MAX_RAM (UINT64_C(1) << 40)

#define FW_DYNAMIC_MAGIC 0x4942534f     /* "OSBI" */
#define FW_DYNAMIC_VERSION 2
#define FW_DYNAMIC_NEXT_MODE_S 1

/* ---- the reset ROM ---- */

/* RISC-V base instruction encodings (unprivileged spec, chapter 2). */
enum { X_T0 = 5, X_A0 = 10, X_A1 = 11, X_A2 = 12 };
static uint32_t rv_auipc(unsigned rd, uint32_t imm20)
{
    return imm20 << 12 | rd << 7 | 0x17;
}
static uint32_t rv_addi(unsigned rd, unsigned rs1, uint32_t imm12)
{
    return (imm12 & 0xfff) << 20 | rs1 << 15 | 0 << 12 | rd << 7 | 0x13;
}
static uint32_t rv_ld(unsigned rd, unsigned rs1, uint32_t imm12)
{
    return (imm12 & 0xfff) << 20 | rs1 << 15 | 3 << 12 | rd << 7 | 0x03;
}
static uint32_t rv_csrr(unsigned rd, uint32_t csr)
{
    return csr << 20 | 0 << 15 | 2 << 12 | rd << 7 | 0x73;     /* csrrs rd, csr, x0 */
}
static uint32_t rv_jr(unsigned rs1)
{
    return rs1 << 15 | 0 << 12 | 0 << 7 | 0x67;                /* jalr x0, 0(rs1) */
}
#define CSR_MHARTID 0xf14

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Six instructions, then the data they load: the jump target, the device
 * tree's address, and struct fw_dynamic_info (six XLEN words: magic,
 * version, next_addr, next_mode, options, boot_hart). */
#define ROM_ENTRY 0x18
#define ROM_FDT 0x20
#define ROM_INFO 0x28
#define ROM_SIZE (ROM_INFO + 6 * 8)

static int virt_write_rom(struct virt *v, uint64_t jump, uint64_t kernel)
{
    uint8_t rom[ROM_SIZE] = { 0 };
    const uint32_t code[6] = {
        rv_auipc(X_T0, 0),                  /* t0 = 0x1000 */
        rv_csrr(X_A0, CSR_MHARTID),
        rv_ld(X_A1, X_T0, ROM_FDT),
        rv_addi(X_A2, X_T0, ROM_INFO),
        rv_ld(X_T0, X_T0, ROM_ENTRY),
        rv_jr(X_T0),
    };
    for (int i = 0; i < 6; i++)
        put_le32(rom + 4 * i, code[i]);
    put_le64(rom + ROM_ENTRY, jump);
    put_le64(rom + ROM_FDT, v->fdt_addr);
    put_le64(rom + ROM_INFO + 0, FW_DYNAMIC_MAGIC);
    put_le64(rom + ROM_INFO + 8, FW_DYNAMIC_VERSION);
    put_le64(rom + ROM_INFO + 16, kernel);
    put_le64(rom + ROM_INFO + 24, FW_DYNAMIC_NEXT_MODE_S);
    put_le64(rom + ROM_INFO + 32, 0);       /* options */
    put_le64(rom + ROM_INFO + 40, 0);       /* boot_hart: hart 0 */
    return mem_write(&v->m->mem, VIRT_MROM, rom, sizeof(rom));
}

/* ---- boot images ---- */

static const char *virt_firmware(const struct machine_opts *o)
{
    if (!o->bios || strcmp(o->bios, "default") == 0)
        return OPENSBI_FW;
    if (strcmp(o->bios, "none") == 0)
        return NULL;
    return o->bios;
}

/* Load firmware, kernel, initrd and device tree; write the reset ROM.
 * Run at create and again at every reset (RAM may hold anything then). */
static int virt_load(struct virt *v, struct error **errp)
{
    const struct machine_opts *o = &v->m->opts;
    const struct mem_map *mem = &v->m->mem;
    uint64_t ram_end = VIRT_DRAM + v->ram_size;
    const char *fw = virt_firmware(o);
    struct rv_boot_image fwi = { 0 }, ki = { 0 };
    uint64_t jump, kernel_addr = VIRT_DRAM;
    int ret;

    if (fw) {
        if (access(fw, R_OK) < 0 && (!o->bios || strcmp(o->bios, "default") == 0))
            return err_set_errno(errp, errno,
                                 _("cannot use the default firmware '%s' (install "
                                   "Debian's package opensbi, or give -bios FILE or "
                                   "-bios none)"), fw);
        ret = rv_load_any(mem, fw, VIRT_DRAM, &fwi, errp);
        if (ret < 0)
            return ret;
        jump = fwi.entry;
        kernel_addr = ALIGN_UP(MAX(fwi.high, VIRT_DRAM), 2 * MiB);
    } else {
        jump = VIRT_DRAM;
    }

    if (o->kernel) {
        ret = rv_load_any(mem, o->kernel, kernel_addr, &ki, errp);
        if (ret < 0)
            return ret;
        if (fw && ki.low < fwi.high && fwi.low < ki.high)
            return err_set(errp, EINVAL, _("kernel '%s' overlaps the firmware '%s'"),
                           o->kernel, fw);
        kernel_addr = ki.entry;
        if (!fw)
            jump = ki.entry;
    }

    /* The initrd: far enough past the kernel's start that the kernel's
     * own memory (bss, page tables) does not run into it. */
    size_t fdt_size = fdt_totalsize(v->fdt);
    uint64_t fdt_top = MIN(ram_end, VIRT_FDT_LIMIT);
    if (fdt_top - VIRT_DRAM < fdt_size)
        return err_set(errp, ENOMEM, _("RAM is too small for the device tree"));
    v->fdt_addr = ALIGN_DOWN(fdt_top - fdt_size, 2 * MiB);
    if (v->fdt_addr < VIRT_DRAM)
        v->fdt_addr = VIRT_DRAM;
    uint64_t used_top = MAX(ki.high, fwi.high);
    if (used_top > v->fdt_addr)
        return err_set(errp, ENOMEM,
                       _("no room for the device tree at the end of RAM (%" PRIu64
                         " MiB): the boot images reach 0x%" PRIx64), v->ram_size / MiB,
                       used_top);

    v->have_initrd = false;
    if (o->initrd) {
        CLEANUP_FREE uint8_t *buf = NULL;
        size_t len;
        ret = rv_read_file(o->initrd, v->ram_size, &buf, &len, errp);
        if (ret < 0)
            return ret;
        uint64_t base = o->kernel ? ki.low : kernel_addr;
        uint64_t start = base + MIN(v->ram_size / 2, 128 * MiB);
        start = MAX(start, ALIGN_UP(used_top, 4096));
        if (start > v->fdt_addr || len > v->fdt_addr - start)
            return err_set(errp, ENOMEM,
                           _("initrd '%s' (%zu bytes) does not fit in RAM between the "
                             "kernel and the device tree (use a larger -m)"),
                           o->initrd, len);
        if (mem_write(mem, start, buf, len) < 0)
            return err_set(errp, ERANGE, _("initrd '%s' does not fit in guest memory"),
                           o->initrd);
        v->have_initrd = true;
        v->initrd_start = start;
        v->initrd_end = start + len;
    }

    /* /chosen may change size with the initrd's addresses: set it, then
     * place the final blob. */
    ret = virt_fdt_chosen(v, &v->fdt, errp);
    if (ret < 0)
        return ret;
    fdt_size = fdt_totalsize(v->fdt);
    uint64_t fdt_addr = ALIGN_DOWN(fdt_top - fdt_size, 2 * MiB);
    if (fdt_addr < v->fdt_addr)
        v->fdt_addr = fdt_addr;
    uint64_t low_limit = v->have_initrd ? v->initrd_end : used_top;
    if (v->fdt_addr < low_limit || v->fdt_addr < VIRT_DRAM ||
        mem_write(mem, v->fdt_addr, v->fdt, fdt_size) < 0)
        return err_set(errp, ENOMEM, _("RAM is too small for the device tree"));

    if (virt_write_rom(v, jump, kernel_addr) < 0)
        return err_set(errp, EFAULT, _("cannot write the reset ROM"));
    return 0;
}

/* The tree: the board's own, or -dtb FILE. */
static int virt_make_fdt(struct virt *v, struct error **errp)
{
    const struct machine_opts *o = &v->m->opts;
    free(v->fdt);
    v->fdt = NULL;
    if (!o->dtb)
        return virt_fdt_build(v, &v->fdt, errp);

    uint8_t *buf;
    size_t len;
    int ret = rv_read_file(o->dtb, 16 * MiB, &buf, &len, errp);
    if (ret < 0)
        return ret;
    if (len < sizeof(struct fdt_header) || fdt_check_header(buf) != 0 ||
        fdt_totalsize(buf) > len) {
        free(buf);
        return err_set(errp, EINVAL, _("'%s' is not a device tree blob"), o->dtb);
    }
    v->fdt = buf;
    return 0;
}

static int virt_dump_dtb(struct virt *v, const char *path, struct error **errp)
{
    CLEANUP_CLOSE int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_set_errno(errp, errno, _("cannot create '%s'"), path);
    const uint8_t *p = v->fdt;
    size_t left = fdt_totalsize(v->fdt);
    while (left) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return err_set_errno(errp, n < 0 ? errno : EIO, _("cannot write '%s'"), path);
        p += n;
        left -= (size_t)n;
    }
    return 0;
}

/* ---- devices ---- */

static int virt_devices(struct virt *v, struct error **errp)
{
    struct machine *m = v->m;
    struct irq_line msip[VIRT_MAX_HARTS], mtip[VIRT_MAX_HARTS];
    struct irq_line ctx[2 * VIRT_MAX_HARTS];
    int ret;

    for (int h = 0; h < v->n_harts; h++) {
        struct rv_hart *hart = rv_sys_hart(v->sys, h);
        msip[h] = (struct irq_line){ rv_hart_set_mip, hart, RV_IRQ_MSI };
        mtip[h] = (struct irq_line){ rv_hart_set_mip, hart, RV_IRQ_MTI };
        ctx[2 * h] = (struct irq_line){ rv_hart_set_mip, hart, RV_IRQ_MEI };
        ctx[2 * h + 1] = (struct irq_line){ rv_hart_set_mip, hart, RV_IRQ_SEI };
    }
    ret = aclint_new(&v->clint, &m->mem, m->loop, VIRT_CLINT, v->n_harts, msip, mtip, errp);
    if (ret < 0 || (ret = dev_list_add(&v->devs, &aclint_ops, v->clint, VIRT_CLINT, errp)) < 0)
        return ret;
    ret = plic_new(&v->plic, &m->mem, VIRT_PLIC, VIRT_PLIC_SIZE, VIRT_PLIC_NDEV,
                   2 * v->n_harts, ctx, errp);
    if (ret < 0 || (ret = dev_list_add(&v->devs, &plic_ops, v->plic, VIRT_PLIC, errp)) < 0)
        return ret;
    ret = sifive_test_new(&v->test, &m->mem, VIRT_TEST, m, errp);
    if (ret < 0 || (ret = dev_list_add(&v->devs, &sifive_test_ops, v->test, VIRT_TEST, errp)) < 0)
        return ret;
    ret = goldfish_rtc_new(&v->rtc, &m->mem, m->loop, VIRT_RTC,
                           plic_input(v->plic, VIRT_RTC_IRQ), errp);
    if (ret < 0 || (ret = dev_list_add(&v->devs, &goldfish_rtc_ops, v->rtc, VIRT_RTC, errp)) < 0)
        return ret;
    ret = uart16550_new(&v->uart, &m->mem, VIRT_UART0, plic_input(v->plic, VIRT_UART0_IRQ),
                        m->serial[0], errp);
    if (ret < 0 || (ret = dev_list_add(&v->devs, &uart16550_ops, v->uart, VIRT_UART0, errp)) < 0)
        return ret;
    for (int i = 0; i < VIRT_VIRTIO_COUNT; i++) {
        uint64_t base = VIRT_VIRTIO + (uint64_t)i * VIRTIO_MMIO_SIZE;
        ret = virtio_mmio_new(&v->virtio[i], &m->mem, base,
                              plic_input(v->plic, VIRT_VIRTIO_IRQ + i), errp);
        if (ret < 0 || (ret = dev_list_add(&v->devs, &virtio_mmio_ops, v->virtio[i], base, errp)) < 0)
            return ret;
    }
    return 0;
}

/* The -device lines: each model goes into the highest free virtio-mmio
 * slot, as qemu fills them (the first device gets 0x10008000). */
static int virt_plug_devices(struct virt *v, struct error **errp)
{
    struct machine *m = v->m;
    struct vdev_env env = { .mem = &m->mem, .loop = m->loop, .pool = m->pool,
                            .drives = m->drives, .netdevs = m->netdevs,
                            .find_chardev = machine_find_chardev,
                            .opaque = m };
    int slot = VIRT_VIRTIO_COUNT - 1;
    for (int i = 0; i < m->opts.n_devices; i++) {
        const char *spec = m->opts.devices[i];
        struct virtio_dev *vd;
        if (slot < 0)
            return err_set(errp, ENOSPC, _("-device %s: no free virtio-mmio slot (the board "
                                           "has %d)"), spec, VIRT_VIRTIO_COUNT);
        int ret = vdev_create(&vd, spec, &env, errp);
        if (ret < 0) {
            err_prefix(errp, "-device %s", spec);
            return ret;
        }
        if (!vd)
            continue;           /* it joined an earlier device */
        if (vd->ops->device_id == VIRTIO_ID_CONSOLE)
            env.last_serial = vd;
        ret = dev_list_add(&v->devs, &virtio_dev_list_ops, vd,
                           VIRT_VIRTIO + (uint64_t)slot * VIRTIO_MMIO_SIZE, errp);
        if (ret < 0) {
            vd->ops->free(vd);
            return ret;
        }
        virtio_mmio_plug(v->virtio[slot--], vd);
    }
    return 0;
}

static void virt_destroy(struct machine *m);

static int virt_create(struct machine *m, struct error **errp)
{
    struct machine_opts *o = &m->opts;
    int ret;

    /* the board has no properties besides dumpdtb (which main takes):
     * refuse others, as qemu does, rather than ignore them */
    if (o->props && *o->props)
        return err_set(errp, EINVAL, _("-M virt: unknown property '%.*s'"),
                       (int)strcspn(o->props, ",="), o->props);

    int n = o->smp ? o->smp : 1;
    if (n < 1 || n > VIRT_MAX_HARTS)
        return err_set(errp, EINVAL, _("-smp %d: the virt board takes 1 to %d harts"),
                       o->smp, VIRT_MAX_HARTS);
    uint64_t ram = o->ram_size ? o->ram_size : VIRT_DEFAULT_RAM;
    if (ram > VIRT_MAX_RAM || !IS_ALIGNED(ram, 4096) || ram < 2 * MiB)
        return err_set(errp, EINVAL,
                       _("-m: %" PRIu64 " bytes of RAM is not possible on the virt board "
                         "(2 MiB to 1 TiB, a multiple of 4 KiB)"), ram);

    struct virt *v = calloc(1, sizeof(*v));
    if (!v)
        return err_set(errp, ENOMEM, _("out of memory creating the machine"));
    m->board = v;
    v->m = m;
    m->devs = &v->devs;
    v->n_harts = n;
    v->ram_size = ram;

    hw_clock_init();
    ret = mem_add_ram(&m->mem, "mrom", VIRT_MROM, VIRT_MROM_SIZE, true, errp);
    if (ret < 0)
        goto fail;
    ret = mem_add_ram(&m->mem, "ram", VIRT_DRAM, ram, false, errp);
    if (ret < 0)
        goto fail;

    ret = rv_cpu_parse(o->cpu ? o->cpu : "rv64", &v->ext, errp);
    if (ret < 0)
        goto fail;
    struct rv_sys_config cfg = {
        .n_harts = n,
        .ext = v->ext,
        .mem = &m->mem,
        .loop = m->loop,
        .machine = m,
        .request = machine_request,
        .reset_pc = VIRT_MROM,
    };
    ret = rv_sys_new(&v->sys, &cfg, errp);
    if (ret < 0)
        goto fail;
    /* device writes to RAM drop translations of what they overwrite */
    m->mem.dma_written = rv_sys_dma_written;
    m->mem.dma_opaque = v->sys;
    ret = virt_devices(v, errp);
    if (ret < 0)
        goto fail;
    ret = virt_plug_devices(v, errp);
    if (ret < 0)
        goto fail;
    ret = virt_make_fdt(v, errp);
    if (ret < 0)
        goto fail;
    ret = virt_load(v, errp);
    if (ret < 0)
        goto fail;
    if (o->dumpdtb) {
        ret = virt_dump_dtb(v, o->dumpdtb, errp);
        if (ret < 0)
            goto fail;
    }
    return 0;
fail:
    virt_destroy(m);
    return ret;
}

static int virt_start(struct machine *m, struct error **errp)
{
    struct virt *v = m->board;
    return rv_sys_start(v->sys, errp);
}

static void virt_stop(struct machine *m)
{
    struct virt *v = m->board;
    rv_sys_stop(v->sys);
}

static int virt_reset(struct machine *m, struct error **errp)
{
    struct virt *v = m->board;

    rv_sys_stop(v->sys);
    hw_lock();
    dev_list_reset(&v->devs);
    hw_unlock();
    /* A fresh tree and fresh images: the guest may have overwritten both. */
    int ret = virt_make_fdt(v, errp);
    if (ret == 0)
        ret = virt_load(v, errp);
    rv_sys_reset(v->sys);
    return ret;
}

static void virt_destroy(struct machine *m)
{
    struct virt *v = m->board;
    if (!v)
        return;
    if (v->sys) {
        rv_sys_stop(v->sys);
        rv_sys_free(v->sys);
    }
    /* No hart runs now: nothing dispatches to the devices any more.
     * Device requests still in the worker pool write guest RAM when they
     * complete: they finish before RAM goes. */
    if (m->pool)
        pool_drain(m->pool, NULL);
    mem_map_free(&m->mem);
    dev_list_free(&v->devs);
    free(v->fdt);
    free(v);
    m->board = NULL;
    m->devs = NULL;
}

static const struct machine_debug_ops *virt_debug(struct machine *m, void **opaque)
{
    struct virt *v = m->board;
    *opaque = v->sys;
    return &rv_sys_debug_ops;
}

/* ---- savevm/loadvm ---- */

static void *virt_hart(void *opaque, int i)
{
    return rv_sys_hart(opaque, i);
}

static void virt_state_cpus(struct virt *v, struct machine_state_cpus *c)
{
    *c = (struct machine_state_cpus){
        .n = rv_sys_n_harts(v->sys), .cpu = virt_hart, .version = RV_HART_VMSTATE_VERSION,
        .save = rv_hart_save, .load = rv_hart_load, .opaque = v->sys,
    };
}

static int virt_save_state(struct machine *m, struct vms_out *f, struct error **errp)
{
    struct virt *v = m->board;
    struct machine_state_cpus c;
    virt_state_cpus(v, &c);
    return machine_state_save(m, &v->devs, &c, f, errp);
}

static int virt_load_state(struct machine *m, struct vms_in *f, struct error **errp)
{
    struct virt *v = m->board;
    struct machine_state_cpus c;
    virt_state_cpus(v, &c);
    rv_sys_stop(v->sys);
    int r = machine_state_load(m, &v->devs, &c, f, errp);
    /* RAM changed under every translation, whatever happened */
    rv_sys_state_loaded(v->sys);
    return r;
}

const struct machine_ops virt_machine = {
    .name = "virt",
    .desc = N_("RISC-V VirtIO board (as qemu's -M virt)"),
    .create = virt_create,
    .start = virt_start,
    .stop = virt_stop,
    .reset = virt_reset,
    .destroy = virt_destroy,
    .debug = virt_debug,
    .save_state = virt_save_state,
    .load_state = virt_load_state,
};
