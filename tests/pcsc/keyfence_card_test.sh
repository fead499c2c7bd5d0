#!/bin/bash
# Integration (label pcsc): Keyfence's native OpenPGP card support against keyfence-vcard
# behind a private pcscd: status, pubkey, signing (RSA-2048, P-256, Ed25519) checked by
# OpenSSL, the lockout guard on a PIN that really counts down and blocks, a corrupted
# signature and a signature counter that skips or sticks withheld, removal during a signature, and hotplug seen by `keyfence watch`.
# Usage: keyfence_card_test.sh /path/to/keyfence-vcard /path/to/keyfence
source "$(dirname "$0")/../vcard/test/pcsc_world.sh" "$@"
KEYFENCE=$(readlink -f "$2")
# The audit log and the user's policy live in the world, never in the real home.
export XDG_STATE_HOME=$WORLD/state XDG_CONFIG_HOME=$WORLD/config
CTL="$WORLD/faults.ctl"
: >"$CTL"
world_start --serial 0000C0DE --control "$CTL" --reconnect --reinsert-ms 1000
# vpcd cannot tell OpenSC the reader's APDU limits (tests/vcard/README.md, peer findings).
export OPENSC_CONF=$WORLD/opensc.conf
printf 'app default {\n reader_driver pcsc {\n  max_send_size = 3070;\n  max_recv_size = 3070;\n }\n}\n' >"$OPENSC_CONF"
OPENSC_P11=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
D=$WORLD
REF=openpgp:0000C0DE
passed=0
ok() { passed=$((passed + 1)); log "ok: $*"; }
kf() { "$KEYFENCE" --no-p11-kit "$@"; }
# sign_with PIN [extra options]: signs data.txt into sig; prints the exit code.
sign_with() {
    local pin=$1
    shift
    rm -f "$D/sig"
    kf --pin-fd 3 "$@" sign --key "$REF" --in "$D/data.txt" --out "$D/sig" 3<<<"$pin" \
        >"$D/sign.out" 2>"$D/sign.err"
    echo $?
}
# wait_for_keyfence_card: until `keyfence status` reads the card again (after a reinsertion).
wait_for_keyfence_card() {
    for _ in $(seq 50); do
        kf --json status 2>/dev/null | grep -q '"serial": "FFFE0000C0DE"' && return 0
        sleep 0.1
    done
    fail "keyfence does not see the card again"
}
tries() { kf --json status | python3 -c 'import json,sys; c=json.load(sys.stdin)["cards"][0]; print(c["pin_tries"]["user"])'; }
counter() { kf --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["cards"][0]["signature_counter"])'; }
# admin_generate ALGORITHM-ATTRIBUTES-HEX: PW3, optional C1, GENERATE the signature key.
admin_generate() {
    local apdus=(-s 00:A4:04:00:06:D2:76:00:01:24:01 -s 00:20:00:83:08:31:32:33:34:35:36:37:38)
    if [ -n "$1" ]; then apdus+=(-s "00:DA:00:C1:$(printf '%02X' $(( ${#1} / 3 + 1 ))):$1"); fi
    # GENERATE, then a fingerprint (C7), as gpg writes one: OpenSC shows keys only with it.
    apdus+=(-s 00:47:80:00:02:B6:00:00 -s "00:DA:00:C7:14:$(printf '5A:%.0s' $(seq 19))5A")
    local out
    out=$(opensc-tool -r 0 "${apdus[@]}" 2>&1)
    [ "$(grep -c "SW1=0x90, SW2=0x00" <<<"$out")" -eq $(( ${#apdus[@]} / 2 )) ] || fail "admin APDUs: $out"
    kf pubkey --key "$REF" --out "$D/pub.pem" || fail "pubkey"
}
echo "the contract, version 3" >"$D/data.txt"

# --- status of a fresh card (with a cardholder name written as gpg --card-edit name does)
out=$(opensc-tool -r 0 -s 00:A4:04:00:06:D2:76:00:01:24:01 -s 00:20:00:83:08:31:32:33:34:35:36:37:38 \
      -s 00:DA:00:5B:0C:52:69:76:65:72:61:3C:3C:41:6C:65:78 2>&1)   # "Rivera<<Alex"
kf status | grep -q "cardholder: *Alex Rivera" || fail "status does not show the cardholder: $out"
status=$(kf --json status)
python3 - "$status" <<'PY' || fail "status: $status"
import json, sys
c = json.loads(sys.argv[1])["cards"][0]
assert c["openpgp"] and c["serial"] == "FFFE0000C0DE", c
assert c["pin_tries"] == {"user": 3, "reset_code": 0, "admin": 3}, c
assert c["test_card"] and c["signature_counter"] == 0, c
assert c["slots"][0]["algorithm"] == "RSA-2048", c
PY
kf status | grep -q "TEST CARD" || fail "status does not mark the test card"
ok "status"

# --- RSA-2048: sign, verified by OpenSSL; the counter rises by one
admin_generate ""
[ "$(sign_with 123456)" = 0 ] || fail "RSA sign: $(cat "$D/sign.err")"
openssl dgst -sha256 -verify "$D/pub.pem" -signature "$D/sig" "$D/data.txt" >/dev/null || fail "RSA signature does not verify"
[ "$(counter)" = 1 ] || fail "counter $(counter) after one signature"
ok "RSA-2048 signature verified by openssl"

# --- the same card through OpenSC's PKCS#11 module: listed once, and it signs there too
listing=$(kf --module "$OPENSC_P11" tokens)
[ "$(grep -c '^OpenPGP card FFFE0000C0DE' <<<"$listing")" = 1 ] || fail "card not listed once: $listing"
[ "$(grep -c 'PKCS#11: ' <<<"$listing")" = 2 ] || fail "the card's PKCS#11 slots are not shown with it: $listing"
grep -q '^Token "OpenPGP card' <<<"$listing" && fail "the card is also listed as a separate token: $listing"
kf --json --module "$OPENSC_P11" tokens | python3 -c 'import json,sys; j=json.load(sys.stdin); c=j["cards"][0]; assert c["reference"]=="openpgp:FFFE0000C0DE" and len(c["pkcs11_tokens"])==2, c' ||
    fail "tokens --json does not join the card and its slots"
P11_KEY="pkcs11:serial=fffe0000c0de;token=OpenPGP%20card%20%28User%20PIN%20%28sig%29%29"
rm -f "$D/sig"
kf --module "$OPENSC_P11" --pin-fd 3 sign --key "$P11_KEY" --in "$D/data.txt" --out "$D/sig" 3<<<123456 2>"$D/sign.err" ||
    fail "sign through OpenSC: $(cat "$D/sign.err")"
openssl dgst -sha256 -verify "$D/pub.pem" -signature "$D/sig" "$D/data.txt" >/dev/null || fail "OpenSC-path signature does not verify"
ok "the card once in tokens (reader + 2 PKCS#11 slots); signing through OpenSC verifies"

# --- lockout: each wrong PIN costs one try; the last try is refused; blocked stays blocked
[ "$(sign_with 000000)" = 3 ] || fail "wrong PIN did not exit 3"
grep -q "one try was spent, 2 left" "$D/sign.err" || fail "message: $(cat "$D/sign.err")"
[ "$(tries)" = 2 ] || fail "tries $(tries) after one wrong PIN"
[ "$(sign_with 000001)" = 3 ] || fail "second wrong PIN did not exit 3"
[ "$(tries)" = 1 ] || fail "tries $(tries) after two wrong PINs"
[ "$(sign_with 123456)" = 4 ] || fail "the last try was not refused: $(cat "$D/sign.err")"
grep -q -- "--allow-last-pin-try" "$D/sign.err" || fail "no hint: $(cat "$D/sign.err")"
[ "$(tries)" = 1 ] || fail "the guard spent a try"
[ ! -e "$D/sig" ] || fail "output written after a refusal"
[ "$(sign_with 123456 --allow-last-pin-try)" = 0 ] || fail "allowed last try: $(cat "$D/sign.err")"
[ "$(tries)" = 3 ] || fail "a good PIN did not restore the counter"
ok "lockout guard: 3 -> 2 -> 1, last try refused, allowed last try works"
rc=$(sign_with 000000); rc=$(sign_with 000000)
[ "$(sign_with 000000 --allow-last-pin-try)" = 4 ] || fail "blocking PIN did not exit 4"
grep -q "now blocked" "$D/sign.err" || fail "message: $(cat "$D/sign.err")"
[ "$(sign_with 123456 --allow-last-pin-try)" = 4 ] || fail "blocked PIN did not exit 4"
grep -q "admin PIN" "$D/sign.err" || fail "no unblock advice: $(cat "$D/sign.err")"
[ "$(tries)" = 0 ] || fail "blocked card shows $(tries) tries"
out=$(opensc-tool -r 0 -s 00:A4:04:00:06:D2:76:00:01:24:01 -s 00:20:00:83:08:31:32:33:34:35:36:37:38 \
      -s 00:2C:02:81:06:31:32:33:34:35:36 2>&1)
[ "$(tries)" = 3 ] || fail "reset with PW3 failed: $out"
ok "blocked PIN exits 4 and names the unblock path; no VERIFY on a blocked PIN"

# --- a corrupted signature from the card is withheld
echo "corrupt-signature 1" >"$CTL"
[ "$(sign_with 123456)" = 8 ] || fail "corrupt signature not refused: $(cat "$D/sign.err")"
grep -q "withheld" "$D/sign.err" || fail "message: $(cat "$D/sign.err")"
[ ! -e "$D/sig" ] || fail "a corrupted signature was written"
: >"$CTL"
ok "corrupted signature withheld"

# --- a signature counter that does not rise by exactly one: the signature is withheld
for step in 2 0; do
    echo "counter-step $step" >"$CTL"
    [ "$(sign_with 123456)" = 8 ] || fail "counter step $step not refused: $(cat "$D/sign.err")"
    grep -q "signature counter went from" "$D/sign.err" || fail "message: $(cat "$D/sign.err")"
    [ ! -e "$D/sig" ] || fail "counter step $step: the signature was written"
done
: >"$CTL"
ok "a counter that skips or sticks withholds the signature"

# --- garbled and truncated answers: an error and no output, never a crash
for fault in "garble sign" "truncate sign" "garble any"; do
    echo "$fault" >"$CTL"
    rc=$(sign_with 123456)
    [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] || fail "$fault: exit $rc"
    [ ! -e "$D/sig" ] || fail "$fault: output written"
    grep -q "keyfence: " "$D/sign.err" || fail "$fault: no error message"
done
: >"$CTL"
wait_for_keyfence_card
[ "$(sign_with 123456)" = 0 ] || fail "sign after the faults: $(cat "$D/sign.err")"
ok "garbled and truncated card answers: a clear error, no output, no crash"

# --- removal during the signature: exit 5, no output; the next operation after reinsertion works
echo "remove-on sign" >"$CTL"
rc=$(sign_with 123456)
[ "$rc" = 5 ] || fail "removal during signing exited $rc: $(cat "$D/sign.err")"
[ ! -e "$D/sig" ] || fail "output written after removal"
: >"$CTL"
wait_for_keyfence_card
[ "$(sign_with 123456)" = 0 ] || fail "sign after reinsertion: $(cat "$D/sign.err")"
ok "removal during a signature: exit 5, nothing written, next signature works"

# --- P-256 and Ed25519 signature keys
admin_generate "13:2A:86:48:CE:3D:03:01:07"
kf status | grep -q "sig key: *ECDSA P-256" || fail "status does not show the P-256 key"
[ "$(sign_with 123456)" = 0 ] || fail "P-256 sign: $(cat "$D/sign.err")"
openssl dgst -sha256 -verify "$D/pub.pem" -signature "$D/sig" "$D/data.txt" >/dev/null || fail "P-256 signature does not verify"
ok "P-256 signature verified by openssl"
admin_generate "16:2B:06:01:04:01:DA:47:0F:01"
[ "$(sign_with 123456)" = 0 ] || fail "Ed25519 sign: $(cat "$D/sign.err")"
openssl dgst -sha256 -binary "$D/data.txt" >"$D/data.sha256"
openssl pkeyutl -verify -pubin -inkey "$D/pub.pem" -rawin -in "$D/data.sha256" -sigfile "$D/sig" >/dev/null ||
    fail "Ed25519 signature does not verify"
ok "Ed25519 signature (over the SHA-256 digest) verified by openssl"

# --- hotplug: keyfence watch sees the card go and come back
kf --json watch --seconds 6 >"$D/watch.log" 2>"$D/watch.err" &
watch_pid=$!
sleep 1
card_stop
wait_for_card absent
sleep 0.5
card_start --control "$CTL" --reconnect --reinsert-ms 1000
wait "$watch_pid" || fail "watch exited non-zero: $(cat "$D/watch.err")"
python3 - "$D/watch.log" <<'PY' || fail "watch: $(cat "$D/watch.log")"
import json, sys
events = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
kinds = [e["event"] for e in events]
first = kinds.index("card-inserted")            # the card present at the start
removed = kinds.index("card-removed", first + 1)
kinds.index("card-inserted", removed + 1)        # and back again
assert all(e["reader"].startswith("Keyfence VCard") for e in events), events
PY
wait_for_keyfence_card
[ "$(sign_with 123456)" = 0 ] || fail "sign after the card came back: $(cat "$D/sign.err")"
ok "watch: card removed and reinserted; signing works afterwards"

# --- the audit log holds the card's signatures with the card's counter; the chain verifies
kf audit verify >"$D/verify.out" 2>&1 || fail "audit verify: $(cat "$D/verify.out")"
python3 - "$XDG_STATE_HOME/keyfence/audit.log" <<'PY' || fail "audit log: $(tail -3 "$XDG_STATE_HOME/keyfence/audit.log")"
import json, sys
records = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
card = [r for r in records if r["token"]["serial"] == "FFFE0000C0DE"]
ok = [r for r in card if r["outcome"]["result"] == "success"]
assert len(ok) >= 5, len(ok)
# Each success carries the counter after it (a new signature key resets the card's counter).
counters = [r["token"]["signature_counter"] for r in ok]
assert all(c >= 1 for c in counters), counters
assert any(r["outcome"]["result"] == "wrong_pin" for r in card), [r["outcome"] for r in card]
assert "123456" not in open(sys.argv[1]).read()
PY
ok "audit log: card signatures with the card's counter, wrong PINs recorded, chain verifies"

# --- policy: require_hardware refuses the test card before any PIN
mkdir -p "$XDG_CONFIG_HOME/keyfence"
printf '[tokens]\nrequire_hardware = true\n' >"$XDG_CONFIG_HOME/keyfence/config.toml"
[ "$(sign_with 123456)" = 6 ] || fail "require_hardware did not refuse the test card: $(cat "$D/sign.err")"
grep -q "require_hardware" "$D/sign.err" || fail "message: $(cat "$D/sign.err")"
[ "$(tries)" = 3 ] || fail "a try was spent on a refused operation"
rm "$XDG_CONFIG_HOME/keyfence/config.toml"
ok "policy require_hardware refuses the test card, no PIN asked"

# --- doctor sees pcscd, the reader with the card, and the card's PIN tries
kf --json doctor >"$D/doctor.json" 2>"$D/doctor.err" || true
python3 - "$D/doctor.json" <<'PY' || fail "doctor: $(cat "$D/doctor.json")"
import json, sys
f = json.load(open(sys.argv[1]))["findings"]
text = lambda check: " | ".join(x["summary"] for x in f if x["check"] == check)
assert "pcscd is running" in text("pcscd"), text("pcscd")
assert "OpenPGP card FFFE0000C0DE" in text("readers"), text("readers")
assert "3 user PIN tries" in text("pin"), text("pin")
PY
ok "doctor: pcscd, the card in its reader, its PIN tries"

echo "$passed passed, 0 failed"
