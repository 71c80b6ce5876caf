#!/bin/sh
# configure-errors.sh - configure fails with a clear message when a required
# library is missing, or when an optional one is demanded with --enable-X
# but absent; with --disable-X it builds the summary without it.
. "$top_srcdir/tests/lib.sh"
need pkg-config
empty="$T/no-pkgconfig"
mkdir -p "$empty" "$T/b1" "$T/b2" "$T/b3"

# configure refuses to build out of a source tree configured in place, so
# run a copy of just what configure reads.
src="$T/src"
mkdir -p "$src/po" "$src/lib"
cp "$top_srcdir/configure" "$top_srcdir/config.h.in" "$top_srcdir/Makefile.in" "$src/" ||
    fail "configure, config.h.in or Makefile.in missing in $top_srcdir"
cp -R "$top_srcdir/build-aux" "$src/"
cp "$top_srcdir/lib/error.c" "$src/lib/"
cp "$top_srcdir/po/Makefile.in.in" "$top_srcdir/po/POTFILES.in" "$top_srcdir/po/LINGUAS" \
    "$top_srcdir/po/Makevars" "$src/po/"

# Required zlib missing: pkg-config finds nothing.
set +e
(cd "$T/b1" && PKG_CONFIG_LIBDIR="$empty" PKG_CONFIG_PATH= "$src/configure" >out 2>err)
rc=$?
set -e
[ "$rc" != 0 ] || fail "configure succeeded without zlib"
grep -q "error: zlib (>= 1.2.8) is required but was not found by pkg-config" "$T/b1/err" ||
    fail "no clear zlib message: $(tail -n 3 "$T/b1/err")"
grep -q "apt-get install zlib1g-dev" "$T/b1/err" || fail "message does not say what to install"

# An optional library demanded but missing: only the required libraries
# are visible (zlib, and libslirp with what its .pc file requires).
mkdir -p "$T/only-zlib"
copy_pc() {
    for _p in "$@"; do
        _p=${_p%% *}
        [ -f "$T/only-zlib/$_p.pc" ] && continue
        cp "$(pkg-config --variable=pcfiledir "$_p")/$_p.pc" "$T/only-zlib/" ||
            fail "no $_p.pc"
        # shellcheck disable=SC2046
        copy_pc $(pkg-config --print-requires --print-requires-private "$_p" | cut -d' ' -f1)
    done
}
copy_pc zlib slirp
set +e
(cd "$T/b2" && PKG_CONFIG_LIBDIR="$T/only-zlib" PKG_CONFIG_PATH= "$src/configure" --enable-sdl >out 2>err)
rc=$?
set -e
[ "$rc" != 0 ] || fail "configure --enable-sdl succeeded without SDL2"
grep -q "error: --enable-sdl was given but sdl2 >= 2.0 was not found" "$T/b2/err" ||
    fail "no clear SDL2 message: $(tail -n 3 "$T/b2/err")"

# Optional libraries absent and not demanded: configure succeeds, says "no".
# (the directory is still called only-zlib: zlib and libslirp are required)
(cd "$T/b3" && PKG_CONFIG_LIBDIR="$T/only-zlib" PKG_CONFIG_PATH= "$src/configure" \
    --disable-gnutls >out 2>err) || fail "configure failed with only zlib: $(tail -n 3 "$T/b3/err")"
grep -q "SDL2: *no" "$T/b3/out" || fail "summary does not report SDL2 as absent"
grep -q "gnutls: *no" "$T/b3/out" || fail "summary does not report gnutls as disabled"
exit 0
