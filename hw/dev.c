/* dev.c - the table of device models and a board's list of devices. */
#include <config.h>

#include <errno.h>

#include "hw/dev.h"
#include "i18n.h"

/* Explicit table: a static archive keeps only what is referenced. */
const struct dev_ops *const dev_types[] = {
    &uart16550_ops,
    &aclint_ops,
    &plic_ops,
    &goldfish_rtc_ops,
    &sifive_test_ops,
    &virtio_mmio_ops,
    NULL,
};

int dev_list_add(struct dev_list *l, const struct dev_ops *ops, void *dev, uint64_t base,
                 struct error **errp)
{
    if (l->n == DEV_LIST_MAX)
        return err_set(errp, ENOSPC, _("too many devices (at most %d)"), DEV_LIST_MAX);
    l->d[l->n++] = (struct dev_entry){ .ops = ops, .dev = dev, .base = base };
    return 0;
}

void dev_list_reset(struct dev_list *l)
{
    for (int i = 0; i < l->n; i++)
        if (l->d[i].ops->reset)
            l->d[i].ops->reset(l->d[i].dev);
}

void dev_list_free(struct dev_list *l)
{
    for (int i = l->n; i-- > 0;)
        l->d[i].ops->free(l->d[i].dev);
    l->n = 0;
}
