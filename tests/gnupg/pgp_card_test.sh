#!/bin/bash
# Integration (labels gnupg, interop, pcsc): `keyfence pgp` with OpenPGP cards — keyfence-vcard
# behind a private pcscd, GnuPG's real scdaemon — judged by gpg in another home. For RSA-2048,
# NIST P-256 and Ed25519/Cv25519 cards: card-keygen, sign (gpg --verify accepts it), decrypt
# what gpg encrypted, sign+encrypt that gpg reads; a card signature with a flipped bit is withheld
# (gpg-agent checks RSA, Keyfence ECDSA and EdDSA). On the RSA card also: no silent key
# replacement, the retry counter read before the PIN is handed over (a wrong PIN costs exactly
# one try, the last try is refused without --allow-last-pin-try), and no operation without a
# PIN after the previous one.
# Usage: pgp_card_test.sh /path/to/keyfence-vcard /path/to/keyfence
source "$(dirname "$0")/../vcard/test/pcsc_world.sh" "$@"
source "$(dirname "$0")/pgp_mime.sh"
KEYFENCE=$(readlink -f "$2")
export XDG_STATE_HOME=$WORLD/state XDG_CONFIG_HOME=$WORLD/config
CTL=$WORLD/card.ctl  # the card's faults, switched at run time (tests/vcard/README.md)
world_start --serial 0000C0DE --control "$CTL"
H=$WORLD/kfgnupg
P=$WORLD/peer
# pcsc_world's cleanup stops the daemons of $GNUPGHOME; the peer's agent is stopped after
# every peer gpg call.
GNUPGHOME=$H
kf() { "$KEYFENCE" --no-p11-kit "$@"; }
card_json() { kf --json status | python3 -c "import json,sys; print(json.load(sys.stdin)['cards'][0]$1)"; }
tries() { card_json '["pin_tries"]["user"]'; }
peer_gpg() {
    local rc=0
    gpg --homedir "$P" --batch --yes "$@" || rc=$?
    gpgconf --homedir "$P" --kill all >/dev/null 2>&1 || true
    return $rc
}

kf pgp setup --card --homedir "$H" --reader "$READER" >/dev/null || fail "pgp setup --card"
grep -q "pcsc-shared" "$H/scdaemon.conf" || fail "scdaemon.conf without pcsc-shared"
grep -q "max-cache-ttl 0" "$H/gpg-agent.conf" || fail "gpg-agent.conf caches"
mkdir -m 700 "$P"
peer_gpg --passphrase '' --quick-gen-key 'Bob <bob@example.org>' future-default default never 2>/dev/null
printf '12345678\n123456\n' >"$WORLD/pins"
gpg --homedir "$P" --batch --armor --export bob@example.org >"$WORLD/bob.asc"
kf pgp import --homedir "$H" "$WORLD/bob.asc" >/dev/null || fail "pgp import"

