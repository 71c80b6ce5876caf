/* uart16550.c - the ns16550a UART: what a guest's 8250 driver (Linux,
 * OpenSBI, U-Boot) needs from the datasheet's register set.
 *
 * Transmission is instant: a byte written to THR goes straight to the
 * character device, so THR and the transmitter are always empty.  Input
 * arrives from the chardev into a 16-byte receive FIFO (1 byte when the
 * FIFOs are off), and the chardev is told to wait while it is full.
 *
 * Interrupts follow the datasheet's priorities, without line-status or
 * modem-status sources (no errors, no modem lines change):
 *   receive data (IIR 0x04 at the trigger level, 0x0c "timeout" below it,
 *   as if the four character times had passed), then THR empty (0x02).
 * The THR-empty interrupt is an event: it is raised when THR empties (at
 * once after each write) or when IER enables it, and cleared by a write
 * to THR or by the IIR read that reports it.
 */
#include <config.h>
#include <errno.h>
#include <string.h>
#include "hw/devices.h"
#include "hw/dev.h"
#include "chardev.h"
#include "i18n.h"
#include "log.h"
#include "vmstate.h"

enum {
    UART_RBR_THR = 0,   /* DLL with DLAB */
    UART_IER = 1,       /* DLM with DLAB */
    UART_IIR_FCR = 2,
    UART_LCR = 3,
    UART_MCR = 4,
    UART_LSR = 5,
    UART_MSR = 6,
    UART_SCR = 7,
};

#define IER_RDA 0x01
#define IER_THRE 0x02
#define IER_MASK 0x0f

#define IIR_NONE 0x01
#define IIR_THRE 0x02
#define IIR_RDA 0x04
#define IIR_TIMEOUT 0x0c
#define IIR_FIFO 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04

#define LCR_DLAB 0x80
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
/* Clear to send, data set ready, carrier detect: a cable is there. */
#define MSR_DEFAULT 0xb0

#define UART_FIFO 16

struct uart16550 {
    struct irq_line irq;
    struct chardev *chr;
    uint8_t fifo[UART_FIFO];
    unsigned head, count;
    uint8_t ier, lcr, mcr, scr, fcr;
    uint8_t dll, dlm;
    bool thre_pending;
    bool input_waiting;         /* can_read said 0: the chardev waits for us */
    int level;
};

static unsigned uart_capacity(const struct uart16550 *u)
{
    return (u->fcr & FCR_ENABLE) ? UART_FIFO : 1;
}

static unsigned uart_trigger(const struct uart16550 *u)
{
    static const unsigned levels[4] = { 1, 4, 8, 14 };
    return (u->fcr & FCR_ENABLE) ? levels[u->fcr >> 6] : 1;
}

/* The identification the IIR reports now (without the FIFO bits). */
static uint8_t uart_iir(const struct uart16550 *u)
{
    if ((u->ier & IER_RDA) && u->count)
        return u->count >= uart_trigger(u) ? IIR_RDA : IIR_TIMEOUT;
    if ((u->ier & IER_THRE) && u->thre_pending)
        return IIR_THRE;
    return IIR_NONE;
}

static void uart_update(struct uart16550 *u)
{
    int level = uart_iir(u) != IIR_NONE;
    if (level != u->level) {
        u->level = level;
        irq_set(&u->irq, level);
    }
}

/* Room again after a full FIFO: let the chardev send more. */
static void uart_room(struct uart16550 *u)
{
    if (u->input_waiting && u->chr && u->count < uart_capacity(u)) {
        u->input_waiting = false;
        chardev_accept_input(u->chr);
    }
}

static void uart_clear_rx(struct uart16550 *u)
{
    u->head = u->count = 0;
    uart_room(u);
}

static size_t uart_can_read(void *opaque)
{
    struct uart16550 *u = opaque;
    size_t room = uart_capacity(u) - u->count;
    if (room == 0)
        u->input_waiting = true;
    return room;
}

