/* x86.c - a vCPU's x86 register state: power-on reset, the entry state
 * a loader computed (hw/x86/cpu-state.h), MSRs, and the register dump
 * that fatal exits print.
 */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include "kvm/kvm-int.h"
#include "i18n.h"

#define MSR_IA32_TSC 0x10
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MISC_ENABLE_FAST_STRING 1
/* MSRs through which the guest has KVM write into its memory (kvmclock,
 * steal time, async page faults, PV EOI) and the TSC deadline timer */
#define MSR_IA32_TSC_DEADLINE 0x6e0
#define MSR_KVM_WALL_CLOCK 0x11
#define MSR_KVM_SYSTEM_TIME 0x12
#define MSR_KVM_WALL_CLOCK_NEW 0x4b564d00
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define MSR_KVM_ASYNC_PF_EN 0x4b564d02
#define MSR_KVM_STEAL_TIME 0x4b564d03
#define MSR_KVM_PV_EOI_EN 0x4b564d04
#define MSR_KVM_ASYNC_PF_INT 0x4b564d06
#define MTRR_DEF_TYPE_WB_ENABLED 0x806     /* E (bit 11) | default type 6 = write-back */

#define APIC_DEFAULT_BASE 0xfee00000u
#define APIC_BASE_BSP (1u << 8)
#define APIC_BASE_ENABLE (1u << 11)

int kvm_cpu_set_msrs(struct kvm_cpu *c, const uint32_t *idx, const uint64_t *val, int n)
{
    struct {
        struct kvm_msrs h;
        struct kvm_msr_entry e[32];
    } m;
    if (n < 0 || n > 32)
        return -EINVAL;
    memset(&m, 0, sizeof(m));
    m.h.nmsrs = (uint32_t)n;
    for (int i = 0; i < n; i++) {
        m.e[i].index = idx[i];
        m.e[i].data = val[i];
    }
    int r = ioctl(c->fd, KVM_SET_MSRS, &m);
    return r < 0 ? -errno : r;
}

int kvm_cpu_get_msrs(struct kvm_cpu *c, const uint32_t *idx, uint64_t *val, int n)
{
    struct {
        struct kvm_msrs h;
        struct kvm_msr_entry e[32];
    } m;
    if (n < 0 || n > 32)
        return -EINVAL;
    memset(&m, 0, sizeof(m));
    m.h.nmsrs = (uint32_t)n;
    for (int i = 0; i < n; i++)
        m.e[i].index = idx[i];
    int r = ioctl(c->fd, KVM_GET_MSRS, &m);
    if (r < 0)
        return -errno;
    for (int i = 0; i < r && i < n; i++)
        val[i] = m.e[i].data;
    return r;
}

static void seg_to_kvm(struct kvm_segment *k, const struct x86_seg *s)
{
    memset(k, 0, sizeof(*k));
    k->base = s->base;
    k->limit = s->limit;
    k->selector = s->selector;
    k->type = s->type;
    k->present = s->present;
    k->dpl = s->dpl;
    k->db = s->db;
    k->s = s->s;
    k->l = s->l;
    k->g = s->g;
    k->unusable = !s->present;
}

static void seg_from_kvm(struct x86_seg *s, const struct kvm_segment *k)
{
    memset(s, 0, sizeof(*s));
    s->base = k->base;
    s->limit = k->limit;
    s->selector = k->selector;
    s->type = k->type;
    s->present = k->present;
    s->dpl = k->dpl;
    s->db = k->db;
    s->s = k->s;
    s->l = k->l;
    s->g = k->g;
}

