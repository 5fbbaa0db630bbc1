#!/usr/bin/env bash
# Issue 14's goals table, every row measured in this one run: `make bench-province-goals`.
#
# - `hot_path` (release) in plain loops, $RUNS runs of each, interleaved so that a change of
#   the machine's load falls on every measure alike: book + cancel, the department-day query
#   (city pool, and on a city 70% booked asked from full departments), free places by day,
#   alternatives, 1 and 2 threads on spread slots, the flash crowd (first come first served
#   and the release lottery, 1 and 2 threads), publishing a city-day;
# - instructions per operation, `valgrind --tool=callgrind` of the same release binary at two
#   run lengths (set-up cancels out; the load does not enter);
# - `make bench-memory` (bytes per live slot and per booking) and `make bench-province` (10 M
#   slots, 100 M residents with a card, 3 M bookings: resident size, the per-resident record,
#   the calls on the province pool);
# - the side-by-side stream against the one-`Mutex` baseline (benches/compare, in-process
#   systems only, $RUNS runs of 50,000 bookings from 2 threads);
# then benches/province_goals.py prints the table with the machine's load. About 5 minutes
# and 10.5 GB of RAM on the 2-core machine; run nothing else beside it. Logs go to $OUT.
# Knobs: RUNS (5); PROVINCE_ARGS, MEMORY_ARGS (passed to those benches, e.g. a smaller trial
# run: PROVINCE_ARGS="--cities 1 --residents 1000000" MEMORY_ARGS="--cities 1").
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${CARGO_TARGET_DIR:-target}"
OUT="${OUT:-$TARGET/province-goals}"
RUNS="${RUNS:-5}"
rm -rf "$OUT"
mkdir -p "$OUT"
command -v valgrind >/dev/null || bash ci/lib/apt-install.sh valgrind

{ date -u +%FT%TZ; uptime; nproc; git rev-parse --short HEAD 2>/dev/null || echo unknown; } > "$OUT/machine.txt"
echo "== build (release): hot_path, the memory and province benches, benches/compare"
cargo build -q --release -p haoyuan-benches --example hot_path
cargo bench -q -p haoyuan-benches --bench memory --bench province --no-run 2>/dev/null
cargo build -q --release --manifest-path benches/compare/Cargo.toml
hp="$TARGET/release/examples/hot_path"
compare="benches/compare/target/release/haoyuan-compare"

for run in $(seq "$RUNS"); do
  echo "== hot_path, run $run of $RUNS"
  "$hp" book_cancel 2000000 >> "$OUT/book_cancel.log"
  "$hp" query 200000 >> "$OUT/query.log"
  "$hp" busy_query 200000 >> "$OUT/busy_query.log"
  "$hp" busy_by_day 200000 >> "$OUT/busy_by_day.log"
  "$hp" busy_alternatives 50000 >> "$OUT/busy_alternatives.log"
  "$hp" spread2 2000000 >> "$OUT/spread2.log"
  for threads in 1 2; do
    "$hp" flash 1 "$threads" >> "$OUT/flash-fcfs-$threads.log"
    "$hp" flash 2 "$threads" >> "$OUT/flash-lottery-$threads.log"
  done
  "$hp" publish 7 >> "$OUT/publish.log"
  "$compare" --threads 2 --stream 50000 --only haoyuan 2>> "$OUT/compare.log" >/dev/null
  "$compare" --threads 2 --stream 50000 --only naive 2>> "$OUT/compare.log" >/dev/null
done

echo "== callgrind: instructions per operation"
callgrind() { # total instructions of `hot_path $*`
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$hp" "$@" 2>&1 >/dev/null |
    sed -n 's/.*refs: *//p' | tr -d ,
}
{
  echo "book_cancel 20000 $(callgrind book_cancel 20000) 40000 $(callgrind book_cancel 40000)"
  echo "query 2000 $(callgrind query 2000) 6000 $(callgrind query 6000)"
} > "$OUT/instructions.log"

echo "== make bench-memory"
cargo bench -q -p haoyuan-benches --bench memory -- ${MEMORY_ARGS:-} > "$OUT/memory.log" 2>&1
echo "== make bench-province (~2.5 minutes, ~10.5 GB)"
cargo bench -q -p haoyuan-benches --bench province -- ${PROVINCE_ARGS:-} > "$OUT/province.log" 2>&1

uptime >> "$OUT/machine.txt"
python3 benches/province_goals.py "$OUT"
