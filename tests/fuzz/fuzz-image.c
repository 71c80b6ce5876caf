/* fuzz-image.c - fuzz target for the open + read path of every format.
 *
 * LLVMFuzzerTestOneInput() writes the input to a temporary file and
 * opens it read-only as FUZZ_FORMAT (qcow2 or raw, chosen at build time),
 * then reads data, walks block status, runs a read-only check and lists
 * snapshots.  Nothing may crash, leak or write to the file.
 *
 * Then it opens the image for writing, as a user repairing or reusing a
 * damaged image would: a few writes, zero writes and discards (placed
 * by the input's own bytes), a flush and a close.  Writes may fail on a
 * corrupt image, but nothing may crash; and if the format's check found
 * the image sound and every write and the flush succeeded, the data must
 * read back after a reopen.
 *
 * With clang:  clang -fsanitize=fuzzer,address -DFUZZ_FORMAT='"qcow2"' ...
 * (see tests/fuzz/build-libfuzzer.sh).  In `make check` the same target is
 * linked with fuzz-replay.c, which replays the seed corpus and
 * deterministic mutations of it. */
#include <config.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "block/block.h"

#ifndef FUZZ_FORMAT
#define FUZZ_FORMAT "qcow2"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_path[64];

/* Returns whether the format's check found the image sound (or the format
 * has none). */
static bool fuzz_exercise(struct blk *bs)
{
    bool sound = true;
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
        sound = bs->drv->check(bs, &res, 0, NULL) >= 0 && !res.corruptions &&
                !res.check_errors;
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
    return sound;
}

#define FUZZ_WRITES 4
#define FUZZ_WLEN 8192

/* Offsets the writes go to: the start, the last FUZZ_WLEN bytes, and two
 * picked by the input's last bytes. */
static uint64_t fuzz_pick(const uint8_t *data, size_t size, uint64_t dsize, int i)
{
    uint64_t v = 0;
    for (size_t k = 0; k < 8 && k + 8 * (size_t)i < size; k++)
        v = v << 8 | data[size - 1 - k - 8 * (size_t)i];
    uint64_t off = i == 0 ? 0 : i == 1 ? (dsize > FUZZ_WLEN ? dsize - FUZZ_WLEN : 0)
                                      : dsize ? v % dsize : 0;
    return off & ~(uint64_t)511;
}

/* Keep the input that failed (fuzz-replay has no crash files) and stop. */
static void fuzz_fail(const uint8_t *data, size_t size)
{
    char keep[80];
    snprintf(keep, sizeof(keep), "%s.fail", fuzz_path);
    FILE *fp = fopen(keep, "wb");
    if (fp) {
        fwrite(data, 1, size, fp);
        fclose(fp);
        fprintf(stderr, "fuzz-image: the input is in %s\n", keep);
    }
    abort();
}

static void fuzz_write(const uint8_t *data, size_t size, bool sound)
{
    struct blk *bs = NULL;
    struct error *err = NULL;
    if (blk_open(&bs, fuzz_path, FUZZ_FORMAT, BLK_O_RDWR | BLK_O_NO_BACKING, &err) < 0) {
        err_free(err);
        return;
    }
    static uint8_t pat[FUZZ_WRITES][FUZZ_WLEN], back[FUZZ_WLEN];
    uint64_t off[FUZZ_WRITES], len[FUZZ_WRITES];
    bool ok = true;
    for (int i = 0; i < FUZZ_WRITES; i++) {
        off[i] = fuzz_pick(data, size, bs->size, i);
        len[i] = off[i] >= bs->size ? 0 : MIN((uint64_t)FUZZ_WLEN, bs->size - off[i]);
        memset(pat[i], 0xa0 + i, sizeof(pat[i]));
        /* the areas may overlap: only the last write to a byte counts,
         * so later checks use distinct areas or are skipped */
        for (int j = 0; j < i; j++)
            if (off[i] < off[j] + len[j] && off[j] < off[i] + len[i])
                len[i] = 0;
        if (len[i] && blk_pwrite(bs, off[i], len[i], pat[i]) < 0)
            ok = false;
    }
    /* zero and discard requests around the written areas */
    if (bs->size > 3 * FUZZ_WLEN) {
        uint64_t z = fuzz_pick(data, size, bs->size - 2 * FUZZ_WLEN, 3) + FUZZ_WLEN;
        bool hit = false;
        for (int i = 0; i < FUZZ_WRITES; i++)
            hit |= len[i] && z < off[i] + len[i] + FUZZ_WLEN && off[i] < z + 2 * FUZZ_WLEN;
        if (!hit) {
            blk_pwrite_zeroes(bs, z, FUZZ_WLEN, 0);
            blk_pdiscard(bs, z + FUZZ_WLEN, FUZZ_WLEN);
        }
    }
    if (blk_flush(bs) < 0)
        ok = false;
    blk_close(bs);
    /* Only an image its check finds sound must read back: with refcounts
     * that call a used cluster free (which check reports), new clusters
     * overlap old data in qemu too. */
    if (!ok || !sound)
        return;
    if (blk_open(&bs, fuzz_path, FUZZ_FORMAT, BLK_O_NO_BACKING, &err) < 0) {
        fprintf(stderr, "fuzz-image: reopen after a successful write failed: %s\n",
                err_msg(err));
        fuzz_fail(data, size);
    }
    for (int i = 0; i < FUZZ_WRITES; i++) {
        if (!len[i])
            continue;
        if (blk_pread(bs, off[i], len[i], back) < 0 || memcmp(back, pat[i], len[i]) != 0) {
            fprintf(stderr, "fuzz-image: %llu bytes written at %llu do not read back\n",
                    (unsigned long long)len[i], (unsigned long long)off[i]);
            fuzz_fail(data, size);
        }
    }
    blk_close(bs);
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
        bool sound = fuzz_exercise(bs);
        blk_close(bs);
        fuzz_write(data, size, sound);
    }
    err_free(err);
    unlink(fuzz_path);
    return 0;
}
