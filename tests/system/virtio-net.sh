#!/bin/sh
# virtio-net.sh - networking through virtio-net, with Debian's kernel and
# the busybox guest (scripts/riscv64-guest):
#   1. user networking (libslirp): the guest gets 10.0.2.15 by DHCP and
#      fetches a file from a host HTTP server on 127.0.0.1 as 10.0.2.2;
#      its md5 matches;
#   2. hostfwd: the host fetches a file from busybox httpd in the guest
#      through hostfwd=tcp:127.0.0.1:PORT-:80 (given with -nic; qemu 7.2's
#      riscv virt ignores -nic, so under qemu with -netdev and -device);
#   3. two guests exchange a file over the socket back end (-netdev
#      stream,server=on on one side, socket,connect= on the other);
#   4. the same over datagrams (-netdev dgram / socket,udp=);
#   5. tap: a host tap interface, when this machine lets us make one: the
#      guest fetches a file from the host and the host one from the guest;
#      under emu the frames on the interface average more than an MTU
#      both ways (TCP segmentation offload through the virtio header);
#   6. bad -netdev/-nic/-device lines are refused, naming what is wrong.
#
# EMU=qemu-system-riscv64 checks the test itself against the reference.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/system/system.sh"
set -e
sys_guest

# A free TCP (or UDP) port on 127.0.0.1.
free_port() {
    python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' "${1:-tcp}"
}
# fetch URL OUT: what the host gets from URL, in OUT (false on failure)
fetch() {
    python3 -c 'import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=30) as r, open(sys.argv[2], "wb") as f:
    f.write(r.read())' "$1" "$2" 2>/dev/null
}
md5() { md5sum <"$1" | cut -d' ' -f1; }
# fetch_retry URL OUT: fetch, trying for 10 s (the guest's server starts)
fetch_retry() {
    _i=0
    while [ $_i -lt 50 ]; do
        fetch "$1" "$2" && return 0
        _i=$((_i + 1))
        sleep 0.2
    done
    return 1
}
# wait_done HOST:PORT: guest commands that wait (2 min at most) until the
# host's HTTP server there serves "done" (the host wrote $T/www/done)
wait_done() {
    echo "i=0; while [ \$i -lt 600 ]; do wget -q -O - http://$1/done 2>/dev/null | grep -q yes && break; sleep 0.2; i=\$((i + 1)); done"
}

# start LABEL SCRIPT: run the guest in the background with $SYS_ARGS, SCRIPT
# as its commands; its pid in $pid_LABEL; finish LABEL waits and checks it
start() {
    (sys_linux 1 "quiet -- $(sys_b64 "$2")") >"$T/$1.log" 2>&1 </dev/null &
    eval "pid_$1=\$!"
}
finish() {
    eval "_pid=\$pid_$1"
    sys_wait_exit "$_pid" "$SYS_TIMEOUT" || true
    sys_check_run "$1"
}
cleanup_net() {
    [ -z "${http_pid:-}" ] || kill "$http_pid" 2>/dev/null || true
    for p in ${pid_a:-} ${pid_b:-} ${pid_fwd:-} ${pid_c:-} ${pid_d:-}; do
        kill -9 "$p" 2>/dev/null || true
    done
    [ -z "${tap:-}" ] || ip link del "$tap" 2>/dev/null || true
}
cleanup_add cleanup_net

# The guest's DHCP client script: configure what the server offered.
dhcp='printf "#!/bin/sh\n[ \"\$1\" = bound ] || exit 0\nifconfig \$interface \$ip netmask \$subnet\nroute add default gw \$router\n" >/tmp/dhcp.sh; chmod +x /tmp/dhcp.sh
ip link set eth0 up; udhcpc -i eth0 -n -q -t 10 -T 1 -s /tmp/dhcp.sh >/dev/null 2>&1; echo DHCP=$?
echo IP=$(ip -4 addr show eth0 | sed -n "s/.*inet \([0-9.]*\).*/\1/p")'
# The pattern both sides can make: 1 MiB of text.
pattern='seq 1 200000 | head -c 1048576'
seq 1 200000 | head -c 1048576 >"$T/pattern"
pmd5=$(md5 "$T/pattern")

# The host's HTTP server on 127.0.0.1, serving $T/www.
mkdir -p "$T/www"
head -c 2097152 /dev/urandom >"$T/www/file"
hport=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$T/www" "$hport" >"$T/http.log" 2>&1 &
http_pid=$!
i=0
until fetch "http://127.0.0.1:$hport/file" "$T/probe"; do
    i=$((i + 1))
    [ $i -lt 50 ] || fail "the host's HTTP server did not start"
    sleep 0.1
done

