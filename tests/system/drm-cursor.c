/* drm-cursor.c - a riscv64 Linux program for tests/system/display-sdl.sh:
 * gives the first CRTC of /dev/dri/card0 (virtio-gpu) a 32x32 pointer
 * image, opaque red, with its hot spot at (3, 5), through the legacy
 * cursor ioctl (as a window system does), prints CURSOR-SET and stays
 * (the DRM master's exit would take the cursor away) until killed. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <drm/drm.h>
#include <drm/drm_mode.h>

int main(void)
{
    int fd = open("/dev/dri/card0", O_RDWR);
    if (fd < 0) {
        perror("/dev/dri/card0");
        return 1;
    }
    uint32_t crtcs[16];
    struct drm_mode_card_res res;
    memset(&res, 0, sizeof(res));
    res.crtc_id_ptr = (uintptr_t)crtcs;
    res.count_crtcs = 16;
    if (ioctl(fd, DRM_IOCTL_MODE_GETRESOURCES, &res) < 0 || res.count_crtcs < 1) {
        perror("GETRESOURCES");
        return 1;
    }
    struct drm_mode_create_dumb cd = { .width = 32, .height = 32, .bpp = 32 };
    if (ioctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &cd) < 0) {
        perror("CREATE_DUMB");
        return 1;
    }
    struct drm_mode_map_dumb md = { .handle = cd.handle };
    if (ioctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &md) < 0) {
        perror("MAP_DUMB");
        return 1;
    }
    uint32_t *px = mmap(NULL, cd.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)md.offset);
    if (px == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    for (uint32_t i = 0; i < cd.size / 4; i++)
        px[i] = 0xffff0000;     /* ARGB: opaque red */
    struct drm_mode_cursor2 c = {
        .flags = DRM_MODE_CURSOR_BO, .crtc_id = crtcs[0], .width = 32, .height = 32,
        .handle = cd.handle, .hot_x = 3, .hot_y = 5,
    };
    if (ioctl(fd, DRM_IOCTL_MODE_CURSOR2, &c) < 0) {
        perror("CURSOR2");
        return 1;
    }
    printf("CURSOR-SET\n");
    fflush(stdout);
    for (;;)
        pause();
}
