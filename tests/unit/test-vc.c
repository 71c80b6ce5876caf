/* test-vc.c - lib/vc.c, the terminal emulator of the "vc" chardev: what
 * the sequences a serial console, busybox's shell and the monitor send
 * leave in the cells and where they leave the cursor; UTF-8 (invalid
 * bytes as U+FFFD, sequences split across writes); status reports and
 * keys on the input side; the "vc" chardev end to end (a front end gets
 * the keys, at its pace); and random bytes, which must leave every cell
 * and the cursor valid (run under ASan for the memory side). */
#include <config.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "chardev.h"
#include "display.h"
#include "hw/hw.h"
#include "vc.h"
#include "unit.h"

static struct vc *mk(uint32_t cols, uint32_t rows)
{
    struct vc *v = NULL;
    struct error *err = NULL;
    CHECK(vc_new(&v, "test", cols, rows, &err) == 0);
    if (err)
        fprintf(stderr, "vc_new: %s\n", err_msg(err));
    err_free(err);
    return v;
}

static void wr(struct vc *v, const char *s)
{
    vc_write(v, (const uint8_t *)s, strlen(s));
}

static struct display_cell cell(struct vc *v, uint32_t x, uint32_t y)
{
    uint32_t cols, rows;
    const struct display_cell *c = display_text_read_begin(vc_console(v), &cols, &rows);
    struct display_cell r = { 0xdead, 99, 99, 99 };
    if (c && x < cols && y < rows)
        r = c[(size_t)y * cols + x];
    display_read_end(vc_console(v));
    return r;
}

/* Row Y as UTF-8, trailing blanks cut; the right half of a wide
 * character (0) is left out. */
static const char *row(struct vc *v, uint32_t y)
{
    static char buf[4096];
    uint32_t cols, rows;
    size_t n = 0;
    const struct display_cell *c = display_text_read_begin(vc_console(v), &cols, &rows);
    for (uint32_t x = 0; c && y < rows && x < cols && n + 5 < sizeof(buf); x++) {
        uint32_t ch = c[(size_t)y * cols + x].ch;
        if (ch == 0)
            continue;
        if (ch < 0x80) {
            buf[n++] = (char)ch;
        } else if (ch < 0x800) {
            buf[n++] = (char)(0xc0 | ch >> 6);
            buf[n++] = (char)(0x80 | (ch & 0x3f));
        } else if (ch < 0x10000) {
            buf[n++] = (char)(0xe0 | ch >> 12);
            buf[n++] = (char)(0x80 | (ch >> 6 & 0x3f));
            buf[n++] = (char)(0x80 | (ch & 0x3f));
        } else {
            buf[n++] = (char)(0xf0 | ch >> 18);
            buf[n++] = (char)(0x80 | (ch >> 12 & 0x3f));
            buf[n++] = (char)(0x80 | (ch >> 6 & 0x3f));
            buf[n++] = (char)(0x80 | (ch & 0x3f));
        }
    }
    display_read_end(vc_console(v));
    while (n && buf[n - 1] == ' ')
        n--;
    buf[n] = 0;
    return buf;
}

#define ROW(v, y, want)                                                      \
    do {                                                                     \
        const char *got_ = row(v, y);                                        \
        if (strcmp(got_, want) != 0)                                         \
            fprintf(stderr, "row %d: '%s', expected '%s'\n", (int)(y), got_, \
                    want);                                                   \
        CHECK(strcmp(got_, want) == 0);                                      \
    } while (0)

static bool cursor(struct vc *v, uint32_t *x, uint32_t *y)
{
    uint32_t cols, rows;
    display_text_read_begin(vc_console(v), &cols, &rows);
    bool vis = display_text_cursor_locked(vc_console(v), x, y);
    display_read_end(vc_console(v));
    return vis;
}

