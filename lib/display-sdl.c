/* display-sdl.c - -display sdl: the guest's screen in an SDL2 window, and
 * the host's keyboard and mouse handed to the guest (input.h).
 *
 * Drawing.  SDL is used from the loop thread only (the program's main
 * thread, which some video drivers insist on).  The console callbacks
 * come in the device model's thread with the console mutex held; they
 * only merge the changed rectangle into `pending` under ui.lock and
 * schedule the draw bottom half, so a hart never waits for the window.
 * The bottom half copies the pending rectangles of the surface into our
 * own copy of it (the shadow: one memcpy per row, the console mutex held
 * for nothing else), uploads those rectangles to a streaming texture,
 * scales the texture into the window and presents, at most DRAW_HZ times
 * a second.  An idle guest makes no callbacks, so it costs no upload and
 * no present; the counters (display_ui_stats) let a test see that.
 *
 * Events.  SDL gives no descriptor to wait on, so a loop timer drains its
 * queue POLL_HZ times a second (a few system calls when nothing happens).
 * Keys go to the guest by position (scancodes, display-sdl-keys.c).  The
 * pointer goes as an absolute position when the guest has an absolute
 * pointer (a tablet): the window maps onto the guest's screen without a
 * grab, and looks as the guest's pointer (virtio-gpu's cursor image).
 * Otherwise it is relative and needs a grab (a click in the window, or
 * Ctrl-Alt-G).
 *
 * Hot keys (left Ctrl + left Alt + key, as qemu's; never seen by the guest):
 * G grab/release, F full screen, U back to 1:1, 1..9 the Nth console.
 *
 * Consoles: the graphical ones first, then the text ones (vc: the serial
 * port and the monitor by default, as in qemu), drawn with a console
 * font (display-sdl-text.c); a text console shown takes the keys as a
 * terminal's bytes, not the guest's keyboard.
 *
 * Closing the window asks the guest to power down (host->powerdown); a
 * second close, or one while the guest is paused, quits (host->quit).
 *
 * Lock order: a console's mutex, then ui.lock.
 */
#include <config.h>
#ifdef HAVE_SDL2
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <SDL.h>
#include "display.h"
#include "display-sdl.h"
#include "i18n.h"
#include "input.h"
#include "keyval.h"
#include "loop.h"
#include "msg.h"

#define POLL_HZ 30
#define DRAW_HZ 60
#define CONS_MAX 9              /* Ctrl-Alt-1 .. Ctrl-Alt-9 */
#define PENDING_MAX 8           /* more: merged into their bounding box */
#define NOSURF_W 640            /* the window before the guest sets a mode */
#define NOSURF_H 480

struct sdl_con {
    struct display_console *c;
    bool text;                          /* a text console (vc) */
    /* ui.lock: */
    struct display_ui_stats st;
    /* the guest's pointer image (virtio-gpu's cursor), BGRA; NULL: none */
    uint8_t *cursor_px;
    uint32_t cursor_w, cursor_h, cursor_hx, cursor_hy;
    bool cursor_hidden;
};

static struct sdl_ui {
    struct loop *loop;
    const struct display_host *host;
    struct loop_timer *poll_timer, *draw_timer;
    struct loop_bh *draw_bh;
    SDL_Window *win;
    SDL_Renderer *ren;
    SDL_Texture *tex;
    uint32_t tex_w, tex_h;              /* texture and shadow; 0: none */
    uint32_t bad_w, bad_h;              /* the size no texture could be made for */
    uint8_t *shadow;
    struct display_cell *cells;         /* a text console's cells, copied */
    size_t cells_cap;
    struct sdl_con cons[CONS_MAX];
    int n_cons;
    struct sdl_font font;               /* for text consoles; w == 0: none */
    bool sdl_up;                        /* SDL_Init done: fini has work */
    bool started;

    pthread_mutex_t lock;   /* guards the pending region and the counters */
    int cur;                /* the console shown (written by the loop thread) */
    bool redraw_all;        /* its size changed, or it was just chosen */
    struct display_rect pending[PENDING_MAX];
    int n_pending;
    bool cursor_new;        /* the shown console's pointer image changed */

    /* loop thread only */
    uint64_t last_present;
    bool need_present;      /* the window needs painting (exposed, resized) */
    bool grabbed, fullscreen, relative;
    bool window_close;      /* -display sdl,window-close=on */
    bool close_asked;       /* the window was closed once: powerdown sent */
    bool key_down[INPUT_KEY_MAX + 1];
    bool btn_down[INPUT_BTN__MAX];
    bool hot_eaten[SDL_NUM_SCANCODES];  /* hot key down: swallow its release */
    SDL_Cursor *cursor;                 /* the guest's image; NULL: SDL's arrow */
    char title[256];
} ui = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* ---- from the device model's thread (console mutex held) ---- */

static struct sdl_con *shown_locked(void)
{
    return ui.cur < ui.n_cons ? &ui.cons[ui.cur] : NULL;
}

