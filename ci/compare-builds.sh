#!/usr/bin/env bash
# The side-by-side comparison (benches/compare, `make bench-compare`) is its own workspace, so
# the main build never compiles it: an interface change once broke it unseen for days (a type
# renamed in the core). Type-checked here, with the durable feature, against the core of this
# commit; its database clients are fetched once and kept in its own target dir.
set -euo pipefail
cd "$(dirname "$0")/../benches/compare"
${CARGO:-cargo} check -q --all-features --locked
echo "compare-builds: benches/compare type-checks"
