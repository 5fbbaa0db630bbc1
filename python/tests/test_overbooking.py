"""No-show-driven overbooking from Python: each resource's ratio from its measured no-show rate
and a target overflow risk, applied to slots published afterwards, with typed errors."""

from __future__ import annotations

import datetime as dt
import math

import pytest

import haoyuan as hy

from conftest import DAY, START, TZ


def clinic(e: hy.Engine) -> tuple[int, int]:
    h = e.add_institution("Dongguan People's Hospital", "tertiary", "Guancheng")
    d = e.add_department(h, "internal", "Internal medicine")
    return e.add_resource(d, "doctor", "Dr An"), e.add_resource(d, "doctor", "Dr Bai")


def morning(r: int, day: dt.date) -> list[tuple[int, dt.date, int, int, int]]:
    """Ten one-place segments: per-slot overbooking adds nothing to them."""
    return [(r, day, 480 + 15 * i, 495 + 15 * i, 1) for i in range(10)]


def test_extra_places_follow_the_measured_no_shows() -> None:
    e = hy.Engine(policy={"overbooking": {"spread": "session"}}, start=START)
    dr_a, dr_b = clinic(e)
    for n in range(6):
        day = DAY + dt.timedelta(days=n)
        booked = []
        for r in (dr_a, dr_b):
            for i, s in enumerate(e.publish_slots(morning(r, day))):
                booked.append((r, i, e.book(e.register_patient(), s, "app").id))
        e.advance_to(dt.datetime.combine(day, dt.time(13, 0), tzinfo=TZ))
        for r, i, b in booked:
            if r == dr_a and i % 3 == 2:
                e.mark_no_show(b)
            else:
                e.check_in(b)
        e.advance_to(dt.datetime.combine(day, dt.time(16, 0), tzinfo=TZ))
    report = e.calibrate_overbooking(overflow_risk=0.05, min_outcomes=50)
    assert report["policy_changed"] and report["skipped"] == 0
    lines = {x["resource"]: x for x in report["resources"]}
    a, b = lines[dr_a], lines[dr_b]
    assert math.isclose(a["no_show_rate"], 0.3) and b["no_show_rate"] == 0.0
    assert a["extra"] > 0 and a["overflow_risk"] <= 0.05 and b["extra"] == 0
    assert e.policy.to_dict()["overbooking"]["by_resource"][str(dr_a)] == pytest.approx(a["ratio"])
    later = DAY + dt.timedelta(days=7)
    slots = e.publish_slots(morning(dr_a, later))
    assert sum(sum(e.slot(s).pool_places) for s in slots) == 10 + a["extra"]
    again = e.calibrate_overbooking(overflow_risk=0.05, min_outcomes=50)
    assert not again["policy_changed"]


def test_bad_calibrations_are_typed_errors() -> None:
    e = hy.Engine(policy={"overbooking": {"spread": "session"}}, start=START)
    clinic(e)
    seq = e.last_event_seq()
    for kwargs in ({"overflow_risk": 0.0}, {"overflow_risk": 1.0}, {"overflow_risk": math.nan}, {"max_ratio": 2.0}, {"min_outcomes": -1}):
        with pytest.raises(hy.InvalidArgument):
            e.calibrate_overbooking(**kwargs)
    assert e.last_event_seq() == seq
    per_slot = hy.Engine(start=START)
    with pytest.raises(hy.InvalidPolicy):
        per_slot.calibrate_overbooking()
