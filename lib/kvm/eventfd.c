/* eventfd.c - ioeventfd and irqfd: a virtqueue kick that the kernel
 * turns into an eventfd signal (no exit to a vCPU thread, no device lock
 * taken on the vCPU), and an interrupt a device raises by writing an
 * eventfd (no ioctl on its path).  The device back end watches the kick
 * fd in the loop or an I/O thread; the guest sees the interrupt without
 * the vCPU leaving the kernel.
 */
#include <config.h>
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include "kvm/kvm-int.h"
#include "i18n.h"

int kvm_ioeventfd(struct kvm *k, int fd, uint64_t addr, unsigned len, bool pio,
                  bool datamatch, uint64_t data, bool assign, struct error **errp)
{
    if (len != 0 && len != 1 && len != 2 && len != 4 && len != 8)
        return err_set(errp, EINVAL, _("KVM: ioeventfd length %u"), len);
    if (datamatch && len == 0)
        return err_set(errp, EINVAL, _("KVM: ioeventfd datamatch needs a length"));
    struct kvm_ioeventfd io;
    memset(&io, 0, sizeof(io));
    io.datamatch = data;
    io.addr = addr;
    io.len = len;
    io.fd = fd;
    io.flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
               (datamatch ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
               (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN);
    if (ioctl(k->vm_fd, KVM_IOEVENTFD, &io) < 0)
        return err_set_errno(errp, errno, _("KVM: ioeventfd at %s 0x%" PRIx64),
                             pio ? "port" : "address", addr);
    return 0;
}

int kvm_irqfd(struct kvm *k, int fd, uint32_t gsi, int resamplefd, bool assign,
              struct error **errp)
{
    if (!k->irqchip)
        return err_set(errp, ENODEV, _("KVM: irqfd needs the in-kernel irqchip"));
    if (assign && resamplefd >= 0 && kvm_check_cap(k, KVM_CAP_IRQFD_RESAMPLE) <= 0)
        return err_set(errp, ENOTSUP, _("KVM: the kernel's KVM lacks %s"),
                       "KVM_CAP_IRQFD_RESAMPLE");
    struct kvm_irqfd f;
    memset(&f, 0, sizeof(f));
    f.fd = (uint32_t)fd;
    f.gsi = gsi;
    if (!assign)
        f.flags |= KVM_IRQFD_FLAG_DEASSIGN;
    else if (resamplefd >= 0) {
        f.flags |= KVM_IRQFD_FLAG_RESAMPLE;
        f.resamplefd = (uint32_t)resamplefd;
    }
    if (ioctl(k->vm_fd, KVM_IRQFD, &f) < 0)
        return err_set_errno(errp, errno, _("KVM: irqfd for GSI %u"), gsi);
    return 0;
}
