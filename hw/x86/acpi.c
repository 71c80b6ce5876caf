/* acpi.c - the microVM's ACPI tables (see acpi.h), written from the ACPI
 * 6.x specification: RSDP 5.2.5, table header 5.2.6, XSDT 5.2.8, FADT
 * 5.2.9 (hardware-reduced: 4.1), generic address 5.2.3.2, MADT 5.2.12.
 *
 * The DSDT is encoded first (its size is not known before); then every
 * table's place is computed, the total checked against the buffer, and
 * only then is anything written, at offsets inside that checked range.
 */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "hw/x86/acpi.h"
#include "hw/x86/aml.h"
#include "i18n.h"

#define OEM_ID "EMU   "                 /* 6 bytes */
#define OEM_TABLE_ID "EMUMVM  "         /* 8 bytes */
#define OEM_REVISION 1
#define CREATOR_ID "EMU "
#define CREATOR_REVISION 1
#define HYPERVISOR_ID "EMU     "        /* 8 bytes, FADT 6.0+ */

#define GAS_LEN 12
#define MADT_LAPIC_LEN 8
#define MADT_IOAPIC_LEN 12
#define MADT_OVERRIDE_LEN 10
#define MADT_NMI_LEN 6

void acpi_machine_init(struct acpi_machine *m, int n_cpus)
{
    memset(m, 0, sizeof(*m));
    m->n_cpus = n_cpus;
    m->lapic_base = 0xfee00000;
    m->ioapic_base = 0xfec00000;
    m->ioapic_pins = 24;
    m->com1_port = 0x3f8;
    m->com1_gsi = 4;
    m->sleep_ctl = (struct acpi_reg){ ACPI_SPACE_IO, ACPI_SLEEP_CTL_PORT };
    m->sleep_sts = (struct acpi_reg){ ACPI_SPACE_IO, ACPI_SLEEP_STS_PORT };
    m->reset = (struct acpi_reg){ ACPI_SPACE_IO, ACPI_RESET_PORT };
    m->reset_value = ACPI_RESET_VALUE;
}

/* ---- little-endian stores into the checked range ---- */

