/* display-sdl-text.c - text consoles (the vc chardev's serial port and
 * monitor) in the SDL window: the cells drawn with a PSF console font
 * read at run time, and the keys typed there turned into the bytes a
 * terminal sends.
 *
 * The font is one of Debian's console fonts (console-setup-linux puts
 * them in /usr/share/consolefonts; kbd's PSF 1 and 2 formats, gzip'd or
 * not): emu carries no font of its own.  The file is read whole and
 * checked (sizes against the header, the Unicode table against its
 * end) before anything is drawn with it.
 */
#include <config.h>
#ifdef HAVE_SDL2
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <SDL.h>
#include "display-sdl.h"
#include "i18n.h"

#define FONT_FILE_MAX (4u << 20)
#define FONT_GLYPHS_MAX 65536
#define FONT_SIDE_MAX 64

/* The fonts tried, in order: full Unicode coverage first. */
static const char *const font_files[] = {
    "/usr/share/consolefonts/Uni2-Fixed16.psf.gz",
    "/usr/share/consolefonts/Uni2-VGA16.psf.gz",
    "/usr/share/consolefonts/Lat15-Fixed16.psf.gz",
    "/usr/share/kbd/consolefonts/default8x16.psfu.gz",
    "/usr/share/kbd/consolefonts/default8x16.psf.gz",
    NULL,
};

static int map_cmp(const void *a, const void *b)
{
    const struct sdl_font_map *x = a, *y = b;
    return x->cp < y->cp ? -1 : x->cp > y->cp;
}

static int map_add(struct sdl_font *f, size_t *cap, uint32_t cp, uint32_t glyph)
{
    if (f->n_map == *cap) {
        size_t nc = *cap ? *cap * 2 : 512;
        struct sdl_font_map *m = realloc(f->map, nc * sizeof(*m));
        if (!m)
            return -ENOMEM;
        f->map = m;
        *cap = nc;
    }
    f->map[f->n_map++] = (struct sdl_font_map){ cp, glyph };
    return 0;
}

/* One UTF-8 character at *P (< END) into *CP; false on a bad one. */
static bool utf8_next(const uint8_t **p, const uint8_t *end, uint32_t *cp)
{
    const uint8_t *s = *p;
    uint32_t c = s[0];
    int n = c < 0x80 ? 0 : c >= 0xc2 && c < 0xe0 ? 1 : c >= 0xe0 && c < 0xf0 ? 2
          : c >= 0xf0 && c < 0xf5 ? 3 : -1;
    if (n < 0 || end - s < n + 1)
        return false;
    if (n)
        c &= 0x3fu >> n;
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return false;
        c = c << 6 | (s[i] & 0x3f);
    }
    *p = s + n + 1;
    *cp = c;
    return true;
}

/* The Unicode table after the glyphs: PSF 2 is UTF-8 per glyph up to
 * 0xff, with 0xfe starting sequences (which we skip); PSF 1 is the same
 * in 16-bit words, 0xffff and 0xfffe. */
static int parse_table(struct sdl_font *f, const uint8_t *p, const uint8_t *end, bool psf2)
{
    size_t cap = 0;
    for (uint32_t g = 0; g < f->n && p < end; g++) {
        bool seq = false;
        for (;;) {
            if (psf2) {
                if (p >= end)
                    return -EINVAL;
                if (*p == 0xff) {
                    p++;
                    break;
                }
                if (*p == 0xfe) {
                    seq = true;
                    p++;
                    continue;
                }
                uint32_t cp;
                if (!utf8_next(&p, end, &cp))
                    return -EINVAL;
                if (!seq && map_add(f, &cap, cp, g) < 0)
                    return -ENOMEM;
            } else {
                if (end - p < 2)
                    return -EINVAL;
                uint32_t u = p[0] | (uint32_t)p[1] << 8;
                p += 2;
                if (u == 0xffff)
                    break;
                if (u == 0xfffe)
                    seq = true;
                else if (!seq && map_add(f, &cap, u, g) < 0)
                    return -ENOMEM;
            }
        }
    }
    qsort(f->map, f->n_map, sizeof(*f->map), map_cmp);
    return 0;
}