static void pending_add_locked(const struct display_rect *r)
{
    for (int i = 0; i < ui.n_pending; i++) {
        struct display_rect *d = &ui.pending[i];
        if (r->x >= d->x && r->y >= d->y && r->x + r->w <= d->x + d->w &&
            r->y + r->h <= d->y + d->h)
            return;
    }
    if (ui.n_pending < PENDING_MAX) {
        ui.pending[ui.n_pending++] = *r;
        return;
    }
    uint32_t x0 = r->x, y0 = r->y, x1 = r->x + r->w, y1 = r->y + r->h;
    for (int i = 0; i < ui.n_pending; i++) {
        const struct display_rect *d = &ui.pending[i];
        x0 = MIN(x0, d->x);
        y0 = MIN(y0, d->y);
        x1 = MAX(x1, d->x + d->w);
        y1 = MAX(y1, d->y + d->h);
    }
    ui.pending[0] = (struct display_rect){ x0, y0, x1 - x0, y1 - y0 };
    ui.n_pending = 1;
}

static void cb_resize(void *opaque, struct display_console *c)
{
    (void)c;
    pthread_mutex_lock(&ui.lock);
    bool shown = opaque == shown_locked();
    if (shown) {
        ui.redraw_all = true;
        ui.n_pending = 0;
    }
    pthread_mutex_unlock(&ui.lock);
    if (shown)
        loop_bh_schedule(ui.draw_bh);
}

static void cb_update(void *opaque, struct display_console *c, const struct display_rect *r)
{
    (void)c;
    pthread_mutex_lock(&ui.lock);
    bool shown = opaque == shown_locked();
    if (shown && !ui.redraw_all)
        pending_add_locked(r);
    pthread_mutex_unlock(&ui.lock);
    if (shown)
        loop_bh_schedule(ui.draw_bh);
}

/* The guest's pointer image: kept per console, made the window's cursor
 * by the loop thread (in absolute mode the host's pointer is the
 * guest's, so it should look like it).  Virtio-gpu's images are at most
 * 256 x 256; anything larger is ignored. */
static void cb_cursor_define(void *opaque, struct display_console *c, uint32_t w, uint32_t h,
                             uint32_t hot_x, uint32_t hot_y, const uint8_t *bgra)
{
    (void)c;
    struct sdl_con *sc = opaque;
    if (w > 256 || h > 256)
        return;
    uint8_t *px = w && h ? malloc((size_t)w * h * 4) : NULL;
    if (px)
        memcpy(px, bgra, (size_t)w * h * 4);
    else if (w && h)
        return;                 /* out of memory: keep the old image */
    pthread_mutex_lock(&ui.lock);
    free(sc->cursor_px);
    sc->cursor_px = px;
    sc->cursor_w = w, sc->cursor_h = h, sc->cursor_hx = hot_x, sc->cursor_hy = hot_y;
    bool shown = sc == shown_locked();
    ui.cursor_new |= shown;
    pthread_mutex_unlock(&ui.lock);
    if (shown)
        loop_bh_schedule(ui.draw_bh);
}

static void cb_cursor_move(void *opaque, struct display_console *c, int32_t x, int32_t y,
                           bool visible)
{
    (void)c, (void)x, (void)y;
    struct sdl_con *sc = opaque;
    pthread_mutex_lock(&ui.lock);
    bool changed = sc->cursor_hidden == visible;
    sc->cursor_hidden = !visible;
    bool shown = changed && sc == shown_locked();
    ui.cursor_new |= shown;
    pthread_mutex_unlock(&ui.lock);
    if (shown)
        loop_bh_schedule(ui.draw_bh);
}

static const struct display_ops sdl_ops = {
    .name = "sdl",
    .resize = cb_resize,
    .update = cb_update,
    .cursor_define = cb_cursor_define,
    .cursor_move = cb_cursor_move,
};

/* ---- drawing (loop thread) ---- */

/* Where the texture goes in an OW x OH output: as large as fits, the
 * guest's aspect kept, centred (1:1 when the window has the guest's size). */
static SDL_Rect fit_rect(int ow, int oh)
{
    SDL_Rect d = { 0, 0, ow, oh };
    if (!ui.tex_w || !ui.tex_h || ow <= 0 || oh <= 0)
        return d;
    if ((int64_t)ow * ui.tex_h > (int64_t)oh * ui.tex_w)
        d.w = (int)((int64_t)oh * ui.tex_w / ui.tex_h);
    else
        d.h = (int)((int64_t)ow * ui.tex_h / ui.tex_w);
    d.x = (ow - d.w) / 2;
    d.y = (oh - d.h) / 2;
    return d;
}

/* The window W x H, moved as far as needed to stay on its screen: the
 * guest's mode grows it from where a smaller one was placed. */
static void resize_window(int w, int h)
{
    SDL_SetWindowSize(ui.win, w, h);
    SDL_Rect b;
    int x, y, i = SDL_GetWindowDisplayIndex(ui.win);
    if (i < 0 || SDL_GetDisplayUsableBounds(i, &b) < 0)
        return;
    SDL_GetWindowPosition(ui.win, &x, &y);
    int nx = MAX(b.x, MIN(x, b.x + b.w - w)), ny = MAX(b.y, MIN(y, b.y + b.h - h));
    if (nx != x || ny != y)
        SDL_SetWindowPosition(ui.win, nx, ny);
}

