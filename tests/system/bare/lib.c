/* lib.c - UART output, exit, and the C side of the trap handlers. */
#include "runtime.h"

int (*m_hook)(struct frame *f, u64 cause);
int (*s_hook)(struct frame *f, u64 cause);
volatile struct trap m_last, s_last;
volatile int m_count, s_count;
extern struct trap *run_out;
void m_return(void) __attribute__((noreturn));

void putc_uart(int c)
{
    volatile unsigned char *u = (volatile unsigned char *)UART0;
    while (!(u[5] & 0x20))
        ;
    u[0] = c;
}

void puts_uart(const char *s)
{
    while (*s)
        putc_uart(*s++);
}

static void put_num(u64 v, unsigned base, int neg, int width, char pad)
{
    char b[24];
    int n = 0;
    do {
        b[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (neg)
        b[n++] = '-';
    while (width-- > n)
        putc_uart(pad);
    while (n)
        putc_uart(b[--n]);
}

/* %d %u %x %s %c, with an optional l and a zero-padded width */
void printf_uart(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            if (*fmt == '\n')
                putc_uart('\r');
            putc_uart(*fmt);
            continue;
        }
        fmt++;
        char pad = ' ';
        int width = 0, lng = 0;
        if (*fmt == '0')
            pad = '0';
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + *fmt++ - '0';
        while (*fmt == 'l') {
            lng = 1;
            fmt++;
        }
        switch (*fmt) {
        case 'd': {
            long v = lng ? va_arg(ap, long) : va_arg(ap, int);
            put_num(v < 0 ? -(u64)v : (u64)v, 10, v < 0, width, pad);
            break;
        }
        case 'u':
            put_num(lng ? va_arg(ap, u64) : va_arg(ap, unsigned), 10, 0, width, pad);
            break;
        case 'x':
            put_num(lng ? va_arg(ap, u64) : va_arg(ap, unsigned), 16, 0, width, pad);
            break;
        case 's':
            puts_uart(va_arg(ap, const char *));
            break;
        case 'c':
            putc_uart(va_arg(ap, int));
            break;
        default:
            putc_uart(*fmt);
        }
    }
    va_end(ap);
}

void exit(int code)
{
    MMIO32(TEST_DEV) = code == 0 ? 0x5555 : ((u32)code << 16) | 0x3333;
    for (;;)
        __asm__ volatile("wfi");
}

void print_trap(const char *what, const struct trap *t)
{
    printf("%s: cause=%lx tval=%lx epc=%lx", what, t->cause, t->tval, t->epc);
    if (t->vec >= 0)
        printf(" vec=%ld", t->vec);
    printf("\n");
}

void *memset(void *d, int c, unsigned long n)
{
    unsigned char *p = d;
    while (n--)
        *p++ = c;
    return d;
}

void *memcpy(void *d, const void *s, unsigned long n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

unsigned insn_len(u64 pc)
{
    return (*(volatile uint16_t *)pc & 3) == 3 ? 4 : 2;
}

void wait_ticks(u64 n)
{
    u64 t = mtime();
    while (mtime() - t < n)
        ;
}

/* An interrupt nobody handled: turn its source off so it does not recur. */
static void m_silence(u64 code)
{
    u64 h = csrr(mhartid);
    if (code == IRQ_M_SOFT)
        MMIO32(CLINT_MSIP(h)) = 0;
    else if (code == IRQ_M_TIMER)
        MMIO64(CLINT_MTIMECMP(h)) = ~0UL;
    csrc(mie, 1UL << code);
}

void m_trap(struct frame *f)
{
    u64 cause = csrr(mcause);
    if (m_hook && m_hook(f, cause))
        return;
    struct trap t = {
        .cause = cause, .tval = csrr(mtval), .epc = f->pc,
        .status = csrr(mstatus), .vec = f->vec, .a0 = f->x[10], .a1 = f->x[11],
    };
    if (run_out && ((t.status & MSTATUS_MPP) >> 11) != MODE_M) {
        *run_out = t;
        m_return();
    }
    m_last = t;
    m_count++;
    if (cause & INTR)
        m_silence(cause & 63);
    else if (cause != 1 && cause != 12)
        f->pc += insn_len(f->pc);
    else {
        printf("unexpected instruction fault in M at %lx\n", f->pc);
        exit(99);
    }
}

void s_trap(struct frame *f)
{
    u64 cause = csrr(scause);
    if (s_hook && s_hook(f, cause))
        return;
    struct trap t = {
        .cause = cause, .tval = csrr(stval), .epc = f->pc,
        .status = csrr(sstatus), .vec = f->vec, .a0 = f->x[10], .a1 = f->x[11],
    };
    s_last = t;
    s_count++;
    if (cause & INTR) {
        if ((cause & 63) == IRQ_S_SOFT)
            csrc(sip, 1UL << IRQ_S_SOFT);
        csrc(sie, 1UL << (cause & 63));
    } else if (cause == 1 || cause == 12) {
        /* S cannot go on after an instruction fault: end it in M */
        __asm__ volatile("ecall");
    } else {
        u64 st = csrr(sstatus);
        csrs(sstatus, MSTATUS_SUM);
        f->pc += insn_len(f->pc);
        csrw(sstatus, st);
    }
}
