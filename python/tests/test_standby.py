"""The hot standby from Python (issue 16, item 7): a read-only follower of a DurableEngine's
directory that catches up, reports its lag, has no mutating call, refuses promotion while the
leader lives and becomes a DurableEngine once it is gone."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

import haoyuan as hy

from test_durable import KEY, RELAXED, open_engine, populate


@pytest.fixture(autouse=True)
def no_key_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HAOYUAN_CARD_KEY", raising=False)
    monkeypatch.delenv("HAOYUAN_CARD_KEY_FILE", raising=False)


def test_follows_catches_up_and_reports_lag(tmp_path: Path) -> None:
    d = tmp_path / "region"
    with open_engine(d) as leader:
        patients, slots = populate(leader)
        s = hy.Standby(d, card_key=KEY)
        assert s.dir == str(d) and not s.closed
        booked = [leader.book(int(p), int(slots[i % 3]), "app") for i, p in enumerate(patients[:4])]
        assert s.lag()["records_behind"] > 0
        behind = s.metrics()["follower"]
        assert behind["records_behind"] > 0 and behind["failing"] is False
        assert "\nhaoyuan_follower_records_behind " in s.metrics_prometheus()
        assert s.catch_up() > 0
        follower = s.metrics()["follower"]
        assert follower["records_behind"] == 0 and follower["caught_up_age_s"] is not None
        assert "follower" not in leader.metrics()
        lag = s.lag()
        assert lag["applied_seq"] == lag["leader_seq"] == leader.last_event_seq() == s.last_event_seq()
        assert lag["records_behind"] == 0 and lag["last_error"] is None and lag["resyncs"] == 0
        assert [s.booking(b.id).state for b in booked] == ["booked"] * 4
        assert s.slot(int(slots[0])).capacity == leader.slot(int(slots[0])).capacity
        assert s.stats().patients == leader.stats().patients
        assert len(s.state_digest()) == 32
        leader.snapshot()  # a rotation and a snapshot: the standby reads across them
        leader.cancel(booked[0].id)
        s.catch_up()
        assert s.booking(booked[0].id).state == "cancelled"
        s.close()
    assert s.closed and "closed" in repr(s)
    with pytest.raises(hy.Durability):
        s.catch_up()


def test_read_only_no_mutating_call(tmp_path: Path) -> None:
    d = tmp_path / "region"
    with open_engine(d):
        pass
    with hy.Standby(d, card_key=KEY) as s:
        for name in ("book", "hold", "cancel", "register_patient", "publish_slots", "advance_clock", "set_policy"):
            assert not hasattr(s, name), name


def test_background_polling(tmp_path: Path) -> None:
    d = tmp_path / "region"
    with open_engine(d) as leader:
        s = hy.Standby(d, card_key=KEY, poll_interval_ms=2)
        populate(leader)
        deadline = time.monotonic() + 10
        while s.last_event_seq() < leader.last_event_seq():
            assert time.monotonic() < deadline, s.lag()
            time.sleep(0.005)
        s.close()


def test_promotion_refused_while_the_leader_lives_then_done(tmp_path: Path) -> None:
    d = tmp_path / "region"
    leader = open_engine(d)
    patients, slots = populate(leader)
    s = hy.Standby(d, card_key=KEY, start=0)
    assert s.leader_alive()
    with pytest.raises(hy.Durability, match="LOCK"):
        s.promote()
    assert not s.closed  # refused: the standby goes on
    b = leader.book(int(patients[0]), int(slots[0]), "app")
    leader.close()
    assert not s.leader_alive()
    promoted = s.promote(mode="sync")
    assert isinstance(promoted, hy.DurableEngine) and s.closed
    assert promoted.booking(b.id).state == "booked"
    assert promoted.cancel(b.id).state == "cancelled"  # the leader now: it journals
    promoted.close()
    with hy.DurableEngine(d, RELAXED, card_key=KEY, mode="none") as again:
        assert again.booking(b.id).state == "cancelled"


def test_bad_inputs_are_typed_errors(tmp_path: Path) -> None:
    with pytest.raises(hy.InvalidArgument):
        hy.Standby(tmp_path / "missing", card_key=KEY)
    (tmp_path / "plain").mkdir()
    with pytest.raises(hy.InvalidArgument, match="not a durable directory"):
        hy.Standby(tmp_path / "plain", card_key=KEY)
    d = tmp_path / "region"
    with open_engine(d):
        pass
    for ms in (0, 600_001):
        with pytest.raises(hy.InvalidArgument, match="poll_interval"):
            hy.Standby(d, card_key=KEY, poll_interval_ms=ms)
    with pytest.raises(hy.InvalidArgument):
        hy.Standby(d, card_key=KEY, poll_interval_ms=-1)
    with pytest.raises(hy.InvalidArgument):
        hy.Standby(d)  # no card key
    with pytest.raises(hy.InvalidArgument):
        hy.Standby("", card_key=KEY)


# ------------------------------------------------------------------ a standby on another machine


def _wait(cond: Callable[[], bool], what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.002)


@pytest.mark.parametrize("mode", ["async", "ack_after_follower"])
def test_stream_standby_follows_over_tcp_and_is_promoted(tmp_path: Path, mode: str) -> None:
    """The leader serves its journal on a loopback port; the standby receives it into its own
    directory. In "ack_after_follower" a call returns only once the follower has it."""
    d, own = tmp_path / "leader", tmp_path / "follower"
    leader = open_engine(d, replicate="127.0.0.1:0", replication_mode=mode, ack_timeout_ms=20_000)
    addr = leader.replication_addr
    assert addr is not None and addr.startswith("127.0.0.1:") and leader.followers() == 0
    s = hy.Standby.connect(addr, own, card_key=KEY, start=0)
    assert isinstance(s, hy.Standby) and s.streaming and s.dir == str(own)
    _wait(lambda: leader.followers() == 1, "the follower is counted")
    patients, slots = populate(leader)
    booked = [leader.book(int(p), int(slots[i % 3]), "app") for i, p in enumerate(patients[:4])]
    if mode == "ack_after_follower":
        # Acknowledged means fsynced in the follower's directory: it is on disk there already.
        assert (own / "config.json").exists() and any(own.glob("seg-*.hyj"))
    _wait(lambda: s.last_event_seq() == leader.last_event_seq(), f"caught up: {s.lag()}")
    assert s.stats() == leader.stats()
    assert [s.booking(b.id).state for b in booked] == ["booked"] * 4
    assert s.lag()["records_behind"] == 0 and s.lag()["last_error"] is None
    r = leader.metrics()["journal"]["replication"]
    assert r["mode"] == mode and r["followers"] == 1 and r["ack_timeouts"] == 0
    _wait(lambda: leader.metrics()["journal"]["replication"]["unreplicated_events"] == 0, "all reported")
    assert "\nhaoyuan_replication_followers 1\n" in leader.metrics_prometheus()
    leader.close()
    _wait(lambda: not s.streaming, "the stream notices the leader is gone")
    assert s.lag()["last_error"] is not None
    promoted = s.promote()
    assert isinstance(promoted, hy.DurableEngine) and promoted.dir == str(own)
    assert [promoted.booking(b.id).state for b in booked] == ["booked"] * 4
    assert promoted.cancel(booked[0].id).state == "cancelled"
    promoted.close()


def test_ack_after_follower_without_a_follower_times_out(tmp_path: Path) -> None:
    with open_engine(tmp_path / "lonely", replicate="127.0.0.1:0", replication_mode="ack_after_follower", ack_timeout_ms=50) as e:
        with pytest.raises(hy.Durability, match="no follower acknowledged"):
            e.register_patient()


def test_replication_bad_inputs_are_typed_errors(tmp_path: Path) -> None:
    never = tmp_path / "never"
    for kw in (
        {"replicate": "nonsense"},
        {"replicate": "127.0.0.1:0", "replication_mode": "eventually"},
        {"replicate": "127.0.0.1:0", "ack_timeout_ms": 0},
        {"replicate": "127.0.0.1:0", "mode": "none"},
    ):
        with pytest.raises(hy.InvalidArgument):
            open_engine(never, **kw)
        assert not never.exists(), kw
    with pytest.raises(TypeError):
        open_engine(never, replicate=7400)
    with pytest.raises(hy.InvalidArgument, match="host:port"):
        hy.Standby.connect("nonsense", tmp_path / "f", card_key=KEY)
    with pytest.raises(hy.InvalidArgument, match="poll_interval_ms"):
        hy.Standby(tmp_path / "f", card_key=KEY, leader="127.0.0.1:1", poll_interval_ms=5)
    with pytest.raises(hy.Durability, match="connect"):
        hy.Standby.connect("127.0.0.1:1", tmp_path / "f", card_key=KEY)
    assert not (tmp_path / "f").exists(), "a failed connect leaves no directory behind"
    with open_engine(tmp_path / "plain") as plain:
        assert plain.replication_addr is None and plain.followers() == 0
        assert plain.metrics()["journal"]["replication"] is None
