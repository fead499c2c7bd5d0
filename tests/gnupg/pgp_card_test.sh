#!/bin/bash
# Integration (labels gnupg, interop, pcsc): `keyfence pgp` with an RSA-2048 OpenPGP card —
# keyfence-vcard behind a private pcscd, GnuPG's real scdaemon — judged by gpg in another home:
# card-keygen, sign (gpg --verify accepts it), decrypt what gpg encrypted, the retry counter read before
# the PIN is handed over (a wrong PIN costs exactly one try, the last try is refused without
# --allow-last-pin-try), and no operation without a PIN after the previous one.
# Usage: pgp_card_test.sh /path/to/keyfence-vcard /path/to/keyfence
source "$(dirname "$0")/../vcard/test/pcsc_world.sh" "$@"
KEYFENCE=$(readlink -f "$2")
export XDG_STATE_HOME=$WORLD/state XDG_CONFIG_HOME=$WORLD/config
world_start --serial 0000C0DE
H=$WORLD/kfgnupg
P=$WORLD/peer
# pcsc_world's cleanup stops the daemons of $GNUPGHOME; the peer's agent is stopped after
# every peer gpg call.
GNUPGHOME=$H
kf() { "$KEYFENCE" --no-p11-kit "$@"; }
tries() { kf --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["cards"][0]["pin_tries"]["user"])'; }
peer_gpg() {
    local rc=0
    gpg --homedir "$P" --batch --yes "$@" || rc=$?
    gpgconf --homedir "$P" --kill all >/dev/null 2>&1 || true
    return $rc
}

kf pgp setup --card --homedir "$H" --reader "$READER" >/dev/null || fail "pgp setup --card"
grep -q "pcsc-shared" "$H/scdaemon.conf" || fail "scdaemon.conf without pcsc-shared"
grep -q "max-cache-ttl 0" "$H/gpg-agent.conf" || fail "gpg-agent.conf caches"

# --- card-keygen: keys generated on the card, admin PIN and PIN through Keyfence ------------
printf '12345678\n123456\n' >"$WORLD/pins"
kf --pin-fd 3 pgp card-keygen --homedir "$H" --uid "Card Tester <card@example.org>" \
    3<"$WORLD/pins" >"$WORLD/gen.out" 2>&1 || fail "card-keygen: $(cat "$WORLD/gen.out")"
gpg --homedir "$H" --batch -K card@example.org 2>/dev/null | grep -q "sec>  rsa2048" ||
    fail "no card key stub after card-keygen"
gpgconf --homedir "$H" --kill all
# A card that holds keys keeps them unless --replace.
kf --pin-fd 3 pgp card-keygen --homedir "$H" --uid "Other <other@example.org>" \
    3<"$WORLD/pins" >"$WORLD/gen2.out" 2>&1 && fail "card-keygen replaced keys without --replace"
grep -q "already holds keys" "$WORLD/gen2.out" || fail "second card-keygen: $(cat "$WORLD/gen2.out")"
gpgconf --homedir "$H" --kill all
admin_tries=$(kf --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["cards"][0]["pin_tries"]["admin"])')
[ "$admin_tries" = 3 ] || fail "card-keygen cost admin PIN tries: $admin_tries left"
echo "ok: card-keygen (and no silent replacement)"
FPR=$(gpg --homedir "$H" --batch --with-colons -K card@example.org | awk -F: '/^fpr/{print $10; exit}')
[ -n "$FPR" ] || fail "no card key"

mkdir -m 700 "$P"
peer_gpg --passphrase '' --quick-gen-key 'Bob <bob@example.org>' future-default default never 2>/dev/null
gpg --homedir "$H" --batch --armor --export card@example.org >"$WORLD/card.asc"
peer_gpg --import "$WORLD/card.asc" 2>/dev/null
[ "$(tries)" = 3 ] || fail "fresh card tries: $(tries)"

