/* devices.h - the device models a board puts on its memory map.
 *
 * Each device is a plain object: a constructor that registers its MMIO
 * region on a memory map (and, for input, its irq lines), a reset to the
 * power-on state, and a free.  Devices never see a CPU: they are driven
 * by MMIO callbacks (hart threads, device lock held), raise interrupt
 * lines and arm hw_timers.
 *
 * Constructors return 0 or -errno with a message.  reset and free are
 * called with the harts stopped; free only after the memory map stops
 * dispatching to the device (the board frees the map first or together).
 */
#ifndef EMU_HW_DEVICES_H
#define EMU_HW_DEVICES_H

#include "common.h"
#include "error.h"
#include "loop.h"
#include "hw/hw.h"
#include "hw/mem.h"

struct chardev;
struct machine;

/* ---- ns16550a UART (8 byte registers, spaced by one byte) ---- */
#define UART16550_SIZE 0x100
struct uart16550;
/* chr may be NULL (no serial line: output is dropped, no input). */
int uart16550_new(struct uart16550 **out, struct mem_map *m, uint64_t base,
                  struct irq_line irq, struct chardev *chr, struct error **errp);
void uart16550_reset(struct uart16550 *u);
void uart16550_free(struct uart16550 *u);

/* ---- SiFive CLINT: msip, mtimecmp and mtime of n harts ----
 * msip[h] and mtip[h] are hart h's MSIP and MTIP lines (level). */
#define ACLINT_SIZE 0x10000
#define ACLINT_MAX_HARTS 4095
#define ACLINT_TIMEBASE_HZ 10000000
struct aclint;
int aclint_new(struct aclint **out, struct mem_map *m, struct loop *loop, uint64_t base,
               int n_harts, const struct irq_line *msip, const struct irq_line *mtip,
               struct error **errp);
void aclint_reset(struct aclint *c);
void aclint_free(struct aclint *c);
/* mtime as the guest reads it (10 MHz ticks). */
uint64_t aclint_mtime(const struct aclint *c);

/* ---- SiFive PLIC: sources 1..ndev, n_ctx contexts ----
 * ctx_out[c] is the output of context c (a hart's MEIP or SEIP).  The
 * inputs are the lines plic_input() returns, one per source. */
#define PLIC_MAX_SOURCES 1024
#define PLIC_MAX_CONTEXTS 15872
#define PLIC_PRIORITY_BITS 3
struct plic;
int plic_new(struct plic **out, struct mem_map *m, uint64_t base, uint64_t size, int ndev,
             int n_ctx, const struct irq_line *ctx_out, struct error **errp);
/* The irq line driving source src (1..ndev); a line with no effect for
 * anything else. */
struct irq_line plic_input(struct plic *p, int src);
void plic_reset(struct plic *p);
void plic_free(struct plic *p);

/* ---- Goldfish RTC: real-time clock with one alarm ---- */
#define GOLDFISH_RTC_SIZE 0x1000
struct goldfish_rtc;
int goldfish_rtc_new(struct goldfish_rtc **out, struct mem_map *m, struct loop *loop,
                     uint64_t base, struct irq_line irq, struct error **errp);
void goldfish_rtc_reset(struct goldfish_rtc *r);
void goldfish_rtc_free(struct goldfish_rtc *r);

/* ---- SiFive test device: poweroff, exit code and reset ---- */
#define SIFIVE_TEST_SIZE 0x1000
#define SIFIVE_TEST_FAIL 0x3333
#define SIFIVE_TEST_PASS 0x5555
#define SIFIVE_TEST_RESET 0x7777
struct sifive_test;
int sifive_test_new(struct sifive_test **out, struct mem_map *m, uint64_t base,
                    struct machine *mach, struct error **errp);
void sifive_test_free(struct sifive_test *t);

/* ---- virtio-mmio transport (version 2) ----
 * A slot is created empty; a virtio device (hw/virtio/virtio.h) is
 * plugged into it before the machine starts.  An empty slot reads device
 * id 0, which drivers skip. */
#define VIRTIO_MMIO_SIZE 0x1000
struct virtio_dev;
struct virtio_mmio;
int virtio_mmio_new(struct virtio_mmio **out, struct mem_map *m, uint64_t base,
                    struct irq_line irq, struct error **errp);
/* false when the slot is taken already. */
bool virtio_mmio_plug(struct virtio_mmio *v, struct virtio_dev *vd);
bool virtio_mmio_empty(const struct virtio_mmio *v);
void virtio_mmio_reset(struct virtio_mmio *v);
void virtio_mmio_free(struct virtio_mmio *v);

#endif
