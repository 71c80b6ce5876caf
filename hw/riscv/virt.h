/* virt.h - the RISC-V virt board's shared state, between the board
 * (virt.c: devices, harts, boot images) and its device tree (virt-fdt.c).
 *
 * The memory map is qemu's for -M virt, so that firmware and kernels
 * built for it find everything where they look:
 */
#ifndef EMU_HW_RISCV_VIRT_H
#define EMU_HW_RISCV_VIRT_H

#include "common.h"
#include "error.h"
#include "hw/machine.h"
#include "hw/devices.h"
#include "hw/dev.h"

#define VIRT_MROM 0x1000
#define VIRT_MROM_SIZE 0xf000
#define VIRT_TEST 0x100000
#define VIRT_RTC 0x101000
#define VIRT_CLINT 0x2000000
#define VIRT_PLIC 0xc000000
#define VIRT_PLIC_SIZE 0x600000     /* as qemu's tree says, whatever -smp */
#define VIRT_UART0 0x10000000
#define VIRT_VIRTIO 0x10001000
#define VIRT_VIRTIO_COUNT 8
#define VIRT_DRAM 0x80000000

#define VIRT_UART0_IRQ 10
#define VIRT_RTC_IRQ 11
#define VIRT_VIRTIO_IRQ 1           /* slot i: 1 + i */
#define VIRT_PLIC_NDEV 96

#define VIRT_MAX_HARTS 8
#define VIRT_TIMEBASE ACLINT_TIMEBASE_HZ
#define VIRT_UART_CLOCK 3686400

struct rv_sys;

struct virt {
    struct machine *m;
    int n_harts;
    uint64_t ext;               /* RV_EXT_* of the harts */
    uint64_t ram_size;
    struct rv_sys *sys;
    struct uart16550 *uart;
    struct aclint *clint;
    struct plic *plic;
    struct goldfish_rtc *rtc;
    struct sifive_test *test;
    struct virtio_mmio *virtio[VIRT_VIRTIO_COUNT];
    struct dev_list devs;       /* all of the above, for reset and free */
    /* The boot: where things went (for /chosen and the reset ROM). */
    bool have_initrd;
    uint64_t initrd_start, initrd_end;
    void *fdt;                  /* the final blob (malloc'd) */
    uint64_t fdt_addr;
};

/* Build the board's device tree into a new blob (*out, free()). */
int virt_fdt_build(struct virt *v, void **out, struct error **errp);
/* Give the blob (generated or -dtb) its /chosen node: bootargs, initrd,
 * stdout-path, rng-seed.  May reallocate *fdt; packs it. */
int virt_fdt_chosen(struct virt *v, void **fdt, struct error **errp);

#endif
