#!/bin/sh
# po-check.sh - the message catalogue is complete: every source file that
# marks messages with _() is in po/POTFILES.in, and every message of the
# sources has a German translation in po/de.po (none missing, none fuzzy).
. "$top_srcdir/tests/lib.sh"
need xgettext msgmerge msgfmt msgattrib
cd "$top_srcdir" || fail "no source tree"

missing=
for f in $(grep -l -E '(^|[^A-Za-z0-9_])N?_\("' $(find lib translate hw src img nbd \
        -name '*.c' 2>/dev/null | sort)); do
    grep -qx "$f" po/POTFILES.in || missing="$missing $f"
done
[ -z "$missing" ] || fail "files with translatable messages missing from po/POTFILES.in:$missing"

xgettext --default-domain=emu --directory=. --files-from=po/POTFILES.in \
    --keyword=_ --keyword=N_ --from-code=UTF-8 -o "$T/emu.pot" ||
    fail "xgettext failed"
for lang in $(cat po/LINGUAS); do
    cp "po/$lang.po" "$T/$lang.po"
    msgmerge --quiet --update --backup=none --no-fuzzy-matching "$T/$lang.po" "$T/emu.pot" ||
        fail "msgmerge of $lang.po failed"
    msgfmt --check -o /dev/null "$T/$lang.po" || fail "po/$lang.po does not compile"
    untr=$(msgattrib --untranslated --no-obsolete "$T/$lang.po" | grep -c '^msgid' || true)
    fuzzy=$(msgattrib --only-fuzzy --no-obsolete "$T/$lang.po" | grep -c '^msgid' || true)
    # msgattrib prints the header entry too when there is anything to print.
    [ "$untr" -le 1 ] || { msgattrib --untranslated --no-obsolete "$T/$lang.po" | grep '^msgid' >&2;
        fail "po/$lang.po: $((untr - 1)) messages untranslated (run scripts/po-update)"; }
    [ "$fuzzy" -le 1 ] || fail "po/$lang.po: $((fuzzy - 1)) fuzzy messages"
done
exit 0
