/* cpu-state.h - the x86 register state a boot loader hands to a vCPU.
 *
 * The loaders (hw/x86/boot.h) compute where a kernel starts and in which
 * mode; the accelerator (lib/kvm/) turns this into its own register
 * structures.  Plain data, no accelerator types, so the loaders stay pure
 * and unit-testable.  Segments carry their hidden (descriptor cache)
 * part, because a vCPU entered directly in protected or long mode never
 * loads them from the GDT itself.
 */
#ifndef EMU_HW_X86_CPU_STATE_H
#define EMU_HW_X86_CPU_STATE_H

#include "common.h"

struct x86_seg {
    uint64_t base;
    uint32_t limit;             /* in bytes - 1, after granularity */
    uint16_t selector;
    uint8_t type;               /* descriptor type field (4 bits) */
    uint8_t s, dpl, present, db, l, g;
};

struct x86_entry {
    uint64_t rip, rsp, rflags;
    uint64_t rsi, rbx;          /* boot_params (64-bit Linux), start_info (PVH) */
    uint64_t cr0, cr3, cr4, efer;
    struct x86_seg cs, ds, es, fs, gs, ss, tr, ldt;
    uint64_t gdt_base, idt_base;
    uint16_t gdt_limit, idt_limit;
};

/* Control register and EFER bits the loaders and the dumps use. */
#define X86_CR0_PE (1u << 0)
#define X86_CR0_ET (1u << 4)
#define X86_CR0_NE (1u << 5)
#define X86_CR0_PG (1u << 31)
#define X86_CR4_PAE (1u << 5)
#define X86_EFER_LME (1u << 8)
#define X86_EFER_LMA (1u << 10)

#endif