/* A texture and a shadow of W x H (none for 0 x 0); the window takes that
 * size unless it is full screen. */
static void set_size(uint32_t w, uint32_t h)
{
    if (ui.tex)
        SDL_DestroyTexture(ui.tex);
    ui.tex = NULL;
    free(ui.shadow);
    ui.shadow = NULL;
    ui.tex_w = ui.tex_h = 0;
    if (!w || !h)
        return;
    if (w > DISPLAY_MAX_SIDE || h > DISPLAY_MAX_SIDE) {
        msg_warn(_("-display sdl: a console of %ux%u pixels is too large to show"), w, h);
        ui.bad_w = w, ui.bad_h = h;
        return;
    }
    ui.shadow = calloc((size_t)w * h, 4);
    /* XRGB8888 is the surface's B, G, R, X bytes on a little-endian host,
     * with the fourth byte ignored */
    ui.tex = ui.shadow ? SDL_CreateTexture(ui.ren, SDL_PIXELFORMAT_RGB888,
                                           SDL_TEXTUREACCESS_STREAMING, (int)w, (int)h)
                       : NULL;
    if (!ui.tex) {
        msg_warn(_("-display sdl: no %ux%u texture: %s"), w, h,
                 ui.shadow ? SDL_GetError() : strerror(ENOMEM));
        free(ui.shadow);
        ui.shadow = NULL;
        ui.bad_w = w, ui.bad_h = h;
        return;
    }
    ui.bad_w = ui.bad_h = 0;
    SDL_SetTextureBlendMode(ui.tex, SDL_BLENDMODE_NONE);
    ui.tex_w = w;
    ui.tex_h = h;
    if (!ui.fullscreen)
        resize_window((int)w, (int)h);
}

static void copy_rect(const struct display_surface *s, const struct display_rect *r)
{
    for (uint32_t y = 0; y < r->h; y++)
        memcpy(ui.shadow + ((size_t)(r->y + y) * ui.tex_w + r->x) * 4,
               s->pixels + (size_t)(r->y + y) * s->stride + (size_t)r->x * 4, (size_t)r->w * 4);
}

/* Clip the rectangles RS[0..N) to W x H (all of it when ALL); the core
 * gave them inside the grid, but it may have shrunk since. */
static int clip_rects(bool all, struct display_rect *rs, int n, uint32_t w, uint32_t h)
{
    if (all) {
        rs[0] = (struct display_rect){ 0, 0, w, h };
        return 1;
    }
    for (int i = 0; i < n; i++) {
        if (rs[i].x >= w || rs[i].y >= h) {
            rs[i].w = 0;
            continue;
        }
        rs[i].w = MIN(rs[i].w, w - rs[i].x);
        rs[i].h = MIN(rs[i].h, h - rs[i].y);
    }
    return n;
}

/* A graphical console: copy the rectangles from its surface into the
 * shadow, if the surface has the shadow's size (*W x *H says its size). */
static bool copy_pixels(struct sdl_con *sc, bool all, struct display_rect *rs, int *n,
                        uint32_t *w, uint32_t *h)
{
    const struct display_surface *s = display_read_begin(sc->c);
    *w = s->width;
    *h = s->height;
    bool fits = *w == ui.tex_w && *h == ui.tex_h && ui.shadow;
    if (fits) {
        *n = clip_rects(all, rs, *n, *w, *h);
        for (int i = 0; i < *n; i++)
            if (rs[i].w)
                copy_rect(s, &rs[i]);
    }
    display_read_end(sc->c);
    return fits;
}

/* A text console: copy its cells out (the console mutex held for that
 * only), draw those of the rectangles into the shadow, and make the
 * rectangles pixels. */
static bool copy_text(struct sdl_con *sc, bool all, struct display_rect *rs, int *n,
                      uint32_t *w, uint32_t *h)
{
    uint32_t cols, rows, ccol = 0, crow = 0;
    const struct display_cell *cells = display_text_read_begin(sc->c, &cols, &rows);
    *w = cols * ui.font.w;
    *h = rows * ui.font.h;
    size_t nc = (size_t)cols * rows;
    bool fits = *w == ui.tex_w && *h == ui.tex_h && ui.shadow && cells;
    bool cursor = false;
    if (fits && nc > ui.cells_cap) {
        struct display_cell *nb = realloc(ui.cells, nc * sizeof(*nb));
        if (nb) {
            ui.cells = nb;
            ui.cells_cap = nc;
        }
    }
    fits = fits && nc <= ui.cells_cap;
    if (fits) {
        memcpy(ui.cells, cells, nc * sizeof(*cells));
        cursor = display_text_cursor_locked(sc->c, &ccol, &crow);
    }
    display_read_end(sc->c);
    if (!fits)
        return false;
    *n = clip_rects(all, rs, *n, cols, rows);
    for (int i = 0; i < *n; i++) {
        if (!rs[i].w)
            continue;
        display_sdl_text_draw(&ui.font, ui.cells, cols, &rs[i], ui.shadow, (size_t)ui.tex_w * 4,
                              cursor, ccol, crow);
        rs[i] = (struct display_rect){ rs[i].x * ui.font.w, rs[i].y * ui.font.h,
                                       rs[i].w * ui.font.w, rs[i].h * ui.font.h };
    }
    return true;
}

