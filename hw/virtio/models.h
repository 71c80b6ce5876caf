/* models.h - the virtio device models, as -device names them, in one
 * table.  A model builds a struct virtio_dev from its -device properties
 * and what the machine offers (memory, loop, worker pool, drives,
 * character devices); the board plugs the result into a transport. */
#ifndef EMU_HW_VIRTIO_MODELS_H
#define EMU_HW_VIRTIO_MODELS_H

#include <stdio.h>
#include "common.h"
#include "error.h"
#include "hw/dev.h"

struct virtio_dev;
struct kv;
struct mem_map;
struct loop;
struct pool;
struct drive_set;
struct chardev;
struct netdev_set;

struct vdev_env {
    struct mem_map *mem;
    struct loop *loop;
    struct pool *pool;
    struct drive_set *drives;
    struct netdev_set *netdevs;     /* -netdev back ends (NULL: none) */
    /* -chardev by id (and mark it taken), or NULL */
    struct chardev *(*find_chardev)(void *opaque, const char *id);
    void *opaque;
    /* the last virtio-serial-device made, for its virtconsole port */
    struct virtio_dev *last_serial;
};

struct vdev_model {
    const char *name;           /* -device NAME */
    const char *desc;
    /* Build the device from PROPS (the -device line without its name):
     * take the properties with kv_get*() and refuse the rest with
     * kv_check_used().  A model that only adds to an earlier device
     * (virtconsole) sets *out to NULL. */
    int (*create)(struct virtio_dev **out, struct kv *props, const struct vdev_env *env,
                  struct error **errp);
};

extern const struct vdev_model virtio_blk_model, virtio_rng_model, virtio_serial_model,
    virtconsole_model, virtio_net_model, virtio_gpu_model, virtio_keyboard_model,
    virtio_tablet_model, virtio_mouse_model;
extern const struct vdev_model *const vdev_models[];    /* NULL-terminated */
const struct vdev_model *vdev_model_find(const char *name);

/* Build the device a -device SPEC names ("virtio-blk-device,drive=d0"). */
int vdev_create(struct virtio_dev **out, const char *spec, const struct vdev_env *env,
                struct error **errp);
/* -device help */
void vdev_print_models(FILE *fp);
/* The events a virtio-input device dropped (no driver, no buffers, a
 * full queue); 0 for other devices. */
uint64_t virtio_input_dropped(const struct virtio_dev *vd);
/* For a board's dev_list: frees the model (its transport resets it). */
extern const struct dev_ops virtio_dev_list_ops;

#endif