static void uart_receive(void *opaque, const uint8_t *buf, size_t len)
{
    struct uart16550 *u = opaque;
    unsigned cap = uart_capacity(u);
    for (size_t i = 0; i < len; i++) {
        if (u->count >= cap) {
            /* More than can_read allowed: an overrun, the byte is lost. */
            u->input_waiting = true;
            break;
        }
        u->fifo[(u->head + u->count) % UART_FIFO] = buf[i];
        u->count++;
    }
    uart_update(u);
}

static const struct chardev_frontend uart_frontend = {
    .can_read = uart_can_read,
    .read = uart_receive,
};

static bool uart_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
    struct uart16550 *u = opaque;
    uint8_t v = 0;

    switch (off) {
    case UART_RBR_THR:
        if (u->lcr & LCR_DLAB) {
            v = u->dll;
        } else if (u->count) {
            v = u->fifo[u->head];
            u->head = (u->head + 1) % UART_FIFO;
            u->count--;
            uart_room(u);
        }
        break;
    case UART_IER:
        v = (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
        break;
    case UART_IIR_FCR:
        v = uart_iir(u);
        if (v == IIR_THRE)
            u->thre_pending = false;
        if (u->fcr & FCR_ENABLE)
            v |= IIR_FIFO;
        break;
    case UART_LCR:
        v = u->lcr;
        break;
    case UART_MCR:
        v = u->mcr;
        break;
    case UART_LSR:
        v = LSR_THRE | LSR_TEMT | (u->count ? LSR_DR : 0);
        break;
    case UART_MSR:
        v = MSR_DEFAULT;
        break;
    case UART_SCR:
        v = u->scr;
        break;
    default:
        /* The rest of the 0x100 window decodes nothing. */
        if (log_on(LOG_GUEST_ERROR))
            log_msg(LOG_GUEST_ERROR, "uart16550: read of unused offset 0x%" PRIx64, off);
        break;
    }
    (void)size;
    *val = v;
    uart_update(u);
    return true;
}

static bool uart_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct uart16550 *u = opaque;
    uint8_t v = (uint8_t)val;

    (void)size;
    switch (off) {
    case UART_RBR_THR:
        if (u->lcr & LCR_DLAB) {
            u->dll = v;
        } else {
            if (u->chr)
                chardev_write(u->chr, &v, 1);
            /* Sent at once: THR is empty again, which is an event. */
            u->thre_pending = true;
        }
        break;
    case UART_IER:
        if (u->lcr & LCR_DLAB) {
            u->dlm = v;
        } else {
            /* Enabling the THRE interrupt while THR is empty raises it. */
            if ((v & IER_THRE) && !(u->ier & IER_THRE))
                u->thre_pending = true;
            u->ier = v & IER_MASK;
        }
        break;
    case UART_IIR_FCR:
        if ((v ^ u->fcr) & FCR_ENABLE) {
            /* Switching the FIFOs on or off empties them. */
            u->fcr = v & (0xc0 | FCR_ENABLE);
            uart_clear_rx(u);
        } else {
            u->fcr = v & (0xc0 | FCR_ENABLE);
        }
        if (v & FCR_CLEAR_RX)
            uart_clear_rx(u);
        /* FCR_CLEAR_TX: the transmitter is always empty. */
        uart_room(u);
        break;
    case UART_LCR:
        u->lcr = v;
        break;
    case UART_MCR:
        u->mcr = v & 0x1f;
        break;
    case UART_SCR:
        u->scr = v;
        break;
    case UART_LSR:
    case UART_MSR:
        break;      /* read-only (factory test writes do nothing here) */
    default:
        if (log_on(LOG_GUEST_ERROR))
            log_msg(LOG_GUEST_ERROR, "uart16550: write of unused offset 0x%" PRIx64, off);
        break;
    }
    uart_update(u);
    return true;
}

