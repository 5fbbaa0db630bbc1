"""haoyuan.sim from Python: presets, determinism, compare with confidence intervals, the
custom-policy hook, progress, typed errors, and metric invariants under random inputs."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

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


def test_overrides_replace_maps_and_merge_records() -> None:
    # Found trying it as a data scientist: region(name=...) raised TypeError (the preset's
    # parameter was called name), and a mix passed to demand() merged into the preset's.
    assert sim.region("small", name="Xiamen")["name"] == "Xiamen"
    only = sim.demand(specialty_weights={"internal_medicine": 1.0})
    assert only["specialty_weights"] == {"internal_medicine": 1.0}
    channels = sim.demand(channel_mix={"app": 1.0})
    assert channels["channel_mix"] == {"app": 1.0}
    # Records still merge field by field.
    d = sim.demand(no_show={"base": 0.2})
    assert d["no_show"]["base"] == 0.2 and d["no_show"]["history_days"] == sim.demand()["no_show"]["history_days"]
    p = sim.policy(engine={"overbooking": {"by_department": {"3": 0.5}}})
    assert p["engine"]["overbooking"]["by_department"] == {"3": 0.5}
    assert p["engine"]["window"] == sim.policy()["engine"]["window"]
    # The replaced mix is what runs: every request asks for internal medicine.
    r = sim.simulate("small", sim.demand(requests_per_day=200.0, population=2_000, specialty_weights={"internal_medicine": 1.0}, other_specialty_weight=0.0), days=2, seed=1)
    booked = r.by_department()
    assert set(booked[booked["booked"] > 0]["specialty"]) == {"internal_medicine"}


def test_warm_up_and_not_measured_metrics() -> None:
    r = sim.simulate("small", small_demand(), days=3, seed=1)
    assert r["warmup_days"] == sim.default_warmup_days("small", small_demand(), "unified") == 14 + 30
    assert r.warnings == []
    short = sim.simulate("small", small_demand(), days=3, seed=1, warmup_days=2)
    assert short["warmup_days"] == 2 and any("warm-up of 2 days" in w for w in short.warnings)

    class Never(sim.CustomPolicy):
        def choose(self, ctx: dict, offers: list) -> None:
            return None

    # Nobody served: the waits are not measured — NaN with a reason, never 0.
    none = sim.simulate("small", small_demand(waitlist_probability=0.0), days=2, seed=3, hooks=Never())
    s = none.summary()
    assert math.isnan(s["days_to_appointment_p50"]) and math.isnan(s["days_to_appointment_mean"])
    assert none["days_to_appointment"]["p50_days"] is None
    assert any("not measured" in w for w in none.warnings), none.warnings
    assert "warnings=" in repr(none)


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_summary_equals_compare_bit_for_bit() -> None:
    # Found trying it: SimResult.summary() re-read the result through serde_json, whose default
    # float parser can be one ulp off; compare() computed the summary before the round trip.
    df = sim.compare({"unified": "unified", "islands": "islands"}, region="small", demand=small_demand(), days=3, replications=2, seed=5)
    checked = 0
    for run in df.attrs["runs"]:
        again = sim.SimResult(run["result"]).summary()
        assert again.keys() == run["summary"].keys()
        for k, v in run["summary"].items():
            assert _same(again[k], v), (k, again[k], v)
            checked += 1
    assert checked > 100


def test_progress_bar_shows_in_jupyter_and_terminals(monkeypatch: pytest.MonkeyPatch) -> None:
    # pytest's stderr is not a terminal, as a Jupyter kernel's is not.
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    monkeypatch.delenv("JPY_PARENT_PID", raising=False)
    assert sim._progress_bar(None, "x")[0] is None
    monkeypatch.setitem(sys.modules, "ipykernel", object())
    callback, close = sim._progress_bar(None, "x")
    try:
        assert callback is not None
        callback(1, 2)
    finally:
        close()


_INTERRUPTIBLE = textwrap.dedent(
    """
    import signal
    import sys
    # What an interactive Python has: a process started in the background by a shell (make
    # test under nohup, CI runners) inherits SIGINT ignored, and Python then installs no
    # KeyboardInterrupt handler — Ctrl-C would be ignored before it reached the engine.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from haoyuan import sim, _native
    def progress(done, total):
        if done == 1:
            print("running", flush=True)
    demand = sim.demand(requests_per_day=3000.0, population=20_000)
    if sys.argv[1] == "simulate":
        _native.sim_simulate("small", demand, "unified", 3000, 1, progress, None)
    else:
        _native.sim_compare({"a": "unified", "b": "islands"}, "small", demand, 3000, 2, 1, progress)
    print("finished", flush=True)
    """
)


@pytest.mark.parametrize("call", ["simulate", "compare"])
def test_ctrl_c_stops_a_long_run(call: str) -> None:
    # Years of simulated days would take many minutes: SIGINT must end the run at its next
    # simulated day with KeyboardInterrupt, in simulate and in compare's worker threads alike.
    # `with`: the pipes are closed and the child reaped whatever happens (an unclosed pipe
    # would surface as a ResourceWarning in a later test).
    with subprocess.Popen([sys.executable, "-c", _INTERRUPTIBLE, call], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy()) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "running"
            proc.send_signal(signal.SIGINT)
            sent = time.monotonic()
            out, err = proc.communicate(timeout=60)
            waited = time.monotonic() - sent
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert "KeyboardInterrupt" in err, err[-2000:]
    assert "finished" not in out
    assert proc.returncode != 0
    # Not a speed measure: "promptly" = well before the run's minutes, on a loaded machine too.
    assert waited < 30, waited


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
    # Waits are those of the measured requests that got a place.
    assert w.to_numpy().sum() == r["counts"]["served"]
    days = r.by_day()
    assert list(days.index) == list(range(10)) and days["places"].sum() == r["total"]["places"]
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
    # The hook decides in the warm-up too; the count is the measured days' declines only.
    assert 0 < r["counts"]["overbooking_declined"] <= hooks.overbook_calls

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
    # The suggestion cache's setting is gone (suggestions are computed for every request): a
    # policy that still names it is refused by name, not silently ignored.
    with pytest.raises(haoyuan.HaoyuanError, match="alternatives_refresh_s"):
        sim.simulate("small", small_demand(), sim.policy(alternatives_refresh_s=0), days=2)


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
        assert u["places"] > 0, "the small region has places in every tier"
        assert 0 <= u["utilisation"] <= u["booking_rate"] <= 1
    assert c["served"] <= c["requests"]
    # Not measured (None, NaN in summaries) exactly when there was nothing to measure.
    assert (r["no_show_rate"] is None) == (t["booked"] == 0)
    assert t["booked"] == 0 or 0 <= r["no_show_rate"] <= 1
    lead = r["days_to_appointment"]
    assert (lead["p50_days"] is None) == (c["served"] == 0)
    assert c["served"] == 0 or lead["p50_days"] <= lead["p90_days"]


def test_summarise_paired_differences_by_hand() -> None:
    # The study's "policy − baseline" with its CI, checked on made-up replications: the test is
    # of the arithmetic, not of which policy wins. Replication 2 of "b" could not measure m2.
    runs = [
        {"policy": "a", "replication": 0, "summary": {"m1": 1.0, "m2": 10.0}},
        {"policy": "a", "replication": 1, "summary": {"m1": 2.0, "m2": 12.0}},
        {"policy": "a", "replication": 2, "summary": {"m1": 4.0, "m2": 11.0}},
        {"policy": "b", "replication": 0, "summary": {"m1": 2.0, "m2": 13.0}},
        {"policy": "b", "replication": 1, "summary": {"m1": 4.0, "m2": 14.0}},
        {"policy": "b", "replication": 2, "summary": {"m1": 5.0, "m2": math.nan}},
    ]
    df = sim.summarise(runs).set_index(["policy", "metric"])
    b1 = df.loc[("b", "m1")]
    # Differences 1, 2, 1: mean 4/3, sd 1/sqrt(3), half-width t(2) × sd / sqrt(3).
    half = sim.t_quantile_975(2) * (1 / math.sqrt(3)) / math.sqrt(3)
    assert b1["diff_mean"] == pytest.approx(4 / 3)
    assert (b1["diff_ci_low"], b1["diff_ci_high"]) == pytest.approx((4 / 3 - half, 4 / 3 + half))
    assert b1["mean"] == pytest.approx(11 / 3) and b1["n"] == 3
    # The unmeasured replication is left out of the mean and of the pairs: differences 3, 2.
    b2 = df.loc[("b", "m2")]
    assert b2["n"] == 2 and b2["mean"] == pytest.approx(13.5)
    half2 = sim.t_quantile_975(1) * math.sqrt(0.5) / math.sqrt(2)
    assert b2["diff_mean"] == pytest.approx(2.5)
    assert (b2["diff_ci_low"], b2["diff_ci_high"]) == pytest.approx((2.5 - half2, 2.5 + half2))
    a1 = df.loc[("a", "m1")]
    assert a1["diff_mean"] == 0 and a1["diff_ci_low"] == a1["diff_ci_high"] == 0
