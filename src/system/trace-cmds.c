/* trace-cmds.c - the monitors' trace event commands (see trace-cmds.h).
 * NAME is a glob pattern everywhere, as in QEMU. */
#include <config.h>

#include <errno.h>
#include <fnmatch.h>
#include <string.h>

#include "trace-cmds.h"
#include "i18n.h"
#include "json.h"
#include "json-writer.h"
#include "trace.h"

/* "enabled", "disabled", or "unavailable" in a build whose backends do
 * not use the flag (dtrace or nop only: nothing to switch). */
static const char *state_name(const struct trace_event *ev)
{
    if (!TRACE_HAS_STATE)
        return "unavailable";
    return trace_event_get_state(ev) ? "enabled" : "disabled";
}

static bool is_pattern(const char *name)
{
    return strpbrk(name, "*?[") != NULL;
}

int hmp_trace_event(struct hmp_out *out, const char *args, struct error **errp)
{
    char name[128], state[8];
    int r = hmp_next_word(&args, name, sizeof(name), errp);
    if (r <= 0)
        return r < 0 ? r : err_set(errp, EINVAL, _("trace-event: missing event name"));
    r = hmp_next_word(&args, state, sizeof(state), errp);
    if (r < 0)
        return r;
    bool on = strcmp(state, "on") == 0;
    if (r == 0 || (!on && strcmp(state, "off") != 0))
        return err_set(errp, EINVAL, _("trace-event %s: the state must be on or off"), name);
    if (!TRACE_HAS_STATE)
        return err_set(errp, ENOTSUP,
                       _("trace-event %s: this build's trace backends (%s) cannot be switched"),
                       name, trace_backends());
    int n = 0;
    for (size_t i = 0; i < trace_event_count; i++)
        if (fnmatch(name, trace_events[i].name, 0) == 0) {
            trace_event_set_state(&trace_events[i], on);
            n++;
        }
    if (n == 0)
        return err_set(errp, EINVAL, _("No such event '%s'"), name);
    (void)out;
    return 0;
}

int hmp_info_trace_events(struct hmp_out *out, const char *args, struct error **errp)
{
    char name[128];
    int r = hmp_next_word(&args, name, sizeof(name), errp);
    if (r < 0)
        return r;
    if (r == 0)
        strcpy(name, "*");
    for (size_t i = 0; i < trace_event_count; i++)
        if (fnmatch(name, trace_events[i].name, 0) == 0)
            hmp_printf(out, "%s : state %u\r\n", trace_events[i].name,
                       trace_event_get_state(&trace_events[i]) ? 1u : 0u);
    return 0;
}

const struct qmp_arg trace_get_state_args[] = {
    { "name", "str", false },
    { "vcpu", "int", true },
    { NULL, NULL, false },
};

const struct qmp_arg trace_set_state_args[] = {
    { "name", "str", false },
    { "enable", "bool", false },
    { "ignore-unavailable", "bool", true },
    { "vcpu", "int", true },
    { NULL, NULL, false },
};

/* Per-vCPU events do not exist here: a "vcpu" argument matches nothing. */
static int check_vcpu(const struct json_value *a, struct error **errp)
{
    if (json_get(a, "vcpu"))
        return err_set(errp, EINVAL, _("trace events are not per-vCPU in this emulator"));
    return 0;
}

int trace_qmp_get_state(void *o, const struct json_value *a, struct json_writer *w,
                        struct error **errp)
{
    (void)o;
    const char *name = json_get(a, "name")->u.s;
    if (check_vcpu(a, errp) < 0)
        return -EINVAL;
    if (!is_pattern(name) && !trace_event_find(name))
        return err_set(errp, EINVAL, _("No such event '%s'"), name);
    jw_arr_begin(w, NULL);
    for (size_t i = 0; i < trace_event_count; i++) {
        if (fnmatch(name, trace_events[i].name, 0) != 0)
            continue;
        jw_obj_begin(w, NULL);
        jw_str(w, "name", trace_events[i].name);
        jw_str(w, "state", state_name(&trace_events[i]));
        jw_bool(w, "vcpu", false);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    return 0;
}

int trace_qmp_set_state(void *o, const struct json_value *a, struct json_writer *w,
                        struct error **errp)
{
    (void)o, (void)w;
    const char *name = json_get(a, "name")->u.s;
    bool on = json_get(a, "enable")->u.b;
    const struct json_value *ign = json_get(a, "ignore-unavailable");
    if (check_vcpu(a, errp) < 0)
        return -EINVAL;
    if (!is_pattern(name) && !trace_event_find(name))
        return err_set(errp, EINVAL, _("No such event '%s'"), name);
    if (!TRACE_HAS_STATE && !(ign && ign->u.b))
        return err_set(errp, EINVAL, _("Disabled event '%s'"), name);
    for (size_t i = 0; i < trace_event_count; i++)
        if (fnmatch(name, trace_events[i].name, 0) == 0)
            trace_event_set_state(&trace_events[i], on);
    return 0;
}