static int parse(struct sdl_font *f, const uint8_t *d, size_t len)
{
    const uint8_t *end = d + len;
    bool psf2, table;
    size_t hdr;
    if (len >= 4 && d[0] == 0x36 && d[1] == 0x04) {
        psf2 = false;
        hdr = 4;
        f->n = d[2] & 1 ? 512 : 256;
        table = (d[2] & 6) != 0;
        f->h = d[3];
        f->w = 8;
        f->bpg = f->h;
    } else if (len >= 32 && d[0] == 0x72 && d[1] == 0xb5 && d[2] == 0x4a && d[3] == 0x86) {
        uint32_t v[8];
        for (int i = 0; i < 8; i++)
            v[i] = d[4 * i] | (uint32_t)d[4 * i + 1] << 8 | (uint32_t)d[4 * i + 2] << 16 |
                   (uint32_t)d[4 * i + 3] << 24;
        psf2 = true;
        hdr = v[2];
        table = v[3] & 1;
        f->n = v[4];
        f->bpg = v[5];
        f->h = v[6];
        f->w = v[7];
    } else {
        return -EINVAL;
    }
    if (!f->w || !f->h || f->w > FONT_SIDE_MAX || f->h > FONT_SIDE_MAX || !f->n ||
        f->n > FONT_GLYPHS_MAX || f->bpg != f->h * ((f->w + 7) / 8) || hdr > len ||
        (size_t)f->n * f->bpg > len - hdr)
        return -EINVAL;
    f->glyphs = malloc((size_t)f->n * f->bpg);
    if (!f->glyphs)
        return -ENOMEM;
    memcpy(f->glyphs, d + hdr, (size_t)f->n * f->bpg);
    if (table)
        return parse_table(f, d + hdr + (size_t)f->n * f->bpg, end, psf2);
    return 0;
}

void display_sdl_font_free(struct sdl_font *f)
{
    free(f->glyphs);
    free(f->map);
    memset(f, 0, sizeof(*f));
}

int display_sdl_font_load(struct sdl_font *f, const char *path, struct error **errp)
{
    memset(f, 0, sizeof(*f));
    gzFile z = gzopen(path, "rb");      /* reads plain files as they are too */
    if (!z)
        return err_set_errno(errp, errno ? errno : ENOMEM, _("cannot open '%s'"), path);
    uint8_t *buf = malloc(FONT_FILE_MAX);
    int n = buf ? gzread(z, buf, FONT_FILE_MAX) : -1;
    gzclose(z);
    int r = n < 0 ? -EIO : (size_t)n == FONT_FILE_MAX ? -EFBIG : parse(f, buf, (size_t)n);
    free(buf);
    if (r < 0) {
        display_sdl_font_free(f);
        return err_set(errp, -r, _("'%s' is no console font (PSF) emu can read"), path);
    }
    return 0;
}

int display_sdl_font_find(struct sdl_font *f, struct error **errp)
{
    const char *env = getenv("EMU_CONSOLE_FONT");
    if (env && *env)
        return display_sdl_font_load(f, env, errp);
    for (int i = 0; font_files[i]; i++)
        if (display_sdl_font_load(f, font_files[i], NULL) == 0)
            return 0;
    return err_set(errp, ENOENT,
                   _("no console font in /usr/share/consolefonts (Debian's "
                     "console-setup-linux has them)"));
}

static uint32_t glyph_of(const struct sdl_font *f, uint32_t cp)
{
    if (f->n_map) {
        size_t lo = 0, hi = f->n_map;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (f->map[mid].cp == cp)
                return f->map[mid].glyph;
            if (f->map[mid].cp < cp)
                lo = mid + 1;
            else
                hi = mid;
        }
        return cp == '?' ? 0 : glyph_of(f, '?');
    }
    return cp < f->n ? cp : '?' < f->n ? '?' : 0;
}

/* The 16 colours of a text console (display.h's order), as BGRX. */
static const uint8_t palette[16][3] = {
    { 0x00, 0x00, 0x00 }, { 0xaa, 0x00, 0x00 }, { 0x00, 0xaa, 0x00 }, { 0xaa, 0x55, 0x00 },
    { 0x00, 0x00, 0xaa }, { 0xaa, 0x00, 0xaa }, { 0x00, 0xaa, 0xaa }, { 0xaa, 0xaa, 0xaa },
    { 0x55, 0x55, 0x55 }, { 0xff, 0x55, 0x55 }, { 0x55, 0xff, 0x55 }, { 0xff, 0xff, 0x55 },
    { 0x55, 0x55, 0xff }, { 0xff, 0x55, 0xff }, { 0x55, 0xff, 0xff }, { 0xff, 0xff, 0xff },
};

