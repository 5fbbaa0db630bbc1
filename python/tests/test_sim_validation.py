"""The simulator against published results and analytic answers.

* Overbooking with binomial no-shows: with every place of a slot booked (capacity c plus an
  allowance, n bookings) and each patient missing independently with probability p, the
  attended count is Binomial(n, 1 - p). Attended patients and overflow (attended beyond c)
  must match the analytic expectations within confidence bounds.
* A unified pool against per-hospital "information islands" on the same demand (common random
  numbers): measured in steady state, the unified pool spreads load to the lower tiers and
  shortens waits (the seeds' claim, Dongguan; on Dongguan it books more places too).
* Direction of effect as in LaGanga & Lawrence (2007), "Clinic overbooking to improve patient
  access and increase provider productivity", Decision Sciences 38(2): overbooking raises
  utilisation and raises overflow, and the gain grows with the no-show rate.
"""

from __future__ import annotations

import math

import pytest

import haoyuan
from haoyuan import sim

CAPACITY = 10


def one_clinic(seed_days: int = 60) -> dict:
    """One tertiary department: one doctor, four one-hour segments a day of 10 places."""
    tier = {
        "institutions": 1, "departments": 1, "doctors_per_department": 1, "expert_share": 0.0,
        "sessions": [[480, 720]], "segment_min": 60, "places_per_slot": CAPACITY,
        "weekdays": [0, 1, 2, 3, 4, 5, 6], "beds": 0, "exam_devices": 0,
    }  # fmt: skip
    return sim.region(
        "small",
        districts=1,
        specialties=["internal_medicine"],
        community={"institutions": 0, "departments": 1},
        secondary={"institutions": 0, "departments": 1},
        tertiary=tier,
    )


def saturating_demand(p: float) -> dict:
    """Far more requests than places, a constant no-show probability p and nothing else."""
    return sim.demand(
        population=300_000,
        requests_per_day=300.0,
        weekday_factor=[1.0] * 7,
        release_spike_share=0.0,
        tier_preference=[0.0, 0.0, 1.0],
        specialty_weights={"internal_medicine": 1.0},
        other_specialty_weight=0.0,
        referral_share=0.0,
        follow_up_share=0.0,
        no_show={"base": p, "per_lead_day": 0.0, "per_past_no_show": 0.0, "max": 0.95},
        cancel_probability=0.0,
        hold_abandon_probability=0.0,
        waitlist_probability=0.0,
    )


def overbooked(ratio: float) -> dict:
    return sim.policy("islands", engine={"overbooking": {"ratio": ratio}})


def binom_pmf(n: int, k: int, q: float) -> float:
    return math.comb(n, k) * q**k * (1 - q) ** (n - k)


@pytest.mark.parametrize("p", [0.15, 0.3])
def test_overbooking_matches_the_binomial_expectation(p: float) -> None:
    ratio = 0.2
    n = CAPACITY + int(CAPACITY * ratio)  # bookings a full slot holds
    r = sim.simulate(one_clinic(), saturating_demand(p), overbooked(ratio), days=60, seed=3)
    slots = r["slots"]
    total = r["total"]
    assert total["places"] == CAPACITY * slots
    assert total["booked"] == n * slots, "demand must fill every place, allowance included"
    q = 1 - p
    # Attended per slot ~ Binomial(n, q).
    mean_att = total["attended"] / slots
    se_att = math.sqrt(n * q * p / slots)
    assert abs(mean_att - n * q) < 4 * se_att, (mean_att, n * q, se_att)
    # Overflow per slot: E[max(X - c, 0)] and its standard deviation.
    e_over = sum((k - CAPACITY) * binom_pmf(n, k, q) for k in range(CAPACITY + 1, n + 1))
    e_over2 = sum((k - CAPACITY) ** 2 * binom_pmf(n, k, q) for k in range(CAPACITY + 1, n + 1))
    se_over = math.sqrt((e_over2 - e_over**2) / slots)
    mean_over = total["overflow"] / slots
    assert abs(mean_over - e_over) < 4 * se_over, (mean_over, e_over, se_over)
    # Utilisation: E[min(X, c)] / c.
    e_util = sum(min(k, CAPACITY) * binom_pmf(n, k, q) for k in range(n + 1)) / CAPACITY
    assert abs(r.utilisation - e_util) < 4 * se_att / CAPACITY, (r.utilisation, e_util)
    assert abs(r.no_show_rate - p) < 4 * math.sqrt(p * q / (n * slots))