/* Copy what changed of console SC into the shadow (console mutex held
 * only for that), then into the texture.  Returns whether anything was
 * uploaded. */
static bool upload(struct sdl_con *sc, bool all, struct display_rect *rs, int n)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        uint32_t w, h;
        bool fits = sc->text ? copy_text(sc, all, rs, &n, &w, &h)
                             : copy_pixels(sc, all, rs, &n, &w, &h);
        if (!fits) {
            /* no texture could be made for that size: said once */
            if ((w == ui.tex_w && h == ui.tex_h) || (w == ui.bad_w && h == ui.bad_h))
                return false;
            set_size(w, h);
            all = true;
            continue;
        }
        uint64_t uploads = 0, pixels = 0;
        for (int i = 0; i < n; i++) {
            if (!rs[i].w || !rs[i].h)
                continue;
            SDL_Rect r = { (int)rs[i].x, (int)rs[i].y, (int)rs[i].w, (int)rs[i].h };
            size_t stride = (size_t)ui.tex_w * 4;
            SDL_UpdateTexture(ui.tex, &r, ui.shadow + (size_t)r.y * stride + (size_t)r.x * 4,
                              (int)stride);
            uploads++;
            pixels += (uint64_t)r.w * r.h;
        }
        pthread_mutex_lock(&ui.lock);
        sc->st.uploads += uploads;
        sc->st.pixels += pixels;
        pthread_mutex_unlock(&ui.lock);
        return uploads > 0;
    }
    return false;
}

static void present(struct sdl_con *sc)
{
    int ow, oh;
    if (SDL_GetRendererOutputSize(ui.ren, &ow, &oh) < 0)
        SDL_GetWindowSize(ui.win, &ow, &oh);
    SDL_SetRenderDrawColor(ui.ren, 0, 0, 0, 255);
    SDL_RenderClear(ui.ren);
    if (ui.tex) {
        SDL_Rect d = fit_rect(ow, oh);
        SDL_RenderCopy(ui.ren, ui.tex, NULL, &d);
    }
    SDL_RenderPresent(ui.ren);
    ui.last_present = loop_now_ns();
    ui.need_present = false;
    if (sc) {
        pthread_mutex_lock(&ui.lock);
        sc->st.presents++;
        pthread_mutex_unlock(&ui.lock);
    }
}

/* The shown console's pointer image, if it changed, becomes the window's
 * cursor; SDL's own arrow while the guest defined none. */
static void update_cursor(void)
{
    pthread_mutex_lock(&ui.lock);
    struct sdl_con *sc = shown_locked();
    bool is_new = ui.cursor_new;
    ui.cursor_new = false;
    uint8_t *px = NULL;
    uint32_t w = 0, h = 0, hx = 0, hy = 0;
    bool hidden = false;
    if (is_new && sc && sc->cursor_px && (px = malloc((size_t)sc->cursor_w * sc->cursor_h * 4))) {
        w = sc->cursor_w, h = sc->cursor_h, hx = sc->cursor_hx, hy = sc->cursor_hy;
        memcpy(px, sc->cursor_px, (size_t)w * h * 4);
    }
    if (sc)
        hidden = sc->cursor_hidden;
    pthread_mutex_unlock(&ui.lock);
    if (!is_new)
        return;
    SDL_Cursor *old = ui.cursor;
    ui.cursor = NULL;
    if (px) {
        /* ARGB8888 is the bytes B, G, R, A on a little-endian host */
        SDL_Surface *sf = SDL_CreateRGBSurfaceWithFormatFrom(px, (int)w, (int)h, 32,
                                                             (int)w * 4,
                                                             SDL_PIXELFORMAT_ARGB8888);
        if (sf) {
            ui.cursor = SDL_CreateColorCursor(sf, (int)MIN(hx, w - 1), (int)MIN(hy, h - 1));
            SDL_FreeSurface(sf);
        }
        free(px);
    }
    SDL_SetCursor(ui.cursor ? ui.cursor : SDL_GetDefaultCursor());
    if (old)
        SDL_FreeCursor(old);
    /* a guest that hides its pointer hides ours; without an image of the
     * guest's, SDL's arrow stays */
    SDL_ShowCursor(ui.cursor && hidden ? SDL_DISABLE : SDL_ENABLE);
}

/* The draw bottom half (and its timer, when frames come faster than
 * DRAW_HZ): upload what changed, present. */
static void draw(void *opaque)
{
    (void)opaque;
    update_cursor();
    uint64_t now = loop_now_ns();
    if (ui.last_present && now - ui.last_present < 1000000000ull / DRAW_HZ) {
        if (!loop_timer_armed(ui.draw_timer))
            loop_timer_arm(ui.draw_timer, ui.last_present + 1000000000ull / DRAW_HZ);
        return;
    }
    struct display_rect rs[PENDING_MAX];
    pthread_mutex_lock(&ui.lock);
    struct sdl_con *sc = shown_locked();
    bool all = ui.redraw_all;
    int n = ui.n_pending;
    memcpy(rs, ui.pending, sizeof(rs));
    ui.redraw_all = false;
    ui.n_pending = 0;
    pthread_mutex_unlock(&ui.lock);
    bool changed = sc && (all || n) && upload(sc, all, rs, n);
    if (changed || all || ui.need_present)
        present(sc);
}