# keygen ALGO EMAIL: keyfence pgp card-keygen, then Bob gets the certificate.
keygen() {
    kf --pin-fd 3 pgp card-keygen --homedir "$H" --algo "$1" --uid "Card Tester <$2>" \
        3<"$WORLD/pins" >"$WORLD/gen.out" 2>&1 || fail "card-keygen $1: $(cat "$WORLD/gen.out")"
    gpg --homedir "$H" --batch -K "$2" 2>/dev/null | grep -q "^sec>" || fail "no card key for $2"
    gpgconf --homedir "$H" --kill all
    gpg --homedir "$H" --batch --armor --export "$2" >"$WORLD/card.asc"
    peer_gpg --import "$WORLD/card.asc" 2>/dev/null
}
msg() {
    printf 'From: Card Tester <%s>\nTo: bob@example.org\nSubject: card\nDate: Mon, 1 Jan 2024 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain\n\n%s\n' "$1" "$2" >"$WORLD/msg.eml"
}
# psign EMAIL PIN [options]: keyfence pgp sign msg.eml into signed.eml; prints the exit code.
psign() {
    local who=$1 pin=$2
    shift 2
    rm -f "$WORLD/signed.eml"
    kf --pin-fd 3 "$@" pgp sign --homedir "$H" --key "$who" --in "$WORLD/msg.eml" \
        --out "$WORLD/signed.eml" 3<<<"$pin" >"$WORLD/sign.out" 2>"$WORLD/sign.err"
    echo $?
}
# sign_checked EMAIL: signs, gpg in Bob's home verifies the RFC 3156 parts, Keyfence too.
sign_checked() {
    msg "$1" "Signed on the card by $1."
    [ "$(psign "$1" 123456)" = 0 ] || fail "sign $1: $(cat "$WORLD/sign.err")"
    grep -q 'micalg=pgp-sha' "$WORLD/signed.eml" || fail "micalg"
    python3 - "$WORLD/signed.eml" "$WORLD" <<'PY' || fail "cannot split the signed message"
import re, sys
m = open(sys.argv[1], 'rb').read()
b = re.search(rb'boundary="([^"]+)"', m).group(1)
d = b'--' + b
first = m.index(d + b'\r\n') + len(d) + 2
second = m.index(b'\r\n' + d + b'\r\n', first)
open(sys.argv[2] + '/content', 'wb').write(m[first:second])
s = m.index(b'-----BEGIN PGP SIGNATURE-----')
e = m.index(b'-----END PGP SIGNATURE-----') + 27
open(sys.argv[2] + '/content.asc', 'wb').write(m[s:e] + b'\n')
PY
    peer_gpg --status-fd 1 --verify "$WORLD/content.asc" "$WORLD/content" 2>/dev/null | grep -q "GOODSIG" ||
        fail "gpg does not verify the card signature of $1"
    kf pgp verify --homedir "$H" --in "$WORLD/signed.eml" | grep -q "Result: VERIFIED" ||
        fail "keyfence verify $1"
}
# decrypt_checked EMAIL: Bob encrypts to the card key with gpg, Keyfence decrypts on the card.
decrypt_checked() {
    printf 'Content-Type: text/plain\r\n\r\nFor %s only.\r\n' "$1" >"$WORLD/entity"
    peer_gpg --trust-model always --armor -r "$1" -e -o "$WORLD/entity.asc" "$WORLD/entity"
    pgp_mime_encrypted "$1" "$WORLD/entity.asc" >"$WORLD/enc.eml"
    rm -f "$WORLD/dec.eml"
    kf --pin-fd 3 pgp decrypt --homedir "$H" --key "$1" --in "$WORLD/enc.eml" \
        --out "$WORLD/dec.eml" 3<<<123456 >"$WORLD/dec.out" 2>&1 || fail "decrypt $1: $(cat "$WORLD/dec.out")"
    grep -q "For $1 only." "$WORLD/dec.eml" || fail "decrypted content ($1)"
}
# sign_encrypt_checked EMAIL: Keyfence signs and encrypts to Bob; gpg decrypts and verifies.
sign_encrypt_checked() {
    msg "$1" "Sealed and signed by $1."
    kf --pin-fd 3 pgp encrypt --sign --homedir "$H" --key "$1" --to bob@example.org \
        --in "$WORLD/msg.eml" --out "$WORLD/se.eml" 3<<<123456 >"$WORLD/se.out" 2>&1 ||
        fail "encrypt --sign $1: $(cat "$WORLD/se.out")"
    awk '/BEGIN PGP MESSAGE/,/END PGP MESSAGE/' "$WORLD/se.eml" >"$WORLD/se.asc"
    peer_gpg --status-fd 2 -d "$WORLD/se.asc" >"$WORLD/se.plain" 2>"$WORLD/se.status" ||
        fail "gpg cannot decrypt: $(cat "$WORLD/se.status")"
    grep -q "GOODSIG" "$WORLD/se.status" || fail "gpg: no good signature inside ($1)"
    grep -q "Sealed and signed by $1." "$WORLD/se.plain" || fail "gpg plaintext ($1)"
}
# card_locked WHEN: no unlocked state on the card itself — PW1 (81, 82) and PW3 (83) are not
# verified, and a signature without VERIFY is refused (OpenPGP card 3.4 §7.2.2: VERIFY with no
# data is a status query). scdaemon leaves the card verified; Keyfence resets it.
card_locked() {
    local di state
    di=30:31:30:0d:06:09:60:86:48:01:65:03:04:02:01:05:00:04:20:$(printf '11:%.0s' $(seq 31))11
    state=$(opensc-tool -r 0 -s 00:A4:04:00:06:D2:76:00:01:24:01 -s 00:20:00:81 -s 00:20:00:82 \
        -s 00:20:00:83 -s "00:2A:9E:9A:33:$di" 2>&1 |
        grep -o "SW1=0x[0-9A-Fa-f]*, SW2=0x[0-9A-Fa-f]*" | tr '\n' ' ')
    [ "$state" = "SW1=0x90, SW2=0x00 SW1=0x63, SW2=0xC3 SW1=0x63, SW2=0xC3 SW1=0x63, SW2=0xC3 SW1=0x69, SW2=0x82 " ] ||
        fail "the card is still unlocked after $1: $state"
}

