/* placeholder: being written */
typedef int emu_placeholder_hw_virtio_mmio_c;
