#!/usr/bin/env bash
# Replay every seed of tests/workload/seeds.txt with the workload runner; fail on the first that
# breaks an invariant. Uses the test profile's build (see the Makefile's test-rust).
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -v '^#' tests/workload/seeds.txt | while read -r seed steps threads _; do
  [ -n "$seed" ] || continue
  ${CARGO:-cargo} run -q -p haoyuan-tests --bin workload -- --seed "$seed" --steps "$steps" --threads "$threads"
done