# 1. user networking: DHCP, then a file from the host as 10.0.2.2
SYS_ARGS="-netdev user,id=n0 -device virtio-net-device,netdev=n0"
start user "$dhcp
wget -q -O /tmp/f http://10.0.2.2:$hport/file; echo WGET=\$?
echo MD5=\$(md5sum </tmp/f)"
finish user
[ "$(sys_val user DHCP)" = 0 ] || fail "user: udhcpc failed in the guest"
[ "$(sys_val user IP)" = 10.0.2.15 ] || fail "user: the guest got address '$(sys_val user IP)', want 10.0.2.15"
[ "$(sys_val user WGET)" = 0 ] || fail "user: the guest's wget from 10.0.2.2 failed"
[ "$(sys_val user MD5)" = "$(md5 "$T/www/file") -" ] || fail "user: the guest fetched a different file"
echo "user networking: DHCP gave 10.0.2.15, a 2 MiB file from the host arrived whole: ok"

# 2. hostfwd through -nic: the host fetches from busybox httpd in the guest,
# which waits until the host says it is done (a file on the host's server)
fport=$(free_port)
# (qemu 7.2's riscv virt board ignores -nic: it gets -netdev and -device)
case $EMU in
*/emu-system-riscv64) SYS_ARGS="-nic user,model=virtio-net-device,mac=52:54:00:aa:bb:cc,hostfwd=tcp:127.0.0.1:$fport-:80" ;;
*) SYS_ARGS="-netdev user,id=n0,hostfwd=tcp:127.0.0.1:$fport-:80 -device virtio-net-device,netdev=n0,mac=52:54:00:aa:bb:cc" ;;
esac
start fwd "$dhcp
echo MAC=\$(cat /sys/class/net/eth0/address)
mkdir -p /www; $pattern >/www/p; httpd -p 80 -h /www; echo READY
$(wait_done "10.0.2.2:$hport")"
sys_wait_for "$T/fwd.log" "^READY" "$SYS_TIMEOUT" || { tail -20 "$T/fwd.log" >&2; fail "hostfwd: the guest's httpd did not start"; }
ok=no
fetch_retry "http://127.0.0.1:$fport/p" "$T/fwd.out" && ok=yes
echo yes >"$T/www/done"
finish fwd
rm -f "$T/www/done"
[ $ok = yes ] || fail "hostfwd: the host could not fetch through 127.0.0.1:$fport"
[ "$(md5 "$T/fwd.out")" = "$pmd5" ] || fail "hostfwd: the host fetched a different file"
[ "$(sys_val fwd MAC)" = 52:54:00:aa:bb:cc ] || fail "-nic mac=: the guest's MAC is $(sys_val fwd MAC)"
echo "hostfwd (-nic user,hostfwd=...): the host fetched the guest's file whole; mac= holds: ok"

# two_guests LABEL_A ARGS_A LABEL_B ARGS_B: A serves the pattern with httpd
# on 192.168.7.1 and waits for B's "done" (nc); B fetches it
two_guests() {
    SYS_ARGS="$2 -device virtio-net-device,netdev=n0,mac=52:54:00:00:07:01"
    start "$1" "ip link set eth0 up; ifconfig eth0 192.168.7.1 netmask 255.255.255.0
mkdir -p /www; $pattern >/www/p; httpd -p 80 -h /www; echo READY
nc -l -p 5555 >/tmp/done; echo GOT=\$(cat /tmp/done)"
    sys_wait_for "$T/$1.log" "^READY" "$SYS_TIMEOUT" || { tail -20 "$T/$1.log" >&2; fail "$1: the first guest did not start"; }
    SYS_ARGS="$4 -device virtio-net-device,netdev=n0,mac=52:54:00:00:07:02"
    start "$3" "ip link set eth0 up; ifconfig eth0 192.168.7.2 netmask 255.255.255.0
i=0; until wget -q -O /tmp/f http://192.168.7.1/p; do i=\$((i + 1)); [ \$i -lt 20 ] || break; sleep 0.5; done
echo MD5=\$(md5sum </tmp/f)
echo done | nc 192.168.7.1 5555; echo NC=\$?"
    finish "$3"
    finish "$1"
    [ "$(sys_val "$3" MD5)" = "$pmd5 -" ] || fail "$3: the second guest fetched '$(sys_val "$3" MD5)', want $pmd5"
    [ "$(sys_val "$1" GOT)" = done ] || fail "$1: the first guest did not hear back"
}

# 3. stream sockets: qemu 7.2's -netdev stream on one side, the older
# socket,connect= on the other (the same framing)
sport=$(free_port)
two_guests a "-netdev stream,id=n0,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port=$sport" \
    b "-netdev socket,id=n0,connect=127.0.0.1:$sport"
echo "socket back end (stream server, socket connect): two guests exchanged a file: ok"

# 4. datagrams: -netdev dgram on one side, socket,udp= on the other
u1=$(free_port udp)
u2=$(free_port udp)
two_guests c "-netdev dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=$u1,remote.type=inet,remote.host=127.0.0.1,remote.port=$u2" \
    d "-netdev socket,id=n0,udp=127.0.0.1:$u1,localaddr=127.0.0.1:$u2"
echo "socket back end (dgram, socket udp=): two guests exchanged a file: ok"

