#!/bin/bash
# Integration (label pcsc): the fault knobs of keyfence-vcard as real clients see them,
# switched at run time through the control file: corrupted signatures, latency, garbled
# and truncated responses, removal during a private-key operation with reinsertion, and
# --remove-after.
# Usage: pcsc_faults_test.sh /path/to/keyfence-vcard
source "$(dirname "$0")/pcsc_world.sh" "$@"

CTL="$WORLD/faults.ctl"
: >"$CTL"
world_start --serial 0000FA17 --key-attrs nistp256 --control "$CTL" --reconnect --reinsert-ms 1500
M=$OPENSC_P11
SIG_TOKEN="OpenPGP card (User PIN (sig))"
P11=(pkcs11-tool --module "$M" --token-label "$SIG_TOKEN")
D="$WORLD"

FPR=$(printf '5A:%.0s' $(seq 20))
out=$(opensc-tool -r 0 -s 00:A4:04:00:06:D2:76:00:01:24:01 \
    -s 00:20:00:83:08:31:32:33:34:35:36:37:38 -s 00:47:80:00:02:B6:00:00 -s "00:DA:00:C7:14:${FPR%:}" 2>&1)
[ "$(grep -c 'SW1=0x90, SW2=0x00' <<<"$out")" -eq 4 ] || fail "admin APDUs: $out"
"${P11[@]}" --read-object --type pubkey --id 01 -o "$D/pub.der" >/dev/null 2>&1 || fail "read pubkey"
openssl pkey -pubin -inform DER -in "$D/pub.der" -out "$D/pub.pem"
echo "fault test data" >"$D/data.txt"
openssl dgst -sha256 -binary "$D/data.txt" >"$D/data.sha256"

# sign_status: "ok" (signature verifies), "bad" (returned but does not verify), "fail".
sign_status() {
    rm -f "$D/sig"
    "${P11[@]}" --login --pin 123456 --sign --id 01 --mechanism ECDSA --signature-format openssl \
        -i "$D/data.sha256" -o "$D/sig" >"$D/sign.txt" 2>&1 || { echo fail; return; }
    if openssl dgst -sha256 -verify "$D/pub.pem" -signature "$D/sig" "$D/data.txt" >/dev/null 2>&1; then
        echo ok
    else
        echo bad
    fi
}
now_ms() { date +%s%3N; }

[ "$(sign_status)" = ok ] || fail "baseline signature: $(cat "$D/sign.txt")"

echo "corrupt-signature 1" >"$CTL"
[ "$(sign_status)" = bad ] || fail "corrupt-signature: signature still verifies"
log "corrupt-signature: card returns a signature that openssl rejects"

echo "latency-ms 600" >"$CTL"
t0=$(now_ms); [ "$(sign_status)" = ok ] || fail "sign with latency"; t1=$(now_ms)
: >"$CTL"
t2=$(now_ms); [ "$(sign_status)" = ok ] || fail "sign without latency"; t3=$(now_ms)
[ $((t1 - t0)) -ge 600 ] || fail "latency not applied ($((t1 - t0)) ms)"
[ $((t3 - t2)) -lt 600 ] || fail "latency still applied ($((t3 - t2)) ms)"
log "latency-ms 600: sign took $((t1 - t0)) ms, $((t3 - t2)) ms without"

echo "garble sign" >"$CTL"
[ "$(sign_status)" != ok ] || fail "garbled signature response accepted"
echo "truncate sign" >"$CTL"
[ "$(sign_status)" = fail ] || fail "truncated signature response not detected"
: >"$CTL"
[ "$(sign_status)" = ok ] || fail "sign after garble/truncate"
log "garble/truncate sign: clients see broken responses; clean again when switched off"

# Removal during the private-key operation: the socket closes instead of the answer,
# pcscd reports the card gone, and with --reconnect it comes back (PIN state lost).
echo "remove-on sign" >"$CTL"
[ "$(sign_status)" = fail ] || fail "sign succeeded although the card was removed"
grep -q "fault: card removed" "$WORLD/vcard.log" || fail "card did not log the removal"
: >"$CTL"
wait_for_card absent   # the card stays out for --reinsert-ms, long enough for pcscd to see it
wait_for_card present
[ "$(sign_status)" = ok ] || fail "sign after reinsertion: $(cat "$D/sign.txt")"
log "remove-on sign: operation fails, card reinserted, signing works again"

# --remove-after N (command line): the card answers N APDUs, then is gone for good.
card_stop
wait_for_card absent
"$VCARD_BIN" --port "$PORT" --state "$STATE" --remove-after 3 >>"$WORLD/vcard.log" 2>&1 &
VCARD_PID=$!
wait_for_card present
out=$(opensc-tool -r 0 -s 00:A4:04:0C:06:D2:76:00:01:24:01 -s 00:CA:00:C4:00 -s 00:CA:00:C4:00 \
    -s 00:CA:00:C4:00 -s 00:CA:00:C4:00 2>&1 || true)
grep -q "fault: card removed at APDU 4$" "$WORLD/vcard.log" || fail "remove-after 3 did not remove at APDU 4"
for _ in $(seq 50); do kill -0 "$VCARD_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$VCARD_PID" 2>/dev/null && fail "card process still running after removal"
wait "$VCARD_PID" || fail "card exited with an error after removal"
VCARD_PID=""
wait_for_card absent
log "remove-after 3: APDU 4 not answered, card removed, process exited"

log "PASS"
