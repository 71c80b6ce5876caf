#!/bin/sh
# linux.sh - Debian's riscv64 kernel boots on the virt machine through
# OpenSBI with a busybox initrd (scripts/riscv64-guest), with one hart and
# with four: the guest sees them all, computes a known md5sum, reads the
# RTC (within a minute of the host's clock), powers off, and the emulator
# exits 0.  SIGTERM and Ctrl-A x in the middle of a boot end the emulator
# cleanly (status 0, in a few seconds); a guest that sleeps leaves the host
# CPU idle (under 5% of a core; the goal is 2%).
#
# EMU=qemu-system-riscv64 checks the test itself against the reference.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/system/system.sh"
set -e
sys_guest

# 1. one hart, all the commands.  No "quiet": Linux's banner must show.
want_md5=$(seq 1 100000 | md5sum | cut -d' ' -f1)
cmds='echo CPUS=$(grep -c ^processor /proc/cpuinfo); seq 1 100000 >/tmp/f; echo MD5=$(md5sum /tmp/f); echo DATE=$(date +%s); echo RTC=$(cat /sys/class/rtc/rtc0/since_epoch)'
check_boot() {   # check_boot LOG STATUS HARTS
    _log=$1
    [ "$2" = 0 ] || { tail -20 "$_log" >&2; fail "-smp $3: the emulator exited with status $2"; }
    _sbi=$(grep -n -m1 "^OpenSBI v" "$_log" | cut -d: -f1)
    _lin=$(grep -n -m1 "Linux version" "$_log" | cut -d: -f1)
    [ -n "$_sbi" ] || { tail -20 "$_log" >&2; fail "-smp $3: no OpenSBI banner"; }
    [ -n "$_lin" ] && [ "$_lin" -gt "$_sbi" ] ||
        { tail -20 "$_log" >&2; fail "-smp $3: no Linux banner after OpenSBI's"; }
    grep -q "Platform HART Count *: $3\b" "$_log" || fail "-smp $3: OpenSBI counts another number of harts"
    grep -q "^EMU-GUEST: init" "$_log" || { tail -20 "$_log" >&2; fail "-smp $3: /init never ran"; }
    grep -q "^CPUS=$3\b" "$_log" || fail "-smp $3: the guest sees $(sed -n 's/^CPUS=//p' "$_log" | tr -d '\r') processors"
    grep -q "^EMU-GUEST: done status=0" "$_log" || fail "-smp $3: the guest commands failed"
    grep -q "reboot: Power down" "$_log" || fail "-smp $3: the guest did not power off"
}

set +e
(sys_linux 1 "-- $cmds") >"$T/smp1.log" 2>&1 </dev/null &
pid=$!
sys_wait_exit $pid "$SYS_TIMEOUT"
set -e
[ -n "$sys_status" ] || { tail -20 "$T/smp1.log" >&2; fail "-smp 1: no poweroff in $SYS_TIMEOUT s"; }
tr -d '\r' <"$T/smp1.log" >"$T/smp1.txt"
check_boot "$T/smp1.txt" "$sys_status" 1
grep -q "^MD5=$want_md5 " "$T/smp1.txt" || fail "md5sum in the guest: $(grep ^MD5= "$T/smp1.txt"), want $want_md5"
now=$(date +%s)
for k in DATE RTC; do
    t=$(sed -n "s/^$k=\([0-9]\{1,\}\)$/\1/p" "$T/smp1.txt")
    [ -n "$t" ] || fail "the guest printed no $k"
    d=$((now - t))
    [ $d -lt 0 ] && d=$((-d))
    [ $d -le 60 ] || fail "guest $k $t is $d s away from the host's $now"
done
echo "-smp 1: OpenSBI, Linux, 1 CPU, md5sum, RTC and date within a minute, poweroff: ok"