static const struct mmio_ops uart_ops = {
    .read = uart_read,
    .write = uart_write,
};

void uart16550_reset(struct uart16550 *u)
{
    u->head = u->count = 0;
    u->ier = u->lcr = u->mcr = u->scr = u->fcr = 0;
    u->dll = u->dlm = 0;
    u->thre_pending = false;
    uart_room(u);
    if (u->level) {
        u->level = 0;
        irq_set(&u->irq, 0);
    }
}

int uart16550_new(struct uart16550 **out, struct mem_map *m, uint64_t base,
                  struct irq_line irq, struct chardev *chr, struct error **errp)
{
    struct uart16550 *u = calloc(1, sizeof(*u));
    if (!u)
        return err_set(errp, ENOMEM, _("out of memory creating the serial port"));
    u->irq = irq;
    u->chr = chr;
    int ret = mem_add_mmio(m, "uart16550", base, UART16550_SIZE, &uart_ops, u, errp);
    if (ret < 0) {
        free(u);
        return ret;
    }
    if (chr)
        chardev_set_frontend(chr, &uart_frontend, u);
    *out = u;
    return 0;
}

void uart16550_free(struct uart16550 *u)
{
    if (!u)
        return;
    if (u->chr)
        chardev_set_frontend(u->chr, NULL, NULL);
    free(u);
}

/* The model's entry in dev_types[] (hw/dev.h). */
static void uart16550_reset_op(void *dev)
{
    uart16550_reset(dev);
}

static void uart16550_free_op(void *dev)
{
    uart16550_free(dev);
}

/* savevm: the registers and the receive FIFO (bytes the guest has not
 * read yet).  The interrupt level follows from them. */
static void uart16550_save_op(void *dev, struct vms_out *f)
{
    struct uart16550 *u = dev;
    vms_put_bytes(f, u->fifo, sizeof(u->fifo));
    vms_put_u32(f, u->head);
    vms_put_u32(f, u->count);
    vms_put_u8(f, u->ier);
    vms_put_u8(f, u->lcr);
    vms_put_u8(f, u->mcr);
    vms_put_u8(f, u->scr);
    vms_put_u8(f, u->fcr);
    vms_put_u8(f, u->dll);
    vms_put_u8(f, u->dlm);
    vms_put_bool(f, u->thre_pending);
}

static void uart16550_load_op(void *dev, struct vms_in *f, uint32_t version)
{
    struct uart16550 *u = dev;
    (void)version;
    uint8_t fifo[UART_FIFO];
    vms_get_bytes(f, fifo, sizeof(fifo));
    uint32_t head = vms_get_u32(f), count = vms_get_u32(f);
    uint8_t r[7];
    for (int i = 0; i < 7; i++)
        r[i] = vms_get_u8(f);
    bool thre = vms_get_bool(f);
    vms_check(f, head < UART_FIFO, "FIFO head");
    vms_check(f, count <= ((r[4] & FCR_ENABLE) ? UART_FIFO : 1u), "FIFO count");
    if (vms_failed(f))
        return;
    memcpy(u->fifo, fifo, sizeof(fifo));
    u->head = head;
    u->count = count;
    u->ier = r[0] & IER_MASK;
    u->lcr = r[1];
    u->mcr = r[2];
    u->scr = r[3];
    u->fcr = r[4] & (0xc0 | FCR_ENABLE);
    u->dll = r[5];
    u->dlm = r[6];
    u->thre_pending = thre;
    u->level = uart_iir(u) != IIR_NONE;
    irq_set(&u->irq, u->level);
    uart_room(u);
}

const struct dev_ops uart16550_ops = {
    .name = "ns16550a",
    .desc = "16550A UART",
    .reset = uart16550_reset_op,
    .free = uart16550_free_op,
    .vmstate_version = 1,
    .save = uart16550_save_op,
    .load = uart16550_load_op,
};
