"""The engine API from Python: registry, patients, rosters, availability, the lifecycle,
referrals, waitlists, policy, clock, events and the typed exceptions."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

import haoyuan as hy

from conftest import DAY, START, Region, make_region, prometheus_samples


def test_registry_records_have_domain_names(region: Region) -> None:
    e = region.engine
    inst = e.institution(region.tertiary)
    assert (inst.name, inst.tier, inst.district) == ("Dongguan People's Hospital", "tertiary", "Guancheng")
    dep = e.department(region.cardiology)
    assert (dep.institution, dep.specialty) == (region.tertiary, "cardiology")
    res = e.resource(region.dr_li)
    assert (res.kind, res.department, res.expert) == ("doctor", region.cardiology, False)
    assert e.channel(e.channel_id("wechat")).name == "wechat"
    assert e.add_channel("wechat") == e.channel_id("wechat"), "adding a channel is idempotent"
    assert "tier='tertiary'" in repr(inst)
    assert inst == e.institution(region.tertiary) and inst != e.institution(region.secondary)
    stats = e.stats()
    assert (stats.institutions, stats.departments, stats.slots) == (3, 3, 8)
    with pytest.raises(hy.InvalidArgument):
        e.add_institution("X", "quaternary", "Guancheng")
    with pytest.raises(hy.InvalidArgument):
        e.add_resource(region.cardiology, "robot", "R2D2")


def test_booking_lifecycle_and_states(region: Region) -> None:
    e = region.engine
    p = e.register_patient()
    hold = e.hold(p, region.slots[0], "wechat")
    assert hold.state == "held" and hold.expires_at == e.now() + 600
    assert hold.date == DAY and hold.patient == p and hold.channel == e.channel_id("wechat")
    booked = e.confirm(hold.id)
    assert booked.state == "booked"
    with pytest.raises(hy.WrongState) as info:
        e.confirm(hold.id)
    assert info.value.code == 14 and info.value.state == "booked" and info.value.action == "confirm"
    e.advance_to(int(booked.starts_at))
    assert e.check_in(hold.id).state == "checked_in"
    assert e.fulfil(hold.id).state == "fulfilled"
    assert [b.state for b in e.bookings_of(p)] == ["fulfilled"]
    assert e.resource_stats(region.dr_li).outcomes == 1


def test_cancel_gives_the_place_back(region: Region) -> None:
    e = region.engine
    p = e.register_patient()
    b = e.book(p, region.slots[1], e.channel_id("app"))  # a channel by id
    assert e.slot(region.slots[1]).pool_taken[0] == 1
    assert e.cancel(b.id).state == "cancelled"
    assert sum(e.slot(region.slots[1]).pool_taken) == 0
    assert e.patient_record(p).no_shows_in_window == 0.0, "cancelling two days ahead is free"


def test_hold_expires_on_the_manual_clock(region: Region) -> None:
    e = region.engine
    p = e.register_patient()
    h = e.hold_for(p, region.slots[0], "app", 60)
    e.advance_clock(59)
    assert e.booking(h.id).state == "held"
    e.advance_clock(1)
    assert e.booking(h.id).state == "expired"
    assert sum(e.slot(region.slots[0]).pool_taken) == 0


def test_errors_carry_code_and_fields() -> None:
    r = make_region(capacity=1)
    e = r.engine
    a, b = e.register_patient(), e.register_patient()
    e.book(a, r.slots[0], "app")
    with pytest.raises(hy.SlotFull) as full:
        e.book(b, r.slots[0], "app")
    assert isinstance(full.value, hy.HaoyuanError)
    assert full.value.code == 16 and full.value.slot == r.slots[0] and full.value.fields == {"slot": r.slots[0]}
    with pytest.raises(hy.LimitReached) as limit:
        e.book(a, r.slots[1], "app")
    assert (limit.value.limit, limit.value.max, limit.value.patient) == ("per_department_day", 1, a)
    with pytest.raises(hy.NotFound) as nf:
        e.slot(10_000)
    assert nf.value.code == 12 and nf.value.kind == "slot" and nf.value.id == 10_000
    far = e.publish_slots([(r.dr_li, DAY + dt.timedelta(days=20), 480, 510, 2)])
    with pytest.raises(hy.NotOpenYet) as nyet:
        e.book(b, far[0], "app")
    assert nyet.value.opens_at > e.now() and nyet.value.slot == far[0]
    with pytest.raises(hy.NotManualClock):
        hy.Engine().advance_clock(1)
    with pytest.raises(hy.InvalidArgument):
        e.find_free_slots(DAY, department=r.cardiology, limit=0)
    with pytest.raises(hy.InvalidArgument):
        e.book(a, r.slots[0], "pigeon")
    for code, cls in hy.ERROR_CLASSES.items():
        assert issubclass(cls, hy.HaoyuanError) and hy.ERROR_CODES[cls.__name__] == code


def test_no_show_suspends(region: Region) -> None:
    e = region.engine
    p = e.register_patient()
    b = e.book(p, region.slots[0], "app")
    with pytest.raises(hy.InvalidArgument):
        e.mark_no_show(b.id)  # before the segment starts
    e.advance_to(b.starts_at)
    assert e.mark_no_show(b.id).state == "no_show"
    rec = e.patient_record(p)
    assert rec.no_shows_in_window == 1.0 and rec.suspended_until == e.now() + 30 * 86400
    with pytest.raises(hy.PatientSuspended) as s:
        e.book(p, region.slots[7], "app")
    assert s.value.until == rec.suspended_until and s.value.code == 20
    assert e.resource_stats(region.dr_li).no_show_rate == 1.0


def test_patients_cards_and_merge(region: Region) -> None:
    e = region.engine
    a, b = e.register_patient(), e.register_patient()
    e.link_card(a, "social_security", "441900199001011234")
    e.link_card(a, "social_security", "441900199001011234")  # idempotent for the owner
    with pytest.raises(hy.CardTaken) as taken:
        e.link_card(b, "social_security", "441900199001011234")
    assert taken.value.owner == a
    e.link_card(b, "ehealth", "E-77")
    booking = e.book(b, region.slots[0], "app")
    e.merge_patients(a, b)
    assert e.find_patient_by_card("ehealth", "E-77") == a
    assert e.find_patient_by_card("ehealth", "nope") is None
    rec = e.patient_record(b)
    assert rec.patient == a and {c.masked for c in rec.cards} == {"4419**********1234", "E**7"}
    assert [x.id for x in rec.active_bookings] == [booking.id]


def test_register_patients_in_bulk(region: Region) -> None:
    e = region.engine
    one = e.register_patient()
    ids = e.register_patients(100)
    assert ids.dtype == np.uint32 and ids.tolist() == list(range(one + 1, one + 101)), "contiguous, in order"
    assert e.register_patients(0).tolist() == [] and e.stats().patients == 101
    assert e.register_patients(np.int64(2)).tolist() == [one + 101, one + 102], "NumPy integers are integers"
    for n in (1_000_001, 2**40):
        with pytest.raises(hy.InvalidArgument, match="1000000"):
            e.register_patients(n)
    for bad in (-1, 2**64, 1.5, True, "3"):
        with pytest.raises(hy.InvalidArgument):
            e.register_patients(bad)
    assert e.stats().patients == 103, "refused calls registered no one"
    assert e.register_patient() == one + 103, "and took no id"


def test_register_patients_with_cards(region: Region) -> None:
    e = region.engine
    numbers = [f"4419002000{i:08d}" for i in range(200)]
    ids = e.register_patients_with_cards("resident_id", numbers)
    assert ids.dtype == np.uint32 and ids.tolist() == list(range(int(ids[0]), int(ids[0]) + 200))
    assert all(e.find_patient_by_card("resident_id", n) == p for n, p in zip(numbers, ids.tolist()))
    assert [c.masked for c in e.patient_record(int(ids[7])).cards] == ["4419**********0007"]
    # Any sequence of str: a tuple, a NumPy array of strings; an empty one registers no one.
    more = e.register_patients_with_cards("ehealth", np.array(["E-1", "E-2"]))
    assert more.tolist() == [int(ids[-1]) + 1, int(ids[-1]) + 2]
    assert e.register_patients_with_cards("ehealth", ()).tolist() == []
    before = e.stats().patients
    # A card someone already has: CardTaken (owner named, number masked), no one registered.
    with pytest.raises(hy.CardTaken) as taken:
        e.register_patients_with_cards("resident_id", ["441900209999999999", numbers[7]])
    assert taken.value.owner == ids[7] and numbers[7] not in str(taken.value)
    assert e.find_patient_by_card("resident_id", "441900209999999999") is None
    # A number given twice in the batch, or a malformed one: InvalidArgument, no one registered.
    with pytest.raises(hy.InvalidArgument, match="twice") as twice:
        e.register_patients_with_cards("resident_id", ["441900209999999998", "441900209999999997", "441900209999999998"])
    assert "441900209999999998" not in str(twice.value)
    with pytest.raises(hy.InvalidArgument):
        e.register_patients_with_cards("resident_id", ["441900209999999996", ""])
    # Not a sequence of str: one str, a non-str item (named by index, not value), a non-iterable.
    with pytest.raises(hy.InvalidArgument, match="not one str"):
        e.register_patients_with_cards("resident_id", "441900209999999995")
    with pytest.raises(hy.InvalidArgument, match=r"numbers\[1\] must be a str, got int"):
        e.register_patients_with_cards("resident_id", ["441900209999999995", 441900209999999994])
    with pytest.raises(hy.InvalidArgument):
        e.register_patients_with_cards("resident_id", 5)  # type: ignore[arg-type]
    # Beyond the bound: refused before any item is read.
    with pytest.raises(hy.InvalidArgument, match="1000000"):
        e.register_patients_with_cards("resident_id", ["x"] * 1_000_001)
    assert e.stats().patients == before
    for n in ("441900209999999998", "441900209999999997", "441900209999999996", "441900209999999995"):
        assert e.find_patient_by_card("resident_id", n) is None
    assert e.register_patient() == int(more[-1]) + 1, "refused batches took no id"


def test_rosters_publish_and_availability(region: Region) -> None:
    e = region.engine
    monday = dt.date(2026, 11, 30)
    rid = e.add_roster(region.dr_wang, [0, 2], 8 * 60, 10 * 60, 30, 3, monday, monday + dt.timedelta(days=6), closed_dates=[monday + dt.timedelta(days=2)])
    assert e.roster(rid).closed_dates == [monday + dt.timedelta(days=2)]
    assert e.publish_rosters_until(monday + dt.timedelta(days=6)) == 4, "Monday only: Wednesday is closed"
    assert e.publish_rosters_until(monday + dt.timedelta(days=6)) == 0, "idempotent"
    free = e.find_free_slots(DAY, department=region.cardiology)
    assert [f.slot for f in free] == list(region.slots[:4]) and all(f.free == 10 for f in free)
    assert len(e.find_free_slots(DAY, "2026-11-26", specialty="cardiology", tier="secondary")) == 4
    assert len(e.find_free_slots(DAY, district="Guancheng", time=(8 * 60, 9 * 60), limit=3)) == 3
    days = e.free_places_by_day(region.cardiology, DAY, DAY + dt.timedelta(days=1))
    assert [(d.date, d.free, d.places) for d in days] == [(DAY, 40, 40), (DAY + dt.timedelta(days=1), 0, 0)]
    alt = e.alternatives(region.cardiology, DAY, DAY)
    assert [a.department for a in alt] == [region.cardiology2] and alt[0].tier == "secondary"
    assert alt[0].earliest.slot == region.slots[4]


def test_suspend_session_cancels_as_provider(region: Region) -> None:
    e = region.engine
    p = e.register_patient()
    b = e.book(p, region.slots[0], "app")
    report = e.suspend_session(region.dr_li, DAY, time=(8 * 60, 9 * 60))
    assert report.slots == [region.slots[0], region.slots[1]]
    assert [c.id for c in report.cancelled] == [b.id] and report.cancelled[0].state == "provider_cancelled"
    with pytest.raises(hy.SlotClosed):
        e.book(e.register_patient(), region.slots[0], "app")
    assert e.patient_record(p).no_shows_in_window == 0.0


def test_referrals_open_the_referral_pool(region: Region) -> None:
    e = region.engine
    p = e.register_patient()
    ref = e.issue_referral(p, region.clinic, "cardiology", "urgent", valid_days=30)
    assert (ref.from_, ref.specialty, ref.urgency, ref.used_by) == (region.clinic, "cardiology", "urgent", None)
    b = e.book(p, region.slots[2], "clinic", referral=ref.id)
    assert b.referral == ref.id and b.pool == "referral"
    assert e.patient_record(p).referrals[0].used_by == b.id
    e.cancel(b.id)
    assert e.patient_record(p).referrals[0].used_by is None, "a cancelled booking gives its referral back"
    with pytest.raises(hy.InvalidArgument):
        e.issue_referral(p, region.tertiary, "cardiology")
    with pytest.raises(hy.ReferralInvalid):
        e.book(e.register_patient(), region.slots[2], "app", referral=ref.id)


def test_waitlist_offer_on_cancel() -> None:
    r = make_region(capacity=1)
    e = r.engine
    a, b = e.register_patient(), e.register_patient()
    first = e.book(a, r.slots[0], "app")
    entry = e.join_waitlist(b, r.cardiology, DAY, DAY, "wechat", resource=r.dr_li, time=(8 * 60, 9 * 60))
    assert entry.priority == "general" and entry.time == (480, 540)
    assert [w.id for w in e.waitlist(r.cardiology)] == [entry.id]
    assert e.patient_record(b).waitlist_entries == 1
    e.cancel(first.id)
    offers = [x for x in e.bookings_of(b) if x.offer == entry.id]
    assert len(offers) == 1 and offers[0].state == "held" and offers[0].slot == r.slots[0]
    assert e.waitlist(r.cardiology) == []
    other = e.join_waitlist(a, r.cardiology, DAY, DAY, e.channel_id("app"))
    e.leave_waitlist(other.id)
    with pytest.raises(hy.NotFound):
        e.leave_waitlist(other.id)


def test_submit_enters_the_release_lottery() -> None:
    e = hy.Engine({"lottery": {"window_s": 60}}, start=START.replace(hour=15, minute=0, second=10))
    h = e.add_institution("H", "secondary", "D")
    r = e.add_resource(e.add_department(h, "ent", "ENT"), "doctor", "Dr Zhou")
    visit = START.date() + dt.timedelta(days=7)  # released today at 15:00
    s = e.publish_slots([(r, visit, 480, 490, 1)])[0]
    ps = [e.register_patient() for _ in range(3)]
    with pytest.raises(hy.LotteryWindow):
        e.book(ps[0], s, "app")
    subs = [e.submit(p, s, "app") for p in ps]
    assert all(x.outcome == "entered" and x.booking is None and x.ticket for x in subs)
    sub = e.subscribe()
    e.advance_to(subs[0].draws_at)
    kinds = [ev.kind for ev in sub.poll()]
    assert kinds.count("lottery_won") == 1 and kinds.count("lottery_lost") == 2 and "lottery_drawn" in kinds
    assert sum(e.slot(s).pool_taken) == 1


def test_policy_round_trips_through_dict_toml_and_json() -> None:
    p = hy.Policy({"limits": {"total_active": 3}}, hold={"ttl_s": 120})
    assert p.to_dict()["limits"]["total_active"] == 3 and p.to_dict()["hold"]["ttl_s"] == 120
    assert p.to_dict()["limits"]["per_visit_date"] == 2, "unnamed fields keep their defaults"
    assert hy.Policy.from_toml(p.to_toml()) == p
    assert hy.Policy.from_json(p.to_json()) == p
    assert hy.Policy.from_dict(p.to_dict()) == p
    assert json.loads(p.to_json()) == p.to_dict()
    assert hy.Policy() == hy.Policy.from_dict({}) and hy.Policy() != p
    e = hy.Engine(p.to_toml(), start=0)
    assert e.policy == p
    assert hy.Engine(p.to_json(), start=0).policy == p
    with pytest.raises(hy.InvalidPolicy) as bad:
        hy.Policy.from_toml("[limits]\ntotl = 3\n")
    assert bad.value.code == 11
    with pytest.raises(hy.InvalidPolicy):
        hy.Policy({"referral": {"share": 1.5}})


def test_clock_accepts_ints_and_aware_datetimes() -> None:
    e = hy.Engine(start=START)
    assert e.now() == int(START.timestamp()) and e.manual_clock
    e.advance_to(START + dt.timedelta(hours=1))
    assert hy.to_datetime(e.now()) == START + dt.timedelta(hours=1)
    with pytest.raises(hy.InvalidArgument):
        e.advance_to(0)  # never backwards: an error, as advance_clock(-1)
    assert e.now() == int(START.timestamp()) + 3600
    with pytest.raises(hy.InvalidArgument):
        e.advance_to(dt.datetime(2026, 12, 1))  # naive: ambiguous
    with pytest.raises(hy.InvalidArgument):
        e.advance_clock(-1)
    assert e.tick() == 0
    system = hy.Engine()
    assert not system.manual_clock and abs(system.now() - int(dt.datetime.now(dt.timezone.utc).timestamp())) < 5
    with pytest.raises(hy.InvalidArgument):
        e.find_free_slots(dt.datetime(2026, 11, 26, 8, 0))
    with pytest.raises(hy.InvalidArgument):
        e.find_free_slots("2026-02-30")


def test_events_poll_and_tables(region: Region) -> None:
    e = region.engine
    sub = e.subscribe()
    p = e.register_patient()
    b = e.book(p, region.slots[0], "app")
    e.cancel(b.id)
    events = sub.poll()
    assert [ev.kind for ev in events] == ["patient_registered", "booked", "cancelled"]
    assert [ev.seq for ev in events] == sorted(ev.seq for ev in events)
    assert events[1].data["booking"] == b.id and events[2].data["by"] == "patient"
    assert events[1].to_dict()["kind"] == "booked" and "Event(seq=" in repr(events[0])
    assert sub.poll() == [] and sub.pending() == 0
    e.book(p, region.slots[1], "app")
    df = sub.to_pandas()
    assert list(df["kind"]) == ["booked"] and df["patient"].tolist() == [p]
    assert str(df["at"].dtype) == "datetime64[s, UTC]" and df["at"].astype("int64").tolist() == [e.now()]
    e.register_patient()
    table = sub.to_arrow()
    assert table.column("kind").to_pylist() == ["patient_registered"]
    frame = hy.events_to_pandas(events)
    assert frame["booking"].tolist() == [-1, b.id, b.id]


def test_subscribe_to_some_kinds(region: Region) -> None:
    e = region.engine
    every = e.subscribe()
    some = e.subscribe(capacity=2, kinds=["cancelled", "cancelled"])
    p, q = e.register_patient(), e.register_patient()
    b, c = e.book(p, region.slots[0], "app"), e.book(q, region.slots[1], "app")
    for _ in range(10):
        e.register_patient()
    e.cancel(b.id)
    e.cancel(c.id)
    got = some.poll()
    assert [ev.kind for ev in got] == ["cancelled", "cancelled"] and not some.cut_off
    assert got == [ev for ev in every.poll() if ev.kind == "cancelled"]
    # A bad set subscribes nothing.
    subscribers = len(e.metrics()["subscribers"])
    with pytest.raises(hy.InvalidArgument, match="canceled"):
        e.subscribe(kinds=["canceled"])
    with pytest.raises(hy.InvalidArgument):
        e.subscribe(kinds=[])
    with pytest.raises(TypeError):
        e.subscribe(kinds="cancelled")
    assert len(e.metrics()["subscribers"]) == subscribers


# ------------------------------------------------------------------ the names shared with Rust and C


def test_registry_lists(region: Region) -> None:
    e = region.engine
    assert [i.id for i in e.institutions()] == [region.tertiary, region.secondary, region.clinic]
    assert e.institutions()[2] == e.institution(region.clinic)
    deps = e.departments_of(region.tertiary)
    assert [d.id for d in deps] == [region.cardiology] and deps[0] == e.department(region.cardiology)
    ct = e.add_resource(region.cardiology, "exam", "CT 1", expert=True)
    res = e.resources_of(region.cardiology)
    assert [r.id for r in res] == [region.dr_li, ct]
    assert (res[1].kind, res[1].expert, res[1].name) == ("exam", True, "CT 1")
    empty = e.add_department(region.clinic, "paediatrics", "Paediatrics")
    assert e.resources_of(empty) == []
    for call, arg in ((e.departments_of, 999), (e.resources_of, 999), (e.departments_of, 0)):
        with pytest.raises(hy.NotFound):
            call(arg)
    with pytest.raises(hy.InvalidArgument):
        e.departments_of(-1)


def test_bookings_of_on_and_resource_day(region: Region) -> None:
    e = region.engine
    p, q = e.register_patient(), e.register_patient()
    h = e.hold(p, region.slots[0], "app")
    e.cancel(h.id)
    b = e.book(p, region.slots[1], "app")
    c = e.book(q, region.slots[1], "wechat")
    assert [(x.id, x.state) for x in e.bookings_of(p)] == [(h.id, "cancelled"), (b.id, "booked")]
    on = e.bookings_on([region.slots[1], region.slots[2]])
    assert [x.id for x in on] == [b.id, c.id]
    assert e.bookings_on([]) == []
    with pytest.raises(hy.NotFound):
        e.bookings_on([999])
    with pytest.raises(hy.InvalidArgument):
        e.bookings_on(["one"])  # type: ignore[list-item]
    day = e.resource_day_slots(region.dr_li, DAY)
    assert day == list(region.slots[:4])
    assert e.resource_day_slots(region.dr_li, DAY + dt.timedelta(days=1)) == []
    with pytest.raises(hy.NotFound):
        e.resource_day_slots(999, DAY)
    with pytest.raises(hy.NotFound):
        e.bookings_of(999)


def test_hold_for_and_the_deprecated_ttl_keyword(region: Region) -> None:
    e = region.engine
    p = e.register_patient()
    h = e.hold_for(p, region.slots[0], "app", 90, follow_up=True)
    assert h.state == "held" and h.expires_at == e.now() + 90
    e.cancel(h.id)
    with pytest.warns(DeprecationWarning, match="use Engine.hold_for"):
        old = e.hold(p, region.slots[0], "app", ttl_s=90)
    assert old.expires_at == e.now() + 90
    with pytest.raises(hy.InvalidArgument):
        e.hold_for(p, region.slots[1], "app", 0)


def test_with_manual_clock_matches_the_constructor() -> None:
    e = hy.Engine.with_manual_clock({"hold": {"ttl_s": 120}}, start=START)
    assert type(e) is hy.Engine and e.manual_clock
    assert e.now() == int(START.timestamp()) and e.policy.to_dict()["hold"]["ttl_s"] == 120
    assert hy.Engine.with_manual_clock(start=0, utc_offset_s=0).utc_offset_s == 0
    with pytest.raises(hy.InvalidArgument):
        hy.Engine.with_manual_clock(start=-1)
    with pytest.raises(TypeError):
        hy.Engine.with_manual_clock(None)  # type: ignore[call-arg]  # start is required


def test_slot_info_is_the_one_name(region: Region) -> None:
    s = region.engine.slot(region.slots[0])
    assert type(s) is hy.SlotInfo and repr(s).startswith("SlotInfo(")


def test_subscription_recv_and_try_recv(region: Region) -> None:
    e = region.engine
    sub = e.subscribe()
    assert sub.try_recv() is None
    assert sub.recv(timeout_s=0.01) is None
    p = e.register_patient()
    b = e.book(p, region.slots[0], "app")
    first = sub.try_recv()
    assert first is not None
    rest = []
    while (ev := sub.recv(timeout_s=0)) is not None:
        rest.append(ev)
    seqs = [first.seq] + [x.seq for x in rest]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert any(x.kind == "booked" and x.data["booking"] == b.id for x in [first, *rest])
    with pytest.raises(hy.InvalidArgument):
        sub.recv(timeout_s=-1)


def test_hold_many_holds(region: Region) -> None:
    e = region.engine
    ps = [e.register_patient() for _ in range(3)]
    ids, codes = e.hold_many(ps, [region.slots[0]] * 3, "app")
    assert list(codes) == [0, 0, 0]
    assert {e.booking(int(i)).state for i in ids} == {"held"}


# ------------------------------------------------------------------ operator metrics

METRICS_KEYS = {"stats", "last_event_seq", "durable_seq", "durable_lag_events", "journal", "subscribers", "memory"}


def test_fsync_buckets_constant() -> None:
    bounds = hy.FSYNC_BUCKETS_S
    assert isinstance(bounds, tuple) and len(bounds) == 12
    assert all(type(b) is float for b in bounds)
    assert list(bounds) == sorted(set(bounds)) and bounds[0] == 0.00005 and bounds[-1] == 1.0


def test_metrics_in_memory(region: Region) -> None:
    e = region.engine
    sub = e.subscribe(capacity=8)
    blocking = e.subscribe(capacity=100, overflow="block")
    p = e.register_patient()
    e.book(p, region.slots[0], "app")
    m = e.metrics()
    assert set(m) == METRICS_KEYS
    json.dumps(m, allow_nan=False)  # plain Python values only
    assert m["journal"] is None, "no journal in memory"
    assert m["durable_lag_events"] == 0 and m["durable_seq"] == m["last_event_seq"] == e.last_event_seq() > 0
    assert m["stats"] == e.stats().to_dict()
    assert m["stats"]["patients"] == 1 and m["stats"]["slots"] == len(region.slots)
    subs = m["subscribers"]
    assert [s["overflow"] for s in subs] == ["disconnect", "block"]
    assert [(s["queue_depth"], s["queue_capacity"]) for s in subs] == [(2, 8), (2, 100)]
    assert all(type(s["id"]) is int for s in subs) and subs[0]["id"] != subs[1]["id"]
    assert set(m["memory"]) == {"slot_bytes", "process_resident_bytes"} and m["memory"]["slot_bytes"] > 0
    assert type(m["memory"]["process_resident_bytes"]) is int and m["memory"]["process_resident_bytes"] >= 0
    # Polling drains the queue the metrics report.
    assert len(sub.poll()) == 2
    depths = [s["queue_depth"] for s in e.metrics()["subscribers"]]
    assert depths == [0, 2] and blocking.pending() == 2

    samples = prometheus_samples(e.metrics_prometheus())
    assert not any(name.startswith("haoyuan_journal_") for name, _ in samples)
    assert samples[("haoyuan_patients", ())] == 1
    assert samples[("haoyuan_events_total", ())] == e.last_event_seq()
    assert samples[("haoyuan_durable_lag_events", ())] == 0
    first = (("overflow", "disconnect"), ("subscriber", str(subs[0]["id"])))
    second = (("overflow", "block"), ("subscriber", str(subs[1]["id"])))
    assert samples[("haoyuan_subscriber_queue_depth", first)] == 0
    assert samples[("haoyuan_subscriber_queue_depth", second)] == 2
    assert samples[("haoyuan_subscriber_queue_capacity", second)] == 100
    assert samples[("haoyuan_memory_bytes", (("structure", "slots"),))] == m["memory"]["slot_bytes"]


def test_set_policy_applies_from_now_on_and_never_retroactively(region: Region) -> None:
    e = region.engine
    before = e.slot(region.slots[0]).pool_places
    assert before[1] == 3, "a tertiary slot of 10 keeps 3 referral places at the default 30%"
    changed = json.loads(e.policy.to_json())
    changed["referral"]["share"] = 0.5
    changed["limits"]["per_visit_date"] = 1
    e.set_policy(changed)
    assert json.loads(e.policy.to_json())["referral"]["share"] == 0.5
    assert e.slot(region.slots[0]).pool_places == before, "published pools are kept"
    later = e.publish_slots([(region.dr_li, DAY, 14 * 60, 14 * 60 + 30, 10)])
    assert e.slot(later[0]).pool_places[1] == 5, "a slot published after takes the new share"
    # The new limit refuses a second booking on the day.
    p = e.register_patient()
    e.book(p, region.slots[0], "app")
    with pytest.raises(hy.LimitReached):
        e.book(p, region.slots[4], "app")
    # A refused change changes nothing and records nothing; a Policy object and TOML work too.
    seq = e.stats().last_event_seq
    with pytest.raises(hy.InvalidPolicy):
        e.set_policy({"referral": {"share": 1.5}})
    with pytest.raises(hy.InvalidPolicy):
        e.set_policy("limits = [")
    with pytest.raises(hy.InvalidArgument):
        e.set_policy(None)  # type: ignore[arg-type]
    assert e.stats().last_event_seq == seq
    assert json.loads(e.policy.to_json())["limits"]["per_visit_date"] == 1
    e.set_policy(hy.Policy.from_toml("[limits]\nper_visit_date = 2\n"))
    e.book(p, region.slots[4], "app")


def test_execute_with_a_request_key_acts_once(region: Region) -> None:
    e = region.engine
    p = e.register_patient()
    book = {"command": "book", "request": {"patient": p, "slot": region.slots[0], "channel": e.channel_id("app")}}
    first = e.execute(book, request_key="app-0001")
    assert first["outcome"] == "booking" and first["booking"]["state"] == "booked"
    seq = e.stats().last_event_seq
    assert e.execute(book, request_key="app-0001") == first
    assert e.execute(json.dumps(book), request_key="app-0001") == first, "JSON text works too"
    assert e.stats().last_event_seq == seq, "a retry records nothing"
    assert e.slot(region.slots[0]).pool_taken[0] == 1
    other = {**book, "request": {**book["request"], "slot": region.slots[1]}}
    with pytest.raises(hy.InvalidArgument, match="another request"):
        e.execute(other, request_key="app-0001")
    with pytest.raises(hy.InvalidArgument):
        e.execute(book, request_key="")
    with pytest.raises(hy.InvalidArgument):
        e.execute({"command": "fly"}, request_key="k")
    with pytest.raises(hy.NotFound):
        e.execute({"command": "cancel", "booking": 999}, request_key="k")
    for bad in (-1, 2**64, 1.5, "7"):
        with pytest.raises(hy.InvalidArgument):
            e.execute({"command": "cancel", "booking": bad}, request_key="k")
    assert e.stats().last_event_seq == seq
    patient = e.execute({"command": "register_patient"})
    assert patient["outcome"] == "patient" and patient["patient"] > p
