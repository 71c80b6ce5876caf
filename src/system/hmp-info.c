/* hmp-info.c - the human monitor's "info" commands and its memory
 * commands (x, xp, gva2gpa), in QEMU's text formats.
 *
 * Registers and virtual memory are read through the machine's debug ops
 * (hw/machine.h), which want the CPUs still: a running machine is held
 * for the moment of the read (monitor_host's hold/release, no STOP
 * event), as QEMU's monitor synchronises a vCPU's state before it prints
 * it.  Physical memory is read straight from the memory map; device
 * registers are never read, since a read may have effects. */
#include <config.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmp.h"
#include "hmp-cmds.h"
#include "display-cmds.h"
#include "input-cmds.h"
#include "savevm.h"
#include "trace-cmds.h"
#include "monitor.h"
#include "block/block.h"
#include "chardev.h"
#include "hw/dev.h"
#include "hw/drive.h"
#include "hw/machine.h"
#include "hw/net/netdev.h"
#include "i18n.h"
#include "loop.h"

#define MEM_DUMP_MAX (1u << 20)     /* bytes one x/xp may show */

/* ---- holding the CPUs ---- */

struct held {
    const struct machine_debug_ops *d;
    void *op;
    bool resume;
};

static int hold_cpus(struct held *h, struct error **errp)
{
    struct monitor_host *mh = monitor_host();
    h->d = monitor_cpu_ops(&h->op);
    if (!h->d)
        return err_set(errp, ENOTSUP, _("this machine has no CPUs to inspect"));
    h->resume = mh->hold ? mh->hold(mh->opaque) : false;
    return 0;
}

static void release_cpus(struct held *h)
{
    struct monitor_host *mh = monitor_host();
    if (h->resume && mh->release)
        mh->release(mh->opaque);
}

/* ---- info ---- */

static int i_status(struct hmp_out *out, const char *args, struct error **errp)
{
    (void)args, (void)errp;
    struct monitor_host *h = monitor_host();
    const char *st = h->status(h->opaque);
    if (strcmp(st, "running") == 0 || strcmp(st, "paused") == 0)
        hmp_printf(out, "VM status: %s\r\n", st);
    else
        hmp_printf(out, "VM status: paused (%s)\r\n", st);
    return 0;
}

static int i_version(struct hmp_out *out, const char *args, struct error **errp)
{
    (void)args, (void)errp;
    hmp_printf(out, "7.2.0 (%s %s)\r\n", PACKAGE_NAME, PACKAGE_VERSION);
    return 0;
}

static int i_name(struct hmp_out *out, const char *args, struct error **errp)
{
    (void)args, (void)errp;
    const char *name = monitor_host()->m->opts.name;
    if (name)
        hmp_printf(out, "%s\r\n", name);
    return 0;
}

static int i_cpus(struct hmp_out *out, const char *args, struct error **errp)
{
    (void)args, (void)errp;
    void *op = NULL;
    const struct machine_debug_ops *d = monitor_cpu_ops(&op);
    int n = d ? d->n_cpus(op) : 0;
    /* as QEMU: the monitor's current CPU (always 0 here) starred */
    for (int i = 0; i < n; i++)
        hmp_printf(out, "%c CPU #%d: thread_id=%d\r\n", i == 0 ? '*' : ' ', i,
                   monitor_cpu_tid(d, op, i));
    return 0;
}

static void reg_line(void *arg, const char *text)
{
    hmp_printf(arg, "%s\r\n", text);
}

static int i_registers(struct hmp_out *out, const char *args, struct error **errp)
{
    char word[16];
    bool all = false;
    int r;
    while ((r = hmp_next_word(&args, word, sizeof(word), errp)) > 0) {
        if (strcmp(word, "-a") == 0)
            all = true;
        else
            return err_set(errp, EINVAL, _("info registers: unknown option '%s'"), word);
    }
    if (r < 0)
        return r;
    struct held h;
    if ((r = hold_cpus(&h, errp)) < 0)
        return r;
    if (!h.d->dump_state) {
        release_cpus(&h);
        return err_set(errp, ENOTSUP, _("this machine cannot show its registers"));
    }
    int n = all ? h.d->n_cpus(h.op) : 1;
    for (int i = 0; i < n; i++) {
        if (all)
            hmp_printf(out, "\r\nCPU#%d\r\n", i);
        h.d->dump_state(h.op, i, reg_line, out);
    }
    release_cpus(&h);
    return 0;
}

