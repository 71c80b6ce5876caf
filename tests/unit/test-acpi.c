/* test-acpi.c - the microVM's ACPI tables (hw/x86/acpi.h) and the AML
 * encoder (hw/x86/aml.h) against plain memory: every table's checksum,
 * length and pointers, the FADT's flags and registers, the MADT's
 * entries, the DSDT's AML walked back through its PkgLengths; hostile
 * descriptions and short buffers give one clear error and leave the
 * buffer alone (run under ASan in the sanitizer build).
 *
 * `test-acpi --dump DIR` writes the tables of a 4-CPU machine with
 * COM1 and 8 virtio-mmio slots as DIR/{RSDP,XSDT,FACP,APIC,DSDT}.dat for
 * tests/x86/acpi-iasl.sh, which has ACPICA's disassembler read them.
 */
#include <config.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "hw/x86/acpi.h"
#include "hw/x86/aml.h"
#include "unit.h"

#define GPA ACPI_TABLES_GPA
#define VIRTIO_BASE 0xfeb00000u
#define VIRTIO_SIZE 0x200u
#define VIRTIO_GSI 16

static uint64_t rd(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

static void machine(struct acpi_machine *m, int n_cpus, int n_virtio)
{
    acpi_machine_init(m, n_cpus);
    m->legacy_pic = true;
    if (n_virtio > 8)
        m->ioapic_pins = 64;            /* (KVM's has 24: GSIs 16..23 for 8 slots) */
    for (int i = 0; i < n_virtio; i++)
        m->virtio[i] = (struct acpi_virtio_mmio){
            .base = VIRTIO_BASE + (uint64_t)i * VIRTIO_SIZE, .size = VIRTIO_SIZE,
            .gsi = VIRTIO_GSI + (uint32_t)i,
        };
    m->n_virtio = n_virtio;
}

/* ---- AML encoder ---- */

static void test_pkglength(void)
{
    /* every boundary of the four encodings, round trip */
    static const size_t contents[] = { 0, 1, 62, 63, 64, 0xffd, 0xffe, 0xfff, 0x1000,
                                       0xffffd, 0xffffe, 0x100000 };
    for (size_t i = 0; i < ARRAY_SIZE(contents); i++) {
        struct aml a;
        aml_init(&a);
        aml_byte(&a, AML_SCOPE);
        size_t mark = a.len;
        for (size_t j = 0; j < contents[i]; j++)
            aml_byte(&a, 0xa5);
        aml_end(&a, mark);
        CHECK(a.err == 0);
        uint32_t l = 0;
        int n = aml_pkglength_decode(a.buf + 1, a.len - 1, &l);
        CHECK(n >= 1 && n <= 4);
        CHECK_U64(l, contents[i] + (size_t)n);
        CHECK_U64(1 + l, a.len);
        int want = contents[i] + 1 <= 63 ? 1 : contents[i] + 2 <= 0xfff ? 2
                 : contents[i] + 3 <= 0xfffff ? 3 : 4;
        CHECK_U64(n, want);
        aml_free(&a);
    }
    /* malformed: reserved bits, truncated */
    uint32_t l;
    CHECK(aml_pkglength_decode((const uint8_t[]){ 0x50, 0 }, 2, &l) < 0);
    CHECK(aml_pkglength_decode((const uint8_t[]){ 0xc0, 0, 0 }, 3, &l) < 0);
    CHECK(aml_pkglength_decode((const uint8_t[]){ 0 }, 0, &l) < 0);
}

static void test_aml_data(void)
{
    struct aml a;
    aml_init(&a);
    aml_namestring(&a, "\\_SB");
    aml_namestring(&a, "_SB.COM1");
    aml_namestring(&a, "\\_SB.PCI0.ISA");
    aml_namestring(&a, "^^X");
    aml_namestring(&a, "");
    static const uint8_t names[] = {
        0x5c, '_', 'S', 'B', '_',
        0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1',
        0x5c, 0x2f, 3, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'I', 'S', 'A', '_',
        0x5e, 0x5e, 'X', '_', '_', '_',
        0x00,
    };
    CHECK(a.err == 0);
    CHECK_U64(a.len, sizeof(names));
    CHECK(a.len == sizeof(names) && memcmp(a.buf, names, sizeof(names)) == 0);
    aml_free(&a);

    aml_init(&a);
    aml_integer(&a, 0);
    aml_integer(&a, 1);
    aml_integer(&a, 2);
    aml_integer(&a, 0x1234);
    aml_integer(&a, 0x12345678);
    aml_integer(&a, 0x123456789ull);
    aml_integer(&a, UINT64_MAX);
    aml_string(&a, "Hi");
    static const uint8_t ints[] = {
        0x00, 0x01, 0x0a, 2, 0x0b, 0x34, 0x12, 0x0c, 0x78, 0x56, 0x34, 0x12,
        0x0e, 0x89, 0x67, 0x45, 0x23, 0x01, 0, 0, 0, 0xff, 0x0d, 'H', 'i', 0,
    };
    CHECK(a.len == sizeof(ints) && memcmp(a.buf, ints, sizeof(ints)) == 0);
    CHECK_U64(aml_eisaid(&a, "PNP0501"), 0x0105d041);
    CHECK_U64(aml_eisaid(&a, "PNP0A03"), 0x030ad041);
    CHECK(a.err == 0);
    aml_free(&a);

    /* bad names and ids are sticky errors, nothing written after them */
    static const char *bad[] = { "1ABC", "ABCDE", "A..B", "\\_SB.", "ab", "A-B" };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        aml_init(&a);
        aml_namestring(&a, bad[i]);
        CHECK_U64(a.err, -EINVAL);
        size_t len = a.len;
        aml_byte(&a, 0);
        CHECK_U64(a.len, len);
        aml_free(&a);
    }
    static const char *badid[] = { "PNP050", "pnp0501", "PNP050G", "PNP05011" };
    for (size_t i = 0; i < ARRAY_SIZE(badid); i++) {
        aml_init(&a);
        CHECK_U64(aml_eisaid(&a, badid[i]), 0);
        CHECK_U64(a.err, -EINVAL);
        aml_free(&a);
    }
    aml_init(&a);
    aml_string(&a, "\xc3\xa4");
    CHECK_U64(a.err, -EINVAL);
    aml_free(&a);
}

