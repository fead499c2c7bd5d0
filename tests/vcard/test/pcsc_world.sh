# pcsc_world.sh - sourced by the pcsc_*_test.sh integration tests.
#
# Builds a private world for one test and removes it afterwards:
#   - re-executes the test in its own mount (and, if `ip` exists, network) namespace,
#   - a tmpfs over /run so pcscd's fixed socket /run/pcscd/pcscd.comm is private,
#   - pcscd -f -c <own reader.conf.d> with one vpcd entry on a free port,
#   - keyfence-vcard with a fresh state file in a temp dir,
#   - a private GNUPGHOME when asked (world_gnupg).
# Nothing of the host's /run/pcscd, pcscd or ~/.gnupg is touched. Daemons are stopped by
# PID in an EXIT trap. Exit code 77 = skipped (no root / no unshare).
#
# Usage in a test:  source "$(dirname "$0")/pcsc_world.sh" "$@"; world_start [card options]

set -euo pipefail

VCARD_BIN=${1:?usage: $0 /path/to/keyfence-vcard}
VCARD_BIN=$(readlink -f "$VCARD_BIN")

if [ -z "${VCARD_WORLD_NS:-}" ]; then
    if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null; then
        echo "SKIP: needs root and unshare for a private pcscd" >&2
        exit 77
    fi
    ns_flags=(--mount --propagation private)
    command -v ip >/dev/null && ns_flags+=(--net)
    exec env VCARD_WORLD_NS=1 unshare "${ns_flags[@]}" bash "$0" "$@"
fi

OPENSC_P11=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
WORLD=$(mktemp -d /tmp/keyfence-vcard-test.XXXXXX)
PCSCD_PID=""
VCARD_PID=""
GNUPGHOME=""
READER_NAME="Keyfence VCard"
READER="$READER_NAME 00 00"

log() { printf '[%s %s] %s\n' "$(basename "$0" .sh)" "$(date +%T.%3N)" "$*" >&2; }
fail() {
    log "FAIL: $*"
    exit 1
}

world_cleanup() {
    local rc=$?
    set +e
    if [ -n "$GNUPGHOME" ] && [ -d "$GNUPGHOME" ]; then
        gpgconf --homedir "$GNUPGHOME" --kill all >/dev/null 2>&1
    fi
    [ -n "$VCARD_PID" ] && kill "$VCARD_PID" 2>/dev/null && wait "$VCARD_PID" 2>/dev/null
    [ -n "$PCSCD_PID" ] && kill "$PCSCD_PID" 2>/dev/null && wait "$PCSCD_PID" 2>/dev/null
    # A sanitizer build of the card reports memory errors and leaks to its log.
    if grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$WORLD/vcard.log" 2>/dev/null; then
        log "FAIL: sanitizer report in vcard.log"
        [ "$rc" -eq 0 ] && rc=1
    fi
    if [ "$rc" -ne 0 ]; then
        log "exit $rc; logs follow"
        for f in "$WORLD"/*.log; do
            [ -f "$f" ] || continue
            echo "----- $f (last 60 lines)" >&2
            tail -n 60 "$f" >&2
        done
    fi
    rm -rf "$WORLD"
    exit "$rc"
}
trap world_cleanup EXIT

# A port P with P and P+1 free (vpcd opens both). In a private network namespace any
# port is free; the probe keeps the test safe when `ip` is missing.
pick_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null &&
           ! (exec 3<>/dev/tcp/127.0.0.1/$((p + 1))) 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# world_start [extra keyfence-vcard options...]
world_start() {
    if command -v ip >/dev/null; then ip link set lo up; fi
    mount -t tmpfs -o mode=0755 tmpfs /run
    mkdir -p /run/pcscd
    PORT=$(pick_port) || fail "no free port"
    mkdir -p "$WORLD/reader.conf.d"
    cat >"$WORLD/reader.conf.d/vpcd" <<CONF
FRIENDLYNAME "$READER_NAME"
DEVICENAME   /dev/null:$(printf '0x%X' "$PORT")
LIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so
CHANNELID    $(printf '0x%X' "$PORT")
CONF
    pcscd --foreground --config "$WORLD/reader.conf.d" >"$WORLD/pcscd.log" 2>&1 &
    PCSCD_PID=$!
    for _ in $(seq 100); do
        [ -S /run/pcscd/pcscd.comm ] && break
        sleep 0.05
    done
    [ -S /run/pcscd/pcscd.comm ] || fail "pcscd did not start"
    card_start "$@"
    log "world: $WORLD, vpcd port $PORT, reader '$READER'"
}

# card_start [options]: (re)starts keyfence-vcard on the world's state file.
card_start() {
    STATE="$WORLD/card.state"
    "$VCARD_BIN" --port "$PORT" --state "$STATE" "$@" >>"$WORLD/vcard.log" 2>&1 &
    VCARD_PID=$!
    wait_for_card present
}

card_stop() {
    kill "$VCARD_PID" 2>/dev/null || true
    wait "$VCARD_PID" 2>/dev/null || true
    VCARD_PID=""
}

# wait_for_card present|absent
wait_for_card() {
    local want=$1
    for _ in $(seq 100); do
        if opensc-tool -l 2>/dev/null | grep -q "Yes .*$READER"; then
            [ "$want" = present ] && return 0
        else
            [ "$want" = absent ] && return 0
        fi
        sleep 0.1
    done
    fail "card not $want in reader '$READER'"
}

world_gnupg() {
    GNUPGHOME="$WORLD/gnupg"
    export GNUPGHOME
    mkdir -m 700 "$GNUPGHOME"
    cat >"$GNUPGHOME/scdaemon.conf" <<CONF
disable-ccid
pcsc-shared
pcsc-driver /usr/lib/x86_64-linux-gnu/libpcsclite.so.1
reader-port $READER
log-file $WORLD/scdaemon.log
CONF
    cat >"$GNUPGHOME/gpg-agent.conf" <<CONF
allow-loopback-pinentry
log-file $WORLD/gpg-agent.log
CONF
    cat >"$GNUPGHOME/gpg.conf" <<CONF
no-tty
pinentry-mode loopback
CONF
}
