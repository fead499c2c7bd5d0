#!/bin/bash
# Integration (label pcsc): real pcscd + OpenSC (opensc-tool, openpgp-tool, pkcs11-tool with
# opensc-pkcs11.so) against keyfence-vcard. Proves: reader and card listed, card named an
# OpenPGP card, PKCS#11 token shown, RSA-2048 keys generated through OpenSC and used to
# sign (verified by openssl) and decrypt; P-256 keys generated through raw admin APDUs and
# used for ECDSA (verified by openssl) and ECDH (compared with openssl derive); PIN
# counting and blocking as OpenSC sees it.
# Usage: pcsc_opensc_test.sh /path/to/keyfence-vcard
source "$(dirname "$0")/pcsc_world.sh" "$@"

# vpcd cannot answer SCardControl, so OpenSC cannot learn the reader's maximum APDU size
# and assumes short APDUs (255/256). A real CCID reader reports it; tell OpenSC here so it
# can use the extended length the card advertises (needed for RSA key generation).
cat >"$WORLD/opensc.conf" <<'CONF'
app default {
    reader_driver pcsc {
        max_send_size = 3070;
        max_recv_size = 3070;
    }
}
CONF
export OPENSC_CONF="$WORLD/opensc.conf"

world_start --serial 00C0FFEE
M=$OPENSC_P11
SIG_TOKEN="OpenPGP card (User PIN (sig))"
USER_TOKEN="OpenPGP card (User PIN)"
P11=(pkcs11-tool --module "$M")
D="$WORLD"

opensc-tool -l | grep -qE "^0 +Yes +$READER" || fail "opensc-tool -l: $(opensc-tool -l)"
opensc-tool -n 2>&1 | grep -q "OpenPGP card v3.4 (FFFE 00C0FFEE)" || fail "opensc-tool -n: $(opensc-tool -n 2>&1)"
"${P11[@]}" -L >"$D/slots.txt" 2>&1 || fail "pkcs11-tool -L"
grep -q "token label        : $USER_TOKEN" "$D/slots.txt" || fail "token not listed: $(cat "$D/slots.txt")"
grep -q "serial num         : fffe00c0ffee" "$D/slots.txt" || fail "token serial"
log "reader, card name and PKCS#11 token ok"

# --- RSA-2048 keys generated through OpenSC's openpgp driver ---------------------------
openpgp-tool --verify CHV3 --pin 12345678 --gen-key 1 --key-type rsa2048 >"$D/gen1.txt" 2>&1 ||
    fail "openpgp-tool gen-key 1: $(cat "$D/gen1.txt")"
openpgp-tool --verify CHV3 --pin 12345678 --gen-key 2 --key-type rsa2048 >"$D/gen2.txt" 2>&1 ||
    fail "openpgp-tool gen-key 2: $(cat "$D/gen2.txt")"

echo "Keyfence data to sign" >"$D/data.txt"
"${P11[@]}" --token-label "$SIG_TOKEN" --read-object --type pubkey --id 01 -o "$D/sig.der" >/dev/null 2>&1 ||
    fail "read sig pubkey"
openssl pkey -pubin -inform DER -in "$D/sig.der" -out "$D/sig.pem"
"${P11[@]}" --token-label "$SIG_TOKEN" --login --pin 123456 --sign --id 01 \
    --mechanism SHA256-RSA-PKCS -i "$D/data.txt" -o "$D/data.sig" >"$D/sign.txt" 2>&1 ||
    fail "pkcs11 sign: $(cat "$D/sign.txt")"
openssl dgst -sha256 -verify "$D/sig.pem" -signature "$D/data.sig" "$D/data.txt" | grep -q "Verified OK" ||
    fail "openssl could not verify the RSA signature"
log "RSA-2048: OpenSC keygen, pkcs11-tool sign, openssl verify ok"

"${P11[@]}" --token-label "$USER_TOKEN" --read-object --type pubkey --id 02 -o "$D/dec.der" >/dev/null 2>&1 ||
    fail "read dec pubkey"
openssl pkey -pubin -inform DER -in "$D/dec.der" -out "$D/dec.pem"
openssl pkeyutl -encrypt -pubin -inkey "$D/dec.pem" -in "$D/data.txt" -out "$D/data.enc"
"${P11[@]}" --token-label "$USER_TOKEN" --login --pin 123456 --decrypt --id 02 --mechanism RSA-PKCS \
    -i "$D/data.enc" -o "$D/data.dec" >"$D/dec.txt" 2>&1 || fail "pkcs11 decrypt: $(cat "$D/dec.txt")"
cmp -s "$D/data.txt" "$D/data.dec" || fail "RSA decryption result differs"
log "RSA-2048: pkcs11-tool decrypt of openssl ciphertext ok"

# --- P-256 through the card's admin APDUs (OpenSC 0.23 cannot generate EC on OpenPGP) --
FPR=$(printf '5A:%.0s' $(seq 20))
FPR=${FPR%:}
out=$(opensc-tool -r 0 -s 00:A4:04:00:06:D2:76:00:01:24:01 \
    -s 00:20:00:83:08:31:32:33:34:35:36:37:38 \
    -s 00:DA:00:C1:09:13:2A:86:48:CE:3D:03:01:07 -s 00:47:80:00:02:B6:00:00 \
    -s "00:DA:00:C7:14:$FPR" \
    -s 00:DA:00:C2:09:12:2A:86:48:CE:3D:03:01:07 -s 00:47:80:00:02:B8:00:00 \
    -s "00:DA:00:C8:14:$FPR" 2>&1)
