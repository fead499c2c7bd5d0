#!/bin/bash
# Integration (labels gnupg, pcsc): pin.mode = "session" for PGP/MIME on an OpenPGP card —
# keyfence-vcard behind a private pcscd, GnuPG's real scdaemon, keyfenced of its own. The
# first operation asks the PIN; later ones in the session ask none (the PIN source is empty and
# fails if asked); the session ends on `keyfence lock`, at its TTL without any further request
# (the home's daemons gone, the card's PINs not verified), at its operation cap, on a policy
# edit, when the card is removed and when the agent stops, and at the next agent's start when
# the agent was killed (SIGKILL: no clean stop); a card whose PW1 is valid for one signature
# only gets no session. Without the agent a session lasts one command.
# Usage: pgp_session_card_test.sh /path/to/keyfence-vcard /path/to/keyfence /path/to/keyfenced
source "$(dirname "$0")/../vcard/test/pcsc_world.sh" "$@"
source "$(dirname "$0")/pgp_mime.sh"
KEYFENCE=$(readlink -f "$2")
KEYFENCED=$(readlink -f "$3")
export XDG_STATE_HOME=$WORLD/state XDG_CONFIG_HOME=$WORLD/config XDG_RUNTIME_DIR=$WORLD/run
mkdir -m 700 "$XDG_RUNTIME_DIR"
world_start --serial 0000C5E6
H=$WORLD/kfgnupg
GNUPGHOME=$H  # pcsc_world's cleanup stops this home's daemons
AGENT_PID=""
stop_agent() {
    [ -n "$AGENT_PID" ] || return 0
    kill "$AGENT_PID" 2>/dev/null || true
    wait "$AGENT_PID" 2>/dev/null || true
    AGENT_PID=""
}
# The agent first, then pcsc_world's cleanup with the test's exit status (errexit off: a
# failing status must not cut the cleanup short).
session_cleanup() {
    local rc=$?
    set +e
    stop_agent
    (exit "$rc")
    world_cleanup
}
trap session_cleanup EXIT
kf() { timeout 120 "$KEYFENCE" --no-p11-kit "$@"; }
start_agent() {
    "$KEYFENCED" --no-p11-kit --verbose >>"$WORLD/agent.log" 2>&1 &
    AGENT_PID=$!
    for _ in $(seq 100); do
        kf lock 2>/dev/null | grep -q "^locked:" && return 0
        sleep 0.1
    done
    fail "keyfenced did not start: $(cat "$WORLD/agent.log")"
}
policy() {
    mkdir -p "$XDG_CONFIG_HOME/keyfence"
    printf '[pin]\nmode = "%s"\nsession_ttl = %s\nsession_max_operations = %s\n' "$1" "$2" "$3" \
        >"$XDG_CONFIG_HOME/keyfence/config.toml"
}
# The home's gpg-agent and scdaemon, by the --homedir gpg starts them with.
daemons() { pgrep -f -- "--homedir $H" | wc -l; }
# The card's PW1 status for signing (81) and decryption (82): 9000 verified, 63Cx not.
pw1_state() {
    opensc-tool -r 0 -s 00:A4:04:00:06:D2:76:00:01:24:01 -s 00:20:00:81 -s 00:20:00:82 2>&1 |
        grep -o "SW1=0x[0-9A-Fa-f]*, SW2=0x[0-9A-Fa-f]*" | tail -2 | tr '\n' ' '
}
NOT_VERIFIED="SW1=0x63, SW2=0xC3 SW1=0x63, SW2=0xC3 "
msg() {
    printf 'From: Card Tester <card@example.org>\nTo: bob@example.org\nSubject: %s\nDate: Mon, 1 Jan 2024 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain\n\n%s\n' "$1" "$1" >"$WORLD/msg.eml"
}
# sign PIN: keyfence pgp sign with PIN on fd 3 ("" = an empty PIN source that fails if asked);
# prints the exit code.
sign() {
    msg "signed $RANDOM"
    rm -f "$WORLD/signed.eml"
    local rc=0
    if [ -n "$1" ]; then
        kf --pin-fd 3 pgp sign --homedir "$H" --key card@example.org --in "$WORLD/msg.eml" \
            --out "$WORLD/signed.eml" 3<<<"$1" >"$WORLD/sign.out" 2>"$WORLD/sign.err" || rc=$?
    else
        kf --pin-fd 3 pgp sign --homedir "$H" --key card@example.org --in "$WORLD/msg.eml" \
            --out "$WORLD/signed.eml" 3</dev/null >"$WORLD/sign.out" 2>"$WORLD/sign.err" || rc=$?
    fi
    if [ "$rc" = 0 ]; then
        kf pgp verify --homedir "$H" --in "$WORLD/signed.eml" | grep -q "Result: VERIFIED" || rc=99
    fi
    echo "$rc"
}
# decrypt PIN: decrypts enc.eml (to the card key), the same way.
decrypt() {
    rm -f "$WORLD/dec.eml"
    local rc=0
    if [ -n "$1" ]; then
        kf --pin-fd 3 pgp decrypt --homedir "$H" --in "$WORLD/enc.eml" --out "$WORLD/dec.eml" \
            3<<<"$1" >"$WORLD/dec.out" 2>&1 || rc=$?
    else
        kf --pin-fd 3 pgp decrypt --homedir "$H" --in "$WORLD/enc.eml" --out "$WORLD/dec.eml" \
            3</dev/null >"$WORLD/dec.out" 2>&1 || rc=$?
    fi
    [ "$rc" != 0 ] || grep -q "For the card only." "$WORLD/dec.eml" || rc=98
    echo "$rc"
}
# wait_for_end WHY: the agent ended the session by itself: daemons gone, card not verified.
wait_for_end() {
    for _ in $(seq 100); do
        [ "$(daemons)" = 0 ] && break
        sleep 0.1
    done
    [ "$(daemons)" = 0 ] || fail "$1: the home's daemons still run: $(pgrep -af -- "--homedir $H")"
    [ "$(pw1_state)" = "$NOT_VERIFIED" ] || fail "$1: the card is still verified: $(pw1_state)"
}

