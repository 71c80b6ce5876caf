/* plic.c - the SiFive Platform-Level Interrupt Controller (as the RISC-V
 * PLIC specification describes it).
 *
 *   0x000000 + 4*s              priority of source s (s = 1..ndev)
 *   0x001000 + 4*w              pending bits of sources 32w..32w+31 (read-only)
 *   0x002000 + 0x80*c + 4*w     enable bits of context c
 *   0x200000 + 0x1000*c         priority threshold of context c
 *   0x200004 + 0x1000*c         claim (read) / complete (write) of context c
 *
 * All sources are level-triggered.  The gateway lets one request of a
 * source through at a time: a source is pending while its line is high
 * and it is not in service (claimed and not yet completed).  A context's
 * output is high while some enabled pending source has a priority above
 * its threshold.  Every change recomputes every output: a handful of
 * contexts times three words of bits is cheaper than bookkeeping.
 *
 * Registers are 32 bits wide; other sizes are not decoded.  Offsets of
 * sources or contexts that do not exist read 0 and ignore writes.
 */
#include <config.h>
#include <errno.h>
#include "hw/devices.h"
#include "hw/dev.h"
#include "i18n.h"
#include "log.h"
#include "trace/hw.h"
#include "vmstate.h"

#define PLIC_PRIORITY 0x000000
#define PLIC_PENDING 0x001000
#define PLIC_ENABLE 0x002000
#define PLIC_ENABLE_STRIDE 0x80
#define PLIC_CONTEXT 0x200000
#define PLIC_CONTEXT_STRIDE 0x1000
#define PLIC_PRIO_MASK ((1u << PLIC_PRIORITY_BITS) - 1)

struct plic_context {
    struct irq_line out;
    int level;
    uint32_t threshold;
    uint32_t *enable;           /* n_words */
};

struct plic {
    int ndev;                   /* sources 1..ndev */
    int n_words;                /* of bitmaps covering sources 0..ndev */
    int n_ctx;
    uint32_t *priority;         /* ndev + 1 */
    uint32_t *level;            /* input lines (bitmap) */
    uint32_t *in_service;       /* claimed, not completed (bitmap) */
    struct plic_context *ctx;
};

static bool bit_get(const uint32_t *map, int n)
{
    return (map[n / 32] >> (n % 32)) & 1;
}

static void bit_put(uint32_t *map, int n, bool v)
{
    if (v)
        map[n / 32] |= UINT32_C(1) << (n % 32);
    else
        map[n / 32] &= ~(UINT32_C(1) << (n % 32));
}

static uint32_t plic_pending_word(const struct plic *p, int w)
{
    return p->level[w] & ~p->in_service[w];
}

/* The source context c would claim now (0: none). */
static int plic_best(const struct plic *p, const struct plic_context *c)
{
    int best = 0;
    uint32_t best_prio = c->threshold;
    for (int w = 0; w < p->n_words; w++) {
        uint32_t bits = plic_pending_word(p, w) & c->enable[w];
        while (bits) {
            int s = w * 32 + __builtin_ctz(bits);
            bits &= bits - 1;
            /* Strictly greater: ties go to the lowest ID, found first. */
            if (p->priority[s] > best_prio) {
                best_prio = p->priority[s];
                best = s;
            }
        }
    }
    return best;
}

static void plic_update(struct plic *p)
{
    for (int i = 0; i < p->n_ctx; i++) {
        struct plic_context *c = &p->ctx[i];
        int level = plic_best(p, c) != 0;
        if (level != c->level) {
            c->level = level;
            irq_set(&c->out, level);
        }
    }
}

static void plic_set_irq(void *opaque, int src, int level)
{
    struct plic *p = opaque;
    if (src < 1 || src > p->ndev)
        return;
    if (bit_get(p->level, src) == (level != 0))
        return;
    trace_irq_raise("plic", (uint32_t)src, level != 0);
    bit_put(p->level, src, level != 0);
    plic_update(p);
}

static void plic_ignore_irq(void *opaque, int n, int level)
{
    (void)opaque, (void)n, (void)level;
}

struct irq_line plic_input(struct plic *p, int src)
{
    if (src < 1 || src > p->ndev)
        return (struct irq_line){ .set = plic_ignore_irq };
    return (struct irq_line){ .set = plic_set_irq, .opaque = p, .n = src };
}

static void plic_unassigned(const char *what, uint64_t off)
{
    if (log_on(LOG_GUEST_ERROR))
        log_msg(LOG_GUEST_ERROR, "plic: %s of unassigned offset 0x%" PRIx64, what, off);
}

static uint32_t plic_claim(struct plic *p, struct plic_context *c)
{
    int s = plic_best(p, c);
    if (s) {
        bit_put(p->in_service, s, true);
        plic_update(p);
    }
    return (uint32_t)s;
}

