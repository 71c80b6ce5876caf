/* drive.h - block back ends for the machine's disks: -drive and -blockdev.
 *
 * A drive is an open image (the block layer's struct blk, any format
 * emu-img handles, with its backing chain) plus what the user asked of
 * it: read-only, the cache mode, discard, a temporary overlay
 * (snapshot=on).  Devices (virtio-blk) find drives by id and take them;
 * each drive serves one device.
 *
 *   -drive file=F[,format=FMT][,if=virtio|none][,id=ID][,cache=MODE]
 *          [,discard=ignore|unmap][,readonly=on][,snapshot=on][,serial=S]
 *   -blockdev driver=FMT,node-name=N,file.driver=file,file.filename=F[,read-only=on]
 *   -blockdev driver=file,node-name=P,filename=F  then  driver=FMT,node-name=N,file=P
 *
 * Cache modes, as qemu's: writeback (default: the guest sees a volatile
 * write cache and flushes it), writethrough (every write is flushed
 * before it completes), none (O_DIRECT, write cache on), directsync
 * (O_DIRECT and write-through), unsafe (flushes do not sync).
 */
#ifndef EMU_HW_DRIVE_H
#define EMU_HW_DRIVE_H

#include "common.h"
#include "error.h"

struct blk;
struct kv;

/* What the guest's device did with a drive (query-blockstats, info
 * blockstats): the device model adds to it from any thread, with atomic
 * adds; readers may see one counter ahead of another. */
enum drive_acct { DRIVE_RD, DRIVE_WR, DRIVE_FLUSH, DRIVE_UNMAP, DRIVE_ACCT_N };
struct drive_stats {
    uint64_t bytes[DRIVE_ACCT_N];
    uint64_t ops[DRIVE_ACCT_N];
    uint64_t failed[DRIVE_ACCT_N];
    uint64_t invalid[DRIVE_ACCT_N];
    uint64_t total_ns[DRIVE_ACCT_N];
    uint64_t wr_highest_offset;
    uint64_t last_done_ns;      /* loop_now_ns() of the last completion (0: none) */
};

struct drive {
    char *id;                   /* -drive id= or -blockdev node-name= */
    char *filename;
    struct blk *bs;             /* open after drives_open() */
    bool readonly;
    bool writeback;             /* the guest may keep writes in a volatile cache */
    bool discard;               /* discard=unmap: guest discards reach the image */
    bool snapshot;              /* writes go to a temporary overlay */
    char *serial;               /* -drive serial= (the device may override it) */
    bool taken;                 /* a device uses it */
    struct drive_stats stats;
    /* how to open it */
    char *format;               /* NULL: probe */
    int flags;                  /* BLK_O_* */
    bool is_protocol;           /* -blockdev driver=file: only a reference target */
};

#define DRIVE_MAX 32

struct drive_set {
    struct drive *d[DRIVE_MAX];
    int n;
    bool snapshot_all;          /* -snapshot */
};

/* -drive SPEC.  For if=virtio (the default on this board, as qemu's riscv
 * virt) *device gets the -device line that puts it on a virtio-blk
 * ("virtio-blk-device,drive=ID", to free); NULL for if=none. */
int drive_add(struct drive_set *s, const char *spec, char **device, struct error **errp);
/* -blockdev SPEC (key=value, or JSON when it starts with '{'). */
int blockdev_add(struct drive_set *s, const char *spec, struct error **errp);
/* Open every drive's image (after all options are in). */
int drives_open(struct drive_set *s, struct error **errp);
/* The drive named ID, or NULL. */
struct drive *drive_find(struct drive_set *s, const char *id);
/* Drives no device took: a warning each, as qemu gives. */
void drives_warn_unused(const struct drive_set *s);
void drives_free(struct drive_set *s);
/* Account one request of KIND (any thread): LEN bytes at OFF, taking
 * NS nanoseconds; RET < 0 counts it failed, DRIVE_INVALID invalid (the
 * device refused it before it reached the image). */
#define DRIVE_INVALID (-100000)
void drive_account(struct drive *d, enum drive_acct kind, uint64_t off, uint64_t len,
                   uint64_t ns, int ret);

#endif
