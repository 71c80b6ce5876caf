/* rng.c - virtio-rng (virtio 1.2, 5.4): the guest's /dev/hwrng, fed from
 * the host's getrandom().  One queue of writable buffers; each is filled
 * (up to RNG_MAX_CHUNK bytes) in the loop thread. */
#include <config.h>
#include <errno.h>
#include <sys/random.h>
#include "hw/virtio/virtio.h"
#include "hw/virtio/models.h"
#include "hw/hw.h"
#include "i18n.h"
#include "keyval.h"
#include "loop.h"

#define QUEUE_SIZE 8
#define RNG_MAX_CHUNK 65536     /* bytes per request: a guest cannot make us spin */

struct virtio_rng {
    struct virtio_dev vd;
    struct loop_bh *bh;
};

static void rng_process(void *opaque)
{
    struct virtio_rng *g = opaque;
    struct virtq *vq = &g->vd.vq[0];
    struct virtq_elem e = { 0 };
    hw_lock();
    bool pushed = false;
    while (virtq_pop(vq, &e) == 1) {
        uint32_t done = 0;
        unsigned k = e.n_out;
        for (unsigned i = 0; i < e.n_in && done < RNG_MAX_CHUNK; i++) {
            size_t want = MIN(e.iov[k + i].iov_len, (size_t)(RNG_MAX_CHUNK - done));
            ssize_t n = getrandom(e.iov[k + i].iov_base, want, GRND_NONBLOCK);
            if (n <= 0)
                break;
            mem_dma_written(g->vd.mem, e.pa[k + i], (uint64_t)n);
            done += (uint32_t)n;
            if ((size_t)n < want)
                break;
        }
        virtq_push(vq, &e, done, g->vd.generation);
        pushed = true;
    }
    if (pushed)
        virtq_notify(vq);
    hw_unlock();
    virtq_elem_free(&e);
}

static void rng_queue_notify(struct virtio_dev *vd, int q)
{
    struct virtio_rng *g = vd->opaque;
    (void)q;
    loop_bh_schedule(g->bh);
}

static void rng_free(struct virtio_dev *vd)
{
    struct virtio_rng *g = vd->opaque;
    loop_bh_free(g->bh);
    virtio_dev_cleanup(&g->vd);
    free(g);
}

static const struct virtio_dev_ops rng_ops = {
    .name = "virtio-rng-device",
    .device_id = VIRTIO_ID_RNG,
    .queue_notify = rng_queue_notify,
    .free = rng_free,
};

static int rng_create(struct virtio_dev **out, struct kv *props, const struct vdev_env *env,
                      struct error **errp)
{
    const char *rng = kv_get(props, "rng");
    (void)kv_get(props, "id");
    (void)kv_get(props, "max-bytes");
    (void)kv_get(props, "period");
    int r = kv_check_used(props, errp);
    if (r < 0)
        return r;
    if (rng)
        return err_set(errp, ENOTSUP, _("rng=%s: only the default source (getrandom) is "
                                        "supported"), rng);
    struct virtio_rng *g = calloc(1, sizeof(*g));
    if (!g)
        return err_set(errp, ENOMEM, _("out of memory"));
    r = virtio_dev_init(&g->vd, &rng_ops, g, env->mem, 0, 0, 1, QUEUE_SIZE, errp);
    if (r < 0 || !(g->bh = loop_bh_new(env->loop, rng_process, g, errp))) {
        virtio_dev_cleanup(&g->vd);
        free(g);
        return r < 0 ? r : -ENOMEM;
    }
    *out = &g->vd;
    return 0;
}

const struct vdev_model virtio_rng_model = {
    .name = "virtio-rng-device",
    .desc = "virtio entropy source",
    .create = rng_create,
};
