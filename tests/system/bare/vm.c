/* vm.c - page walks under Sv39 (-DSV=39) or Sv48 (-DSV=48): A/D bits set
 * by the walker, 4 KiB pages, 2 MiB and 1 GiB superpages, a misaligned
 * superpage, every kind of page fault from S and U (invalid PTE, missing
 * permission, U page from S without SUM, W without R), SUM, MXR,
 * sfence.vma, and address-space switches with non-global and global
 * mappings.  RAM stays identity-mapped (1 GiB, not U) for S. */
#include "check.h"

#define V 0x01
#define R 0x02
#define W 0x04
#define X 0x08
#define U 0x10
#define G 0x20
#define A 0x40
#define D 0x80
#define LEVELS (SV == 48 ? 4 : 3)

static u64 tables[16][512] __attribute__((aligned(4096)));
static int ntables = 1;
static u64 pages[8][512] __attribute__((aligned(4096)));   /* data pages */

/* the PTE for VA at LEVEL (0 = 4 KiB leaf) under ROOT, making tables on
 * the way */
static u64 *pte_in(u64 *root, u64 va, int level)
{
    u64 *t = root;
    for (int l = LEVELS - 1; l > level; l--) {
        u64 *e = &t[(va >> (12 + 9 * l)) & 511];
        if (!(*e & V)) {
            *e = ((u64)tables[ntables++] >> 12) << 10 | V;
        }
        t = (u64 *)((*e >> 10) << 12);
    }
    return &t[(va >> (12 + 9 * level)) & 511];
}

static u64 *pte_of(u64 va, int level)
{
    return pte_in(tables[0], va, level);
}

static void map(u64 va, u64 pa, int level, u64 flags)
{
    *pte_of(va, level) = (pa >> 12) << 10 | flags;
    __asm__ volatile("sfence.vma" ::: "memory");
}

#define VBASE 0x40000000UL          /* test pages */
#define UCODE 0x40100000UL          /* alias of .utext for U */
static u64 ucode(char *snippet) { return UCODE + (snippet - utext_start); }

__asm__(".pushsection .text\n"
        "sn_sfence_load: sfence.vma\n ld a1, 0(a0)\n ecall\n"
        "sn_lwu: lwu a1, 0(a0)\n ecall\n"
        ".popsection\n");
extern char sn_sfence_load[], sn_lwu[];

static struct trap t;
static void show(const char *what, unsigned mode, char *snippet, u64 va, u64 val)
{
    u64 pc = mode == MODE_U ? ucode(snippet) : (u64)snippet;
    if (snippet == 0)
        pc = va;   /* execute at VA itself */
    run_in(mode, pc, va, val, &t);
    printf("%s %c: cause=%lx tval=%lx epc=%lx", what, mode == MODE_U ? 'U' : 'S', t.cause, t.tval, t.epc);
    if (t.cause == 8 || t.cause == 9)
        printf(" a1=%lx", t.a1);
    printf("\n");
}

