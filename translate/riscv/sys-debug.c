/* sys-debug.c - what a debugger does with the harts (struct
 * machine_debug_ops, hw/machine.h): stop and run them, step one,
 * registers, memory by virtual address, software breakpoints.
 *
 * Everything but the two run-loop hooks runs on the loop thread.  A
 * debugger stop is all-stop: a hart that reaches one of the debugger's
 * breakpoints, or ends a step, records itself in dbg->stop_hart (the
 * first one wins), leaves its own run loop and schedules a bottom half;
 * the loop thread then stops the other harts (rv_sys_stop) and tells the
 * debugger.  A hart never waits for the loop.
 *
 * Memory is read and written through the hart's current translation by a
 * page walk of its own that sets no A/D bits and ignores the permission
 * bits (a debugger reads what the mode could map).  A write into a page
 * that holds translated code (or into ROM) drops every translation.
 * Breakpoints are ebreaks written that way (c.ebreak over a compressed
 * instruction), remembered by physical address.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "riscv/sys-int.h"
#include "i18n.h"

#define DBG_MAX_BP 64
#define PAGE_MASK (~UINT64_C(0xfff))
#define EBREAK 0x00100073u
#define C_EBREAK 0x9002u

struct rv_dbg_bp {
    uint64_t va, pa;
    uint32_t saved;
    int len;
};

struct rv_dbg {
    struct rv_sys *s;
    struct loop_bh *bh;
    void (*on_stop)(void *arg);
    void *arg;
    int stop_hart;              /* atomic: the first hart that stopped by itself, or -1 */
    int stop_why;               /* enum machine_stop, with it */
    bool stepping;              /* the translator makes one-instruction blocks */
    bool saved_no_chain;
    struct rv_dbg_bp bp[DBG_MAX_BP];
    int n_bp;
};

/* The gdb target description: regnum = gdb's numbering (x 0-31, pc 32,
 * f 33-64, CSR n at 65 + n, priv at 65 + 4096). */
static const struct { const char *name; unsigned csr; } dbg_csrs[] = {
    { "sstatus", 0x100 }, { "sie", 0x104 }, { "stvec", 0x105 }, { "scounteren", 0x106 },
    { "senvcfg", 0x10a }, { "sscratch", 0x140 }, { "sepc", 0x141 }, { "scause", 0x142 },
    { "stval", 0x143 }, { "sip", 0x144 }, { "satp", 0x180 },
    { "mstatus", 0x300 }, { "misa", 0x301 }, { "medeleg", 0x302 }, { "mideleg", 0x303 },
    { "mie", 0x304 }, { "mtvec", 0x305 }, { "mcounteren", 0x306 }, { "menvcfg", 0x30a },
    { "mscratch", 0x340 }, { "mepc", 0x341 }, { "mcause", 0x342 }, { "mtval", 0x343 },
    { "mip", 0x344 }, { "pmpcfg0", 0x3a0 }, { "pmpcfg2", 0x3a2 }, { "pmpaddr0", 0x3b0 },
    { "pmpaddr1", 0x3b1 }, { "pmpaddr2", 0x3b2 }, { "pmpaddr3", 0x3b3 },
    { "mcycle", 0xb00 }, { "minstret", 0xb02 }, { "mhartid", 0xf14 },
};
#define REG_CSR0 65
#define REG_PRIV (65 + 4096)

static const char *const gpr_names[32] = {
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "fp", "s1", "a0", "a1", "a2", "a3", "a4",
    "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
    "t5", "t6",
};

