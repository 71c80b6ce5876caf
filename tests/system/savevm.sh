#!/bin/sh
# savevm.sh - internal snapshots with the machine's state (savevm, loadvm,
# delvm, -loadvm) into qcow2, checked by a count the guest prints (busybox
# sh, one step every 0.2 s: "C=<n> T=<uptime in s>"):
#   1. savevm while the guest runs; the count goes on at the next step;
#      loadvm goes back to exactly that step (tests/system/savevm.py);
#      info snapshots shows the VM state's size; both disks get the
#      snapshot, the first one the state
#   2. qemu-img check is clean and qemu-img snapshot -l shows VM SIZE
#   3. emu-img anonymize scrubs the VM state
#   4. -loadvm in a new process goes on at the same step, and the guest's
#      clock from the saved moment; delvm
#   5. damaged VM states (a newer section version, a value out of range,
#      no header, a stream cut short, random garbage in device sections)
#      and states of another machine configuration give one line naming
#      the problem and exit 1, never a crash
#   6. SIGKILL during savevm leaves images qemu-img check calls clean or
#      leaking, never corrupt
#   7. the QMP commands blockdev-snapshot-internal-sync and
#      blockdev-snapshot-delete-internal-sync with QEMU's shapes and
#      errors; savevm refuses a writable disk that is not qcow2
# EMU=qemu-system-riscv64 runs 1, 2, 4 (but the count: qemu 7.2's guest
# stands still after -loadvm) and 7 against QEMU.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/system/system.sh"
need qemu-img
set -e
sys_guest
py=$top_srcdir/tests/system/savevm.py
IMG=$top_builddir/emu-img
is_qemu=false
case $EMU in *qemu-system*) is_qemu=true ;; esac

qemu-img create -q -f qcow2 "$T/disk.qcow2" 64M
qemu-img create -q -f qcow2 "$T/disk2.qcow2" 16M
count='i=0; while true; do i=$((i+1)); echo C=$i T=$(cut -d. -f1 /proc/uptime); sleep 0.2; done'
guest() {   # guest LOG SOCKET [ARGS...]: the counting guest, in the background
    _log=$1 _sock=$2
    shift 2
    "$EMU" -M virt -m 128M -smp 2 -nographic -bios "$GUEST/fw_dynamic.bin" -kernel "$GUEST/Image" \
        -initrd "$GUEST/initrd.cpio.gz" -append "console=ttyS0 quiet -- $count" \
        -drive file="$T/disk.qcow2",format=qcow2,if=virtio \
        -drive file="$T/disk2.qcow2",format=qcow2,if=virtio \
        -qmp unix:"$_sock",server=on,wait=off "$@" </dev/null >"$_log" 2>&1 &
}

# 1. savevm and loadvm in one process
guest "$T/run1.log" "$T/q1.sock"
pid=$!
start=$(date +%s)
python3 "$py" run "$T/q1.sock" "$T/run1.log" s1 >"$T/run1.txt" 2>&1 ||
    { kill -9 $pid; cat "$T/run1.txt"; tail -20 "$T/run1.log" >&2; fail "savevm/loadvm"; }
cat "$T/run1.txt"
n=$(sed -n 's/^N=//p' "$T/run1.txt")
python3 "$py" quit "$T/q1.sock"
sys_wait_exit $pid 30 || fail "quit: the emulator still runs"
echo "savevm, loadvm of a running guest: ok ($(($(date +%s) - start)) s)"

# 2. the images as qemu-img sees them
for d in disk disk2; do
    qemu-img check "$T/$d.qcow2" >"$T/check.txt" 2>&1 ||
        { cat "$T/check.txt"; fail "qemu-img check $d.qcow2"; }
