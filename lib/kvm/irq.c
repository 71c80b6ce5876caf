/* irq.c - the in-kernel interrupt controllers and timer, and the lines
 * into them.
 *
 * With KVM_CREATE_IRQCHIP the kernel emulates the two 8259 PICs, the
 * IOAPIC and every vCPU's local APIC: interrupts, IPIs and HLT never
 * leave the kernel, and devices only raise GSIs (kvm_irq_line, or an
 * irqfd without a system call on the device side's thread).  The PIT
 * (KVM_CREATE_PIT2) is in-kernel too, so the guest's timer calibration
 * does not exit at all; its speaker port is a dummy.  kvmclock is the
 * kernel's as well: it needs nothing here but the CPUID bits (cpuid.c).
 */
#include <config.h>
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include "kvm/kvm-int.h"
#include "i18n.h"

int kvm_create_irqchip(struct kvm *k, bool pit, struct error **errp)
{
    if (k->n_cpus)
        return err_set(errp, EBUSY, _("KVM: the irqchip must come before the vCPUs"));
    if (kvm_check_cap(k, KVM_CAP_IRQCHIP) <= 0)
        return err_set(errp, ENOTSUP, _("KVM: the kernel's KVM lacks %s"), "KVM_CAP_IRQCHIP");
    if (pit && kvm_check_cap(k, KVM_CAP_PIT2) <= 0)
        return err_set(errp, ENOTSUP, _("KVM: the kernel's KVM lacks %s"), "KVM_CAP_PIT2");
    if (ioctl(k->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
        return err_set_errno(errp, errno, _("KVM: cannot create the in-kernel irqchip"));
    k->irqchip = true;
    if (pit) {
        struct kvm_pit_config pc;
        memset(&pc, 0, sizeof(pc));
        pc.flags = KVM_PIT_SPEAKER_DUMMY;
        if (ioctl(k->vm_fd, KVM_CREATE_PIT2, &pc) < 0)
            return err_set_errno(errp, errno, _("KVM: cannot create the in-kernel PIT"));
        k->pit = true;
    }
    return 0;
}

bool kvm_has_irqchip(struct kvm *k)
{
    return k->irqchip;
}

int kvm_irq_line(struct kvm *k, uint32_t gsi, int level)
{
    if (!k->irqchip)
        return -ENODEV;
    struct kvm_irq_level l;
    memset(&l, 0, sizeof(l));
    l.irq = gsi;
    l.level = level ? 1 : 0;
    return ioctl(k->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

void kvm_irq_set(void *kvm, int gsi, int level)
{
    if (gsi >= 0)
        kvm_irq_line(kvm, (uint32_t)gsi, level);
}