static const char *dbg_target_xml(void *opaque)
{
    static char xml[12288];
    (void)opaque;
    if (xml[0])
        return xml;
    size_t n = 0, sz = sizeof(xml);
#define ADD(...) (n += (size_t)snprintf(xml + n, n < sz ? sz - n : 0, __VA_ARGS__))
    ADD("<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
        "<target><architecture>riscv:rv64</architecture>"
        "<feature name=\"org.gnu.gdb.riscv.cpu\">");
    for (int i = 0; i < 32; i++)
        ADD("<reg name=\"%s\" bitsize=\"64\" type=\"%s\" regnum=\"%d\"/>", gpr_names[i],
            i == 2 || i == 8 ? "data_ptr" : "int", i);
    ADD("<reg name=\"pc\" bitsize=\"64\" type=\"code_ptr\" regnum=\"32\"/></feature>"
        "<feature name=\"org.gnu.gdb.riscv.fpu\">");
    for (int i = 0; i < 32; i++)
        ADD("<reg name=\"f%d\" bitsize=\"64\" type=\"ieee_double\" regnum=\"%d\"/>", i, 33 + i);
    ADD("<reg name=\"fflags\" bitsize=\"32\" type=\"int\" regnum=\"66\"/>"
        "<reg name=\"frm\" bitsize=\"32\" type=\"int\" regnum=\"67\"/>"
        "<reg name=\"fcsr\" bitsize=\"32\" type=\"int\" regnum=\"68\"/>"
        "</feature><feature name=\"org.gnu.gdb.riscv.csr\">");
    for (size_t i = 0; i < ARRAY_SIZE(dbg_csrs); i++)
        ADD("<reg name=\"%s\" bitsize=\"64\" type=\"int\" regnum=\"%u\"/>", dbg_csrs[i].name,
            REG_CSR0 + dbg_csrs[i].csr);
    ADD("</feature><feature name=\"org.gnu.gdb.riscv.virtual\">"
        "<reg name=\"priv\" bitsize=\"64\" type=\"int\" regnum=\"%d\"/></feature></target>",
        REG_PRIV);
#undef ADD
    return xml;
}

/* ---- state ---- */

static struct rv_dbg *dbg_of(struct rv_sys *s)
{
    if (!s->dbg) {
        struct rv_dbg *d = calloc(1, sizeof(*d));
        if (!d)
            return NULL;
        d->s = s;
        d->stop_hart = -1;
        s->dbg = d;
    }
    return s->dbg;
}

/* Called from rv_sys_free. */
void rv_dbg_free(struct rv_sys *s)
{
    if (!s->dbg)
        return;
    if (s->dbg->bh)
        loop_bh_free(s->dbg->bh);
    free(s->dbg);
    s->dbg = NULL;
}

static struct rv_hart *hart_of(struct rv_sys *s, int cpu)
{
    return cpu >= 0 && cpu < s->n_harts ? s->harts[cpu] : NULL;
}

/* ---- the run loop's hooks (hart threads) ---- */