# 2. four harts
set +e
(sys_linux 4 "-- echo CPUS=\$(grep -c ^processor /proc/cpuinfo)") >"$T/smp4.log" 2>&1 </dev/null &
pid=$!
sys_wait_exit $pid "$SYS_TIMEOUT"
set -e
[ -n "$sys_status" ] || { tail -20 "$T/smp4.log" >&2; fail "-smp 4: no poweroff in $SYS_TIMEOUT s"; }
tr -d '\r' <"$T/smp4.log" >"$T/smp4.txt"
check_boot "$T/smp4.txt" "$sys_status" 4
echo "-smp 4: 4 CPUs, poweroff: ok"

# 3. SIGTERM in the middle of the boot (after Linux's banner)
set +e
(sys_linux 1 "-- sleep 60") >"$T/term.log" 2>&1 </dev/null &
pid=$!
set -e
sys_wait_for "$T/term.log" "Linux version" "$SYS_TIMEOUT" ||
    { kill -9 $pid; tail "$T/term.log" >&2; fail "SIGTERM: Linux never started"; }
kill -TERM $pid
start=$(date +%s)
sys_wait_exit $pid 5 || fail "SIGTERM: the emulator still runs after 5 s"
[ "$sys_status" = 0 ] || fail "SIGTERM: exit status $sys_status, want 0"
echo "SIGTERM during boot: exit 0 in $(($(date +%s) - start)) s"

# 4. Ctrl-A x on the console in the middle of the boot: the emulator ends
# within 5 s of the keys (tests/system/console.py types them)
printf '%s\n' 'expect Linux version' 'mark keys' 'send \x01x' 'exit 5' 'mark end' >"$T/ctrla.script"
r=$(python3 "$top_srcdir/tests/system/console.py" "$T/ctrla.log" "$T/ctrla.script" -- \
    "$EMU" -M virt -m 256M -smp 1 -nographic -bios "$GUEST/fw_dynamic.bin" \
    -kernel "$GUEST/Image" -initrd "$GUEST/initrd.cpio.gz" \
    -append "console=ttyS0 -- sleep 60") ||
    { tail "$T/ctrla.log" >&2; fail "Ctrl-A x: $r"; }
case $r in
*"exit 0"*) echo "Ctrl-A x during boot: exit 0 in $(echo "$r" |
    awk '$2 == "keys" { k = $3 } $2 == "end" { printf "%.1f", $3 - k }') s" ;;
*) tail "$T/ctrla.log" >&2; fail "Ctrl-A x: $r, want exit 0" ;;
esac

# 5. an idle guest: CPU time of the emulator over a 5 s sleep
set +e
(sys_linux 1 "quiet -- echo SLEEP-START; sleep 5; echo SLEEP-END") >"$T/idle.log" 2>&1 </dev/null &
pid=$!
set -e
sys_wait_for "$T/idle.log" "^SLEEP-START" "$SYS_TIMEOUT" ||
    { kill -9 $pid; tail "$T/idle.log" >&2; fail "idle: the guest never started sleeping"; }
sleep 0.5   # let the guest settle into the sleep
t0=$(sys_cpu_ticks $pid)
w0=$(date +%s%N)
sleep 4
t1=$(sys_cpu_ticks $pid)
w1=$(date +%s%N)
grep -q "^SLEEP-END" "$T/idle.log" && fail "idle: the guest slept less than 4.5 s"
sys_wait_exit $pid "$SYS_TIMEOUT" || fail "idle: no poweroff"
[ "$sys_status" = 0 ] || fail "idle: exit status $sys_status"
hz=$(getconf CLK_TCK)
pct=$(awk -v t="$((t1 - t0))" -v hz="$hz" -v w="$((w1 - w0))" \
    'BEGIN { printf "%.1f", 100 * (t / hz) / (w / 1e9) }')
echo "idle guest: the emulator used $pct% of a host core (goal: 2%)"
awk -v p="$pct" 'BEGIN { exit !(p < 5) }' || fail "idle guest: $pct% of a host core, limit 5%"
exit 0