msg() {
    printf 'From: Card Tester <card@example.org>\nTo: bob@example.org\nSubject: card\nDate: Mon, 1 Jan 2024 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain\n\n%s\n' "$1" >"$WORLD/msg.eml"
}
# psign PIN [options]: keyfence pgp sign into signed.eml; prints the exit code.
psign() {
    local pin=$1
    shift
    rm -f "$WORLD/signed.eml"
    kf --pin-fd 3 "$@" pgp sign --homedir "$H" --key card@example.org --in "$WORLD/msg.eml" \
        --out "$WORLD/signed.eml" 3<<<"$pin" >"$WORLD/sign.out" 2>"$WORLD/sign.err"
    echo $?
}

# --- sign: RFC 3156 multipart/signed that gpg verifies ----------------------------------
msg "Signed on the card."
[ "$(psign 123456)" = 0 ] || fail "sign: $(cat "$WORLD/sign.err")"
grep -q 'micalg=pgp-sha256' "$WORLD/signed.eml" || fail "micalg"
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
    fail "gpg does not verify the card signature"
kf pgp verify --homedir "$H" --in "$WORLD/signed.eml" | grep -q "Result: VERIFIED" || fail "keyfence verify"
[ "$(tries)" = 3 ] || fail "tries after a good PIN: $(tries)"
echo "ok: sign on the card, verified by gpg"

# --- decrypt what gpg encrypted to the card key ------------------------------------------
printf 'Content-Type: text/plain\r\n\r\nFor the card only.\r\n' >"$WORLD/entity"
peer_gpg --trust-model always --armor -r card@example.org -e -o "$WORLD/entity.asc" "$WORLD/entity"
{
    printf 'From: <bob@example.org>\r\nTo: <card@example.org>\r\nSubject: s\r\nMIME-Version: 1.0\r\n'
    printf 'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="B"\r\n\r\n'
    printf -- '--B\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--B\r\n'
    printf 'Content-Type: application/octet-stream\r\n\r\n'
    cat "$WORLD/entity.asc"
    printf '\r\n--B--\r\n'
} >"$WORLD/enc.eml"
kf --pin-fd 3 pgp decrypt --homedir "$H" --in "$WORLD/enc.eml" --out "$WORLD/dec.eml" 3<<<123456 \
    >"$WORLD/dec.out" 2>&1 || fail "decrypt: $(cat "$WORLD/dec.out")"
grep -q "For the card only." "$WORLD/dec.eml" || fail "decrypted content"
echo "ok: decrypt on the card what gpg encrypted"

# --- no unlocked state: straight after a good PIN, a wrong one fails and costs one try ---
[ "$(psign 000000)" = 3 ] || fail "sign after a good one with a wrong PIN: $(cat "$WORLD/sign.err")"
[ ! -e "$WORLD/signed.eml" ] || fail "output written on a wrong PIN"
[ "$(tries)" = 2 ] || fail "a wrong PIN cost $((3 - $(tries))) tries"
echo "ok: wrong PIN costs exactly one try, nothing cached"

# --- the last try is refused before the PIN is handed over ------------------------------
[ "$(psign 000000)" = 3 ] || fail "second wrong PIN"
[ "$(tries)" = 1 ] || fail "tries: $(tries)"
[ "$(psign 123456)" = 4 ] || fail "last try not refused: $(cat "$WORLD/sign.err")"
[ "$(tries)" = 1 ] || fail "the refused last try was spent"
[ "$(psign 123456 --allow-last-pin-try)" = 0 ] || fail "--allow-last-pin-try: $(cat "$WORLD/sign.err")"
[ "$(tries)" = 3 ] || fail "counter not reset by the right PIN"
echo "ok: last try refused without --allow-last-pin-try"

grep -q '"protocol":"openpgp"' "$XDG_STATE_HOME/keyfence/audit.log" || fail "no openpgp audit record"
log "PASS"
