/* aclint.c - the SiFive CLINT (the layout the RISC-V ACLINT spec keeps
 * for its MSWI and MTIMER devices): per hart a software-interrupt bit and
 * a timer compare register, and one shared 64-bit mtime.
 *
 *   0x0000 + 4*h   msip[h]      bit 0 drives hart h's MSIP
 *   0x4000 + 8*h   mtimecmp[h]  MTIP of hart h = (mtime >= mtimecmp[h])
 *   0xbff8         mtime        10 MHz, from the machine clock
 *
 * msip is a 32-bit register; mtimecmp and mtime take 64-bit accesses or
 * 32-bit accesses to either half (RV32 software writes them that way).
 * MTIP is a level: it is re-evaluated when mtimecmp or mtime is written,
 * and a per-hart hw_timer raises it when mtime reaches mtimecmp.
 */
#include <config.h>
#include <errno.h>
#include "hw/devices.h"
#include "hw/dev.h"
#include "i18n.h"
#include "log.h"
#include "vmstate.h"

#define CLINT_MSIP 0x0000
#define CLINT_MTIMECMP 0x4000
#define CLINT_MTIME 0xbff8
#define NS_PER_TICK (1000000000 / ACLINT_TIMEBASE_HZ)

struct aclint_hart {
    struct aclint *c;
    struct irq_line msip_line, mtip_line;
    struct hw_timer *timer;
    uint32_t msip;
    uint64_t mtimecmp;
    int mtip;
};

struct aclint {
    int n_harts;
    /* mtime = hw_clock_ns() / NS_PER_TICK + offset (mod 2^64): a guest
     * write of mtime changes only the offset. */
    uint64_t mtime_offset;
    struct aclint_hart h[];
};

uint64_t aclint_mtime(const struct aclint *c)
{
    return hw_clock_ns() / NS_PER_TICK + c->mtime_offset;
}

/* Set MTIP from mtime and mtimecmp; arm the timer for a future deadline. */
static void aclint_update_timer(struct aclint_hart *h)
{
    uint64_t now_ns = hw_clock_ns();
    uint64_t mtime = now_ns / NS_PER_TICK + h->c->mtime_offset;
    int level = mtime >= h->mtimecmp;

    if (level) {
        hw_timer_cancel(h->timer);
    } else {
        uint64_t delta_ns, deadline;
        if (MUL_OVERFLOWS(h->mtimecmp - mtime, (uint64_t)NS_PER_TICK, &delta_ns) ||
            ADD_OVERFLOWS(now_ns, delta_ns, &deadline))
            hw_timer_cancel(h->timer);  /* beyond the end of time */
        else
            hw_timer_arm(h->timer, deadline);
    }
    if (level != h->mtip) {
        h->mtip = level;
        irq_set(&h->mtip_line, level);
    }
}

static void aclint_timer_cb(void *opaque)
{
    aclint_update_timer(opaque);
}

/* Replace the bytes [shift/8, shift/8 + size) of a 64-bit register. */
static uint64_t deposit(uint64_t reg, unsigned size, unsigned shift, uint64_t val)
{
    if (size == 8)
        return val;
    uint64_t mask = UINT64_C(0xffffffff) << shift;
    return (reg & ~mask) | ((val << shift) & mask);
}

/* Which 64-bit register an access hits, and where in it.  Returns false
 * for sizes or alignments the device does not decode. */
static bool aclint_reg64(uint64_t off, uint64_t reg_off, unsigned size, unsigned *shift)
{
    if (size == 8 && off == reg_off) {
        *shift = 0;
        return true;
    }
    if (size == 4 && (off == reg_off || off == reg_off + 4)) {
        *shift = (unsigned)(off - reg_off) * 8;
        return true;
    }
    return false;
}

static bool aclint_decode_ok(uint64_t off, unsigned size)
{
    if (size != 4 && size != 8)
        return false;
    if (off < CLINT_MTIMECMP)
        return size == 4;       /* msip: 32-bit registers */
    return IS_ALIGNED(off, size);
}

static void aclint_unassigned(const char *what, uint64_t off)
{
    if (log_on(LOG_GUEST_ERROR))
        log_msg(LOG_GUEST_ERROR, "clint: %s of unassigned offset 0x%" PRIx64, what, off);
}

static bool aclint_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
    struct aclint *c = opaque;
    unsigned shift;

    if (!aclint_decode_ok(off, size))
        return false;
    *val = 0;
    if (off < CLINT_MTIMECMP) {
        uint64_t hart = off / 4;
        if (hart < (uint64_t)c->n_harts)
            *val = c->h[hart].msip;
        else
            aclint_unassigned("read", off);
    } else if (off >= CLINT_MTIME) {
        if (aclint_reg64(off, CLINT_MTIME, size, &shift))
            *val = aclint_mtime(c) >> shift;
    } else {
        uint64_t hart = (off - CLINT_MTIMECMP) / 8;
        if (hart < (uint64_t)c->n_harts &&
            aclint_reg64(off, CLINT_MTIMECMP + 8 * hart, size, &shift))
            *val = c->h[hart].mtimecmp >> shift;
        else
            aclint_unassigned("read", off);
    }
    if (size == 4)
        *val &= 0xffffffff;
    return true;
}

