/* runtime.h - the bare-metal test runtime (crt.S, lib.c): UART output,
 * exit through the virt test device, CSR access, and the trap plumbing. */
#ifndef RUNTIME_H
#define RUNTIME_H
#include <stdint.h>
#include <stdarg.h>

typedef uint64_t u64;
typedef uint32_t u32;

#define UART0     0x10000000UL
#define TEST_DEV  0x100000UL
#define CLINT_MSIP(h)     (0x2000000UL + 4 * (h))
#define CLINT_MTIMECMP(h) (0x2004000UL + 8 * (h))
#define CLINT_MTIME       0x200bff8UL

#define MMIO64(a) (*(volatile u64 *)(a))
#define MMIO32(a) (*(volatile u32 *)(a))

#define csrr(csr) ({ u64 _v; __asm__ volatile("csrr %0, " #csr : "=r"(_v) :: "memory"); _v; })
#define csrw(csr, v) __asm__ volatile("csrw " #csr ", %0" :: "rK"((u64)(v)) : "memory")
#define csrs(csr, v) __asm__ volatile("csrs " #csr ", %0" :: "rK"((u64)(v)) : "memory")
#define csrc(csr, v) __asm__ volatile("csrc " #csr ", %0" :: "rK"((u64)(v)) : "memory")

#define MSTATUS_SIE  (1UL << 1)
#define MSTATUS_MIE  (1UL << 3)
#define MSTATUS_SPIE (1UL << 5)
#define MSTATUS_MPIE (1UL << 7)
#define MSTATUS_SPP  (1UL << 8)
#define MSTATUS_MPP  (3UL << 11)
#define MSTATUS_MPRV (1UL << 17)
#define MSTATUS_SUM  (1UL << 18)
#define MSTATUS_MXR  (1UL << 19)
#define MSTATUS_TVM  (1UL << 20)
#define MSTATUS_TW   (1UL << 21)
#define MSTATUS_TSR  (1UL << 22)

#define IRQ_S_SOFT  1
#define IRQ_M_SOFT  3
#define IRQ_S_TIMER 5
#define IRQ_M_TIMER 7
#define IRQ_S_EXT   9
#define IRQ_M_EXT   11
#define INTR (1UL << 63)

enum { MODE_U = 0, MODE_S = 1, MODE_M = 3 };

/* registers of the trapped context, as crt.S saves them */
struct frame {
    u64 x[32];   /* x[2] is the trapped sp */
    u64 pc;      /* mepc or sepc; written back on return */
    long vec;    /* vector taken in vectored mode, -1 in direct mode */
};

/* what one trap looked like */
struct trap {
    u64 cause, tval, epc, status;
    long vec;
    u64 a0, a1;
};

void run_in(unsigned mode, uintptr_t pc, uintptr_t a0, uintptr_t a1, struct trap *out);

/* Hooks: return nonzero when the trap was handled (the handler then just
 * returns to frame->pc). */
extern int (*m_hook)(struct frame *f, u64 cause);
extern int (*s_hook)(struct frame *f, u64 cause);
/* the last trap M (S) handled itself, and how many */
extern volatile struct trap m_last, s_last;
extern volatile int m_count, s_count;

extern char m_trap_entry[], m_vectors[], s_trap_entry[], s_vectors[];
extern char u_load[], u_loadw[], u_store[], u_storeb[], u_jump[], u_ecall[];
extern char u_lr[], u_amoadd[];
extern char utext_start[], utext_end[], free_mem[];

void putc_uart(int c);
void puts_uart(const char *s);
void printf_uart(const char *fmt, ...);
#define printf printf_uart
void exit(int code) __attribute__((noreturn));
void print_trap(const char *what, const struct trap *t);
unsigned insn_len(u64 pc);
void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);
void wait_ticks(u64 n);

static inline u64 mtime(void) { return MMIO64(CLINT_MTIME); }

#endif