/* This hart stops for the debugger: record it and wake the loop. */
static void hart_stops(struct rv_hart *h, enum machine_stop why)
{
    struct rv_dbg *d = h->sys->dbg;
    int none = -1;
    if (__atomic_compare_exchange_n(&d->stop_hart, &none, h->id, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        __atomic_store_n(&d->stop_why, (int)why, __ATOMIC_RELEASE);
    __atomic_store_n(&h->stop, 1, __ATOMIC_RELEASE);
    if (d->bh)
        loop_bh_schedule(d->bh);
}

static int dbg_translate(struct rv_hart *h, uint64_t va, uint64_t *pa);

bool rv_dbg_ebreak(struct rv_hart *h)
{
    struct rv_dbg *d = h->sys->dbg;
    uint64_t pa;
    if (!d || d->n_bp == 0 || dbg_translate(h, h->cpu.pc, &pa) < 0)
        return false;
    for (int i = 0; i < d->n_bp; i++) {
        if (d->bp[i].pa == pa) {
            hart_stops(h, MACHINE_STOP_BREAK);
            return true;
        }
    }
    return false;
}

void rv_dbg_stepped(struct rv_hart *h)
{
    /* one block of one instruction ran (or a trap was taken instead):
     * the translator leaves translated code after every block */
    hart_stops(h, MACHINE_STOP_STEP);
}

/* ---- run control (loop thread) ---- */

static void on_bh(void *opaque)
{
    struct rv_dbg *d = opaque;
    /* a stop that pause() already collected is no news */
    if (__atomic_load_n(&d->stop_hart, __ATOMIC_ACQUIRE) >= 0 && d->on_stop)
        d->on_stop(d->arg);
}

static void dbg_set_stop_handler(void *opaque, void (*fn)(void *arg), void *arg)
{
    struct rv_sys *s = opaque;
    struct rv_dbg *d = dbg_of(s);
    if (!d)
        return;
    if (!d->bh)
        d->bh = loop_bh_new(s->loop, on_bh, d, NULL);
    d->on_stop = fn;
    d->arg = arg;
}

static int dbg_n_cpus(void *opaque)
{
    return ((struct rv_sys *)opaque)->n_harts;
}

static int dbg_cpu_thread_id(void *opaque, int cpu)
{
    struct rv_sys *s = opaque;
    if (cpu < 0 || cpu >= s->n_harts || !s->harts[cpu])
        return -1;
    int tid = __atomic_load_n(&s->harts[cpu]->tid, __ATOMIC_ACQUIRE);
    return tid > 0 ? tid : -1;
}

static int dbg_pause(void *opaque, enum machine_stop *why)
{
    struct rv_sys *s = opaque;
    rv_sys_stop(s);
    struct rv_dbg *d = dbg_of(s);
    int cpu = d ? d->stop_hart : -1;
    if (cpu >= 0) {
        *why = (enum machine_stop)d->stop_why;
        d->stop_hart = -1;
        return cpu;
    }
    *why = MACHINE_STOP_PAUSED;
    return 0;
}

/* One-instruction blocks, no chaining, while a hart steps (every hart is
 * stopped: the translations can go). */
static void set_stepping(struct rv_dbg *d, bool on)
{
    struct tr *tr = d->s->tr;
    if (d->stepping == on)
        return;
    tr_lock(tr);
    if (on)
        d->saved_no_chain = tr->no_chain;
    tr->single_step = on;
    tr->max_insns = on ? 1 : tr->fe->max_insns;
    tr->no_chain = on ? true : d->saved_no_chain;
    tr_flush(tr, NULL);
    tr_unlock(tr);
    d->stepping = on;
}

static int dbg_resume(void *opaque, const uint8_t *how, struct error **errp)
{
    struct rv_sys *s = opaque;
    struct rv_dbg *d = dbg_of(s);
    if (!d)
        return err_set(errp, ENOMEM, _("out of memory"));
    rv_sys_stop(s);
    __atomic_store_n(&d->stop_hart, -1, __ATOMIC_RELEASE);
    bool step = false;
    for (int i = 0; i < s->n_harts; i++) {
        s->harts[i]->dbg_step = how[i] == MACHINE_RUN_STEP;
        step |= how[i] == MACHINE_RUN_STEP;
    }
    /* (harts that continue meanwhile run one-instruction blocks too) */
    set_stepping(d, step);
    for (int i = 0; i < s->n_harts; i++) {
        if (how[i] == MACHINE_RUN_STOPPED)
            continue;
        int r = rv_hart_start(s->harts[i], errp);
        if (r < 0) {
            rv_sys_stop(s);
            return r;
        }
    }
    return 0;
}

/* ---- registers ---- */

static void put64(uint8_t *buf, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *buf, size_t len)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8 && i < len; i++)
        v |= (uint64_t)buf[i] << (8 * i);
    return v;
}

static bool is_dbg_csr(unsigned csr)
{
    if (csr >= 1 && csr <= 3)
        return true;
    for (size_t i = 0; i < ARRAY_SIZE(dbg_csrs); i++)
        if (dbg_csrs[i].csr == csr)
            return true;
    return false;
}

static int dbg_read_reg(void *opaque, int cpu, int regno, uint8_t *buf)
{
    struct rv_sys *s = opaque;
    struct rv_hart *h = hart_of(s, cpu);
    if (!h)
        return -ESRCH;
    if (s->running)
        return -EBUSY;
    uint64_t v;
    if (regno >= 0 && regno < 32)
        v = regno ? h->cpu.x[regno] : 0;
    else if (regno == 32)
        v = h->cpu.pc;
    else if (regno >= 33 && regno < 65)
        v = h->cpu.f[regno - 33];
    else if (regno == REG_PRIV)
        v = (uint64_t)h->priv;
    else if (regno >= REG_CSR0 && regno < REG_PRIV && is_dbg_csr((unsigned)(regno - REG_CSR0))) {
        if (rv_csr_debug_read(h, (unsigned)(regno - REG_CSR0), &v) < 0)
            v = 0;
    } else
        return -ENOENT;
    put64(buf, v);
    return regno >= REG_CSR0 + 1 && regno <= REG_CSR0 + 3 ? 4 : 8;    /* the FP CSRs: 32 bits */
}

