/* crt.S - start-up and trap entry of the bare-metal test programs.
 *
 * Every hart enters _start in M mode (a0 = hart id).  Hart 0 clears .bss
 * and calls main(); the others wait for that and call secondary(hartid),
 * which by default parks them.  M traps go to m_trap(frame) on a per-hart
 * trap stack kept in mscratch; S traps to s_trap(frame) on one kept in
 * sscratch (S mode must run with RAM identity-mapped).  Both entries
 * save all registers in a struct frame (runtime.h); the handler may change
 * frame->pc (the return address) and the registers.
 *
 * run_in(mode, pc, a0, a1, out) enters MODE at PC; the first trap from
 * that mode into M ends the excursion: m_trap fills *out and calls
 * m_return(), which comes back from run_in.
 */
#define FRAME 272
#define PC_OFF 256
#define VEC_OFF 264

    .section .text.start, "ax"
    .globl _start
_start:
    csrr t0, mhartid
    slli t1, t0, 14
    la sp, stacks_end
    sub sp, sp, t1
    slli t1, t0, 13
    la t2, trap_stacks_end
    sub t2, t2, t1
    csrw mscratch, t2
    la t2, s_stacks_end
    sub t2, t2, t1
    csrw sscratch, t2
    la t1, m_trap_entry
    csrw mtvec, t1
    /* PMP entry 15: everything, for S and U (the lowest priority) */
    li t1, -1
    csrw pmpaddr15, t1
    li t1, 0x1f
    slli t1, t1, 56
    csrw pmpcfg2, t1
    /* floating point on (compiled C may touch it) */
    li t1, 1 << 13
    csrs mstatus, t1
    bnez t0, 2f
    la t1, bss_start
    la t2, bss_end
1:  bgeu t1, t2, 1f
    sd zero, 0(t1)
    addi t1, t1, 8
    j 1b
1:  fence
    li t1, 1
    la t2, bss_ready
    sw t1, 0(t2)
    call main
    call exit
2:  la t2, bss_ready
3:  lw t1, 0(t2)
    beqz t1, 3b
    fence
    mv a0, t0
    call secondary
4:  wfi
    j 4b

    .weak secondary
secondary:
    wfi
    j secondary

/* save x1 and x3..x31 (t0 = x5 already saved) and pc, then call HANDLER */
.macro SAVE_CALL_RESTORE epc, handler, ret, scratch
    sd x1, 8(sp)
    sd x3, 24(sp)
    sd x4, 32(sp)
    sd x6, 48(sp)
    sd x7, 56(sp)
    sd x8, 64(sp)
    sd x9, 72(sp)
    sd x10, 80(sp)
    sd x11, 88(sp)
    sd x12, 96(sp)
    sd x13, 104(sp)
    sd x14, 112(sp)
    sd x15, 120(sp)
    sd x16, 128(sp)
    sd x17, 136(sp)
    sd x18, 144(sp)
    sd x19, 152(sp)
    sd x20, 160(sp)
    sd x21, 168(sp)
    sd x22, 176(sp)
    sd x23, 184(sp)
    sd x24, 192(sp)
    sd x25, 200(sp)
    sd x26, 208(sp)
    sd x27, 216(sp)
    sd x28, 224(sp)
    sd x29, 232(sp)
    sd x30, 240(sp)
    sd x31, 248(sp)
    sd t0, VEC_OFF(sp)
    csrr t0, \scratch
    sd t0, 16(sp)
    csrr t0, \epc
    sd t0, PC_OFF(sp)
    mv a0, sp
    call \handler
    ld t0, PC_OFF(sp)
    csrw \epc, t0
    ld x1, 8(sp)
    ld x3, 24(sp)
    ld x4, 32(sp)
    ld x6, 48(sp)
    ld x7, 56(sp)
    ld x8, 64(sp)
    ld x9, 72(sp)
    ld x10, 80(sp)
    ld x11, 88(sp)
    ld x12, 96(sp)
    ld x13, 104(sp)
    ld x14, 112(sp)
    ld x15, 120(sp)
    ld x16, 128(sp)
    ld x17, 136(sp)
    ld x18, 144(sp)
    ld x19, 152(sp)
    ld x20, 160(sp)
    ld x21, 168(sp)
    ld x22, 176(sp)
    ld x23, 184(sp)
    ld x24, 192(sp)
    ld x25, 200(sp)
    ld x26, 208(sp)
    ld x27, 216(sp)
    ld x28, 224(sp)
    ld x29, 232(sp)
    ld x30, 240(sp)
    ld x31, 248(sp)
    ld x5, 40(sp)
    addi sp, sp, FRAME
    csrrw sp, \scratch, sp
    \ret
