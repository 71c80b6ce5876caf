#!/bin/sh
# user-chroot.sh - a whole riscv64 Debian userland (bash, coreutils, findutils, grep, sed, python3, perl-base, dpkg; built with debian-root and cached in $EMU_TEST_CACHE or ~/.cache/emu) runs under emu-user-riscv64: shell pipelines, python3 with json/hashlib/sqlite3/threading/subprocess, perl, dpkg --version.  Through binfmt_misc + chroot when emu-user-riscv64 is static and binfmt_misc can be used, otherwise with -L ROOT; the test says which.
. "$top_srcdir/tests/lib.sh"
set -e
[ -x "$EMU_USER_RISCV64" ] || fail "$EMU_USER_RISCV64 was not built"

tool=
for t in "${EMU_DEBIAN_ROOT:-}" "$top_srcdir/../shared/tools/debian-root" \
    "$top_srcdir/../../shared/tools/debian-root" /work/shared/tools/debian-root; do
    [ -n "$t" ] && [ -x "$t" ] && { tool=$t; break; }
done
[ -n "$tool" ] || skip "the debian-root tool (../shared/tools/debian-root) is not available"
requires dpkg-deb
requires apt-get

cache=${EMU_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/emu}
root=$cache/riscv64-root-1
pkgs="bash coreutils findutils grep sed python3 perl-base dpkg"
if [ ! -f "$root/.complete" ]; then
    mkdir -p "$cache"
    rm -rf "$root.tmp"
    start=$(date +%s)
    if ! "$tool" "$root.tmp" $pkgs >"$T/droot.log" 2>&1; then
        cat "$T/droot.log" >&2
        if grep -Eq "apt update|Failed to fetch|Temporary failure|Could not resolve|no Debian mirror" "$T/droot.log"; then
            skip "the Debian package registry is unreachable: cannot build the riscv64 root"
        fi
        fail "debian-root failed"
    fi
    touch "$root.tmp/.complete"
    rm -rf "$root"
    mv "$root.tmp" "$root"
    echo "built the riscv64 root in $(( $(date +%s) - start ))s: $root"
else
    echo "using the cached riscv64 root: $root"
fi

mode=L
name=emu-riscv64-test-$$
if [ "$(id -u)" = 0 ] && command -v chroot >/dev/null &&
    ! readelf -l "$EMU_USER_RISCV64" 2>/dev/null | grep -q "program interpreter"; then
    if "$top_srcdir/scripts/binfmt-register" --path "$EMU_USER_RISCV64" --name "$name" \
        --flags FPC >"$T/binfmt.log" 2>&1; then
        cleanup_add "$top_srcdir/scripts/binfmt-register --unregister --name $name"
        mode=chroot
    else
        echo "binfmt_misc cannot be used here: $(cat "$T/binfmt.log")"
    fi
fi
if [ $mode = chroot ]; then
    echo "running through binfmt_misc + chroot $root"
    run() { chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin LC_ALL=C "$@"; }
else
    echo "running with -L $root (binfmt_misc + chroot needs root, a static emu-user-riscv64 (--enable-static-user) and binfmt_misc)"
    run() { env -i PATH=/usr/bin:/bin LC_ALL=C "$EMU_USER_RISCV64" -L "$root" "$@"; }
fi

check() {
    # check WANT COMMAND...: stdout must be WANT
    _want=$1
    shift
    _got=$(run "$@" 2>"$T/err") || { cat "$T/err" >&2; fail "failed: $*"; }
    [ "$_got" = "$_want" ] || { printf 'want: %s\ngot:  %s\n' "$_want" "$_got" >&2; cat "$T/err" >&2; fail "wrong output: $*"; }
    printf 'ok: %.70s\n' "$*" | head -1
}

check "HELLO RISCV64 19 /usr/bin/bash 5050" /bin/bash -c \
    'a=$(echo hello $(uname -m) | sed "s/world/x/" | tr a-z A-Z)
     b=$(seq 1 100 | grep 7 | wc -l)
     c=$(find /usr/bin -name bash -type f)
     d=$(seq 1 100 | paste -sd+ | bc 2>/dev/null || { s=0; for i in $(seq 1 100); do s=$((s+i)); done; echo $s; })
     echo $a $b $c $d'
check "3 b" /bin/bash -c 'printf "a\nb\nb\nb\n" | sort | uniq -c | sort -rn | head -1 | sed "s/^ *//"'
check '{"k": [1, 2, 3]}
ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
4950
[0, 1, 4, 9, 16, 25, 36, 49]
SUB RISCV64' /usr/bin/python3 -c '
import json, hashlib, sqlite3, threading, subprocess
print(json.dumps({"k": [1, 2, 3]}))
print(hashlib.sha256(b"abc").hexdigest())
db = sqlite3.connect(":memory:")
db.execute("create table t (x integer)")
db.executemany("insert into t values (?)", [(i,) for i in range(100)])
print(db.execute("select sum(x) from t").fetchone()[0])
out = []
lock = threading.Lock()
def work(i):
    with lock:
        out.append(i * i)
ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
for t in ts: t.start()
for t in ts: t.join()
print(sorted(out))
print(subprocess.run(["/bin/bash", "-c", "echo sub $(uname -m) | tr a-z A-Z"], capture_output=True, text=True).stdout.strip())'
check "2,4,6,8,10 olleh" /usr/bin/perl -e 'print join(",", map { $_ * 2 } 1..5), " ", scalar reverse("hello"), "\n"'
out=$(run /usr/bin/dpkg --version 2>&1 | head -1) || fail "dpkg --version failed"
case $out in *"(riscv64)"*) echo "ok: dpkg --version: $out" ;; *) fail "dpkg --version: $out" ;; esac
echo "ran via: $mode"
exit 0
