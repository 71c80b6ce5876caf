/* memslot.c - guest RAM as KVM memory slots, and their dirty logs.
 *
 * The board's struct mem_map stays the one description of guest memory:
 * kvm_map_ram() turns each RAM/ROM region into a slot of the same host
 * mapping, so devices (through mem_ram_ptr) and the guest see the same
 * bytes.  MMIO regions get no slot: a guest access there exits to
 * userspace and goes to the map's MMIO dispatch (exit.c).
 */
#include <config.h>
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include "kvm/kvm-int.h"
#include "i18n.h"

int kvm_set_slot(struct kvm *k, int slot, uint64_t gpa, uint64_t size, void *hva,
                 uint32_t flags, struct error **errp)
{
    uint64_t end;
    if (slot < 0 || slot >= k->max_slots)
        return err_set(errp, ENOSPC, _("KVM: memory slot %d out of range (0..%d)"), slot,
                       k->max_slots - 1);
    if ((gpa | size | (uintptr_t)hva) & 4095 || ADD_OVERFLOWS(gpa, size, &end))
        return err_set(errp, EINVAL, _("KVM: memory slot %d at 0x%" PRIx64 " size 0x%" PRIx64
                                       " is not page-aligned"), slot, gpa, size);
    if ((flags & KVM_MEM_READONLY) && !k->readonly_mem)
        flags &= ~(uint32_t)KVM_MEM_READONLY;   /* ROM becomes RAM: the guest can write it */
    struct kvm_userspace_memory_region r = {
        .slot = (uint32_t)slot,
        .flags = flags,
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = (uintptr_t)hva,
    };
    if (ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
        return err_set_errno(errp, errno, _("KVM: cannot map memory slot %d at 0x%" PRIx64
                                            " size 0x%" PRIx64), slot, gpa, size);
    struct kvm_slot *s = &k->slots[slot];
    *s = (struct kvm_slot){ .used = size != 0, .gpa = gpa, .size = size, .hva = hva,
                            .flags = flags };
    return 0;
}

int kvm_map_ram(struct kvm *k, const struct mem_map *m, bool dirty, struct error **errp)
{
    int slot = 0;
    mem_ram_hugepages(m);
    for (int i = 0; i < m->n; i++) {
        const struct mem_region *r = &m->r[i];
        if (r->kind == MEM_MMIO)
            continue;
        uint32_t flags = r->kind == MEM_ROM ? KVM_MEM_READONLY
                         : dirty ? KVM_MEM_LOG_DIRTY_PAGES : 0;
        int ret = kvm_set_slot(k, slot++, r->base, r->size, r->host, flags, errp);
        if (ret < 0) {
            err_prefix(errp, _("memory region '%s': "), r->name);
            return ret;
        }
    }
    return 0;
}

int kvm_slot_pages(struct kvm *k, int slot)
{
    if (slot < 0 || slot >= k->max_slots || !k->slots[slot].used)
        return -ENOENT;
    return (int)(k->slots[slot].size / 4096);
}

int kvm_get_dirty_log(struct kvm *k, int slot, uint64_t *bitmap, struct error **errp)
{
    if (kvm_slot_pages(k, slot) < 0 || !(k->slots[slot].flags & KVM_MEM_LOG_DIRTY_PAGES))
        return err_set(errp, EINVAL, _("KVM: memory slot %d does not log dirty pages"), slot);
    struct kvm_dirty_log d;
    memset(&d, 0, sizeof(d));
    d.slot = (uint32_t)slot;
    d.dirty_bitmap = bitmap;
    if (ioctl(k->vm_fd, KVM_GET_DIRTY_LOG, &d) < 0)
        return err_set_errno(errp, errno, _("KVM: KVM_GET_DIRTY_LOG of slot %d"), slot);
    return 0;
}