/* ---- the window's title ---- */

static void update_title(void)
{
    char t[sizeof(ui.title)];
    const char *name = ui.host->name ? ui.host->name() : NULL;
    int n;
    if (name && *name)
        n = snprintf(t, sizeof(t), "%s (%s)", program_invocation_short_name, name);
    else
        n = snprintf(t, sizeof(t), "%s", program_invocation_short_name);
    if (ui.host->running && !ui.host->running() && n >= 0 && (size_t)n < sizeof(t))
        n += snprintf(t + n, sizeof(t) - (size_t)n, "%s", _(" [Paused]"));
    if (ui.grabbed && n >= 0 && (size_t)n < sizeof(t))
        snprintf(t + n, sizeof(t) - (size_t)n, "%s", _(" - Press Ctrl-Alt-G to release grab"));
    if (strcmp(t, ui.title) != 0) {
        memcpy(ui.title, t, sizeof(t));
        SDL_SetWindowTitle(ui.win, ui.title);
    }
}

/* ---- input (loop thread) ---- */

static bool abs_pointer(void)
{
    return input_has_handler(INPUT_ABS);
}

/* Relative motion needs SDL's relative mode (hidden, confined pointer)
 * while grabbed and without an absolute pointer in the guest. */
static void update_relative(void)
{
    bool rel = ui.grabbed && !abs_pointer();
    if (rel != ui.relative) {
        ui.relative = rel;
        SDL_SetRelativeMouseMode(rel ? SDL_TRUE : SDL_FALSE);
    }
}

static void set_grab(bool on)
{
    ui.grabbed = on;
    /* with SDL_HINT_GRAB_KEYBOARD the keyboard is grabbed too, so that
     * the window manager's keys (Alt-Tab) go to the guest */
    SDL_SetWindowGrab(ui.win, on ? SDL_TRUE : SDL_FALSE);
    update_relative();
    update_title();
}

/* Every key and button the guest holds down goes up: the window lost
 * the focus, and the guest would never see their release. */
static void release_all(void)
{
    bool any = false;
    for (unsigned k = 0; k <= INPUT_KEY_MAX; k++)
        if (ui.key_down[k]) {
            input_key(k, false);
            ui.key_down[k] = false;
            any = true;
        }
    for (int b = 0; b < INPUT_BTN__MAX; b++)
        if (ui.btn_down[b]) {
            input_button(b, false);
            ui.btn_down[b] = false;
            any = true;
        }
    if (any)
        input_sync();
}

/* The console shown (loop thread: the only writer of ui.cur). */
static struct sdl_con *shown(void)
{
    return ui.cur < ui.n_cons ? &ui.cons[ui.cur] : NULL;
}

/* Text consoles take text input (SDL_TEXTINPUT: characters as the host's
 * layout makes them); the guest's keyboard takes keys by position. */
static void update_text_input(void)
{
    struct sdl_con *sc = shown();
    if (sc && sc->text)
        SDL_StartTextInput();
    else
        SDL_StopTextInput();
}

static void show_console(int i)
{
    if (i >= ui.n_cons || i == ui.cur)
        return;
    pthread_mutex_lock(&ui.lock);
    ui.cur = i;
    ui.redraw_all = true;
    ui.n_pending = 0;
    ui.cursor_new = true;       /* the new console's pointer image */
    pthread_mutex_unlock(&ui.lock);
    update_text_input();
    loop_bh_schedule(ui.draw_bh);
}

/* Ctrl-Alt-KEY: true when KEY is one of ours. */
static bool hot_key(SDL_Scancode sc)
{
    switch (sc) {
    case SDL_SCANCODE_G:
        set_grab(!ui.grabbed);
        return true;
    case SDL_SCANCODE_F:
        ui.fullscreen = !ui.fullscreen;
        SDL_SetWindowFullscreen(ui.win, ui.fullscreen ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0);
        if (!ui.fullscreen && ui.tex_w)
            resize_window((int)ui.tex_w, (int)ui.tex_h);
        ui.need_present = true;
        loop_bh_schedule(ui.draw_bh);
        return true;
    case SDL_SCANCODE_U:
        if (!ui.fullscreen && ui.tex_w)
            resize_window((int)ui.tex_w, (int)ui.tex_h);
        return true;
    default:
        if (sc >= SDL_SCANCODE_1 && sc <= SDL_SCANCODE_9) {
            show_console(sc - SDL_SCANCODE_1);
            return true;
        }
        return false;
    }
}