static int dbg_write_reg(void *opaque, int cpu, int regno, const uint8_t *buf, size_t len)
{
    struct rv_sys *s = opaque;
    struct rv_hart *h = hart_of(s, cpu);
    if (!h)
        return -ESRCH;
    if (s->running)
        return -EBUSY;
    uint64_t v = get64(buf, len);
    if (regno >= 0 && regno < 32) {
        if (regno)
            h->cpu.x[regno] = v;
    } else if (regno == 32) {
        h->cpu.pc = v;
    } else if (regno >= 33 && regno < 65) {
        h->cpu.f[regno - 33] = v;
    } else if (regno == REG_PRIV) {
        if (v != RV_PRIV_U && v != RV_PRIV_S && v != RV_PRIV_M)
            return -EINVAL;
        h->priv = (int)v;
        rv_tlb_flush_all(h);
    } else if (regno >= REG_CSR0 && regno < REG_PRIV &&
               is_dbg_csr((unsigned)(regno - REG_CSR0))) {
        return rv_csr_debug_write(h, (unsigned)(regno - REG_CSR0), v);
    } else {
        return -ENOENT;
    }
    return 0;
}

/* ---- memory ---- */

/* va to a physical address as the hart's current privilege maps it (M:
 * the identity), with no side effect: no A/D bits, no permission checks. */
static int dbg_translate(struct rv_hart *h, uint64_t va, uint64_t *pa)
{
    unsigned mode = (unsigned)(h->satp >> 60);
    if (h->priv == RV_PRIV_M || (mode != 8 && mode != 9)) {
        *pa = va;
        return 0;
    }
    int levels = mode == 8 ? 3 : 4;
    int va_bits = 12 + 9 * levels;
    if ((uint64_t)((int64_t)(va << (64 - va_bits)) >> (64 - va_bits)) != va)
        return -EFAULT;
    uint64_t table = (h->satp & ((UINT64_C(1) << 44) - 1)) << 12;
    for (int lvl = levels - 1; lvl >= 0; lvl--) {
        uint64_t pte_pa = table + ((va >> (12 + 9 * lvl)) & 511) * 8;
        const uint64_t *p = mem_ram_ptr(h->sys->mem, pte_pa, 8, false);
        if (!p)
            return -EFAULT;
        uint64_t pte = __atomic_load_n(p, __ATOMIC_ACQUIRE);
        if (!(pte & 1) || (!(pte & 2) && (pte & 4)))
            return -EFAULT;
        uint64_t ppn = (pte >> 10) & ((UINT64_C(1) << 44) - 1);
        if (!(pte & 0xa)) {             /* neither R nor X: the next level */
            table = ppn << 12;
            continue;
        }
        uint64_t mask = (UINT64_C(1) << (12 + 9 * lvl)) - 1;
        *pa = ((ppn << 12) & ~mask) | (va & mask);
        return 0;
    }
    return -EFAULT;
}

/* Copy [pa, pa + len) (inside one page) into guest memory; RAM or ROM.
 * Translated code of the page goes entirely: rv_code_write (what a guest
 * store does) drops only the blocks over the bytes, and a block of the
 * same page that was chained into one of them would still jump into its
 * old code.  The harts are stopped: a flush is safe and cheap. */
static int phys_write(struct rv_sys *s, uint64_t pa, const void *buf, size_t len)
{
    const struct mem_region *r = mem_find(s->mem, pa);
    uint8_t *p = mem_ram_ptr(s->mem, pa, len, true);
    if (!r || !p)
        return -EFAULT;
    /* (ROM has no code map: any write may hit code) */
    bool code = r->kind == MEM_ROM || rv_is_code_page(s, pa);
    memcpy(p, buf, len);
    if (code)
        tr_flush(s->tr, NULL);
    return 0;
}

static int dbg_read_mem(void *opaque, int cpu, uint64_t va, void *buf, size_t len)
{
    struct rv_sys *s = opaque;
    struct rv_hart *h = hart_of(s, cpu);
    if (!h)
        return -ESRCH;
    if (s->running)
        return -EBUSY;
    uint8_t *out = buf;
    while (len) {
        size_t n = MIN(len, (size_t)(((va & PAGE_MASK) + 0x1000) - va));
        uint64_t pa;
        int r = dbg_translate(h, va, &pa);
        if (r < 0)
            return r;
        const uint8_t *p = mem_ram_ptr(s->mem, pa, n, true);
        if (!p)
            return -EFAULT;             /* devices are not read: reads may have effects */
        memcpy(out, p, n);
        out += n;
        va += n;
        len -= n;
    }
    return 0;
}

