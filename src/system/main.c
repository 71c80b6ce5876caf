/* main.c - the main of every emu-system-* program: a whole machine.
 *
 *     emu-system-riscv64 -M virt -nographic -bios fw_dynamic.bin -kernel Image ...
 *     emu-system-x86_64 -M microvm -nographic -kernel bzImage ...
 *
 * A thin main over libcore: it parses qemu-system-*'s options into
 * struct machine_opts, opens the serial back ends, builds the board named
 * by -M from the program's own table (system_target, target.h: the one
 * thing that differs between the programs) and runs the event loop.
 * Whatever ends or restarts the run (guest poweroff or reset, Ctrl-A x,
 * SIGINT/SIGTERM) reaches the loop thread as a machine request and is
 * handled in on_event(), the one place that starts and stops the CPUs
 * after boot.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "chardev.h"
#include "display.h"
#include "gdbstub.h"
#include "hw/drive.h"
#include "hw/machine.h"
#include "hw/net/netdev.h"
#include "hw/virtio/models.h"
#include "keyval.h"
#include "monitor.h"
#include "savevm.h"
#include "export.h"
#include "registry.h"
#include "hmp-session.h"
#include "hw/hw.h"
#include "jobs.h"
#include "target.h"
#include "i18n.h"
#include "log.h"
#include "loop.h"
#include "msg.h"
#include "parse.h"
#include "pool.h"
#include "prog.h"
#include "trace.h"

#define DEFAULT_RAM (UINT64_C(128) << 20)   /* as qemu */
#define MAX_SMP 512                          /* a sanity bound; the board has its own */
#define GDB_DEFAULT "tcp::1234"              /* -s */

struct sys {
    struct loop *loop;
    struct drive_set drives;
    struct machine m;
    const char *serial_spec[MACHINE_MAX_SERIAL];
    bool serial_borrowed[MACHINE_MAX_SERIAL];   /* -serial chardev:ID */
    int n_serial;
    bool nographic, nodefaults, daemonize;
    const char *gdb_dev;        /* -gdb DEV or -s: NULL for none */
    struct gdbstub *gdb;
    const char *pidfile;
    int pidfile_fd;
    int daemon_fd;              /* -daemonize: tells the waiting parent we run */
    bool created;               /* ops->create succeeded: destroy at exit */
    bool running;               /* CPUs started and not stopped */
    bool waiting_start;         /* -S: CPUs wait for a "continue" */
    bool paused;                /* QMP/HMP "stop" */
    uint64_t paused_clock;      /* the machine clock when "stop" came */
    uint64_t paused_sets;       /* hw_clock_set_count() then */
    bool powered_off;           /* -no-shutdown: the guest powered off */
    struct qmp *qmp;            /* the monitors (-qmp, -mon mode=control) */
    const char *qmp_spec[MACHINE_MAX_CHARDEVS];
    struct chardev *qmp_chr[MACHINE_MAX_CHARDEVS];
    int n_qmp;
    char *mon_ids[MACHINE_MAX_CHARDEVS];
    bool mon_readline[MACHINE_MAX_CHARDEVS];    /* -mon mode=readline (HMP) */
    int n_mon;
    const char *hmp_spec[MACHINE_MAX_CHARDEVS];  /* -monitor DEV */
    struct chardev *hmp_chr[MACHINE_MAX_CHARDEVS];
    int n_hmp;
    bool no_monitor;            /* -monitor none: no monitor on mon:stdio */
    int cont_pipe[2];           /* -S: SIGCONT reaches the loop through it */
    int exit_code;
    /* -netdev and -nic back ends, opened once the loop exists */
    char *netdev_spec[NETDEV_MAX];
    int n_netdev;
    int n_nic;                  /* -nic lines so far (their netdev ids) */
    struct netdev_set netdevs;
    /* -display TYPE[,OPTS]: NULL for none */
    const struct display_backend *display;
    const char *display_opts;
    bool display_given;         /* -display was on the command line */
    bool display_started;       /* init succeeded: fini at exit */
};

/* -loadvm TAG: start from the internal snapshot TAG (savevm.c) */
static const char *loadvm_tag;

static struct sys S = { .pidfile_fd = -1, .daemon_fd = -1, .cont_pipe = { -1, -1 } };

static void usage(FILE *fp)
{
    /* the target's own lines first (architecture, machine, boot) */
    fprintf(fp, _("usage: %s [options]\n"), msg_progname());
    fputs(_(system_target.help_head), fp);
    fprintf(fp, _("\n"
                  "Disks and devices:\n"
                  "  -drive file=F[,format=FMT][,if=virtio|none][,id=ID][,cache=MODE]\n"
                  "         [,discard=ignore|unmap][,readonly=on][,snapshot=on][,serial=S]\n"
                  "                   a disk image (any format emu-img reads); if=virtio\n"
                  "                   (the default) puts it on a virtio-blk device\n"
                  "  -blockdev driver=FMT,node-name=N,file.filename=F[,read-only=on]\n"
                  "                   a disk image for -device (key=value or JSON)\n"
                  "  -device NAME[,PROP=VALUE...]\n"
                  "                   add a device ('-device help' lists them):\n"
                  "                   virtio-blk-device,drive=ID  virtio-rng-device\n"
                  "                   virtio-serial-device  virtconsole,chardev=ID\n"
                  "                   virtio-net-device,netdev=ID[,mac=MAC]\n"
                  "  -snapshot        write to temporary overlays, never to the images\n"
                  "  -global virtio-mmio.force-legacy=false\n"
                  "                   accepted for qemu's scripts: virtio-mmio is always modern\n"
                  "  FILE             shorthand for -drive file=FILE\n"
                  "\n"
                  "Network:\n"
                  "  -netdev user,id=ID[,net=ADDR/MASK][,host=ADDR][,dns=ADDR][,dhcpstart=ADDR]\n"
                  "         [,hostfwd=tcp|udp:[HADDR]:HPORT-[GADDR]:GPORT][,restrict=on|off]\n"
                  "         [,hostname=NAME][,ipv6=off][,guestfwd=tcp:ADDR:PORT-cmd:CMD]\n"
                  "                   user-mode networking (libslirp): 10.0.2.0/24, the host\n"
                  "                   at 10.0.2.2, DNS 10.0.2.3, DHCP from 10.0.2.15\n"
                  "  -netdev tap,id=ID[,ifname=NAME|fd=N][,script=no,downscript=no]\n"
                  "                   a host tap interface\n"
                  "  -netdev socket,id=ID,listen=[HOST]:PORT|connect=HOST:PORT|udp=HOST:PORT\n"
                  "         [,localaddr=HOST:PORT]\n"
                  "  -netdev stream,id=ID,server=on|off,addr.type=inet,addr.host=H,addr.port=P\n"
                  "  -netdev dgram,id=ID,remote.type=inet,remote.host=H,remote.port=P\n"
                  "                   frames over a socket to another emulator\n"
                  "  -nic user|tap|socket|...[,model=virtio-net-device][,mac=MAC][,OPTS]\n"
                  "                   a netdev and its virtio-net device in one; -nic none\n"
                  "  -net none        no network (the default: no NIC unless asked for)\n"
                  "\n"
                  "Console and display:\n"
                  "  -nographic       no display; serial port and Ctrl-A keys on the terminal\n"
                  "  -display none    no display\n"
                  "  -display sdl[,OPTS]  the guest's screen in an SDL2 window\n"
                  "  -display curses[,charset=CP437]  text consoles in the terminal\n"
                  "                   (Alt-1, Alt-2, ... switch between them)\n"
                  "  -display help    the display types of this build\n"
                  "  -serial DEV      serial port back end (up to 4): stdio, mon:stdio, pty,\n"
                  "                   file:PATH, unix:PATH[,server=on[,wait=off]], null, none,\n"
                  "                   vc[:80Cx24C] (a text console), chardev:ID\n"
                  "  -chardev BACKEND,id=ID[,path=P][,server=on,wait=off][,mux=on]\n"
                  "                   a character device (stdio, file, pty, null, socket, vc)\n"
                  "                   for -serial chardev:ID or -device virtconsole\n"
                  "  -nodefaults      no default serial port\n"
                  "\n"
                  "Monitor:\n"
                  "  -qmp DEV         a QMP monitor on DEV (as -serial: unix:PATH,server=on,\n"
                  "                   wait=off, stdio, ...)\n"
                  "  -monitor DEV     the human monitor (HMP) on DEV (stdio, unix:PATH,\n"
                  "                   server=on,wait=off, ...); -monitor none: not even\n"
                  "                   on mon:stdio (the default console), where C-a c\n"
                  "                   switches between the serial port and the monitor\n"
                  "  -mon chardev=ID[,mode=readline|control]\n"
                  "                   the human monitor (readline) or QMP on the -chardev ID\n"
                  "\n"
                  "Run control:\n"
                  "  -S               do not start the CPUs (until gdb continues, or SIGCONT)\n"
                  "  -loadvm TAG      start from the internal snapshot TAG (savevm)\n"
                  "  -s               shorthand for -gdb tcp::1234\n"
                  "  -gdb DEV         wait for gdb on DEV (tcp:[HOST]:PORT)\n"
                  "  -no-reboot       exit instead of rebooting\n"
                  "  -no-shutdown     stop the CPUs at guest poweroff instead of exiting\n"
                  "  -name [guest=]NAME[,process=PNAME]\n"
                  "                   name the guest (and the process)\n"
                  "  -pidfile FILE    write the process id to FILE\n"
                  "  -daemonize       run in the background once the machine runs\n"
                  "\n"
                  "Debugging:\n"
                  "  -d CAT[,CAT...]  log categories (-d help lists them)\n"
                  "  -D FILE          write the log to FILE\n"
                  "  -trace [[enable=]PATTERN][,events=FILE][,file=FILE]\n"
                  "                   enable trace events (also -d trace:PATTERN and\n"
                  "                   EMU_TRACE; -trace help lists them)\n"
                  "\n"
                  "  -h, -help        show this help\n"
                  "  -version         show the version\n"
                  "\n"
                  "During emulation with -nographic: C-a h for help, C-a c for the monitor,\n"
                  "C-a x to exit.\n"));
}

