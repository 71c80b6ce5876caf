/* hmp-session.c - the human monitor on a character device: QEMU's
 * "(qemu) " prompt with line editing, on "-monitor stdio|unix:...",
 * "-mon chardev=ID,mode=readline", or behind Ctrl-A c on a mux'ed stdio.
 *
 * The chardev hands input over in the loop thread under the device lock;
 * the session only stores it and runs the line editor and the commands
 * from a bottom half, without the lock (commands stop CPUs and do I/O).
 * Input is untrusted (a socket peer): a line is at most HMP_LINE_MAX
 * bytes (longer input is dropped with a message), escape sequences are
 * parsed and ignored except the arrow keys of the history. */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmp.h"
#include "hmp-session.h"
#include "chardev.h"
#include "i18n.h"
#include "loop.h"

#define HMP_LINE_MAX 1024
#define HMP_HISTORY 32
#define HMP_PROMPT "(qemu) "

struct hmp_session {
    struct chardev *chr;
    struct loop_bh *bh;
    bool mux;                   /* behind Ctrl-A c: greet at the first focus */
    bool greeted;
    bool starved;               /* can_read said 0: accept_input once drained */
    uint8_t in[512];            /* raw input not yet edited */
    size_t in_len;
    char line[HMP_LINE_MAX];
    size_t len;
    bool too_long;
    int esc;                    /* 0, 1 after ESC, 2 inside CSI/SS3 */
    bool last_cr;               /* CR LF is one end of line */
    char *hist[HMP_HISTORY];    /* oldest first */
    int n_hist, hist_pos;
};

static struct hmp_session *sessions[8];
static int n_sessions;

static void put(struct hmp_session *s, const char *text, size_t len)
{
    chardev_write(s->chr, (const uint8_t *)text, len);
}

static void puts_(struct hmp_session *s, const char *text)
{
    put(s, text, strlen(text));
}

static void greet(struct hmp_session *s)
{
    char banner[160];
    snprintf(banner, sizeof(banner),
             _("QEMU 7.2.0 monitor (%s %s) - type 'help' for more information"),
             PACKAGE_NAME, PACKAGE_VERSION);
    puts_(s, banner);
    puts_(s, "\r\n" HMP_PROMPT);
    s->greeted = true;
}

/* Replace the line being edited by TEXT (history recall). */
static void set_line(struct hmp_session *s, const char *text)
{
    while (s->len) {
        puts_(s, "\b \b");
        s->len--;
    }
    size_t n = strlen(text);
    if (n >= sizeof(s->line))
        n = sizeof(s->line) - 1;
    memcpy(s->line, text, n);
    s->len = n;
    put(s, s->line, n);
}

static void remember(struct hmp_session *s, const char *line)
{
    if (!*line || (s->n_hist && strcmp(s->hist[s->n_hist - 1], line) == 0))
        return;
    char *copy = strdup(line);
    if (!copy)
        return;
    if (s->n_hist == HMP_HISTORY) {
        free(s->hist[0]);
        memmove(s->hist, s->hist + 1, sizeof(s->hist[0]) * (HMP_HISTORY - 1));
        s->n_hist--;
    }
    s->hist[s->n_hist++] = copy;
}

static void run_line(struct hmp_session *s)
{
    puts_(s, "\r\n");
    if (s->too_long) {
        char msg[120];
        snprintf(msg, sizeof(msg), _("line too long (at most %d bytes): ignored"),
                 HMP_LINE_MAX - 1);
        puts_(s, msg);
        puts_(s, "\r\n");
    } else {
        s->line[s->len] = 0;
        remember(s, s->line);
        struct hmp_out out = { 0 };
        hmp_run(s->line, &out);
        if (out.len)
            put(s, out.buf, out.len);
        if (out.truncated)
            puts_(s, "[...]\r\n");
        hmp_out_free(&out);
    }
    s->len = 0;
    s->too_long = false;
    s->hist_pos = s->n_hist;
    puts_(s, HMP_PROMPT);
}