static int i_block(struct hmp_out *out, const char *args, struct error **errp)
{
    (void)args, (void)errp;
    struct drive_set *ds = monitor_host()->drives;
    for (int i = 0; ds && i < ds->n; i++) {
        const struct drive *d = ds->d[i];
        if (d->is_protocol)
            continue;
        if (!d->bs) {
            hmp_printf(out, "%s: [not inserted]\r\n", d->id);
            continue;
        }
        hmp_printf(out, "%s: %s (%s%s)\r\n", d->id, d->filename, d->bs->drv->name,
                   d->readonly ? ", read-only" : "");
        hmp_printf(out, "    Cache mode:       %s%s%s\r\n",
                   d->writeback ? "writeback" : "writethrough",
                   (d->flags & BLK_O_DIRECT) ? ", direct" : "",
                   (d->flags & BLK_O_NO_FLUSH) ? ", ignore flushes" : "");
        if (d->bs->backing_file)
            hmp_printf(out, "    Backing file:     %s (chain depth: %d)\r\n",
                       d->bs->backing_file, blk_chain_length(d->bs) - 1);
        hmp_printf(out, "\r\n");
    }
    return 0;
}

static int i_blockstats(struct hmp_out *out, const char *args, struct error **errp)
{
    (void)args, (void)errp;
    struct drive_set *ds = monitor_host()->drives;
    uint64_t now = loop_now_ns();
    for (int i = 0; ds && i < ds->n; i++) {
        const struct drive *d = ds->d[i];
        if (d->is_protocol)
            continue;
        const struct drive_stats *st = &d->stats;
#define LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
        uint64_t last = LD(st->last_done_ns);
        hmp_printf(out,
                   "%s: rd_bytes=%" PRIu64 " wr_bytes=%" PRIu64 " rd_operations=%" PRIu64
                   " wr_operations=%" PRIu64 " flush_operations=%" PRIu64
                   " wr_total_time_ns=%" PRIu64 " rd_total_time_ns=%" PRIu64
                   " flush_total_time_ns=%" PRIu64 " rd_merged=0 wr_merged=0",
                   d->id, LD(st->bytes[DRIVE_RD]), LD(st->bytes[DRIVE_WR]),
                   LD(st->ops[DRIVE_RD]), LD(st->ops[DRIVE_WR]), LD(st->ops[DRIVE_FLUSH]),
                   LD(st->total_ns[DRIVE_WR]), LD(st->total_ns[DRIVE_RD]),
                   LD(st->total_ns[DRIVE_FLUSH]));
        if (last)
            hmp_printf(out, " idle_time_ns=%" PRIu64, now > last ? now - last : 0);
        hmp_printf(out, "\r\n");
#undef LD
    }
    return 0;
}

static const char *kind_name(enum mem_kind k)
{
    return k == MEM_RAM ? "ram" : k == MEM_ROM ? "rom" : "i/o";
}

static int i_mtree(struct hmp_out *out, const char *args, struct error **errp)
{
    (void)args, (void)errp;
    const struct mem_map *mm = &monitor_host()->m->mem;
    hmp_printf(out, "address-space: memory\r\n");
    hmp_printf(out, "  0000000000000000-ffffffffffffffff (prio 0, i/o): system\r\n");
    for (int i = 0; i < mm->n; i++) {
        const struct mem_region *r = &mm->r[i];
        hmp_printf(out, "    %016" PRIx64 "-%016" PRIx64 " (prio 0, %s): %s\r\n", r->base,
                   r->base + r->size - 1, kind_name(r->kind), r->name);
    }
    hmp_printf(out, "\r\n");
    return 0;
}