/* ---- option values ----
 * Errors name the option and its value, as qemu's ("-m foo: ..."). */

/* "-m [size=]SIZE[,slots=N,maxmem=SIZE]": a bare number is MiB; rounded up
 * to 8 KiB, as qemu does; 0 means the default. */
static int parse_mem(const char *arg, uint64_t *out, struct error **errp)
{
    char *copy = strdup(arg), *save = NULL;
    if (!copy)
        return err_set(errp, ENOMEM, _("out of memory"));
    const char *size = NULL;
    int r = 0;
    for (char *t = strtok_r(copy, ",", &save); t && r == 0; t = strtok_r(NULL, ",", &save)) {
        if (strncmp(t, "size=", 5) == 0)
            size = t + 5;
        else if (!strchr(t, '=') && !size)
            size = t;
        else if (strncmp(t, "slots=", 6) == 0 || strncmp(t, "maxmem=", 7) == 0)
            r = err_set(errp, ENOTSUP, _("memory hotplug (slots, maxmem) is not supported"));
        else
            r = err_set(errp, EINVAL, _("unknown parameter '%s'"), t);
    }
    uint64_t v = 0;
    if (r == 0 && !size)
        r = err_set(errp, EINVAL, _("no size given"));
    if (r == 0)
        r = parse_size_unit(size, UINT64_C(1) << 20, &v, errp);
    if (r == 0 && v > UINT64_MAX - 8191)
        r = err_set(errp, ERANGE, _("invalid size '%s': value too large"), size);
    free(copy);
    if (r < 0)
        return r;
    *out = v ? (v + 8191) & ~UINT64_C(8191) : DEFAULT_RAM;
    return 0;
}

/* "-smp [cpus=]N[,maxcpus=N][,sockets=S][,dies=D][,clusters=L][,cores=C][,threads=T]":
 * the topology only has to multiply up to the number of harts (every
 * hart is its own core to the guest); without cpus= it gives the count. */
static int parse_smp(const char *arg, int *out, struct error **errp)
{
    static const char *const keys[] = { "cpus", "maxcpus", "sockets", "dies", "clusters",
                                        "cores", "threads" };
    int val[7] = { 0 };
    char *copy = strdup(arg), *save = NULL;
    if (!copy)
        return err_set(errp, ENOMEM, _("out of memory"));
    int r = 0;
    bool first = true;
    for (char *t = strtok_r(copy, ",", &save); t && r == 0;
         t = strtok_r(NULL, ",", &save), first = false) {
        char *eq = strchr(t, '=');
        size_t k = 0;
        if (eq) {
            *eq = 0;
            for (k = 0; k < 7 && strcmp(t, keys[k]) != 0; k++)
                ;
            if (k == 7) {
                r = err_set(errp, EINVAL, _("unknown parameter '%s'"), t);
                break;
            }
        } else if (!first) {
            r = err_set(errp, EINVAL, _("'%s' needs a name (cpus=, cores=, ...)"), t);
            break;
        }
        r = parse_int(keys[k], eq ? eq + 1 : t, 1, MAX_SMP, &val[k], errp);
    }
    free(copy);
    if (r < 0)
        return r;
    int product = 1;
    bool topo = false;
    for (int k = 2; k < 7; k++) {
        if (val[k]) {
            product *= val[k];
            topo = true;
        }
        if (product > MAX_SMP)
            return err_set(errp, ERANGE, _("more than %d CPUs"), MAX_SMP);
    }
    int cpus = val[0] ? val[0] : val[1] ? val[1] : product;
    int maxcpus = val[1] ? val[1] : cpus;
    if (maxcpus != cpus)
        return err_set(errp, ENOTSUP, _("CPU hotplug (maxcpus) is not supported"));
    if (topo && product != cpus)
        return err_set(errp, EINVAL,
                       _("the topology gives %d CPUs, but %d are asked for"), product, cpus);
    *out = cpus;
    return 0;
}

/* qemu's accel lists ("kvm:tcg") name alternatives in order: we take the
 * first this program has (system_target.accels). */
static int check_accel(const char *list, struct error **errp)
{
    const char *p = list, *first = NULL;
    size_t first_n = 0;
    while (*p) {
        size_t n = strcspn(p, ":");
        for (int k = 0; system_target.accels[k]; k++)
            if (strlen(system_target.accels[k]) == n &&
                strncmp(p, system_target.accels[k], n) == 0)
                return 0;
        if (!first) {
            first = p;
            first_n = n;
        }
        p += n + (p[n] == ':');
    }
    if (first && system_target.accel_missing) {
        char name[32];
        snprintf(name, sizeof(name), "%.*s", (int)MIN(first_n, sizeof(name) - 1), first);
        const char *why = system_target.accel_missing(name);
        if (why)
            return err_set(errp, ENOTSUP, "%s", _(why));
    }
    return err_set(errp, EINVAL, _("invalid accelerator %s"), list);
}

/* "-M [type=]NAME[,prop=value...]", repeatable, merged as in qemu
 * ("-M virt -M accel=tcg").  accel and dumpdtb are ours; the rest goes to
 * the board in opts.props. */
