/* target-x86_64.c - emu-system-x86_64: x86-64 guests on KVM, on qemu's
 * "microvm" board (hw/x86/microvm.c).
 *
 *     emu-system-x86_64 -M microvm -nographic -kernel bzImage -initrd initrd.gz ...
 *
 * There is no x86 translator: KVM is the only accelerator, and the
 * default, and -cpu names the host's CPU as KVM offers it.
 */
#include <config.h>
#include <errno.h>
#include <string.h>
#include "target.h"
#include "i18n.h"

extern const struct machine_ops microvm_machine;

static const struct machine_ops *const x86_64_machines[] = {
    &microvm_machine,
    NULL,
};

static const char *const x86_64_accels[] = { "kvm", NULL };

/* "host" and "max" both mean what KVM_GET_SUPPORTED_CPUID gives (filtered
 * by lib/kvm/cpuid.c); named models and feature flags are not kept. */
static int x86_64_cpu_parse(const char *arg, struct error **errp)
{
    size_t n = strcspn(arg, ",");
    if ((n == 4 && strncmp(arg, "host", 4) == 0) || (n == 3 && strncmp(arg, "max", 3) == 0)) {
        if (arg[n])
            return err_set(errp, ENOTSUP, _("-cpu %s: CPU feature flags are not supported"),
                           arg);
        return 0;
    }
    return err_set(errp, EINVAL, _("-cpu %s: unknown CPU model (this program has 'host' "
                                   "and 'max', the host's CPU as KVM offers it)"), arg);
}

static const char *x86_64_accel_missing(const char *name)
{
    if (strcmp(name, "tcg") == 0)
        return N_("there is no x86 translator yet; use -accel kvm");
    return NULL;
}

const struct system_target system_target = {
    .name = "x86_64",
    .help_head = N_("Emulate a whole x86-64 machine (x86_64, qemu's 'microvm' board) on KVM.\n"
                    "\n"
                    "Machine:\n"
                    "  -M, -machine [type=]NAME[,accel=kvm]\n"
                    "                   the board ('-M help' lists them; default microvm)\n"
                    "  -m [size=]SIZE   guest RAM: MiB, or with a k/M/G/T suffix (default 128M)\n"
                    "  -smp [cpus=]N[,sockets=S,cores=C,threads=T]\n"
                    "                   number of vCPUs (default 1)\n"
                    "  -cpu host|max    the host's CPU as KVM offers it (the default)\n"
                    "  -accel kvm       the accelerator: KVM, the default and the only one\n"
                    "                   (there is no x86 translator yet); needs /dev/kvm\n"
                    "  -enable-kvm      the same as -accel kvm\n"
                    "\n"
                    "Boot:\n"
                    "  -kernel FILE     Linux kernel: a bzImage, or an ELF vmlinux (PVH entry)\n"
                    "  -initrd FILE     initial RAM disk\n"
                    "  -append CMDLINE  kernel command line\n"),
    .default_machine = "microvm",
    .machines = x86_64_machines,
    .default_cpu = "host",
    .cpu_models = "host\nmax\n",
    .cpu_parse = x86_64_cpu_parse,
    .accels = x86_64_accels,
    .accel_missing = x86_64_accel_missing,
    .gdbstub = false,
};