int kvm_cpu_set_entry(struct kvm_cpu *c, const struct x86_entry *e, struct error **errp)
{
    struct kvm_sregs sr;
    if (ioctl(c->fd, KVM_GET_SREGS, &sr) < 0)
        return err_set_errno(errp, errno, _("KVM: vCPU %d: KVM_GET_SREGS"), c->index);
    seg_to_kvm(&sr.cs, &e->cs);
    seg_to_kvm(&sr.ds, &e->ds);
    seg_to_kvm(&sr.es, &e->es);
    seg_to_kvm(&sr.fs, &e->fs);
    seg_to_kvm(&sr.gs, &e->gs);
    seg_to_kvm(&sr.ss, &e->ss);
    seg_to_kvm(&sr.tr, &e->tr);
    seg_to_kvm(&sr.ldt, &e->ldt);
    sr.gdt.base = e->gdt_base;
    sr.gdt.limit = e->gdt_limit;
    sr.idt.base = e->idt_base;
    sr.idt.limit = e->idt_limit;
    sr.cr0 = e->cr0;
    sr.cr2 = 0;
    sr.cr3 = e->cr3;
    sr.cr4 = e->cr4;
    sr.efer = e->efer;
    if (ioctl(c->fd, KVM_SET_SREGS, &sr) < 0)
        return err_set_errno(errp, errno, _("KVM: vCPU %d: KVM_SET_SREGS"), c->index);
    struct kvm_regs r;
    memset(&r, 0, sizeof(r));
    r.rip = e->rip;
    r.rsp = e->rsp;
    r.rflags = e->rflags | 2;       /* bit 1 always reads 1 */
    r.rsi = e->rsi;
    r.rbx = e->rbx;
    if (ioctl(c->fd, KVM_SET_REGS, &r) < 0)
        return err_set_errno(errp, errno, _("KVM: vCPU %d: KVM_SET_REGS"), c->index);
    return 0;
}

int kvm_cpu_get_entry(struct kvm_cpu *c, struct x86_entry *e, struct error **errp)
{
    struct kvm_sregs sr;
    struct kvm_regs r;
    if (ioctl(c->fd, KVM_GET_SREGS, &sr) < 0 || ioctl(c->fd, KVM_GET_REGS, &r) < 0)
        return err_set_errno(errp, errno, _("KVM: vCPU %d: cannot read the registers"),
                             c->index);
    memset(e, 0, sizeof(*e));
    seg_from_kvm(&e->cs, &sr.cs);
    seg_from_kvm(&e->ds, &sr.ds);
    seg_from_kvm(&e->es, &sr.es);
    seg_from_kvm(&e->fs, &sr.fs);
    seg_from_kvm(&e->gs, &sr.gs);
    seg_from_kvm(&e->ss, &sr.ss);
    seg_from_kvm(&e->tr, &sr.tr);
    seg_from_kvm(&e->ldt, &sr.ldt);
    e->gdt_base = sr.gdt.base;
    e->gdt_limit = sr.gdt.limit;
    e->idt_base = sr.idt.base;
    e->idt_limit = sr.idt.limit;
    e->cr0 = sr.cr0;
    e->cr3 = sr.cr3;
    e->cr4 = sr.cr4;
    e->efer = sr.efer;
    e->rip = r.rip;
    e->rsp = r.rsp;
    e->rflags = r.rflags;
    e->rsi = r.rsi;
    e->rbx = r.rbx;
    return 0;
}

/* The architectural power-on state: real mode, CS:IP = F000:FFF0 with
 * CS base 0xFFFF0000 (the first fetch at 0xFFFFFFF0), 64 KiB segments. */
static void kvm_reset_entry(struct x86_entry *e)
{
    memset(e, 0, sizeof(*e));
    struct x86_seg data = { .limit = 0xffff, .type = 3, .s = 1, .present = 1 };
    e->cs = data;
    e->cs.selector = 0xf000;
    e->cs.base = 0xffff0000;
    e->cs.type = 0xb;
    e->ds = e->es = e->fs = e->gs = e->ss = data;
    e->tr = (struct x86_seg){ .limit = 0xffff, .type = 3, .present = 1 };   /* 16-bit busy TSS */
    e->ldt = (struct x86_seg){ .limit = 0xffff, .type = 2, .present = 1 };
    e->gdt_limit = e->idt_limit = 0xffff;
    e->cr0 = 0x60000000 | X86_CR0_ET;       /* CD | NW | ET */
    e->rip = 0xfff0;
    e->rflags = 2;
}