static int parse_machine(struct machine_opts *o, const char *arg, struct error **errp)
{
    char *copy = strdup(arg), *save = NULL;
    if (!copy)
        return err_set(errp, ENOMEM, _("out of memory"));
    int r = 0;
    bool first = true;
    for (char *t = strtok_r(copy, ",", &save); t && r == 0;
         t = strtok_r(NULL, ",", &save), first = false) {
        const char *v;
        if ((first && !strchr(t, '=')) || strncmp(t, "type=", 5) == 0) {
            v = first && !strchr(t, '=') ? t : t + 5;
            free((char *)o->type);      /* a later -M wins, as in qemu */
            o->type = strdup(v);
            if (!o->type)
                r = err_set(errp, ENOMEM, _("out of memory"));
        } else if (strncmp(t, "accel=", 6) == 0) {
            r = check_accel(t + 6, errp);
        } else if (strncmp(t, "dumpdtb=", 8) == 0) {
            free((char *)o->dumpdtb);
            o->dumpdtb = strdup(t + 8);
            if (!o->dumpdtb)
                r = err_set(errp, ENOMEM, _("out of memory"));
        } else {
            size_t old = o->props ? strlen(o->props) : 0;
            char *p = realloc(o->props, old + strlen(t) + 2);
            if (!p) {
                r = err_set(errp, ENOMEM, _("out of memory"));
                break;
            }
            sprintf(p + old, "%s%s", old ? "," : "", t);
            o->props = p;
        }
    }
    free(copy);
    return r;
}

/* "-accel [accel=]tcg[,thread=single|multi][,tb-size=N]": the properties
 * are accepted for scripts written for qemu; the translator always runs
 * one thread per hart and sizes its own cache. */
static int parse_accel(const char *arg, struct error **errp)
{
    char *copy = strdup(arg), *save = NULL;
    if (!copy)
        return err_set(errp, ENOMEM, _("out of memory"));
    int r = 0;
    bool first = true;
    for (char *t = strtok_r(copy, ",", &save); t && r == 0;
         t = strtok_r(NULL, ",", &save), first = false) {
        if (first && !strchr(t, '='))
            r = check_accel(t, errp);
        else if (strncmp(t, "accel=", 6) == 0)
            r = check_accel(t + 6, errp);
        else if (strncmp(t, "thread=", 7) == 0 || strncmp(t, "tb-size=", 8) == 0)
            ;
        else
            r = err_set(errp, EINVAL, _("unknown accelerator property '%s'"), t);
    }
    free(copy);
    return r;
}

/* "-name [guest=]NAME[,process=PNAME][,debug-threads=on|off]" */
static int parse_name(struct machine_opts *o, const char *arg, struct error **errp)
{
    char *copy = strdup(arg), *save = NULL;
    if (!copy)
        return err_set(errp, ENOMEM, _("out of memory"));
    int r = 0;
    bool first = true;
    for (char *t = strtok_r(copy, ",", &save); t && r == 0;
         t = strtok_r(NULL, ",", &save), first = false) {
        bool dummy;
        if ((first && !strchr(t, '=')) || strncmp(t, "guest=", 6) == 0) {
            free((char *)o->name);
            o->name = strdup(strchr(t, '=') ? t + 6 : t);
            if (!o->name)
                r = err_set(errp, ENOMEM, _("out of memory"));
        } else if (strncmp(t, "process=", 8) == 0) {
            /* what ps and top show (the kernel keeps 15 bytes of it) */
            prctl(PR_SET_NAME, t + 8, 0, 0, 0);
        } else if (strncmp(t, "debug-threads=", 14) == 0) {
            r = parse_bool("debug-threads", t + 14, &dummy, errp);
        } else {
            r = err_set(errp, EINVAL, _("unknown parameter '%s'"), t);
        }
    }
    free(copy);
    return r;
}

/* "-gdb tcp:[HOST]:PORT" (qemu's chardev form; "-gdb none" turns it off). */
static int parse_gdb(const char *arg, const char **out, struct error **errp)
{
    if (strcmp(arg, "none") == 0) {
        *out = NULL;
        return 0;
    }
    const char *p = strncmp(arg, "tcp:", 4) == 0 ? arg + 4 : arg;
    const char *colon = strrchr(p, ':');
    int port;
    if (!colon || parse_int("port", colon + 1, 1, 65535, &port, NULL) < 0)
        return err_set(errp, EINVAL, _("expected tcp:[HOST]:PORT"));
    *out = arg;
    return 0;
}

/* "-d LIST": qemu's categories that have no counterpart here (and its
 * trace events) are skipped with a warning rather than refused, so that a
 * qemu command line still runs; the others go to log_enable. */
static int parse_log(const char *arg, struct error **errp)
{
    static const char *const qemu_only[] = { "cpu", "fpu", "op_opt", "op_ind", "nochain",
                                             "cpu_reset", "page", "pcall", "plugin", "tid" };
    char *copy = strdup(arg), *keep = strdup(arg), *save = NULL;
    if (!copy || !keep) {
        free(copy);
        free(keep);
        return err_set(errp, ENOMEM, _("out of memory"));
    }
    keep[0] = 0;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        bool skip = false;
        for (size_t k = 0; k < sizeof(qemu_only) / sizeof(qemu_only[0]); k++)
            skip |= strcmp(t, qemu_only[k]) == 0;
        if (skip) {
            msg_warn(_("-d %s: not supported by this emulator; ignored"), t);
            continue;
        }
        if (keep[0])
            strcat(keep, ",");
        strcat(keep, t);
    }
    int r = log_enable(keep, errp);
    free(copy);
    free(keep);
    return r;
}

const struct machine_ops *system_machine_find(const char *name)
{
    for (int i = 0; system_target.machines[i]; i++)
        if (strcmp(system_target.machines[i]->name, name) == 0)
            return system_target.machines[i];
    return NULL;
}

static void print_machines(void)
{
    const struct machine_ops *const *mt = system_target.machines;
    printf("%s\n", _("Supported machines are:"));
    for (int i = 0; mt[i]; i++)
        printf("%-20s %s%s\n", mt[i]->name, mt[i]->desc,
               strcmp(mt[i]->name, system_target.default_machine) == 0 ? _(" (default)") : "");
}

/* ---- the gdb stub ----
 * gdb_start() listens on s->gdb_dev before the CPUs start.  The stub
 * stops and runs the CPUs through the machine's debug ops; gdb_resumed
 * tells us when it lets them run (with -S: gdb's first continue or step
 * starts them). */
static void gdb_resumed(void *opaque)
{
    struct sys *s = opaque;
    s->running = true;
    s->waiting_start = false;
}

static int gdb_start(struct sys *s, struct error **errp)
{
    return gdbstub_new(&s->gdb, s->loop, &s->m, s->gdb_dev, gdb_resumed, s, errp);
}

/* ---- running and stopping ---- */

static void stop_cpus(struct sys *s)
{
    if (s->running) {
        s->m.ops->stop(&s->m);
        s->running = false;
    }
}

static void finish(struct sys *s, int code)
{
    stop_cpus(s);
    gdbstub_exited(s->gdb, code);
    s->exit_code = code;
    loop_quit(s->loop);
}

static int start_cpus(struct sys *s)
{
    struct error *err = NULL;
    if (s->m.ops->start(&s->m, &err) < 0) {
        err_report(err);
        finish(s, 1);
        return -1;
    }
    s->running = true;
    s->waiting_start = false;
    return 0;
}

/* Start CPUs held by -S (the gdb stub's "continue", or SIGCONT). */
static void sys_continue(struct sys *s)
{
    if (s->waiting_start && !gdbstub_holds_cpus(s->gdb))
        start_cpus(s);
}

static void on_sigcont_pipe(void *opaque, int fd)
{
    char buf[16];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    sys_continue(opaque);
}

static void on_sigcont(int sig)
{
    int saved = errno;
    (void)sig;
    if (S.cont_pipe[1] >= 0 && write(S.cont_pipe[1], "c", 1) < 0) {
        /* full pipe: the loop wakes anyway */
    }
    errno = saved;
}

static int wait_for_sigcont(struct sys *s, struct error **errp)
{
    if (pipe2(s->cont_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
        return err_set_errno(errp, errno, _("cannot create a pipe"));
    int r = loop_set_fd(s->loop, s->cont_pipe[0], on_sigcont_pipe, NULL, s, errp);
    if (r < 0)
        return r;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigcont;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGCONT, &sa, NULL) < 0)
        return err_set_errno(errp, errno, _("cannot catch SIGCONT"));
    return 0;
}

