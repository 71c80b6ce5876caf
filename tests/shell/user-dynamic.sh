#!/bin/sh
# user-dynamic.sh - glibc-dynamic builds of the guest test programs (the ELF interpreter ld.so, shared libc, libm, libstdc++, libpthread loaded from the -L sysroot) run under emu-user-riscv64 -L /usr/riscv64-linux-gnu exactly as under qemu-riscv64 -L and natively; /proc/self/{exe,maps,auxv} show the guest's view.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/guest/guest.sh"
set -e
GUEST_OPTS="-L $GUEST_SYSROOT"
for n in hello int fp jmp libc mem smc signals asig; do
    guest_build_dyn $n
    rm -f "$T/$n.x86"
    case $n in smc|signals) ;; *) native_build $n ;; esac
    case $n in
    hello) guest_compare $n one two ;;
    libc) guest_compare $n "$T" ;;
    *) guest_compare $n ;;
    esac
done
guest_build_dyn threads -pthread
native_build threads -pthread
guest_compare threads
guest_build_dyn cxx
guest_compare cxx

# the interpreter is needed: without -L it cannot be found, and the
# message says so
rm -f "$T/native"
run_fails 1 env -u EMU_LD_PREFIX "$EMU_USER_RISCV64" "$T/hello.rv"
EMU_LD_PREFIX=$GUEST_SYSROOT "$EMU_USER_RISCV64" "$T/hello.rv" a >/dev/null ||
    [ $? = 42 ] || fail "EMU_LD_PREFIX does not work"

# the guest's own view of itself
cat >"$T/self.c" <<'EOC'
#include <elf.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>
int main(void)
{
    char exe[4096] = { 0 };
    readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    printf("exe ends in self.rv: %d\n", strlen(exe) > 7 && !strcmp(exe + strlen(exe) - 7, "self.rv"));
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int stack = 0, exe_code = 0;
    unsigned long main_addr = (unsigned long)&main;
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        char perm[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perm) == 3 && lo <= main_addr && main_addr < hi)
            exe_code = perm[2] == 'x';
        if (strstr(line, "[stack]"))
            stack = 1;
    }
    fclose(f);
    printf("maps: main is in an executable mapping %d, [stack] %d\n", exe_code, stack);
    unsigned long v[2], entry = 0, phdr = 0, base = 0;
    f = fopen("/proc/self/auxv", "r");
    while (fread(v, sizeof(v), 1, f) == 1 && v[0] != AT_NULL) {
        if (v[0] == AT_ENTRY) entry = v[1];
        if (v[0] == AT_PHDR) phdr = v[1];
        if (v[0] == AT_BASE) base = v[1];
    }
    fclose(f);
    printf("auxv: AT_ENTRY %d AT_PHDR %d AT_BASE %d\n", entry == getauxval(AT_ENTRY),
           phdr == getauxval(AT_PHDR), base == getauxval(AT_BASE) && base != 0);
    return 0;
}
EOC
riscv64-linux-gnu-gcc -O2 -o "$T/self.rv" "$T/self.c" || fail "cannot build self.c"
"$EMU_USER_RISCV64" $GUEST_OPTS "$T/self.rv" >"$T/self.out" 2>&1 || { cat "$T/self.out" >&2; fail "self.rv failed"; }
cat "$T/self.out"
for want in "exe ends in self.rv: 1" "maps: main is in an executable mapping 1, [stack] 1" \
    "auxv: AT_ENTRY 1 AT_PHDR 1 AT_BASE 1"; do
    grep -qxF "$want" "$T/self.out" || fail "missing: $want"
done
exit 0
