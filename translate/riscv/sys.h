/* sys.h - RISC-V system mode: the harts of one machine on the translator.
 *
 * What a board sees of its CPUs.  The harts share one translator (one
 * code cache); each runs in a thread of its own and reaches guest memory
 * through its software TLB, RAM directly and everything else through the
 * board's memory map (hw/mem.h).  Devices reach a hart only through
 * rv_hart_set_mip() (an irq_line callback): it sets or clears a bit of
 * mip and kicks the hart out of translated code or WFI.
 */
#ifndef EMU_TR_RISCV_SYS_H
#define EMU_TR_RISCV_SYS_H

#include "common.h"
#include "error.h"
#include "loop.h"
#include "hw/mem.h"
#include "hw/machine.h"

struct rv_sys;
struct rv_hart;
struct machine;

/* mip/mie bits */
#define RV_IRQ_SSI 1
#define RV_IRQ_MSI 3
#define RV_IRQ_STI 5
#define RV_IRQ_MTI 7
#define RV_IRQ_SEI 9
#define RV_IRQ_MEI 11

struct rv_sys_config {
    int n_harts;
    uint64_t ext;               /* RV_EXT_* bits (riscv.h), from rv_cpu_parse */
    struct mem_map *mem;
    struct loop *loop;
    struct machine *machine;
    /* How a hart asks the machine to stop (machine_request; a pointer so
     * that the translator does not pull the boards into every program). */
    void (*request)(struct machine *m, enum machine_event ev, int exit_code);
    uint64_t reset_pc;          /* where every hart starts, in M-mode (0x1000) */
};

int rv_sys_new(struct rv_sys **out, const struct rv_sys_config *cfg, struct error **errp);
void rv_sys_free(struct rv_sys *s);
struct rv_hart *rv_sys_hart(struct rv_sys *s, int i);
/* Start the hart threads (from power-on state), stop them and wait
 * (loop thread), put them back into the power-on state (stopped). */
int rv_sys_start(struct rv_sys *s, struct error **errp);
void rv_sys_stop(struct rv_sys *s);
void rv_sys_reset(struct rv_sys *s);

/* The memory map's dma_written hook (hw/mem.h; opaque: the struct
 * rv_sys): a device wrote guest RAM, translations of those bytes go. */
void rv_sys_dma_written(void *sys, uint64_t pa, uint64_t len);

/* savevm/loadvm (sys-state.c, lib/vmstate.h): one section per hart, of
 * version RV_HART_VMSTATE_VERSION; harts stopped.  After loading every
 * hart, rv_sys_state_loaded() drops the translations (RAM changed) and
 * re-arms the harts' timers. */
#define RV_HART_VMSTATE_VERSION 1
struct vms_out;
struct vms_in;
int rv_sys_n_harts(struct rv_sys *s);
void rv_hart_save(void *hart, struct vms_out *f);
void rv_hart_load(void *hart, struct vms_in *f, uint32_t version);
void rv_sys_state_loaded(struct rv_sys *s);

/* The debugger's ops (hw/machine.h); opaque: the struct rv_sys. */
extern const struct machine_debug_ops rv_sys_debug_ops;

/* irq_set_fn for a hart's mip bit n (opaque: the struct rv_hart). */
void rv_hart_set_mip(void *hart, int n, int level);

/* -cpu rv64[,EXT=on|off,...]: the extensions to emulate (RV_EXT_*). */
int rv_cpu_parse(const char *spec, uint64_t *ext, struct error **errp);
/* Device-tree strings for what is implemented: "riscv,isa"
 * ("rv64imafdc_zicsr_..."), the names for "riscv,isa-extensions" (up to
 * max, returns the count), and "mmu-type". */
void rv_isa_string(uint64_t ext, char *buf, size_t len);
int rv_isa_extensions(uint64_t ext, const char **names, int max);
const char *rv_mmu_type(void);

#endif