/* ---- the monitor ---- */

static void qmp_send(struct sys *s, const char *ev, const char *data)
{
    if (s->qmp)
        qmp_event(s->qmp, ev, data);
}

/* SHUTDOWN's and RESET's data: who asked, as QEMU words it. */
static void qmp_cause_event(struct sys *s, const char *ev, bool reset)
{
    static const char *const host_reason[] = {
        [MACHINE_CAUSE_GUEST] = NULL, [MACHINE_CAUSE_QMP] = "host-qmp-",
        [MACHINE_CAUSE_SIGNAL] = "host-signal", [MACHINE_CAUSE_UI] = "host-ui",
    };
    int cause = __atomic_load_n(&s->m.cause, __ATOMIC_RELAXED);
    char data[128];
    if (cause == MACHINE_CAUSE_GUEST)
        snprintf(data, sizeof(data), "{\"guest\": true, \"reason\": \"%s\"}",
                 reset ? "guest-reset" : "guest-shutdown");
    else if (cause == MACHINE_CAUSE_QMP)
        snprintf(data, sizeof(data), "{\"guest\": false, \"reason\": \"host-qmp-%s\"}",
                 reset ? "system-reset" : "quit");
    else
        snprintf(data, sizeof(data), "{\"guest\": false, \"reason\": \"%s\"}",
                 host_reason[cause]);
    qmp_send(s, ev, data);
}

static const char *mon_status(void *opaque)
{
    struct sys *s = opaque;
    if (s->waiting_start)
        return "prelaunch";
    if (gdbstub_holds_cpus(s->gdb))
        return "debug";
    if (s->powered_off)
        return "shutdown";
    return s->running ? "running" : "paused";
}

static int mon_stop(void *opaque, struct error **errp)
{
    struct sys *s = opaque;
    if (gdbstub_holds_cpus(s->gdb))
        return err_set(errp, EBUSY, "the debugger holds the CPUs");     /* QMP text: English */
    if (!s->running)
        return 0;
    stop_cpus(s);
    /* As qemu's virtual clock: the guest's time stands still while the
     * machine is stopped (cont puts the clock back unless loadvm set it
     * meanwhile; device timers that fired in the pause only raise what
     * the guest sees as an early tick) */
    s->paused_clock = hw_clock_ns();
    s->paused_sets = hw_clock_set_count();
    s->paused = true;
    qmp_send(s, "STOP", NULL);
    return 0;
}

static int mon_cont(void *opaque, struct error **errp)
{
    struct sys *s = opaque;
    if (gdbstub_holds_cpus(s->gdb))
        return err_set(errp, EBUSY, "the debugger holds the CPUs");     /* QMP text: English */
    if (s->powered_off)
        return err_set(errp, EINVAL, "the guest has powered off; use system_reset first");
    if (s->running)
        return 0;
    if (s->paused && hw_clock_set_count() == s->paused_sets)
        hw_clock_set(s->paused_clock);      /* (loadvm set it: theirs stands) */
    if (start_cpus(s) < 0)
        return err_set(errp, EIO, "cannot start the CPUs");
    s->paused = false;
    qmp_send(s, "RESUME", NULL);
    return 0;
}

/* A monitor reads registers or memory: the CPUs stand still meanwhile
 * (no STOP event: the user did not stop the machine). */
static bool mon_hold(void *opaque)
{
    struct sys *s = opaque;
    if (!s->running)
        return false;
    stop_cpus(s);
    return true;
}

static void mon_release(void *opaque)
{
    struct sys *s = opaque;
    if (!s->running)
        start_cpus(s);
}

/* What a display back end asks of the machine (display.h) */
static const char *dh_name(void)
{
    return S.m.opts.name;
}

static bool dh_running(void)
{
    return S.running && !S.powered_off;
}

static void dh_powerdown(void)
{
    monitor_powerdown();
}

static void dh_quit(void)
{
    machine_request_host(&S.m, MACHINE_QUIT, MACHINE_CAUSE_UI);
}

static const struct display_host display_host = {
    .name = dh_name,
    .running = dh_running,
    .powerdown = dh_powerdown,
    .quit = dh_quit,
};

static struct monitor_host mon_host = {
    .target = NULL,             /* system_target.name, set by main() */
    .status = mon_status,
    .stop = mon_stop,
    .cont = mon_cont,
    .hold = mon_hold,
    .release = mon_release,
};

/* Open -qmp and -monitor back ends, find -mon chardevs, and serve QMP
 * or the human monitor on them; a mux'ed serial console (mon:stdio, the
 * default) gets the human monitor behind Ctrl-A c unless -monitor none. */
static int monitors_start(struct sys *s, struct error **errp)
{
    bool mux_serial = false;
    for (int i = 0; i < MACHINE_MAX_SERIAL; i++)
        mux_serial |= !s->serial_borrowed[i] && chardev_is_mux(s->m.serial[i]);
    if (!s->n_qmp && !s->n_mon && !s->n_hmp && (s->no_monitor || !mux_serial) &&
        !registry_enabled())
        return 0;
    mon_host.m = &s->m;
    mon_host.drives = &s->drives;
    mon_host.opaque = s;
    jobs_init(s->loop);
    int r = monitor_new(&s->qmp, s->loop, &mon_host, errp);
    for (int i = 0; r >= 0 && i < s->n_qmp; i++) {
        r = chardev_new(&s->qmp_chr[i], s->loop, s->qmp_spec[i], errp);
        if (r < 0)
            err_prefix(errp, "-qmp %s", s->qmp_spec[i]);
        else if (!s->qmp_chr[i])
            continue;           /* -qmp none */
        else
            r = qmp_attach(s->qmp, s->qmp_chr[i], errp);
    }
    for (int i = 0; r >= 0 && i < s->n_mon; i++) {
        struct chardev *c = machine_find_chardev(&s->m, s->mon_ids[i]);
        if (!c)
            r = err_set(errp, ENOENT, _("-mon chardev=%s: no such chardev, or it is in use"),
                        s->mon_ids[i]);
        else if (s->mon_readline[i])
            r = hmp_session_attach(c, s->loop, errp);
        else
            r = qmp_attach(s->qmp, c, errp);
    }
    for (int i = 0; r >= 0 && i < s->n_hmp; i++) {
        r = chardev_new(&s->hmp_chr[i], s->loop, s->hmp_spec[i], errp);
        if (r < 0)
            err_prefix(errp, "-monitor %s", s->hmp_spec[i]);
        else if (s->hmp_chr[i])
            r = hmp_session_attach(s->hmp_chr[i], s->loop, errp);
    }
    for (int i = 0; r >= 0 && !s->no_monitor && i < MACHINE_MAX_SERIAL; i++)
        if (!s->serial_borrowed[i] && chardev_is_mux(s->m.serial[i]))
            r = hmp_session_attach(s->m.serial[i], s->loop, errp);
    return r;
}

/* What the guest, the user or a signal asked for (loop thread). */
static void on_event(void *opaque)
{
    struct sys *s = opaque;
    struct machine *m = &s->m;
    int ev = __atomic_exchange_n(&m->event, MACHINE_RUNNING, __ATOMIC_ACQUIRE);
    int code = __atomic_load_n(&m->exit_code, __ATOMIC_RELAXED);
    struct error *err = NULL;

    switch (ev) {
    case MACHINE_SHUTDOWN:
        qmp_cause_event(s, "SHUTDOWN", false);
        if (m->opts.no_shutdown) {
            /* the machine stays, stopped, until the user quits */
            stop_cpus(s);
            s->powered_off = true;
            qmp_send(s, "STOP", NULL);
            break;
        }
        finish(s, code);
        break;
    case MACHINE_RESET:
        if (m->opts.no_reboot) {
            qmp_cause_event(s, "SHUTDOWN", false);
            finish(s, 0);
            break;
        }
        qmp_cause_event(s, "RESET", true);
        s->powered_off = false;
        stop_cpus(s);
        if (m->ops->reset(m, &err) < 0) {
            err_report(err);
            finish(s, 1);
            break;
        }
        if (!gdbstub_holds_cpus(s->gdb))
            start_cpus(s);      /* (else gdb's continue starts them) */
        break;
    case MACHINE_QUIT:
        qmp_cause_event(s, "SHUTDOWN", false);
        finish(s, 0);
        break;
    default:
        break;
    }
}

