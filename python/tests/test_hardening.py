"""Regression tests of the hardening issue (#12), Python face (the issue's items in brackets).

3. [6] An expired hold answers ``HoldExpired`` to confirm and cancel, before and after the clock
   processed it.
4. [8] No id of any kind is 0, and looking up id 0 is ``NotFound``.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest

import haoyuan as hy

from conftest import DAY, START

# ------------------------------------------------------------------ a small world


@dataclass
class World:
    e: hy.Engine
    sub: hy.Subscription
    tertiary: int
    clinic: int
    cardiology: int
    gp: int
    dr_li: int
    slots: range
    p: int  # has a booking and a referral
    q: int  # has a hold and a waitlist entry
    booking: int
    hold: int
    referral: int
    entry: int
    roster: int


def world() -> World:
    e = hy.Engine(start=START)
    t = e.add_institution("Dongguan People's Hospital", "tertiary", "Guancheng")
    c = e.add_institution("Xinghua Community Clinic", "community", "Guancheng")
    gp = e.add_department(c, "general_practice", "General practice")
    d = e.add_department(t, "cardiology", "Cardiology")
    r = e.add_resource(d, "doctor", "Dr Li")
    slots = e.publish_slots([(r, DAY, 480 + 30 * i, 510 + 30 * i, 10) for i in range(4)])
    p, q = e.register_patient(), e.register_patient()
    booking = e.book(p, slots[0], "app").id
    hold = e.hold(q, slots[1], "wechat").id
    referral = e.issue_referral(p, c, "cardiology").id
    entry = e.join_waitlist(q, d, DAY, DAY + dt.timedelta(days=1), "app").id
    roster = e.add_roster(r, [0], 480, 540, 30, 2, DAY + dt.timedelta(days=4), DAY + dt.timedelta(days=4))
    sub = e.subscribe()
    return World(e, sub, t, c, d, gp, r, slots, p, q, booking, hold, referral, entry, roster)


def snapshot(w: World) -> tuple[Any, ...]:
    """Everything a refused call must leave as it was."""
    e = w.e
    bookings = {k: np.asarray(v).tolist() for k, v in e.booking_columns().items()}
    slots = {k: np.asarray(v).tolist() for k, v in e.slot_columns().items()}
    return (e.now(), e.last_event_seq(), e.stats().to_dict(), bookings, slots, e.waitlist(w.cardiology), e.roster(w.roster), w.sub.pending())


Call = Callable[[World, Any], Any]


# ------------------------------------------------------------------ 3. expired holds


def test_expired_hold_after_the_clock_processed_it_is_hold_expired() -> None:
    w = world()
    h = w.e.hold(w.e.register_patient(), w.slots[2], "app", ttl_s=60)
    w.e.advance_clock(60)
    assert w.e.booking(h.id).state == "expired", "advance_clock processed the expiry"
    for action in (w.e.confirm, w.e.cancel):
        with pytest.raises(hy.HoldExpired) as err:
            action(h.id)
        assert err.value.booking == h.id and err.value.expired_at == h.expires_at
    assert list(w.e.lifecycle_many("confirm", [h.id])) == [hy.ERROR_CODES["HoldExpired"]]
    assert list(w.e.lifecycle_many("cancel", [h.id])) == [hy.ERROR_CODES["HoldExpired"]]


def _system_clock_hold() -> tuple[hy.Engine, hy.Booking]:
    """A 1-second hold on the system clock, nobody calling tick()."""
    e = hy.Engine()  # the system clock: time passes, but only tick() processes expiries
    h = e.add_institution("H", "community", "D")
    r = e.add_resource(e.add_department(h, "gp", "GP"), "doctor", "Dr A")
    local = dt.datetime.fromtimestamp(e.now(), dt.timezone(dt.timedelta(seconds=e.utc_offset_s)))
    s = e.publish_slots([(r, local.date() + dt.timedelta(days=2), 600, 630, 1)])[0]
    hold = e.hold(e.register_patient(), s, "app", ttl_s=1)
    deadline = time.monotonic() + 5
    while e.now() < hold.expires_at and time.monotonic() < deadline:
        time.sleep(0.05)
    assert e.now() >= hold.expires_at
    return e, hold


@pytest.mark.parametrize("action", ["confirm", "cancel"])
def test_expired_hold_before_the_clock_processed_it_is_hold_expired(action: str) -> None:
    e, hold = _system_clock_hold()
    with pytest.raises(hy.HoldExpired) as err:
        getattr(e, action)(hold.id)
    assert err.value.booking == hold.id
    # And again once tick() has processed it.
    e.tick()
    assert e.booking(hold.id).state == "expired"
    with pytest.raises(hy.HoldExpired):
        getattr(e, action)(hold.id)


# ------------------------------------------------------------------ 4. no id is 0


def test_no_id_is_zero() -> None:
    w = world()
    e = w.e
    ids = {
        "institution": [w.tertiary, w.clinic],
        "department": [w.gp, w.cardiology],
        "resource": [w.dr_li],
        "channel": [e.channel_id(n) for n in ("app", "wechat", "web", "kiosk", "phone", "clinic")] + [e.add_channel("alipay")],
        "patient": [w.p, w.q],
        "slot": list(w.slots),
        "roster": [w.roster],
        "referral": [w.referral],
        "waitlist entry": [w.entry],
        "booking": [w.booking, w.hold],
    }
    assert ids["channel"][:6] == [1, 2, 3, 4, 5, 6], "the standard channels are ids 1 ..= 6"
    booked, codes = e.book_many([e.register_patient()], [w.slots[3]], "app")
    assert codes.tolist() == [0]
    ids["booking"].append(int(booked[0]))
    refused, codes = e.book_many([w.p], [w.slots[3]], "app")  # per-department-day limit
    assert codes.tolist() == [hy.ERROR_CODES["LimitReached"]] and refused.tolist() == [0], "0 marks a refused row"
    for kind, values in ids.items():
        assert all(isinstance(i, int) and i > 0 for i in values), (kind, values)
    # Records report the same nonzero ids.
    assert e.slot(w.slots[0]).resource == w.dr_li and e.slot(w.slots[0]).institution == w.tertiary
    assert e.booking(w.booking).patient == w.p and e.booking(w.booking).channel == 1
    assert e.slot_columns()["id"].tolist() == list(w.slots), "every slot, none at id 0"
    assert sorted(set(e.booking_columns()["patient"].tolist())) == [w.p, w.q, w.q + 1]


ZERO_LOOKUPS: list[tuple[str, Call]] = [
    ("institution", lambda w, v: w.e.institution(v)),
    ("department", lambda w, v: w.e.department(v)),
    ("resource", lambda w, v: w.e.resource(v)),
    ("channel", lambda w, v: w.e.channel(v)),
    ("resource_stats", lambda w, v: w.e.resource_stats(v)),
    ("patient_record", lambda w, v: w.e.patient_record(v)),
    ("bookings_of", lambda w, v: w.e.bookings_of(v)),
    ("booking", lambda w, v: w.e.booking(v)),
    ("slot", lambda w, v: w.e.slot(v)),
    ("roster", lambda w, v: w.e.roster(v)),
    ("waitlist", lambda w, v: w.e.waitlist(v)),
    ("leave_waitlist", lambda w, v: w.e.leave_waitlist(v)),
    ("free_places_by_day", lambda w, v: w.e.free_places_by_day(v, DAY, DAY)),
    ("alternatives", lambda w, v: w.e.alternatives(v, DAY, DAY)),
    ("confirm", lambda w, v: w.e.confirm(v)),
    ("cancel", lambda w, v: w.e.cancel(v)),
    ("check_in", lambda w, v: w.e.check_in(v)),
    ("fulfil", lambda w, v: w.e.fulfil(v)),
    ("mark_no_show", lambda w, v: w.e.mark_no_show(v)),
    ("add_department", lambda w, v: w.e.add_department(v, "ent", "ENT")),
    ("add_resource", lambda w, v: w.e.add_resource(v, "doctor", "Dr X")),
    ("add_roster", lambda w, v: w.e.add_roster(v, [0], 480, 540, 30, 2, DAY, DAY)),
    ("link_card", lambda w, v: w.e.link_card(v, "ehealth", "E-1")),
    ("merge_patients", lambda w, v: w.e.merge_patients(w.p, v)),
    ("hold patient", lambda w, v: w.e.hold(v, w.slots[2], "app")),
    ("hold slot", lambda w, v: w.e.hold(w.p, v, "app")),
    ("hold channel", lambda w, v: w.e.hold(w.p, w.slots[2], v)),
    ("suspend_session", lambda w, v: w.e.suspend_session(v, DAY)),
    ("issue_referral patient", lambda w, v: w.e.issue_referral(v, w.clinic, "cardiology")),
    ("issue_referral from", lambda w, v: w.e.issue_referral(w.q, v, "cardiology")),
    ("join_waitlist department", lambda w, v: w.e.join_waitlist(w.p, v, DAY, DAY, "app")),
    ("find_free_slots department", lambda w, v: w.e.find_free_slots(DAY, department=v)),
]


@pytest.mark.parametrize(("what", "call"), ZERO_LOOKUPS, ids=[n for n, _ in ZERO_LOOKUPS])
def test_id_zero_is_not_found(what: str, call: Call) -> None:
    w = world()
    before = snapshot(w)
    with pytest.raises(hy.NotFound) as err:
        call(w, 0)
    assert err.value.id == 0
    assert snapshot(w) == before


def test_id_zero_in_bulk_and_fhir_calls() -> None:
    w = world()
    # A referral is checked against the patient's own: 0 answers as any unknown referral does.
    for unknown in (0, 999):
        with pytest.raises(hy.ReferralInvalid) as err:
            w.e.book(w.p, w.slots[2], "app", referral=unknown)
        assert err.value.referral == unknown
    assert w.e.lifecycle_many("cancel", [0]).tolist() == [hy.ERROR_CODES["NotFound"]]
    _, codes = w.e.book_many([0], [w.slots[2]], "app")
    assert codes.tolist() == [hy.ERROR_CODES["NotFound"]]
    _, codes = w.e.book_many([w.p], [0], "app")
    assert codes.tolist() == [hy.ERROR_CODES["NotFound"]]
    for call in (hy.fhir_export_schedule, hy.fhir_export_slot, hy.fhir_export_appointment, hy.fhir_export_waitlist):
        with pytest.raises(hy.FhirError) as err:
            call(w.e, 0)
        assert err.value.outcome["issue"][0]["code"] == "not-found", err.value.outcome