static void put_px(uint8_t *p, int colour)
{
    const uint8_t *rgb = palette[colour & 15];
    p[0] = rgb[2], p[1] = rgb[1], p[2] = rgb[0], p[3] = 0;
}

void display_sdl_text_draw(const struct sdl_font *f, const struct display_cell *cells,
                           uint32_t cols, const struct display_rect *r, uint8_t *pix,
                           size_t stride, bool cursor, uint32_t ccol, uint32_t crow)
{
    size_t row_bytes = (f->w + 7) / 8;
    for (uint32_t y = r->y; y < r->y + r->h; y++)
        for (uint32_t x = r->x; x < r->x + r->w; x++) {
            const struct display_cell *c = &cells[(size_t)y * cols + x];
            int fg = c->fg & 15, bg = c->bg & 15;
            if ((c->attr & DISPLAY_ATTR_BOLD) && fg < 8)
                fg += 8;
            if (cursor && x == ccol && y == crow) {
                int t = fg;
                fg = bg;
                bg = t;
            }
            /* ch 0: the second half of a wide character, or nothing */
            const uint8_t *g = c->ch ? f->glyphs + (size_t)glyph_of(f, c->ch) * f->bpg : NULL;
            for (uint32_t gy = 0; gy < f->h; gy++) {
                uint8_t *p = pix + ((size_t)y * f->h + gy) * stride + (size_t)x * f->w * 4;
                bool under = (c->attr & DISPLAY_ATTR_UNDERLINE) && gy == f->h - 1;
                for (uint32_t gx = 0; gx < f->w; gx++) {
                    bool on = under || (g && (g[gy * row_bytes + gx / 8] & (0x80 >> (gx % 8))));
                    put_px(p + 4 * gx, on ? fg : bg);
                }
            }
        }
}

/* What an xterm sends for the special keys. */
static const char *special(SDL_Keycode k)
{
    switch (k) {
    case SDLK_RETURN: case SDLK_KP_ENTER: return "\r";
    case SDLK_BACKSPACE: return "\x7f";
    case SDLK_TAB: return "\t";
    case SDLK_ESCAPE: return "\x1b";
    case SDLK_UP: return "\x1b[A";
    case SDLK_DOWN: return "\x1b[B";
    case SDLK_RIGHT: return "\x1b[C";
    case SDLK_LEFT: return "\x1b[D";
    case SDLK_HOME: return "\x1b[H";
    case SDLK_END: return "\x1b[F";
    case SDLK_INSERT: return "\x1b[2~";
    case SDLK_DELETE: return "\x1b[3~";
    case SDLK_PAGEUP: return "\x1b[5~";
    case SDLK_PAGEDOWN: return "\x1b[6~";
    case SDLK_F1: return "\x1bOP";
    case SDLK_F2: return "\x1bOQ";
    case SDLK_F3: return "\x1bOR";
    case SDLK_F4: return "\x1bOS";
    case SDLK_F5: return "\x1b[15~";
    case SDLK_F6: return "\x1b[17~";
    case SDLK_F7: return "\x1b[18~";
    case SDLK_F8: return "\x1b[19~";
    case SDLK_F9: return "\x1b[20~";
    case SDLK_F10: return "\x1b[21~";
    case SDLK_F11: return "\x1b[23~";
    case SDLK_F12: return "\x1b[24~";
    default: return NULL;
    }
}

size_t display_sdl_text_key(int sym, unsigned mod, char *buf, size_t size)
{
    const char *s = special(sym);
    if (s) {
        size_t n = strlen(s);
        if (n > size)
            return 0;
        memcpy(buf, s, n);
        return n;
    }
    /* Ctrl with a letter or [ \ ] space: the control character; the
     * characters themselves come as text input */
    if (!(mod & KMOD_CTRL) || (mod & KMOD_ALT) || size < 1)
        return 0;
    if (sym >= 'a' && sym <= 'z')
        buf[0] = (char)(sym - 'a' + 1);
    else if (sym == '[' || sym == '\\' || sym == ']')
        buf[0] = (char)(sym - '[' + 27);
    else if (sym == ' ')
        buf[0] = 0;
    else
        return 0;
    return 1;
}
#endif