# 5. tap, where this machine lets us make an interface
tap=emutap$$
if ip tuntap add dev "$tap" mode tap 2>/dev/null; then
    ip addr add 192.168.77.1/24 dev "$tap"
    ip link set "$tap" up
    tport=$(free_port)
    python3 -m http.server --bind 192.168.77.1 --directory "$T/www" "$tport" >"$T/http2.log" 2>&1 &
    http2=$!
    sleep 1
    SYS_ARGS="-netdev tap,id=n0,ifname=$tap,script=no,downscript=no -device virtio-net-device,netdev=n0"
    st() { cat "/sys/class/net/$tap/statistics/$1"; }
    rx0=$(st rx_bytes) rxp0=$(st rx_packets) tx0=$(st tx_bytes) txp0=$(st tx_packets)
    start tap "ip link set eth0 up; ifconfig eth0 192.168.77.2 netmask 255.255.255.0
i=0; until wget -q -O /tmp/f http://192.168.77.1:$tport/file; do i=\$((i + 1)); [ \$i -lt 20 ] || break; sleep 0.5; done
echo MD5=\$(md5sum </tmp/f)
mkdir -p /www; $pattern >/www/p; seq 1 2000000 | head -c 8388608 >/www/big; httpd -p 80 -h /www; echo READY
$(wait_done "192.168.77.1:$tport")"
    sys_wait_for "$T/tap.log" "^READY" "$SYS_TIMEOUT" || { tail -20 "$T/tap.log" >&2; fail "tap: the guest's httpd did not start"; }
    ok=no
    fetch_retry "http://192.168.77.2/big" "$T/tap.out" && ok=yes
    echo yes >"$T/www/done"
    finish tap
    rm -f "$T/www/done"
    rxb=$(( $(st rx_bytes) - rx0 )) rxp=$(( $(st rx_packets) - rxp0 ))
    txb=$(( $(st tx_bytes) - tx0 )) txp=$(( $(st tx_packets) - txp0 ))
    kill $http2 2>/dev/null || true
    ip link del "$tap" 2>/dev/null || true
    [ "$(sys_val tap MD5)" = "$(md5 "$T/www/file") -" ] || fail "tap: the guest fetched '$(sys_val tap MD5)' from the host"
    [ $ok = yes ] || fail "tap: the host could not fetch from the guest"
    seq 1 2000000 | head -c 8388608 >"$T/big"
    [ "$(md5 "$T/tap.out")" = "$(md5 "$T/big")" ] || fail "tap: the host fetched a different file from the guest"
    echo "tap: a file from the host to the guest and one from the guest to the host through $tap: ok"
    echo "tap: from the guest $rxb bytes in $rxp frames, to it $txb bytes in $txp frames"
    case $EMU in
    */emu-system-riscv64)
        [ $((rxb / (rxp + 1))) -gt 1600 ] || fail "tap: the guest's frames average $((rxb / (rxp + 1))) bytes: no segmentation offload"
        [ $((txb / (txp + 1))) -gt 1600 ] || fail "tap: frames to the guest average $((txb / (txp + 1))) bytes: no segmentation offload"
        echo "tap: TCP segments travel whole both ways (average frames above 1600 bytes): ok" ;;
    esac
    tap=
else
    tap=
    echo "tap: this machine cannot make a tap interface (no CAP_NET_ADMIN): only its errors are checked"
fi

# 6. bad command lines: refused, with a message naming the problem
refuse() {   # refuse WHAT PATTERN ARGS...: the emulator must exit non-zero
    _what=$1 _re=$2
    shift 2
    set +e
    timeout 30 "$EMU" -M virt -nographic -S -bios "$GUEST/fw_dynamic.bin" -kernel "$GUEST/Image" \
        "$@" >"$T/err.txt" 2>&1 </dev/null
    _rc=$?
    set -e
    [ $_rc != 0 ] && [ $_rc != 124 ] || fail "$_what: accepted"
    case $EMU in
    */emu-system-riscv64) grep -Eq "$_re" "$T/err.txt" || { cat "$T/err.txt" >&2; fail "$_what: the message does not say '$_re'"; } ;;
    esac
}
refuse "unknown netdev type" "foo" -netdev foo,id=n0
refuse "netdev without id" "id" -netdev user
refuse "bad hostfwd" "hostfwd|forwarding" -netdev user,id=n0,hostfwd=tcp:bad
refuse "device with an unknown netdev" "nonexist" -device virtio-net-device,netdev=nonexist
refuse "duplicate netdev id" "Duplicate|duplicate" -netdev user,id=n0 -netdev user,id=n0
refuse "socket without an address" "listen|connect|udp" -netdev socket,id=n0
refuse "bad mac" "mac" -netdev user,id=n0 -device virtio-net-device,netdev=n0,mac=zz
# (qemu creates no NIC for -nic here, and runs ifup scripts: ours only)
case $EMU in
*/emu-system-riscv64)
    refuse "unknown -nic model" "model|e1000" -nic user,model=e1000
    refuse "tap with a script" "script" -netdev tap,id=n0,ifname=emutapx,script=/etc/qemu-ifup ;;
esac
echo "bad -netdev, -nic and -device lines are refused with a message: ok"
exit 0
