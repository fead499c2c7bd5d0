# What the runnable examples in these docs (```sh blocks) are run with, by
# tests/scripts/docs_commands_test.sh, on the software demo token that ./scripts/demo makes.
# A reader with a hardware token types the commands as shown and answers the pinentry; the test
# has no one at the keyboard, so `keyfence` below adds --demo (the demo token is software, and
# refused without it) and the demo PIN on fd 3, unless the example passes its own --pin-fd.

demo=${XDG_DATA_HOME:-$HOME/.local/share}/keyfence/demo
export SOFTHSM2_CONF=$demo/softhsm2.conf
KEY="pkcs11:token=keyfence-demo;object=demo-rsa"   # your key's URI, from `keyfence keys`
EC_KEY="pkcs11:token=keyfence-demo;object=demo-p256"
CA=$demo/certs/ca.pem                              # the CA that issued the demo certificates

printf '123456\n' > "$demo/../docs-pin"   # the demo token's PIN, nowhere near a real one
keyfence() {
    local arg
    for arg in "$@"; do
        if [ "$arg" = --pin-fd ]; then
            command keyfence "$@"
            return
        fi
    done
    command keyfence --demo --pin-fd 3 "$@" 3<"$demo/../docs-pin"
}

# Sample inputs the examples name.
cat > msg.eml <<'MAIL'
From: Keyfence Demo <demo@keyfence.invalid>
To: demo@keyfence.invalid
Subject: Quarterly figures
Date: Mon, 1 Jan 2024 10:00:00 +0000

The figures are final.
MAIL
head -c 100000 /dev/urandom > report.pdf
cp "$demo/certs/demo-p256.pem" bob.pem   # a correspondent's certificate (here: the demo's own)
cat > policy.toml <<'TOML'
locked = ["tokens.require_hardware"]
[tokens]
require_hardware = true
[algorithms]
min_rsa_bits = 3072
TOML
