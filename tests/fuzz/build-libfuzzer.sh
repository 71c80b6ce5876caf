#!/bin/sh
# build-libfuzzer.sh - build the fuzz targets as libFuzzer binaries with
# clang (not part of `make check`):
#   tests/fuzz/build-libfuzzer.sh BUILDDIR   then
#   BUILDDIR/fuzz-qcow2 tests/fuzz/corpus-qcow2
#   BUILDDIR/fuzz-json tests/fuzz/corpus-json
#   BUILDDIR/fuzz-virtq tests/fuzz/corpus-virtq
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
b=${1:-$src/build}
command -v clang >/dev/null || { echo "clang is not installed" >&2; exit 1; }
# lib/msg.c needs LOCALEDIR, which the real build takes from configure.
cflags="-g -O1 -fsanitize=fuzzer,address,undefined -DLOCALEDIR=\"/usr/share/locale\" -I$src"
# lib/chardev.c takes the device lock: lib/*.c needs hw/hw.c
hwlock="$src/hw/hw.c"
for fmt in qcow2 raw vdi vpc vmdk vhdx; do
    clang $cflags -DFUZZ_FORMAT="\"$fmt\"" \
        -I"$src/lib" -I"$b" "$src/tests/fuzz/fuzz-image.c" \
        $(ls "$src"/lib/*.c "$src"/lib/block/*.c) "$hwlock" \
        -o "$b/fuzz-$fmt" -lz $(pkg-config --libs libzstd 2>/dev/null) -lpthread -lm
done
# the NBD server: handshake and request parser
clang $cflags \
    -I"$src/lib" -I"$src/nbd" -I"$b" \
    "$src/tests/fuzz/fuzz-nbd.c" $(ls "$src"/lib/*.c "$src"/lib/block/*.c) "$hwlock" \
    $(ls "$src"/nbd/*.c | grep -v emu-nbd.c) \
    -o "$b/fuzz-nbd" -lz $(pkg-config --libs libzstd gnutls 2>/dev/null) -lpthread -lm
clang $cflags -I"$src/lib" -I"$b" \
    "$src/tests/fuzz/fuzz-anon.c" $(ls "$src"/lib/*.c "$src"/lib/block/*.c) "$hwlock" \
    -o "$b/fuzz-anon" -lz $(pkg-config --libs libzstd 2>/dev/null) -lpthread -lm
# JSON and key=value option strings (QMP, -blockdev)
clang $cflags -I"$src/lib" -I"$b" \
    "$src/tests/fuzz/fuzz-json.c" $(ls "$src"/lib/*.c) "$hwlock" \
    -o "$b/fuzz-json" -lpthread -lm
# split virtqueues against a hostile guest
clang $cflags -I"$src/lib" -I"$src" -I"$b" \
    "$src/tests/fuzz/fuzz-virtq.c" $(ls "$src"/lib/*.c) "$hwlock" "$src/hw/mem.c" \
    "$src/hw/virtio/virtio.c" "$src/hw/virtio/virtqueue.c" \
    -o "$b/fuzz-virtq" -lpthread -lm
