/* sifive-test.c - the SiFive test device ("sifive,test0"), the virt
 * board's power controller: a 32-bit write to offset 0 whose low 16 bits
 * say what to do.
 *
 *   0x5555          power off, exit code 0 (the DT's syscon-poweroff value)
 *   0x3333          power off with the exit code in bits 31:16 (a test failed)
 *   0x7777          reset (syscon-reboot)
 *
 * Reads return 0.  Anything else is a guest error and ignored.
 */
#include <config.h>
#include <errno.h>
#include "hw/devices.h"
#include "hw/dev.h"
#include "hw/machine.h"
#include "i18n.h"
#include "log.h"

struct sifive_test {
    struct machine *mach;
};

static bool test_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
    (void)opaque, (void)off, (void)size;
    *val = 0;
    return true;
}

static bool test_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct sifive_test *t = opaque;
    if (off == 0 && size == 4) {
        switch (val & 0xffff) {
        case SIFIVE_TEST_PASS:
            machine_request(t->mach, MACHINE_SHUTDOWN, 0);
            return true;
        case SIFIVE_TEST_FAIL:
            machine_request(t->mach, MACHINE_SHUTDOWN, (int)((val >> 16) & 0xffff));
            return true;
        case SIFIVE_TEST_RESET:
            machine_request(t->mach, MACHINE_RESET, 0);
            return true;
        }
    }
    if (log_on(LOG_GUEST_ERROR))
        log_msg(LOG_GUEST_ERROR, "sifive-test: ignored %u-byte write of 0x%" PRIx64
                " at offset 0x%" PRIx64, size, val, off);
    return true;
}

static const struct mmio_ops test_ops = {
    .read = test_read,
    .write = test_write,
};

int sifive_test_new(struct sifive_test **out, struct mem_map *m, uint64_t base,
                    struct machine *mach, struct error **errp)
{
    struct sifive_test *t = calloc(1, sizeof(*t));
    if (!t)
        return err_set(errp, ENOMEM, _("out of memory creating the test device"));
    t->mach = mach;
    int ret = mem_add_mmio(m, "sifive-test", base, SIFIVE_TEST_SIZE, &test_ops, t, errp);
    if (ret < 0) {
        free(t);
        return ret;
    }
    *out = t;
    return 0;
}

void sifive_test_free(struct sifive_test *t)
{
    free(t);
}

/* The model's entry in dev_types[] (hw/dev.h). */
static void sifive_test_free_op(void *dev)
{
    sifive_test_free(dev);
}

const struct dev_ops sifive_test_ops = {
    .name = "riscv.sifive.test",
    .desc = "SiFive test device: poweroff and reset",
    .free = sifive_test_free_op,
};