#define AT(v, cx, cy)                                                        \
    do {                                                                     \
        uint32_t x_, y_;                                                     \
        cursor(v, &x_, &y_);                                                 \
        if (x_ != (cx) || y_ != (cy))                                        \
            fprintf(stderr, "cursor at %u,%u, expected %u,%u\n", x_, y_,     \
                    (unsigned)(cx), (unsigned)(cy));                         \
        CHECK(x_ == (cx) && y_ == (cy));                                     \
    } while (0)

static void test_text(void)
{
    struct vc *v = mk(20, 5);
    wr(v, "hello\r\nworld");
    ROW(v, 0, "hello");
    ROW(v, 1, "world");
    AT(v, 5, 1);
    /* LF alone goes down, not back */
    wr(v, "\nx");
    ROW(v, 2, "     x");
    /* BS, TAB */
    wr(v, "\rab\bc\tT");
    ROW(v, 2, "ac   x  T");
    AT(v, 9, 2);
    /* BEL and other controls show nothing */
    wr(v, "\a\x01\x7f");
    AT(v, 9, 2);
    ROW(v, 2, "ac   x  T");
    /* scrolling: two more lines than the screen */
    wr(v, "\r\n3\r\n4\r\n5");
    ROW(v, 0, "world");
    ROW(v, 4, "5");
    /* the monitor's line editor: "\b \b" takes back a character */
    wr(v, "67\b \b");
    ROW(v, 4, "56");
    AT(v, 2, 4);
    vc_free(v);
}

static void test_wrap(void)
{
    struct vc *v = mk(10, 3);
    /* exactly a line: the cursor waits in the last column, CR LF makes no
     * empty line */
    wr(v, "0123456789");
    AT(v, 9, 0);
    wr(v, "\r\nab");
    ROW(v, 0, "0123456789");
    ROW(v, 1, "ab");
    /* a longer one wraps */
    wr(v, "\r\n0123456789XY");
    ROW(v, 1, "0123456789");
    ROW(v, 2, "XY");
    ROW(v, 0, "ab");
    /* ?7l: no wrapping, the last column is overwritten */
    wr(v, "\033[2J\033[H\033[?7lABCDEFGHIJKLM");
    ROW(v, 0, "ABCDEFGHIM");
    ROW(v, 1, "");
    wr(v, "\033[?7h");
    vc_free(v);
}

static void test_utf8(void)
{
    struct vc *v = mk(40, 4);
    wr(v, "gr\xc3\xbc\xc3\x9f" "e \xe2\x82\xac \xe2\x9c\x93");
    ROW(v, 0, "grüße € ✓");
    CHECK(cell(v, 2, 0).ch == 0xfc);
    CHECK(cell(v, 6, 0).ch == 0x20ac);
    AT(v, 9, 0);
    /* split across writes */
    vc_write(v, (const uint8_t *)"\r\n\xe2\x82", 2 + 2);
    vc_write(v, (const uint8_t *)"\xac", 1);
    CHECK(cell(v, 0, 1).ch == 0x20ac);
    /* invalid: a stray continuation, a cut sequence, an overlong form, a
     * surrogate, 0xff, beyond U+10FFFF */
    wr(v, "\r\n\x80|\xc3(|\xc0\xaf|\xed\xa0\x80|\xff|\xf4\x90\x80\x80");
    ROW(v, 2, "\xef\xbf\xbd|\xef\xbf\xbd(|\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd|"
              "\xef\xbf\xbd|\xef\xbf\xbd");
    /* a cut sequence before ESC: U+FFFD, and the sequence still works */
    wr(v, "\r\n\xe2\033[1mB");
    CHECK(cell(v, 0, 3).ch == 0xfffd);
    CHECK(cell(v, 1, 3).ch == 'B' && cell(v, 1, 3).attr == DISPLAY_ATTR_BOLD);
    /* four-byte form */
    wr(v, "\033[H\033[2K\xf0\x9f\x98\x80");
    CHECK(cell(v, 0, 0).ch == 0x1f600);
    vc_free(v);
}

