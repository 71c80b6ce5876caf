/* goldfish-rtc.c - the Goldfish real-time clock (Android emulator
 * hardware, "google,goldfish-rtc"): nanoseconds since the Unix epoch and
 * one alarm.
 *
 *   0x00 TIME_LOW         read: low 32 bits of now, latching the high half;
 *                         write: set the time to TIME_HIGH written : value
 *   0x04 TIME_HIGH        read: the latched high half; write: stage it
 *   0x08 ALARM_LOW        write: arm the alarm at ALARM_HIGH : value
 *   0x0c ALARM_HIGH       write: stage the alarm's high half
 *   0x10 IRQ_ENABLED      1: the alarm raises the interrupt line
 *   0x14 CLEAR_ALARM      write: disarm
 *   0x18 ALARM_STATUS     read: 1 while an alarm is armed
 *   0x1c CLEAR_INTERRUPT  write: drop the interrupt
 *
 * The time is the host's CLOCK_REALTIME plus an offset the guest sets by
 * writing the time.  The alarm runs on the machine clock (hw_timer), so
 * host clock steps after arming do not move it.
 */
#include <config.h>
#include <errno.h>
#include <time.h>
#include "hw/devices.h"
#include "hw/dev.h"
#include "i18n.h"
#include "log.h"
#include "vmstate.h"

enum {
    RTC_TIME_LOW = 0x00,
    RTC_TIME_HIGH = 0x04,
    RTC_ALARM_LOW = 0x08,
    RTC_ALARM_HIGH = 0x0c,
    RTC_IRQ_ENABLED = 0x10,
    RTC_CLEAR_ALARM = 0x14,
    RTC_ALARM_STATUS = 0x18,
    RTC_CLEAR_INTERRUPT = 0x1c,
};

struct goldfish_rtc {
    struct irq_line irq;
    struct hw_timer *timer;
    int64_t offset;             /* guest time - host realtime, ns */
    uint32_t time_high_latch;   /* from the last TIME_LOW read */
    uint32_t time_high_set;     /* staged by a TIME_HIGH write */
    uint64_t alarm;             /* guest ns */
    uint32_t alarm_high;        /* staged by an ALARM_HIGH write */
    bool alarm_running, irq_pending, irq_enabled;
    int level;
};

static uint64_t host_realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rtc_now(const struct goldfish_rtc *r)
{
    return host_realtime_ns() + (uint64_t)r->offset;
}

static void rtc_update(struct goldfish_rtc *r)
{
    int level = r->irq_pending && r->irq_enabled;
    if (level != r->level) {
        r->level = level;
        irq_set(&r->irq, level);
    }
}

static void rtc_fire(struct goldfish_rtc *r)
{
    r->alarm_running = false;
    r->irq_pending = true;
    rtc_update(r);
}

static void rtc_timer_cb(void *opaque)
{
    rtc_fire(opaque);
}

static void rtc_arm(struct goldfish_rtc *r)
{
    uint64_t now = rtc_now(r);
    r->alarm_running = true;
    if (r->alarm <= now) {
        hw_timer_cancel(r->timer);
        rtc_fire(r);
        return;
    }
    uint64_t deadline;
    if (ADD_OVERFLOWS(hw_clock_ns(), r->alarm - now, &deadline))
        hw_timer_cancel(r->timer);     /* never, in practice */
    else
        hw_timer_arm(r->timer, deadline);
}

static bool rtc_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
    struct goldfish_rtc *r = opaque;
    if (size != 4 || !IS_ALIGNED(off, 4))
        return false;
    switch (off) {
    case RTC_TIME_LOW: {
        uint64_t now = rtc_now(r);
        r->time_high_latch = (uint32_t)(now >> 32);
        *val = (uint32_t)now;
        break;
    }
    case RTC_TIME_HIGH:
        *val = r->time_high_latch;
        break;
    case RTC_ALARM_LOW:
        *val = (uint32_t)r->alarm;
        break;
    case RTC_ALARM_HIGH:
        *val = (uint32_t)(r->alarm >> 32);
        break;
    case RTC_IRQ_ENABLED:
        *val = r->irq_enabled;
        break;
    case RTC_ALARM_STATUS:
        *val = r->alarm_running;
        break;
    default:
        *val = 0;
        if (log_on(LOG_GUEST_ERROR))
            log_msg(LOG_GUEST_ERROR, "goldfish-rtc: read of offset 0x%" PRIx64, off);
        break;
    }
    return true;
}

