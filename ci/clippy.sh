#!/usr/bin/env bash
# Clippy on the whole workspace (every crate, every target: tests, benches, examples) with
# warnings as errors. The lints we deliberately allow are listed, with reasons, in the root
# Cargo.toml ([workspace.lints.clippy]) and clippy.toml (disallowed types and macros).
set -euo pipefail
cd "$(dirname "$0")/.."
${CARGO:-cargo} clippy --workspace --all-targets --quiet -- -D warnings
echo "clippy: no warnings"
