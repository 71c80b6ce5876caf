/* fuzz-anon.c - fuzz target for emu-img anonymize's metadata walkers.
 *
 * LLVMFuzzerTestOneInput() writes the input to a file in a private
 * folder and anonymizes it with the walker of every format (whatever the
 * input is), into a copy and then in place, with and without
 * --scrub-names.  Nothing may crash or leak, the copy must have the
 * input's length, and no file outside the folder may be touched (extent
 * names come from the input).
 *
 * In `make check` it is linked with fuzz-replay.c (seed corpora of all
 * formats plus deterministic mutations); tests/fuzz/build-libfuzzer.sh
 * builds it for libFuzzer. */
#include <config.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "block/anon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[64], fuzz_src[96], fuzz_dst[96];

static void fuzz_clean(void)
{
    DIR *d = opendir(fuzz_dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char p[512];
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", fuzz_dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
}

static void fuzz_cleanup_at_exit(void)
{
    fuzz_clean();
    rmdir(fuzz_dir);
}

static int fuzz_write(const char *path, const uint8_t *data, size_t size)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    ssize_t w = size ? write(fd, data, size) : 0;
    close(fd);
    return w == (ssize_t)size ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const fmts[] = { "qcow2", "vmdk", "vhdx", "vdi", "vpc", "raw" };
    if (!fuzz_dir[0]) {
        /* tmpfs if there is one: --in-place syncs the file */
        struct stat shm;
        const char *base = stat("/dev/shm", &shm) == 0 && S_ISDIR(shm.st_mode) &&
                           access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/emu-fuzz-anon-%d", base, (int)getpid());
        if (mkdir(fuzz_dir, 0700) < 0)
            return 0;
        atexit(fuzz_cleanup_at_exit);
        snprintf(fuzz_src, sizeof(fuzz_src), "%s/src.img", fuzz_dir);
        snprintf(fuzz_dst, sizeof(fuzz_dst), "%s/dst.img", fuzz_dir);
    }
    for (size_t f = 0; f < ARRAY_SIZE(fmts); f++) {
        for (int mode = 0; mode < 3; mode++) {
            fuzz_clean();
            if (fuzz_write(fuzz_src, data, size) < 0)
                return 0;
            struct anon_opts o = { .fmt = fmts[f], .scrub_names = mode == 1,
                                   .in_place = mode == 2 };
            struct anon_stats st;
            struct error *err = NULL;
            int r = blk_anonymize(fuzz_src, mode == 2 ? NULL : fuzz_dst, &o, &st, &err);
            err_free(err);
            struct stat sb;
            const char *out = mode == 2 ? fuzz_src : fuzz_dst;
            if (r >= 0 && (stat(out, &sb) < 0 || (size_t)sb.st_size != size))
                abort();   /* the copy must have the input's length */
        }
    }
    return 0;
}
