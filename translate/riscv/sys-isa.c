/* sys-isa.c - which RISC-V extensions a system-mode hart has: -cpu
 * parsing, misa's letters and the device-tree strings.
 *
 * The device tree must advertise exactly what is implemented: Linux and
 * OpenSBI use these strings to decide what to run.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "riscv/sys-int.h"
#include "i18n.h"

/* -cpu property names, as qemu's (EXT=on|off). */
static const struct {
    const char *name;
    uint64_t bit;
} rv_props[] = {
    { "m", RV_EXT_M }, { "a", RV_EXT_A }, { "f", RV_EXT_F }, { "d", RV_EXT_D },
    { "c", RV_EXT_C }, { "zba", RV_EXT_ZBA }, { "zbb", RV_EXT_ZBB }, { "zbs", RV_EXT_ZBS },
};

int rv_cpu_parse(const char *spec, uint64_t *ext, struct error **errp)
{
    uint64_t e = RV_EXT_ALL;
    if (!spec || !*spec)
        spec = "rv64";
    size_t n = strcspn(spec, ",");
    if (!((n == 4 && strncmp(spec, "rv64", 4) == 0) || (n == 3 && strncmp(spec, "max", 3) == 0) ||
          (n == 3 && strncmp(spec, "any", 3) == 0)))
        return err_set(errp, EINVAL, _("-cpu %.*s: unknown CPU model (use rv64)"), (int)n, spec);
    const char *p = spec + n;
    while (*p == ',') {
        p++;
        size_t len = strcspn(p, ",");
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        bool on = true;
        if (eq) {
            size_t vlen = len - klen - 1;
            if ((vlen == 2 && strncmp(eq + 1, "on", 2) == 0) || (vlen == 4 && strncmp(eq + 1, "true", 4) == 0))
                on = true;
            else if ((vlen == 3 && strncmp(eq + 1, "off", 3) == 0) ||
                     (vlen == 5 && strncmp(eq + 1, "false", 5) == 0))
                on = false;
            else
                return err_set(errp, EINVAL, _("-cpu: property '%.*s' takes on or off, not '%.*s'"),
                               (int)klen, p, (int)vlen, eq + 1);
        }
        size_t k;
        for (k = 0; k < ARRAY_SIZE(rv_props); k++)
            if (strlen(rv_props[k].name) == klen && strncmp(rv_props[k].name, p, klen) == 0)
                break;
        if (k == ARRAY_SIZE(rv_props)) {
            /* extensions that are always there */
            static const char *const fixed[] = { "i", "zicsr", "zifencei", "zihintpause",
                                                 "sstc", "s", "u", "mmu", "pmp" };
            bool known = false;
            for (size_t j = 0; j < ARRAY_SIZE(fixed); j++)
                if (strlen(fixed[j]) == klen && strncmp(fixed[j], p, klen) == 0)
                    known = true;
            if (!known)
                return err_set(errp, EINVAL, _("-cpu: unknown property '%.*s'"), (int)klen, p);
            if (!on)
                return err_set(errp, EINVAL, _("-cpu: '%.*s' cannot be turned off"), (int)klen, p);
        } else if (on) {
            e |= rv_props[k].bit;
        } else {
            e &= ~rv_props[k].bit;
        }
        p += len;
    }
    if ((e & RV_EXT_D) && !(e & RV_EXT_F))
        return err_set(errp, EINVAL, _("-cpu: d=on needs f=on"));
    *ext = e | RV_EXT_I;
    return 0;
}

void rv_isa_string(uint64_t ext, char *buf, size_t len)
{
    snprintf(buf, len, "rv64i%s%s%s%s%s_zicsr_zifencei_zihintpause%s%s%s_sstc",
             (ext & RV_EXT_M) ? "m" : "", (ext & RV_EXT_A) ? "a" : "",
             (ext & RV_EXT_F) ? "f" : "", (ext & RV_EXT_D) ? "d" : "",
             (ext & RV_EXT_C) ? "c" : "", (ext & RV_EXT_ZBA) ? "_zba" : "",
             (ext & RV_EXT_ZBB) ? "_zbb" : "", (ext & RV_EXT_ZBS) ? "_zbs" : "");
}

int rv_isa_extensions(uint64_t ext, const char **names, int max)
{
    int n = 0;
#define ADD(cond, s) do { if ((cond) && n < max) names[n++] = (s); } while (0)
    ADD(true, "i");
    ADD(ext & RV_EXT_M, "m");
    ADD(ext & RV_EXT_A, "a");
    ADD(ext & RV_EXT_F, "f");
    ADD(ext & RV_EXT_D, "d");
    ADD(ext & RV_EXT_C, "c");
    ADD(true, "zicntr");
    ADD(true, "zicsr");
    ADD(true, "zifencei");
    ADD(true, "zihintpause");
    ADD(ext & RV_EXT_ZBA, "zba");
    ADD(ext & RV_EXT_ZBB, "zbb");
    ADD(ext & RV_EXT_ZBS, "zbs");
    ADD(true, "sstc");
#undef ADD
    return n;
}

const char *rv_mmu_type(void)
{
    return "riscv,sv48";        /* Sv39 and Sv48 are implemented; Linux probes down from it */
}