static void plic_complete(struct plic *p, struct plic_context *c, uint64_t src)
{
    /* The spec ignores a completion for a source not enabled for the
     * context; one that is not in service changes nothing either. */
    if (src < 1 || src > (uint64_t)p->ndev || !bit_get(c->enable, (int)src)) {
        if (log_on(LOG_GUEST_ERROR))
            log_msg(LOG_GUEST_ERROR, "plic: completion of source %" PRIu64 " ignored", src);
        return;
    }
    bit_put(p->in_service, (int)src, false);
    plic_update(p);
}

static bool plic_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
    struct plic *p = opaque;
    if (size != 4 || !IS_ALIGNED(off, 4))
        return false;
    *val = 0;
    if (off < PLIC_PENDING) {
        uint64_t s = off / 4;
        if (s >= 1 && s <= (uint64_t)p->ndev)
            *val = p->priority[s];
    } else if (off < PLIC_ENABLE) {
        uint64_t w = (off - PLIC_PENDING) / 4;
        if (w < (uint64_t)p->n_words)
            *val = plic_pending_word(p, (int)w);
    } else if (off < PLIC_CONTEXT) {
        uint64_t ci = (off - PLIC_ENABLE) / PLIC_ENABLE_STRIDE;
        uint64_t w = (off - PLIC_ENABLE) % PLIC_ENABLE_STRIDE / 4;
        if (ci < (uint64_t)p->n_ctx && w < (uint64_t)p->n_words)
            *val = p->ctx[ci].enable[w];
    } else {
        uint64_t ci = (off - PLIC_CONTEXT) / PLIC_CONTEXT_STRIDE;
        uint64_t reg = (off - PLIC_CONTEXT) % PLIC_CONTEXT_STRIDE;
        if (ci >= (uint64_t)p->n_ctx || reg > 4) {
            plic_unassigned("read", off);
            return true;
        }
        struct plic_context *c = &p->ctx[ci];
        *val = reg == 0 ? c->threshold : plic_claim(p, c);
    }
    return true;
}

static bool plic_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct plic *p = opaque;
    if (size != 4 || !IS_ALIGNED(off, 4))
        return false;
    if (off < PLIC_PENDING) {
        uint64_t s = off / 4;
        if (s >= 1 && s <= (uint64_t)p->ndev)
            p->priority[s] = (uint32_t)val & PLIC_PRIO_MASK;
        else
            plic_unassigned("write", off);
    } else if (off < PLIC_ENABLE) {
        plic_unassigned("write", off);  /* pending bits are read-only */
    } else if (off < PLIC_CONTEXT) {
        uint64_t ci = (off - PLIC_ENABLE) / PLIC_ENABLE_STRIDE;
        uint64_t w = (off - PLIC_ENABLE) % PLIC_ENABLE_STRIDE / 4;
        if (ci < (uint64_t)p->n_ctx && w < (uint64_t)p->n_words) {
            uint32_t v = (uint32_t)val;
            if (w == 0)
                v &= ~UINT32_C(1);      /* source 0 does not exist */
            if (w == (uint64_t)p->n_words - 1 && (p->ndev + 1) % 32)
                v &= (UINT32_C(1) << ((p->ndev + 1) % 32)) - 1;
            p->ctx[ci].enable[w] = v;
        } else {
            plic_unassigned("write", off);
        }
    } else {
        uint64_t ci = (off - PLIC_CONTEXT) / PLIC_CONTEXT_STRIDE;
        uint64_t reg = (off - PLIC_CONTEXT) % PLIC_CONTEXT_STRIDE;
        if (ci >= (uint64_t)p->n_ctx || reg > 4) {
            plic_unassigned("write", off);
            return true;
        }
        struct plic_context *c = &p->ctx[ci];
        if (reg == 0)
            c->threshold = (uint32_t)val & PLIC_PRIO_MASK;
        else
            plic_complete(p, c, val);
    }
    plic_update(p);
    return true;
}

static const struct mmio_ops plic_mmio = {
    .read = plic_read,
    .write = plic_write,
};

void plic_reset(struct plic *p)
{
    /* Input levels belong to the devices and stay; the rest powers on 0. */
    for (int s = 0; s <= p->ndev; s++)
        p->priority[s] = 0;
    for (int w = 0; w < p->n_words; w++)
        p->in_service[w] = 0;
    for (int i = 0; i < p->n_ctx; i++) {
        p->ctx[i].threshold = 0;
        for (int w = 0; w < p->n_words; w++)
            p->ctx[i].enable[w] = 0;
    }
    plic_update(p);
}

