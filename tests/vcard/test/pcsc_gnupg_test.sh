#!/bin/bash
# Integration (label pcsc): real GnuPG scdaemon/gpg-agent against keyfence-vcard through a
# private pcscd. Per algorithm family: gpg --card-status, on-card key generation through
# gpg --card-edit, signing and decryption with the card keys, verification by gpg.
# Then PIN retry counters as gpg sees them, and removal + reinsertion of the card.
# Usage: pcsc_gnupg_test.sh /path/to/keyfence-vcard
source "$(dirname "$0")/pcsc_world.sh" "$@"

CTL="$WORLD/faults.ctl"
: >"$CTL"
world_start --serial 0000ABCD --control "$CTL"
world_gnupg
GPG=(gpg --batch --yes --pinentry-mode loopback)

# gpg --card-status must show our card as an OpenPGP 3.4 card with fresh counters.
status=$("${GPG[@]}" --card-status 2>&1) || fail "card-status: $status"
echo "$status" | grep -q "Reader ...........: $READER" || fail "reader not shown"
echo "$status" | grep -q "Application ID ...: D276000124010304FFFE0000ABCD0000" || fail "AID: $status"
echo "$status" | grep -q "Version ..........: 3.4" || fail "version"
echo "$status" | grep -q "Serial number ....: 0000ABCD" || fail "serial"
echo "$status" | grep -q "PIN retry counter : 3 0 3" || fail "retry counter"
log "card-status ok"

# generate_on_card NAME EMAIL: gpg --card-edit / admin / generate, all three keys on card.
generate_on_card() {
    printf '%s\n' admin generate n 12345678 123456 0 "$1" "$2" "" 123456 123456 123456 quit |
        gpg --pinentry-mode loopback --command-fd 0 --status-fd 1 --card-edit >"$WORLD/gen.out" 2>&1 ||
        fail "card-edit generate: $(tail -5 "$WORLD/gen.out")"
    grep -q "KEY_CREATED" "$WORLD/gen.out" || fail "no KEY_CREATED"
}

# sign_and_decrypt EMAIL: detached signature verified by gpg, encrypt to the card key
# (software) and decrypt on the card.
sign_and_decrypt() {
    local who=$1 data="$WORLD/data.txt"
    echo "Keyfence test message for $who" >"$data"
    "${GPG[@]}" --passphrase 123456 -u "$who" --detach-sign -o "$WORLD/data.sig" "$data" \
        2>"$WORLD/sign.err" || fail "sign: $(cat "$WORLD/sign.err")"
    "${GPG[@]}" --verify "$WORLD/data.sig" "$data" 2>"$WORLD/verify.out" ||
        fail "verify: $(cat "$WORLD/verify.out")"
    grep -q "Good signature" "$WORLD/verify.out" || fail "no good signature"
    "${GPG[@]}" --trust-model always -r "$who" -e -o "$WORLD/data.gpg" "$data" || fail "encrypt"
    "${GPG[@]}" --passphrase 123456 -d -o "$WORLD/data.out" "$WORLD/data.gpg" 2>"$WORLD/dec.err" ||
        fail "decrypt: $(cat "$WORLD/dec.err")"
    cmp -s "$data" "$WORLD/data.out" || fail "decrypted data differs"
}

# --- RSA-2048 (card default attributes) ------------------------------------------------
generate_on_card "RSA Tester" rsa@example.org
"${GPG[@]}" -K rsa@example.org | grep -q "sec>  rsa2048" || fail "no rsa2048 card key"
sign_and_decrypt rsa@example.org
counter=$("${GPG[@]}" --card-status | sed -n 's/^Signature counter : //p')
[ "$counter" -ge 2 ] || fail "signature counter $counter"
log "RSA-2048: generate, sign/verify, decrypt ok (signature counter $counter)"

# --- PIN retry counter as gpg sees it: one wrong PIN costs exactly one try ------------
# Never -o /dev/null: a gpg that fails removes its output file, and as root that is the
# system's /dev/null (the next redirection then makes it a regular file).
"${GPG[@]}" --passphrase 000000 -u rsa@example.org --detach-sign -o "$WORLD/wrong-pin.sig" \
    "$WORLD/data.txt" 2>/dev/null && fail "signing with a wrong PIN succeeded"