/* Ctrl-A x */
static void on_quit_key(void *opaque)
{
    struct sys *s = opaque;
    machine_request_host(&s->m, MACHINE_QUIT, MACHINE_CAUSE_UI);
}

/* SIGINT/SIGTERM: one line, as qemu, then a clean stop (terminal restored
 * by chardev_free on the way out). */
static void on_signal(void *opaque)
{
    struct sys *s = opaque;
    msg_error(_("terminating on signal %d"), loop_shutdown_signal(s->loop));
    s->m.cause = MACHINE_CAUSE_SIGNAL;
    qmp_cause_event(s, "SHUTDOWN", false);
    finish(s, 0);
}

static void on_wait_for_client(const char *label)
{
    msg_error(_("info: waiting for a connection on %s"), label);
}

/* ---- -pidfile and -daemonize ---- */

/* Write our pid, locked so that a second emulator given the same file
 * stops instead of overwriting it (the lock lasts as long as we run). */
static int write_pidfile(struct sys *s, struct error **errp)
{
    int fd = open(s->pidfile, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_set_errno(errp, errno, _("cannot create PID file '%s'"), s->pidfile);
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        return err_set_errno(errp, e, _("cannot lock PID file '%s' (in use?)"), s->pidfile);
    }
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || write(fd, buf, (size_t)n) != n) {
        int e = errno;
        close(fd);
        return err_set_errno(errp, e, _("cannot write PID file '%s'"), s->pidfile);
    }
    s->pidfile_fd = fd;
    return 0;
}

static void remove_pidfile(struct sys *s)
{
    if (s->pidfile_fd >= 0) {
        unlink(s->pidfile);
        close(s->pidfile_fd);
        s->pidfile_fd = -1;
    }
}

/* ---- the command line ---- */

enum opt_id {
    OPT_HELP, OPT_VERSION, OPT_MACHINE, OPT_MEM, OPT_SMP, OPT_CPU, OPT_ACCEL,
    OPT_BIOS, OPT_KERNEL, OPT_INITRD, OPT_APPEND, OPT_DTB,
    OPT_NOGRAPHIC, OPT_DISPLAY, OPT_SERIAL, OPT_MONITOR, OPT_NODEFAULTS,
    OPT_STOPPED, OPT_GDB_DEFAULT, OPT_GDB, OPT_NO_REBOOT, OPT_NO_SHUTDOWN,
    OPT_NAME, OPT_PIDFILE, OPT_DAEMONIZE, OPT_LOG, OPT_LOGFILE, OPT_TRACE,
    OPT_DRIVE, OPT_BLOCKDEV, OPT_DEVICE, OPT_SNAPSHOT, OPT_GLOBAL, OPT_CHARDEV,
    OPT_QMP, OPT_MON,
    OPT_NETDEV, OPT_NIC, OPT_NET,
    OPT_LOADVM, OPT_ENABLE_KVM,
};

static const struct option_def {
    const char *name;
    bool arg;
    enum opt_id id;
} options[] = {
    { "h", false, OPT_HELP }, { "help", false, OPT_HELP },
    { "version", false, OPT_VERSION },
    { "M", true, OPT_MACHINE }, { "machine", true, OPT_MACHINE },
    { "m", true, OPT_MEM }, { "smp", true, OPT_SMP }, { "cpu", true, OPT_CPU },
    { "accel", true, OPT_ACCEL },
    { "bios", true, OPT_BIOS }, { "kernel", true, OPT_KERNEL },
    { "initrd", true, OPT_INITRD }, { "append", true, OPT_APPEND }, { "dtb", true, OPT_DTB },
    { "nographic", false, OPT_NOGRAPHIC }, { "display", true, OPT_DISPLAY },
    { "serial", true, OPT_SERIAL }, { "monitor", true, OPT_MONITOR },
    { "nodefaults", false, OPT_NODEFAULTS },
    { "S", false, OPT_STOPPED }, { "s", false, OPT_GDB_DEFAULT }, { "gdb", true, OPT_GDB },
    { "no-reboot", false, OPT_NO_REBOOT }, { "no-shutdown", false, OPT_NO_SHUTDOWN },
    { "name", true, OPT_NAME }, { "pidfile", true, OPT_PIDFILE },
    { "daemonize", false, OPT_DAEMONIZE },
    { "d", true, OPT_LOG }, { "D", true, OPT_LOGFILE }, { "trace", true, OPT_TRACE },
    { "drive", true, OPT_DRIVE }, { "blockdev", true, OPT_BLOCKDEV },
    { "device", true, OPT_DEVICE }, { "snapshot", false, OPT_SNAPSHOT },
    { "global", true, OPT_GLOBAL }, { "chardev", true, OPT_CHARDEV },
    { "qmp", true, OPT_QMP }, { "mon", true, OPT_MON },
    { "netdev", true, OPT_NETDEV }, { "nic", true, OPT_NIC }, { "net", true, OPT_NET },
    { "loadvm", true, OPT_LOADVM }, { "enable-kvm", false, OPT_ENABLE_KVM },
};

/* Add a -device line (owned: freed at exit). */
static int add_device(struct machine_opts *o, char *spec, struct error **errp)
{
    if (o->n_devices == MACHINE_MAX_DEVICES) {
        free(spec);
        return err_set(errp, E2BIG, _("too many devices (at most %d)"), MACHINE_MAX_DEVICES);
    }
    o->devices[o->n_devices++] = spec;
    return 0;
}

/* Keep a -netdev line for run() (owned). */
static int add_netdev_spec(char *spec, struct error **errp)
{
    if (!spec)
        return err_set(errp, ENOMEM, _("out of memory"));
    if (S.n_netdev == NETDEV_MAX) {
        free(spec);
        return err_set(errp, E2BIG, _("too many netdevs (at most %d)"), NETDEV_MAX);
    }
    S.netdev_spec[S.n_netdev++] = spec;
    return 0;
}

/* "-nic TYPE[,model=M][,mac=MAC][,netdev options]": qemu's shorthand for
 * -netdev TYPE,id=nic.N,... and -device M,netdev=nic.N,mac=MAC.  Items
 * are split as keyval does (",," stays inside an item). */
