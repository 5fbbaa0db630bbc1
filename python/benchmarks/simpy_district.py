"""A 200-clinic district over 28 days: a plain SimPy model side by side with haoyuan.sim.

Issue 15, item 3. One district of 200 community clinics (one doctor each, 08:00-12:00 in
30-minute segments of 2 places, Monday to Friday: 3,200 places a weekday), one specialty,
about 2,100 requests a day (2,400 on a weekday of factor 1), a 30-day warm-up and 28 measured
days. Patients book the earliest free place at the clinic they prefer ("information islands":
no load-spreading suggestions); places are released at 15:00 seven days ahead, and 8% of the
requests come in the minute after the release for the newly released date, picking a place
of that day at random; 3% of the other patients walk away from their 10-minute hold, 8% of
the bookings are cancelled at a uniform instant before the visit, and patients do not come
with a probability that grows with the lead time and with their own recent no-shows.

* ``simpy_model`` is a plain SimPy script, written the way a data scientist writes such a study
  (one process per patient request, counters per slot). It is the baseline of the speed goal:
  it was written before the speed work on the simulator and is left unchanged since.
* ``haoyuan_model`` runs ``sim.simulate(REGION, DEMAND, POLICY, days=28, seed=...)`` on the
  real engine, with the same dicts (the SimPy script reads its numbers from them).

Both draw their own random numbers, so the comparison is statistical: ``--reps`` replications
each (SimPy seeds ``0 .. reps-1``, haoyuan ``sim.replication_seed(0, r)``), means with 95%
Student-t intervals, and whether the two intervals overlap. Then the absolute time of one
replication of each (median over the replications): wall clock and on-CPU time
(``time.process_time()``) for both, ``SimResult.elapsed_s`` (the Rust loop alone) for
haoyuan, and the speed ratio of the wall-clock medians. One thread each.

    python benchmarks/simpy_district.py [--reps 5] [--json out.json]

What both sides share, and what was simplified on both sides the same way
--------------------------------------------------------------------------
* Region: 1 district, 200 community clinics, no hospitals (a tier may have no institution,
  so the tier preference sends every request to the clinics without diluting the measured
  places with empty hospital slots), one specialty (internal medicine), no beds nor exam
  devices, the preset's 14-day publication horizon (the booking window is 7 days: the
  horizon only decides which slots exist). Five working days a week, so no doctor takes the
  random day off that the engine gives on six- and seven-day rosters.
* Demand: no referrals (``referral_share=0``), no follow-ups, no waitlist
  (``waitlist_probability=0`` and the engine's waitlist off), the default no-show model
  (11% + 0.8 points per day of lead time + 10 points per own no-show of the last 30 days,
  at most 90%), a population of 400,000 residents (whose ids carry that history), the
  default hours, weekday factors, channel mix (kiosk and phone users reach the release
  within 90 seconds, the others within 20), cancellation and hold-abandonment probabilities.
  The number of requests of a day is its mean rounded up or down at random (not Poisson),
  as in the simulator's demand.
* Policy: "islands" (``alternatives=0``); no-show penalties that do not bite
  (``ladder_days=[]``, ``step_days=0``: the engine still counts no-shows and issues
  suspensions of zero days, which refuse nobody); per-patient limits raised to 1,000 so that
  they never refuse (the SimPy model has no per-patient limits); no overbooking, no lottery,
  no channel quotas; no referral pool (clinics have none).
* Warm-up: ``sim.default_warmup_days(REGION, DEMAND, POLICY)`` (30 days: the no-show history
  window) for both; both start with empty slots and the first 7 days open.

Measurement (the same rules on both sides)
------------------------------------------
Only the visit dates of the 28 measured days count for the slot metrics, and only requests
made on those days for the request metrics:

* ``utilisation`` = attended places (within capacity) / places of the window's dates;
* ``booking_rate`` = bookings standing at the visit (within capacity) / places;
* ``no_show_rate`` = no-shows / bookings standing at the visit;
* ``served_rate`` = the window's requests that got a confirmed place / the window's requests;
* ``days_to_appointment_mean`` = mean days from the request to the start of the visit booked
  for it (bookings later cancelled included, as the simulator counts them when taken).

Results (``--reps 5`` on the project's 2-core machine, each run with a core to itself)
--------------------------------------------------------------------------------------
Every metric agrees: the two 95% intervals overlap, and the means differ by at most 0.2
percentage points (booking rate)::

    metric                           SimPy mean [95% CI]         haoyuan.sim mean [95% CI]
    utilisation                  0.7197 [0.7166, 0.7229]     0.7186 [0.7175, 0.7198]
    booking_rate                 0.8210 [0.8190, 0.8231]     0.8189 [0.8167, 0.8211]
    no_show_rate                 0.1234 [0.1216, 0.1252]     0.1225 [0.1208, 0.1241]
    served_rate                  0.9588 [0.9578, 0.9599]     0.9592 [0.9589, 0.9594]
    days_to_appointment_mean     1.3886 [1.3780, 1.3992]     1.3880 [1.3775, 1.3986]

The comparison has teeth: the same SimPy model with booking closed on the visit date itself
instead of at the segment's start (a plausible misreading of the window rule) is flagged at
once (1.81 days to appointment against 1.39; the other metrics stay within their intervals).

Absolute times of one replication (30 + 28 simulated days, median of 5): SimPy 4.41 s wall,
4.36 s on-CPU (237,000 model events); haoyuan.sim 0.72 s wall, 0.72 s on-CPU, of which
``elapsed_s`` 0.66 s in the Rust loop: 6.1x faster (6-7x over three runs), against the goal
of 100x. The whole benchmark (10 runs) takes about 26-32 s. On a loaded machine (another
study and a release build on the same two cores) the same run took 9.4 s / 6.4 s on-CPU for
SimPy and 1.29 s / 0.89 s for haoyuan.sim (55 s in all): the ratio held (7x), the absolute
seconds did not. The script prints both clocks; the numbers of the last run are in the
``--json`` output.

What does not agree bit for bit, by construction: the two sides draw different random
numbers (the engine's demand streams are ChaCha8 per day, SimPy's one ``random.Random``), so
only the distributions match; and events within one second are ordered by scheduling on
both sides, which differs. Neither shows in the metrics above.
"""