static int i_qtree(struct hmp_out *out, const char *args, struct error **errp)
{
    (void)args, (void)errp;
    const struct machine *m = monitor_host()->m;
    hmp_printf(out, "bus: main-system-bus\r\n  type System\r\n");
    int n = m->devs ? m->devs->n : 0;
    for (int i = 0; i < n; i++) {
        const struct dev_entry *e = &m->devs->d[i];
        const char *model = e->ops->model ? e->ops->model(e->dev) : e->ops->name;
        /* a device behind another's registers (virtio behind its
         * virtio-mmio transport) sits on that one's bus */
        bool child = false;
        for (int k = 0; k < n && !child; k++)
            child = k != i && m->devs->d[k].base == e->base && !m->devs->d[k].ops->model &&
                    e->ops->model;
        if (child)
            continue;
        hmp_printf(out, "  dev: %s, id \"\"\r\n", model);
        const struct mem_region *r = mem_find(&m->mem, e->base);
        if (r && r->base == e->base)
            hmp_printf(out, "    mmio %016" PRIx64 "/%016" PRIx64 "\r\n", r->base, r->size);
        for (int k = 0; k < n; k++) {
            const struct dev_entry *c = &m->devs->d[k];
            if (k == i || c->base != e->base || !c->ops->model || e->ops->model)
                continue;
            hmp_printf(out, "    bus: %s-bus\r\n      type %s-bus\r\n", model, model);
            hmp_printf(out, "      dev: %s, id \"\"\r\n", c->ops->model(c->dev));
        }
    }
    return 0;
}

static int i_network(struct hmp_out *out, const char *args, struct error **errp)
{
    (void)args, (void)errp;
    const struct netdev_set *ns = monitor_host()->m->netdevs;
    for (int i = 0; ns && i < ns->n; i++) {
        const struct netdev *nd = ns->nd[i];
        hmp_printf(out, "%s: index=%d,type=%s%s\r\n", nd->id, i, nd->ops->name,
                   nd->vnet_hdr ? ",vnet_hdr=on" : "");
        hmp_printf(out, " \\ peer: %s (dropped tx=%" PRIu64 " rx=%" PRIu64 ")\r\n",
                   nd->taken ? "a network card" : "none",
                   __atomic_load_n(&nd->tx_dropped, __ATOMIC_RELAXED),
                   __atomic_load_n(&nd->rx_dropped, __ATOMIC_RELAXED));
    }
    return 0;
}

static int i_chardev(struct hmp_out *out, const char *args, struct error **errp)
{
    (void)args, (void)errp;
    const struct machine *m = monitor_host()->m;
    for (int i = 0; i < MACHINE_MAX_SERIAL; i++)
        if (m->serial[i])
            hmp_printf(out, "serial%d: filename=%s\r\n", i, chardev_label(m->serial[i]));
    for (int i = 0; i < m->n_chardevs; i++)
        hmp_printf(out, "%s: filename=%s\r\n", m->chardevs[i].id,
                   m->chardevs[i].chr ? chardev_label(m->chardevs[i].chr) : "");
    return 0;
}

static const struct hmp_cmd info_cmds[] = {
    { "block", "", N_("show the block devices"), i_block },
    { "blockstats", "", N_("show block device statistics"), i_blockstats },
    { "chardev", "", N_("show the character devices"), i_chardev },
    { "cpus", "", N_("show infos for each CPU"), i_cpus },
    { "display", "", N_("show the display consoles and the frames sent"), hmp_info_display },
    { "mice", "", N_("show the pointers and which one gets the buttons"), hmp_info_mice },
    { "mtree", "", N_("show memory tree"), i_mtree },
    { "name", "", N_("show the current VM name"), i_name },
    { "network", "", N_("show the network state"), i_network },
    { "qtree", "", N_("show device tree"), i_qtree },
    { "registers", "[-a]", N_("show the cpu registers (-a: all CPUs)"), i_registers },
    { "snapshots", "", N_("show the currently saved VM snapshots"), hmp_info_snapshots },
    { "status", "", N_("show the current VM status (running|paused)"), i_status },
    { "trace-events", "[name]", N_("show available trace-events & their state"),
      hmp_info_trace_events },
    { "version", "", N_("show the version of QEMU"), i_version },
    { NULL, NULL, NULL, NULL },
};

int hmp_info_help(struct hmp_out *out)
{
    for (const struct hmp_cmd *c = info_cmds; c->name; c++)
        hmp_printf(out, "info %s %s -- %s\r\n", c->name, c->params, _(c->help));
    return 0;
}