static int dbg_write_mem(void *opaque, int cpu, uint64_t va, const void *buf, size_t len)
{
    struct rv_sys *s = opaque;
    struct rv_hart *h = hart_of(s, cpu);
    if (!h)
        return -ESRCH;
    if (s->running)
        return -EBUSY;
    const uint8_t *in = buf;
    while (len) {
        size_t n = MIN(len, (size_t)(((va & PAGE_MASK) + 0x1000) - va));
        uint64_t pa;
        int r = dbg_translate(h, va, &pa);
        if (r == 0)
            r = phys_write(s, pa, in, n);
        if (r < 0)
            return r;
        in += n;
        va += n;
        len -= n;
    }
    return 0;
}

/* ---- breakpoints ---- */

static int dbg_insert_bp(void *opaque, int cpu, uint64_t va)
{
    struct rv_sys *s = opaque;
    struct rv_dbg *d = dbg_of(s);
    struct rv_hart *h = hart_of(s, cpu);
    if (!d || !h)
        return -ESRCH;
    if (s->running)
        return -EBUSY;
    uint64_t pa;
    int r = dbg_translate(h, va, &pa);
    if (r < 0)
        return r;
    for (int i = 0; i < d->n_bp; i++)
        if (d->bp[i].pa == pa)
            return 0;
    if (d->n_bp == DBG_MAX_BP)
        return -ENOSPC;
    struct rv_dbg_bp *b = &d->bp[d->n_bp];
    uint16_t half;
    r = dbg_read_mem(s, cpu, va, &half, 2);
    if (r < 0)
        return r;
    b->len = (half & 3) == 3 ? 4 : 2;
    b->saved = 0;
    r = dbg_read_mem(s, cpu, va, &b->saved, (size_t)b->len);
    if (r < 0)
        return r;
    uint32_t insn = b->len == 4 ? EBREAK : C_EBREAK;
    uint8_t bytes[4] = { (uint8_t)insn, (uint8_t)(insn >> 8), (uint8_t)(insn >> 16),
                         (uint8_t)(insn >> 24) };
    r = dbg_write_mem(s, cpu, va, bytes, (size_t)b->len);
    if (r < 0)
        return r;
    b->va = va;
    b->pa = pa;
    d->n_bp++;
    return 0;
}

/* Put the instruction back where it was (by physical address: the
 * mapping may have changed meanwhile). */
static void restore_bp(struct rv_sys *s, const struct rv_dbg_bp *b)
{
    uint8_t bytes[4] = { (uint8_t)b->saved, (uint8_t)(b->saved >> 8),
                         (uint8_t)(b->saved >> 16), (uint8_t)(b->saved >> 24) };
    if (((b->pa + (uint64_t)b->len - 1) & PAGE_MASK) == (b->pa & PAGE_MASK)) {
        phys_write(s, b->pa, bytes, (size_t)b->len);
        return;
    }
    /* straddles a page: the second half by the virtual address */
    size_t first = (size_t)(((b->pa & PAGE_MASK) + 0x1000) - b->pa);
    phys_write(s, b->pa, bytes, first);
    uint64_t pa2;
    if (dbg_translate(s->harts[0], b->va + first, &pa2) == 0)
        phys_write(s, pa2, bytes + first, (size_t)b->len - first);
}

static int dbg_remove_bp(void *opaque, int cpu, uint64_t va)
{
    struct rv_sys *s = opaque;
    struct rv_dbg *d = dbg_of(s);
    struct rv_hart *h = hart_of(s, cpu);
    if (!d || !h)
        return -ESRCH;
    if (s->running)
        return -EBUSY;
    uint64_t pa;
    bool mapped = dbg_translate(h, va, &pa) == 0;
    for (int i = 0; i < d->n_bp; i++) {
        if ((mapped && d->bp[i].pa == pa) || (!mapped && d->bp[i].va == va)) {
            restore_bp(s, &d->bp[i]);
            d->bp[i] = d->bp[--d->n_bp];
            return 0;
        }
    }
    return 0;
}

static void dbg_remove_all_bp(void *opaque)
{
    struct rv_sys *s = opaque;
    struct rv_dbg *d = s->dbg;
    if (!d)
        return;
    while (d->n_bp)
        restore_bp(s, &d->bp[--d->n_bp]);
    set_stepping(d, false);
    for (int i = 0; i < s->n_harts; i++)
        s->harts[i]->dbg_step = false;
}

/* ---- the human monitor ---- */

