/* anon.h - emu-img anonymize: format walkers find the metadata of an
 * image, the core (anon.c) writes a copy that keeps only that metadata.
 *
 * A walker (struct block_driver.anonymize) reads the raw bytes of the
 * source file with anon_read() - never through the driver's open path, so
 * nothing is validated, replayed or repaired - and reports byte ranges:
 *   anon_keep()     metadata: copied byte for byte;
 *   anon_replace()  bytes to write instead of the source's: compressed
 *                   zeros in place of a compressed cluster or grain
 *                   (ANON_PRIO_DATA), scrubbed names and checksums that
 *                   cover them (ANON_PRIO_META).
 * Everything no range covers is user data and becomes a hole.  Ranges may
 * overlap (a corrupt image points two tables at one cluster); where they
 * do, ANON_PRIO_META beats keeping, which beats ANON_PRIO_DATA, so a
 * metadata byte is never replaced by a compressed stream.  Ranges are
 * clipped to the file; a walker may report ranges past the end.
 *
 * Walkers treat every number from the file as hostile: tables are bounded,
 * pointers past the end of the file are tolerated (read as zeros), loops
 * are broken by visiting each table once.  Running out of memory is sticky
 * (anon_failed()); a walker may simply stop early then. */
#ifndef EMU_BLOCK_ANON_H
#define EMU_BLOCK_ANON_H

#include "block.h"

enum anon_prio {
    ANON_PRIO_DATA = 1,   /* replacement of user data (compressed zeros) */
    ANON_PRIO_KEEP = 2,   /* metadata copied from the source */
    ANON_PRIO_META = 3,   /* rewritten metadata (scrubbed names, checksums) */
};

struct anon_range {
    uint64_t off, len;
    const uint8_t *data;      /* NULL: copy from the source */
    uint32_t prio, seq;
};

struct anon_blob;
struct anon;

/* A walker: find the metadata of the file in A.  Returns 0 or -errno with
 * ERRP set (only when not even a header can be found). */
typedef int anon_walk_fn(struct anon *a, struct error **errp);

/* A further file of the image (a VMDK extent named by a descriptor). */
struct anon_file {
    char *src;                /* path of the source file */
    char *src_name;           /* its name as the image records it */
    char *dst_name;           /* name for the copy, relative to DST's folder */
    anon_walk_fn *walk;       /* NULL: the whole file is user data */
};

struct anon {
    const char *filename;     /* the source, for messages */
    int fd;
    uint64_t size;            /* length of the source file */
    bool scrub_names;
    int err;                  /* sticky -errno (out of memory) */
    struct anon_range *r;
    size_t n, cap;
    uint32_t seq;
    struct anon_blob *blobs;
    struct anon_file *files;
    int nfiles;
    uint64_t bytes_read;      /* metadata bytes the walker read */
    unsigned warn_unfit;      /* compressed units whose zero stream did not fit */
};

/* Read LEN bytes at OFF; bytes past the end of the file read as zeros.
 * Returns 0 or -errno. */
int anon_read(struct anon *a, uint64_t off, uint64_t len, void *buf);
/* Keep [OFF, OFF+LEN) of the source. */
void anon_keep(struct anon *a, uint64_t off, uint64_t len);
/* Write a copy of BUF at OFF instead of the source's bytes. */
void anon_replace(struct anon *a, uint64_t off, uint64_t len, const void *buf,
                  enum anon_prio prio);
/* Same, with BUF owned by A (from anon_alloc()); for a buffer used often. */
void anon_replace_ref(struct anon *a, uint64_t off, uint64_t len, const uint8_t *buf,
                      enum anon_prio prio);
/* Memory freed with A; NULL (and A failed) when out of memory. */
uint8_t *anon_alloc(struct anon *a, size_t len);
/* Record a further file of the image, named by the image relative to it
 * (SRC_NAME) and to be written as DST_NAME next to the copy.  Names that
 * leave the image's folder make the run fail before anything is written. */
void anon_add_file(struct anon *a, const char *src_name, const char *dst_name,
                   anon_walk_fn *walk);
static inline bool anon_failed(const struct anon *a)
{
    return a->err != 0;
}

/* Name scrubbing: same length, neutral text.  Letters, digits and bytes
 * >= 0x80 become 'x'; separators and a short file extension stay, so a
 * path keeps its shape ("/home/ann/db.qcow2" -> "/xxxx/xxx/xx.qcow2").
 * Works on UTF-8 and, byte by byte, on UTF-16 (zero bytes stay). */
void anon_scrub(uint8_t *p, size_t len);
/* Replace [OFF, OFF+LEN) with its scrubbed text (ANON_PRIO_META). */
void anon_scrub_range(struct anon *a, uint64_t off, uint64_t len);

/* Sorted, non-overlapping pieces that make up the output. */
struct anon_seg {
    uint64_t off, len;
    const uint8_t *data;      /* NULL: the source's bytes */
};

/* Resolve A's ranges into *OUT (caller frees): sorted, non-overlapping,
 * adjacent copies merged.  Returns 0 or -ENOMEM. */
int anon_resolve(struct anon *a, struct anon_seg **out, size_t *nout);
/* Free what A holds (ranges, blobs, files); A's fd is the caller's. */
void anon_free(struct anon *a);

/* Options and results of one run. */
struct anon_opts {
    const char *fmt;          /* NULL: probe */
    bool scrub_names;
    bool in_place;
    bool keep_allocation;     /* zeros, not holes, where SRC has data blocks */
    void (*progress)(void *opaque, double pct);
    void *opaque;
};
struct anon_stats {
    const char *fmt;          /* the format walked (probed or given) */
    uint64_t file_size;       /* source length */
    uint64_t meta_bytes;      /* bytes kept or replaced */
    uint64_t meta_ranges;
    uint64_t bytes_read;
    unsigned warn_unfit;
    int files;                /* further files written */
};

/* Anonymize SRC into DST (or SRC itself when in_place; DST NULL). */
int blk_anonymize(const char *src, const char *dst, const struct anon_opts *o,
                  struct anon_stats *st, struct error **errp);

/* Walkers of the formats. */
int qcow2_anonymize(struct anon *a, struct error **errp);
int vmdk_anonymize(struct anon *a, struct error **errp);
int vhdx_anonymize(struct anon *a, struct error **errp);
int vdi_anonymize(struct anon *a, struct error **errp);
int vpc_anonymize(struct anon *a, struct error **errp);

#endif
