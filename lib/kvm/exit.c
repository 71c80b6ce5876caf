/* exit.c - what a vCPU does when KVM_RUN returns: port I/O and MMIO to
 * the machine's devices, HLT, the guest's power requests, and fatal
 * errors reported with the registers.
 *
 * Port I/O and MMIO go to the ops of struct kvm_config, or by default
 * to the config's maps (hw/mem.h): the memory map for MMIO, the port map
 * (a struct mem_map over 0..0xffff) for PIO, so a device model written
 * for the riscv board (hw/uart16550.c at 0x3f8) is attached to an x86
 * machine by adding its region to the port map.  mem_mmio_read/write
 * take the device lock for the one access.  What no device decodes reads
 * as all ones and drops writes, as an x86 bus does; the guest probing
 * absent legacy ports (Linux does, at boot) must not stop the machine.
 */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include "kvm/kvm-int.h"
#include "i18n.h"
#include "msg.h"

static bool kvm_pio_read(struct kvm_cpu *c, uint16_t port, unsigned size, uint32_t *val)
{
    const struct kvm_config *cfg = &c->k->cfg;
    if (cfg->ops && cfg->ops->pio_read)
        return cfg->ops->pio_read(cfg->opaque, c->index, port, size, val);
    uint64_t v;
    if (!cfg->accel.pio || !mem_mmio_read(cfg->accel.pio, port, size, &v))
        return false;
    *val = (uint32_t)v;
    return true;
}

static bool kvm_pio_write(struct kvm_cpu *c, uint16_t port, unsigned size, uint32_t val)
{
    const struct kvm_config *cfg = &c->k->cfg;
    if (cfg->ops && cfg->ops->pio_write)
        return cfg->ops->pio_write(cfg->opaque, c->index, port, size, val);
    return cfg->accel.pio && mem_mmio_write(cfg->accel.pio, port, size, val);
}

static bool kvm_mmio_read(struct kvm_cpu *c, uint64_t addr, unsigned size, uint64_t *val)
{
    const struct kvm_config *cfg = &c->k->cfg;
    if (cfg->ops && cfg->ops->mmio_read)
        return cfg->ops->mmio_read(cfg->opaque, c->index, addr, size, val);
    return cfg->accel.mem && mem_mmio_read(cfg->accel.mem, addr, size, val);
}

static bool kvm_mmio_write(struct kvm_cpu *c, uint64_t addr, unsigned size, uint64_t val)
{
    const struct kvm_config *cfg = &c->k->cfg;
    if (cfg->ops && cfg->ops->mmio_write)
        return cfg->ops->mmio_write(cfg->opaque, c->index, addr, size, val);
    return cfg->accel.mem && mem_mmio_write(cfg->accel.mem, addr, size, val);
}

/* KVM_EXIT_IO: count accesses of size bytes each (string I/O: count > 1),
 * in the kvm_run page at data_offset. */
static bool kvm_exit_io(struct kvm_cpu *c)
{
    struct kvm_run *run = c->run;
    unsigned size = run->io.size;
    uint64_t off = run->io.data_offset;
    uint64_t n = run->io.count;
    /* The kernel fills these; checked anyway, as any input that indexes
     * memory here is. */
    if ((size != 1 && size != 2 && size != 4) || off > c->k->run_size ||
        n > (c->k->run_size - off) / size) {
        kvm_cpu_fatal(c, "KVM_EXIT_IO with a bad size/offset/count");
        return false;
    }
    uint8_t *data = (uint8_t *)run + off;
    for (uint64_t i = 0; i < n; i++, data += size) {
        uint16_t port = run->io.port;
        if (run->io.direction == KVM_EXIT_IO_OUT) {
            uint32_t v = 0;
            memcpy(&v, data, size);
            kvm_pio_write(c, port, size, v);
        } else {
            uint32_t v;
            if (!kvm_pio_read(c, port, size, &v))
                v = 0xffffffffu;
            memcpy(data, &v, size);
        }
    }
    return true;
}

static bool kvm_exit_mmio(struct kvm_cpu *c)
{
    struct kvm_run *run = c->run;
    unsigned len = run->mmio.len;
    if (len == 0 || len > 8) {
        kvm_cpu_fatal(c, "KVM_EXIT_MMIO with a bad length");
        return false;
    }
    if (run->mmio.is_write) {
        uint64_t v = 0;
        memcpy(&v, run->mmio.data, len);
        kvm_mmio_write(c, run->mmio.phys_addr, len, v);
    } else {
        uint64_t v;
        if (!kvm_mmio_read(c, run->mmio.phys_addr, len, &v))
            v = UINT64_MAX;
        memcpy(run->mmio.data, &v, len);
    }
    return true;
}

