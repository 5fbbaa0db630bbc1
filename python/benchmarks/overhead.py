"""Per-call overhead of the Python binding: one booking from Python vs the same booking in Rust.

What it measures (each on a fresh engine, N distinct patients booking N distinct slots, so every
call succeeds and does the same work):

- ``python_single``: a Python loop of ``engine.book(patient, slot, channel)`` — the cost a host
  pays per call (argument conversion, GIL release/re-acquire, the engine, building the
  ``Booking`` object).
- ``bulk_per_row``: ``engine.book_many(patients, slots, channel)`` divided by N — the engine's
  own loop in Rust, plus the array copies: the Rust-side cost of one booking.
- ``overhead`` = python_single − bulk_per_row: what crossing into Python adds per call.

Medians over ``--reps`` repetitions. Run: ``make bench-python`` or
``python benchmarks/overhead.py --n 20000 --reps 7 [--json out.json]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time

import numpy as np

import haoyuan as hy

START = dt.datetime(2026, 11, 23, 16, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
APP = 1  # the standard channel "app" (ids start at 1)
DAY = dt.date(2026, 11, 26)


def fresh(n: int) -> tuple[hy.Engine, np.ndarray, np.ndarray]:
    e = hy.Engine(start=START)
    clinic = e.add_institution("Clinic", "community", "D")
    dep = e.add_department(clinic, "general_practice", "GP")
    doctors = max(1, n // 40)
    res = np.array([e.add_resource(dep, "doctor", f"Dr {i}") for i in range(doctors)], dtype=np.uint32)
    resource = np.repeat(res, 40)[:n]
    start = (np.tile(np.arange(40, dtype=np.uint16), doctors)[:n] * 10 + 6 * 60).astype(np.uint16)
    slots = e.publish_slots_arrays(resource, np.full(n, np.datetime64(DAY.isoformat())), start, start + 10, np.full(n, 2))
    patients = np.array([e.register_patient() for _ in range(n)], dtype=np.uint32)
    return e, patients, np.arange(slots.start, slots.stop, dtype=np.uint32)


def python_single(n: int) -> float:
    e, patients, slots = fresh(n)
    ps, ss = patients.tolist(), slots.tolist()
    book = e.book
    t0 = time.perf_counter()
    for p, s in zip(ps, ss):
        book(p, s, APP)
    return (time.perf_counter() - t0) / n


def bulk_per_row(n: int, parallel: bool = False) -> float:
    e, patients, slots = fresh(n)
    channels = np.full(n, APP, dtype=np.uint16)
    t0 = time.perf_counter()
    _, codes = e.book_many(patients, slots, channels, parallel=parallel)
    elapsed = time.perf_counter() - t0
    assert (codes == 0).all(), "every benchmark booking must succeed"
    return elapsed / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20_000, help="bookings per repetition")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--json", help="also write the medians here")
    a = ap.parse_args()
    single = [python_single(a.n) for _ in range(a.reps)]
    bulk = [bulk_per_row(a.n) for _ in range(a.reps)]
    par = [bulk_per_row(a.n, parallel=True) for _ in range(a.reps)]
    med = {
        "python_single_us": statistics.median(single) * 1e6,
        "bulk_per_row_us": statistics.median(bulk) * 1e6,
        "bulk_parallel_per_row_us": statistics.median(par) * 1e6,
    }
    med["overhead_us"] = med["python_single_us"] - med["bulk_per_row_us"]
    med["single_over_bulk"] = med["python_single_us"] / med["bulk_per_row_us"]
    print(f"one booking, median of {a.reps} × {a.n} (threads: {hy.num_threads()}):")
    print(f"  Python loop of engine.book():     {med['python_single_us']:8.2f} µs/call")
    print(f"  book_many (Rust loop), per row:   {med['bulk_per_row_us']:8.2f} µs/row")
    print(f"  book_many(parallel=True), per row:{med['bulk_parallel_per_row_us']:8.2f} µs/row")
    print(f"  Python per-call overhead:         {med['overhead_us']:8.2f} µs  ({med['single_over_bulk']:.1f}× the Rust cost)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"n": a.n, "reps": a.reps, **med}, f, indent=2)


if __name__ == "__main__":
    main()