/* ---- the tables ---- */

/* a table at guest-physical addr inside buf: its offset, or 0 */
static size_t table_at(const uint8_t *buf, size_t used, uint64_t addr, const char *sig)
{
    if (addr < GPA || addr - GPA + ACPI_HDR_LEN > used) {
        fprintf(stderr, "%s at 0x%" PRIx64 ": outside the tables\n", sig, addr);
        return 0;
    }
    size_t off = (size_t)(addr - GPA);
    uint32_t len = (uint32_t)rd(buf + off + 4, 4);
    CHECK(memcmp(buf + off, sig, 4) == 0);
    CHECK(len >= ACPI_HDR_LEN && off + len <= used);
    if (len < ACPI_HDR_LEN || off + len > used)
        return 0;
    CHECK_U64(sum8(buf + off, len), 0);
    CHECK(memcmp(buf + off + 10, "EMU   ", 6) == 0);
    return off;
}

/* The _CRS of a virtio device: Name (_CRS, Buffer (n) { Memory32Fixed,
 * Extended Interrupt, End Tag }) */
static void check_virtio_crs(const uint8_t *p, size_t n, const struct acpi_virtio_mmio *v)
{
    static const uint8_t crs[] = { 0x08, '_', 'C', 'R', 'S', 0x11 };
    const uint8_t *c = NULL;
    for (size_t i = 0; i + sizeof(crs) <= n; i++)
        if (memcmp(p + i, crs, sizeof(crs)) == 0) {
            c = p + i + sizeof(crs);
            break;
        }
    CHECK(c != NULL);
    if (!c)
        return;
    uint32_t pl;
    int k = aml_pkglength_decode(c, (size_t)(p + n - c), &pl);
    CHECK(k == 1);
    CHECK(c + pl == p + n);              /* the buffer ends the device */
    CHECK_U64(c[1], 0x0a);               /* BufferSize: a byte */
    CHECK_U64(c[2], 12 + 9 + 2);
    const uint8_t *d = c + 3;
    CHECK_U64(d[0], 0x86);
    CHECK_U64(rd(d + 1, 2), 9);
    CHECK_U64(d[3], 1);
    CHECK_U64(rd(d + 4, 4), v->base);
    CHECK_U64(rd(d + 8, 4), v->size);
    d += 12;
    CHECK_U64(d[0], 0x89);
    CHECK_U64(rd(d + 1, 2), 6);
    CHECK_U64(d[3], AML_IRQ_CONSUMER);   /* level, active high, exclusive */
    CHECK_U64(d[4], 1);
    CHECK_U64(rd(d + 5, 4), v->gsi);
    d += 9;
    CHECK_U64(d[0], 0x79);
    CHECK_U64(sum8(c + 3, 23), 0);
}

