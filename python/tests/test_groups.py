"""Booking groups from Python: a bed stay all or nothing, found by find_stays, cancelled and
moved as one, and the journal keeping groups across a reopen."""

from __future__ import annotations

import datetime as dt
import json

import pytest

import haoyuan as hy

from conftest import DAY, START

KEY = bytes(range(32))


def ward(e: hy.Engine, beds: int = 1) -> tuple[list[int], int]:
    """An obstetric ward with `beds` beds a night for four nights from DAY; its nights' slots."""
    h = e.add_institution("Xiamen Maternity Hospital", "tertiary", "Siming")
    d = e.add_department(h, "obstetrics", "Obstetric ward")
    r = e.add_resource(d, "bed", "Delivery beds")
    specs = [(r, DAY + dt.timedelta(days=n), 20 * 60, 20 * 60 + 1, beds) for n in range(4)]
    return list(e.publish_slots(specs)), d


def taken(e: hy.Engine, slot: int) -> int:
    return sum(e.slot(slot).pool_taken)


def test_a_stay_is_booked_whole_or_not_at_all() -> None:
    e = hy.Engine(start=START)
    nights, ward_id = ward(e)
    mother, other = e.register_patient(), e.register_patient()
    blocker = e.book(other, nights[2], "app")
    seq = e.last_event_seq()
    with pytest.raises(hy.SlotFull):
        e.book_group(mother, nights[:3], "app")
    assert e.last_event_seq() == seq, "a failed group records nothing"
    assert [taken(e, s) for s in nights] == [0, 0, 1, 0]
    e.cancel(blocker.id)
    stay = e.book_group(mother, nights[:3], "wechat")
    assert stay["id"] == stay["bookings"][0]["id"] and stay["replaces"] is None
    assert [b["slot"] for b in stay["bookings"]] == nights[:3]
    assert all(b["state"] == "booked" for b in stay["bookings"])
    assert e.booking_group(stay["bookings"][2]["id"]) == stay
    # Cancelling one night cancels the stay.
    e.cancel(stay["bookings"][1]["id"])
    assert all(b["state"] == "cancelled" for b in e.booking_group(stay["id"])["bookings"])
    assert [taken(e, s) for s in nights] == [0, 0, 0, 0]
    with pytest.raises(hy.NotFound):
        e.booking_group(blocker.id)


def test_find_stays_then_reschedule() -> None:
    e = hy.Engine(start=START)
    nights, ward_id = ward(e)
    offers = e.find_stays("obstetrics", DAY, 3, district="Siming", flex_days=1)
    assert len(offers) == 1
    assert offers[0]["department"] == ward_id and offers[0]["same_district"]
    assert offers[0]["slots"] == nights[:3]
    mother = e.register_patient()
    stay = e.book_group(mother, offers[0]["slots"], "app")
    moved = e.reschedule(stay["id"], nights[1:4], "app")
    assert moved["replaces"] == stay["id"]
    assert [taken(e, s) for s in nights] == [0, 1, 1, 1]
    # No ward is free for three nights now.
    assert e.find_stays("obstetrics", DAY, 3, flex_days=1) == []


@pytest.mark.parametrize(
    "call",
    [
        lambda e, n: e.book_group(1, [], "app"),
        lambda e, n: e.book_group(1, [n[0], n[0]], "app"),
        lambda e, n: e.book_group(1, [n[0]] * (hy.GROUP_PLACES_MAX + 1), "app"),
        lambda e, n: e.find_stays("obstetrics", DAY, 0),
        lambda e, n: e.find_stays("obstetrics", DAY, 2, flex_days=31),
        lambda e, n: e.find_stays("dermatology", DAY, 2),
    ],
)
def test_bad_group_input_is_invalid_argument_and_changes_nothing(call) -> None:
    e = hy.Engine(start=START)
    nights, _ = ward(e)
    e.register_patient()
    seq = e.last_event_seq()
    with pytest.raises(hy.InvalidArgument):
        call(e, nights)
    assert e.last_event_seq() == seq


def test_groups_survive_reopen(tmp_path) -> None:
    d = hy.DurableEngine(str(tmp_path / "city"), start=START, card_key=KEY)
    nights, _ = ward(d, beds=2)
    mother = d.register_patient()
    stay = d.book_group(mother, nights[:2], "app")
    moved = d.reschedule(stay["id"], nights[1:3], "app")
    d.close()
    again = hy.DurableEngine(str(tmp_path / "city"), start=START, card_key=KEY)
    assert again.booking_group(moved["id"]) == moved
    assert [sum(again.slot(s).pool_taken) for s in nights] == [0, 1, 1, 0]
    again.close()
    # Each change of the group is one journal record, its booked/cancelled events inside.
    journal = hy.read_journal(str(tmp_path / "city"))
    groups = journal[journal["kind"] == "group"]
    assert len(groups) == 2
    inside = [[ev["type"] for ev in json.loads(d)["events"]] for d in groups["data"]]
    assert inside == [["booked", "booked"], ["cancelled", "cancelled", "booked", "booked"]]
