#!/usr/bin/env bash
# make-softhsm-template.sh DIR — builds the SoftHSM2 token store that tests copy, one fresh copy
# per test. Runs once per ctest run (a CTest fixture), because RSA key generation is the slow part.
#
#   token "test-token":  RSA-2048 (id 01), P-256 (02), P-384 (03), RSA-3072 (05), and a P-256
#                        and an RSA-2048 key marked CKA_ALWAYS_AUTHENTICATE (06 "ecp256-always",
#                        07 "rsa2048-always", PIV 9c style)
#   token "mixed-token": Ed25519 (04) next to RSA-2048 (01) — libp11 0.4.12 cannot enumerate
#                        any key on such a token; Keyfence must still list and use the RSA key
#   SO PIN 12345678, user PIN 123456. Every key has a certificate from a software test CA
#   (scripts/lib/softhsm-certs.sh); no private key ever exists outside the token.
#   Writes DIR/tokens (the store), DIR/certs/<label>.{pem,der,pub.pem}, DIR/certs/ca.{pem,key}.
set -euo pipefail
here=$(dirname "$(realpath "$0")")
source "$here/../../scripts/lib/softhsm-certs.sh"
dir=$(realpath -m "$1")
work=$dir.tmp
rm -rf "$work"
mkdir -p "$work/tokens" "$work/certs"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' \
    "$work" > "$work/softhsm2.conf"
export SOFTHSM2_CONF=$work/softhsm2.conf

softhsm2-util --init-token --free --label test-token --so-pin 12345678 --pin 123456 >/dev/null
softhsm2-util --init-token --free --label mixed-token --so-pin 12345678 --pin 123456 >/dev/null
kf_keypair test-token 123456 01 rsa2048 rsa:2048 --usage-sign --usage-decrypt
kf_keypair test-token 123456 02 ecp256 EC:prime256v1 --usage-sign --usage-derive
kf_keypair test-token 123456 03 ecp384 EC:secp384r1 --usage-sign --usage-derive
kf_keypair test-token 123456 05 rsa3072 rsa:3072 --usage-sign --usage-decrypt
kf_keypair test-token 123456 06 ecp256-always EC:prime256v1 --usage-sign --usage-derive --always-auth
kf_keypair test-token 123456 07 rsa2048-always rsa:2048 --usage-sign --usage-decrypt --always-auth
kf_keypair mixed-token 123456 04 ed25519 EC:edwards25519 --usage-sign
kf_keypair mixed-token 123456 01 mixed-rsa rsa:2048 --usage-sign --usage-decrypt

kf_make_ca "$work/certs" "/CN=Keyfence Test CA"
for spec in test-token:01:rsa2048:export test-token:02:ecp256:csr test-token:03:ecp384:csr \
            test-token:05:rsa3072:export test-token:06:ecp256-always:export test-token:07:rsa2048-always:export \
            mixed-token:04:ed25519:export mixed-token:01:mixed-rsa:export; do
    IFS=: read -r token id label route <<<"$spec"
    kf_issue_cert "$token" 123456 "$id" "$label" "$route" \
        "/CN=Test $label/emailAddress=$label@example.org" "$label@example.org" "$work/certs" "$work"
done

rm -f "$work/softhsm2.conf"
rm -rf "$dir"
mv "$work" "$dir"