void kvm_cpu_event(struct kvm_cpu *c, enum kvm_event ev, const char *detail)
{
    const struct kvm_config *cfg = &c->k->cfg;
    if (cfg->ops && cfg->ops->event) {
        cfg->ops->event(cfg->opaque, c->index, ev, detail);
        return;
    }
    if (!cfg->accel.request || !cfg->accel.machine)
        return;
    switch (ev) {
    case KVM_EVENT_POWEROFF:
        cfg->accel.request(cfg->accel.machine, MACHINE_SHUTDOWN, 0);
        break;
    case KVM_EVENT_RESET:
        cfg->accel.request(cfg->accel.machine, MACHINE_RESET, 0);
        break;
    case KVM_EVENT_CRASH:
    case KVM_EVENT_ERROR:
        /* qemu's guest-panicked / internal error: the machine stops,
         * exit status 1 */
        cfg->accel.request(cfg->accel.machine, MACHINE_SHUTDOWN, 1);
        break;
    }
}

void kvm_cpu_fatal(struct kvm_cpu *c, const char *why)
{
    char regs[1536];
    kvm_cpu_dump(c, regs, sizeof(regs));
    msg_error(_("KVM: vCPU %d stopped: %s\n%s"), c->index, why, regs);
    kvm_cpu_event(c, KVM_EVENT_ERROR, why);
}

bool kvm_handle_exit(struct kvm_cpu *c)
{
    struct kvm_run *run = c->run;
    char why[160];
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        c->counts.pio++;
        return kvm_exit_io(c);
    case KVM_EXIT_MMIO:
        c->counts.mmio++;
        return kvm_exit_mmio(c);
    case KVM_EXIT_INTR:
        c->counts.intr++;
        return true;
    case KVM_EXIT_HLT: {
        /* Only without the in-kernel irqchip (with it, HLT sleeps in the
         * kernel until an interrupt). */
        c->counts.hlt++;
        const struct kvm_config *cfg = &c->k->cfg;
        return cfg->ops && cfg->ops->halt && cfg->ops->halt(cfg->opaque, c->index);
    }
    case KVM_EXIT_SHUTDOWN:
        /* A triple fault: a PC resets. */
        c->counts.shutdown++;
        kvm_cpu_event(c, KVM_EVENT_RESET, "triple fault");
        return false;
    case KVM_EXIT_SYSTEM_EVENT:
        c->counts.system_event++;
        switch (run->system_event.type) {
        case KVM_SYSTEM_EVENT_SHUTDOWN:
            kvm_cpu_event(c, KVM_EVENT_POWEROFF, "shutdown");
            return false;
        case KVM_SYSTEM_EVENT_RESET:
            kvm_cpu_event(c, KVM_EVENT_RESET, "reset");
            return false;
        case KVM_SYSTEM_EVENT_CRASH:
            kvm_cpu_fatal(c, "the guest crashed (KVM_SYSTEM_EVENT_CRASH)");
            return false;
        default:
            snprintf(why, sizeof(why), "unknown KVM_SYSTEM_EVENT type %u",
                     run->system_event.type);
            kvm_cpu_fatal(c, why);
            return false;
        }
    case KVM_EXIT_FAIL_ENTRY:
        c->counts.other++;
        snprintf(why, sizeof(why),
                 "KVM_EXIT_FAIL_ENTRY (hardware entry failure reason 0x%llx, host CPU %u)",
                 (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
                 run->fail_entry.cpu);
        kvm_cpu_fatal(c, why);
        return false;
    case KVM_EXIT_INTERNAL_ERROR: {
        c->counts.other++;
        int n = snprintf(why, sizeof(why), "KVM_EXIT_INTERNAL_ERROR (suberror %u%s",
                         run->internal.suberror,
                         run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
                             ? ": instruction emulation failed" : "");
        for (uint32_t i = 0; i < run->internal.ndata && i < 4 && n > 0 &&
                             (size_t)n < sizeof(why); i++)
            n += snprintf(why + n, sizeof(why) - (size_t)n, "%s0x%llx", i ? " " : "; data ",
                          (unsigned long long)run->internal.data[i]);
        if (n > 0 && (size_t)n < sizeof(why) - 1)
            snprintf(why + n, sizeof(why) - (size_t)n, ")");
        kvm_cpu_fatal(c, why);
        return false;
    }
    default:
        c->counts.other++;
        snprintf(why, sizeof(why), "unexpected KVM exit reason %u", run->exit_reason);
        kvm_cpu_fatal(c, why);
        return false;
    }
}
