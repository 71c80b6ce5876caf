/* target-riscv64.c - emu-system-riscv64: the RISC-V harts of the
 * translator on qemu's "virt" board.
 *
 *     emu-system-riscv64 -M virt -nographic -bios fw_dynamic.bin -kernel Image ...
 */
#include <config.h>
#include "target.h"
#include "riscv/sys.h"
#include "i18n.h"

extern const struct machine_ops virt_machine;

static const struct machine_ops *const riscv64_machines[] = {
    &virt_machine,
    NULL,
};

static const char *const riscv64_accels[] = { "tcg", NULL };

static int riscv64_cpu_parse(const char *arg, struct error **errp)
{
    uint64_t ext;
    return rv_cpu_parse(arg, &ext, errp);
}

const struct system_target system_target = {
    .name = "riscv64",
    .help_head = N_("Emulate a whole RISC-V machine (riscv64, qemu's 'virt' board).\n"
                    "\n"
                    "Machine:\n"
                    "  -M, -machine [type=]NAME[,dumpdtb=FILE][,accel=tcg]\n"
                    "                   the board ('-M help' lists them; default virt)\n"
                    "  -m [size=]SIZE   guest RAM: MiB, or with a k/M/G/T suffix (default 128M)\n"
                    "  -smp [cpus=]N[,sockets=S,cores=C,threads=T]\n"
                    "                   number of harts (default 1)\n"
                    "  -cpu rv64[,EXT=on|off...]\n"
                    "                   the harts' extensions ('-cpu help')\n"
                    "  -accel tcg       the accelerator (the translator; the only one)\n"
                    "\n"
                    "Boot:\n"
                    "  -bios FILE|none|default\n"
                    "                   M-mode firmware (default: OpenSBI's fw_dynamic.bin)\n"
                    "  -kernel FILE     kernel image (Linux Image or ELF)\n"
                    "  -initrd FILE     initial RAM disk\n"
                    "  -append CMDLINE  kernel command line\n"
                    "  -dtb FILE        device tree blob instead of the generated one\n"),
    .default_machine = "virt",
    .machines = riscv64_machines,
    .default_cpu = "rv64",
    .cpu_models = "rv64\nmax\n",
    .cpu_parse = riscv64_cpu_parse,
    .accels = riscv64_accels,
    .gdbstub = true,
};
