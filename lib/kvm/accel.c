/* accel.c - KVM as a board's accelerator (lib/accel.h): the VM, the
 * board's RAM as memory slots, the in-kernel irqchip and PIT, and the
 * vCPUs, with every exit going to the config's memory and port maps.
 */
#include <config.h>
#include "kvm/kvm-int.h"

static int kvm_accel_create(void **out, const struct accel_config *cfg, struct error **errp)
{
    struct kvm_config kc = { .accel = *cfg };
    struct kvm *k;
    int r = kvm_open(&k, &kc, errp);
    if (r < 0)
        return r;
    if ((cfg->mem && (r = kvm_map_ram(k, cfg->mem, false, errp)) < 0) ||
        (r = kvm_create_irqchip(k, true, errp)) < 0 || (r = kvm_vcpus_create(k, errp)) < 0) {
        kvm_close(k);
        return r;
    }
    *out = k;
    return 0;
}

static int kvm_accel_start(void *a, struct error **errp)
{
    return kvm_start(a, errp);
}

static void kvm_accel_stop(void *a)
{
    kvm_stop(a);
}

static int kvm_accel_reset(void *a, struct error **errp)
{
    struct kvm *k = a;
    kvm_stop(k);
    for (int i = 0; i < k->n_cpus; i++) {
        int r = kvm_cpu_reset(k->cpus[i], errp);
        if (r < 0)
            return r;
    }
    return 0;
}

static void kvm_accel_destroy(void *a)
{
    kvm_close(a);
}

const struct accel_ops kvm_accel_ops = {
    .name = "kvm",
    .create = kvm_accel_create,
    .start = kvm_accel_start,
    .stop = kvm_accel_stop,
    .reset = kvm_accel_reset,
    .destroy = kvm_accel_destroy,
};
