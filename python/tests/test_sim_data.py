"""Runs from data (issue 15, item 8): the simulator driven by recorded arrivals — a table, or a
journal read with read_journal — and the no-show model fitted to recorded bookings.

A replay of the synthetic demand's own arrivals makes exactly its requests, whatever the form or
order of the table; two policies replayed on one month differ; every bad row is InvalidArgument
naming it. A journal's requests (bookings, holds, lottery entries) become arrivals with what the
journal can tell, and a compacted journal says what it lacks. calibrate_no_show recovers a known
model from bookings drawn from it."""

from __future__ import annotations

import datetime as dt
import doctest
import math
from pathlib import Path
from typing import Any, Callable, Dict

import numpy as np
import pandas as pd
import pytest

import haoyuan as hy
import haoyuan.calibrate as calibrate_module
from haoyuan import sim

TZ = dt.timezone(dt.timedelta(hours=8))
KEY = bytes(range(32))
DEMAND = sim.demand(requests_per_day=300, population=5_000)
#: 3 measured days after a 14-day warm-up: a run of the small region takes well under a second.
RUN: Dict[str, Any] = dict(days=3, seed=4, warmup_days=14, progress=False)


@pytest.fixture(scope="module")
def month() -> pd.DataFrame:
    return sim.synthetic_arrivals("small", DEMAND, "unified", days=3, seed=4, warmup_days=14)


def replay(arrivals: Any, policy: Any = "unified", **kw: Any) -> sim.SimResult:
    return sim.simulate("small", DEMAND, policy, **{**RUN, **kw}, arrivals=arrivals)


def measured(df: pd.DataFrame) -> int:
    return int((df["day"] >= 0).sum())


def test_a_replay_makes_the_recorded_requests_whatever_the_table_form(month: pd.DataFrame) -> None:
    assert list(month.columns) == ["day", "at_s", "patient", "specialty", "kind", "channel", "at_release"]
    assert month["day"].min() == -14 and month["day"].max() == 2
    assert set(month["kind"].cat.categories) <= {"general", "follow_up", "referral_emergency", "referral_urgent", "referral_routine"}
    assert month["at_release"].any() and (month["kind"] != "general").any()
    a = replay(month)
    assert a["counts"]["requests"] == measured(month)
    assert a["counts"]["anomalies"] == 0, a["notes"]
    assert not [w for w in a.warnings if "recorded" in w], a.warnings
    # The same requests as the synthetic run of the seed (homes come from the seed too).
    synthetic = sim.simulate("small", DEMAND, "unified", **RUN)
    assert a["counts"]["requests"] == synthetic["counts"]["requests"]
    assert [g["requests"] for g in a["fairness_districts"]["groups"]] == [g["requests"] for g in synthetic["fairness_districts"]["groups"]]
    # Deterministic, and the same whatever the order of the rows or the table's form.
    assert a.same_as(replay(month))
    shuffled = month.sample(frac=1.0, random_state=1).reset_index(drop=True)
    assert a.same_as(replay(shuffled))
    assert a.same_as(replay(month.to_dict("list")))
    assert a.same_as(replay(month.to_dict("records")[::-1]))
    plain = month.astype({c: str for c in ("specialty", "kind", "channel")})
    assert a.same_as(replay(plain))
    # at_release may be left out (all False): a different run, as many requests.
    no_release = replay(month.drop(columns=["at_release"]))
    assert no_release["counts"]["requests"] == measured(month)
    assert sum(c["requests"] for c in no_release["release"]) == 0
    assert not a.same_as(replay(month, seed=5))


