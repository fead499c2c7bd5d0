#!/usr/bin/env bash
# make-softhsm-template.sh DIR — builds the SoftHSM2 token store that tests copy, one fresh copy
# per test. Runs once per build (a CTest fixture), because RSA key generation is the slow part.
#
#   token "test-token":  RSA-2048 (id 01), P-256 (02), P-384 (03), RSA-3072 (05)
#   token "mixed-token": Ed25519 (04) next to RSA-2048 (01) — libp11 0.4.12 cannot enumerate
#                        any key on such a token; Keyfence must still list and use the RSA key
#   SO PIN 12345678, user PIN 123456. Certificates for every key, issued by a software test CA:
#   for EC keys from a CSR the token signs through OpenSSL's pkcs11 engine (pkcs11-tool 0.23
#   cannot export a P-384 public key); for RSA and Ed25519 around the public key pkcs11-tool
#   reads (the engine cannot touch a token that holds an Ed25519 key). No private key ever
#   exists outside the token.
#   Writes DIR/tokens (the store), DIR/certs/<label>.{pem,der,pub.pem}, DIR/certs/ca.{pem,key}.
set -euo pipefail
dir=$(realpath -m "$1")
module=/usr/lib/softhsm/libsofthsm2.so
rm -rf "$dir.tmp"
mkdir -p "$dir.tmp/tokens" "$dir.tmp/certs"
work=$dir.tmp
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' \
    "$work" > "$work/softhsm2.conf"
export SOFTHSM2_CONF=$work/softhsm2.conf

softhsm2-util --init-token --free --label test-token --so-pin 12345678 --pin 123456 >/dev/null
softhsm2-util --init-token --free --label mixed-token --so-pin 12345678 --pin 123456 >/dev/null

p11() { pkcs11-tool --module "$module" --login --pin 123456 --token-label "$@" >/dev/null 2>&1; }
p11 test-token --keypairgen --key-type rsa:2048 --id 01 --label rsa2048 --usage-sign --usage-decrypt
p11 test-token --keypairgen --key-type EC:prime256v1 --id 02 --label ecp256 --usage-sign --usage-derive
p11 test-token --keypairgen --key-type EC:secp384r1 --id 03 --label ecp384 --usage-sign --usage-derive
p11 test-token --keypairgen --key-type rsa:3072 --id 05 --label rsa3072 --usage-sign --usage-decrypt
p11 mixed-token --keypairgen --key-type EC:edwards25519 --id 04 --label ed25519 --usage-sign
p11 mixed-token --keypairgen --key-type rsa:2048 --id 01 --label mixed-rsa --usage-sign --usage-decrypt

certs=$work/certs
openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$certs/ca.key" \
    -subj "/CN=Keyfence Test CA" -days 3650 -out "$certs/ca.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
    -subj "/CN=placeholder" -out "$work/placeholder.csr" 2>/dev/null

cat > "$work/engine.cnf" <<CNF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = /usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so
MODULE_PATH = $module
init = 0
CNF

issue() {  # token id label route(export|csr)
    local token=$1 id=$2 label=$3 route=$4 csr=$work/placeholder.csr force=()
    if [ "$route" = csr ]; then
        csr=$work/$label.csr
        OPENSSL_CONF=$work/engine.cnf openssl req -new -engine pkcs11 -keyform engine \
            -key "pkcs11:token=$token;object=$label;type=private;pin-value=123456" \
            -subj "/CN=$label" -out "$csr" 2>/dev/null
        openssl req -in "$csr" -pubkey -noout > "$certs/$label.pub.pem"
    else
        pkcs11-tool --module "$module" --token-label "$token" --read-object --type pubkey \
            --id "$id" -o "$work/$label.pub.raw" >/dev/null 2>&1
        openssl pkey -pubin -in "$work/$label.pub.raw" -out "$certs/$label.pub.pem"
        force=(-force_pubkey "$certs/$label.pub.pem")
    fi
    openssl x509 -req -in "$csr" -CA "$certs/ca.pem" -CAkey "$certs/ca.key" -CAcreateserial \
        "${force[@]}" -subj "/CN=Test $label/emailAddress=$label@example.org" \
        -days 365 -out "$certs/$label.pem" 2>/dev/null \
        -extfile <(printf 'subjectAltName=email:%s@example.org\nkeyUsage=critical,digitalSignature,keyEncipherment,keyAgreement\nextendedKeyUsage=emailProtection\n' "$label")
    openssl x509 -in "$certs/$label.pem" -outform DER -out "$certs/$label.der"
    p11 "$token" --write-object "$certs/$label.der" --type cert --id "$id" --label "$label"
}
issue test-token 01 rsa2048 export
issue test-token 02 ecp256 csr
issue test-token 03 ecp384 csr
issue test-token 05 rsa3072 export
issue mixed-token 04 ed25519 export
issue mixed-token 01 mixed-rsa export

rm -f "$work"/*.raw "$work"/*.csr "$work/engine.cnf" "$work/softhsm2.conf" "$certs/ca.srl"
rm -rf "$dir"
mv "$work" "$dir"