[ -c /dev/null ] || fail "/dev/null is no longer a character device"
"${GPG[@]}" --card-status | grep -q "PIN retry counter : 2 0 3" || fail "wrong PIN not counted once"
sign_and_decrypt rsa@example.org  # the right PIN restores the counter
"${GPG[@]}" --card-status | grep -q "PIN retry counter : 3 0 3" || fail "counter not restored"
log "PIN retry counter: wrong PIN 3->2, right PIN back to 3"

# --- corrupted RSA signature: gpg-agent checks RSA signatures it gets from the card ---
echo "corrupt-signature 1" >"$CTL"
"${GPG[@]}" --passphrase 123456 -u rsa@example.org --detach-sign -o "$WORLD/bad.sig" "$WORLD/data.txt" \
    2>"$WORLD/bad.err" && fail "gpg released a corrupted RSA signature"
grep -q "Bad signature" "$WORLD/bad.err" || fail "unexpected error: $(cat "$WORLD/bad.err")"
: >"$CTL"
log "corrupt-signature: gpg refuses the corrupted RSA signature at signing time"

# --- card removed and reinserted: same keys, state survived the restart ---------------
card_stop
wait_for_card absent
card_start
# scdaemon may still hold the old card handle if its ticker missed the short absence;
# like with a real token it then reports the removal once ("Card error") and re-opens.
for try in 1 2 3 4 5; do
    "${GPG[@]}" --card-status >/dev/null 2>&1 && break
    [ "$try" -eq 5 ] && fail "card not found again after restart"
    sleep 0.2
done
sign_and_decrypt rsa@example.org
log "card restart: keys and counters survived"

# new_card ATTRS SERIAL: a different card (fresh state) in the same reader.
new_card() {
    card_stop
    wait_for_card absent
    gpgconf --homedir "$GNUPGHOME" --kill all
    card_start --init --serial "$2" --key-attrs "$1" --control "$CTL"
}

# --- NIST P-256: ECDSA signing key, ECDH decryption key --------------------------------
new_card nistp256 0000AB01
"${GPG[@]}" --card-status | grep -q "Key attributes ...: nistp256 nistp256 nistp256" ||
    fail "P-256 attributes not shown"
generate_on_card "P256 Tester" p256@example.org
"${GPG[@]}" -K p256@example.org | grep -q "sec>  nistp256" || fail "no nistp256 card key"
sign_and_decrypt p256@example.org
log "P-256: generate, ECDSA sign/verify, ECDH decrypt ok"

# gpg 2.2.40 does not check ECDSA signatures it creates: the corrupted one is released
# and only the verifier notices. (Keyfence must verify before releasing.)
echo "corrupt-signature 1" >"$CTL"
"${GPG[@]}" --passphrase 123456 -u p256@example.org --detach-sign -o "$WORLD/bad.sig" "$WORLD/data.txt" ||
    fail "gpg ECDSA sign with corrupt-signature"
: >"$CTL"
"${GPG[@]}" --verify "$WORLD/bad.sig" "$WORLD/data.txt" 2>"$WORLD/bad.out" && fail "corrupted ECDSA verified"
grep -q "BAD signature" "$WORLD/bad.out" || fail "no BAD signature: $(cat "$WORLD/bad.out")"
log "corrupt-signature: gpg releases the corrupted ECDSA signature; gpg --verify says BAD"

# --- Ed25519 signing, Cv25519 (X25519) decryption --------------------------------------
new_card ed25519 0000AB02
generate_on_card "Ed Tester" ed@example.org
"${GPG[@]}" -K ed@example.org | grep -q "sec>  ed25519" || fail "no ed25519 card key"
sign_and_decrypt ed@example.org
log "Ed25519/Cv25519: generate, EdDSA sign/verify, X25519 decrypt ok"