kf pgp setup --card --homedir "$H" --reader "$READER" >/dev/null || fail "pgp setup --card"
printf '12345678\n123456\n' >"$WORLD/pins"
kf --pin-fd 3 pgp card-keygen --homedir "$H" --algo rsa2048 --uid "Card Tester <card@example.org>" \
    3<"$WORLD/pins" >"$WORLD/gen.out" 2>&1 || fail "card-keygen: $(cat "$WORLD/gen.out")"
gpgconf --homedir "$H" --kill all
# PW1 valid for several signatures (DO C4 byte 1 = 01, OpenPGP card 3.4 §4.4.3.10), then PW3
# forgotten again.
out=$(opensc-tool -r 0 -s 00:A4:04:00:06:D2:76:00:01:24:01 -s 00:20:00:83:08:31:32:33:34:35:36:37:38 \
    -s 00:DA:00:C4:01:01 -s 00:20:FF:83 2>&1)
[ "$(grep -c "SW1=0x90, SW2=0x00" <<<"$out")" = 4 ] || fail "setting C4: $out"
# Something encrypted to the card key, by gpg with the public key only.
P=$WORLD/peer
mkdir -m 700 "$P"
gpg --homedir "$H" --batch --armor --export card@example.org >"$WORLD/card.asc"
gpg --homedir "$P" --batch --import "$WORLD/card.asc" 2>/dev/null
printf 'Content-Type: text/plain\r\n\r\nFor the card only.\r\n' >"$WORLD/entity"
gpg --homedir "$P" --batch --trust-model always --armor -r card@example.org -e -o "$WORLD/entity.asc" "$WORLD/entity"
gpgconf --homedir "$P" --kill all
pgp_mime_encrypted card@example.org "$WORLD/entity.asc" >"$WORLD/enc.eml"

# --- a session: one PIN, then sign and decrypt without one --------------------------------
policy session 60 10
start_agent
[ "$(sign 123456)" = 0 ] || fail "first sign: $(cat "$WORLD/sign.err")"
[ "$(daemons)" -gt 0 ] || fail "the session's daemons are gone after its first operation"
[ "$(sign "")" = 0 ] || fail "sign inside the session asked for a PIN: $(cat "$WORLD/sign.err")"
# The card verifies PW1 for decryption (82) apart from signing (81): the first decryption asks
# the PIN once more, in the same session; the next ones ask none.
[ "$(decrypt "")" != 0 ] || fail "decrypt without PW1 82 ever verified"
[ "$(decrypt 123456)" = 0 ] || fail "first decrypt in the session: $(cat "$WORLD/dec.out")"
[ "$(decrypt "")" = 0 ] || fail "decrypt inside the session asked for a PIN: $(cat "$WORLD/dec.out")"
[ "$(sign "")" = 0 ] || fail "sign after the decryptions: $(cat "$WORLD/sign.err")"
kf doctor >"$WORLD/doctor.out" 2>&1 || true
grep -q "6 of 10 operations" "$WORLD/doctor.out" || fail "the agent does not count 6 operations: $(cat "$WORLD/doctor.out")"
grep -q '"protocol":"openpgp"' "$XDG_STATE_HOME/keyfence/audit.log" || fail "no audit records"
echo "ok: one PIN for signing and one for decryption, then neither; the agent counts them"

# --- keyfence lock ends it now --------------------------------------------------------------
kf lock >/dev/null || fail "keyfence lock"
wait_for_end "lock"
[ "$(sign "")" != 0 ] || fail "a signature without a PIN after keyfence lock"
[ "$(daemons)" = 0 ] || fail "daemons left after a refused operation"
echo "ok: keyfence lock ends the session (daemons stopped, card reset)"

# --- a policy edit ends it --------------------------------------------------------------------
[ "$(sign 123456)" = 0 ] || fail "sign with the PIN after lock: $(cat "$WORLD/sign.err")"
[ "$(daemons)" -gt 0 ] || fail "no session after the PIN"
policy session 3 10
[ "$(sign "")" != 0 ] || fail "the session survived a policy edit"
echo "ok: a policy edit ends the session"