static void on_key(const SDL_KeyboardEvent *k)
{
    SDL_Scancode sc = k->keysym.scancode;
    bool down = k->type == SDL_KEYDOWN;
    if (sc <= SDL_SCANCODE_UNKNOWN || sc >= SDL_NUM_SCANCODES)
        return;
    if (ui.hot_eaten[sc]) {
        if (!down)
            ui.hot_eaten[sc] = false;
        return;
    }
    if (down && (k->keysym.mod & KMOD_LCTRL) && (k->keysym.mod & KMOD_LALT) && hot_key(sc)) {
        ui.hot_eaten[sc] = true;
        return;
    }
    unsigned code = display_sdl_key(sc);
    struct sdl_con *con = shown();
    if (down && con && con->text) {
        /* keys to a text console are what a terminal sends; a key the
         * guest holds still goes up to the guest below */
        char buf[8];
        size_t n = display_sdl_text_key(k->keysym.sym, k->keysym.mod, buf, sizeof(buf));
        if (n)
            display_text_input(con->c, (const uint8_t *)buf, n);
        return;
    }
    /* the guest repeats a held key itself */
    if (!code || ui.key_down[code] == down)
        return;
    ui.key_down[code] = down;
    input_key(code, down);
    input_sync();
}

/* Window coordinates to the guest's screen; false without a screen. */
static bool to_guest(int x, int y, int64_t *gx, int64_t *gy)
{
    if (!ui.tex_w)
        return false;
    int ww, wh, ow, oh;
    SDL_GetWindowSize(ui.win, &ww, &wh);
    if (SDL_GetRendererOutputSize(ui.ren, &ow, &oh) < 0 || ww <= 0 || wh <= 0)
        ow = ww, oh = wh;
    SDL_Rect d = fit_rect(ow, oh);
    if (d.w <= 0 || d.h <= 0)
        return false;
    /* window points to output pixels (HiDPI), then into the picture */
    int64_t px = (int64_t)x * ow / MAX(ww, 1), py = (int64_t)y * oh / MAX(wh, 1);
    *gx = (px - d.x) * ui.tex_w / d.w;
    *gy = (py - d.y) * ui.tex_h / d.h;
    return true;
}

static void send_abs(int x, int y)
{
    int64_t gx, gy;
    if (!to_guest(x, y, &gx, &gy))
        return;
    input_abs(INPUT_AXIS_X, gx, ui.tex_w);     /* clamps to the screen */
    input_abs(INPUT_AXIS_Y, gy, ui.tex_h);
}

static void on_text(const SDL_TextInputEvent *t)
{
    struct sdl_con *con = shown();
    if (con && con->text)
        display_text_input(con->c, (const uint8_t *)t->text, strnlen(t->text, sizeof(t->text)));
}

/* The pointer is the guest's only while a graphical console shows. */
static bool pointer_to_guest(void)
{
    struct sdl_con *con = shown();
    return !con || !con->text;
}

static void on_button(const SDL_MouseButtonEvent *b)
{
    static const int map[] = {
        [SDL_BUTTON_LEFT] = INPUT_BTN_LEFT, [SDL_BUTTON_MIDDLE] = INPUT_BTN_MIDDLE,
        [SDL_BUTTON_RIGHT] = INPUT_BTN_RIGHT, [SDL_BUTTON_X1] = INPUT_BTN_SIDE,
        [SDL_BUTTON_X2] = INPUT_BTN_EXTRA,
    };
    bool down = b->type == SDL_MOUSEBUTTONDOWN;
    if (b->button < 1 || b->button >= ARRAY_SIZE(map))
        return;
    int btn = map[b->button];
    bool abs = abs_pointer();
    if (!abs && !ui.grabbed) {
        /* a relative pointer only moves while grabbed: a click grabs */
        if (down && b->button == SDL_BUTTON_LEFT)
            set_grab(true);
        return;
    }
    if (ui.btn_down[btn] == down)
        return;
    ui.btn_down[btn] = down;
    if (abs)
        send_abs(b->x, b->y);
    input_button(btn, down);
    input_sync();
}

static void on_wheel(const SDL_MouseWheelEvent *w)
{
    if (!w->y || (!abs_pointer() && !ui.grabbed))
        return;
    int y = w->direction == SDL_MOUSEWHEEL_FLIPPED ? -w->y : w->y;
    enum input_button b = y > 0 ? INPUT_BTN_WHEEL_UP : INPUT_BTN_WHEEL_DOWN;
    input_button(b, true);
    input_sync();
    input_button(b, false);
    input_sync();
}

static void on_motion(const SDL_MouseMotionEvent *m)
{
    if (abs_pointer()) {
        send_abs(m->x, m->y);
        input_sync();
    } else if (ui.grabbed && (m->xrel || m->yrel)) {
        input_rel(INPUT_AXIS_X, m->xrel);
        input_rel(INPUT_AXIS_Y, m->yrel);
        input_sync();
    }
}

/* The user closed the window. */
static void on_close(void)
{
    if (!ui.window_close)
        return;
    bool running = !ui.host->running || ui.host->running();
    if (!ui.close_asked && running && ui.host->powerdown) {
        ui.close_asked = true;
        ui.host->powerdown();
        return;
    }
    if (ui.host->quit)
        ui.host->quit();
}

