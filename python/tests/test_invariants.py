"""Hypothesis drives random sequences of API calls and checks DOMAIN.md's invariants after each:
no slot (or pool) over its places, no patient over a limit, and every hold ends."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import haoyuan as hy

from conftest import DAY, START

LIMITS = {"per_department_day": 1, "per_visit_date": 2, "per_seven_days": 3, "total_active": 4}


class EngineMachine(RuleBasedStateMachine):
    @initialize(capacities=st.lists(st.integers(1, 3), min_size=6, max_size=6), overbooking=st.sampled_from([0.0, 0.5]))
    def setup(self, capacities: list[int], overbooking: float) -> None:
        self.e = hy.Engine({"limits": LIMITS, "overbooking": {"ratio": overbooking}, "hold": {"ttl_s": 300}}, start=START)
        h = self.e.add_institution("H", "tertiary", "D")
        deps = [self.e.add_department(h, s, s) for s in ("cardiology", "ent")]
        res = [self.e.add_resource(d, "doctor", f"Dr {d}") for d in deps]
        specs = []
        for i, cap in enumerate(capacities):
            specs.append((res[i % 2], DAY + dt.timedelta(days=i // 2), 480 + 30 * (i // 2), 510 + 30 * (i // 2), cap))
        self.slots = list(self.e.publish_slots(specs))
        self.patients = [self.e.register_patient() for _ in range(4)]
        self.bookings: list[int] = []

    def _try(self, f, *args, **kw):  # type: ignore[no-untyped-def]
        try:
            b = f(*args, **kw)
        except hy.HaoyuanError as err:
            assert err.code in hy.ERROR_CLASSES
            return None
        self.bookings.append(b.id)
        return b

    @rule(p=st.integers(0, 3), s=st.integers(0, 5), hold=st.booleans())
    def request(self, p: int, s: int, hold: bool) -> None:
        f = self.e.hold if hold else self.e.book
        self._try(f, self.patients[p], self.slots[s], "app")

    @rule(p=st.integers(0, 3), s=st.integers(0, 5))
    def request_many(self, p: int, s: int) -> None:
        ids, codes = self.e.book_many([self.patients[p]] * 2, [self.slots[s], self.slots[(s + 1) % 6]], "wechat")
        self.bookings.extend(int(i) for i, c in zip(ids, codes) if c == 0)

    @rule(i=st.integers(0, 50), action=st.sampled_from(["confirm", "cancel", "check_in", "mark_no_show"]))
    def act(self, i: int, action: str) -> None:
        if not self.bookings:
            return
        b = self.bookings[i % len(self.bookings)]
        try:
            getattr(self.e, action)(b)
        except hy.HaoyuanError as err:
            assert err.code in hy.ERROR_CLASSES

    @rule(seconds=st.integers(0, 3 * 3600))
    def advance(self, seconds: int) -> None:
        self.e.advance_clock(seconds)

    @invariant()
    def no_slot_over_its_places(self) -> None:
        for sid in self.slots:
            s = self.e.slot(sid)
            assert all(t <= p for t, p in zip(s.pool_taken, s.pool_places)), s

    @invariant()
    def places_match_active_bookings(self) -> None:
        df = self.e.bookings_to_pandas()
        active = df[df["state"].isin(["held", "booked", "checked_in"])]
        cols = self.e.slot_columns()
        per_slot = active.groupby("slot").size().reindex(cols["id"], fill_value=0).to_numpy()
        assert np.array_equal(per_slot, cols["taken"])

    @invariant()
    def no_patient_over_a_limit(self) -> None:
        for p in self.patients:
            rec = self.e.patient_record(p)
            active = rec.active_bookings
            assert len(active) <= LIMITS["total_active"]
            dates = [b.date for b in active]
            assert all(dates.count(d) <= LIMITS["per_visit_date"] for d in dates)
            keys = [(b.date, b.department) for b in active]
            assert all(keys.count(k) <= LIMITS["per_department_day"] for k in keys)
            for first in dates:
                window = [d for d in dates if first <= d < first + dt.timedelta(days=7)]
                assert len(window) <= LIMITS["per_seven_days"]

    @invariant()
    def every_hold_ends(self) -> None:
        now = self.e.now()
        df = self.e.bookings_to_pandas()
        held = df[df["state"] == "held"]
        # Compared as instants, not as integers: the integers depend on the column's unit.
        now_utc = dt.datetime.fromtimestamp(now, tz=dt.timezone.utc)
        assert (held["expires_at"] > now_utc).all(), "a hold outlived its expiry"


EngineMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None, database=None)
TestEngineInvariants = EngineMachine.TestCase
