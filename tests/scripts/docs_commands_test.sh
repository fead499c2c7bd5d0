#!/usr/bin/env bash
# Every command in the docs runs: the ```sh blocks of README.md and docs/*.md are run, file by
# file, in order, in one bash per file, against the binary under test and a fresh copy of the
# demo token (made once by ./scripts/demo in a throwaway XDG_DATA_HOME). A block that cannot run
# here (root, a real card, apt) is fenced ```sh-norun and must say why in an HTML comment
# `<!-- norun: REASON -->` on the line before; this script refuses one without a reason.
#
# The blocks see docs/examples-prelude.sh first: the demo key in $KEY, a sample message, and a
# `keyfence` function that adds --demo and the demo PIN on fd 3 (the docs show commands as a user
# with a hardware token types them, answering the pinentry).
set -euo pipefail
source_dir=$1 keyfence=$2 keyfenced=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

docs=("$source_dir/README.md" "$source_dir"/docs/*.md)
failed=0 passed=0

# 1. Every non-runnable shell block gives its reason; every fence names a known language.
for doc in "${docs[@]}"; do
    name=${doc#"$source_dir"/}
    problems=$(awk -v name="$name" '
        /^```/ {
            if (open) { open = 0; next }
            open = 1
            lang = substr($0, 4)
            if (lang == "sh-norun" && prev !~ /^<!-- norun: .+ -->$/)
                print name ":" NR ": sh-norun block without a <!-- norun: REASON --> line before it"
            if (lang !~ /^(sh|sh-norun|text|json|toml|js|ini|muttrc|udev|diff|)$/)
                print name ":" NR ": unknown fence language \"" lang "\""
            if (lang == "")
                print name ":" NR ": a fence without a language (say sh, sh-norun or text)"
        }
        NF { prev = $0 }' "$doc")
    if [ -n "$problems" ]; then
        echo "$problems"
        failed=$((failed + 1))
    fi
done

# 2. The demo token, once.
export HOME=$work/home XDG_DATA_HOME=$work/base/data
mkdir -p "$HOME" "$XDG_DATA_HOME"
unset GNUPGHOME SOFTHSM2_CONF
KEYFENCE_DEMO_BINARY=$keyfence "$source_dir/scripts/demo" >"$work/demo.log" 2>&1 || {
    cat "$work/demo.log"
    echo "FAIL: scripts/demo"
    exit 1
}
mkdir -p "$work/bin"
ln -s "$keyfence" "$work/bin/keyfence"
ln -s "$keyfenced" "$work/bin/keyfenced"

# 3. Each document's runnable blocks, in a world of their own.
for doc in "${docs[@]}"; do
    name=${doc#"$source_dir"/}
    blocks=$(awk '/^```sh$/ {on=1; next} /^```/ {on=0} on' "$doc")
    [ -n "$blocks" ] || continue
    world=$work/world-$(basename "$doc" .md)
    mkdir -p "$world/home" "$world/run" "$world/state" "$world/config" "$world/runtime"
    chmod 0700 "$world/runtime"
    cp -a "$XDG_DATA_HOME" "$world/data"
    # The demo's softhsm2.conf names the token directory by absolute path.
    sed -i "s|$XDG_DATA_HOME|$world/data|g" "$world/data/keyfence/demo/softhsm2.conf"
    # Whatever an example started in the background (keyfenced) stops with it, even on failure.
    { echo "trap 'for p in \$(jobs -p); do kill \"\$p\" 2>/dev/null || true; done' EXIT"
      cat "$source_dir/docs/examples-prelude.sh"; echo "$blocks"; } > "$world/blocks.sh"
    if (cd "$world/run" &&
        HOME=$world/home XDG_DATA_HOME=$world/data XDG_STATE_HOME=$world/state \
            XDG_CONFIG_HOME=$world/config XDG_RUNTIME_DIR=$world/runtime \
            PATH=$work/bin:$PATH bash -euo pipefail "$world/blocks.sh") >"$world/log" 2>&1; then
        passed=$((passed + 1))
    else
        echo "FAIL: a runnable example in $name failed; its output:"
        sed 's/^/    /' "$world/log" | tail -40
        failed=$((failed + 1))
    fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