int hmp_info(struct hmp_out *out, const char *args, struct error **errp)
{
    char name[32];
    int r = hmp_next_word(&args, name, sizeof(name), errp);
    if (r < 0)
        return r;
    if (r == 0)
        return hmp_info_help(out);
    for (const struct hmp_cmd *c = info_cmds; c->name; c++)
        if (hmp_name_matches(c->name, name))
            return c->fn(out, args, errp);
    hmp_printf(out, _("unknown command: 'info %s'"), name);
    hmp_printf(out, "\r\n");
    return 0;
}

/* ---- memory ---- */

/* "/[count][format][size]": formats x d u o c i, sizes b h w g (QEMU's
 * defaults: the last ones used, at first 1, 'x', 'w'). */
struct dump_fmt {
    unsigned count;
    char format;
    unsigned size;
};

static struct dump_fmt last_fmt = { 1, 'x', 4 };

static int parse_fmt(const char **args, struct dump_fmt *f, struct error **errp)
{
    const char *p = *args;
    *f = last_fmt;
    f->count = 1;
    while (*p == ' ')
        p++;
    if (*p != '/')
        return 0;
    p++;
    if (*p >= '0' && *p <= '9') {
        char *end;
        unsigned long n = strtoul(p, &end, 10);
        if (n == 0 || n > MEM_DUMP_MAX)
            return err_set(errp, EINVAL, _("invalid count in '%.32s'"), *args);
        f->count = (unsigned)n;
        p = end;
    }
    for (; *p && *p != ' '; p++) {
        switch (*p) {
        case 'x': case 'd': case 'u': case 'o': case 'c': case 'i':
            f->format = *p;
            break;
        case 'b': f->size = 1; break;
        case 'h': f->size = 2; break;
        case 'w': f->size = 4; break;
        case 'g': f->size = 8; break;
        default:
            return err_set(errp, EINVAL, _("invalid char in format: '%c'"), *p);
        }
    }
    *args = p;
    return 0;
}

/* A number, or $pc (CPU 0's, the CPUs held). */
static int parse_addr(const char *args, uint64_t *addr, struct error **errp)
{
    char word[40];
    int r = hmp_next_word(&args, word, sizeof(word), errp);
    if (r < 0)
        return r;
    if (r == 0)
        return err_set(errp, EINVAL, _("an address is missing"));
    if (strcmp(word, "$pc") == 0) {
        struct held h;
        if ((r = hold_cpus(&h, errp)) < 0)
            return r;
        if (!h.d->pc) {
            release_cpus(&h);
            return err_set(errp, ENOTSUP, _("this machine cannot show its registers"));
        }
        *addr = h.d->pc(h.op, 0);
        release_cpus(&h);
        return *args ? err_set(errp, EINVAL, _("too many arguments: '%.32s'"), args) : 0;
    }
    char *end;
    errno = 0;
    *addr = strtoull(word, &end, 0);
    if (errno || *end || word[0] == '-')
        return err_set(errp, EINVAL, _("invalid address '%s'"), word);
    if (*args)
        return err_set(errp, EINVAL, _("too many arguments: '%.32s'"), args);
    return 0;
}

/* Read LEN bytes at ADDR, virtual (through CPU 0) or physical. */
static int read_guest(struct held *h, bool phys, uint64_t addr, void *buf, size_t len)
{
    if (phys)
        return mem_read(&monitor_host()->m->mem, addr, buf, len);
    return h->d->read_mem(h->op, 0, addr, buf, len);
}

static void print_value(struct hmp_out *out, char format, unsigned size, uint64_t v)
{
    int bits = (int)size * 8;
    switch (format) {
    case 'o':
        hmp_printf(out, " %#*" PRIo64, (bits + 2) / 3 + 1, v);
        break;
    case 'u':
        hmp_printf(out, " %*" PRIu64, (bits * 10 + 32) / 33, v);
        break;
    case 'd': {
        int64_t sv = bits == 64 ? (int64_t)v : (int64_t)(v << (64 - bits)) >> (64 - bits);
        hmp_printf(out, " %*" PRId64, (bits * 10 + 32) / 33, sv);
        break;
    }
    case 'c':
        if (v >= 32 && v < 127 && v != '\'' && v != '\\')
            hmp_printf(out, " '%c'", (char)v);
        else if (v == '\n')
            hmp_printf(out, " '\\n'");
        else
            hmp_printf(out, " '\\x%02x'", (unsigned)(v & 0xff));
        break;
    default:
        hmp_printf(out, " 0x%0*" PRIx64, bits / 4, v);
        break;
    }
}

