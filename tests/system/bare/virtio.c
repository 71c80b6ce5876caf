/* virtio.c - a hostile driver for virtio-blk over virtio-mmio.
 *
 * The disk (virtio-blk.sh's hostile part gives it) starts with the bytes
 * "EMU-DISK" and has 64 sectors.  First a well-behaved driver: set-up,
 * a read, a write-zeroes, a flush, GET_ID, an out-of-range read (IOERR)
 * and an unknown request type (UNSUPP).  Then a driver that lies:
 * a descriptor chain that loops, buffers outside RAM or wrapping around
 * the address space, an available index far ahead, rings outside RAM,
 * a bad indirect table, a used index the driver scribbled over.  Each lie
 * must put the device into DEVICE_NEEDS_RESET (status bit 64) without
 * completing anything, and after a reset the device must work again:
 * the emulator runs on, its host memory untouched. */
#include "check.h"

#define VIRTIO_BASE 0x10001000UL
#define SLOTS 8
#define R(off) MMIO32(dev + (off))

enum { MAGIC = 0, VERSION = 4, DEVICE_ID = 8, DEV_FEAT = 0x10, DEV_FEAT_SEL = 0x14,
       DRV_FEAT = 0x20, DRV_FEAT_SEL = 0x24, QUEUE_SEL = 0x30, QUEUE_NUM_MAX = 0x34,
       QUEUE_NUM = 0x38, QUEUE_READY = 0x44, QUEUE_NOTIFY = 0x50, INT_STATUS = 0x60,
       INT_ACK = 0x64, STATUS = 0x70, DESC_LO = 0x80, DESC_HI = 0x84, DRIVER_LO = 0x90,
       DRIVER_HI = 0x94, DEVICE_LO = 0xa0, DEVICE_HI = 0xa4, CONFIG = 0x100 };

#define F_NEXT 1
#define F_WRITE 2
#define F_INDIRECT 4
#define QN 8

struct desc { u64 addr; u32 len; uint16_t flags, next; };
static struct desc ring_desc[QN] __attribute__((aligned(16)));
static struct { uint16_t flags, idx, ring[QN], used_event; } avail __attribute__((aligned(4)));
static struct { uint16_t flags, idx; struct { u32 id, len; } ring[QN]; uint16_t avail_event; }
    used __attribute__((aligned(4)));
static struct desc indirect[4] __attribute__((aligned(16)));
static struct { u32 type, reserved; u64 sector; } hdr;
static unsigned char data[1024] __attribute__((aligned(16)));
static volatile unsigned char status_byte;
static uintptr_t dev;
static uint16_t avail_idx, used_seen;

static void fence(void) { __asm__ volatile("fence rw, rw" ::: "memory"); }

static void setup(uint64_t features)
{
    R(STATUS) = 0;
    R(STATUS) = 1 | 2;
    R(DRV_FEAT_SEL) = 0;
    R(DRV_FEAT) = (u32)features;
    R(DRV_FEAT_SEL) = 1;
    R(DRV_FEAT) = (u32)(features >> 32);
    R(STATUS) = 1 | 2 | 8;
    CHECK(R(STATUS) & 8, "FEATURES_OK refused for 0x%lx", (unsigned long)features);
    R(QUEUE_SEL) = 0;
    CHECK(R(QUEUE_READY) == 0, "queue ready before set-up");
    CHECK(R(QUEUE_NUM_MAX) >= QN, "queue max %u", R(QUEUE_NUM_MAX));
    R(QUEUE_NUM) = QN;
    R(DESC_LO) = (u32)(uintptr_t)ring_desc;
    R(DESC_HI) = 0;
    R(DRIVER_LO) = (u32)(uintptr_t)&avail;
    R(DRIVER_HI) = 0;
    R(DEVICE_LO) = (u32)(uintptr_t)&used;
    R(DEVICE_HI) = 0;
    memset(&avail, 0, sizeof(avail));
    memset(&used, 0, sizeof(used));
    avail_idx = used_seen = 0;
    fence();
    R(QUEUE_READY) = 1;
    R(STATUS) = 1 | 2 | 8 | 4;
}

/* Post the chain starting at descriptor 0 and wait for it (or not). */
static int submit(void)
{
    avail.ring[avail_idx % QN] = 0;
    fence();
    avail.idx = ++avail_idx;
    fence();
    R(QUEUE_NOTIFY) = 0;
    for (u64 t = mtime(); mtime() - t < 10000000;) {    /* 1 s */
        fence();
        if (used.idx != used_seen) {
            used_seen++;
            R(INT_ACK) = R(INT_STATUS);
            return 1;
        }
        if (R(STATUS) & 64)
            return 0;
    }
    return 0;
}