done
qemu-img snapshot -l "$T/disk.qcow2" >"$T/list.txt"
cat "$T/list.txt"
size=$(awk '$2 == "s1" { print $3, $4 }' "$T/list.txt")
case $size in
""|"0 B") fail "qemu-img snapshot -l: no VM SIZE for s1 ($size)" ;;
esac
size2=$(qemu-img snapshot -l "$T/disk2.qcow2" | awk '$2 == "s1" { print $3, $4 }')
[ "$size2" = "0 B" ] || fail "the second disk's snapshot has VM SIZE '$size2', want 0 B"
echo "qemu-img check clean, snapshot -l: s1 with $size of VM state (the second disk: 0 B): ok"
if ! $is_qemu; then
    # after savevm and loadvm the state lives in the snapshot only
    st=$(python3 "$py" vm "$T/disk.qcow2" s1 active-clean)
    [ "$st" = clean ] || fail "the active layer keeps VM state: $st"
    echo "the active layer holds no VM state after savevm and loadvm: ok"
fi

# 3. anonymize scrubs the VM state
if ! $is_qemu; then
    [ "$(python3 "$py" vm "$T/disk.qcow2" s1 magic)" = yes ] || fail "no VM state in disk.qcow2"
    "$IMG" anonymize "$T/disk.qcow2" "$T/anon.qcow2"
    qemu-img check "$T/anon.qcow2" >/dev/null || fail "qemu-img check of the anonymized image"
    [ "$(python3 "$py" vm "$T/anon.qcow2" s1 magic)" = no ] ||
        fail "emu-img anonymize left the VM state"
    cmp -s "$T/disk.qcow2" "$T/anon.qcow2" && fail "anonymize changed nothing"
    echo "emu-img anonymize: the VM state is gone, the image checks clean: ok"
fi
cp "$T/disk.qcow2" "$T/saved.qcow2"
cp "$T/disk2.qcow2" "$T/saved2.qcow2"

# 4. -loadvm in a new process, then delvm
guest "$T/run2.log" "$T/q2.sock" -loadvm s1
pid=$!
if $is_qemu; then
    # qemu 7.2's riscv guest stands still after -loadvm (its status says
    # running, the count never moves)
    sleep 5
    echo "-loadvm s1 in a new process: not checked against qemu 7.2"
else
    sys_wait_for "$T/run2.log" "^C=$((n + 5))" 60 ||
        { kill -9 $pid; tail "$T/run2.log" >&2; fail "-loadvm: the guest does not count"; }
    first=$(tr -d '\r' <"$T/run2.log" | sed -n 's/^C=\([0-9]*\).*/\1/p' | head -n 5 | tr '\n' ' ')
    [ "$first" = "$((n + 1)) $((n + 2)) $((n + 3)) $((n + 4)) $((n + 5)) " ] ||
        { kill -9 $pid; fail "-loadvm s1: the count goes on with $first, want $((n + 1)) ..."; }
    echo "-loadvm s1 in a new process: the count goes on at $((n + 1)): ok"
    # guest time goes on from the saved moment, whatever passed meanwhile
    t0=$(tr -d '\r' <"$T/run1.log" | sed -n "s/^C=$n T=//p" | head -n 1)
    t1=$(tr -d '\r' <"$T/run2.log" | sed -n "s/^C=$((n + 1)) T=//p" | head -n 1)
    [ -n "$t0" ] && [ -n "$t1" ] && [ $((t1 - t0)) -ge 0 ] && [ $((t1 - t0)) -le 1 ] ||
        { kill -9 $pid; fail "-loadvm s1: the guest's uptime went from ${t0:-?} s to ${t1:-?} s"; }
    echo "-loadvm s1: the guest's uptime goes on from $t0 s (now $t1 s): ok"
fi
python3 "$py" hmp "$T/q2.sock" "delvm s1" >"$T/delvm.txt"
[ ! -s "$T/delvm.txt" ] || { kill -9 $pid; cat "$T/delvm.txt"; fail "delvm s1"; }
python3 "$py" hmp "$T/q2.sock" "info snapshots" >"$T/info.txt"
grep -q "There is no snapshot available" "$T/info.txt" ||
    { kill -9 $pid; cat "$T/info.txt"; fail "info snapshots after delvm"; }