static int parse_nic(struct machine_opts *o, const char *arg, struct error **errp)
{
    size_t len = strlen(arg);
    char *nd = malloc(len + 32), *mac = NULL;
    if (!nd)
        return err_set(errp, ENOMEM, _("out of memory"));
    char *q = nd;
    int r = 0;
    for (const char *p = arg; *p && r == 0;) {
        const char *start = p;
        while (*p && !(*p == ',' && p[1] != ',')) {
            if (*p == ',')
                p++;            /* ",," */
            p++;
        }
        size_t n = (size_t)(p - start);
        if (n > 6 && strncmp(start, "model=", 6) == 0) {
            if (!((n == 23 && strncmp(start + 6, "virtio-net-device", 17) == 0) ||
                  (n == 12 && strncmp(start + 6, "virtio", 6) == 0)))
                r = err_set(errp, ENOTSUP, _("unsupported NIC model '%.*s' (only "
                                             "virtio-net-device)"), (int)(n - 6), start + 6);
        } else if (n > 4 && strncmp(start, "mac=", 4) == 0) {
            free(mac);
            if (!(mac = strndup(start + 4, n - 4)))
                r = err_set(errp, ENOMEM, _("out of memory"));
        } else if (n) {
            if (q != nd)
                *q++ = ',';
            memcpy(q, start, n);
            q += n;
        }
        if (*p)
            p++;
    }
    *q = 0;
    if (r == 0 && (strcmp(nd, "none") == 0 || strncmp(nd, "none,", 5) == 0)) {
        free(nd);
        free(mac);
        return 0;
    }
    char id[16];
    snprintf(id, sizeof(id), "nic.%d", S.n_nic++);
    sprintf(q, ",id=%s", id);
    char *dev = NULL;
    if (r == 0) {
        size_t dl = strlen(id) + (mac ? strlen(mac) : 0) + 48;
        if (!(dev = malloc(dl)))
            r = err_set(errp, ENOMEM, _("out of memory"));
        else
            snprintf(dev, dl, "virtio-net-device,netdev=%s%s%s", id, mac ? ",mac=" : "",
                     mac ? mac : "");
    }
    free(mac);
    if (r == 0) {
        r = add_netdev_spec(nd, errp);
        nd = NULL;
    }
    if (r == 0) {
        r = add_device(o, dev, errp);
        dev = NULL;
    }
    free(nd);
    free(dev);
    return r;
}

/* Parse argv into S and its machine_opts.  Returns -1 to exit with 1
 * (message printed), 1 to exit with 0 (help and the like), 0 to run. */
/* -display TYPE[,OPTS] */
static int parse_display(struct sys *s, const char *arg, struct error **errp)
{
    size_t n = strcspn(arg, ",");
    char type[32];
    if (n >= sizeof(type))
        return err_set(errp, EINVAL, _("unknown display type"));
    memcpy(type, arg, n);
    type[n] = 0;
    s->display_given = true;
    if (strcmp(type, "none") == 0) {
        s->display = NULL;
        return 0;
    }
    const struct display_backend *b = display_backend_find(type);
    if (!b) {
        if (strcmp(type, "sdl") == 0 || strcmp(type, "curses") == 0)
            return err_set(errp, ENOTSUP,
                           _("this build has no %s display (configure found no %s)"),
                           type, strcmp(type, "sdl") == 0 ? "libsdl2-dev" : "libncurses-dev");
        return err_set(errp, EINVAL, _("unknown display type (-display help lists them)"));
    }
    s->display = b;
    s->display_opts = arg[n] ? arg + n + 1 : "";
    return 0;
}

