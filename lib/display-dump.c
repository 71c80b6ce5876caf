/* display-dump.c - a console's surface as a PNG (libpng) or PPM file:
 * the monitors' screendump (display.h). */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_LIBPNG
#include <png.h>
#endif
#include "display.h"
#include "i18n.h"

bool display_dump_supported(enum display_dump_format fmt)
{
#ifdef HAVE_LIBPNG
    (void)fmt;
    return true;
#else
    return fmt == DISPLAY_DUMP_PPM;
#endif
}

/* One row of BGRX as RGB. */
static void row_rgb(uint8_t *out, const uint8_t *in, uint32_t w)
{
    for (uint32_t x = 0; x < w; x++) {
        out[3 * x] = in[4 * x + 2];
        out[3 * x + 1] = in[4 * x + 1];
        out[3 * x + 2] = in[4 * x];
    }
}

static int write_ppm(FILE *f, const struct display_surface *s, uint8_t *row)
{
    if (fprintf(f, "P6\n%u %u\n255\n", s->width, s->height) < 0)
        return -EIO;
    for (uint32_t y = 0; y < s->height; y++) {
        row_rgb(row, s->pixels + (size_t)y * s->stride, s->width);
        if (fwrite(row, 3, s->width, f) != s->width)
            return -EIO;
    }
    return 0;
}

#ifdef HAVE_LIBPNG
/* libpng reports errors by longjmp; the surface is read under the
 * console's lock, which the caller releases whatever happens here. */
static int write_png(FILE *f, const struct display_surface *s, uint8_t *row)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    if (!png)
        return -ENOMEM;
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return -ENOMEM;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return -EIO;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, s->width, s->height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    /* screen contents compress well and quickly with the fast setting */
    png_set_compression_level(png, 1);
    png_write_info(png, info);
    for (uint32_t y = 0; y < s->height; y++) {
        row_rgb(row, s->pixels + (size_t)y * s->stride, s->width);
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return 0;
}
#endif

int display_screendump(struct display_console *c, const char *path,
                       enum display_dump_format fmt, struct error **errp)
{
    if (!display_dump_supported(fmt))
        return err_set(errp, ENOTSUP, _("%s: PNG screendumps need libpng, which this build "
                                        "lacks; use format ppm"), path);
    if (display_console_is_text(c))
        return err_set(errp, ENOTSUP, _("%s: console '%s' is a text console"), path,
                       display_console_label(c));
    /* no surface: fail before the file is created or truncated */
    const struct display_surface *s = display_read_begin(c);
    if (!s->width) {
        display_read_end(c);
        return err_set(errp, ENODEV, _("no surface"));
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        int e = errno;
        display_read_end(c);
        return err_set_errno(errp, e, _("failed to open file '%s'"), path);
    }
    int r;
    uint8_t *row = malloc((size_t)s->width * 3);
    if (!row) {
        r = err_set(errp, ENOMEM, _("out of memory"));
        goto out;
    }
#ifdef HAVE_LIBPNG
    r = fmt == DISPLAY_DUMP_PNG ? write_png(f, s, row) : write_ppm(f, s, row);
#else
    r = write_ppm(f, s, row);
#endif
    if (r < 0)
        err_set(errp, -r, _("%s: cannot write the screendump"), path);
out:
    display_read_end(c);
    free(row);
    if (fclose(f) != 0 && r == 0)
        r = err_set_errno(errp, errno, _("%s: cannot write the screendump"), path);
    if (r < 0)
        unlink(path);
    return r;
}
