#!/usr/bin/env bash
# ci/shell-pipes.sh: no `cmd | grep -q` (nor `| head`, which exits early the same way) in our
# shell scripts. Under `set -o pipefail` grep -q exits at its first match, the writer dies of
# SIGPIPE if it still has output, and the pipeline fails: a check that fails -- or, negated in an
# `if`, passes -- by timing. CI met it in tests/install/run.sh (`ldd … | grep -q`, 145 false
# failures in 1,000 tries under load). Capture the output first, then grep it.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t scripts < <(git ls-files '*.sh' '*.mk' Makefile .ci/run)
# The pattern names itself in this file's comments; skip this file.
hits="$(grep -nE '\|[[:space:]]*(grep[[:space:]]+(-[A-Za-z]*[qm][A-Za-z0-9]*)|head)([[:space:]]|$)' \
  "${scripts[@]}" | grep -v '^ci/shell-pipes.sh:' || true)"
if [[ -n "$hits" ]]; then
  echo "shell-pipes: a pipe into a reader that may exit early (grep -q/-m, head):" >&2
  echo "$hits" >&2
  exit 1
fi
echo "shell-pipes: ok (${#scripts[@]} scripts, no early-exit readers in pipes)"
