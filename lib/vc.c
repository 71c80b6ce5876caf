/* vc.c - a terminal emulator on a text console (vc.h).
 *
 * The screen lives here (cells[], the cursor, the pen) and is copied to
 * the console at the end of each write: only the runs of cells that
 * changed (dirty_lo/hi per row), then the cursor, then one
 * display_flush, so that a back end hears of a write once, not once per
 * cell.  Bytes go through two small machines: a UTF-8 decoder (u_*) in
 * the ground state, and an escape-sequence parser (state, par[]), whose
 * every field is bounded: numbers stop growing at VC_PAR_MAX, parameters
 * past VC_PARAMS are dropped, and strings (OSC, DCS) are skipped without
 * being stored.
 */
#include <config.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vc.h"
#include "display.h"
#include "i18n.h"

#define VC_PARAMS 16
#define VC_PAR_MAX 65535
#define VC_TAB 8
#define VC_FG 7                 /* white on black, as a new console */
#define VC_BG 0

enum vc_state {
    S_GROUND,
    S_ESC,                      /* after ESC */
    S_ESC_INTER,                /* ESC and an intermediate byte: ESC ( 0 */
    S_CSI,                      /* ESC [ */
    S_STR,                      /* OSC, DCS, SOS, PM, APC: skipped up to ST or BEL */
    S_STR_ESC,                  /* ESC inside such a string */
};

struct vc_pen {
    uint8_t fg, bg, attr;
    bool reverse;
};

struct vc_saved {
    uint32_t x, y;
    struct vc_pen pen;
    uint8_t g[2];
    int gl;
};

struct vc {
    pthread_mutex_t lock;
    struct display_console *con;
    uint32_t cols, rows;
    struct display_cell *cells;
    uint16_t *dirty_lo, *dirty_hi;      /* per row: [lo, hi) changed since the last sync */

    uint32_t x, y;              /* the cursor */
    bool wrap_pending;          /* the last column was written: wrap before the next */
    bool cursor_visible;
    bool autowrap;
    uint32_t top, bottom;       /* the scroll region, rows top..bottom */
    struct vc_pen pen;
    uint8_t g[2];               /* G0, G1: 'B' (ASCII) or '0' (DEC line drawing) */
    int gl;                     /* which of them is in use (SO, SI) */
    struct vc_saved saved;

    /* UTF-8 decoder */
    uint32_t u_cp, u_min;
    int u_need;                 /* continuation bytes still to come */

    /* escape sequences */
    enum vc_state state;
    unsigned par[VC_PARAMS];
    int n_par;
    char priv;                  /* '?', '>', '=', '<' or 0 */
    char inter;                 /* the intermediate byte, or 0 */
    bool bad;                   /* malformed: consume, do not run */

    /* input for the front end: keys, then replies */
    uint8_t in[VC_INPUT_MAX];
    size_t in_len;
    bool in_added;              /* during a write: a reply to announce */
    vc_notify_fn *notify;
    void *notify_opaque;
};

/* ---- character widths ----
 * East Asian wide and fullwidth ranges (Unicode's EastAsianWidth W and F)
 * take two cells; combining marks and zero-width characters none (they
 * are dropped: a cell holds one code point).  A table of our own, not
 * wcwidth(), so that a vc looks the same whatever the locale. */
struct vc_range {
    uint32_t lo, hi;
};

static const struct vc_range zero_width[] = {
    { 0x0300, 0x036F }, { 0x0483, 0x0489 }, { 0x0591, 0x05BD }, { 0x0610, 0x061A },
    { 0x064B, 0x065F }, { 0x1AB0, 0x1AFF }, { 0x1DC0, 0x1DFF }, { 0x200B, 0x200F },
    { 0x202A, 0x202E }, { 0x2060, 0x2064 }, { 0x20D0, 0x20FF }, { 0xFE00, 0xFE0F },
    { 0xFE20, 0xFE2F }, { 0xFEFF, 0xFEFF }, { 0xE0100, 0xE01EF },
};

