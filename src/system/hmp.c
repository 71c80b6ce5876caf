/* hmp.c - the human monitor's command table and the commands that only
 * steer the machine.  The "info" family and the memory commands are in
 * hmp-info.c, sessions on character devices in hmp-session.c; commands of
 * other subsystems (snapshots, NBD export) live with them and have a line
 * here.
 *
 * Command names, aliases, parameters and the text they print follow
 * QEMU's monitor, so that users' habits and scripts carry over. */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmp.h"
#include "hmp-cmds.h"
#include "savevm.h"
#include "export.h"
#include "trace-cmds.h"
#include "display-cmds.h"
#include "input-cmds.h"
#include "trace/system.h"
#include "monitor.h"
#include "hw/machine.h"
#include "i18n.h"
#include "log.h"

/* ---- output ---- */

void hmp_printf(struct hmp_out *o, const char *fmt, ...)
{
    if (o->truncated)
        return;
    for (;;) {
        size_t room = o->cap - o->len;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf ? o->buf + o->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < room) {
            o->len += (size_t)n;
            return;
        }
        size_t want = o->len + (size_t)n + 1;
        if (want > HMP_MAX_OUTPUT) {
            o->truncated = true;
            return;
        }
        size_t cap = o->cap ? o->cap : 256;
        while (cap < want)
            cap *= 2;
        if (cap > HMP_MAX_OUTPUT)
            cap = HMP_MAX_OUTPUT;
        char *nb = realloc(o->buf, cap);
        if (!nb) {
            o->truncated = true;
            return;
        }
        o->buf = nb;
        o->cap = cap;
    }
}

void hmp_out_free(struct hmp_out *o)
{
    free(o->buf);
    *o = (struct hmp_out){ 0 };
}

int hmp_next_word(const char **args, char *word, size_t n, struct error **errp)
{
    const char *p = *args;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t len = strcspn(p, " \t");
    if (len == 0) {
        *args = p;
        word[0] = 0;
        return 0;
    }
    if (len >= n)
        return err_set(errp, EINVAL, _("argument too long: '%.20s...'"), p);
    memcpy(word, p, len);
    word[len] = 0;
    p += len;
    while (*p == ' ' || *p == '\t')
        p++;
    *args = p;
    return 1;
}

/* ---- run control ---- */

static int h_stop(struct hmp_out *out, const char *args, struct error **errp)
{
    (void)out, (void)args;
    struct monitor_host *h = monitor_host();
    return h->stop(h->opaque, errp);
}

static int h_cont(struct hmp_out *out, const char *args, struct error **errp)
{
    (void)out, (void)args;
    struct monitor_host *h = monitor_host();
    return h->cont(h->opaque, errp);
}

static int h_reset(struct hmp_out *out, const char *args, struct error **errp)
{
    (void)out, (void)args, (void)errp;
    machine_request_host(monitor_host()->m, MACHINE_RESET, MACHINE_CAUSE_QMP);
    return 0;
}

static int h_powerdown(struct hmp_out *out, const char *args, struct error **errp)
{
    (void)out, (void)args, (void)errp;
    monitor_powerdown();
    return 0;
}

static int h_quit(struct hmp_out *out, const char *args, struct error **errp)
{
    (void)out, (void)args, (void)errp;
    machine_request_host(monitor_host()->m, MACHINE_QUIT, MACHINE_CAUSE_QMP);
    return 0;
}

/* log ITEM1[,ITEM2...] | none: the -d categories, switched at run time. */
static int h_log(struct hmp_out *out, const char *args, struct error **errp)
{
    char spec[512];
    int r = hmp_next_word(&args, spec, sizeof(spec), errp);
    if (r < 0)
        return r;
    if (r == 0) {
        hmp_printf(out, "Log items (comma separated):\r\n");
        for (int i = 0; i < LOG_CATEGORY_COUNT; i++)
            hmp_printf(out, "%-15s %s\r\n", log_categories[i].name, log_categories[i].help);
        return 0;
    }
    if (strcmp(spec, "none") == 0) {
        log_mask = 0;
        return 0;
    }
    uint64_t old = log_mask;
    log_mask = 0;
    r = log_enable(spec, errp);
    if (r < 0) {
        log_mask = old;
        return r;
    }
    return 0;
}

static int h_help(struct hmp_out *out, const char *args, struct error **errp);

