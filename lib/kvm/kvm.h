/* kvm.h - libcore's KVM glue: /dev/kvm, one VM, its memory slots, its
 * vCPUs (one thread each, looping on KVM_RUN), and the exits dispatched
 * to the machine's devices.
 *
 * Model (doc/design.md, "KVM glue"):
 *   - kvm_open() opens /dev/kvm, checks the API version and every
 *     capability this file set uses, and creates the VM;
 *   - the board registers its RAM (kvm_map_ram: every RAM/ROM region of
 *     its struct mem_map becomes a memory slot) and, for x86, the
 *     in-kernel irqchip and PIT (kvm_create_irqchip);
 *   - kvm_vcpus_create() makes the vCPUs; kvm_start() starts one thread
 *     per vCPU that runs KVM_RUN until told to stop; each exit the kernel
 *     does not handle itself goes through struct kvm_exit_ops (port I/O,
 *     MMIO, HLT, a guest power request, a fatal error), by default to
 *     the machine's memory map and port map, the same MMIO dispatch the
 *     riscv harts use, under the same device lock (hw_lock, taken inside
 *     mem_mmio_read/write for the length of one access);
 *   - kvm_stop() kicks every vCPU out of KVM_RUN (immediate_exit and a
 *     signal) and joins the threads, from the loop thread.
 *
 * Thread rules: kvm_open/close, the slot and irqchip calls, start/stop
 * and the vCPU state calls run on the loop thread with the vCPUs
 * stopped (state) or not (slots may change while vCPUs run; KVM updates
 * them atomically).  kvm_irq_line, kvm_kick and the eventfd helpers may
 * be called from any thread.
 */
#ifndef EMU_KVM_H
#define EMU_KVM_H

#include "common.h"
#include "error.h"
#include "accel.h"
#include "hw/mem.h"
#include "hw/machine.h"
#include "hw/x86/cpu-state.h"

struct kvm;
struct kvm_cpu;

#define KVM_DEV_PATH "/dev/kvm"
#define KVM_MAX_CPUS 64
#define KVM_MAX_SLOTS 32

/* What the guest asked, or what went wrong (kvm_exit_ops.event). */
enum kvm_event {
    KVM_EVENT_POWEROFF,         /* SYSTEM_EVENT shutdown */
    KVM_EVENT_RESET,            /* SYSTEM_EVENT reset, or a triple fault */
    KVM_EVENT_CRASH,            /* SYSTEM_EVENT crash */
    KVM_EVENT_ERROR,            /* INTERNAL_ERROR, FAIL_ENTRY, an unknown exit */
};

/* Exits the kernel leaves to userspace.  Called on the vCPU's thread,
 * without the device lock (take hw_lock around device state, as
 * mem_mmio_read does).  Any member may be NULL: port I/O and MMIO then go
 * to the config's pio and mem maps (a read nothing decodes gives all
 * ones, as an open bus does; a write is dropped), HLT stops the vCPU
 * until kvm_stop/kvm_start, and events go to cfg->request. */
struct kvm_exit_ops {
    /* size 1, 2 or 4 */
    bool (*pio_read)(void *opaque, int cpu, uint16_t port, unsigned size, uint32_t *val);
    bool (*pio_write)(void *opaque, int cpu, uint16_t port, unsigned size, uint32_t val);
    /* size 1..8 */
    bool (*mmio_read)(void *opaque, int cpu, uint64_t addr, unsigned size, uint64_t *val);
    bool (*mmio_write)(void *opaque, int cpu, uint64_t addr, unsigned size, uint64_t val);
    /* HLT with no in-kernel irqchip: true to run on, false to stop. */
    bool (*halt)(void *opaque, int cpu);
    /* The vCPU stops after this (detail: one line for KVM_EVENT_ERROR). */
    void (*event)(void *opaque, int cpu, enum kvm_event ev, const char *detail);
};

struct kvm_config {
    struct accel_config accel;  /* n_cpus, mem, pio, machine, request */
    const struct kvm_exit_ops *ops;     /* NULL: all defaults */
    void *opaque;
    const char *dev_path;       /* NULL: /dev/kvm (tests point elsewhere) */
};

/* Open the device and create the VM.  A missing or inaccessible device
 * gives one line that names the fix (load the module, join group kvm). */
int kvm_open(struct kvm **out, const struct kvm_config *cfg, struct error **errp);
void kvm_close(struct kvm *k);
/* The VM's file descriptor (for tests and device back ends). */
int kvm_vm_fd(struct kvm *k);
/* KVM_CHECK_EXTENSION on the VM (falls back to /dev/kvm): >= 0. */
int kvm_check_cap(struct kvm *k, long cap);

