"""haoyuan.sim from Python: presets, determinism, compare with confidence intervals, the
custom-policy hook, progress, typed errors, and metric invariants under random inputs."""

from __future__ import annotations

import math
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import haoyuan
from haoyuan import sim


def small_demand(**kw: object) -> dict:
    return sim.demand(requests_per_day=400.0, population=5_000, **kw)


def test_presets_have_the_domain_numbers() -> None:
    dg = sim.region("dongguan")
    n = sum(dg[t]["institutions"] for t in ("community", "secondary", "tertiary"))
    assert n == 2300 and dg["horizon_days"] == 14
    assert dg["community"]["institutions"] / n > 0.9
    assert sim.demand("dongguan")["requests_per_day"] > sim.demand()["requests_per_day"]
    p = sim.policy("islands", alternatives=0)
    assert p["unified_pool"] is False and "engine" in p
    # Overrides merge into nested dicts rather than replacing them.
    d = sim.demand(no_show={"base": 0.2})
    assert d["no_show"]["base"] == 0.2 and d["no_show"]["per_past_no_show"] > 0


def test_same_seed_same_result() -> None:
    a = sim.simulate("small", small_demand(), "unified", days=5, seed=9)
    b = sim.simulate("small", small_demand(), "unified", days=5, seed=9)
    c = sim.simulate("small", small_demand(), "unified", days=5, seed=10)
    assert a.same_as(b)
    assert not a.same_as(c)
    assert a["counts"]["anomalies"] == 0, a["notes"]


def test_result_tables() -> None:
    r = sim.simulate("small", small_demand(), sim.policy(engine={"lottery": {"window_s": 60}}), days=10, seed=1)
    # (The release of day d + 7 lies inside the run only from day 8 on.)
    tiers = r.by_tier()
    assert list(tiers.index) == ["community", "secondary", "tertiary"]
    assert tiers["places"].sum() == r["total"]["places"]
    assert r.by_institution()["places"].sum() == r["total"]["places"]
    assert r.by_department()["booked"].sum() == r["total"]["booked"]
    w = r.waiting_times()
    assert w.to_numpy().sum() == r["total"]["booked"]
    f = r.fairness()
    assert 0 < f.attrs["jain"] <= 1 and 0 <= f.attrs["gini"] < 1
    assert r.fairness("channels")["requests"].sum() == r["counts"]["requests"]
    rel = r.release()
    assert math.isclose(rel["share_won"].sum(), 1.0)
    s = r.summary()
    assert s["utilisation"] == r.utilisation and "release_share_won_general" in s
    assert "utilisation=" in repr(r)


def test_compare_gives_means_and_confidence_intervals() -> None:
    df = sim.compare(
        {"unified": "unified", "overbook": sim.policy(engine={"overbooking": {"ratio": 0.2}})},
        region="small",
        demand=small_demand(),
        days=4,
        replications=3,
        seed=2,
    )
    assert set(df.columns) >= {"policy", "metric", "mean", "ci_low", "ci_high", "n", "diff_mean"}
    assert set(df["policy"]) == {"unified", "overbook"}
    assert (df["n"] == 3).all()
    assert (df["ci_low"] <= df["mean"] + 1e-12).all() and (df["mean"] <= df["ci_high"] + 1e-12).all()
    base = df[df["policy"] == "unified"]
    assert (base["diff_mean"] == 0).all()
    assert len(df.attrs["runs"]) == 6
    # Replication r of every policy ran on the same seed (common random numbers).
    seeds = {(r["policy"], r["replication"]): r["seed"] for r in df.attrs["runs"]}
    assert seeds[("unified", 1)] == seeds[("overbook", 1)]
    # The mean is the mean of the runs.
    util = [r["summary"]["utilisation"] for r in df.attrs["runs"] if r["policy"] == "overbook"]
    row = df[(df["policy"] == "overbook") & (df["metric"] == "utilisation")].iloc[0]
    assert math.isclose(row["mean"], sum(util) / 3)
    assert sim.t_quantile_975(2) == pytest.approx(4.303)
    assert sim.t_quantile_975(1000) == pytest.approx(1.9623, abs=1e-3)
    # Found by the hardening fuzz under make test-latest: 1e308 ** 2 raised OverflowError.
    for huge in (10**6 + 1, 1e308, 10**400, math.inf):
        assert sim.t_quantile_975(huge) == pytest.approx(1.95996, abs=1e-5), huge


class LatestPlaceNoOverbooking(sim.CustomPolicy):
    """A deliberately odd custom policy, to see that the simulator obeys it."""

    def __init__(self) -> None:
        self.calls = 0
        self.overbook_calls = 0

    def choose(self, ctx: dict, offers: list) -> int | None:
        self.calls += 1
        assert offers and ctx["class"] in ("emergency", "urgent", "routine", "follow_up", "general")
        return max(range(len(offers)), key=lambda i: offers[i]["days_ahead"])

    def overbook(self, ctx: dict, offer: dict, booked: int, capacity: int) -> bool:
        self.overbook_calls += 1
        assert booked >= capacity
        return False