# --- the TTL ends it without any further request ---------------------------------------------
[ "$(sign 123456)" = 0 ] || fail "sign opening a 3 s session: $(cat "$WORLD/sign.err")"
[ "$(daemons)" -gt 0 ] || fail "no session after the PIN (3 s)"
sleep 4
wait_for_end "TTL"
[ "$(sign "")" != 0 ] || fail "a signature without a PIN after the TTL"
echo "ok: the TTL ends the session by itself"

# --- the operation cap --------------------------------------------------------------------
policy session 60 2
[ "$(sign 123456)" = 0 ] || fail "first of two: $(cat "$WORLD/sign.err")"
[ "$(sign "")" = 0 ] || fail "second of two: $(cat "$WORLD/sign.err")"
wait_for_end "cap"
[ "$(sign "")" != 0 ] || fail "a third operation without a PIN (cap 2)"
echo "ok: the operation cap ends the session"

# --- removing the card ends it ---------------------------------------------------------------
policy session 60 10
[ "$(sign 123456)" = 0 ] || fail "sign before the card is removed: $(cat "$WORLD/sign.err")"
[ "$(daemons)" -gt 0 ] || fail "no session before the card is removed"
card_stop
wait_for_card absent
for _ in $(seq 100); do
    [ "$(daemons)" = 0 ] && break
    sleep 0.1
done
[ "$(daemons)" = 0 ] || fail "the agent did not end the session of a removed card"
card_start --serial 0000C5E6
[ "$(sign "")" != 0 ] || fail "a signature without a PIN after the card came back"
echo "ok: removing the card ends the session"

# --- a card that resets PW1 after each signature gets no session ----------------------------
# set_c4 BYTE: PW1 valid for one (00) or several (01) signatures, PW3 forgotten again.
set_c4() {
    local out
    out=$(opensc-tool -r 0 -s 00:A4:04:00:06:D2:76:00:01:24:01 \
        -s 00:20:00:83:08:31:32:33:34:35:36:37:38 -s "00:DA:00:C4:01:$1" -s 00:20:FF:83 2>&1)
    [ "$(grep -c "SW1=0x90, SW2=0x00" <<<"$out")" = 4 ] || fail "setting C4 to $1: $out"
}
set_c4 00
[ "$(sign 123456)" = 0 ] || fail "sign on a one-signature card: $(cat "$WORLD/sign.err")"
[ "$(daemons)" = 0 ] || fail "a one-signature card kept its daemons"
[ "$(pw1_state)" = "$NOT_VERIFIED" ] || fail "a one-signature card stayed verified: $(pw1_state)"
[ "$(sign "")" != 0 ] || fail "a signature without a PIN on a one-signature card"
set_c4 01
echo "ok: a card with PW1 valid for one signature gets no session"

# --- an agent killed without a clean stop: the next one ends what it left ---------------------
RECORD=$XDG_RUNTIME_DIR/keyfence/held-sessions.json
[ "$(sign 123456)" = 0 ] || fail "sign before the agent is killed: $(cat "$WORLD/sign.err")"
[ "$(daemons)" -gt 0 ] || fail "no session before the agent is killed"
grep -q "\"$H\"" "$RECORD" || fail "the session is not recorded: $(cat "$RECORD" 2>&1)"
kill -9 "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null || true
AGENT_PID=""
sleep 0.3
[ "$(daemons)" -gt 0 ] || fail "the daemons went with the killed agent: nothing left to end"
[ "$(pw1_state)" != "$NOT_VERIFIED" ] || fail "the card was not verified after the kill"
start_agent  # answers only after it ended the recorded session
[ "$(daemons)" = 0 ] || fail "the new agent left the killed one's daemons running"
wait_for_end "the next agent's start"
[ ! -e "$RECORD" ] || fail "the record outlived the session: $(cat "$RECORD")"
grep -q '"operation":"end-left-session"' "$XDG_STATE_HOME/keyfence/audit.log" ||
    fail "the end of the left session was not audited"
[ "$(sign "")" != 0 ] || fail "a signature without a PIN after the killed agent's session"
echo "ok: the next agent ends the session a killed agent left"

# --- the agent's stop ends it ---------------------------------------------------------------
[ "$(sign 123456)" = 0 ] || fail "sign before the agent stops: $(cat "$WORLD/sign.err")"
[ "$(daemons)" -gt 0 ] || fail "no session before the agent stops"
stop_agent
wait_for_end "agent stop"
echo "ok: stopping the agent ends the session"

# --- without the agent, a session lasts one command --------------------------------------------
[ "$(sign 123456)" = 0 ] || fail "sign without the agent: $(cat "$WORLD/sign.err")"
[ "$(daemons)" = 0 ] || fail "daemons left without the agent"
[ "$(pw1_state)" = "$NOT_VERIFIED" ] || fail "card verified without the agent: $(pw1_state)"
[ "$(sign "")" != 0 ] || fail "a signature without a PIN and without the agent"
echo "ok: without the agent every command asks the PIN"
log "PASS"
