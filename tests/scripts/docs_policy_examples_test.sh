#!/usr/bin/env bash
# Every ```toml block in docs/*.md is a policy file that `keyfence policy check` accepts, so the
# examples administrators copy cannot rot.
set -euo pipefail
src=$1 keyfence=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
for doc in "$src"/docs/*.md; do
    python3 - "$doc" "$work" <<'PY'
import re, sys, os
text = open(sys.argv[1]).read()
for i, block in enumerate(re.findall(r"```toml\n(.*?)```", text, re.S)):
    open(os.path.join(sys.argv[2], f"{os.path.basename(sys.argv[1])}.{i}.toml"), "w").write(block)
PY
done
for f in "$work"/*.toml; do
    [ -e "$f" ] || continue
    if "$keyfence" policy check "$f" >"$work/out" 2>&1; then
        passed=$((passed + 1))
    else
        echo "FAIL: $(basename "$f"): $(cat "$work/out")"
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
