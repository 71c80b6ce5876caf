/* acpi.h - the ACPI tables of the x86 microVM: a hardware-reduced ACPI
 * machine (ACPI 6.x, FADT flag HW_REDUCED_ACPI) described by
 *
 *   RSDP (revision 2) -> XSDT -> FADT (revision 6) -> DSDT
 *                             -> MADT
 *
 * - FADT: no PM1/GPE/PM timer blocks, no SCI, no FACS; poweroff through
 *   the SLEEP_CONTROL_REG / SLEEP_STATUS_REG pair, reboot through
 *   RESET_REG.  IAPC_BOOT_ARCH says which legacy devices exist.
 * - MADT: one Local APIC per vCPU (APIC id = ACPI processor UID = index),
 *   one I/O APIC, ISA IRQ 0 -> GSI 2 (the PIT on pin 2), COM1's IRQ if
 *   it is not identity mapped, LINT1 as NMI on every CPU, PCAT_COMPAT iff
 *   there are 8259s.
 * - DSDT (AML, hw/x86/aml.h): in \_SB one processor device (ACPI0007)
 *   per vCPU, COM1 (PNP0501: I/O ports and IRQ), one LNRO0005 device
 *   per virtio-mmio transport (Memory32Fixed + a level, active-high,
 *   exclusive Extended Interrupt for its GSI, _CCA 1); and \_S5, whose
 *   SLP_TYP the guest writes to the sleep control register to power off.
 * - And, not a table, the few bytes at the reset vector that turn Linux's
 *   reboot on such a machine into a write to the reset register
 *   (acpi_write_reset_stub, below).
 *
 * Pure functions over a host buffer standing for guest memory at a given
 * guest-physical address, like hw/x86/boot.h: tests/unit/test-acpi.c
 * checks every table and tests/x86/acpi-iasl.sh has ACPICA's disassembler
 * read them back.
 *
 * The machine must keep [gpa, gpa + used) out of the RAM the guest
 * allocates (an e820 reserved or ACPI entry) and pass *rsdp_gpa to the
 * kernel: boot_params.acpi_rsdp_addr (boot protocol 2.14) or the PVH
 * start info's rsdp_paddr.  The RSDP is the first thing in the buffer
 * and 16-byte aligned, so tables placed in 0xe0000..0xfffff are also
 * found by the kernel's legacy scan.
 */
#ifndef EMU_HW_X86_ACPI_H
#define EMU_HW_X86_ACPI_H

#include "common.h"
#include "error.h"

/* Where the microVM puts them: the PC BIOS area, which x86_e820_build()'s
 * map leaves out of RAM and where Linux's legacy scan finds the RSDP even
 * without acpi_rsdp_addr.  The largest table set (255 CPUs, 32 virtio
 * slots) takes about 12 KiB. */
#define ACPI_TABLES_GPA 0xe0000
#define ACPI_TABLES_SIZE 0x20000

#define ACPI_MAX_CPUS 255               /* xAPIC ids; 0xff is the broadcast id */
#define ACPI_MAX_VIRTIO 32

/* ---- the registers the machine decodes ----
 *
 * Defaults for acpi_machine_init(); the machine may describe others.
 * All three are byte-wide I/O ports: a port write is the cheapest exit
 * under KVM and needs no MMIO region.
 *
 * Sleep control (write): bits 4:2 SLP_TYP, bit 5 SLP_EN.  SLP_EN with
 * SLP_TYP = ACPI_SLP_TYP_S5 (value 0x34) means power off; other values
 * may be ignored (we offer no other sleep state).
 * Sleep status (read 0; write 1s to clear): bit 7 WAK_STS.  Linux writes
 * 0x80 here just before it writes the sleep control register.
 * Reset (write): ACPI_RESET_VALUE resets the machine.  0xcf9 is the PC's
 * reset control register, so one port also serves Linux's "reboot=pci"
 * fallback, which writes 0x02 and then 0x06 or 0x0e there: reset on any
 * write with bit 2 (RST_CPU) set.
 */
#define ACPI_SLEEP_CTL_PORT 0x600
#define ACPI_SLEEP_STS_PORT 0x601
#define ACPI_RESET_PORT 0xcf9
#define ACPI_RESET_VALUE 0x06

#define ACPI_SLP_TYP_SHIFT 2
#define ACPI_SLP_TYP_MASK 0x1c
#define ACPI_SLP_EN 0x20
#define ACPI_WAK_STS 0x80
#define ACPI_SLP_TYP_S5 5               /* what \_S5 says */
#define ACPI_SLEEP_CTL_POWEROFF (ACPI_SLP_EN | ACPI_SLP_TYP_S5 << ACPI_SLP_TYP_SHIFT)

/* Generic Address Structure address spaces (5.2.3.2) */
#define ACPI_SPACE_MEM 0
#define ACPI_SPACE_IO 1

/* A byte-wide register in I/O or memory space. */
struct acpi_reg {
    uint8_t space;                      /* ACPI_SPACE_IO or ACPI_SPACE_MEM */
    uint64_t addr;                      /* port (< 0x10000) or guest-physical */
};