static void put(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

/* the standard header; the checksum (offset 9) is set by seal() */
static void header(uint8_t *t, const char *sig, size_t len, uint8_t rev)
{
    memcpy(t, sig, 4);
    put(t + 4, len, 4);
    t[8] = rev;
    memcpy(t + 10, OEM_ID, 6);
    memcpy(t + 16, OEM_TABLE_ID, 8);
    put(t + 24, OEM_REVISION, 4);
    memcpy(t + 28, CREATOR_ID, 4);
    put(t + 32, CREATOR_REVISION, 4);
}

static void seal(uint8_t *t, size_t len)
{
    t[9] = 0;
    t[9] = (uint8_t)-sum8(t, len);
}

/* a byte-wide register as a Generic Address Structure */
static void gas(uint8_t *p, const struct acpi_reg *r)
{
    p[0] = r->space;
    p[1] = 8;                           /* register bit width */
    p[2] = 0;                           /* bit offset */
    p[3] = 1;                           /* access size: byte */
    put(p + 4, r->addr, 8);
}

/* ---- checking the description ---- */

static bool gsi_ok(const struct acpi_machine *m, uint32_t gsi)
{
    return gsi >= m->ioapic_gsi_base && gsi - m->ioapic_gsi_base < m->ioapic_pins;
}

static int check_reg(const struct acpi_reg *r, const char *what, struct error **errp)
{
    if (r->space == ACPI_SPACE_IO && r->addr != 0 && r->addr <= 0xffff)
        return 0;
    if (r->space == ACPI_SPACE_MEM && r->addr != 0)
        return 0;
    return err_set(errp, EINVAL, _("ACPI tables: the %s register (space %u, address 0x%" PRIx64
                                   ") cannot be described"), what, r->space, r->addr);
}

static int check_machine(const struct acpi_machine *m, struct error **errp)
{
    if (m->n_cpus < 1 || m->n_cpus > ACPI_MAX_CPUS)
        return err_set(errp, EINVAL, _("ACPI tables: %d CPUs, the MADT describes 1 to %d"),
                       m->n_cpus, ACPI_MAX_CPUS);
    if (m->n_virtio < 0 || m->n_virtio > ACPI_MAX_VIRTIO)
        return err_set(errp, EINVAL, _("ACPI tables: %d virtio-mmio devices, at most %d"),
                       m->n_virtio, ACPI_MAX_VIRTIO);
    if (m->lapic_base > UINT32_MAX || m->ioapic_base > UINT32_MAX || m->ioapic_id > 0xff)
        return err_set(errp, EINVAL,
                       _("ACPI tables: the APIC addresses or the I/O APIC id do not fit the MADT"));
    if (m->ioapic_pins < 1 || m->ioapic_pins > 240 ||
        m->ioapic_gsi_base > UINT32_MAX - m->ioapic_pins)
        return err_set(errp, EINVAL, _("ACPI tables: an I/O APIC of %u pins from GSI %u"),
                       m->ioapic_pins, m->ioapic_gsi_base);
    if (m->com1_port && (!gsi_ok(m, m->com1_gsi) || m->com1_port > 0xfff8))
        return err_set(errp, EINVAL, _("ACPI tables: COM1 at port 0x%x on GSI %u"),
                       m->com1_port, m->com1_gsi);
    for (int i = 0; i < m->n_virtio; i++) {
        const struct acpi_virtio_mmio *v = &m->virtio[i];
        if (v->size == 0 || v->base > UINT32_MAX || v->size - 1 > UINT32_MAX - v->base)
            return err_set(errp, EINVAL,
                           _("ACPI tables: virtio-mmio device %d at 0x%" PRIx64
                             " (0x%x bytes) is not within the low 4 GiB"), i, v->base, v->size);
        if (!gsi_ok(m, v->gsi))
            return err_set(errp, EINVAL,
                           _("ACPI tables: virtio-mmio device %d on GSI %u, which no I/O APIC pin has"),
                           i, v->gsi);
    }
    int r;
    if ((r = check_reg(&m->sleep_ctl, _("sleep control"), errp)) < 0 ||
        (r = check_reg(&m->sleep_sts, _("sleep status"), errp)) < 0 ||
        (r = check_reg(&m->reset, _("reset"), errp)) < 0)
        return r;
    return 0;
}

/* ---- DSDT ---- */

static void dsdt_aml(struct aml *a, const struct acpi_machine *m)
{
    char name[16];
    size_t sb = aml_scope(a, "\\_SB");

    /* Processor devices (ACPI 6: Device, not the deprecated Processor
     * op), _UID = the MADT's processor UID, so that the guest's processor
     * driver finds each CPU's LAPIC. */
    for (int i = 0; i < m->n_cpus; i++) {
        snprintf(name, sizeof(name), "C%03X", (unsigned)i);
        size_t d = aml_device(a, name);
        aml_name_string(a, "_HID", "ACPI0007");
        aml_name_integer(a, "_UID", (uint64_t)i);
        aml_end(a, d);
    }

    if (m->com1_port) {
        size_t d = aml_device(a, "COM1");
        aml_name_eisaid(a, "_HID", "PNP0501");
        aml_name_integer(a, "_UID", 1);
        size_t rt = aml_name_restemplate(a, "_CRS");
        aml_res_io(a, m->com1_port, m->com1_port, 1, 8);
        if (m->com1_gsi == 4)
            aml_res_irq_noflags(a, 1u << 4);
        else    /* elsewhere than ISA IRQ 4: say the GSI, edge, high */
            aml_res_interrupt(a, AML_IRQ_CONSUMER | AML_IRQ_EDGE, m->com1_gsi);
        aml_restemplate_end(a, rt);
        aml_end(a, d);
    }

    /* virtio-mmio transports: Linux's virtio_mmio driver matches
     * LNRO0005 and takes the first memory and interrupt resources. */
    for (int i = 0; i < m->n_virtio; i++) {
        const struct acpi_virtio_mmio *v = &m->virtio[i];
        snprintf(name, sizeof(name), "VR%02X", (unsigned)i);
        size_t d = aml_device(a, name);
        aml_name_string(a, "_HID", "LNRO0005");
        aml_name_integer(a, "_UID", (uint64_t)i);
        aml_name_integer(a, "_CCA", 1);     /* DMA is cache-coherent */
        size_t rt = aml_name_restemplate(a, "_CRS");
        aml_res_memory32_fixed(a, true, (uint32_t)v->base, v->size);
        aml_res_interrupt(a, AML_IRQ_CONSUMER, v->gsi);  /* level, high, exclusive */
        aml_restemplate_end(a, rt);
        aml_end(a, d);
    }
    aml_end(a, sb);

    /* \_S5: SLP_TYPa (written to the sleep control register), SLP_TYPb
     * (unused without PM1b), two reserved */
    aml_byte(a, AML_NAME);
    aml_namestring(a, "\\_S5");
    size_t p = aml_package(a, 4);
    aml_integer(a, ACPI_SLP_TYP_S5);
    aml_integer(a, 0);
    aml_integer(a, 0);
    aml_integer(a, 0);
    aml_end(a, p);
}

/* ---- the other tables ---- */

static size_t madt_len(const struct acpi_machine *m, bool *pit_ovr, bool *com1_ovr)
{
    *pit_ovr = gsi_ok(m, 2);
    *com1_ovr = m->com1_port && m->com1_gsi != 4;
    return ACPI_HDR_LEN + 8 + (size_t)m->n_cpus * MADT_LAPIC_LEN + MADT_IOAPIC_LEN +
           (*pit_ovr + *com1_ovr) * MADT_OVERRIDE_LEN + MADT_NMI_LEN;
}

static void write_madt(uint8_t *t, size_t len, const struct acpi_machine *m, bool pit_ovr,
                       bool com1_ovr)
{
    header(t, "APIC", len, ACPI_MADT_REV);
    put(t + 36, m->lapic_base, 4);
    put(t + 40, m->legacy_pic ? MADT_PCAT_COMPAT : 0, 4);
    uint8_t *e = t + 44;
    for (int i = 0; i < m->n_cpus; i++, e += MADT_LAPIC_LEN) {
        e[0] = MADT_LAPIC;
        e[1] = MADT_LAPIC_LEN;
        e[2] = (uint8_t)i;              /* ACPI processor UID */
        e[3] = (uint8_t)i;              /* APIC id */
        put(e + 4, 1, 4);               /* enabled */
    }
    e[0] = MADT_IOAPIC;
    e[1] = MADT_IOAPIC_LEN;
    e[2] = (uint8_t)m->ioapic_id;
    e[3] = 0;
    put(e + 4, m->ioapic_base, 4);
    put(e + 8, m->ioapic_gsi_base, 4);
    e += MADT_IOAPIC_LEN;
    /* Interrupt source overrides: bus 0 (ISA), flags 0 = conforms to
     * the bus (edge, active high) */
    if (pit_ovr) {
        e[0] = MADT_INT_OVERRIDE;
        e[1] = MADT_OVERRIDE_LEN;
        e[2] = 0;
        e[3] = 0;                       /* IRQ 0, the PIT ... */
        put(e + 4, 2, 4);               /* ... is on pin 2 */
        put(e + 8, 0, 2);
        e += MADT_OVERRIDE_LEN;
    }
    if (com1_ovr) {
        e[0] = MADT_INT_OVERRIDE;
        e[1] = MADT_OVERRIDE_LEN;
        e[2] = 0;
        e[3] = 4;
        put(e + 4, m->com1_gsi, 4);
        put(e + 8, 0, 2);
        e += MADT_OVERRIDE_LEN;
    }
    /* LINT1 is NMI on every processor (UID 0xff), as on a PC */
    e[0] = MADT_LAPIC_NMI;
    e[1] = MADT_NMI_LEN;
    e[2] = 0xff;
    put(e + 3, 0, 2);
    e[5] = 1;
    seal(t, len);
}

static void write_fadt(uint8_t *t, const struct acpi_machine *m, uint64_t dsdt_gpa)
{
    header(t, "FACP", ACPI_FADT_LEN, ACPI_FADT_REV);
    /* FIRMWARE_CTRL stays 0: a hardware-reduced machine has no FACS.
     * The 32-bit DSDT field too when the DSDT is above 4 GiB. */
    if (dsdt_gpa <= UINT32_MAX)
        put(t + FADT_DSDT, dsdt_gpa, 4);
    /* SCI_INT, SMI_CMD, every PM1/PM2/GPE/PM timer block: 0, none */
    uint16_t boot_arch = IAPC_VGA_NOT_PRESENT | IAPC_MSI_NOT_SUPPORTED;
    if (m->com1_port)
        boot_arch |= IAPC_LEGACY_DEVICES;
    if (m->i8042)
        boot_arch |= IAPC_8042;
    if (!m->rtc)
        boot_arch |= IAPC_CMOS_RTC_NOT_PRESENT;
    put(t + FADT_IAPC_BOOT_ARCH, boot_arch, 2);
    put(t + FADT_FLAGS,
        FADT_F_WBINVD | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON | FADT_F_RESET_REG_SUP |
            FADT_F_HW_REDUCED_ACPI, 4);
    gas(t + FADT_RESET_REG, &m->reset);
    t[FADT_RESET_VALUE] = m->reset_value;
    t[FADT_MINOR_VERSION] = ACPI_FADT_MINOR;
    put(t + FADT_X_DSDT, dsdt_gpa, 8);
    gas(t + FADT_SLEEP_CONTROL_REG, &m->sleep_ctl);
    gas(t + FADT_SLEEP_STATUS_REG, &m->sleep_sts);
    memcpy(t + FADT_HYPERVISOR_ID, HYPERVISOR_ID, 8);
    seal(t, ACPI_FADT_LEN);
}

static void write_rsdp(uint8_t *r, uint64_t xsdt_gpa)
{
    memcpy(r, "RSD PTR ", 8);
    memcpy(r + 9, OEM_ID, 6);
    r[15] = 2;                          /* revision: ACPI 2.0+, with an XSDT */
    /* RsdtAddress (16) stays 0: no RSDT, every OS we boot reads the XSDT */
    put(r + 20, ACPI_RSDP_LEN, 4);
    put(r + 24, xsdt_gpa, 8);
    r[8] = (uint8_t)-sum8(r, 20);       /* the ACPI 1.0 part */
    r[32] = (uint8_t)-sum8(r, ACPI_RSDP_LEN);
}

int acpi_build_layout(uint8_t *buf, size_t len, uint64_t gpa, const struct acpi_machine *m,
                      struct acpi_layout *lay, struct error **errp)
{
    int r = check_machine(m, errp);
    if (r < 0)
        return r;
    if (gpa & 15)
        return err_set(errp, EINVAL,
                       _("ACPI tables: address 0x%" PRIx64 " is not 16-byte aligned"), gpa);

    struct aml a;
    aml_init(&a);
    dsdt_aml(&a, m);
    if (a.err) {
        r = err_set(errp, -a.err, _("ACPI tables: cannot encode the DSDT: %s"), strerror(-a.err));
        aml_free(&a);
        return r;
    }

    bool pit_ovr, com1_ovr;
    struct acpi_layout l = { .rsdp = 0 };
    l.xsdt = ALIGN_UP((size_t)ACPI_RSDP_LEN, 8);
    size_t xsdt_len = ACPI_HDR_LEN + 2 * 8;
    l.fadt = ALIGN_UP(l.xsdt + xsdt_len, 8);
    l.madt = ALIGN_UP(l.fadt + ACPI_FADT_LEN, 8);
    size_t mlen = madt_len(m, &pit_ovr, &com1_ovr);
    l.dsdt = ALIGN_UP(l.madt + mlen, 8);
    size_t dlen = ACPI_HDR_LEN + a.len;
    l.end = l.dsdt + dlen;
    uint64_t last;
    if (l.end > len || ADD_OVERFLOWS(gpa, (uint64_t)l.end, &last)) {
        r = err_set(errp, ENOSPC,
                    _("ACPI tables: %zu bytes needed, the space at 0x%" PRIx64 " has %zu"),
                    l.end, gpa, len);
        aml_free(&a);
        return r;
    }

    memset(buf, 0, l.end);
    write_rsdp(buf + l.rsdp, gpa + l.xsdt);

    uint8_t *x = buf + l.xsdt;
    header(x, "XSDT", xsdt_len, 1);
    put(x + ACPI_HDR_LEN, gpa + l.fadt, 8);
    put(x + ACPI_HDR_LEN + 8, gpa + l.madt, 8);
    seal(x, xsdt_len);

    write_fadt(buf + l.fadt, m, gpa + l.dsdt);
    write_madt(buf + l.madt, mlen, m, pit_ovr, com1_ovr);

    uint8_t *d = buf + l.dsdt;
    header(d, "DSDT", dlen, ACPI_DSDT_REV);
    memcpy(d + ACPI_HDR_LEN, a.buf, a.len);
    seal(d, dlen);
    aml_free(&a);

    if (lay)
        *lay = l;
    return 0;
}

int acpi_build(uint8_t *buf, size_t len, uint64_t gpa, const struct acpi_machine *m,
               uint64_t *rsdp_gpa, size_t *used, struct error **errp)
{
    struct acpi_layout l;
    int r = acpi_build_layout(buf, len, gpa, m, &l, errp);
    if (r < 0)
        return r;
    if (rsdp_gpa)
        *rsdp_gpa = gpa + l.rsdp;
    if (used)
        *used = l.end;
    return 0;
}

int acpi_write_reset_stub(uint8_t *ram, uint64_t ram_size, const struct acpi_machine *m,
                          struct error **errp)
{
    if (m->reset.space != ACPI_SPACE_IO || m->reset.addr > 0xffff)
        return err_set(errp, EINVAL,
                       _("ACPI tables: the reset stub needs a reset register in port space"));
    if (ram_size < ACPI_RESET_VECTOR + 16)
        return err_set(errp, ENOSPC, _("ACPI tables: no RAM at the reset vector 0x%x"),
                       ACPI_RESET_VECTOR);
    const uint8_t stub[] = {
        0xb0, m->reset_value,                           /* mov al, value */
        0xba, (uint8_t)m->reset.addr, (uint8_t)(m->reset.addr >> 8), /* mov dx, port */
        0xee,                                           /* out dx, al */
        0xf4,                                           /* 1: hlt */
        0xeb, 0xfd,                                     /* jmp 1b */
    };
    memcpy(ram + ACPI_RESET_VECTOR, stub, sizeof(stub));
    return 0;
}