static const struct vc_range wide[] = {
    { 0x1100, 0x115F }, { 0x231A, 0x231B }, { 0x2329, 0x232A }, { 0x23E9, 0x23EC },
    { 0x23F0, 0x23F0 }, { 0x23F3, 0x23F3 }, { 0x25FD, 0x25FE }, { 0x2614, 0x2615 },
    { 0x2648, 0x2653 }, { 0x267F, 0x267F }, { 0x2693, 0x2693 }, { 0x26A1, 0x26A1 },
    { 0x26AA, 0x26AB }, { 0x26BD, 0x26BE }, { 0x26C4, 0x26C5 }, { 0x26CE, 0x26CE },
    { 0x26D4, 0x26D4 }, { 0x26EA, 0x26EA }, { 0x26F2, 0x26F3 }, { 0x26F5, 0x26F5 },
    { 0x26FA, 0x26FA }, { 0x26FD, 0x26FD }, { 0x2705, 0x2705 }, { 0x270A, 0x270B },
    { 0x2728, 0x2728 }, { 0x274C, 0x274C }, { 0x274E, 0x274E }, { 0x2753, 0x2755 },
    { 0x2757, 0x2757 }, { 0x2795, 0x2797 }, { 0x27B0, 0x27B0 }, { 0x27BF, 0x27BF },
    { 0x2B1B, 0x2B1C }, { 0x2B50, 0x2B50 }, { 0x2B55, 0x2B55 }, { 0x2E80, 0x303E },
    { 0x3041, 0x33FF }, { 0x3400, 0x4DBF }, { 0x4E00, 0x9FFF }, { 0xA000, 0xA4CF },
    { 0xA960, 0xA97F }, { 0xAC00, 0xD7A3 }, { 0xF900, 0xFAFF }, { 0xFE10, 0xFE19 },
    { 0xFE30, 0xFE6F }, { 0xFF00, 0xFF60 }, { 0xFFE0, 0xFFE6 }, { 0x16FE0, 0x16FE4 },
    { 0x17000, 0x18CFF }, { 0x1B000, 0x1B2FF }, { 0x1F004, 0x1F004 }, { 0x1F0CF, 0x1F0CF },
    { 0x1F18E, 0x1F18E }, { 0x1F191, 0x1F19A }, { 0x1F200, 0x1F251 }, { 0x1F300, 0x1F64F },
    { 0x1F680, 0x1F6FF }, { 0x1F7E0, 0x1F7EB }, { 0x1F900, 0x1F9FF }, { 0x1FA70, 0x1FAFF },
    { 0x20000, 0x2FFFD }, { 0x30000, 0x3FFFD },
};

static bool in_ranges(uint32_t cp, const struct vc_range *r, size_t n)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < r[mid].lo)
            hi = mid;
        else if (cp > r[mid].hi)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

static int char_width(uint32_t cp)
{
    if (cp < 0x300)
        return 1;
    if (in_ranges(cp, zero_width, ARRAY_SIZE(zero_width)))
        return 0;
    return in_ranges(cp, wide, ARRAY_SIZE(wide)) ? 2 : 1;
}

/* DEC special graphics for 0x5f..0x7e (ESC ( 0): the line-drawing set. */
static const uint16_t dec_graphics[32] = {
    0x00A0, 0x25C6, 0x2592, 0x2409, 0x240C, 0x240D, 0x240A, 0x00B0,
    0x00B1, 0x2424, 0x240B, 0x2518, 0x2510, 0x250C, 0x2514, 0x253C,
    0x23BA, 0x23BB, 0x2500, 0x23BC, 0x23BD, 0x251C, 0x2524, 0x2534,
    0x252C, 0x2502, 0x2264, 0x2265, 0x03C0, 0x2260, 0x00A3, 0x00B7,
};

/* ---- the screen ---- */

static struct display_cell *cell_at(struct vc *v, uint32_t x, uint32_t y)
{
    return &v->cells[(size_t)y * v->cols + x];
}

/* Cells [X0, X1) of row Y changed. */
static void mark(struct vc *v, uint32_t x0, uint32_t x1, uint32_t y)
{
    if (x0 >= x1)
        return;
    if (v->dirty_lo[y] >= v->dirty_hi[y]) {
        v->dirty_lo[y] = (uint16_t)x0;
        v->dirty_hi[y] = (uint16_t)x1;
        return;
    }
    v->dirty_lo[y] = (uint16_t)MIN(v->dirty_lo[y], x0);
    v->dirty_hi[y] = (uint16_t)MAX(v->dirty_hi[y], x1);
}

static void mark_rows(struct vc *v, uint32_t y0, uint32_t y1)
{
    for (uint32_t y = y0; y <= y1 && y < v->rows; y++)
        mark(v, 0, v->cols, y);
}

/* An erased cell: blank in the pen's colours (background colour erase,
 * as xterm and Linux's console do). */
static struct display_cell blank(const struct vc *v)
{
    return (struct display_cell){ ' ', v->pen.fg, v->pen.bg, 0 };
}

static void erase(struct vc *v, uint32_t x0, uint32_t x1, uint32_t y)
{
    struct display_cell b = blank(v);
    x1 = MIN(x1, v->cols);
    for (uint32_t x = x0; x < x1; x++)
        *cell_at(v, x, y) = b;
    mark(v, x0, x1, y);
}

