/* asm.h - a small x86-64 instruction encoder for the back end.
 *
 * Only the forms the back end needs: register/register, register/memory
 * with [base + disp] or [base + index + disp], immediates.  Everything
 * writes into a struct xbuf that notes overflow instead of writing past
 * its end; the caller checks xb.overflow once per block.
 */
#ifndef EMU_TR_X86_ASM_H
#define EMU_TR_X86_ASM_H

#include <string.h>
#include "common.h"

enum x86_reg {
    RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
    R8, R9, R10, R11, R12, R13, R14, R15,
    XNOREG = -1
};

/* ALU group numbers (00+8n r/m,r; 02+8n r,r/m; 81 /n imm32; 83 /n imm8). */
enum x86_alu { ALU_ADD = 0, ALU_OR = 1, ALU_AND = 4, ALU_SUB = 5, ALU_XOR = 6, ALU_CMP = 7 };

/* Condition codes (low nibble of Jcc/SETcc). */
enum x86_cc {
    CC_O = 0, CC_NO, CC_B, CC_AE, CC_E, CC_NE, CC_BE, CC_A,
    CC_S, CC_NS, CC_P, CC_NP, CC_L, CC_GE, CC_LE, CC_G
};

#define XF_W 1      /* REX.W: 64-bit operand */
#define XF_66 2     /* operand-size prefix: 16-bit */
#define XF_REX 4    /* force a REX prefix (byte registers sil, dil) */
#define XF_F2 8     /* scalar-double prefix (movsd, addsd, ...) */
#define XF_F3 16    /* scalar-single prefix (addss, ...) */

struct xbuf {
    uint8_t *start;
    uint8_t *p;
    uint8_t *end;
    bool overflow;
};

static inline void xb_byte(struct xbuf *b, unsigned v)
{
    if (b->p < b->end)
        *b->p++ = (uint8_t)v;
    else
        b->overflow = true;
}
static inline void xb_u32(struct xbuf *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        xb_byte(b, (v >> (8 * i)) & 0xff);
}
static inline void xb_u64(struct xbuf *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        xb_byte(b, (unsigned)(v >> (8 * i)) & 0xff);
}
static inline bool fits_s8(int64_t v) { return v >= -128 && v <= 127; }
static inline bool fits_s32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

static inline void x_prefix(struct xbuf *b, int flags, int reg, int index, int base, uint32_t opc)
{
    if (flags & XF_66)
        xb_byte(b, 0x66);
    if (flags & XF_F2)
        xb_byte(b, 0xf2);
    if (flags & XF_F3)
        xb_byte(b, 0xf3);
    unsigned rex = 0x40 | ((flags & XF_W) ? 8 : 0) | ((reg >> 3) & 1) << 2 |
                   (index >= 0 ? ((index >> 3) & 1) << 1 : 0) | (base >= 0 ? ((base >> 3) & 1) : 0);
    if (rex != 0x40 || (flags & XF_REX))
        xb_byte(b, rex);
    if (opc > 0xffff)
        xb_byte(b, opc >> 16);
    if (opc > 0xff)
        xb_byte(b, (opc >> 8) & 0xff);
    xb_byte(b, opc & 0xff);
}

/* op reg, rm (register direct). */
static inline void x_rr(struct xbuf *b, int flags, uint32_t opc, int reg, int rm)
{
    x_prefix(b, flags, reg, -1, rm, opc);
    xb_byte(b, 0xc0 | (reg & 7) << 3 | (rm & 7));
}

/* op reg, [base + index + disp]; index < 0 for none. */
static inline void x_rm(struct xbuf *b, int flags, uint32_t opc, int reg, int base, int index, int32_t disp)
{
    x_prefix(b, flags, reg, index, base, opc);
    int mod = (disp == 0 && (base & 7) != 5) ? 0 : fits_s8(disp) ? 1 : 2;
    if (index >= 0 || (base & 7) == 4) {
        xb_byte(b, mod << 6 | (reg & 7) << 3 | 4);
        xb_byte(b, (index >= 0 ? (index & 7) : 4) << 3 | (base & 7));
    } else {
        xb_byte(b, mod << 6 | (reg & 7) << 3 | (base & 7));
    }
    if (mod == 1)
        xb_byte(b, (uint8_t)disp);
    else if (mod == 2)
        xb_u32(b, (uint32_t)disp);
}

static inline void x_mov_rr(struct xbuf *b, int dst, int src)
{
    if (dst != src)
        x_rr(b, XF_W, 0x89, src, dst);
}

static inline void x_mov_ri(struct xbuf *b, int dst, int64_t imm)
{
    if (imm == 0) {
        x_rr(b, 0, 0x31, dst, dst);                 /* xor r32, r32 */
    } else if (imm > 0 && imm <= UINT32_MAX) {
        x_prefix(b, 0, 0, -1, dst, 0xb8 + (dst & 7)); /* mov r32, imm32 */
        xb_u32(b, (uint32_t)imm);
    } else if (fits_s32(imm)) {
        x_rr(b, XF_W, 0xc7, 0, dst);                /* mov r64, simm32 */
        xb_u32(b, (uint32_t)imm);
    } else {
        x_prefix(b, XF_W, 0, -1, dst, 0xb8 + (dst & 7));
        xb_u64(b, (uint64_t)imm);
    }
}

/* ALU reg, imm (64-bit when w). */
static inline void x_alu_ri(struct xbuf *b, int w, int alu, int reg, int32_t imm)
{
    if (fits_s8(imm)) {
        x_rr(b, w ? XF_W : 0, 0x83, alu, reg);
        xb_byte(b, (uint8_t)imm);
    } else {
        x_rr(b, w ? XF_W : 0, 0x81, alu, reg);
        xb_u32(b, (uint32_t)imm);
    }
}

/* jmp/jcc rel32 to an absolute target inside the same buffer. */
static inline uint8_t *x_jmp32(struct xbuf *b, const uint8_t *target)
{
    xb_byte(b, 0xe9);
    uint8_t *slot = b->p;
    xb_u32(b, (uint32_t)(target ? (int32_t)(target - (b->p + 4)) : 0));
    return slot;
}
static inline uint8_t *x_jcc32(struct xbuf *b, int cc, const uint8_t *target)
{
    xb_byte(b, 0x0f);
    xb_byte(b, 0x80 | cc);
    uint8_t *slot = b->p;
    xb_u32(b, (uint32_t)(target ? (int32_t)(target - (b->p + 4)) : 0));
    return slot;
}
/* Point a rel32 slot at target. */
static inline void x_patch32(uint8_t *slot, const uint8_t *target)
{
    int32_t rel = (int32_t)(target - (slot + 4));
    memcpy(slot, &rel, 4);
}
/* Short forward jump whose 8-bit offset is patched with x_patch8. */
static inline uint8_t *x_jcc8(struct xbuf *b, int cc)
{
    xb_byte(b, 0x70 | cc);
    xb_byte(b, 0);
    return b->p - 1;
}
static inline uint8_t *x_jmp8(struct xbuf *b)
{
    xb_byte(b, 0xeb);
    xb_byte(b, 0);
    return b->p - 1;
}
static inline void x_patch8(struct xbuf *b, uint8_t *slot)
{
    if (b->overflow)
        return;
    *slot = (uint8_t)(b->p - (slot + 1));
}

#endif