static void on_window(const SDL_WindowEvent *w)
{
    switch (w->event) {
    case SDL_WINDOWEVENT_EXPOSED:
    case SDL_WINDOWEVENT_SIZE_CHANGED:
    case SDL_WINDOWEVENT_SHOWN:
    case SDL_WINDOWEVENT_RESTORED:
        ui.need_present = true;
        loop_bh_schedule(ui.draw_bh);
        break;
    case SDL_WINDOWEVENT_FOCUS_LOST:
        release_all();
        break;
    case SDL_WINDOWEVENT_CLOSE:
        on_close();
        break;
    default:
        break;
    }
}

static void handle(const SDL_Event *ev)
{
    switch (ev->type) {
    case SDL_KEYDOWN:
    case SDL_KEYUP:
        on_key(&ev->key);
        break;
    case SDL_TEXTINPUT:
        on_text(&ev->text);
        break;
    case SDL_MOUSEMOTION:
        if (pointer_to_guest())
            on_motion(&ev->motion);
        break;
    case SDL_MOUSEBUTTONDOWN:
    case SDL_MOUSEBUTTONUP:
        if (pointer_to_guest() || ev->type == SDL_MOUSEBUTTONUP)
            on_button(&ev->button);
        break;
    case SDL_MOUSEWHEEL:
        if (pointer_to_guest())
            on_wheel(&ev->wheel);
        break;
    case SDL_WINDOWEVENT:
        on_window(&ev->window);
        break;
    case SDL_QUIT:              /* the desktop asked the program to end */
        on_close();
        break;
    default:
        break;
    }
}

static void poll_events(void *opaque)
{
    (void)opaque;
    SDL_Event ev;
    while (SDL_PollEvent(&ev))
        handle(&ev);
    update_relative();          /* the guest's tablet may have come or gone */
    update_title();
    loop_timer_arm_in(ui.poll_timer, 1000000000ull / POLL_HZ);
}

/* ---- the back end ---- */

static bool sdl_stats(struct display_console *c, struct display_ui_stats *st)
{
    if (!ui.started)
        return false;
    for (int i = 0; i < ui.n_cons; i++)
        if (ui.cons[i].c == c) {
            pthread_mutex_lock(&ui.lock);
            *st = ui.cons[i].st;
            pthread_mutex_unlock(&ui.lock);
            return true;
        }
    return false;
}

static void sdl_fini(void)
{
    if (!ui.sdl_up)
        return;
    for (int i = 0; i < ui.n_cons; i++) {
        display_unlisten(ui.cons[i].c, &sdl_ops, &ui.cons[i]);
        free(ui.cons[i].cursor_px);
        ui.cons[i].cursor_px = NULL;
    }
    ui.started = false;
    ui.n_cons = 0;
    loop_bh_free(ui.draw_bh);
    loop_timer_free(ui.draw_timer);
    loop_timer_free(ui.poll_timer);
    ui.draw_bh = NULL;
    ui.draw_timer = ui.poll_timer = NULL;
    if (ui.cursor)
        SDL_FreeCursor(ui.cursor);
    ui.cursor = NULL;
    if (ui.tex)
        SDL_DestroyTexture(ui.tex);
    if (ui.ren)
        SDL_DestroyRenderer(ui.ren);
    if (ui.win)
        SDL_DestroyWindow(ui.win);
    ui.tex = NULL;
    ui.ren = NULL;
    ui.win = NULL;
    free(ui.shadow);
    ui.shadow = NULL;
    free(ui.cells);
    ui.cells = NULL;
    ui.cells_cap = 0;
    display_sdl_font_free(&ui.font);
    ui.sdl_up = false;
    SDL_Quit();
}

static int parse_opts(const char *opts, bool *fullscreen, struct error **errp)
{
    struct kv *kv;
    int r = kv_parse(&kv, opts, NULL, errp);
    if (r < 0)
        return r;
    if ((r = kv_get_bool(kv, "window-close", true, &ui.window_close, errp)) < 0 ||
        (r = kv_get_bool(kv, "full-screen", false, fullscreen, errp)) < 0 ||
        (r = kv_check_used(kv, errp)) < 0) {
        kv_free(kv);
        return r;
    }
    kv_free(kv);
    return 0;
}

/* SDL falls back on drivers that show nothing (offscreen, dummy) when
 * it finds no display; a window nobody sees is no use, and the user
 * should hear that DISPLAY is missing.  So unless SDL_VIDEODRIVER names
 * a driver, try the others only.  Wayland cannot connect without its
 * socket's directory (and says so on stderr), so it is left out then. */
static void choose_drivers(void)
{
    if (getenv("SDL_VIDEODRIVER"))
        return;
    bool no_wayland = !getenv("WAYLAND_DISPLAY") && !getenv("XDG_RUNTIME_DIR");
    char list[256] = "";
    size_t len = 0;
    for (int i = 0; i < SDL_GetNumVideoDrivers(); i++) {
        const char *d = SDL_GetVideoDriver(i);
        if (!d || strcmp(d, "offscreen") == 0 || strcmp(d, "dummy") == 0 ||
            strcmp(d, "evdev") == 0 || (no_wayland && strcmp(d, "wayland") == 0))
            continue;
        int n = snprintf(list + len, sizeof(list) - len, "%s%s", len ? "," : "", d);
        if (n < 0 || (size_t)n >= sizeof(list) - len)
            break;
        len += (size_t)n;
    }
    /* an empty list would mean "any": name one that cannot work instead */
    SDL_SetHint(SDL_HINT_VIDEODRIVER, len ? list : "x11");
}