def test_two_policies_on_one_recorded_month(month: pd.DataFrame) -> None:
    busy = sim.synthetic_arrivals("small", sim.demand(requests_per_day=900, population=5_000), days=3, seed=2, warmup_days=14)
    demand = sim.demand(population=5_000)
    df = sim.compare(
        {"unified": "unified", "islands": "islands"}, "small", demand, days=3, replications=2, seed=2,
        warmup_days=14, progress=False, arrivals=busy,
    )  # fmt: skip
    runs = df.attrs["runs"]
    assert [(r["policy"], r["replication"]) for r in runs] == [("unified", 0), ("unified", 1), ("islands", 0), ("islands", 1)]
    assert {r["result"]["counts"]["requests"] for r in runs} == {measured(busy)}
    unified, islands = (sim.results_of(df, p)[0] for p in ("unified", "islands"))
    assert unified["counts"]["took_alternative"] > 0 and islands["counts"]["took_alternative"] == 0
    assert not unified.same_as(islands)
    assert df[df.policy == "islands"].set_index("metric")["diff_mean"].abs().max() > 0
    # A comparison's run is the run alone with the replication's seed.
    alone = sim.simulate("small", demand, "islands", days=3, seed=sim.replication_seed(2, 1), warmup_days=14, progress=False, arrivals=busy)
    assert alone.same_as(sim.SimResult(runs[3]["result"]))


def test_a_warm_up_without_recorded_demand_is_said(month: pd.DataFrame) -> None:
    r = replay(month[month["day"] >= 0])
    assert any("warm-up had no recorded demand" in w for w in r.warnings), r.warnings
    empty = replay({c: [] for c in ("day", "at_s", "patient", "specialty", "kind", "channel")})
    assert empty["counts"]["requests"] == 0


def _set(column: str, row: int, value: Any) -> Callable[[pd.DataFrame], Any]:
    def edit(df: pd.DataFrame) -> Any:
        df = df.astype({c: object for c in ("specialty", "kind", "channel")}).astype({column: object})
        df.loc[row, column] = value
        return df

    return edit


@pytest.mark.parametrize(
    "edit, message",
    [
        (_set("specialty", 5, "astrology"), 'recorded arrival 5 (day -14, patient'),
        (_set("specialty", 5, "astrology"), 'specialty "astrology" is not one of the region\'s'),
        (_set("kind", 6, "walk_in"), "recorded arrival 6 (day -14"),
        (_set("channel", 7, "fax"), 'channel "fax" is not one of the run\'s'),
        (_set("patient", 8, 5_000), "patient 5000 is not below the demand's population 5000"),
        (_set("patient", 8, -1), "recorded arrival 8: patient -1 is not a resident index"),
        (_set("patient", 9, math.nan), "recorded arrival 9: patient nan is not an integer"),
        (_set("patient", 9, 1.5), "recorded arrival 9: patient 1.5 is not an integer"),
        (_set("day", 3, 3), "day 3 is outside the run: warm-up days -14 ..= -1, measured days 0 ..= 2"),
        (_set("day", 3, -15), "day -15 is outside the run"),
        (_set("day", 3, 2**40), "recorded arrival 3: day 1099511627776 is out of range"),
        (_set("at_s", 4, 86_400), "at_s 86400 is not a second of the day"),
        (_set("specialty", 2, None), "recorded arrival 2: specialty is missing"),
        (_set("specialty", 2, 7), "recorded arrival 2: specialty 7 is not a str"),
        (_set("at_release", 1, "yes"), "recorded arrival 1: at_release 'yes' is not a bool"),
        (lambda df: df.assign(hospital=1), "unknown column 'hospital'"),
        (lambda df: df.drop(columns=["channel"]), "no column 'channel'"),
        (lambda df: dict(df.to_dict("list"), day=[0]), "columns of different lengths"),
        (lambda df: 42, "arrivals must be a pandas DataFrame"),
    ],
)
def test_a_bad_row_is_an_error_naming_it(month: pd.DataFrame, edit: Callable[[pd.DataFrame], Any], message: str) -> None:
    with pytest.raises((hy.InvalidArgument, TypeError)) as e:
        replay(edit(month.copy()))
    assert message in str(e.value)


def test_hooks_do_not_combine_with_arrivals(month: pd.DataFrame) -> None:
    with pytest.raises(hy.InvalidArgument, match="hooks cannot be combined with arrivals"):
        sim.simulate("small", DEMAND, "unified", **RUN, arrivals=month, hooks=sim.CustomPolicy())


# ------------------------------------------------------------------ from a journal