static void test_wide(void)
{
    struct vc *v = mk(5, 3);
    wr(v, "\xe4\xb8\xad" "a");      /* 中a */
    CHECK(cell(v, 0, 0).ch == 0x4e2d);
    CHECK(cell(v, 1, 0).ch == 0);
    CHECK(cell(v, 2, 0).ch == 'a');
    AT(v, 3, 0);
    /* no room for both halves in the last column: on the next line */
    wr(v, "b\xe4\xb8\xad");
    ROW(v, 0, "中ab");
    CHECK(cell(v, 4, 0).ch == ' ');
    CHECK(cell(v, 0, 1).ch == 0x4e2d);
    /* overwriting the right half blanks the left one */
    wr(v, "\033[2;2Hx");
    CHECK(cell(v, 0, 1).ch == ' ' && cell(v, 1, 1).ch == 'x');
    /* combining marks are dropped */
    wr(v, "\033[3;1He\xcc\x81!");
    ROW(v, 2, "e!");
    vc_free(v);
}

static void test_cursor_moves(void)
{
    struct vc *v = mk(20, 10);
    wr(v, "\033[5;10H");
    AT(v, 9, 4);
    wr(v, "\033[2A");
    AT(v, 9, 2);
    wr(v, "\033[B");
    AT(v, 9, 3);
    wr(v, "\033[3C");
    AT(v, 12, 3);
    wr(v, "\033[100D");
    AT(v, 0, 3);
    wr(v, "\033[100B\033[100C");
    AT(v, 19, 9);
    wr(v, "\033[7G");
    AT(v, 6, 9);
    wr(v, "\033[2d");
    AT(v, 6, 1);
    wr(v, "\033[H");
    AT(v, 0, 0);
    wr(v, "\033[;5f");
    AT(v, 4, 0);
    wr(v, "\033[0;0H");
    AT(v, 0, 0);
    wr(v, "\033[65535;65535H");
    AT(v, 19, 9);
    wr(v, "\033[99999999999999999999;3H");
    AT(v, 2, 9);
    wr(v, "\033[3E");
    AT(v, 0, 9);
    wr(v, "\033[2F");
    AT(v, 0, 7);
    /* save and restore, both ways */
    wr(v, "\033[4;4H\0337\033[H\0338");
    AT(v, 3, 3);
    wr(v, "\033[s\033[9;9H\033[u");
    AT(v, 3, 3);
    /* ESC D, E, M */
    wr(v, "\033D");
    AT(v, 3, 4);
    wr(v, "\033E");
    AT(v, 0, 5);
    wr(v, "\033M");
    AT(v, 0, 4);
    /* ?25 */
    uint32_t x, y;
    CHECK(cursor(v, &x, &y));
    wr(v, "\033[?25l");
    CHECK(!cursor(v, &x, &y));
    wr(v, "\033[?25h");
    CHECK(cursor(v, &x, &y));
    /* tabs forward and back */
    wr(v, "\033[H\033[2I");
    AT(v, 16, 0);
    wr(v, "\033[Z");
    AT(v, 8, 0);
    vc_free(v);
}

static void fill(struct vc *v)
{
    wr(v, "\033[2J\033[H");
    for (int y = 0; y < 4; y++) {
        char line[16];
        snprintf(line, sizeof(line), "%s%d%d%d%d%d%d%d%d", y ? "\r\n" : "", y, y, y, y, y, y,
                 y, y);
        wr(v, line);
    }
}

