#!/bin/bash
# Runs card_crypto_pcsc_test (GoogleTest) against keyfence-vcard behind a private pcscd: once
# with an RSA-2048 decryption key (PSO:DECIPHER), once with an ECDH P-256 key.
# Usage: card_crypto_pcsc_test.sh /path/to/keyfence-vcard /path/to/card_crypto_pcsc_test
source "$(dirname "$0")/../vcard/test/pcsc_world.sh" "$@"
TEST_BIN=$(readlink -f "$2")
world_start --serial 0000DEC0
passed=0
for attrs in "" "12:2A:86:48:CE:3D:03:01:07"; do
    apdus=(-s 00:A4:04:00:06:D2:76:00:01:24:01 -s 00:20:00:83:08:31:32:33:34:35:36:37:38)
    [ -n "$attrs" ] && apdus+=(-s "00:DA:00:C2:09:$attrs")
    apdus+=(-s 00:47:80:00:02:B8:00:00)
    out=$(opensc-tool -r 0 "${apdus[@]}" 2>&1)
    [ "$(grep -c "SW1=0x90, SW2=0x00" <<<"$out")" -eq $(( ${#apdus[@]} / 2 )) ] || fail "admin APDUs: $out"
    "$TEST_BIN" >"$WORLD/gtest.log" 2>&1 || { cat "$WORLD/gtest.log"; fail "card crypto over pcscd (${attrs:-RSA})"; }
    grep -E "over pcscd: ok" "$WORLD/gtest.log"
    passed=$((passed + 1))
done
echo "$passed passed, 0 failed"