/* A well-formed request: header, data (len bytes, device-writable if
 * in), status.  Returns the status byte, or -1 if it never completed. */
static int request(u32 type, u64 sector, unsigned len, int in)
{
    hdr.type = type;
    hdr.sector = sector;
    status_byte = 0xff;
    ring_desc[0] = (struct desc){ (uintptr_t)&hdr, 16, F_NEXT, 1 };
    if (len) {
        ring_desc[1] = (struct desc){ (uintptr_t)data, len, F_NEXT | (in ? F_WRITE : 0), 2 };
        ring_desc[2] = (struct desc){ (uintptr_t)&status_byte, 1, F_WRITE, 0 };
    } else {
        ring_desc[1] = (struct desc){ (uintptr_t)&status_byte, 1, F_WRITE, 0 };
    }
    if (!submit())
        return -1;
    return status_byte;
}

/* A lie: the chain in ring_desc is prepared by the caller. */
static void lie(const char *what)
{
    status_byte = 0xff;
    int done = submit();
    int nr = (R(STATUS) & 64) != 0;
    printf("%s: completed=%d needs_reset=%d\n", what, done, nr);
    CHECK(!done && nr, "%s: the device did not refuse it", what);
    setup((1UL << 32) | (1UL << 28));
    CHECK(request(0, 0, 512, 1) == 0, "%s: no read after the reset", what);
}