static void test_erase(void)
{
    struct vc *v = mk(8, 4);
    fill(v);
    wr(v, "\033[2;4H\033[K");
    ROW(v, 1, "111");
    wr(v, "\033[3;4H\033[1K");
    ROW(v, 2, "    2222");
    wr(v, "\033[4;1H\033[2K");
    ROW(v, 3, "");
    fill(v);
    wr(v, "\033[2;3H\033[J");
    ROW(v, 0, "00000000");
    ROW(v, 1, "11");
    ROW(v, 2, "");
    fill(v);
    wr(v, "\033[2;3H\033[1J");
    ROW(v, 0, "");
    ROW(v, 1, "   11111");
    ROW(v, 2, "22222222");
    fill(v);
    wr(v, "\033[2J");
    for (int y = 0; y < 4; y++)
        ROW(v, y, "");
    fill(v);
    wr(v, "\033[1;3H\033[2X");
    ROW(v, 0, "00  0000");
    /* insert and delete characters */
    wr(v, "\033[2;3H\033[2@");
    ROW(v, 1, "11  1111");
    wr(v, "\033[3;3H\033[3P");
    ROW(v, 2, "22222");
    wr(v, "\033[4;3H\033[99P");
    ROW(v, 3, "33");
    /* insert and delete lines */
    fill(v);
    wr(v, "\033[2;5H\033[L");
    ROW(v, 1, "");
    ROW(v, 2, "11111111");
    ROW(v, 3, "22222222");
    AT(v, 0, 1);
    wr(v, "\033[M\033[M");
    ROW(v, 1, "22222222");
    ROW(v, 2, "");
    /* erased cells take the background colour */
    wr(v, "\033[44m\033[4;1H\033[K\033[0m");
    CHECK(cell(v, 5, 3).bg == 4);
    vc_free(v);
}

static void test_scroll_region(void)
{
    struct vc *v = mk(8, 5);
    wr(v, "0\r\n1\r\n2\r\n3\r\n4");
    wr(v, "\033[2;4r");
    AT(v, 0, 0);
    /* LF at the region's bottom scrolls the region only */
    wr(v, "\033[4;1H\nX");
    ROW(v, 0, "0");
    ROW(v, 1, "2");
    ROW(v, 2, "3");
    ROW(v, 3, "X");
    ROW(v, 4, "4");
    /* reverse index at its top scrolls it down */
    wr(v, "\033[2;1H\033MY");
    ROW(v, 1, "Y");
    ROW(v, 2, "2");
    ROW(v, 3, "3");
    ROW(v, 4, "4");
    /* S and T */
    wr(v, "\033[S");
    ROW(v, 1, "2");
    ROW(v, 3, "");
    wr(v, "\033[2T");
    ROW(v, 1, "");
    ROW(v, 3, "2");
    ROW(v, 0, "0");
    ROW(v, 4, "4");
    /* a bad region is ignored; the whole screen again */
    wr(v, "\033[4;2r\033[r\033[5;1H\nZ");
    ROW(v, 0, "");
    ROW(v, 4, "Z");
    vc_free(v);
}

static void test_sgr(void)
{
    struct vc *v = mk(20, 2);
    wr(v, "\033[31;42;1mA\033[0mB\033[4;93;104mC\033[24;39;49mD\033[7mE\033[27;22m");
    struct display_cell a = cell(v, 0, 0), b = cell(v, 1, 0), c = cell(v, 2, 0);
    struct display_cell d = cell(v, 3, 0), e = cell(v, 4, 0);
    CHECK(a.fg == 1 && a.bg == 2 && a.attr == DISPLAY_ATTR_BOLD);
    CHECK(b.fg == 7 && b.bg == 0 && b.attr == 0);
    CHECK(c.fg == 11 && c.bg == 12 && c.attr == DISPLAY_ATTR_UNDERLINE);
    CHECK(d.fg == 7 && d.bg == 0 && d.attr == 0);
    CHECK(e.fg == 0 && e.bg == 7);
    /* 256 colours and RGB map onto the 16; a cut one is eaten */
    wr(v, "\033[38;5;4mF\033[48;5;9mG\033[38;2;255;0;0mH\033[0;38;5mI\033[m");
    CHECK(cell(v, 5, 0).fg == 4);
    CHECK(cell(v, 6, 0).bg == 9);
    CHECK(cell(v, 7, 0).fg == 9);
    CHECK(cell(v, 8, 0).fg == 7);
    /* ESC [ m alone resets */
    wr(v, "\033[1;31m\033[mJ");
    CHECK(cell(v, 9, 0).fg == 7 && cell(v, 9, 0).attr == 0);
    vc_free(v);
}