static bool rtc_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct goldfish_rtc *r = opaque;
    if (size != 4 || !IS_ALIGNED(off, 4))
        return false;
    switch (off) {
    case RTC_TIME_LOW: {
        uint64_t want = ((uint64_t)r->time_high_set << 32) | (uint32_t)val;
        r->offset = (int64_t)(want - host_realtime_ns());
        if (r->alarm_running)
            rtc_arm(r);         /* the alarm is in guest time */
        break;
    }
    case RTC_TIME_HIGH:
        r->time_high_set = (uint32_t)val;
        break;
    case RTC_ALARM_LOW:
        r->alarm = ((uint64_t)r->alarm_high << 32) | (uint32_t)val;
        rtc_arm(r);
        break;
    case RTC_ALARM_HIGH:
        r->alarm_high = (uint32_t)val;
        break;
    case RTC_IRQ_ENABLED:
        r->irq_enabled = val & 1;
        rtc_update(r);
        break;
    case RTC_CLEAR_ALARM:
        r->alarm_running = false;
        hw_timer_cancel(r->timer);
        break;
    case RTC_CLEAR_INTERRUPT:
        r->irq_pending = false;
        rtc_update(r);
        break;
    default:
        if (log_on(LOG_GUEST_ERROR))
            log_msg(LOG_GUEST_ERROR, "goldfish-rtc: write of offset 0x%" PRIx64, off);
        break;
    }
    return true;
}

static const struct mmio_ops rtc_ops = {
    .read = rtc_read,
    .write = rtc_write,
};

void goldfish_rtc_reset(struct goldfish_rtc *r)
{
    /* The clock keeps running through a reset, as a battery-backed one. */
    hw_timer_cancel(r->timer);
    r->alarm = 0;
    r->alarm_high = 0;
    r->time_high_latch = r->time_high_set = 0;
    r->alarm_running = r->irq_pending = r->irq_enabled = false;
    rtc_update(r);
}

int goldfish_rtc_new(struct goldfish_rtc **out, struct mem_map *m, struct loop *loop,
                     uint64_t base, struct irq_line irq, struct error **errp)
{
    struct goldfish_rtc *r = calloc(1, sizeof(*r));
    if (!r)
        return err_set(errp, ENOMEM, _("out of memory creating the RTC"));
    r->irq = irq;
    r->timer = hw_timer_new(loop, rtc_timer_cb, r, errp);
    if (!r->timer) {
        free(r);
        return -ENOMEM;
    }
    int ret = mem_add_mmio(m, "goldfish-rtc", base, GOLDFISH_RTC_SIZE, &rtc_ops, r, errp);
    if (ret < 0) {
        goldfish_rtc_free(r);
        return ret;
    }
    *out = r;
    return 0;
}

void goldfish_rtc_free(struct goldfish_rtc *r)
{
    if (!r)
        return;
    hw_timer_free(r->timer);
    free(r);
}

/* The model's entry in dev_types[] (hw/dev.h). */
static void goldfish_rtc_reset_op(void *dev)
{
    goldfish_rtc_reset(dev);
}

static void goldfish_rtc_free_op(void *dev)
{
    goldfish_rtc_free(dev);
}

/* savevm: the offset from the host's clock (so the guest's wall clock
 * keeps the distance it had and runs on while the snapshot rests, as a
 * battery-backed clock does), the latches and the alarm. */
static void goldfish_rtc_save_op(void *dev, struct vms_out *f)
{
    struct goldfish_rtc *r = dev;
    vms_put_u64(f, (uint64_t)r->offset);
    vms_put_u32(f, r->time_high_latch);
    vms_put_u32(f, r->time_high_set);
    vms_put_u64(f, r->alarm);
    vms_put_u32(f, r->alarm_high);
    vms_put_bool(f, r->alarm_running);
    vms_put_bool(f, r->irq_pending);
    vms_put_bool(f, r->irq_enabled);
}

static void goldfish_rtc_load_op(void *dev, struct vms_in *f, uint32_t version)
{
    struct goldfish_rtc *r = dev;
    (void)version;
    int64_t offset = (int64_t)vms_get_u64(f);
    uint32_t latch = vms_get_u32(f), set = vms_get_u32(f);
    uint64_t alarm = vms_get_u64(f);
    uint32_t alarm_high = vms_get_u32(f);
    bool running = vms_get_bool(f), pending = vms_get_bool(f), enabled = vms_get_bool(f);
    if (vms_failed(f))
        return;
    r->offset = offset;
    r->time_high_latch = latch;
    r->time_high_set = set;
    r->alarm = alarm;
    r->alarm_high = alarm_high;
    r->irq_pending = pending;
    r->irq_enabled = enabled;
    r->alarm_running = false;
    hw_timer_cancel(r->timer);
    r->level = -1;              /* drive the line whatever it was */
    if (running)
        rtc_arm(r);
    rtc_update(r);
}

const struct dev_ops goldfish_rtc_ops = {
    .name = "goldfish_rtc",
    .desc = "Goldfish real-time clock",
    .reset = goldfish_rtc_reset_op,
    .free = goldfish_rtc_free_op,
    .vmstate_version = 1,
    .save = goldfish_rtc_save_op,
    .load = goldfish_rtc_load_op,
};
