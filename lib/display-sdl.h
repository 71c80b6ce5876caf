/* display-sdl.h - what the files of the sdl display back end share
 * (display-sdl.c, display-sdl-keys.c, display-sdl-text.c). */
#ifndef EMU_DISPLAY_SDL_H
#define EMU_DISPLAY_SDL_H

#include "display.h"

/* The Linux input key code (KEY_*) of the key at SDL scancode SCANCODE;
 * 0 when the guest has no such key. */
unsigned display_sdl_key(int scancode);

/* ---- text consoles (display-sdl-text.c) ---- */
struct sdl_font_map {
    uint32_t cp, glyph;
};
/* A console font: N glyphs of W x H pixels, BPG bytes each (rows of
 * whole bytes, the leftmost pixel in the top bit); MAP: Unicode code
 * points to glyphs, sorted (none: the code point is the glyph). */
struct sdl_font {
    uint32_t w, h, n, bpg;
    uint8_t *glyphs;
    struct sdl_font_map *map;
    size_t n_map;
};
/* Read a PSF (1 or 2, gzip'd or not) font from PATH. */
int display_sdl_font_load(struct sdl_font *f, const char *path, struct error **errp);
/* The first of Debian's console fonts found ($EMU_CONSOLE_FONT if set). */
int display_sdl_font_find(struct sdl_font *f, struct error **errp);
void display_sdl_font_free(struct sdl_font *f);
/* Draw the cells in R (in cells) of a grid COLS wide into PIX (4 bytes a
 * pixel, BGRX; cell (x, y) at pixel (x * f->w, y * f->h)), the cursor
 * (CCOL, CROW) inverted when CURSOR. */
void display_sdl_text_draw(const struct sdl_font *f, const struct display_cell *cells,
                           uint32_t cols, const struct display_rect *r, uint8_t *pix,
                           size_t stride, bool cursor, uint32_t ccol, uint32_t crow);
/* The bytes a terminal sends for key SYM (an SDL_Keycode) with modifiers
 * MOD when it is not text (Enter, the cursor keys, Ctrl-C, ...); 0 when
 * the key sends nothing or comes as text input. */
size_t display_sdl_text_key(int sym, unsigned mod, char *buf, size_t size);

#endif