struct acpi_virtio_mmio {
    uint64_t base;                      /* below 4 GiB (Memory32Fixed) */
    uint32_t size;
    uint32_t gsi;                       /* an I/O APIC pin, level, active high */
};

struct acpi_machine {
    int n_cpus;                         /* 1..ACPI_MAX_CPUS; LAPIC ids 0..n-1 */
    uint64_t lapic_base;                /* 0xfee00000 */
    uint64_t ioapic_base;               /* 0xfec00000 */
    uint32_t ioapic_id;
    uint32_t ioapic_gsi_base;
    uint32_t ioapic_pins;               /* 24 for KVM's in-kernel I/O APIC */
    bool legacy_pic;                    /* 8259s present: MADT PCAT_COMPAT */
    bool i8042;                         /* keyboard controller: IAPC_BOOT_ARCH */
    bool rtc;                           /* CMOS RTC at 0x70: IAPC_BOOT_ARCH */
    uint16_t com1_port;                 /* 0: no COM1 */
    uint32_t com1_gsi;                  /* ISA IRQ 4 on GSI com1_gsi */
    struct acpi_virtio_mmio virtio[ACPI_MAX_VIRTIO];
    int n_virtio;
    struct acpi_reg sleep_ctl, sleep_sts, reset;
    uint8_t reset_value;
};

/* The defaults above, and: LAPIC 0xfee00000, I/O APIC id 0 at
 * 0xfec00000 with GSIs 0..23, no 8259s/i8042/RTC, COM1 at 0x3f8 on
 * GSI 4, no virtio devices. */
void acpi_machine_init(struct acpi_machine *m, int n_cpus);

/* Write the tables into buf, which the guest will see at gpa (16-byte
 * aligned).  On success returns 0 and stores the RSDP's guest-physical
 * address and how many bytes of buf were used; the rest of buf is left
 * alone.  A description that cannot be expressed (counts, GSIs outside
 * the I/O APIC, addresses beyond 32 bits where a table has only 32) is
 * -EINVAL and a buffer too small -ENOSPC, with a message; nothing is
 * written past buf + len in any case. */
int acpi_build(uint8_t *buf, size_t len, uint64_t gpa, const struct acpi_machine *m,
               uint64_t *rsdp_gpa, size_t *used, struct error **errp);

/* The reset vector.  Linux does not use RESET_REG by default on a
 * hardware-reduced machine: reboot_init() then chooses the EFI reboot,
 * which without EFI falls through to a real-mode jump to the BIOS at
 * F000:FFF0 (seen with Debian's 6.1 kernel: "reboot: machine restart",
 * then the vCPU runs zeros from 0xffff0).  Only "reboot=acpi" (or =pci,
 * =kbd, =triple) on the command line avoids that.  So we are that BIOS:
 * acpi_write_reset_stub() puts at guest-physical ACPI_RESET_VECTOR a
 * real-mode stub that writes the reset value to the reset register,
 * then halts.  ram is guest-physical 0..ram_size; the reset register
 * must be an I/O port (-EINVAL otherwise), and ram must reach 1 MiB. */
#define ACPI_RESET_VECTOR 0xffff0
int acpi_write_reset_stub(uint8_t *ram, uint64_t ram_size, const struct acpi_machine *m,
                          struct error **errp);

/* acpi_build() that also says where each table went: offsets in buf
 * (the RSDP's is 0), and the end (= used).  For the tests. */
struct acpi_layout {
    size_t rsdp, xsdt, fadt, madt, dsdt, end;
};
int acpi_build_layout(uint8_t *buf, size_t len, uint64_t gpa, const struct acpi_machine *m,
                      struct acpi_layout *lay, struct error **errp);

/* table field offsets the tests and the machine may want */
#define ACPI_RSDP_LEN 36
#define ACPI_HDR_LEN 36
#define ACPI_FADT_LEN 276
#define ACPI_FADT_REV 6
#define ACPI_FADT_MINOR 3               /* ACPI 6.3 */
#define ACPI_MADT_REV 5
#define ACPI_DSDT_REV 2                 /* 64-bit AML integers */

#define FADT_DSDT 40
#define FADT_SCI_INT 46
#define FADT_IAPC_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_MINOR_VERSION 131
#define FADT_X_DSDT 140
#define FADT_SLEEP_CONTROL_REG 244
#define FADT_SLEEP_STATUS_REG 256
#define FADT_HYPERVISOR_ID 268

#define FADT_F_WBINVD (1u << 0)
#define FADT_F_PWR_BUTTON (1u << 4)     /* 1: no fixed-feature power button */
#define FADT_F_SLP_BUTTON (1u << 5)
#define FADT_F_RESET_REG_SUP (1u << 10)
#define FADT_F_HW_REDUCED_ACPI (1u << 20)

#define IAPC_LEGACY_DEVICES (1u << 0)
#define IAPC_8042 (1u << 1)
#define IAPC_VGA_NOT_PRESENT (1u << 2)
#define IAPC_MSI_NOT_SUPPORTED (1u << 3)
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)

#define MADT_PCAT_COMPAT 1u
#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_INT_OVERRIDE 2
#define MADT_LAPIC_NMI 4

#endif
