#!/usr/bin/env bash
# Issue 16's goals table, every row measured in this one run: `make bench-durability-goals`.
#
# Criterion benches (the disk's fdatasync, 64 requesters in flight, bulk calls, the durable
# flash crowd, recovery), the 10 M-slot snapshot load (3 opens), follower lag at 50,000
# bookings/s for the three standby kinds (5 runs each), and the durable throughput of the two
# replication modes (3 runs each); then benches/durability_goals.py prints the table with the
# machine's load. Takes ~10 minutes on the 2-core machine. Logs go to $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${CARGO_TARGET_DIR:-target}"
OUT="${OUT:-$TARGET/durability-goals}"
rm -rf "$OUT"
mkdir -p "$OUT"
criterion="$TARGET/criterion"
# Only this run's criterion results are read: remove the groups it measures beforehand.
rm -rf "$criterion/disk" "$criterion/sync_in_flight" "$criterion/recovery" "$criterion/flash_crowd_100k_to_2k_sync"

{ date -u +%FT%TZ; uptime; nproc; } > "$OUT/machine.txt"
echo "== criterion: durability (disk, sync_in_flight, recovery)"
cargo bench -p haoyuan --bench durability -- 'disk|sync_in_flight|recovery' > "$OUT/durability.log" 2>&1
echo "== criterion: flash_crowd_100k_to_2k_sync"
cargo bench -p haoyuan-benches --bench flash_crowd -- flash_crowd_100k_to_2k_sync > "$OUT/flash.log" 2>&1
cargo build -q --release -p haoyuan-benches --example snapshot_load --example follower_lag
echo "== snapshot_load (10 M slots, 3 opens)"
"$TARGET/release/examples/snapshot_load" 1000000 3 > "$OUT/snapshot_load.log" 2>&1
for kind in dir stream-async stream-ack; do
  echo "== follower_lag $kind: 50,000/s, 5 runs"
  for run in 1 2 3 4 5; do
    "$TARGET/release/examples/follower_lag" 50000 3 1 "$kind" | tail -n 1 >> "$OUT/lag-$kind.log"
  done
done
for kind in stream-async stream-ack; do
  echo "== follower_lag $kind: as fast as the leader can, 3 runs"
  for run in 1 2 3; do
    "$TARGET/release/examples/follower_lag" 1e9 0.0002 1 "$kind" | tail -n 1 >> "$OUT/max-$kind.log"
  done
done
uptime >> "$OUT/machine.txt"
python3 benches/durability_goals.py "$criterion" "$OUT"
