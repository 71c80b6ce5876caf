/* models.c - the table of virtio device models (models.h). */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "hw/virtio/models.h"
#include "hw/virtio/virtio.h"
#include "hw/dev.h"
#include "i18n.h"
#include "keyval.h"

const struct vdev_model *const vdev_models[] = {
    &virtio_blk_model,
    &virtio_rng_model,
    &virtio_serial_model,
    &virtconsole_model,
    &virtio_net_model,
    &virtio_gpu_model,
    &virtio_keyboard_model,
    &virtio_tablet_model,
    &virtio_mouse_model,
    NULL,
};

const struct vdev_model *vdev_model_find(const char *name)
{
    for (int i = 0; vdev_models[i]; i++)
        if (strcmp(vdev_models[i]->name, name) == 0)
            return vdev_models[i];
    return NULL;
}

/* The entry of a plugged virtio device in a board's dev_list: the
 * transport resets it, so reset has nothing to do; free frees the model. */
static void vdev_free_op(void *dev)
{
    struct virtio_dev *vd = dev;
    vd->ops->free(vd);
}

static const char *vdev_model_op(void *dev)
{
    struct virtio_dev *vd = dev;
    return vd->ops->name;
}

static void vdev_save_op(void *dev, struct vms_out *f)
{
    virtio_dev_save(dev, f);
}

static void vdev_load_op(void *dev, struct vms_in *f, uint32_t version)
{
    virtio_dev_load(dev, f, version);
}

const struct dev_ops virtio_dev_list_ops = {
    .name = "virtio-device",
    .desc = "a virtio device model",
    .free = vdev_free_op,
    .model = vdev_model_op,
    .vmstate_version = VIRTIO_VMSTATE_VERSION,
    .save = vdev_save_op,
    .load = vdev_load_op,
};

int vdev_create(struct virtio_dev **out, const char *spec, const struct vdev_env *env,
                struct error **errp)
{
    struct kv *kv;
    int r = kv_parse(&kv, spec, "driver", errp);
    if (r < 0)
        return r;
    const char *name = kv_get(kv, "driver");
    const struct vdev_model *mdl = name ? vdev_model_find(name) : NULL;
    if (!name)
        r = err_set(errp, EINVAL, _("Parameter 'driver' is missing"));
    else if (!mdl)
        r = err_set(errp, ENOENT, _("'%s' is not a valid device model name"), name);
    else
        r = mdl->create(out, kv, env, errp);
    kv_free(kv);
    return r;
}

void vdev_print_models(FILE *fp)
{
    fprintf(fp, "%s\n", _("virtio devices (on the board's virtio-mmio slots):"));
    for (int i = 0; vdev_models[i]; i++)
        fprintf(fp, "name \"%s\", desc \"%s\"\n", vdev_models[i]->name, vdev_models[i]->desc);
}