static void test_strings_and_charsets(void)
{
    struct vc *v = mk(20, 2);
    /* OSC (title) up to BEL, DCS up to ST: skipped */
    wr(v, "a\033]0;title\007b\033Pq#0;1\033\\c\033_apc\033\\d");
    ROW(v, 0, "abcd");
    /* unknown sequences are skipped whole; CAN cancels one */
    wr(v, "\033[>1;2x\033[?1049h\033[1 qe\033[12\030f\033#8");
    ROW(v, 0, "EEEEEEEEEEEEEEEEEEEE");
    wr(v, "\033[2J\033[H\033[>1;2x\033[?1049h\033[1 qe\033[12\030f");
    ROW(v, 0, "ef");
    /* the DEC line-drawing set, by ESC ( 0 and by SO */
    wr(v, "\r\n\033(0lqk\033(Bq\033)0\016x\017x");
    ROW(v, 1, "┌─┐q│x");
    /* ESC c resets everything */
    wr(v, "\033[31m\033[?25l\033c");
    uint32_t x, y;
    CHECK(cursor(v, &x, &y) && x == 0 && y == 0);
    ROW(v, 0, "");
    wr(v, "K");
    CHECK(cell(v, 0, 0).fg == 7);
    vc_free(v);
}

static void test_input(void)
{
    struct vc *v = mk(20, 5);
    uint8_t buf[VC_INPUT_MAX * 2];
    wr(v, "\033[3;7H\033[6n\033[5n\033[c");
    size_t n = vc_read_input(v, buf, sizeof(buf));
    buf[n] = 0;
    CHECK(strcmp((char *)buf, "\033[3;7R\033[0n\033[?6c") == 0);
    /* keys typed on the console */
    display_text_input(vc_console(v), (const uint8_t *)"ls\r", 3);
    n = vc_read_input(v, buf, 2);
    CHECK(n == 2 && memcmp(buf, "ls", 2) == 0);
    n = vc_read_input(v, buf, sizeof(buf));
    CHECK(n == 1 && buf[0] == '\r');
    /* a flood is cut at the buffer's size */
    memset(buf, 'k', sizeof(buf));
    display_text_input(vc_console(v), buf, sizeof(buf));
    display_text_input(vc_console(v), buf, sizeof(buf));
    CHECK(vc_read_input(v, buf, sizeof(buf)) == VC_INPUT_MAX);
    CHECK(vc_read_input(v, buf, sizeof(buf)) == 0);
    vc_free(v);
}

static void test_sizes(void)
{
    uint32_t c, r;
    CHECK(vc_parse_size("", &c, &r, NULL) == 0 && c == 80 && r == 24);
    CHECK(vc_parse_size("100Cx30C", &c, &r, NULL) == 0 && c == 100 && r == 30);
    CHECK(vc_parse_size("640x480", &c, &r, NULL) == 0 && c == 80 && r == 30);
    struct error *err = NULL;
    CHECK(vc_parse_size("80x", &c, &r, &err) == -EINVAL);
    CHECK_CONTAINS(err ? err_msg(err) : NULL, "80x");
    err_free(err);
    err = NULL;
    CHECK(vc_parse_size("0Cx24C", &c, &r, &err) == -EINVAL);
    err_free(err);
    err = NULL;
    CHECK(vc_parse_size("5000Cx24C", &c, &r, &err) == -EINVAL);
    err_free(err);
    err = NULL;
    CHECK(vc_parse_size("99999999999x1", &c, &r, &err) == -EINVAL);
    err_free(err);
    err = NULL;
    CHECK(vc_parse_size("80Cx24Cx", &c, &r, &err) == -EINVAL);
    err_free(err);
}

/* ---- the chardev ---- */

struct fe {
    uint8_t got[256];
    size_t len, room;
    bool unlocked;
    int opened;
};

static size_t fe_can_read(void *opaque)
{
    struct fe *f = opaque;
    f->unlocked |= !hw_lock_held();
    return f->room;
}

