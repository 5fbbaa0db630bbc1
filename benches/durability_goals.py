#!/usr/bin/env python3
"""Issue 16's goals table from one run of benches/durability_goals.sh:
python3 benches/durability_goals.py <criterion dir> <log dir>. Prints Markdown."""
import json
import os
import re
import statistics
import sys

criterion, logs = sys.argv[1], sys.argv[2]


def bench(full_id):
    """(median, lower, upper) of a criterion benchmark in ns, and its elements per iteration."""
    for dirpath, _, files in os.walk(criterion):
        if os.path.basename(dirpath) != "new" or "benchmark.json" not in files:
            continue
        with open(os.path.join(dirpath, "benchmark.json")) as f:
            b = json.load(f)
        if b["full_id"] != full_id:
            continue
        with open(os.path.join(dirpath, "estimates.json")) as f:
            m = json.load(f)["median"]
        elements = (b.get("throughput") or {}).get("Elements", 1)
        ci = m["confidence_interval"]
        return m["point_estimate"], ci["lower_bound"], ci["upper_bound"], elements
    sys.exit(f"durability_goals: no criterion result for {full_id} under {criterion}")


def rate(full_id):
    """Elements per second: median [interval]."""
    med, lo, hi, n = bench(full_id)
    k = lambda ns: f"{n / ns * 1e9 / 1e3:,.1f}k"
    return f"{k(med)}/s [{k(hi)}, {k(lo)}]"


def millis(full_id):
    med, lo, hi, _ = bench(full_id)
    return f"{med / 1e6:.1f} ms [{lo / 1e6:.1f}, {hi / 1e6:.1f}]"


def lines(name):
    with open(os.path.join(logs, name)) as f:
        return [l for l in f.read().splitlines() if l.strip()]


def lag(kind):
    """Median of the runs' p99 (and their list), median p50, achieved rate."""
    runs = [l for l in lines(f"lag-{kind}.log") if l.startswith("follower lag")]
    get = lambda key, l: float(re.search(key + r" ([0-9.]+) ms", l).group(1))
    p99 = sorted(get("p99", l) for l in runs)
    p50 = statistics.median(get("p50", l) for l in runs)
    achieved = statistics.median(float(re.search(r"([0-9]+)/s achieved", l).group(1)) for l in runs)
    listed = ", ".join(f"{x:.1f}" for x in p99)
    return f"p99 **{statistics.median(p99):.1f} ms** (runs: {listed}); p50 {p50:.2f} ms; {achieved / 1e3:.1f}k/s achieved"


def top_rate(kind):
    runs = [float(re.search(r"([0-9]+)/s achieved", l).group(1)) for l in lines(f"max-{kind}.log") if "achieved" in l]
    return statistics.median(runs), runs


def snapshot():
    opens = [float(re.search(r"open \d+: ([0-9.]+) s", l).group(1)) for l in lines("snapshot_load.log") if l.startswith("open ")]
    return f"**{statistics.median(opens):.2f} s** median of {len(opens)} ({', '.join(f'{x:.2f}' for x in opens)})"


machine = lines("machine.txt")
fsync = bench("disk/fdatasync_64B_append")
async_top, async_runs = top_rate("stream-async")
ack_top, ack_runs = top_rate("stream-ack")
print(f"Measured {machine[0]} on {machine[2]} cores; `uptime` before: {machine[1].strip()}; after: {machine[-1].strip()}.")
print(f"One `fdatasync` of a 64-byte append on this disk: **{fsync[0] / 1e3:.0f} µs** [{fsync[1] / 1e3:.0f}, {fsync[2] / 1e3:.0f}].")
print()
print("| measure | this run (medians, criterion's interval in brackets) | goal |")
print("|---|---|---|")
print(f"| sync mode, 64 requesters in flight: 64 threads | {rate('sync_in_flight/threads/64')} | ≥ 100k/s |")
print(f"| sync mode, 64 requesters in flight: 1 thread pipelined | {rate('sync_in_flight/pipelined/64')} | ≥ 100k/s |")
print(f"| sync mode, bulk calls of 1,000 | {rate('sync_in_flight/bulk/1000')} | ≥ 500k/s |")
print(f"| release flash crowd 100k → 2k, sync, all durable | pipelined: {millis('flash_crowd_100k_to_2k_sync/pipelined_1024')}; bulk: {millis('flash_crowd_100k_to_2k_sync/bulk_1000')} | ≤ 1 s |")
print(f"| recovery, journal replay (1 M records) | {rate('recovery/1M_records')} | ≥ 3 M/s |")
print(f"| 10 M-slot snapshot load | {snapshot()} | ≤ 5 s |")
print(f"| follower lag under 50k bookings/s: standby on the leader's directory | {lag('dir')} | ≤ 100 ms p99 |")
print(f"| follower lag under 50k bookings/s: stream standby, `Async` | {lag('stream-async')} | ≤ 100 ms p99 |")
print(f"| follower lag under 50k bookings/s: stream standby, `AckAfterFollower` (acknowledged only once the follower has it) | {lag('stream-ack')} | ≤ 100 ms p99 |")
print(f"| durable throughput with a stream standby, 1 thread pipelined 64 (the cost of `AckAfterFollower`) | `Async` {async_top / 1e3:.1f}k/s, `AckAfterFollower` {ack_top / 1e3:.1f}k/s: {ack_top / async_top:.2f}× (medians of {len(ack_runs)}) | — |")
print("| duplicate request (same key) | same outcome, never a second booking: `core/tests/idempotency.rs` (also across reopen and snapshots), run by `make test` | same outcome |")
