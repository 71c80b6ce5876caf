/* display.c - consoles between device models and display back ends
 * (display.h). */
#include <config.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "display.h"
#include "i18n.h"

/* Rectangles kept apart before a flush; more are merged into their
 * bounding box (a back end then redraws a little more than changed). */
#define DIRTY_MAX 16
#define LISTENERS_MAX 8
#define CONSOLES_MAX 64

struct listener {
    const struct display_ops *ops;
    void *opaque;
};

struct display_console {
    pthread_mutex_t lock;
    char *label;
    int head;
    bool text;
    struct display_surface surf;
    struct display_cell *cells;
    uint32_t cols, rows;
    uint32_t cur_col, cur_row;  /* the text cursor */
    bool cur_visible;
    display_text_input_fn *input_fn;    /* who takes typed text */
    void *input_opaque;
    struct display_rect dirty[DIRTY_MAX];
    int n_dirty;
    struct listener ls[LISTENERS_MAX];
    int n_ls;
    struct display_stats st;
};

/* The consoles of the process (one machine per process), in creation order. */
static pthread_mutex_t consoles_lock = PTHREAD_MUTEX_INITIALIZER;
static struct display_console *consoles[CONSOLES_MAX];
static int n_consoles;

int display_console_new(struct display_console **out, const char *label, int head, bool text,
                        struct error **errp)
{
    struct display_console *c = calloc(1, sizeof(*c));
    if (!c || !(c->label = strdup(label))) {
        free(c);
        return err_set(errp, ENOMEM, _("out of memory"));
    }
    pthread_mutex_init(&c->lock, NULL);
    c->head = head;
    c->text = text;
    c->cur_visible = text;
    pthread_mutex_lock(&consoles_lock);
    if (n_consoles == CONSOLES_MAX) {
        pthread_mutex_unlock(&consoles_lock);
        display_console_free(c);
        return err_set(errp, ENOSPC, _("%s: too many consoles (at most %d)"), label,
                       CONSOLES_MAX);
    }
    /* graphical consoles before text ones, as qemu orders them: a
     * machine's screen is console 1 (Alt-1, the default of screendump)
     * even though the serial port's vc was made first */
    int at = n_consoles;
    while (!text && at > 0 && consoles[at - 1]->text)
        at--;
    memmove(&consoles[at + 1], &consoles[at], (size_t)(n_consoles - at) * sizeof(c));
    consoles[at] = c;
    n_consoles++;
    pthread_mutex_unlock(&consoles_lock);
    *out = c;
    return 0;
}

void display_console_free(struct display_console *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&consoles_lock);
    for (int i = 0; i < n_consoles; i++)
        if (consoles[i] == c) {
            memmove(&consoles[i], &consoles[i + 1], (size_t)(n_consoles - i - 1) * sizeof(c));
            n_consoles--;
            break;
        }
    pthread_mutex_unlock(&consoles_lock);
    pthread_mutex_destroy(&c->lock);
    free(c->surf.pixels);
    free(c->cells);
    free(c->label);
    free(c);
}

static void notify_resize_locked(struct display_console *c)
{
    for (int i = 0; i < c->n_ls; i++)
        if (c->ls[i].ops->resize)
            c->ls[i].ops->resize(c->ls[i].opaque, c);
}

int display_resize(struct display_console *c, uint32_t w, uint32_t h, struct error **errp)
{
    if (w > DISPLAY_MAX_SIDE || h > DISPLAY_MAX_SIDE)
        return err_set(errp, EINVAL, _("%s: display size %ux%u is too large (at most %u)"),
                       c->label, w, h, DISPLAY_MAX_SIDE);
    uint8_t *px = NULL;
    if (w && h) {
        px = calloc((size_t)w * h, 4);
        if (!px)
            return err_set(errp, ENOMEM, _("%s: out of memory for a %ux%u display"), c->label,
                           w, h);
    } else {
        w = h = 0;
    }
    pthread_mutex_lock(&c->lock);
    free(c->surf.pixels);
    c->surf = (struct display_surface){ w, h, w * 4, px };
    c->n_dirty = 0;
    notify_resize_locked(c);
    pthread_mutex_unlock(&c->lock);
    return 0;
}