def test_unified_pool_spreads_load_down_and_shortens_waits() -> None:
    # A busy small city (tertiary hospitals crowded, community clinics idle). Measured in steady
    # state (after the warm-up), the unified pool's effect is load spreading: more of the
    # community clinics' places are booked, less of the load lands on tertiary hospitals, and
    # patients wait less. The total booking rate does not move here (CI of the difference
    # [-0.006, +0.005] when this was written): places are not short city-wide, patients are
    # (suspensions and limits), so the pool changes where and when they are seen, not how many.
    # Before the warm-up existed, the pile-up of warm-up demand on day 0 made the total rise too.
    demand = sim.demand(requests_per_day=2500.0, population=8_000)
    df = sim.compare({"islands": "islands", "unified": "unified"}, region="small", demand=demand, days=10, replications=3, seed=5)
    unified = df[df["policy"] == "unified"].set_index("metric")
    # Paired differences to the islands (common random numbers): the whole 95% interval on one side.
    assert unified.loc["booking_rate_community", "diff_ci_low"] > 0, unified.loc["booking_rate_community"]
    assert unified.loc["days_to_appointment_mean", "diff_ci_high"] < 0, unified.loc["days_to_appointment_mean"]
    # Load moves away from the crowded tertiary hospitals towards the lower tiers.
    runs = sim.results_of(df, "unified")
    islands = sim.results_of(df, "islands")
    for u, i in zip(runs, islands):
        share = lambda r: r.by_tier()["booked"] / r.by_tier()["booked"].sum()  # noqa: E731
        assert share(u)["community"] > share(i)["community"]
        assert share(u)["tertiary"] < share(i)["tertiary"]


def test_laganga_lawrence_direction_of_effect() -> None:
    gains = {}
    for p in (0.1, 0.3):
        base = sim.simulate(one_clinic(), saturating_demand(p), overbooked(0.0), days=40, seed=11)
        over = sim.simulate(one_clinic(), saturating_demand(p), overbooked(0.2), days=40, seed=11)
        assert over.utilisation > base.utilisation, p
        assert base["total"]["overflow"] == 0 and over["total"]["overflow"] > 0, p
        gains[p] = over.utilisation - base.utilisation
    assert gains[0.3] > gains[0.1], gains


def test_overbooking_per_session_and_by_name() -> None:
    # Found trying it: 10% overbooking per slot adds ⌊capacity × 0.1⌋ = 0 places to one- and
    # two-place segments. The simulator counts the allowance per session (resource-day).
    assert sim.policy()["engine"]["overbooking"]["spread"] == "session"
    # The engine's default (per slot) is not written, so old snapshots and digests are unchanged.
    assert "spread" not in haoyuan.Policy().to_dict()["overbooking"]
    assert haoyuan.Policy({"overbooking": {"spread": "session"}}).to_dict()["overbooking"]["spread"] == "session"
    demand = sim.demand(requests_per_day=5000.0, population=50_000)
    runs = {
        spread: sim.simulate("small", demand, sim.policy("islands", engine={"overbooking": {"ratio": 0.1, "spread": spread}}), days=5, seed=4)
        for spread in ("slot", "session")
    }
    assert runs["slot"]["total"]["overflow"] == 0
    assert runs["session"]["total"]["overflow"] > 0
    # By tier (or specialty, or institution name): only the targeted tier overbooks.
    tertiary = sim.simulate("small", demand, sim.policy("islands", overbooking_targets=[{"tier": "tertiary", "ratio": 0.5}]), days=5, seed=4)
    over = {t: u["overflow"] for t, u in tertiary["by_tier"]}
    assert over["tertiary"] > 0 and over["community"] == over["secondary"] == 0
    with pytest.raises(haoyuan.InvalidArgument, match="matches no department"):
        sim.simulate("small", demand, sim.policy(overbooking_targets=[{"institution": "Atlantis General", "ratio": 0.1}]), days=1, seed=4)
    with pytest.raises(haoyuan.HaoyuanError):
        sim.simulate("small", demand, sim.policy(overbooking_targets=[{"tier": "tertiary", "ratio": 1.5}]), days=1, seed=4)


def test_no_show_driven_overbooking_from_python() -> None:
    # The engine's calibration, once a simulated week: extra places where no-shows justify them.
    demand = sim.demand(requests_per_day=5000.0, population=50_000)
    base = sim.simulate("small", demand, sim.policy("islands"), days=5, seed=4)
    policy = sim.policy("islands", no_show_overbooking={"overflow_risk": 0.05, "min_outcomes": 20})
    cal = sim.simulate("small", demand, policy, days=5, seed=4)
    assert cal["total"]["booked"] > base["total"]["booked"]
    assert cal.utilisation > base.utilisation
    # Sessions booked beyond their places rarely see more patients than places (target 5%).
    s = cal["sessions"]
    assert s["overbooked"] > 0 and s["overflowed"] / s["overbooked"] < 0.1, s
    assert base["sessions"]["overbooked"] == 0
    with pytest.raises(haoyuan.InvalidPolicy):
        sim.simulate("small", demand, sim.policy(no_show_overbooking={"overflow_risk": 2.0}), days=1, seed=4)