.endm

/* entry: swap in the trap stack, save t0, put the vector number in t0 */
.macro ENTRY scratch, vec, common
    csrrw sp, \scratch, sp
    addi sp, sp, -FRAME
    sd t0, 40(sp)
    li t0, \vec
    j \common
.endm

    .text
    .balign 256
    .globl m_trap_entry, m_vectors
m_trap_entry:
    ENTRY mscratch, -1, m_common
m_common:
    SAVE_CALL_RESTORE mepc, m_trap, mret, mscratch

    .balign 256
m_vectors:
    .option push
    .option norvc
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    j m_vec\n
    .endr
    .option pop
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
m_vec\n: ENTRY mscratch, \n, m_common
    .endr

    .balign 256
    .globl s_trap_entry, s_vectors
s_trap_entry:
    ENTRY sscratch, -1, s_common
s_common:
    SAVE_CALL_RESTORE sepc, s_trap, sret, sscratch

    .balign 256
s_vectors:
    .option push
    .option norvc
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    j s_vec\n
    .endr
    .option pop
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
s_vec\n: ENTRY sscratch, \n, s_common
    .endr

/* void run_in(unsigned mode, uintptr_t pc, uintptr_t a0, uintptr_t a1,
 *             struct trap *out) */
    .globl run_in, m_return
run_in:
    la t0, m_ctx
    sd ra, 0(t0)
    sd sp, 8(t0)
    sd s0, 16(t0)
    sd s1, 24(t0)
    sd s2, 32(t0)
    sd s3, 40(t0)
    sd s4, 48(t0)
    sd s5, 56(t0)
    sd s6, 64(t0)
    sd s7, 72(t0)
    sd s8, 80(t0)
    sd s9, 88(t0)
    sd s10, 96(t0)
    sd s11, 104(t0)
    sd gp, 112(t0)
    sd tp, 120(t0)
    la t1, run_out
    sd a4, 0(t1)
    csrw mepc, a1
    li t1, 3 << 11
    csrc mstatus, t1
    andi a0, a0, 3
    slli a0, a0, 11
    csrs mstatus, a0
    la sp, lower_stack_end
    mv a0, a2
    mv a1, a3
    mret

/* back from run_in, on M's stack (called from m_trap) */
m_return:
    csrr t0, mhartid
    slli t0, t0, 13
    la t1, trap_stacks_end
    sub t1, t1, t0
    csrw mscratch, t1
    la t1, run_out
    sd zero, 0(t1)
    la t0, m_ctx
    ld ra, 0(t0)
    ld sp, 8(t0)
    ld s0, 16(t0)
    ld s1, 24(t0)
    ld s2, 32(t0)
    ld s3, 40(t0)
    ld s4, 48(t0)
    ld s5, 56(t0)
    ld s6, 64(t0)
    ld s7, 72(t0)
    ld s8, 80(t0)
    ld s9, 88(t0)
    ld s10, 96(t0)
    ld s11, 104(t0)
    ld gp, 112(t0)
    ld tp, 120(t0)
    ret

/* Snippets for lower modes: registers only, end with ecall (to M, or to
 * S when delegated).  Also mapped elsewhere for U (see link.ld). */
    .section .utext, "ax"
    .globl u_load, u_store, u_jump, u_ecall, u_loadw, u_storeb, u_lr, u_amoadd
    .globl u_insn_end
u_ecall:
    ecall
    j u_ecall
u_load:          /* a1 = *(u64 *)a0 */
    ld a1, 0(a0)
    ecall
u_loadw:         /* a1 = *(u32 *)a0 */
    lwu a1, 0(a0)
    ecall
u_store:         /* *(u64 *)a0 = a1 */
    sd a1, 0(a0)
    ecall
u_storeb:        /* *(u8 *)a0 = a1 */
    sb a1, 0(a0)
    ecall
u_lr:            /* a1 = lr.d (a0) */
    lr.d a1, (a0)
    ecall
u_amoadd:        /* a1 = amoadd.d (a0), a1 */
    amoadd.d a1, a1, (a0)
    ecall
u_jump:          /* jump to a0 */
    jr a0

    .data
    .balign 8
    .globl bss_ready
bss_ready: .word 0
    .balign 8
m_ctx: .space 128
    .globl run_out
run_out: .dword 0
    .balign 16
lower_stack: .space 4096
lower_stack_end:
