#!/bin/sh
# nbd-tls.sh - STARTTLS with X.509 certificates and with pre-shared keys,
# through nbdinfo, nbdcopy (4 connections), qemu-img and emu-nbd -L;
# --tls-required refuses plain clients, a wrong key, an untrusted CA or a
# wrong host name fails the handshake, --tls-verify-peer refuses clients
# without a certificate from the CA, and without --tls-required plain
# clients still work.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/shell/nbd-common.sh"
grep -q '^#define HAVE_GNUTLS 1' "$top_builddir/config.h" ||
    skip "emu was configured without gnutls"
need certtool nbdinfo nbdcopy qemu-img qemu-io
set -e
cd "$T"
qemu-img create -q -f qcow2 d.qcow2 8M
qemu-io -f qcow2 -c 'write -P 0x71 1M 1M' d.qcow2 >/dev/null
qemu-img convert -f qcow2 -O raw d.qcow2 ref.raw

# a CA and a server certificate (ECDSA keys: fast to make)
mkdir pki cli other
cat > ca.tmpl <<'T'
cn = "emu test CA"
ca
cert_signing_key
expiration_days = 2
T
cat > srv.tmpl <<'T'
cn = "localhost"
dns_name = "localhost"
tls_www_server
encryption_key
signing_key
expiration_days = 2
T
cert() {
    certtool --generate-privkey --key-type=ecdsa --outfile "$1/ca-key.pem" 2>/dev/null
    certtool --generate-self-signed --load-privkey "$1/ca-key.pem" --template ca.tmpl \
        --outfile "$1/ca-cert.pem" 2>/dev/null
}
cert pki
cert other
certtool --generate-privkey --key-type=ecdsa --outfile pki/server-key.pem 2>/dev/null
certtool --generate-certificate --load-privkey pki/server-key.pem \
    --load-ca-certificate pki/ca-cert.pem --load-ca-privkey pki/ca-key.pem \
    --template srv.tmpl --outfile pki/server-cert.pem 2>/dev/null
cp pki/ca-cert.pem cli/
# a client certificate from the same CA, for --tls-verify-peer
cat > cli.tmpl <<'T'
cn = "emu test client"
tls_www_client
encryption_key
signing_key
expiration_days = 2
T
mkdir cli2
cp pki/ca-cert.pem cli2/
certtool --generate-privkey --key-type=ecdsa --outfile cli2/client-key.pem 2>/dev/null
certtool --generate-certificate --load-privkey cli2/client-key.pem \
    --load-ca-certificate pki/ca-cert.pem --load-ca-privkey pki/ca-key.pem \
    --template cli.tmpl --outfile cli2/client-cert.pem 2>/dev/null
rm other/ca-key.pem
mkdir psk
echo "alice:$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" > psk/keys.psk
echo "alice:00112233445566778899aabbccddeeff" > wrong.psk

# X.509, TLS required
S=$T/x.sock
nbd_start x509 -t -e 0 -k "$S" --tls-creds "$T/pki" --tls-required -f qcow2 d.qcow2
TLSURI="nbds+unix:///?socket=$S&tls-certificates=$T/cli"
nbdinfo "$TLSURI" > info.out || fail "nbdinfo over TLS failed"
grep -q "with TLS" info.out || fail "nbdinfo did not use TLS: $(head -2 info.out)"
if nbdinfo "$(uri_unix "$S")" > plain.out 2>&1; then
    fail "a plain client was served despite --tls-required"
fi
# (libnbd does not check the peer over Unix sockets; qemu does)
if qemu-img info --object "tls-creds-x509,id=tls0,dir=$T/other,endpoint=client" \
    "json:{\"driver\":\"nbd\",\"server\":{\"type\":\"unix\",\"path\":\"$S\"},\"tls-creds\":\"tls0\",\"tls-hostname\":\"localhost\"}" \
    > bad.out 2>&1; then
    fail "a client trusting another CA accepted the server"
fi
nbdcopy --connections 4 "$TLSURI" copy.raw
cmp copy.raw ref.raw || fail "nbdcopy over TLS read wrong data"
# emu-nbd -L as a TLS client
"$EMU_NBD" -L -k "$S" --tls-creds "$T/cli" --tls-hostname localhost > list.out 2> list.err ||
    fail "emu-nbd -L over TLS failed: $(cat list.err)"
grep -q "exports available: 1" list.out || fail "emu-nbd -L over TLS: $(head -3 list.out)"
grep -q "size:  8388608" list.out || fail "emu-nbd -L over TLS shows no size: $(cat list.out)"
if "$EMU_NBD" -L -k "$S" > list.out 2> list.err; then
    fail "emu-nbd -L without TLS listed a --tls-required server"
fi
grep -q "requires TLS" list.err || fail "emu-nbd -L without TLS: $(cat list.err)"
if "$EMU_NBD" -L -k "$S" --tls-creds "$T/other" --tls-hostname localhost > list.out 2> list.err; then
    fail "emu-nbd -L trusting another CA accepted the server"
