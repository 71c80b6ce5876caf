/* fuzz-image.c - fuzz target for the open + read path of every format.
 *
 * LLVMFuzzerTestOneInput() writes the input to a temporary file and
 * opens it read-only as FUZZ_FORMAT (qcow2 or raw, chosen at build time),
 * then reads data, walks block status, runs a read-only check and lists
 * snapshots.  Nothing may crash, leak or write to the file.
 *
 * With clang:  clang -fsanitize=fuzzer,address -DFUZZ_FORMAT='"qcow2"' ...
 * (see tests/fuzz/build-libfuzzer.sh).  In `make check` the same target is
 * linked with fuzz-replay.c, which replays the seed corpus and
 * deterministic mutations of it. */
#include <config.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "block/block.h"

#ifndef FUZZ_FORMAT
#define FUZZ_FORMAT "qcow2"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_path[64];

static void fuzz_exercise(struct blk *bs)
{
    static uint8_t buf[1 << 16];
    /* Data: the first 4 MiB and a few probes further out. */
    uint64_t lim = MIN(bs->size, (uint64_t)4 << 20);
    for (uint64_t off = 0; off < lim; off += sizeof(buf))
        blk_pread(bs, off, MIN((uint64_t)sizeof(buf), lim - off), buf);
    for (int i = 1; i <= 8 && bs->size; i++) {
        uint64_t off = bs->size / 9 * (uint64_t)i;
        blk_pread(bs, off, MIN((uint64_t)4096, bs->size - off), buf);
    }
    uint64_t off = 0;
    for (int i = 0; i < 256 && off < bs->size; i++) {
        uint64_t pnum, map;
        int depth;
        if (blk_block_status_above(bs, off, bs->size - off, &pnum, &map, NULL, &depth) < 0)
            break;
        off += pnum;
    }
    if (bs->drv->check) {
        struct blk_check res;
        memset(&res, 0, sizeof(res));
        bs->drv->check(bs, &res, 0, NULL);
    }
    if (bs->drv->snapshot_list) {
        struct blk_snapshot *sn = NULL;
        int n = bs->drv->snapshot_list(bs, &sn);
        if (n > 0)
            blk_snapshots_free(sn, n);
    }
    struct blk_info info;
    memset(&info, 0, sizeof(info));
    if (bs->drv->get_info)
        bs->drv->get_info(bs, &info);
    blk_info_clear(&info);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fuzz_path[0])
        snprintf(fuzz_path, sizeof(fuzz_path), "/tmp/emu-fuzz-%d.img", (int)getpid());
    int fd = open(fuzz_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    close(fd);
    struct blk *bs = NULL;
    struct error *err = NULL;
    /* No backing files: a fuzzed name must not reach other files. */
    if (blk_open(&bs, fuzz_path, FUZZ_FORMAT, BLK_O_NO_BACKING, &err) == 0) {
        fuzz_exercise(bs);
        blk_close(bs);
    }
    err_free(err);
    unlink(fuzz_path);
    return 0;
}