# new_card ATTRS SERIAL: another card (fresh state) in the same reader.
new_card() {
    card_stop
    wait_for_card absent
    gpgconf --homedir "$H" --kill all
    card_start --init --serial "$2" --key-attrs "$1" --control "$CTL"
}
# withheld EMAIL: a card that flips a bit of its signature (the fault of a glitched token).
# gpg-agent checks RSA signatures, Keyfence checks ECDSA and EdDSA ones: either way the
# signature is withheld, exit 8, and nothing is written. The PIN was right: no try is lost.
withheld() {
    echo "corrupt-signature 1" >"$CTL"
    local rc
    rc=$(psign "$1" 123456)
    rm -f "$CTL"
    [ "$rc" = 8 ] || fail "a corrupted signature of $1: exit $rc: $(cat "$WORLD/sign.err")"
    [ ! -e "$WORLD/signed.eml" ] || fail "a corrupted signature of $1 was written"
    grep -q "does not verify; it was withheld" "$WORLD/sign.err" ||
        fail "corrupted signature of $1: $(cat "$WORLD/sign.err")"
    [ "$(tries)" = 3 ] || fail "the withheld signature of $1 cost PIN tries: $(tries)"
}

# --- RSA-2048 ----------------------------------------------------------------------------
# A user ID gpg's key generation dialogue refuses (a name under 5 characters) is a usage error
# before any PIN: gpg would ask for the name again and again (card-keygen used to hang there).
rc=0
timeout 30 "$KEYFENCE" --no-p11-kit --pin-fd 3 pgp card-keygen --homedir "$H" --algo rsa2048 \
    --uid "T <t@example.org>" 3<"$WORLD/pins" >"$WORLD/short.out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "card-keygen with a 1-character name: exit $rc: $(cat "$WORLD/short.out")"
grep -q "at least 5 characters" "$WORLD/short.out" || fail "short name: $(cat "$WORLD/short.out")"
[ "$(card_json '["pin_tries"]["admin"]')" = 3 ] || fail "a refused user ID cost admin PIN tries"
echo "ok: card-keygen refuses a user ID gpg would refuse (exit 2, no PIN)"
keygen rsa2048 card@example.org
card_locked card-keygen
kf --pin-fd 3 pgp card-keygen --homedir "$H" --uid "Other <other@example.org>" \
    3<"$WORLD/pins" >"$WORLD/gen2.out" 2>&1 && fail "card-keygen replaced keys without --replace"
grep -q "already holds keys" "$WORLD/gen2.out" || fail "second card-keygen: $(cat "$WORLD/gen2.out")"
gpgconf --homedir "$H" --kill all
[ "$(card_json '["pin_tries"]["admin"]')" = 3 ] || fail "card-keygen cost admin PIN tries"
echo "ok: card-keygen rsa2048 (and no silent replacement)"
[ "$(tries)" = 3 ] || fail "fresh card tries: $(tries)"
sign_checked card@example.org
[ "$(tries)" = 3 ] || fail "tries after a good PIN: $(tries)"
card_locked sign
withheld card@example.org
decrypt_checked card@example.org
card_locked decrypt
sign_encrypt_checked card@example.org
card_locked "sign+encrypt"
echo "ok: RSA-2048 sign, decrypt, sign+encrypt, judged by gpg; no PIN left verified on the card"