fi
grep -q "not trusted" list.err || fail "emu-nbd -L, untrusted server: $(cat list.err)"
if "$EMU_NBD" -L -k "$S" --tls-creds "$T/cli" --tls-hostname other.example > list.out 2> list.err; then
    fail "emu-nbd -L accepted a certificate for another host name"
fi
python3 -c "import os; open('new.raw','wb').write(os.urandom(8 << 20))"
nbdcopy --connections 4 new.raw "$TLSURI"
nbdcopy "$TLSURI" back.raw
cmp new.raw back.raw || fail "nbdcopy over TLS wrote wrong data"
qemu-img compare --object "tls-creds-x509,id=tls0,dir=$T/cli,endpoint=client" -f raw new.raw \
    "json:{\"driver\":\"nbd\",\"server\":{\"type\":\"unix\",\"path\":\"$S\"},\"tls-creds\":\"tls0\",\"tls-hostname\":\"localhost\"}" \
    >/dev/null || fail "qemu-img compare over TLS"
nbd_stop x509

# PSK, TLS optional
S=$T/p.sock
nbd_start psk -t -e 0 -k "$S" --tls-psk-file "$T/psk/keys.psk" -f qcow2 d.qcow2
PSKURI="nbds+unix://alice@/?socket=$S&tls-psk-file=$T/psk/keys.psk"
nbdinfo "$PSKURI" | grep -q "with TLS" || fail "nbdinfo with PSK did not use TLS"
nbdinfo "$(uri_unix "$S")" | grep -q "without TLS" || fail "plain client refused without --tls-required"
if nbdinfo "nbds+unix://alice@/?socket=$S&tls-psk-file=$T/wrong.psk" > bad.out 2>&1; then
    fail "a wrong pre-shared key was accepted"
fi
nbdcopy --connections 4 "$PSKURI" copy2.raw
cmp copy2.raw new.raw || fail "nbdcopy with PSK read wrong data"
"$EMU_NBD" -L -k "$S" --tls-psk-file "$T/psk/keys.psk" --tls-user alice > list.out 2> list.err ||
    fail "emu-nbd -L with PSK failed: $(cat list.err)"
grep -q "exports available: 1" list.out || fail "emu-nbd -L with PSK: $(head -3 list.out)"
if "$EMU_NBD" -L -k "$S" --tls-psk-file "$T/wrong.psk" > list.out 2> list.err; then
    fail "emu-nbd -L with a wrong pre-shared key listed the exports"
fi
if "$EMU_NBD" -L -k "$S" --tls-psk-file "$T/psk/keys.psk" --tls-user bob > list.out 2> list.err; then
    fail "emu-nbd -L with an unknown PSK user went on"
fi
grep -q "no key for user 'bob'" list.err || fail "emu-nbd -L, unknown PSK user: $(cat list.err)"
qemu-img compare --object "tls-creds-psk,id=tls0,dir=$T/psk,endpoint=client,username=alice" \
    -f raw new.raw \
    "json:{\"driver\":\"nbd\",\"server\":{\"type\":\"unix\",\"path\":\"$S\"},\"tls-creds\":\"tls0\"}" \
    >/dev/null || fail "qemu-img compare with PSK"
nbd_stop psk

# --tls-verify-peer: only clients with a certificate from the CA
S=$T/v.sock
nbd_start verify -t -e 0 -k "$S" --tls-creds "$T/pki" --tls-verify-peer --tls-required -f qcow2 d.qcow2
nbdinfo --size "nbds+unix:///?socket=$S&tls-certificates=$T/cli2" > size.out ||
    fail "a client with a certificate from the CA was refused"
[ "$(cat size.out)" = 8388608 ] || fail "nbdinfo --size with a client certificate: $(cat size.out)"
if nbdinfo --size "nbds+unix:///?socket=$S&tls-certificates=$T/cli" > size.out 2>&1; then
    fail "--tls-verify-peer served a client without a certificate"
fi
"$EMU_NBD" -L -k "$S" --tls-creds "$T/cli2" --tls-hostname localhost > list.out 2> list.err ||
    fail "emu-nbd -L with a client certificate failed: $(cat list.err)"
qemu-img info --object "tls-creds-x509,id=tls0,dir=$T/cli2,endpoint=client" \
    "json:{\"driver\":\"nbd\",\"server\":{\"type\":\"unix\",\"path\":\"$S\"},\"tls-creds\":\"tls0\",\"tls-hostname\":\"localhost\"}" \
    > qi.out 2>&1 || fail "qemu-img with a client certificate was refused: $(tail -2 qi.out)"
nbd_stop verify
if "$EMU_NBD" -k "$T/z.sock" --tls-creds "$T/other" --tls-verify-peer d.qcow2 2> err.out; then
    fail "--tls-verify-peer started without a server certificate"
fi

# bad credentials are refused at start-up
if "$EMU_NBD" -k "$T/z.sock" --tls-psk-file wrong-missing.psk d.qcow2 2> err.out; then
    fail "a missing PSK file was accepted"
fi
grep -q "^emu-nbd: " err.out || fail "no message for a missing PSK file"
if "$EMU_NBD" -k "$T/z.sock" --tls-creds "$T/cli" d.qcow2 2> err.out; then
    fail "a directory without server-cert.pem was accepted"
fi
exit 0