int main(void)
{
    printf("vm sv%d\n", SV);
    /* RAM, identity, not U */
    map(0x80000000UL, 0x80000000UL, 2, V | R | W | X | A | D);
    /* .utext for U at UCODE */
    for (u64 p = (u64)utext_start; p < (u64)utext_end; p += 4096)
        map(UCODE + (p - (u64)utext_start), p, 0, V | R | X | U | A);
    csrw(satp, (SV == 48 ? 9UL : 8UL) << 60 | (u64)tables[0] >> 12);
    printf("satp mode=%lu\n", csrr(satp) >> 60);
    CHECK(csrr(satp) >> 60 == (SV == 48 ? 9 : 8), "satp mode");
    __asm__ volatile("sfence.vma");
    for (int i = 0; i < 8; i++)
        pages[i][1] = 0x1111 * (i + 1);

    /* A and D by the walker: load sets A, store sets D */
    u64 *p0 = pte_of(VBASE, 0);
    map(VBASE, (u64)pages[0], 0, V | R | W);
    show("4K load", MODE_S, u_load, VBASE + 8, 0);
    printf("  pte flags after load:  %02lx\n", *p0 & 0xff);
    CHECK(t.a1 == 0x1111 && (*p0 & A) && !(*p0 & D), "A after load");
    show("4K store", MODE_S, u_store, VBASE + 16, 0xabc);
    printf("  pte flags after store: %02lx memory=%lx\n", *p0 & 0xff, pages[0][2]);
    CHECK((*p0 & D) && pages[0][2] == 0xabc, "D after store");
    map(VBASE, (u64)pages[0], 0, V | R | W | A);
    show("4K store, A set", MODE_S, u_store, VBASE + 16, 0xabd);
    printf("  pte flags after store: %02lx\n", *p0 & 0xff);

    /* U page from U: A/D too */
    u64 *p1 = pte_of(VBASE + 0x1000, 0);
    map(VBASE + 0x1000, (u64)pages[1], 0, V | R | W | U);
    show("U load", MODE_U, u_load, VBASE + 0x1008, 0);
    show("U store", MODE_U, u_store, VBASE + 0x1010, 5);
    printf("  pte flags: %02lx\n", *p1 & 0xff);
    CHECK(t.cause == 8 && (*p1 & (A | D)) == (A | D), "U store");

    /* 2 MiB superpage at a 2 MiB-aligned PA, and a misaligned one */
    u64 big = 0x80400000UL;
    *(volatile u64 *)(big + 0x1008) = 0x2222;
    map(VBASE + 0x200000, big, 1, V | R | W);
    show("2M load", MODE_S, u_load, VBASE + 0x201008, 0);
    printf("  pte flags: %02lx\n", *pte_of(VBASE + 0x200000, 1) & 0xff);
    CHECK(t.a1 == 0x2222, "2M superpage");
    map(VBASE + 0x400000, big + 0x1000, 1, V | R | W | A | D);
    show("2M misaligned load", MODE_S, u_load, VBASE + 0x400008, 0);
    CHECK(t.cause == 13 && t.tval == VBASE + 0x400008, "misaligned 2M");
    show("2M misaligned exec", MODE_S, 0, VBASE + 0x400000, 0);
    CHECK(t.cause == 12, "misaligned 2M exec");

    /* 1 GiB superpage: an alias of RAM at 4 GiB */
    map(0x100000000UL, 0x80000000UL, 2, V | R | A);
    show("1G load", MODE_S, u_load, 0x100000000UL + ((u64)&pages[2][1] - 0x80000000UL), 0);
    CHECK(t.a1 == 0x3333, "1G superpage");
    map(0x140000000UL, 0x80200000UL, 2, V | R | A);
    show("1G misaligned load", MODE_S, u_load, 0x140000010UL, 0);
    CHECK(t.cause == 13, "misaligned 1G");

    /* invalid PTEs: every access faults with the VA in tval */
    map(VBASE + 0x2000, (u64)pages[2], 0, R | W | X | U);   /* V = 0 */
    show("invalid: load", MODE_S, u_load, VBASE + 0x2008, 0);
    CHECK(t.cause == 13 && t.tval == VBASE + 0x2008, "invalid load");
    show("invalid: store", MODE_S, u_store, VBASE + 0x2008, 0);
    CHECK(t.cause == 15 && t.tval == VBASE + 0x2008, "invalid store");
    show("invalid: exec", MODE_S, 0, VBASE + 0x2000, 0);
    CHECK(t.cause == 12 && t.tval == VBASE + 0x2000 && t.epc == VBASE + 0x2000, "invalid exec");
    show("invalid: load", MODE_U, u_load, VBASE + 0x2008, 0);
    show("invalid: store", MODE_U, u_store, VBASE + 0x2008, 0);
    show("invalid: exec", MODE_U, u_jump, VBASE + 0x2000, 0);
    CHECK(t.cause == 12 && t.tval == VBASE + 0x2000, "invalid exec from U");
    show("unmapped: load", MODE_S, u_load, 0x7000000000UL & ((1UL << (SV - 1)) - 1), 0);
    CHECK(t.cause == 13, "unmapped");

    /* permissions */
    map(VBASE + 0x3000, (u64)pages[3], 0, V | R | A);
    show("read-only: store", MODE_S, u_store, VBASE + 0x3008, 1);
    CHECK(t.cause == 15, "store to read-only");
    show("read-only: exec", MODE_S, 0, VBASE + 0x3000, 0);
    CHECK(t.cause == 12, "exec of no-X");
    show("amoadd on read-only", MODE_S, u_amoadd, VBASE + 0x3008, 1);
    CHECK(t.cause == 15, "AMO on read-only");
    show("lr on read-only", MODE_S, u_lr, VBASE + 0x3008, 0);
    map(VBASE + 0x4000, (u64)pages[4], 0, V | W | A | D);     /* W without R */
    show("W without R: load", MODE_S, u_load, VBASE + 0x4008, 0);
    CHECK(t.cause == 13, "reserved W");
    show("W without R: store", MODE_S, u_store, VBASE + 0x4008, 0);
    CHECK(t.cause == 15, "reserved W store");
    map(VBASE + 0x4000, (u64)pages[4], 0, V | W | X | A | D);
    show("WX without R: exec", MODE_S, 0, VBASE + 0x4000, 0);
    CHECK(t.cause == 12, "reserved WX");

    /* U pages from S: SUM; S pages from U */
    show("U page from S, SUM=0", MODE_S, u_load, VBASE + 0x1008, 0);
    CHECK(t.cause == 13, "U page from S without SUM");
    show("U page store from S, SUM=0", MODE_S, u_store, VBASE + 0x1008, 0);
    CHECK(t.cause == 15, "U store from S");
    csrs(mstatus, MSTATUS_SUM);
    show("U page from S, SUM=1", MODE_S, u_load, VBASE + 0x1008, 0);
    CHECK(t.cause == 9, "SUM");
    show("U page exec from S, SUM=1", MODE_S, u_jump, ucode(u_ecall), 0);
    CHECK(t.cause == 12, "S exec of a U page");
    csrc(mstatus, MSTATUS_SUM);
    show("S page from U", MODE_U, u_load, VBASE + 0x8, 0);
    CHECK(t.cause == 13, "S page from U");
    show("S page exec from U", MODE_U, u_jump, (u64)u_ecall, 0);
    CHECK(t.cause == 12, "U exec of an S page");

    /* MXR: execute-only pages become readable */
    map(VBASE + 0x5000, (u64)pages[5], 0, V | X | A);
    show("X-only load, MXR=0", MODE_S, u_load, VBASE + 0x5008, 0);
    CHECK(t.cause == 13, "MXR=0");
    csrs(mstatus, MSTATUS_MXR);
    show("X-only load, MXR=1", MODE_S, u_load, VBASE + 0x5008, 0);
    CHECK(t.cause == 9 && t.a1 == 0x6666, "MXR=1");
    show("X-only store, MXR=1", MODE_S, u_store, VBASE + 0x5008, 0);
    CHECK(t.cause == 15, "MXR store");
    csrc(mstatus, MSTATUS_MXR);

    /* sfence.vma: after it, S sees the new mapping */
    map(VBASE + 0x6000, (u64)pages[6], 0, V | R | A);
    show("before remap", MODE_S, u_load, VBASE + 0x6008, 0);
    *pte_of(VBASE + 0x6000, 0) = ((u64)pages[7] >> 12) << 10 | V | R | A;
    show("after remap + sfence.vma", MODE_S, sn_sfence_load, VBASE + 0x6008, 0);
    CHECK(t.a1 == 0x8888, "sfence.vma");

    /* misaligned accesses across a page boundary whose second page
     * faults: tval is the second page's address (the part that faulted),
     * else the handler fixes the first page and the access faults forever */
    map(VBASE + 0x10000, (u64)pages[7], 0, V | R | W | U | A | D);
    map(VBASE + 0x11000, (u64)pages[6], 0, R | W | U);      /* V = 0 */
    show("crossing: load", MODE_U, u_load, VBASE + 0x10ffc, 0);
    CHECK(t.cause == 13 && t.tval >= VBASE + 0x11000, "crossing load: tval in the second page");
    show("crossing: store", MODE_U, u_store, VBASE + 0x10ffa, 7);
    CHECK(t.cause == 15 && t.tval >= VBASE + 0x11000, "crossing store: tval in the second page");
    map(VBASE + 0x11000, (u64)pages[6], 0, V | R | U | A);   /* read-only */
    show("crossing: store to read-only", MODE_U, u_store, VBASE + 0x10ffc, 7);
    CHECK(t.cause == 15 && t.tval >= VBASE + 0x11000, "crossing store to read-only");

    /* A device page mapped for S (the first virtio-mmio transport: its
     * magic value reads "virt"), then the same VA remapped to RAM: after
     * sfence.vma the load must reach RAM, not the device */
    map(VBASE + 0x8000, 0x10001000UL, 0, V | R | W | A | D);
    show("device page", MODE_S, sn_lwu, VBASE + 0x8000, 0);
    CHECK(t.a1 == 0x74726976, "virtio-mmio magic through a mapping");
    show("device page again", MODE_S, sn_lwu, VBASE + 0x8000, 0);
    CHECK(t.a1 == 0x74726976, "virtio-mmio magic again");
    pages[5][0] = 0x77;
    map(VBASE + 0x8000, (u64)pages[5], 0, V | R | W | A | D);
    show("remapped to RAM", MODE_S, sn_lwu, VBASE + 0x8000, 0);
    CHECK(t.a1 == 0x77, "device page remapped");

    /* Address-space switches: a second root shares the tables made so far
     * (VBASE's global page below is in both), then maps its own page at
     * TV, where the first root maps another; both non-global. */
    u64 *root2 = tables[ntables++];
    u64 tv = SV == 48 ? 0x300000000000UL : 0x3000000000UL;
    map(VBASE + 0x7000, (u64)pages[2], 0, V | R | G | A);
    for (int i = 0; i < 512; i++)
        root2[i] = tables[0][i];
    map(tv, (u64)pages[0], 0, V | R | A);
    *pte_in(root2, tv, 0) = ((u64)pages[1] >> 12) << 10 | V | R | A;
    __asm__ volatile("sfence.vma" ::: "memory");
    u64 satp1 = csrr(satp), satp2 = (satp1 & ~((1UL << 44) - 1)) | (u64)root2 >> 12;
    show("root 1, non-global", MODE_S, u_load, tv + 8, 0);
    CHECK(t.a1 == 0x1111, "root 1");
    show("root 1, global", MODE_S, u_load, VBASE + 0x7008, 0);
    csrw(satp, satp2);
    show("root 2, non-global", MODE_S, u_load, tv + 8, 0);
    CHECK(t.a1 == 0x2222, "root 2 sees its own page");
    show("root 2, global", MODE_S, u_load, VBASE + 0x7008, 0);
    CHECK(t.a1 == 0x3333, "global page in root 2");
    csrw(satp, satp1);
    show("root 1 again", MODE_S, u_load, tv + 8, 0);
    CHECK(t.a1 == 0x1111, "back in root 1");
    /* sfence.vma x0, rs2 (one ASID) drops non-global entries */
    *pte_of(tv, 0) = ((u64)pages[3] >> 12) << 10 | V | R | A;
    __asm__ volatile("li t0, 0\n sfence.vma x0, t0" ::: "t0", "memory");
    show("after sfence.vma x0, asid", MODE_S, u_load, tv + 8, 0);
    CHECK(t.a1 == 0x4444, "sfence.vma for an ASID");
    /* and sfence.vma x0, x0 global ones */
    *pte_of(VBASE + 0x7000, 0) = ((u64)pages[4] >> 12) << 10 | V | R | G | A;
    __asm__ volatile("sfence.vma" ::: "memory");
    show("global after sfence.vma", MODE_S, u_load, VBASE + 0x7008, 0);
    CHECK(t.a1 == 0x5555, "sfence.vma of a global page");

    csrw(satp, 0);
    return failures();
}