static void check_dsdt(const uint8_t *t, const struct acpi_machine *m)
{
    uint32_t len = (uint32_t)rd(t + 4, 4);
    CHECK_U64(t[8], ACPI_DSDT_REV);
    const uint8_t *p = t + ACPI_HDR_LEN, *end = t + len;
    /* Scope (\_SB) { devices } */
    CHECK_U64(p[0], AML_SCOPE);
    uint32_t pl;
    int k = aml_pkglength_decode(p + 1, (size_t)(end - p - 1), &pl);
    CHECK(k > 0);
    if (k <= 0)
        return;
    const uint8_t *scope_end = p + 1 + pl;
    CHECK(scope_end < end);
    if (scope_end >= end)
        return;
    const uint8_t *q = p + 1 + k;
    CHECK(memcmp(q, "\\_SB_", 5) == 0);
    q += 5;
    int n_cpu = 0, n_virtio = 0, n_com = 0;
    while (q < scope_end) {
        if (q[0] != AML_EXT_PREFIX || q[1] != AML_EXT_DEVICE) {
            CHECK(!"not a Device in \\_SB");
            return;
        }
        k = aml_pkglength_decode(q + 2, (size_t)(scope_end - q - 2), &pl);
        CHECK(k > 0);
        if (k <= 0 || q + 2 + pl > scope_end) {
            CHECK(!"a Device runs past \\_SB");
            return;
        }
        const uint8_t *dev_end = q + 2 + pl, *name = q + 2 + k;
        char want[16];
        if (name[0] == 'C' && memcmp(name, "COM1", 4)) {
            snprintf(want, sizeof(want), "C%03X", n_cpu);
            CHECK(memcmp(name, want, 4) == 0);
            static const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0d, 'A', 'C', 'P', 'I',
                                           '0', '0', '0', '7', 0 };
            CHECK(memcmp(name + 4, hid, sizeof(hid)) == 0);
            n_cpu++;
        } else if (!memcmp(name, "COM1", 4)) {
            static const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01 };
            CHECK(memcmp(name + 4, hid, sizeof(hid)) == 0);
            /* IO (Decode16, port, port, 1, 8), IRQNoFlags {4} */
            static const uint8_t io[] = { 0x47, 1, 0xf8, 3, 0xf8, 3, 1, 8, 0x22, 0x10, 0, 0x79 };
            if (m->com1_gsi == 4)
                CHECK(dev_end - sizeof(io) - 1 > name &&
                      memcmp(dev_end - sizeof(io) - 1, io, sizeof(io)) == 0);
            n_com++;
        } else {
            snprintf(want, sizeof(want), "VR%02X", n_virtio);
            CHECK(memcmp(name, want, 4) == 0);
            CHECK(n_virtio < m->n_virtio);
            static const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0d, 'L', 'N', 'R', 'O',
                                           '0', '0', '0', '5', 0 };
            CHECK(memcmp(name + 4, hid, sizeof(hid)) == 0);
            if (n_virtio < m->n_virtio)
                check_virtio_crs(name + 4, (size_t)(dev_end - name - 4), &m->virtio[n_virtio]);
            n_virtio++;
        }
        q = dev_end;
    }
    CHECK(q == scope_end);
    CHECK_U64(n_cpu, m->n_cpus);
    CHECK_U64(n_com, m->com1_port ? 1 : 0);
    CHECK_U64(n_virtio, m->n_virtio);
    /* Name (\_S5, Package (4) { 5, 0, 0, 0 }) ends the table */
    static const uint8_t s5[] = { 0x08, 0x5c, '_', 'S', '5', '_', 0x12, 7, 4, 0x0a, 5, 0, 0, 0 };
    CHECK_U64(end - scope_end, sizeof(s5));
    CHECK(memcmp(scope_end, s5, sizeof(s5)) == 0);
}

