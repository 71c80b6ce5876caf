/* anon.c - the core of emu-img anonymize: the range list the format
 * walkers fill, its resolution into non-overlapping pieces, and the
 * writers (a sparse copy, or punching holes into the source in place).
 * See anon.h for the contract with the walkers. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "i18n.h"
#include "anon.h"

#define ANON_CHUNK (1u << 20)
#define ANON_BLOCK 4096u

struct anon_blob {
    struct anon_blob *next;
    uint8_t data[];
};

int anon_read(struct anon *a, uint64_t off, uint64_t len, void *buf)
{
    uint8_t *p = buf;
    memset(p, 0, len);
    if (off >= a->size)
        return 0;
    uint64_t n = MIN(len, a->size - off);
    while (n) {
        ssize_t r = pread(a->fd, p, MIN(n, (uint64_t)(1u << 30)), (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            break;   /* the file shrank: the rest reads as zeros */
        a->bytes_read += (uint64_t)r;
        p += r;
        off += (uint64_t)r;
        n -= (uint64_t)r;
    }
    return 0;
}

static void anon_add(struct anon *a, uint64_t off, uint64_t len, const uint8_t *data,
                     enum anon_prio prio)
{
    if (a->err || off >= a->size || len == 0)
        return;
    len = MIN(len, a->size - off);
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        struct anon_range *r = realloc(a->r, cap * sizeof(*r));
        if (!r) {
            a->err = -ENOMEM;
            return;
        }
        a->r = r;
        a->cap = cap;
    }
    a->r[a->n++] = (struct anon_range){ off, len, data, prio, a->seq++ };
}

void anon_keep(struct anon *a, uint64_t off, uint64_t len)
{
    anon_add(a, off, len, NULL, ANON_PRIO_KEEP);
}

uint8_t *anon_alloc(struct anon *a, size_t len)
{
    if (a->err)
        return NULL;
    struct anon_blob *b = malloc(sizeof(*b) + len + 1);
    if (!b) {
        a->err = -ENOMEM;
        return NULL;
    }
    b->next = a->blobs;
    a->blobs = b;
    return b->data;
}

void anon_replace_ref(struct anon *a, uint64_t off, uint64_t len, const uint8_t *buf,
                      enum anon_prio prio)
{
    anon_add(a, off, len, buf, prio);
}

void anon_replace(struct anon *a, uint64_t off, uint64_t len, const void *buf,
                  enum anon_prio prio)
{
    if (off >= a->size || len == 0)
        return;
    len = MIN(len, a->size - off);
    uint8_t *copy = anon_alloc(a, len);
    if (!copy)
        return;
    memcpy(copy, buf, len);
    anon_add(a, off, len, copy, prio);
}

void anon_add_file(struct anon *a, const char *src_name, const char *dst_name,
                   anon_walk_fn *walk)
{
    if (a->err)
        return;
    struct anon_file *f = realloc(a->files, (a->nfiles + 1) * sizeof(*f));
    if (!f) {
        a->err = -ENOMEM;
        return;
    }
    a->files = f;
    f += a->nfiles;
    f->src = blk_path_combine(a->filename, src_name);
    f->src_name = strdup(src_name);
    f->dst_name = strdup(dst_name);
    f->walk = walk;
    if (!f->src || !f->src_name || !f->dst_name) {
        free(f->src);
        free(f->src_name);
        free(f->dst_name);
        a->err = -ENOMEM;
        return;
    }
    a->nfiles++;
}

static bool anon_is_word(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c >= 0x80;
}

void anon_scrub(uint8_t *p, size_t len)
{
    /* a short extension after the last '.' stays: it says the format */
    size_t keep_from = len, end = len;
    while (end && p[end - 1] == 0)
        end--;
    for (size_t i = end; i-- > 0;) {
        if (p[i] == '.') {
            if (end - i - 1 >= 1 && end - i - 1 <= 6)
                keep_from = i;
            break;
        }
        if (!anon_is_word(p[i]) || p[i] >= 0x80)
            break;
    }
    for (size_t i = 0; i < keep_from; i++)
        if (anon_is_word(p[i]))
            p[i] = 'x';
}

