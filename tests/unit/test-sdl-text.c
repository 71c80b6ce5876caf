/* test-sdl-text.c - the text consoles of -display sdl (lib/display-sdl-text.c):
 * PSF 1 and 2 fonts (plain and gzip'd) read and drawn, the Unicode table
 * used, damaged and lying font files refused; the bytes of the special
 * keys.  Builds without SDL2 skip (77). */
#include <config.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "unit.h"
#ifdef HAVE_SDL2
#include <zlib.h>
#include <SDL.h>
#include "display-sdl.h"

static char dir[] = "/tmp/emu-test-sdl-text.XXXXXX";

static const char *write_file(const char *name, const void *data, size_t len, bool gz)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (gz) {
        gzFile z = gzopen(path, "wb");
        CHECK(z != NULL);
        CHECK(gzwrite(z, data, (unsigned)len) == (int)len);
        gzclose(z);
    } else {
        FILE *f = fopen(path, "wb");
        CHECK(f != NULL);
        CHECK(fwrite(data, 1, len, f) == len);
        fclose(f);
    }
    return path;
}

static void le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16),
    p[3] = (uint8_t)(v >> 24);
}

/* A PSF 2 font of three 8x2 glyphs: 0 '?', 1 'A' (and the sequence A +
 * combining acute, which must not count), 2 U+00E9. */
static size_t psf2(uint8_t *b)
{
    memset(b, 0, 32);
    b[0] = 0x72, b[1] = 0xb5, b[2] = 0x4a, b[3] = 0x86;
    le32(b + 8, 32);            /* header size */
    le32(b + 12, 1);            /* a Unicode table */
    le32(b + 16, 3);            /* glyphs */
    le32(b + 20, 2);            /* bytes per glyph */
    le32(b + 24, 2);            /* height */
    le32(b + 28, 8);            /* width */
    static const uint8_t glyphs[] = { 0x3c, 0x3c, 0xff, 0x00, 0x81, 0x81 };
    memcpy(b + 32, glyphs, sizeof(glyphs));
    static const uint8_t table[] = { '?', 0xff, 'A', 0xfe, 'A', 0xcc, 0x81, 0xff,
                                     0xc3, 0xa9, 0xff };
    memcpy(b + 38, table, sizeof(table));
    return 38 + sizeof(table);
}

/* The pixel (x, y) of a 3x1-cell drawing: lit (foreground) or not. */
static bool lit(const uint8_t *pix, int x, int y)
{
    return pix[(y * 24 + x) * 4] != 0;
}

static void test_psf2(bool gz)
{
    uint8_t b[128];
    size_t n = psf2(b);
    struct sdl_font f;
    struct error *err = NULL;
    CHECK(display_sdl_font_load(&f, write_file("a.psf", b, n, gz), &err) == 0);
    CHECK(err == NULL);
    err_free(err);
    CHECK_U64(f.w, 8);
    CHECK_U64(f.h, 2);
    CHECK_U64(f.n, 3);
    CHECK_U64(f.n_map, 3);      /* '?', 'A', U+00E9; not the sequence */
    struct display_cell cells[3] = {
        { 'A', 15, 0, 0 }, { 0xe9, 15, 0, 0 }, { 0x4e00, 15, 0, 0 },
    };
    uint8_t pix[24 * 2 * 4];
    memset(pix, 0x55, sizeof(pix));
    display_sdl_text_draw(&f, cells, 3, &(struct display_rect){ 0, 0, 3, 1 }, pix, 24 * 4,
                          false, 0, 0);
    /* 'A': top row full, bottom row empty */
    CHECK(lit(pix, 0, 0) && lit(pix, 7, 0) && !lit(pix, 0, 1) && !lit(pix, 7, 1));
    /* U+00E9: both ends of both rows */
    CHECK(lit(pix, 8, 0) && lit(pix, 15, 1) && !lit(pix, 9, 0));
    /* no glyph for U+4E00: '?' (00111100) */
    CHECK(!lit(pix, 16, 0) && lit(pix, 18, 0) && lit(pix, 21, 1) && !lit(pix, 23, 1));
    CHECK(pix[3] == 0);         /* the X byte is written too */
    /* the cursor inverts its cell; underline lights the last row */
    cells[0].attr = DISPLAY_ATTR_UNDERLINE;
    display_sdl_text_draw(&f, cells, 3, &(struct display_rect){ 0, 0, 2, 1 }, pix, 24 * 4,
                          true, 1, 0);
    CHECK(lit(pix, 0, 1));
    CHECK(!lit(pix, 8, 0) && lit(pix, 9, 0));
    display_sdl_font_free(&f);
}