int kvm_cpu_reset(struct kvm_cpu *c, struct error **errp)
{
    struct x86_entry e;
    kvm_reset_entry(&e);
    int r = kvm_cpu_set_entry(c, &e, errp);
    if (r < 0)
        return r;
    /* The local APIC at its default base, enabled; vCPU 0 is the BSP. */
    struct kvm_sregs sr;
    if (ioctl(c->fd, KVM_GET_SREGS, &sr) < 0)
        return err_set_errno(errp, errno, _("KVM: vCPU %d: KVM_GET_SREGS"), c->index);
    sr.apic_base = APIC_DEFAULT_BASE | APIC_BASE_ENABLE | (c->index == 0 ? APIC_BASE_BSP : 0);
    if (ioctl(c->fd, KVM_SET_SREGS, &sr) < 0)
        return err_set_errno(errp, errno, _("KVM: vCPU %d: KVM_SET_SREGS"), c->index);
    /* x87 and SSE control words at their reset values. */
    struct kvm_fpu fpu;
    memset(&fpu, 0, sizeof(fpu));
    fpu.fcw = 0x37f;
    fpu.mxcsr = 0x1f80;
    if (ioctl(c->fd, KVM_SET_FPU, &fpu) < 0)
        return err_set_errno(errp, errno, _("KVM: vCPU %d: KVM_SET_FPU"), c->index);
    /* MSRs a warm reset would otherwise carry over (the syscall entry
     * points of the previous kernel); and what firmware would have set,
     * since a directly booted kernel runs none: fast strings on, and the
     * MTRRs enabled with write-back as the default type (with MTRRs off
     * all memory is uncached, and a kernel decompresses at a few MiB/s
     * where the hypervisor honours the guest's memory types). */
    static const uint32_t idx[] = {
        MSR_IA32_TSC, MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
        MSR_IA32_MISC_ENABLE, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
        MSR_KERNEL_GS_BASE, MSR_MTRR_DEF_TYPE,
    };
    uint64_t val[ARRAY_SIZE(idx)] = { 0 };
    val[4] = MISC_ENABLE_FAST_STRING;
    val[10] = MTRR_DEF_TYPE_WB_ENABLED;
    r = kvm_cpu_set_msrs(c, idx, val, (int)ARRAY_SIZE(idx));
    if (r != (int)ARRAY_SIZE(idx))
        return err_set(errp, r < 0 ? -r : EIO, _("KVM: vCPU %d: cannot reset MSR 0x%x"),
                       c->index, r < 0 ? idx[0] : idx[r]);
    if ((r = kvm_cpu_setup_cpuid(c, errp)) < 0)
        return r;
    /* A reset must switch off what the previous kernel asked KVM to
     * write into guest memory: kvmclock would otherwise go on updating
     * its page at the old address, in the middle of the kernel loaded
     * next.  One by one, after the CPUID (KVM checks the MSRs against
     * it), and best effort: an MSR this KVM lacks was never enabled. */
    static const uint32_t pv[] = {
        MSR_KVM_SYSTEM_TIME_NEW, MSR_KVM_SYSTEM_TIME, MSR_KVM_WALL_CLOCK_NEW,
        MSR_KVM_WALL_CLOCK, MSR_KVM_ASYNC_PF_EN, MSR_KVM_ASYNC_PF_INT, MSR_KVM_STEAL_TIME,
        MSR_KVM_PV_EOI_EN, MSR_IA32_TSC_DEADLINE,
    };
    for (size_t i = 0; i < ARRAY_SIZE(pv); i++) {
        uint64_t zero = 0;
        (void)kvm_cpu_set_msrs(c, &pv[i], &zero, 1);
    }
    /* The in-kernel local APIC at its power-on state (Intel SDM vol. 3,
     * 10.4.7.1): what the previous kernel left there (an AP's APIC
     * software-disabled by its shutdown, masked or armed LVTs, bits in
     * service) would otherwise greet the next one, and an AP would not
     * wake up for the new kernel's INIT/SIPI. */
    if (c->k->irqchip) {
        struct kvm_lapic_state la;
        if (ioctl(c->fd, KVM_GET_LAPIC, &la) < 0)
            return err_set_errno(errp, errno, _("KVM: vCPU %d: KVM_GET_LAPIC"), c->index);
        uint32_t version;
        memcpy(&version, la.regs + 0x30, 4);
        memset(la.regs, 0, sizeof(la.regs));
        static const struct { uint16_t off; uint32_t val; } init[] = {
            { 0xd0, 0 }, { 0xe0, 0xffffffffu }, { 0xf0, 0xff },         /* LDR, DFR, SVR */
            { 0x2f0, 0x10000 }, { 0x320, 0x10000 }, { 0x330, 0x10000 },  /* LVTs masked */
            { 0x340, 0x10000 }, { 0x350, 0x10000 }, { 0x360, 0x10000 },
            { 0x370, 0x10000 },
        };
        uint32_t id = (uint32_t)c->index << 24;
        memcpy(la.regs + 0x20, &id, 4);
        memcpy(la.regs + 0x30, &version, 4);
        for (size_t i = 0; i < ARRAY_SIZE(init); i++)
            memcpy(la.regs + init[i].off, &init[i].val, 4);
        if (ioctl(c->fd, KVM_SET_LAPIC, &la) < 0)
            return err_set_errno(errp, errno, _("KVM: vCPU %d: KVM_SET_LAPIC"), c->index);
    }
    /* With the in-kernel irqchip, the APs wait for INIT/SIPI from the
     * BSP (the guest's SMP boot); without it there is no way to wake
     * them, and only vCPU 0 is useful. */
    if (c->k->irqchip) {
        struct kvm_mp_state mp = {
            .mp_state = c->index == 0 ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_UNINITIALIZED,
        };
        if (ioctl(c->fd, KVM_SET_MP_STATE, &mp) < 0)
            return err_set_errno(errp, errno, _("KVM: vCPU %d: KVM_SET_MP_STATE"), c->index);
    }
    return 0;
}