int main(void)
{
    for (int i = SLOTS - 1; i >= 0 && !dev; i--) {
        uintptr_t d = VIRTIO_BASE + 0x1000UL * (uintptr_t)i;
        if (MMIO32(d + MAGIC) == 0x74726976 && MMIO32(d + DEVICE_ID) == 2)
            dev = d;
    }
    CHECK(dev, "no virtio-blk device");
    if (!dev)
        return failures();
    CHECK(R(VERSION) == 2, "version %u", R(VERSION));
    R(DEV_FEAT_SEL) = 1;
    CHECK(R(DEV_FEAT) & 1, "no VIRTIO_F_VERSION_1");
    u64 cap = MMIO32(dev + CONFIG) | (u64)MMIO32(dev + CONFIG + 4) << 32;
    printf("capacity %lu sectors\n", (unsigned long)cap);

    setup((1UL << 32) | (1UL << 28));
    int s = request(0, 0, 512, 1);
    printf("read: status %d, \"%c%c%c%c%c%c%c%c\"\n", s, data[0], data[1], data[2], data[3],
           data[4], data[5], data[6], data[7]);
    CHECK(s == 0 && data[0] == 'E' && data[4] == 'D', "read of sector 0");
    CHECK(used.ring[0].len == 513, "used length %u, want 513", used.ring[0].len);
    memset(data, 0xaa, 512);
    printf("write: status %d\n", request(1, 1, 512, 0));
    CHECK(request(0, 1, 512, 1) == 0 && data[0] == 0xaa && data[511] == 0xaa, "write then read");
    printf("flush: status %d\n", request(4, 0, 0, 0));
    memset(data, 0, 32);
    printf("get-id: status %d, \"%s\"\n", request(8, 0, 20, 1), (char *)data);
    printf("read past the end: status %d\n", request(0, cap, 512, 1));
    printf("read crossing the end: status %d\n", request(0, cap - 1, 1024, 1));
    printf("odd length read: status %d\n", request(0, 0, 100, 1));
    printf("unknown type: status %d\n", request(99, 0, 0, 0));
    /* write-zeroes of sector 1: the range is {sector, count, flags} */
    static struct { u64 sector; u32 n, flags; } range = { 1, 1, 0 };
    hdr.type = 13;
    ring_desc[0] = (struct desc){ (uintptr_t)&hdr, 16, F_NEXT, 1 };
    ring_desc[1] = (struct desc){ (uintptr_t)&range, 16, F_NEXT, 2 };
    ring_desc[2] = (struct desc){ (uintptr_t)&status_byte, 1, F_WRITE, 0 };
    status_byte = 0xff;
    submit();
    printf("write-zeroes: status %d\n", status_byte);
    CHECK(request(0, 1, 512, 1) == 0 && data[0] == 0 && data[511] == 0, "zeroes read back");
    /* indirect: the same read through a table */
    indirect[0] = (struct desc){ (uintptr_t)&hdr, 16, F_NEXT, 1 };
    indirect[1] = (struct desc){ (uintptr_t)data, 512, F_NEXT | F_WRITE, 2 };
    indirect[2] = (struct desc){ (uintptr_t)&status_byte, 1, F_WRITE, 0 };
    hdr.type = 0;
    hdr.sector = 0;
    ring_desc[0] = (struct desc){ (uintptr_t)indirect, 3 * 16, F_INDIRECT, 0 };
    status_byte = 0xff;
    CHECK(submit() && status_byte == 0 && data[0] == 'E', "indirect read");

    /* ---- lies ---- */
    ring_desc[0] = (struct desc){ (uintptr_t)&hdr, 16, F_NEXT, 1 };
    ring_desc[1] = (struct desc){ (uintptr_t)data, 512, F_NEXT | F_WRITE, 0 };
    lie("chain that loops");

    ring_desc[0] = (struct desc){ (uintptr_t)&hdr, 16, F_NEXT, 1 };
    ring_desc[1] = (struct desc){ 0x4000000000UL, 512, F_NEXT | F_WRITE, 2 };
    ring_desc[2] = (struct desc){ (uintptr_t)&status_byte, 1, F_WRITE, 0 };
    lie("buffer outside RAM");

    ring_desc[1] = (struct desc){ 0xfffffffffffff000UL, 0x2000, F_NEXT | F_WRITE, 2 };
    lie("buffer wrapping around");

    ring_desc[1] = (struct desc){ 0x87fff000UL, 0x100000, F_NEXT | F_WRITE, 2 };
    lie("buffer running past the end of RAM");

    ring_desc[0] = (struct desc){ (uintptr_t)&hdr, 16, F_NEXT, 9 };
    lie("next index out of range");

    ring_desc[0] = (struct desc){ (uintptr_t)indirect, 20, F_INDIRECT, 0 };
    lie("indirect table of 20 bytes");

    indirect[0] = (struct desc){ (uintptr_t)indirect, 32, F_INDIRECT, 0 };
    ring_desc[0] = (struct desc){ (uintptr_t)indirect, 32, F_INDIRECT, 0 };
    lie("nested indirect table");

    /* the available index runs 100 entries ahead */
    request(0, 0, 512, 1);
    avail_idx += 99;
    lie("available index ahead");

    /* a driver without VERSION_1 (legacy) is refused: we have no legacy
     * interface (6.1 lets a device refuse; qemu's accepts) */
    R(STATUS) = 0;
    R(STATUS) = 3;
    R(DRV_FEAT_SEL) = 1;
    R(DRV_FEAT) = 0;
    R(STATUS) = 3 | 8;
    printf("driver without VERSION_1: features_ok=%d\n", (R(STATUS) & 8) != 0);
    CHECK(!(R(STATUS) & 8), "FEATURES_OK without VERSION_1");

    /* rings outside RAM */
    R(STATUS) = 0;
    R(STATUS) = 3;
    R(DRV_FEAT_SEL) = 1;
    R(DRV_FEAT) = 1;
    R(STATUS) = 3 | 8;
    R(QUEUE_SEL) = 0;
    R(QUEUE_NUM) = QN;
    R(DESC_LO) = 0;
    R(DESC_HI) = 0x100;
    R(QUEUE_READY) = 1;
    printf("rings outside RAM: ready=%u needs_reset=%d\n", R(QUEUE_READY),
           (R(STATUS) & 64) != 0);
    CHECK(!R(QUEUE_READY), "a queue outside RAM became ready");
    setup((1UL << 32) | (1UL << 28));

    /* a used index the driver scribbled over does not matter */
    used.idx = 1234;
    fence();
    hdr.type = 0;
    ring_desc[0] = (struct desc){ (uintptr_t)&hdr, 16, F_NEXT, 1 };
    ring_desc[1] = (struct desc){ (uintptr_t)data, 512, F_NEXT | F_WRITE, 2 };
    ring_desc[2] = (struct desc){ (uintptr_t)&status_byte, 1, F_WRITE, 0 };
    avail.ring[0] = 0;
    fence();
    avail.idx = ++avail_idx;
    fence();
    R(QUEUE_NOTIFY) = 0;
    for (u64 t = mtime(); mtime() - t < 10000000 && used.idx == 1234;)
        fence();
    printf("scribbled used index: now %u\n", used.idx);
    CHECK(used.idx == 1, "used index %u after one request, want 1", used.idx);
    return failures();
}
