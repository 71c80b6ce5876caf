/* machine.h - a machine: boards as ops structs in one table, and the
 * state every board shares (options, memory map, loop, console, the
 * shutdown/reset requests).
 *
 * A board (hw/riscv/virt.c) fills the memory map, creates its devices and
 * its CPUs (through the accelerator: translator harts for riscv), loads
 * the boot images and builds the device tree.  The program's main
 * (src/system/) parses options into struct machine_opts, picks the board
 * from its own table (src/system/target.h), and runs the loop until a
 * shutdown request.
 */
#ifndef EMU_HW_MACHINE_H
#define EMU_HW_MACHINE_H

#include "common.h"
#include "error.h"
#include "loop.h"
#include "hw/mem.h"

struct machine;
struct chardev;
struct pool;
struct drive_set;
struct netdev_set;
struct dev_list;
struct vms_out;
struct vms_in;

#define MACHINE_MAX_SERIAL 4
#define MACHINE_MAX_DEVICES 32
#define MACHINE_MAX_CHARDEVS 16

/* A -chardev: its id, the back-end spec it became (chardev.h) and the
 * open chardev; a front end (a device, -serial chardev:ID) takes it. */
struct machine_chardev {
    char *id;
    char *spec;
    struct chardev *chr;
    bool taken;
};

struct machine_opts {
    const char *type;           /* -M NAME ("virt") */
    char *props;                /* -M virt,KEY=VAL,...: after the name ("dumpdtb=F") */
    const char *dumpdtb;        /* -M virt,dumpdtb=FILE: write the DTB and exit */
    uint64_t ram_size;          /* -m, bytes (default 128 MiB as qemu) */
    int smp;                    /* -smp N */
    const char *cpu;            /* -cpu rv64[,EXT=on|off...] */
    const char *bios;           /* -bios FILE|none|default (NULL = default) */
    const char *kernel, *initrd, *append, *dtb;
    bool no_reboot, no_shutdown, start_stopped;
    const char *name;           /* -name */
    /* -device lines (and the virtio-blk of each -drive if=virtio), in
     * command-line order */
    char *devices[MACHINE_MAX_DEVICES];
    int n_devices;
};

/* Who asked (QMP's SHUTDOWN and RESET events say it). */
enum machine_cause {
    MACHINE_CAUSE_GUEST,        /* the guest (poweroff, reset through the syscon) */
    MACHINE_CAUSE_QMP,          /* a monitor command */
    MACHINE_CAUSE_SIGNAL,       /* SIGINT/SIGTERM */
    MACHINE_CAUSE_UI,           /* Ctrl-A x */
};

enum machine_event {
    MACHINE_RUNNING,
    MACHINE_SHUTDOWN,           /* guest powered off (syscon 0x5555 or exit code) */
    MACHINE_RESET,              /* guest asked for a reset */
    MACHINE_QUIT,               /* the user asked (Ctrl-A x, SIGTERM, monitor) */
};

/* What a debugger (src/system/gdbstub.c) does with a machine's CPUs, all
 * from the loop thread.  CPUs are numbered from 0; registers by the
 * numbers of the target description (target_xml); memory by the CPU's
 * current virtual addresses.  Everything but pause, resume and
 * set_stop_handler needs the CPUs paused (else -EBUSY).  Functions
 * return 0 or -errno unless said otherwise. */
enum machine_stop {
    MACHINE_STOP_NONE,
    MACHINE_STOP_BREAK,         /* at a breakpoint of the debugger's */
    MACHINE_STOP_STEP,          /* a single step ended */
    MACHINE_STOP_PAUSED,        /* pause() stopped it */
};

/* What resume() does with each CPU. */
enum machine_run { MACHINE_RUN_STOPPED, MACHINE_RUN_CONTINUE, MACHINE_RUN_STEP };