def test_custom_policy_hook() -> None:
    hooks = LatestPlaceNoOverbooking()
    policy = sim.policy(engine={"overbooking": {"ratio": 0.5}})
    r = sim.simulate("small", sim.demand(requests_per_day=1500.0, population=8000), policy, days=4, seed=3, hooks=hooks)
    assert hooks.calls > 0 and hooks.overbook_calls > 0
    assert r["total"]["overflow"] == 0
    assert r["counts"]["overbooking_declined"] == hooks.overbook_calls

    class Never(sim.CustomPolicy):
        def choose(self, ctx: dict, offers: list) -> None:
            return None

    # Nobody takes any offer (and nobody waits for one): nothing is booked.
    none = sim.simulate("small", small_demand(waitlist_probability=0.0), "unified", days=3, seed=3, hooks=Never())
    assert none["counts"]["requests"] > 0 and none["counts"]["served"] == 0 and none["total"]["booked"] == 0


def test_hook_errors_are_raised() -> None:
    class Broken:
        def choose(self, ctx: dict, offers: list) -> int:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        sim.simulate("small", small_demand(), "unified", days=2, seed=1, hooks=Broken())

    class OutOfRange:
        def choose(self, ctx: dict, offers: list) -> int:
            return len(offers)

    with pytest.raises(haoyuan.HaoyuanError):
        sim.simulate("small", small_demand(), "unified", days=2, seed=1, hooks=OutOfRange())


def test_progress_and_gil_release() -> None:
    seen: list = []
    ticks = 0
    stop = threading.Event()

    def other_thread() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            stop.wait(0.001)

    t = threading.Thread(target=other_thread)
    t.start()
    try:
        r = haoyuan._native.sim_simulate("small", small_demand(), "unified", 10, 1, lambda d, n: seen.append((d, n)), None)
    finally:
        stop.set()
        t.join()
    assert seen and seen[-1][0] == seen[-1][1], seen[-3:]
    assert r["days"] == 10
    assert ticks > 10, "another Python thread ran while the simulation did"
    # The tqdm bar path.
    assert sim.simulate("small", small_demand(), "unified", days=2, seed=1, progress=True).raw["days"] == 2


def test_bad_input_is_a_typed_error() -> None:
    with pytest.raises(haoyuan.InvalidArgument):
        sim.simulate("small", small_demand(), "unified", days=0)
    with pytest.raises(haoyuan.InvalidArgument):
        sim.simulate("small", small_demand(), "unified", days=100_000)
    with pytest.raises(haoyuan.HaoyuanError):
        sim.simulate(sim.region(districts=0), small_demand(), "unified", days=2)
    with pytest.raises(haoyuan.HaoyuanError):
        sim.simulate("small", sim.demand(cancel_probability=2.0), "unified", days=2)
    with pytest.raises(haoyuan.HaoyuanError):
        sim.simulate("small", sim.demand(typo_field=1), "unified", days=2)
    with pytest.raises(haoyuan.HaoyuanError):
        sim.simulate("small", small_demand(), sim.policy(engine={"overbooking": {"ratio": 5.0}}), days=2)
    with pytest.raises(haoyuan.HaoyuanError):
        sim.simulate("atlantis", small_demand(), "unified", days=2)
    with pytest.raises(ValueError):
        sim.compare({}, days=2)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    requests=st.floats(0.0, 1500.0),
    no_show=st.floats(0.0, 0.6),
    cancel=st.floats(0.0, 0.5),
    ratio=st.sampled_from([0.0, 0.1, 0.3]),
    unified=st.booleans(),
    lottery=st.sampled_from([0, 60]),
    seed=st.integers(0, 2**32),
)
def test_metric_invariants(requests: float, no_show: float, cancel: float, ratio: float, unified: bool, lottery: int, seed: int) -> None:
    demand = sim.demand(requests_per_day=requests, population=3_000, cancel_probability=cancel, no_show={"base": no_show})
    policy = sim.policy("unified" if unified else "islands", engine={"overbooking": {"ratio": ratio}, "lottery": {"window_s": lottery}})
    r = sim.simulate("small", demand, policy, days=3, seed=seed)
    t = r["total"]
    c = r["counts"]
    assert c["anomalies"] == 0, r["notes"]
    assert t["booked"] == t["attended"] + t["no_shows"]
    # Invariant 1 as the simulator sees it: never more bookings than capacity plus allowance.
    assert t["booked"] <= t["places"] * (1 + ratio) + 1e-9
    if ratio == 0:
        assert t["overflow"] == 0
    for u in [t] + [u for _, u in r["by_tier"]]:
        assert 0 <= u["utilisation"] <= u["booking_rate"] <= 1
    assert c["served"] <= c["requests"]
    assert 0 <= r["no_show_rate"] <= 1
    assert r["days_to_appointment"]["p50_days"] <= r["days_to_appointment"]["p90_days"] or t["booked"] == 0