START = dt.date(2026, 1, 5)  # the small region's start date: day 0, a Monday
RELAXED = {
    "limits": {"per_department_day": 1000, "per_visit_date": 1000, "per_seven_days": 1000, "total_active": 1000},
    "lottery": {"window_s": 60},
}


def at(day: int, h: int, m: int = 0, s: int = 0) -> dt.datetime:
    return dt.datetime.combine(START + dt.timedelta(days=day), dt.time(h, m, s), TZ)


def write_journal(path: Path) -> Dict[str, int]:
    """A hospital's day 0 in a journal: a booking, a waitlist entry, a referral booking, the
    engine's hold for a waitlist offer, a lottery entry at the release (won by the draw) and a
    follow-up hold — and, on the warm-up's last day, one booking."""
    e = hy.DurableEngine.with_manual_clock(path, RELAXED, start=at(-1, 9), card_key=KEY)
    h = e.add_institution("Dongguan People's Hospital", "tertiary", "Guancheng")
    c = e.add_institution("Xinghua Community Clinic", "community", "Guancheng")
    cardiology = e.add_department(h, "cardiology", "Cardiology")
    e.add_department(c, "general_practice", "General practice")
    r = e.add_resource(cardiology, "doctor", "Dr Li")
    e.add_channel("alipay")
    slots = e.publish_slots([(r, START + dt.timedelta(days=1), 480, 510, 1), (r, START + dt.timedelta(days=1), 510, 540, 5), (r, START + dt.timedelta(days=7), 480, 510, 5)])
    p = [e.register_patient() for _ in range(6)]
    e.book(p[5], slots[1], "kiosk")  # day -1, 09:00
    e.advance_to(at(0, 9))
    first = e.book(p[0], slots[0], "app")
    e.join_waitlist(p[1], cardiology, START + dt.timedelta(days=1), START + dt.timedelta(days=1), "alipay")
    e.advance_to(at(0, 9, 10))
    referral = e.issue_referral(p[2], c, "cardiology", "urgent")
    e.book(p[2], slots[1], "clinic", referral=referral.id)
    e.cancel(first.id)  # the place goes to the waitlist: the engine holds it for p[1]
    e.advance_to(at(0, 15, 0, 5))
    assert e.submit(p[3], slots[2], "wechat").outcome == "entered"
    e.advance_to(at(0, 15, 2, 5))
    e.tick()  # the draw books the entry
    e.confirm(e.hold(p[4], slots[1], "app", follow_up=True).id)
    e.close()
    return {"cardiology": cardiology}


def test_arrivals_from_a_journal(tmp_path: Path) -> None:
    ids = write_journal(tmp_path)
    events = hy.read_journal(tmp_path)
    a = sim.arrivals_from_journal(events, START)
    got = a.astype({c: str for c in ("specialty", "kind", "channel")}).to_dict("records")
    assert got == [
        dict(day=-1, at_s=9 * 3600, patient=4, specialty="cardiology", kind="general", channel="kiosk", at_release=False),
        dict(day=0, at_s=9 * 3600, patient=0, specialty="cardiology", kind="general", channel="app", at_release=False),
        dict(day=0, at_s=9 * 3600 + 600, patient=1, specialty="cardiology", kind="referral_urgent", channel="clinic", at_release=False),
        dict(day=0, at_s=15 * 3600 + 5, patient=2, specialty="cardiology", kind="general", channel="wechat", at_release=True),
        # The journal does not keep a hold's follow-up flag.
        dict(day=0, at_s=15 * 3600 + 125, patient=3, specialty="cardiology", kind="general", channel="app", at_release=False),
    ]
    assert a.attrs["patients"] == [1, 3, 4, 5, 6]
    assert a.attrs["referrals_without_urgency"] == 0
    # With the waitlist entry (a request that found nothing), through its custom channel.
    w = sim.arrivals_from_journal(events, START, waitlist=True)
    assert len(w) == 6 and set(w["channel"]) == {"kiosk", "app", "alipay", "clinic", "wechat"}
    # The engine's specialty names are not the simulated region's: rename, then replay.
    renamed = sim.arrivals_from_journal(events, START, specialties={ids["cardiology"]: "surgery"})
    assert set(renamed["specialty"]) == {"surgery"}
    with pytest.raises(hy.InvalidArgument, match='specialty "cardiology" is not one of the region'):
        sim.simulate("small", DEMAND, "unified", days=3, warmup_days=1, progress=False, arrivals=a)
    r = sim.simulate("small", DEMAND, "unified", days=3, warmup_days=1, seed=1, progress=False, arrivals=renamed)
    assert r["counts"]["requests"] == 4 and r["counts"]["anomalies"] == 0, r["notes"]


