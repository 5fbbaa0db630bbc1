"""Recommendations, Python face: ``Engine.recommend`` ranks community clinics first for a
routine complaint, a referral's hospital first, a possible emergency's highest tier first;
typed errors; the host's complaint table; the DataFrame helper (issue 18 part 3)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

import haoyuan as hy

DAY = dt.date(2026, 11, 24)
CST = dt.timezone(dt.timedelta(hours=8))


def world() -> tuple[hy.Engine, dict[str, int]]:
    e = hy.Engine(start=dt.datetime(2026, 11, 23, 16, 0, tzinfo=CST))
    ids: dict[str, int] = {}
    for name, tier, district, specialty, start in [
        ("hospital", "tertiary", "Shinan", "respiratory", 480),
        ("clinic", "community", "Shinan", "general_practice", 540),
        ("far_clinic", "community", "Laoshan", "general_practice", 420),
    ]:
        i = e.add_institution(name, tier, district)
        d = e.add_department(i, specialty, specialty)
        r = e.add_resource(d, "doctor", f"Dr {name}")
        ids[name], ids[name + "_dept"], ids[name + "_dr"] = i, d, r
        ids[name + "_slot"] = e.publish_slots([(r, DAY, start, start + 30, 3)])[0]
    return e, ids


def test_routine_complaint_puts_community_clinics_first() -> None:
    e, ids = world()
    rows = e.recommend("Shinan", DAY, complaint="咳嗽三天")
    assert [r.department for r in rows] == [ids["clinic_dept"], ids["far_clinic_dept"], ids["hospital_dept"]]
    first = rows[0]
    assert isinstance(first, hy.Recommendation)
    assert (first.rank, first.tier, first.same_district, first.reason, first.urgency) == (1, "community", True, "community_first", "routine")
    assert (first.resource, first.resource_name, first.specialty) == (ids["clinic_dr"], "Dr clinic", "general_practice")
    assert (first.earliest.slot, first.earliest.free, first.earliest.start_min) == (ids["clinic_slot"], 3, 540)
    assert first.expected_wait_s is None  # nobody checked in: unknown
    assert "in your district" in first.reason_text
    assert (rows[1].same_district, rows[2].reason) == (False, "higher_tier")
    assert [r.rank for r in e.recommend("Shinan", DAY, complaint="cough", limit=2)] == [1, 2]
    # Every recommended place is free: find_free_slots lists it.
    for r in rows:
        assert r.earliest in e.find_free_slots(DAY, department=r.department)


def test_emergency_and_referral_rank_hospitals_first() -> None:
    e, ids = world()
    rows = e.recommend("Shinan", DAY, complaint="shortness of breath")
    assert (rows[0].department, rows[0].reason, rows[0].urgency) == (ids["hospital_dept"], "emergency", "emergency")
    assert "emergency department now" in rows[0].reason_text
    p = e.register_patient()
    ref = e.issue_referral(p, ids["clinic"], "respiratory")
    rows = e.recommend("Shinan", DAY, complaint="fever", patient=p, referral=ref.id)
    assert (rows[0].department, rows[0].reason) == (ids["hospital_dept"], "referral")
    assert [r.reason for r in rows[1:]] == ["community_first", "community_first"]
    # The referral alone names the specialty.
    assert [r.department for r in e.recommend("Shinan", DAY, patient=p, referral=ref.id)] == [ids["hospital_dept"]]


def test_bad_queries_are_typed_errors() -> None:
    e, ids = world()
    with pytest.raises(hy.InvalidArgument, match="unknown district"):
        e.recommend("Atlantis", DAY, complaint="fever")
    with pytest.raises(hy.InvalidArgument, match="not both"):
        e.recommend("Shinan", DAY, complaint="fever", specialty="respiratory")
    with pytest.raises(hy.InvalidArgument, match="a complaint, a specialty or a referral"):
        e.recommend("Shinan", DAY)
    with pytest.raises(hy.InvalidArgument, match="no keyword") as err:
        e.recommend("Shinan", DAY, complaint="something private")
    assert "private" not in str(err.value), "the complaint is not repeated"
    with pytest.raises(hy.InvalidArgument, match="unknown specialty"):
        e.recommend("Shinan", DAY, specialty="astrology")
    with pytest.raises(hy.InvalidArgument, match="limit"):
        e.recommend("Shinan", DAY, complaint="fever", limit=hy.RECOMMEND_LIMIT_MAX + 1)
    with pytest.raises(hy.InvalidArgument, match="needs its patient"):
        e.recommend("Shinan", DAY, complaint="fever", referral=1)
    with pytest.raises(hy.NotFound):
        e.recommend("Shinan", DAY, complaint="fever", patient=10_000)
    with pytest.raises(TypeError):
        e.recommend(1, DAY, complaint="fever")  # type: ignore[arg-type]
    with pytest.raises(hy.InvalidArgument, match="not a date"):
        e.recommend("Shinan", "not a date", complaint="fever")


def test_host_complaint_table() -> None:
    e, ids = world()
    bundled = json.loads(hy.BUNDLED_COMPLAINT_TABLE)
    assert len(bundled["complaints"]) >= 20
    with pytest.raises(hy.InvalidArgument, match="complaint table"):
        e.set_complaint_table('{"complaints": []}')
    assert e.recommend("Shinan", DAY, complaint="fever")  # the bundled table is kept
    e.set_complaint_table(json.dumps({"complaints": [
        {"keywords": ["喘"], "specialties": ["respiratory"], "urgency": "urgent"}]}))
    rows = e.recommend("Shinan", DAY, complaint="有点喘")
    assert [(r.department, r.reason) for r in rows] == [(ids["hospital_dept"], "urgent")]
    with pytest.raises(hy.InvalidArgument, match="no keyword"):
        e.recommend("Shinan", DAY, complaint="fever")


def test_recommend_to_pandas() -> None:
    pd = pytest.importorskip("pandas")
    e, ids = world()
    df = e.recommend_to_pandas("Shinan", DAY, complaint="cough")
    assert list(df["department"]) == [ids["clinic_dept"], ids["far_clinic_dept"], ids["hospital_dept"]]
    assert list(df["rank"]) == [1, 2, 3]
    assert df["expected_wait_s"].isna().all() and str(df["expected_wait_s"].dtype) == "Int64"
    assert df["date"].iloc[0] == pd.Timestamp(DAY)
    assert df["starts_at"].iloc[0] == pd.Timestamp(dt.datetime(2026, 11, 24, 9, 0, tzinfo=CST))