/* Rows TOP..BOT move up by N; N blank rows come in at the bottom. */
static void scroll_up(struct vc *v, uint32_t top, uint32_t bot, uint32_t n)
{
    if (top > bot || bot >= v->rows)
        return;
    n = MIN(n, bot - top + 1);
    size_t row = v->cols * sizeof(*v->cells);
    memmove(cell_at(v, 0, top), cell_at(v, 0, top + n), (size_t)(bot - top + 1 - n) * row);
    for (uint32_t y = bot + 1 - n; y <= bot; y++)
        erase(v, 0, v->cols, y);
    mark_rows(v, top, bot);
}

/* Rows TOP..BOT move down by N; N blank rows come in at the top. */
static void scroll_down(struct vc *v, uint32_t top, uint32_t bot, uint32_t n)
{
    if (top > bot || bot >= v->rows)
        return;
    n = MIN(n, bot - top + 1);
    size_t row = v->cols * sizeof(*v->cells);
    memmove(cell_at(v, 0, top + n), cell_at(v, 0, top), (size_t)(bot - top + 1 - n) * row);
    for (uint32_t y = top; y < top + n; y++)
        erase(v, 0, v->cols, y);
    mark_rows(v, top, bot);
}

static void linefeed(struct vc *v)
{
    if (v->y == v->bottom)
        scroll_up(v, v->top, v->bottom, 1);
    else if (v->y + 1 < v->rows)
        v->y++;
}

static void reverse_index(struct vc *v)
{
    if (v->y == v->top)
        scroll_down(v, v->top, v->bottom, 1);
    else if (v->y > 0)
        v->y--;
}

/* Writing over half of a double-width character blanks its other half. */
static void split_wide(struct vc *v, uint32_t x, uint32_t y)
{
    struct display_cell *c = cell_at(v, x, y);
    if (c->ch == 0 && x > 0 && cell_at(v, x - 1, y)->ch != 0) {
        cell_at(v, x - 1, y)->ch = ' ';
        mark(v, x - 1, x, y);
    }
    if (c->ch != 0 && x + 1 < v->cols && cell_at(v, x + 1, y)->ch == 0) {
        cell_at(v, x + 1, y)->ch = ' ';
        mark(v, x + 1, x + 2, y);
    }
}

static void put_char(struct vc *v, uint32_t cp)
{
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
        return;                 /* C1 controls, as UTF-8: nothing to show */
    if (v->g[v->gl] == '0' && cp >= 0x5f && cp <= 0x7e)
        cp = dec_graphics[cp - 0x5f];
    int w = char_width(cp);
    if (w == 0)
        return;
    if (w == 2 && v->cols < 2) {
        cp = 0xFFFD;
        w = 1;
    }
    if (v->wrap_pending && v->autowrap) {
        v->x = 0;
        linefeed(v);
    }
    v->wrap_pending = false;
    if (w == 2 && v->x + 1 >= v->cols) {
        /* no room for both halves on this line */
        if (!v->autowrap)
            v->x = v->cols - 2;
        else {
            split_wide(v, v->x, v->y);
            erase(v, v->x, v->cols, v->y);
            v->x = 0;
            linefeed(v);
        }
    }
    struct display_cell c = { cp, v->pen.fg, v->pen.bg, v->pen.attr };
    if (v->pen.reverse) {
        c.fg = v->pen.bg;
        c.bg = v->pen.fg;
    }
    split_wide(v, v->x, v->y);
    *cell_at(v, v->x, v->y) = c;
    if (w == 2) {
        split_wide(v, v->x + 1, v->y);
        c.ch = 0;
        *cell_at(v, v->x + 1, v->y) = c;
    }
    mark(v, v->x, v->x + (uint32_t)w, v->y);
    if (v->x + (uint32_t)w >= v->cols) {
        v->x = v->cols - 1;
        v->wrap_pending = v->autowrap;
    } else {
        v->x += (uint32_t)w;
    }
}

/* ---- input for the front end ---- */

static void input_add_locked(struct vc *v, const uint8_t *buf, size_t len)
{
    size_t n = MIN(len, sizeof(v->in) - v->in_len);
    memcpy(v->in + v->in_len, buf, n);
    v->in_len += n;
    if (n)
        v->in_added = true;
}

static void reply(struct vc *v, const char *s)
{
    input_add_locked(v, (const uint8_t *)s, strlen(s));
}

/* ---- control characters and sequences ---- */

