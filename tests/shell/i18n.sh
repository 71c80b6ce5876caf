#!/bin/sh
# i18n.sh - messages are translated at run time: with LANGUAGE=de the size
# parser's error comes out in German from the built catalogue, and in
# English without it; either way it is one line naming the bad input.
. "$top_srcdir/tests/lib.sh"
prog="$top_builddir/tests/unit/test-i18n"
gmo="$top_builddir/po/de.gmo"
[ -f "$gmo" ] || gmo="$top_srcdir/po/de.gmo"
[ -f "$gmo" ] || fail "po/de.gmo was not built"
mkdir -p "$T/locale/de/LC_MESSAGES"
cp "$gmo" "$T/locale/de/LC_MESSAGES/emu.mo"

set +e
LC_ALL=C "$prog" 12x > "$T/en" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || fail "bad size exited $rc"
[ "$(cat "$T/en")" = "test-i18n: invalid size '12x': unknown suffix 'x' (use k, M, G, T, P or E)" ] ||
    fail "English message: $(cat "$T/en")"

set +e
EMU_LOCALEDIR="$T/locale" LC_ALL=C.UTF-8 LANGUAGE=de "$prog" 12x > "$T/de" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || fail "bad size exited $rc under LANGUAGE=de"
grep -q "ungültige Größe »12x«: unbekannte Endung »x«" "$T/de" ||
    fail "German message not used: $(cat "$T/de")"
[ "$(wc -l < "$T/de")" = 1 ] || fail "message is not one line"

[ "$(LC_ALL=C "$prog" 1.5G)" = 1610612736 ] || fail "1.5G misparsed"
exit 0