# --- keys made by gpg in software, moved to the card with keytocard (key import) -------
# import_to_card ATTRS SIGALGO ENCALGO EMAIL
import_to_card() {
    new_card "$1" "0000AC0${#IMPORTS}"
    IMPORTS+=x
    "${GPG[@]}" --passphrase '' --quick-gen-key "Import Tester <$4>" "$2" sign never 2>/dev/null ||
        fail "quick-gen-key $2"
    local fpr
    fpr=$("${GPG[@]}" --with-colons -K "$4" | awk -F: '/^fpr/{print $10; exit}')
    "${GPG[@]}" --passphrase '' --quick-add-key "$fpr" "$3" encr never 2>/dev/null || fail "add-key $3"
    printf '%s\n' keytocard y 1 12345678 "key 1" keytocard 2 save |
        gpg --pinentry-mode loopback --command-fd 0 --status-fd 1 --edit-key "$4" >"$WORLD/k2c.out" 2>&1 ||
        fail "keytocard: $(tail -5 "$WORLD/k2c.out")"
    # Both keys must now live on the card: '>' marks card stubs, and the card's key grips
    # must be those of gpg's keys (a wrong import would give another key).
    [ "$("${GPG[@]}" -K "$4" | grep -cE '^(sec|ssb)> ')" -eq 2 ] || fail "keys not on card: $("${GPG[@]}" -K "$4")"
    local grips
    grips=$(gpg-connect-agent 'scd learn --force' /bye | awk '/KEYPAIRINFO/{print $3}')
    for g in $("${GPG[@]}" --with-colons --with-keygrip -K "$4" | awk -F: '/^grp/{print $10}'); do
        grep -q "$g" <<<"$grips" || fail "card does not hold key grip $g"
    done
    sign_and_decrypt "$4"
}
IMPORTS=""
import_to_card rsa2048 rsa2048 rsa2048 imp-rsa@example.org
import_to_card nistp256 nistp256 nistp256 imp-p256@example.org
import_to_card ed25519 ed25519 cv25519 imp-ed@example.org
log "keytocard: RSA-2048, P-256, Ed25519+Cv25519 imported; sign/verify and decrypt on card ok"

# --- card administration through gpg --card-edit -------------------------------------
card_edit() {
    printf '%s\n' "$@" | gpg --pinentry-mode loopback --command-fd 0 --status-fd 1 --card-edit \
        >"$WORLD/edit.out" 2>&1 || fail "card-edit $*: $(tail -5 "$WORLD/edit.out")"
    ! grep -q "SC_OP_FAILURE" "$WORLD/edit.out" || fail "card-edit $*: $(grep -v GOT_IT "$WORLD/edit.out" | tail -5)"
}
card_field() { "${GPG[@]}" --card-status | sed -n "s/^$1 *\.*: //p"; }
new_card nistp256 0000AD01
generate_on_card "Admin Tester" admin@example.org
card_edit admin forcesig 12345678 quit
[ "$(card_field "Signature PIN")" = "not forced" ] || fail "forcesig: $(card_field "Signature PIN")"
card_edit admin name Tester Card quit
[ "$(card_field "Name of cardholder")" = "Card Tester" ] || fail "name: $(card_field "Name of cardholder")"
card_edit passwd 123456 654321 654321 quit           # CHANGE REFERENCE DATA PW1
card_edit passwd 654321 123456 123456 quit           # the new PIN is the one that works
card_edit admin factory-reset y yes quit             # VERIFY x8 to block, TERMINATE DF, ACTIVATE
[ "$(card_field "Name of cardholder")" = "[not set]" ] || fail "factory-reset kept the name"
[ "$(card_field "Signature key")" = "[none]" ] || fail "factory-reset kept the keys"
[ "$(card_field "PIN retry counter")" = "3 0 3" ] || fail "factory-reset counters: $(card_field "PIN retry counter")"
[ "$(card_field "Key attributes")" = "rsa2048 rsa2048 rsa2048" ] || fail "factory-reset attributes"
log "card-edit: forcesig, name, passwd, factory-reset ok"

log "PASS"