def test_a_compacted_journal_says_what_it_lacks(tmp_path: Path) -> None:
    e = hy.DurableEngine.with_manual_clock(tmp_path, start=at(0, 9), card_key=KEY)
    h = e.add_institution("Dongguan People's Hospital", "tertiary", "Guancheng")
    d = e.add_department(h, "cardiology", "Cardiology")
    r = e.add_resource(d, "doctor", "Dr Li")
    slots = e.publish_slots([(r, START + dt.timedelta(days=1), 480, 510, 5)])
    p = e.register_patient()
    e.snapshot()  # everything so far leaves the journal
    e.book(p, slots[0], "app")
    cols = e.slot_columns()
    e.close()
    events = hy.read_journal(tmp_path)
    assert list(events["kind"]) == ["booked"]
    with pytest.raises(hy.InvalidArgument, match=r"journal event \d+ \(booked\): slot 1 was published before"):
        sim.arrivals_from_journal(events, START)
    slot_department = dict(zip(cols["id"], cols["department"]))
    with pytest.raises(hy.InvalidArgument, match="pass specialties="):
        sim.arrivals_from_journal(events, START, slot_department=slot_department)
    a = sim.arrivals_from_journal(events, START, slot_department=slot_department, specialties={d: "surgery"})
    assert a[["day", "at_s", "patient"]].to_dict("records") == [dict(day=0, at_s=9 * 3600, patient=0)]
    with pytest.raises(hy.InvalidArgument, match="no column 'data'"):
        sim.arrivals_from_journal(events.drop(columns=["data"]), START)
    with pytest.raises(hy.InvalidArgument, match="not a date YYYY-MM-DD"):
        sim.arrivals_from_journal(events, "5 Jan")


# ------------------------------------------------------------------ the no-show model

TRUE = {"base": 0.11, "per_lead_day": 0.008, "per_past_no_show": 0.10}


def bookings(n: int, model: Dict[str, float], seed: int) -> pd.DataFrame:
    """Bookings drawn from the simulator's model: lead times up to two weeks, few patients with
    past no-shows (as in a city)."""
    rng = np.random.default_rng(seed)
    lead = rng.uniform(0, 14, n)
    past = rng.choice([0, 1, 2, 3], size=n, p=[0.7, 0.15, 0.1, 0.05])
    p = model["base"] + model["per_lead_day"] * lead + model["per_past_no_show"] * past
    return pd.DataFrame({"lead_days": lead, "past_no_shows": past, "no_show": rng.random(n) < p})


def tolerance(df: pd.DataFrame) -> np.ndarray:
    """Five standard errors of each least-squares coefficient: a 0/1 outcome deviates by at most
    0.5, so an error is at most 0.5 × sqrt(diag((XᵀX)⁻¹)); beyond five of them by chance has
    odds below one in a million per coefficient."""
    x = np.column_stack([np.ones(len(df)), df["lead_days"], df["past_no_shows"]])
    return np.asarray(5 * 0.5 * np.sqrt(np.diag(np.linalg.inv(x.T @ x))))


def test_calibration_recovers_a_known_model() -> None:
    df = bookings(200_000, TRUE, seed=1)
    fit = sim.calibrate_no_show(df)
    assert set(fit) == set(TRUE)
    tol = tolerance(df)  # about 0.006, 0.0004, 0.004 for 200,000 bookings
    for (k, want), t in zip(TRUE.items(), tol):
        assert abs(fit[k] - want) <= t, (k, fit[k], want, t)
    # It is what demand(no_show=...) takes, and the run accepts it.
    assert sim.demand(no_show=fit)["no_show"]["max"] == sim.demand()["no_show"]["max"]
    # The same from a dict of columns.
    assert sim.calibrate_no_show(df.to_dict("list")) == fit