static void reset(struct vc *v)
{
    v->x = v->y = 0;
    v->wrap_pending = false;
    v->cursor_visible = true;
    v->autowrap = true;
    v->top = 0;
    v->bottom = v->rows - 1;
    v->pen = (struct vc_pen){ VC_FG, VC_BG, 0, false };
    v->g[0] = v->g[1] = 'B';
    v->gl = 0;
    v->saved = (struct vc_saved){ 0, 0, v->pen, { 'B', 'B' }, 0 };
    v->u_need = 0;
    v->state = S_GROUND;
}

static void save_cursor(struct vc *v)
{
    v->saved = (struct vc_saved){ v->x, v->y, v->pen, { v->g[0], v->g[1] }, v->gl };
}

static void restore_cursor(struct vc *v)
{
    v->x = MIN(v->saved.x, v->cols - 1);
    v->y = MIN(v->saved.y, v->rows - 1);
    v->pen = v->saved.pen;
    v->g[0] = v->saved.g[0];
    v->g[1] = v->saved.g[1];
    v->gl = v->saved.gl;
    v->wrap_pending = false;
}

static void control(struct vc *v, uint8_t b)
{
    switch (b) {
    case '\b':
        v->wrap_pending = false;
        if (v->x > 0)
            v->x--;
        break;
    case '\t':
        v->wrap_pending = false;
        v->x = MIN((v->x / VC_TAB + 1) * VC_TAB, v->cols - 1);
        break;
    case '\n':
    case '\v':
    case '\f':
        v->wrap_pending = false;
        linefeed(v);
        break;
    case '\r':
        v->wrap_pending = false;
        v->x = 0;
        break;
    case 0x0e:                  /* SO */
        v->gl = 1;
        break;
    case 0x0f:                  /* SI */
        v->gl = 0;
        break;
    default:                    /* BEL and the rest: nothing to show */
        break;
    }
}

/* Parameter I, or DEF when absent or 0 (as VT100s count 0 as 1). */
static uint32_t arg(const struct vc *v, int i, uint32_t def)
{
    return i < v->n_par && v->par[i] ? v->par[i] : def;
}

/* A colour of xterm's 256 (38;5;N) as one of our 16. */
static uint8_t colour256(unsigned n)
{
    if (n < 16)
        return (uint8_t)n;
    if (n >= 232)
        return n < 238 ? 0 : n < 244 ? 8 : n < 250 ? 7 : 15;
    n -= 16;
    unsigned r = n / 36, g = n / 6 % 6, b = n % 6;
    uint8_t c = (uint8_t)((r >= 3) | (g >= 3) << 1 | (b >= 3) << 2);
    if (c == 0 && (r | g | b))
        return 8;
    return (uint8_t)(c | ((r >= 4 || g >= 4 || b >= 4) && c != 7 ? 8 : 0));
}

static void sgr(struct vc *v)
{
    if (v->n_par == 0) {
        v->pen = (struct vc_pen){ VC_FG, VC_BG, 0, false };
        return;
    }
    for (int i = 0; i < v->n_par; i++) {
        unsigned p = v->par[i];
        switch (p) {
        case 0:
            v->pen = (struct vc_pen){ VC_FG, VC_BG, 0, false };
            break;
        case 1:
            v->pen.attr |= DISPLAY_ATTR_BOLD;
            break;
        case 4:
            v->pen.attr |= DISPLAY_ATTR_UNDERLINE;
            break;
        case 7:
            v->pen.reverse = true;
            break;
        case 22:
            v->pen.attr &= (uint8_t)~DISPLAY_ATTR_BOLD;
            break;
        case 24:
            v->pen.attr &= (uint8_t)~DISPLAY_ATTR_UNDERLINE;
            break;
        case 27:
            v->pen.reverse = false;
            break;
        case 38:
        case 48: {
            /* 38;5;N (of 256) or 38;2;R;G;B: the parameters are eaten
             * whether or not they are all there */
            uint8_t c = p == 38 ? VC_FG : VC_BG;
            if (i + 2 < v->n_par && v->par[i + 1] == 5) {
                c = colour256(v->par[i + 2]);
                i += 2;
            } else if (i + 4 < v->n_par && v->par[i + 1] == 2) {
                unsigned r = v->par[i + 2], g = v->par[i + 3], b = v->par[i + 4];
                c = (uint8_t)((r >= 128) | (g >= 128) << 1 | (b >= 128) << 2);
                if (r >= 192 || g >= 192 || b >= 192)
                    c |= 8;
                i += 4;
            } else {
                i = v->n_par;
                break;
            }
            if (p == 38)
                v->pen.fg = c;
            else
                v->pen.bg = c;
            break;
        }
        case 39:
            v->pen.fg = VC_FG;
            break;
        case 49:
            v->pen.bg = VC_BG;
            break;
        default:
            if (p >= 30 && p <= 37)
                v->pen.fg = (uint8_t)(p - 30);
            else if (p >= 40 && p <= 47)
                v->pen.bg = (uint8_t)(p - 40);
            else if (p >= 90 && p <= 97)
                v->pen.fg = (uint8_t)(p - 90 + 8);
            else if (p >= 100 && p <= 107)
                v->pen.bg = (uint8_t)(p - 100 + 8);
            break;          /* blink, italics, fonts...: not shown */
        }
    }
}