[ "$(grep -c 'SW1=0x90, SW2=0x00' <<<"$out")" -eq 8 ] || fail "admin APDUs: $out"

openssl dgst -sha256 -binary "$D/data.txt" >"$D/data.sha256"
"${P11[@]}" --token-label "$SIG_TOKEN" --read-object --type pubkey --id 01 -o "$D/ecsig.der" >/dev/null 2>&1 ||
    fail "read EC sig pubkey"
openssl pkey -pubin -inform DER -in "$D/ecsig.der" -out "$D/ecsig.pem"
"${P11[@]}" --token-label "$SIG_TOKEN" --login --pin 123456 --sign --id 01 --mechanism ECDSA \
    --signature-format openssl -i "$D/data.sha256" -o "$D/data.ecsig" >"$D/ecsign.txt" 2>&1 ||
    fail "pkcs11 ECDSA: $(cat "$D/ecsign.txt")"
openssl dgst -sha256 -verify "$D/ecsig.pem" -signature "$D/data.ecsig" "$D/data.txt" | grep -q "Verified OK" ||
    fail "openssl could not verify the ECDSA signature"
log "P-256: pkcs11-tool ECDSA sign, openssl verify ok"

"${P11[@]}" --token-label "$USER_TOKEN" --read-object --type pubkey --id 02 -o "$D/ecdh.der" >/dev/null 2>&1 ||
    fail "read EC dec pubkey"
openssl pkey -pubin -inform DER -in "$D/ecdh.der" -out "$D/ecdh.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/peer.pem" 2>/dev/null
openssl pkey -in "$D/peer.pem" -pubout -outform DER -out "$D/peer.der"
openssl pkeyutl -derive -inkey "$D/peer.pem" -peerkey "$D/ecdh.pem" -out "$D/expected.bin"
"${P11[@]}" --token-label "$USER_TOKEN" --login --pin 123456 --derive --id 02 --mechanism ECDH1-DERIVE \
    -i "$D/peer.der" -o "$D/derived.bin" >"$D/derive.txt" 2>&1 || fail "pkcs11 derive: $(cat "$D/derive.txt")"
cmp -s "$D/expected.bin" "$D/derived.bin" || fail "ECDH shared secret differs from openssl's"
log "P-256: pkcs11-tool ECDH derive equals openssl derive"

# --- PIN counting and blocking as OpenSC sees it ---------------------------------------
pw_status() {
    opensc-tool -r 0 -s 00:A4:04:00:06:D2:76:00:01:24:01 -s 00:CA:00:C4:00 2>&1 |
        grep -E '^[0-9A-F]{2} ' | tail -1 | cut -c1-20
}
[ "$(pw_status)" = "00 7F 7F 7F 03 00 03" ] || fail "initial PW status: $(pw_status)"
for i in 1 2 3; do
    "${P11[@]}" --token-label "$USER_TOKEN" --login --pin 000000 --decrypt --id 02 --mechanism RSA-PKCS \
        -i "$D/data.enc" >/dev/null 2>&1 && fail "wrong PIN accepted"
done
[ "$(pw_status)" = "00 7F 7F 7F 00 00 03" ] || fail "PW status after 3 wrong PINs: $(pw_status)"
"${P11[@]}" --token-label "$SIG_TOKEN" --login --pin 123456 --sign --id 01 --mechanism ECDSA \
    -i "$D/data.sha256" -o "$D/x" >/dev/null 2>&1 && fail "blocked PIN still works"
opensc-tool -r 0 -s 00:A4:04:00:06:D2:76:00:01:24:01 -s 00:20:00:81 2>&1 | grep -q "SW1=0x63, SW2=0xC0" ||
    fail "VERIFY status of blocked PIN is not 63C0"
# Unblock with the admin PIN (RESET RETRY COUNTER P1=02), then the user PIN works again.
out=$(opensc-tool -r 0 -s 00:A4:04:00:06:D2:76:00:01:24:01 -s 00:20:00:83:08:31:32:33:34:35:36:37:38 \
    -s 00:2C:02:81:06:31:32:33:34:35:36 2>&1)
[ "$(grep -c 'SW1=0x90, SW2=0x00' <<<"$out")" -eq 3 ] || fail "unblock: $out"
[ "$(pw_status)" = "00 7F 7F 7F 03 00 03" ] || fail "PW status after unblock: $(pw_status)"
"${P11[@]}" --token-label "$SIG_TOKEN" --login --pin 123456 --sign --id 01 --mechanism ECDSA \
    --signature-format openssl -i "$D/data.sha256" -o "$D/data.ecsig2" >/dev/null 2>&1 || fail "sign after unblock"
openssl dgst -sha256 -verify "$D/ecsig.pem" -signature "$D/data.ecsig2" "$D/data.txt" | grep -q "Verified OK" ||
    fail "signature after unblock does not verify"
log "PIN: 3 wrong PINs block (63C0), RESET RETRY COUNTER with PW3 unblocks"

log "PASS"
