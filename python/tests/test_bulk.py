"""The NumPy bulk forms, pandas / Arrow tables, two Python threads on one engine, and fork."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
import warnings

import numpy as np
import pytest

import haoyuan as hy

from conftest import DAY, START, make_region


def city(n_resources: int = 20, segments: int = 10, capacity: int = 3) -> tuple[hy.Engine, range]:
    e = hy.Engine(start=START)
    h = e.add_institution("H", "community", "D")  # community: no referral pool, all places general
    d = e.add_department(h, "general_practice", "GP")
    res = np.array([e.add_resource(d, "doctor", f"Dr {i}") for i in range(n_resources)], dtype=np.uint32)
    resource = np.repeat(res, segments)
    start = np.tile(np.arange(segments, dtype=np.uint16) * 10 + 480, n_resources)
    dates = np.full(resource.size, np.datetime64(DAY.isoformat()))
    slots = e.publish_slots_arrays(resource, dates, start, start + 10, np.full(resource.size, capacity))
    return e, slots


def test_registered_ids_feed_book_many() -> None:
    e, slots = city(2, 3, 4)
    patients = e.register_patients(6)
    cards = e.register_patients_with_cards("resident_id", [f"44190020010000{i:04d}" for i in range(6)])
    ids, codes = e.book_many(np.concatenate([patients, cards]), np.tile(np.asarray(slots, dtype=np.uint32), 2), np.full(12, e.channel_id("app"), dtype=np.uint16))
    assert codes.tolist() == [0] * 12 and len(set(ids.tolist())) == 12
    assert e.stats().patients == 12


def test_publish_slots_arrays_matches_the_list_form() -> None:
    e, slots = city(2, 3, 4)
    assert len(slots) == 6 and e.slot_count() == 6
    s = e.slot(slots[4])
    assert (s.resource, s.date, s.start_min, s.end_min, s.capacity) == (2, DAY, 490, 500, 4), "resources are ids 1 and 2"
    with pytest.raises(hy.InvalidArgument):
        e.publish_slots_arrays([1, 2], [0], [480, 480], [490, 490], [1, 1])  # ragged
    with pytest.raises(hy.InvalidArgument):
        e.publish_slots_arrays([1], [hy.day_number(DAY)], [480], [470], [1])  # end before start
    with pytest.raises(hy.InvalidArgument):
        e.publish_slots_arrays([-1], [0], [480], [490], [1])
    assert e.slot_count() == 6, "a rejected batch publishes nothing"


def test_book_many_respects_capacity_and_returns_codes() -> None:
    e, slots = city(2, 2, 2)  # 4 slots × 2 places
    patients = np.array([e.register_patient() for _ in range(12)], dtype=np.uint32)
    target = np.repeat(np.array(slots, dtype=np.uint32), 3)  # 3 requests per slot
    ids, codes = e.book_many(patients, target, "app")
    assert codes.dtype == np.uint32 and ids.dtype == np.uint64
    assert (codes == 0).sum() == 8 and set(codes[codes != 0]) == {hy.ERROR_CODES["SlotFull"]}
    assert (ids[codes != 0] == 0).all()
    booked = ids[codes == 0]
    assert [e.booking(int(i)).state for i in booked[:2]] == ["booked", "booked"]
    # One patient, two slots of one department-day: the second is refused by the limit.
    p = e.register_patient()
    e.cancel(int(booked[0]))
    ids2, codes2 = e.book_many([p, p], [slots[0], slots[0]], e.channel_id("app"), hold=True)
    assert codes2[0] == 0 and hy.error_name(int(codes2[1])) == "LimitReached"
    assert e.booking(int(ids2[0])).state == "held"
    assert list(e.lifecycle_many("confirm", ids2[:1])) == [0]
    assert list(e.lifecycle_many("confirm", ids2[:1])) == [hy.ERROR_CODES["WrongState"]]
    with pytest.raises(hy.InvalidArgument):
        e.lifecycle_many("teleport", ids2)


def test_parallel_book_many_never_overbooks() -> None:
    e, slots = city(10, 10, 2)  # 200 places
    n = 1000
    patients = np.array([e.register_patient() for _ in range(n)], dtype=np.uint32)
    rng = np.random.default_rng(7)
    target = rng.choice(np.array(slots, dtype=np.uint32), size=n)
    ids, codes = e.book_many(patients, target, "app", parallel=True)
    cols = e.slot_columns()
    assert (cols["taken"] <= cols["places"]).all()
    assert (codes == 0).sum() == cols["taken"].sum()


def test_find_free_many() -> None:
    r = make_region()
    e = r.engine
    q = e.find_free_many([r.cardiology, r.cardiology2, r.cardiology], [DAY, DAY, DAY + dt.timedelta(days=1)], limit=2)
    assert q["query"].tolist() == [0, 0, 1, 1]
    assert q["slot"].tolist() == [r.slots[0], r.slots[1], r.slots[4], r.slots[5]]
    assert q["free"].tolist() == [10, 10, 10, 10] and set(q["date"].tolist()) == {hy.day_number(DAY)}
    single = e.find_free_many([r.cardiology], DAY)
    assert single["slot"].tolist() == [r.slots[0]]


def test_bookings_and_slots_as_pandas_and_arrow() -> None:
    r = make_region()
    e = r.engine
    p, q = e.register_patient(), e.register_patient()
    b1 = e.book(p, r.slots[0], "app")
    b2 = e.hold(q, r.slots[1], "kiosk")
    e.cancel(b1.id)
    df = e.bookings_to_pandas()
    assert df["id"].tolist() == [b1.id, b2.id]
    assert df["state"].tolist() == ["cancelled", "held"] and df["pool"].tolist() == ["general", "general"]
    assert df["date"].iloc[0].date() == DAY and str(df["starts_at"].dt.tz) == "UTC"
    # The units are the engine's (seconds) under every pandas: 2.x's to_datetime gives ns, 3.x us.
    assert str(df["date"].dtype) == "datetime64[s]"
    for c in ("created_at", "expires_at", "starts_at"):
        assert str(df[c].dtype) == "datetime64[s, UTC]", (c, df[c].dtype)
    assert df["starts_at"].astype("int64").tolist() == [e.slot(r.slots[0]).starts_at, e.slot(r.slots[1]).starts_at]
    assert df["expires_at"].iloc[1].timestamp() == b2.expires_at
    assert len(e.bookings_to_pandas(patients=[q])) == 1
    t = e.bookings_to_arrow()
    assert t.num_rows == 2 and t.column("state").to_pylist() == ["cancelled", "held"]
    assert t.column("date").to_pylist() == [DAY, DAY]
    slots = e.slots_to_pandas()
    assert len(slots) == 8 and slots["taken"].tolist()[:2] == [0, 1]
    assert str(slots["date"].dtype) == "datetime64[s]" and str(slots["starts_at"].dtype) == "datetime64[s, UTC]"
    assert slots["starts_at"].astype("int64").iloc[0] == e.slot(r.slots[0]).starts_at
    assert e.slots_to_arrow().num_rows == 8


def test_two_threads_drive_one_engine() -> None:
    e, slots = city(20, 10, 2)  # 400 places
    patients = np.array([e.register_patient() for _ in range(2000)], dtype=np.uint32)
    rng = np.random.default_rng(11)
    target = rng.choice(np.array(slots, dtype=np.uint32), size=2000)
    results: dict[str, object] = {}
    barrier = threading.Barrier(2)

    def bulk() -> None:
        barrier.wait()
        results["bulk"] = e.book_many(patients[:1000], target[:1000], "app")

    def singles() -> None:
        barrier.wait()
        ok = 0
        for p, s in zip(patients[1000:].tolist(), target[1000:].tolist()):
            try:
                e.book(p, s, "wechat")
                ok += 1
            except hy.SlotFull:
                pass
        results["singles"] = ok

    threads = [threading.Thread(target=bulk), threading.Thread(target=singles)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    _, codes = results["bulk"]  # type: ignore[misc]
    booked = int((codes == 0).sum()) + int(results["singles"])  # type: ignore[call-overload]
    cols = e.slot_columns()
    assert (cols["taken"] <= cols["places"]).all()
    assert booked == int(cols["taken"].sum()) == len(e.bookings_to_pandas())


def _child_publishes(conn: "multiprocessing.connection.Connection") -> None:
    e, slots = city(4, 4, 1)
    conn.send(len(slots))
    conn.close()


def test_forked_child_can_use_the_worker_pool() -> None:
    city(2, 2, 1)  # the parent starts its pool first
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    with warnings.catch_warnings():
        # Python ≥ 3.12 warns about fork() in a process with threads; that is the point here.
        warnings.simplefilter("ignore", DeprecationWarning)
        proc = ctx.Process(target=_child_publishes, args=(child,))
        proc.start()
    assert parent.poll(60), "the child deadlocked on the parent's pool"
    assert parent.recv() == 16
    proc.join(30)
    assert proc.exitcode == 0
    assert hy.num_threads() >= 1
