/* kvm.c - /dev/kvm and the VM: the API version, the capabilities this
 * glue relies on, the VM's x86 housekeeping addresses.
 *
 * Every capability used anywhere in lib/kvm is checked here, once, so a
 * kernel that lacks one fails at start with its name rather than with
 * an EINVAL from some ioctl in the middle of a boot.
 */
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "kvm/kvm-int.h"
#include "i18n.h"

/* Capabilities without which nothing here works. */
static const struct {
    long cap;
    const char *name;
} kvm_required[] = {
    { KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
    { KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },         /* KVM_GET_SUPPORTED_CPUID */
    { KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },   /* VMX's real-mode TSS */
    { KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },   /* race-free kicks */
    { KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
    { KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
    { KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },           /* APs wait for INIT/SIPI */
};

/* Where KVM keeps its own pages on Intel (the real-mode TSS, three pages,
 * and the identity-map page table): just below the 4 GiB boundary, in
 * the hole no board puts RAM or devices into (qemu uses the same area). */
#define KVM_TSS_ADDR 0xfffbd000u
#define KVM_IDMAP_ADDR 0xfffbc000u

int kvm_check_cap(struct kvm *k, long cap)
{
    int r = -1;
    if (k->vm_fd >= 0)
        r = ioctl(k->vm_fd, KVM_CHECK_EXTENSION, cap);
    if (r < 0)
        r = ioctl(k->dev_fd, KVM_CHECK_EXTENSION, cap);
    return r < 0 ? 0 : r;
}

/* One line naming the fix for each way opening the device fails. */
static int kvm_open_error(struct error **errp, const char *path, int e)
{
    const char *fix;
    if (e == ENOENT || e == ENODEV || e == ENXIO)
        fix = _("load the kvm-intel or kvm-amd module, and enable virtualization "
                "(VT-x/AMD-V) in the firmware");
    else if (e == EACCES || e == EPERM)
        fix = _("add yourself to group kvm (sudo usermod -aG kvm $USER, then log in "
                "again) or make the device readable and writable");
    else
        fix = _("check that the KVM kernel module is loaded");
    return err_set(errp, e, _("Could not access KVM kernel module %s: %s; %s"), path,
                   strerror(e), fix);
}

int kvm_open(struct kvm **out, const struct kvm_config *cfg, struct error **errp)
{
    *out = NULL;
    if (cfg->accel.n_cpus < 1 || cfg->accel.n_cpus > KVM_MAX_CPUS)
        return err_set(errp, EINVAL, _("KVM: %d vCPUs asked, 1 to %d possible"),
                       cfg->accel.n_cpus, KVM_MAX_CPUS);
    struct kvm *k = calloc(1, sizeof(*k));
    if (!k)
        return err_set(errp, ENOMEM, _("out of memory"));
    k->cfg = *cfg;
    k->vm_fd = -1;
    const char *path = cfg->dev_path ? cfg->dev_path : KVM_DEV_PATH;
    k->dev_fd = open(path, O_RDWR | O_CLOEXEC);
    if (k->dev_fd < 0) {
        int e = errno;
        free(k);
        return kvm_open_error(errp, path, e);
    }
    int r;
    int ver = ioctl(k->dev_fd, KVM_GET_API_VERSION, 0);
    if (ver != KVM_API_VERSION) {
        r = err_set(errp, ENOTSUP, _("%s: KVM API version %d, this program needs %d"), path,
                    ver, KVM_API_VERSION);
        goto fail;
    }
    for (size_t i = 0; i < ARRAY_SIZE(kvm_required); i++)
        if (kvm_check_cap(k, kvm_required[i].cap) <= 0) {
            r = err_set(errp, ENOTSUP, _("%s: the kernel's KVM lacks %s"), path,
                        kvm_required[i].name);
            goto fail;
        }
    int sz = ioctl(k->dev_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (sz < (int)sizeof(struct kvm_run)) {
        r = err_set_errno(errp, sz < 0 ? errno : EINVAL, _("%s: KVM_GET_VCPU_MMAP_SIZE"), path);
        goto fail;
    }
    k->run_size = (size_t)sz;
    do
        k->vm_fd = ioctl(k->dev_fd, KVM_CREATE_VM, 0);
    while (k->vm_fd < 0 && errno == EINTR);
    if (k->vm_fd < 0) {
        r = err_set_errno(errp, errno, _("%s: cannot create a VM"), path);
        goto fail;
    }
    fcntl(k->vm_fd, F_SETFD, FD_CLOEXEC);
    /* The limits: KVM_CAP_MAX_VCPUS, else the recommended NR_VCPUS. */
    k->max_cpus = kvm_check_cap(k, KVM_CAP_MAX_VCPUS);
    if (k->max_cpus <= 0)
        k->max_cpus = kvm_check_cap(k, KVM_CAP_NR_VCPUS);
    if (k->max_cpus <= 0)
        k->max_cpus = 4;
    k->max_slots = kvm_check_cap(k, KVM_CAP_NR_MEMSLOTS);
    if (k->max_slots <= 0 || k->max_slots > KVM_MAX_SLOTS)
        k->max_slots = KVM_MAX_SLOTS;
    k->readonly_mem = kvm_check_cap(k, KVM_CAP_READONLY_MEM) > 0;
    if (cfg->accel.n_cpus > k->max_cpus) {
        r = err_set(errp, EINVAL, _("KVM: %d vCPUs asked, this kernel runs at most %d"),
                    cfg->accel.n_cpus, k->max_cpus);
        goto fail;
    }
    if (ioctl(k->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0) {
        r = err_set_errno(errp, errno, _("KVM: KVM_SET_TSS_ADDR"));
        goto fail;
    }
    if (kvm_check_cap(k, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
        uint64_t a = KVM_IDMAP_ADDR;
        if (ioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &a) < 0) {
            r = err_set_errno(errp, errno, _("KVM: KVM_SET_IDENTITY_MAP_ADDR"));
            goto fail;
        }
    }
    if ((r = kvm_cpuid_load(k, errp)) < 0)
        goto fail;
    *out = k;
    return 0;
fail:
    kvm_close(k);
    return r;
}

int kvm_vm_fd(struct kvm *k)
{
    return k->vm_fd;
}

int kvm_n_cpus(struct kvm *k)
{
    return k->n_cpus;
}

struct kvm_cpu *kvm_cpu(struct kvm *k, int i)
{
    return i >= 0 && i < k->n_cpus ? k->cpus[i] : NULL;
}

void kvm_close(struct kvm *k)
{
    if (!k)
        return;
    kvm_stop(k);
    for (int i = 0; i < k->n_cpus; i++) {
        struct kvm_cpu *c = k->cpus[i];
        if (c->run)
            munmap(c->run, k->run_size);
        if (c->fd >= 0)
            close(c->fd);
        free(c);
    }
    free(k->cpuid);
    if (k->vm_fd >= 0)
        close(k->vm_fd);
    if (k->dev_fd >= 0)
        close(k->dev_fd);
    free(k);
}
