#!/usr/bin/env bash
# Runs the ```sh blocks of docs/smime.md, in order, in one bash, on the binary under test, after
# ./scripts/demo has made the demo token in a throwaway XDG_DATA_HOME.
set -euo pipefail
source_dir=$1 keyfence=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_DATA_HOME=$work/xdg
KEYFENCE_DEMO_BINARY=$keyfence "$source_dir/scripts/demo" >/dev/null 2>&1 || {
    echo "FAIL: scripts/demo"; exit 1; }
mkdir -p "$work/bin" "$work/run"
ln -s "$keyfence" "$work/bin/keyfence"
awk '/^```sh$/ {on=1; next} /^```$/ {on=0} on' "$source_dir/docs/smime.md" > "$work/blocks.sh"
[ -s "$work/blocks.sh" ] || { echo "FAIL: no sh blocks in docs/smime.md"; exit 1; }
(cd "$work/run" && PATH=$work/bin:$PATH bash -euo pipefail "$work/blocks.sh") || {
    echo "FAIL: a docs/smime.md example failed"; exit 1; }
echo "1 passed, 0 failed"
