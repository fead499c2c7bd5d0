#!/bin/bash
# Runs card_session_pcsc_test (GoogleTest) against keyfence-vcard behind a private pcscd: PIN
# sessions on an OpenPGP card (P-256 signature key, PW1 valid for several signatures), with a
# fault control file through which the test removes the card (reinserted after 500 ms).
# Usage: card_session_pcsc_test.sh /path/to/keyfence-vcard /path/to/card_session_pcsc_test
source "$(dirname "$0")/../vcard/test/pcsc_world.sh" "$@"
TEST_BIN=$(readlink -f "$2")
export XDG_STATE_HOME=$WORLD/state XDG_CONFIG_HOME=$WORLD/config
CTL="$WORLD/faults.ctl"
: >"$CTL"
world_start --serial 0000C5E5 --control "$CTL" --reconnect --reinsert-ms 500
# PW3; the signature key's attributes ECDSA P-256 (C1); PW1 valid for several signatures (C4);
# GENERATE the signature key.
apdus=(-s 00:A4:04:00:06:D2:76:00:01:24:01 -s 00:20:00:83:08:31:32:33:34:35:36:37:38
       -s 00:DA:00:C1:09:13:2A:86:48:CE:3D:03:01:07 -s 00:DA:00:C4:01:01
       -s 00:47:80:00:02:B6:00:00)
out=$(opensc-tool -r 0 "${apdus[@]}" 2>&1)
[ "$(grep -c "SW1=0x90, SW2=0x00" <<<"$out")" -eq $(( ${#apdus[@]} / 2 )) ] || fail "admin APDUs: $out"
KEYFENCE_CARD_CONTROL=$CTL "$TEST_BIN" >"$WORLD/gtest.log" 2>&1 || { cat "$WORLD/gtest.log"; fail "card PIN sessions"; }
grep -E "^\[( +OK|  PASSED|  FAILED)" "$WORLD/gtest.log"
echo "card PIN sessions: ok"
