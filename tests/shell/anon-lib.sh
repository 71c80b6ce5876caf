# tests/shell/anon-lib.sh - sourced by the img-anonymize*.sh tests after
# tests/lib.sh: plant secrets, anonymize, and check that the copy keeps
# every metadata byte and no user data.
#
#   secret                   a fresh random string (prints it)
#   anon_check FMT NAME [SECRET...]
#       anonymizes $T/src/NAME into $T/dst/NAME and checks: SRC's bytes and
#       mtime unchanged; each SECRET is in SRC (unless marked "hidden:")
#       and nowhere in DST; the structure dumps (anon-dump.py) are equal;
#       qemu-img info equal but for the disk size; qemu-img check (and
#       emu-img check) the same output and exit code; qemu-img map --output=json the same but for
#       the zero flag of data extents; every guest read of DST is zero.
#       Set ANON_OPTS for more options (with --scrub-names, qcow2 dumps
#       compare names by length, other formats' dumps are not compared), ANON_NO_COMPARE=1 to skip the
#       guest read check (images qemu cannot read at all).
DUMP="$top_srcdir/tests/shell/anon-dump.py"
mkdir -p "$T/src" "$T/dst"

secret() {
    printf 'SECRET-%s' "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
}

# map_norm FMT [exact]: qemu-img map JSON with the zero flag set on every
# data extent (they read as zeros after anonymize; raw: no data at all) and
# neighbours merged again, as qemu-img does; "exact" changes no flag (for
# --keep-allocation).
map_norm() {
    python3 -c '
import json, sys
text = sys.stdin.read()
try:
    m = json.loads(text)
except ValueError:
    print(text)       # an error message: compared as it is
    sys.exit(0)
out = []
for e in m:
    if sys.argv[2] == "exact":
        pass
    elif sys.argv[1] == "raw":    # raw: data is where the file has no hole
        e["data"] = False
        e["zero"] = True
    elif e.get("data") and "offset" in e:
        e["zero"] = True
    p = out[-1] if out else None
    if p and all(p.get(k) == e.get(k) for k in ("depth", "present", "zero", "data")) and \
       ("offset" in p) == ("offset" in e) and \
       ("offset" not in p or p["offset"] + p["length"] == e["offset"]):
        p["length"] += e["length"]
        continue
    out.append(e)
for e in out:
    print(json.dumps(e, sort_keys=True))
' "$1" "${2:-}"
}

# With --scrub-names: qemu-img info with names shown by their shape only.
info_mask() {
    python3 -c '
import re, sys
snap = False
for line in sys.stdin:
    if line.startswith("Snapshot list"):
        snap = True
    elif snap and not re.match(r"^(ID|\d+) ", line):
        snap = False
    if re.search(r"backing file|filename|data file|name:", line):
        k, _, v = line.partition(":")
        line = k + ":" + re.sub(r"[A-Za-z0-9]", "x", v)
    elif snap and re.match(r"^\d+ ", line):
        m = re.match(r"^(\d+\s+)(\S+)(.*)$", line, re.S)
        line = m.group(1) + "x" * len(m.group(2)) + m.group(3)
    sys.stdout.write(line)
'
}

# Run a qemu-img command in DIR and print its output and exit code.
in_dir() {
    _d=$1
    shift
    (set +e; cd "$_d" || exit 1; "$@" 2>&1; echo "exit $?")
}

anon_check() {
    _fmt=$1 _name=$2
    shift 2
    _src="$T/src/$_name" _dst="$T/dst/$_name"
    _sum=$(sha256sum < "$_src")
    _mtime=$(stat -c %y "$_src")
    rm -f "$_dst"
    # shellcheck disable=SC2086
    "$EMU_IMG" anonymize -f "$_fmt" ${ANON_OPTS:-} "$_src" "$_dst" > "$T/anon.out" 2>&1 ||
        { cat "$T/anon.out"; fail "$_name: anonymize failed"; }
    [ "$(sha256sum < "$_src")" = "$_sum" ] || fail "$_name: SRC was modified"
    [ "$(stat -c %y "$_src")" = "$_mtime" ] || fail "$_name: SRC's mtime changed"
    [ "$(stat -c %s "$_src")" = "$(stat -c %s "$_dst")" ] || fail "$_name: DST has another length"
    for _s in "$@"; do
        case $_s in
        hidden:*) _s=${_s#hidden:} ;;
        *) [ "$(grep -a -c -F "$_s" "$_src")" -gt 0 ] || fail "$_name: secret $_s not planted" ;;
        esac
        [ "$(grep -a -c -F "$_s" "$_dst" || true)" = 0 ] || fail "$_name: secret $_s left in DST"
    done
    _mask=
    case " ${ANON_OPTS:-} " in *" --scrub-names "*) _mask=--mask-names ;; esac
    if [ -z "$_mask" ] || [ "$_fmt" = qcow2 ]; then
        python3 "$DUMP" $_mask "$_fmt" "$_src" > "$T/dump.src"
        python3 "$DUMP" $_mask "$_fmt" "$_dst" > "$T/dump.dst"
        diff "$T/dump.src" "$T/dump.dst" || fail "$_name: metadata structures differ"
    fi
    _filter=cat
    [ -z "$_mask" ] || _filter=info_mask
    in_dir "$T/src" qemu-img info -U -f "$_fmt" "$_name" | grep -v '^disk size' | $_filter \
        > "$T/info.src"
    in_dir "$T/dst" qemu-img info -U -f "$_fmt" "$_name" | grep -v '^disk size' | $_filter \
        > "$T/info.dst"
    diff "$T/info.src" "$T/info.dst" || fail "$_name: qemu-img info differs"
    _exact=
    case " ${ANON_OPTS:-} " in *" --keep-allocation "*) _exact=exact ;; esac
    in_dir "$T/src" qemu-img check -U -f "$_fmt" "$_name" > "$T/check.src"
    in_dir "$T/dst" qemu-img check -U -f "$_fmt" "$_name" > "$T/check.dst"
    diff "$T/check.src" "$T/check.dst" || fail "$_name: qemu-img check differs"
    in_dir "$T/src" "$EMU_IMG" check -f "$_fmt" "$_name" > "$T/echeck.src"
    in_dir "$T/dst" "$EMU_IMG" check -f "$_fmt" "$_name" > "$T/echeck.dst"
    diff "$T/echeck.src" "$T/echeck.dst" || fail "$_name: emu-img check differs"
    (cd "$T/src" && qemu-img map -U --output=json -f "$_fmt" "$_name" 2>&1 || true) | map_norm "$_fmt" $_exact \
        > "$T/map.src" 2>&1 || true
    (cd "$T/dst" && qemu-img map -U --output=json -f "$_fmt" "$_name" 2>&1 || true) | map_norm "$_fmt" $_exact \
        > "$T/map.dst" 2>&1 || true
    diff "$T/map.src" "$T/map.dst" || fail "$_name: qemu-img map differs"
    if [ -z "${ANON_NO_COMPARE:-}" ]; then
        _vsize=$(qemu-img info -U -f "$_fmt" --output=json "$_dst" |
            python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
        rm -f "$T/zero.raw"
        truncate -s "$_vsize" "$T/zero.raw"
        _cmp=$(qemu-img compare -U -f "$_fmt" -F raw "$_dst" "$T/zero.raw" 2>&1) ||
            fail "$_name: DST does not read as zeros: $_cmp"
    fi
    return 0
}