/* ---- memory (memslot.c) ----
 * A slot maps [gpa, gpa + size) to host memory at hva.  flags:
 * KVM_MEM_LOG_DIRTY_PAGES (savevm's dirty tracking), KVM_MEM_READONLY
 * (ROM, when the kernel can).  size 0 deletes the slot. */
int kvm_set_slot(struct kvm *k, int slot, uint64_t gpa, uint64_t size, void *hva,
                 uint32_t flags, struct error **errp);
/* Every RAM and ROM region of the map, one slot each, from slot 0;
 * dirty: log dirty pages in RAM slots. */
int kvm_map_ram(struct kvm *k, const struct mem_map *m, bool dirty, struct error **errp);
/* The slot's dirty bitmap since the last call (one bit per 4 KiB page,
 * bitmap: DIV_ROUND_UP(pages, 64) words), cleared by the kernel. */
int kvm_get_dirty_log(struct kvm *k, int slot, uint64_t *bitmap, struct error **errp);
int kvm_slot_pages(struct kvm *k, int slot);

/* ---- interrupts and the PIT (irq.c) ---- */
/* In-kernel PIC + IOAPIC + LAPICs, and the i8254 PIT; before the vCPUs. */
int kvm_create_irqchip(struct kvm *k, bool pit, struct error **errp);
bool kvm_has_irqchip(struct kvm *k);
/* Raise or lower a GSI of the in-kernel irqchip (any thread). */
int kvm_irq_line(struct kvm *k, uint32_t gsi, int level);
/* irq_set_fn for a struct irq_line (opaque: the struct kvm, n: GSI). */
void kvm_irq_set(void *kvm, int gsi, int level);

/* ---- eventfds (eventfd.c): device I/O that bypasses userspace ----
 * ioeventfd: a guest write of len bytes (1/2/4/8; 0 = any) at addr
 * (port if pio) signals fd instead of exiting; with datamatch only a
 * write of that value.  irqfd: a write to fd raises gsi (edge); with a
 * resample fd, level-triggered (the kernel signals resamplefd on EOI).
 * assign=false removes what the same arguments added. */
int kvm_ioeventfd(struct kvm *k, int fd, uint64_t addr, unsigned len, bool pio,
                  bool datamatch, uint64_t data, bool assign, struct error **errp);
int kvm_irqfd(struct kvm *k, int fd, uint32_t gsi, int resamplefd, bool assign,
              struct error **errp);

/* ---- vCPUs (vcpu.c, run.c) ---- */
int kvm_vcpus_create(struct kvm *k, struct error **errp);
int kvm_n_cpus(struct kvm *k);
struct kvm_cpu *kvm_cpu(struct kvm *k, int i);
/* Start every vCPU's thread, stop them all and wait (loop thread). */
int kvm_start(struct kvm *k, struct error **errp);
void kvm_stop(struct kvm *k);
/* Make one vCPU leave KVM_RUN soon (any thread). */
void kvm_kick(struct kvm_cpu *c);
/* Exits of each kind so far (tests, statistics). */
struct kvm_exit_counts {
    uint64_t pio, mmio, hlt, shutdown, system_event, intr, other;
};
void kvm_cpu_counts(struct kvm_cpu *c, struct kvm_exit_counts *out);

/* ---- x86 state (x86.c), vCPU stopped ---- */
/* The architectural power-on state (real mode at F000:FFF0), the MSRs
 * reset, CPUID set (cpuid.c). */
int kvm_cpu_reset(struct kvm_cpu *c, struct error **errp);
/* Enter at a loader's state (hw/x86/boot.h). */
int kvm_cpu_set_entry(struct kvm_cpu *c, const struct x86_entry *e, struct error **errp);
int kvm_cpu_get_entry(struct kvm_cpu *c, struct x86_entry *e, struct error **errp);
/* Registers as one readable block (RIP, RSP, RFLAGS, the GPRs, CR0-4,
 * EFER, segments, GDT/IDT), lines separated by '\n'. */
void kvm_cpu_dump(struct kvm_cpu *c, char *buf, size_t len);
/* MSRs by index (-errno; the count done otherwise). */
int kvm_cpu_set_msrs(struct kvm_cpu *c, const uint32_t *idx, const uint64_t *val, int n);
int kvm_cpu_get_msrs(struct kvm_cpu *c, const uint32_t *idx, uint64_t *val, int n);

/* ---- CPUID (cpuid.c) ----
 * What KVM supports, filtered (see cpuid.c for what and why), then
 * personalised for vCPU index (APIC ids, topology). */
int kvm_cpu_setup_cpuid(struct kvm_cpu *c, struct error **errp);

/* The accelerator for boards (lib/accel.h); create() also makes the
 * irqchip and PIT and the vCPUs. */
extern const struct accel_ops kvm_accel_ops;

#endif