int plic_new(struct plic **out, struct mem_map *m, uint64_t base, uint64_t size, int ndev,
             int n_ctx, const struct irq_line *ctx_out, struct error **errp)
{
    if (ndev < 1 || ndev >= PLIC_MAX_SOURCES || n_ctx < 1 || n_ctx > PLIC_MAX_CONTEXTS ||
        size < PLIC_CONTEXT + (uint64_t)n_ctx * PLIC_CONTEXT_STRIDE)
        return err_set(errp, EINVAL,
                       _("PLIC: unsupported layout (%d sources, %d contexts, size 0x%" PRIx64 ")"),
                       ndev, n_ctx, size);
    struct plic *p = calloc(1, sizeof(*p));
    if (!p)
        return err_set(errp, ENOMEM, _("out of memory creating the PLIC"));
    p->ndev = ndev;
    p->n_words = (ndev + 1 + 31) / 32;
    p->n_ctx = n_ctx;
    p->priority = calloc((size_t)ndev + 1, sizeof(*p->priority));
    p->level = calloc((size_t)p->n_words, sizeof(uint32_t));
    p->in_service = calloc((size_t)p->n_words, sizeof(uint32_t));
    p->ctx = calloc((size_t)n_ctx, sizeof(*p->ctx));
    bool ok = p->priority && p->level && p->in_service && p->ctx;
    for (int i = 0; ok && i < n_ctx; i++) {
        p->ctx[i].out = ctx_out[i];
        p->ctx[i].enable = calloc((size_t)p->n_words, sizeof(uint32_t));
        ok = p->ctx[i].enable != NULL;
    }
    if (!ok) {
        plic_free(p);
        return err_set(errp, ENOMEM, _("out of memory creating the PLIC"));
    }
    int ret = mem_add_mmio(m, "plic", base, size, &plic_mmio, p, errp);
    if (ret < 0) {
        plic_free(p);
        return ret;
    }
    *out = p;
    return 0;
}

void plic_free(struct plic *p)
{
    if (!p)
        return;
    if (p->ctx)
        for (int i = 0; i < p->n_ctx; i++)
            free(p->ctx[i].enable);
    free(p->ctx);
    free(p->priority);
    free(p->level);
    free(p->in_service);
    free(p);
}

/* The model's entry in dev_types[] (hw/dev.h). */
static void plic_reset_op(void *dev)
{
    plic_reset(dev);
}

static void plic_free_op(void *dev)
{
    plic_free(dev);
}

/* savevm: priorities, input levels, claims in service, and each
 * context's threshold and enables; the outputs follow from them. */
static void plic_save_op(void *dev, struct vms_out *f)
{
    struct plic *p = dev;
    vms_put_u32(f, (uint32_t)p->ndev);
    vms_put_u32(f, (uint32_t)p->n_ctx);
    for (int s = 0; s <= p->ndev; s++)
        vms_put_u32(f, p->priority[s]);
    for (int w = 0; w < p->n_words; w++) {
        vms_put_u32(f, p->level[w]);
        vms_put_u32(f, p->in_service[w]);
    }
    for (int i = 0; i < p->n_ctx; i++) {
        vms_put_u32(f, p->ctx[i].threshold);
        for (int w = 0; w < p->n_words; w++)
            vms_put_u32(f, p->ctx[i].enable[w]);
    }
}

/* Bits of word W that name real sources (1..ndev). */
static uint32_t plic_valid_bits(const struct plic *p, int w)
{
    uint32_t m = ~UINT32_C(0);
    if (w == 0)
        m &= ~UINT32_C(1);
    int last = p->ndev - w * 32;
    if (last < 31)
        m &= (UINT32_C(2) << last) - 1;
    return m;
}

static void plic_load_op(void *dev, struct vms_in *f, uint32_t version)
{
    struct plic *p = dev;
    (void)version;
    uint32_t ndev = vms_get_u32(f), nctx = vms_get_u32(f);
    if (!vms_check(f, ndev == (uint32_t)p->ndev && nctx == (uint32_t)p->n_ctx,
                   "number of sources or contexts"))
        return;
    size_t words = (size_t)p->n_words;
    size_t total = (size_t)ndev + 1 + 2 * words + (size_t)nctx * (1 + words);
    uint32_t *v = calloc(total, sizeof(*v));
    if (!v) {
        vms_fail(f, "out of memory");
        return;
    }
    for (size_t i = 0; i < total && !vms_failed(f); i++)
        v[i] = vms_get_u32(f);
    if (!vms_failed(f)) {
        uint32_t pmask = (1u << PLIC_PRIORITY_BITS) - 1;
        const uint32_t *q = v;
        for (int s = 0; s <= p->ndev; s++)
            p->priority[s] = s ? *q++ & pmask : (q++, 0);
        for (int w = 0; w < p->n_words; w++) {
            p->level[w] = *q++ & plic_valid_bits(p, w);
            p->in_service[w] = *q++ & plic_valid_bits(p, w);
        }
        for (int i = 0; i < p->n_ctx; i++) {
            p->ctx[i].threshold = *q++ & pmask;
            for (int w = 0; w < p->n_words; w++)
                p->ctx[i].enable[w] = *q++ & plic_valid_bits(p, w);
            p->ctx[i].level = -1;       /* drive the line whatever it was */
        }
        plic_update(p);
    }
    free(v);
}

const struct dev_ops plic_ops = {
    .name = "riscv.sifive.plic",
    .desc = "SiFive platform-level interrupt controller",
    .reset = plic_reset_op,
    .free = plic_free_op,
    .vmstate_version = 1,
    .save = plic_save_op,
    .load = plic_load_op,
};