python3 "$py" hmp "$T/q2.sock" "loadvm s1" >"$T/loadvm.txt"
grep -q "Snapshot 's1' does not exist in one or more devices" "$T/loadvm.txt" ||
    { kill -9 $pid; cat "$T/loadvm.txt"; fail "loadvm of a deleted snapshot"; }
python3 "$py" quit "$T/q2.sock"
sys_wait_exit $pid 30 || fail "quit: the emulator still runs"
qemu-img check "$T/disk.qcow2" >/dev/null || fail "qemu-img check after delvm"
echo "delvm: gone from info snapshots, loadvm refuses it, qemu-img check clean: ok"

# 5. damaged VM states
if ! $is_qemu; then
    damaged() {  # damaged LABEL EXPECT ACTION...: -loadvm must say EXPECT and exit 1
        _label=$1 _want=$2
        shift 2
        cp "$T/saved.qcow2" "$T/disk.qcow2"
        cp "$T/saved2.qcow2" "$T/disk2.qcow2"
        python3 "$py" vm "$T/disk.qcow2" s1 "$@" >/dev/null
        set +e
        timeout 20 "$EMU" -M virt ${machine:--m 128M -smp 2} -nographic -bios "$GUEST/fw_dynamic.bin" \
            -kernel "$GUEST/Image" -initrd "$GUEST/initrd.cpio.gz" -append "console=ttyS0" \
            -drive file="$T/disk.qcow2",format=qcow2,if=virtio \
            -drive file="$T/disk2.qcow2",format=qcow2,if=virtio \
            -loadvm s1 </dev/null >"$T/bad.log" 2>&1
        _st=$?
        set -e
        [ "$_st" = 1 ] || { cat "$T/bad.log"; fail "$_label: exit status $_st, want 1"; }
        [ "$(grep -c . "$T/bad.log")" = 1 ] || { cat "$T/bad.log"; fail "$_label: not one line"; }
        grep -q -- "$_want" "$T/bad.log" || { cat "$T/bad.log"; fail "$_label: no '$_want'"; }
        echo "$_label: $(cat "$T/bad.log")"
    }
    damaged "a newer section" "section 'ns16550a' instance 0 has version 99" version ns16550a 99
    damaged "a newer hart" "section 'cpu' instance 0 has version 7" version cpu 7
    damaged "a FIFO index out of range" "FIFO head out of range" uart-head 1000
    damaged "no header" "is not emu's" badmagic
    damaged "cut short" "VM state" truncate
    # a snapshot of another machine configuration
    machine="-m 128M -smp 1"
    damaged "one hart less" "section 'cpu' instance 1 belongs to no part of this machine" magic
    machine="-m 256M -smp 2"
    damaged "more RAM" "RAM 'ram' of 134217728 bytes where the machine has 'ram' of 268435456" magic
    unset machine
    # random garbage in device sections: an error, or a guest that runs
    # on with odd state; never a crash
    for seed in 1 2 3 4 5 6 7 8 9 10 11 12; do
        cp "$T/saved.qcow2" "$T/disk.qcow2"
        cp "$T/saved2.qcow2" "$T/disk2.qcow2"
        where=$(python3 "$py" vm "$T/disk.qcow2" s1 garbage $seed)
        set +e
        timeout 8 "$EMU" -M virt -m 128M -smp 2 -nographic -bios "$GUEST/fw_dynamic.bin" \
            -kernel "$GUEST/Image" -initrd "$GUEST/initrd.cpio.gz" -append "console=ttyS0" \
            -drive file="$T/disk.qcow2",format=qcow2,if=virtio \
            -drive file="$T/disk2.qcow2",format=qcow2,if=virtio \
            -loadvm s1 </dev/null >"$T/garbage.log" 2>&1
        st=$?
        set -e
        case $st in
        0|1|124) ;;
        *) cat "$T/garbage.log"; fail "garbage $seed ($where): exit status $st" ;;
        esac
        [ "$st" = 1 ] && msg=$(head -n 1 "$T/garbage.log") || msg="loaded (status $st)"
        echo "garbage $seed ($where): $msg"
    done
    # random values of the right types: the devices' own checks, or a
    # guest that runs on with odd state; never a crash
    for seed in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do
        cp "$T/saved.qcow2" "$T/disk.qcow2"
        cp "$T/saved2.qcow2" "$T/disk2.qcow2"
        where=$(python3 "$py" vm "$T/disk.qcow2" s1 fields $seed)
        set +e
        timeout 3 "$EMU" -M virt -m 128M -smp 2 -nographic -bios "$GUEST/fw_dynamic.bin" \
            -kernel "$GUEST/Image" -initrd "$GUEST/initrd.cpio.gz" -append "console=ttyS0" \
            -drive file="$T/disk.qcow2",format=qcow2,if=virtio \
            -drive file="$T/disk2.qcow2",format=qcow2,if=virtio \
            -loadvm s1 </dev/null >"$T/fields.log" 2>&1
        st=$?
        set -e
        case $st in
        0|1|124) ;;
        *) tail -5 "$T/fields.log"; fail "fields $seed ($where): exit status $st" ;;
        esac
        [ "$st" = 1 ] && msg=$(grep -m1 'emu-system' "$T/fields.log") || msg="loaded (status $st)"
        echo "fields $seed ($where): $msg"
    done