static int dbg_virt_to_phys(void *opaque, int cpu, uint64_t va, uint64_t *pa)
{
    struct rv_sys *s = opaque;
    struct rv_hart *h = hart_of(s, cpu);
    if (!h)
        return -ESRCH;
    if (s->running)
        return -EBUSY;
    return dbg_translate(h, va, pa);
}

static uint64_t dbg_pc(void *opaque, int cpu)
{
    struct rv_hart *h = hart_of(opaque, cpu);
    return h ? h->cpu.pc : 0;
}

static int dbg_disas(void *opaque, uint64_t pc, const uint8_t *bytes, size_t len, char *buf,
                     size_t n)
{
    struct rv_sys *s = opaque;
    if (len < 2)
        return 0;
    uint32_t raw = (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8;
    int ilen = (raw & 3) == 3 ? 4 : 2;
    if ((size_t)ilen > len)
        return 0;
    if (ilen == 4)
        raw |= (uint32_t)bytes[2] << 16 | (uint32_t)bytes[3] << 24;
    rv_disasm(buf, n, pc, raw, ilen, s->ext);
    return ilen;
}

/* QEMU's layout for riscv: pc and the trap CSRs one per line, then the
 * integer and FP registers four to a line. */
static void dbg_dump_state(void *opaque, int cpu, void (*line)(void *arg, const char *text),
                           void *arg)
{
    struct rv_sys *s = opaque;
    struct rv_hart *h = hart_of(s, cpu);
    char t[160];
    if (!h)
        return;
    static const struct { const char *name; unsigned csr; } shown[] = {
        { "mhartid", 0xf14 }, { "mstatus", 0x300 }, { "mip", 0x344 }, { "mie", 0x304 },
        { "mideleg", 0x303 }, { "medeleg", 0x302 }, { "mtvec", 0x305 }, { "stvec", 0x105 },
        { "mepc", 0x341 }, { "sepc", 0x141 }, { "mcause", 0x342 }, { "scause", 0x142 },
        { "mtval", 0x343 }, { "stval", 0x143 }, { "mscratch", 0x340 },
        { "sscratch", 0x140 }, { "satp", 0x180 },
    };
    snprintf(t, sizeof(t), " %-8s %016" PRIx64, "pc", h->cpu.pc);
    line(arg, t);
    snprintf(t, sizeof(t), " %-8s %d", "priv", h->priv);
    line(arg, t);
    for (size_t i = 0; i < ARRAY_SIZE(shown); i++) {
        uint64_t v = 0;
        if (rv_csr_debug_read(h, shown[i].csr, &v) < 0)
            v = 0;
        snprintf(t, sizeof(t), " %-8s %016" PRIx64, shown[i].name, v);
        line(arg, t);
    }
    for (int i = 0; i < 32; i += 4) {
        size_t k = 0;
        for (int j = i; j < i + 4; j++) {
            char name[16];
            snprintf(name, sizeof(name), "x%d/%s", j, gpr_names[j]);
            k += (size_t)snprintf(t + k, sizeof(t) - k, " %-8s %016" PRIx64, name,
                                  j ? h->cpu.x[j] : 0);
        }
        line(arg, t);
    }
    for (int i = 0; i < 32; i += 4) {
        size_t k = 0;
        for (int j = i; j < i + 4; j++) {
            char name[8];
            snprintf(name, sizeof(name), "f%d", j);
            k += (size_t)snprintf(t + k, sizeof(t) - k, " %-8s %016" PRIx64, name,
                                  h->cpu.f[j]);
        }
        line(arg, t);
    }
}

const struct machine_debug_ops rv_sys_debug_ops = {
    .target_xml = dbg_target_xml,
    .n_g_regs = 33,
    .n_cpus = dbg_n_cpus,
    .cpu_thread_id = dbg_cpu_thread_id,
    .pause = dbg_pause,
    .resume = dbg_resume,
    .set_stop_handler = dbg_set_stop_handler,
    .read_reg = dbg_read_reg,
    .write_reg = dbg_write_reg,
    .read_mem = dbg_read_mem,
    .write_mem = dbg_write_mem,
    .insert_bp = dbg_insert_bp,
    .remove_bp = dbg_remove_bp,
    .remove_all_bp = dbg_remove_all_bp,
    .virt_to_phys = dbg_virt_to_phys,
    .pc = dbg_pc,
    .disas = dbg_disas,
    .dump_state = dbg_dump_state,
};