/* The table: alphabetical, as QEMU's help lists it. */
static const struct hmp_cmd hmp_cmds[] = {
    { "cont|c", "", N_("resume emulation"), h_cont },
    { "delvm", "tag", N_("delete a VM snapshot from its tag"), hmp_delvm },
    { "gva2gpa", "addr", N_("print the guest physical address of a guest virtual address"),
      hmp_gva2gpa },
    { "help|?", "[cmd]", N_("show the help"), h_help },
    { "info", "[subcommand]", N_("show various information about the system state"),
      hmp_info },
    { "loadvm", "tag", N_("restore a VM snapshot from its tag"), hmp_loadvm },
    { "log", "item1[,...]", N_("activate logging of the specified items"), h_log },
    { "mouse_button", "state",
      N_("set the pointer's buttons (bits: 1 left, 2 right, 4 middle)"), hmp_mouse_button },
    { "mouse_move", "dx dy [dz]", N_("move a relative pointer (dz: the wheel)"),
      hmp_mouse_move },
    { "nbd_server_add", "nbd_server_add [-w] device [name]", N_("export a block device via NBD"),
      hmp_nbd_server_add },
    { "nbd_server_remove", "nbd_server_remove [-f] name",
      N_("remove an export previously exposed via NBD"), hmp_nbd_server_remove },
    { "nbd_server_start", "nbd_server_start [-a] [-w] host:port",
      N_("serve block devices on the given host and port"), hmp_nbd_server_start },
    { "nbd_server_stop", "nbd_server_stop", N_("stop serving block devices using the NBD protocol"),
      hmp_nbd_server_stop },
    { "quit|q", "", N_("quit the emulator"), h_quit },
    { "savevm", "[tag]", N_("save a VM snapshot; a snapshot of that tag is replaced"),
      hmp_savevm },
    { "screendump", "[-f png|ppm] filename [device [head]]",
      N_("save the screen to a PNG (the default) or PPM file"), hmp_screendump },
    { "sendkey", "keys [hold_ms]",
      N_("press keys joined by '-' (ctrl-alt-f1), release them after hold_ms "
         "(default 100)"),
      hmp_sendkey },
    { "stop", "", N_("stop emulation"), h_stop },
    { "system_powerdown", "", N_("send system power down event"), h_powerdown },
    { "system_reset", "", N_("reset the system"), h_reset },
    { "trace-event", "name on|off", N_("changes status of a specific trace event"),
      hmp_trace_event },
    { "x", "/fmt addr", N_("virtual memory dump starting at 'addr'"), hmp_x },
    { "xp", "/fmt addr", N_("physical memory dump starting at 'addr'"), hmp_xp },
    { NULL, NULL, NULL, NULL },
};

/* NAME matches "a|b|c" when it is one of the names. */
bool hmp_name_matches(const char *names, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = names; *p;) {
        size_t len = strcspn(p, "|");
        if (len == n && memcmp(p, name, n) == 0)
            return true;
        p += len;
        if (*p == '|')
            p++;
    }
    return false;
}

static int h_help(struct hmp_out *out, const char *args, struct error **errp)
{
    char name[64];
    int r = hmp_next_word(&args, name, sizeof(name), errp);
    if (r < 0)
        return r;
    if (r > 0 && strcmp(name, "info") == 0)
        return hmp_info_help(out);
    for (const struct hmp_cmd *c = hmp_cmds; c->name; c++)
        if (r == 0 || hmp_name_matches(c->name, name))
            hmp_printf(out, "%s %s -- %s\r\n", c->name, c->params, _(c->help));
    return 0;
}

int hmp_run(const char *line, struct hmp_out *out)
{
    char name[64];
    struct error *err = NULL;
    int r = hmp_next_word(&line, name, sizeof(name), &err);
    if (r <= 0)
        goto done;
    for (const struct hmp_cmd *c = hmp_cmds; c->name; c++)
        if (hmp_name_matches(c->name, name)) {
            r = c->fn(out, line, &err);
            trace_hmp_command(name, r);
            goto done;
        }
    hmp_printf(out, _("unknown command: '%s'"), name);
    hmp_printf(out, "\r\n");
    return 0;
done:
    if (err) {
        hmp_printf(out, "Error: %s\r\n", err->msg);
        err_free(err);
    }
    return r;
}