static int dump_insns(struct hmp_out *out, struct held *h, bool phys, uint64_t addr,
                      unsigned count)
{
    if (!h->d->disas)
        return -ENOTSUP;
    for (unsigned i = 0; i < count; i++) {
        uint8_t bytes[16] = { 0 };
        size_t got = 2;
        if (read_guest(h, phys, addr, bytes, 2) < 0) {
            hmp_printf(out, "Cannot access memory\r\n");
            return 0;
        }
        if ((bytes[0] & 3) == 3 && read_guest(h, phys, addr + 2, bytes + 2, 2) == 0)
            got = 4;
        char text[128];
        int n = h->d->disas(h->op, addr, bytes, got, text, sizeof(text));
        if (n <= 0)
            break;
        hmp_printf(out, "0x%016" PRIx64 ":  %s\r\n", addr, text);
        addr += (uint64_t)n;
    }
    return 0;
}

static int mem_dump(struct hmp_out *out, const char *args, bool phys, struct error **errp)
{
    struct dump_fmt f;
    uint64_t addr;
    int r = parse_fmt(&args, &f, errp);
    if (r == 0)
        r = parse_addr(args, &addr, errp);
    if (r < 0)
        return r;
    last_fmt = f;
    struct held h = { 0 };
    if (!phys || f.format == 'i') {
        if ((r = hold_cpus(&h, errp)) < 0)
            return r;
    }
    if (f.format == 'i') {
        r = dump_insns(out, &h, phys, addr, f.count);
        release_cpus(&h);
        return r < 0 ? err_set(errp, -r, _("this machine cannot disassemble")) : 0;
    }
    unsigned size = f.format == 'c' ? 1 : f.size;
    uint64_t total = (uint64_t)f.count * size;
    unsigned per_line = size == 1 ? 8 : 16;
    if (total > MEM_DUMP_MAX)
        total = MEM_DUMP_MAX;
    while (total) {
        unsigned n = total < per_line ? (unsigned)total : per_line;
        uint8_t buf[16];
        if (read_guest(&h, phys, addr, buf, n) < 0) {
            hmp_printf(out, "Cannot access memory\r\n");
            break;
        }
        hmp_printf(out, "%016" PRIx64 ":", addr);
        for (unsigned k = 0; k + size <= n; k += size) {
            uint64_t v = 0;
            for (unsigned b = 0; b < size; b++)
                v |= (uint64_t)buf[k + b] << (8 * b);
            print_value(out, f.format, size, v);
        }
        hmp_printf(out, "\r\n");
        addr += n;
        total -= n;
    }
    release_cpus(&h);
    return 0;
}

int hmp_x(struct hmp_out *out, const char *args, struct error **errp)
{
    return mem_dump(out, args, false, errp);
}

int hmp_xp(struct hmp_out *out, const char *args, struct error **errp)
{
    return mem_dump(out, args, true, errp);
}

int hmp_gva2gpa(struct hmp_out *out, const char *args, struct error **errp)
{
    uint64_t va, pa;
    int r = parse_addr(args, &va, errp);
    if (r < 0)
        return r;
    struct held h;
    if ((r = hold_cpus(&h, errp)) < 0)
        return r;
    r = h.d->virt_to_phys ? h.d->virt_to_phys(h.op, 0, va, &pa) : -ENOTSUP;
    release_cpus(&h);
    if (r == -ENOTSUP)
        return err_set(errp, ENOTSUP, _("this machine cannot translate addresses"));
    if (r < 0)
        return err_set(errp, EFAULT, _("Unmapped"));
    hmp_printf(out, "gpa: 0x%" PRIx64 "\r\n", pa);
    return 0;
}
