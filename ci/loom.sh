#!/usr/bin/env bash
# loom models: every interleaving (up to a preemption bound) of two or three threads on the real
# slot counter (core/src/slot.rs: claims never overbook, releases bring the counts back to zero)
# and on the real id allocation (core/tests/loom_ids.rs: dense ids reach the journal in id
# order). `--cfg loom` swaps loom's atomics and mutex into that code (core/src/sync.rs) and into
# boxcar; such a build is good for nothing else, so it lives in its own target directory and
# runs only the models (`loom` in the unit tests' names, and the loom_* test files).
#
# LOOM_MAX_PREEMPTIONS bounds how often one execution may switch threads away from a runnable
# one. Unbounded, the id model (three threads through engine construction, boxcar pushes and
# the lock) does not finish in minutes; every known schedule bug of this kind (a lost update,
# an id taken outside the lock) needs one or two preemptions, and the bound of 3 still explores
# every schedule with up to three of them.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTFLAGS="${RUSTFLAGS:-} --cfg loom"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}"
target=(--target-dir target/loom -p haoyuan)
${CARGO:-cargo} test "${target[@]}" --lib --quiet -- loom
${CARGO:-cargo} test "${target[@]}" --test loom_ids --quiet
echo "loom: models hold"