# No unlocked state: straight after a good PIN, a wrong one fails and costs exactly one try.
msg card@example.org "after"
[ "$(psign card@example.org 000000)" = 3 ] || fail "wrong PIN after a good one: $(cat "$WORLD/sign.err")"
[ ! -e "$WORLD/signed.eml" ] || fail "output written on a wrong PIN"
[ "$(tries)" = 2 ] || fail "a wrong PIN cost $((3 - $(tries))) tries"
echo "ok: wrong PIN costs exactly one try, nothing cached"

# The last try is refused before the PIN is handed over.
[ "$(psign card@example.org 000000)" = 3 ] || fail "second wrong PIN"
[ "$(tries)" = 1 ] || fail "tries: $(tries)"
[ "$(psign card@example.org 123456)" = 4 ] || fail "last try not refused: $(cat "$WORLD/sign.err")"
[ "$(tries)" = 1 ] || fail "the refused last try was spent"
[ "$(psign card@example.org 123456 --allow-last-pin-try)" = 0 ] ||
    fail "--allow-last-pin-try: $(cat "$WORLD/sign.err")"
[ "$(tries)" = 3 ] || fail "counter not reset by the right PIN"
echo "ok: last try refused without --allow-last-pin-try"

# key_algos EMAIL: "algo:length:curve" of the primary key and of each subkey, as gpg lists them
# (doc/DETAILS: field 4 algorithm, 3 length, 17 curve).
key_algos() {
    gpg --homedir "$H" --batch --with-colons -K "$1" 2>/dev/null |
        awk -F: '$1=="sec"||$1=="ssb"{printf "%s:%s:%s ", $4, $3, $17}'
}

# --- card-keygen --algo sets the card's key attributes (OpenPGP card 3.4 §4.4.3.9) ----------
# A fresh card has RSA-2048 attributes; --algo rsa4096 changes all three slots first (the admin
# PIN asked once), and gpg sees RSA-4096 keys.
new_card rsa2048 0000C0D3
keygen rsa4096 rsa4096@example.org
[ "$(key_algos rsa4096@example.org)" = "1:4096: 1:4096: 1:4096: " ] ||
    fail "rsa4096 key algorithms: $(key_algos rsa4096@example.org)"
[ "$(card_json '["pin_tries"]["admin"]')" = 3 ] || fail "setting key attributes cost admin PIN tries"
card_locked "card-keygen with key-attr"
echo "ok: card-keygen --algo rsa4096 on an RSA-2048 card: attributes set, RSA-4096 keys"

# --- NIST P-256 (ECDSA, ECDH) and Ed25519/Cv25519 ---------------------------------------
# Each card starts with RSA-2048 attributes: card-keygen sets the ECC ones.
for spec in nistp256:0000C0D1:p256@example.org:19:18:nistp256 ed25519:0000C0D2:ed@example.org:22:18:ed25519; do
    IFS=: read -r algo serial who sig_algo enc_algo curve <<<"$spec"
    new_card rsa2048 "$serial"
    keygen "$algo" "$who"
    enc_curve=$([ "$curve" = ed25519 ] && echo cv25519 || echo "$curve")
    algos=$(key_algos "$who")
    [[ "$algos" == "$sig_algo:"*":$curve "*"$enc_algo:"*":$enc_curve "* ]] ||
        fail "$algo key algorithms: $algos"
    sign_checked "$who"
    withheld "$who"
    decrypt_checked "$who"
    sign_encrypt_checked "$who"
    echo "ok: $algo card-keygen, sign (a corrupted signature withheld), decrypt, sign+encrypt, judged by gpg"
done

grep -q '"protocol":"openpgp"' "$XDG_STATE_HOME/keyfence/audit.log" || fail "no openpgp audit record"
log "PASS"
