"""Durability from Python (issue 16): DurableEngine (open, close, reopen, snapshot, recovery
report, journal statistics), pipelined acknowledgements (pipeline scopes, tickets,
wait_durable, is_durable, on_durable and the awaitable), bulk calls that wait once, read_journal,
typed errors for every bad input, and a SIGKILL loop: a child process books in sync mode and
prints what was acknowledged; every printed booking must be found after the kill."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import IO

import numpy as np
import pytest

import haoyuan as hy

from conftest import DAY, START, prometheus_samples

KEY = bytes(range(32))
#: Per-patient limits out of the way: these tests are about durability, not anti-scalping.
RELAXED = {"limits": {"per_department_day": 1000, "per_visit_date": 1000, "per_seven_days": 1000, "total_active": 1000}}


@pytest.fixture(autouse=True)
def no_key_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test passes its key (or deliberately none): the environment must not supply one."""
    monkeypatch.delenv("HAOYUAN_CARD_KEY", raising=False)
    monkeypatch.delenv("HAOYUAN_CARD_KEY_FILE", raising=False)


def populate(e: hy.Engine, patients: int = 10, resources: int = 2, segments: int = 4, capacity: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """A community clinic (no referral pool: every place is general) with slots on DAY, and
    patients; returns (patient ids, slot ids) as arrays."""
    h = e.add_institution("Xinghua Community Clinic", "community", "Guancheng")
    d = e.add_department(h, "general_practice", "General practice")
    res = np.array([e.add_resource(d, "doctor", f"Dr {i}") for i in range(resources)], dtype=np.uint32)
    resource = np.repeat(res, segments)
    start = np.tile(np.arange(segments, dtype=np.uint16) * 30 + 480, resources)
    dates = np.full(resource.size, np.datetime64(DAY.isoformat()))
    slots = e.publish_slots_arrays(resource, dates, start, start + 30, np.full(resource.size, capacity))
    with e.pipeline() as p:
        ids = [e.register_patient() for _ in range(patients)]
    assert p.ticket is not None and e.wait_durable(p.ticket)
    return np.array(ids, dtype=np.uint32), np.array(slots, dtype=np.uint32)


def open_engine(path: Path, **kw: object) -> hy.DurableEngine:
    kw.setdefault("card_key", KEY)
    kw.setdefault("start", START)
    return hy.DurableEngine(path, RELAXED, **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------ open, close, reopen


def test_round_trip_close_and_reopen(tmp_path: Path) -> None:
    d = tmp_path / "region"
    with open_engine(d) as e:
        assert isinstance(e, hy.Engine) and isinstance(e, hy.DurableEngine)
        assert e.dir == str(d) and e.mode == "sync" and not e.closed and e.manual_clock
        r = e.recovery_report
        assert r == {"snapshot_seq": None, "snapshots_skipped": [], "segments_read": 0, "events_replayed": 0, "last_seq": 0, "torn_tail": None}
        patients, slots = populate(e)
        booked = [e.book(int(p), int(slots[i % 3]), "app") for i, p in enumerate(patients[:6])]
        e.cancel(booked[0].id)
        last = e.last_event_seq()
        stats = e.journal_stats()
        assert stats is not None and stats["durable_seq"] == last and stats["fsyncs"] >= 1
        assert "mode=\"sync\"" in repr(e)
    assert e.closed and "closed" in repr(e)
    with open_engine(d) as again:
        r = again.recovery_report
        assert r["snapshot_seq"] is None and r["torn_tail"] is None and r["segments_read"] >= 1
        assert r["last_seq"] == last == again.last_event_seq() and r["events_replayed"] == last
        assert again.booking(booked[0].id).state == "cancelled"
        assert [again.booking(b.id).state for b in booked[1:]] == ["booked"] * 5
        assert again.stats().patients == len(patients) and again.slot_count() == len(slots)
        # The whole API works on it: tables, FHIR, a new booking.
        frame = again.bookings_to_pandas()
        assert len(frame) == 6 and (frame["state"] == "booked").sum() == 5
        assert hy.fhir_export_appointment(again, booked[1].id)["resourceType"] == "Appointment"
        assert again.book(int(patients[8]), int(slots[5]), "wechat").state == "booked"


def test_snapshot_then_reopen(tmp_path: Path) -> None:
    with open_engine(tmp_path) as e:
        patients, slots = populate(e)
        first = e.book(int(patients[0]), int(slots[0]), "app")
        seq = e.snapshot()
        assert seq == e.last_event_seq()
        after = [e.book(int(p), int(slots[1]), "app") for p in patients[1:4]]
        assert e.flush() == e.last_event_seq()
        last = e.last_event_seq()
    with open_engine(tmp_path) as again:
        r = again.recovery_report
        assert r["snapshot_seq"] == seq and r["events_replayed"] == last - seq and r["last_seq"] == last
        assert [again.booking(b.id).state for b in [first, *after]] == ["booked"] * 4


def test_modes_buffered_and_none(tmp_path: Path) -> None:
    with open_engine(tmp_path, mode="buffered", fsync_interval_ms=5, max_unflushed=16) as e:
        patients, slots = populate(e)
        b = e.book(int(patients[0]), int(slots[0]), "app")
        assert e.flush() == e.last_event_seq()
        assert e.wait_durable(e.ticket(), timeout_s=5)
    with open_engine(tmp_path, mode="none") as replay:
        assert replay.mode == "none" and replay.journal_stats() is None
        assert replay.booking(b.id).state == "booked"
        replay.cancel(b.id)  # in memory only
        with pytest.raises(hy.InvalidArgument):
            replay.snapshot()
    with open_engine(tmp_path) as again:
        assert again.booking(b.id).state == "booked", "mode none wrote nothing"


def test_with_manual_clock_and_stored_configuration(tmp_path: Path) -> None:
    e = hy.DurableEngine.with_manual_clock(tmp_path, RELAXED, start=START, card_key=KEY, mode="sync")
    assert type(e) is hy.DurableEngine and e.manual_clock and e.now() == int(START.timestamp())
    e.advance_clock(3600)
    e.add_channel("hotline")  # an event at START + 1 h
    e.close()
    # Reopened without a policy: the stored one. On a manual clock: continues where it stopped.
    with hy.DurableEngine(tmp_path, start=START, card_key=KEY) as again:
        assert again.policy.to_dict()["limits"]["total_active"] == 1000
        assert again.now() >= int(START.timestamp()) + 3600
    # Another policy for the same directory is refused, and so is another offset.
    with pytest.raises(hy.InvalidArgument, match="another configuration"):
        hy.DurableEngine(tmp_path, {"limits": {"total_active": 2}}, card_key=KEY)
    with pytest.raises(hy.InvalidArgument):
        hy.DurableEngine(tmp_path, RELAXED, utc_offset_s=0, card_key=KEY)
    with hy.DurableEngine(tmp_path, card_key=KEY.hex()) as system_clock:
        assert not system_clock.manual_clock


# ------------------------------------------------------------------ bulk calls wait once


def test_bulk_calls_cost_a_few_fsyncs(tmp_path: Path) -> None:
    with open_engine(tmp_path) as e:
        patients, slots = populate(e, patients=1000, resources=4, segments=5, capacity=100)  # 2000 places
        target = np.resize(slots, 1000)
        before = e.journal_stats()
        assert before is not None
        ids, codes = e.book_many(patients, target, "app")
        after = e.journal_stats()
        assert after is not None
        assert (codes == 0).all() and (ids > 0).all()
        assert after["durable_seq"] >= e.last_event_seq(), "returned only once durable"
        assert after["fsyncs"] - before["fsyncs"] <= 20, (before, after)
        # Parallel rows, each pipelined on its worker, then one wait.
        held, codes = e.book_many(patients, np.resize(slots[::-1], 1000), "app", hold=True, parallel=True)
        assert (codes == 0).all()
        third = e.journal_stats()
        assert third is not None and third["fsyncs"] - after["fsyncs"] <= 20 and third["durable_seq"] >= e.last_event_seq()
        assert (e.lifecycle_many("confirm", held) == 0).all()
        fourth = e.journal_stats()
        assert fourth is not None and fourth["fsyncs"] - third["fsyncs"] <= 20
        assert (e.lifecycle_many("cancel", ids) == 0).all()
        last = e.last_event_seq()
    with open_engine(tmp_path) as again:
        assert again.last_event_seq() == last
        states = again.bookings_to_pandas()["state"]
        assert (states == "cancelled").sum() == 1000 and (states == "booked").sum() == 1000


def test_bulk_calls_on_a_closed_engine_raise(tmp_path: Path) -> None:
    e = open_engine(tmp_path)
    patients, slots = populate(e)
    e.close()
    with pytest.raises(hy.Durability, match="closed"):
        e.book_many(patients[:2], slots[:2], "app")
    with pytest.raises(hy.Durability, match="closed"):
        e.lifecycle_many("cancel", [1])


# ------------------------------------------------------------------ operator metrics


def test_metrics_of_a_durable_engine(tmp_path: Path) -> None:
    with open_engine(tmp_path) as e:
        patients, slots = populate(e)
        sub = e.subscribe(capacity=16)
        for x in patients[:3]:
            e.book(int(x), int(slots[0]), "app")
        m = e.metrics()
        j = m["journal"]
        assert j is not None and set(j) == {"queue_depth", "queue_capacity", "fsyncs", "bytes_written", "fsync_buckets", "fsync_seconds_sum", "fsync_seconds_max", "failed", "replication"}
        assert j["fsyncs"] >= 1 and sum(j["fsync_buckets"]) == j["fsyncs"]
        assert len(j["fsync_buckets"]) == len(hy.FSYNC_BUCKETS_S) + 1
        assert j["bytes_written"] > 0 and j["failed"] is False
        assert 0 <= j["queue_depth"] <= j["queue_capacity"] and j["queue_capacity"] > 0
        assert type(j["fsync_seconds_sum"]) is float and 0.0 <= j["fsync_seconds_max"] <= j["fsync_seconds_sum"]
        # Sync mode: every call returned once durable.
        assert m["durable_lag_events"] == 0 and m["durable_seq"] == m["last_event_seq"] == e.last_event_seq()
        stats = e.journal_stats()
        assert stats is not None and stats["fsyncs"] == j["fsyncs"] and stats["durable_seq"] == m["durable_seq"]
        assert m["stats"] == e.stats().to_dict()
        assert [(s["queue_depth"], s["queue_capacity"], s["overflow"]) for s in m["subscribers"]] == [(3, 16, "disconnect")]
        assert sub.pending() == 3

        text = e.metrics_prometheus()
        samples = prometheus_samples(text)
        assert all(name.startswith("haoyuan_") for name, _ in samples)
        again = e.metrics()["journal"]
        assert again is not None and again["fsyncs"] == j["fsyncs"], "nothing ran between the two calls"
        count = samples[("haoyuan_journal_fsync_seconds_count", ())]
        assert count == j["fsyncs"]
        by_bound = {float(labels[0][1]): v for (name, labels), v in samples.items() if name == "haoyuan_journal_fsync_seconds_bucket"}
        assert list(by_bound) == [*hy.FSYNC_BUCKETS_S, float("inf")]
        cumulative = list(by_bound.values())
        assert cumulative == sorted(cumulative) and cumulative[-1] == count
        assert [b - a for a, b in zip([0.0, *cumulative], cumulative)] == j["fsync_buckets"]
        assert samples[("haoyuan_journal_bytes_written_total", ())] == j["bytes_written"]
        assert samples[("haoyuan_journal_failed", ())] == 0
        assert samples[("haoyuan_events_total", ())] == samples[("haoyuan_durable_events_total", ())] == e.last_event_seq()
        assert samples[("haoyuan_durable_lag_events", ())] == 0
        last = e.last_event_seq()
    # Mode "none" keeps no journal: nothing to report of one, nothing behind.
    with open_engine(tmp_path, mode="none") as replay:
        m = replay.metrics()
        assert m["journal"] is None and m["durable_lag_events"] == 0 and m["last_event_seq"] == last
        assert "haoyuan_journal_" not in replay.metrics_prometheus()


# ------------------------------------------------------------------ pipelines and tickets


def test_pipeline_tickets_wait_and_is_durable(tmp_path: Path) -> None:
    with open_engine(tmp_path) as e:
        patients, slots = populate(e)
        with e.pipeline() as p:
            assert p.active and p.ticket is None
            got = [e.book(int(x), int(slots[0]), "app") for x in patients[:5]]
            inner = e.ticket()
            assert inner == e.last_event_seq()
        assert not p.active and p.ticket == e.last_event_seq() >= inner
        assert e.wait_durable(p.ticket) is True
        assert e.is_durable(p.ticket) and e.is_durable(0) and e.is_durable(inner)
        stats = e.journal_stats()
        assert stats is not None and stats["durable_seq"] >= p.ticket
        assert [e.booking(b.id).state for b in got] == ["booked"] * 5
        # Nested pipelines, and a wait with a time limit.
        with e.pipeline() as outer:
            with e.pipeline() as inner_p:
                e.book(int(patients[5]), int(slots[1]), "app")
            e.book(int(patients[6]), int(slots[1]), "app")
        assert inner_p.ticket is not None and outer.ticket is not None and inner_p.ticket < outer.ticket
        assert e.wait_durable(outer.ticket, timeout_s=10.0) and e.is_durable(inner_p.ticket)
        # After the block this thread waits again: an ordinary call is durable when it returns.
        b = e.book(int(patients[7]), int(slots[2]), "app")
        assert e.is_durable(e.ticket()) and b.state == "booked"
        # Bad tickets and timeouts are typed errors.
        with pytest.raises(hy.InvalidArgument, match="ahead"):
            e.wait_durable(e.last_event_seq() + 1)
        with pytest.raises(hy.InvalidArgument):
            e.is_durable(-1)
        with pytest.raises(hy.InvalidArgument):
            e.wait_durable(0, timeout_s=-1)
        with pytest.raises(hy.InvalidArgument):
            e.wait_durable(0, timeout_s="soon")  # type: ignore[arg-type]


def test_pipeline_misuse_is_a_typed_error(tmp_path: Path) -> None:
    with open_engine(tmp_path) as e:
        p = e.pipeline()
        with pytest.raises(hy.InvalidArgument, match="not entered"):
            p.__exit__(None, None, None)
        with p:
            pass
        with pytest.raises(hy.InvalidArgument, match="already entered"):
            p.__enter__()
        # Entered on this thread: another thread cannot end it.
        q = e.pipeline().__enter__()
        errors: list[BaseException] = []
        t = threading.Thread(target=lambda: errors.extend(_capture(lambda: q.__exit__(None, None, None))))
        t.start()
        t.join()
        assert len(errors) == 1 and isinstance(errors[0], hy.InvalidArgument)
        q.__exit__(None, None, None)
        assert q.ticket == e.last_event_seq()


def _capture(f: object) -> list[BaseException]:
    try:
        f()  # type: ignore[operator]
    except BaseException as err:  # noqa: BLE001 - handed back to the test
        return [err]
    return []


def test_memory_engine_tickets_are_durable_at_once() -> None:
    e = hy.Engine(start=START)
    with e.pipeline() as p:
        e.register_patient()
    assert p.ticket == e.last_event_seq() == 1
    assert e.is_durable(p.ticket) and e.wait_durable(p.ticket, timeout_s=0)
    seen = threading.Event()
    e.on_durable(p.ticket, lambda err: seen.set() if err is None else None)
    assert seen.wait(5)
    assert asyncio.run(_await(e, p.ticket)) is None


async def _await(e: hy.Engine, ticket: int) -> None:
    return await e.durable(ticket)


def test_on_durable_and_the_awaitable(tmp_path: Path) -> None:
    with open_engine(tmp_path) as e:
        patients, slots = populate(e)
        calls: list[tuple[object, int]] = []
        done = threading.Event()

        def callback(err: object) -> None:
            calls.append((err, threading.get_ident()))
            done.set()

        with e.pipeline() as p:
            e.book(int(patients[0]), int(slots[0]), "app")
        assert p.ticket is not None
        e.on_durable(p.ticket, callback)
        assert done.wait(10)
        assert calls == [(None, calls[0][1])] and calls[0][1] != threading.get_ident(), "called once, on a helper thread"
        with pytest.raises(hy.InvalidArgument, match="callable"):
            e.on_durable(p.ticket, 42)  # type: ignore[arg-type]
        with pytest.raises(hy.InvalidArgument):
            e.on_durable(e.last_event_seq() + 5, callback)

        async def main() -> list[int]:
            tickets = []
            for x in patients[1:6]:
                with e.pipeline() as q:
                    e.book(int(x), int(slots[1]), "app")
                assert q.ticket is not None
                tickets.append(q.ticket)
            await asyncio.gather(*(e.durable(t) for t in tickets))
            return tickets

        tickets = asyncio.run(main())
        assert all(e.is_durable(t) for t in tickets)
        # A callback that raises goes to sys.unraisablehook; later callbacks still run.
        after = threading.Event()
        hooked: list[object] = []
        old_hook = sys.unraisablehook
        sys.unraisablehook = lambda u: hooked.append(u.exc_value)
        try:
            e.on_durable(e.ticket(), lambda err: 1 / 0)
            e.on_durable(e.ticket(), lambda err: after.set())
            assert after.wait(10)
            deadline = time.monotonic() + 5
            while not hooked and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            sys.unraisablehook = old_hook
        assert len(hooked) == 1 and isinstance(hooked[0], ZeroDivisionError)


# ------------------------------------------------------------------ read_journal


def test_read_journal_as_pandas_and_arrow(tmp_path: Path) -> None:
    with open_engine(tmp_path) as e:
        patients, slots = populate(e)
        b = e.book(int(patients[0]), int(slots[0]), "app")
        e.cancel(b.id)
        last = e.last_event_seq()
        # An open directory can be read.
        df = hy.read_journal(tmp_path)
    assert list(df.columns) == ["seq", "at", "kind", "booking", "slot", "patient", "data"]
    assert len(df) == last and df["seq"].tolist() == list(range(1, last + 1))
    assert str(df["at"].dtype) == "datetime64[s, UTC]"
    assert df["at"].iloc[-1] == START.astimezone(dt.timezone.utc)
    kinds = df["kind"].astype(str).tolist()
    assert kinds[-2:] == ["booked", "cancelled"] and kinds.count("patient_registered") == len(patients)
    assert df["booking"].iloc[-1] == b.id and df["slot"].iloc[-2] == slots[0] and df["patient"].iloc[-2] == patients[0]
    table = hy.read_journal_arrow(str(tmp_path))
    assert table.num_rows == last and table.column_names == list(df.columns)
    assert str(table.schema.field("at").type) == "timestamp[s, tz=UTC]"
    cols = hy.read_journal_columns(tmp_path, max_events=last)
    assert cols["seq"].tolist() == list(range(1, last + 1))
    with pytest.raises(hy.CapacityExceeded):
        hy.read_journal_columns(tmp_path, max_events=last - 1)
    with pytest.raises(hy.InvalidArgument):
        hy.read_journal(tmp_path, max_events=0)
    with pytest.raises(hy.Durability):
        hy.read_journal(tmp_path / "missing")
    with pytest.raises(hy.InvalidArgument):
        hy.read_journal(42)  # type: ignore[arg-type]


# ------------------------------------------------------------------ bad inputs


def test_bad_inputs_are_typed_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = tmp_path / "fresh"
    with pytest.raises(hy.InvalidArgument, match="card key"):
        hy.DurableEngine(fresh)  # no key anywhere
    assert not fresh.exists(), "a refused open leaves no trace"
    with pytest.raises(hy.InvalidArgument, match="32 bytes"):
        hy.DurableEngine(fresh, card_key=b"short")
    with pytest.raises(hy.InvalidArgument):
        hy.DurableEngine(fresh, card_key="zz" * 32)
    with pytest.raises(hy.InvalidArgument, match="mode"):
        hy.DurableEngine(fresh, mode="eventually", card_key=KEY)  # type: ignore[arg-type]
    with pytest.raises(hy.InvalidArgument, match="mode"):
        hy.DurableEngine(fresh, mode=1, card_key=KEY)  # type: ignore[arg-type]
    with pytest.raises(hy.InvalidArgument, match="fsync_interval_ms"):
        hy.DurableEngine(fresh, mode="buffered", fsync_interval_ms=0, card_key=KEY)
    with pytest.raises(hy.InvalidArgument, match="max_unflushed"):
        hy.DurableEngine(fresh, max_unflushed=0, card_key=KEY)
    with pytest.raises(hy.InvalidArgument):
        hy.DurableEngine(fresh, max_unflushed=-1, card_key=KEY)
    with pytest.raises(hy.InvalidArgument):
        hy.DurableEngine(fresh, start=-5, card_key=KEY)
    with pytest.raises(hy.InvalidArgument):
        hy.DurableEngine(fresh, utc_offset_s=10**6, card_key=KEY)
    with pytest.raises(hy.InvalidPolicy):
        hy.DurableEngine(fresh, {"limits": {"total_active": -1}}, card_key=KEY)
    with pytest.raises(hy.InvalidArgument, match="directory"):
        hy.DurableEngine(42, card_key=KEY)  # type: ignore[arg-type]
    with pytest.raises(hy.InvalidArgument, match="empty"):
        hy.DurableEngine("", card_key=KEY)
    with pytest.raises(TypeError):
        hy.DurableEngine(fresh, card_key=KEY, no_such_option=1)  # type: ignore[call-arg]
    assert not fresh.exists()
    # The key from the environment works, and another key for the same directory is refused.
    monkeypatch.setenv("HAOYUAN_CARD_KEY", KEY.hex())
    with hy.DurableEngine(fresh) as e:
        e.register_patient()
    monkeypatch.delenv("HAOYUAN_CARD_KEY")
    with pytest.raises(hy.InvalidArgument, match="card key"):
        hy.DurableEngine(fresh, card_key=bytes(32))


def test_one_engine_per_directory_and_calls_after_close(tmp_path: Path) -> None:
    e = open_engine(tmp_path)
    patients, slots = populate(e)
    with pytest.raises(hy.Durability, match="open"):
        open_engine(tmp_path)
    ticket = e.ticket()
    e.close()
    e.close()  # closing again does nothing
    for call in (
        lambda: e.now(),
        lambda: e.stats(),
        lambda: e.policy,
        lambda: e.book(int(patients[0]), int(slots[0]), "app"),
        lambda: e.register_patient(),
        lambda: e.snapshot(),
        lambda: e.flush(),
        lambda: e.journal_stats(),
        lambda: e.metrics(),
        lambda: e.metrics_prometheus(),
        lambda: e.ticket(),
        lambda: e.wait_durable(ticket),
        lambda: e.pipeline(),
        lambda: e.subscribe(),
        lambda: e.bookings_to_pandas(),
        lambda: hy.fhir_export_slot(e, int(slots[0])),
        lambda: e.__enter__(),
    ):
        with pytest.raises(hy.Durability, match="closed"):
            call()
    assert e.recovery_report["last_seq"] == 0, "the report of the open stays readable"
    # The directory is free again.
    with open_engine(tmp_path) as again:
        assert again.stats().patients == len(patients)


def test_close_inside_a_pipeline(tmp_path: Path) -> None:
    e = open_engine(tmp_path)
    patients, slots = populate(e)
    with pytest.raises(hy.Durability, match="closed"):
        with e.pipeline():
            b = e.book(int(patients[0]), int(slots[0]), "app")
            e.close()  # flushes: b is durable
    with open_engine(tmp_path) as again:
        assert again.booking(b.id).state == "booked"


# ------------------------------------------------------------------ SIGKILL loop

CHILD = textwrap.dedent(
    """
    import random, sys
    import numpy as np
    import haoyuan as hy

    directory, seed, patients, slots, start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    first, last = (int(x) for x in slots.split(":"))
    rng = random.Random(seed)
    # Sync mode; the card key comes from the environment.
    e = hy.DurableEngine(directory, start=start)
    out = sys.stdout

    def ack(ids):
        out.write("".join(f"{i}\\n" for i in ids))
        out.flush()

    def request():
        return rng.randint(1, patients), rng.randint(first, last)

    print("ready", flush=True)
    while True:
        way = rng.random()
        if way < 0.15:  # a plain call: acknowledged when it returns
            try:
                b = e.book(*request(), "app")
            except hy.HaoyuanError:
                continue
            ack([b.id])
        elif way < 0.75:  # pipelined: acknowledged after wait_durable
            got = []
            with e.pipeline() as p:
                for _ in range(rng.randint(1, 200)):
                    try:
                        got.append(e.book(*request(), "app").id)
                    except hy.HaoyuanError:
                        pass
            if e.wait_durable(p.ticket):
                ack(got)
        else:  # a bulk call: acknowledged when it returns
            n = rng.randint(1, 150)
            rows = [request() for _ in range(n)]
            ids, codes = e.book_many([r[0] for r in rows], [r[1] for r in rows], "app", parallel=rng.random() < 0.5)
            ack(ids[codes == 0].tolist())
    """
)


def test_sigkill_never_loses_an_acknowledged_booking(tmp_path: Path) -> None:
    d = tmp_path / "crash"
    with open_engine(d) as e:
        patients, slots = populate(e, patients=2000, resources=20, segments=10, capacity=1000)  # 200,000 places
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, HAOYUAN_CARD_KEY=KEY.hex())
    rng = random.Random(16)
    acknowledged: set[int] = set()
    kills = 10
    began = time.monotonic()
    for round_ in range(kills):
        argv = [sys.executable, str(script), str(d), str(round_), str(len(patients)), f"{slots[0]}:{slots[-1]}", str(int(START.timestamp()))]
        with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path) as child:
            assert child.stdout is not None and child.stderr is not None
            out: IO[bytes] = child.stdout
            lines: list[bytes] = []
            ready = threading.Event()
            # Odd rounds kill at a random moment; even ones at the first acknowledgement printed
            # after it, from the reader thread (microseconds later): the moment when an
            # acknowledgement given before durability would most likely be lost.
            kill_at = [float("inf")]
            on_ack = round_ % 2 == 0

            def read(stream: IO[bytes] = out, pid: int = child.pid) -> None:
                for line in stream:
                    if line == b"ready\n":
                        ready.set()
                        continue
                    lines.append(line)
                    if on_ack and time.monotonic() >= kill_at[0]:
                        os.kill(pid, signal.SIGKILL)
                        kill_at[0] = float("inf")

            reader = threading.Thread(target=read)
            reader.start()
            if not ready.wait(30):
                child.kill()
                reader.join()
                raise AssertionError(f"the child did not start: {child.stderr.read().decode()}")
            delay = rng.uniform(0.05, 0.3)
            kill_at[0] = time.monotonic() + delay
            try:
                child.wait(delay + (2 if on_ack else 0))
            except subprocess.TimeoutExpired:
                child.send_signal(signal.SIGKILL)
                child.wait()
            reader.join()
            stderr = child.stderr.read().decode()
        assert child.returncode == -signal.SIGKILL, stderr
        # A line cut by the kill has no newline: it was not acknowledged.
        this_round = {int(x) for x in lines if x.endswith(b"\n")}
        acknowledged |= this_round
        with open_engine(d) as after:
            cols = after.booking_columns()
            booked = set(cols["id"][cols["state"] == hy.BOOKING_STATES.index("booked")].tolist())
            lost = acknowledged - booked
            assert not lost, f"round {round_}: {len(lost)} acknowledged bookings lost, e.g. {sorted(lost)[:5]}"
            slot_cols = after.slot_columns()
            assert (slot_cols["taken"] <= slot_cols["places"]).all()
            if round_ % 3 == 2:
                after.snapshot()  # crash and recovery across a snapshot too
    assert len(acknowledged) > 100, len(acknowledged)
    assert time.monotonic() - began < 60


def test_a_policy_change_is_journaled_and_survives_reopen(tmp_path: Path) -> None:
    d = tmp_path / "region"
    with open_engine(d) as e:
        populate(e)
        e.set_policy({**RELAXED, "hold": {"ttl_s": 60}})
        running = e.policy.to_json()
    # Reopened with the creation policy (config.json is unchanged): the journal's change wins.
    with open_engine(d) as again:
        assert again.policy.to_json() == running
        again.snapshot()
    with open_engine(d) as third:
        assert third.policy.to_json() == running


def test_a_request_key_is_remembered_across_reopen(tmp_path: Path) -> None:
    d = tmp_path / "region"
    with open_engine(d) as e:
        patients, slots = populate(e)
        book = {"command": "book", "request": {"patient": int(patients[0]), "slot": int(slots[0]), "channel": e.channel_id("app")}}
        first = e.execute(book, request_key="his-1")
    with open_engine(d) as again:
        assert again.execute(book, request_key="his-1") == first
        assert again.slot(int(slots[0])).pool_taken[0] == 1, "the retry booked nothing more"
        again.snapshot()
    with open_engine(d) as third:
        assert third.execute(book, request_key="his-1") == first