static int dump_seg(char *buf, size_t len, const char *name, const struct kvm_segment *s)
{
    return snprintf(buf, len, "%-3s=%04x %016llx %08x type=%x s=%u dpl=%u p=%u db=%u l=%u g=%u%s\n",
                    name, s->selector, (unsigned long long)s->base, s->limit, s->type, s->s,
                    s->dpl, s->present, s->db, s->l, s->g, s->unusable ? " unusable" : "");
}

void kvm_cpu_dump(struct kvm_cpu *c, char *buf, size_t len)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    if (!len)
        return;
    buf[0] = 0;
    if (ioctl(c->fd, KVM_GET_REGS, &r) < 0 || ioctl(c->fd, KVM_GET_SREGS, &s) < 0) {
        snprintf(buf, len, "(registers unavailable: %s)", strerror(errno));
        return;
    }
#define U(x) (unsigned long long)(x)
    size_t n = 0;
#define OUT(...)                                                              \
    do {                                                                      \
        if (n < len) {                                                        \
            int w_ = snprintf(buf + n, len - n, __VA_ARGS__);                 \
            n += w_ > 0 ? (size_t)w_ : 0;                                     \
        }                                                                     \
    } while (0)
    OUT("RIP=%016llx RSP=%016llx RFLAGS=%08llx\n", U(r.rip), U(r.rsp), U(r.rflags));
    OUT("RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n", U(r.rax), U(r.rbx), U(r.rcx),
        U(r.rdx));
    OUT("RSI=%016llx RDI=%016llx RBP=%016llx R8 =%016llx\n", U(r.rsi), U(r.rdi), U(r.rbp),
        U(r.r8));
    OUT("CR0=%08llx CR2=%016llx CR3=%016llx CR4=%08llx EFER=%08llx\n", U(s.cr0), U(s.cr2),
        U(s.cr3), U(s.cr4), U(s.efer));
    const struct { const char *n; const struct kvm_segment *s; } segs[] = {
        { "CS", &s.cs }, { "SS", &s.ss }, { "DS", &s.ds }, { "ES", &s.es },
        { "FS", &s.fs }, { "GS", &s.gs }, { "TR", &s.tr }, { "LDT", &s.ldt },
    };
    for (size_t i = 0; i < ARRAY_SIZE(segs); i++)
        if (n < len)
            n += (size_t)MAX(0, dump_seg(buf + n, len - n, segs[i].n, segs[i].s));
    OUT("GDT=%016llx %04x IDT=%016llx %04x APIC_BASE=%016llx", U(s.gdt.base), s.gdt.limit,
        U(s.idt.base), s.idt.limit, U(s.apic_base));
#undef OUT
#undef U
}