static int sdl_init(struct loop *loop, const char *opts, const struct display_host *host,
                    struct error **errp)
{
    bool fullscreen = false;
    int r = parse_opts(opts, &fullscreen, errp);
    if (r < 0)
        return r;
    ui.loop = loop;
    ui.host = host;
    ui.cur = 0;
    ui.title[0] = 0;
    /* our loop catches SIGINT and SIGTERM; the guest's keys are the
     * guest's (no screensaver inhibition, focus clicks reach it) */
    SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
    SDL_SetHint(SDL_HINT_GRAB_KEYBOARD, "1");
    SDL_SetHint(SDL_HINT_VIDEO_ALLOW_SCREENSAVER, "1");
    SDL_SetHint(SDL_HINT_MOUSE_FOCUS_CLICKTHROUGH, "1");
    SDL_SetHint(SDL_HINT_VIDEO_X11_NET_WM_BYPASS_COMPOSITOR, "0");
    SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "linear");
    /* closing the window is a request we answer (on_close), not an end */
    SDL_SetHint(SDL_HINT_QUIT_ON_LAST_WINDOW_CLOSE, "0");
    choose_drivers();
    if (SDL_InitSubSystem(SDL_INIT_VIDEO) < 0)
        return err_set(errp, EIO, _("cannot open a window: %s; is DISPLAY set?"),
                       SDL_GetError());
    ui.sdl_up = true;

    /* as qemu: the graphical consoles first, then the text ones (those
     * only with a font to draw them) */
    struct display_console *c;
    bool any_text = false;
    for (int i = 0; (c = display_console_at(i)); i++)
        any_text |= display_console_is_text(c);
    struct error *ferr = NULL;
    if (any_text && display_sdl_font_find(&ui.font, &ferr) < 0) {
        msg_warn(_("-display sdl: the text consoles (serial port, monitor) cannot be "
                   "shown: %s"), err_msg(ferr));
        err_free(ferr);
    }
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; (c = display_console_at(i)) && ui.n_cons < CONS_MAX; i++)
            if (display_console_is_text(c) == (pass == 1) && (pass == 0 || ui.font.w))
                ui.cons[ui.n_cons++] = (struct sdl_con){ .c = c, .text = pass == 1 };
    int w = NOSURF_W, h = NOSURF_H;
    if (ui.n_cons && !ui.cons[0].text) {
        const struct display_surface *s = display_read_begin(ui.cons[0].c);
        if (s->width) {
            w = (int)s->width;
            h = (int)s->height;
        }
        display_read_end(ui.cons[0].c);
    }
    int n_cons = ui.n_cons;
    ui.n_cons = 0;              /* listened to below */
    if (!(ui.draw_bh = loop_bh_new(loop, draw, NULL, errp)) ||
        !(ui.draw_timer = loop_timer_new(loop, draw, NULL, errp)) ||
        !(ui.poll_timer = loop_timer_new(loop, poll_events, NULL, errp))) {
        sdl_fini();
        return -ENOMEM;
    }
    ui.win = SDL_CreateWindow(program_invocation_short_name, SDL_WINDOWPOS_UNDEFINED,
                              SDL_WINDOWPOS_UNDEFINED, w, h, SDL_WINDOW_RESIZABLE);
    if (!ui.win) {
        r = err_set(errp, EIO, _("cannot open a window: %s; is DISPLAY set?"), SDL_GetError());
        sdl_fini();
        return r;
    }
    ui.ren = SDL_CreateRenderer(ui.win, -1, 0);
    if (!ui.ren) {
        r = err_set(errp, EIO, _("cannot draw in the window: %s"), SDL_GetError());
        sdl_fini();
        return r;
    }
    if (fullscreen) {
        ui.fullscreen = true;
        SDL_SetWindowFullscreen(ui.win, SDL_WINDOW_FULLSCREEN_DESKTOP);
    }
    update_title();
    ui.started = true;
    for (int i = 0; i < n_cons; i++) {
        pthread_mutex_lock(&ui.lock);
        ui.n_cons = i + 1;
        pthread_mutex_unlock(&ui.lock);
        /* the console tells us its size and whole picture at once */
        if ((r = display_listen(ui.cons[i].c, &sdl_ops, &ui.cons[i], errp)) < 0) {
            sdl_fini();
            return r;
        }
    }
    update_text_input();
    ui.need_present = true;
    loop_bh_schedule(ui.draw_bh);
    loop_timer_arm_in(ui.poll_timer, 1000000000ull / POLL_HZ);
    return 0;
}

const struct display_backend display_sdl = {
    .name = "sdl",
    .desc = "the guest's screen in an SDL2 window",
    .wants_vc = true,
    .init = sdl_init,
    .fini = sdl_fini,
    .stats = sdl_stats,
};
#endif
