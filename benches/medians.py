#!/usr/bin/env python3
"""Print the median of every criterion benchmark found under a target dir, with the
throughput it implies: python3 benches/medians.py [${CARGO_TARGET_DIR:-target}/criterion]."""
import json
import os
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "criterion")


def fmt_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


rows = []
for dirpath, _, files in os.walk(root):
    if os.path.basename(dirpath) != "new" or "estimates.json" not in files:
        continue
    with open(os.path.join(dirpath, "estimates.json")) as f:
        est = json.load(f)
    with open(os.path.join(dirpath, "benchmark.json")) as f:
        bench = json.load(f)
    median = est["median"]["point_estimate"]
    lo = est["median"]["confidence_interval"]["lower_bound"]
    hi = est["median"]["confidence_interval"]["upper_bound"]
    thr = ""
    t = bench.get("throughput") or {}
    if "Elements" in t:
        per_s = t["Elements"] / (median / 1e9)
        thr = f"{per_s / 1e6:.2f} M/s" if per_s >= 1e6 else f"{per_s / 1e3:.1f} k/s"
    rows.append((bench["full_id"], fmt_time(median), f"{fmt_time(lo)} – {fmt_time(hi)}", thr))

print("| benchmark | median | 95% CI of the median | throughput (elements/s) |")
print("|---|---:|---:|---:|")
for r in sorted(rows):
    print("| " + " | ".join(r) + " |")