static int parse_args(int argc, char **argv)
{
    struct machine_opts *o = &S.m.opts;
    struct error *err = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) {
            /* qemu's "first disk" shorthand: -drive file=A */
            char *dev = NULL;
            size_t n = 2 * strlen(a) + 8;
            char *spec = malloc(n);
            if (!spec) {
                msg_error(_("out of memory"));
                return -1;
            }
            /* a comma in the name is doubled to stay one value */
            char *q = spec + sprintf(spec, "file=");
            for (const char *c = a; *c; c++) {
                *q++ = *c;
                if (*c == ',')
                    *q++ = ',';
            }
            *q = 0;
            int r = drive_add(&S.drives, spec, &dev, &err);
            free(spec);
            if (r < 0 || (dev && add_device(o, dev, &err) < 0)) {
                err_prefix(&err, "%s", a);
                err_report(err);
                return -1;
            }
            continue;
        }
        /* qemu takes "--opt" for "-opt" */
        const char *name = a[1] == '-' ? a + 2 : a + 1;
        const struct option_def *d = NULL;
        for (size_t k = 0; k < sizeof(options) / sizeof(options[0]); k++)
            if (strcmp(options[k].name, name) == 0)
                d = &options[k];
        if (!d) {
            msg_error(_("%s: invalid option"), a);
            return -1;
        }
        const char *arg = NULL;
        if (d->arg) {
            if (i + 1 >= argc) {
                msg_error(_("%s: requires an argument"), a);
                return -1;
            }
            arg = argv[++i];
        }
        int r = 0;
        switch (d->id) {
        case OPT_HELP:
            usage(stdout);
            return 1;
        case OPT_VERSION:
            prog_print_version(stdout);
            return 1;
        case OPT_MACHINE:
            if (strcmp(arg, "help") == 0 || strcmp(arg, "?") == 0) {
                print_machines();
                return 1;
            }
            r = parse_machine(o, arg, &err);
            break;
        case OPT_MEM:
            r = parse_mem(arg, &o->ram_size, &err);
            break;
        case OPT_SMP:
            r = parse_smp(arg, &o->smp, &err);
            break;
        case OPT_CPU: {
            if (strcmp(arg, "help") == 0 || strcmp(arg, "?") == 0) {
                printf("%s\n", _("Available CPUs:"));
                for (const char *c = system_target.cpu_models; *c;) {
                    size_t n = strcspn(c, "\n");
                    printf("  %.*s\n", (int)n, c);
                    c += n + (c[n] == '\n');
                }
                return 1;
            }
            /* its messages name the option already */
            if (system_target.cpu_parse(arg, &err) < 0) {
                err_report(err);
                return -1;
            }
            o->cpu = arg;
            break;
        }
        case OPT_ACCEL:
            if (strcmp(arg, "help") == 0) {
                printf("%s\n", _("Accelerators supported:"));
                for (int k = 0; system_target.accels[k]; k++)
                    printf("%s\n", system_target.accels[k]);
                return 1;
            }
            r = parse_accel(arg, &err);
            break;
        case OPT_ENABLE_KVM:
            r = check_accel("kvm", &err);
            break;
        case OPT_BIOS:
            o->bios = arg;
            break;
        case OPT_KERNEL:
            o->kernel = arg;
            break;
        case OPT_INITRD:
            o->initrd = arg;
            break;
        case OPT_APPEND:
            o->append = arg;
            break;
        case OPT_DTB:
            o->dtb = arg;
            break;
        case OPT_NOGRAPHIC:
            S.nographic = true;
            break;
        case OPT_DISPLAY:
            if (strcmp(arg, "help") == 0) {
                printf("%s\nnone\n", _("Available display backend types:"));
                for (int i = 0; display_backends[i]; i++)
                    printf("%s\n", display_backends[i]->name);
                return 1;
            }
            r = parse_display(&S, arg, &err);
            break;
        case OPT_SERIAL:
            if (S.n_serial == MACHINE_MAX_SERIAL) {
                r = err_set(&err, E2BIG, _("too many serial ports (at most %d)"),
                            MACHINE_MAX_SERIAL);
                break;
            }
            S.serial_spec[S.n_serial++] = arg;
            break;
        case OPT_MONITOR:
            if (strcmp(arg, "none") == 0)
                S.no_monitor = true;
            else if (S.n_hmp == MACHINE_MAX_CHARDEVS)
                r = err_set(&err, E2BIG, _("too many monitors"));
            else
                S.hmp_spec[S.n_hmp++] = arg;
            break;
        case OPT_NODEFAULTS:
            S.nodefaults = true;
            break;
        case OPT_STOPPED:
            o->start_stopped = true;
            break;
        case OPT_LOADVM:
            loadvm_tag = arg;
            break;
        case OPT_GDB_DEFAULT:
            S.gdb_dev = GDB_DEFAULT;
            if (!system_target.gdbstub)
                r = err_set(&err, ENOTSUP, _("the gdb stub is not available for %s guests"),
                            system_target.name);
            break;
        case OPT_GDB:
            r = parse_gdb(arg, &S.gdb_dev, &err);
            if (r == 0 && S.gdb_dev && !system_target.gdbstub)
                r = err_set(&err, ENOTSUP, _("the gdb stub is not available for %s guests"),
                            system_target.name);
            break;
        case OPT_NO_REBOOT:
            o->no_reboot = true;
            break;
        case OPT_NO_SHUTDOWN:
            o->no_shutdown = true;
            break;
        case OPT_NAME:
            r = parse_name(o, arg, &err);
            break;
        case OPT_PIDFILE:
            S.pidfile = arg;
            break;
        case OPT_DAEMONIZE:
            S.daemonize = true;
            break;
        case OPT_LOG:
            r = parse_log(arg, &err);
            if (r == 1)
                return 1;
            break;
        case OPT_LOGFILE:
            r = log_set_file(arg, &err);
            break;
        case OPT_TRACE:
            r = trace_opt_parse(arg, &err);
            if (r == 1)
                return 1;
            break;
        case OPT_DRIVE: {
            char *dev = NULL;
            r = drive_add(&S.drives, arg, &dev, &err);
            if (r >= 0 && dev)
                r = add_device(o, dev, &err);
            break;
        }
        case OPT_BLOCKDEV:
            r = blockdev_add(&S.drives, arg, &err);
            break;
        case OPT_DEVICE: {
            if (strcmp(arg, "help") == 0 || strcmp(arg, "?") == 0) {
                vdev_print_models(stdout);
                return 1;
            }
            char *spec = strdup(arg);
            r = spec ? add_device(o, spec, &err) : err_set(&err, ENOMEM, _("out of memory"));
            break;
        }
        case OPT_CHARDEV: {
            struct machine *m = &S.m;
            char *id, *spec;
            if (m->n_chardevs == MACHINE_MAX_CHARDEVS) {
                r = err_set(&err, E2BIG, _("too many chardevs (at most %d)"),
                            MACHINE_MAX_CHARDEVS);
                break;
            }
            r = chardev_parse_opts(arg, &id, &spec, &err);
            if (r < 0)
                break;
            for (int k = 0; k < m->n_chardevs; k++)
                if (strcmp(m->chardevs[k].id, id) == 0)
                    r = err_set(&err, EEXIST, _("duplicate chardev id '%s'"), id);
            if (r < 0) {
                free(id);
                free(spec);
                break;
            }
            m->chardevs[m->n_chardevs++] = (struct machine_chardev){ .id = id, .spec = spec };
            break;
        }
        case OPT_NETDEV:
            if (strcmp(arg, "help") == 0 || strcmp(arg, "?") == 0) {
                netdev_print_types(stdout);
                return 1;
            }
            r = add_netdev_spec(strdup(arg), &err);
            break;
        case OPT_NIC:
            if (strcmp(arg, "help") == 0 || strcmp(arg, "model=help") == 0) {
                printf("%s\nvirtio-net-device\n", _("Available NIC models:"));
                return 1;
            }
            r = parse_nic(o, arg, &err);
            break;
        case OPT_NET:
            /* qemu's old hub form (-net nic -net user) is not kept */
            if (strcmp(arg, "none") != 0)
                r = err_set(&err, ENOTSUP, _("only -net none is supported; use -nic, or "
                                             "-netdev with -device virtio-net-device"));
            break;
        case OPT_QMP:
            if (S.n_qmp == MACHINE_MAX_CHARDEVS) {
                r = err_set(&err, E2BIG, _("too many monitors"));
                break;
            }
            S.qmp_spec[S.n_qmp++] = arg;
            break;
        case OPT_MON: {
            /* -mon [chardev=]ID[,mode=readline|control][,pretty=off] */
            struct kv *kv;
            r = kv_parse(&kv, arg, "chardev", &err);
            if (r < 0)
                break;
            const char *id = kv_get(kv, "chardev");
            const char *mode = kv_get(kv, "mode");
            (void)kv_get(kv, "id");     /* names the monitor for qom; nothing here */
            bool pretty = false;
            r = kv_get_bool(kv, "pretty", false, &pretty, &err);
            if (r >= 0)
                r = kv_check_used(kv, &err);
            if (r >= 0 && !id)
                r = err_set(&err, EINVAL, _("Parameter 'chardev' is missing"));
            else if (r >= 0 && mode && strcmp(mode, "control") != 0 &&
                     strcmp(mode, "readline") != 0)
                r = err_set(&err, EINVAL, _("-mon mode=%s: expected 'readline' or 'control'"),
                            mode);
            else if (r >= 0 && S.n_mon == MACHINE_MAX_CHARDEVS)
                r = err_set(&err, E2BIG, _("too many monitors"));
            else if (r >= 0 && !(S.mon_ids[S.n_mon] = strdup(id)))
                r = err_set(&err, ENOMEM, _("out of memory"));
            else if (r >= 0)
                S.mon_readline[S.n_mon++] = !mode || strcmp(mode, "readline") == 0;
            kv_free(kv);
            break;
        }
        case OPT_GLOBAL:
            /* Scripts written for qemu ask for the modern virtio-mmio,
             * which is the only one here; anything else is refused. */
            if (strcmp(arg, "virtio-mmio.force-legacy=false") != 0 &&
                strcmp(arg, "virtio-mmio.force-legacy=off") != 0)
                r = err_set(&err, ENOTSUP, _("only virtio-mmio.force-legacy=false is supported"));
            break;
        case OPT_SNAPSHOT:
            /* applies to the drives given after it too, as in qemu */
            S.drives.snapshot_all = true;
            for (int k = 0; k < S.drives.n; k++)
                S.drives.d[k]->snapshot = true;
            break;
        }
        if (r < 0) {
            if (arg)
                err_prefix(&err, "%s %s", a, arg);
            else
                err_prefix(&err, "%s", a);
            err_report(err);
            return -1;
        }
    }

    if (o->initrd && !o->kernel) {
        msg_error(_("-initrd only allowed with -kernel option"));
        return -1;
    }
    if (o->append && !o->kernel) {
        msg_error(_("-append only allowed with -kernel option"));
        return -1;
    }
    if (S.nographic && S.daemonize) {
        msg_error(_("-nographic cannot be used with -daemonize"));
        return -1;
    }
    if (S.nographic && S.display) {
        msg_error(_("-nographic cannot be used with -display"));
        return -1;
    }
    if (S.display && S.daemonize && strcmp(S.display->name, "curses") == 0) {
        msg_error(_("curses display cannot be used with -daemonize"));
        return -1;
    }
    /* The default serial port: the terminal, with the Ctrl-A keys, as
     * -nographic gives in qemu.  Without -nographic qemu would put it on
     * a graphical console we do not have, so the terminal is the useful
     * place for it too, unless -daemonize lets go of the terminal. */
    bool monitor_on_stdio = false;
    for (int i = 0; i < S.n_hmp; i++)
        monitor_on_stdio |= strcmp(S.hmp_spec[i], "stdio") == 0;
    if (S.display && S.display->wants_vc && !S.nodefaults) {
        /* as qemu with a display: the serial port and the monitor on
         * text consoles of the display, in that order (Alt-1, Alt-2) */
        if (S.n_serial == 0)
            S.serial_spec[S.n_serial++] = "vc";
        if (S.n_hmp == 0 && !S.no_monitor && !S.n_mon)
            S.hmp_spec[S.n_hmp++] = "vc";
    }
    if (S.n_serial == 0 && !S.nodefaults && !S.daemonize && !monitor_on_stdio)
        S.serial_spec[S.n_serial++] = "mon:stdio";
    for (int i = 0; i < S.n_serial; i++) {
        const char *sp = S.serial_spec[i];
        if (S.daemonize && (strcmp(sp, "stdio") == 0 || strcmp(sp, "mon:stdio") == 0)) {
            msg_error(_("-serial %s: cannot use stdio with -daemonize"), sp);
            return -1;
        }
    }
    if (!o->type && !(o->type = strdup(system_target.default_machine))) {
        msg_error(_("out of memory"));
        return -1;
    }
    if (!o->ram_size)
        o->ram_size = DEFAULT_RAM;
    if (!o->smp)
        o->smp = 1;
    if (!o->cpu)
        o->cpu = system_target.default_cpu;
    return 0;
}