from __future__ import annotations

import os

# One thread on the haoyuan side too (a single simulate() runs one loop; this keeps any pool
# of the native module from counting more than one core).
os.environ.setdefault("RAYON_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import date  # noqa: E402
from typing import Dict, List, Optional  # noqa: E402

import simpy  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from haoyuan import sim  # noqa: E402

DAY = 86_400
DAYS = 28
SEED = 0

# The model, as haoyuan.sim dicts (the SimPy script reads the same numbers).
REGION = sim.region(
    "small",
    name="district",
    districts=1,
    specialties=["internal_medicine"],
    community={"institutions": 200, "departments": 1, "doctors_per_department": 1, "expert_share": 0.0,
               "sessions": [[480, 720]], "segment_min": 30, "places_per_slot": 2,
               "weekdays": [0, 1, 2, 3, 4], "beds": 0, "exam_devices": 0},
    secondary={"institutions": 0, "beds": 0, "exam_devices": 0},
    tertiary={"institutions": 0, "beds": 0, "exam_devices": 0},
)  # fmt: skip
DEMAND = sim.demand(
    population=400_000,
    requests_per_day=2400.0,
    tier_preference=[1.0, 0.0, 0.0],
    specialty_weights={"internal_medicine": 1.0},
    other_specialty_weight=0.0,
    referral_share=0.0,
    follow_up_share=0.0,
    waitlist_probability=0.0,
)
POLICY = sim.policy(
    "islands",
    engine={
        "no_show": {"ladder_days": [], "step_days": 0},
        "waitlist": {"enabled": False},
        "limits": {"per_department_day": 1000, "per_visit_date": 1000, "per_seven_days": 1000, "total_active": 1000},
    },
)
WARM_DAYS = sim.default_warmup_days(REGION, DEMAND, POLICY)

OPEN_DAYS = POLICY["engine"]["window"]["open_days_ahead"]
RELEASE_S = POLICY["engine"]["window"]["release_at_min"] * 60
HOLD_TTL_S = POLICY["engine"]["hold"]["ttl_s"]
START_WEEKDAY = date.fromisoformat(REGION["start_date"]).weekday()  # Monday = 0
SLOW_CHANNELS = ("kiosk", "phone")  # reach the release within 90 s, the others within 20 s

METRICS = ["utilisation", "booking_rate", "no_show_rate", "served_rate", "days_to_appointment_mean"]


# --------------------------------------------------------------------------------- SimPy


@dataclass
class Slot:
    clinic: int
    day: int
    start_s: int  # seconds after midnight of day 0 (the first measured day)
    capacity: int
    booked: int = 0  # places currently taken (holds included)
    at_visit: int = 0  # bookings standing when the visit starts
    attended: int = 0


@dataclass
class Stats:
    requests: int = 0
    served: int = 0
    found_nothing: int = 0
    abandoned: int = 0
    cancelled: int = 0
    no_shows: int = 0
    leads: List[int] = field(default_factory=list)  # seconds from request to visit
    events: int = 0


def simpy_model(seed: int) -> Dict[str, float]:
    rng = random.Random(seed)
    env = simpy.Environment(initial_time=-WARM_DAYS * DAY)
    st = Stats()

    # Clinics and their slots, from the region dict.
    clinics = []  # (tier index, roster rows)
    for ti, tier in enumerate(["community", "secondary", "tertiary"]):
        t = REGION[tier]
        for _ in range(t["institutions"]):
            rows = []
            for _doc in range(t["doctors_per_department"]):
                for a, b in t["sessions"]:
                    m = a
                    while m + t["segment_min"] <= b:
                        rows.append((m, t["places_per_slot"], t["weekdays"]))
                        m += t["segment_min"]
            clinics.append((ti, rows))
    slots: Dict[tuple, List[Slot]] = {}  # (clinic, day) -> slots in start order
    for c, (_ti, rows) in enumerate(clinics):
        for day in range(-WARM_DAYS, DAYS + OPEN_DAYS):
            for start_min, places, weekdays in rows:
                if (START_WEEKDAY + day) % 7 in weekdays:
                    slots.setdefault((c, day), []).append(Slot(c, day, day * DAY + start_min * 60, places))
    for day_slots in slots.values():
        day_slots.sort(key=lambda s: s.start_s)
    by_tier = [[c for c, (ti, _) in enumerate(clinics) if ti == i] for i in range(3)]

    pref = DEMAND["tier_preference"]
    tier_w = [pref[i] if by_tier[i] else 0.0 for i in range(3)]
    hour_w = DEMAND["hourly_weights"]
    channels = list(DEMAND["channel_mix"])
    channel_w = [DEMAND["channel_mix"][c] for c in channels]
    ns = DEMAND["no_show"]
    past_no_shows: Dict[int, List[int]] = {}  # patient -> days of their latest no-shows

    def is_open(s: Slot, now: float) -> bool:
        """Released at 15:00 seven days before the visit date, bookable until it starts."""
        return (s.day - OPEN_DAYS) * DAY + RELEASE_S <= now < s.start_s

    def earliest(clinic: int, first: int, last: int, now: float) -> Optional[Slot]:
        for day in range(first, last + 1):
            for s in slots.get((clinic, day), []):
                if s.booked < s.capacity and is_open(s, now):
                    return s
        return None

    def no_show_probability(patient: int, lead_days: float, today: int) -> float:
        recent = [d for d in past_no_shows.get(patient, []) if d > today - ns["history_days"]]
        p = ns["base"] + ns["per_lead_day"] * max(lead_days, 0.0) + ns["per_past_no_show"] * len(recent)
        return min(max(p, 0.0), ns["max"])

    def booking(s: Slot, patient: int, asked_at: int, measured: bool):
        """A confirmed booking: cancelled at some point before the visit, or visited."""
        booked_at = env.now
        if measured:
            st.served += 1
            st.leads.append(s.start_s - asked_at)
        if rng.random() < DEMAND["cancel_probability"]:
            cancel_at = booked_at + int(rng.random() * (s.start_s - booked_at))
            if cancel_at < s.start_s:
                yield env.timeout(cancel_at - env.now)
                st.events += 1
                s.booked -= 1
                st.cancelled += measured
                return
        yield env.timeout(s.start_s - env.now)
        st.events += 1
        s.at_visit += 1
        today = s.day
        if rng.random() < no_show_probability(patient, (s.start_s - booked_at) / DAY, today):
            st.no_shows += 1
            past_no_shows[patient] = (past_no_shows.get(patient, []) + [today])[-4:]
        else:
            s.attended += 1

    def abandoned_hold(s: Slot):
        """The patient walks away from payment: the place comes back when the hold expires."""
        yield env.timeout(HOLD_TTL_S)
        st.events += 1
        s.booked -= 1

    def request(at: int, day: int, spike: bool, patient: int):
        yield env.timeout(at - env.now)
        st.events += 1
        measured = day >= 0
        st.requests += measured
        ti = rng.choices([0, 1, 2], weights=tier_w)[0]
        clinic = rng.choice(by_tier[ti])
        if spike:
            # At the release everyone sees the same fresh day and picks a place they like;
            # the place is booked at once (no hold to walk away from).
            free = [s for s in slots.get((clinic, day + OPEN_DAYS), []) if s.booked < s.capacity and is_open(s, env.now)]
            if not free:
                st.found_nothing += measured
                return
            s = rng.choice(free)
            s.booked += 1
            yield from booking(s, patient, at, measured)
            return
        s = earliest(clinic, day, day + OPEN_DAYS, env.now)
        if s is None:
            st.found_nothing += measured
            return
        s.booked += 1  # held
        if rng.random() < DEMAND["hold_abandon_probability"]:
            st.abandoned += measured
            env.process(abandoned_hold(s))
            return
        yield from booking(s, patient, at, measured)

    def arrivals():
        for day in range(-WARM_DAYS, DAYS):
            mean = DEMAND["requests_per_day"] * DEMAND["weekday_factor"][(START_WEEKDAY + day) % 7]
            n = int(mean) + (rng.random() < mean - int(mean))
            for _ in range(n):
                patient = rng.randrange(DEMAND["population"])
                channel = rng.choices(channels, weights=channel_w)[0]
                if rng.random() < DEMAND["release_spike_share"]:
                    within = 90 if channel in SLOW_CHANNELS else 20
                    at = day * DAY + RELEASE_S + int(rng.random() * within)
                    env.process(request(at, day, True, patient))
                else:
                    hour = rng.choices(range(24), weights=hour_w)[0]
                    at = day * DAY + hour * 3600 + int(rng.random() * 3600)
                    env.process(request(at, day, False, patient))
            yield env.timeout((day + 1) * DAY - env.now)

    env.process(arrivals())
    env.run(until=DAYS * DAY)

    window = [s for day_slots in slots.values() for s in day_slots if 0 <= s.day < DAYS]
    places = sum(s.capacity for s in window)
    booked = sum(min(s.at_visit, s.capacity) for s in window)
    attended = sum(min(s.attended, s.capacity) for s in window)
    visits = sum(s.at_visit for s in window)
    no_shows = sum(s.at_visit - s.attended for s in window)
    return {
        "utilisation": attended / places,
        "booking_rate": booked / places,
        "no_show_rate": no_shows / visits if visits else math.nan,
        "served_rate": st.served / st.requests if st.requests else math.nan,
        "days_to_appointment_mean": statistics.fmean(st.leads) / DAY if st.leads else math.nan,
        "requests": st.requests,
        "served": st.served,
        "found_nothing": st.found_nothing,
        "holds_abandoned": st.abandoned,
        "cancellations": st.cancelled,
        "events": st.events,
    }


# ------------------------------------------------------------------------------ haoyuan


def haoyuan_model(seed: int) -> tuple:
    r = sim.simulate(REGION, DEMAND, POLICY, days=DAYS, seed=seed, progress=False)
    assert r.raw["warmup_days"] == WARM_DAYS, r.raw["warmup_days"]
    s = r.summary()
    c = r["counts"]
    out = {m: float(s[m]) for m in METRICS}
    out.update(
        requests=c["requests"],
        served=c["served"],
        found_nothing=c["found_nothing"],
        holds_abandoned=c["holds_abandoned"],
        cancellations=c["cancellations"],
        events=c["engine_calls"],
        anomalies=c["anomalies"],
        refused=c["refused_limit"] + c["refused_suspended"],
    )
    return out, r.elapsed_s, r.warnings


# ------------------------------------------------------------------------------- report


def mean_ci(xs: List[float]) -> tuple:
    """Mean and the half-width of its 95% Student-t interval."""
    xs = [x for x in xs if not math.isnan(x)]
    m = statistics.fmean(xs)
    if len(xs) < 2:
        return m, math.nan
    return m, sim.t_quantile_975(len(xs) - 1) * statistics.stdev(xs) / math.sqrt(len(xs))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    started = time.perf_counter()
    runs: Dict[str, List[Dict[str, float]]] = {"simpy": [], "haoyuan": []}
    times: Dict[str, Dict[str, List[float]]] = {
        "simpy": {"wall_s": [], "cpu_s": []},
        "haoyuan": {"wall_s": [], "cpu_s": [], "elapsed_s": []},
    }
    warnings: List[str] = []
    with tqdm(total=2 * args.reps, desc="simpy_district", unit="run") as bar:
        for rep in range(args.reps):
            bar.set_postfix_str(f"SimPy rep {rep}")
            w, c = time.perf_counter(), time.process_time()
            runs["simpy"].append(simpy_model(SEED + rep))
            times["simpy"]["cpu_s"].append(time.process_time() - c)
            times["simpy"]["wall_s"].append(time.perf_counter() - w)
            bar.update()
            bar.set_postfix_str(f"haoyuan rep {rep}")
            w, c = time.perf_counter(), time.process_time()
            out, elapsed, warn = haoyuan_model(sim.replication_seed(SEED, rep))
            times["haoyuan"]["cpu_s"].append(time.process_time() - c)
            times["haoyuan"]["wall_s"].append(time.perf_counter() - w)
            times["haoyuan"]["elapsed_s"].append(elapsed)
            runs["haoyuan"].append(out)
            warnings.extend(warn)
            bar.update()

    rows = []
    all_agree = True
    print(f"\n{REGION['community']['institutions']} clinics, {DAYS} measured days after {WARM_DAYS} days of warm-up, "
          f"{args.reps} replications each (mean [95% CI])\n")  # fmt: skip
    print(f"{'metric':26} {'SimPy':>26} {'haoyuan.sim':>26}  overlap")
    for m in METRICS:
        a, ah = mean_ci([r[m] for r in runs["simpy"]])
        b, bh = mean_ci([r[m] for r in runs["haoyuan"]])
        # With one replication there is no interval: nothing to tell.
        overlap = None if math.isnan(ah) or math.isnan(bh) else (a - ah <= b + bh and b - bh <= a + ah)
        all_agree &= overlap is not False
        rows.append(dict(metric=m, simpy_mean=a, simpy_ci=[a - ah, a + ah], haoyuan_mean=b,
                         haoyuan_ci=[b - bh, b + bh], overlap=overlap))  # fmt: skip
        print(f"{m:26} {a:8.4f} [{a - ah:7.4f}, {a + ah:7.4f}] {b:8.4f} [{b - bh:7.4f}, {b + bh:7.4f}]  "
              f"{'n/a' if overlap is None else 'yes' if overlap else 'NO'}")  # fmt: skip
    med = {k: {t: statistics.median(v) for t, v in d.items()} for k, d in times.items()}
    ratio = med["simpy"]["wall_s"] / med["haoyuan"]["wall_s"]
    cpu_ratio = med["simpy"]["cpu_s"] / med["haoyuan"]["cpu_s"]
    print("\nseconds per replication (median over replications, one thread each):")
    print(f"  SimPy        wall {med['simpy']['wall_s']:8.3f}   on-CPU {med['simpy']['cpu_s']:8.3f}")
    print(f"  haoyuan.sim  wall {med['haoyuan']['wall_s']:8.3f}   on-CPU {med['haoyuan']['cpu_s']:8.3f}   "
          f"elapsed_s {med['haoyuan']['elapsed_s']:8.3f}")  # fmt: skip
    print(f"  haoyuan.sim is {ratio:.1f}x faster (wall clock; {cpu_ratio:.1f}x on-CPU); goal: 100x")
    simpy_events = statistics.fmean(r["events"] for r in runs["simpy"])
    print(f"  SimPy handled {simpy_events:,.0f} model events per replication "
          f"({simpy_events / med['simpy']['wall_s']:,.0f} events/s)")  # fmt: skip
    for w in sorted(set(warnings)):
        print(f"haoyuan warning: {w}")
    total = time.perf_counter() - started
    print(f"whole benchmark: {total:.1f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "clinics": REGION["community"]["institutions"],
                    "days": DAYS,
                    "warmup_days": WARM_DAYS,
                    "replications": args.reps,
                    "rows": rows,
                    "all_overlap": all_agree,
                    "seconds_per_replication_median": med,
                    "seconds_per_replication": times,
                    "speedup_wall": ratio,
                    "speedup_cpu": cpu_ratio,
                    "benchmark_s": total,
                    "runs": runs,
                    "haoyuan_warnings": sorted(set(warnings)),
                    "region": REGION,
                    "demand": DEMAND,
                    "policy": POLICY,
                },
                f,
                indent=2,
            )
    return 0 if all_agree else 1


if __name__ == "__main__":
    sys.exit(main())
