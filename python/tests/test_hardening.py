"""Regression tests of the hardening issue (#12), Python face (the issue's items in brackets).

1. [7] Out-of-range integers (ids, counts, ``ttl_s``, ``valid_days``, ``limit``,
   ``advance_clock`` …) answer ``InvalidArgument`` in every entry point — never ``OverflowError``
   or ``TypeError`` — and change nothing. ``INT_ARGS`` lists every integer position of every public callable;
   ``test_int_table_covers_every_public_callable`` keeps it complete against ``dir()``.
2. [3] A UTC offset beyond ±14 h (``-2**31`` included) is ``InvalidArgument``; ±14 h is accepted.
3. [6] An expired hold answers ``HoldExpired`` to confirm and cancel, before and after the clock
   processed it.
4. [8] No id of any kind is 0, and looking up id 0 is ``NotFound``.
5. No input reaches a Rust panic (``pyo3_runtime.PanicException``): extreme dates and instants,
   lists beyond their bounds, NaN and infinite floats in policies.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import math
import os
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import haoyuan as hy
from haoyuan import _native, sim

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


# ------------------------------------------------------------------ 1. integers out of range

# The Rust type behind each integer position, and the values that must be refused there.
U8, U16, U32, U64 = "u8", "u16", "u32", "u64"
I32 = "i32"  # a plain signed count (none is public today; kept for the table's readers)
SECONDS = "seconds"  # advance_clock: i64, 0 ..= 366 days
INSTANT = "instant"  # int seconds since the epoch within the engine's calendar (1970 ..= 2199)
OFFSET = "offset"  # utc_offset_s: i32 within ±14 h
DAYNUM = "day"  # a day number of the array calls: 0 (1970-01-01) ..= 2199-12-31

BAD: dict[str, list[Any]] = {
    U8: [-1, 2**8, 2**64],
    U16: [-1, 2**16, 2**64],
    U32: [-1, 2**32, 2**64],
    U64: [-1, 2**64, 2**70],
    SECONDS: [-1, 2**63, -(2**63) - 1, 2**64],
    INSTANT: [-1, 2**63, 2**64],
    OFFSET: [-(2**31), 2**31, 2**64, 14 * 3600 + 1, -(14 * 3600 + 1)],
    DAYNUM: [-1, 2**31, 2**64, 84_006],
}
# Not integers at all where one is expected (pyo3 alone would raise TypeError).
WRONG_TYPES: list[Any] = [1.5, True]

Call = Callable[[World, Any], Any]

#: A directory that the refused DurableEngine and read_journal calls never get to touch.
NOWHERE = os.path.join(tempfile.gettempdir(), "haoyuan-hardening-never-created")
KEY = bytes(range(32))

# Every public callable that takes an integer: (name, kind, call with `v` in one position).
INT_ARGS: dict[str, list[tuple[str, Call]]] = {
    "Engine": [
        (OFFSET, lambda w, v: hy.Engine(utc_offset_s=v)),
        (OFFSET, lambda w, v: hy.Engine(start=START, utc_offset_s=v)),
        (INSTANT, lambda w, v: hy.Engine(start=v)),
    ],
    "Engine.with_manual_clock": [
        (INSTANT, lambda w, v: hy.Engine.with_manual_clock(start=v)),
        (OFFSET, lambda w, v: hy.Engine.with_manual_clock(start=START, utc_offset_s=v)),
    ],
    "DurableEngine": [
        (OFFSET, lambda w, v: hy.DurableEngine(NOWHERE, utc_offset_s=v, card_key=KEY)),
        (INSTANT, lambda w, v: hy.DurableEngine(NOWHERE, start=v, card_key=KEY)),
        (U32, lambda w, v: hy.DurableEngine(NOWHERE, mode="buffered", fsync_interval_ms=v, card_key=KEY)),
        (U32, lambda w, v: hy.DurableEngine(NOWHERE, max_unflushed=v, card_key=KEY)),
        (U32, lambda w, v: hy.DurableEngine(NOWHERE, replicate="127.0.0.1:0", ack_timeout_ms=v, card_key=KEY)),
    ],
    "Engine.advance_clock": [(SECONDS, lambda w, v: w.e.advance_clock(v))],
    "Engine.advance_to": [(INSTANT, lambda w, v: w.e.advance_to(v))],
    "Engine.add_department": [(U32, lambda w, v: w.e.add_department(v, "ent", "ENT"))],
    "Engine.add_resource": [(U32, lambda w, v: w.e.add_resource(v, "doctor", "Dr X"))],
    "Engine.institution": [(U32, lambda w, v: w.e.institution(v))],
    "Engine.department": [(U32, lambda w, v: w.e.department(v))],
    "Engine.resource": [(U32, lambda w, v: w.e.resource(v))],
    "Engine.channel": [(U16, lambda w, v: w.e.channel(v))],
    "Engine.resource_stats": [(U32, lambda w, v: w.e.resource_stats(v))],
    "Engine.departments_of": [(U32, lambda w, v: w.e.departments_of(v))],
    "Engine.resources_of": [(U32, lambda w, v: w.e.resources_of(v))],
    "Engine.register_patients": [(U64, lambda w, v: w.e.register_patients(v))],
    "Engine.link_card": [(U32, lambda w, v: w.e.link_card(v, "ehealth", "E-1"))],
    "Engine.merge_patients": [
        (U32, lambda w, v: w.e.merge_patients(v, w.q)),
        (U32, lambda w, v: w.e.merge_patients(w.p, v)),
    ],
    "Engine.patient_record": [(U32, lambda w, v: w.e.patient_record(v))],
    "Engine.bookings_of": [(U32, lambda w, v: w.e.bookings_of(v))],
    "Engine.bookings_on": [(U32, lambda w, v: w.e.bookings_on([v]))],
    "Engine.booking": [(U64, lambda w, v: w.e.booking(v))],
    "Engine.resource_day_slots": [(U32, lambda w, v: w.e.resource_day_slots(v, DAY))],
    "Engine.slot": [(U32, lambda w, v: w.e.slot(v))],
    "Engine.publish_slots": [
        (U32, lambda w, v: w.e.publish_slots([(v, DAY, 600, 630, 1)])),
        (U16, lambda w, v: w.e.publish_slots([(w.dr_li, DAY, v, 630, 1)])),
        (U16, lambda w, v: w.e.publish_slots([(w.dr_li, DAY, 600, v, 1)])),
        (U16, lambda w, v: w.e.publish_slots([(w.dr_li, DAY, 600, 630, v)])),
    ],
    "Engine.publish_slots_arrays": [
        (U32, lambda w, v: w.e.publish_slots_arrays([v], [DAY], [600], [630], [1])),
        (DAYNUM, lambda w, v: w.e.publish_slots_arrays([w.dr_li], [v], [600], [630], [1])),
        (U16, lambda w, v: w.e.publish_slots_arrays([w.dr_li], [DAY], [v], [630], [1])),
        (U16, lambda w, v: w.e.publish_slots_arrays([w.dr_li], [DAY], [600], [v], [1])),
        (U16, lambda w, v: w.e.publish_slots_arrays([w.dr_li], [DAY], [600], [630], [v])),
    ],
    "Engine.add_roster": [
        (U32, lambda w, v: w.e.add_roster(v, [0], 480, 540, 30, 2, DAY, DAY)),
        (U8, lambda w, v: w.e.add_roster(w.dr_li, [v], 480, 540, 30, 2, DAY, DAY)),
        (U16, lambda w, v: w.e.add_roster(w.dr_li, [0], v, 540, 30, 2, DAY, DAY)),
        (U16, lambda w, v: w.e.add_roster(w.dr_li, [0], 480, v, 30, 2, DAY, DAY)),
        (U16, lambda w, v: w.e.add_roster(w.dr_li, [0], 480, 540, v, 2, DAY, DAY)),
        (U16, lambda w, v: w.e.add_roster(w.dr_li, [0], 480, 540, 30, v, DAY, DAY)),
    ],
    "Engine.roster": [(U32, lambda w, v: w.e.roster(v))],
    "Engine.suspend_session": [
        (U32, lambda w, v: w.e.suspend_session(v, DAY)),
        (U16, lambda w, v: w.e.suspend_session(w.dr_li, DAY, time=(v, 600))),
        (U16, lambda w, v: w.e.suspend_session(w.dr_li, DAY, time=(480, v))),
    ],
    "Engine.find_free_slots": [
        (U32, lambda w, v: w.e.find_free_slots(DAY, department=v)),
        (U32, lambda w, v: w.e.find_free_slots(DAY, resource=v)),
        (U32, lambda w, v: w.e.find_free_slots(DAY, institution=v)),
        (U16, lambda w, v: w.e.find_free_slots(DAY, time=(v, 600))),
        (U16, lambda w, v: w.e.find_free_slots(DAY, time=(480, v))),
        (U32, lambda w, v: w.e.find_free_slots(DAY, limit=v)),
    ],
    "Engine.free_places_by_day": [(U32, lambda w, v: w.e.free_places_by_day(v, DAY, DAY))],
    "Engine.alternatives": [
        (U32, lambda w, v: w.e.alternatives(v, DAY, DAY)),
        (U32, lambda w, v: w.e.alternatives(w.cardiology, DAY, DAY, v)),
    ],
    "Engine.recommend": [
        (U32, lambda w, v: w.e.recommend("Guancheng", DAY, specialty="cardiology", patient=v)),
        (U64, lambda w, v: w.e.recommend("Guancheng", DAY, specialty="cardiology", patient=w.p, referral=v)),
        (U32, lambda w, v: w.e.recommend("Guancheng", DAY, specialty="cardiology", limit=v)),
    ],
    "Engine.recommend_to_pandas": [
        (U32, lambda w, v: w.e.recommend_to_pandas("Guancheng", DAY, specialty="cardiology", limit=v)),
    ],
    "Engine.hold_for": [
        (U32, lambda w, v: w.e.hold_for(v, w.slots[2], "app", 60)),
        (U32, lambda w, v: w.e.hold_for(w.p, v, "app", 60)),
        (U16, lambda w, v: w.e.hold_for(w.p, w.slots[2], v, 60)),
        (U64, lambda w, v: w.e.hold_for(w.p, w.slots[2], "app", 60, referral=v)),
        (U32, lambda w, v: w.e.hold_for(w.p, w.slots[2], "app", v)),  # ttl_s
    ],
    "Engine.hold": [
        (U32, lambda w, v: w.e.hold(v, w.slots[2], "app")),
        (U32, lambda w, v: w.e.hold(w.p, v, "app")),
        (U16, lambda w, v: w.e.hold(w.p, w.slots[2], v)),
        (U64, lambda w, v: w.e.hold(w.p, w.slots[2], "app", referral=v)),
    ],
    "Engine.book": [
        (U32, lambda w, v: w.e.book(v, w.slots[2], "app")),
        (U32, lambda w, v: w.e.book(w.p, v, "app")),
        (U16, lambda w, v: w.e.book(w.p, w.slots[2], v)),
        (U64, lambda w, v: w.e.book(w.p, w.slots[2], "app", referral=v)),
    ],
    "Engine.submit": [
        (U32, lambda w, v: w.e.submit(v, w.slots[2], "app")),
        (U32, lambda w, v: w.e.submit(w.p, v, "app")),
        (U16, lambda w, v: w.e.submit(w.p, w.slots[2], v)),
        (U64, lambda w, v: w.e.submit(w.p, w.slots[2], "app", referral=v)),
    ],
    "Engine.confirm": [(U64, lambda w, v: w.e.confirm(v))],
    "Engine.cancel": [(U64, lambda w, v: w.e.cancel(v))],
    "Engine.check_in": [(U64, lambda w, v: w.e.check_in(v))],
    "Engine.fulfil": [(U64, lambda w, v: w.e.fulfil(v))],
    "Engine.mark_no_show": [(U64, lambda w, v: w.e.mark_no_show(v))],
    "Engine.issue_referral": [
        (U32, lambda w, v: w.e.issue_referral(v, w.clinic, "cardiology")),
        (U32, lambda w, v: w.e.issue_referral(w.q, v, "cardiology")),
        (U16, lambda w, v: w.e.issue_referral(w.q, w.clinic, "cardiology", valid_days=v)),
        (U32, lambda w, v: w.e.issue_referral(w.q, w.clinic, "cardiology", institution=v)),
    ],
    "Engine.join_waitlist": [
        (U32, lambda w, v: w.e.join_waitlist(v, w.cardiology, DAY, DAY, "app")),
        (U32, lambda w, v: w.e.join_waitlist(w.p, v, DAY, DAY, "app")),
        (U16, lambda w, v: w.e.join_waitlist(w.p, w.cardiology, DAY, DAY, v)),
        (U32, lambda w, v: w.e.join_waitlist(w.p, w.cardiology, DAY, DAY, "app", resource=v)),
        (U16, lambda w, v: w.e.join_waitlist(w.p, w.cardiology, DAY, DAY, "app", time=(v, 600))),
        (U16, lambda w, v: w.e.join_waitlist(w.p, w.cardiology, DAY, DAY, "app", time=(480, v))),
        (U64, lambda w, v: w.e.join_waitlist(w.p, w.cardiology, DAY, DAY, "app", referral=v)),
    ],
    "Engine.leave_waitlist": [(U64, lambda w, v: w.e.leave_waitlist(v))],
    "Engine.waitlist": [(U32, lambda w, v: w.e.waitlist(v))],
    "Engine.book_group": [
        (U32, lambda w, v: w.e.book_group(v, [w.slots[2]], "app")),
        (U32, lambda w, v: w.e.book_group(w.p, [v], "app")),
        (U16, lambda w, v: w.e.book_group(w.p, [w.slots[2]], v)),
        (U64, lambda w, v: w.e.book_group(w.p, [w.slots[2]], "app", referral=v)),
    ],
    "Engine.reschedule": [
        (U64, lambda w, v: w.e.reschedule(v, [w.slots[2]], "app")),
        (U32, lambda w, v: w.e.reschedule(1 << 32, [v], "app")),
        (U16, lambda w, v: w.e.reschedule(1 << 32, [w.slots[2]], v)),
    ],
    "Engine.booking_group": [(U64, lambda w, v: w.e.booking_group(v))],
    "Engine.calibrate_overbooking": [(U64, lambda w, v: w.e.calibrate_overbooking(min_outcomes=v))],
    "Engine.find_stays": [
        (U16, lambda w, v: w.e.find_stays("cardiology", DAY, v)),
        (U16, lambda w, v: w.e.find_stays("cardiology", DAY, 1, flex_days=v)),
        (U32, lambda w, v: w.e.find_stays("cardiology", DAY, 1, limit=v)),
    ],
    "Engine.book_many": [
        (U32, lambda w, v: w.e.book_many([v], [w.slots[2]], "app")),
        (U32, lambda w, v: w.e.book_many([w.p], [v], "app")),
        (U16, lambda w, v: w.e.book_many([w.p], [w.slots[2]], v)),
        (U16, lambda w, v: w.e.book_many([w.p], [w.slots[2]], [v])),
    ],
    "Engine.hold_many": [
        (U32, lambda w, v: w.e.hold_many([v], [w.slots[2]], "app")),
        (U32, lambda w, v: w.e.hold_many([w.p], [v], "app")),
        (U16, lambda w, v: w.e.hold_many([w.p], [w.slots[2]], v)),
    ],
    "Engine.lifecycle_many": [(U64, lambda w, v: w.e.lifecycle_many("cancel", [v]))],
    "Engine.find_free_many": [
        (U32, lambda w, v: w.e.find_free_many([v], DAY)),
        (DAYNUM, lambda w, v: w.e.find_free_many([w.cardiology], [v])),
        (DAYNUM, lambda w, v: w.e.find_free_many([w.cardiology], [hy.day_number(DAY)], [v])),
        (U32, lambda w, v: w.e.find_free_many([w.cardiology], DAY, limit=v)),
    ],
    "Engine.slot_columns": [(U32, lambda w, v: w.e.slot_columns([v]))],
    "Engine.booking_columns": [(U32, lambda w, v: w.e.booking_columns([v]))],
    "Engine.bookings_to_pandas": [(U32, lambda w, v: w.e.bookings_to_pandas([v]))],
    "Engine.bookings_to_arrow": [(U32, lambda w, v: w.e.bookings_to_arrow([v]))],
    "Engine.slots_to_pandas": [(U32, lambda w, v: w.e.slots_to_pandas([v]))],
    "Engine.slots_to_arrow": [(U32, lambda w, v: w.e.slots_to_arrow([v]))],
    "Engine.subscribe": [(U64, lambda w, v: w.e.subscribe(v))],
    "Engine.is_durable": [(U64, lambda w, v: w.e.is_durable(v))],
    "Engine.wait_durable": [(U64, lambda w, v: w.e.wait_durable(v))],
    "Engine.on_durable": [(U64, lambda w, v: w.e.on_durable(v, print))],
    "Engine.durable": [(U64, lambda w, v: asyncio.run(w.e.durable(v)))],
    "read_journal": [(U64, lambda w, v: hy.read_journal(NOWHERE, v))],
    "read_journal_arrow": [(U64, lambda w, v: hy.read_journal_arrow(NOWHERE, v))],
    "read_journal_columns": [(U64, lambda w, v: hy.read_journal_columns(NOWHERE, v))],
    "_native.read_journal_columns": [(U64, lambda w, v: _native.read_journal_columns(NOWHERE, v))],
    "Subscription.poll": [(U64, lambda w, v: w.sub.poll(v))],
    "Subscription.poll_columns": [(U64, lambda w, v: w.sub.poll_columns(v))],
    "Subscription.to_pandas": [(U64, lambda w, v: w.sub.to_pandas(v))],
    "Subscription.to_arrow": [(U64, lambda w, v: w.sub.to_arrow(v))],
    "error_name": [(U32, lambda w, v: hy.error_name(v))],
    "to_datetime": [(INSTANT, lambda w, v: hy.to_datetime(v))],
    "fhir_export_schedule": [(U32, lambda w, v: hy.fhir_export_schedule(w.e, v))],
    "fhir_export_slot": [(U32, lambda w, v: hy.fhir_export_slot(w.e, v))],
    "fhir_export_appointment": [(U64, lambda w, v: hy.fhir_export_appointment(w.e, v))],
    "fhir_export_patient_appointments": [(U32, lambda w, v: hy.fhir_export_patient_appointments(w.e, v))],
    "fhir_export_waitlist": [(U32, lambda w, v: hy.fhir_export_waitlist(w.e, v))],
    "_native.fhir_export_schedule": [(U32, lambda w, v: _native.fhir_export_schedule(w.e, v))],
    "_native.fhir_export_slot": [(U32, lambda w, v: _native.fhir_export_slot(w.e, v))],
    "_native.fhir_export_appointment": [(U64, lambda w, v: _native.fhir_export_appointment(w.e, v))],
    "_native.fhir_export_patient_appointments": [(U32, lambda w, v: _native.fhir_export_patient_appointments(w.e, v))],
    "_native.fhir_export_waitlist": [(U32, lambda w, v: _native.fhir_export_waitlist(w.e, v))],
    "_native.sim_simulate": [
        (U32, lambda w, v: _native.sim_simulate(None, None, None, v)),
        (U64, lambda w, v: _native.sim_simulate(None, None, None, 1, v)),
        (U32, lambda w, v: _native.sim_simulate(None, None, None, 1, 1, None, None, v)),
    ],
    "_native.sim_compare": [
        (U32, lambda w, v: _native.sim_compare({"u": "unified"}, None, None, v)),
        (U32, lambda w, v: _native.sim_compare({"u": "unified"}, None, None, 1, v)),
        (U64, lambda w, v: _native.sim_compare({"u": "unified"}, None, None, 1, 1, v)),
    ],
    "sim.simulate": [
        (U32, lambda w, v: sim.simulate("small", "default", "unified", v)),
        (U64, lambda w, v: sim.simulate("small", "default", "unified", 1, v)),
        (U32, lambda w, v: sim.simulate("small", "default", "unified", 1, 1, warmup_days=v)),
    ],
    "sim.compare": [
        (U32, lambda w, v: sim.compare({"u": "unified"}, days=v)),
        (U32, lambda w, v: sim.compare({"u": "unified"}, days=1, replications=v)),
        (U64, lambda w, v: sim.compare({"u": "unified"}, days=1, replications=1, seed=v)),
        (U32, lambda w, v: sim.compare({"u": "unified"}, days=1, replications=1, warmup_days=v)),
    ],
    "_native.sim_replication_seed": [
        (U64, lambda w, v: _native.sim_replication_seed(v, 0)),
        (U32, lambda w, v: _native.sim_replication_seed(1, v)),
    ],
    "sim.replication_seed": [
        (U64, lambda w, v: sim.replication_seed(v, 0)),
        (U32, lambda w, v: sim.replication_seed(1, v)),
    ],
    "_native.sim_simulate_recorded": [
        (U32, lambda w, v: _native.sim_simulate_recorded({}, None, None, None, v)),
        (U64, lambda w, v: _native.sim_simulate_recorded({}, None, None, None, 1, v)),
    ],
    "_native.sim_compare_recorded": [
        (U32, lambda w, v: _native.sim_compare_recorded({"u": "unified"}, {}, None, None, v)),
        (U32, lambda w, v: _native.sim_compare_recorded({"u": "unified"}, {}, None, None, 1, v)),
        (U64, lambda w, v: _native.sim_compare_recorded({"u": "unified"}, {}, None, None, 1, 1, v)),
    ],
    "_native.sim_synthetic_arrivals": [
        (U32, lambda w, v: _native.sim_synthetic_arrivals(None, None, None, v)),
        (U64, lambda w, v: _native.sim_synthetic_arrivals(None, None, None, 1, v)),
        (U32, lambda w, v: _native.sim_synthetic_arrivals(None, None, None, 1, 1, v)),
    ],
    "sim.synthetic_arrivals": [
        (U32, lambda w, v: sim.synthetic_arrivals(days=v)),
        (U64, lambda w, v: sim.synthetic_arrivals(days=1, seed=v)),
        (U32, lambda w, v: sim.synthetic_arrivals(days=1, warmup_days=v)),
    ],
    "sim.arrivals_from_journal": [
        (OFFSET, lambda w, v: sim.arrivals_from_journal(None, "2026-01-05", utc_offset_s=v)),
        (U32, lambda w, v: sim.arrivals_from_journal(None, "2026-01-05", release_at_min=v)),
        (U32, lambda w, v: sim.arrivals_from_journal(None, "2026-01-05", release_window_s=v)),
    ],
    "sim.sweep": [
        (U32, lambda w, v: sim.sweep({"u": "unified"}, None, v, progress=False)),
        (U32, lambda w, v: sim.sweep({"u": "unified"}, None, 1, days=v, progress=False)),
        (U64, lambda w, v: sim.sweep({"u": "unified"}, None, 1, days=1, seed=v, progress=False)),
        (U32, lambda w, v: sim.sweep({"u": "unified"}, None, 1, days=1, workers=v, progress=False)),
    ],
}

# Public callables without an integer argument (their other inputs are tested elsewhere).
NO_INT_ARGS: set[str] = {
    "Engine.policy", "Engine.utc_offset_s", "Engine.manual_clock", "Engine.now", "Engine.tick",
    "Engine.add_institution", "Engine.add_channel", "Engine.channel_id", "Engine.stats",
    "Engine.register_patient", "Engine.register_patients_with_cards", "Engine.find_patient_by_card", "Engine.slot_count",
    "Engine.publish_rosters_until", "Engine.last_event_seq", "Engine.metrics", "Engine.metrics_prometheus",
    "Engine.pipeline", "Engine.ticket",
    "Engine.institutions", "Engine.load_board", "Engine.load_board_to_pandas", "Engine.set_complaint_table",
    "Engine.set_policy",
    # Its ids are inside the command (a dict): out-of-range ones are refused as a malformed
    # command, InvalidArgument (test_engine.py::test_execute_with_a_request_key_acts_once).
    "Engine.execute",
    "Subscription.pending", "Subscription.capacity", "Subscription.cut_off",
    "Subscription.try_recv", "Subscription.recv",  # recv's timeout_s is a float
    "day_number", "events_to_pandas", "events_to_arrow", "num_threads",
    "fhir_find", "fhir_hold", "fhir_book", "fhir_cancel", "fhir_export_bundle", "fhir_import_bundle", "fhir_import_csv",
    "_native.num_threads", "_native.fhir_find", "_native.fhir_hold", "_native.fhir_book", "_native.fhir_cancel",
    "_native.fhir_export_bundle", "_native.fhir_import_bundle", "_native.fhir_import_csv",
    "_native.sim_region", "_native.sim_demand", "_native.sim_policy", "_native.sim_summary",
    "_native.jain_index", "_native.gini",  # lists of floats
    "sim.region", "sim.demand", "sim.policy", "sim.summarise", "sim.results_of",
    # A pure math helper, not an engine entry point: degrees of freedom below 1 answer NaN by
    # contract (summarise relies on it).
    "sim.t_quantile_975",
    # Presets, results and tables in, no integer out of their own.
    "_native.sim_default_warmup_days", "sim.default_warmup_days", "sim.report", "sim.calibrate_no_show",
}  # fmt: skip


def _public_callables() -> set[str]:
    """Every public function and method of haoyuan, haoyuan._native and haoyuan.sim (classes:
    Engine and Subscription, and the DurableEngine constructor — its other methods are Engine's
    or take no integers; the record classes and Policy take no integers)."""
    names = {"Engine", "DurableEngine"}
    for cls in (hy.Engine, hy.Subscription):
        names |= {f"{cls.__name__}.{n}" for n in dir(cls) if not n.startswith("_")}
    for n in hy.__all__:
        obj = getattr(hy, n)
        if callable(obj) and not inspect.isclass(obj):
            names.add(n)
    for n in dir(_native):
        obj = getattr(_native, n)
        if not n.startswith("_") and inspect.isbuiltin(obj):
            names.add(f"_native.{n}")
    for n in sim.__all__:
        obj = getattr(sim, n)
        if callable(obj) and not inspect.isclass(obj):
            names.add(f"sim.{n}")
    return names


def test_int_table_covers_every_public_callable() -> None:
    public = _public_callables()
    listed = set(INT_ARGS) | NO_INT_ARGS
    assert not set(INT_ARGS) & NO_INT_ARGS
    assert public - listed == set(), "new public callables: list their integer arguments in INT_ARGS"
    assert listed - public == set(), "listed callables that no longer exist"


INT_CASES = [
    pytest.param(call, kind, v, id=f"{name}[{i}]={v!r}")
    for name, calls in INT_ARGS.items()
    for i, (kind, call) in enumerate(calls)
    for v in BAD[kind] + WRONG_TYPES
    if not (kind == OFFSET and v is True)  # True would be offset 1 s … but it is refused anyway
]


@pytest.mark.parametrize(("call", "kind", "v"), INT_CASES)
def test_out_of_range_integers_are_invalid_argument(call: Call, kind: str, v: Any) -> None:
    w = world()
    before = snapshot(w)
    with pytest.raises(hy.InvalidArgument) as err:
        call(w, v)
    assert err.value.code == hy.ERROR_CODES["InvalidArgument"]
    if not isinstance(v, bool):
        assert repr(v) in str(err.value), f"the message names the value: {err.value}"
    assert snapshot(w) == before, "a refused call changed the engine"


def test_patient_record_minus_one_is_the_issue_example() -> None:
    with pytest.raises(hy.InvalidArgument):
        hy.Engine().patient_record(-1)


def test_numpy_integers_are_still_accepted() -> None:
    w = world()
    assert w.e.patient_record(np.uint32(w.p)).patient == w.p
    assert w.e.booking(np.uint64(w.booking)).id == w.booking
    assert w.e.booking(np.int64(w.booking)).id == w.booking
    assert w.e.find_free_slots(DAY, department=np.int32(w.cardiology), limit=np.uint8(1))[0].slot == w.slots[0]


# ------------------------------------------------------------------ 2. UTC offsets


@pytest.mark.parametrize("offset", [-(2**31), 14 * 3600 + 1, -(14 * 3600 + 1), 2**31 - 1])
def test_utc_offset_beyond_14_hours_is_invalid(offset: int) -> None:
    with pytest.raises(hy.InvalidArgument):
        hy.Engine(utc_offset_s=offset)
    with pytest.raises(hy.InvalidArgument):
        hy.Engine(start=START, utc_offset_s=offset)


@pytest.mark.parametrize("offset", [14 * 3600, -14 * 3600, 0, -1])
def test_utc_offset_within_14_hours_is_accepted(offset: int) -> None:
    e = hy.Engine(start=START, utc_offset_s=offset)
    assert e.utc_offset_s == offset
    h = e.add_institution("H", "community", "D")
    r = e.add_resource(e.add_department(h, "gp", "GP"), "doctor", "Dr A")
    s = e.publish_slots([(r, DAY, 480, 510, 1)])[0]
    assert e.slot(s).starts_at == int(dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.timezone(dt.timedelta(seconds=offset))).timestamp())


# ------------------------------------------------------------------ 3. expired holds


def test_expired_hold_after_the_clock_processed_it_is_hold_expired() -> None:
    w = world()
    h = w.e.hold_for(w.e.register_patient(), w.slots[2], "app", 60)
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
    hold = e.hold_for(e.register_patient(), s, "app", 1)
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


# ------------------------------------------------------------------ 5. never a panic


def _typed_or_ok(f: Callable[[], Any]) -> None:
    """`f` succeeds or raises a HaoyuanError — never PanicException (a BaseException) or another
    Python error."""
    try:
        f()
    except hy.HaoyuanError:
        pass


FAR = dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.timezone.utc)
ANCIENT = dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        pytest.param(lambda w: hy.Engine(start=FAR), hy.InvalidArgument, id="start-year-9999"),
        pytest.param(lambda w: hy.Engine(start=ANCIENT), hy.InvalidArgument, id="start-year-1"),
        pytest.param(lambda w: w.e.advance_to(FAR), hy.InvalidArgument, id="advance_to-year-9999"),
        pytest.param(lambda w: w.e.advance_to(2**62), hy.InvalidArgument, id="advance_to-2**62"),
        pytest.param(lambda w: w.e.advance_clock(366 * 86400 + 1), hy.InvalidArgument, id="advance_clock-beyond-a-year"),
        pytest.param(lambda w: (w.e.advance_to(hy.INSTANT_MAX - 10), w.e.advance_clock(11)), hy.InvalidArgument, id="advance_clock-past-the-calendar"),
        pytest.param(lambda w: (w.e.advance_to(hy.INSTANT_MAX - 10), w.e.advance_clock(10)), None, id="advance_clock-to-the-calendar-end"),
        pytest.param(lambda w: w.e.find_free_slots(dt.date(9999, 12, 31)), hy.InvalidArgument, id="find-9999"),
        pytest.param(lambda w: w.e.find_free_slots(dt.date(1, 1, 1)), hy.InvalidArgument, id="find-0001"),
        pytest.param(lambda w: w.e.find_free_slots("1970-01-01", "2199-12-31", limit=100_000), hy.InvalidArgument, id="find-whole-calendar"),
        pytest.param(lambda w: w.e.find_free_slots(DAY, limit=2**32 - 1), hy.InvalidArgument, id="find-limit-u32-max"),
        pytest.param(lambda w: w.e.find_free_slots("2199-12-31", "1970-01-01"), hy.InvalidArgument, id="find-reversed"),
        pytest.param(lambda w: w.e.publish_slots([(w.dr_li, "2199-12-31", 1439, 1440, 16_000)]), None, id="publish-last-minute-of-2199"),
        pytest.param(lambda w: w.e.publish_slots([(w.dr_li, "1970-01-01", 0, 1, 1)]), None, id="publish-1970"),
        pytest.param(lambda w: w.e.publish_slots([(w.dr_li, DAY, 0, 1441, 1)]), hy.InvalidArgument, id="publish-end-1441"),
        pytest.param(lambda w: w.e.publish_slots([(w.dr_li, DAY, 600, 630, 65535)]), hy.InvalidArgument, id="publish-capacity-u16-max"),
        pytest.param(lambda w: w.e.publish_slots([(w.dr_li, DAY, 600, 630, 1)] * (hy.PUBLISH_SLOTS_MAX + 1)), hy.InvalidArgument, id="publish-list-beyond-bound"),
        pytest.param(lambda w: w.e.publish_slots([(w.dr_li, DAY, 600)]), hy.InvalidArgument, id="publish-short-tuple"),
        pytest.param(lambda w: w.e.publish_slots([(w.dr_li, DAY, 600, 630, 16_000)] * 140_000), hy.CapacityExceeded, id="publish-day-past-its-counters"),
        pytest.param(lambda w: w.e.publish_slots(None), hy.InvalidArgument, id="publish-none"),
        pytest.param(lambda w: w.e.publish_slots_arrays(np.zeros(3, np.uint32), [0], [1], [2], [3]), hy.InvalidArgument, id="arrays-ragged"),
        pytest.param(lambda w: w.e.publish_slots_arrays([[1]], [[0]], [[1]], [[2]], [[3]]), hy.InvalidArgument, id="arrays-2d"),
        pytest.param(lambda w: w.e.publish_slots_arrays([1.5], [0], [1], [2], [3]), hy.InvalidArgument, id="arrays-floats"),
        pytest.param(lambda w: w.e.publish_slots_arrays([w.dr_li], [np.datetime64("2262-04-11")], [600], [630], [1]), hy.InvalidArgument, id="arrays-date-2262"),
        pytest.param(lambda w: w.e.add_roster(w.dr_li, list(range(8)), 480, 540, 30, 2, DAY, DAY), hy.InvalidArgument, id="roster-8-weekdays"),
        pytest.param(lambda w: w.e.add_roster(w.dr_li, [7], 480, 540, 30, 2, DAY, DAY), hy.InvalidArgument, id="roster-weekday-7"),
        pytest.param(lambda w: w.e.add_roster(w.dr_li, [0], 480, 540, 30, 2, DAY, DAY, closed_dates=[DAY] * 10_001), hy.InvalidArgument, id="roster-closed-dates-beyond-bound"),
        pytest.param(lambda w: w.e.add_roster(w.dr_li, [0], 0, 1440, 65535, 2, DAY, DAY), hy.InvalidArgument, id="roster-segment-u16-max"),
        pytest.param(lambda w: w.e.add_roster(w.dr_li, [0], 1440, 1440, 1, 2, DAY, DAY), hy.InvalidArgument, id="roster-empty-session"),
        pytest.param(lambda w: w.e.suspend_session(w.dr_li, DAY, time=(1440, 1440)), hy.InvalidArgument, id="suspend-empty-time"),
        pytest.param(lambda w: w.e.suspend_session(w.dr_li, "2199-12-31", time=(0, 65535)), hy.InvalidArgument, id="suspend-time-u16-max"),
        pytest.param(lambda w: w.e.hold_for(w.p, w.slots[2], "app", 2**32 - 1), hy.InvalidArgument, id="hold-ttl-u32-max"),
        pytest.param(lambda w: w.e.hold_for(w.p, w.slots[2], "app", 0), hy.InvalidArgument, id="hold-ttl-0"),
        pytest.param(lambda w: w.e.hold(w.p, w.slots[2], "x" * 10_000), hy.InvalidArgument, id="hold-channel-name-10k"),
        pytest.param(lambda w: w.e.issue_referral(w.q, w.clinic, "cardiology", valid_days=65535), hy.InvalidArgument, id="referral-valid-days-u16-max"),
        pytest.param(lambda w: w.e.issue_referral(w.q, w.clinic, "x" * 100_000), hy.InvalidArgument, id="referral-specialty-100k"),
        pytest.param(lambda w: w.e.join_waitlist(w.q, w.cardiology, "1970-01-01", "2199-12-31", "app"), hy.InvalidArgument, id="waitlist-whole-calendar"),
        pytest.param(lambda w: w.e.join_waitlist(w.q, w.cardiology, DAY, DAY, "app", time=(600, 480)), hy.InvalidArgument, id="waitlist-time-reversed"),
        pytest.param(lambda w: w.e.alternatives(w.cardiology, "1970-01-01", "2199-12-31", limit=2**32 - 1), hy.InvalidArgument, id="alternatives-huge"),
        pytest.param(lambda w: w.e.free_places_by_day(w.cardiology, "1970-01-01", "2199-12-31"), hy.InvalidArgument, id="free-places-whole-calendar"),
        pytest.param(lambda w: w.e.link_card(w.p, "x" * 1000, "y" * 1_000_000), hy.InvalidArgument, id="card-1MB"),
        pytest.param(lambda w: w.e.link_card(w.p, "", ""), hy.InvalidArgument, id="card-empty"),
        pytest.param(lambda w: w.e.find_patient_by_card("\x00", "\x00"), hy.InvalidArgument, id="card-nul"),
        pytest.param(lambda w: w.e.add_institution("x" * 1_000_000, "tertiary", "D"), hy.InvalidArgument, id="institution-name-1MB"),
        pytest.param(lambda w: w.e.add_channel(""), hy.InvalidArgument, id="channel-empty"),
        pytest.param(lambda w: w.e.book_many(np.zeros(hy.BULK_ROWS_MAX + 1, np.uint32), np.zeros(hy.BULK_ROWS_MAX + 1, np.uint32), "app"), hy.InvalidArgument, id="book_many-beyond-bound"),
        pytest.param(lambda w: w.e.book_many([w.p, w.q], [w.slots[2]], "app"), hy.InvalidArgument, id="book_many-ragged"),
        pytest.param(lambda w: w.e.book_many([w.p], [w.slots[2]], "pigeon"), hy.InvalidArgument, id="book_many-unknown-channel"),
        pytest.param(lambda w: w.e.lifecycle_many("confirm", np.zeros(hy.BULK_ROWS_MAX + 1, np.uint64)), hy.InvalidArgument, id="lifecycle_many-beyond-bound"),
        pytest.param(lambda w: w.e.find_free_many([w.cardiology] * 10, DAY, limit=2**32 - 1), hy.InvalidArgument, id="find_free_many-limit-times-rows"),
        pytest.param(lambda w: w.e.find_free_many([w.cardiology], "1970-01-01", "2199-12-31", limit=100_000), hy.InvalidArgument, id="find_free_many-whole-calendar"),
        pytest.param(lambda w: w.sub.poll(timeout_s=math.nan), hy.InvalidArgument, id="poll-timeout-nan"),
        pytest.param(lambda w: w.sub.poll(timeout_s=math.inf), hy.InvalidArgument, id="poll-timeout-inf"),
        pytest.param(lambda w: w.sub.poll(timeout_s=-1.0), hy.InvalidArgument, id="poll-timeout-negative"),
        pytest.param(lambda w: w.sub.poll(max_events=0), hy.InvalidArgument, id="poll-zero-events"),
        pytest.param(lambda w: hy.Policy({"referral": {"share": math.nan}}), hy.InvalidPolicy, id="policy-nan-share"),
        pytest.param(lambda w: hy.Policy({"overbooking": {"ratio": math.inf}}), hy.InvalidPolicy, id="policy-inf-overbooking"),
        pytest.param(lambda w: hy.Policy({"limits": {"total_active": 2**64}}), hy.InvalidPolicy, id="policy-limit-2**64"),
        pytest.param(lambda w: hy.Policy({"limits": {"total_active": -1}}), hy.InvalidPolicy, id="policy-limit-negative"),
        pytest.param(lambda w: hy.Policy({"hold": {"ttl_s": 2**40}}), hy.InvalidPolicy, id="policy-ttl-huge"),
        pytest.param(lambda w: hy.Policy.from_toml("[referral]\nshare = nan\n"), hy.InvalidPolicy, id="policy-toml-nan"),
        pytest.param(lambda w: hy.Policy.from_toml("[overbooking]\nratio = inf\n"), hy.InvalidPolicy, id="policy-toml-inf"),
        pytest.param(lambda w: hy.Policy.from_toml("[lottery]\nwindow_s = -1\n"), hy.InvalidPolicy, id="policy-toml-negative"),
        pytest.param(lambda w: hy.Policy.from_json('{"referral": {"share": 1e999}}'), hy.InvalidPolicy, id="policy-json-1e999"),
        pytest.param(lambda w: hy.Policy.from_json('{"referral": {"share": NaN}}'), hy.InvalidPolicy, id="policy-json-NaN"),
        pytest.param(lambda w: hy.Policy.from_toml("[cancellation]\nlate_cancel_weight = nan\n"), hy.InvalidPolicy, id="policy-toml-late-cancel-nan"),
        pytest.param(lambda w: hy.Policy.from_toml("[lottery]\nweight_urgent = nan\n"), hy.InvalidPolicy, id="policy-toml-lottery-weight-nan"),
        pytest.param(lambda w: hy.Policy.from_toml("[lottery]\nweight_general = inf\nno_show_penalty = -inf\n"), hy.InvalidPolicy, id="policy-toml-lottery-inf"),
        pytest.param(lambda w: hy.Policy.from_toml("[referral]\nexpert_share = -nan\n"), hy.InvalidPolicy, id="policy-toml-expert-share-nan"),
        pytest.param(lambda w: hy.Policy.from_toml('[[channel_quotas]]\nchannels = ["kiosk"]\nshare = nan\n'), hy.InvalidPolicy, id="policy-toml-quota-nan"),
        pytest.param(lambda w: hy.Engine("[referral]\nshare = nan\n", start=START), hy.InvalidPolicy, id="engine-policy-toml-nan"),
        pytest.param(lambda w: hy.Engine("[overbooking]\nratio = nan\n", start=START), hy.InvalidPolicy, id="engine-overbooking-nan"),
        pytest.param(lambda w: sim.simulate("small", sim.demand(requests_per_day=math.nan), "unified", days=1), hy.InvalidArgument, id="sim-demand-nan"),
        pytest.param(lambda w: sim.simulate("small", sim.demand(requests_per_day=math.inf), "unified", days=1), hy.InvalidArgument, id="sim-demand-inf"),
        pytest.param(lambda w: sim.simulate(sim.region(districts=2**40), "default", "unified", days=1), hy.InvalidArgument, id="sim-region-huge"),
        pytest.param(lambda w: sim.simulate("small", "default", sim.policy(engine={"referral": {"share": math.nan}}), days=1), hy.InvalidArgument, id="sim-policy-nan"),
        pytest.param(lambda w: _native.sim_summary({"total": math.nan}), hy.InvalidArgument, id="sim-summary-garbage"),
        pytest.param(lambda w: _native.jain_index([math.nan, math.inf, -math.inf]), None, id="jain-nan"),
        pytest.param(lambda w: _native.gini([math.nan, math.inf, -1.0]), None, id="gini-nan"),
        pytest.param(lambda w: _native.gini([2**10_000]), hy.InvalidArgument, id="gini-int-beyond-a-float"),
        pytest.param(lambda w: _native.jain_index([1.0, 2**10_000]), hy.InvalidArgument, id="jain-int-beyond-a-float"),
        pytest.param(lambda w: w.sub.poll(1, 2**10_000), hy.InvalidArgument, id="poll-timeout-int-beyond-a-float"),
        pytest.param(lambda w: hy.fhir_find(w.e, {"start": "0001-01-01", "end": "9999-12-31"}), hy.FhirError, id="fhir-find-extreme-dates"),
        pytest.param(lambda w: hy.fhir_hold(w.e, {"slot": f"Slot/slot-{2**64}", "patient": "Patient/patient--1", "channel": "app"}), hy.FhirError, id="fhir-hold-huge-ids"),
        pytest.param(lambda w: hy.fhir_import_csv(w.e, "resource\n" + "x\n" * 1000, {"institution": 2**64}), hy.FhirError, id="fhir-csv-huge-institution"),
    ],
)
def test_bad_input_is_a_typed_error_never_a_panic(bad: Callable[[World], Any], expected: type[hy.HaoyuanError] | None) -> None:
    """Each case answers its typed error (`None`: a legal extreme that succeeds), and the engine
    still answers afterwards."""
    w = world()
    if expected is None:
        bad(w)
    else:
        with pytest.raises(expected):
            bad(w)
    assert w.e.patient_record(w.p).patient == w.p


def test_instant_max_is_the_end_of_the_calendar() -> None:
    assert hy.INSTANT_MAX == hy.day_number(dt.date(2200, 1, 1)) * 86_400 - 1
    assert hy.to_datetime(hy.INSTANT_MAX) == dt.datetime(2199, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc)
    e = hy.Engine(start=hy.INSTANT_MAX)
    assert e.now() == hy.INSTANT_MAX
    hy.Engine(start=0)


def test_extreme_clock_keeps_every_call_typed() -> None:
    """With the clock at the end of the calendar, every kind of call still answers."""
    w = world()
    w.e.advance_to(dt.datetime(2199, 12, 31, 23, 0, tzinfo=dt.timezone.utc))
    e = w.e
    for f in (
        lambda: e.book(w.q, w.slots[3], "app"),
        lambda: e.hold(e.register_patient(), w.slots[3], "app"),
        lambda: e.confirm(w.hold),
        lambda: e.cancel(w.booking),
        lambda: e.mark_no_show(w.booking),
        lambda: e.issue_referral(w.q, w.clinic, "cardiology", valid_days=65535),
        lambda: e.join_waitlist(w.q, w.cardiology, "2199-12-31", "2199-12-31", "app"),
        lambda: e.publish_slots([(w.dr_li, "2199-12-31", 1439, 1440, 1)]),
        lambda: e.publish_rosters_until("2199-12-31"),
        lambda: e.find_free_slots("2199-12-31"),
        lambda: e.patient_record(w.p),
        lambda: e.tick(),
        lambda: e.advance_clock(366 * 86400),
        lambda: e.bookings_to_pandas(),
        lambda: w.sub.to_pandas(),
    ):
        _typed_or_ok(f)


# Values no caller should send, for any argument of any call.
NASTY: list[Any] = [
    -1, 0, 1, 7, 1440, 1441, 2**16, 2**31, -(2**31) - 1, 2**32, 2**63, 2**64, -(2**63) - 1, 10**30,
    math.nan, math.inf, -math.inf, 1.5, -0.0, 1e308,
    "", "app", "x" * 5000, "\x00", "9999-12-31", "1970-01-01", "{", "[referral]\nshare = nan\n",
    dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(2200, 1, 1),
    dt.datetime(9999, 12, 31, tzinfo=dt.timezone.utc), dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc), dt.datetime(2026, 1, 1),
    [], [-1], [2**64], [1.5], list(range(8)), [(1, "9999-01-01", 0, 1440, 16_000)], [math.nan], [None],
    (0, 0), (-1, 2**16), (1, 2, 3), {}, {"a": math.nan}, {"institution": 2**64},
    np.array([-1]), np.zeros(3), np.array([2**63], dtype=np.uint64), np.array([np.datetime64("NaT")]), np.array([[1]]),
    None, True, object(), b"bytes", 1j,
]  # fmt: skip
# Calls that run a simulation or may wait: their arguments are covered by the tables above.
NOT_FUZZED = {
    "sim.simulate", "sim.compare", "_native.sim_simulate", "_native.sim_compare", "Subscription.poll", "Subscription.recv",
    "sim.sweep", "_native.sim_simulate_recorded", "_native.sim_compare_recorded", "_native.sim_synthetic_arrivals",
    "sim.synthetic_arrivals",
}  # fmt: skip


def _resolve(w: World, name: str) -> Callable[..., Any]:
    if name == "Engine":
        return hy.Engine
    owner, _, attr = name.rpartition(".")
    base: Any = {"Engine": w.e, "Subscription": w.sub, "_native": _native, "sim": sim, "": hy}[owner]
    return getattr(base, attr)


FUZZED = sorted(_public_callables() - NOT_FUZZED)


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(FUZZED), args=st.lists(st.sampled_from(NASTY), max_size=6), data=st.data())
def test_any_value_in_any_argument_is_never_a_panic_nor_an_overflow(name: str, args: list[Any], data: st.DataObject) -> None:
    """Any value in any position: a result or an exception — never `PanicException` (a
    BaseException: it would fail this test), `OverflowError` or `SystemError`. Non-integer
    arguments of the wrong kind (a list for a name …) may still raise `TypeError`."""
    w = world()
    f = _resolve(w, name)
    if name.startswith(("fhir_", "_native.fhir_")) and args and data.draw(st.booleans()):
        args[0] = w.e  # reach past the engine argument
    try:
        result = f(*args)
    except (OverflowError, SystemError):
        raise
    except Exception:  # noqa: BLE001 - every typed error is an acceptable answer here
        pass
    else:
        # `Engine.durable` is a coroutine function: a coroutine dropped unawaited would warn
        # (an error under filterwarnings) whenever exactly one argument was drawn.
        if inspect.iscoroutine(result):
            result.close()


def test_event_queues_are_bounded_and_both_policies_work() -> None:
    """Bounded event queues: a subscriber that never reads is cut off (and sees a gap);
    `overflow="block"` loses nothing. Neither grows without bound."""
    e = hy.Engine(start=dt.datetime(2026, 11, 23, 16, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    idle = e.subscribe(capacity=4)
    assert idle.capacity == 4 and not idle.cut_off
    for _ in range(10):
        e.register_patient()  # the engine never waits for a disconnect-policy subscriber
    assert idle.cut_off and idle.pending() == 4
    seqs = [ev.seq for ev in idle.poll()]
    assert seqs == list(range(seqs[0], seqs[0] + 4))
    block = e.subscribe(capacity=2, overflow="block")
    got = []
    for _ in range(6):
        e.register_patient()
        got += [ev.seq for ev in block.poll()]
    assert got == list(range(got[0], got[0] + 6)) and not block.cut_off
    with pytest.raises(hy.InvalidArgument):
        e.subscribe(capacity=0)
    with pytest.raises(hy.InvalidArgument):
        e.subscribe(overflow="drop")
