/* cpuid.c - the CPUID a vCPU shows: what this host's KVM supports
 * (KVM_GET_SUPPORTED_CPUID), filtered, then made per-vCPU.
 *
 * What is filtered, and why:
 *   - the hypervisor bit (leaf 1 ECX[31]) is set: the guest is told it
 *     runs virtualised and looks for the KVM leaves;
 *   - the TSC-deadline timer (leaf 1 ECX[24]) is set where the kernel's
 *     LAPIC emulates it (KVM_CAP_TSC_DEADLINE_TIMER): KVM_GET_SUPPORTED_
 *     CPUID leaves it out because it is the VMM's choice.  Without it
 *     Linux programs the LAPIC timer in one-shot mode and, in Debian's
 *     kernel under a nested hypervisor, its tick stalled for seconds
 *     during boot (printk's clock stood still until the first idle);
 *   - the processor brand string (0x80000002..4) is the host's, as with
 *     qemu's -cpu host; KVM reports these leaves empty, and a guest would
 *     name a made-up part ("AMD Hammer") in /proc/cpuinfo;
 *   - the KVM leaves (0x40000001) keep only kvmclock (CLOCKSOURCE,
 *     CLOCKSOURCE2, the stable bit), NOP_IO_DELAY, PV_EOI and PV_UNHALT,
 *     which the kernel implements alone; async page faults, steal time
 *     and poll control keep guest state in MSRs that savevm would have
 *     to carry, and MSI_EXT_DEST_ID needs MSI routing we do not do; the
 *     "realtime" hint (EDX) is dropped (we cannot promise dedicated host
 *     CPUs);
 *   - no PMU: leaf 0xA is zeroed and PDCM (leaf 1 ECX[15]), DS/DTES64
 *     and AMD's core performance counters (0x80000001 ECX[23], leaf
 *     0x80000022) are cleared, because we neither save the counters
 *     nor want guests programming the host's through KVM's emulation;
 *   - thermal and power management (leaf 6) is zeroed: there are no
 *     such MSRs behind it;
 *   - topology: leaf 1 EBX[31:24], leaves 0xB/0x1F (x2APIC ids) and
 *     AMD's core count (0x80000008 ECX) describe N single-thread cores
 *     in one package, APIC id = vCPU index.  x2APIC itself stays: the
 *     in-kernel LAPIC implements it and Linux prefers it.
 */
#include <config.h>
#include <cpuid.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <asm/kvm_para.h>
#include "kvm/kvm-int.h"
#include "i18n.h"

#define CPUID_1_ECX_DTES64 (1u << 2)
#define CPUID_1_ECX_PDCM (1u << 15)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_DS (1u << 21)
#define CPUID_80000001_ECX_PERFCTR_CORE (1u << 23)
#define KVM_CPUID_FEATURES_LEAF 0x40000001

static const uint32_t kvm_features_kept =
    (1u << KVM_FEATURE_CLOCKSOURCE) | (1u << KVM_FEATURE_NOP_IO_DELAY) |
    (1u << KVM_FEATURE_CLOCKSOURCE2) | (1u << KVM_FEATURE_PV_EOI) |
    (1u << KVM_FEATURE_PV_UNHALT) | (1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT);

/* The filter of the comment above, on the VM-wide table. */
static void kvm_cpuid_filter(struct kvm *k, struct kvm_cpuid2 *t)
{
    bool deadline = kvm_check_cap(k, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
    for (uint32_t i = 0; i < t->nent; i++) {
        struct kvm_cpuid_entry2 *e = &t->entries[i];
        switch (e->function) {
        case 1:
            e->ecx |= CPUID_1_ECX_HYPERVISOR;
            if (deadline)
                e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
            e->ecx &= ~(CPUID_1_ECX_PDCM | CPUID_1_ECX_DTES64);
            e->edx &= ~CPUID_1_EDX_DS;
            break;
        case 6:
        case 0xa:
        case 0x80000022:
            e->eax = e->ebx = e->ecx = e->edx = 0;
            break;
        case KVM_CPUID_FEATURES_LEAF:
            e->eax &= kvm_features_kept;
            e->edx = 0;
            break;
        case 0x80000001:
            e->ecx &= ~CPUID_80000001_ECX_PERFCTR_CORE;
            break;
        case 0x80000002:
        case 0x80000003:
        case 0x80000004:
            __cpuid(e->function, e->eax, e->ebx, e->ecx, e->edx);
            break;
        }
    }
}

int kvm_cpuid_load(struct kvm *k, struct error **errp)
{
    /* The kernel says E2BIG until the table is large enough. */
    for (uint32_t n = 64; n <= 4096; n *= 2) {
        struct kvm_cpuid2 *t = calloc(1, sizeof(*t) + n * sizeof(t->entries[0]));
        if (!t)
            return err_set(errp, ENOMEM, _("out of memory"));
        t->nent = n;
        if (ioctl(k->dev_fd, KVM_GET_SUPPORTED_CPUID, t) == 0) {
            kvm_cpuid_filter(k, t);
            k->cpuid = t;
            return 0;
        }
        int e = errno;
        free(t);
        if (e != E2BIG)
            return err_set_errno(errp, e, _("KVM: KVM_GET_SUPPORTED_CPUID"));
    }
    return err_set(errp, E2BIG, _("KVM: KVM_GET_SUPPORTED_CPUID: too many entries"));
}

/* Bits needed to number n things (0 for 1). */
static uint32_t bits_for(uint32_t n)
{
    uint32_t b = 0;
    while ((1u << b) < n)
        b++;
    return b;
}

int kvm_cpu_setup_cpuid(struct kvm_cpu *c, struct error **errp)
{
    struct kvm *k = c->k;
    size_t sz = sizeof(*k->cpuid) + k->cpuid->nent * sizeof(k->cpuid->entries[0]);
    struct kvm_cpuid2 *t = malloc(sz);
    if (!t)
        return err_set(errp, ENOMEM, _("out of memory"));
    memcpy(t, k->cpuid, sz);
    uint32_t id = (uint32_t)c->index, n = (uint32_t)k->cfg.accel.n_cpus;
    for (uint32_t i = 0; i < t->nent; i++) {
        struct kvm_cpuid_entry2 *e = &t->entries[i];
        switch (e->function) {
        case 1:
            e->ebx = (e->ebx & 0x0000ffffu) | (id << 24) | (MIN(n, 255u) << 16);
            break;
        case 0xb:
        case 0x1f:
            /* level 0: SMT, one thread per core; level 1: cores; then none */
            e->edx = id;
            if (e->index == 0) {
                e->eax = 0;
                e->ebx = 1;
                e->ecx = 0 | (1u << 8);
            } else if (e->index == 1) {
                e->eax = bits_for(n);
                e->ebx = n;
                e->ecx = 1 | (2u << 8);
            } else {
                e->eax = e->ebx = 0;
                e->ecx = e->index;
            }
            break;
        case 0x80000008:
            e->ecx = (e->ecx & ~0xf0ffu) | ((n - 1) & 0xff);
            break;
        }
    }
    int r = ioctl(c->fd, KVM_SET_CPUID2, t);
    int e = errno;
    free(t);
    if (r < 0)
        return err_set_errno(errp, e, _("KVM: vCPU %d: KVM_SET_CPUID2"), c->index);
    return 0;
}