/* Clip R to W x H; false when nothing is left.  Overflow-safe: the sums
 * are done in 64 bits. */
static bool clip(struct display_rect *r, uint32_t w, uint32_t h)
{
    if (r->x >= w || r->y >= h || !r->w || !r->h)
        return false;
    if ((uint64_t)r->x + r->w > w)
        r->w = w - r->x;
    if ((uint64_t)r->y + r->h > h)
        r->h = h - r->y;
    return true;
}

static void dirty_add_locked(struct display_console *c, struct display_rect r)
{
    /* one that contains R, or that R contains, takes its place */
    for (int i = 0; i < c->n_dirty; i++) {
        struct display_rect *d = &c->dirty[i];
        if (r.x >= d->x && r.y >= d->y && r.x + r.w <= d->x + d->w && r.y + r.h <= d->y + d->h)
            return;
        if (d->x >= r.x && d->y >= r.y && d->x + d->w <= r.x + r.w && d->y + d->h <= r.y + r.h) {
            *d = r;
            return;
        }
    }
    if (c->n_dirty < DIRTY_MAX) {
        c->dirty[c->n_dirty++] = r;
        return;
    }
    uint32_t x0 = r.x, y0 = r.y, x1 = r.x + r.w, y1 = r.y + r.h;
    for (int i = 0; i < c->n_dirty; i++) {
        const struct display_rect *d = &c->dirty[i];
        x0 = MIN(x0, d->x);
        y0 = MIN(y0, d->y);
        x1 = MAX(x1, d->x + d->w);
        y1 = MAX(y1, d->y + d->h);
    }
    c->dirty[0] = (struct display_rect){ x0, y0, x1 - x0, y1 - y0 };
    c->n_dirty = 1;
}

static void grid_size(const struct display_console *c, uint32_t *w, uint32_t *h)
{
    *w = c->text ? c->cols : c->surf.width;
    *h = c->text ? c->rows : c->surf.height;
}

void display_dirty(struct display_console *c, const struct display_rect *r)
{
    pthread_mutex_lock(&c->lock);
    struct display_rect cr = *r;
    uint32_t w, h;
    grid_size(c, &w, &h);
    if (clip(&cr, w, h))
        dirty_add_locked(c, cr);
    pthread_mutex_unlock(&c->lock);
}

/* One pixel of FMT to BGRX. */
static inline void px_convert(uint8_t *d, const uint8_t *s, enum display_format fmt)
{
    switch (fmt) {
    case DISPLAY_FMT_BGRX:
    case DISPLAY_FMT_BGRA:
        d[0] = s[0], d[1] = s[1], d[2] = s[2];
        break;
    case DISPLAY_FMT_XRGB:
    case DISPLAY_FMT_ARGB:
        d[0] = s[3], d[1] = s[2], d[2] = s[1];
        break;
    case DISPLAY_FMT_RGBX:
    case DISPLAY_FMT_RGBA:
        d[0] = s[2], d[1] = s[1], d[2] = s[0];
        break;
    case DISPLAY_FMT_XBGR:
    case DISPLAY_FMT_ABGR:
        d[0] = s[1], d[1] = s[2], d[2] = s[3];
        break;
    }
}

void display_blit(struct display_console *c, const struct display_rect *r, const uint8_t *src,
                  size_t src_stride, enum display_format fmt)
{
    pthread_mutex_lock(&c->lock);
    struct display_rect cr = *r;
    if (c->text || !clip(&cr, c->surf.width, c->surf.height)) {
        pthread_mutex_unlock(&c->lock);
        return;
    }
    for (uint32_t y = 0; y < cr.h; y++) {
        const uint8_t *s = src + (size_t)y * src_stride;
        uint8_t *d = c->surf.pixels + (size_t)(cr.y + y) * c->surf.stride + (size_t)cr.x * 4;
        if (fmt == DISPLAY_FMT_BGRX || fmt == DISPLAY_FMT_BGRA) {
            memcpy(d, s, (size_t)cr.w * 4);
            continue;
        }
        for (uint32_t x = 0; x < cr.w; x++)
            px_convert(d + 4 * x, s + 4 * x, fmt);
    }
    dirty_add_locked(c, cr);
    pthread_mutex_unlock(&c->lock);
}