static void edit(struct hmp_session *s, uint8_t ch)
{
    if (s->esc == 1) {
        s->esc = (ch == '[' || ch == 'O') ? 2 : 0;
        return;
    }
    if (s->esc == 2) {
        if (ch >= 0x40 && ch <= 0x7e) {
            s->esc = 0;
            if (ch == 'A' && s->hist_pos > 0)
                set_line(s, s->hist[--s->hist_pos]);
            else if (ch == 'B' && s->hist_pos < s->n_hist)
                set_line(s, ++s->hist_pos < s->n_hist ? s->hist[s->hist_pos] : "");
        }
        return;
    }
    bool cr = s->last_cr;
    s->last_cr = ch == '\r';
    switch (ch) {
    case 0x1b:
        s->esc = 1;
        return;
    case '\n':
        if (cr)
            return;             /* the LF of CR LF */
        /* fall through */
    case '\r':
        run_line(s);
        return;
    case 0x7f:
    case '\b':
        if (s->len) {
            s->len--;
            puts_(s, "\b \b");
        }
        return;
    case 0x15:                  /* Ctrl-U: the whole line */
        set_line(s, "");
        s->too_long = false;
        return;
    default:
        if (ch < 0x20)
            return;
        if (s->len + 1 >= sizeof(s->line)) {
            s->too_long = true;
            return;
        }
        s->line[s->len++] = (char)ch;
        put(s, (const char *)&ch, 1);
    }
}

static void process(void *opaque)
{
    struct hmp_session *s = opaque;
    /* the chardev appends under the device lock in this same thread: no
     * other thread touches in[] */
    uint8_t buf[sizeof(s->in)];
    size_t n = s->in_len;
    memcpy(buf, s->in, n);
    s->in_len = 0;
    for (size_t i = 0; i < n; i++)
        edit(s, buf[i]);
    if (s->starved) {
        s->starved = false;
        chardev_accept_input(s->chr);
    }
}

static size_t fe_can_read(void *opaque)
{
    struct hmp_session *s = opaque;
    size_t room = sizeof(s->in) - s->in_len;
    if (room == 0)
        s->starved = true;
    return room;
}

static void fe_read(void *opaque, const uint8_t *buf, size_t len)
{
    struct hmp_session *s = opaque;
    memcpy(s->in + s->in_len, buf, len);
    s->in_len += len;
    loop_bh_schedule(s->bh);
}

static void fe_event(void *opaque, enum chardev_event ev)
{
    struct hmp_session *s = opaque;
    switch (ev) {
    case CHARDEV_OPENED:
        /* a new peer: a fresh line (the mux'ed monitor waits for Ctrl-A c) */
        s->len = 0;
        s->esc = 0;
        s->too_long = false;
        if (!s->mux)
            greet(s);
        break;
    case CHARDEV_MUX_FOCUS:
        if (!s->greeted)
            greet(s);
        else
            puts_(s, "\r\n" HMP_PROMPT);
        break;
    case CHARDEV_CLOSED:
        break;
    }
}

static const struct chardev_frontend hmp_frontend = {
    .can_read = fe_can_read,
    .read = fe_read,
    .event = fe_event,
};

int hmp_session_attach(struct chardev *chr, struct loop *loop, struct error **errp)
{
    if ((size_t)n_sessions == sizeof(sessions) / sizeof(sessions[0]))
        return err_set(errp, E2BIG, _("too many monitors"));
    struct hmp_session *s = calloc(1, sizeof(*s));
    if (!s)
        return err_set(errp, ENOMEM, _("out of memory"));
    s->bh = loop_bh_new(loop, process, s, errp);
    if (!s->bh) {
        free(s);
        return -ENOMEM;
    }
    s->chr = chr;
    s->mux = chardev_is_mux(chr);
    sessions[n_sessions++] = s;
    if (s->mux)
        return chardev_set_mux_monitor(chr, &hmp_frontend, s);
    chardev_set_frontend(chr, &hmp_frontend, s);
    return 0;
}

void hmp_sessions_free(void)
{
    for (int i = 0; i < n_sessions; i++) {
        struct hmp_session *s = sessions[i];
        if (s->mux)
            chardev_set_mux_monitor(s->chr, NULL, NULL);
        else
            chardev_set_frontend(s->chr, NULL, NULL);
        loop_bh_free(s->bh);
        for (int k = 0; k < s->n_hist; k++)
            free(s->hist[k]);
        free(s);
    }
    n_sessions = 0;
}
