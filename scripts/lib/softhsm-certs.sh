# Shared by scripts/demo and tests/support/make-softhsm-template.sh: certificates for keys on a
# SoftHSM2 token, issued by a software CA, without any private key leaving the token.
#   - EC keys: the token signs a CSR through OpenSSL's pkcs11 engine (pkcs11-tool 0.23 cannot
#     export a P-384 public key);
#   - RSA and Ed25519 keys: the CA certifies the public key pkcs11-tool reads (the engine cannot
#     touch a token that holds an Ed25519 key).
# Source it, then call kf_make_ca and kf_issue_cert. Needs SOFTHSM2_CONF exported.

KF_SOFTHSM_MODULE=${KF_SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}

# kf_make_ca DIR "SUBJECT": writes DIR/ca.key and DIR/ca.pem (a software CA for tests and demos).
kf_make_ca() {
    openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$1/ca.key" -subj "$2" -days 3650 -out "$1/ca.pem" 2>/dev/null
}

# kf_issue_cert TOKEN PIN ID LABEL export|csr "SUBJECT" EMAIL CERTDIR WORKDIR
# Writes CERTDIR/LABEL.{pem,der,pub.pem} and stores the certificate on the token with the key's id.
kf_issue_cert() {
    local token=$1 pin=$2 id=$3 label=$4 route=$5 subject=$6 email=$7 certs=$8 work=$9
    local csr=$work/$label.csr force=()
    if [ "$route" = csr ]; then
        cat > "$work/engine.cnf" <<CNF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = /usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so
MODULE_PATH = $KF_SOFTHSM_MODULE
init = 0
CNF
        # This is test and demo tooling driving OpenSSL's engine; Keyfence itself never takes a
        # PIN from a URI.
        OPENSSL_CONF=$work/engine.cnf openssl req -new -engine pkcs11 -keyform engine \
            -key "pkcs11:token=$token;object=$label;type=private;pin-value=$pin" \
            -subj "/CN=$label" -out "$csr" 2>/dev/null
        openssl req -in "$csr" -pubkey -noout > "$certs/$label.pub.pem"
        rm -f "$work/engine.cnf"
    else
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
            -subj "/CN=placeholder" -out "$csr" 2>/dev/null
        pkcs11-tool --module "$KF_SOFTHSM_MODULE" --token-label "$token" --read-object \
            --type pubkey --id "$id" -o "$work/$label.pub.raw" >/dev/null 2>&1
        openssl pkey -pubin -in "$work/$label.pub.raw" -out "$certs/$label.pub.pem"
        force=(-force_pubkey "$certs/$label.pub.pem")
        rm -f "$work/$label.pub.raw"
    fi
    openssl x509 -req -in "$csr" -CA "$certs/ca.pem" -CAkey "$certs/ca.key" -CAcreateserial \
        "${force[@]}" -subj "$subject" -days 365 -out "$certs/$label.pem" 2>/dev/null \
        -extfile <(printf 'subjectAltName=email:%s\nkeyUsage=critical,digitalSignature,keyEncipherment,keyAgreement\nextendedKeyUsage=emailProtection\n' "$email")
    openssl x509 -in "$certs/$label.pem" -outform DER -out "$certs/$label.der"
    pkcs11-tool --module "$KF_SOFTHSM_MODULE" --login --pin "$pin" --token-label "$token" \
        --write-object "$certs/$label.der" --type cert --id "$id" --label "$label" >/dev/null 2>&1
    rm -f "$csr" "$certs/ca.srl"
}

# kf_keypair TOKEN PIN ID LABEL KEYTYPE USAGE...: a key pair generated on the token.
kf_keypair() {
    local token=$1 pin=$2 id=$3 label=$4 type=$5
    shift 5
    pkcs11-tool --module "$KF_SOFTHSM_MODULE" --login --pin "$pin" --token-label "$token" \
        --keypairgen --key-type "$type" --id "$id" --label "$label" "$@" >/dev/null 2>&1
}