static void fe_read(void *opaque, const uint8_t *buf, size_t len)
{
    struct fe *f = opaque;
    f->unlocked |= !hw_lock_held() || len > f->room;
    len = MIN(len, sizeof(f->got) - f->len);
    memcpy(f->got + f->len, buf, len);
    f->len += len;
    f->room -= MIN(len, f->room);
}

static void fe_event(void *opaque, enum chardev_event ev)
{
    if (ev == CHARDEV_OPENED)
        ((struct fe *)opaque)->opened++;
}

static const struct chardev_frontend fe_ops = { fe_can_read, fe_read, fe_event };

static void test_chardev(void)
{
    struct loop *L = loop_new(NULL);
    struct chardev *c = NULL;
    struct error *err = NULL;
    int before = 0;
    while (display_console_at(before))
        before++;
    CHECK(chardev_new(&c, L, "vc:30Cx4C", &err) == 0 && c);
    err_free(err);
    struct display_console *con = display_console_at(before);
    CHECK(con && display_console_is_text(con));
    if (!c || !con)
        return;
    CHECK(strncmp(display_console_label(con), "vc", 2) == 0);
    struct fe f = { .room = 3 };
    chardev_set_frontend(c, &fe_ops, &f);
    CHECK(f.opened == 1);
    chardev_write(c, (const uint8_t *)"login: ", 7);
    uint32_t cols, rows;
    const struct display_cell *cells = display_text_read_begin(con, &cols, &rows);
    CHECK(cols == 30 && rows == 4 && cells && cells[5].ch == ':');
    display_read_end(con);
    /* keys reach the front end at its pace */
    display_text_input(con, (const uint8_t *)"root\r", 5);
    for (int i = 0; i < 50 && f.len < 3; i++)
        loop_run_once(L, false, NULL);
    CHECK(f.len == 3 && memcmp(f.got, "roo", 3) == 0);
    f.room = 10;
    chardev_accept_input(c);
    for (int i = 0; i < 50 && f.len < 5; i++)
        loop_run_once(L, false, NULL);
    CHECK(f.len == 5 && memcmp(f.got, "root\r", 5) == 0);
    /* a status report's answer goes the same way */
    chardev_write(c, (const uint8_t *)"\033[6n", 4);
    for (int i = 0; i < 50 && f.len < 11; i++)
        loop_run_once(L, false, NULL);
    f.got[MIN(f.len, sizeof(f.got) - 1)] = 0;
    CHECK(f.len == 11 && strcmp((char *)f.got + 5, "\033[1;8R") == 0);
    CHECK(!f.unlocked);
    chardev_set_frontend(c, NULL, NULL);
    chardev_free(c);
    CHECK(display_console_at(before) == NULL);
    err = NULL;
    CHECK(chardev_new(&c, L, "vc:bad", &err) == -EINVAL && !c);
    CHECK_CONTAINS(err ? err_msg(err) : NULL, "bad");
    err_free(err);
    /* -chardev vc,... */
    char *id = NULL, *spec = NULL;
    CHECK(chardev_parse_opts("vc,id=v0,cols=100,rows=40", &id, &spec, NULL) == 0);
    CHECK(spec && strcmp(spec, "vc:100Cx40C") == 0);
    free(id);
    free(spec);
    CHECK(chardev_parse_opts("vc,id=v1", &id, &spec, NULL) == 0);
    CHECK(spec && strcmp(spec, "vc") == 0);
    free(id);
    free(spec);
    loop_free(L);
}

/* Graphical consoles come before text ones, as in qemu: a machine's
 * screen is console 1 even though the serial port's vc was made first. */