static void private_mode(struct vc *v, bool on)
{
    for (int i = 0; i < v->n_par; i++) {
        if (v->par[i] == 25)
            v->cursor_visible = on;
        else if (v->par[i] == 7)
            v->autowrap = on;
    }
}

static void csi_dispatch(struct vc *v, uint8_t final)
{
    if (v->priv == '?') {
        if (final == 'h' || final == 'l')
            private_mode(v, final == 'h');
        return;
    }
    if (v->priv || v->inter)
        return;                 /* secondary DA, cursor styles...: not ours */
    uint32_t n = arg(v, 0, 1);
    uint32_t lim;
    bool moved = true;
    switch (final) {
    case 'A':                   /* up, stopping at the top margin when below it */
        lim = v->y >= v->top ? v->top : 0;
        v->y = v->y - lim > n ? v->y - n : lim;
        break;
    case 'B':                   /* down */
    case 'e':
        lim = v->y <= v->bottom ? v->bottom : v->rows - 1;
        v->y = lim - v->y > n ? v->y + n : lim;
        break;
    case 'C':                   /* right */
    case 'a':
        v->x = v->cols - 1 - v->x > n ? v->x + n : v->cols - 1;
        break;
    case 'D':                   /* left */
        v->x = v->x > n ? v->x - n : 0;
        break;
    case 'E':                   /* down, column 1 */
        lim = v->y <= v->bottom ? v->bottom : v->rows - 1;
        v->y = lim - v->y > n ? v->y + n : lim;
        v->x = 0;
        break;
    case 'F':                   /* up, column 1 */
        lim = v->y >= v->top ? v->top : 0;
        v->y = v->y - lim > n ? v->y - n : lim;
        v->x = 0;
        break;
    case 'G':                   /* column */
    case '`':
        v->x = MIN(n, v->cols) - 1;
        break;
    case 'd':                   /* row */
        v->y = MIN(n, v->rows) - 1;
        break;
    case 'H':                   /* row;column */
    case 'f':
        v->y = MIN(n, v->rows) - 1;
        v->x = MIN(arg(v, 1, 1), v->cols) - 1;
        break;
    case 'I':                   /* forward N tab stops */
        n = MIN(n, v->cols);
        while (n-- && v->x < v->cols - 1)
            v->x = MIN((v->x / VC_TAB + 1) * VC_TAB, v->cols - 1);
        break;
    case 'Z':                   /* back N tab stops */
        n = MIN(n, v->cols);
        while (n-- && v->x > 0)
            v->x = (v->x - 1) / VC_TAB * VC_TAB;
        break;
    case 'J':                   /* erase in display: 0 below, 1 above, 2/3 all */
        switch (arg(v, 0, 0)) {
        case 0:
            erase(v, v->x, v->cols, v->y);
            for (uint32_t y = v->y + 1; y < v->rows; y++)
                erase(v, 0, v->cols, y);
            break;
        case 1:
            for (uint32_t y = 0; y < v->y; y++)
                erase(v, 0, v->cols, y);
            erase(v, 0, v->x + 1, v->y);
            break;
        case 2:
        case 3:
            for (uint32_t y = 0; y < v->rows; y++)
                erase(v, 0, v->cols, y);
            break;
        }
        moved = false;
        break;
    case 'K':                   /* erase in line: 0 right, 1 left, 2 all */
        switch (arg(v, 0, 0)) {
        case 0:
            erase(v, v->x, v->cols, v->y);
            break;
        case 1:
            erase(v, 0, v->x + 1, v->y);
            break;
        case 2:
            erase(v, 0, v->cols, v->y);
            break;
        }
        moved = false;
        break;
    case 'X':                   /* erase N characters */
        erase(v, v->x, v->x + MIN(n, v->cols), v->y);
        moved = false;
        break;
    case '@':                   /* insert N blanks */
    case 'P': {                 /* delete N characters */
        n = MIN(n, v->cols - v->x);
        uint32_t keep = v->cols - v->x - n;
        struct display_cell *c = cell_at(v, v->x, v->y);
        if (final == '@') {
            memmove(c + n, c, keep * sizeof(*c));
            erase(v, v->x, v->x + n, v->y);
        } else {
            memmove(c, c + n, keep * sizeof(*c));
            erase(v, v->cols - n, v->cols, v->y);
        }
        mark(v, v->x, v->cols, v->y);
        break;
    }
    case 'L':                   /* insert N lines */
    case 'M':                   /* delete N lines */
        if (v->y >= v->top && v->y <= v->bottom) {
            if (final == 'L')
                scroll_down(v, v->y, v->bottom, n);
            else
                scroll_up(v, v->y, v->bottom, n);
            v->x = 0;
        }
        break;
    case 'S':                   /* scroll up */
        scroll_up(v, v->top, v->bottom, n);
        moved = false;
        break;
    case 'T':                   /* scroll down (with more parameters: mouse tracking) */
        if (v->n_par <= 1)
            scroll_down(v, v->top, v->bottom, n);
        moved = false;
        break;
    case 'm':
        sgr(v);
        moved = false;
        break;
    case 'r': {                 /* scroll region top;bottom */
        uint32_t t = arg(v, 0, 1), b = arg(v, 1, v->rows);
        if (t < b && b <= v->rows) {
            v->top = t - 1;
            v->bottom = b - 1;
            v->x = v->y = 0;
        }
        break;
    }
    case 's':
        save_cursor(v);
        moved = false;
        break;
    case 'u':
        restore_cursor(v);
        break;
    case 'n': {                 /* status reports */
        char buf[32];
        if (arg(v, 0, 0) == 5) {
            reply(v, "\033[0n");
        } else if (arg(v, 0, 0) == 6) {
            snprintf(buf, sizeof(buf), "\033[%u;%uR", v->y + 1, v->x + 1);
            reply(v, buf);
        }
        moved = false;
        break;
    }
    case 'c':                   /* device attributes: a VT102 */
        if (arg(v, 0, 0) == 0)
            reply(v, "\033[?6c");
        moved = false;
        break;
    default:
        moved = false;          /* modes (h, l), tab stops (g), windows (t)... */
        break;
    }
    if (moved)
        v->wrap_pending = false;
}