static void check_madt(const uint8_t *t, const struct acpi_machine *m)
{
    uint32_t len = (uint32_t)rd(t + 4, 4);
    CHECK_U64(t[8], ACPI_MADT_REV);
    CHECK_U64(rd(t + 36, 4), 0xfee00000);
    CHECK_U64(rd(t + 40, 4), m->legacy_pic ? 1 : 0);
    int n_lapic = 0, n_ioapic = 0, n_ovr = 0, n_nmi = 0;
    size_t off = 44;
    while (off + 2 <= len) {
        const uint8_t *e = t + off;
        CHECK(e[1] >= 2 && off + e[1] <= len);
        if (e[1] < 2 || off + e[1] > len)
            return;
        switch (e[0]) {
        case MADT_LAPIC:
            CHECK_U64(e[1], 8);
            CHECK_U64(e[2], n_lapic);
            CHECK_U64(e[3], n_lapic);
            CHECK_U64(rd(e + 4, 4), 1);
            n_lapic++;
            break;
        case MADT_IOAPIC:
            CHECK_U64(e[1], 12);
            CHECK_U64(e[2], m->ioapic_id);
            CHECK_U64(rd(e + 4, 4), 0xfec00000);
            CHECK_U64(rd(e + 8, 4), 0);
            n_ioapic++;
            break;
        case MADT_INT_OVERRIDE:
            CHECK_U64(e[1], 10);
            CHECK_U64(e[2], 0);
            if (e[3] == 0)
                CHECK_U64(rd(e + 4, 4), 2);
            else
                CHECK(e[3] == 4 && rd(e + 4, 4) == m->com1_gsi && m->com1_gsi != 4);
            CHECK_U64(rd(e + 8, 2), 0);
            n_ovr++;
            break;
        case MADT_LAPIC_NMI:
            CHECK_U64(e[1], 6);
            CHECK_U64(e[2], 0xff);
            CHECK_U64(e[5], 1);
            n_nmi++;
            break;
        default:
            CHECK(!"unexpected MADT entry");
        }
        off += e[1];
    }
    CHECK_U64(off, len);
    CHECK_U64(n_lapic, m->n_cpus);
    CHECK_U64(n_ioapic, 1);
    CHECK_U64(n_ovr, (m->com1_port && m->com1_gsi != 4) ? 2 : 1);
    CHECK_U64(n_nmi, 1);
}

static void check_gas(const uint8_t *g, const struct acpi_reg *r)
{
    CHECK_U64(g[0], r->space);
    CHECK_U64(g[1], 8);
    CHECK_U64(g[2], 0);
    CHECK_U64(g[3], 1);
    CHECK_U64(rd(g + 4, 8), r->addr);
}

static void check_fadt(const uint8_t *t, const struct acpi_machine *m, uint64_t dsdt)
{
    CHECK_U64(rd(t + 4, 4), ACPI_FADT_LEN);
    CHECK_U64(t[8], ACPI_FADT_REV);
    CHECK_U64(t[FADT_MINOR_VERSION], ACPI_FADT_MINOR);
    CHECK_U64(rd(t + 36, 4), 0);                        /* no FACS */
    CHECK_U64(rd(t + FADT_DSDT, 4), dsdt);
    CHECK_U64(rd(t + FADT_X_DSDT, 8), dsdt);
    CHECK_U64(rd(t + 132, 8), 0);                       /* X_FIRMWARE_CTRL */
    /* no SCI, SMI, PM1/PM2/GPE/timer blocks, in either form */
    bool zero = true;
    for (int i = FADT_SCI_INT; i < FADT_IAPC_BOOT_ARCH; i++)
        zero &= t[i] == 0;
    for (int i = 148; i < FADT_SLEEP_CONTROL_REG; i++)
        zero &= t[i] == 0;
    CHECK(zero);
    uint32_t flags = (uint32_t)rd(t + FADT_FLAGS, 4);
    CHECK(flags & FADT_F_HW_REDUCED_ACPI);
    CHECK(flags & FADT_F_RESET_REG_SUP);
    CHECK(flags & FADT_F_PWR_BUTTON);
    uint16_t arch = (uint16_t)rd(t + FADT_IAPC_BOOT_ARCH, 2);
    CHECK_U64(arch & IAPC_8042, m->i8042 ? IAPC_8042 : 0);
    CHECK_U64(arch & IAPC_CMOS_RTC_NOT_PRESENT, m->rtc ? 0 : IAPC_CMOS_RTC_NOT_PRESENT);
    CHECK(arch & IAPC_VGA_NOT_PRESENT);
    check_gas(t + FADT_RESET_REG, &m->reset);
    CHECK_U64(t[FADT_RESET_VALUE], m->reset_value);
    check_gas(t + FADT_SLEEP_CONTROL_REG, &m->sleep_ctl);
    check_gas(t + FADT_SLEEP_STATUS_REG, &m->sleep_sts);
    CHECK(memcmp(t + FADT_HYPERVISOR_ID, "EMU", 3) == 0);
}

