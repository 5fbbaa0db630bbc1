#!/usr/bin/env bash
# loom models: every interleaving (up to a preemption bound) of two or three threads on the real
# slot counter (core/src/slot.rs `loom_models`: claims never overbook, releases bring the counts
# back to zero) and on the real id allocation (loom/tests/ids.rs: dense ids reach the journal in
# id order) and on the availability index's group-day bits (core/src/store.rs `loom_models`: a
# claim racing a release leaves the bit equal to the counters) and its scan hints (a scan moving
# a department-day's hint racing a release never leaves it past the freed place). `--cfg loom` swaps loom's atomics and mutex into that code (core/src/sync.rs) and
# into boxcar; such a build is good for nothing else, so it lives in its own target directory.
# The harness is its own crate (loom/) so the build compiles core's library, not core's
# test-only dependencies.
#
# LOOM_MAX_PREEMPTIONS bounds how often one execution may switch away from a runnable thread.
# The slot models (three threads in compare-and-swap retry loops) do not finish in minutes
# unbounded; with a bound of 4 they take about 15 s. The bugs they are for need few preemptions:
# a claim planted as a load and a store (no compare-and-swap) fails both models within the first
# second at a bound of 3. The id model is small enough to run unbounded (about 6 s).
set -euo pipefail
cd "$(dirname "$0")/.."
# Exactly these flags: any other RUSTFLAGS would rebuild the whole of target/loom.
export RUSTFLAGS="--cfg loom"
target=(--target-dir "${CARGO_TARGET_DIR:-target}/loom" -p haoyuan-loom)
LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-4}" ${CARGO:-cargo} test "${target[@]}" --test slot --quiet
LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-4}" ${CARGO:-cargo} test "${target[@]}" --test index --quiet
${CARGO:-cargo} test "${target[@]}" --test ids --quiet
echo "loom: models hold"