static void test_order(void)
{
    struct vc *a = mk(10, 2), *b = mk(10, 2);
    struct display_console *g1 = NULL, *g2 = NULL;
    CHECK(display_console_new(&g1, "gpu", 0, false, NULL) == 0);
    CHECK(display_console_new(&g2, "gpu", 1, false, NULL) == 0);
    CHECK(display_console_at(0) == g1);
    CHECK(display_console_at(1) == g2);
    CHECK(display_console_at(2) == vc_console(a));
    CHECK(display_console_at(3) == vc_console(b));
    CHECK(display_console_at(4) == NULL);
    display_console_free(g1);
    CHECK(display_console_at(0) == g2 && display_console_at(1) == vc_console(a));
    display_console_free(g2);
    vc_free(a);
    vc_free(b);
    CHECK(display_console_at(0) == NULL);
}

/* ---- random bytes ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* Bytes biased towards what the parser looks at. */
static size_t random_chunk(uint8_t *b, size_t max)
{
    static const char *const bits[] = {
        "\033[", "\033]", "\033P", "\033\\", "\033(0", "\033)", "\033#8", "\033c", "\0337",
        "\0338", "\033M", "\033D", ";", "?", "999999", "65535", "1", "0", "25", "7", "h", "l",
        "m", "H", "J", "K", "L", "M", "P", "@", "X", "r", "S", "T", "n", "6n", "c", "\r",
        "\n", "\b", "\t", "\x0e", "\x0f", "\x18", "\xe4\xb8\xad", "\xc3", "\xf0\x9f", "\x80",
        "38;5;", "48;2;", "\xe2\x82\xac", "s", "u", "I", "Z", "G", "d",
    };
    size_t n = 0;
    size_t want = 1 + rnd() % max;
    while (n < want) {
        if (rnd() % 3 == 0) {
            b[n++] = (uint8_t)rnd();
        } else {
            const char *s = bits[rnd() % ARRAY_SIZE(bits)];
            size_t l = strlen(s);
            if (n + l > max)
                break;
            memcpy(b + n, s, l);
            n += l;
        }
    }
    return n;
}

static void check_sane(struct vc *v, uint32_t want_cols, uint32_t want_rows)
{
    uint32_t cols, rows, x, y;
    const struct display_cell *c = display_text_read_begin(vc_console(v), &cols, &rows);
    display_text_cursor_locked(vc_console(v), &x, &y);
    bool ok = cols == want_cols && rows == want_rows && x < cols && y < rows;
    for (size_t i = 0; ok && i < (size_t)cols * rows; i++)
        ok = c[i].ch <= 0x10ffff && (c[i].ch == 0 || c[i].ch >= 0x20) && c[i].fg < 16 &&
             c[i].bg < 16 && c[i].attr <= (DISPLAY_ATTR_BOLD | DISPLAY_ATTR_UNDERLINE);
    display_read_end(vc_console(v));
    CHECK(ok);
}

static void test_fuzz(void)
{
    static const uint32_t sizes[][2] = { { 1, 1 }, { 2, 1 }, { 1, 3 }, { 3, 2 }, { 80, 24 },
                                         { 7, 5 } };
    const char *env = getenv("TEST_VC_ROUNDS");
    int rounds = env ? atoi(env) : 3000;
    uint8_t buf[512];
    for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
        struct vc *v = mk(sizes[s][0], sizes[s][1]);
        if (!v)
            continue;
        for (int i = 0; i < rounds; i++) {
            size_t n = random_chunk(buf, sizeof(buf));
            vc_write(v, buf, n);
            if (i % 64 == 0) {
                check_sane(v, sizes[s][0], sizes[s][1]);
                uint8_t in[VC_INPUT_MAX];
                vc_read_input(v, in, sizeof(in));
            }
        }
        check_sane(v, sizes[s][0], sizes[s][1]);
        /* and it still works afterwards */
        wr(v, "\030\033\\\033c\033[HA");
        CHECK(cell(v, 0, 0).ch == 'A');
        vc_free(v);
    }
}

int main(void)
{
    test_text();
    test_wrap();
    test_utf8();
    test_wide();
    test_cursor_moves();
    test_erase();
    test_scroll_region();
    test_sgr();
    test_strings_and_charsets();
    test_input();
    test_sizes();
    test_chardev();
    test_order();
    test_fuzz();
    return unit_result();
}