static void esc_dispatch(struct vc *v, uint8_t b)
{
    v->state = S_GROUND;
    switch (b) {
    case '[':
        memset(v->par, 0, sizeof(v->par));
        v->n_par = 0;
        v->priv = v->inter = 0;
        v->bad = false;
        v->state = S_CSI;
        break;
    case ']':
    case 'P':
    case 'X':
    case '^':
    case '_':
        v->state = S_STR;
        break;
    case '7':
        save_cursor(v);
        break;
    case '8':
        restore_cursor(v);
        break;
    case 'D':
        v->wrap_pending = false;
        linefeed(v);
        break;
    case 'E':
        v->wrap_pending = false;
        v->x = 0;
        linefeed(v);
        break;
    case 'M':
        v->wrap_pending = false;
        reverse_index(v);
        break;
    case 'c':
        reset(v);
        for (uint32_t y = 0; y < v->rows; y++)
            erase(v, 0, v->cols, y);
        break;
    default:
        if (b >= 0x20 && b <= 0x2f) {
            v->inter = (char)b;
            v->state = S_ESC_INTER;
        }
        break;                  /* keypad modes, tab set...: nothing to do */
    }
}

static void esc_inter_dispatch(struct vc *v, uint8_t b)
{
    if (b >= 0x20 && b <= 0x2f)
        return;                 /* more intermediates: still the same sequence */
    v->state = S_GROUND;
    if (v->inter == '(' || v->inter == ')')
        v->g[v->inter == ')'] = b == '0' ? '0' : 'B';
    else if (v->inter == '#' && b == '8') {
        /* DECALN: the screen full of E */
        for (uint32_t y = 0; y < v->rows; y++) {
            for (uint32_t x = 0; x < v->cols; x++)
                *cell_at(v, x, y) = (struct display_cell){ 'E', VC_FG, VC_BG, 0 };
            mark(v, 0, v->cols, y);
        }
    }
}