static bool aclint_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct aclint *c = opaque;
    unsigned shift;

    if (!aclint_decode_ok(off, size))
        return false;
    if (off < CLINT_MTIMECMP) {
        uint64_t hart = off / 4;
        if (hart >= (uint64_t)c->n_harts) {
            aclint_unassigned("write", off);
            return true;
        }
        struct aclint_hart *h = &c->h[hart];
        uint32_t bit = val & 1;     /* the other bits are hardwired to zero */
        if (bit != h->msip) {
            h->msip = bit;
            irq_set(&h->msip_line, (int)bit);
        }
    } else if (off >= CLINT_MTIME) {
        if (aclint_reg64(off, CLINT_MTIME, size, &shift)) {
            uint64_t now = aclint_mtime(c);
            uint64_t want = deposit(now, size, shift, val);
            c->mtime_offset += want - now;
            for (int i = 0; i < c->n_harts; i++)
                aclint_update_timer(&c->h[i]);
        }
    } else {
        uint64_t hart = (off - CLINT_MTIMECMP) / 8;
        if (hart < (uint64_t)c->n_harts &&
            aclint_reg64(off, CLINT_MTIMECMP + 8 * hart, size, &shift)) {
            struct aclint_hart *h = &c->h[hart];
            h->mtimecmp = deposit(h->mtimecmp, size, shift, val);
            aclint_update_timer(h);
        } else {
            aclint_unassigned("write", off);
        }
    }
    return true;
}

static const struct mmio_ops aclint_mmio = {
    .read = aclint_read,
    .write = aclint_write,
};

void aclint_reset(struct aclint *c)
{
    c->mtime_offset = 0;
    for (int i = 0; i < c->n_harts; i++) {
        struct aclint_hart *h = &c->h[i];
        /* The spec leaves mtimecmp's reset value open; all ones keeps
         * MTIP low until the firmware programs a deadline. */
        h->mtimecmp = UINT64_MAX;
        hw_timer_cancel(h->timer);
        if (h->msip) {
            h->msip = 0;
            irq_set(&h->msip_line, 0);
        }
        if (h->mtip) {
            h->mtip = 0;
            irq_set(&h->mtip_line, 0);
        }
    }
}

int aclint_new(struct aclint **out, struct mem_map *m, struct loop *loop, uint64_t base,
               int n_harts, const struct irq_line *msip, const struct irq_line *mtip,
               struct error **errp)
{
    if (n_harts < 1 || n_harts > ACLINT_MAX_HARTS)
        return err_set(errp, EINVAL, _("CLINT: unsupported number of harts %d"), n_harts);
    struct aclint *c = calloc(1, sizeof(*c) + (size_t)n_harts * sizeof(c->h[0]));
    if (!c)
        return err_set(errp, ENOMEM, _("out of memory creating the CLINT"));
    c->n_harts = n_harts;
    for (int i = 0; i < n_harts; i++) {
        struct aclint_hart *h = &c->h[i];
        h->c = c;
        h->msip_line = msip[i];
        h->mtip_line = mtip[i];
        h->mtimecmp = UINT64_MAX;
        h->timer = hw_timer_new(loop, aclint_timer_cb, h, errp);
        if (!h->timer) {
            aclint_free(c);
            return -ENOMEM;
        }
    }
    int ret = mem_add_mmio(m, "clint", base, ACLINT_SIZE, &aclint_mmio, c, errp);
    if (ret < 0) {
        aclint_free(c);
        return ret;
    }
    *out = c;
    return 0;
}

void aclint_free(struct aclint *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n_harts; i++)
        hw_timer_free(c->h[i].timer);
    free(c);
}

/* The model's entry in dev_types[] (hw/dev.h). */
static void aclint_reset_op(void *dev)
{
    aclint_reset(dev);
}

static void aclint_free_op(void *dev)
{
    aclint_free(dev);
}

/* savevm: mtime's offset (mtime itself follows the machine clock, which
 * loadvm restores, so it goes on from the saved value), msip and
 * mtimecmp of each hart; MTIP and the timers follow from them. */
static void aclint_save_op(void *dev, struct vms_out *f)
{
    struct aclint *c = dev;
    vms_put_u32(f, (uint32_t)c->n_harts);
    vms_put_u64(f, c->mtime_offset);
    for (int i = 0; i < c->n_harts; i++) {
        vms_put_u32(f, c->h[i].msip);
        vms_put_u64(f, c->h[i].mtimecmp);
    }
}

static void aclint_load_op(void *dev, struct vms_in *f, uint32_t version)
{
    struct aclint *c = dev;
    (void)version;
    uint32_t n = vms_get_u32(f);
    if (!vms_check(f, n == (uint32_t)c->n_harts, "number of harts"))
        return;
    uint64_t off = vms_get_u64(f);
    uint32_t *msip = calloc((size_t)n, sizeof(*msip));
    uint64_t *cmp = calloc((size_t)n, sizeof(*cmp));
    if (!msip || !cmp)
        vms_fail(f, "out of memory");
    for (uint32_t i = 0; i < n && !vms_failed(f); i++) {
        msip[i] = vms_get_u32(f);
        cmp[i] = vms_get_u64(f);
        vms_check(f, msip[i] <= 1, "msip");
    }
    if (!vms_failed(f)) {
        c->mtime_offset = off;
        for (uint32_t i = 0; i < n; i++) {
            struct aclint_hart *h = &c->h[i];
            h->msip = msip[i];
            h->mtimecmp = cmp[i];
            irq_set(&h->msip_line, (int)h->msip);
            h->mtip = -1;       /* drive the line whatever it was */
            aclint_update_timer(h);
        }
    }
    free(msip);
    free(cmp);
}

const struct dev_ops aclint_ops = {
    .name = "riscv.aclint",
    .desc = "RISC-V ACLINT/CLINT: mtime, mtimecmp and msip",
    .reset = aclint_reset_op,
    .free = aclint_free_op,
    .vmstate_version = 1,
    .save = aclint_save_op,
    .load = aclint_load_op,
};
