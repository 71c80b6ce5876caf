/* rvc.c - expansion of RV64C compressed instructions to 32-bit ones.
 *
 * Each compressed instruction is an alias of one 32-bit instruction; we
 * rebuild that encoding so the 32-bit decoder and trans functions do the
 * work.  Reserved and illegal encodings return 0.
 */
#include <config.h>

#include "riscv/riscv.h"

static uint32_t bit(uint32_t v, int hi, int lo)
{
    return (v >> lo) & ((1u << (hi - lo + 1)) - 1);
}

static uint32_t enc_i(uint32_t opc, uint32_t rd, uint32_t f3, uint32_t rs1, int32_t imm)
{
    return ((uint32_t)imm << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc;
}
static uint32_t enc_s(uint32_t opc, uint32_t f3, uint32_t rs1, uint32_t rs2, int32_t imm)
{
    uint32_t u = (uint32_t)imm;
    return (bit(u, 11, 5) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) |
           (bit(u, 4, 0) << 7) | opc;
}
static uint32_t enc_r(uint32_t opc, uint32_t rd, uint32_t f3, uint32_t rs1, uint32_t rs2, uint32_t f7)
{
    return (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc;
}
static uint32_t enc_b(uint32_t f3, uint32_t rs1, uint32_t rs2, int32_t imm)
{
    uint32_t u = (uint32_t)imm;
    return (bit(u, 12, 12) << 31) | (bit(u, 10, 5) << 25) | (rs2 << 20) | (rs1 << 15) |
           (f3 << 12) | (bit(u, 4, 1) << 8) | (bit(u, 11, 11) << 7) | 0x63;
}
static uint32_t enc_j(uint32_t rd, int32_t imm)
{
    uint32_t u = (uint32_t)imm;
    return (bit(u, 20, 20) << 31) | (bit(u, 10, 1) << 21) | (bit(u, 11, 11) << 20) |
           (bit(u, 19, 12) << 12) | (rd << 7) | 0x6f;
}

static int32_t sext(uint32_t v, int bits)
{
    return (int32_t)(v << (32 - bits)) >> (32 - bits);
}

uint32_t rv_expand_compressed(uint16_t c16, uint64_t features)
{
    uint32_t c = c16;
    uint32_t op = c & 3, f3 = bit(c, 15, 13);
    uint32_t rd = bit(c, 11, 7), rs2 = bit(c, 6, 2);
    uint32_t rdp = bit(c, 4, 2) + 8, rs1p = bit(c, 9, 7) + 8;
    bool has_d = features & RV_EXT_D;

    if (c == 0)
        return 0;
    switch (op) {
    case 0:
        switch (f3) {
        case 0: {   /* c.addi4spn */
            uint32_t imm = (bit(c, 12, 11) << 4) | (bit(c, 10, 7) << 6) |
                           (bit(c, 6, 6) << 2) | (bit(c, 5, 5) << 3);
            return imm ? enc_i(0x13, rdp, 0, 2, (int32_t)imm) : 0;
        }
        case 1:     /* c.fld */
            return has_d ? enc_i(0x07, rdp, 3, rs1p, (int32_t)((bit(c, 12, 10) << 3) | (bit(c, 6, 5) << 6))) : 0;
        case 2:     /* c.lw */
            return enc_i(0x03, rdp, 2, rs1p, (int32_t)((bit(c, 12, 10) << 3) | (bit(c, 6, 6) << 2) | (bit(c, 5, 5) << 6)));
        case 3:     /* c.ld */
            return enc_i(0x03, rdp, 3, rs1p, (int32_t)((bit(c, 12, 10) << 3) | (bit(c, 6, 5) << 6)));
        case 5:     /* c.fsd */
            return has_d ? enc_s(0x27, 3, rs1p, rdp, (int32_t)((bit(c, 12, 10) << 3) | (bit(c, 6, 5) << 6))) : 0;
        case 6:     /* c.sw */
            return enc_s(0x23, 2, rs1p, rdp, (int32_t)((bit(c, 12, 10) << 3) | (bit(c, 6, 6) << 2) | (bit(c, 5, 5) << 6)));
        case 7:     /* c.sd */
            return enc_s(0x23, 3, rs1p, rdp, (int32_t)((bit(c, 12, 10) << 3) | (bit(c, 6, 5) << 6)));
        }
        return 0;
    case 1: {
        int32_t imm6 = sext((bit(c, 12, 12) << 5) | bit(c, 6, 2), 6);
        switch (f3) {
        case 0:     /* c.addi (c.nop when rd == 0) */
            return enc_i(0x13, rd, 0, rd, imm6);
        case 1:     /* c.addiw */
            return rd ? enc_i(0x1b, rd, 0, rd, imm6) : 0;
        case 2:     /* c.li */
            return enc_i(0x13, rd, 0, 0, imm6);
        case 3:
            if (rd == 2) {  /* c.addi16sp */
                int32_t imm = sext((bit(c, 12, 12) << 9) | (bit(c, 6, 6) << 4) | (bit(c, 5, 5) << 6) |
                                   (bit(c, 4, 3) << 7) | (bit(c, 2, 2) << 5), 10);
                return imm ? enc_i(0x13, 2, 0, 2, imm) : 0;
            }
            if (imm6 == 0)
                return 0;
            return ((uint32_t)imm6 << 12) | (rd << 7) | 0x37;   /* c.lui */
        case 4: {
            uint32_t shamt = (bit(c, 12, 12) << 5) | bit(c, 6, 2);
            switch (bit(c, 11, 10)) {
            case 0: return enc_i(0x13, rs1p, 5, rs1p, (int32_t)shamt);           /* c.srli */
            case 1: return enc_i(0x13, rs1p, 5, rs1p, (int32_t)(shamt | 0x400)); /* c.srai */
            case 2: return enc_i(0x13, rs1p, 7, rs1p, imm6);                     /* c.andi */
            }
            uint32_t r2 = bit(c, 4, 2) + 8;
            if (!bit(c, 12, 12)) {
                switch (bit(c, 6, 5)) {
                case 0: return enc_r(0x33, rs1p, 0, rs1p, r2, 0x20);  /* c.sub */
                case 1: return enc_r(0x33, rs1p, 4, rs1p, r2, 0);     /* c.xor */
                case 2: return enc_r(0x33, rs1p, 6, rs1p, r2, 0);     /* c.or */
                case 3: return enc_r(0x33, rs1p, 7, rs1p, r2, 0);     /* c.and */
                }
            }
            switch (bit(c, 6, 5)) {
            case 0: return enc_r(0x3b, rs1p, 0, rs1p, r2, 0x20);      /* c.subw */
            case 1: return enc_r(0x3b, rs1p, 0, rs1p, r2, 0);         /* c.addw */
            }
            return 0;
        }
        case 5: {   /* c.j */
            int32_t imm = sext((bit(c, 12, 12) << 11) | (bit(c, 11, 11) << 4) | (bit(c, 10, 9) << 8) |
                               (bit(c, 8, 8) << 10) | (bit(c, 7, 7) << 6) | (bit(c, 6, 6) << 7) |
                               (bit(c, 5, 3) << 1) | (bit(c, 2, 2) << 5), 12);
            return enc_j(0, imm);
        }
        case 6:
        case 7: {   /* c.beqz, c.bnez */
            int32_t imm = sext((bit(c, 12, 12) << 8) | (bit(c, 11, 10) << 3) | (bit(c, 6, 5) << 6) |
                               (bit(c, 4, 3) << 1) | (bit(c, 2, 2) << 5), 9);
            return enc_b(f3 == 6 ? 0 : 1, rs1p, 0, imm);
        }
        }
        return 0;
    }
    case 2:
        switch (f3) {
        case 0: {   /* c.slli */
            uint32_t shamt = (bit(c, 12, 12) << 5) | bit(c, 6, 2);
            return enc_i(0x13, rd, 1, rd, (int32_t)shamt);
        }
        case 1:     /* c.fldsp */
            return has_d ? enc_i(0x07, rd, 3, 2, (int32_t)((bit(c, 12, 12) << 5) | (bit(c, 6, 5) << 3) | (bit(c, 4, 2) << 6))) : 0;
        case 2:     /* c.lwsp */
            return rd ? enc_i(0x03, rd, 2, 2, (int32_t)((bit(c, 12, 12) << 5) | (bit(c, 6, 4) << 2) | (bit(c, 3, 2) << 6))) : 0;
        case 3:     /* c.ldsp */
            return rd ? enc_i(0x03, rd, 3, 2, (int32_t)((bit(c, 12, 12) << 5) | (bit(c, 6, 5) << 3) | (bit(c, 4, 2) << 6))) : 0;
        case 4:
            if (!bit(c, 12, 12)) {
                if (rs2 == 0)   /* c.jr */
                    return rd ? enc_i(0x67, 0, 0, rd, 0) : 0;
                return enc_r(0x33, rd, 0, 0, rs2, 0);                   /* c.mv */
            }
            if (rs2 == 0) {
                if (rd == 0)
                    return 0x00100073;                                  /* c.ebreak */
                return enc_i(0x67, 1, 0, rd, 0);                        /* c.jalr */
            }
            return enc_r(0x33, rd, 0, rd, rs2, 0);                      /* c.add */
        case 5:     /* c.fsdsp */
            return has_d ? enc_s(0x27, 3, 2, rs2, (int32_t)((bit(c, 12, 10) << 3) | (bit(c, 9, 7) << 6))) : 0;
        case 6:     /* c.swsp */
            return enc_s(0x23, 2, 2, rs2, (int32_t)((bit(c, 12, 9) << 2) | (bit(c, 8, 7) << 6)));
        case 7:     /* c.sdsp */
            return enc_s(0x23, 3, 2, rs2, (int32_t)((bit(c, 12, 10) << 3) | (bit(c, 9, 7) << 6)));
        }
        return 0;
    }
    return 0;
}