struct machine_debug_ops {
    /* The target description (gdb's XML) and the number of registers
     * gdb's 'g' packet carries (0 .. n_g_regs - 1). */
    const char *(*target_xml)(void *opaque);
    int n_g_regs;
    int (*n_cpus)(void *opaque);
    /* The host thread (Linux tid) that runs cpu, or -1 while none does. */
    int (*cpu_thread_id)(void *opaque, int cpu);
    /* Stop every CPU and wait for them.  Returns the CPU whose stop is
     * to be reported (the first that stopped by itself, else 0) and sets
     * *why. */
    int (*pause)(void *opaque, enum machine_stop *why);
    /* Run again: how[i] (enum machine_run) for CPU i, n_cpus entries.
     * A stepping CPU runs one instruction with interrupts off, then
     * stops (and so do all). */
    int (*resume)(void *opaque, const uint8_t *how, struct error **errp);
    /* Called on the loop thread when a CPU stopped by itself (breakpoint,
     * end of a step); then call pause() to stop the rest and learn which. */
    void (*set_stop_handler)(void *opaque, void (*fn)(void *arg), void *arg);
    /* Register regno of cpu into buf (little-endian): the size in bytes,
     * or -ENOENT when there is no such register. */
    int (*read_reg)(void *opaque, int cpu, int regno, uint8_t *buf);
    int (*write_reg)(void *opaque, int cpu, int regno, const uint8_t *buf, size_t len);
    int (*read_mem)(void *opaque, int cpu, uint64_t va, void *buf, size_t len);
    int (*write_mem)(void *opaque, int cpu, uint64_t va, const void *buf, size_t len);
    /* Software breakpoints at a virtual address of cpu's; remove_all
     * before the debugger goes. */
    int (*insert_bp)(void *opaque, int cpu, uint64_t va);
    int (*remove_bp)(void *opaque, int cpu, uint64_t va);
    void (*remove_all_bp)(void *opaque);
    /* For the human monitor (CPUs paused too): the physical address of a
     * virtual one (-EFAULT: not mapped); the program counter; one instruction at PC from BYTES
     * (LEN of them) as text, returning its length (0: cannot tell); the
     * CPU's state as QEMU's "info registers" prints it, line by line. */
    int (*virt_to_phys)(void *opaque, int cpu, uint64_t va, uint64_t *pa);
    uint64_t (*pc)(void *opaque, int cpu);
    int (*disas)(void *opaque, uint64_t pc, const uint8_t *bytes, size_t len, char *buf,
                 size_t n);
    void (*dump_state)(void *opaque, int cpu, void (*line)(void *arg, const char *text),
                       void *arg);
};

struct machine_ops {
    const char *name;
    const char *desc;
    /* Build everything: memory map, devices, CPUs (not yet running), boot
     * images, device tree.  m->opts, m->loop and m->serial[] are set. */
    int (*create)(struct machine *m, struct error **errp);
    /* Start the CPUs (after create, and again after reset). */
    int (*start)(struct machine *m, struct error **errp);
    /* Stop the CPUs and wait until none runs guest code (loop thread). */
    void (*stop)(struct machine *m);
    /* Power-on state again: devices, CPUs and boot images (CPUs stopped). */
    int (*reset)(struct machine *m, struct error **errp);
    void (*destroy)(struct machine *m);
    /* The debugger's view of the CPUs (after create), or NULL. */
    const struct machine_debug_ops *(*debug)(struct machine *m, void **opaque);
    /* savevm/loadvm: the whole machine's state (RAM, CPUs, devices) into
     * or out of a stream (hw/machine-state.h), CPUs stopped and device
     * requests drained; after a load the CPUs start from the loaded
     * state.  A failed load leaves the machine in no useful state (it
     * stays stopped).  NULL: the board cannot. */
    int (*save_state)(struct machine *m, struct vms_out *f, struct error **errp);
    int (*load_state)(struct machine *m, struct vms_in *f, struct error **errp);
};

struct machine {
    const struct machine_ops *ops;
    struct machine_opts opts;
    struct loop *loop;
    struct mem_map mem;
    struct chardev *serial[MACHINE_MAX_SERIAL];   /* NULL: not connected */
    void *board;                /* the board's own state */
    struct dev_list *devs;      /* the board's devices (info qtree), or NULL */
    struct pool *pool;          /* workers for device back ends (disk I/O) */
    struct drive_set *drives;   /* -drive and -blockdev, opened */
    struct netdev_set *netdevs; /* -netdev and -nic back ends, open */
    struct machine_chardev chardevs[MACHINE_MAX_CHARDEVS];
    int n_chardevs;
    /* Requests, from any thread (machine_request): the loop acts on them. */
    int event;                  /* enum machine_event, atomic */
    int exit_code;
    int cause;                  /* enum machine_cause of the last request */
    struct loop_bh *event_bh;
};

/* The -chardev named ID (opaque: the struct machine), marking it taken;
 * NULL when there is none or it is taken already. */
struct chardev *machine_find_chardev(void *m, const char *id);

/* Ask the loop to act (any thread, no lock needed): a guest poweroff with
 * the process exit code, a reset, or a quit.  The loop calls the handler
 * the main program installed. */
void machine_request(struct machine *m, enum machine_event ev, int exit_code);
/* The same, asked by the host side (exit code 0). */
void machine_request_host(struct machine *m, enum machine_event ev, enum machine_cause cause);

#endif
