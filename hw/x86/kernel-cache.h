/* kernel-cache.h - bzImages decompressed once per kernel (kernel-cache.c). */
#ifndef EMU_HW_X86_KERNEL_CACHE_H
#define EMU_HW_X86_KERNEL_CACHE_H

#include <pthread.h>
#include "common.h"
#include "error.h"

/* A bzImage's vmlinux, read-only: a mapping of its cache entry, or the
 * memory x86_bzimage_unpack made (then being written to the cache in the
 * background). */
struct x86_kernel_image {
    const uint8_t *data;
    size_t len;
    bool storing;               /* the writer thread below runs */
    pthread_t writer;
    char *dir, *path;           /* of the entry being written */
};

/* x86_bzimage_unpack's result for img, from the user's cache when it has
 * this bzImage, else made (and put there as the guest boots).  Errors as
 * x86_bzimage_unpack's; the cache's own troubles are never errors. */
int x86_kernel_unpacked(const uint8_t *img, size_t len, const char *name,
                        struct x86_kernel_image *out, struct error **errp);
/* Wait for the cache write, if any, and unmap. */
void x86_kernel_release(struct x86_kernel_image *k);

#endif