void anon_scrub_range(struct anon *a, uint64_t off, uint64_t len)
{
    if (off >= a->size || len == 0)
        return;
    len = MIN(len, a->size - off);
    uint8_t *buf = anon_alloc(a, len);
    if (!buf || anon_read(a, off, len, buf) < 0)
        return;
    anon_scrub(buf, len);
    anon_add(a, off, len, buf, ANON_PRIO_META);
}

static int anon_cmp_off(const void *x, const void *y)
{
    const struct anon_range *a = x, *b = y;
    if (a->off != b->off)
        return a->off < b->off ? -1 : 1;
    /* identical ranges side by side, so that they can be merged */
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    if (a->prio != b->prio)
        return a->prio < b->prio ? -1 : 1;
    if (a->data != b->data)
        return (uintptr_t)a->data < (uintptr_t)b->data ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int anon_cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* Resolve the ranges into sorted, non-overlapping pieces: at every byte
 * the covering range of the highest priority (the latest among equals)
 * decides.  A sweep over the range boundaries with the set of ranges
 * covering the current piece; that set is small except in images built
 * to make it large, which only cost time. */
int anon_resolve(struct anon *a, struct anon_seg **out, size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (a->n == 0)
        return 0;
    qsort(a->r, a->n, sizeof(*a->r), anon_cmp_off);
    /* identical ranges (a table or grain named from two places) count once,
     * the latest of them deciding ties */
    size_t w = 0;
    for (size_t i = 0; i < a->n; i++) {
        if (w && a->r[i].data == a->r[w - 1].data && a->r[i].off == a->r[w - 1].off &&
            a->r[i].len == a->r[w - 1].len && a->r[i].prio == a->r[w - 1].prio) {
            a->r[w - 1].seq = a->r[i].seq;
            continue;
        }
        a->r[w++] = a->r[i];
    }
    a->n = w;
    uint64_t *pts = malloc(2 * a->n * sizeof(*pts));
    size_t *act = malloc(a->n * sizeof(*act));
    struct anon_seg *seg = malloc((2 * a->n + 1) * sizeof(*seg));
    if (!pts || !act || !seg) {
        free(pts);
        free(act);
        free(seg);
        return -ENOMEM;
    }
    size_t np = 0;
    for (size_t i = 0; i < a->n; i++) {
        pts[np++] = a->r[i].off;
        pts[np++] = a->r[i].off + a->r[i].len;
    }
    qsort(pts, np, sizeof(*pts), anon_cmp_u64);
    size_t nact = 0, next = 0, ns = 0, best_prev = SIZE_MAX;
    for (size_t k = 0; k + 1 < np; k++) {
        uint64_t lo = pts[k], hi = pts[k + 1];
        if (lo == hi)
            continue;
        while (next < a->n && a->r[next].off <= lo)
            act[nact++] = next++;
        size_t best = SIZE_MAX;
        for (size_t j = 0; j < nact;) {
            const struct anon_range *r = &a->r[act[j]];
            if (r->off + r->len <= lo) {
                act[j] = act[--nact];
                continue;
            }
            if (best == SIZE_MAX || r->prio > a->r[best].prio ||
                (r->prio == a->r[best].prio && r->seq > a->r[best].seq))
                best = act[j];
            j++;
        }
        if (best == SIZE_MAX) {
            best_prev = SIZE_MAX;
            continue;
        }
        const struct anon_range *b = &a->r[best];
        const uint8_t *data = b->data ? b->data + (lo - b->off) : NULL;
        struct anon_seg *last = ns ? &seg[ns - 1] : NULL;
        if (last && last->off + last->len == lo &&
            ((!data && !last->data) || (data && best == best_prev))) {
            last->len += hi - lo;
        } else {
            seg[ns++] = (struct anon_seg){ lo, hi - lo, data };
        }
        best_prev = best;
    }
    free(pts);
    free(act);
    *out = seg;
    *nout = ns;
    return 0;
}

static int anon_pwrite(int fd, const uint8_t *buf, uint64_t len, uint64_t off)
{
    while (len) {
        ssize_t r = pwrite(fd, buf, MIN(len, (uint64_t)(1u << 30)), (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        buf += r;
        off += (uint64_t)r;
        len -= (uint64_t)r;
    }
    return 0;
}

/* Write BUF at OFF into a file that is all holes: blocks of zeros (by file
 * offset) are left as holes, so empty table space costs no disk. */
static int anon_write_sparse(int fd, const uint8_t *buf, uint64_t len, uint64_t off)
{
    uint64_t i = 0;
    while (i < len) {
        uint64_t blk_end = MIN(len, ALIGN_DOWN(off + i, (uint64_t)ANON_BLOCK) + ANON_BLOCK - off);
        uint64_t j = i;
        /* gather a run of non-zero blocks */
        while (j < len) {
            uint64_t e = MIN(len, ALIGN_DOWN(off + j, (uint64_t)ANON_BLOCK) + ANON_BLOCK - off);
            if (buf_is_zero(buf + j, e - j))
                break;
            j = e;
        }
        if (j > i) {
            int r = anon_pwrite(fd, buf + i, j - i, off + i);
            if (r < 0)
                return r;
            i = j;
        } else {
            i = blk_end;
        }
    }
    return 0;
}

static int anon_write_zeros(int fd, uint64_t off, uint64_t len)
{
    static const uint8_t zero[ANON_BLOCK * 16];
    while (len) {
        uint64_t n = MIN(len, (uint64_t)sizeof(zero));
        int r = anon_pwrite(fd, zero, n, off);
        if (r < 0)
            return r;
        off += n;
        len -= n;
    }
    return 0;
}

static int anon_zero_range(int fd, uint64_t off, uint64_t len)
{
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
        return 0;
    if (errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL)
        return -errno;
    return anon_write_zeros(fd, off, len);
}

/* User data [OFF, OFF+LEN) goes: a hole in the fresh copy (nothing to do)
 * or punched in place.  With keep_allocation, zeros are written instead
 * where the source has data blocks (SEEK_DATA, no data is read), so that
 * tools that look at the file's holes (qemu-img map) see the same. */
static int anon_gap(struct anon *a, int fd, const struct anon_opts *o, uint64_t off,
                    uint64_t len)
{
    if (!o->keep_allocation)
        return o->in_place ? anon_zero_range(fd, off, len) : 0;
    uint64_t end = off + len;
    while (off < end) {
        off_t d = lseek(a->fd, (off_t)off, SEEK_DATA), h;
        if (d < 0 && errno == ENXIO)
            return 0;   /* only a hole up to the end */
        if (d < 0) {
            d = (off_t)off;   /* no SEEK_DATA: all of it is data */
            h = (off_t)end;
        } else {
            h = lseek(a->fd, d, SEEK_HOLE);
            if (h < 0)
                h = (off_t)end;
        }
        if ((uint64_t)d >= end)
            return 0;
        uint64_t n = MIN((uint64_t)h, end) - (uint64_t)d;
        int r = anon_write_zeros(fd, (uint64_t)d, n);
        if (r < 0)
            return r;
        off = (uint64_t)d + n;
    }
    return 0;
}

void anon_free(struct anon *a)
{
    free(a->r);
    while (a->blobs) {
        struct anon_blob *b = a->blobs;
        a->blobs = b->next;
        free(b);
    }
    for (int i = 0; i < a->nfiles; i++) {
        free(a->files[i].src);
        free(a->files[i].src_name);
        free(a->files[i].dst_name);
    }
    free(a->files);
}

static bool anon_same_file(const struct stat *x, const struct stat *y)
{
    return x->st_dev == y->st_dev && x->st_ino == y->st_ino;
}

/* Write the pieces SEG: into DST_FD (a fresh file) or, in place, into
 * the source (holes where no piece is). */
static int anon_write(struct anon *a, const struct anon_seg *seg, size_t ns, int dst_fd,
                      bool in_place, const struct anon_opts *o, struct error **errp,
                      const char *dst)
{
    uint8_t *buf = NULL;
    uint64_t pos = 0;
    int r = 0;
    for (size_t i = 0; i <= ns && r >= 0; i++) {
        uint64_t start = i < ns ? seg[i].off : a->size;
        if (start > pos) {
            r = anon_gap(a, in_place ? a->fd : dst_fd, o, pos, start - pos);
            if (r < 0) {
                free(buf);
                return err_set_errno(errp, -r, _("cannot punch holes into '%s'"),
                                     in_place ? a->filename : dst);
            }
        }
        if (i == ns)
            break;
        const struct anon_seg *s = &seg[i];
        pos = s->off + s->len;
        if (s->data) {
            r = anon_pwrite(in_place ? a->fd : dst_fd, s->data, s->len, s->off);
        } else if (!in_place) {
            if (!buf && !(buf = malloc(ANON_CHUNK))) {
                r = -ENOMEM;
                break;
            }
            for (uint64_t d = 0; d < s->len && r >= 0; d += ANON_CHUNK) {
                uint64_t n = MIN((uint64_t)ANON_CHUNK, s->len - d);
                r = anon_read(a, s->off + d, n, buf);
                if (r < 0) {
                    free(buf);
                    return err_set_errno(errp, -r, _("cannot read '%s'"), a->filename);
                }
                r = anon_write_sparse(dst_fd, buf, n, s->off + d);
            }
        }
        if (o->progress && (i % 256 == 0 || i + 1 == ns))
            o->progress(o->opaque, 100.0 * (double)(i + 1) / (double)ns);
    }
    free(buf);
    if (r < 0)
        return err_set_errno(errp, -r, _("cannot write '%s'"), in_place ? a->filename : dst);
    return 0;
}

static int anon_one(const char *src, const char *dst, anon_walk_fn *walk,
                    const struct anon_opts *o, struct anon_stats *st, int depth,
                    struct error **errp);

/* The further files of an image go next to DST, or are punched in place. */
static int anon_files(struct anon *a, const char *dst, const struct anon_opts *o,
                      struct anon_stats *st, int depth, struct error **errp)
{
    int r = 0;
    for (int i = 0; i < a->nfiles && r >= 0; i++) {
        const struct anon_file *f = &a->files[i];
        char *out = NULL;
        if (!o->in_place) {
            out = blk_path_combine(dst, f->dst_name);
            if (!out)
                return err_set(errp, ENOMEM, _("out of memory"));
        }
        r = anon_one(f->src, out, f->walk, o, st, depth + 1, errp);
        if (r >= 0)
            st->files++;
        free(out);
    }
    return r;
}

/* Whether NAME stays in the image's folder: relative, no "..".  Names come
 * from the image: an absolute or climbing name could make anonymize write
 * (or punch holes into) any file. */
static bool anon_name_ok(const char *name)
{
    if (!name[0] || name[0] == '/')
        return false;
    for (const char *p = name; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return false;
        p += n;
        p += *p == '/';
    }
    return true;
}

/* Refuse, before anything is written, further files outside the image's
 * folder, and copies that would overwrite a source file (DST in the
 * folder of SRC, with the same extent names). */
static int anon_files_check(const struct anon *a, const struct stat *ss, const char *dst,
                            struct error **errp)
{
    for (int i = 0; i < a->nfiles; i++) {
        const struct anon_file *f = &a->files[i];
        if (!anon_name_ok(f->src_name) || !anon_name_ok(f->dst_name))
            return err_set(errp, EPERM, _("'%s': extent file name '%s' is not relative to "
                                          "the image's folder; not following it"),
                           a->filename, f->src_name);
        struct stat sx, sy;
        if (!dst) {
            /* in place: an extent that is the image file itself is not
             * punched away as a whole */
            if (stat(f->src, &sx) == 0 && anon_same_file(ss, &sx))
                return err_set(errp, EINVAL, _("'%s': names itself as an extent"),
                               a->filename);
            continue;
        }
        char *out = blk_path_combine(dst, f->dst_name);
        if (!out)
            return err_set(errp, ENOMEM, _("out of memory"));
        bool clash = strcmp(out, dst) == 0 ||
                     (stat(out, &sy) == 0 &&
                      (anon_same_file(ss, &sy) ||
                       (stat(f->src, &sx) == 0 && anon_same_file(&sx, &sy))));
        if (clash) {
            int r = err_set(errp, EEXIST, _("'%s': the copy of extent '%s' would overwrite a "
                                            "source file; write DST into another folder"),
                            out, f->src);
            free(out);
            return r;
        }
        free(out);
    }
    return 0;
}

static int anon_one(const char *src, const char *dst, anon_walk_fn *walk,
                    const struct anon_opts *o, struct anon_stats *st, int depth,
                    struct error **errp)
{
    struct anon a = { .filename = src, .fd = -1, .scrub_names = o->scrub_names };
    struct anon_seg *seg = NULL;
    size_t ns = 0;
    int dst_fd = -1, r;
    a.fd = open(src, (o->in_place ? O_RDWR : O_RDONLY) | O_CLOEXEC | (depth ? O_NOFOLLOW : 0));
    if (a.fd < 0)
        return err_set_errno(errp, errno, _("Could not open '%s'"), src);
    struct stat ss;
    if (fstat(a.fd, &ss) < 0) {
        r = err_set_errno(errp, errno, _("cannot stat '%s'"), src);
        goto out;
    }
    if (!S_ISREG(ss.st_mode)) {
        r = err_set(errp, EINVAL, _("'%s' is not a regular file"), src);
        goto out;
    }
    a.size = (uint64_t)ss.st_size;
    if (walk && depth < 2) {
        r = walk(&a, errp);
        if (r < 0)
            goto out;
    }
    if (a.err) {
        r = err_set_errno(errp, -a.err, _("cannot anonymize '%s'"), src);
        goto out;
    }
    r = anon_resolve(&a, &seg, &ns);
    if (r < 0) {
        r = err_set_errno(errp, -r, _("cannot anonymize '%s'"), src);
        goto out;
    }
    r = anon_files_check(&a, &ss, o->in_place ? NULL : dst, errp);
    if (r < 0)
        goto out;
    if (!o->in_place) {
        struct stat ds;
        if (stat(dst, &ds) == 0 && anon_same_file(&ss, &ds)) {
            r = err_set(errp, EINVAL, _("'%s' and '%s' are the same file; use --in-place"),
                        src, dst);
            goto out;
        }
        /* further files are opened without following links: their names
         * come from the image */
        dst_fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (depth ? O_NOFOLLOW : 0),
                      0644);
        if (dst_fd < 0) {
            r = err_set_errno(errp, errno, _("Could not create '%s'"), dst);
            goto out;
        }
        if (ftruncate(dst_fd, (off_t)a.size) < 0) {
            r = err_set_errno(errp, errno, _("cannot resize '%s'"), dst);
            goto out;
        }
    }
    r = anon_write(&a, seg, ns, dst_fd, o->in_place, o, errp, dst);
    if (r < 0)
        goto out;
    if (dst_fd >= 0 && close(dst_fd) < 0) {
        dst_fd = -1;
        r = err_set_errno(errp, errno, _("cannot write '%s'"), dst);
        goto out;
    }
    dst_fd = -1;
    if (o->in_place && fsync(a.fd) < 0) {
        r = err_set_errno(errp, errno, _("cannot write '%s'"), src);
        goto out;
    }
    if (depth == 0) {
        st->file_size = a.size;
        st->bytes_read = a.bytes_read;
    }
    for (size_t i = 0; i < ns; i++)
        st->meta_bytes += seg[i].len;
    st->meta_ranges += ns;
    st->warn_unfit += a.warn_unfit;
    r = anon_files(&a, dst, o, st, depth, errp);
out:
    if (dst_fd >= 0)
        close(dst_fd);
    close(a.fd);
    free(seg);
    anon_free(&a);
    return r;
}

int blk_anonymize(const char *src, const char *dst, const struct anon_opts *o,
                  struct anon_stats *st, struct error **errp)
{
    memset(st, 0, sizeof(*st));
    const char *fmt = o->fmt;
    if (!fmt) {
        int r = blk_probe(src, &fmt, errp);
        if (r < 0)
            return r;
    }
    const struct block_driver *drv = blk_find_driver(fmt);
    if (!drv || drv->protocol) {
        if (blk_format_known(fmt))
            return err_set(errp, ENOTSUP, _("Format '%s' is not supported yet"), fmt);
        return err_set(errp, EINVAL, _("Unknown file format '%s'"), fmt);
    }
    anon_walk_fn *walk = drv->anonymize;
    if (!walk)
        return err_set(errp, ENOTSUP, _("Format '%s' does not support anonymize"), fmt);
    st->fmt = drv->name;
    return anon_one(src, dst, walk, o, st, 0, errp);
}