def test_calibration_by_tier() -> None:
    models = {
        "tertiary": {"base": 0.05, "per_lead_day": 0.012, "per_past_no_show": 0.15},
        "community": {"base": 0.15, "per_lead_day": 0.002, "per_past_no_show": 0.05},
    }
    parts = [bookings(100_000, m, seed=i).assign(tier=t) for i, (t, m) in enumerate(models.items())]
    df = pd.concat(parts, ignore_index=True)
    fit = sim.calibrate_no_show(df, by="tier")
    assert list(fit) == ["tertiary", "community"]
    for (tier, model), part in zip(models.items(), parts):
        for (k, want), t in zip(model.items(), tolerance(part)):
            assert abs(fit[tier][k] - want) <= t, (tier, k, fit[tier][k], want)


def test_calibration_clips_to_the_simulators_bounds() -> None:
    # Lead times that lower the no-show rate: the model has no negative slope, so 0.
    rng = np.random.default_rng(3)
    lead = rng.uniform(0, 10, 5_000)
    past = rng.integers(0, 3, 5_000)
    y = rng.random(5_000) < 0.3 - 0.02 * lead + 0.05 * past
    fit = sim.calibrate_no_show({"lead_days": lead, "past_no_shows": past, "no_show": y})
    assert fit["per_lead_day"] == 0.0 and 0.0 <= fit["base"] <= 1.0


@pytest.mark.parametrize(
    "table, by, message",
    [
        ({"lead_days": [1.0], "no_show": [True]}, None, "no column 'past_no_shows'"),
        ({"lead_days": [], "past_no_shows": [], "no_show": []}, None, "the table is empty"),
        ({"lead_days": [1.0, math.nan, 2.0], "past_no_shows": [0, 1, 0], "no_show": [True, False, True]}, None, "bookings row 1: lead_days nan"),
        ({"lead_days": [1.0, 2.0, -3.0], "past_no_shows": [0, 1, 0], "no_show": [True, False, True]}, None, "bookings row 2: lead_days -3.0"),
        ({"lead_days": [1.0, 2.0, 3.0], "past_no_shows": [0, 1.5, 0], "no_show": [True, False, True]}, None, "past_no_shows 1.5 is not a whole number"),
        ({"lead_days": [1.0, 2.0, 3.0], "past_no_shows": [0, 1, 0], "no_show": [True, math.nan, True]}, None, "bookings row 1: no_show nan"),
        ({"lead_days": [1.0, 2.0, 3.0], "past_no_shows": [0, 1, 0], "no_show": [1, 2, 0]}, None, "no_show 2.0 is not a bool"),
        ({"lead_days": [1.0, 1.0, 1.0, 1.0], "past_no_shows": [0, 1, 0, 2], "no_show": [1, 0, 0, 1]}, None, "lead_days and past_no_shows must both vary"),
        ({"lead_days": [1.0, 2.0], "past_no_shows": [0, 1], "no_show": [1, 0]}, None, "from 2 bookings"),
        ({"lead_days": [1.0], "past_no_shows": [0], "no_show": [True]}, "district", "by must be None, 'tier' or 'specialty'"),
        ({"lead_days": [1.0], "past_no_shows": [0], "no_show": [True]}, "tier", "no column 'tier'"),
        ({"lead_days": [1.0], "past_no_shows": [0], "no_show": [True], "tier": [None]}, "tier", "bookings row 0: tier is missing"),
        ("bookings.csv", None, "must be a pandas DataFrame"),
    ],
)
def test_calibration_rejects_bad_input(table: Any, by: Any, message: str) -> None:
    with pytest.raises(ValueError) as e:
        sim.calibrate_no_show(table, by=by)
    assert message in str(e.value)


def test_the_module_examples_run() -> None:
    result = doctest.testmod(calibrate_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 10 and result.failed == 0