fi

# 6. SIGKILL in the middle of a savevm: at worst leaked clusters
if ! $is_qemu; then
    for delay in 0.05 0.1 0.12 0.14 0.16; do
        cp "$T/saved.qcow2" "$T/disk.qcow2"
        cp "$T/saved2.qcow2" "$T/disk2.qcow2"
        guest "$T/kill.log" "$T/q4.sock" -loadvm s1
        pid=$!
        sys_wait_for "$T/kill.log" "^C=$((n + 3))" 60 ||
            { kill -9 $pid; fail "kill during savevm: the guest does not count"; }
        python3 "$py" hmp "$T/q4.sock" "savevm s2" >/dev/null 2>&1 &
        cpid=$!
        sleep $delay
        kill -9 $pid
        kill $cpid 2>/dev/null || true     # (it may still wait to connect)
        wait $pid 2>/dev/null || true
        wait $cpid 2>/dev/null || true
        for d in disk disk2; do
            set +e
            qemu-img check "$T/$d.qcow2" >"$T/check.txt" 2>&1
            st=$?
            set -e
            case $st in
            0|3) ;;
            *) cat "$T/check.txt"; fail "SIGKILL $delay s into savevm: qemu-img check $d: $st" ;;
            esac
        done
        qemu-img snapshot -l "$T/disk.qcow2" >"$T/list.txt"
        grep -q " s1 " "$T/list.txt" || fail "SIGKILL $delay s into savevm: s1 is gone"
        grep -q " s2 " "$T/list.txt" && s2=made || s2="not made"
        echo "SIGKILL $delay s into savevm: qemu-img check status $st (0 clean, 3 leaks), s1 kept, s2 $s2: ok"
    done
fi

# 7. QMP's internal snapshots; savevm and a writable raw disk
head -c 1M /dev/zero >"$T/raw.img"
qemu-img create -q -f qcow2 "$T/q.qcow2" 16M
"$EMU" -M virt -m 128M -nographic -bios none -S \
    -drive file="$T/q.qcow2",format=qcow2,if=virtio -drive file="$T/raw.img",format=raw,if=virtio \
    -qmp unix:"$T/q3.sock",server=on,wait=off </dev/null >"$T/q3.log" 2>&1 &
pid=$!
python3 "$py" qmp "$T/q3.sock" >"$T/qmp.txt" 2>&1 ||
    { kill -9 $pid; cat "$T/qmp.txt" "$T/q3.log"; fail "QMP snapshot commands"; }
cat "$T/qmp.txt"
sys_wait_exit $pid 30 || fail "quit: the emulator still runs"
qemu-img check "$T/q.qcow2" >/dev/null || fail "qemu-img check after the QMP snapshots"
echo "QMP internal snapshots: ok"
exit 0
