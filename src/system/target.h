/* target.h - what makes emu-system-riscv64 and emu-system-x86_64 differ.
 *
 * Every emu-system-* program is the same main (src/system/main.c and the
 * monitor, savevm, gdb stub ... beside it, built once into libsystem.a)
 * linked with one target file that defines system_target: the guest
 * architecture's name, the lines of --help that are its own, its boards,
 * its -cpu models and its accelerators.  Nothing in libsystem.a names an
 * architecture; a new program is a new target file (TinyEMU's explicit
 * machine tables, one per program).
 */
#ifndef EMU_SYSTEM_TARGET_H
#define EMU_SYSTEM_TARGET_H

#include <stdio.h>
#include "common.h"
#include "error.h"
#include "hw/machine.h"

struct system_target {
    /* QMP query-target's "arch", the registry's target: "riscv64" */
    const char *name;
    /* --help from its second line down to the end of the "Boot:" block
     * (N_(): translated when printed), and the description of the board
     * and accelerator lines; the rest of the help is common. */
    const char *help_head;
    const char *default_machine;
    /* The boards, NULL-terminated; the first is the default. */
    const struct machine_ops *const *machines;
    /* -cpu: the default model, "-cpu help"'s list (one per line), and a
     * check of ARG that prints nothing (errors through errp). */
    const char *default_cpu;
    const char *cpu_models;
    int (*cpu_parse)(const char *arg, struct error **errp);
    /* The accelerators the program has, in -accel's names, the default
     * first, NULL-terminated. */
    const char *const *accels;
    /* Why an accelerator qemu has is missing here (NULL: the plain
     * "invalid accelerator" message); N_() text. */
    const char *(*accel_missing)(const char *name);
    /* -gdb/-s work (the boards have debug ops for gdb) */
    bool gdbstub;
};

/* Defined by the program's target file (target-riscv64.c, target-x86_64.c). */
extern const struct system_target system_target;

/* The board named NAME among system_target.machines, or NULL. */
const struct machine_ops *system_machine_find(const char *name);

#endif