static int run(void)
{
    struct machine *m = &S.m;
    struct error *err = NULL;
    const struct machine_ops *ops = system_machine_find(m->opts.type);
    if (!ops) {
        msg_error(_("unsupported machine type '%s' (use -machine help to list them)"),
                  m->opts.type);
        return 1;
    }
    if (S.daemonize) {
        int status, r = prog_daemonize(&S.daemon_fd, &status);
        if (r < 0)
            return 1;
        if (r > 0)
            _exit(status);      /* the parent: the machine runs, or failed */
    }
    if (S.pidfile && write_pidfile(&S, &err) < 0) {
        err_report(err);
        return 1;
    }
    S.loop = loop_new(&err);
    if (!S.loop) {
        err_report(err);
        return 1;
    }
    m->loop = S.loop;
    m->ops = ops;
    if (loop_catch_signals(S.loop, &err) < 0) {
        err_report(err);
        return 1;
    }
    loop_set_shutdown_handler(S.loop, on_signal, &S);
    m->event_bh = loop_bh_new(S.loop, on_event, &S, &err);
    if (!m->event_bh) {
        err_report(err);
        return 1;
    }

    chardev_set_wait_notifier(on_wait_for_client);
    for (int i = 0; i < m->n_chardevs; i++) {
        struct machine_chardev *c = &m->chardevs[i];
        if (chardev_new(&c->chr, S.loop, c->spec, &err) < 0) {
            err_prefix(&err, "-chardev %s", c->id);
            err_report(err);
            return 1;
        }
        chardev_set_quit_handler(c->chr, on_quit_key, &S);
    }
    for (int i = 0; i < S.n_serial; i++) {
        const char *named = strncmp(S.serial_spec[i], "chardev:", 8) == 0
                                ? S.serial_spec[i] + 8 : NULL;
        if (named) {
            /* the chardev belongs to m->chardevs: serial[i] only borrows it */
            if (!(m->serial[i] = machine_find_chardev(m, named))) {
                msg_error(_("-serial %s: no such chardev, or it is in use"), S.serial_spec[i]);
                return 1;
            }
            S.serial_borrowed[i] = true;
            continue;
        }
        if (chardev_new(&m->serial[i], S.loop, S.serial_spec[i], &err) < 0) {
            err_prefix(&err, "-serial %s", S.serial_spec[i]);
            err_report(err);
            return 1;
        }
        const char *label = chardev_label(m->serial[i]);
        if (strncmp(label, "pty ", 4) == 0) {
            /* qemu's line, on stdout, untranslated: scripts look for it */
            printf("char device redirected to %s (label serial%d)\n", label + 4, i);
            fflush(stdout);
        }
        chardev_set_quit_handler(m->serial[i], on_quit_key, &S);
    }

    if (monitors_start(&S, &err) < 0) {
        err_report(err);
        return 1;
    }
    /* `emu` finds the machine through its QMP socket in the runtime directory */
    if (registry_start(S.loop, S.qmp, m, mon_host.target, S.serial_spec[0], &err) < 0) {
        err_report(err);
        return 1;
    }
    m->pool = pool_new(S.loop, 0, &err);
    if (!m->pool || drives_open(&S.drives, &err) < 0) {
        err_report(err);
        return 1;
    }
    m->drives = &S.drives;
    for (int i = 0; i < S.n_netdev; i++) {
        if (netdev_add(&S.netdevs, S.loop, S.netdev_spec[i], &err) < 0) {
            err_prefix(&err, "-netdev %s", S.netdev_spec[i]);
            err_report(err);
            return 1;
        }
    }
    m->netdevs = &S.netdevs;
    if (ops->create(m, &err) < 0) {
        err_report(err);
        return 1;
    }
    S.created = true;
    drives_warn_unused(&S.drives);
    netdevs_warn_unused(&S.netdevs);
    if (m->opts.dumpdtb) {
        /* the board wrote it while building the device tree */
        msg_error(_("info: dtb dumped to %s. Exiting."), m->opts.dumpdtb);
        return 0;
    }
    /* savevm's commands and -loadvm reach the machine through mon_host */
    mon_host.m = m;
    mon_host.drives = &S.drives;
    mon_host.opaque = &S;
    savevm_set_host(&mon_host);
    if (loadvm_tag && savevm_load(loadvm_tag, &err) < 0) {
        err_prefix(&err, "-loadvm %s", loadvm_tag);
        err_report(err);
        return 1;
    }
    if (S.gdb_dev && gdb_start(&S, &err) < 0) {
        err_prefix(&err, "-gdb %s", S.gdb_dev);
        err_report(err);
        return 1;
    }
    if (S.display) {
        if (S.display->init(S.loop, S.display_opts, &display_host, &err) < 0) {
            err_prefix(&err, "-display %s", S.display->name);
            err_report(err);
            return 1;
        }
        S.display_started = true;
    }
    if (m->opts.start_stopped) {
        S.waiting_start = true;
        if (wait_for_sigcont(&S, &err) < 0) {
            err_report(err);
            return 1;
        }
    } else if (start_cpus(&S) < 0) {
        return S.exit_code;
    }
    prog_daemon_ready(&S.daemon_fd, false);
    if (loop_run(S.loop, &err) < 0) {
        err_report(err);
        stop_cpus(&S);
        return 1;
    }
    return S.exit_code;
}

/* Tear down in the reverse order of run(); safe on a partial start. */
static void cleanup(void)
{
    struct machine *m = &S.m;
    stop_cpus(&S);
    if (S.display_started)
        S.display->fini();      /* the terminal back before anything is said */
    S.display_started = false;
    gdbstub_free(S.gdb);
    S.gdb = NULL;
    export_cleanup();           /* NBD clients, then the views, while the drives are open */
    hmp_sessions_free();
    jobs_free();
    qmp_free(S.qmp);
    S.qmp = NULL;
    for (int i = 0; i < S.n_hmp; i++)
        chardev_free(S.hmp_chr[i]);
    for (int i = 0; i < S.n_qmp; i++)
        chardev_free(S.qmp_chr[i]);
    for (int i = 0; i < S.n_mon; i++)
        free(S.mon_ids[i]);
    if (S.created)
        m->ops->destroy(m);
    if (m->pool)
        pool_free(m->pool);
    drives_free(&S.drives);
    netdevs_free(&S.netdevs);
    for (int i = 0; i < S.n_netdev; i++)
        free(S.netdev_spec[i]);
    for (int i = 0; i < m->opts.n_devices; i++)
        free(m->opts.devices[i]);
    for (int i = 0; i < MACHINE_MAX_SERIAL; i++) {
        if (!S.serial_borrowed[i])
            chardev_free(m->serial[i]);
        m->serial[i] = NULL;
    }
    for (int i = 0; i < m->n_chardevs; i++) {
        chardev_free(m->chardevs[i].chr);
        free(m->chardevs[i].id);
        free(m->chardevs[i].spec);
    }
    m->n_chardevs = 0;
    registry_stop();
    if (S.cont_pipe[0] >= 0) {
        signal(SIGCONT, SIG_DFL);
        loop_remove_fd(S.loop, S.cont_pipe[0]);
        close(S.cont_pipe[0]);
        close(S.cont_pipe[1]);
    }
    if (m->event_bh)
        loop_bh_free(m->event_bh);
    if (S.loop)
        loop_free(S.loop);
    remove_pidfile(&S);
    log_close();
}

int main(int argc, char **argv)
{
    if (prog_init(argc, argv) < 0)
        return 1;
    mon_host.target = system_target.name;
    /* a console peer that hangs up must not kill us: writes just fail */
    signal(SIGPIPE, SIG_IGN);
    int r = parse_args(argc, argv);
    if (r != 0)
        return r < 0 ? 1 : 0;
    int code = run();
    prog_set_exiting();
    cleanup();
    fflush(NULL);
    return code;
}