void display_flush(struct display_console *c)
{
    pthread_mutex_lock(&c->lock);
    if (c->n_dirty == 0) {
        pthread_mutex_unlock(&c->lock);
        return;
    }
    c->st.frames++;
    for (int k = 0; k < c->n_dirty; k++) {
        const struct display_rect *r = &c->dirty[k];
        c->st.regions++;
        c->st.pixels += (uint64_t)r->w * r->h;
        for (int i = 0; i < c->n_ls; i++)
            if (c->ls[i].ops->update)
                c->ls[i].ops->update(c->ls[i].opaque, c, r);
    }
    c->n_dirty = 0;
    for (int i = 0; i < c->n_ls; i++)
        if (c->ls[i].ops->refresh)
            c->ls[i].ops->refresh(c->ls[i].opaque, c);
    pthread_mutex_unlock(&c->lock);
}

void display_cursor_define(struct display_console *c, uint32_t w, uint32_t h, uint32_t hot_x,
                           uint32_t hot_y, const uint8_t *bgra)
{
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < c->n_ls; i++)
        if (c->ls[i].ops->cursor_define)
            c->ls[i].ops->cursor_define(c->ls[i].opaque, c, w, h, hot_x, hot_y, bgra);
    pthread_mutex_unlock(&c->lock);
}

void display_cursor_move(struct display_console *c, int32_t x, int32_t y, bool visible)
{
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < c->n_ls; i++)
        if (c->ls[i].ops->cursor_move)
            c->ls[i].ops->cursor_move(c->ls[i].opaque, c, x, y, visible);
    pthread_mutex_unlock(&c->lock);
}

int display_text_resize(struct display_console *c, uint32_t cols, uint32_t rows,
                        struct error **errp)
{
    if (!c->text)
        return err_set(errp, EINVAL, _("%s: not a text console"), c->label);
    if (cols > 1024 || rows > 1024)
        return err_set(errp, EINVAL, _("%s: text console %ux%u is too large"), c->label, cols,
                       rows);
    struct display_cell *cells = NULL;
    if (cols && rows) {
        cells = calloc((size_t)cols * rows, sizeof(*cells));
        if (!cells)
            return err_set(errp, ENOMEM, _("out of memory"));
        for (size_t i = 0; i < (size_t)cols * rows; i++)
            cells[i] = (struct display_cell){ ' ', 7, 0, 0 };
    }
    pthread_mutex_lock(&c->lock);
    free(c->cells);
    c->cells = cells;
    c->cols = cells ? cols : 0;
    c->rows = cells ? rows : 0;
    c->cur_col = c->cur_row = 0;
    c->cur_visible = true;
    c->n_dirty = 0;
    notify_resize_locked(c);
    pthread_mutex_unlock(&c->lock);
    return 0;
}

void display_text_put(struct display_console *c, uint32_t col, uint32_t row,
                      const struct display_cell *cell)
{
    pthread_mutex_lock(&c->lock);
    if (c->text && col < c->cols && row < c->rows) {
        c->cells[(size_t)row * c->cols + col] = *cell;
        dirty_add_locked(c, (struct display_rect){ col, row, 1, 1 });
    }
    pthread_mutex_unlock(&c->lock);
}

void display_text_write(struct display_console *c, uint32_t col, uint32_t row,
                        const struct display_cell *cells, uint32_t n)
{
    pthread_mutex_lock(&c->lock);
    if (c->text && col < c->cols && row < c->rows && n) {
        if (n > c->cols - col)
            n = c->cols - col;
        memcpy(&c->cells[(size_t)row * c->cols + col], cells, (size_t)n * sizeof(*cells));
        dirty_add_locked(c, (struct display_rect){ col, row, n, 1 });
    }
    pthread_mutex_unlock(&c->lock);
}

void display_text_cursor(struct display_console *c, uint32_t col, uint32_t row, bool visible)
{
    pthread_mutex_lock(&c->lock);
    if (c->text && (col != c->cur_col || row != c->cur_row || visible != c->cur_visible)) {
        /* back ends learn of the move through the cells it touches */
        struct display_rect old = { c->cur_col, c->cur_row, 1, 1 };
        struct display_rect now = { col, row, 1, 1 };
        if (clip(&old, c->cols, c->rows))
            dirty_add_locked(c, old);
        if (clip(&now, c->cols, c->rows))
            dirty_add_locked(c, now);
        c->cur_col = col;
        c->cur_row = row;
        c->cur_visible = visible;
    }
    pthread_mutex_unlock(&c->lock);
}

