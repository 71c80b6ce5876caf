/* display-cmds.c - the monitors' display commands: QMP screendump and
 * query-display-stats, HMP "screendump" and "info display".  QEMU's
 * arguments and messages, except that the format defaults to PNG. */
#include <config.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include "display-cmds.h"
#include "display.h"
#include "i18n.h"
#include "json.h"
#include "json-writer.h"

/* The console to dump: DEVICE's HEAD, else the first console. */
static struct display_console *dump_console(const char *device, int head, struct error **errp)
{
    if (device)
        return display_console_find(device, head, errp);
    struct display_console *c = display_console_at(0);
    if (!c)
        err_set(errp, ENODEV, _("There is no console to take a screendump from"));
    return c;
}

static int parse_format(const char *s, enum display_dump_format *out, struct error **errp)
{
    if (!s || strcmp(s, "png") == 0)
        *out = DISPLAY_DUMP_PNG;
    else if (strcmp(s, "ppm") == 0)
        *out = DISPLAY_DUMP_PPM;
    else
        return err_set(errp, EINVAL, _("Parameter 'format' does not accept value '%s'"), s);
    return 0;
}

static int do_screendump(const char *file, const char *device, int head, const char *format,
                         struct error **errp)
{
    enum display_dump_format fmt = DISPLAY_DUMP_PNG;
    int r = parse_format(format, &fmt, errp);
    if (r < 0)
        return r;
    struct display_console *c = dump_console(device, head, errp);
    if (!c)
        return -ENODEV;
    return display_screendump(c, file, fmt, errp);
}

static const char *arg_str(const struct json_value *a, const char *key)
{
    const struct json_value *v = json_get(a, key);
    return v && v->type == JSON_STRING ? v->u.s : NULL;
}

const struct qmp_arg display_screendump_args[] = {
    { "filename", "str", false },
    { "device", "str", true },
    { "head", "int", true },
    { "format", "str", true },
    { NULL, NULL, false },
};

int display_qmp_screendump(void *o, const struct json_value *a, struct json_writer *w,
                           struct error **errp)
{
    (void)o, (void)w;
    const struct json_value *h = json_get(a, "head");
    int64_t head = h && h->type == JSON_INT ? h->u.i : 0;
    if (head < 0 || head > 1024)
        return err_set(errp, EINVAL, _("Parameter 'head' is out of range"));
    return do_screendump(arg_str(a, "filename"), arg_str(a, "device"), (int)head,
                         arg_str(a, "format"), errp);
}

/* The running back end's counters for C, if one shows it. */
static const struct display_backend *ui_stats(struct display_console *c,
                                              struct display_ui_stats *st)
{
    for (int i = 0; display_backends[i]; i++)
        if (display_backends[i]->stats && display_backends[i]->stats(c, st))
            return display_backends[i];
    return NULL;
}

/* query-display-stats (ours): per console, what was handed to the back
 * ends and what the back end showing it drew ("ui"), so that a test can
 * see an idle guest cost nothing. */
int display_qmp_query_stats(void *o, const struct json_value *a, struct json_writer *w,
                            struct error **errp)
{
    (void)o, (void)a, (void)errp;
    jw_arr_begin(w, NULL);
    struct display_console *c;
    for (int i = 0; (c = display_console_at(i)); i++) {
        struct display_stats st;
        display_get_stats(c, &st);
        const struct display_surface *s = display_read_begin(c);
        uint32_t width = s->width, height = s->height;
        display_read_end(c);
        jw_obj_begin(w, NULL);
        jw_int(w, "index", i);
        jw_str(w, "device", display_console_label(c));
        jw_int(w, "head", display_console_head(c));
        jw_int(w, "width", width);
        jw_int(w, "height", height);
        jw_int(w, "frames", (int64_t)st.frames);
        jw_int(w, "regions", (int64_t)st.regions);
        jw_int(w, "pixels", (int64_t)st.pixels);
        struct display_ui_stats ui;
        const struct display_backend *b = ui_stats(c, &ui);
        if (b) {
            jw_obj_begin(w, "ui");
            jw_str(w, "backend", b->name);
            jw_int(w, "presents", (int64_t)ui.presents);
            jw_int(w, "uploads", (int64_t)ui.uploads);
            jw_int(w, "pixels", (int64_t)ui.pixels);
            jw_obj_end(w);
        }
        jw_obj_end(w);
    }
    jw_arr_end(w);
    return 0;
}

/* screendump [-f png|ppm] FILE [DEVICE [HEAD]]; -f may also follow FILE. */
int hmp_screendump(struct hmp_out *out, const char *args, struct error **errp)
{
    (void)out;
    char word[4096], file[4096] = "", device[256] = "", format[16] = "";
    int head = 0, n = 0, r;
    while ((r = hmp_next_word(&args, word, sizeof(word), errp)) > 0) {
        if (strcmp(word, "-f") == 0) {
            if ((r = hmp_next_word(&args, format, sizeof(format), errp)) <= 0)
                return r < 0 ? r : err_set(errp, EINVAL, _("-f: a format is missing (png or ppm)"));
            continue;
        }
        if (n == 0)
            snprintf(file, sizeof(file), "%s", word);
        else if (n == 1 && strlen(word) < sizeof(device))
            memcpy(device, word, strlen(word) + 1);
        else if (n == 2 && sscanf(word, "%d", &head) == 1 && head >= 0)
            ;
        else
            return err_set(errp, EINVAL, _("screendump: unexpected argument '%s'"), word);
        n++;
    }
    if (r < 0)
        return r;
    if (!file[0])
        return err_set(errp, EINVAL, _("Parameter 'filename' is missing"));
    return do_screendump(file, device[0] ? device : NULL, head, format[0] ? format : NULL, errp);
}

int hmp_info_display(struct hmp_out *out, const char *args, struct error **errp)
{
    (void)args, (void)errp;
    struct display_console *c;
    int i;
    for (i = 0; (c = display_console_at(i)); i++) {
        struct display_stats st;
        display_get_stats(c, &st);
        const struct display_surface *s = display_read_begin(c);
        uint32_t width = s->width, height = s->height;
        display_read_end(c);
        hmp_printf(out, "console %d: %s head %d, ", i, display_console_label(c),
                   display_console_head(c));
        if (display_console_is_text(c))
            hmp_printf(out, "text");
        else if (width)
            hmp_printf(out, "%ux%u", width, height);
        else
            hmp_printf(out, "no surface");
        hmp_printf(out, ", frames %" PRIu64 ", regions %" PRIu64 ", pixels %" PRIu64,
                   st.frames, st.regions, st.pixels);
        struct display_ui_stats ui;
        const struct display_backend *b = ui_stats(c, &ui);
        if (b)
            hmp_printf(out, "; %s: presents %" PRIu64 ", uploads %" PRIu64 ", pixels %" PRIu64,
                       b->name, ui.presents, ui.uploads, ui.pixels);
        hmp_printf(out, "\r\n");
    }
    if (i == 0)
        hmp_printf(out, "%s\r\n", _("no display"));
    return 0;
}