static void check_tables(const uint8_t *buf, size_t used, uint64_t rsdp,
                         const struct acpi_machine *m)
{
    CHECK_U64(rsdp, GPA);
    const uint8_t *r = buf;
    CHECK(memcmp(r, "RSD PTR ", 8) == 0);
    CHECK_U64(sum8(r, 20), 0);
    CHECK_U64(sum8(r, ACPI_RSDP_LEN), 0);
    CHECK_U64(r[15], 2);
    CHECK_U64(rd(r + 16, 4), 0);
    CHECK_U64(rd(r + 20, 4), ACPI_RSDP_LEN);
    size_t x = table_at(buf, used, rd(r + 24, 8), "XSDT");
    if (!x)
        return;
    CHECK_U64(rd(buf + x + 4, 4), ACPI_HDR_LEN + 16);
    size_t f = table_at(buf, used, rd(buf + x + 36, 8), "FACP");
    size_t a = table_at(buf, used, rd(buf + x + 44, 8), "APIC");
    if (f) {
        size_t d = table_at(buf, used, rd(buf + f + FADT_X_DSDT, 8), "DSDT");
        check_fadt(buf + f, m, rd(buf + f + FADT_X_DSDT, 8));
        if (d) {
            check_dsdt(buf + d, m);
            CHECK_U64(d + rd(buf + d + 4, 4), used);    /* the DSDT comes last */
        }
    }
    if (a)
        check_madt(buf + a, m);
}

#define BUF_LEN 65536

static void test_good(int n_cpus, int n_virtio, bool com1)
{
    struct acpi_machine m;
    machine(&m, n_cpus, n_virtio);
    if (!com1)
        m.com1_port = 0;
    uint8_t *buf = malloc(BUF_LEN);
    memset(buf, 0xaa, BUF_LEN);
    uint64_t rsdp = 0;
    size_t used = 0;
    struct error *err = NULL;
    int r = acpi_build(buf, BUF_LEN, GPA, &m, &rsdp, &used, &err);
    CHECK(r == 0);
    if (err) {
        fprintf(stderr, "unexpected: %s\n", err_msg(err));
        err_free(err);
    }
    if (r == 0) {
        CHECK(used > 0 && used < BUF_LEN);
        CHECK_U64(buf[used], 0xaa);                     /* nothing past used */
        CHECK(used <= ACPI_TABLES_SIZE);
        check_tables(buf, used, rsdp, &m);
    }
    free(buf);
}

/* COM1 elsewhere than GSI 4, an I/O APIC id, MMIO sleep registers */
static void test_variants(void)
{
    struct acpi_machine m;
    machine(&m, 2, 1);
    m.com1_gsi = 20;
    m.ioapic_id = 2;
    m.legacy_pic = false;
    m.i8042 = true;
    m.rtc = true;
    m.sleep_ctl = (struct acpi_reg){ ACPI_SPACE_MEM, 0xfef00000 };
    m.sleep_sts = (struct acpi_reg){ ACPI_SPACE_MEM, 0xfef00001 };
    m.reset_value = 0x0e;
    static uint8_t buf[BUF_LEN];
    uint64_t rsdp;
    size_t used;
    CHECK(acpi_build(buf, sizeof(buf), GPA, &m, &rsdp, &used, NULL) == 0);
    check_tables(buf, used, rsdp, &m);
    /* COM1's interrupt is then an Extended Interrupt for GSI 20, edge */
    static const uint8_t irq[] = { 0x89, 6, 0, 0x03, 1, 20, 0, 0, 0, 0x79 };
    bool found = false;
    for (size_t i = 0; i + sizeof(irq) <= used; i++)
        found |= memcmp(buf + i, irq, sizeof(irq)) == 0;
    CHECK(found);
}