bool display_text_cursor_locked(const struct display_console *c, uint32_t *col, uint32_t *row)
{
    *col = c->cur_col;
    *row = c->cur_row;
    return c->text && c->cur_visible;
}

void display_set_text_input(struct display_console *c, display_text_input_fn *fn, void *opaque)
{
    pthread_mutex_lock(&c->lock);
    c->input_fn = fn;
    c->input_opaque = opaque;
    pthread_mutex_unlock(&c->lock);
}

void display_text_input(struct display_console *c, const uint8_t *buf, size_t len)
{
    pthread_mutex_lock(&c->lock);
    display_text_input_fn *fn = c->input_fn;
    void *opaque = c->input_opaque;
    pthread_mutex_unlock(&c->lock);
    /* both ends live in the loop thread: the taker cannot go away between
     * the unlock and the call */
    if (fn && len)
        fn(opaque, buf, len);
}

int display_listen(struct display_console *c, const struct display_ops *ops, void *opaque,
                   struct error **errp)
{
    pthread_mutex_lock(&c->lock);
    if (c->n_ls == LISTENERS_MAX) {
        pthread_mutex_unlock(&c->lock);
        return err_set(errp, ENOSPC, _("%s: too many display back ends"), c->label);
    }
    c->ls[c->n_ls++] = (struct listener){ ops, opaque };
    /* the new back end starts from the whole picture */
    if (ops->resize)
        ops->resize(opaque, c);
    uint32_t w, h;
    grid_size(c, &w, &h);
    if (w && h && ops->update)
        ops->update(opaque, c, &(struct display_rect){ 0, 0, w, h });
    pthread_mutex_unlock(&c->lock);
    return 0;
}

void display_unlisten(struct display_console *c, const struct display_ops *ops, void *opaque)
{
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < c->n_ls; i++)
        if (c->ls[i].ops == ops && c->ls[i].opaque == opaque) {
            memmove(&c->ls[i], &c->ls[i + 1], (size_t)(c->n_ls - i - 1) * sizeof(c->ls[0]));
            c->n_ls--;
            break;
        }
    pthread_mutex_unlock(&c->lock);
}

struct display_console *display_console_at(int index)
{
    pthread_mutex_lock(&consoles_lock);
    struct display_console *c = index >= 0 && index < n_consoles ? consoles[index] : NULL;
    pthread_mutex_unlock(&consoles_lock);
    return c;
}

struct display_console *display_console_find(const char *label, int head, struct error **errp)
{
    struct display_console *found = NULL;
    bool device = false;
    pthread_mutex_lock(&consoles_lock);
    for (int i = 0; i < n_consoles && !found; i++)
        if (strcmp(consoles[i]->label, label) == 0) {
            device = true;
            if (consoles[i]->head == head)
                found = consoles[i];
        }
    pthread_mutex_unlock(&consoles_lock);
    if (!found) {
        if (device)
            err_set(errp, ENOENT, _("Device '%s' (head %d) is not bound to a QemuConsole"),
                    label, head);
        else
            err_set(errp, ENOENT, _("Device '%s' not found"), label);
    }
    return found;
}

const char *display_console_label(const struct display_console *c)
{
    return c->label;
}

int display_console_head(const struct display_console *c)
{
    return c->head;
}

bool display_console_is_text(const struct display_console *c)
{
    return c->text;
}

void display_get_stats(struct display_console *c, struct display_stats *st)
{
    pthread_mutex_lock(&c->lock);
    *st = c->st;
    pthread_mutex_unlock(&c->lock);
}

const struct display_surface *display_read_begin(struct display_console *c)
{
    pthread_mutex_lock(&c->lock);
    return &c->surf;
}

const struct display_cell *display_text_read_begin(struct display_console *c, uint32_t *cols,
                                                   uint32_t *rows)
{
    pthread_mutex_lock(&c->lock);
    *cols = c->cols;
    *rows = c->rows;
    return c->cells;
}

void display_read_end(struct display_console *c)
{
    pthread_mutex_unlock(&c->lock);
}
