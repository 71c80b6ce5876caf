/* entry.c - the CPU state a directly booted kernel starts in: a GDT,
 * identity-mapped page tables for the low 4 GiB, and the registers of a
 * 64-bit (Linux boot protocol) or 32-bit (PVH) entry.
 *
 * The GDT serves both entries: Linux's 64-bit protocol wants a flat
 * 64-bit code segment at selector 0x10 and flat data at 0x18; PVH wants
 * a flat 32-bit code segment (0x08 here) and the same data.  A busy TSS
 * descriptor (0x20) gives TR a valid value, which VMX checks on entry
 * even though nothing here switches tasks.
 */
#include <config.h>
#include <errno.h>
#include <string.h>
#include "hw/x86/boot.h"

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A segment descriptor from its fields (Intel SDM vol. 3, 3.4.5):
 * flags = the access byte (P, DPL, S, type) and, in bits 12-15, the
 * G/DB/L/AVL nibble. */
static uint64_t gdt_desc(uint32_t base, uint32_t limit, uint16_t flags)
{
    return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(flags & 0xf0ffu) << 40) |
           ((uint64_t)(limit & 0x000f0000u) << 32) | ((uint64_t)(base & 0x00ffffffu) << 16) |
           (limit & 0x0000ffffu);
}

#define GDT_ENTRIES 5

int x86_setup_gdt(uint8_t *ram, uint64_t ram_size)
{
    if (ram_size < X86_BOOT_GDT + GDT_ENTRIES * 8)
        return -EFAULT;
    uint8_t *g = ram + X86_BOOT_GDT;
    put_le64(g + 0, 0);
    put_le64(g + X86_SEL_CODE32, gdt_desc(0, 0xfffff, 0xc09b));   /* G, D, P, code r/x acc. */
    put_le64(g + X86_SEL_CODE64, gdt_desc(0, 0xfffff, 0xa09b));   /* G, L, P, code r/x acc. */
    put_le64(g + X86_SEL_DATA, gdt_desc(0, 0xfffff, 0xc093));     /* G, B, P, data r/w acc. */
    put_le64(g + X86_SEL_TSS, gdt_desc(0, 0x67, 0x008b));         /* P, busy 32-bit TSS */
    return 0;
}

/* Page-table entry bits */
#define PTE_P 0x1ull
#define PTE_RW 0x2ull
#define PTE_PS 0x80ull

int x86_setup_page_tables(uint8_t *ram, uint64_t ram_size)
{
    const uint64_t pdpt = X86_BOOT_PML4 + 0x1000, pd = X86_BOOT_PML4 + 0x2000;
    if (ram_size < pd + 4 * 0x1000)
        return -EFAULT;
    memset(ram + X86_BOOT_PML4, 0, 6 * 0x1000);
    put_le64(ram + X86_BOOT_PML4, pdpt | PTE_P | PTE_RW);
    for (uint64_t i = 0; i < 4; i++)
        put_le64(ram + pdpt + i * 8, (pd + i * 0x1000) | PTE_P | PTE_RW);
    /* 4 x 512 entries of 2 MiB: 0 .. 4 GiB, identity */
    for (uint64_t i = 0; i < 4 * 512; i++)
        put_le64(ram + pd + i * 8, (i << 21) | PTE_P | PTE_RW | PTE_PS);
    return 0;
}

static void entry_common(struct x86_entry *e)
{
    memset(e, 0, sizeof(*e));
    struct x86_seg data = {
        .selector = X86_SEL_DATA, .limit = 0xffffffff, .type = 3,
        .s = 1, .present = 1, .db = 1, .g = 1,
    };
    e->ds = e->es = e->fs = e->gs = e->ss = data;
    e->tr = (struct x86_seg){ .selector = X86_SEL_TSS, .limit = 0x67, .type = 0xb,
                              .present = 1 };
    e->ldt = (struct x86_seg){ .type = 2 };     /* not present: unusable */
    e->gdt_base = X86_BOOT_GDT;
    e->gdt_limit = GDT_ENTRIES * 8 - 1;
    e->rflags = 2;                              /* IF clear */
    e->rsp = X86_BOOT_STACK;
}

void x86_entry_long_mode(struct x86_entry *e, uint64_t rip)
{
    entry_common(e);
    e->cs = (struct x86_seg){ .selector = X86_SEL_CODE64, .limit = 0xffffffff, .type = 0xb,
                              .s = 1, .present = 1, .l = 1, .g = 1 };
    e->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
    e->cr3 = X86_BOOT_PML4;
    e->cr4 = X86_CR4_PAE;
    e->efer = X86_EFER_LME | X86_EFER_LMA;
    e->rip = rip;
}

void x86_entry_protected_mode(struct x86_entry *e, uint64_t eip)
{
    entry_common(e);
    e->cs = (struct x86_seg){ .selector = X86_SEL_CODE32, .limit = 0xffffffff, .type = 0xb,
                              .s = 1, .present = 1, .db = 1, .g = 1 };
    e->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE;
    e->rip = eip;
}