/* Tables above 4 GiB: the 32-bit DSDT pointer stays 0, the layout
 * matches the pointers */
static void test_high(void)
{
    struct acpi_machine m;
    machine(&m, 1, 1);
    static uint8_t buf[BUF_LEN];
    struct acpi_layout l;
    const uint64_t gpa = 0x100000000ull;
    CHECK(acpi_build_layout(buf, sizeof(buf), gpa, &m, &l, NULL) == 0);
    CHECK_U64(l.rsdp, 0);
    CHECK_U64(rd(buf + 24, 8), gpa + l.xsdt);
    CHECK_U64(rd(buf + l.xsdt + 36, 8), gpa + l.fadt);
    CHECK_U64(rd(buf + l.xsdt + 44, 8), gpa + l.madt);
    CHECK_U64(rd(buf + l.fadt + FADT_DSDT, 4), 0);
    CHECK_U64(rd(buf + l.fadt + FADT_X_DSDT, 8), gpa + l.dsdt);
    CHECK_U64(l.dsdt + rd(buf + l.dsdt + 4, 4), l.end);
    CHECK_U64(sum8(buf + l.fadt, ACPI_FADT_LEN), 0);
}

/* the real-mode stub at the reset vector: mov al, 6; mov dx, 0xcf9;
 * out dx, al; hlt; jmp back to the hlt */
static void test_reset_stub(void)
{
    struct acpi_machine m;
    machine(&m, 1, 0);
    const uint64_t ram_size = 0x100000;
    uint8_t *ram = calloc(1, ram_size);
    CHECK(acpi_write_reset_stub(ram, ram_size, &m, NULL) == 0);
    static const uint8_t stub[] = { 0xb0, 0x06, 0xba, 0xf9, 0x0c, 0xee, 0xf4, 0xeb, 0xfd };
    CHECK(memcmp(ram + ACPI_RESET_VECTOR, stub, sizeof(stub)) == 0);
    CHECK_U64(ram[ACPI_RESET_VECTOR - 1], 0);
    CHECK_U64(ram[ACPI_RESET_VECTOR + sizeof(stub)], 0);
    free(ram);
    struct error *err = NULL;
    ram = calloc(1, ram_size - 1);
    CHECK(acpi_write_reset_stub(ram, ram_size - 1, &m, &err) == -ENOSPC);
    CHECK_CONTAINS(err_msg(err), "reset vector");
    err_free(err);
    err = NULL;
    m.reset = (struct acpi_reg){ ACPI_SPACE_MEM, 0xfef00002 };
    CHECK(acpi_write_reset_stub(ram, ram_size - 1, &m, &err) == -EINVAL);
    CHECK_CONTAINS(err_msg(err), "port space");
    err_free(err);
    free(ram);
}

static void expect_error(const struct acpi_machine *m, uint64_t gpa, size_t len, int code,
                         const char *sub)
{
    uint8_t *buf = malloc(len ? len : 1);
    memset(buf, 0x5a, len);
    struct error *err = NULL;
    uint64_t rsdp = 0x1234;
    size_t used = 77;
    int r = acpi_build(buf, len, gpa, m, &rsdp, &used, &err);
    CHECK_U64(r, (uint64_t)-code);
    CHECK(err != NULL);
    CHECK_CONTAINS(err_msg(err), "ACPI tables");
    CHECK_CONTAINS(err_msg(err), sub);
    err_free(err);
    CHECK_U64(rsdp, 0x1234);
    CHECK_U64(used, 77);
    bool untouched = true;
    for (size_t i = 0; i < len; i++)
        untouched &= buf[i] == 0x5a;
    CHECK(untouched);
    free(buf);
}

