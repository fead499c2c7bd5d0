#!/usr/bin/env bash
# Runs ./scripts/demo twice in a throwaway XDG_DATA_HOME on the binary under test: the first run
# creates the demo token, the second reuses it; both must sign and have OpenSSL verify.
set -euo pipefail
source_dir=$1 keyfence=$2
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
for run in create reuse; do
    out=$(XDG_DATA_HOME=$home XDG_STATE_HOME=$home/state XDG_CONFIG_HOME=$home/config KEYFENCE_DEMO_BINARY=$keyfence "$source_dir/scripts/demo" 2>&1) || {
        echo "$out"; echo "FAIL: demo ($run) exited non-zero"; exit 1; }
    verified=$(grep -c '^Verified OK$' <<<"$out" || true)
    [ "$verified" -eq 2 ] || { echo "$out"; echo "FAIL: $verified of 2 signatures verified ($run)"; exit 1; }
    grep -q 'SOFTWARE DEMO TOKEN' <<<"$out" || { echo "FAIL: demo token not labelled"; exit 1; }
    grep -q "refused by rule 'demo_token'" <<<"$out" || { echo "FAIL: no policy refusal"; exit 1; }
    grep -q "CMS Verification successful" <<<"$out" || { echo "$out"; echo "FAIL: openssl did not verify the S/MIME message ($run)"; exit 1; }
done
grep -q 'Creating the software demo token' <<<"$(XDG_DATA_HOME=$home XDG_STATE_HOME=$home/state XDG_CONFIG_HOME=$home/config KEYFENCE_DEMO_BINARY=$keyfence "$source_dir/scripts/demo" 2>&1)" \
    && { echo "FAIL: the demo token was created again"; exit 1; }
echo "1 passed, 0 failed"
