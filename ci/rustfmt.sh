#!/usr/bin/env bash
# Formatting: rustfmt (rustfmt.toml) over the main workspace and the fuzz workspace, checked,
# never rewritten here — run `cargo fmt --all` to fix.
set -euo pipefail
cd "$(dirname "$0")/.."
${CARGO:-cargo} fmt --all --check
(cd fuzz && ${CARGO:-cargo} fmt --check)
(cd benches/compare && ${CARGO:-cargo} fmt --check)
echo "rustfmt: formatted"