/* PSF 1, 256 glyphs of 8x4, no table: code points below 256 are glyphs. */
static void test_psf1(void)
{
    static uint8_t b[4 + 256 * 4];
    memset(b, 0, sizeof(b));
    b[0] = 0x36, b[1] = 0x04, b[2] = 0, b[3] = 4;
    b[4 + 'x' * 4 + 2] = 0x18;
    struct sdl_font f;
    CHECK(display_sdl_font_load(&f, write_file("b.psf", b, sizeof(b), true), NULL) == 0);
    CHECK_U64(f.n, 256);
    CHECK_U64(f.n_map, 0);
    struct display_cell c = { 'x', 7, 0, DISPLAY_ATTR_BOLD };
    uint8_t pix[8 * 4 * 4] = { 0 };
    display_sdl_text_draw(&f, &c, 1, &(struct display_rect){ 0, 0, 1, 1 }, pix, 8 * 4, false,
                          0, 0);
    CHECK(pix[(2 * 8 + 3) * 4] == 0xff && pix[(2 * 8 + 2) * 4] == 0);  /* bold: bright */
    display_sdl_font_free(&f);
    /* truncated glyphs */
    CHECK(display_sdl_font_load(&f, write_file("c.psf", b, 100, false), NULL) < 0);
}

/* Files that lie: each must be refused with a message naming the file. */
static void test_hostile(void)
{
    uint8_t b[128], c[128];
    size_t n = psf2(b);
    struct {
        const char *what;
        size_t off, len;
        uint32_t val;
    } lies[] = {
        { "header past the end", 8, 4, 0x10000 },
        { "glyph bytes against the size", 20, 4, 3 },
        { "no glyphs", 16, 4, 0 },
        { "2^31 glyphs", 16, 4, 0x80000000u },
        { "width 0", 28, 4, 0 },
        { "width 1000", 28, 4, 1000 },
        { "bad magic", 0, 1, 0x73 },
        { "bad UTF-8 in the table", 38, 1, 0xc0 },
        { "a table cut in a character", 46, 1, 0xe2 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(lies); i++) {
        memcpy(c, b, n);
        if (lies[i].len == 4)
            le32(c + lies[i].off, lies[i].val);
        else
            c[lies[i].off] = (uint8_t)lies[i].val;
        size_t len = n;
        if (i == ARRAY_SIZE(lies) - 1)
            len = 47;           /* "...0xe2" then the end */
        struct sdl_font f;
        struct error *err = NULL;
        int r = display_sdl_font_load(&f, write_file("bad.psf", c, len, false), &err);
        if (r >= 0)
            fprintf(stderr, "accepted: %s\n", lies[i].what);
        CHECK(r < 0);
        CHECK_CONTAINS(err_msg(err), "bad.psf");
        CHECK(f.glyphs == NULL && f.map == NULL);
        err_free(err);
    }
    struct sdl_font f;
    struct error *err = NULL;
    CHECK(display_sdl_font_load(&f, "/nonexistent/font.psf", &err) < 0);
    CHECK_CONTAINS(err_msg(err), "/nonexistent/font.psf");
    err_free(err);
    CHECK(display_sdl_font_load(&f, write_file("empty.psf", "", 0, false), NULL) < 0);
}

static void test_keys(void)
{
    char buf[8];
    size_t n = display_sdl_text_key(SDLK_RETURN, 0, buf, sizeof(buf));
    CHECK(n == 1 && buf[0] == '\r');
    n = display_sdl_text_key(SDLK_UP, 0, buf, sizeof(buf));
    CHECK(n == 3 && memcmp(buf, "\x1b[A", 3) == 0);
    n = display_sdl_text_key(SDLK_F12, 0, buf, sizeof(buf));
    CHECK(n == 5 && memcmp(buf, "\x1b[24~", 5) == 0);
    n = display_sdl_text_key(SDLK_c, KMOD_LCTRL, buf, sizeof(buf));
    CHECK(n == 1 && buf[0] == 3);
    CHECK(display_sdl_text_key(SDLK_c, 0, buf, sizeof(buf)) == 0);     /* text input */
    CHECK(display_sdl_text_key(SDLK_F12, 0, buf, 2) == 0);             /* no room */
    CHECK(display_sdl_key(SDL_SCANCODE_A) == 30);                      /* KEY_A */
    CHECK(display_sdl_key(SDL_SCANCODE_LCTRL) == 29);                  /* KEY_LEFTCTRL */
    CHECK(display_sdl_key(-1) == 0 && display_sdl_key(SDL_NUM_SCANCODES) == 0);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 99;
    }
    test_psf2(false);
    test_psf2(true);
    test_psf1();
    test_hostile();
    test_keys();
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return unit_result();
}
#else
int main(void)
{
    fprintf(stderr, "SKIP: this build has no SDL2\n");
    return 77;
}
#endif