static void csi_byte(struct vc *v, uint8_t b)
{
    if (b >= '0' && b <= '9') {
        if (v->inter)
            v->bad = true;
        if (v->n_par == 0)
            v->n_par = 1;
        unsigned *p = &v->par[v->n_par - 1];
        *p = *p * 10 + (b - '0');
        if (*p > VC_PAR_MAX)
            *p = VC_PAR_MAX;
    } else if (b == ';' || b == ':') {
        if (v->inter)
            v->bad = true;
        if (v->n_par == 0)
            v->n_par = 1;
        if (v->n_par < VC_PARAMS)
            v->par[v->n_par++] = 0;
        else
            v->bad = true;      /* too many to keep: the sequence is not run */
    } else if (b >= 0x3c && b <= 0x3f) {
        if (v->n_par || v->priv || v->inter)
            v->bad = true;
        else
            v->priv = (char)b;
    } else if (b >= 0x20 && b <= 0x2f) {
        v->inter = (char)b;
    } else if (b >= 0x40 && b <= 0x7e) {
        v->state = S_GROUND;
        if (!v->bad)
            csi_dispatch(v, b);
    }
}

static void feed(struct vc *v, uint8_t b)
{
    if (v->state == S_STR || v->state == S_STR_ESC) {
        /* skipped up to ST (ESC \) or BEL; CAN and SUB cancel it */
        if (v->state == S_STR_ESC && b != 0x1b) {
            v->state = S_GROUND;
            if (b == '\\')
                return;
            v->state = S_ESC;   /* the ESC began something else */
        } else if (b == 0x1b) {
            v->state = S_STR_ESC;
            return;
        } else {
            if (b == 0x07 || b == 0x18 || b == 0x1a)
                v->state = S_GROUND;
            return;
        }
    }
    if (v->u_need) {
        if ((b & 0xc0) == 0x80) {
            v->u_cp = v->u_cp << 6 | (b & 0x3f);
            if (--v->u_need == 0) {
                uint32_t cp = v->u_cp;
                if (cp < v->u_min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                    cp = 0xfffd;
                put_char(v, cp);
            }
            return;
        }
        /* a sequence cut short: one replacement, then B on its own */
        v->u_need = 0;
        put_char(v, 0xfffd);
    }
    if (b >= 0x80) {
        v->state = S_GROUND;    /* no 8-bit byte belongs in a sequence */
        if (b >= 0xc2 && b <= 0xdf) {
            v->u_need = 1, v->u_cp = b & 0x1f, v->u_min = 0x80;
        } else if (b >= 0xe0 && b <= 0xef) {
            v->u_need = 2, v->u_cp = b & 0x0f, v->u_min = 0x800;
        } else if (b >= 0xf0 && b <= 0xf4) {
            v->u_need = 3, v->u_cp = b & 0x07, v->u_min = 0x10000;
        } else {
            put_char(v, 0xfffd);        /* a stray continuation, 0xc0, 0xc1, 0xf5.. */
        }
        return;
    }
    if (b == 0x1b) {
        v->state = S_ESC;
        return;
    }
    if (b == 0x18 || b == 0x1a) {
        v->state = S_GROUND;
        return;
    }
    if (b < 0x20) {
        control(v, b);          /* also in the middle of a sequence, as a VT100 */
        return;
    }
    if (b == 0x7f)
        return;
    switch (v->state) {
    case S_GROUND:
        put_char(v, b);
        break;
    case S_ESC:
        esc_dispatch(v, b);
        break;
    case S_ESC_INTER:
        esc_inter_dispatch(v, b);
        break;
    case S_CSI:
        csi_byte(v, b);
        break;
    case S_STR:
    case S_STR_ESC:
        break;
    }
}

/* Hand what changed to the console, then let the back ends know. */
static void sync_locked(struct vc *v)
{
    for (uint32_t y = 0; y < v->rows; y++) {
        if (v->dirty_lo[y] < v->dirty_hi[y])
            display_text_write(v->con, v->dirty_lo[y], y, cell_at(v, v->dirty_lo[y], y),
                               (uint32_t)(v->dirty_hi[y] - v->dirty_lo[y]));
        v->dirty_lo[y] = v->dirty_hi[y] = 0;
    }
    display_text_cursor(v->con, v->x, v->y, v->cursor_visible);
    display_flush(v->con);
}

void vc_write(struct vc *v, const uint8_t *buf, size_t len)
{
    pthread_mutex_lock(&v->lock);
    for (size_t i = 0; i < len; i++)
        feed(v, buf[i]);
    sync_locked(v);
    bool added = v->in_added;
    v->in_added = false;
    vc_notify_fn *fn = v->notify;
    void *opaque = v->notify_opaque;
    pthread_mutex_unlock(&v->lock);
    if (added && fn)
        fn(opaque);
}

/* The back end's keyboard (loop thread, console mutex not held). */
static void on_keys(void *opaque, const uint8_t *buf, size_t len)
{
    struct vc *v = opaque;
    pthread_mutex_lock(&v->lock);
    input_add_locked(v, buf, len);
    bool added = v->in_added;
    v->in_added = false;
    vc_notify_fn *fn = v->notify;
    void *nopaque = v->notify_opaque;
    pthread_mutex_unlock(&v->lock);
    if (added && fn)
        fn(nopaque);
}

void vc_set_notify(struct vc *v, vc_notify_fn *fn, void *opaque)
{
    pthread_mutex_lock(&v->lock);
    v->notify = fn;
    v->notify_opaque = opaque;
    pthread_mutex_unlock(&v->lock);
}

size_t vc_read_input(struct vc *v, uint8_t *buf, size_t max)
{
    pthread_mutex_lock(&v->lock);
    size_t n = MIN(max, v->in_len);
    memcpy(buf, v->in, n);
    memmove(v->in, v->in + n, v->in_len - n);
    v->in_len -= n;
    pthread_mutex_unlock(&v->lock);
    return n;
}

struct display_console *vc_console(struct vc *v)
{
    return v->con;
}

/* One number of a size, optionally followed by SUFFIX ('C' for cells). */
static bool size_part(const char **p, uint32_t *val, bool *cells)
{
    const char *s = *p;
    uint32_t n = 0;
    if (*s < '0' || *s > '9')
        return false;
    while (*s >= '0' && *s <= '9') {
        n = n * 10 + (uint32_t)(*s++ - '0');
        if (n > 1000000)
            return false;
    }
    *cells = *s == 'C' || *s == 'c';
    if (*cells)
        s++;
    *val = n;
    *p = s;
    return true;
}

int vc_parse_size(const char *spec, uint32_t *cols, uint32_t *rows, struct error **errp)
{
    *cols = VC_DEFAULT_COLS;
    *rows = VC_DEFAULT_ROWS;
    if (!*spec)
        return 0;
    const char *p = spec;
    uint32_t w, h;
    bool wc, hc;
    if (!size_part(&p, &w, &wc) || (*p != 'x' && *p != 'X'))
        goto bad;
    p++;
    if (!size_part(&p, &h, &hc) || *p)
        goto bad;
    /* pixels: qemu's text consoles draw 8 x 16 cells */
    w = wc ? w : w / 8;
    h = hc ? h : h / 16;
    if (w < 1 || h < 1 || w > VC_MAX_SIDE || h > VC_MAX_SIDE)
        return err_set(errp, EINVAL, _("vc:%s: the size must be 1 to %d cells each way"), spec,
                       VC_MAX_SIDE);
    *cols = w;
    *rows = h;
    return 0;
bad:
    return err_set(errp, EINVAL,
                   _("vc:%s: expected WIDTHxHEIGHT in pixels, or COLSCxROWSC in cells"), spec);
}

int vc_new(struct vc **out, const char *label, uint32_t cols, uint32_t rows,
           struct error **errp)
{
    *out = NULL;
    if (cols < 1 || rows < 1 || cols > VC_MAX_SIDE || rows > VC_MAX_SIDE)
        return err_set(errp, EINVAL, _("%s: the size must be 1 to %d cells each way"), label,
                       VC_MAX_SIDE);
    struct vc *v = calloc(1, sizeof(*v));
    if (!v)
        return err_set(errp, ENOMEM, _("out of memory"));
    pthread_mutex_init(&v->lock, NULL);
    v->cols = cols;
    v->rows = rows;
    v->cells = calloc((size_t)cols * rows, sizeof(*v->cells));
    v->dirty_lo = calloc(rows, sizeof(*v->dirty_lo));
    v->dirty_hi = calloc(rows, sizeof(*v->dirty_hi));
    if (!v->cells || !v->dirty_lo || !v->dirty_hi) {
        vc_free(v);
        return err_set(errp, ENOMEM, _("out of memory"));
    }
    reset(v);
    for (uint32_t y = 0; y < rows; y++)
        erase(v, 0, cols, y);
    int r = display_console_new(&v->con, label, 0, true, errp);
    if (r == 0)
        r = display_text_resize(v->con, cols, rows, errp);
    if (r < 0) {
        vc_free(v);
        return r;
    }
    display_set_text_input(v->con, on_keys, v);
    *out = v;
    return 0;
}

void vc_free(struct vc *v)
{
    if (!v)
        return;
    if (v->con) {
        display_set_text_input(v->con, NULL, NULL);
        display_console_free(v->con);
    }
    pthread_mutex_destroy(&v->lock);
    free(v->cells);
    free(v->dirty_lo);
    free(v->dirty_hi);
    free(v);
}
