"""What a data scientist writes today, side by side with haoyuan.sim.

The same small model twice: one district (20 community clinics, 2 secondary hospitals, one
tertiary hospital), one measured week after a week of warm-up, first-come-first-served booking
of the earliest free place at the preferred institution (no load spreading: "information
islands"), slots released 7 days ahead at 15:00, cancellations, no-shows, and a waitlist that
offers freed places (a 15-minute hold, accepted or left to expire).

* ``simpy_model`` is a plain SimPy script, the way such studies are usually written.
* ``haoyuan.sim.simulate`` runs the same demand parameters on the real engine.

Both draw their own random numbers, so the comparison is statistical: each runs ``--reps``
replications and the table shows means with 95% intervals. The speed ratio is wall-clock time
per replication (one thread each).

    python benchmarks/simpy_vs_haoyuan.py [--reps 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import simpy

from haoyuan import sim

DAY = 86_400
RELEASE_S = 15 * 3600
OPEN_DAYS = 7
WARM_DAYS = 7
DAYS = 7
OFFER_TTL_S = 900

# The model, as haoyuan.sim dicts (the SimPy script reads the same numbers).
REGION = sim.region(
    "small",
    districts=1,
    specialties=["internal_medicine", "paediatrics"],
    community={"institutions": 20, "departments": 1, "doctors_per_department": 1, "sessions": [[480, 720]],
               "segment_min": 30, "places_per_slot": 2, "weekdays": [0, 1, 2, 3, 4], "beds": 0, "exam_devices": 0},
    secondary={"institutions": 2, "departments": 2, "doctors_per_department": 2, "sessions": [[480, 720], [870, 1050]],
               "segment_min": 15, "places_per_slot": 1, "weekdays": [0, 1, 2, 3, 4], "beds": 0, "exam_devices": 0},
    tertiary={"institutions": 1, "departments": 2, "doctors_per_department": 3, "sessions": [[480, 720], [870, 1050]],
              "segment_min": 15, "places_per_slot": 1, "weekdays": [0, 1, 2, 3, 4], "beds": 0, "exam_devices": 0},
)  # fmt: skip
DEMAND = sim.demand(
    population=200_000,
    requests_per_day=800.0,
    release_spike_share=0.0,
    specialty_weights={"internal_medicine": 0.7, "paediatrics": 0.3},
    other_specialty_weight=0.0,
    referral_share=0.0,
    follow_up_share=0.0,
    no_show={"base": 0.15, "per_lead_day": 0.0, "per_past_no_show": 0.0},
    cancel_probability=0.08,
    hold_abandon_probability=0.0,
    waitlist_probability=0.3,
    offer_accept_probability=0.8,
)
# FCFS at the preferred institution; the referral window equals the public one so that both
# models warm up for the same 7 days.
POLICY = sim.policy("islands", engine={"referral": {"open_days_ahead": OPEN_DAYS}})


# --------------------------------------------------------------------------------- SimPy


@dataclass
class Slot:
    dept: int
    day: int
    start_s: int  # seconds after local midnight of day 0
    capacity: int
    booked: int = 0  # places currently taken (holds included)
    at_visit: int = 0
    attended: int = 0


@dataclass
class Entry:
    dept: int
    first: int
    last: int
    alive: bool = True


@dataclass
class Stats:
    requests: int = 0
    served: int = 0
    no_shows: int = 0
    offers: int = 0
    leads: List[float] = field(default_factory=list)
    events: int = 0


def build_simpy_region() -> tuple:
    """Departments (tier, list of slot ids per day) and slots, from the same region dict."""
    depts: List[tuple] = []  # (tier index, institution)
    sessions_by_dept: List[List[tuple]] = []
    for ti, tier in enumerate(["community", "secondary", "tertiary"]):
        t = REGION[tier]
        for inst in range(t["institutions"]):
            for s in range(t["departments"]):
                depts.append((ti, s))
                rows = []
                for _doc in range(t["doctors_per_department"]):
                    for a, b in t["sessions"]:
                        m = a
                        while m + t["segment_min"] <= b:
                            rows.append((m, t["places_per_slot"], t["weekdays"]))
                            m += t["segment_min"]
                sessions_by_dept.append(rows)
    return depts, sessions_by_dept


def simpy_model(seed: int) -> Dict[str, float]:
    rng = random.Random(seed)
    env = simpy.Environment(initial_time=-WARM_DAYS * DAY)
    depts, rows = build_simpy_region()
    start_weekday = 0  # the region starts on a Monday (2026-01-05)
    slots: List[Slot] = []
    by_dept_day: Dict[tuple, List[int]] = {}
    for d, r in enumerate(rows):
        for day in range(DAYS):
            for start_min, places, weekdays in r:
                if (start_weekday + day) % 7 in weekdays:
                    by_dept_day.setdefault((d, day), []).append(len(slots))
                    slots.append(Slot(d, day, day * DAY + start_min * 60, places))
    for ids in by_dept_day.values():
        ids.sort(key=lambda i: slots[i].start_s)
    by_spec_tier: Dict[tuple, List[int]] = {}
    for d, (ti, s) in enumerate(depts):
        by_spec_tier.setdefault((s, ti), []).append(d)
    waitlists: Dict[int, List[Entry]] = {}
    st = Stats()
    spec_w = [DEMAND["specialty_weights"]["internal_medicine"], DEMAND["specialty_weights"]["paediatrics"]]
    hour_w = DEMAND["hourly_weights"]
    pref = DEMAND["tier_preference"]
    p_no_show = DEMAND["no_show"]["base"]

    def is_open(slot: Slot, now: float) -> bool:
        return now >= (slot.day - OPEN_DAYS) * DAY + RELEASE_S and now < slot.start_s

    def earliest(dept: int, first: int, last: int, now: float) -> Optional[int]:
        for day in range(max(first, 0), min(last, DAYS - 1) + 1):
            for i in by_dept_day.get((dept, day), []):
                s = slots[i]
                if s.booked < s.capacity and is_open(s, now):
                    return i
        return None

    def visit(i: int, created: float, measured: bool):
        s = slots[i]
        yield env.timeout(s.start_s - env.now)
        st.events += 1
        s.at_visit += 1
        st.leads.append((s.start_s - created) / DAY)
        if rng.random() < p_no_show:
            st.no_shows += 1
        else:
            s.attended += 1

    def booking(i: int, measured: bool):
        """A confirmed booking: may be cancelled before the visit, else it is visited."""
        s = slots[i]
        created = env.now
        if measured:
            st.served += 1
        if rng.random() < DEMAND["cancel_probability"]:
            at = created + rng.random() * (s.start_s - created)
            yield env.timeout(at - env.now)
            st.events += 1
            s.booked -= 1
            offer_freed(i)
            return
        yield from visit(i, created, measured)

    def offer_freed(i: int):
        s = slots[i]
        for e in waitlists.get(s.dept, []):
            if e.alive and e.first <= s.day <= e.last and is_open(s, env.now):
                e.alive = False
                st.offers += 1
                s.booked += 1  # held for the patient
                if rng.random() < DEMAND["offer_accept_probability"]:
                    env.process(booking(i, e.measured))  # type: ignore[attr-defined]
                else:
                    env.process(expire(i))
                return

    def expire(i: int):
        yield env.timeout(OFFER_TTL_S)
        st.events += 1
        slots[i].booked -= 1
        offer_freed(i)

    def request(at: float, day: int):
        yield env.timeout(at - env.now)
        st.events += 1
        measured = day >= 0
        st.requests += measured
        spec = rng.choices([0, 1], weights=spec_w)[0]
        avail = [pref[ti] if by_spec_tier.get((spec, ti)) else 0.0 for ti in range(3)]
        ti = rng.choices([0, 1, 2], weights=avail)[0]
        choices = by_spec_tier[(spec, ti)]
        dept = choices[min(int(rng.random() * len(choices)), len(choices) - 1)]
        i = earliest(dept, day, day + OPEN_DAYS, env.now)
        if i is not None:
            slots[i].booked += 1
            yield from booking(i, measured)
        elif rng.random() < DEMAND["waitlist_probability"]:
            e = Entry(dept, max(day, 0), min(day + OPEN_DAYS, DAYS - 1))
            e.measured = measured  # type: ignore[attr-defined]
            waitlists.setdefault(dept, []).append(e)

    def arrivals():
        for day in range(-WARM_DAYS, DAYS):
            mean = DEMAND["requests_per_day"] * DEMAND["weekday_factor"][(start_weekday + day) % 7]
            n = int(mean) + (rng.random() < mean - int(mean))
            for _ in range(n):
                hour = rng.choices(range(24), weights=hour_w)[0]
                env.process(request(day * DAY + hour * 3600 + rng.random() * 3600, day))
            yield env.timeout((day + 1) * DAY - env.now)

    env.process(arrivals())
    env.run(until=DAYS * DAY)
    places = sum(s.capacity for s in slots)
    booked = sum(min(s.at_visit, s.capacity) for s in slots)
    attended = sum(min(s.attended, s.capacity) for s in slots)
    visits = sum(s.at_visit for s in slots)
    leads = sorted(st.leads)
    return {
        "booking_rate": booked / places,
        "utilisation": attended / places,
        "no_show_rate": st.no_shows / max(visits, 1),
        "served_rate": st.served / max(st.requests, 1),
        "days_to_appointment_mean": statistics.fmean(leads) if leads else 0.0,
        "waitlist_offers_per_request": st.offers / max(st.requests, 1),
        "events": st.events,
    }


def haoyuan_model(seed: int) -> Dict[str, float]:
    r = sim.simulate(REGION, DEMAND, POLICY, days=DAYS, seed=seed, progress=False)
    s = r.summary()
    c = r["counts"]
    return {
        "booking_rate": s["booking_rate"],
        "utilisation": s["utilisation"],
        "no_show_rate": s["no_show_rate"],
        "served_rate": s["served_rate"],
        "days_to_appointment_mean": s["days_to_appointment_mean"],
        "waitlist_offers_per_request": c["waitlist_offers"] / max(c["requests"], 1),
        "events": c["engine_calls"],
    }


def mean_ci(xs: List[float]) -> tuple:
    m = statistics.fmean(xs)
    if len(xs) < 2:
        return m, math.nan
    return m, sim.t_quantile_975(len(xs) - 1) * statistics.stdev(xs) / math.sqrt(len(xs))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    results: Dict[str, List[Dict[str, float]]] = {"simpy": [], "haoyuan": []}
    seconds = {"simpy": 0.0, "haoyuan": 0.0}
    for rep in range(args.reps):
        for name, fn in (("simpy", simpy_model), ("haoyuan", haoyuan_model)):
            t = time.perf_counter()
            results[name].append(fn(1000 + rep))
            seconds[name] += time.perf_counter() - t
    metrics = [k for k in results["simpy"][0] if k != "events"]
    rows = []
    print(f"{'metric':32} {'SimPy':>20} {'haoyuan.sim':>20}  agree")
    all_agree = True
    for m in metrics:
        a = mean_ci([r[m] for r in results["simpy"]])
        b = mean_ci([r[m] for r in results["haoyuan"]])
        # Within noise: the difference is inside the two intervals combined (plus 1% of the
        # value for model details that differ on purpose, e.g. per-patient limits).
        tol = math.sqrt(a[1] ** 2 + b[1] ** 2) + 0.01 * max(abs(a[0]), abs(b[0]))
        agree = abs(a[0] - b[0]) <= tol
        all_agree &= agree
        rows.append({"metric": m, "simpy": a[0], "simpy_ci": a[1], "haoyuan": b[0], "haoyuan_ci": b[1], "agree": agree})
        print(f"{m:32} {a[0]:12.4f} ± {a[1]:6.4f} {b[0]:12.4f} ± {b[1]:6.4f}  {'yes' if agree else 'NO'}")
    per = {k: v / args.reps for k, v in seconds.items()}
    simpy_events = statistics.fmean(r["events"] for r in results["simpy"])
    print(f"\nseconds per replication: SimPy {per['simpy']:.3f}, haoyuan.sim {per['haoyuan']:.3f}  -> haoyuan is {per['simpy'] / per['haoyuan']:.1f}x faster")
    print(f"SimPy processed {simpy_events:,.0f} model events per replication ({simpy_events / per['simpy']:,.0f} events/s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "seconds_per_replication": per, "speedup": per["simpy"] / per["haoyuan"], "simpy_events": simpy_events}, f, indent=2)
    return 0 if all_agree else 1


if __name__ == "__main__":
    sys.exit(main())