static void test_hostile(void)
{
    struct acpi_machine m, b;
    machine(&m, 4, 8);
    uint8_t big[BUF_LEN];
    size_t used;
    CHECK(acpi_build(big, sizeof(big), GPA, &m, NULL, &used, NULL) == 0);
    /* every buffer too small by any amount: exactly-sized heap blocks, so
     * ASan sees any write past the end */
    for (size_t len = 0; len < used; len += (len < 64 || used - len < 64) ? 1 : 37)
        expect_error(&m, GPA, len, ENOSPC, "bytes needed");
    /* the tables would end past 2^64 */
    expect_error(&m, UINT64_MAX - 15, BUF_LEN, ENOSPC, "bytes needed");
    expect_error(&m, GPA + 8, BUF_LEN, EINVAL, "aligned");

    static const int cpus[] = { 0, -1, ACPI_MAX_CPUS + 1, 1 << 30 };
    for (size_t i = 0; i < ARRAY_SIZE(cpus); i++) {
        b = m;
        b.n_cpus = cpus[i];
        expect_error(&b, GPA, BUF_LEN, EINVAL, "CPUs");
    }
    b = m;
    b.n_virtio = ACPI_MAX_VIRTIO + 1;
    expect_error(&b, GPA, BUF_LEN, EINVAL, "virtio-mmio");
    b.n_virtio = -1;
    expect_error(&b, GPA, BUF_LEN, EINVAL, "virtio-mmio");
    b = m;
    b.virtio[3].gsi = 24;
    expect_error(&b, GPA, BUF_LEN, EINVAL, "GSI 24");
    b = m;
    b.virtio[7].base = 0xfffff000;
    b.virtio[7].size = 0x2000;
    expect_error(&b, GPA, BUF_LEN, EINVAL, "4 GiB");
    b = m;
    b.virtio[0].size = 0;
    expect_error(&b, GPA, BUF_LEN, EINVAL, "4 GiB");
    b = m;
    b.virtio[0].base = 1ull << 32;
    expect_error(&b, GPA, BUF_LEN, EINVAL, "4 GiB");
    b = m;
    b.com1_gsi = 99;
    expect_error(&b, GPA, BUF_LEN, EINVAL, "COM1");
    b = m;
    b.ioapic_gsi_base = UINT32_MAX - 3;
    expect_error(&b, GPA, BUF_LEN, EINVAL, "I/O APIC");
    b = m;
    b.ioapic_pins = 0;
    expect_error(&b, GPA, BUF_LEN, EINVAL, "I/O APIC");
    b = m;
    b.lapic_base = 1ull << 32;
    expect_error(&b, GPA, BUF_LEN, EINVAL, "APIC");
    b = m;
    b.sleep_ctl.space = 7;
    expect_error(&b, GPA, BUF_LEN, EINVAL, "sleep control");
    b = m;
    b.reset.addr = 0x10000;
    expect_error(&b, GPA, BUF_LEN, EINVAL, "reset");
    b = m;
    b.sleep_sts.addr = 0;
    expect_error(&b, GPA, BUF_LEN, EINVAL, "sleep status");
}

static int write_file(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

/* --dump DIR: the tables of a 4-CPU machine, COM1, 8 virtio slots */
static int dump(const char *dir)
{
    struct acpi_machine m;
    machine(&m, 4, 8);
    static uint8_t buf[BUF_LEN];
    uint64_t rsdp;
    size_t used;
    struct error *err = NULL;
    if (acpi_build(buf, sizeof(buf), GPA, &m, &rsdp, &used, &err) < 0) {
        fprintf(stderr, "test-acpi: %s\n", err_msg(err));
        err_free(err);
        return 1;
    }
    int rc = write_file(dir, "RSDP.dat", buf, ACPI_RSDP_LEN);
    const uint8_t *x = buf + (rd(buf + 24, 8) - GPA);
    rc |= write_file(dir, "XSDT.dat", x, rd(x + 4, 4));
    const uint8_t *f = buf + (rd(x + 36, 8) - GPA);
    rc |= write_file(dir, "FACP.dat", f, rd(f + 4, 4));
    const uint8_t *a = buf + (rd(x + 44, 8) - GPA);
    rc |= write_file(dir, "APIC.dat", a, rd(a + 4, 4));
    const uint8_t *d = buf + (rd(f + FADT_X_DSDT, 8) - GPA);
    rc |= write_file(dir, "DSDT.dat", d, rd(d + 4, 4));
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--dump") == 0)
        return dump(argv[2]);
    test_pkglength();
    test_aml_data();
    test_good(1, 8, true);
    test_good(4, 8, true);
    test_good(1, 0, false);
    test_good(ACPI_MAX_CPUS, ACPI_MAX_VIRTIO, true);     /* multi-byte PkgLengths */
    test_variants();
    test_high();
    test_reset_stub();
    test_hostile();
    return unit_result();
}
